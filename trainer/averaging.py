# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""An exponential moving average of the dense weights (Polyak averaging).

With `trainer.weight_average_decay` d > 0 every training step follows the
optimizer's update with

  a_t = d * a_{t-1} + (1 - d) * w_t,   a_0 = 0

for each variable w of the content path (every trainable variable but the
ID embedding tables: a table's rows are updated a few at a time, and
averaging them would touch every row on every step), and the weights the
validation scores, the epoch selection keeps and the export serves are
the bias-corrected averages a_t / (1 - d^t). Training itself goes on from
the raw weights.

Why: under `trainer.distribution: parameter_server` the workers update
the shared weights asynchronously, each step's gradient computed on
weights another worker has since moved; the average smooths that noise
out of the weights that are scored and served. What it does and does not
recover there is measured in docs/distributed-training.md ("Averaging
the weights"); it is off by default.
"""
from typing import List, Optional

import numpy as np

import tensorflow as tf


class WeightAverage(tf.Module):
  """The moving averages of `variables`, made under the strategy's scope
  when there is one (under parameter servers: on the parameter servers,
  split by the strategy's partitioner where large enough; under
  synchronous replicas: mirrored).

  Args:
    variables: the variables to average (built, with their final shapes).
    decay: d in (0, 1).
  """

  def __init__(self, variables: List[tf.Variable], decay: float):
    super().__init__(name="weight_average")
    if not 0.0 < decay < 1.0:
      raise ValueError(f"weight average decay must be in (0, 1), got {decay}")
    self.decay = decay
    self.followed = list(variables)
    # ONLY_FIRST_REPLICA: under synchronous replicas every replica computes
    # the same update of the same mirrored values.
    self.averages = [
        tf.Variable(lambda v=v: tf.zeros(v.shape, v.dtype), trainable=False,
                    name=f"average_{i}", shape=v.shape, dtype=v.dtype,
                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        for i, v in enumerate(self.followed)]
    self.steps = tf.Variable(
        0, dtype=tf.int64, trainable=False, name="average_steps",
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  def update(self) -> None:
    """One step's a_t = d * a_{t-1} + (1 - d) * w_t (in the train step)."""
    for average, variable in zip(self.averages, self.followed):
      average.assign_sub((1.0 - self.decay) *
                         (tf.convert_to_tensor(average) -
                          tf.convert_to_tensor(variable)))
    self.steps.assign_add(1)

  def averaged_values(self) -> List[np.ndarray]:
    """The bias-corrected averages a_t / (1 - d^t) (the raw weights before
    the first step)."""
    steps = int(self.steps.numpy())
    if steps == 0:
      return [tf.convert_to_tensor(v).numpy() for v in self.followed]
    correction = 1.0 - self.decay ** steps
    return [tf.convert_to_tensor(a).numpy() / correction
            for a in self.averages]

  def swap_in(self) -> List[np.ndarray]:
    """Sets the variables to their averages; returns the raw values."""
    raw = [tf.convert_to_tensor(v).numpy() for v in self.followed]
    for variable, value in zip(self.followed, self.averaged_values()):
      variable.assign(value)
    return raw

  def restore(self, raw: List[np.ndarray]) -> None:
    """Sets the variables back to `raw` (what `swap_in` returned)."""
    for variable, value in zip(self.followed, raw):
      variable.assign(value)


class AveragedWeights:
  """Callbacks that show the averaged weights to the ones between them.

  `first` swaps the averages in at each epoch's end, before the callbacks
  that follow it (the validation scoring, the epoch selection, which
  records the weights it may restore); `last` swaps the raw weights back
  so that training goes on from them, and at the end of training leaves
  the averages in the variables. Put `first` before the callbacks that
  score and `last` after them.

  Args:
    average: the model's WeightAverage.
    final: whether `last` sets the averages at the end of training; not
      where an `EpochSelection` between them restores the weights (the
      averages) of the epoch it keeps.
  """

  def __init__(self, average: WeightAverage, final: bool = True):
    self.average = average
    self.final = final
    self._raw: Optional[List[np.ndarray]] = None
    self.first = _Hook(on_epoch_end=self._swap_in)
    self.last = _Hook(on_epoch_end=self._restore, on_train_end=self._finish)

  def _swap_in(self) -> None:
    self._raw = self.average.swap_in()

  def _restore(self) -> None:
    if self._raw is not None:
      self.average.restore(self._raw)
      self._raw = None

  def _finish(self) -> None:
    if self.final:
      self.average.swap_in()


class _Hook(tf.keras.callbacks.Callback):
  """A callback calling the given functions at epoch and training end."""

  def __init__(self, on_epoch_end=None, on_train_end=None):
    super().__init__()
    self._epoch_end, self._train_end = on_epoch_end, on_train_end

  def on_epoch_end(self, epoch, logs=None) -> None:
    if self._epoch_end is not None:
      self._epoch_end()

  def on_train_end(self, logs=None) -> None:
    if self._train_end is not None:
      self._train_end()
