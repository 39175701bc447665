# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Runs the pipeline on this machine: LocalDagRunner, ML Metadata in SQLite.

  python -m pipeline.local_runner [--config FILE.yaml] [--set a.b=value ...]

Prints each component as it starts and finishes, then a summary of the
reports (counts of rows read, written and skipped per reason).
"""
import argparse
import logging
import os
import sys
import time
from typing import Dict, List, Optional, Sequence

from absl import logging as absl_logging

import pipeline  # noqa: F401  (selects Keras 2 before TF loads)
from tfx import v1 as tfx

from components import example_io
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
      prog="python -m pipeline.local_runner",
      description="Run the relvid pipeline locally (LocalDagRunner).")
  parser.add_argument("--config", help="YAML file overriding the defaults")
  parser.add_argument(
      "--set", dest="overrides", action="append", default=[],
      metavar="SECTION.FIELD=VALUE",
      help="override one config field, e.g. --set pairs.window_seconds=1800")
  return parser.parse_args(argv)


def latest_reports(config: config_lib.PipelineConfig) -> Dict[str, dict]:
  """The newest report.json of each reporting component, by component id."""
  root = pipeline_lib.pipeline_root(config)
  reports = {}
  for component in sorted(os.listdir(root)) if os.path.isdir(root) else []:
    report_root = os.path.join(root, component, "report")
    if not os.path.isdir(report_root):
      continue
    runs = sorted((d for d in os.listdir(report_root) if d.isdigit()), key=int)
    for run in reversed(runs):
      path = os.path.join(report_root, run)
      if os.path.exists(os.path.join(path, example_io.REPORT_FILE)):
        reports[component] = example_io.read_report(path)
        break
  return reports


def run(config: config_lib.PipelineConfig) -> Dict[str, dict]:
  """Runs the pipeline to completion; returns the components' reports."""
  os.makedirs(os.path.dirname(pipeline_lib.metadata_path(config)),
              exist_ok=True)
  metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(
      pipeline_lib.metadata_path(config))
  started = time.time()
  tfx.orchestration.LocalDagRunner().run(
      pipeline_lib.create_pipeline(config, metadata))
  logging.info("pipeline %s finished in %.1f s", config.pipeline_name,
               time.time() - started)
  return latest_reports(config)


def main(argv: Optional[List[str]] = None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  try:
    config = config_lib.load_config(args.config, args.overrides)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  logging.basicConfig(level=logging.INFO,
                      format="%(asctime)s %(levelname)s %(message)s")
  absl_logging.set_verbosity(absl_logging.INFO)
  started = time.time()
  reports = run(config)
  print(f"\nrelvid pipeline finished in {time.time() - started:.1f} s; "
        f"artifacts under {pipeline_lib.pipeline_root(config)}")
  for component, report in reports.items():
    print(f"  {component}: {report}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
