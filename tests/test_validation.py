# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The validation split, the per-epoch validation metrics in the logs, and
early stopping that keeps the best epoch."""
import numpy as np
import tensorflow as tf

from components import artifacts
from relvid.config import EvalConfig
from relvid.config import TrainerConfig
from trainer import validation
from tests.test_baselines import make_catalog
from tests.test_baselines import make_pairs


def test_split_validation_holds_out_a_disjoint_fraction():
  pairs = make_pairs(list(range(20)), list(range(1, 21)))
  train, held = validation.split_validation(pairs, 0.25, seed=3)
  assert len(train) == 15 and len(held) == 5
  rows = sorted(zip(train.trigger, train.candidate)) + sorted(
      zip(held.trigger, held.candidate))
  assert sorted(rows) == sorted(zip(pairs.trigger, pairs.candidate))
  train, held = validation.split_validation(pairs, 0.0, seed=3)
  assert len(train) == 20 and len(held) == 0
  _, held = validation.split_validation(pairs, 0.001, seed=3)
  assert len(held) == 1


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
  assert validation.monitored_metric(EvalConfig(ks=[1], gate_k=1)) == (
      "val_recall@1")


def test_early_stopping_keeps_the_best_epoch():
  stopper = validation.early_stopping(
      TrainerConfig(early_stopping_patience=1, epochs=5),
      EvalConfig(ks=[1], gate_k=1))
  model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(1,))])
  stopper.set_model(model)
  stopper.on_train_begin()
  for epoch, recall in enumerate([0.1, 0.3, 0.2]):
    model.layers[0].kernel.assign([[float(epoch)]])
    stopper.on_epoch_end(epoch, {"val_recall@1": recall})
  assert model.stop_training
  stopper.on_train_end()
  assert float(model.layers[0].kernel[0, 0]) == 1.0
