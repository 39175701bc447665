# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Training data: the item catalog, co-engagement pair datasets and the
semantic pseudo-label pairs mined from BERT text embeddings."""
import dataclasses
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

import pipeline  # noqa: F401  (selects Keras 2 before TF loads)
import tensorflow as tf

from components import example_io
from components import pair_generation

UNKNOWN = -1


@dataclasses.dataclass
class Catalog:
  """Every item, indexed 0..n-1, with what the towers and metrics need.

  Attributes:
    item_ids: [n] item ids (str).
    text: [n, d] float32 text embeddings; rows without text are zeros.
    has_text: [n] float32, 1 where the item has a text embedding.
    topics: n lists of topic strings.
    train_engagements: [n] int64 engagements before the eval cutoff.
  """
  item_ids: np.ndarray
  text: np.ndarray
  has_text: np.ndarray
  topics: List[List[str]]
  train_engagements: np.ndarray

  def __len__(self) -> int:
    return len(self.item_ids)

  def index(self) -> Dict[str, int]:
    return {item_id: i for i, item_id in enumerate(self.item_ids)}


def split_glob(examples_uri: str, split: str) -> str:
  return os.path.join(examples_uri, f"Split-{split}",
                      "*" + example_io.TFRECORD_SUFFIX)


def load_catalog(examples_uri: str) -> Catalog:
  """Reads the `catalog` split written by CoEngagementPairs (sorted by id)."""
  rows = example_io.read_example_files(split_glob(examples_uri, pair_generation.CATALOG),
               list_fields=["topics", pair_generation.EMBEDDING_FEATURE])
  if not rows:
    raise ValueError(f"no catalog rows under {examples_uri}")
  rows.sort(key=lambda r: r["item_id"])
  dim = max(len(r.get(pair_generation.EMBEDDING_FEATURE, [])) for r in rows)
  text = np.zeros((len(rows), dim), np.float32)
  has_text = np.zeros(len(rows), np.float32)
  for i, row in enumerate(rows):
    vector = row.get(pair_generation.EMBEDDING_FEATURE) or []
    if vector:
      text[i] = vector
      has_text[i] = 1.0
  return Catalog(
      item_ids=np.array([r["item_id"] for r in rows], dtype=object),
      text=text, has_text=has_text,
      topics=[list(r.get("topics", [])) for r in rows],
      train_engagements=np.array([r.get("train_engagements", 0)
                                  for r in rows], np.int64))


@dataclasses.dataclass
class Pairs:
  """Co-engagement pairs as catalog indices."""
  trigger: np.ndarray
  candidate: np.ndarray
  pair_count: np.ndarray
  trigger_count: np.ndarray

  def __len__(self) -> int:
    return len(self.trigger)


def load_pairs(examples_uri: str, split: str, catalog: Catalog) -> Pairs:
  """Reads one pair split; an id missing from the catalog is an error (the
  pipeline's joins guarantee there is none)."""
  rows = example_io.read_example_files(split_glob(examples_uri, split))
  index = catalog.index()
  unknown = {r[k] for r in rows for k in ("trigger_id", "candidate_id")
             if r[k] not in index}
  if unknown:
    raise ValueError(f"{len(unknown)} item ids in the {split} pairs are not in "
                     f"the catalog, e.g. {sorted(unknown)[:5]}")
  return Pairs(
      trigger=np.array([index[r["trigger_id"]] for r in rows], np.int64),
      candidate=np.array([index[r["candidate_id"]] for r in rows], np.int64),
      pair_count=np.array([r["pair_count"] for r in rows], np.int64),
      trigger_count=np.array([r["trigger_count"] for r in rows], np.float32))


def mine_semantic_pairs(text: np.ndarray, has_text: np.ndarray,
                        threshold: float, neighbors: int,
                        block_size: int = 4096) -> Tuple[np.ndarray, np.ndarray]:
  """Semantic pseudo-labels: (i, j) with cosine(text_i, text_j) >= threshold,
  i != j, the `neighbors` most similar j per i.

  Exact, in blocks of `block_size` rows (memory O(block_size * n)); fine up to
  about 10^5 items. Text vectors are L2-normalised, so dot = cosine.

  Returns:
    (anchors, positives), int64 arrays of catalog indices.
  """
  valid = np.flatnonzero(has_text > 0)
  vectors = text[valid]
  anchors, positives = [], []
  for start in range(0, len(valid), block_size):
    block = vectors[start:start + block_size] @ vectors.T
    rows = np.arange(block.shape[0])
    block[rows, start + rows] = -np.inf  # no self pairs
    k = min(neighbors, len(valid) - 1)
    if k <= 0:
      break
    top = np.argpartition(-block, k - 1, axis=1)[:, :k]
    scores = np.take_along_axis(block, top, axis=1)
    keep = scores >= threshold
    anchors.append(valid[start + np.nonzero(keep)[0]])
    positives.append(valid[top[keep]])
  if not anchors:
    return np.zeros(0, np.int64), np.zeros(0, np.int64)
  return (np.concatenate(anchors).astype(np.int64),
          np.concatenate(positives).astype(np.int64))


def trigger_counts_by_item(pairs: Pairs, num_items: int) -> np.ndarray:
  """Per catalog item, its trigger_count in `pairs` (0 when never a trigger)."""
  counts = np.zeros(num_items, np.float32)
  counts[pairs.trigger] = pairs.trigger_count
  return counts


def candidate_probability(pairs: Pairs, num_items: int) -> np.ndarray:
  """Per item, its share of candidate occurrences (for logQ correction);
  never zero, so log() stays finite."""
  counts = np.bincount(pairs.candidate, weights=pairs.pair_count,
                       minlength=num_items).astype(np.float64)
  counts += 1.0  # add-one smoothing
  return (counts / counts.sum()).astype(np.float32)


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
