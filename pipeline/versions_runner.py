# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""`relvid versions` and `relvid rollback`: the serving versions of the
configured pipeline (see pipeline/versions.py).

  relvid versions [--config F] [--set a.b=v ...] [--json]
  relvid rollback VERSION [--config F] [--set a.b=v ...]
"""
import json
import sys
from typing import List, Optional

from pipeline import options
from pipeline import versions
from relvid import config as config_lib


def list_main(argv: Optional[List[str]] = None,
              prog: str = "relvid versions") -> int:
  parser = options.versions(prog)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  config = config_lib.from_args(args, local_metadata=True)
  if config is None:
    return 2
  rows = versions.list_versions(config)
  print(json.dumps(rows, indent=1) if args.json
        else versions.format_versions(rows, config))
  return 0


def rollback_main(argv: Optional[List[str]] = None,
                  prog: str = "relvid rollback") -> int:
  parser = options.rollback(prog)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  config = config_lib.from_args(args)
  if config is None:
    return 2
  try:
    new_version = versions.rollback(config, args.version)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  print(f"version {args.version} is served again as version {new_version} "
        f"under {config_lib.serving_model_dir(config)}")
  return 0
