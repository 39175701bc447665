# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Metrics on hand-checked tiny cases, and the blessing gate."""
import numpy as np
import pytest

from components import evaluator

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


def test_gate():
  metrics = {"all": {"recall@10": 0.2, "topic_match@10": 0.5}}
  assert evaluator.bless(metrics, 10, 0.1, 0.4) == (True, [])
  blessed, reasons = evaluator.bless(metrics, 10, 0.3, 0.4)
  assert not blessed and reasons == ["recall@10=0.2000 < floor 0.3"]
  blessed, reasons = evaluator.bless(
      {"all": {"recall@10": float("nan"), "topic_match@10": 0.1}}, 10, 0.0,
      0.4)
  assert not blessed and len(reasons) == 2
