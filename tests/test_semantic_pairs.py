# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Semantic pseudo-label mining: the rule, exact vs ScaNN, the Beam stage."""
import apache_beam as beam
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import numpy as np
import pytest

from components import semantic_pairs


def unit(*rows):
  m = np.array(rows, np.float32)
  return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_nearest_above_threshold_neighbors_no_self():
  matrix = unit([1, 0], [0.9, 0.1], [0, 1], [0.8, 0.2])
  rows, positives = semantic_pairs.nearest_above(
      matrix, np.arange(4), matrix, threshold=0.95, neighbors=1)
  assert sorted(zip(rows.tolist(), positives.tolist())) == [
      (0, 1), (1, 0), (3, 1)]
  rows, positives = semantic_pairs.nearest_above(
      matrix, np.arange(4), matrix, threshold=0.95, neighbors=3)
  assert 2 not in rows and 2 not in positives
  assert all(r != p for r, p in zip(rows, positives))


def clustered(n, d=32, clusters=50, seed=0):
  rng = np.random.default_rng(seed)
  centres = rng.normal(size=(clusters, d))
  vectors = centres[rng.integers(clusters, size=n)] + 0.3 * rng.normal(
      size=(n, d))
  return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(
      np.float32)


def test_scann_finds_nearly_the_exact_pairs():
  matrix = clustered(5000)
  rows = np.arange(len(matrix))
  exact = set(zip(*[a.tolist() for a in semantic_pairs.nearest_above(
      matrix, rows, matrix, 0.8, 5)]))
  searcher = semantic_pairs.build_searcher(matrix, 5)
  approximate = set(zip(*[a.tolist() for a in semantic_pairs.nearest_above(
      matrix, rows, matrix, 0.8, 5, searcher)]))
  assert len(exact) > 1000
  assert len(exact & approximate) / len(exact) > 0.9
  assert all(a != b for a, b in approximate)


@pytest.mark.parametrize("index", ["exact", "scann"])
def test_beam_stage_matches_the_rule(index):
  matrix = clustered(600, clusters=20, seed=1)
  ids = [f"i{i}" for i in range(len(matrix))]
  rows, positives = semantic_pairs.nearest_above(
      matrix, np.arange(len(matrix)), matrix, 0.85, 3)
  want = sorted((ids[a], ids[b]) for a, b in zip(rows, positives))
  with beam.Pipeline() as p:
    got = (p
           | beam.Create(list(zip(ids, matrix.tolist())))
           | semantic_pairs.SemanticPairs(0.85, 3, index=index,
                                          block_size=128)
           | beam.Map(lambda r: (r["trigger_id"], r["candidate_id"])))
    if index == "exact":
      assert_that(got, equal_to(want))
    else:
      assert_that(got | beam.combiners.Count.Globally(),
                  lambda counts: _close(counts[0], len(want)))


def _close(got, want):
  assert abs(got - want) <= 0.1 * want, (got, want)


def test_bad_index_name_fails_fast():
  with pytest.raises(ValueError, match="semantic index"):
    semantic_pairs.SemanticPairs(0.8, 3, index="faiss")
