# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""A daily job caught up by `relvid backfill` (the installed script) over
three days of a small MovieLens log, one file per day with the second day
missing and the third flooded by one movie: each run reads its own day
and reuses the earlier days of its 3-day window from the span registry;
the missing day is skipped and then counted as missing in the next
window; the eval pairs are the newest day's; the first day trains from
scratch and the third warm-starts from the first day's blessed model; the
drift gate holds the flooded day; the pushed version records its spans."""
import datetime
import os
import subprocess
import sys

from components import example_io
from pipeline import results
from relvid import config as config_lib
from relvid import contract
from tests.conftest import daily_logs
from tests.conftest import sample_overrides
from tests.conftest import write_csv

RELVID = os.path.join(os.path.dirname(sys.executable), "relvid")
DAYS = ["2000-06-01", "2000-06-03"]  # 2000-06-02 has no file


def span(day):
  return (datetime.date.fromisoformat(day) - datetime.date(1970, 1, 1)).days


def test_backfill_reads_a_window_of_days(tmp_path):
  pattern, items, header, day_rows = daily_logs(tmp_path, DAYS)
  # Day 3 is broken: one movie takes half its interactions (users seen
  # once each, so no pair changes), which the drift gate holds.
  flood_item = day_rows["2000-06-03"][0][1]
  day_rows["2000-06-03"] += [[f"flood-{n}", flood_item, row[2]] for n, row
                             in enumerate(day_rows["2000-06-03"])]
  write_csv(tmp_path / "logs" / "2000-06-03.csv", header,
            day_rows["2000-06-03"])
  overrides = sample_overrides(tmp_path, pattern, items) + [
          "data.window_days=3", "trainer.epochs=1", "eval.recall_floor=0",
          "eval.topic_match_floor=0",
          # 13-17 users a day: their activity and hours vary more than a
          # large log's; the volume and popularity bounds stay the defaults.
          "drift.max_user_activity_divergence=1",
          "drift.max_hour_of_day_divergence=1",
          # One-epoch models of a tiny log: every model may push here.
          "eval.recall_change_absolute=-1", "eval.recall_change_relative=-1",
          "eval.topic_change_absolute=-1", "eval.topic_change_relative=-1"]
  args = [a for o in overrides for a in ("--set", o)]

  out = subprocess.run([RELVID, "backfill", "--from", "2000-06-01", "--to",
                        "2000-06-03", *args], cwd=tmp_path,
                       capture_output=True, text=True, timeout=1800)

  assert out.returncode == 0, out.stderr[-3000:]
  lines = {line.split(":")[0]: line for line in out.stdout.splitlines()
           if line[:4] == "2000"}
  first, third = (span(d) for d in DAYS)
  # The first day: the two days before it were never ingested.
  assert lines["2000-06-01"].startswith(
      f"2000-06-01: spans {first}..{first} read (0 reused, 2 missing)"), (
          out.stdout)
  assert "pushed" in lines["2000-06-01"], out.stdout
  assert "1 epoch(s) from scratch" in lines["2000-06-01"], out.stdout
  assert "1 epoch(s) warm-started (" in lines["2000-06-03"], out.stdout
  assert lines["2000-06-02"].startswith("2000-06-02: skipped, "), out.stdout
  assert lines["2000-06-03"].startswith(
      f"2000-06-03: spans {first}..{third} read (1 reused, 1 missing)"), (
          out.stdout)
  assert ("held: drift: item popularity shift (L-inf) " in lines[
      "2000-06-03"]) and (f"against span {first}, item {flood_item}"
                          in lines["2000-06-03"]), out.stdout

  config = config_lib.load_config(None, overrides)
  registry = config_lib.span_registry_dir(config)
  assert sorted(os.listdir(os.path.join(registry, "interactions"))) == [
      f"{span(d):08d}.json" for d in DAYS]
  report = results.latest_reports(config)["CoEngagementPairs"]
  window = report["inputs"]["interactions"]["window"]
  assert window["spans"] == [first, third]
  assert window["missing"] == [span("2000-06-02")]
  assert window["eval_pairs"] == "newest span"
  # The eval pairs are the newest day's: the cutoff is its first
  # percentile time, and every interaction of the two days was read.
  times = sorted(int(r[2]) for r in day_rows["2000-06-03"])
  assert times[0] <= report["eval_cutoff_timestamp"] <= times[len(times) // 50]
  assert report["eval_cutoff_timestamp"] > max(
      int(r[2]) for r in day_rows["2000-06-01"])
  assert report["counts"]["interactions_read"] == (
      len(day_rows["2000-06-01"]) + len(day_rows["2000-06-03"]))
  # The drift figures are kept: day 3 against day 1 (day 2 is missing).
  drift = example_io.read_json(os.path.join(results.latest_output_uri(
      config, "DriftCheck", "drift"), contract.DRIFT_FILE))
  assert drift["span"] == third and drift["previous_span"] == first
  assert drift["figures"]["volume_ratio"] == 2.0
  # One push, day 1's, which records its window.
  pushed = results.pushed_versions(config)
  assert len(pushed) == 1
  lineage = example_io.read_json(os.path.join(
      config_lib.serving_model_dir(config), pushed[-1],
      contract.LINEAGE_FILE))
  assert lineage["inputs"]["interactions"]["span"] == first
  assert lineage["inputs"]["interactions"]["window"]["missing"] == [
      first - 2, first - 1]
  assert lineage["warm_started_from"] is None
  # Day 3's Trainer started from day 1's model (the last blessed one).
  warm = results.latest_training_summary(config)["warm_start"]
  assert warm["base_model"] == os.path.join(lineage["model"],
                                            contract.SERVING_MODEL_DIR)
  assert warm["carried_items"] > 0 and warm["skipped"] == []


def test_backfill_refuses_a_path_without_a_date_and_a_range_without_files(
    tmp_path, capsys):
  from pipeline import backfill_runner  # pylint: disable=g-import-not-at-top
  items = tmp_path / "items.csv"
  items.write_text("item_id,title\n1,a\n")
  base = ["--set", "data.source=files", "--set", f"data.items_path={items}",
          "--set", f"output_dir={tmp_path / 'out'}"]
  numbered = base + ["--set", f"data.interactions_path={tmp_path}/{{SPAN}}.csv"]
  assert backfill_runner.main(
      ["--from", "2000-06-01", "--to", "2000-06-02"] + numbered) == 2
  assert "needs a {YYYY}/{MM}/{DD} placeholder" in capsys.readouterr().err
  dated = base + ["--set", "data.interactions_path="
                  f"{tmp_path}/{{YYYY}}-{{MM}}-{{DD}}.csv"]
  assert backfill_runner.main(
      ["--from", "2000-06-01", "--to", "2000-06-01"] + dated) == 1
  out = capsys.readouterr()
  assert "2000-06-01: skipped, no input file for span 11109" in out.out
  assert "no day from 2000-06-01 to 2000-06-01 had input files" in out.err
