# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Training data: co-engagement pair datasets, logQ and OPC inputs, and the
semantic pseudo-label pairs mined from BERT text embeddings (in memory).

The catalog and pair splits are read by `components.artifacts`.
"""
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from components import semantic_pairs
from components.artifacts import Pairs


def mine_semantic_pairs(text: np.ndarray, has_text: np.ndarray,
                        threshold: float, neighbors: int,
                        block_size: int = 4096, index: str = "auto"
                        ) -> Tuple[np.ndarray, np.ndarray]:
  """Semantic pseudo-labels: (i, j) with cosine(text_i, text_j) >= threshold,
  i != j, the `neighbors` most similar j per i (the rule of
  `components.semantic_pairs.nearest_above`), in memory.

  Exact in blocks of `block_size` rows (memory O(block_size * n)) up to
  semantic_pairs.EXACT_LIMIT items, ScaNN above (or as `index` says).

  Returns:
    (anchors, positives), int64 arrays of catalog indices.
  """
  valid = np.flatnonzero(has_text > 0)
  if len(valid) < 2 or neighbors <= 0:
    return np.zeros(0, np.int64), np.zeros(0, np.int64)
  vectors = np.ascontiguousarray(text[valid], np.float32)
  searcher = (semantic_pairs.build_searcher(vectors, neighbors)
              if semantic_pairs.choose_index(index, len(valid)) == "scann"
              else None)
  anchors, positives = [], []
  for start in range(0, len(valid), block_size):
    rows = np.arange(start, min(start + block_size, len(valid)))
    block_rows, block_positives = semantic_pairs.nearest_above(
        vectors[rows], rows, vectors, threshold, neighbors, searcher)
    anchors.append(valid[rows[block_rows]])
    positives.append(valid[block_positives])
  return (np.concatenate(anchors).astype(np.int64),
          np.concatenate(positives).astype(np.int64))


def trigger_counts_by_item(pairs: Pairs, num_items: int) -> np.ndarray:
  """Per catalog item, its trigger_count in `pairs` (0 when never a trigger)."""
  counts = np.zeros(num_items, np.float32)
  counts[pairs.trigger] = pairs.trigger_count
  return counts


def candidate_counts(pairs: Pairs, num_items: int) -> np.ndarray:
  """Per item, its occurrences as a candidate in `pairs` (pair_count summed),
  for candidate-side OPC."""
  return np.bincount(pairs.candidate, weights=pairs.pair_count,
                     minlength=num_items).astype(np.float32)


def batch_frequency(candidates: np.ndarray, num_items: int) -> np.ndarray:
  """Per item, the probability that one candidate slot of a training batch
  holds it, for logQ correction: its share of the rows the batches are
  built from. Each row of `candidates` is one batch slot per epoch (the
  engagement batches shuffle the rows of the train pairs, one row per
  distinct pair when they are deduplicated; the semantic batches draw
  pseudo-label pairs uniformly), so a pair's occurrence count does not
  enter: weighting by it would overstate popular candidates and teach the
  towers the popularity that logQ exists to take out.

  An item that is never a candidate gets the probability of one row, so
  log() stays finite (it never fills an in-batch slot; only uniformly
  sampled negatives reach it).
  """
  counts = np.bincount(np.asarray(candidates, np.int64),
                       minlength=num_items).astype(np.float64)
  return (np.maximum(counts, 1.0) / max(len(candidates), 1)).astype(
      np.float32)


def candidate_probability(pairs: Pairs, num_items: int) -> np.ndarray:
  """The engagement task's logQ probabilities: `batch_frequency` of the
  pairs' candidates, as `training_dataset` batches them."""
  return batch_frequency(pairs.candidate, num_items)


def training_dataset(pairs: Pairs, batch_size: int, seed: int,
                     semantic: Optional[Tuple[np.ndarray, np.ndarray]] = None,
                     trigger_counts: Optional[np.ndarray] = None
                     ) -> tf.data.Dataset:
  """One epoch of shuffled engagement batches; each batch also carries an
  equally sized batch of semantic pairs when `semantic` is given (drawn with
  replacement, so the semantic task sees as many examples as engagement)."""
  features = {"trigger": pairs.trigger, "candidate": pairs.candidate,
              "trigger_count": pairs.trigger_count}
  dataset = tf.data.Dataset.from_tensor_slices(features).shuffle(
      len(pairs), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
  if semantic is None or len(semantic[0]) == 0:
    return dataset
  anchors, positives = semantic
  rng = np.random.default_rng(seed)
  steps = -(-len(pairs) // batch_size)
  draws = rng.integers(0, len(anchors), size=steps * batch_size)
  sem = {"sem_trigger": anchors[draws], "sem_candidate": positives[draws],
         "sem_trigger_count": trigger_counts[anchors[draws]]}
  sem_dataset = tf.data.Dataset.from_tensor_slices(sem).batch(batch_size)
  return tf.data.Dataset.zip((dataset, sem_dataset)).map(
      lambda a, b: {**a, **b})
