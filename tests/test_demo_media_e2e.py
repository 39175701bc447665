# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""End to end with visual features: the demo catalog's real video clips and
photos through the whole pipeline (VisualEmbedder in the DAG, text + visual
+ ID towers), plus a corrupt and a missing media file that must be counted,
listed and masked, never faked."""
import csv
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from scann.scann_ops.py import scann_ops  # noqa: F401  (registers ScaNN ops)

from components import artifacts
from components import demo_catalog
from pipeline import local_runner
from pipeline import results
from relvid import config as config_lib
from tests.conftest import write_csv


@pytest.fixture(scope="module")
def media_run(tmp_path_factory):
  folder = tmp_path_factory.mktemp("media")
  interactions, items = demo_catalog.build_demo_catalog(
      str(folder / "catalog"))
  with open(items) as f:
    rows = list(csv.DictReader(f))
  corrupt = folder / "corrupt.mp4"
  corrupt.write_bytes(b"\x00 not a video " * 50)
  rows += [dict(rows[0], item_id="corrupt-clip", media_path=str(corrupt)),
           dict(rows[0], item_id="lost-clip",
                media_path=str(folder / "lost.mp4"))]
  items = write_csv(str(folder / "items.csv"), list(rows[0]),
                    [list(r.values()) for r in rows])
  overrides = [
      "data.source=files", f"data.interactions_path={interactions}",
      f"data.items_path={items}", f"output_dir={folder / 'out'}",
      "visual.enabled=true", "trainer.use_visual=true", "trainer.epochs=5",
      "trainer.batch_size=128", "pairs.eval_fraction=0.2",
      "export.top_k=20", "eval.ks=10,20", "eval.gate_k=10",
      "eval.recall_floor=0.01", "eval.topic_match_floor=0.1"]
  config = config_lib.load_config(None, overrides)
  local_runner.run(config)
  return config, results.latest_reports(config), rows


def test_visual_features_run_end_to_end(media_run):
  config, reports, rows = media_run
  with_media = [r for r in rows if r["media_path"]]
  visual = reports["VisualEmbedder"]["counts"]
  assert visual["items_embedded"] == len(with_media) - 2
  assert visual["media_unreadable"] == 1
  assert visual["media_missing"] == 1
  assert visual["items_without_media"] == len(rows) - len(with_media)
  report_dir = results.latest_output_uri(config, "VisualEmbedder", "report")
  listed = sorted(json.loads(line)["item_id"] for path in
                  glob.glob(os.path.join(report_dir, "media_errors*"))
                  for line in open(path))
  assert listed == ["corrupt-clip", "lost-clip"]

  catalog = artifacts.load_catalog(results.latest_pairs_uri(config))
  assert len(catalog) == len(rows)
  assert catalog.visual.shape[1] == 1280
  has_visual = dict(zip(catalog.item_ids, catalog.has_visual))
  assert has_visual["chelsea"] == 1 and has_visual["corrupt-clip"] == 0
  assert has_visual["lost-clip"] == 0
  assert has_visual["text-space-news"] == 0
  assert np.all(catalog.visual[catalog.has_visual == 0] == 0)
  # Clips of one video look alike; clips of different videos do not.
  index = catalog.index()
  cos = lambda a, b: float(catalog.visual[index[a]] @ catalog.visual[index[b]])
  assert cos("bikes-01", "bikes-02") > cos("bikes-01", "bigbuckbunny-01")

  run_dir = results.latest_model_run_uri(config)
  with open(os.path.join(run_dir, "training.json")) as f:
    training = json.load(f)
  assert training["trainer"]["use_visual"] is True
  assert training["items_with_visual"] == len(with_media) - 2

  metrics = results.latest_metrics(config)
  assert metrics["blessed"] is True
  assert metrics["all"]["recall@20"] >= metrics["all"]["recall@10"] > 0
  serving = config_lib.serving_model_dir(config)
  version = os.listdir(serving)[0]
  serve = tf.saved_model.load(os.path.join(serving, version)).signatures[
      "serving_default"]
  # Items without a visual vector are served like any other.
  out = serve(trigger_id=tf.constant(["lost-clip", "text-space-news"]))
  assert out["candidate_ids"].shape == (2, 20)
