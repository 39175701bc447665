# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The serving SavedModel: signature, self-exclusion, unknown ids, ScaNN."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from scann.scann_ops.py import scann_ops  # noqa: F401  (registers ScaNN ops)

from relvid.config import ExportConfig
from trainer import export

NUM_ITEMS, DIM = 400, 8


class LookupTower(tf.keras.Model):
  """A stand-in trigger tower: a fixed embedding table."""

  def __init__(self, table):
    super().__init__()
    self.table = tf.constant(table)

  def call(self, index):
    return tf.gather(self.table, index)


@pytest.fixture(scope="module")
def catalog():
  rng = np.random.default_rng(1)
  vectors = rng.normal(size=(NUM_ITEMS, DIM)).astype(np.float32)
  vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
  ids = np.array([f"v{i:03d}" for i in range(NUM_ITEMS)], dtype=object)
  return ids, vectors


def exported(tmp_path, catalog, index, top_k=10):
  ids, vectors = catalog
  config = dataclasses.replace(ExportConfig(), index=index, top_k=top_k)
  path = export.export_retrieval_model(LookupTower(vectors), ids, vectors,
                                       str(tmp_path / index / "1"), config)
  return tf.saved_model.load(path).signatures["serving_default"]


@pytest.mark.parametrize("index", ["brute_force", "scann"])
def test_signature_returns_top_k_without_the_trigger(tmp_path, catalog, index):
  ids, vectors = catalog
  serve = exported(tmp_path, catalog, index)
  assert set(serve.structured_input_signature[1]) == {"trigger_id"}
  out = serve(trigger_id=tf.constant(["v000", "v123"]))
  assert out["candidate_ids"].shape == (2, 10)
  assert out["scores"].dtype == tf.float32
  got = [[c.decode() for c in row] for row in out["candidate_ids"].numpy()]
  assert "v000" not in got[0] and "v123" not in got[1]
  scores = out["scores"].numpy()
  assert (np.diff(scores, axis=1) <= 1e-6).all()
  if index == "brute_force":
    exact = vectors @ vectors[0]
    exact[0] = -np.inf
    assert got[0] == list(ids[np.argsort(-exact)[:10]])


def test_unknown_trigger_is_an_invalid_argument(tmp_path, catalog):
  serve = exported(tmp_path, catalog, "brute_force")
  with pytest.raises(tf.errors.InvalidArgumentError, match="no-such-video"):
    serve(trigger_id=tf.constant(["v001", "no-such-video"]))
  # The model keeps answering afterwards.
  assert serve(trigger_id=tf.constant(["v001"]))["scores"].shape == (1, 10)


def test_scann_leaves_default_to_sqrt_n():
  # Every leaf up to 20,000 candidates, a quarter of them above.
  assert export.scann_leaves(1038, ExportConfig(), k=101) == (32, 32)
  assert export.scann_leaves(20000, ExportConfig()) == (141, 141)
  assert export.scann_leaves(40000, ExportConfig()) == (200, 50)
  assert export.scann_leaves(
      50, dataclasses.replace(ExportConfig(), num_leaves=10,
                              num_leaves_to_search=3)) == (10, 3)


def test_small_catalog_scann_searches_enough_leaves(tmp_path, catalog):
  """44 items, top 20: ~7 leaves of ~6 items, so 1 searched leaf (n/4) would
  hold fewer than 21 candidates; every leaf is searched instead."""
  ids, vectors = catalog
  assert export.scann_leaves(44, ExportConfig(), k=21) == (7, 7)
  serve = exported(tmp_path, (ids[:44], vectors[:44]), "scann", top_k=20)
  out = serve(trigger_id=tf.constant(["v007"]))
  assert out["candidate_ids"].shape == (1, 20)


def test_cold_items_are_searched_exactly_beside_the_ann_index(tmp_path,
                                                              catalog):
  """Boosted cold items spread over the ScaNN partitions; searching a few
  partitions would drop them. Their exact side index keeps the merged top
  K equal to exact search over everything."""
  ids, vectors = catalog
  cold = np.zeros(NUM_ITEMS, bool)
  cold[::20] = True  # 20 cold items
  boost = 0.5
  candidates = np.hstack([vectors, cold[:, None].astype(np.float32)])
  triggers = np.hstack([vectors, np.full((NUM_ITEMS, 1), boost, np.float32)])
  # 4 of 20 leaves: about 80 of the 380 warm candidates searched. (With 2,
  # fewer than k may be searched, and ScaNN then pads its answer.)
  config = dataclasses.replace(ExportConfig(), index="scann", top_k=10,
                               num_leaves=20, num_leaves_to_search=4)
  exact = triggers @ candidates.T
  np.fill_diagonal(exact, -np.inf)
  queries = [1, 2, 3, 7, 11, 42, 99, 150, 201, 333]
  expected = [set(ids[np.argsort(-exact[q])[:10]]) for q in queries]
  assert np.mean([np.isin(list(e), ids[cold]).sum() for e in expected]) >= 2

  def served(cold_rows):
    path = export.export_retrieval_model(
        LookupTower(triggers), ids, candidates,
        str(tmp_path / str(cold_rows is not None) / "1"), config, cold_rows)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    out = serve(trigger_id=tf.constant(list(ids[queries])))
    return [{c.decode() for c in row} for row in out["candidate_ids"].numpy()]

  with_side_index = served(cold)
  found = [len(got & e & set(ids[cold])) for got, e in zip(with_side_index,
                                                          expected)]
  assert found == [len(e & set(ids[cold])) for e in expected]
  # Without it, the ANN index loses some of them (the failure it mends).
  without = served(None)
  assert sum(len(got & e & set(ids[cold]))
             for got, e in zip(without, expected)) < sum(found)
