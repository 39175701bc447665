# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The drift gate: figures of two spans by hand, and the faults it holds
(a tenth of the volume, one item taking half the interactions)."""
import json
import math
import os

import apache_beam as beam
import pytest

from components import drift
from components import ingestion
from components import span_window
from relvid.config import DriftConfig
from tests.test_pair_generation import events
from tests.test_pair_generation import write_examples

HOUR = 3600


def test_js_divergence_by_hand():
  assert drift.js_divergence({"a": 2, "b": 2}, {"a": 5, "b": 5}) == 0.0
  assert drift.js_divergence({"a": 1}, {"b": 7}) == pytest.approx(1.0)
  # p = (3/4, 1/4), q = (1/4, 3/4), m = (1/2, 1/2):
  # JS = 1/2 KL(p||m) + 1/2 KL(q||m) = 3/4 log2(3/2) + 1/4 log2(1/2).
  expected = 0.75 * math.log2(1.5) - 0.25
  assert drift.js_divergence({"a": 3, "b": 1}, {"a": 1, "b": 3}) == (
      pytest.approx(expected))


def figures(tmp_path, current, previous):
  p = beam.Pipeline()
  path = str(tmp_path / "figures.json")
  drift.build_drift(p, write_examples(str(tmp_path / "cur"), current),
                    write_examples(str(tmp_path / "prev"), previous), path)
  p.run().wait_until_finish()
  with open(path) as f:
    return json.load(f)


def test_figures_of_two_spans_by_hand(tmp_path):
  # Previous: u1 a, b at hour 0; u2 a at hour 1. Current: u1 a at hour 0,
  # u3 b, c, d at hour 1.
  previous = events("u1", ("a", 0), ("b", 10)) + events("u2", ("a", HOUR))
  current = events("u1", ("a", 0)) + events(
      "u3", ("b", HOUR), ("c", HOUR + 1), ("d", HOUR + 2))
  got = figures(tmp_path, current, previous)
  assert got["current_interactions"] == 4
  assert got["previous_interactions"] == 3
  assert got["volume_ratio"] == pytest.approx(4 / 3)
  # a: 2/3 -> 1/4, the largest change of a share.
  assert got["popularity_shift"] == pytest.approx(2 / 3 - 1 / 4)
  assert got["most_shifted_item"] == "a"
  # Per user, log2 buckets: previous {1: 1 (u1: 2), 0: 1 (u2: 1)}; current
  # {0: 1 (u1: 1), 1: 1 (u3: 3 -> bucket 1)}: the same histogram.
  assert got["user_activity_divergence"] == pytest.approx(0.0)
  # Hours: previous {0: 2, 1: 1}, current {0: 1, 1: 3}.
  assert got["hour_of_day_divergence"] == pytest.approx(
      drift.js_divergence({0: 2, 1: 1}, {0: 1, 1: 3}))


def test_faults_are_breaches(tmp_path):
  usual = [row for u in range(20) for row in events(
      f"u{u}", (f"i{u % 10}", u * 60), (f"i{(u + 1) % 10}", u * 60 + 5))]
  config = DriftConfig()
  same = figures(tmp_path / "same", usual, usual)
  assert drift.breaches(same, config, 9) == []
  # A tenth of the usual volume.
  tenth = figures(tmp_path / "tenth", usual[:4], usual)
  assert tenth["volume_ratio"] == pytest.approx(0.1)
  assert drift.breaches(tenth, config, 9)[0] == (
      "interactions volume 0.10x span 9's (bounds 0.5x...2.0x)")
  # One item takes half the interactions (volume and activity unchanged).
  flooded = [dict(row, item_id="i3") if n % 2 == 0 else row
             for n, row in enumerate(usual)]
  shift = figures(tmp_path / "flood", flooded, usual)
  found = drift.breaches(shift, config, 9)
  assert found == [f"item popularity shift (L-inf) "
                   f"{shift['popularity_shift']:.3f} > 0.1 against span 9, "
                   "item i3"]
  # Each item had 4 of 40; i3 now has the 20 flooded rows and 2 of its
  # own: 0.55 - 0.1.
  assert shift["popularity_shift"] == pytest.approx(0.45)


def test_baseline_is_the_last_span_that_passed_within_the_window(tmp_path):
  """Span 11 breached: span 12 is compared with span 10, the last that
  passed, while it lies in the window; past it (a lasting change), with
  the previous span, 11; with no earlier span, nothing."""
  registry = str(tmp_path / "registry")
  uris = {}
  for span in (10, 11):
    uris[span] = str(tmp_path / f"examples-{span}")
    os.makedirs(uris[span])
    span_window.record_span(registry, ingestion.INTERACTIONS, uris[span],
                            span)
  span_window.record_span(registry, drift.PASSED_TABLE, uris[10], 10)
  assert drift.baseline_span(registry, 12, window_days=3) == (10, uris[10])
  assert drift.baseline_span(registry, 12, window_days=2) == (11, uris[11])
  assert drift.baseline_span(registry, 10, window_days=3) is None
