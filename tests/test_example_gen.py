# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""TableExampleGen, the FileBasedExampleGen of each input table: where a
table is read from, the input fingerprint and span resolution of its
driver, and the component run by LocalDagRunner (a new execution for
changed input, the cache for unchanged input, span and version on the
Examples artifact)."""
import datetime
import os

import pytest
from tfx import v1 as tfx
from tfx.proto import example_gen_pb2

from components import ingestion
from pipeline import pipeline as pipeline_lib
from pipeline import results
from relvid import config as config_lib
from tests.conftest import write_csv

LOG_HEADER = ["user_id", "item_id", "timestamp"]
ITEM_HEADER = ["item_id", "title", "description", "tags", "topics",
               "media_path"]


@pytest.mark.parametrize("path, base, pattern", [
    ("/data/logs/*.csv", "/data/logs", "*.csv"),
    ("/data/logs/day1.csv", "/data/logs", "day1.csv"),
    ("/x.csv", "/", "x.csv"),
    ("gs://acme/logs/{YYYY}-{MM}-{DD}/*.parquet", "gs://acme/logs",
     "{YYYY}-{MM}-{DD}/*.parquet"),
    ("gs://acme/items.csv", "gs://acme", "items.csv"),
    ("/data/span-{SPAN}/v{VERSION}/part-?.csv", "/data",
     "span-{SPAN}/v{VERSION}/part-?.csv"),
    ("/data/[ab]/log.tsv", "/data", "[ab]/log.tsv"),
])
def test_split_input_pattern(path, base, pattern):
  assert ingestion.split_input_pattern(path) == (base, pattern)
  assert os.path.join(base, pattern) == path


def test_input_location_of_each_source(tmp_path, monkeypatch):
  files = config_lib.load_config(None, [
      "data.source=files", "data.interactions_path=logs/*.tsv",
      "data.items_path=gs://acme/catalog.tsv", "data.file_format=tsv"])
  monkeypatch.chdir(tmp_path)
  assert ingestion.input_location(files, "interactions") == (
      str(tmp_path / "logs"), "*.tsv", "tsv")
  assert ingestion.input_location(files, "items") == (
      "gs://acme", "catalog.tsv", "tsv")
  movielens = config_lib.load_config(None, [])
  base, pattern, file_format = ingestion.input_location(movielens, "items")
  assert (pattern, file_format) == ("ml-100k.item", "atomic")
  assert os.path.exists(os.path.join(base, pattern))
  demo = config_lib.load_config(None, ["data.source=demo_media",
                                       f"output_dir={tmp_path / 'out'}"])
  assert ingestion.input_location(demo, "interactions") == (
      str(tmp_path / "out" / "demo_catalog" / "relvid"), "interactions.csv",
      "csv")


def _set_mtime(path, seconds):
  os.utime(path, ns=(int(seconds * 1e9), int(seconds * 1e9)))


def test_fingerprint_follows_names_sizes_and_modification_times(tmp_path):
  logs = tmp_path / "logs"
  logs.mkdir()
  day1 = logs / "day1.csv"
  day1.write_text("user_id,item_id,timestamp\nu,a,1\n")
  _set_mtime(day1, 1_700_000_000)
  pattern = str(logs / "*.csv")
  first = ingestion.files_fingerprint("all", pattern)
  assert first.startswith("split:all,num_files:1,total_bytes:")
  assert ingestion.files_fingerprint("all", pattern) == first  # read again

  # Rewritten in place, same size, in the same second: the nanoseconds of
  # the modification time tell (TFX's own fingerprint keeps seconds).
  day1.write_text("user_id,item_id,timestamp\nu,b,1\n")
  _set_mtime(day1, 1_700_000_000.5)
  rewritten = ingestion.files_fingerprint("all", pattern)
  assert rewritten != first and rewritten.split(",")[:3] == first.split(
      ",")[:3]

  with open(day1, "a") as f:  # rows appended
    f.write("u,c,2\n")
  appended = ingestion.files_fingerprint("all", pattern)
  assert appended not in (first, rewritten)

  write_csv(logs / "day2.csv", LOG_HEADER, [["u", "d", "3"]])  # a new file
  added = ingestion.files_fingerprint("all", pattern)
  assert "num_files:2," in added

  os.rename(logs / "day2.csv", logs / "day3.csv")  # renamed, same bytes
  assert ingestion.files_fingerprint("all", pattern) != added

  with pytest.raises(ingestion.InputNotFoundError,
                     match=f"no input file matches {pattern[:-4]}"):
    ingestion.files_fingerprint("all", str(logs / "*.parquet"))


def _resolve(base, pattern, span=None):
  processor = ingestion.InputFiles(
      str(base), [example_gen_pb2.Input.Split(name="all", pattern=pattern)],
      ingestion.static_span(span) if span is not None else None)
  found_span, version = processor.resolve_span_and_version()
  return (found_span, version,
          processor.get_pattern_for_span_version(pattern, found_span,
                                                 version),
          processor.get_input_fingerprint(found_span, version))


def test_span_patterns_pick_the_right_files(tmp_path):
  for day, rows in (("2000-06-01", 2), ("2000-06-02", 3), ("2000-05-30", 1)):
    (tmp_path / day).mkdir()
    write_csv(tmp_path / day / "part-0.csv", LOG_HEADER,
              [["u", "a", "1"]] * rows)
  june_2 = config_lib.span_number("2000-06-02")
  assert june_2 == 11110  # days since 1970-01-01, as TFX numbers dates
  # The latest span by default, as ExampleGen reads it.
  span, version, pattern, fingerprint = _resolve(
      tmp_path, "{YYYY}-{MM}-{DD}/*.csv")
  assert (span, version, pattern) == (june_2, None, "2000-06-02/*.csv")
  assert "num_files:1," in fingerprint
  # A span asked for, as a date or its number.
  span, _, pattern, _ = _resolve(tmp_path, "{YYYY}-{MM}-{DD}/*.csv",
                                 config_lib.span_number("2000-05-30"))
  assert (span, pattern) == (11107, "2000-05-30/*.csv")

  numbered = tmp_path / "numbered"
  for span_dir in ("span-3/v1", "span-3/v2", "span-12/v1"):
    (numbered / span_dir).mkdir(parents=True)
    write_csv(numbered / span_dir / "log.csv", LOG_HEADER, [["u", "a", "1"]])
  assert _resolve(numbered, "span-{SPAN}/v{VERSION}/*.csv")[:3] == (
      12, 1, "span-12/v1/*.csv")
  assert _resolve(numbered, "span-{SPAN}/v{VERSION}/*.csv", 3)[:3] == (
      3, 2, "span-3/v2/*.csv")


def test_a_missing_span_fails_naming_the_pattern(tmp_path):
  (tmp_path / "2000-06-01").mkdir()
  write_csv(tmp_path / "2000-06-01" / "log.csv", LOG_HEADER,
            [["u", "a", "1"]])
  with pytest.raises(ingestion.InputNotFoundError) as error:
    _resolve(tmp_path, "{YYYY}-{MM}-{DD}/*.csv",
             config_lib.span_number("2000-06-05"))
  assert str(error.value) == (
      "no input file for span 11113 (as a date: 2000-06-05) matches "
      f"{tmp_path}/{{YYYY}}-{{MM}}-{{DD}}/*.csv")
  with pytest.raises(ingestion.InputNotFoundError,
                     match=f"no input file matches {tmp_path}/logs/"):
    _resolve(tmp_path, "logs/{SPAN}/*.csv")
  with pytest.raises(ingestion.InputNotFoundError,
                     match=f"no input file matches {tmp_path}/nothing"):
    _resolve(tmp_path, "nothing-*.csv")


def test_span_config_is_checked():
  assert config_lib.span_number("") is None
  assert config_lib.span_number("42") == 42
  assert config_lib.span_number("1970-01-02") == 1
  # A scheduled run's default on Vertex: the day before, in UTC.
  assert config_lib.span_number(
      "yesterday", today=datetime.date(2000, 6, 3)) == 11110
  assert config_lib.span_number("yesterday") == (
      datetime.datetime.now(datetime.timezone.utc).date()
      - datetime.date(1970, 1, 2)).days
  for bad in ("tomorrow", "-3", "1969-12-31"):
    with pytest.raises(ValueError):
      config_lib.span_number(bad)
  with pytest.raises(ValueError, match="config field data.span: 'soon'"):
    config_lib.load_config(None, [
        "data.source=files", "data.interactions_path=/l/{SPAN}/*.csv",
        "data.items_path=/i.csv", "data.span=soon"])
  with pytest.raises(ValueError, match="config field data.span: needs"):
    config_lib.load_config(None, [
        "data.source=files", "data.interactions_path=/l/*.csv",
        "data.items_path=/i.csv", "data.span=3"])
  with pytest.raises(ValueError, match="config field data.interactions_path"):
    config_lib.load_config(None, ["data.interactions_path=/l/{SPAN}.inter"])


def _ingestion_only(config):
  """The two ExampleGens of `config` as a pipeline of their own."""
  components = pipeline_lib.create_components(config)
  example_gens = [c for c in components if c.id.endswith("_ExampleGen")]
  os.makedirs(os.path.dirname(config_lib.metadata_path(config)),
              exist_ok=True)
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config_lib.pipeline_root(config),
      components=example_gens, enable_cache=True,
      metadata_connection_config=pipeline_lib.sqlite_metadata(config),
      beam_pipeline_args=pipeline_lib.beam_pipeline_args(config))


def _states(config):
  store = results.open_store(config)
  return {node: [e.last_known_state for e in results.executions(
      config, node, store)] for node in ("interactions_ExampleGen",
                                         "items_ExampleGen")}


COMPLETE, CACHED = 3, 5  # metadata_store_pb2.Execution.State


def test_example_gens_rerun_on_changed_input_only(tmp_path):
  """LocalDagRunner with InputFilesDriver: new or changed files make a new
  execution of that table's ExampleGen, unchanged ones hit the cache; the
  artifact carries span, version and the fingerprint; the report lies
  beside Split-all."""
  logs = tmp_path / "logs"
  for day in ("2000-06-01", "2000-06-02"):
    (logs / day).mkdir(parents=True)
  write_csv(logs / "2000-06-01" / "a.csv", LOG_HEADER, [["u1", "a", "10"]])
  june_2 = write_csv(logs / "2000-06-02" / "a.csv", LOG_HEADER,
                     [["u1", "a", "100"], ["u1", "b", "200"]])
  items = write_csv(tmp_path / "items.csv", ITEM_HEADER,
                    [["a", "Alien", "", "", "scifi", ""],
                     ["b", "Heat", "", "", "crime", ""]])
  overrides = ["data.source=files", f"output_dir={tmp_path / 'out'}",
               f"data.interactions_path={logs}/{{YYYY}}-{{MM}}-{{DD}}/*.csv",
               f"data.items_path={items}"]
  config = config_lib.load_config(None, overrides)
  runner = tfx.orchestration.LocalDagRunner()
  runner.run(_ingestion_only(config))
  reports = results.latest_reports(config)
  assert reports["interactions_ExampleGen"]["counts"][
      "interactions_written"] == 2
  assert reports["interactions_ExampleGen"]["span"] == 11110
  assert reports["interactions_ExampleGen"]["input_files"] == 1
  assert reports["items_ExampleGen"]["counts"]["items_written"] == 2
  store = results.open_store(config)
  uri = results.latest_output_uri(config, "interactions_ExampleGen",
                                  "examples")
  (artifact,) = store.get_artifacts_by_uri(uri)
  assert artifact.properties["span"].int_value == 11110
  assert artifact.custom_properties["span"].int_value == 11110
  assert "num_files:1," in artifact.custom_properties[
      "input_fingerprint"].string_value
  assert os.path.exists(os.path.join(uri, "report.json"))
  assert sorted(os.listdir(os.path.join(uri, "Split-all")))

  runner.run(_ingestion_only(config))  # unchanged: both from the cache
  assert _states(config) == {"interactions_ExampleGen": [COMPLETE, CACHED],
                             "items_ExampleGen": [COMPLETE, CACHED]}

  with open(june_2, "a") as f:  # rows appended to the latest span's file
    f.write("u2,b,300\n")
  with open(items, "w") as f:  # a catalog row changed in place, same size
    f.write("item_id,title,description,tags,topics,media_path\n"
            "a,Alien,,,scifi,\nb,Hear,,,crime,\n")
  runner.run(_ingestion_only(config))
  assert _states(config) == {
      "interactions_ExampleGen": [COMPLETE, CACHED, COMPLETE],
      "items_ExampleGen": [COMPLETE, CACHED, COMPLETE]}
  reports = results.latest_reports(config)
  assert reports["interactions_ExampleGen"]["counts"][
      "interactions_written"] == 3

  # An earlier span, named by the run: read, then cached like any other.
  earlier = config_lib.load_config(None, overrides + [
      "data.span=2000-06-01"])
  runner.run(_ingestion_only(earlier))
  runner.run(_ingestion_only(earlier))
  assert _states(config)["interactions_ExampleGen"] == [
      COMPLETE, CACHED, COMPLETE, COMPLETE, CACHED]
  report = results.latest_reports(config)["interactions_ExampleGen"]
  assert report["span"] == 11109 and report["counts"][
      "interactions_written"] == 1
