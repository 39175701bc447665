# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""`relvid backfill`: one local pipeline run per day, oldest first, as a
scheduler catching up would run them.

  relvid backfill --from 2000-06-01 --to 2000-06-07 [--config F] [--set ...]

Each run reads its own span (`data.span` = the day) and, with
`data.window_days`, reuses the earlier days it covers. A day without input
files is skipped with its reason (the runs after it see it as a missing
span); a run that fails stops the backfill, and so does a range where no
day had files (exit status 1). One line per day: the window
read, the evaluation and whether the model was pushed or held.
"""
import argparse
import contextlib
import datetime
import sys
import time
from typing import List, Optional

from components import ingestion
from pipeline import local_runner
from pipeline import logs
from pipeline import options
from pipeline import results
from relvid import config as config_lib


def main(argv: Optional[List[str]] = None,
         prog: str = "relvid backfill",
         run_log: Optional[logs.RunLog] = None) -> int:
  """With a `run_log` (`relvid backfill`), the logs go to its file and the
  terminal shows a line per day."""
  errors = run_log.console if run_log else sys.stderr
  # Usage and config errors go to the terminal, not the log.
  with contextlib.redirect_stderr(errors):
    args = options.backfill(prog).parse_args(sys.argv[1:] if argv is None
                                             else argv)
    base = config_lib.from_args(args, local_metadata=True)
  if base is None:
    return 2
  if args.end < args.start:
    print(f"error: --to {args.end} is before --from {args.start}",
          file=errors)
    return 2
  days = [args.start + datetime.timedelta(days=n)
          for n in range((args.end - args.start).days + 1)]
  logs.configure_logging(args.verbose, run_log.console if run_log else None)
  if run_log:
    # From here on the log is the backfill's (kept whatever happens next).
    run_log.announce(base.output_dir, "backfill")
  try:
    return _backfill(args, days, errors)
  except Exception as e:  # pylint: disable=broad-except
    if run_log is None:
      raise
    print(f"{logs.failure_line('backfill', e)} (full log: {run_log.path})",
          file=errors)
    return 1


def _backfill(args: argparse.Namespace, days: List[datetime.date],
              errors) -> int:
  """One run per day; the exit status."""
  ran = 0
  for day in days:
    args_for_day = argparse.Namespace(
        config=args.config, overrides=args.overrides + [f"data.span={day}"])
    with contextlib.redirect_stderr(errors):
      config = config_lib.from_args(args_for_day, local_metadata=True)
    if config is None:
      return 2
    if "{YYYY}" not in config.data.interactions_path:
      print("error: config field data.interactions_path: a backfill by "
            "date needs a {YYYY}/{MM}/{DD} placeholder, got "
            f"{config.data.interactions_path!r}", file=errors)
      return 2
    started = time.time()
    try:
      local_runner.run(config)
    except ingestion.InputNotFoundError as e:
      print(f"{day}: skipped, {e}", flush=True)
      continue
    ran += 1
    print(f"{day}: {results.run_line(config)} "
          f"({time.time() - started:.0f} s)", flush=True)
  if not ran:
    print(f"error: no day from {args.start} to {args.end} had input files",
          file=errors)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
