# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Runs the pipeline on this machine: LocalDagRunner, ML Metadata in SQLite.

  python -m pipeline.local_runner [--config F] [--set a.b=v ...] [--progress]
                                  [--span SPAN] [--refresh]

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

from components import ingestion
from pipeline import logs
from pipeline import pipeline as pipeline_lib
from pipeline import results
from relvid import config as config_lib
from trainer import refresh as refresh_lib


def run(config: config_lib.PipelineConfig, progress_bar: bool = False,
        refresh: bool = False) -> None:
  """Runs the pipeline (or, with `refresh`, the catalog refresh pipeline
  from the newest serving version) to completion; raises if a component
  fails."""
  os.makedirs(os.path.dirname(config_lib.metadata_path(config)),
              exist_ok=True)
  metadata = pipeline_lib.sqlite_metadata(config)
  if refresh:
    dsl_pipeline = pipeline_lib.create_refresh_pipeline(
        config, metadata, source_version=refresh_lib.latest_version(
            config_lib.serving_model_dir(config))[0])
  else:
    dsl_pipeline = pipeline_lib.create_pipeline(config, metadata)
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
  parser.add_argument("--span", help="the span of a {SPAN} or "
                      "{YYYY}/{MM}/{DD} input path to read: a span number or "
                      "a YYYY-MM-DD date (default: the latest span present; "
                      "= --set data.span=SPAN)")
  parser.add_argument("--refresh", action="store_true",
                      help="run the catalog refresh pipeline: index the "
                      "current catalog with the newest serving version's "
                      "towers and publish the next version (no training)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.span is not None:
    args.overrides.append(f"data.span={args.span}")
  config = config_lib.from_args(args, local_metadata=True)
  if config is None:
    return 2
  logs.configure_logging(args.verbose)
  started = time.time()
  try:
    if args.refresh:
      # Before minutes of embedding: is there a version to refresh?
      refresh_lib.latest_version(config_lib.serving_model_dir(config))
  except FileNotFoundError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  try:
    run(config, progress_bar=args.progress, refresh=args.refresh)
  except ingestion.InputNotFoundError as e:  # a missing span or empty glob
    print(f"error: {e}", file=sys.stderr)
    return 2
  if args.refresh:
    refresh_config = results.refresh_pipeline_config(config)
    print(f"\nrelvid refresh finished in {time.time() - started:.1f} s")
    print(results.summary(refresh_config))
    print(results.format_refresh(
        results.latest_reports(refresh_config)["CatalogRefresh"]))
    return 0
  print(f"\nrelvid pipeline finished in {time.time() - started:.1f} s; "
        f"artifacts under {config_lib.pipeline_root(config)}")
  print(results.summary(config))
  return 0


if __name__ == "__main__":
  sys.exit(main())
