# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
import numpy as np

from trainer import validation
from components import artifacts
from trainer import data


def unit(*rows):
  m = np.array(rows, np.float32)
  return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_mine_semantic_pairs_threshold_neighbors_and_masking():
  text = unit([1, 0], [0.9, 0.1], [0, 1], [0.8, 0.2], [1, 0.01])
  has_text = np.array([1, 1, 1, 1, 0], np.float32)  # item 4: no text
  a, b = data.mine_semantic_pairs(text, has_text, threshold=0.95,
                                  neighbors=1, block_size=2)
  got = sorted(zip(a.tolist(), b.tolist()))
  # 0's best is 1 (0.994), 1's best 0 (or 3), 3's best 1 (0.99); 2 has none
  # above 0.95; 4 is masked out entirely.
  assert got == [(0, 1), (1, 0), (3, 1)]
  a, b = data.mine_semantic_pairs(text, has_text, 0.95, neighbors=5)
  assert 4 not in a and 4 not in b and 2 not in a
  assert all(x != y for x, y in zip(a, b))


def test_candidate_probability_and_trigger_counts():
  pairs = artifacts.Pairs(trigger=np.array([0, 0, 1]), candidate=np.array([1, 2, 2]),
                     pair_count=np.array([1, 1, 3]),
                     trigger_count=np.array([2.0, 2.0, 3.0], np.float32))
  p = data.candidate_probability(pairs, 3)
  np.testing.assert_allclose(p, np.array([1, 2, 5]) / 8)
  np.testing.assert_allclose(data.trigger_counts_by_item(pairs, 3), [2, 3, 0])


def test_exact_top_k_excludes_self():
  vectors = unit([1, 0], [0.9, 0.1], [0, 1], [0.7, 0.3])
  top = validation.exact_top_k(vectors, vectors, np.array([0, 2]), k=2)
  assert top.tolist() == [[1, 3], [3, 1]]
