# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The streaming training input (trainer/streaming.py) on tiny pair files:
the scan's counts against the in-memory split, every fit row once per
epoch, the workers' disjoint shares, logQ against the streamed batches."""
import collections

import numpy as np
import pytest
import tensorflow as tf

from components import artifacts
from relvid import config as config_lib
from relvid import contract
from tests.conftest import write_split
from trainer import data
from trainer import streaming
from trainer import task
from trainer import validation

ITEMS = [f"i{n}" for n in range(6)]
# (trigger, candidate, pair_count, recent_count): i0 -> i1 occurs 3 times,
# once in the validation window; i2 -> i3 only in the window; ...
PAIRS = [("i0", "i1", 3, 1), ("i0", "i2", 1, 0), ("i2", "i3", 2, 2),
         ("i3", "i1", 1, 0), ("i4", "i1", 2, 0), ("i5", "i0", 1, 1),
         ("i1", "i4", 4, 0)]


def trigger_counts(pairs):
  counts = collections.Counter()
  for trigger, _, n, _ in pairs:
    counts[trigger] += n
  return counts


def write_pairs(uri, pairs, shards=1):
  write_split(uri, contract.CATALOG, [
      {contract.ITEM_ID: i, contract.TEXT_EMBEDDING: [float(n), 1.0],
       contract.TOPICS: ["t"], contract.TRAIN_ENGAGEMENTS: 1}
      for n, i in enumerate(ITEMS)])
  counts = trigger_counts(pairs)
  write_split(uri, contract.TRAIN, [
      {contract.TRIGGER_ID: t, contract.CANDIDATE_ID: c,
       contract.PAIR_COUNT: n, contract.TRIGGER_COUNT: counts[t],
       contract.RECENT_COUNT: r} for t, c, n, r in pairs], shards)
  return artifacts.load_catalog(uri)


@pytest.fixture()
def pairs_uri(tmp_path):
  uri = str(tmp_path / "pairs")
  return uri, write_pairs(uri, PAIRS, shards=3)


def test_scan_counts_what_the_in_memory_window_split_counts(pairs_uri):
  uri, catalog = pairs_uri
  stats, window = streaming.scan_pairs(uri, catalog, "window")
  # By hand: before the window, i0->i1 twice, i0->i2, i3->i1, i4->i1 twice,
  # i1->i4 four times (i2->i3 and i5->i0 occur only in the window).
  assert stats.fit_rows == 5
  np.testing.assert_array_equal(stats.candidate_rows, [0, 3, 1, 0, 1, 0])
  np.testing.assert_array_equal(stats.candidate_occurrences,
                                [0, 5, 1, 0, 4, 0])
  np.testing.assert_array_equal(stats.trigger_counts, [3, 4, 0, 1, 2, 0])
  assert sorted(zip(window.trigger, window.candidate, window.pair_count)) == [
      (0, 1, 1), (2, 3, 2), (5, 0, 1)]
  # The same as the in-memory path's split and estimates.
  fit, held = validation.window_split(artifacts.load_pairs(
      uri, contract.TRAIN, catalog))
  np.testing.assert_allclose(stats.candidate_probability(),
                             data.candidate_probability(fit, len(catalog)))
  np.testing.assert_allclose(stats.candidate_occurrences,
                             data.candidate_counts(fit, len(catalog)))
  np.testing.assert_allclose(stats.trigger_counts,
                             data.trigger_counts_by_item(fit, len(catalog)))
  assert sorted(zip(held.trigger, held.candidate, held.trigger_count)) == (
      sorted(zip(window.trigger, window.candidate, window.trigger_count)))


def test_scan_without_validation_keeps_every_row(pairs_uri):
  uri, catalog = pairs_uri
  stats, window = streaming.scan_pairs(uri, catalog, "off")
  assert stats.fit_rows == len(PAIRS) and len(window) == 0
  np.testing.assert_array_equal(stats.trigger_counts, [4, 4, 2, 1, 2, 1])


def streamed(stats, catalog, batch_size=2, workers=1, index=0,
             semantic=None):
  dataset = streaming.pair_dataset(stats, catalog.item_ids, batch_size,
                                   seed=3, shuffle_buffer=4,
                                   semantic=semantic, workers=workers,
                                   worker_index=index)
  return [{k: v.numpy() for k, v in batch.items()} for batch in dataset]


def rows_of(batches):
  return sorted((int(t), int(c)) for b in batches
                for t, c in zip(b["trigger"], b["candidate"]))


def test_an_epoch_streams_every_fit_row_once_with_its_trigger_count(
    pairs_uri):
  uri, catalog = pairs_uri
  stats, _ = streaming.scan_pairs(uri, catalog, "window")
  batches = streamed(stats, catalog)
  assert rows_of(batches) == [(0, 1), (0, 2), (1, 4), (3, 1), (4, 1)]
  assert [len(b["trigger"]) for b in batches] == [2, 2, 1]
  for b in batches:
    np.testing.assert_array_equal(b["trigger_count"],
                                  stats.trigger_counts[b["trigger"]])


@pytest.mark.parametrize("shards", [16, 3, 1])
def test_workers_read_disjoint_shares_that_cover_every_row(tmp_path, shards):
  # 16 files for 2 workers: half the files each; 3 files (too few to split
  # evenly) or 1: every other row each.
  uri = str(tmp_path / "pairs")
  catalog = write_pairs(uri, PAIRS, shards)
  stats, _ = streaming.scan_pairs(uri, catalog, "off")
  # The index as a tensor, as a parameter-server worker has it.
  shares = [rows_of(streamed(stats, catalog, workers=2,
                             index=tf.constant(i, tf.int64)))
            for i in range(2)]
  assert all(shares)
  assert not set(shares[0]) & set(shares[1])
  assert sorted(shares[0] + shares[1]) == rows_of(streamed(stats, catalog))


def test_logq_estimate_is_the_streamed_batches_candidate_frequency(tmp_path):
  rng = np.random.default_rng(0)
  pairs = [(ITEMS[a], ITEMS[b], int(rng.integers(1, 5)), 0)
           for a, b in rng.integers(0, 6, size=(300, 2)) if a != b]
  uri = str(tmp_path / "pairs")
  catalog = write_pairs(uri, pairs, shards=2)
  stats, _ = streaming.scan_pairs(uri, catalog, "off")
  slots = np.concatenate([b["candidate"]
                          for b in streamed(stats, catalog, batch_size=16)])
  frequency = np.bincount(slots, minlength=len(ITEMS)) / len(slots)
  np.testing.assert_allclose(stats.candidate_probability(), frequency,
                             atol=1e-6)


def test_semantic_batches_ride_along(pairs_uri):
  uri, catalog = pairs_uri
  stats, _ = streaming.scan_pairs(uri, catalog, "off")
  semantic = (np.array([0, 2]), np.array([1, 3]))
  for b in streamed(stats, catalog, batch_size=3, semantic=semantic):
    assert len(b["sem_trigger"]) == 3
    for a, p in zip(b["sem_trigger"], b["sem_candidate"]):
      assert (a, p) in ((0, 1), (2, 3))
    np.testing.assert_array_equal(b["sem_trigger_count"],
                                  stats.trigger_counts[b["sem_trigger"]])


def test_bad_pairs_and_settings_are_refused(tmp_path, pairs_uri):
  uri, catalog = pairs_uri
  with pytest.raises(ValueError, match="window or off"):
    streaming.scan_pairs(uri, catalog, "random")
  bad = str(tmp_path / "bad")
  write_pairs(bad, PAIRS + [("i0", "no-such-item", 1, 0)])
  with pytest.raises(ValueError, match="not in the catalog"):
    streaming.scan_pairs(bad, catalog, "off")
  nothing = str(tmp_path / "nothing")
  write_pairs(nothing, [])
  with pytest.raises(ValueError, match="no train pairs to fit"):
    streaming.scan_pairs(nothing, catalog, "off")
  empty_window = str(tmp_path / "no-window")
  write_pairs(empty_window, [(t, c, n, 0) for t, c, n, _ in PAIRS])
  with pytest.raises(ValueError, match="pairs.validation_fraction"):
    streaming.scan_pairs(empty_window, catalog, "window")
  with pytest.raises(ValueError, match="trainer.validation"):
    config_lib.load_config(None, ["trainer.input=streaming",
                                  "trainer.validation=random"])
  with pytest.raises(ValueError, match="trainer.input"):
    config_lib.load_config(None, ["trainer.distribution=parameter_server",
                                  "trainer.input=memory"])


def test_a_model_trains_on_the_stream(tmp_path):
  # Each item's next one is its co-engaged candidate: learnable.
  pairs = [(ITEMS[i], ITEMS[(i + 1) % 6], 1, int(copy == 0))
           for copy in range(20) for i in range(6)]
  uri = str(tmp_path / "pairs")
  catalog = write_pairs(uri, pairs, shards=2)
  config = config_lib.TrainerConfig(
      id_dim=4, hidden_dim=8, output_dim=4, semantic_weight=0.0, epochs=4,
      batch_size=8, input="streaming", validation="window",
      early_stopping_patience=4, selection_tie_se=0.0, refit=False)
  model = task.train(catalog, None, config, examples_uri=uri)
  history = model.history.history
  assert len(history["engagement_loss"]) == 4
  assert history["engagement_loss"][-1] < 0.8 * history["engagement_loss"][0]
  assert history["val_recall@10"][-1] == 1.0
