# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Runs the pipeline on this machine: LocalDagRunner, ML Metadata in SQLite.

  python -m pipeline.local_runner [--config F] [--set a.b=v ...] [--progress]
                                  [--refresh]

(`relvid run` is the same with a progress bar, `relvid refresh` with
--refresh: the catalog refresh pipeline instead of training.) Prints each
component as it starts and finishes, then the run's reports and evaluation,
or the refresh report (pipeline/results).
"""
import argparse
import logging
import os
import sys
import time
from typing import List, Optional

from tfx import v1 as tfx

from pipeline import logs
from pipeline import pipeline as pipeline_lib
from pipeline import results
from relvid import config as config_lib
from trainer import refresh


def run(config: config_lib.PipelineConfig, progress_bar: bool = False,
        refresh: bool = False) -> None:
  """Runs the pipeline (or, with `refresh`, the catalog refresh pipeline)
  to completion; raises if a component fails."""
  os.makedirs(os.path.dirname(config_lib.metadata_path(config)),
              exist_ok=True)
  create = (pipeline_lib.create_refresh_pipeline if refresh
            else pipeline_lib.create_pipeline)
  dsl_pipeline = create(config, pipeline_lib.sqlite_metadata(config))
  progress = (logs.ComponentProgress(len(dsl_pipeline.components))
              if progress_bar else None)
  if progress:
    logging.getLogger().addHandler(progress)
  try:
    tfx.orchestration.LocalDagRunner().run(dsl_pipeline)
  finally:
    if progress:
      logging.getLogger().removeHandler(progress)
      progress.close()


def main(argv: Optional[List[str]] = None,
         prog: str = "python -m pipeline.local_runner") -> int:
  parser = argparse.ArgumentParser(
      prog=prog,
      description="Run the relvid pipeline locally (LocalDagRunner).")
  config_lib.add_arguments(parser)
  parser.add_argument("--verbose", action="store_true",
                      help="show all TFX/Beam/TF logs, not only progress")
  parser.add_argument("--progress", action="store_true",
                      help="show a progress bar over the components")
  parser.add_argument("--refresh", action="store_true",
                      help="run the catalog refresh pipeline: index the "
                      "current catalog with the newest serving version's "
                      "towers and publish the next version (no training)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  config = config_lib.from_args(args, local_metadata=True)
  if config is None:
    return 2
  logs.configure_logging(args.verbose)
  started = time.time()
  if args.refresh:
    try:  # before minutes of embedding: is there a version to refresh?
      refresh.latest_version(config_lib.serving_model_dir(config))
    except FileNotFoundError as e:
      print(f"error: {e}", file=sys.stderr)
      return 2
    run(config, progress_bar=args.progress, refresh=True)
    print(f"\nrelvid refresh finished in {time.time() - started:.1f} s")
    print(results.summary(results.refresh_pipeline_config(config)))
    print(results.format_refresh(results.latest_refresh_report(config)))
    return 0
  run(config, progress_bar=args.progress)
  print(f"\nrelvid pipeline finished in {time.time() - started:.1f} s; "
        f"artifacts under {config_lib.pipeline_root(config)}")
  print(results.summary(config))
  return 0


if __name__ == "__main__":
  sys.exit(main())
