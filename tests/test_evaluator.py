# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Metrics on hand-checked tiny cases, and the blessing gate."""
import numpy as np
import pytest

from components import evaluator
from relvid import config as config_lib

# Catalog of 10 items; topics and train-period engagements.
TOPICS = [["a"], ["a"], ["b"], ["b"], ["a", "b"], ["c"], ["c"], [], ["a"],
          ["b"]]
ENGAGEMENTS = np.array([100, 90, 80, 5, 4, 3, 2, 1, 0, 50])


def test_popularity_sets():
  popular, tail = evaluator.popularity_sets(ENGAGEMENTS, 0.1, 0.2)
  assert np.flatnonzero(popular).tolist() == [0]
  assert sorted(np.flatnonzero(tail).tolist()) == [7, 8]


def test_metrics_by_hand():
  triggers = np.array([0, 8])
  top = np.array([[1, 2, 0 + 5, -1],    # for item 0
                  [0, 4, 9, 1]])        # for item 8
  pair_trigger = np.array([0, 0, 8])
  pair_candidate = np.array([2, 6, 9])
  m = evaluator.retrieval_metrics(triggers, top, pair_trigger, pair_candidate,
                                  TOPICS, ENGAGEMENTS, ks=[2, 4],
                                  popular_fraction=0.1, tail_fraction=0.2)
  a = m["all"]
  # @2: pairs (0,2) hit, (0,6) miss, (8,9) miss -> 1/3.
  assert a["recall@2"] == pytest.approx(1 / 3)
  # @4: (0,2) hit, (0,6) miss, (8,9) hit -> 2/3.
  assert a["recall@4"] == pytest.approx(2 / 3)
  # topic match @2: trigger 0 {a}: [1 a, 2 b] -> 1/2; trigger 8 {a}:
  # [0 a, 4 ab] -> 2/2; mean 0.75.
  assert a["topic_match@2"] == pytest.approx(0.75)
  # @4: trigger 0: [1, 2, 5] (the -1 pad is not a result) -> 1/3;
  # trigger 8: [0 a, 4 ab, 9 b, 1 a] -> 3/4.
  assert a["topic_match@4"] == pytest.approx((1 / 3 + 3 / 4) / 2)
  # popular = {0}: @2 trigger 0 -> 0/2, trigger 8 -> 1/2.
  assert a["popular_share@2"] == pytest.approx(0.25)
  # coverage @4: {1, 2, 5, 0, 4, 9} of 10.
  assert a["coverage@4"] == pytest.approx(0.6)
  # Tail triggers {7, 8}: only 8 is an eval trigger; its pair (8, 9).
  assert m["num_tail_triggers"] == 1
  assert m["tail_triggers"]["recall@2"] == 0.0
  assert m["tail_triggers"]["recall@4"] == 1.0
  assert m["tail_triggers"]["topic_match@2"] == 1.0


def test_metrics_by_trigger_engagement_groups_by_hand():
  triggers = np.array([0, 3, 8, 9])  # engagements 100, 5, 0, 50
  top = np.array([[1, 2, 5, -1],     # for item 0 {a}
                  [0, 2, 9, 4],      # for item 3 {b}
                  [0, 4, 9, 1],      # for item 8 {a}
                  [3, 1, 0, 2]])     # for item 9 {b}
  pair_trigger = np.array([0, 0, 3, 8, 9])
  pair_candidate = np.array([2, 6, 9, 9, 0])
  m = evaluator.retrieval_metrics(triggers, top, pair_trigger, pair_candidate,
                                  TOPICS, ENGAGEMENTS, ks=[2, 4],
                                  popular_fraction=0.1, tail_fraction=0.2,
                                  engagement_groups=2)
  rare, frequent = m["by_trigger_engagement"]
  # Rarest first: triggers 8 (0 engagements) and 3 (5), then 9 (50), 0 (100).
  assert (rare["triggers"], rare["eval_pairs"], rare["min_train_engagements"],
          rare["max_train_engagements"]) == (2, 2, 0, 5)
  assert (frequent["triggers"], frequent["eval_pairs"],
          frequent["min_train_engagements"],
          frequent["max_train_engagements"]) == (2, 3, 50, 100)
  # Rare: (3, 9) and (8, 9) both at rank 3.
  assert (rare["recall@2"], rare["recall@4"]) == (0.0, 1.0)
  # 8 {a}: [0 a, 4 ab] -> 1; 3 {b}: [0 a, 2 b] -> 1/2.
  assert rare["topic_match@2"] == pytest.approx(0.75)
  # Popular = {0}: first in both top 2s.
  assert rare["popular_share@2"] == pytest.approx(0.5)
  # Frequent: (0, 2) at rank 2, (0, 6) never, (9, 0) at rank 3.
  assert frequent["recall@2"] == pytest.approx(1 / 3)
  assert frequent["recall@4"] == pytest.approx(2 / 3)
  # 9 {b}: [3 b, 1 a] -> 1/2; 0 {a}: [1 a, 2 b] -> 1/2.
  assert frequent["topic_match@2"] == pytest.approx(0.5)
  assert frequent["popular_share@2"] == 0.0
  # Not asked for: not computed; more groups than triggers: one each.
  assert "by_trigger_engagement" not in evaluator.retrieval_metrics(
      triggers, top, pair_trigger, pair_candidate, TOPICS, ENGAGEMENTS,
      ks=[2, 4])
  singles = evaluator.retrieval_metrics(
      triggers, top, pair_trigger, pair_candidate, TOPICS, ENGAGEMENTS,
      ks=[2, 4], engagement_groups=10)["by_trigger_engagement"]
  assert [g["min_train_engagements"] for g in singles] == [0, 5, 50, 100]


def test_cold_slices_by_hand():
  # Items 7 and 8 have no train-period engagement: they are cold.
  engagements = ENGAGEMENTS.copy()
  engagements[7] = 0
  triggers = np.array([0, 8])
  top = np.array([[7, 2, 5, 1],      # for item 0: cold item 7 first
                  [0, 4, 9, 1]])     # for item 8 (a cold trigger)
  pair_trigger = np.array([0, 0, 8])
  pair_candidate = np.array([2, 8, 9])   # (0, 8): a cold candidate
  m = evaluator.retrieval_metrics(triggers, top, pair_trigger, pair_candidate,
                                  TOPICS, engagements, ks=[2, 4],
                                  popular_fraction=0.1, tail_fraction=0.2)
  assert (m["num_cold_items"], m["num_cold_triggers"],
          m["num_cold_candidate_pairs"]) == (2, 1, 1)
  # Cold trigger 8, pair (8, 9): 9 is at rank 3.
  assert m["cold_triggers"]["recall@2"] == 0.0
  assert m["cold_triggers"]["recall@4"] == 1.0
  # Its top 2 [0 a, 4 ab] share topic a with 8 {a}.
  assert m["cold_triggers"]["topic_match@2"] == 1.0
  assert m["cold_triggers"]["cold_share@4"] == 0.0
  # Cold candidate pair (0, 8): item 8 is never retrieved for item 0.
  assert m["cold_candidates"]["recall@4"] == 0.0
  # ... over that pair's trigger 0 only: top 2 [7 -, 2 b] vs {a} -> 0.
  assert m["cold_candidates"]["topic_match@2"] == 0.0
  # Cold share: trigger 0 shows cold 7 in its top 2 (1/2), trigger 8 none.
  assert m["all"]["cold_share@2"] == pytest.approx(0.25)
  assert m["cold_candidates"]["cold_share@2"] == pytest.approx(0.5)


def test_cold_slices_without_cold_items_are_nan():
  m = evaluator.retrieval_metrics(
      np.array([0]), np.array([[1, 2]]), np.array([0]), np.array([1]),
      TOPICS, ENGAGEMENTS + 1, ks=[2])
  assert m["num_cold_items"] == m["num_cold_candidate_pairs"] == 0
  assert np.isnan(m["cold_triggers"]["recall@2"])
  assert np.isnan(m["cold_candidates"]["recall@2"])
  assert m["all"]["recall@2"] == 1.0


def test_gate():
  metrics = {"all": {"recall@10": 0.2, "topic_match@10": 0.5}}
  assert evaluator.bless(metrics, 10, 0.1, 0.4) == (True, [])
  blessed, reasons = evaluator.bless(metrics, 10, 0.3, 0.4)
  assert not blessed and reasons == ["recall@10=0.2000 < floor 0.3"]
  blessed, reasons = evaluator.bless(
      {"all": {"recall@10": float("nan"), "topic_match@10": 0.1}}, 10, 0.0,
      0.4)
  assert not blessed and len(reasons) == 2


def test_gate_on_cold_slices_only_when_configured_and_present():
  metrics = {"all": {"recall@10": 0.2, "topic_match@10": 0.5},
             "num_cold_candidate_pairs": 3, "num_cold_triggers": 2,
             "cold_candidates": {"recall@10": 0.0},
             "cold_triggers": {"topic_match@10": 0.25}}
  assert evaluator.bless(metrics, 10, 0.1, 0.4) == (True, [])
  blessed, reasons = evaluator.bless(metrics, 10, 0.1, 0.4, 0.01, 0.3)
  assert not blessed and reasons == [
      "recall@10 (cold_candidates)=0.0000 < floor 0.01",
      "topic_match@10 (cold_triggers)=0.2500 < floor 0.3"]
  # No cold slice in the eval pairs: nothing to gate on.
  metrics.update(num_cold_candidate_pairs=0, num_cold_triggers=0)
  assert evaluator.bless(metrics, 10, 0.1, 0.4, 0.01, 0.3) == (True, [])


def test_run_summary_shows_every_slice():
  from pipeline import results  # pylint: disable=g-import-not-at-top
  engagements = ENGAGEMENTS.copy()
  engagements[7] = 0
  m = evaluator.retrieval_metrics(
      np.array([0, 8]), np.array([[7, 2], [0, 4]]), np.array([0, 8]),
      np.array([8, 0]), TOPICS, engagements, ks=[2], tail_fraction=0.2)
  m.update(blessed=True, not_blessed_because=[])
  lines = results.format_metrics(m).splitlines()
  assert lines[0].split() == ["metric", "all", "triggers", "tail", "triggers",
                              "cold", "triggers", "cold", "candidates"]
  recall = lines[1].split()
  # all: (8, 0) hit, (0, 8) miss; cold trigger 8: hit; cold candidate: miss.
  assert recall == ["recall@2", "0.5000", "1.0000", "1.0000", "0.0000"]
  assert lines[-1] == ("  eval pairs 2, triggers 2 (1 tail), 2 cold items: "
                       "1 cold triggers, 1 pairs with a cold candidate; "
                       "blessed (pushed)")


def bounds(absolute, relative, topic=None):
  """The same bounds on both metrics @10, or others on topic match."""
  return {"recall@10": (absolute, relative),
          "topic_match@10": topic or (absolute, relative)}


def test_change_checks_follow_tfma_change_thresholds():
  """candidate - baseline >= absolute and that / baseline >= relative, both
  (TFMA's GenericChangeThreshold, HIGHER_IS_BETTER)."""
  baseline = {"all": {"recall@10": 0.40, "topic_match@10": 0.50}}
  # recall -0.006 (-1.5%): within -0.01 and -2%; topic +0.05: better.
  ok = {"all": {"recall@10": 0.394, "topic_match@10": 0.55}}
  checks, reasons = evaluator.change_checks(ok, baseline,
                                            bounds(-0.01, -0.02))
  assert reasons == [] and [c["passed"] for c in checks] == [True, True]
  assert checks[0]["change"] == pytest.approx(-0.006)
  assert checks[0]["relative_change"] == pytest.approx(-0.015)
  # recall -0.009 is within the absolute bound but -2.25% is not.
  worse = {"all": {"recall@10": 0.391, "topic_match@10": 0.50}}
  checks, reasons = evaluator.change_checks(worse, baseline,
                                            bounds(-0.01, -0.02))
  assert [c["passed"] for c in checks] == [False, True]
  assert reasons == ["recall@10=0.3910 vs serving 0.4000: change -0.0090 "
                     "(bound -0.01), relative -2.25% (bound -2%)"]
  # A baseline of 0 gives no ratio: the absolute bound alone decides (TFMA
  # would fail it, and a serving model at 0 could never be replaced).
  zero = {"all": {"recall@10": 0.0, "topic_match@10": 0.5}}
  checks, reasons = evaluator.change_checks(ok, zero, bounds(-0.01, -0.02))
  assert checks[0]["passed"] and checks[0]["relative_change"] is None
  assert reasons == []
  checks, reasons = evaluator.change_checks(ok, zero, bounds(0.5, -0.02))
  assert not checks[0]["passed"]
  assert "relative undefined" in reasons[0]
  # Requiring an improvement (positive bounds) holds a model that is level.
  checks, _ = evaluator.change_checks(baseline, baseline, bounds(0.001, 0.0))
  assert [c["passed"] for c in checks] == [False, False]
  # Bounds per metric: topic -0.015 (-3%) passes -0.02 / -5%, not -0.01.
  lower_topic = {"all": {"recall@10": 0.40, "topic_match@10": 0.485}}
  checks, _ = evaluator.change_checks(lower_topic, baseline, bounds(
      -0.01, -0.02, topic=(-0.02, -0.05)))
  assert [c["passed"] for c in checks] == [True, True]
  checks, _ = evaluator.change_checks(lower_topic, baseline,
                                      bounds(-0.01, -0.02))
  assert [c["passed"] for c in checks] == [True, False]
  assert config_lib.EvalConfig(gate_k=10).change_bounds() == bounds(
      -0.01, -0.02, topic=(-0.02, -0.05))
