# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""`relvid versions` and `relvid rollback`: the serving versions of the
configured pipeline (see pipeline/versions.py).

  relvid versions [--config F] [--set a.b=v ...] [--json]
  relvid rollback VERSION [--config F] [--set a.b=v ...]
"""
import argparse
import json
import sys
from typing import List, Optional

from pipeline import versions
from relvid import config as config_lib


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog=prog, description=description)
  config_lib.add_arguments(parser)
  return parser


def list_main(argv: Optional[List[str]] = None,
              prog: str = "relvid versions") -> int:
  parser = _parser(prog, "The serving versions, newest last (* = serving), "
                   "then the models that were evaluated and held.")
  parser.add_argument("--json", action="store_true",
                      help="print the records as JSON")
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
  parser = _parser(prog, "Serve VERSION again: it is copied as the newest "
                   "version (a running server reloads it); nothing is "
                   "deleted.")
  parser.add_argument("version", type=int, help="a version `relvid "
                      "versions` lists")
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
