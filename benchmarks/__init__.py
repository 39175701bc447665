# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Benchmarks that print figures; run as `python -m benchmarks.<name>`.

Keras 2 is selected here, before any benchmark imports TensorFlow (see
relvid/runtime.py).
"""
import sys
from typing import Callable

from relvid import runtime

runtime.use_keras2()


def run_main(main: Callable[[], int]) -> int:
  """Runs a benchmark's main; a missing pipeline output (run the pipeline
  first) is one line on stderr and exit status 1, not a traceback."""
  try:
    return main()
  except FileNotFoundError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
