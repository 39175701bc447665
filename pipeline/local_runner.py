# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Runs the pipeline on this machine: LocalDagRunner, ML Metadata in SQLite.

  python -m pipeline.local_runner [--config F] [--set a.b=v ...] [--progress]
                                  [--span SPAN] [--refresh]

(`relvid run` is the same with a progress bar, `relvid refresh` with
--refresh: the catalog refresh pipeline instead of training.) Prints each
component as it starts and finishes, then the run's reports and evaluation,
or the refresh report (pipeline/results).
"""
import contextlib
import logging
import os
import sys
import time
from typing import List, Optional, TextIO

from tfx import v1 as tfx

from components import ingestion
from pipeline import logs
from pipeline import options
from pipeline import pipeline as pipeline_lib
from pipeline import results
from relvid import config as config_lib
from trainer import refresh as refresh_lib


def run(config: config_lib.PipelineConfig, progress_bar: bool = False,
        refresh: bool = False, console: Optional[TextIO] = None) -> None:
  """Runs the pipeline (or, with `refresh`, the catalog refresh pipeline
  from the newest serving version) to completion; raises if a component
  fails. The progress bar, if any, writes to `console` (default stderr)."""
  os.makedirs(os.path.dirname(config_lib.metadata_path(config)),
              exist_ok=True)
  metadata = pipeline_lib.sqlite_metadata(config)
  if refresh:
    dsl_pipeline = pipeline_lib.create_refresh_pipeline(
        config, metadata, source_version=refresh_lib.latest_version(
            config_lib.serving_model_dir(config))[0])
  else:
    dsl_pipeline = pipeline_lib.create_pipeline(config, metadata)
  progress = (logs.ComponentProgress(len(dsl_pipeline.components), console)
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
         prog: str = "python -m pipeline.local_runner",
         run_log: Optional[logs.RunLog] = None) -> int:
  """With a `run_log` (`relvid run`), the logs go to its file, which is
  kept beside the outputs once the run started, and the terminal shows the
  bar, the reports and the summary."""
  errors = run_log.console if run_log else sys.stderr
  # Usage and config errors go to the terminal, not the log.
  with contextlib.redirect_stderr(errors):
    args = options.run(prog).parse_args(sys.argv[1:] if argv is None
                                        else argv)
    if args.span is not None:
      args.overrides.append(f"data.span={args.span}")
    config = config_lib.from_args(args, local_metadata=True)
  if config is None:
    return 2
  logs.configure_logging(args.verbose, run_log.console if run_log else None)
  started = time.time()
  try:
    if args.refresh:
      # Before minutes of embedding: is there a version to refresh?
      refresh_lib.latest_version(config_lib.serving_model_dir(config))
  except FileNotFoundError as e:
    print(f"error: {e}", file=errors)
    return 2
  if run_log:
    # From here on the log is the run's (kept whatever happens next).
    log_line = f"full log: {run_log.announce(config.output_dir, 'run')}"
  try:
    run(config, progress_bar=args.progress, refresh=args.refresh,
        console=run_log.console if run_log else None)
  except ingestion.InputNotFoundError as e:  # a missing span or empty glob
    print(f"error: {e}", file=errors)
    return 2
  except Exception as e:  # pylint: disable=broad-except
    if run_log is None:
      raise
    # The traceback is in the log; the terminal gets what failed.
    print(f"{logs.failure_line('pipeline', e)}\n{log_line}", file=errors)
    return 1
  log_line = log_line + "\n" if run_log else ""
  if args.refresh:
    refresh_config = results.refresh_pipeline_config(config)
    print(f"\nrelvid refresh finished in {time.time() - started:.1f} s")
    print(log_line + results.summary(refresh_config))
    print(results.format_refresh(
        results.latest_reports(refresh_config)["CatalogRefresh"]))
    return 0
  print(f"\nrelvid pipeline finished in {time.time() - started:.1f} s; "
        f"artifacts under {config_lib.pipeline_root(config)}")
  print(log_line + results.summary(config))
  return 0


if __name__ == "__main__":
  sys.exit(main())
