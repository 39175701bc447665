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
import datetime
import sys
import time
from typing import List, Optional

from components import ingestion
from pipeline import local_runner
from pipeline import logs
from pipeline import results
from relvid import config as config_lib


def _date(text: str) -> datetime.date:
  try:
    return datetime.date.fromisoformat(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}")


def main(argv: Optional[List[str]] = None,
         prog: str = "relvid backfill") -> int:
  parser = argparse.ArgumentParser(
      prog=prog, description="One local pipeline run per day, oldest "
      "first; each reads its day's span (data.span).")
  config_lib.add_arguments(parser)
  parser.add_argument("--from", dest="start", type=_date, required=True,
                      help="first day, YYYY-MM-DD")
  parser.add_argument("--to", dest="end", type=_date, required=True,
                      help="last day, YYYY-MM-DD (included)")
  parser.add_argument("--verbose", action="store_true",
                      help="show all TFX/Beam/TF logs")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.end < args.start:
    print(f"error: --to {args.end} is before --from {args.start}",
          file=sys.stderr)
    return 2
  days = [args.start + datetime.timedelta(days=n)
          for n in range((args.end - args.start).days + 1)]
  logs.configure_logging(args.verbose)
  ran = 0
  for day in days:
    args_for_day = argparse.Namespace(
        config=args.config, overrides=args.overrides + [f"data.span={day}"])
    config = config_lib.from_args(args_for_day, local_metadata=True)
    if config is None:
      return 2
    if "{YYYY}" not in config.data.interactions_path:
      print("error: config field data.interactions_path: a backfill by "
            "date needs a {YYYY}/{MM}/{DD} placeholder, got "
            f"{config.data.interactions_path!r}", file=sys.stderr)
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
          file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
