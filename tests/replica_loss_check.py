# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Run by tests/test_model.py in a process of its own (the logical CPUs
must be set before TensorFlow starts): the model's loss and gradients on
one batch in one process, and the same batch split over two synchronous
replicas (MirroredStrategy on two logical CPUs, the replica context that
MultiWorkerMirroredStrategy gives each worker); and the epoch logs of a
short `fit` in both. Prints JSON."""
import json

import tensorflow as tf

CPUS = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    CPUS[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from relvid.config import TrainerConfig  # pylint: disable=g-import-not-at-top,wrong-import-position
from tests import test_model  # pylint: disable=g-import-not-at-top,wrong-import-position
from trainer import distribute  # pylint: disable=g-import-not-at-top,wrong-import-position
from trainer import model as model_lib  # pylint: disable=g-import-not-at-top,wrong-import-position

REPLICAS = 2


N = test_model.NUM_ITEMS
PROBABILITY = np.arange(1, N + 1, dtype=np.float64) / (N * (N + 1) / 2)
# Item 2 is the candidate of a row on each replica: an accidental hit
# that only the gathered batch shows.
FEATURES = test_model.batch(
    [0, 1, 2, 3, 4, 5, 6, 7], [2, 3, 4, 5, 2, 6, 7, 0],
    [1.0, 4.0, 9.0, 2.0, 3.0, 1.0, 5.0, 7.0],
    sem=([1, 2, 3, 4, 5, 6, 7, 0], [4, 5, 6, 7, 0, 1, 2, 3],
         [2.0, 1.0, 3.0, 4.0, 1.0, 2.0, 6.0, 1.0]))


def trainer_config(**overrides) -> TrainerConfig:
  settings = dict(
      id_dim=4, hidden_dim=8, output_dim=4, fusion="dense", normalize=True,
      temperature=0.05, engagement_weight=1.0, semantic_weight=0.5,
      opc=True, opc_normalize=True, remove_accidental_hits=True,
      logq_correction=True)
  settings.update(overrides)
  return TrainerConfig(**settings)


def new_model(config: TrainerConfig) -> model_lib.RelatedVideoModel:
  model = model_lib.RelatedVideoModel(
      N, model_lib.content_features(test_model.make_catalog(), config),
      config, candidate_probability=PROBABILITY,
      candidate_counts=np.arange(N, dtype=np.float64),
      semantic_probability=PROBABILITY[::-1].copy())
  every_item = tf.range(N, dtype=tf.int64)
  model.trigger_tower(every_item)  # builds the variables
  model.candidate_tower(every_item)
  return model


def check(config: TrainerConfig, strategy: tf.distribute.Strategy
          ) -> dict:
  """The two losses and the largest gradient difference."""
  tf.keras.utils.set_random_seed(0)
  one = new_model(config)
  with tf.GradientTape() as tape:
    one_loss = one.compute_loss(FEATURES, training=True)
  one_grads = [tf.convert_to_tensor(g) for g in
               tape.gradient(one_loss, one.trainable_variables)]

  with strategy.scope():
    model = new_model(config)
  model.set_weights(one.get_weights())
  variables = model.trainable_variables

  rows = len(FEATURES["trigger"]) // REPLICAS

  def shard(context):
    start = context.replica_id_in_sync_group * rows
    return {k: v[start:start + rows] for k, v in FEATURES.items()}

  @tf.function
  def replicated(shards):
    def step(part):
      with tf.GradientTape() as tape:
        loss = model.compute_loss(part, training=True)
      return loss, [tf.convert_to_tensor(g)
                    for g in tape.gradient(loss, variables)]
    losses, grads = strategy.run(step, args=(shards,))
    return (strategy.reduce("SUM", losses, None),
            [strategy.reduce("SUM", g, None) for g in grads])

  sync_loss, sync_grads = replicated(
      strategy.experimental_distribute_values_from_function(shard))
  return {
      "one_process_loss": float(one_loss),
      "replicas_loss": float(sync_loss),
      "max_gradient": max(float(tf.reduce_max(tf.abs(g))) for g in one_grads),
      "max_gradient_difference": max(
          float(tf.reduce_max(tf.abs(a - b)))
          for a, b in zip(one_grads, sync_grads))}


def fit_logs(strategy: tf.distribute.Strategy) -> dict:
  """The epoch logs of two steps of `fit` on batches of 8 rows, in one
  process and over the replicas, from the same weights."""
  tf.keras.utils.set_random_seed(0)
  config = trainer_config()
  rows = tf.data.Dataset.from_tensor_slices(FEATURES)
  batches = rows.concatenate(rows.skip(3).concatenate(rows.take(3))).batch(8)
  one = new_model(config)
  with strategy.scope():
    replicated = new_model(config)
  replicated.set_weights(one.get_weights())
  logs = {}
  for name, model in (("one_process", one), ("replicas", replicated)):
    with distribute.scope(strategy if model is replicated else None):
      model.compile(optimizer=tf.keras.optimizers.Adam(0.01))
    history = model.fit(batches, epochs=1, verbose=0).history
    logs[name] = {k: float(v[0]) for k, v in history.items()}
  return logs


def main() -> None:
  strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
  print(json.dumps({
      "binary": check(trainer_config(), strategy),
      "soft": check(trainer_config(semantic_targets="soft"), strategy),
      "uncertainty": check(trainer_config(task_weighting="uncertainty"),
                           strategy),
      "fit_logs": fit_logs(strategy)}))


if __name__ == "__main__":
  main()
