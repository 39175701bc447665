# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Reruns and faults on the local runner, on the small MovieLens sample
(the log read through a glob, `logs/*.csv`, as a scheduled job reads it):

1. a component that fails leaves no model pushed (nor blessed);
2. a run killed mid-way (SIGKILL during the Trainer) and started again
   completes, reusing what finished and pushing once; both runs go through
   the installed `relvid run` console script;
3. rerunning the unchanged pipeline is served from TFX's cache;
4. a new file under the glob, then rows appended to a log file and a
   catalog row changed in place, are each ingested again and retrained
   and pushed (`relvid run`): TFX's cache never serves stale input.

The steps share one output folder and run in file order."""
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys

import pytest

from ml_metadata.proto import metadata_store_pb2

from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from pipeline import results
from relvid import config as config_lib
from tests.conftest import movielens_sample
from tests.conftest import sample_overrides

State = metadata_store_pb2.Execution.State
RELVID = os.path.join(os.path.dirname(sys.executable), "relvid")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
  folder = tmp_path_factory.mktemp("reruns")
  interactions, items, _, _ = movielens_sample(str(folder))
  (folder / "logs").mkdir()
  os.rename(interactions, folder / "logs" / "day1.csv")
  overrides = sample_overrides(folder, str(folder / "logs" / "*.csv"),
                               items) + [
      "trainer.epochs=1", "eval.recall_floor=0.0",
      "eval.topic_match_floor=0.0",
      # One-epoch models on a tiny log differ by more than the default
      # change bounds; this file tests the cache, so every model may push
      # (still compared with the serving one: see the checks below).
      "eval.recall_change_absolute=-1", "eval.recall_change_relative=-1",
      "eval.topic_change_absolute=-1", "eval.topic_change_relative=-1"]
  return overrides, config_lib.load_config(None, overrides)


def executions(config):
  """node id -> states of its executions, oldest first."""
  store = results.open_store(config)
  return {node: [State.Name(e.last_known_state)
                 for e in results.executions(config, node, store)]
          for node in results.component_ids(config, store)}


def nodes(config):
  return {c.id for c in pipeline_lib.create_components(config)}


def test_failed_component_pushes_nothing(setup):
  overrides, _ = setup
  # Visual features on a catalog without media: every item is counted
  # `items_without_media`, and the Trainer refuses use_visual with no vector.
  failing = config_lib.load_config(None, overrides + [
      "visual.enabled=true", "trainer.use_visual=true"])
  with pytest.raises(Exception, match="visual_embedding"):
    local_runner.run(failing)
  states = executions(failing)
  assert states["Trainer"] == ["FAILED"]
  assert "RelatedVideoEvaluator" not in states and "Pusher" not in states
  assert results.pushed_versions(failing) == []


def relvid_run(overrides, *flags):
  command = [RELVID, "run", "--no-progress", *flags]
  for override in overrides:
    command += ["--set", override]
  return command


def test_killed_run_restarts_and_then_hits_the_cache(setup, tmp_path):
  overrides, config = setup
  command = relvid_run(overrides)
  # --verbose: the logs on the terminal, to see the Trainer start.
  process = subprocess.Popen(relvid_run(overrides, "--verbose"),
                             cwd=tmp_path, stderr=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, text=True,
                             start_new_session=True)
  seen = []
  for line in process.stderr:
    seen.append(line)
    if "training on" in line:  # trainer.task.run_fn is fitting the model
      os.killpg(process.pid, signal.SIGKILL)
      break
  process.wait(timeout=60)
  assert process.returncode == -signal.SIGKILL, "".join(seen[-20:])
  killed = executions(config)
  # Died with the process: registered, never completed.
  assert killed["Trainer"][-1] == "RUNNING"
  assert "COMPLETE" not in killed["Trainer"]
  assert results.pushed_versions(config) == []

  finished = [node for node, states in killed.items()
              if states[-1] in ("COMPLETE", "CACHED")
              and node in nodes(config)]
  assert "CoEngagementPairs" in finished and "TextEmbedder" in finished

  # As in a shell without TF_CPP_MIN_LOG_LEVEL.
  restart = subprocess.run(command, cwd=tmp_path, capture_output=True,
                           text=True, timeout=900, env={
                               k: v for k, v in os.environ.items()
                               if k != "TF_CPP_MIN_LOG_LEVEL"})
  assert restart.returncode == 0, restart.stderr[-3000:]
  # What a user sees at the end of `relvid run`: the reports, the metrics.
  assert "relvid pipeline finished in" in restart.stdout
  assert "interactions_ExampleGen: " in restart.stdout
  assert "Evaluation on the time-split eval pairs:" in restart.stdout
  # ... and not TensorFlow's start-up lines or TFX's logs: those are in the
  # log file whose path it prints.
  log_path = re.search(r"^full log: (.*)$", restart.stdout, re.M).group(1)
  # (The log's path, and the project's own warnings: here, that this is
  # the first push.)
  shown = restart.stderr.splitlines()
  assert shown[0] == f"full log: {log_path}"
  assert all(line.startswith("WARNING RelatedVideoEvaluator: ")
             for line in shown[1:]), shown[:10]
  with open(log_path) as f:
    log = f.read()
  # TensorFlow's C++ log lines ("2026-12-04 09:23:35.826028: I ...").
  assert re.search(r"^\d{4}-\d\d-\d\d [\d:.]+: [IWE] ", log, re.M)
  assert "Component Trainer is finished" in log and "training on" in log
  restarted = executions(config)
  # What finished before the kill is reused, not recomputed.
  for node in finished:
    assert restarted[node] == killed[node] + ["CACHED"], node
  assert restarted["Trainer"] == killed["Trainer"] + ["COMPLETE"]
  assert restarted["Pusher"] == ["COMPLETE"]
  versions = results.pushed_versions(config)
  assert len(versions) == 1
  reports = results.latest_reports(config)
  assert reports["interactions_ExampleGen"]["counts"][
      "interactions_written"] > 0

  local_runner.run(config)
  rerun = executions(config)
  for node in nodes(config):
    assert rerun[node] == restarted[node] + ["CACHED"], node
  assert results.pushed_versions(config) == versions


def _changed_since(before, after):
  """node -> the states of the executions `after` added to `before`."""
  return {node: states[len(before.get(node, [])):]
          for node, states in after.items()}


def _rerun(overrides, config, tmp_path):
  before = executions(config)
  out = subprocess.run(relvid_run(overrides), cwd=tmp_path,
                       capture_output=True, text=True, timeout=900)
  assert out.returncode == 0, out.stderr[-3000:]
  return _changed_since(before, executions(config)), out.stdout


# What depends on each table (the rest of the DAG is the catalog's text
# path: the encoder, TextEmbedder).
AFTER_THE_LOG = ["interactions_StatisticsGen", "interactions_ExampleValidator",
                 "CoEngagementPairs", "Trainer", "RelatedVideoEvaluator",
                 "Pusher"]
AFTER_THE_CATALOG = ["items_StatisticsGen", "items_ExampleValidator",
                     "TextEmbedder", "CoEngagementPairs", "Trainer",
                     "RelatedVideoEvaluator", "Pusher"]


def test_new_and_changed_input_is_never_served_from_the_cache(setup,
                                                             tmp_path):
  overrides, config = setup
  folder = os.path.dirname(os.path.dirname(config.data.interactions_path))
  day1 = os.path.join(folder, "logs", "day1.csv")
  with open(day1) as f:
    header, *rows = f.read().splitlines()
  read_before = results.latest_reports(config)["interactions_ExampleGen"][
      "counts"]["interaction_rows_read"]
  versions = results.pushed_versions(config)

  # A second day's file under the glob: other users, a day later.
  later = [r.split(",") for r in rows[:300]]
  assert all(time.isdigit() for _, _, time in later)
  day2 = os.path.join(folder, "logs", "day2.csv")
  with open(day2, "w") as f:
    f.write("\n".join([header] + [
        f"x{user},{item},{int(time) + 86400}"
        for user, item, time in later]) + "\n")
  ran, stdout = _rerun(overrides, config, tmp_path)
  assert ran["interactions_ExampleGen"] == ["COMPLETE"]
  assert ran["items_ExampleGen"] == ["CACHED"]
  for node in AFTER_THE_LOG:
    assert ran[node] == ["COMPLETE"], node
  for node in ("TextEmbedder", "items_StatisticsGen"):
    assert ran[node] == ["CACHED"], node
  report = results.latest_reports(config)["interactions_ExampleGen"]
  assert report["counts"]["interaction_rows_read"] == read_before + 300
  assert report["input_files"] == 2
  assert f"interaction_rows_read={read_before + 300}" in stdout
  assert len(results.pushed_versions(config)) == len(versions) + 1
  # The new model was compared with the version that was serving.
  compared = results.latest_metrics(config)
  assert compared["serving"]["version"] == int(versions[-1])
  assert [c["metric"] for c in compared["change_checks"]] == [
      "recall@100", "topic_match@100"]

  # Rows appended to a file and a catalog title changed, both in place.
  with open(day2, "a") as f:
    f.write("\n".join(f"y{user},{item},{int(time) + 2 * 86400}"
                      for user, item, time in later[:100]) + "\n")
  items = config.data.items_path
  with open(items, newline="") as f:
    catalog = f.read()
  first_title = next(csv.DictReader(io.StringIO(catalog)))["title"]
  with open(items, "w") as f:
    f.write(catalog.replace(first_title, first_title.upper(), 1))
  ran, _ = _rerun(overrides, config, tmp_path)
  for node in ["interactions_ExampleGen", "items_ExampleGen"] + sorted(
      set(AFTER_THE_LOG + AFTER_THE_CATALOG)):
    assert ran[node] == ["COMPLETE"], node
  assert results.latest_reports(config)["interactions_ExampleGen"][
      "counts"]["interaction_rows_read"] == read_before + 400
  pushed = results.pushed_versions(config)
  assert len(pushed) == len(versions) + 2
  with open(os.path.join(config_lib.serving_model_dir(config), pushed[-1],
                         "assets.extra", "items.json")) as f:
    titles = {item["title"] for item in json.load(f)["items"]}
  assert first_title.upper() in titles and first_title not in titles
