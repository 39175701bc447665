# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Distributed training (trainer/distribute.py): a parameter-server cluster
of local processes (2 parameter servers, 2 workers, the chief) in a network
namespace of its own, every process running the Trainer's real `run_fn` on
the small pipeline run's pairs."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from components import artifacts
from pipeline import results
from relvid import config as config_lib
from relvid import contract
from trainer import distribute
from trainer import local_cluster
from trainer import streaming
from trainer import task
from trainer import validation


def test_a_synchronous_run_needs_a_cluster_without_parameter_servers(
    monkeypatch):
  monkeypatch.delenv("TF_CONFIG", raising=False)
  config = config_lib.TrainerConfig(distribution="multi_worker_mirrored")
  with pytest.raises(ValueError, match="run_fn starts them"):
    with distribute.cluster_strategy(config):
      pass
  assert not distribute.trains_without_export("multi_worker_mirrored")
  cluster = {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]}
  monkeypatch.setenv("TF_CONFIG", json.dumps(
      {"cluster": cluster, "task": {"type": "worker", "index": 0}}))
  # A synchronous worker trains (it does not only serve) but the chief
  # exports.
  assert distribute.trains_without_export("multi_worker_mirrored")
  assert not distribute.serves_only("multi_worker_mirrored")
  assert not distribute.trains_without_export("parameter_server")
  monkeypatch.setenv("TF_CONFIG", json.dumps(
      {"cluster": {**cluster, "ps": ["127.0.0.1:3"]},
       "task": {"type": "chief", "index": 0}}))
  assert not distribute.trains_without_export("multi_worker_mirrored")
  with pytest.raises(ValueError, match="takes no parameter servers"):
    distribute.strategy("multi_worker_mirrored", 1024)
  monkeypatch.setenv("TF_CONFIG", json.dumps(
      {"cluster": cluster, "task": {"type": "ps", "index": 0}}))
  with pytest.raises(ValueError, match="trains on the chief and the workers"):
    distribute.strategy("multi_worker_mirrored", 1024)
  assert local_cluster.cluster_shape_error(
      1, 0, "multi_worker_mirrored") is None
  assert local_cluster.cluster_shape_error(
      0, 0, "multi_worker_mirrored") is None
  assert "--ps must be 0" in local_cluster.cluster_shape_error(
      1, 1, "multi_worker_mirrored")
  assert "both be >= 1" in local_cluster.cluster_shape_error(
      1, 0, "parameter_server")


def test_the_launcher_refuses_an_output_that_holds_a_run(tmp_path, capsys):
  """A second run into the same folder would mix its model with the
  first's (and stop at the export): refused before any process starts."""
  (tmp_path / local_cluster.SERVING_MODEL).mkdir()
  assert local_cluster.main(["--examples", "unused", "--output",
                             str(tmp_path), "--workers", "0", "--ps", "0"]) == 2
  assert "already holds a run (serving_model)" in capsys.readouterr().err
  assert local_cluster.output_in_use_error(str(tmp_path / "new")) is None


@pytest.mark.parametrize("overrides, field", [
    (["trainer.local_workers=1"], "trainer.local_workers"),
    (["trainer.local_workers=3"], "trainer.batch_size"),
    (["orchestration.vertex_project=acme", "orchestration.image=img",
      "orchestration.vertex_workers=2"], "trainer.batch_size")])
def test_synchronous_replicas_must_be_two_or_more_and_split_the_batch(
    overrides, field):
  with pytest.raises(ValueError, match=field):
    config_lib.load_config(None, [
        "trainer.distribution=multi_worker_mirrored", *overrides])
  # 4 replicas split 1,024 rows evenly.
  config_lib.load_config(None, [
      "trainer.distribution=multi_worker_mirrored",
      "trainer.local_workers=4"])


def test_a_distributed_run_needs_a_cluster_and_the_chief(monkeypatch):
  monkeypatch.delenv("TF_CONFIG", raising=False)
  with pytest.raises(ValueError, match="no TF_CONFIG"):
    distribute.strategy("parameter_server", 1024)
  assert distribute.strategy("none", 1024) is None
  cluster = {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"],
             "ps": ["127.0.0.1:3"]}
  monkeypatch.setenv("TF_CONFIG", json.dumps(
      {"cluster": cluster, "task": {"type": "worker", "index": 0}}))
  assert distribute.serves_only("parameter_server")
  # One process ignores a cluster it is not asked to join.
  assert not distribute.serves_only("none")
  with pytest.raises(ValueError, match="trains on the chief"):
    distribute.strategy("parameter_server", 1024)
  monkeypatch.setenv("TF_CONFIG", json.dumps(
      {"cluster": {"chief": cluster["chief"], "worker": cluster["worker"]},
       "task": {"type": "chief", "index": 0}}))
  with pytest.raises(ValueError, match="at least one worker and one ps"):
    distribute.strategy("parameter_server", 1024)


def launch_cluster(small_pipeline_run, out, workers, parameter_servers,
                   extra_args=(), distribution="parameter_server"):
  """`trainer.local_cluster` in a network namespace of its own on the small
  run's pairs; its report."""
  pairs_uri = results.latest_pairs_uri(small_pipeline_run.config)
  overrides = small_pipeline_run.overrides + [
      f"trainer.distribution={distribution}",
      # Small enough that the sample's ID tables split over both servers.
      "trainer.shard_min_bytes=1024", "export.index=brute_force"]
  launched = subprocess.run(
      [sys.executable, "-m", "trainer.local_cluster", "--examples",
       pairs_uri, "--output", str(out), "--workers", str(workers), "--ps",
       str(parameter_servers), "--isolate-network", *extra_args,
       *[f"--set={o}" for o in overrides]],
      capture_output=True, text=True, timeout=900)
  chief_log = (out / "chief-0.log").read_text() if (
      out / "chief-0.log").exists() else ""
  assert launched.returncode == 0, (launched.stderr[-2000:] +
                                    chief_log[-3000:])
  return json.loads((out / local_cluster.CLUSTER_REPORT).read_text())


def trained_summary(out, distribution, warm_started=False):
  """The chief's training.json: trained under `distribution` on streamed
  pairs, with validation, its loss falling (from scratch)."""
  summary = json.loads((out / local_cluster.MODEL_RUN /
                        contract.TRAINING_SUMMARY_FILE).read_text())
  assert summary["distribution"] == distribution
  assert summary["input"] == "streaming"
  if not warm_started:
    losses = summary["history"]["engagement_loss"]
    assert losses[-1] < losses[0]
  assert "val_recall@100" in summary["history"]
  return summary


def sharded_summary(out, warm_started=False):
  summary = trained_summary(out, "parameter_server", warm_started)
  shards = summary["parameter_server_shards"]
  assert shards["trigger/id_embedding"] == 2
  assert shards["candidate/id_embedding"] == 2
  return summary


def assert_averaged(summary, decay):
  """The exported weights are the moving average (trainer.
  weight_average_decay) over the kept epoch's steps, at least one an
  epoch: every worker's or replica's steps updated it."""
  assert summary["weight_average"]["decay"] == pytest.approx(decay)
  assert summary["weight_average"]["steps"] >= summary["kept_epoch"]


def assert_export_retrieves_the_chiefs_vectors(out):
  """The export is an ordinary SavedModel (it loads without the cluster)
  whose top 10 for a few triggers are the exact top 10 of the item vectors
  the chief wrote; returns those vectors."""
  vectors = task.read_item_embeddings(str(out / local_cluster.MODEL_RUN))
  serve = tf.saved_model.load(str(out / local_cluster.SERVING_MODEL)
                              ).signatures[contract.SERVING_SIGNATURE]
  item_ids = vectors["item_ids"]
  triggers = np.arange(0, len(item_ids), max(len(item_ids) // 5, 1))[:5]
  expected = validation.exact_top_k(vectors["trigger"], vectors["candidate"],
                                    triggers, 10)
  served = serve(**{contract.SERVING_INPUT: tf.constant(
      list(item_ids[triggers]))})[contract.SERVING_OUTPUT_IDS].numpy()
  for trigger, want, got in zip(triggers, expected, served):
    got = [i.decode() for i in got[:10]]
    assert item_ids[trigger] not in got
    assert got == list(item_ids[want])
  return vectors


def local_server_processes():
  """Processes running `trainer.distribute --serve-for-parent`."""
  found = []
  for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
      with open(f"/proc/{pid}/cmdline", "rb") as f:
        if b"--serve-for-parent" in f.read():
          found.append(int(pid))
    except OSError:
      continue
  return found


needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="a network namespace needs root")


@pytest.fixture(scope="module")
def cold_cluster(small_pipeline_run, tmp_path_factory):
  """2 PS + 2 workers + the chief from scratch, with asynchronous updates
  (the default's synchronous rounds: the local-servers test below), at
  batch 512, so that an epoch of the sample is several steps (at 2048
  it is two, which may overlap, and the loss need not fall):
  (output folder, report)."""
  if os.geteuid() != 0:
    pytest.skip("a network namespace needs root")
  out = tmp_path_factory.mktemp("cluster") / "cold"
  return out, launch_cluster(
      small_pipeline_run, out, 2, 2,
      ["--set=trainer.parameter_server_updates=asynchronous",
       "--set=trainer.batch_size=512"])


@needs_root
def test_parameter_server_cluster_trains_and_exports_with_run_fn(
    cold_cluster, small_pipeline_run):
  out, report = cold_cluster
  assert report["exit_codes"] == {
      "ps:0": -signal.SIGTERM, "ps:1": -signal.SIGTERM,
      "worker:0": -signal.SIGTERM, "worker:1": -signal.SIGTERM,
      "chief:0": 0}
  # No process is left behind.
  for pid in report["pids"].values():
    assert not os.path.exists(f"/proc/{pid}")
  # The workers ran training steps (their servers executed functions).
  assert "serving as worker" in (out / "worker-0.log").read_text()

  summary = sharded_summary(out)
  assert summary["weight_average"] is None
  assert summary["synchronous_rounds"] is None  # asynchronous

  # The export is an ordinary single-process SavedModel: it loads without
  # the cluster and retrieves what the chief's item vectors say.
  vectors = assert_export_retrieves_the_chiefs_vectors(out)
  # The rare-trigger column of the exported copy comes from the pairs the
  # weights were last trained on: the refit's, every train pair (not the
  # window-validated fit's).
  pairs_uri = results.latest_pairs_uri(small_pipeline_run.config)
  catalog = artifacts.load_catalog(pairs_uri)
  minus_log_q = -np.log(streaming.scan_pairs(
      pairs_uri, catalog, "off")[0].candidate_probability().astype(
          np.float64))
  width = small_pipeline_run.config.trainer.output_dim
  np.testing.assert_allclose(vectors["candidate"][:, width],
                             minus_log_q / minus_log_q.max(), rtol=1e-4)


@needs_root
def test_without_tf_config_the_chief_starts_and_stops_local_servers(
    small_pipeline_run, tmp_path):
  """`relvid run --set trainer.distribution=parameter_server` on one
  machine: run_fn alone, no TF_CONFIG, starts 2 workers and 2 parameter
  servers itself, which exit with it; here warm-started, as a daily job
  is, from the small run's (single-process) model, with the weights
  averaged (the averages on the parameter servers). The updates are the
  default's synchronous rounds: the refit on every train pair (the
  exported weights) ran kept_epoch x ceil(rows / batch_size) rounds of
  two batches, each round one update of the weight average."""
  base_model = results.latest_output_uri(small_pipeline_run.config,
                                         "Trainer", "model")
  out = tmp_path / "alone"
  batch_size = 256
  report = launch_cluster(small_pipeline_run, out, 0, 0,
                          [f"--base-model={base_model}",
                           f"--set=trainer.batch_size={batch_size}",
                           "--set=trainer.weight_average_decay=0.9"])
  assert report["cluster"] is None and list(report["pids"]) == ["chief:0"]
  log = (out / "chief-0.log").read_text()
  assert "started 2 workers and 2 parameter servers" in log
  # (Its loss is not compared: on this small sample a warm start's first
  # epoch is within a few hundredths of a cold one's, either way, by base.)
  summary = sharded_summary(out, warm_started=True)
  assert_averaged(summary, 0.9)
  pairs_uri = results.latest_pairs_uri(small_pipeline_run.config)
  rows = streaming.scan_pairs(pairs_uri, artifacts.load_catalog(pairs_uri),
                              "off")[0].fit_rows
  assert rows > batch_size  # several rounds an epoch
  rounds = summary["kept_epoch"] * -(-rows // batch_size)
  assert summary["synchronous_rounds"] == {
      "batches_per_round": 2, "rounds": rounds, "batches": 2 * rounds}
  assert summary["weight_average"]["steps"] == rounds
  # The base model's weights went into the sharded tables (its Adagrad
  # accumulators do not: a sharded optimizer starts afresh).
  warm = summary["warm_start"]
  assert warm["carried_items"] > 0 and warm["new_items"] == 0
  assert "trigger/id_embedding" in warm["copied"] and not warm["skipped"]
  assert warm["optimizer_state"] == []
  assert (out / local_cluster.SERVING_MODEL / "saved_model.pb").exists()
  # The servers exit with their chief (they poll for it twice a second).
  deadline = time.time() + 10
  while local_server_processes() and time.time() < deadline:
    time.sleep(0.2)
  assert not local_server_processes()


@needs_root
def test_synchronous_cluster_trains_every_replica_and_the_chief_exports(
    small_pipeline_run, tmp_path):
  """MultiWorkerMirrored: the chief and one worker, each running run_fn,
  train in step (the batch split between them, the in-batch negatives
  gathered); the chief exports, the worker waits until it is stopped."""
  out = tmp_path / "sync"
  report = launch_cluster(small_pipeline_run, out, 1, 0,
                          distribution="multi_worker_mirrored")
  assert report["cluster"] == {"chief": report["cluster"]["chief"],
                               "worker": report["cluster"]["worker"]}
  assert report["exit_codes"] == {"worker:0": -signal.SIGTERM,
                                  "chief:0": 0}
  for pid in report["pids"].values():
    assert not os.path.exists(f"/proc/{pid}")
  worker_log = (out / "worker-0.log").read_text()
  assert "MultiWorkerMirroredStrategy" in worker_log
  assert "this worker waits for the chief" in worker_log
  chief_log = (out / "chief-0.log").read_text()
  # Every step's collectives span both processes.
  assert "group_size = 2" in chief_log
  summary = trained_summary(out, "multi_worker_mirrored")
  assert set(summary["parameter_server_shards"].values()) == {1}
  assert summary["weight_average"] is None
  # The epoch logs are the whole batch's, not added up over the replicas.
  trainer_config = small_pipeline_run.config.trainer
  history = summary["history"]
  epochs = len(history["engagement_loss"])
  assert history["engagement_task_weight"] == [
      trainer_config.engagement_weight] * epochs
  assert history["semantic_task_weight"] == [
      trainer_config.semantic_weight] * epochs
  assert_export_retrieves_the_chiefs_vectors(out)


@needs_root
def test_without_tf_config_run_fn_trains_on_local_replicas(
    small_pipeline_run, tmp_path):
  """`relvid run --set trainer.distribution=multi_worker_mirrored` on one
  machine: run_fn alone, no TF_CONFIG, runs the chief and a worker as
  processes of their own (the default trainer.local_workers: 2 replicas),
  the chief exporting where run_fn was asked to, warm-started from the
  small run's model, with the weights averaged (mirrored averages)."""
  base_model = results.latest_output_uri(small_pipeline_run.config,
                                         "Trainer", "model")
  out = tmp_path / "alone"
  report = launch_cluster(small_pipeline_run, out, 0, 0,
                          [f"--base-model={base_model}",
                           "--set=trainer.weight_average_decay=0.8"],
                          distribution="multi_worker_mirrored")
  assert report["cluster"] is None and report["exit_codes"] == {
      "chief:0": 0}
  replicas = out / local_cluster.MODEL_RUN / "local_replicas"
  inner = json.loads((replicas / local_cluster.CLUSTER_REPORT).read_text())
  assert sorted(inner["cluster"]) == ["chief", "worker"]
  assert inner["exit_codes"] == {"worker:0": -signal.SIGTERM, "chief:0": 0}
  for pid in inner["pids"].values():
    assert not os.path.exists(f"/proc/{pid}")
  assert "this worker waits for the chief" in (
      replicas / "worker-0.log").read_text()
  summary = trained_summary(out, "multi_worker_mirrored", warm_started=True)
  assert_averaged(summary, 0.8)
  warm = summary["warm_start"]
  assert warm["carried_items"] > 0 and warm["new_items"] == 0
  assert "trigger/id_embedding" in warm["copied"] and not warm["skipped"]
  assert_export_retrieves_the_chiefs_vectors(out)


def _gone(pid):
  """The process has exited (a zombie nobody reaps counts as exited)."""
  try:
    with open(f"/proc/{pid}/status") as f:
      return "\nState:\tZ" in f.read()
  except FileNotFoundError:
    return True


LAUNCHER_KILLED_BEFORE_STOPPING = """
import os, subprocess, sys, time
from trainer import distribute, local_cluster
local_cluster.isolate_network()
spec = distribute.local_cluster_spec(1, 1)
role = subprocess.Popen(
    local_cluster.role_command([
        "--examples", "unused", "--output", sys.argv[1],
        "--set=trainer.distribution=parameter_server"]),
    env=dict(os.environ, TF_CONFIG=distribute.tf_config(spec, "ps", 0)),
    stdout=open(sys.argv[2], "w"), stderr=subprocess.STDOUT)
print(role.pid, flush=True)
time.sleep(600)
"""


@needs_root
def test_cluster_processes_end_when_their_launcher_is_killed(tmp_path):
  """A launcher killed before it could stop its cluster (kill -9: no
  finally runs) leaves no process behind: each ends itself."""
  log = tmp_path / "ps-0.log"
  role = None
  launcher = subprocess.Popen(
      [sys.executable, "-c", LAUNCHER_KILLED_BEFORE_STOPPING, str(tmp_path),
       str(log)], stdout=subprocess.PIPE, text=True)
  try:
    role = int(launcher.stdout.readline())
    # The parameter server is serving, as the launcher left it.
    deadline = time.time() + 120
    while time.time() < deadline and "serving as ps 0" not in (
        log.read_text() if log.exists() else ""):
      assert not _gone(role), log.read_text()
      time.sleep(0.5)
    time.sleep(1)
    assert not _gone(role), log.read_text()
    launcher.kill()
    launcher.wait()
    deadline = time.time() + 30
    while time.time() < deadline and not _gone(role):
      time.sleep(0.2)
    assert _gone(role), "the ps process outlived its launcher"
  finally:
    launcher.kill()
    if role and not _gone(role):
      os.kill(role, signal.SIGKILL)
