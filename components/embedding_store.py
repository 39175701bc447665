# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""An item-level store of computed embeddings, kept between pipeline runs.

TFX's cache reruns a component whole as soon as one input changes, so a
catalog that gained a thousand items would be embedded again from the
first item. The store keeps, for every item, the vector it got and a
content key (a hash of what the vector was computed from: the encoder and
the item's text), so the next run computes vectors only for new and
changed items and reuses the rest.

`StoreRun.open` gives a component run its store (the encoder's key, the
version to read, the version to write); `ReuseStored` is the Beam step
that splits the items into those with a stored vector and those to
compute; `publish` marks the written version complete.

Layout under the store folder (local or gs://, through tf.io.gfile and
Beam's file systems):

  <store>/<version>/data_tfrecord-*.gz   item_id, content_key, the vector
  <store>/<version>/COMPLETE             written last: the version is whole

A run reads the newest complete version and writes the next one; a version
without its marker (a run that died while writing) is never read, and
older versions are deleted once a newer one is complete.
"""
import dataclasses
import hashlib
import logging
import os
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics
import tensorflow as tf

from components import example_io
from components import version_folders
from relvid import contract

COMPLETE_MARKER = "COMPLETE"
CONTENT_KEY = "content_key"


def content_key(*parts: str) -> str:
  """A hash of the inputs a vector was computed from."""
  digest = hashlib.sha256()
  for part in parts:
    digest.update(part.encode("utf-8"))
    digest.update(b"\0")
  return digest.hexdigest()


def file_digest(path: str, chunk_bytes: int = 1 << 20) -> str:
  """sha256 of a file's bytes (local or remote), "" when it cannot be read
  (the encoder step then reports why)."""
  digest = hashlib.sha256()
  try:
    with tf.io.gfile.GFile(path, "rb") as f:
      while True:
        chunk = f.read(chunk_bytes)
        if not chunk:
          break
        digest.update(chunk)
  except (tf.errors.OpError, OSError):
    return ""
  return digest.hexdigest()


def saved_model_key(saved_model_dir: str) -> str:
  """Identifies an encoder by what it computes, not by its path: the parts
  of the SavedModel fingerprint TF writes at save time that stay the same
  when the same model is exported twice (its checkpoint, signatures and
  object graph; the graph's program hash changes with every export). So
  configuration that changes the vectors must live in variables, as the
  text encoder's max_seq_length does."""
  try:
    fingerprint = tf.saved_model.experimental.read_fingerprint(saved_model_dir)
  except (FileNotFoundError, tf.errors.NotFoundError) as error:
    raise FileNotFoundError(
        f"{saved_model_dir} has no SavedModel fingerprint (fingerprint.pb, "
        "written by TensorFlow 2.12 and newer): re-export it") from error
  return "/".join(str(part) for part in (
      fingerprint.checkpoint_hash, fingerprint.signature_def_hash,
      fingerprint.saved_object_graph_hash))


# A version folder without its marker this much older than a new complete
# one is left over from a run that died, not one still being written.
ABANDONED_AFTER_MS = 24 * 3600 * 1000


def _versions(store_dir: str, complete: bool = True) -> List[int]:
  if not complete:
    return version_folders.numbered_folders(store_dir)
  return version_folders.numbered_folders(
      store_dir,
      lambda path: tf.io.gfile.exists(os.path.join(path, COMPLETE_MARKER)))


def latest_glob(store_dir: str) -> Optional[str]:
  """The file glob of the newest complete version, or None."""
  versions = _versions(store_dir)
  if not versions:
    return None
  return os.path.join(store_dir, str(versions[-1]), "data_tfrecord-*")


def next_version_dir(store_dir: str) -> str:
  """A new version folder, newer than any there (milliseconds)."""
  newest = max(_versions(store_dir, complete=False), default=0)
  return os.path.join(store_dir, str(max(int(time.time() * 1000),
                                         newest + 1)))


def publish(version_dir: str) -> None:
  """Marks `version_dir` complete, then deletes the complete versions
  before it and abandoned incomplete ones."""
  with tf.io.gfile.GFile(os.path.join(version_dir, COMPLETE_MARKER), "w") as f:
    f.write("")
  store_dir = os.path.dirname(version_dir.rstrip("/"))
  version = int(os.path.basename(version_dir.rstrip("/")))
  complete = set(_versions(store_dir))
  for older in _versions(store_dir, complete=False):
    if older < version and (older in complete
                            or older < version - ABANDONED_AFTER_MS):
      tf.io.gfile.rmtree(os.path.join(store_dir, str(older)))
  logging.info("embedding store: version %s complete", version_dir)


@dataclasses.dataclass
class StoreRun:
  """One component run's use of a store.

  Attributes:
    encoder_key: `saved_model_key` of the run's encoder.
    stored_glob: the newest complete version's files, None when empty.
    output_dir: the version this run writes (published by `publish`).
  """
  encoder_key: str
  stored_glob: Optional[str]
  output_dir: str

  @classmethod
  def open(cls, store_dir: str, encoder_dir: str) -> Optional["StoreRun"]:
    """The run's store, or None when `store_dir` is "" (no reuse)."""
    if not store_dir:
      return None
    run = cls(encoder_key=saved_model_key(encoder_dir),
              stored_glob=latest_glob(store_dir),
              output_dir=next_version_dir(store_dir))
    logging.info("embedding store: reusing %s, writing %s",
                 run.stored_glob or "nothing (empty store)", run.output_dir)
    return run


def _reuse_or_compute(joined: Tuple[str, Dict[str, List[Dict[str, Any]]]],
                      namespace: str) -> Iterable[Any]:
  _, grouped = joined
  if not grouped["item"]:
    Metrics.counter(namespace, "stored_items_gone").inc()
    return
  item = grouped["item"][0]
  stored = grouped["stored"]
  if item[CONTENT_KEY] and stored and (
      stored[0][CONTENT_KEY] == item[CONTENT_KEY]):
    Metrics.counter(namespace, "items_reused").inc()
    yield stored[0]
    return
  yield beam.pvalue.TaggedOutput("compute", item)


class ReuseStored(beam.PTransform):
  """(item_id, row with CONTENT_KEY) -> two outputs: `reused`, the stored
  rows (vector included) whose key matches the item's, and `compute`, the
  item rows for the encoder (new items, changed ones, empty keys). Counts
  `items_reused` and `stored_items_gone` (stored items no longer in the
  catalog) in `namespace`."""

  def __init__(self, namespace: str, stored_glob: Optional[str],
               vector_feature: str):
    super().__init__()
    self._namespace = namespace
    self._stored_glob = stored_glob
    self._vector_feature = vector_feature

  def expand(self, keyed_items):
    root = keyed_items.pipeline
    if self._stored_glob:
      stored = (root
                | "ReadStore" >> example_io.ReadExamples(
                    self._stored_glob, list_fields=[self._vector_feature])
                | "KeyStored" >> beam.Map(lambda r: (r[contract.ITEM_ID], r)))
    else:
      stored = root | "EmptyStore" >> beam.Create([])
    return ({"item": keyed_items, "stored": stored}
            | "Join" >> beam.CoGroupByKey()
            | "Split" >> beam.FlatMap(
                _reuse_or_compute, self._namespace).with_outputs(
                    "compute", main="reused"))


def without_key(row: Dict[str, Any]) -> Dict[str, Any]:
  """A vector row as the component's output has it (no content key)."""
  return {k: v for k, v in row.items() if k != CONTENT_KEY}


def write_vectors(vectors, output_dir: str, run: Optional[StoreRun]) -> None:
  """Writes the vector rows to the component's output and, with a store,
  the keyed ones to the store version being written."""
  _ = (vectors
       | "DropKey" >> beam.Map(without_key)
       | "Write" >> example_io.WriteExamples(output_dir))
  if run:
    _ = (vectors
         | "Keyed" >> beam.Filter(lambda r: bool(r.get(CONTENT_KEY)))
         | "WriteStore" >> example_io.WriteExamples(run.output_dir))
