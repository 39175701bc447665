# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Synchronous rounds under parameter servers
(`trainer.parameter_server_updates: synchronous`, the default).

ParameterServerStrategy's own updates are asynchronous: each worker reads
the variables, computes its batch's gradients and applies them, while the
other workers do the same, so a step's gradients may be applied to weights
that another worker has moved since they were read.

Synchronous rounds, as TF1's SyncReplicasOptimizer did them: a round is
one step on `batch_size` pairs, split into N batches of batch_size / N
(N: the workers), each scheduled on a free worker. Each batch's gradients
are computed from the round's weights and added to a sum that sits beside
each variable on its parameter server (`GradientSums`); when all N are in
(the coordinator's join), one closure applies their mean with the
optimizer and clears the sums; the next round starts after it:

  g = (1/N) sum_b grad L(batch_b; theta),   theta <- optimizer(theta, g)

Each batch has its own in-batch negatives, logQ and OPC normalisation. An
epoch is ceil(rows / batch_size) rounds, as many steps as one process.

Costs: a barrier per round (the slowest worker sets the pace); a sum as
large as each variable, so a parameter server holds each of its table
shards twice; and each round's update scans a per-row mark of every
table shard, on its parameter server, for the rows some batch touched
(one int32 per row; those rows go to the optimizer, as a batch's sparse
gradient does).
"""
from typing import Any, Callable, List, Optional, Sequence

import tensorflow as tf


class GradientSums(tf.Module):
  """Per variable, the sum of a round's batch gradients, on the variable's
  device (its parameter server; beside each shard of a sharded table),
  and for a table (a variable of two or more axes) which of its rows some
  batch's sparse gradient touched.

  Args:
    variables: the model's trainable variables (built), in the order the
      gradients come.
    strategy: the ParameterServerStrategy they were made under.
    batches: N, the batches whose gradients a round sums.
  """

  def __init__(self, variables: Sequence[tf.Variable],
               strategy: tf.distribute.Strategy, batches: int):
    super().__init__(name="gradient_sums")
    if batches < 1:
      raise ValueError(f"a round sums at least one batch, got {batches}")
    self.batches = batches
    variables = list(variables)
    if not variables:
      raise ValueError("no variables to sum the gradients of")
    self.sums, self.touched = [], []
    # Initial values made where the variable lives (a callable under the
    # colocation), not on the chief and sent over.
    for i, variable in enumerate(variables):
      with strategy.extended.colocate_vars_with(variable):
        self.sums.append(_zeros(variable.shape, variable.dtype,
                                f"gradient_sum_{i}"))
        self.touched.append(
            _zeros(variable.shape[:1], tf.int32, f"touched_rows_{i}")
            if variable.shape.rank >= 2 else None)
    with strategy.extended.colocate_vars_with(variables[0]):
      # The batches added in this round (the mean divides by it), and
      # the rounds applied and batches added in all.
      self.added = _zeros([], tf.int64, "batches_added")
      self.rounds = _zeros([], tf.int64, "rounds_applied")
      self.total_batches = _zeros([], tf.int64, "batches_summed")
    # Per variable, whether its batch gradients are sparse (IndexedSlices:
    # an ID table's rows), dense, or missing (None: not in the loss); set
    # when the first batch's step is traced.
    self.kinds: Optional[List[Optional[str]]] = None

  def add(self, gradients: Sequence[Any]) -> None:
    """Adds one batch's gradients (in a worker's closure)."""
    if len(gradients) != len(self.sums):
      raise ValueError(f"{len(gradients)} gradients for the {len(self.sums)}"
                       " variables summed: the model gained variables after "
                       "its gradient sums were made")
    kinds = [None if g is None else
             "sparse" if isinstance(g, tf.IndexedSlices) else "dense"
             for g in gradients]
    if self.kinds is None:
      self.kinds = kinds
    elif kinds != self.kinds:
      raise ValueError("a batch's gradients differ in kind from the first "
                       f"batch's: {kinds} against {self.kinds}")
    for total, touched, gradient in zip(self.sums, self.touched, gradients):
      if isinstance(gradient, tf.IndexedSlices):
        if touched is None:
          raise ValueError(f"a sparse gradient for {total.shape}, a "
                           "variable without rows")
        # Two workers may add to the same rows at once: ScatterNdAdd
        # holds the variable's lock (use_locking), where ResourceScatterAdd
        # updates float rows under a shared one and can lose an addition.
        total.scatter_nd_add(tf.expand_dims(gradient.indices, -1),
                             gradient.values)
        touched.scatter_update(tf.IndexedSlices(
            tf.ones_like(gradient.indices, tf.int32), gradient.indices))
      elif gradient is not None:
        total.assign_add(gradient)
    self.added.assign_add(1)
    self.total_batches.assign_add(1)

  def take_mean(self) -> List[Any]:
    """The round's mean gradients (the sums over the batches added), and
    the sums cleared: dense where the batches' were, IndexedSlices over
    the rows some batch touched where theirs were sparse (as one batch's
    sparse gradient reaches the optimizer), None where they had none. The
    touched rows are found and gathered on each variable's parameter
    server, so only they travel.

    Raises:
      ValueError: called before any batch's gradients were added.
    """
    if self.kinds is None:
      raise ValueError("no batch gradients were added: trace `add` first")
    added = tf.maximum(tf.convert_to_tensor(self.added), 1)
    means = []
    for total, touched, kind in zip(self.sums, self.touched, self.kinds):
      with tf.device(total.device):
        count = tf.cast(added, total.dtype)
        if kind is None:
          means.append(None)
        elif kind == "dense":
          value = tf.convert_to_tensor(total)
          means.append(value / count)
          total.assign(tf.zeros_like(value))
        else:
          rows = tf.reshape(tf.where(tf.convert_to_tensor(touched) > 0),
                            [-1])
          values = tf.gather(total, rows)
          means.append(tf.IndexedSlices(values / count, rows,
                                        tf.shape(total, out_type=tf.int64)))
          total.scatter_update(tf.IndexedSlices(tf.zeros_like(values), rows))
          touched.scatter_update(tf.IndexedSlices(
              tf.zeros_like(rows, tf.int32), rows))
    self.added.assign(0)
    self.rounds.assign_add(1)
    return means

  def counts(self) -> dict:
    """{"batches_per_round", "rounds", "batches"}: the rounds applied and
    the batches summed so far."""
    return {"batches_per_round": self.batches,
            "rounds": int(self.rounds.numpy()),
            "batches": int(self.total_batches.numpy())}


def _zeros(shape: Any, dtype: tf.DType, name: str) -> tf.Variable:
  return tf.Variable(lambda: tf.zeros(shape, dtype), trainable=False,
                     shape=shape, dtype=dtype, name=name)


def round_function(model: Any, coordinator: Any, batches: int
                   ) -> Callable[[Any], Any]:
  """Keras's train function (one call per step of `fit`) as a synchronous
  round: `batches` closures, each adding one batch's gradients
  (`model.add_batch_gradients`) on whichever worker is free, a join, one
  closure applying their mean (`model.apply_round`), and a join before the
  next round reads the weights.

  Args:
    model: the model being fitted, compiled under the strategy, with
      `add_batch_gradients(batch)` and `apply_round() -> logs`.
    coordinator: the strategy's ClusterCoordinator (Keras's).
    batches: N, the batches of a round.

  Returns:
    iterator (the per-worker batches) -> the round's logs (a RemoteValue,
    as Keras's scheduled train function returns).
  """
  if coordinator is None:
    raise ValueError("synchronous rounds run under ParameterServerStrategy's "
                     "cluster coordinator (model.fit under its scope)")
  strategy = model.distribute_strategy

  @tf.function
  def add_batch(iterator):
    strategy.run(model.add_batch_gradients, args=(next(iterator),))

  @tf.function
  def apply_round():
    return strategy.run(model.apply_round)

  def train_round(iterator):
    for _ in range(batches):
      coordinator.schedule(add_batch, args=(iterator,))
    coordinator.join()
    logs = coordinator.schedule(apply_round)
    coordinator.join()
    return logs
  return train_round
