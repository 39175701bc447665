# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Streaming training input: the train pairs read from their TFRecord shards
with tf.data, never held whole in memory (`trainer.input: streaming`).

Two passes over the shards:

1. `scan_pairs` reads them once in blocks and keeps only per-item counts
   (O(items) memory): the rows the batches are drawn from per candidate
   (logQ, `data.batch_frequency`'s rule), the triggers' counts (OPC), the
   candidates' occurrences (candidate-side OPC), and the validation
   window's pairs (`trainer.validation: window`, the rule of
   `validation.window_split`), which the epoch selection scores in memory.
2. `pair_dataset` streams the batches every epoch: shard files (whole
   files per worker when there are FILES_PER_WORKER per worker, else
   every worker keeps every n-th row), interleave, a `shuffle_buffer`-row
   shuffle, batch, prefetch.

So a batch's candidates are the rows of the shuffled stream, and logQ's
estimate is what it is in memory: each row fills one slot per epoch. What
differs from the in-memory input is the order (a bounded shuffle instead of
a full permutation); `trainer.validation: random` needs the whole list to
draw from and is refused.
"""
import dataclasses
import logging
from typing import Any, Dict, Optional, Tuple

import numpy as np
import tensorflow as tf

from components import artifacts
from components import example_io
from relvid import contract

# Rows parsed at once (tf.io.parse_example is much faster batched).
PARSE_BLOCK = 4096
# Workers read whole files when there are at least this many per worker,
# else every n-th row of every file.
FILES_PER_WORKER = 8

_FEATURES = {
    contract.TRIGGER_ID: tf.io.FixedLenFeature([], tf.string),
    contract.CANDIDATE_ID: tf.io.FixedLenFeature([], tf.string),
    contract.PAIR_COUNT: tf.io.FixedLenFeature([], tf.int64),
    contract.TRIGGER_COUNT: tf.io.FixedLenFeature([], tf.int64),
    contract.RECENT_COUNT: tf.io.FixedLenFeature([], tf.int64,
                                                 default_value=0),
}


@dataclasses.dataclass
class PairStats:
  """What one scan of the train pairs keeps, per catalog item.

  Attributes:
    files: the train split's shard files.
    fit_rows: the rows the training batches are drawn from per epoch.
    candidate_rows: [items] fit rows with the item as candidate.
    trigger_counts: [items] the item's trigger count over the fit rows.
    candidate_occurrences: [items] pair_count summed over the fit rows
      with the item as candidate.
    window_only: the validation window applies (fit rows are the pairs'
      occurrences before it).
  """
  files: Tuple[str, ...]
  fit_rows: int
  candidate_rows: np.ndarray
  trigger_counts: np.ndarray
  candidate_occurrences: np.ndarray
  window_only: bool

  def candidate_probability(self) -> np.ndarray:
    """logQ's q(j) (`data.batch_frequency` of the fit rows' candidates)."""
    return (np.maximum(self.candidate_rows, 1.0) /
            max(self.fit_rows, 1)).astype(np.float32)



def index_table(item_ids: np.ndarray) -> tf.lookup.StaticHashTable:
  """Item id -> catalog index (-1 for an unknown id). Under a
  ParameterServerStrategy's scope each worker gets its own copy; made
  inside a worker's dataset function it would be one table on the chief,
  looked up remotely by every worker."""
  return tf.lookup.StaticHashTable(
      tf.lookup.KeyValueTensorInitializer(
          tf.constant([str(i) for i in item_ids], tf.string),
          tf.range(len(item_ids), dtype=tf.int64)), default_value=-1)


def _parsed(records: tf.data.Dataset, table: tf.lookup.StaticHashTable
            ) -> tf.data.Dataset:
  """Blocks of serialized pairs -> dicts of catalog indices and counts
  (index -1 for an id the catalog lacks)."""
  def parse(serialized):
    rows = tf.io.parse_example(serialized, _FEATURES)
    return {"trigger": table.lookup(rows[contract.TRIGGER_ID]),
            "candidate": table.lookup(rows[contract.CANDIDATE_ID]),
            "pair_count": rows[contract.PAIR_COUNT],
            "trigger_count": rows[contract.TRIGGER_COUNT],
            "recent_count": rows[contract.RECENT_COUNT]}
  return records.batch(PARSE_BLOCK).map(
      parse, num_parallel_calls=tf.data.AUTOTUNE)


def _records(files: tf.data.Dataset) -> tf.data.Dataset:
  return files.interleave(
      lambda path: tf.data.TFRecordDataset(path, compression_type="GZIP"),
      cycle_length=4, num_parallel_calls=tf.data.AUTOTUNE)


def train_files(examples_uri: str) -> Tuple[str, ...]:
  """The train split's shard files (an error when there are none)."""
  files = tuple(sorted(tf.io.gfile.glob(
      example_io.uri_split_glob(examples_uri, contract.TRAIN))))
  if not files:
    raise ValueError(f"no train pair files under {examples_uri}")
  return files


def scan_pairs(examples_uri: str, catalog: artifacts.Catalog,
               validation: str) -> Tuple[PairStats, artifacts.Pairs]:
  """One pass over the train pairs: the per-item counts and the validation
  window's pairs.

  Args:
    examples_uri: the CoEngagementPairs artifact.
    catalog: its catalog (item ids -> indices).
    validation: trainer.validation, `window` or `off`.

  Returns:
    (stats, validation pairs; empty unless `window`).

  Raises:
    ValueError: `random` validation, an id missing from the catalog, or no
      pair before / in the window with `window`.
  """
  if validation not in ("window", "off"):
    raise ValueError(
        f"trainer.input=streaming supports trainer.validation window or off, "
        f"got {validation!r} (random draws from the whole list in memory)")
  files = train_files(examples_uri)
  num_items = len(catalog)
  window = validation == "window"
  candidate_rows = np.zeros(num_items, np.float64)
  trigger_counts = np.zeros(num_items, np.float64)
  file_trigger_counts = np.zeros(num_items, np.float64)
  occurrences = np.zeros(num_items, np.float64)
  held: Dict[str, list] = {"trigger": [], "candidate": [], "pair_count": [],
                           "trigger_count": []}
  fit_rows = rows = 0
  table = index_table(catalog.item_ids)
  for block in _parsed(tf.data.TFRecordDataset(list(files), "GZIP"), table):
    block = {k: v.numpy() for k, v in block.items()}
    unknown = (block["trigger"] < 0) | (block["candidate"] < 0)
    if unknown.any():
      raise ValueError(
          f"{int(unknown.sum())} train pairs (of a block of "
          f"{len(unknown)}) name item ids that are not in the catalog")
    rows += len(unknown)
    before = (block["pair_count"] - block["recent_count"] if window
              else block["pair_count"])
    fit = before > 0
    fit_rows += int(fit.sum())
    candidate_rows += np.bincount(block["candidate"][fit],
                                  minlength=num_items)
    occurrences += np.bincount(block["candidate"][fit],
                               weights=before[fit], minlength=num_items)
    trigger_counts += np.bincount(block["trigger"][fit], weights=before[fit],
                                  minlength=num_items)
    file_trigger_counts[block["trigger"]] = block["trigger_count"]
    if window:
      recent = block["recent_count"] > 0
      held["trigger"].append(block["trigger"][recent])
      held["candidate"].append(block["candidate"][recent])
      held["pair_count"].append(block["recent_count"][recent])
  if not fit_rows:
    raise ValueError(f"no train pairs to fit in {len(files)} files under "
                     f"{examples_uri} ({rows} rows, trainer.validation="
                     f"{validation})")
  if window:
    held_pairs = int(sum(len(t) for t in held["trigger"]))
    if not held_pairs or not fit_rows:
      raise ValueError(
          f"trainer.validation=window needs train pairs before and in the "
          f"validation window; {fit_rows} before, {held_pairs} in it: run "
          "the pipeline with pairs.validation_fraction > 0 (or set "
          "trainer.validation=off)")
    trigger = np.concatenate(held["trigger"]).astype(np.int64)
    window_pairs = artifacts.Pairs(
        trigger=trigger,
        candidate=np.concatenate(held["candidate"]).astype(np.int64),
        pair_count=np.concatenate(held["pair_count"]).astype(np.int64),
        trigger_count=file_trigger_counts[trigger].astype(np.float32))
  else:
    trigger_counts = file_trigger_counts
    window_pairs = artifacts.Pairs(*(np.zeros(0, np.int64),) * 3,
                                   np.zeros(0, np.float32))
  logging.info("streaming input: %d pair rows in %d files, %d train rows, "
               "%d validation pairs", rows, len(files), fit_rows,
               len(window_pairs))
  return PairStats(files=files, fit_rows=fit_rows,
                   candidate_rows=candidate_rows,
                   trigger_counts=trigger_counts.astype(np.float32),
                   candidate_occurrences=occurrences.astype(np.float32),
                   window_only=window), window_pairs


def pair_dataset(stats: PairStats, item_ids: np.ndarray, batch_size: int,
                 seed: int, shuffle_buffer: int,
                 semantic: Optional[Tuple[np.ndarray, np.ndarray]] = None,
                 workers: int = 1, worker_index: Any = 0,
                 repeat: bool = False,
                 table: Optional[tf.lookup.StaticHashTable] = None
                 ) -> tf.data.Dataset:
  """The training batches read from the pair files (one epoch, or endless
  with `repeat`), with the semantic batches when `semantic` is given.

  Each batch: trigger, candidate (catalog indices) and trigger_count (over
  the fit rows, as OPC uses it), plus sem_trigger, sem_candidate and
  sem_trigger_count of `batch_size` pseudo-label pairs drawn uniformly with
  replacement (as `data.training_dataset` draws them).

  Args:
    stats: what `scan_pairs` returned.
    item_ids: the catalog's ids in index order.
    batch_size: rows per batch.
    seed: the shuffles' and draws' seed.
    shuffle_buffer: rows held by the shuffle.
    semantic: (anchors, positives) catalog indices, or None.
    workers: the workers reading the pairs at once; each reads its share
      of the rows (of the files when there are at least as many files),
      and draws its own semantic pairs.
    worker_index: this reader's index among them: an int, or a scalar
      tensor (a parameter-server worker's, known only when the traced
      dataset function runs on it: ParameterServerStrategy hands every
      worker the same input context).
    repeat: endless (a distributed `fit` counts steps per epoch instead).
    table: the id lookup (`index_table`); None makes one here.
  """
  pipelines, index = workers, worker_index
  files = tf.data.Dataset.from_tensor_slices(list(stats.files))
  # Whole files per worker only when there are many: the workers take
  # about equal numbers of steps, so unequal shares (3 files for 2
  # workers) would train some rows more often than others and logQ's
  # estimate would no longer be the batches'.
  by_file = pipelines > 1 and len(stats.files) >= FILES_PER_WORKER * pipelines
  if by_file:
    files = files.shard(pipelines, index)
  files = files.shuffle(len(stats.files), seed=seed,
                        reshuffle_each_iteration=True)
  records = _records(files)
  if pipelines > 1 and not by_file:
    records = records.shard(pipelines, index)
  table = table if table is not None else index_table(item_ids)
  counts = tf.constant(stats.trigger_counts, tf.float32)
  window = stats.window_only

  def fit_rows(block):
    before = (block["pair_count"] - block["recent_count"] if window
              else block["pair_count"])
    keep = before > 0
    trigger = tf.boolean_mask(block["trigger"], keep)
    return {"trigger": trigger,
            "candidate": tf.boolean_mask(block["candidate"], keep),
            "trigger_count": tf.gather(counts, trigger)}

  rows = _parsed(records, table).map(
      fit_rows, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
  rows = rows.shuffle(shuffle_buffer, seed=seed,
                      reshuffle_each_iteration=True)
  if repeat:
    rows = rows.repeat()
  batches = rows.batch(batch_size)
  if semantic is not None and len(semantic[0]):
    anchors = tf.constant(semantic[0], tf.int64)
    positives = tf.constant(semantic[1], tf.int64)
    draws = tf.data.Dataset.random(seed=seed + 1000)
    if pipelines > 1:
      draws = draws.shard(pipelines, index)
    draws = draws.map(lambda r: r % tf.cast(tf.shape(anchors)[0], tf.int64))

    def semantic_batch(draw):
      anchor = tf.gather(anchors, draw)
      return {"sem_trigger": anchor,
              "sem_candidate": tf.gather(positives, draw),
              "sem_trigger_count": tf.gather(counts, anchor)}
    sem = draws.batch(batch_size).map(semantic_batch)
    batches = tf.data.Dataset.zip((batches, sem)).map(
        lambda a, b: {**a, **b})
  return batches.prefetch(tf.data.AUTOTUNE)
