# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The training window of a per-span job: earlier spans' artifacts found in
the span registry (a missing day counted and skipped), read together with
this run's span, whose pairs are the eval pairs."""
import os
import shutil

import apache_beam as beam

from components import example_io
from components import pair_generation as pg
from components import span_window
from tests.test_pair_generation import events
from tests.test_pair_generation import read_examples
from tests.test_pair_generation import write_examples

DAY = 86400


def span_artifact(root, span, rows):
  """An Examples artifact folder holding `rows` in its Split-all."""
  uri = os.path.join(root, f"artifact-{span}")
  write_examples(os.path.join(uri, "Split-all"), rows)
  return uri


def pair_graph(tmp_path, uris, item_ids, **options):
  """The pair graph over the window's artifacts (items `item_ids`, all
  with one topic); returns the pipeline, the output folders and the graph's
  (cutoff, validation window start)."""
  items = write_examples(str(tmp_path / "items"), [
      {"item_id": i, "topics": ["x"]} for i in item_ids])
  text = write_examples(str(tmp_path / "text"), [
      {"item_id": "a", "text_embedding": [1.0, 0.0]}])
  dirs = {s: str(tmp_path / "out" / s) for s in pg.OUTPUT_SPLITS}
  p = beam.Pipeline()
  times = pg.build_pair_generation(
      p, [os.path.join(u, "Split-all", "*.gz") for u in uris], items, text,
      dirs, max_lookahead=1, symmetric=False, dedupe=True,
      eval_fraction=0.5, eval_on_last=True, **options)
  return p, dirs, times


def test_window_reuses_registered_spans_and_skips_a_missing_day(tmp_path):
  registry = str(tmp_path / "registry")
  root = str(tmp_path)
  day = lambda span, seconds: span * DAY + seconds
  uris = {
      10: span_artifact(root, 10, events("u1", ("a", day(10, 0)),
                                         ("b", day(10, 50)))),
      12: span_artifact(root, 12, events("u2", ("b", day(12, 0)),
                                         ("c", day(12, 50)))),
      13: span_artifact(root, 13, events("u3", ("c", day(13, 500)),
                                         ("a", day(13, 550)))),
  }
  for span in (10, 12):
    span_window.record_span(registry, "interactions", uris[span], span)
  # Span 11 was never ingested; span 9 was, but its artifact is gone.
  gone = span_artifact(root, 9, events("u9", ("a", 0)))
  span_window.record_span(registry, "interactions", gone, 9)
  shutil.rmtree(gone)

  window = span_window.resolve_window(registry, "interactions", 13,
                                      uris[13], window_days=5)

  assert window == {"spans": [10, 12, 13],
                    "uris": [uris[10], uris[12], uris[13]],
                    "reused": [10, 12], "missing": [9, 11]}
  assert example_io.read_json(os.path.join(
      registry, "interactions", "00000010.json"))["uri"] == uris[10]

  p, dirs, (cutoff, _) = pair_graph(tmp_path, window["uris"], "abc",
                                    window_seconds=100)
  _ = cutoff | beam.io.WriteToText(str(tmp_path / "cutoff"),
                                   shard_name_template="")
  counts = example_io.run_and_count(p, pg.NAMESPACE)
  # The eval pairs are exactly the newest span's (eval_fraction unused);
  # the cutoff is its earliest interaction.
  assert int(open(tmp_path / "cutoff").read()) == day(13, 500)
  pairs = lambda split: sorted((r["trigger_id"], r["candidate_id"])
                               for r in read_examples(dirs[split]))
  assert pairs("train") == [("a", "b"), ("b", "c")]
  assert pairs("eval") == [("c", "a")]
  assert counts["interactions_read"] == 6


def test_validation_window_is_the_latest_share_before_the_last_span(
    tmp_path):
  """With a window, the validation window is the latest validation_fraction
  of the interactions before the newest span."""
  rows = events("u1", *[(i, t) for i, t in zip("ababababab", range(0, 1000,
                                                                   100))])
  older = span_artifact(str(tmp_path), 1, rows)
  newest = span_artifact(str(tmp_path), 2, events(
      "u2", ("a", DAY), ("b", DAY + 10)))
  p, _, (_, window_start) = pair_graph(tmp_path, (older, newest), "ab",
                                       window_seconds=150,
                                       validation_fraction=0.2)
  _ = window_start | beam.io.WriteToText(str(tmp_path / "start"),
                                         shard_name_template="")
  example_io.run_and_count(p, pg.NAMESPACE)
  # The 10 earlier times are 0..900: the latest 20% begin at 800 (the
  # quantiles of 10 values resolve it to one value either side); none of
  # the newest span's times (from DAY on) counts.
  assert 700 <= int(open(tmp_path / "start").read()) <= 800


def test_a_few_late_events_do_not_move_the_cutoff(tmp_path):
  """The newest span's files hold one event from days before: the cutoff
  stays at the span's own start (its first percentile time)."""
  older = span_artifact(str(tmp_path), 1, events(
      "u1", *[("a" if n % 2 else "b", n * 100) for n in range(20)]))
  newest_rows = [row for u in range(200) for row in events(
      f"n{u}", ("a", DAY + u), ("b", DAY + u + 1))]
  newest = span_artifact(str(tmp_path), 2, newest_rows + events(
      "late", ("a", 50), ("b", 60)))
  p, dirs, (cutoff, _) = pair_graph(tmp_path, (older, newest), "ab",
                                    window_seconds=150)
  _ = cutoff | beam.io.WriteToText(str(tmp_path / "cutoff"),
                                   shard_name_template="")
  example_io.run_and_count(p, pg.NAMESPACE)
  assert DAY <= int(open(tmp_path / "cutoff").read()) <= DAY + 10
  # The late user's pair (at 50-60 s) is a train pair, not an eval one.
  train = read_examples(dirs["train"])
  assert sum(r["pair_count"] for r in train) == 19 + 1
