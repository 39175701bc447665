# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Warm start carries a trained model's weights into a new one by item id,
over a catalog that grew and shrank: kept items keep their ID rows, new
items get fresh ones, gone items are dropped, the other weights are copied
where their shapes match; the Trainer's warm run is capped at
warm_start_epochs."""
import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf

from components import artifacts
from relvid import contract
from relvid.config import TrainerConfig
from trainer import model as model_lib
from trainer import data
from trainer import task
from trainer import warm_start

CONFIG = TrainerConfig(id_dim=4, hidden_dim=8, output_dim=4,
                       semantic_weight=0.0, engagement_weight=1.0,
                       batch_size=8, optimizer="adam", learning_rate=0.05,
                       validation="off", epochs=2, refit=False, seed=0)


def catalog_of(ids, text_by_id):
  return artifacts.Catalog(
      item_ids=np.array(ids, dtype=object),
      text=np.stack([text_by_id[i] for i in ids]).astype(np.float32),
      has_text=np.ones(len(ids), np.float32), topics=[["t"]] * len(ids),
      train_engagements=np.ones(len(ids), np.int64))


def make_model(catalog, config=CONFIG):
  return model_lib.RelatedVideoModel(
      len(catalog), model_lib.content_features(catalog, config), config,
      warm=catalog.train_engagements > 0)


@pytest.fixture(name="texts")
def fixture_texts():
  rng = np.random.default_rng(0)
  return {i: rng.normal(size=3) for i in "abcdef"}


def trained_base(texts, tmp_path):
  """A model over items a-d trained a little (so no weight is at its
  initial value), saved as the Trainer saves it."""
  catalog = catalog_of(list("abcd"), texts)
  pairs = artifacts.Pairs(np.array([0, 1, 2, 3]), np.array([1, 0, 3, 2]),
                          np.ones(4, np.int64), np.ones(4, np.float32))
  model = task.train(catalog, pairs, CONFIG)
  serving_dir = str(tmp_path / "model" / contract.SERVING_MODEL_DIR)
  path = warm_start.save(model, catalog.item_ids, serving_dir)
  assert path == str(tmp_path / "model" / contract.WARM_START_FILE)
  return model


def test_warm_start_over_a_grown_and_shrunk_catalog(texts, tmp_path):
  base_model = trained_base(texts, tmp_path)
  # a is gone, e and f are new; b-d moved to other indices.
  catalog = catalog_of(list("bcdef"), texts)
  model = make_model(catalog)
  model.trigger_tower(tf.constant([0]))
  fresh = model.trigger_tower.id_embedding.embeddings.numpy().copy()
  base = warm_start.load(str(tmp_path / "model"))
  report = warm_start.apply(model, catalog.item_ids, base)

  assert (report["carried_items"], report["new_items"],
          report["dropped_items"]) == (3, 2, 1)
  assert report["skipped"] == []
  for side in ("trigger_tower", "candidate_tower"):
    old = getattr(base_model, side).id_embedding.embeddings.numpy()
    new = getattr(model, side).id_embedding.embeddings.numpy()
    # b, c, d: rows 1-3 of the base, rows 0-2 now.
    np.testing.assert_array_equal(new[:3], old[1:4])
    old_hidden = getattr(base_model, side).hidden.kernel.numpy()
    np.testing.assert_array_equal(getattr(model, side).hidden.kernel.numpy(),
                                  old_hidden)
  # e and f keep the new model's own initial rows.
  np.testing.assert_array_equal(
      model.trigger_tower.id_embedding.embeddings.numpy()[3:], fresh[3:])
  # Same content and ID rows: a carried item embeds as it did.
  # The tower outputs (the rare-trigger column after them comes from each
  # run's own counts, not from weights).
  width = CONFIG.output_dim
  np.testing.assert_allclose(model.item_embeddings()["candidate"][:3, :width],
                             base_model.item_embeddings()["candidate"][1:4,
                                                                       :width],
                             rtol=1e-5, atol=1e-6)


def test_changed_shapes_are_left_at_their_initial_values(texts, tmp_path):
  trained_base(texts, tmp_path)
  catalog = catalog_of(list("abcd"), texts)
  wider = dataclasses.replace(CONFIG, hidden_dim=16)
  model = make_model(catalog, wider)
  report = warm_start.apply(model, catalog.item_ids,
                            warm_start.load(str(tmp_path / "model")))
  assert not any(s.startswith("trigger/id_embedding") for s in report["skipped"])
  assert "trigger/id_embedding" in report["copied"]
  assert any(s.startswith("trigger/hidden/kernel (shape (4, 8) -> (4, 16))")
             for s in report["skipped"]), report["skipped"]


def test_a_model_without_saved_weights_trains_from_scratch(tmp_path):
  assert warm_start.load(str(tmp_path / "old_model")) is None


def test_warm_run_is_capped_at_warm_start_epochs(texts, tmp_path):
  trained_base(texts, tmp_path)
  catalog = catalog_of(list("bcdef"), texts)
  pairs = artifacts.Pairs(np.array([0, 1, 3, 4]), np.array([1, 0, 4, 3]),
                          np.ones(4, np.int64), np.ones(4, np.float32))
  config = dataclasses.replace(CONFIG, epochs=5, warm_start_epochs=1)
  model = task.train(catalog, pairs, config,
                     base=warm_start.load(str(tmp_path / "model")))
  assert len(model.history.epoch) == 1
  assert model.warm_start["carried_items"] == 3
  scratch = task.train(catalog, pairs, config)
  assert len(scratch.history.epoch) == 5 and scratch.warm_start is None
  assert os.path.basename(warm_start.state_path(
      str(tmp_path / "m" / contract.SERVING_MODEL_DIR))) == "weights.npz"


def test_id_tables_adagrad_accumulators_are_carried_by_item_id(texts,
                                                              tmp_path):
  """With adagrad_embeddings (the default optimizer) the ID tables'
  accumulators follow their rows; a new item starts at Adagrad's initial
  0.1."""
  config = dataclasses.replace(CONFIG, optimizer="adagrad_embeddings")
  catalog = catalog_of(list("abcd"), texts)
  pairs = artifacts.Pairs(np.array([0, 1, 2, 3]), np.array([1, 0, 3, 2]),
                          np.ones(4, np.int64), np.ones(4, np.float32))
  trained = task.train(catalog, pairs, config)
  warm_start.save(trained, catalog.item_ids, str(tmp_path / "model"))
  base = warm_start.load(str(tmp_path / "model"))
  old = base["candidate/id_embedding/accumulator"]
  assert old.shape == (4, 4) and (old > 0.1).any()  # trained past 0.1

  grown = catalog_of(list("bcdef"), texts)
  model = make_model(grown, config)
  warm_start.apply(model, grown.item_ids, base)
  model.compile(optimizer=task.make_optimizer(config, model))
  assert warm_start.apply_optimizer_state(model, grown.item_ids, base) == [
      "trigger/id_embedding/accumulator",
      "candidate/id_embedding/accumulator"]
  (adagrad, _), = [(o, None) for o in model.optimizer.optimizers
                   if isinstance(o, tf.keras.optimizers.legacy.Adagrad)]
  now = adagrad.get_slot(model.candidate_tower.id_embedding.embeddings,
                         "accumulator").numpy()
  np.testing.assert_array_equal(now[:3], old[1:4])
  np.testing.assert_allclose(now[3:], 0.1)
  # Training goes on from there.
  model.fit(data.training_dataset(
      artifacts.Pairs(np.array([0, 1]), np.array([1, 0]), np.ones(2, np.int64),
                      np.ones(2, np.float32)), 8, 0, None,
      np.ones(5, np.float32)), epochs=1, verbose=0)
  assert (adagrad.get_slot(model.candidate_tower.id_embedding.embeddings,
                           "accumulator").numpy()[:2] > now[:2]).all()
