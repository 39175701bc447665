# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Blessing against the serving version: the candidate and the version
serving from the Pusher's destination are scored on the same eval pairs (the
serving version re-indexed over the current catalog by its own towers); a
worse candidate is held, a better one blessed, and the first push (no
serving version) falls back to the floors."""
import os

import numpy as np
import pytest
import tensorflow as tf

from components import artifacts
from relvid import config as config_lib
from relvid import contract
from relvid.config import EvalConfig
from relvid.config import ExportConfig
from relvid.config import TrainerConfig
from tests.conftest import write_split
from trainer import evaluation
from trainer import export
from trainer import task

CLUSTERS, PER_CLUSTER, DIM, K = 4, 8, 16, 5
EVAL = EvalConfig(ks=[K], gate_k=K, recall_floor=0.0, topic_match_floor=0.0)
EXPORT = ExportConfig(index="brute_force", top_k=K)


def cluster_pairs(rng, clusters, n, within=True):
  """n (trigger, candidate) index pairs in one cluster (or anywhere)."""
  triggers, candidates = [], []
  for _ in range(n):
    c = rng.integers(CLUSTERS)
    members = np.flatnonzero(clusters == c) if within else np.arange(
        len(clusters))
    a, b = rng.choice(members, 2, replace=False)
    triggers.append(a)
    candidates.append(b)
  return np.array(triggers), np.array(candidates)


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
  """A catalog of 4 topic clusters written as a pairs artifact (catalog and
  eval splits), a model trained on within-cluster pairs and one trained on
  pairs drawn across the whole catalog."""
  rng = np.random.default_rng(0)
  ids = [f"c{c}-{i}" for c in range(CLUSTERS) for i in range(PER_CLUSTER)]
  clusters = np.repeat(np.arange(CLUSTERS), PER_CLUSTER)
  centres = np.eye(CLUSTERS, DIM, dtype=np.float32) * 3
  text = centres[clusters] + 0.1 * rng.normal(size=(len(ids), DIM))
  uri = str(tmp_path_factory.mktemp("pairs"))
  write_split(uri, contract.CATALOG, [
      {contract.ITEM_ID: i, contract.TEXT_EMBEDDING: [float(x) for x in t],
       contract.TOPICS: [f"t{c}"], contract.TRAIN_ENGAGEMENTS: 5,
       contract.TITLE: i} for i, t, c in zip(ids, text, clusters)])
  trigger, candidate = cluster_pairs(rng, clusters, 200)
  write_split(uri, contract.EVAL, [
      {contract.TRIGGER_ID: ids[a], contract.CANDIDATE_ID: ids[b],
       contract.PAIR_COUNT: 1, contract.TRIGGER_COUNT: 1}
      for a, b in zip(trigger, candidate)])
  catalog = artifacts.load_catalog(uri)
  config = TrainerConfig(id_dim=8, hidden_dim=16, output_dim=8,
                         semantic_weight=0.0, engagement_weight=1.0,
                         epochs=6, validation="off", batch_size=256, seed=1)
  models = {}
  for name, within in (("good", True), ("bad", False)):
    t, c = cluster_pairs(rng, clusters, 2000, within)
    pairs = artifacts.Pairs(t, c, np.ones(len(t), np.float32),
                            np.bincount(t, minlength=len(ids))[t].astype(
                                np.float32))
    model = task.train(catalog, pairs, config)
    folder = str(tmp_path_factory.mktemp(name))
    export.export_serving_version(model, catalog, folder, EXPORT)
    models[name] = folder
  return uri, models


def serve(tmp_path, source, version=1):
  """A serving folder whose only version is a copy of `source`."""
  serving = tmp_path / "serving"
  tf.io.gfile.makedirs(str(serving))
  from tfx.utils import io_utils  # pylint: disable=g-import-not-at-top
  io_utils.copy_dir(source, str(serving / str(version)))
  return str(serving)


def test_first_push_falls_back_to_the_floors(setting, tmp_path):
  uri, models = setting
  metrics = evaluation.evaluate_and_bless(
      models["bad"], uri, EVAL, EXPORT, str(tmp_path / "none"),
      str(tmp_path / "work"))
  assert metrics["blessed"] and metrics["change_checks"] == []
  assert metrics["serving"]["version"] is None
  assert "first push" in metrics["serving"]["not_compared"]
  # The floors still gate it.
  strict = config_lib.from_dict(EvalConfig, dict(
      config_lib.to_dict(EVAL), recall_floor=0.99))
  held = evaluation.evaluate_and_bless(models["bad"], uri, strict, EXPORT,
                                       str(tmp_path / "none"),
                                       str(tmp_path / "work"))
  assert not held["blessed"]
  assert held["not_blessed_because"][0].startswith(f"recall@{K}=")
  # A drift breach of the run's span holds a model the floors pass.
  drift = {"breaches": ["interactions volume 0.10x span 9's (bounds "
                        "0.5x...2.0x)"], "figures": {"volume_ratio": 0.1}}
  drifted = evaluation.evaluate_and_bless(
      models["good"], uri, EVAL, EXPORT, str(tmp_path / "none"),
      str(tmp_path / "work"), drift=drift)
  assert not drifted["blessed"] and drifted["drift"] == drift
  assert drifted["not_blessed_because"] == [
      "drift: interactions volume 0.10x span 9's (bounds 0.5x...2.0x)"]


def test_a_worse_model_is_held_and_a_better_one_blessed(setting, tmp_path):
  uri, models = setting
  good_alone = evaluation.evaluate_and_bless(
      models["good"], uri, EVAL, EXPORT, "", str(tmp_path / "w0"))
  bad_alone = evaluation.evaluate_and_bless(
      models["bad"], uri, EVAL, EXPORT, "", str(tmp_path / "w1"))
  recall = f"recall@{K}"
  assert good_alone["all"][recall] > bad_alone["all"][recall] + 0.2

  worse = evaluation.evaluate_and_bless(
      models["bad"], uri, EVAL, EXPORT, serve(tmp_path / "a", models["good"]),
      str(tmp_path / "w2"))
  assert not worse["blessed"]
  assert worse["serving"]["version"] == 1
  # The serving version re-indexed scores as it does on its own.
  assert worse["compared"]["serving"]["all"][recall] == pytest.approx(
      good_alone["all"][recall])
  assert worse["compared"]["candidate"]["all"][recall] == pytest.approx(
      bad_alone["all"][recall])
  check = worse["change_checks"][0]
  assert check["metric"] == recall and not check["passed"]
  assert check["change"] == pytest.approx(
      bad_alone["all"][recall] - good_alone["all"][recall])
  assert worse["not_blessed_because"][0].startswith(
      f"{recall}={bad_alone['all'][recall]:.4f} vs serving "
      f"{good_alone['all'][recall]:.4f}")
  assert not tf.io.gfile.exists(str(tmp_path / "w2"))  # scratch removed

  better = evaluation.evaluate_and_bless(
      models["good"], uri, EVAL, EXPORT, serve(tmp_path / "b", models["bad"]),
      str(tmp_path / "w3"))
  assert better["blessed"], better["not_blessed_because"]
  assert better["serving"]["version"] == 1
  assert len(better["change_checks"]) == 2
  assert better["change_checks"][0]["passed"]
  assert better["change_checks"][0]["change"] > 0.2

  # The same model against itself is level: blessed.
  level = evaluation.evaluate_and_bless(
      models["good"], uri, EVAL, EXPORT, serve(tmp_path / "c", models["good"]),
      str(tmp_path / "w4"))
  assert level["blessed"]
  assert [c["change"] for c in level["change_checks"]] == [
      pytest.approx(0.0)] * 2


def test_compare_off_and_towerless_versions_use_the_floors(setting,
                                                           tmp_path):
  uri, models = setting
  serving = serve(tmp_path, models["good"])
  off = config_lib.from_dict(EvalConfig, dict(config_lib.to_dict(EVAL),
                                              compare_with_serving=False))
  metrics = evaluation.evaluate_and_bless(models["bad"], uri, off, EXPORT,
                                          serving, str(tmp_path / "w"))
  assert metrics["blessed"]
  assert "compare_with_serving is off" in metrics["serving"]["not_compared"]
  tf.io.gfile.rmtree(os.path.join(serving, "1", contract.ITEM_TOWERS_DIR))
  metrics = evaluation.evaluate_and_bless(models["bad"], uri, EVAL, EXPORT,
                                          serving, str(tmp_path / "w"))
  assert metrics["blessed"] and metrics["serving"]["version"] == 1
  assert "has no item towers" in metrics["serving"]["not_compared"]
