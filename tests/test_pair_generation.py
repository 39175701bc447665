# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
import os

import apache_beam as beam
import pytest
import tensorflow as tf

from components import example_io
from components import pair_generation as pg


def write_examples(folder, rows):
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, "data.gz")
  with tf.io.TFRecordWriter(path, options="GZIP") as writer:
    for row in rows:
      writer.write(example_io.to_example(row).SerializeToString())
  return os.path.join(folder, "*.gz")


def read_examples(folder, list_fields=()):
  return example_io.read_example_files(os.path.join(folder, "*.gz"),
                                       list_fields)


def events(user, *item_times):
  return [{"user_id": user, "item_id": i, "timestamp": t}
          for i, t in item_times]


def test_user_pairs_window_lookahead_self_pairs():
  history = events("u", ("c", 200), ("a", 0), ("b", 100), ("c", 250),
                   ("d", 10000))
  got = list(pg.user_pairs(("u", history), window_seconds=3600,
                           max_lookahead=1, symmetric=False, cutoff=10**9))
  # c->c is a self pair; c->d is 9750 s apart (> window).
  assert got == [("train", "a", "b", False), ("train", "b", "c", False)]
  got = list(pg.user_pairs(("u", history), 3600, 2, False, cutoff=150))
  assert got == [("train", "a", "b", False), ("eval", "a", "c", False),
                 ("eval", "b", "c", False), ("eval", "b", "c", False)]
  got = list(pg.user_pairs(("u", history[:3]), 3600, 1, True, cutoff=10**9))
  assert got == [("train", "a", "b", False), ("train", "b", "a", False),
                 ("train", "b", "c", False), ("train", "c", "b", False)]
  # The validation window [150, 250): b (t=100) -> c (t=200) is recent;
  # from the cutoff on, a pair is eval, never recent.
  got = list(pg.user_pairs(("u", history), 3600, 1, False, cutoff=250,
                           window_start=150))
  assert got == [("train", "a", "b", False), ("train", "b", "c", True)]


def test_cutoff_from_quantiles():
  quantiles = list(range(0, 1001))
  assert pg.cutoff_from_quantiles(quantiles, 0.1) == 900
  assert pg.cutoff_from_quantiles([5, 7, 9], 0.5) == 7


@pytest.fixture()
def small_logs(tmp_path):
  rows = (events("u1", ("a", 0), ("b", 10), ("c", 20), ("a", 30))
          + events("u2", ("a", 5), ("b", 15), ("b", 16))
          + events("u3", ("a", 1), ("b", 2))
          + events("u4", ("c", 1000), ("a", 1010)))
  items = [{"item_id": "a", "topics": ["scifi"]},
           {"item_id": "b", "topics": ["scifi", "drama"]},
           {"item_id": "c", "topics": ["romance"]}]
  embeddings = [{"item_id": "a", "text_embedding": [0.6, 0.8]},
                {"item_id": "b", "text_embedding": [1.0, 0.0]}]
  return (write_examples(str(tmp_path / "inter"), rows),
          write_examples(str(tmp_path / "items"), items),
          write_examples(str(tmp_path / "emb"), embeddings))


@pytest.mark.parametrize("dedupe", [True, False])
def test_pairs_trigger_counts_and_time_split(tmp_path, small_logs, dedupe):
  dirs = {s: str(tmp_path / f"out_{dedupe}" / s) for s in pg.OUTPUT_SPLITS}
  p = beam.Pipeline()
  cutoff, _ = pg.build_pair_generation(
      p, *small_logs, dirs, window_seconds=100,
      max_lookahead=1, symmetric=False, dedupe=dedupe, eval_fraction=0.1)
  cutoff_path = str(tmp_path / f"cutoff_{dedupe}")
  _ = cutoff | beam.io.WriteToText(cutoff_path, shard_name_template="")
  counts = example_io.run_and_count(p, pg.NAMESPACE)
  cutoff_time = int(open(cutoff_path).read())
  # The last 10% of the 11 interaction times begins at u4's 1000.
  assert 30 < cutoff_time <= 1000
  train = read_examples(dirs["train"])
  evaluation = read_examples(dirs["eval"])
  as_set = lambda rows: sorted((r["trigger_id"], r["candidate_id"],
                                r["pair_count"], r["trigger_count"])
                               for r in rows)
  if dedupe:
    assert as_set(train) == [("a", "b", 3, 3), ("b", "c", 1, 1),
                             ("c", "a", 1, 1)]
  else:
    assert as_set(train) == [("a", "b", 1, 3)] * 3 + [
        ("b", "c", 1, 1), ("c", "a", 1, 1)]
  assert as_set(evaluation) == [("c", "a", 1, 1)]
  assert counts["self_pairs_dropped"] == 1
  assert counts["pair_occurrences_train"] == 5
  assert counts["pair_occurrences_eval"] == 1
  # a-b (x3) share scifi, b-c and c-a do not: 3 of 5 train occurrences.
  assert pg.summarize(counts)["topic_share_train"] == 0.6
  catalog = {r["item_id"]: r for r in read_examples(dirs["catalog"])}
  assert sorted(catalog) == ["a", "b", "c"]
  # Engagements before the cutoff (1000): a 4 times, b 4, c 1 (u4's c is at
  # the cutoff itself, so it belongs to the eval period).
  assert {k: r["train_engagements"] for k, r in catalog.items()} == {
      "a": 4, "b": 4, "c": 1}
  assert catalog["a"]["text_embedding"] == pytest.approx([0.6, 0.8])
  assert "text_embedding" not in catalog["c"]
  assert catalog["b"]["topics"] == ["scifi", "drama"]
  assert counts["catalog_items_without_text_embedding"] == 1
  assert "catalog_items_without_visual_embedding" not in counts


def test_catalog_carries_visual_embeddings_when_given(tmp_path, small_logs):
  visual = write_examples(str(tmp_path / "visual"), [
      {"item_id": "c", "visual_embedding": [0.0, 1.0, 0.0]}])
  dirs = {s: str(tmp_path / "out" / s) for s in pg.OUTPUT_SPLITS}
  p = beam.Pipeline()
  pg.build_pair_generation(p, *small_logs, dirs, window_seconds=100,
                           max_lookahead=1, symmetric=False, dedupe=True,
                           eval_fraction=0.1, visual_glob=visual)
  counts = example_io.run_and_count(p, pg.NAMESPACE)
  catalog = {r["item_id"]: r for r in read_examples(
      dirs["catalog"], list_fields=[pg.VISUAL_FEATURE])}
  assert catalog["c"]["visual_embedding"] == pytest.approx([0.0, 1.0, 0.0])
  assert "visual_embedding" not in catalog["a"]
  assert counts["catalog_items_without_visual_embedding"] == 2
  assert counts["catalog_items"] == 3


def test_semantic_split_when_neighbors_are_asked_for(tmp_path, small_logs):
  dirs = {s: str(tmp_path / "out" / s)
          for s in pg.OUTPUT_SPLITS + (pg.SEMANTIC,)}
  p = beam.Pipeline()
  pg.build_pair_generation(p, *small_logs, dirs, window_seconds=100,
                           max_lookahead=1, symmetric=False, dedupe=True,
                           eval_fraction=0.1, semantic_threshold=0.5,
                           semantic_neighbors=5)
  example_io.run_and_count(p, pg.NAMESPACE)
  # a = (0.6, 0.8) and b = (1, 0): cosine 0.6; c has no text vector.
  rows = read_examples(dirs[pg.SEMANTIC])
  assert sorted((r["trigger_id"], r["candidate_id"]) for r in rows) == [
      ("a", "b"), ("b", "a")]
  assert rows[0]["cosine"] == pytest.approx(0.6)


def test_interactions_with_an_unknown_item_are_rejected_before_pairing(
    tmp_path):
  """The tables are ingested separately: an engagement of an item that is
  not in the item table is counted, written as rejected, and leaves no
  pair (u1's a -> zz -> b pairs as a -> b)."""
  import json
  rows = (events("u1", ("a", 0), ("zz", 5), ("b", 10))
          + events("u2", ("b", 0), ("a", 20), ("zz", 30), ("yy", 2000)))
  inputs = (write_examples(str(tmp_path / "inter"), rows),
            write_examples(str(tmp_path / "items"),
                           [{"item_id": "a", "topics": ["x"]},
                            {"item_id": "b", "topics": ["x"]}]),
            write_examples(str(tmp_path / "emb"),
                           [{"item_id": "a", "text_embedding": [1.0, 0.0]}]))
  dirs = {s: str(tmp_path / "out" / s) for s in pg.OUTPUT_SPLITS}
  p = beam.Pipeline()
  pg.build_pair_generation(p, *inputs, dirs, window_seconds=100,
                           max_lookahead=1, symmetric=False, dedupe=True,
                           eval_fraction=0.1,
                           rejected_prefix=str(tmp_path / "rejected"))
  counts = example_io.run_and_count(p, pg.NAMESPACE)
  assert counts["interactions_read"] == 7
  assert counts["interaction_unknown_item"] == 3
  pairs = read_examples(dirs["train"]) + read_examples(dirs["eval"])
  assert sorted((r["trigger_id"], r["candidate_id"]) for r in pairs) == [
      ("a", "b"), ("b", "a")]
  rejected = [json.loads(line)
              for path in tf.io.gfile.glob(str(tmp_path / "rejected*"))
              for line in open(path)]
  assert sorted((r["reason"], r["row"]["item_id"]) for r in rejected) == [
      ("interaction_unknown_item", "yy"), ("interaction_unknown_item", "zz"),
      ("interaction_unknown_item", "zz")]
  catalog = read_examples(dirs["catalog"])
  assert sorted(r["item_id"] for r in catalog) == ["a", "b"]


@pytest.mark.parametrize("dedupe", [True, False])
def test_train_rows_count_their_occurrences_in_the_validation_window(
    tmp_path, dedupe):
  """The window is the timeline's newest part before the cutoff: with
  eval_fraction 0.1 and validation_fraction 0.4 it starts at the 0.5
  quantile of the interaction times."""
  rows = (events("u1", ("a", 0), ("b", 10), ("a", 20), ("b", 30),
                 ("a", 40), ("b", 50))
          + events("u2", ("c", 60), ("a", 70), ("c", 80), ("b", 1000)))
  inputs = (write_examples(str(tmp_path / "inter"), rows),
            write_examples(str(tmp_path / "items"),
                           [{"item_id": i, "topics": ["x"]} for i in "abc"]),
            write_examples(str(tmp_path / "emb"),
                           [{"item_id": "a", "text_embedding": [1.0, 0.0]}]))
  dirs = {s: str(tmp_path / f"out{dedupe}" / s) for s in pg.OUTPUT_SPLITS}
  p = beam.Pipeline()
  cutoff, start = pg.build_pair_generation(
      p, *inputs, dirs, window_seconds=100, max_lookahead=1, symmetric=False,
      dedupe=dedupe, eval_fraction=0.1, validation_fraction=0.4)
  times = {}
  for name, value in (("cutoff", cutoff), ("start", start)):
    _ = value | f"Write{name}" >> beam.io.WriteToText(
        str(tmp_path / f"{name}{dedupe}"), shard_name_template="")
  counts = example_io.run_and_count(p, pg.NAMESPACE)
  for name in times or ("cutoff", "start"):
    times[name] = int(open(tmp_path / f"{name}{dedupe}").read())
  # 10 times 0..80 and 1000: the 0.9 quantile is 80 (of 11 values, index
  # 9 of 0..10), the 0.5 quantile 40.
  assert (times["start"], times["cutoff"]) == (40, 80)
  train = read_examples(dirs["train"])
  got = sorted((r["trigger_id"], r["candidate_id"], r["pair_count"],
                r["recent_count"]) for r in train)
  # a->b at 10, 30, 50 (50 recent); b->a at 20, 40 (40 recent); c->a at 70
  # (recent); a->c at 80 is eval; c->b is past the 100 s window.
  if dedupe:
    assert got == [("a", "b", 3, 1), ("b", "a", 2, 1), ("c", "a", 1, 1)]
  else:
    assert got == [("a", "b", 1, 0), ("a", "b", 1, 0), ("a", "b", 1, 1),
                   ("b", "a", 1, 0), ("b", "a", 1, 1), ("c", "a", 1, 1)]
  assert all("recent_count" not in r for r in read_examples(dirs["eval"]))
  assert counts["pair_occurrences_validation_window"] == 3
  assert counts["pairs_in_validation_window"] == 3


def _mixed_train_order(folder):
  """20 triggers x 50 candidates, in trigger order as the grouping emits
  them, through MixedOrder into a split folder; the rows as written."""
  rows = [{"trigger_id": f"t{t:02d}", "candidate_id": f"c{c:02d}",
           "pair_count": 1, "trigger_count": 50}
          for t in range(20) for c in range(50)]
  p = beam.Pipeline()
  _ = (p | beam.Create(rows) | pg.MixedOrder(buckets=8)
       | example_io.WriteExamples(folder))
  p.run().wait_until_finish()
  return rows, read_examples(folder)


def test_train_rows_are_written_in_no_trigger_order(tmp_path):
  """The streaming input shuffles with a bounded buffer, so the train file
  itself must not keep one trigger's rows together."""
  rows, written = _mixed_train_order(str(tmp_path / "a"))
  key = lambda r: (r["trigger_id"], r["candidate_id"])
  assert sorted(map(key, written)) == sorted(map(key, rows))
  triggers = [r["trigger_id"] for r in written]
  # In trigger order 980 of 999 neighbours share a trigger; in a random
  # order about 1 in 20 do.
  same = sum(a == b for a, b in zip(triggers, triggers[1:]))
  assert same < 150
  # Every stretch of 100 rows holds most of the 20 triggers.
  assert min(len(set(triggers[i:i + 100]))
             for i in range(0, 1000, 100)) >= 15
  # The same rows are written in the same order on every run.
  _, again = _mixed_train_order(str(tmp_path / "b"))
  assert list(map(key, again)) == list(map(key, written))
