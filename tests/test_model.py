# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Loss weighting (task ratio, batch-size invariance, off-policy
correction) and the towers' multimodal fusion and masking."""
import dataclasses
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from components import artifacts
from relvid import config as config_lib
from relvid.config import TrainerConfig
from trainer import export
from trainer import model as model_lib

NUM_ITEMS = 8


def unit_rows(rng, n, d, missing):
  vectors = rng.normal(size=(n, d)).astype(np.float32)
  vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
  present = np.ones(n, np.float32)
  present[missing] = 0.0
  vectors[missing] = 0.0
  return vectors, present


def make_catalog():
  """Item 3 has no text; items 5 and 6 have no visual vector."""
  rng = np.random.default_rng(0)
  text, has_text = unit_rows(rng, NUM_ITEMS, 6, [3])
  visual, has_visual = unit_rows(rng, NUM_ITEMS, 5, [5, 6])
  return artifacts.Catalog(
      item_ids=np.array([f"i{i}" for i in range(NUM_ITEMS)], dtype=object),
      text=text, has_text=has_text, topics=[[]] * NUM_ITEMS,
      train_engagements=np.zeros(NUM_ITEMS, np.int64), visual=visual,
      has_visual=has_visual)


def make_model(**overrides):
  # The dense, cosine model unless a test says otherwise.
  config = dataclasses.replace(
      TrainerConfig(id_dim=4, hidden_dim=8, output_dim=4, fusion="dense",
                    normalize=True, temperature=0.05, engagement_weight=1.0,
                    semantic_weight=0.0), **overrides)
  return model_lib.RelatedVideoModel(
      NUM_ITEMS, model_lib.content_features(make_catalog(), config), config)


def batch(trigger, candidate, counts, sem=None):
  features = {"trigger": tf.constant(trigger, tf.int64),
              "candidate": tf.constant(candidate, tf.int64),
              "trigger_count": tf.constant(counts, tf.float32)}
  if sem:
    features.update({"sem_trigger": tf.constant(sem[0], tf.int64),
                     "sem_candidate": tf.constant(sem[1], tf.int64),
                     "sem_trigger_count": tf.constant(sem[2], tf.float32)})
  return features


def manual_loss(model, trigger, candidate, weights):
  """mean_b w_b * cross-entropy of the in-batch softmax, by hand."""
  q = model.trigger_tower(tf.constant(trigger)).numpy()
  c = model.candidate_tower(tf.constant(candidate)).numpy()
  logits = q @ c.T / model.config.temperature
  losses = []
  for b in range(len(trigger)):
    keep = [j for j in range(len(candidate))
            if j == b or candidate[j] != candidate[b]]
    row = logits[b, keep]
    positive = keep.index(b)
    losses.append(-(row[positive] - np.log(np.exp(row).sum())))
  return float(np.mean(np.array(weights) * np.array(losses)))


def test_opc_weights():
  got = model_lib.opc_weights(tf.constant([0.0, 4.0, 100.0]), 1.0, 0.5)
  np.testing.assert_allclose(got.numpy(), [1.0, 1 / 3, 1 / 11], rtol=1e-6)


def test_engagement_loss_is_weighted_mean_cross_entropy():
  trigger, candidate, counts = [0, 1, 2, 3], [4, 5, 4, 6], [1.0, 3.0, 0.0, 8.0]
  raw = 1.0 / (2.0 + np.array(counts))  # 1/3, 1/5, 1/2, 1/10
  raw_model = make_model(opc=True, opc_alpha=2.0, opc_beta=1.0,
                         opc_normalize=False)
  got = float(raw_model.compute_loss(batch(trigger, candidate, counts)))
  assert got == pytest.approx(
      manual_loss(raw_model, trigger, candidate, raw), rel=1e-5)
  # Self-normalised (the default): the raw weights over their batch mean
  # (34/120), so the loss is the o-weighted average cross-entropy.
  model = make_model(opc=True, opc_alpha=2.0, opc_beta=1.0)
  got = float(model.compute_loss(batch(trigger, candidate, counts)))
  normalised = raw / (34.0 / 120.0)
  assert got == pytest.approx(
      manual_loss(model, trigger, candidate, normalised), rel=1e-5)
  assert float(model.watch["opc_weight"].result()) == pytest.approx(
      34.0 / 120.0, rel=1e-5)
  no_opc = make_model()
  assert float(no_opc.compute_loss(batch(trigger, candidate, counts))) == (
      pytest.approx(manual_loss(no_opc, trigger, candidate, [1.0] * 4),
                    rel=1e-5))


def test_task_ratio_combines_the_two_means():
  sem = ([1, 2], [3, 7], [0.0, 0.0])
  eng = ([0, 1, 2], [4, 5, 6], [1.0, 1.0, 1.0])
  model = make_model(engagement_weight=500.0, semantic_weight=1.0)
  got = float(model.compute_loss(batch(*eng, sem=sem)))
  want = (500.0 * manual_loss(model, eng[0], eng[1], [1.0] * 3)
          + 1.0 * manual_loss(model, sem[0], sem[1], [1.0] * 2))
  assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("size", [2, 6])
def test_task_loss_is_a_mean_not_the_tfrs_sum(size):
  """TFRS's default Retrieval loss sums over the batch (it grows with the
  batch size); ours is that sum divided by the batch size."""
  import tensorflow_recommenders as tfrs
  model = make_model()
  trigger = list(range(size))
  candidate = [(i + 1) % NUM_ITEMS for i in trigger]
  ours = float(model.compute_loss(batch(trigger, candidate, [1.0] * size)))
  tfrs_sum = tfrs.tasks.Retrieval(
      temperature=model.config.temperature, remove_accidental_hits=True)(
          model.trigger_tower(tf.constant(trigger)),
          model.candidate_tower(tf.constant(candidate)),
          candidate_ids=tf.constant(candidate), compute_metrics=False)
  assert float(tfrs_sum) == pytest.approx(size * ours, rel=1e-5)


def test_missing_text_is_masked_by_a_learned_vector():
  model = make_model()
  emb = model.trigger_tower(tf.constant([3, 3]))
  np.testing.assert_allclose(np.linalg.norm(emb.numpy(), axis=1), 1.0,
                             rtol=1e-5)
  names = [w.name for w in model.trigger_tower.trainable_weights]
  assert any("missing_text" in n for n in names)


@pytest.mark.parametrize("use_text,use_visual,width", [
    (True, False, 4 + 6 + 1), (False, True, 4 + 5 + 1),
    (True, True, 4 + 6 + 1 + 5 + 1)])
def test_modality_switches_set_the_fused_input(use_text, use_visual, width):
  model = make_model(use_text=use_text, use_visual=use_visual)
  tower = model.trigger_tower
  tower(tf.constant([0]))
  assert tower.hidden.kernel.shape[0] == width
  assert sorted(c.name for c in tower.contents) == sorted(
      m for m, on in (("text", use_text), ("visual", use_visual)) if on)


def test_missing_visual_uses_the_learned_default_and_mask_bit():
  model = make_model(use_visual=True)
  visual = next(c for c in model.trigger_tower.contents if c.name == "visual")
  visual.missing.assign(np.full(5, 0.5, np.float32))
  rows = visual(tf.constant([0, 5])).numpy()
  np.testing.assert_allclose(rows[0, :5], make_catalog().visual[0], rtol=1e-6)
  assert rows[0, 5] == 1.0
  np.testing.assert_allclose(rows[1], [0.5] * 5 + [0.0])


def test_use_visual_without_visual_vectors_is_a_clear_error():
  catalog = make_catalog()
  catalog.has_visual[:] = 0.0
  with pytest.raises(ValueError, match="visual.enabled"):
    model_lib.content_features(catalog, TrainerConfig(use_visual=True))


def test_catalog_without_visual_defaults_to_an_empty_modality():
  catalog = artifacts.Catalog(
      item_ids=np.array(["a", "b"], dtype=object),
      text=np.ones((2, 3), np.float32), has_text=np.ones(2, np.float32),
      topics=[[], []], train_engagements=np.zeros(2, np.int64))
  assert catalog.visual.shape == (2, 0) and not catalog.has_visual.any()


def test_residual_tower_starts_as_the_id_embedding():
  """The content projection starts at zero, so an untrained residual tower
  returns the raw (unnormalised) ID embedding; content then adds to it."""
  model = make_model(fusion="residual", normalize=False)
  tower = model.trigger_tower
  got = tower(tf.constant([0, 3])).numpy()
  want = tower.id_embedding(tf.constant([0, 3])).numpy()
  np.testing.assert_allclose(got, want, rtol=1e-6)
  assert tower.id_embedding.embeddings.shape == (NUM_ITEMS, 4)
  tower.out.kernel.assign(tf.ones_like(tower.out.kernel))
  content = tower.out(tower.hidden(tf.concat(
      [c(tf.constant([0])) for c in tower.contents], -1))).numpy()
  np.testing.assert_allclose(tower(tf.constant([0])).numpy(),
                             want[:1] + content, rtol=1e-5)


def test_residual_tower_without_content_is_a_plain_embedding():
  model = make_model(fusion="residual", normalize=False, use_text=False)
  tower = model.candidate_tower
  assert tower.hidden is None and not tower.contents
  np.testing.assert_allclose(
      tower(tf.constant([2])).numpy(),
      tower.id_embedding(tf.constant([2])).numpy())


def make_warm_model(**overrides):
  config = dataclasses.replace(
      TrainerConfig(id_dim=4, hidden_dim=8, output_dim=4, fusion="residual",
                    normalize=False, engagement_weight=1.0,
                    semantic_weight=0.0, cold_share=0.0), **overrides)
  warm = np.arange(NUM_ITEMS) != 3  # item 3 has no train engagement
  return model_lib.RelatedVideoModel(
      NUM_ITEMS, model_lib.content_features(make_catalog(), config), config,
      warm=warm)


def test_cold_items_are_embedded_by_content_alone():
  model = make_warm_model()
  tower = model.candidate_tower
  tower(tf.constant([0]))  # builds the layers
  tower.out.kernel.assign(tf.ones_like(tower.out.kernel))
  index = tf.constant([2, 3])
  content = tower.out(tower.hidden(tf.concat(
      [c(index) for c in tower.contents], -1))).numpy()
  ids = tower.id_embedding(index).numpy()
  got = tower(index).numpy()
  np.testing.assert_allclose(got[0], ids[0] + content[0], rtol=1e-5)
  np.testing.assert_allclose(got[1], content[1], rtol=1e-5)  # cold: no ID
  # `cold_items: id` keeps the untrained ID embedding; an ID-only tower
  # always does (it has nothing else).
  for model in (make_warm_model(cold_items="id"),
                make_warm_model(use_text=False)):
    tower = model.candidate_tower
    np.testing.assert_allclose(tower(tf.constant([3])).numpy(),
                               tower.id_embedding(tf.constant([3])).numpy())


def test_id_dropout_drops_whole_id_vectors_in_training_only():
  model = make_warm_model(id_dropout=0.5)
  tower = model.trigger_tower
  index = tf.constant([0] * 400, tf.int64)
  content_only = tower.fuse(tf.zeros([400, 4]), [
      c(index) for c in tower.contents]).numpy()
  full = tower(index).numpy()
  tf.random.set_seed(3)
  dropped = tower(index, training=True).numpy()
  is_content = np.all(np.isclose(dropped, content_only[0]), axis=1)
  is_full = np.all(np.isclose(dropped, full[0]), axis=1)
  assert np.all(is_content ^ is_full)  # each row whole, one or the other
  assert 0.4 < is_content.mean() < 0.6
  np.testing.assert_allclose(tower(index).numpy(), full)  # inference: none
  tf.random.set_seed(3)
  loss = model.compute_loss(batch([0, 1], [1, 2], [1, 1]), training=True)
  assert np.isfinite(loss.numpy())


def test_content_dropout_in_training_only():
  """Training drops content inputs (and scales the rest by 1 / (1 - rate),
  Keras's Dropout); inference sees them whole."""
  plain = make_model(fusion="residual")
  dropped = make_model(fusion="residual", content_dropout=0.5)
  index = tf.constant([0, 1, 2, 4], tf.int64)
  tower, same = dropped.trigger_tower, plain.trigger_tower
  same(index)
  tower(index)
  tower.set_weights(same.get_weights())
  np.testing.assert_allclose(tower(index).numpy(), same(index).numpy())
  inputs = tf.concat([c(index) for c in tower.contents], axis=-1)
  seen = []
  original = tower.hidden.call
  tower.hidden.call = lambda x: seen.append(x) or original(x)
  tower(index, training=True)
  zeros = np.isclose(seen[-1].numpy(), 0.0) & ~np.isclose(inputs.numpy(), 0)
  assert 0.3 < zeros.mean() < 0.7
  kept = ~np.isclose(seen[-1].numpy(), 0.0)
  np.testing.assert_allclose(seen[-1].numpy()[kept],
                             2.0 * inputs.numpy()[kept], rtol=1e-5)


def test_cold_boost_column_adds_the_boost_to_cold_candidates_only():
  model = make_warm_model(cold_boost=0.75)
  index = tf.constant([2, 3])
  triggers = model.trigger_tower(index).numpy()
  candidates = model.candidate_tower(index).numpy()
  assert triggers.shape == (2, 5) and candidates.shape == (2, 5)
  np.testing.assert_allclose(triggers[:, -1], [0.75, 0.75])
  np.testing.assert_allclose(candidates[:, -1], [0.0, 1.0])  # 3 is cold
  scores = triggers @ candidates.T
  plain = triggers[:, :4] @ candidates[:, :4].T
  np.testing.assert_allclose(scores - plain, [[0, 0.75], [0, 0.75]],
                             atol=1e-6)
  # Training sees no column.
  assert model.candidate_tower(index, training=True).shape == (2, 4)
  assert model.item_embeddings()["candidate"].shape == (NUM_ITEMS, 5)


def test_rare_trigger_columns_by_hand():
  config = TrainerConfig(rare_trigger_logq=0.5, rare_trigger_engagements=2.0,
                         temperature=0.1)
  columns = model_lib.rare_trigger_columns(
      config, np.array([0, 2, 6]), np.array([0.5, 0.25, 0.125]))
  trigger, new_trigger = columns["trigger"]
  candidate, new_candidate = columns["candidate"]
  scale = np.log(8)  # the largest -log q
  # g * c / (c + n) * T * scale: 0.5 * 2/2 * 0.1, 0.5 * 2/4 * 0.1, 0.5 * 2/8
  # * 0.1, each times the scale.
  np.testing.assert_allclose(trigger, np.array([0.05, 0.025, 0.0125]) * scale)
  assert new_trigger == pytest.approx(0.05 * scale)  # no engagements
  # -log q / scale: log 2, log 4, log 8 over log 8.
  np.testing.assert_allclose(candidate, [1 / 3, 2 / 3, 1.0])
  assert new_candidate == 1.0  # the rarest candidate


ENGAGEMENTS = np.array([2, 2, 6, 0, 10, 4, 1, 3])
PROBABILITY = np.array([.3, .2, .1, .05, .1, .1, .1, .05])


def make_rare_model(**overrides):
  """make_warm_model with logQ probabilities and trigger engagements."""
  config = dataclasses.replace(
      TrainerConfig(id_dim=4, hidden_dim=8, output_dim=4, fusion="residual",
                    normalize=False, engagement_weight=1.0,
                    semantic_weight=0.0, rare_trigger_logq=0.5,
                    rare_trigger_engagements=2.0), **overrides)
  warm = np.arange(NUM_ITEMS) != 3
  return model_lib.RelatedVideoModel(
      NUM_ITEMS, model_lib.content_features(make_catalog(), config), config,
      PROBABILITY, warm=warm, trigger_engagements=ENGAGEMENTS)


def test_rare_trigger_column_subtracts_a_share_of_log_q_shrinking_with_engagements():
  model = make_rare_model()
  vectors = model.item_embeddings()
  assert vectors["trigger"].shape == (NUM_ITEMS, 5)
  scores = vectors["trigger"] @ vectors["candidate"].T
  plain = vectors["trigger"][:, :4] @ vectors["candidate"][:, :4].T
  correction = scores - plain
  # -g * c / (c + n_t) * log q(j), g = 0.5, c = 2: trigger 3 (no
  # engagements: 0.5), trigger 0 (2: 0.25), trigger 2 (6: 0.125);
  # candidates 0 (q .3) and 3 (q .05).
  assert correction[3, 0] == pytest.approx(-0.5 * np.log(.3), rel=1e-5)
  assert correction[3, 3] == pytest.approx(-0.5 * np.log(.05), rel=1e-5)
  assert correction[0, 3] == pytest.approx(-0.25 * np.log(.05), rel=1e-5)
  assert correction[2, 3] == pytest.approx(-0.125 * np.log(.05), rel=1e-5)
  # A rare candidate gains more than a popular one, more so for rare
  # triggers: the order among candidates changes by trigger engagement.
  assert correction[3, 3] - correction[3, 0] > correction[2, 3] - correction[
      2, 0] > 0
  # Training sees no column; off (0), without the logQ correction it takes
  # back, or without engagements there is none.
  assert model.trigger_tower(tf.constant([0]), training=True).shape == (1, 4)
  for off in (make_rare_model(rare_trigger_logq=0.0),
              make_rare_model(logq_correction=False),
              make_warm_model(rare_trigger_logq=0.5)):
    assert off.item_embeddings()["trigger"].shape == (NUM_ITEMS, 4)


def test_rare_trigger_column_sits_before_the_cold_column_and_embeds_new_items():
  model = make_rare_model(cold_boost=0.75)
  catalog = make_catalog()
  scale = -np.log(.05)
  triggers = model.trigger_tower(tf.constant([0, 3])).numpy()
  candidates = model.candidate_tower(tf.constant([0, 3])).numpy()
  assert triggers.shape == (2, 6)
  np.testing.assert_allclose(triggers[:, -2:], [[0.25 * scale, 0.75],
                                                [0.5 * scale, 0.75]],
                             rtol=1e-6)
  np.testing.assert_allclose(candidates[:, -2:],
                             [[np.log(.3) / np.log(.05), 0.0], [1.0, 1.0]],
                             rtol=1e-6)
  np.testing.assert_array_equal(
      export.cold_column(model.candidate_tower, candidates), [0.0, 1.0])
  # An item new to the catalog (index -1, not item 0's values): no
  # engagements, the rarest candidate.
  vectors = {"text": (tf.constant(catalog.text[[5]]),
                      tf.constant(catalog.has_text[[5]]))}
  new = tf.constant([-1], tf.int64)
  np.testing.assert_allclose(
      model.trigger_tower.embed_vectors(new, vectors).numpy()[0, -2:],
      [0.5 * scale, 0.75], rtol=1e-6)
  np.testing.assert_allclose(
      model.candidate_tower.embed_vectors(new, vectors).numpy()[0, -2:],
      [1.0, 1.0], rtol=1e-6)


def test_cold_share_counts_cold_items_that_beat_the_warm_cut():
  # Two triggers, top 3. Trigger 0: warm .9 .8 .7 .1, cold .75 .2;
  # trigger 1: warm .5 .4 .3 .2, cold .6 .45.
  warm = np.array([[.9, .8, .7, .1], [.5, .4, .3, .2]])
  cold = np.array([[.75, .2], [.6, .45]])
  # No boost: trigger 0 top 3 = .9 .8 .75 (1 cold); trigger 1 = .6 .5 .45
  # (2 cold). Mean 1.5 of 3.
  assert model_lib.cold_share_at(0.0, warm, cold, 3) == pytest.approx(0.5)
  # +0.55: trigger 0 = 1.3 .9 .8 (1 cold: .2 + .55 < .8); trigger 1 =
  # 1.15 1.0 .5 (2 cold). Mean 1.5 of 3.
  assert model_lib.cold_share_at(0.55, warm, cold, 3) == pytest.approx(0.5)
  # +0.65: trigger 0 = 1.4 .9 .85 (2 cold); 2 of 2 for trigger 1: 4 of 6.
  assert model_lib.cold_share_at(0.65, warm, cold, 3) == pytest.approx(2 / 3)
  # At most the cold items there are.
  assert model_lib.cold_share_at(9.0, warm, cold, 3) == pytest.approx(2 / 3)


@pytest.mark.parametrize("rare_trigger_logq", [0.0, 2.0])
def test_calibrated_cold_boost_buys_the_share_asked_for(rare_trigger_logq):
  # With the rare-trigger column the share is of the served scores, that
  # column included.
  num_items, cold_items = 400, 40
  catalog = artifacts.Catalog(
      item_ids=np.array([f"i{i}" for i in range(num_items)], dtype=object),
      text=np.random.default_rng(0).normal(size=(num_items, 8)).astype(
          np.float32),
      has_text=np.ones(num_items, np.float32),
      topics=[[] for _ in range(num_items)],
      train_engagements=np.ones(num_items, np.int64))
  config = TrainerConfig(id_dim=8, hidden_dim=8, output_dim=8,
                         fusion="dense", semantic_weight=0.0, cold_share=0.1,
                         cold_share_k=20, rare_trigger_logq=rare_trigger_logq)
  warm = np.arange(num_items) >= cold_items
  tf.keras.utils.set_random_seed(0)
  rng = np.random.default_rng(1)
  probability = rng.dirichlet(np.ones(num_items))
  model = model_lib.RelatedVideoModel(
      num_items, model_lib.content_features(catalog, config), config,
      probability, warm=warm,
      trigger_engagements=rng.integers(0, 10, num_items))
  # 40 cold items of 400: about 0.1 of a top 20 without a boost; ask for 0.3.
  boost = model_lib.calibrate_cold_boost(model, 0.3, 20, num_triggers=100)
  assert boost > 0
  vectors = model.item_embeddings()
  # The outputs, the rare-trigger column (when on) and the cold column.
  assert vectors["trigger"].shape[1] == 8 + (rare_trigger_logq > 0) + 1
  scores = vectors["trigger"] @ vectors["candidate"].T
  np.fill_diagonal(scores, -np.inf)
  top = np.argsort(-scores[warm], axis=1)[:, :20]
  assert np.mean(top < cold_items) == pytest.approx(0.3, abs=0.03)
  # Nothing to calibrate without cold items: the boost stays 0.
  all_warm = model_lib.RelatedVideoModel(
      num_items, model_lib.content_features(catalog, config), config,
      warm=np.ones(num_items, bool))
  assert model_lib.calibrate_cold_boost(all_warm, 0.3, 20) == 0.0
  with pytest.raises(ValueError, match="no cold boost"):
    model_lib.calibrate_cold_boost(make_warm_model(), 0.1, 3)


def test_embed_vectors_matches_the_catalog_path_and_embeds_new_items():
  model = make_warm_model(cold_boost=0.5)
  catalog = make_catalog()
  tower = model.candidate_tower
  tower(tf.constant([0]))
  tower.out.kernel.assign(tf.ones_like(tower.out.kernel))
  index = tf.constant([0, 3, -1], tf.int64)
  rows = [0, 3, 5]  # the new item (-1) has item 5's text
  vectors = {"text": (tf.constant(catalog.text[rows]),
                      tf.constant(catalog.has_text[rows]))}
  got = tower.embed_vectors(index, vectors).numpy()
  catalog_path = tower(tf.constant([0, 3])).numpy()
  np.testing.assert_allclose(got[:2], catalog_path, rtol=1e-5)
  content_only = tower.fuse(tf.zeros([1, 4]), [tower.contents[0].encode(
      vectors["text"][0][2:], vectors["text"][1][2:])]).numpy()
  np.testing.assert_allclose(got[2], np.append(content_only[0], 1.0),
                             rtol=1e-5)
  with pytest.raises(ValueError, match="no text vectors"):
    tower.embed_vectors(index, {})
  id_only = make_warm_model(use_text=False).candidate_tower
  with pytest.raises(ValueError, match="ID-only tower cannot embed"):
    id_only.embed_vectors(index, {})


def test_mixed_candidates_append_samples_with_mixture_probability():
  table = tf.constant([0.5, 0.25, 0.125, 0.125])
  candidates, probability = model_lib.mixed_candidates(
      tf.constant([0, 1]), tf.constant([3, 3, 2]), table, num_items=4)
  assert candidates.numpy().tolist() == [0, 1, 3, 3, 2]
  # (B * p + M / N) / (B + M) with B=2, M=3, N=4.
  want = [(2 * p + 3 / 4) / 5 for p in (0.5, 0.25, 0.125, 0.125, 0.125)]
  np.testing.assert_allclose(probability.numpy(), want, rtol=1e-6)
  same, plain = model_lib.mixed_candidates(
      tf.constant([0, 1]), tf.zeros([0], tf.int64), table, num_items=4)
  np.testing.assert_allclose(plain.numpy(), [0.5, 0.25])
  assert model_lib.mixed_candidates(tf.constant([1]), tf.constant([2]),
                                    None, 4)[1] is None


def test_uniform_negatives_widen_the_softmax():
  """Extra negatives only add terms to each softmax's denominator, so the
  loss (logQ off) grows."""
  trigger, candidate, counts = [0, 1, 2], [4, 5, 6], [1.0, 1.0, 1.0]
  plain = make_model(logq_correction=False)
  mixed = make_model(logq_correction=False, uniform_negatives=32)
  before = float(plain.compute_loss(batch(trigger, candidate, counts)))
  mixed.compute_loss(batch(trigger, candidate, counts))  # builds it
  mixed.set_weights(plain.get_weights())
  assert float(mixed.compute_loss(batch(trigger, candidate, counts))) > before


def test_candidate_and_two_sided_opc_weights():
  counts = np.array([0, 0, 0, 0, 8.0, 3.0, 0, 0], np.float32)
  trigger_count = tf.constant([1.0, 4.0])
  for side, want in (
      ("trigger", [1 / 2, 1 / 3]),
      ("candidate", [1 / (1 + 8 ** 0.5), 1 / (1 + 3 ** 0.5)]),
      ("both", [1 / 2 / (1 + 8 ** 0.5), 1 / 3 / (1 + 3 ** 0.5)])):
    for normalize, expected in ((False, want),
                                (True, np.array(want) / np.mean(want))):
      config = dataclasses.replace(
          TrainerConfig(id_dim=4, hidden_dim=8, output_dim=4), opc=True,
          opc_alpha=1.0, opc_beta=0.5, opc_side=side,
          opc_normalize=normalize)
      model = model_lib.RelatedVideoModel(
          NUM_ITEMS, model_lib.content_features(make_catalog(), config),
          config, candidate_counts=counts)
      got = model._weights(tf.constant([0, 1]), tf.constant([4, 5]),
                           trigger_count)
      np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


def test_uncertainty_weighting_is_exp_minus_s_plus_s():
  sem = ([1, 2], [3, 7], [0.0, 0.0])
  eng = ([0, 1, 2], [4, 5, 6], [1.0, 1.0, 1.0])
  model = make_model(engagement_weight=2.0, semantic_weight=1.0,
                     task_weighting="uncertainty")
  model.log_variances.assign([np.log(2.0), -1.0])
  l_eng = manual_loss(model, eng[0], eng[1], [1.0] * 3)
  l_sem = manual_loss(model, sem[0], sem[1], [1.0] * 2)
  want = (2.0 * 0.5 * l_eng + np.log(2.0)) + (1.0 * np.e * l_sem - 1.0)
  got = float(model.compute_loss(batch(*eng, sem=sem)))
  assert got == pytest.approx(want, rel=1e-5)
  assert model.log_variances.trainable
  assert not make_model().log_variances.trainable


def test_soft_target_loss_by_hand():
  scores = np.array([[2.0, 0.0], [1.0, 1.0]], np.float32)
  teacher = np.array([[0.9, 0.5], [0.2, 0.6]], np.float32)
  got = model_lib.soft_target_loss(tf.constant(scores), tf.constant(teacher),
                                   0.1, tf.constant([1.0, 0.5]))

  def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()

  losses = [-(softmax(t / 0.1) * np.log(softmax(s))).sum()
            for s, t in zip(scores, teacher)]
  assert float(got) == pytest.approx((losses[0] + 0.5 * losses[1]) / 2,
                                     rel=1e-5)


def test_soft_semantic_targets_use_the_text_cosines():
  sem = ([1, 2], [4, 7], [0.0, 0.0])
  eng = ([0, 3], [5, 6], [1.0, 1.0])
  model = make_model(engagement_weight=1.0, semantic_weight=1.0,
                     semantic_targets="soft", semantic_soft_temperature=0.2)
  got = float(model.compute_loss(batch(*eng, sem=sem)))
  text = make_catalog().text
  q = model.trigger_tower(tf.constant(sem[0])).numpy()
  c = model.candidate_tower(tf.constant(sem[1])).numpy()
  want_sem = float(model_lib.soft_target_loss(
      tf.constant(q @ c.T / 0.05), tf.constant(text[sem[0]] @ text[sem[1]].T),
      0.2, tf.ones(2)))
  want = manual_loss(model, eng[0], eng[1], [1.0, 1.0]) + want_sem
  assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_logq_probabilities_reach_the_engagement_loss(strength):
  """logits - strength * log q(candidate), q from the table the model was
  given."""
  probability = np.linspace(0.05, 0.2, NUM_ITEMS).astype(np.float32)
  config = dataclasses.replace(
      TrainerConfig(id_dim=4, hidden_dim=8, output_dim=4, fusion="dense",
                    normalize=True, temperature=0.05),
      remove_accidental_hits=False, engagement_weight=1.0, semantic_weight=0.0,
      logq_strength=strength)
  model = model_lib.RelatedVideoModel(
      NUM_ITEMS, model_lib.content_features(make_catalog(), config), config,
      candidate_probability=probability)
  trigger, candidate = [0, 1, 2], [4, 5, 6]
  got = float(model.compute_loss(batch(trigger, candidate, [1.0] * 3)))
  q = model.trigger_tower(tf.constant(trigger)).numpy()
  c = model.candidate_tower(tf.constant(candidate)).numpy()
  logits = (q @ c.T / 0.05 -
            strength * np.log(probability[candidate])[None, :])
  want = np.mean([-(row[b] - np.log(np.exp(row).sum()))
                  for b, row in enumerate(logits)])
  assert got == pytest.approx(want, rel=1e-5)


def test_adagrad_embeddings_trains_the_id_tables_with_adagrad_only():
  """`optimizer: adagrad_embeddings`: the ID tables of both towers get
  Adagrad's accumulators and the embedding learning rate, every other
  variable Adam's moments; none is in both groups or in neither."""
  from trainer import task  # pylint: disable=g-import-not-at-top
  model = make_model(fusion="residual", normalize=False, temperature=1.0,
                     optimizer="adagrad_embeddings", learning_rate=0.01,
                     embedding_learning_rate=0.3)
  optimizer = task.make_optimizer(model.config, model)
  model.compile(optimizer=optimizer)
  model.fit(tf.data.Dataset.from_tensors(
      batch([0, 1, 2], [3, 4, 5], [1.0, 1.0, 1.0])), verbose=0)
  tables = model_lib.id_embedding_variables(model)
  rest = model_lib.id_embedding_variables(model, complement=True)
  assert [v.shape for v in tables] == [(NUM_ITEMS, 4)] * 2
  assert rest and not {v.ref() for v in tables} & {v.ref() for v in rest}
  assert len(tables) + len(rest) == len(model.trainable_variables)
  (adagrad, _), (adam, _) = optimizer._optimizers_and_vars  # pylint: disable=protected-access
  assert float(adagrad.learning_rate) == pytest.approx(0.3)
  assert float(adam.learning_rate) == pytest.approx(0.01)
  for table in tables:
    assert adagrad.get_slot(table, "accumulator") is not None
    assert table.ref() not in {v.ref() for v in adam.variables()}
  for variable in rest:
    assert adam.get_slot(variable, "m") is not None
  with pytest.raises(ValueError, match="needs the model"):
    task.make_optimizer(model.config)


def test_fallback_triggers_query_by_id_or_by_content_alone():
  """trigger_content=fallback: a warm trigger's query is its ID embedding,
  a cold one's (item 3, or an item new to the catalog) its content
  projection; the candidate tower still fuses both."""
  model = make_warm_model(trigger_content="fallback")
  trigger, candidate = model.trigger_tower, model.candidate_tower
  index = tf.constant([0, 3], tf.int64)
  trigger(index), candidate(index)
  for tower in (trigger, candidate):
    tower.out.kernel.assign(tf.ones_like(tower.out.kernel))
  ids = trigger.id_embedding(index).numpy()
  content = trigger.content_query(index).numpy()
  assert not np.allclose(content, 0.0)
  query = trigger(index).numpy()
  np.testing.assert_allclose(query[0], ids[0])
  np.testing.assert_allclose(query[1], content[1])
  new_item = trigger.embed_vectors(
      tf.constant([-1], tf.int64),
      {"text": (tf.constant(make_catalog().text[:1]), tf.constant([1.0]))})
  np.testing.assert_allclose(new_item.numpy()[0], content[0], rtol=1e-6)
  fused = candidate(index).numpy()
  np.testing.assert_allclose(
      fused[0], candidate.id_embedding(index).numpy()[0] +
      candidate.content_query(index).numpy()[0], rtol=1e-6)
  assert trigger.fallback and not candidate.fallback


def test_fallback_query_loss_trains_only_the_trigger_content():
  """The content query's loss (by hand: the in-batch softmax of content
  queries against the candidate vectors) reaches the trigger tower's
  content layers and nothing else; the engagement loss reaches everything
  but them (warm triggers do not use them)."""
  model = make_warm_model(trigger_content="fallback", logq_correction=False)
  features = batch([0, 1, 2], [1, 2, 4], [1, 1, 1])
  model.compute_loss(features)  # builds the layers
  content_layers = {v.ref() for layer in (model.trigger_tower.hidden,
                                          model.trigger_tower.out)
                    for v in layer.trainable_variables}
  content_layers |= {v.ref() for c in model.trigger_tower.contents
                     for v in c.trainable_variables}
  for tower in (model.trigger_tower, model.candidate_tower):
    tower.out.kernel.assign(tf.random.normal(tower.out.kernel.shape,
                                             seed=1))
  variables = model.trainable_variables
  with tf.GradientTape(persistent=True) as tape:
    engagement, cold_query = model._engagement_loss(  # pylint: disable=protected-access
        features, tf.ones([3]), training=True)
  queries = model.trigger_tower.content_query(features["trigger"]).numpy()
  vectors = model.candidate_tower(features["candidate"]).numpy()
  logits = queries @ vectors.T
  by_hand = np.mean([-(logits[b, b] - np.log(np.exp(logits[b]).sum()))
                     for b in range(3)])
  np.testing.assert_allclose(cold_query.numpy(), by_hand, rtol=1e-5)
  for loss, reaches_content in ((cold_query, True), (engagement, False)):
    grads = tape.gradient(loss, variables,
                          unconnected_gradients=tf.UnconnectedGradients.ZERO)
    others_moved = []
    for variable, grad in zip(variables, grads):
      moved = bool(np.any(tf.convert_to_tensor(grad).numpy() != 0))
      if "missing" in variable.name:  # every trigger here has text
        continue
      if variable.ref() in content_layers:
        assert moved == reaches_content, variable.name
      else:
        others_moved.append(moved)
    assert any(others_moved) != reaches_content
  loss = model.compute_loss(features)
  np.testing.assert_allclose(loss.numpy(), engagement.numpy() +
                             cold_query.numpy(), rtol=1e-5)


def test_fallback_needs_the_residual_content_towers():
  config = config_lib.PipelineConfig()
  config.trainer.trigger_content = "fallback"
  config.validate()
  for field, value in (("use_text", False), ("fusion", "dense"),
                       ("cold_items", "id"), ("id_dim", 0)):
    broken = config_lib.PipelineConfig()
    broken.trainer.trigger_content = "fallback"
    setattr(broken.trainer, field, value)
    with pytest.raises(ValueError, match="trainer.trigger_content"):
      broken.validate()
  broken = config_lib.PipelineConfig()
  broken.trainer.trigger_content = "both"
  with pytest.raises(ValueError, match="trainer.trigger_content"):
    broken.validate()


def test_synchronous_replicas_train_on_the_one_process_batch():
  """Two replicas, each with half the batch, gather the in-batch
  candidates, their logQ probabilities and the OPC normalisation from
  each other: their losses add up to the one-process loss of the whole
  batch and their gradients to its gradients (binary and soft semantic
  targets, and uncertainty weighting, whose log-variance term each
  replica holds a share of). And `fit` logs the same epoch as in one
  process: the task weights and the OPC mean as configured, not once per
  replica, and `loss` the epoch's mean, not the last batch's.
  (tests/replica_loss_check.py runs in a process of its own.)"""
  done = subprocess.run(
      [sys.executable, "-m", "tests.replica_loss_check"],
      capture_output=True, text=True, timeout=600,
      cwd=pathlib.Path(__file__).resolve().parents[1])
  assert done.returncode == 0, done.stderr[-3000:]
  results = json.loads(done.stdout.strip().splitlines()[-1])
  logs = results.pop("fit_logs")
  assert set(results) == {"binary", "soft", "uncertainty"}
  for targets, got in results.items():
    np.testing.assert_allclose(got["replicas_loss"],
                               got["one_process_loss"], rtol=1e-5,
                               err_msg=targets)
    assert got["max_gradient_difference"] < 1e-5 * got["max_gradient"], (
        targets, got)

  one, replicas = logs["one_process"], logs["replicas"]
  assert set(replicas) == set(one)
  for name in ("loss", "total_loss", "engagement_loss", "semantic_loss",
               "engagement_task_weight", "semantic_task_weight",
               "opc_weight"):
    np.testing.assert_allclose(replicas[name], one[name], rtol=1e-4,
                               err_msg=name)
  assert one["engagement_task_weight"] == 1.0
  assert one["semantic_task_weight"] == 0.5
  # Fixed weights: the mean loss is the weighted sum of the tasks' means.
  np.testing.assert_allclose(
      one["loss"], one["engagement_loss"] + 0.5 * one["semantic_loss"],
      rtol=1e-5)
