# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Synchronous rounds (`trainer.parameter_server_updates: synchronous`):
the gradient sums by hand, and a round's update against the mean of its
batches' gradients taken from the same weights (on a parameter-server
cluster: tests/test_distributed.py)."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_recommenders as tfrs

from relvid import config as config_lib
from trainer import synchronous
from trainer import task
from tests.test_model import batch
from tests.test_model import make_model


def test_gradient_sums_give_the_round_mean_by_hand():
  """Two batches: dense gradients [1, 2] and [3, 4] average to [2, 3]; a
  table's sparse ones (row 0: [1, 1]; rows 2 and 0: [2, 2], [3, 3])
  average over the touched rows 0 and 2 to [2, 2] and [1, 1]; a variable
  without gradients has none; the sums are cleared."""
  dense = tf.Variable([0.0, 0.0])
  table = tf.Variable(tf.zeros([3, 2]))
  unused = tf.Variable([0.0])
  sums = synchronous.GradientSums([dense, table, unused],
                                  tf.distribute.get_strategy(), batches=2)
  with pytest.raises(ValueError, match="no batch gradients"):
    sums.take_mean()
  sums.add([tf.constant([1.0, 2.0]),
            tf.IndexedSlices(tf.constant([[1.0, 1.0]]), tf.constant([0])),
            None])
  sums.add([tf.constant([3.0, 4.0]),
            tf.IndexedSlices(tf.constant([[2.0, 2.0], [3.0, 3.0]]),
                             tf.constant([2, 0])),
            None])
  mean_dense, mean_table, mean_unused = sums.take_mean()
  np.testing.assert_allclose(mean_dense.numpy(), [2.0, 3.0])
  assert isinstance(mean_table, tf.IndexedSlices)
  np.testing.assert_array_equal(mean_table.indices.numpy(), [0, 2])
  np.testing.assert_allclose(mean_table.values.numpy(),
                             [[2.0, 2.0], [1.0, 1.0]])
  np.testing.assert_array_equal(mean_table.dense_shape.numpy(), [3, 2])
  assert mean_unused is None
  for total in sums.sums:
    assert not np.any(total.numpy())
  assert not np.any(sums.touched[1].numpy())

  @tf.function
  def round_of_one(rows):
    sums.add([tf.constant([1.0, 1.0]),
              tf.IndexedSlices(tf.ones([2, 2]), rows), None])
    return sums.take_mean()

  # The next round sees only its own rows (here one batch: its mean is
  # its gradient).
  _, mean_table, _ = round_of_one(tf.constant([1, 1]))
  np.testing.assert_array_equal(mean_table.indices.numpy(), [1])
  np.testing.assert_allclose(mean_table.values.numpy(), [[2.0, 2.0]])
  assert sums.counts() == {"batches_per_round": 2, "rounds": 2,
                           "batches": 3}
  with pytest.raises(ValueError, match="differ in kind"):
    sums.add([tf.constant([1.0, 1.0]), tf.constant(tf.zeros([3, 2])), None])
  with pytest.raises(ValueError, match="2 gradients for the 3 variables"):
    sums.add([tf.constant([1.0, 1.0]), None])
  with pytest.raises(ValueError, match="at least one batch"):
    synchronous.GradientSums([dense], tf.distribute.get_strategy(), 0)


def _weights(model):
  return [v.numpy().copy() for v in model.trainable_variables]


def test_a_round_applies_the_mean_of_its_batches_gradients_from_one_weights():
  """With plain SGD a round over batches A and B moves every weight by
  -lr * (g_A + g_B) / 2, both gradients taken at the round's starting
  weights (the ID tables' sparse rows included); a one-batch round is
  the ordinary train step."""
  learning_rate = 0.5
  first = batch([0, 1, 2], [3, 4, 5], [1.0, 1.0, 1.0])
  second = batch([5, 3, 1], [2, 0, 4], [1.0, 2.0, 1.0])

  def new_model(batches):
    tf.keras.utils.set_random_seed(3)
    model = make_model(fusion="residual", normalize=False, temperature=1.0)
    model.track_gradient_sums(tf.distribute.get_strategy(), batches)
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate))
    return model

  model = new_model(2)
  start = _weights(model)
  expected_gradients = [
      [tf.convert_to_tensor(g).numpy() if g is not None else None
       for g in model.batch_gradients(inputs)] for inputs in (first, second)]
  assert any(isinstance(g, tf.IndexedSlices)
             for g in model.batch_gradients(first))
  model.add_batch_gradients(first)
  model.add_batch_gradients(second)
  # The weights move only when the round is applied.
  for before, after in zip(start, _weights(model)):
    np.testing.assert_array_equal(before, after)
  logs = model.apply_round()
  assert "engagement_loss" in logs
  moved = 0
  for before, after, g_a, g_b in zip(start, _weights(model),
                                     *expected_gradients):
    if g_a is None:
      np.testing.assert_array_equal(after, before)
      continue
    np.testing.assert_allclose(after, before - learning_rate * (g_a + g_b)
                               / 2, rtol=1e-5, atol=1e-6)
    moved += not np.allclose(after, before)
  assert moved > 0

  # TFRS's own train step, which the model's replaced.
  single_round, single_step, tfrs_step = (new_model(1) for _ in range(3))
  single_round.add_batch_gradients(first)
  single_round.apply_round()
  single_step.train_step(first)
  tfrs.models.Model.train_step(tfrs_step, first)
  for got, want, tfrs_weights in zip(_weights(single_round),
                                     _weights(single_step),
                                     _weights(tfrs_step)):
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(want, tfrs_weights)


def test_a_round_splits_its_batch_among_the_workers(monkeypatch):
  """A round is one step on batch_size pairs: each of the workers gets
  batch_size / workers, and a batch that does not divide is refused,
  naming trainer.batch_size (by the config for the local or Vertex
  workers it knows of, and at run time for TF_CONFIG's)."""
  assert task.round_batch_size(2048, 2) == 1024
  asked = []
  inputs = task.TrainingInput(
      rows=10, candidate_probability=None, candidate_counts=None,
      batches=lambda readers, index, batch_size, repeat, lookup:
      asked.append((readers, index, batch_size, repeat)))
  monkeypatch.setattr(task.distribute, "num_workers", lambda: 2)
  monkeypatch.setattr(task.distribute, "worker_index", lambda: 1)
  for updates, batch_size in (("synchronous", 1024), ("asynchronous", 2048)):
    trainer = config_lib.TrainerConfig(
        distribution="parameter_server", parameter_server_updates=updates,
        batch_size=2048)
    task._worker_batches(inputs, trainer, None, None)  # pylint: disable=protected-access
    assert asked.pop() == (2, 1, batch_size, True)
  with pytest.raises(ValueError, match="trainer.batch_size.*3 workers"):
    task.round_batch_size(2048, 3)
  config = config_lib.PipelineConfig()
  config.trainer.distribution = "parameter_server"  # synchronous rounds
  config.trainer.local_workers = 3
  with pytest.raises(ValueError, match="trainer.batch_size.*3 workers of "
                     r"synchronous rounds \(trainer.local_workers\)"):
    config.validate()
  config.trainer.local_workers = 2
  config.orchestration.vertex_project = "acme"
  config.orchestration.vertex_workers = 3
  config.orchestration.vertex_parameter_servers = 1
  with pytest.raises(ValueError, match="trainer.batch_size.*3 workers of "
                     r"synchronous rounds \(orchestration.vertex_workers\)"):
    config.validate()
  config.trainer.parameter_server_updates = "asynchronous"
  config.validate()  # each asynchronous step is a whole batch
