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
  # Rows, not occurrences: candidate 2 fills 2 of the 3 batch slots of an
  # epoch whatever its pair_count; item 0 is never a candidate and gets
  # one row's probability.
  p = data.candidate_probability(pairs, 3)
  np.testing.assert_allclose(p, [1 / 3, 1 / 3, 2 / 3])
  np.testing.assert_allclose(data.trigger_counts_by_item(pairs, 3), [2, 3, 0])


def test_logq_probability_is_the_in_batch_frequency_of_an_epoch():
  """The estimate logQ uses is what the batches hold: over one epoch of
  `training_dataset`, each item's share of the candidate slots (popular
  pairs occur many times, but the deduplicated rows are batched once)."""
  rng = np.random.default_rng(0)
  num_items, rows = 50, 3000
  candidate = np.minimum(rng.zipf(1.5, rows) - 1, num_items - 1)
  pairs = artifacts.Pairs(
      trigger=rng.integers(0, num_items, rows), candidate=candidate,
      pair_count=rng.integers(1, 40, rows) * (1 + candidate),  # skewed
      trigger_count=np.ones(rows, np.float32))
  slots = np.zeros(num_items)
  for batch in data.training_dataset(pairs, batch_size=256, seed=3):
    slots += np.bincount(batch["candidate"].numpy(), minlength=num_items)
  empirical = slots / slots.sum()
  estimate = data.candidate_probability(pairs, num_items)
  seen = empirical > 0
  np.testing.assert_allclose(estimate[seen], empirical[seen], rtol=1e-6)
  # The occurrence-weighted estimate it replaces is far from the batches.
  occurrences = data.candidate_counts(pairs, num_items)
  assert np.abs(occurrences / occurrences.sum() - empirical).max() > 0.05

  # The semantic batches draw pseudo-label pairs uniformly with
  # replacement: their positives' frequency, up to sampling noise.
  anchors = rng.integers(0, num_items, 400)
  positives = np.minimum(rng.zipf(1.3, 400) - 1, num_items - 1)
  semantic_slots = np.zeros(num_items)
  for batch in data.training_dataset(
      pairs, batch_size=256, seed=3, semantic=(anchors, positives),
      trigger_counts=np.ones(num_items, np.float32)):
    semantic_slots += np.bincount(batch["sem_candidate"].numpy(),
                                  minlength=num_items)
  semantic_estimate = data.batch_frequency(positives, num_items)
  frequent = semantic_estimate > 0.05
  np.testing.assert_allclose(
      semantic_estimate[frequent],
      (semantic_slots / semantic_slots.sum())[frequent], rtol=0.15)


def test_exact_top_k_excludes_self():
  vectors = unit([1, 0], [0.9, 0.1], [0, 1], [0.7, 0.3])
  top = validation.exact_top_k(vectors, vectors, np.array([0, 2]), k=2)
  assert top.tolist() == [[1, 3], [3, 1]]


def test_exact_top_k_in_blocks_is_the_same():
  rng = np.random.default_rng(0)
  vectors = rng.normal(size=(50, 4))
  triggers = np.array([3, 7, 7, 11, 49, 0, 20])
  whole = validation.exact_top_k(vectors, vectors, triggers, k=5,
                                 block=len(triggers))
  np.testing.assert_array_equal(
      validation.exact_top_k(vectors, vectors, triggers, k=5, block=2), whole)
