# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""End to end: the whole pipeline on a small real MovieLens sample, run by
LocalDagRunner through the generic `files` input format."""
import csv
import os

import numpy as np
import tensorflow as tf
from scann.scann_ops.py import scann_ops  # noqa: F401  (registers ScaNN ops)

from components import assets
from pipeline import config as config_lib
from pipeline import local_runner
from tests.conftest import write_csv
from tests.test_pair_generation import read_examples

USERS = 40


def movielens_sample(folder):
  """The first USERS users' ratings and the movies they rated, from the
  installed recbole copy, in the generic CSV format (titles only; genres as
  topics). On purpose: one unknown item, one bad timestamp, and the first
  movie's genres are blanked (an anomaly against the curated schema)."""
  ml = assets.movielens_100k_dir()
  with open(os.path.join(ml, "ml-100k.inter")) as f:
    rows = [r for r in csv.reader(f, delimiter="\t")][1:]
  rows = [r for r in rows if int(r[0]) <= USERS]
  rated = {r[1] for r in rows}
  with open(os.path.join(ml, "ml-100k.item")) as f:
    movies = [r for r in csv.reader(f, delimiter="\t")][1:]
  movies = [m for m in movies if m[0] in rated]
  items = write_csv(os.path.join(folder, "items.csv"),
                    ["item_id", "title", "description", "tags", "topics",
                     "media_path"],
                    [[m[0], m[1], "", "", "" if i == 0 else
                      m[3].replace(" ", "|"), ""]
                     for i, m in enumerate(movies)])
  log = [[r[0], r[1], r[3]] for r in rows]
  log += [["1", "no-such-movie", "881250949"], ["1", "1", "last tuesday"]]
  interactions = write_csv(os.path.join(folder, "interactions.csv"),
                           ["user_id", "item_id", "timestamp"], log)
  return interactions, items, len(movies), len(rows)


def test_pipeline_runs_end_to_end(tmp_path):
  interactions, items, n_items, n_ratings = movielens_sample(str(tmp_path))
  overrides = [
      "data.source=files", f"data.interactions_path={interactions}",
      f"data.items_path={items}", f"output_dir={tmp_path / 'out'}",
      "data.text_fields=title", "trainer.epochs=2",
      "trainer.semantic_weight=1", "trainer.semantic_threshold=0.5",
      "trainer.opc=true", "eval.recall_floor=0.01",
      "eval.topic_match_floor=0.1"]
  config = config_lib.load_config(None, overrides)
  reports = local_runner.run(config)
  latest = lambda component, output: local_runner.latest_output(
      config, component, output, "Split-*")

  counts = reports["DataIngestion"]["counts"]
  assert counts["items_written"] == n_items
  assert counts["interactions_written"] == n_ratings
  assert counts["interaction_unknown_item"] == 1
  assert counts["interaction_bad_timestamp"] == 1

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

  anomalies = local_runner.latest_anomalies(config)
  assert anomalies["interactions"] == []
  assert len(anomalies["items"]) == 1
  assert anomalies["items"][0].startswith("topics:")

  metrics = local_runner.latest_metrics(config)
  assert metrics["blessed"] is True
  assert metrics["num_eval_pairs"] > 0
  for k in (10, 50, 100):
    assert 0.0 <= metrics["all"][f"recall@{k}"] <= 1.0
  assert metrics["all"]["recall@100"] >= metrics["all"]["recall@10"]
  serving = os.path.join(config_lib.serving_dir(config),
                         config.export.model_name)
  versions = os.listdir(serving)
  assert len(versions) == 1 and versions[0].isdigit()
  served = tf.saved_model.load(os.path.join(serving, versions[0]))
  out = served.signatures["serving_default"](
      trigger_id=tf.constant([embeddings[0]["item_id"]]))
  assert out["candidate_ids"].shape == (1, 100)

  # Rerun with a floor no model can reach: everything upstream comes from
  # TFX's cache, the evaluator refuses the blessing, nothing new is pushed.
  strict = config_lib.load_config(None, overrides + ["eval.recall_floor=1"])
  local_runner.run(strict)
  assert local_runner.latest_metrics(strict)["blessed"] is False
  assert os.listdir(serving) == versions
