# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
import glob
import json
import os

import apache_beam as beam
import pytest

from components import example_io
from components import ingestion
from tests.conftest import write_csv

ITEM_HEADER = ["item_id", "title", "description", "tags", "topics",
               "media_path"]


def _read(folder, list_fields=ingestion.ITEM_LIST_FIELDS):
  return example_io.read_example_files(os.path.join(folder, "*.gz"),
                                       list_fields)


@pytest.mark.parametrize("value, seconds", [
    (881250949, 881250949), ("881250949", 881250949), (12.7, 12),
    ("1970-01-01T00:01:40Z", 100), ("1970-01-01 00:01:40", 100)])
def test_parse_timestamp(value, seconds):
  assert ingestion.parse_timestamp(value) == seconds


@pytest.mark.parametrize("value", ["", "yesterday", None, -5, "nan", True])
def test_parse_timestamp_rejects(value):
  with pytest.raises(ValueError):
    ingestion.parse_timestamp(value)


def test_normalize_rows():
  item, reason = ingestion.normalize_item(
      {"item_id": " 7 ", "title": "Heat", "tags": "crime|la", "topics": None})
  assert reason == "" and item["item_id"] == "7"
  assert item["tags"] == ["crime", "la"] and item["topics"] == []
  assert ingestion.normalize_item({"title": "x"}) == (None, "item_missing_id")
  assert ingestion.normalize_interaction(
      {"user_id": "u", "item_id": "", "timestamp": 1})[1] == (
          "interaction_missing_item_id")
  assert ingestion.normalize_interaction(
      {"user_id": "u", "item_id": "i", "timestamp": "x"})[1] == (
          "interaction_bad_timestamp")


def test_build_ingestion_counts_every_skip(tmp_path):
  items = write_csv(tmp_path / "items.csv", ITEM_HEADER, [
      ["a", "Space Odyssey", "Astronauts and a monolith", "space|ai",
       "scifi", ""],
      ["b", "Love Actually", "", "", "romance|comedy", ""],
      ["b", "", "", "", "romance", ""],          # duplicate id, less text
      ["", "No id", "", "", "drama", ""],          # missing id
      ["c", "", "", "", "", ""],                   # empty text: kept
  ])
  interactions = write_csv(
      tmp_path / "log.csv", ["user_id", "item_id", "timestamp"], [
          ["u1", "a", "100"], ["u1", "b", "2020-01-01T00:00:00Z"],
          ["u2", "zzz", "100"],                    # unknown item
          ["u2", "a", "soon"],                     # bad timestamp
          ["", "a", "100"],                        # missing user
          ["u3", "c", "50"]])
  out = tmp_path / "out"
  with beam.Pipeline() as p:
    ingestion.build_ingestion(
        p, interactions, items, "csv", str(out / "inter"), str(out / "items"),
        str(out / "rejected"))
  written_items = {r["item_id"]: r for r in _read(str(out / "items"))}
  assert sorted(written_items) == ["a", "b", "c"]
  assert written_items["b"]["title"] == "Love Actually"
  assert written_items["a"]["tags"] == ["space", "ai"]
  written = _read(str(out / "inter"), ())
  assert sorted((r["user_id"], r["item_id"]) for r in written) == [
      ("u1", "a"), ("u1", "b"), ("u3", "c")]
  assert {r["timestamp"] for r in written} == {100, 1577836800, 50}
  rejected = [json.loads(line) for path in glob.glob(str(out / "rejected*"))
              for line in open(path)]
  assert sorted(r["reason"] for r in rejected) == [
      "interaction_bad_timestamp", "interaction_missing_user_id",
      "interaction_unknown_item", "item_duplicate_id", "item_missing_id"]


def test_run_ingestion_reports_counts_and_fails_when_empty(tmp_path):
  items = write_csv(tmp_path / "items.csv", ITEM_HEADER,
                    [["a", "A film", "", "", "drama", ""]])
  interactions = write_csv(
      tmp_path / "log.csv", ["user_id", "item_id", "timestamp"],
      [["u1", "a", "1"], ["u1", "nope", "2"]])
  report = ingestion.run_ingestion(
      beam.Pipeline(), "files", interactions, items, "csv",
      str(tmp_path / "i"), str(tmp_path / "t"), str(tmp_path / "report"))
  assert report["counts"]["interactions_written"] == 1
  assert report["counts"]["interaction_unknown_item"] == 1
  assert report["counts"]["interaction_rows_read"] == 2
  assert example_io.read_report(str(tmp_path / "report")) == report

  bad = write_csv(tmp_path / "bad.csv", ["user_id", "item_id", "timestamp"],
                  [["u1", "a", "never"]])
  with pytest.raises(RuntimeError, match="no usable interaction rows"):
    ingestion.run_ingestion(
        beam.Pipeline(), "files", bad, items, "csv", str(tmp_path / "i2"),
        str(tmp_path / "t2"), str(tmp_path / "report2"))


def test_missing_input_files_fail_clearly(tmp_path):
  with pytest.raises(Exception, match="nothing.csv"):
    with beam.Pipeline() as p:
      ingestion.build_ingestion(
          p, str(tmp_path / "nothing.csv"), str(tmp_path / "nothing.csv"),
          "csv", str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "r"))


@pytest.mark.parametrize("file_format", ["parquet", "tfrecord"])
def test_binary_formats(tmp_path, file_format):
  items = [{"item_id": "a", "title": "Alien", "description": "",
            "tags": ["space"], "topics": ["scifi", "horror"],
            "media_path": ""},
           {"item_id": "b", "title": "Heat", "description": "Heist",
            "tags": [], "topics": ["crime"], "media_path": ""}]
  log = [{"user_id": "u", "item_id": "a", "timestamp": 5},
         {"user_id": "u", "item_id": "b", "timestamp": -1}]
  if file_format == "parquet":
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.Table.from_pylist(items), str(tmp_path / "items.parquet"))
    pq.write_table(pa.Table.from_pylist(log), str(tmp_path / "log.parquet"))
    items_path, log_path = tmp_path / "items.parquet", tmp_path / "log.parquet"
  else:
    from tests.test_pair_generation import write_examples
    items_path = write_examples(str(tmp_path / "items"), items)
    log_path = write_examples(str(tmp_path / "log"), log)
  report = ingestion.run_ingestion(
      beam.Pipeline(), "files", str(log_path), str(items_path), file_format,
      str(tmp_path / "i"), str(tmp_path / "t"), str(tmp_path / "r"))
  assert report["counts"]["items_written"] == 2
  assert report["counts"]["interactions_written"] == 1
  assert report["counts"]["interaction_bad_timestamp"] == 1
  written = {r["item_id"]: r for r in _read(str(tmp_path / "t"))}
  assert written["a"]["topics"] == ["scifi", "horror"]
  assert written["b"]["tags"] == []
