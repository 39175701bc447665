# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Exact retrieval from trained towers, the evaluator's metrics on it, and
the per-epoch validation that early stopping and TensorBoard read.

`split_validation` divides the train pairs into what the model fits and
what picks the training length (`trainer.validation`):
  window  the pairs' validation window, the train period's newest part:
          the model fits every occurrence before it, and is scored on the
          pairs that occur in it, a miniature of the time split it is
          judged on (a pair seen before the window and again in it is in
          both, as repeat pairs are in the real eval split);
  random  a random `validation_fraction` of the rows, held out;
  off     nothing held out.
After every epoch `ValidationMetrics` retrieves the exact top-K for the
validation triggers and puts the evaluator's metrics in the epoch logs as
`val_<metric>`, where `EpochSelection` (stopping on `val_recall@K`,
restoring the kept epoch's weights) and `TensorBoard` find them. The eval
split is never used for training decisions.
"""
import functools
import logging
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from components import artifacts
from components import evaluator
from relvid import config as config_lib


def top_k_of_scores(scores: np.ndarray, triggers: np.ndarray,
                    k: int) -> np.ndarray:
  """Top-k catalog indices per row of `scores` [t, n] (row i is
  triggers[i]'s), the trigger itself excluded; `scores` is modified."""
  scores[np.arange(len(triggers)), triggers] = -np.inf
  k = min(k, scores.shape[1] - 1)
  top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
  order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
  return np.take_along_axis(top, order, axis=1)


def exact_top_k(trigger_vectors: np.ndarray, candidate_vectors: np.ndarray,
                triggers: np.ndarray, k: int, block: int = 256
                ) -> np.ndarray:
  """Exact top-k catalog indices per trigger by dot product, self excluded,
  `block` triggers at a time (memory O(block x catalog), not O(triggers x
  catalog))."""
  if not len(triggers):
    return np.zeros((0, min(k, len(candidate_vectors) - 1)), np.int64)
  return np.concatenate([
      top_k_of_scores(trigger_vectors[triggers[i:i + block]] @
                      candidate_vectors.T, triggers[i:i + block], k)
      for i in range(0, len(triggers), block)])


def _retrieve(model: Any, pairs: artifacts.Pairs, k: int
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """(distinct triggers, their exact top k, the distinct pairs' triggers
  and candidates) for anything `evaluate_model` takes."""
  pair_trigger, pair_candidate = evaluator.distinct_pairs(pairs.trigger,
                                                          pairs.candidate)
  triggers = np.unique(pair_trigger)
  if hasattr(model, "scores"):
    top = top_k_of_scores(model.scores(triggers), triggers, k)
  else:
    vectors = model.item_embeddings()
    top = exact_top_k(vectors["trigger"], vectors["candidate"], triggers, k)
  return triggers, top, pair_trigger, pair_candidate


def _metrics(catalog: artifacts.Catalog, retrieved: Tuple[np.ndarray, ...],
             eval_config: config_lib.EvalConfig, engagement_groups: int = 0
             ) -> Dict[str, Any]:
  """The evaluator's metrics of `_retrieve`'s output."""
  return evaluator.retrieval_metrics(
      *retrieved, catalog.topics, catalog.train_engagements, eval_config.ks,
      eval_config.popular_fraction, eval_config.tail_fraction,
      engagement_groups)


def evaluate_model(model: Any, catalog: artifacts.Catalog,
                   pairs: artifacts.Pairs,
                   eval_config: config_lib.EvalConfig,
                   engagement_groups: int = 0) -> Dict[str, Any]:
  """The evaluator's metrics for anything with `item_embeddings()` (a
  trained model or a baseline) or `scores(triggers)` (a baseline whose
  scores are no dot product), by exact retrieval over the catalog; with
  `engagement_groups`, also per group of triggers by train-period
  engagements (`evaluator.retrieval_metrics`)."""
  return _metrics(catalog, _retrieve(model, pairs, max(eval_config.ks)),
                  eval_config, engagement_groups)


def random_split(pairs: artifacts.Pairs, fraction: float, seed: int
                 ) -> Tuple[artifacts.Pairs, artifacts.Pairs]:
  """(training, validation): a random `fraction` of the pair rows, at least
  one, is held out (none when fraction is 0)."""
  order = np.random.default_rng(seed).permutation(len(pairs))
  held = int(round(len(pairs) * fraction))
  if fraction > 0:
    held = min(max(held, 1), len(pairs) - 1)
  return pairs.rows(np.sort(order[held:])), pairs.rows(np.sort(order[:held]))


def window_split(pairs: artifacts.Pairs
                 ) -> Tuple[artifacts.Pairs, artifacts.Pairs]:
  """(training, validation) at the validation window: training holds each
  pair's occurrences before the window (pair_count minus recent_count, and
  the triggers' counts over them), validation the pairs that occur in the
  window (pair_count = recent_count).

  Raises:
    ValueError: no pair occurs in the window (the pairs were made without
      one, pairs.validation_fraction 0), or every pair does.
  """
  before = pairs.pair_count - pairs.recent_count
  fit_rows = np.flatnonzero(before > 0)
  window_rows = np.flatnonzero(pairs.recent_count > 0)
  if not len(window_rows) or not len(fit_rows):
    raise ValueError(
        f"trainer.validation=window needs train pairs before and in the "
        f"validation window; {len(fit_rows)} before, {len(window_rows)} in "
        "it: run the pipeline with pairs.validation_fraction > 0 (or set "
        "trainer.validation=off or random)")
  fit = pairs.rows(fit_rows)
  fit.pair_count = before[fit_rows]
  fit.recent_count = np.zeros(len(fit_rows), np.int64)
  fit.trigger_count = np.bincount(
      fit.trigger, weights=fit.pair_count,
      minlength=int(pairs.trigger.max()) + 1)[fit.trigger].astype(np.float32)
  window = pairs.rows(window_rows)
  window.pair_count = pairs.recent_count[window_rows]
  return fit, window


def split_validation(pairs: artifacts.Pairs,
                     config: config_lib.TrainerConfig
                     ) -> Tuple[artifacts.Pairs, artifacts.Pairs]:
  """(training, validation) as `config.validation` says (module
  docstring); validation is empty when it is `off`."""
  if config.validation == "window":
    return window_split(pairs)
  if config.validation == "random":
    return random_split(pairs, config.validation_fraction, config.seed)
  return pairs, pairs.rows(np.zeros(0, np.int64))


# The log name (after `val_`) of the mean of recall@k over eval.ks.
MEAN_RECALL = "mean_recall"


class ValidationMetrics(tf.keras.callbacks.Callback):
  """After each epoch, the evaluator's metrics on the validation pairs go
  into the logs as `val_<metric>` (e.g. `val_recall@100`), with
  `val_mean_recall`, the mean of recall@k over eval_config.ks.

  Args:
    catalog: the catalog the towers embed.
    pairs: the validation pairs.
    eval_config: ks, popular and tail fractions.

  After each epoch `pair_hits(k)` gives the [P] hit bits of the distinct
  validation pairs (recall@k is their mean), for a paired comparison of
  epochs (`EpochSelection`); they are computed only when asked for.
  """

  def __init__(self, catalog: artifacts.Catalog, pairs: artifacts.Pairs,
               eval_config: config_lib.EvalConfig):
    super().__init__()
    self.catalog = catalog
    self.pairs = pairs
    self.eval_config = eval_config
    self._retrieved: Optional[Tuple[np.ndarray, ...]] = None

  def on_epoch_end(self, epoch: int, logs: Dict[str, float] = None) -> None:
    self._retrieved = _retrieve(self.model, self.pairs,
                                max(self.eval_config.ks))
    metrics = _metrics(self.catalog, self._retrieved,
                       self.eval_config)["all"]
    metrics[MEAN_RECALL] = float(np.mean(
        [metrics[f"recall@{k}"] for k in self.eval_config.ks]))
    if logs is not None:
      logs.update({f"val_{name}": value for name, value in metrics.items()})

  def pair_hits(self, k: int) -> np.ndarray:
    """[P] the last epoch's hit bits at k, per distinct validation pair."""
    return evaluator.pair_hits(*self._retrieved, k)

  def pair_scores(self, selection_metric: str, gate_k: int) -> np.ndarray:
    """[P] the last epoch's per-pair values whose mean is the selection
    metric: the hit bit at gate_k, or the share of eval.ks hit."""
    if selection_metric == "gate_recall":
      return self.pair_hits(gate_k).astype(np.float32)
    return np.mean([self.pair_hits(k) for k in self.eval_config.ks],
                   axis=0, dtype=np.float32)


def monitored_metric(eval_config: config_lib.EvalConfig,
                     selection_metric: str = "gate_recall") -> str:
  """The log key early stopping watches: validation recall at the gate K,
  or the mean recall over eval.ks (`trainer.selection_metric`)."""
  if selection_metric == "mean_recall":
    return f"val_{MEAN_RECALL}"
  return f"val_recall@{eval_config.gate_k}"


def popular_metric(eval_config: config_lib.EvalConfig) -> str:
  """The log key of the validation popular share at the smallest k."""
  return f"val_popular_share@{min(eval_config.ks)}"


def topic_metric(eval_config: config_lib.EvalConfig) -> str:
  """The log key of the validation topic match at the smallest k."""
  return f"val_topic_match@{min(eval_config.ks)}"


# trainer.selection_tie_break (one of config.TIE_BREAKS) -> (the log key
# for an EvalConfig, whether the highest value is kept).
TIE_BREAK_METRICS = {"topic": (topic_metric, True),
                     "popular": (popular_metric, False)}


class EpochSelection(tf.keras.callbacks.Callback):
  """Early stopping that keeps, among the epochs tied on the validation
  score, the best on a second metric (the most on-topic, or the least
  popularity-biased).

  Training stops after `patience` epochs without a better score (Keras's
  EarlyStopping rule). An epoch is tied with the best when its score is
  within `tie_se` standard errors of the best's: differences that small
  are noise of the window's size. With `pair_scores` (paired test) the
  standard error is that of the mean difference between the two epochs'
  per-pair values over the same n pairs, sd(x_best - x_e) / sqrt(n); most
  pairs are hit or missed by both epochs, so it is far narrower than the
  marginal one, sqrt(r (1 - r) / n) at the best score r (without
  `pair_scores`). Of the tied epochs, the one with the highest
  (`tie_highest`) or lowest value of `tie_key` is kept (the earliest on
  equal values), and its weights are restored when training ends. tie_se
  0 keeps the best score's first epoch, as Keras's EarlyStopping does.

  Args:
    recall_key, tie_key: the log keys (`ValidationMetrics` writes them).
    patience: epochs without a better score before stopping.
    tie_se: the tie tolerance in standard errors.
    num_pairs: n, the distinct validation pairs the score is over.
    tie_highest: keep the tied epoch with the highest `tie_key` (a topic
      match) rather than the lowest (a popular share).
    pair_scores: None (marginal test), or a callable returning the
      epoch's [n] per-pair values whose mean is the score (called after
      `ValidationMetrics`, e.g. its `pair_scores`).

  After training: `kept_epoch` (0-based), `records`, per epoch (score,
  the tie_key value), and `tolerances`, per epoch the tie band it was
  judged by.
  """

  def __init__(self, recall_key: str, tie_key: str, patience: int,
               tie_se: float, num_pairs: int, tie_highest: bool = False,
               pair_scores: Optional[Callable[[], np.ndarray]] = None):
    super().__init__()
    self.recall_key, self.tie_key = recall_key, tie_key
    self.tie_highest = tie_highest
    self.patience, self.tie_se = patience, tie_se
    self.num_pairs = max(num_pairs, 1)
    self.pair_scores = pair_scores
    self.records: List[Tuple[float, float]] = []
    self.tolerances: List[float] = []
    self.kept_epoch: Optional[int] = None
    self._weights: List[Any] = []
    self._values: List[Optional[np.ndarray]] = []
    self._best, self._wait = -np.inf, 0

  def on_train_begin(self, logs=None) -> None:
    self.records, self._weights, self._values = [], [], []
    self.tolerances, self.kept_epoch = [], None
    self._best, self._wait = -np.inf, 0

  def on_epoch_end(self, epoch: int, logs: Dict[str, float] = None) -> None:
    logs = logs or {}
    recall = float(logs[self.recall_key])
    self.records.append((recall, float(logs[self.tie_key])))
    self._weights.append(self.model.get_weights())
    self._values.append(None if self.pair_scores is None
                        else np.asarray(self.pair_scores(), np.float32))
    if recall > self._best:
      self._best, self._wait = recall, 0
    else:
      self._wait += 1
      if self._wait >= self.patience:
        self.model.stop_training = True
    # An epoch below every tie band a better score could give is never
    # kept, so its weights need not be held. Paired: per-pair values lie
    # in [0, 1], so sd(x_best - x_e) <= 1. Marginal: the band's lower
    # edge, b - tie_se * sqrt(b (1 - b) / n), can fall as b rises while
    # b < 0.5, so the bound takes the widest band, sqrt(0.25 / n), up to
    # there.
    if self.pair_scores is not None:
      floor = self._best - self.tie_se / np.sqrt(self.num_pairs)
    else:
      floor = self._best - self._half_width(
          max(self._best * (1 - self._best), 0.25 if self._best <= 0.5
              else 0.0))
    for e, (r, _) in enumerate(self.records):
      if r < floor:
        self._weights[e] = self._values[e] = None

  def _half_width(self, spread: float) -> float:
    """tie_se standard errors of a recall whose r (1 - r) is `spread`."""
    return self.tie_se * float(np.sqrt(spread / self.num_pairs))

  def tolerance(self) -> float:
    """tie_se marginal standard errors of the best score so far."""
    return self._half_width(self._best * (1 - self._best))

  def _paired_tolerance(self, best: int, epoch: int) -> float:
    """tie_se standard errors of the mean per-pair difference between the
    epochs `best` and `epoch` (0 for the best itself)."""
    if epoch == best:
      return 0.0
    difference = self._values[best] - self._values[epoch]
    if len(difference) < 2:
      return 0.0
    return self.tie_se * float(np.std(difference, ddof=1) /
                               np.sqrt(len(difference)))

  def on_train_end(self, logs=None) -> None:
    if not self.records:
      return
    best_epoch = max(range(len(self.records)),
                     key=lambda e: (self.records[e][0], -e))
    if self.pair_scores is not None:
      self.tolerances = [
          self._paired_tolerance(best_epoch, e)
          if self._values[e] is not None else 0.0
          for e in range(len(self.records))]
    else:
      self.tolerances = [self.tolerance()] * len(self.records)
    tied = [e for e, (r, _) in enumerate(self.records)
            if self._weights[e] is not None
            and r >= self._best - self.tolerances[e]]
    sign = -1.0 if self.tie_highest else 1.0
    if self.tie_se > 0:
      self.kept_epoch = min(tied, key=lambda e: (sign * self.records[e][1],
                                                 e))
    else:
      self.kept_epoch = tied[0]
    self.model.set_weights(self._weights[self.kept_epoch])
    self._weights, self._values = [], []
    recall, value = self.records[self.kept_epoch]
    logging.info("kept epoch %d: validation %s %.4f, %s %.4f (epochs tied "
                 "with the best %s %.4f, %s test: %s)",
                 self.kept_epoch + 1, self.recall_key, recall,
                 self.tie_key, value, self.recall_key, self._best,
                 "marginal" if self.pair_scores is None else "paired",
                 ", ".join(f"{e + 1} (within {self.tolerances[e]:.4f})"
                           for e in tied))


def epoch_selection(config: config_lib.TrainerConfig,
                    eval_config: config_lib.EvalConfig,
                    validation_pairs: artifacts.Pairs,
                    metrics: Optional[ValidationMetrics] = None
                    ) -> EpochSelection:
  """The training-length selection for `config` on `validation_pairs`,
  paired (`selection_tie_test`) on the per-pair values of `metrics`, the
  ValidationMetrics callback that scores those pairs."""
  num_pairs = len(evaluator.distinct_pairs(validation_pairs.trigger,
                                           validation_pairs.candidate)[0])
  tie_metric, highest = TIE_BREAK_METRICS[config.selection_tie_break]
  monitored = monitored_metric(eval_config, config.selection_metric)
  logging.info("early stopping on %s (patience %d, at most %d epochs; ties "
               "within %g %s standard errors kept by the %s %s)",
               monitored, config.early_stopping_patience,
               config.epochs, config.selection_tie_se,
               config.selection_tie_test,
               "highest" if highest else "lowest", tie_metric(eval_config))
  pair_scores = None
  if config.selection_tie_test == "paired" and metrics is not None:
    pair_scores = functools.partial(metrics.pair_scores,
                                    config.selection_metric,
                                    eval_config.gate_k)
  return EpochSelection(monitored, tie_metric(eval_config),
                        config.early_stopping_patience,
                        config.selection_tie_se, num_pairs,
                        tie_highest=highest, pair_scores=pair_scores)
