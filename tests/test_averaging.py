# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The moving average of the dense weights (`trainer.weight_average_decay`):
the bias-corrected average by hand, the train step's updates, and the
averaged weights being what is scored and left in the model (with the
epoch selection: tests/test_validation.py)."""
import numpy as np
import pytest
import tensorflow as tf

from relvid import config as config_lib
from trainer import averaging
from trainer import model as model_lib
from tests.test_model import batch
from tests.test_model import make_model


def test_average_is_bias_corrected_by_hand():
  """d = 0.5 over the values 2 then 4 (and -1 then 1): a_1 = 1 (-0.5),
  a_2 = 2.5 (0.25); corrected a_1 / 0.5 and a_2 / 0.75."""
  variable = tf.Variable([2.0, -1.0])
  average = averaging.WeightAverage([variable], 0.5)
  np.testing.assert_allclose(average.averaged_values()[0], [2.0, -1.0])
  average.update()
  np.testing.assert_allclose(average.averaged_values()[0], [2.0, -1.0])
  variable.assign([4.0, 1.0])
  average.update()
  np.testing.assert_allclose(average.averaged_values()[0],
                             [2.5 / 0.75, 0.25 / 0.75], atol=1e-6)
  raw = average.swap_in()
  np.testing.assert_allclose(raw[0], [4.0, 1.0])
  np.testing.assert_allclose(variable.numpy(), [2.5 / 0.75, 0.25 / 0.75],
                             atol=1e-6)
  average.restore(raw)
  np.testing.assert_allclose(variable.numpy(), [4.0, 1.0])
  with pytest.raises(ValueError, match=r"in \(0, 1\)"):
    averaging.WeightAverage([variable], 1.0)


class _RawWeights(tf.keras.callbacks.Callback):
  """The followed variables' values after every batch (before any swap)."""

  def __init__(self, variables):
    super().__init__()
    self.variables, self.values = variables, []

  def on_train_batch_end(self, batch, logs=None):
    self.values.append([v.numpy().copy() for v in self.variables])


def test_train_steps_update_the_average_of_the_dense_weights_only():
  """Every step averages every trainable variable but the ID tables; at the
  end of training the model holds the corrected average of the steps'
  weights, computed here by hand; the ID tables keep their last step's."""
  decay = 0.6
  model = make_model(fusion="residual", normalize=False, temperature=1.0,
                     optimizer="adam", learning_rate=0.05)
  average = model.track_weight_average(decay)
  tables = model_lib.id_embedding_variables(model)
  dense = model_lib.id_embedding_variables(model, complement=True)
  assert [v.ref() for v in average.followed] == [v.ref() for v in dense]
  assert not {v.ref() for v in tables} & {v.ref() for v in average.followed}
  model.compile(optimizer=tf.keras.optimizers.Adam(0.05))
  averaged = averaging.AveragedWeights(average, final=True)
  raw = _RawWeights(dense + tables)
  data = tf.data.Dataset.from_tensors(
      batch([0, 1, 2], [3, 4, 5], [1.0, 1.0, 1.0])).repeat(4)
  model.fit(data, epochs=2, verbose=0,
            callbacks=[averaged.first, raw, averaged.last])
  steps = len(raw.values)
  assert steps == 8 and float(average.steps.numpy()) == steps
  moved = 0
  for i, variable in enumerate(dense):
    history = [values[i] for values in raw.values]
    expected = sum((1 - decay) * decay ** (steps - 1 - t) * history[t]
                   for t in range(steps)) / (1 - decay ** steps)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5,
                               atol=1e-6)
    moved += not np.allclose(expected, history[-1])
  # The averages are not the last step's weights.
  assert moved > 0
  for i, table in enumerate(tables):
    np.testing.assert_array_equal(table.numpy(),
                                  raw.values[-1][len(dense) + i])


def test_training_resumes_from_the_raw_weights_after_each_epoch():
  """The epoch's end shows the averages to the callbacks between `first`
  and `last`, then puts the raw weights back."""
  model = make_model(optimizer="adam")
  average = model.track_weight_average(0.5)
  model.compile(optimizer=tf.keras.optimizers.Adam(0.05))
  seen = {}

  class Look(tf.keras.callbacks.Callback):

    def on_epoch_end(self, epoch, logs=None):
      seen["scored"] = [v.numpy().copy() for v in average.followed]
      seen["averages"] = average.averaged_values()

  averaged = averaging.AveragedWeights(average, final=False)
  model.fit(tf.data.Dataset.from_tensors(
      batch([0, 1, 2], [3, 4, 5], [1.0, 1.0, 1.0])).repeat(3), verbose=0,
            callbacks=[averaged.first, Look(), averaged.last])
  raw = [v.numpy() for v in average.followed]
  for scored, mean, last in zip(seen["scored"], seen["averages"], raw):
    np.testing.assert_allclose(scored, mean, rtol=1e-6)
  assert any(not np.allclose(s, r) for s, r in zip(seen["scored"], raw))


@pytest.mark.parametrize("decay", [-0.1, 1.0])
def test_decay_outside_zero_one_is_refused_by_name(decay):
  config = config_lib.PipelineConfig()
  config.trainer.weight_average_decay = decay
  with pytest.raises(ValueError, match="trainer.weight_average_decay"):
    config.validate()
