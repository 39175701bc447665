# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Shared plumbing of the custom components: tf.Example <-> dict, Examples
artifact splits, Beam counters, and the JSON report artifact."""
import json
import logging
import os
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter

import tensorflow as tf
from tfx import v1 as tfx
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from relvid import contract

TFRECORD_SUFFIX = contract.TFRECORD_SUFFIX
REPORT_FILE = contract.REPORT_FILE


class RunReport(tfx.dsl.Artifact):
  """A JSON report of what a component read, wrote and skipped (and why)."""
  TYPE_NAME = contract.RUN_REPORT_TYPE


class SourceFiles(tfx.dsl.Artifact):
  """Where raw input files (interactions.csv, items.csv, media/) were
  written (DemoCatalogGen's record of the demo catalog)."""
  TYPE_NAME = contract.SOURCE_FILES_TYPE


def to_example(row: Mapping[str, Any]) -> tf.train.Example:
  """Builds a tf.Example: str/bytes -> bytes_list, int -> int64_list,
  float -> float_list; lists keep their element type; None is left out."""
  feature = {}
  for key, value in row.items():
    if value is None:
      continue
    values = value if isinstance(value, (list, tuple)) else [value]
    if all(isinstance(v, (bytes, str)) for v in values):
      feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[v.encode("utf-8") if isinstance(v, str) else v
                 for v in values]))
    elif all(isinstance(v, (bool, int)) for v in values):
      feature[key] = tf.train.Feature(
          int64_list=tf.train.Int64List(value=[int(v) for v in values]))
    else:
      feature[key] = tf.train.Feature(
          float_list=tf.train.FloatList(value=[float(v) for v in values]))
  return tf.train.Example(features=tf.train.Features(feature=feature))


def from_example(serialized: bytes,
                 list_fields: Iterable[str] = ()) -> Dict[str, Any]:
  """Parses a serialized tf.Example into a dict: scalars for single-valued
  features, lists for `list_fields` (and for any multi-valued feature)."""
  example = tf.train.Example.FromString(serialized)
  list_fields = set(list_fields)
  row = {}
  for key, feature in example.features.feature.items():
    kind = feature.WhichOneof("kind")
    values = list(getattr(feature, kind).value) if kind else []
    if kind == "bytes_list":
      values = [v.decode("utf-8") for v in values]
    if key in list_fields or len(values) != 1:
      row[key] = values
    else:
      row[key] = values[0]
  return row


def read_example_files(file_glob: str,
                       list_fields: Iterable[str] = ()) -> List[Dict[str, Any]]:
  """All tf.Examples in gzipped TFRecord files matching `file_glob`, as dicts
  (outside Beam: for the trainer, evaluator and tests)."""
  rows = []
  for path in sorted(tf.io.gfile.glob(file_glob)):
    for record in tf.data.TFRecordDataset(path, compression_type="GZIP"):
      rows.append(from_example(record.numpy(), list_fields))
  return rows


def split_dir(artifact: tfx.dsl.Artifact, split: str) -> str:
  return artifact_utils.get_split_uri([artifact], split)


def split_glob(artifact: tfx.dsl.Artifact, split: str) -> str:
  return uri_split_glob(artifact.uri, split)


def uri_split_glob(examples_uri: str, split: str) -> str:
  """The tf.Example files of one split of an Examples artifact's URI."""
  return os.path.join(examples_uri, f"Split-{split}", "*" + TFRECORD_SUFFIX)


def set_splits(artifact: tfx.dsl.Artifact, splits: List[str]) -> None:
  """Declares the splits of an Examples artifact holding tf.Examples."""
  artifact.split_names = artifact_utils.encode_split_names(list(splits))
  examples_utils.set_payload_format(
      artifact, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)


class WriteExamples(beam.PTransform):
  """Writes dict rows as gzipped tf.Example TFRecords into one split folder."""

  def __init__(self, output_dir: str):
    super().__init__()
    self._prefix = os.path.join(output_dir, "data_tfrecord")

  def expand(self, rows):
    return (rows
            | "ToExample" >> beam.Map(lambda r: to_example(r).SerializeToString())
            | "Write" >> beam.io.WriteToTFRecord(
                self._prefix, file_name_suffix=TFRECORD_SUFFIX))


class ReadExamples(beam.PTransform):
  """Reads gzipped tf.Example TFRecords (a glob) as dict rows."""

  def __init__(self, file_glob: str, list_fields: Iterable[str] = ()):
    super().__init__()
    self._glob = file_glob
    self._list_fields = tuple(list_fields)

  def expand(self, root):
    list_fields = self._list_fields
    return (root
            | "Read" >> beam.io.ReadFromTFRecord(self._glob)
            | "Parse" >> beam.Map(from_example, list_fields))


def run_and_count(beam_pipeline: beam.Pipeline,
                  namespace: str) -> Dict[str, int]:
  """Runs the pipeline to completion and returns its counters in `namespace`."""
  result = beam_pipeline.run()
  result.wait_until_finish()
  counts: Dict[str, int] = {}
  query = result.metrics().query(MetricsFilter().with_namespace(namespace))
  for counter in query["counters"]:
    value = counter.committed
    if value is None:
      value = counter.attempted
    counts[counter.key.metric.name] = counts.get(
        counter.key.metric.name, 0) + int(value or 0)
  return dict(sorted(counts.items()))


def run_and_report(beam_pipeline: beam.Pipeline, namespace: str,
                   report_dir: str, component: str,
                   **fields: Any) -> Dict[str, Any]:
  """Runs the pipeline, then writes `fields` plus its counters as the
  component's report; returns the report."""
  report = dict(fields, counts=run_and_count(beam_pipeline, namespace))
  write_report(report_dir, report, component)
  return report


def utc_now() -> str:
  """The current time as an ISO-8601 UTC string (records in JSON files)."""
  return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_json(path: str, value: Any) -> str:
  """Writes `value` as indented JSON through tf.io.gfile; returns `path`."""
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, "w") as f:
    json.dump(value, f, indent=2, sort_keys=True)
  return path


def read_json(path: str) -> Any:
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def write_report(report_dir: str, report: Dict[str, Any],
                 component: Optional[str] = None) -> str:
  """Writes report.json under `report_dir` and logs it in one line."""
  path = write_json(os.path.join(report_dir, REPORT_FILE), report)
  logging.info("%s report: %s", component or "component",
               json.dumps(report, sort_keys=True))
  return path


def read_report(report_dir: str) -> Dict[str, Any]:
  return read_json(os.path.join(report_dir, REPORT_FILE))
