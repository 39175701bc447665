# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""End to end: the whole pipeline on a small real MovieLens sample, run by
LocalDagRunner through the generic `files` input format."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from scann.scann_ops.py import scann_ops  # noqa: F401  (registers ScaNN ops)

from pipeline import local_runner
from pipeline import results
from relvid import config as config_lib
from relvid import contract
from tests.test_pair_generation import read_examples
from trainer import export


def test_pipeline_runs_end_to_end(small_pipeline_run):
  run = small_pipeline_run
  config, overrides, reports = run.config, run.overrides, run.reports
  n_items, n_ratings = run.num_items, run.num_ratings
  latest = lambda component, output: results.latest_output_uri(
      config, component, output)

  # No Beam component left a copy of TFX's source in the temp folder.
  assert run.new_ephemeral_packages == set()

  assert reports["items_ExampleGen"]["counts"]["items_written"] == n_items
  counts = reports["interactions_ExampleGen"]["counts"]
  # The unknown movie's row is a valid row of the log; CoEngagementPairs,
  # where the tables meet, leaves it out.
  assert counts["interactions_written"] == n_ratings + 1
  assert counts["interaction_bad_timestamp"] == 1
  assert reports["CoEngagementPairs"]["counts"][
      "interaction_unknown_item"] == 1
  for table in ("interactions", "items"):
    examples = latest(f"{table}_ExampleGen", "examples")
    assert tf.io.gfile.exists(os.path.join(examples, "report.json"))

  embeddings = read_examples(os.path.join(
      latest("TextEmbedder", "item_embeddings"), "Split-all"))
  assert len(embeddings) == n_items
  vectors = np.array([e["text_embedding"] for e in embeddings])
  np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

  pair_report = reports["CoEngagementPairs"]
  pairs_uri = latest("CoEngagementPairs", "pairs")
  for split in ("train", "eval"):
    rows = read_examples(os.path.join(pairs_uri, f"Split-{split}"))
    assert len(rows) == pair_report["counts"][f"pairs_written_{split}"] > 0
    assert all(r["trigger_id"] != r["candidate_id"] for r in rows)
  # Co-engaged movies share a genre more often than chance (FACTS: 34.5%).
  assert pair_report["topic_share_train"] > 0.4

  # The semantic task is on: its pseudo-labels were mined by the Beam stage
  # and the trainer used them.
  semantic = read_examples(os.path.join(pairs_uri, "Split-semantic"))
  assert semantic and all(r["cosine"] >= 0.5 for r in semantic)
  run_dir = results.latest_model_run_uri(config)
  with open(os.path.join(run_dir, "training.json")) as f:
    training = json.load(f)
  assert training["semantic_pairs_from_pipeline"] == len(semantic)
  # Per epoch: each task's loss, the effective weights, and the eval
  # split's metrics (watched, never used to stop), also in TensorBoard.
  history = training["history"]
  assert training["epochs_trained"] == 2
  for name in ("loss", "engagement_loss", "semantic_loss",
               "engagement_task_weight", "semantic_task_weight",
               "opc_weight", "val_recall@100", "val_topic_match@10"):
    assert len(history[name]) == 2, name
  assert 0 < history["opc_weight"][0] < 1
  assert history["semantic_task_weight"] == [1.0, 1.0]
  # `loss` is the epoch's mean: the tasks' mean losses, weighted.
  weight = np.array(history["engagement_task_weight"])
  np.testing.assert_allclose(
      history["loss"],
      weight * history["engagement_loss"]
      + weight * history["cold_query_loss"]
      + np.array(history["semantic_task_weight"]) * history["semantic_loss"],
      rtol=1e-4)
  for split in ("train", "validation"):
    assert tf.io.gfile.glob(os.path.join(run_dir, split,
                                         "events.out.tfevents.*")), split

  anomalies = results.latest_anomalies(config)
  assert anomalies["interactions"] == []
  assert len(anomalies["items"]) == 1
  assert anomalies["items"][0].startswith("topics:")

  metrics = results.latest_metrics(config)
  assert metrics["blessed"] is True
  assert metrics["num_eval_pairs"] > 0
  for k in (10, 50, 100):
    assert 0.0 <= metrics["all"][f"recall@{k}"] <= 1.0
  assert metrics["all"]["recall@100"] >= metrics["all"]["recall@10"]
  serving = config_lib.serving_model_dir(config)
  versions = os.listdir(serving)
  assert results.pushed_versions(config) == versions
  assert len(versions) == 1 and versions[0].isdigit()
  served = tf.saved_model.load(os.path.join(serving, versions[0]))
  out = served.signatures["serving_default"](
      trigger_id=tf.constant([embeddings[0]["item_id"]]))
  assert out["candidate_ids"].shape == (1, 100)
  # The towers a catalog refresh needs came through the Pusher whole.
  towers = export.load_item_towers(
      os.path.join(serving, versions[0], contract.ITEM_TOWERS_DIR))
  assert contract.ITEM_TOWERS_SIGNATURE in towers.signatures
  # The first push: no serving version to compare with, the floors decide;
  # the blessing names the model as TFX's LatestBlessedModelStrategy needs.
  assert metrics["serving"]["version"] is None
  assert "first push" in metrics["serving"]["not_compared"]
  store = results.open_store(config)
  model_uri = results.latest_output_uri(config, "Trainer", "model", store)
  (model,) = store.get_artifacts_by_uri(model_uri)
  (blessing,) = store.get_artifacts_by_uri(results.latest_output_uri(
      config, "RelatedVideoEvaluator", "blessing", store))
  assert blessing.custom_properties["current_model_id"].int_value == model.id
  assert blessing.custom_properties["blessed"].int_value == 1
  # What the version came from: the model, the pairs, the input spans.
  with open(os.path.join(serving, versions[0], contract.LINEAGE_FILE)) as f:
    lineage = json.load(f)
  assert lineage["model"] == model_uri and lineage["steps"] == []
  assert lineage["pairs"] == results.latest_pairs_uri(config)
  assert lineage["inputs"]["interactions"]["uri"] == results.latest_output_uri(
      config, "interactions_ExampleGen", "examples", store)
  assert lineage["inputs"]["interactions"]["span"] == 0
  # The cold slices are in metrics.json, counted.
  assert {"cold_triggers", "cold_candidates"} <= set(metrics)
  assert metrics["num_cold_items"] >= metrics["num_cold_triggers"]
  assert "cold_share@100" in metrics["all"]

  # Rerun with a floor no model can reach: everything upstream comes from
  # TFX's cache, the evaluator refuses the blessing, nothing new is pushed.
  strict = config_lib.load_config(None, overrides + ["eval.recall_floor=1"])
  local_runner.run(strict)
  held = results.latest_metrics(strict)
  assert held["blessed"] is False
  assert os.listdir(serving) == versions
  # Compared with the version serving, which is this very model: level.
  assert held["serving"]["version"] == int(versions[0])
  assert [c["change"] for c in held["change_checks"]] == [
      pytest.approx(0.0, abs=1e-3)] * 2
  assert held["not_blessed_because"] == [
      f"recall@100={held['all']['recall@100']:.4f} < floor 1.0"]
