# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Readers of the pipeline's artifacts outside Beam: the item catalog and
the pair splits that CoEngagementPairs writes, the evaluator's metrics.

The trainer, the evaluator, the ablation and the runners' result summaries
all read artifacts through these functions (and every path through
tf.io.gfile, so an artifact URI may be gs://...).
"""
import dataclasses
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from components import example_io
from relvid import contract


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
    titles: n titles ("" where unknown), for people looking at results.
    media_paths: n media URIs ("" for items without media).
  """
  item_ids: np.ndarray
  text: np.ndarray
  has_text: np.ndarray
  topics: List[List[str]]
  train_engagements: np.ndarray
  visual: Optional[np.ndarray] = None
  has_visual: Optional[np.ndarray] = None
  titles: Optional[List[str]] = None
  media_paths: Optional[List[str]] = None

  def __post_init__(self):
    if self.visual is None:
      self.visual = np.zeros((len(self.item_ids), 0), np.float32)
      self.has_visual = np.zeros(len(self.item_ids), np.float32)
    if self.titles is None:
      self.titles = [""] * len(self.item_ids)
    if self.media_paths is None:
      self.media_paths = [""] * len(self.item_ids)

  def __len__(self) -> int:
    return len(self.item_ids)

  def index(self) -> Dict[str, int]:
    return {item_id: i for i, item_id in enumerate(self.item_ids)}


def load_catalog(examples_uri: str) -> Catalog:
  """Reads the `catalog` split written by CoEngagementPairs (sorted by id)."""
  rows = example_io.read_example_files(
      example_io.uri_split_glob(examples_uri, contract.CATALOG),
      list_fields=[contract.TOPICS, contract.TEXT_EMBEDDING,
                   contract.VISUAL_EMBEDDING])
  if not rows:
    raise ValueError(f"no catalog rows under {examples_uri}")
  rows.sort(key=lambda r: r[contract.ITEM_ID])
  text, has_text = _stack_vectors(rows, contract.TEXT_EMBEDDING)
  visual, has_visual = _stack_vectors(rows, contract.VISUAL_EMBEDDING)
  return Catalog(
      item_ids=np.array([r[contract.ITEM_ID] for r in rows], dtype=object),
      text=text, has_text=has_text,
      topics=[list(r.get(contract.TOPICS, [])) for r in rows],
      train_engagements=np.array([r.get(contract.TRAIN_ENGAGEMENTS, 0)
                                  for r in rows], np.int64),
      visual=visual, has_visual=has_visual,
      titles=[r.get(contract.TITLE) or "" for r in rows],
      media_paths=[r.get(contract.MEDIA_PATH) or "" for r in rows])


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
  """Co-engagement pairs as catalog indices; `recent_count` is each train
  pair's occurrences in the validation window (zeros where the pairs have
  no window)."""
  trigger: np.ndarray
  candidate: np.ndarray
  pair_count: np.ndarray
  trigger_count: np.ndarray
  recent_count: Optional[np.ndarray] = None

  def __post_init__(self):
    if self.recent_count is None:
      self.recent_count = np.zeros(len(self.trigger), np.int64)

  def __len__(self) -> int:
    return len(self.trigger)

  def rows(self, rows: np.ndarray) -> "Pairs":
    """The pairs at these row indices."""
    return Pairs(self.trigger[rows], self.candidate[rows],
                 self.pair_count[rows], self.trigger_count[rows],
                 self.recent_count[rows])


def _catalog_indices(rows: List[Dict[str, Any]], split: str,
                     index: Dict[str, int]) -> Tuple[np.ndarray, np.ndarray]:
  """(trigger, candidate) catalog indices; an id missing from the catalog
  is an error (the pipeline's joins guarantee there is none)."""
  unknown = {r[k] for r in rows for k in (contract.TRIGGER_ID,
                                          contract.CANDIDATE_ID)
             if r[k] not in index}
  if unknown:
    raise ValueError(f"{len(unknown)} item ids in the {split} pairs are not in "
                     f"the catalog, e.g. {sorted(unknown)[:5]}")
  return (np.array([index[r[contract.TRIGGER_ID]] for r in rows], np.int64),
          np.array([index[r[contract.CANDIDATE_ID]] for r in rows], np.int64))


def load_pairs(examples_uri: str, split: str, catalog: Catalog) -> Pairs:
  """Reads one co-engagement pair split (train or eval)."""
  rows = example_io.read_example_files(
      example_io.uri_split_glob(examples_uri, split))
  trigger, candidate = _catalog_indices(rows, split, catalog.index())
  return Pairs(
      trigger=trigger, candidate=candidate,
      pair_count=np.array([r[contract.PAIR_COUNT] for r in rows], np.int64),
      trigger_count=np.array([r[contract.TRIGGER_COUNT] for r in rows],
                             np.float32),
      recent_count=np.array([r.get(contract.RECENT_COUNT, 0) for r in rows],
                            np.int64))


def load_semantic_pairs(examples_uri: str, catalog: Catalog
                        ) -> Optional[Tuple[np.ndarray, np.ndarray]]:
  """The `semantic` split CoEngagementPairs mined (anchor, positive catalog
  indices), or None when the pipeline mined none."""
  pattern = example_io.uri_split_glob(examples_uri, contract.SEMANTIC)
  if not tf.io.gfile.glob(pattern):
    return None
  rows = example_io.read_example_files(pattern)
  return _catalog_indices(rows, contract.SEMANTIC, catalog.index())


def read_metrics(evaluation_uri: str) -> Dict[str, Any]:
  """The RelatedVideoEvaluator's metrics.json."""
  return example_io.read_json(os.path.join(evaluation_uri,
                                           contract.METRICS_FILE))
