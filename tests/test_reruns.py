# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Reruns and faults on the local runner, on the small MovieLens sample:

1. a component that fails leaves no model pushed (nor blessed);
2. a run killed mid-way (SIGKILL during the Trainer) and started again
   completes, reusing what finished and pushing once; both runs go through
   the installed `relvid run` console script;
3. rerunning the unchanged pipeline is served from TFX's cache.

The three steps share one output folder and run in file order."""
import os
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
  overrides = sample_overrides(folder, interactions, items) + [
      "trainer.epochs=1", "eval.recall_floor=0.0",
      "eval.topic_match_floor=0.0"]
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


def test_killed_run_restarts_and_then_hits_the_cache(setup, tmp_path):
  overrides, config = setup
  command = [RELVID, "run", "--no-progress"]
  for override in overrides:
    command += ["--set", override]
  process = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE,
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

  restart = subprocess.run(command, cwd=tmp_path, capture_output=True,
                           text=True, timeout=900)
  assert restart.returncode == 0, restart.stderr[-3000:]
  # What a user sees at the end of `relvid run`: the reports, the metrics.
  assert "relvid pipeline finished in" in restart.stdout
  assert "DataIngestion: " in restart.stdout
  assert "Evaluation on the time-split eval pairs:" in restart.stdout
  restarted = executions(config)
  # What finished before the kill is reused, not recomputed.
  for node in finished:
    assert restarted[node] == killed[node] + ["CACHED"], node
  assert restarted["Trainer"] == killed["Trainer"] + ["COMPLETE"]
  assert restarted["Pusher"] == ["COMPLETE"]
  versions = results.pushed_versions(config)
  assert len(versions) == 1
  reports = results.latest_reports(config)
  assert reports["DataIngestion"]["counts"]["interactions_written"] > 0

  local_runner.run(config)
  rerun = executions(config)
  for node in nodes(config):
    assert rerun[node] == restarted[node] + ["CACHED"], node
  assert results.pushed_versions(config) == versions
