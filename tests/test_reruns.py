# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Reruns and faults on the local runner, on the small MovieLens sample:

1. a component that fails leaves no model pushed (nor blessed);
2. a run killed mid-way (SIGKILL during the Trainer, through `relvid run`)
   and started again completes, reusing what finished and pushing once;
3. rerunning the unchanged pipeline is served from TFX's cache.

The three steps share one output folder and run in file order."""
import os
import signal
import subprocess
import sys

import pytest

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline import config as config_lib
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from tests.conftest import movielens_sample
from tests.conftest import sample_overrides

State = metadata_store_pb2.Execution.State
PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
  store = metadata_store.MetadataStore(
      metadata_store_pb2.ConnectionConfig(sqlite=metadata_store_pb2.
                                          SqliteMetadataSourceConfig(
                                              filename_uri=pipeline_lib.
                                              metadata_path(config))))
  found = {}
  for context in store.get_contexts_by_type("node"):
    node = context.name.split(".", 1)[1]
    runs = sorted(store.get_executions_by_context(context.id),
                  key=lambda e: e.id)
    found[node] = [State.Name(e.last_known_state) for e in runs]
  return found


def nodes(config):
  return {c.id for c in pipeline_lib.create_components(config)}


def pushed_versions(config):
  base = os.path.join(config_lib.serving_dir(config), config.export.model_name)
  return sorted(os.listdir(base)) if os.path.isdir(base) else []


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
  assert pushed_versions(failing) == []


def test_killed_run_restarts_and_then_hits_the_cache(setup):
  overrides, config = setup
  command = [sys.executable, "-m", "pipeline.cli", "run", "--no-progress"]
  for override in overrides:
    command += ["--set", override]
  process = subprocess.Popen(command, cwd=PROJECT, stderr=subprocess.PIPE,
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
  assert pushed_versions(config) == []

  finished = [node for node, states in killed.items()
              if states[-1] in ("COMPLETE", "CACHED")
              and node in nodes(config)]
  assert "CoEngagementPairs" in finished and "TextEmbedder" in finished

  local_runner.run(config)
  restarted = executions(config)
  # What finished before the kill is reused, not recomputed.
  for node in finished:
    assert restarted[node] == killed[node] + ["CACHED"], node
  assert restarted["Trainer"] == killed["Trainer"] + ["COMPLETE"]
  assert restarted["Pusher"] == ["COMPLETE"]
  versions = pushed_versions(config)
  assert len(versions) == 1
  reports = local_runner.latest_reports(config)
  assert reports["DataIngestion"]["counts"]["interactions_written"] > 0

  local_runner.run(config)
  rerun = executions(config)
  for node in nodes(config):
    assert rerun[node] == restarted[node] + ["CACHED"], node
  assert pushed_versions(config) == versions
