# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The evaluator's library: the paper's metrics on the time-split eval
pairs, and the gates that decide whether the Pusher may push (floors, and
change thresholds against the serving version). The component,
RelatedVideoEvaluator, is in trainer/evaluation.py: it re-indexes the
serving version with that version's towers.

Metrics at each K (from the exported model's top-K lists per eval trigger):
  recall@K        share of distinct eval pairs (trigger, candidate) whose
                  candidate is in the trigger's top K (engagement).
  topic_match@K   mean over triggers of the share of their top K that share a
                  topic with the trigger (semantic relevance).
  popular_share@K mean over triggers of the share of their top K among the
                  most engaged `popular_fraction` of the catalog.
  coverage@K      distinct items in any top-K list / catalog size.
The same are reported for three slices:
  tail_triggers     triggers among the `tail_fraction` of the catalog with
                    the fewest train-period engagements;
  cold_triggers     triggers with no train-period engagement at all;
  cold_candidates   the eval pairs whose candidate had no train-period
                    engagement (recall: is a new item ever retrieved where
                    it was engaged with), with the other metrics over
                    those pairs' triggers.
Each slice also reports cold_share@K: the share of its top K that are cold
items (how often new items are shown at all). On request
(`engagement_groups`), the same again per group of eval triggers ordered by
their train-period engagements (equal numbers of triggers per group,
rarest first): where in the engagement range a popular share or a recall
comes from. popular_share and topic_match weigh every trigger alike, recall
every eval pair, so a group of rare triggers weighs more in the first two.
"""
import math
import os
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf

from components import artifacts
from components import example_io
from relvid import config as config_lib
from relvid import contract

METRICS_FILE = contract.METRICS_FILE


def popularity_sets(train_engagements: np.ndarray, popular_fraction: float,
                    tail_fraction: float) -> Tuple[np.ndarray, np.ndarray]:
  """Boolean masks over the catalog: the most engaged `popular_fraction` and
  the least engaged `tail_fraction` (ties broken by catalog order)."""
  n = len(train_engagements)
  order = np.argsort(-train_engagements, kind="stable")
  popular = np.zeros(n, bool)
  popular[order[:math.ceil(n * popular_fraction)]] = True
  tail = np.zeros(n, bool)
  tail[np.argsort(train_engagements, kind="stable")[
      :math.ceil(n * tail_fraction)]] = True
  return popular, tail


def pair_hits(triggers: np.ndarray, top: np.ndarray,
              pair_trigger: np.ndarray, pair_candidate: np.ndarray,
              k: int) -> np.ndarray:
  """[P] bools: whether each pair's candidate is in its trigger's top k
  (`top`'s row for the trigger; recall@k is their mean)."""
  row_of = {t: r for r, t in enumerate(triggers)}
  top_k = top[:, :k]
  return np.array([c in set(top_k[row_of[t]])
                   for t, c in zip(pair_trigger, pair_candidate)], bool)


def _metrics_for(triggers: np.ndarray, top: np.ndarray,
                 pair_trigger: np.ndarray, pair_candidate: np.ndarray,
                 topics: Sequence[Sequence[str]], popular: np.ndarray,
                 cold: np.ndarray, ks: Sequence[int], num_items: int
                 ) -> Dict[str, float]:
  topic_sets = [set(t) for t in topics]
  out: Dict[str, float] = {}
  for k in ks:
    top_k = top[:, :k]
    hits = pair_hits(triggers, top, pair_trigger, pair_candidate, k)
    out[f"recall@{k}"] = float(np.mean(hits)) if len(hits) else float("nan")
    match, pop, new = [], [], []
    for t, row in zip(triggers, top_k):
      row = row[row >= 0]
      if not len(row):
        continue
      pop.append(popular[row].mean())
      new.append(cold[row].mean())
      if topic_sets[t]:
        match.append(np.mean([bool(topic_sets[t] & topic_sets[c])
                              for c in row]))
    out[f"topic_match@{k}"] = float(np.mean(match)) if match else float("nan")
    out[f"popular_share@{k}"] = float(np.mean(pop)) if pop else float("nan")
    out[f"cold_share@{k}"] = float(np.mean(new)) if new else float("nan")
    retrieved = top_k[top_k >= 0]
    out[f"coverage@{k}"] = len(np.unique(retrieved)) / num_items
  return out


def retrieval_metrics(triggers: np.ndarray, top: np.ndarray,
                      pair_trigger: np.ndarray, pair_candidate: np.ndarray,
                      topics: Sequence[Sequence[str]],
                      train_engagements: np.ndarray, ks: Sequence[int],
                      popular_fraction: float = 0.1,
                      tail_fraction: float = 0.1,
                      engagement_groups: int = 0) -> Dict[str, Any]:
  """All metrics, for all triggers and for the tail and cold slices.

  Args:
    triggers: [T] catalog indices of the distinct eval triggers.
    top: [T, >=max(ks)] retrieved catalog indices per trigger, best first
      (-1 pads lists shorter than K).
    pair_trigger, pair_candidate: [P] the distinct eval pairs.
    topics: per catalog item, its topics.
    train_engagements: per catalog item, engagements before the cutoff.
    ks: cut-offs.
    popular_fraction, tail_fraction: see the module docstring.
    engagement_groups: 0, or how many groups of triggers by train-period
      engagements to report (module docstring).

  Returns:
    {"all": {...}, "tail_triggers": {...}, "cold_triggers": {...},
     "cold_candidates": {...}, "num_eval_pairs": P, "num_cold_items": C,
     ...}; a slice with no eval pair has NaN metrics. With
    engagement_groups, also "by_trigger_engagement": one dict per group,
    rarest first, with its metrics and "triggers", "eval_pairs",
    "min_train_engagements" and "max_train_engagements".
  """
  popular, tail = popularity_sets(train_engagements, popular_fraction,
                                  tail_fraction)
  cold = np.asarray(train_engagements) == 0
  num_items = len(train_engagements)

  def metrics(rows: np.ndarray, pairs: np.ndarray) -> Dict[str, float]:
    return _metrics_for(triggers[rows], top[rows], pair_trigger[pairs],
                        pair_candidate[pairs], topics, popular, cold, ks,
                        num_items)

  every_row = np.ones(len(triggers), bool)
  every_pair = np.ones(len(pair_trigger), bool)
  tail_rows, tail_pairs = tail[triggers], tail[pair_trigger]
  cold_rows, cold_pairs = cold[triggers], cold[pair_trigger]
  new_candidate_pairs = cold[pair_candidate]
  new_candidate_rows = np.isin(triggers, pair_trigger[new_candidate_pairs])
  out = {
      "num_eval_pairs": int(len(pair_trigger)),
      "num_eval_triggers": int(len(triggers)),
      "num_cold_items": int(cold.sum()),
      "num_tail_triggers": int(tail_rows.sum()),
      "num_cold_triggers": int(cold_rows.sum()),
      "num_cold_candidate_pairs": int(new_candidate_pairs.sum()),
      "all": metrics(every_row, every_pair),
      "tail_triggers": metrics(tail_rows, tail_pairs),
      "cold_triggers": metrics(cold_rows, cold_pairs),
      "cold_candidates": metrics(new_candidate_rows, new_candidate_pairs),
  }
  if engagement_groups > 0 and len(triggers):
    engagements = np.asarray(train_engagements)[triggers]
    order = np.argsort(engagements, kind="stable")
    groups = []
    for rows in np.array_split(order, min(engagement_groups, len(order))):
      pairs = np.isin(pair_trigger, triggers[rows])
      groups.append({
          "triggers": int(len(rows)), "eval_pairs": int(pairs.sum()),
          "min_train_engagements": int(engagements[rows].min()),
          "max_train_engagements": int(engagements[rows].max()),
          **metrics(rows, pairs)})
    out["by_trigger_engagement"] = groups
  return out


def bless(metrics: Dict[str, Any], gate_k: int, recall_floor: float,
          topic_match_floor: float, cold_candidate_recall_floor: float = 0.0,
          cold_trigger_topic_match_floor: float = 0.0
          ) -> Tuple[bool, List[str]]:
  """The gate: (blessed, reasons it is not). The cold-slice floors apply
  only when set above 0, and only to slices the eval pairs have."""
  floors = [("all", f"recall@{gate_k}", recall_floor),
            ("all", f"topic_match@{gate_k}", topic_match_floor)]
  if cold_candidate_recall_floor > 0 and metrics.get(
      "num_cold_candidate_pairs"):
    floors.append(("cold_candidates", f"recall@{gate_k}",
                   cold_candidate_recall_floor))
  if cold_trigger_topic_match_floor > 0 and metrics.get("num_cold_triggers"):
    floors.append(("cold_triggers", f"topic_match@{gate_k}",
                   cold_trigger_topic_match_floor))
  reasons = []
  for section, name, floor in floors:
    value = metrics[section].get(name, float("nan"))
    if not value >= floor:  # NaN fails too
      where = "" if section == "all" else f" ({section})"
      reasons.append(f"{name}{where}={value:.4f} < floor {floor}")
  return not reasons, reasons


def change_checks(candidate: Dict[str, Any], baseline: Dict[str, Any],
                  bounds: Dict[str, Tuple[float, float]]
                  ) -> Tuple[List[Dict[str, Any]], List[str]]:
  """The candidate against a baseline model on the gated metrics of all
  triggers (`bounds`: metric -> (absolute, relative), e.g.
  `EvalConfig.change_bounds()`), by TFMA's change thresholds with
  HIGHER_IS_BETTER: change = candidate - baseline must be >= absolute and
  change / baseline >= relative. A baseline of 0 has no ratio: there the
  absolute bound alone decides (TFMA fails the check, so a serving model
  at 0 could never be replaced).

  Returns:
    (one record per metric: candidate, baseline, change, relative_change,
    passed; the reasons of the failed ones).
  """
  checks, reasons = [], []
  for name, (absolute, relative) in bounds.items():
    value = candidate["all"].get(name, float("nan"))
    base = baseline["all"].get(name, float("nan"))
    change = value - base
    ratio = float("nan") if math.isclose(base, 0.0) else change / base
    passed = bool(change >= absolute and (math.isnan(ratio)
                                          or ratio >= relative))
    checks.append({"metric": name, "candidate": value, "baseline": base,
                   "change": change,
                   "relative_change": None if math.isnan(ratio) else ratio,
                   "passed": passed})
    if not passed:
      reasons.append(
          f"{name}={value:.4f} vs serving {base:.4f}: change {change:+.4f} "
          f"(bound {absolute:+}), relative "
          f"{'undefined' if math.isnan(ratio) else f'{ratio:+.2%}'} "
          f"(bound {relative:+.0%})")
  return checks, reasons


def distinct_pairs(trigger: np.ndarray, candidate: np.ndarray):
  pairs = np.unique(np.stack([trigger, candidate], axis=1), axis=0)
  return pairs[:, 0], pairs[:, 1]


def evaluate_exported_model(model_dir: str, examples_uri: str,
                            eval_config: config_lib.EvalConfig,
                            batch_size: int = 256) -> Dict[str, Any]:
  """Queries the exported serving signature for every eval trigger and
  computes the metrics."""
  # Registers the ScaNN ops the exported index needs.
  from scann.scann_ops.py import scann_ops  # pylint: disable=g-import-not-at-top,unused-import
  catalog = artifacts.load_catalog(examples_uri)
  pairs = artifacts.load_pairs(examples_uri, contract.EVAL, catalog)
  pair_trigger, pair_candidate = distinct_pairs(pairs.trigger,
                                                pairs.candidate)
  triggers = np.unique(pair_trigger)
  serve = tf.saved_model.load(model_dir).signatures[
      contract.SERVING_SIGNATURE]
  index = catalog.index()
  k = max(eval_config.ks)
  top = np.full((len(triggers), k), -1, np.int64)
  for start in range(0, len(triggers), batch_size):
    ids = catalog.item_ids[triggers[start:start + batch_size]]
    result = serve(**{contract.SERVING_INPUT: tf.constant(list(ids))})
    for r, row in enumerate(
        result[contract.SERVING_OUTPUT_IDS].numpy()[:, :k]):
      top[start + r, :len(row)] = [index.get(c.decode(), -1) for c in row]
  metrics = retrieval_metrics(
      triggers, top, pair_trigger, pair_candidate, catalog.topics,
      catalog.train_engagements, eval_config.ks,
      eval_config.popular_fraction, eval_config.tail_fraction)
  return metrics


def write_outcome(evaluation_uri: str, blessing_uri: str,
                  metrics: Dict[str, Any], blessed: bool) -> None:
  """metrics.json into the evaluation artifact and the BLESSED/NOT_BLESSED
  marker into the blessing artifact (TFX's ModelBlessing layout)."""
  example_io.write_json(os.path.join(evaluation_uri, METRICS_FILE), metrics)
  tf.io.gfile.makedirs(blessing_uri)
  marker = contract.BLESSED_FILE if blessed else contract.NOT_BLESSED_FILE
  with tf.io.gfile.GFile(os.path.join(blessing_uri, marker), "w") as f:
    f.write("")
