# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Ablation grids, table columns and written outputs."""
import csv

from relvid.config import TrainerConfig
from trainer import ablation


def test_modality_suite_switches_only_the_modalities():
  base = TrainerConfig(semantic_weight=1.0, engagement_weight=100.0)
  grid = dict(ablation.SUITES["modality"](base))
  assert [(c.use_text, c.use_visual) for c in grid.values()] == [
      (True, False), (True, True), (False, True)]
  assert all(c.semantic_weight == 1.0 and c.engagement_weight == 100.0
             for c in grid.values())
  paper = dict(ablation.SUITES["paper"](base))
  assert paper["+semantic 1:500"].engagement_weight == 500.0
  assert paper["engagement only"].semantic_weight == 0.0


def metrics(recall_small, recall_large, topic):
  section = {"recall@10": recall_small, "recall@20": recall_large,
             "topic_match@10": topic, "popular_share@10": 0.5,
             "coverage@10": 0.5}
  return {"all": section, "tail_triggers": section}


def test_summary_and_outputs_follow_the_configured_ks(tmp_path):
  rows = ablation.summarize(
      {"a": [metrics(0.2, 0.4, 0.6), metrics(0.4, 0.6, 0.8)]}, ks=[10, 20])
  assert rows[0]["recall@10"] == "0.3000"
  assert rows[0]["recall@20 std"] == "0.1000"
  assert rows[0]["topic@10"] == "0.7000"
  paths = ablation.write_outputs(rows, str(tmp_path), [10, 20], "demo")
  with open(paths["csv"]) as f:
    assert next(csv.DictReader(f))["tail recall@20"] == "0.5000"
  with open(paths["md"]) as f:
    assert "| a | 2 | 0.3000 ± 0.1000 |" in f.read()
  assert open(paths["png"], "rb").read(4) == b"\x89PNG"
