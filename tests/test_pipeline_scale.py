# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The scale benchmark's data generator writes what the ExampleGens write."""
import os

from benchmarks import pipeline_scale
from components import example_io


def test_hand_encoded_example_parses_like_the_real_one():
  raw = pipeline_scale.interaction_example("u7", "i12345", 1_600_000_123)
  assert example_io.from_example(raw) == {
      "user_id": "u7", "item_id": "i12345", "timestamp": 1_600_000_123}


def test_synthetic_logs_have_the_announced_shape(tmp_path):
  globs = pipeline_scale.write_synthetic(str(tmp_path), 5000, dim=8)
  rows = example_io.read_example_files(globs["interactions"])
  assert len(rows) == 5000
  assert len({r["user_id"] for r in rows}) == 5000 // 50
  vectors = example_io.read_example_files(globs["vectors"],
                                          ["text_embedding"])
  assert len(vectors) == 100 and len(vectors[0]["text_embedding"]) == 8
  assert os.path.basename(globs["items"]) == "*.gz"
