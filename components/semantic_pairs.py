# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Semantic pseudo-label pairs: items whose text vectors are close, Beam.

A pair (i, j) is a semantic positive when cosine(text_i, text_j) >=
threshold, i != j, and j is among the `neighbors` most similar items to i.
Text vectors are L2-normalised, so dot product = cosine.

The search runs per block of query items (`beam.BatchElements`), each block
against one index of every item's vector:

* `exact` (catalogs up to EXACT_LIMIT items): block x all-items dot
  products, memory O(block * n);
* `scann` (larger catalogs): approximate nearest neighbours with a ScaNN
  tree + asymmetric-hashing index, built once per worker, so the cost grows
  ~n log n instead of n^2.

The index needs all vectors (O(items) memory: one float32 matrix side input
per worker); nothing here holds anything O(items^2) or O(interactions).
`nearest_above` is the one implementation of the rule; the trainer's
in-memory `trainer.data.mine_semantic_pairs` calls it too.
"""
import math
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics
import numpy as np

from relvid import config as config_lib
from relvid import contract

NAMESPACE = "relvid.semantic"
EXACT_LIMIT = 20000
INDEXES = config_lib.SEMANTIC_INDEXES


def nearest_above(queries: np.ndarray, query_rows: np.ndarray,
                  matrix: np.ndarray, threshold: float, neighbors: int,
                  searcher: Any = None) -> Tuple[np.ndarray, np.ndarray]:
  """Semantic positives for a block of query items.

  Args:
    queries: [b, d] query vectors.
    query_rows: [b] row of each query in `matrix` (its self match).
    matrix: [n, d] every item's vector.
    threshold: minimum cosine.
    neighbors: at most this many positives per query.
    searcher: a ScaNN searcher over `matrix`, or None for exact search.

  Returns:
    (query positions in the block, matrix rows of their positives).
  """
  k = min(neighbors + 1, matrix.shape[0])  # +1: the item finds itself
  if searcher is not None:
    top, scores = searcher.search_batched(queries, final_num_neighbors=k)
    top = np.asarray(top, np.int64)
    scores = np.asarray(scores, np.float32)
  else:
    block = queries @ matrix.T
    top = np.argpartition(-block, k - 1, axis=1)[:, :k]
    scores = np.take_along_axis(block, top, axis=1)
  keep = (scores >= threshold) & (top != query_rows[:, None])
  # Keep the `neighbors` best of what is left after dropping self matches.
  order = np.argsort(-np.where(keep, scores, -np.inf), axis=1)[:, :neighbors]
  top = np.take_along_axis(top, order, axis=1)
  keep = np.take_along_axis(keep, order, axis=1)
  rows, _ = np.nonzero(keep)
  return rows.astype(np.int64), top[keep].astype(np.int64)


SEARCHED_CANDIDATES = 2000  # at least this many candidates per query


def build_searcher(matrix: np.ndarray, neighbors: int):
  """A ScaNN dot-product searcher: ~sqrt(n) leaves, of which 1/10 are
  searched, or enough to hold SEARCHED_CANDIDATES items (small catalogs,
  where a tenth of the leaves is a few dozen items and recall suffers); AH
  scoring and exact reordering of the best candidates."""
  import scann  # pylint: disable=g-import-not-at-top
  n = matrix.shape[0]
  leaves = max(2, int(math.sqrt(n)))
  searched = min(leaves, max(leaves // 10,
                             math.ceil(SEARCHED_CANDIDATES * leaves / n)))
  return (scann.scann_ops_pybind.builder(matrix, neighbors + 1, "dot_product")
          .tree(num_leaves=leaves, num_leaves_to_search=searched,
                training_sample_size=min(n, 100000))
          .score_ah(2, anisotropic_quantization_threshold=0.2)
          .reorder(max(100, 4 * (neighbors + 1)))
          .build())


def choose_index(index: str, num_items: int) -> str:
  if index not in INDEXES:
    raise ValueError(f"semantic index must be one of {INDEXES}, got {index!r}")
  if index == "auto":
    return "exact" if num_items <= EXACT_LIMIT else "scann"
  return index


def stack_vectors(items: Iterable[Tuple[str, Sequence[float]]]
                  ) -> Tuple[List[str], np.ndarray]:
  """(ids, [n, d] float32 matrix): the compact side input every worker
  indexes (a float32 matrix, not n Python lists)."""
  items = list(items)
  return ([item_id for item_id, _ in items],
          np.asarray([vector for _, vector in items], np.float32))


class _Catalog:
  """Item ids, their vectors as one matrix and the search index."""

  def __init__(self, ids: List[str], matrix: np.ndarray, index: str,
               neighbors: int):
    self.ids = ids
    self.row = {item_id: i for i, item_id in enumerate(ids)}
    self.matrix = matrix
    self.searcher = (build_searcher(matrix, neighbors)
                     if choose_index(index, len(ids)) == "scann" else None)


class _NearestAbove(beam.DoFn):
  """A block of (item_id, vector) -> its semantic pairs."""

  def __init__(self, threshold: float, neighbors: int, index: str):
    super().__init__()
    self._threshold = threshold
    self._neighbors = neighbors
    self._index = index
    self._catalog: Optional[_Catalog] = None

  def process(self, block: List[Tuple[str, Sequence[float]]],
              all_items: Tuple[List[str], np.ndarray]
              ) -> Iterable[Dict[str, Any]]:
    if self._catalog is None:  # once per worker: the side input is fixed
      self._catalog = _Catalog(*all_items, self._index, self._neighbors)
      Metrics.counter(NAMESPACE, "index_builds").inc()
    catalog = self._catalog
    queries = np.asarray([vector for _, vector in block], np.float32)
    rows = np.array([catalog.row[item_id] for item_id, _ in block], np.int64)
    positions, positives = nearest_above(
        queries, rows, catalog.matrix, self._threshold, self._neighbors,
        catalog.searcher)
    Metrics.counter(NAMESPACE, "items_searched").inc(len(block))
    Metrics.counter(NAMESPACE, "semantic_pairs").inc(len(positives))
    for position, positive in zip(positions, positives):
      yield {contract.TRIGGER_ID: block[position][0],
             contract.CANDIDATE_ID: catalog.ids[positive],
             contract.COSINE: float(
                 queries[position] @ catalog.matrix[positive])}


class SemanticPairs(beam.PTransform):
  """(item_id, text vector) pairs -> {trigger_id, candidate_id, cosine}.

  Args:
    threshold: minimum cosine.
    neighbors: at most this many positives per item.
    index: `auto` (exact up to EXACT_LIMIT items, else ScaNN), `exact`,
      `scann`.
    block_size: query items per search call.
  """

  def __init__(self, threshold: float, neighbors: int, index: str = "auto",
               block_size: int = 1024):
    super().__init__()
    choose_index(index, 0)  # fail fast on a bad name
    self._threshold = threshold
    self._neighbors = neighbors
    self._index = index
    self._block_size = block_size

  def expand(self, vectors):
    blocks = vectors | "Blocks" >> beam.BatchElements(
        min_batch_size=self._block_size, max_batch_size=self._block_size)
    everything = (vectors
                  | "AllVectors" >> beam.combiners.ToList()
                  | "Stack" >> beam.Map(stack_vectors))
    return blocks | "NearestAbove" >> beam.ParDo(
        _NearestAbove(self._threshold, self._neighbors, self._index),
        all_items=beam.pvalue.AsSingleton(everything))
