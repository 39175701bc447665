# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Replay of MovieLens-100K as a weekly job: warm start against from
scratch, and the gates holding injected faults.

  python -m benchmarks.continuous [--workdir DIR] [--first-week 13]
      [--runs 12] [--window 4] [--tenth-volume-run 5] [--flood-run 7]
      [--broken-lr-run 9] [--plot docs/continuous.png]
      [--window-sweep 1,2,4,8,12] [--skip-replay]

The ratings are cut into weekly files (`logs/week-{SPAN}.csv`, span = weeks
since the first rating), and two jobs replay the same `--runs` consecutive
weeks from `--first-week`, one `relvid run --span N` per week with
`data.window_days=--window` (spans, here weeks): the default job (warm start
from the last blessed model) and the same job with
`trainer.warm_start=false`. Weekly, not daily: MovieLens-100K has a median
of 337 ratings a day (10% of days under 80), too few for a day's eval
pairs to tell two models apart, and its daily volume swings past any drift
bound; its weeks 13-24 stay within the default volume bounds.

Faults, in both jobs (their data is the same) unless said:
  --tenth-volume-run  that week's file keeps a tenth of its ratings;
  --flood-run         one movie gets as many extra ratings as the week has
                      (each from a new user, so no co-engagement pair
                      changes): half the week's interactions;
  --broken-lr-run     the warm job's Trainer runs at learning rates 100x
                      the defaults (the scratch job's does not).

Prints one table row per run and job: the week, its ratings, the spans
read, wall time and Trainer time, epochs, warm or scratch, the candidate's
recall@100 / topic_match@100 on that week's eval pairs, pushed or held and
why; and writes a plot of the figures over the runs. `--window-sweep`
then reruns the last week in the scratch job's folder at each window
length (the earlier weeks' artifacts are there): the cost of a run against
the number of spans it reads. `--skip-replay` runs the sweep alone, on a
workdir a replay filled.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

import numpy as np

from benchmarks.refresh import ITEM_HEADER
from benchmarks.refresh import read_atomic
from benchmarks.refresh import write_csv

WEEK = 7 * 86400
JOBS = ("warm", "scratch")


def weekly_files(folder: str, weeks: List[int], tenth_volume: Optional[int],
                 flood: Optional[int], seed: int = 0) -> Dict[str, Any]:
  """Writes items.csv and logs/week-<span>.csv for `weeks` (faults
  applied); returns the items path, the pattern and ratings per week."""
  from components import assets  # pylint: disable=g-import-not-at-top
  ml = assets.movielens_100k_dir()
  ratings = read_atomic(os.path.join(ml, "ml-100k.inter"))
  first = min(int(r[3]) for r in ratings)
  by_week: Dict[int, List[List[str]]] = {}
  for r in ratings:
    by_week.setdefault((int(r[3]) - first) // WEEK, []).append(
        [r[0], r[1], r[3]])
  movies = [[m[0], m[1], "", "", m[3].replace(" ", "|"), ""]
            for m in read_atomic(os.path.join(ml, "ml-100k.item"))]
  items = write_csv(os.path.join(folder, "items.csv"), ITEM_HEADER,
                     movies)
  logs = os.path.join(folder, "logs")
  os.makedirs(logs, exist_ok=True)
  rng = np.random.default_rng(seed)
  counts = {}
  for week in weeks:
    rows = sorted(by_week.get(week, []), key=lambda r: int(r[2]))
    if week == tenth_volume:
      keep = np.sort(rng.choice(len(rows), len(rows) // 10, replace=False))
      rows = [rows[i] for i in keep]
    if week == flood:
      # The week's median-popular movie, rated once by as many new users
      # as the week has ratings.
      movie_counts: Dict[str, int] = {}
      for r in rows:
        movie_counts[r[1]] = movie_counts.get(r[1], 0) + 1
      ranked = sorted(movie_counts, key=movie_counts.get)
      movie = ranked[len(ranked) // 2]
      rows = rows + [[f"flood-{n}", movie, r[2]] for n, r in enumerate(rows)]
    counts[week] = len(rows)
    write_csv(os.path.join(logs, f"week-{week}.csv"),
               ["user_id", "item_id", "timestamp"], rows)
  return {"items": items, "pattern": os.path.join(logs, "week-{SPAN}.csv"),
          "ratings": counts}


def _trainer_seconds(config) -> Optional[float]:
  from pipeline import results  # pylint: disable=g-import-not-at-top
  runs = results.executions(config, "Trainer")
  if not runs:
    return None
  last = runs[-1]
  return (last.last_update_time_since_epoch
          - last.create_time_since_epoch) / 1000


def run_week(base: List[str], workdir: str, job: str, week: int,
             broken_lr: bool) -> Dict[str, Any]:
  """One `relvid run --span week` of `job`; its figures."""
  from pipeline import local_runner  # pylint: disable=g-import-not-at-top
  from pipeline import results  # pylint: disable=g-import-not-at-top
  from relvid import config as config_lib  # pylint: disable=g-import-not-at-top
  overrides = base + [f"output_dir={os.path.join(workdir, job)}",
                      f"data.span={week}",
                      f"trainer.warm_start={str(job == 'warm').lower()}"]
  if broken_lr:
    defaults = config_lib.TrainerConfig()
    overrides += [f"trainer.learning_rate={defaults.learning_rate * 100}",
                  "trainer.embedding_learning_rate="
                  f"{defaults.embedding_learning_rate * 100}"]
  config = config_lib.load_config(None, overrides)
  started = time.time()
  local_runner.run(config)
  wall = time.time() - started
  metrics = results.latest_metrics(config) or {}
  training = results.latest_training_summary(config) or {}
  window = results.latest_reports(config)["CoEngagementPairs"]["inputs"][
      "interactions"]["window"]
  k = config.eval.gate_k
  return {
      "job": job, "week": week, "wall_seconds": wall,
      "trainer_seconds": _trainer_seconds(config),
      "spans": window["spans"], "epochs": training.get("kept_epoch"),
      "warm": training.get("warm_start") is not None,
      "recall": metrics.get("all", {}).get(f"recall@{k}"),
      "topic": metrics.get("all", {}).get(f"topic_match@{k}"),
      "pushed": bool(metrics.get("blessed")),
      "reasons": metrics.get("not_blessed_because", []),
      "serving": (metrics.get("serving") or {}).get("version"),
      "line": results.run_line(config)}


def plot(rows: List[Dict[str, Any]], path: str) -> None:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
  for job, marker, colour in zip(JOBS, ("o", "s"), ("C0", "C1")):
    mine = [r for r in rows if r["job"] == job]
    weeks = [r["week"] for r in mine]
    top.plot(weeks, [r["recall"] for r in mine], marker=marker,
             color=colour, label=f"{job}: recall@100 (candidate)")
    held = [r for r in mine if not r["pushed"]]
    top.scatter([r["week"] for r in held], [r["recall"] for r in held],
                s=160, facecolors="none", edgecolors="red",
                label=f"{job}: held" if held else None)
    bottom.plot(weeks, [r["wall_seconds"] for r in mine], marker=marker,
                color=colour, label=f"{job}: run (s)")
    bottom.plot(weeks, [r["trainer_seconds"] for r in mine], marker=marker,
                color=colour, linestyle="--", label=f"{job}: Trainer (s)")
  top.set_ylabel("recall@100, week's eval pairs")
  bottom.set_ylabel("seconds")
  bottom.set_xlabel("week (span)")
  top.legend(fontsize=7)
  bottom.legend(fontsize=7)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=80)


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m benchmarks.continuous", description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", help="default: a new temporary folder")
  parser.add_argument("--first-week", type=int, default=13)
  parser.add_argument("--runs", type=int, default=12)
  parser.add_argument("--window", type=int, default=4,
                      help="data.window_days: spans (weeks) per window")
  parser.add_argument("--tenth-volume-run", type=int, default=5,
                      help="run index (from 0) whose week keeps a tenth of "
                      "its ratings; -1: none")
  parser.add_argument("--flood-run", type=int, default=7)
  parser.add_argument("--broken-lr-run", type=int, default=9)
  parser.add_argument("--divergence-bound", type=float, default=0.5,
                      help="drift.max_hour_of_day_divergence and "
                      "drift.max_user_activity_divergence")
  parser.add_argument("--plot", default="continuous.png")
  parser.add_argument("--window-sweep", default="",
                      help="comma-separated window lengths for the last week")
  parser.add_argument("--skip-replay", action="store_true")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  workdir = args.workdir or tempfile.mkdtemp(prefix="relvid_continuous_")
  weeks = list(range(args.first_week, args.first_week + args.runs))

  def week_of(run: int) -> Optional[int]:
    return weeks[run] if 0 <= run < len(weeks) else None

  files = weekly_files(workdir, weeks, week_of(args.tenth_volume_run),
                       week_of(args.flood_run))
  base = ["data.source=files", f"data.interactions_path={files['pattern']}",
          f"data.items_path={files['items']}",
          f"data.window_days={args.window}",
          # About 100 raters a week, each rating in bursts: their hours and
          # activity differ more from week to week than a large log's (the
          # JS divergences of weeks 13-24 reach 0.3 against the default
          # 0.2); volume and popularity keep the default bounds.
          f"drift.max_hour_of_day_divergence={args.divergence_bound}",
          f"drift.max_user_activity_divergence={args.divergence_bound}"]
  if not args.skip_replay:
    replay(args, base, workdir, files, weeks, week_of)
  if args.window_sweep:
    sweep(base, workdir, weeks[-1],
          [int(w) for w in args.window_sweep.split(",")])
  print(f"outputs under {workdir}")
  return 0


def sweep(base: List[str], workdir: str, week: int,
          windows: List[int]) -> None:
  """The last week again at each window length, from scratch."""
  from pipeline import results  # pylint: disable=g-import-not-at-top
  from relvid import config as config_lib  # pylint: disable=g-import-not-at-top
  print("| window (weeks) | spans read | interactions read | train pairs | "
        "run s | Trainer s |")
  print("|---|---|---|---|---|---|")
  for window in windows:
    overrides = [o for o in base if not o.startswith("data.window_days=")]
    row = run_week(overrides + [f"data.window_days={window}"], workdir,
                   "scratch", week, broken_lr=False)
    config = config_lib.load_config(None, overrides + [
        f"data.window_days={window}",
        f"output_dir={os.path.join(workdir, 'scratch')}"])
    counts = results.latest_reports(config)["CoEngagementPairs"]["counts"]
    print(f"| {window} | {len(row['spans'])} | "
          f"{counts.get('interactions_read', 0):,} | "
          f"{counts.get('pairs_written_train', 0):,} | "
          f"{row['wall_seconds']:.0f} | {row['trainer_seconds']:.0f} |",
          flush=True)


def replay(args, base: List[str], workdir: str, files: Dict[str, Any],
           weeks: List[int], week_of) -> None:
  """The two jobs over `weeks`, one table row per run and job."""
  rows = []
  print("| week | ratings | job | spans read | run s | Trainer s | epochs "
        "| recall@100 | topic@100 | outcome |")
  print("|---|---|---|---|---|---|---|---|---|---|")
  for run, week in enumerate(weeks):
    for job in JOBS:
      row = run_week(base, workdir, job, week,
                     broken_lr=(job == "warm" and run == args.broken_lr_run))
      rows.append(row)
      outcome = ("pushed" if row["pushed"] else
                 "held: " + "; ".join(row["reasons"]))
      start = "warm" if row["warm"] else "scratch"
      print(f"| {week} | {files['ratings'][week]:,} | {job} | "
            f"{row['spans'][0]}..{row['spans'][-1]} | "
            f"{row['wall_seconds']:.0f} | {row['trainer_seconds']:.0f} | "
            f"{row['epochs']} ({start}) | {row['recall']:.4f} | "
            f"{row['topic']:.4f} | {outcome} |", flush=True)
  with open(os.path.join(workdir, "replay.json"), "w") as f:
    json.dump(rows, f, indent=1)
  plot(rows, args.plot)
  for job in JOBS:
    mine = [r for r in rows if r["job"] == job]
    steady = mine[args.window - 1:]  # once the window is full
    print(f"{job}: mean run {np.mean([r['wall_seconds'] for r in steady]):.0f}"
          f" s, Trainer {np.mean([r['trainer_seconds'] for r in steady]):.0f}"
          f" s (runs with a full window); pushed "
          f"{sum(r['pushed'] for r in mine)} of {len(mine)}")
  warm = {r["week"]: r for r in rows if r["job"] == "warm"}
  scratch = {r["week"]: r for r in rows if r["job"] == "scratch"}
  diffs = [warm[w]["recall"] - scratch[w]["recall"] for w in weeks
           if warm[w]["warm"] and w != week_of(args.broken_lr_run)]
  if diffs:
    print(f"warm - scratch recall@100 on the same eval pairs, warm-started "
          f"runs without the broken LR: mean {np.mean(diffs):+.4f}, min "
          f"{min(diffs):+.4f}, max {max(diffs):+.4f} over {len(diffs)} runs")
  print(f"plot: {args.plot}")


if __name__ == "__main__":
  sys.exit(main())
