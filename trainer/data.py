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
from components import semantic_pairs

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
    visual: [n, v] float32 visual embeddings (v = 0 when the pipeline
      computed none); rows without one are zeros.
    has_visual: [n] float32, 1 where the item has a visual embedding.
  """
  item_ids: np.ndarray
  text: np.ndarray
  has_text: np.ndarray
  topics: List[List[str]]
  train_engagements: np.ndarray
  visual: Optional[np.ndarray] = None
  has_visual: Optional[np.ndarray] = None

  def __post_init__(self):
    if self.visual is None:
      self.visual = np.zeros((len(self.item_ids), 0), np.float32)
      self.has_visual = np.zeros(len(self.item_ids), np.float32)

  def __len__(self) -> int:
    return len(self.item_ids)

  def index(self) -> Dict[str, int]:
    return {item_id: i for i, item_id in enumerate(self.item_ids)}


def split_glob(examples_uri: str, split: str) -> str:
  return os.path.join(examples_uri, f"Split-{split}",
                      "*" + example_io.TFRECORD_SUFFIX)


def load_catalog(examples_uri: str) -> Catalog:
  """Reads the `catalog` split written by CoEngagementPairs (sorted by id)."""
  rows = example_io.read_example_files(
      split_glob(examples_uri, pair_generation.CATALOG),
      list_fields=["topics", pair_generation.EMBEDDING_FEATURE,
                   pair_generation.VISUAL_FEATURE])
  if not rows:
    raise ValueError(f"no catalog rows under {examples_uri}")
  rows.sort(key=lambda r: r["item_id"])
  text, has_text = _stack_vectors(rows, pair_generation.EMBEDDING_FEATURE)
  visual, has_visual = _stack_vectors(rows, pair_generation.VISUAL_FEATURE)
  return Catalog(
      item_ids=np.array([r["item_id"] for r in rows], dtype=object),
      text=text, has_text=has_text,
      topics=[list(r.get("topics", [])) for r in rows],
      train_engagements=np.array([r.get("train_engagements", 0)
                                  for r in rows], np.int64),
      visual=visual, has_visual=has_visual)


def _stack_vectors(rows: List[Dict], feature: str
                   ) -> Tuple[np.ndarray, np.ndarray]:
  """[n, d] vectors of `feature` (zeros where absent) and the [n] mask."""
  dim = max(len(r.get(feature) or []) for r in rows)
  vectors = np.zeros((len(rows), dim), np.float32)
  present = np.zeros(len(rows), np.float32)
  for i, row in enumerate(rows):
    vector = row.get(feature) or []
    if vector:
      vectors[i] = vector
      present[i] = 1.0
  return vectors, present


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


def load_semantic_pairs(examples_uri: str, catalog: Catalog
                        ) -> Optional[Tuple[np.ndarray, np.ndarray]]:
  """The `semantic` split CoEngagementPairs mined (anchor, positive catalog
  indices), or None when the pipeline mined none."""
  if not tf.io.gfile.glob(split_glob(examples_uri, pair_generation.SEMANTIC)):
    return None
  rows = example_io.read_example_files(
      split_glob(examples_uri, pair_generation.SEMANTIC))
  index = catalog.index()
  return (np.array([index[r["trigger_id"]] for r in rows], np.int64),
          np.array([index[r["candidate_id"]] for r in rows], np.int64))


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
