# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The baselines compute what they claim: popularity ranks by train-pair
candidate counts; co-visitation by the pair's own count; text k-NN by the
cosine of the text embeddings; the TFRS recipe is the tutorial's settings
(none of the product's), its loss TFRS's summed in-batch softmax with logQ
by the batches' candidate frequency, and it learns the co-engagements it is
shown."""
import numpy as np
import pytest
import tensorflow as tf

from components import artifacts
from relvid.config import EvalConfig
from trainer import baselines
from trainer import validation


def make_catalog(n):
  return artifacts.Catalog(
      item_ids=np.array([f"i{i}" for i in range(n)], dtype=object),
      text=np.zeros((n, 2), np.float32), has_text=np.zeros(n, np.float32),
      topics=[["a"]] * n, train_engagements=np.arange(n)[::-1].copy())


def make_pairs(trigger, candidate, pair_count=None):
  trigger = np.array(trigger, np.int64)
  pair_count = (np.ones(len(trigger), np.int64) if pair_count is None
                else np.array(pair_count, np.int64))
  return artifacts.Pairs(trigger, np.array(candidate, np.int64), pair_count,
                         np.ones(len(trigger), np.float32))


def test_popularity_ranks_every_trigger_by_candidate_count():
  catalog = make_catalog(5)
  # Candidate counts: item 3 -> 5, item 1 -> 3, item 4 -> 1.
  pairs = make_pairs([0, 0, 2, 1], [3, 1, 4, 3], pair_count=[2, 3, 1, 3])
  model = baselines.fit_popularity(catalog, pairs)
  vectors = model.item_embeddings()
  top = validation.exact_top_k(vectors["trigger"], vectors["candidate"],
                               np.array([0, 3]), k=3)
  assert top[0].tolist() == [3, 1, 4]
  assert top[1].tolist() == [1, 4, top[1][2]]  # itself excluded
  assert top[1][2] in (0, 2)


def test_text_knn_ranks_by_cosine_and_scores_textless_items_zero():
  catalog = make_catalog(4)
  # Cosines with item 0 (1, 0): item 1 (3, 1) 0.949, item 2 (-1, 2) -0.447,
  # item 3 has no text (0).
  catalog.text = np.array([[1, 0], [3, 1], [-1, 2], [0, 0]], np.float32)
  catalog.has_text = np.array([1, 1, 1, 0], np.float32)
  model = baselines.fit_text_knn(catalog, make_pairs([0], [1]))
  vectors = model.item_embeddings()
  top = validation.exact_top_k(vectors["trigger"], vectors["candidate"],
                               np.array([0]), k=3)
  assert top[0].tolist() == [1, 3, 2]
  np.testing.assert_allclose(vectors["candidate"][1] @ vectors["trigger"][0],
                             3 / np.sqrt(10), rtol=1e-6)


def test_text_knn_needs_text():
  with pytest.raises(ValueError, match="needs text embeddings"):
    baselines.fit_text_knn(make_catalog(3), make_pairs([0], [1]))


def test_id_two_tower_loss_is_the_tfrs_sum_with_logq():
  probability = np.array([0.4, 0.3, 0.2, 0.1], np.float32)
  model = baselines.IdTwoTower(4, dim=3, candidate_probability=probability)
  trigger, candidate = [0, 1, 2], [1, 2, 3]
  features = {"trigger": tf.constant(trigger), "candidate": tf.constant(
      candidate)}
  got = float(model.compute_loss(features))
  q = model.trigger_tower(tf.constant(trigger)).numpy()
  c = model.candidate_tower(tf.constant(candidate)).numpy()
  logits = q @ c.T - np.log(probability[candidate])[None, :]
  want = sum(-(row[b] - np.log(np.exp(row).sum()))
             for b, row in enumerate(logits))
  assert got == pytest.approx(want, rel=1e-5)
  plain = baselines.IdTwoTower(4, dim=3)
  plain.compute_loss(features)  # builds the towers
  plain.set_weights(model.get_weights())
  logits = q @ c.T
  want = sum(-(row[b] - np.log(np.exp(row).sum()))
             for b, row in enumerate(logits))
  assert float(plain.compute_loss(features)) == pytest.approx(want, rel=1e-5)


def test_id_two_tower_learns_the_pairs_it_is_shown():
  """Items 2k and 2k+1 are always co-engaged: after training, each item's
  partner is its top candidate."""
  n = 12
  trigger = [i for i in range(n)] * 20
  candidate = [i ^ 1 for i in range(n)] * 20
  catalog = make_catalog(n)
  pairs = make_pairs(trigger, candidate)
  model = baselines.fit_id_two_tower(catalog, pairs, seed=0, dim=8,
                                     epochs=20, batch_size=12)
  metrics = validation.evaluate_model(
      model, catalog, make_pairs(list(range(n)), [i ^ 1 for i in range(n)]),
      EvalConfig(ks=[1], gate_k=1, popular_fraction=0.1, tail_fraction=0.1))
  assert metrics["all"]["recall@1"] == 1.0


def test_co_visitation_ranks_by_the_pair_count_then_popularity():
  catalog = make_catalog(6)
  # From 0: 2 (count 1), 3 (count 4); from 1: 2 (count 5). Popularity as a
  # candidate: 4 (3 + 4 = 7), 2 (1 + 5 = 6), 3 (4), 5 (2), 0 and 1 (0).
  pairs = make_pairs([0, 0, 1, 2, 3, 3], [2, 3, 2, 4, 4, 5],
                     pair_count=[1, 4, 5, 3, 4, 2])
  model = baselines.fit_co_visitation(catalog, pairs)
  scores = model.scores(np.array([0, 1, 5]))
  top = validation.top_k_of_scores(scores, np.array([0, 1, 5]), k=4)
  assert top[0].tolist() == [3, 2, 4, 5]  # counts 4, 1; then popularity
  assert top[1].tolist() == [2, 4, 3, 5]  # count 5; then popularity
  assert top[2][:3].tolist() == [4, 2, 3]  # never a trigger: popularity
  np.testing.assert_allclose(model.scores(np.array([0]))[0, 3] -
                             model.scores(np.array([1]))[0, 3], 4.0)


def test_recipe_baseline_is_the_tutorial_verbatim():
  """64-d separate ID tables, TFRS's default Retrieval task (summed loss,
  no temperature, no accidental-hit removal), logQ by the batches'
  candidate frequency, Adagrad 0.1, batch 1024, 3 epochs."""
  import tensorflow_recommenders as tfrs  # pylint: disable=g-import-not-at-top
  from trainer import data  # pylint: disable=g-import-not-at-top
  assert baselines.RECIPE == {"dim": 64, "epochs": 3, "batch_size": 1024,
                              "learning_rate": 0.1}
  assert baselines.BASELINES[baselines.RECIPE_NAME] is (
      baselines.fit_id_two_tower)
  n, rows = 30, 2050  # 3 batches of at most 1024 per epoch
  rng = np.random.default_rng(0)
  pairs = make_pairs(rng.integers(0, n, rows), rng.integers(0, n, rows),
                     pair_count=rng.integers(1, 9, rows))
  model = baselines.fit_id_two_tower(make_catalog(n), pairs, seed=0)
  assert isinstance(model.optimizer, tf.keras.optimizers.Adagrad)
  assert float(model.optimizer.learning_rate) == pytest.approx(0.1)
  assert int(model.optimizer.iterations) == 3 * 3
  assert model.trigger_tower is not model.candidate_tower
  assert model.trigger_tower.output_dim == model.candidate_tower.output_dim == 64
  default = tfrs.tasks.Retrieval()
  assert model.task._loss.reduction == default._loss.reduction == "sum"
  assert model.task._temperature is None
  assert model.task._remove_accidental_hits is False
  np.testing.assert_allclose(model.candidate_probability.numpy(),
                             data.candidate_probability(pairs, n))
