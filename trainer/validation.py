# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Exact retrieval from trained towers, the evaluator's metrics on it, and
the per-epoch validation that early stopping and TensorBoard read.

The training pairs lose a random `validation_fraction` to a validation set
(`split_validation`); after every epoch `ValidationMetrics` retrieves the
exact top-K for the validation triggers and puts the evaluator's metrics in
the epoch logs as `val_<metric>`, where Keras's `EarlyStopping` (monitoring
`val_recall@K`, restoring the best epoch's weights) and `TensorBoard` find
them. The eval split is never used for training decisions.
"""
import logging
from typing import Any, Dict, Tuple

import numpy as np
import tensorflow as tf

from components import artifacts
from components import evaluator
from relvid import config as config_lib


def exact_top_k(trigger_vectors: np.ndarray, candidate_vectors: np.ndarray,
                triggers: np.ndarray, k: int) -> np.ndarray:
  """Exact top-k catalog indices per trigger by dot product, self excluded."""
  scores = trigger_vectors[triggers] @ candidate_vectors.T
  scores[np.arange(len(triggers)), triggers] = -np.inf
  k = min(k, candidate_vectors.shape[0] - 1)
  top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
  order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
  return np.take_along_axis(top, order, axis=1)


def evaluate_model(model: Any, catalog: artifacts.Catalog,
                   pairs: artifacts.Pairs,
                   eval_config: config_lib.EvalConfig) -> Dict[str, Any]:
  """The evaluator's metrics for anything with `item_embeddings()` (a
  trained model or a baseline), by exact retrieval over the catalog."""
  pair_trigger, pair_candidate = evaluator.distinct_pairs(pairs.trigger,
                                                          pairs.candidate)
  triggers = np.unique(pair_trigger)
  vectors = model.item_embeddings()
  top = exact_top_k(vectors["trigger"], vectors["candidate"], triggers,
                    max(eval_config.ks))
  return evaluator.retrieval_metrics(
      triggers, top, pair_trigger, pair_candidate, catalog.topics,
      catalog.train_engagements, eval_config.ks,
      eval_config.popular_fraction, eval_config.tail_fraction)


def split_validation(pairs: artifacts.Pairs, fraction: float, seed: int
                     ) -> Tuple[artifacts.Pairs, artifacts.Pairs]:
  """(training, validation): a random `fraction` of the pair rows, at least
  one, is held out (none when fraction is 0)."""
  order = np.random.default_rng(seed).permutation(len(pairs))
  held = int(round(len(pairs) * fraction))
  if fraction > 0:
    held = min(max(held, 1), len(pairs) - 1)

  def subset(rows):
    rows = np.sort(rows)
    return artifacts.Pairs(pairs.trigger[rows], pairs.candidate[rows],
                           pairs.pair_count[rows], pairs.trigger_count[rows])

  return subset(order[held:]), subset(order[:held])


class ValidationMetrics(tf.keras.callbacks.Callback):
  """After each epoch, the evaluator's metrics on the validation pairs go
  into the logs as `val_<metric>` (e.g. `val_recall@100`).

  Args:
    catalog: the catalog the towers embed.
    pairs: the validation pairs.
    eval_config: ks, popular and tail fractions.
  """

  def __init__(self, catalog: artifacts.Catalog, pairs: artifacts.Pairs,
               eval_config: config_lib.EvalConfig):
    super().__init__()
    self.catalog = catalog
    self.pairs = pairs
    self.eval_config = eval_config

  def on_epoch_end(self, epoch: int, logs: Dict[str, float] = None) -> None:
    metrics = evaluate_model(self.model, self.catalog, self.pairs,
                             self.eval_config)["all"]
    if logs is not None:
      logs.update({f"val_{name}": value for name, value in metrics.items()})


def monitored_metric(eval_config: config_lib.EvalConfig) -> str:
  """The log key early stopping watches: validation recall at the gate K."""
  return f"val_recall@{eval_config.gate_k}"


def early_stopping(config: config_lib.TrainerConfig,
                   eval_config: config_lib.EvalConfig
                   ) -> tf.keras.callbacks.EarlyStopping:
  """Stops after `early_stopping_patience` epochs without a better
  validation recall and restores the best epoch's weights."""
  logging.info("early stopping on %s (patience %d, at most %d epochs)",
               monitored_metric(eval_config), config.early_stopping_patience,
               config.epochs)
  return tf.keras.callbacks.EarlyStopping(
      monitor=monitored_metric(eval_config), mode="max",
      patience=config.early_stopping_patience, restore_best_weights=True)
