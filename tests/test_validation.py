# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The validation split, the per-epoch validation metrics in the logs, and
the epoch selection (early stopping, ties kept by popular share)."""
import numpy as np
import pytest
import tensorflow as tf

from components import artifacts
from relvid.config import EvalConfig
from relvid.config import TrainerConfig
from trainer import validation
from tests.test_baselines import make_catalog
from tests.test_baselines import make_pairs


def test_random_split_holds_out_a_disjoint_fraction():
  pairs = make_pairs(list(range(20)), list(range(1, 21)))
  train, held = validation.split_validation(
      pairs, TrainerConfig(validation="random", validation_fraction=0.25,
                           seed=3))
  assert len(train) == 15 and len(held) == 5
  rows = sorted(zip(train.trigger, train.candidate)) + sorted(
      zip(held.trigger, held.candidate))
  assert sorted(rows) == sorted(zip(pairs.trigger, pairs.candidate))
  train, held = validation.split_validation(
      pairs, TrainerConfig(validation="off"))
  assert len(train) == 20 and len(held) == 0
  _, held = validation.random_split(pairs, 0.001, seed=3)
  assert len(held) == 1


def test_window_split_fits_before_the_window_and_scores_it():
  """Pair (0, 1) occurred 3 times, once in the window; (0, 2) twice, both
  in it; (1, 2) once, before it. The fit keeps the earlier occurrences
  (trigger 0's count is now 2), the window scores the later ones."""
  pairs = make_pairs([0, 0, 1], [1, 2, 2], pair_count=[3, 2, 1])
  pairs.recent_count = np.array([1, 2, 0])
  pairs.trigger_count = np.array([5, 5, 1], np.float32)
  fit, window = validation.split_validation(pairs, TrainerConfig())
  assert TrainerConfig().validation == "window"
  assert sorted(zip(fit.trigger.tolist(), fit.candidate.tolist(),
                    fit.pair_count.tolist(), fit.trigger_count.tolist())) == [
      (0, 1, 2, 2.0), (1, 2, 1, 1.0)]
  assert sorted(zip(window.trigger.tolist(), window.candidate.tolist(),
                    window.pair_count.tolist())) == [(0, 1, 1), (0, 2, 2)]
  # Not deduplicated: one row per occurrence, recent_count 0 or 1.
  rows = make_pairs([0, 0, 0, 1], [1, 1, 1, 2])
  rows.recent_count = np.array([0, 1, 0, 0])
  fit, window = validation.window_split(rows)
  assert (len(fit), len(window)) == (3, 1)
  assert fit.trigger_count.tolist() == [2.0, 2.0, 1.0]


def test_window_split_without_a_window_says_how_to_get_one():
  with pytest.raises(ValueError, match="pairs.validation_fraction > 0"):
    validation.window_split(make_pairs([0, 1], [1, 2]))


class _Fixed:
  """A 'model' whose item vectors are set by the test."""

  def __init__(self, trigger, candidate):
    self.vectors = {"trigger": trigger, "candidate": candidate}

  def item_embeddings(self):
    return self.vectors


def test_validation_metrics_go_into_the_logs():
  catalog = make_catalog(4)
  identity = np.eye(4, dtype=np.float32)
  # Item i's best candidate (self excluded) is i + 1 mod 4.
  callback = validation.ValidationMetrics(
      catalog, make_pairs([0, 1], [1, 3]),
      EvalConfig(ks=[1], gate_k=1))
  callback.set_model(_Fixed(identity, np.roll(identity, 1, axis=0)))
  logs = {}
  callback.on_epoch_end(0, logs)
  assert logs["val_recall@1"] == 0.5
  assert logs["val_topic_match@1"] == 1.0
  # Pair (0, 1) is hit at k = 1, (1, 3) is not (1's top 1 is 2).
  assert callback.pair_hits(1).tolist() == [True, False]


def test_mean_recall_and_its_per_pair_values():
  """Item i's candidates ranked i+1, i+2, i+3 (mod 4): pair (0, 1) is hit
  at k = 1 and 2, (1, 3) at k = 2 only. recall@1 0.5, recall@2 1.0, so
  the mean recall is 0.75; per pair, the shares of ks hit are 1 and 0.5."""
  catalog = make_catalog(4)
  # Score of candidate c for trigger t: 4 - ((c - t) mod 4).
  candidate = np.array([[4 - (c - t) % 4 for t in range(4)]
                        for c in range(4)], np.float32)
  callback = validation.ValidationMetrics(
      catalog, make_pairs([0, 1], [1, 3]), EvalConfig(ks=[1, 2], gate_k=2))
  callback.set_model(_Fixed(np.eye(4, dtype=np.float32), candidate))
  logs = {}
  callback.on_epoch_end(0, logs)
  assert (logs["val_recall@1"], logs["val_recall@2"]) == (0.5, 1.0)
  assert logs["val_mean_recall"] == 0.75
  assert callback.pair_scores("mean_recall", 2).tolist() == [1.0, 0.5]
  assert callback.pair_scores("gate_recall", 2).tolist() == [1.0, 1.0]
  assert validation.monitored_metric(EvalConfig(), "mean_recall") == (
      "val_mean_recall")
  assert validation.monitored_metric(EvalConfig(ks=[1], gate_k=1)) == (
      "val_recall@1")


def _select(recalls, tie_values, tie_se, num_pairs=100, patience=1,
            tie_highest=False):
  """Runs EpochSelection over per-epoch logs (the tie-break metric under
  the popular share's key); returns it and the model (its kernel holds the
  epoch number it was set to)."""
  selection = validation.EpochSelection(
      "val_recall@1", "val_popular_share@1", patience, tie_se, num_pairs,
      tie_highest=tie_highest)
  model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(1,))])
  selection.set_model(model)
  selection.on_train_begin()
  for epoch, (recall, value) in enumerate(zip(recalls, tie_values)):
    model.layers[0].kernel.assign([[float(epoch)]])
    selection.on_epoch_end(epoch, {"val_recall@1": recall,
                                   "val_popular_share@1": value})
    if model.stop_training:
      break
  selection.on_train_end()
  return selection, model


def test_epoch_selection_stops_after_patience_and_keeps_the_best():
  selection, model = _select([0.1, 0.3, 0.2, 0.5], [0.5, 0.5, 0.5, 0.5],
                             tie_se=0.0)
  assert model.stop_training and len(selection.records) == 3
  assert selection.kept_epoch == 1
  assert float(model.layers[0].kernel[0, 0]) == 1.0


def test_tied_epochs_keep_the_least_popular():
  """n = 100 validation pairs, best recall 0.5: one standard error is
  sqrt(0.5 * 0.5 / 100) = 0.05, so 0.46 ties with 0.50 and 0.44 does not."""
  recalls, populars = [0.30, 0.50, 0.46], [0.40, 0.60, 0.50]
  selection, model = _select(recalls, populars, tie_se=1.0, patience=2)
  assert selection.tolerance() == pytest.approx(0.05)
  assert selection.kept_epoch == 2
  assert float(model.layers[0].kernel[0, 0]) == 2.0
  assert _select([0.30, 0.50, 0.44], populars, 1.0, patience=2
                 )[0].kept_epoch == 1
  # No tolerance: the best recall's epoch, popular share or not.
  assert _select(recalls, populars, 0.0, patience=2)[0].kept_epoch == 1
  # Equal shares: the earliest tied epoch.
  assert _select([0.5, 0.48], [0.5, 0.5], 1.0)[0].kept_epoch == 0
  # No tolerance and an exact tie: the first best epoch, as EarlyStopping.
  assert _select([0.5, 0.5], [0.6, 0.5], 0.0, patience=2)[0].kept_epoch == 0


def test_tied_epochs_keep_the_most_on_topic():
  """The same tie band (0.05 at best recall 0.5 over 100 pairs), the
  highest second metric kept: epoch 0 (0.46, topic 0.9) ties with epoch 1
  (0.50, 0.8); epoch 2 (0.44, 0.95) is outside the band."""
  recalls, topics = [0.46, 0.50, 0.44], [0.9, 0.8, 0.95]
  selection, model = _select(recalls, topics, 1.0, patience=2,
                             tie_highest=True)
  assert selection.kept_epoch == 0
  assert float(model.layers[0].kernel[0, 0]) == 0.0
  # The lowest instead: epoch 1.
  assert _select(recalls, topics, 1.0, patience=2)[0].kept_epoch == 1
  # Equal values: the earliest tied epoch.
  assert _select([0.48, 0.5], [0.7, 0.7], 1.0, tie_highest=True
                 )[0].kept_epoch == 0


@pytest.mark.parametrize("tie_break,key,highest", [
    ("topic", "val_topic_match@10", True),
    ("popular", "val_popular_share@10", False)])
def test_selection_tie_break_setting_picks_the_metric(tie_break, key,
                                                      highest):
  selection = validation.epoch_selection(
      TrainerConfig(selection_tie_break=tie_break), EvalConfig(),
      make_pairs([0, 1], [1, 0]))
  assert selection.tie_key == key and selection.tie_highest == highest


def _hits(count, n=100):
  """Per-pair values of an epoch that hits the first `count` of n pairs."""
  return np.arange(n) < count


def test_paired_ties_use_the_standard_error_of_the_difference():
  """n = 100 pairs. Epoch 1 hits pairs 0-49 (0.50), epoch 2 pairs 0-45
  (0.46): the per-pair differences are four 1s and 96 0s, mean 0.04, sd
  sqrt((4 * 0.96^2 + 96 * 0.04^2) / 99) = sqrt(3.84 / 99) = 0.19695, so
  the paired standard error is 0.019695 and 0.46 is not tied with 0.50,
  where the marginal one, sqrt(0.5 * 0.5 / 100) = 0.05, tied them."""
  values = iter([_hits(30), _hits(50), _hits(46)])
  selection = validation.EpochSelection(
      "val_recall@1", "val_topic_match@1", 2, 1.0, 100, tie_highest=True,
      pair_scores=lambda: next(values))
  model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(1,))])
  selection.set_model(model)
  selection.on_train_begin()
  for epoch, (recall, topic) in enumerate([(0.30, 0.9), (0.50, 0.8),
                                           (0.46, 0.95)]):
    selection.on_epoch_end(epoch, {"val_recall@1": recall,
                                   "val_topic_match@1": topic})
  selection.on_train_end()
  assert selection.kept_epoch == 1
  assert selection.tolerances[2] == pytest.approx(np.sqrt(3.84 / 99) / 10)
  # The marginal test ties them and keeps the more on-topic epoch 2.
  assert _select([0.30, 0.50, 0.46], [0.9, 0.8, 0.95], 1.0, patience=2,
                 tie_highest=True)[0].kept_epoch == 2
  # 0.49 against 0.50 (one pair of difference, SE 0.01) is tied.
  values = iter([_hits(50), _hits(49)])
  selection = validation.EpochSelection(
      "val_recall@1", "val_topic_match@1", 1, 1.0, 100, tie_highest=True,
      pair_scores=lambda: next(values))
  selection.set_model(model)
  selection.on_train_begin()
  for epoch, (recall, topic) in enumerate([(0.50, 0.8), (0.49, 0.9)]):
    selection.on_epoch_end(epoch, {"val_recall@1": recall,
                                   "val_topic_match@1": topic})
  selection.on_train_end()
  assert selection.tolerances[1] == pytest.approx(0.01)
  assert selection.kept_epoch == 1


def test_the_trainer_selection_settings_pick_the_score_and_the_test():
  catalog = make_catalog(4)
  pairs = make_pairs([0, 1], [1, 3])
  scorer = validation.ValidationMetrics(catalog, pairs, EvalConfig())
  default = validation.epoch_selection(TrainerConfig(), EvalConfig(), pairs,
                                       scorer)
  assert default.pair_scores is None
  assert default.recall_key == "val_recall@100"
  paired = validation.epoch_selection(
      TrainerConfig(selection_tie_test="paired",
                    selection_metric="mean_recall"), EvalConfig(), pairs,
      scorer)
  assert paired.recall_key == "val_mean_recall"
  assert paired.pair_scores is not None


def test_epoch_selection_holds_only_epochs_that_can_still_be_kept():
  """Best 0.5 over n = 100: no band can reach below 0.5 - 0.05, so epoch 1
  (0.30) is dropped while 0.46 is held."""
  selection = validation.EpochSelection(
      "val_recall@1", "val_popular_share@1", 3, 1.0, 100)
  selection.set_model(
      tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(1,))]))
  selection.on_train_begin()
  for epoch, recall in enumerate([0.30, 0.50, 0.46]):
    selection.on_epoch_end(epoch, {"val_recall@1": recall,
                                   "val_popular_share@1": 0.5})
  assert [w is None for w in selection._weights] == [True, False, False]  # pylint: disable=protected-access


def test_epoch_selection_restores_an_earlier_epoch_at_the_cap():
  """Training ran to the last epoch; the kept one is earlier and its
  weights come back."""
  selection, model = _select([0.5, 0.48, 0.3], [0.6, 0.5, 0.4], 1.0,
                             patience=3)
  assert not model.stop_training and len(selection.records) == 3
  assert selection.kept_epoch == 1
  assert float(model.layers[0].kernel[0, 0]) == 1.0


def _window_pairs(n: int, repeats: int) -> artifacts.Pairs:
  """Items 2k and 2k+1 co-engaged `repeats` times each way, the last of
  those occurrences in the validation window."""
  pairs = make_pairs(list(range(n)), [i ^ 1 for i in range(n)],
                     pair_count=[repeats] * n)
  pairs.recent_count = np.ones(n, np.int64)
  pairs.trigger_count = np.full(n, repeats, np.float32)
  return pairs


@pytest.mark.parametrize("refit, average_decay", [(False, 0.0),
                                                   (True, 0.0),
                                                   (False, 0.5)])
def test_training_length_is_chosen_on_the_window_and_the_best_epoch_kept(
    refit, average_decay):
  """Window validation scores every epoch, stops after `patience` epochs
  without a better recall and keeps the best one (of those tied on recall,
  the most on-topic); with refit a new model
  trains that many epochs on every train pair. With the weights averaged
  (`trainer.weight_average_decay`) what is scored, kept and left in the
  model are the averages."""
  from trainer import task  # pylint: disable=g-import-not-at-top
  n = 16
  catalog = make_catalog(n)
  pairs = _window_pairs(n, repeats=3)
  config = TrainerConfig(
      id_dim=8, hidden_dim=8, output_dim=8, use_text=False,
      semantic_weight=0.0, engagement_weight=1.0, batch_size=8,
      optimizer="adam", learning_rate=0.05, epochs=8,
      early_stopping_patience=1, cold_share=0.0, refit=refit, seed=0,
      weight_average_decay=average_decay)
  eval_config = EvalConfig(ks=[1], gate_k=1)
  model = task.train(catalog, pairs, config, eval_config=eval_config)
  assert (model.average_steps > 0) == (average_decay > 0)
  selection = model.selection_history
  assert (selection is model.history) == (not refit)
  curve = selection.history["val_recall@1"]
  topic = selection.history["val_topic_match@1"]
  best = int(np.argmax(curve))
  # Stopped `patience` epochs after the best one, or at the cap.
  assert len(curve) == min(best + 2, config.epochs)
  # Kept: the most on-topic of the epochs within one standard error of
  # the best recall (16 distinct window pairs).
  tied = [e for e, r in enumerate(curve)
          if r >= curve[best] - np.sqrt(curve[best] * (1 - curve[best]) / n)]
  assert model.kept_epoch == min(tied, key=lambda e: (-topic[e], e)) + 1
  if refit:
    assert len(model.history.epoch) == model.kept_epoch
    assert "val_recall@1" not in model.history.history
  else:
    _, window = validation.window_split(pairs)
    kept = validation.evaluate_model(model, catalog, window, eval_config)
    assert kept["all"]["recall@1"] == pytest.approx(
        curve[model.kept_epoch - 1])
