# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Shared fixtures: the text encoder is exported once per test session."""
import csv
import glob
import os
import tempfile

import pytest

# Keras 2 is selected by the first project package a test imports (see
# relvid/runtime.py); tests/test_keras_selection.py checks it.
from components import assets

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")


@pytest.fixture(scope="session")
def encoder_dir(tmp_path_factory):
  from components import text_encoder
  return text_encoder.export_text_encoder(
      str(tmp_path_factory.mktemp("encoder")), max_seq_length=256)


class PipelineRun:
  """What `small_pipeline_run` did and produced."""

  def __init__(self, **fields):
    self.__dict__.update(fields)


@pytest.fixture(scope="session")
def small_pipeline_run(tmp_path_factory):
  """The whole pipeline, once per test session, on a small real MovieLens
  sample (see movielens_sample), with a blessed model pushed."""
  from pipeline import local_runner
  from pipeline import results
  from relvid import config as config_lib
  folder = tmp_path_factory.mktemp("pipeline")
  interactions, items, num_items, num_ratings = movielens_sample(str(folder))
  overrides = sample_overrides(folder, interactions, items) + [
      "trainer.epochs=2",
      "trainer.semantic_weight=1", "trainer.semantic_threshold=0.5",
      "trainer.opc=true", "eval.recall_floor=0.01",
      "eval.topic_match_floor=0.1"]
  config = config_lib.load_config(None, overrides)
  # The run gets a temp folder of its own, where TFX would build its
  # package: other test processes (pytest-xdist) use the shared one.
  scratch = folder / "tmp"
  scratch.mkdir()
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(tempfile, "tempdir", str(scratch))
    patch.setenv("TMPDIR", str(scratch))  # and for the processes it starts
    local_runner.run(config)
  reports = results.latest_reports(config)
  new_packages = tfx_ephemeral_packages(str(scratch))
  serving = config_lib.serving_model_dir(config)
  return PipelineRun(config=config, overrides=overrides, reports=reports,
                     num_items=num_items, num_ratings=num_ratings,
                     items_csv=items, serving_base=serving,
                     new_ephemeral_packages=new_packages)


def tfx_ephemeral_packages(folder):
  """The sdists TFX builds of itself under the temp folder `folder` when a
  Beam component's args name no dependency (see BeamConfig.pipeline_args)."""
  return set(glob.glob(os.path.join(folder, "*", "build", "tfx")))


USERS = 40


def sample_overrides(folder, interactions, items):
  """Config overrides that run the pipeline on `movielens_sample` files,
  with outputs under `folder`/out."""
  return ["data.source=files", f"data.interactions_path={interactions}",
          f"data.items_path={items}", f"output_dir={folder / 'out'}",
          "data.text_fields=title"]


def movielens_sample(folder):
  """The first USERS users' ratings and the movies they rated, from the
  installed recbole copy, in the generic CSV format (titles only; genres as
  topics). On purpose: one unknown item, one bad timestamp, and the first
  movie's genres are blanked (an anomaly against the curated schema)."""
  ml = assets.movielens_100k_dir()
  with open(os.path.join(ml, "ml-100k.inter")) as f:
    rows = [r for r in csv.reader(f, delimiter="\t")][1:]
  rows = [r for r in rows if int(r[0]) <= USERS]
  rated = {r[1] for r in rows}
  with open(os.path.join(ml, "ml-100k.item")) as f:
    movies = [r for r in csv.reader(f, delimiter="\t")][1:]
  movies = [m for m in movies if m[0] in rated]
  items = write_csv(os.path.join(folder, "items.csv"),
                    ["item_id", "title", "description", "tags", "topics",
                     "media_path"],
                    [[m[0], m[1], "", "", "" if i == 0 else
                      m[3].replace(" ", "|"), ""]
                     for i, m in enumerate(movies)])
  log = [[r[0], r[1], r[3]] for r in rows]
  log += [["1", "no-such-movie", "881250949"], ["1", "1", "last tuesday"]]
  interactions = write_csv(os.path.join(folder, "interactions.csv"),
                           ["user_id", "item_id", "timestamp"], log)
  return interactions, items, len(movies), len(rows)


def write_split(uri, split, rows, shards=1):
  """`rows` as tf.Examples in `shards` gzipped TFRecord files (row i in
  file i % shards) under `uri`/Split-`split`, as the pipeline writes an
  Examples artifact's split."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from components import example_io  # pylint: disable=g-import-not-at-top
  folder = os.path.join(uri, f"Split-{split}")
  os.makedirs(folder)
  writers = [tf.io.TFRecordWriter(
      os.path.join(folder, f"data-{i:05d}-of-{shards:05d}.gz"),
      options="GZIP") for i in range(shards)]
  for i, row in enumerate(rows):
    writers[i % shards].write(example_io.to_example(row).SerializeToString())
  for writer in writers:
    writer.close()


def write_csv(path, header, rows):
  import csv
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows(rows)
  return str(path)


@pytest.fixture(scope="session")
def visual_encoder_dir(tmp_path_factory):
  from components import visual_encoder
  return visual_encoder.export_visual_encoder(
      str(tmp_path_factory.mktemp("visual_encoder")))


def daily_logs(folder, days):
  """`movielens_sample`'s ratings (its bad rows dropped) in time order,
  split into equal chunks written as one CSV per day (`logs/<day>.csv`).
  Returns (the {YYYY}-{MM}-{DD} path pattern, the items file, the header,
  day -> rows)."""
  interactions, items, _, _ = movielens_sample(str(folder))
  with open(interactions) as f:
    header, *rows = list(csv.reader(f))
  rows = sorted((r for r in rows if r[2].isdigit()), key=lambda r: int(r[2]))
  logs = os.path.join(str(folder), "logs")
  os.makedirs(logs, exist_ok=True)
  chunk = len(rows) // len(days)
  day_rows = {day: rows[i * chunk:(i + 1) * chunk]
              for i, day in enumerate(days)}
  for day in days:
    write_csv(os.path.join(logs, f"{day}.csv"), header, day_rows[day])
  return (os.path.join(logs, "{YYYY}-{MM}-{DD}.csv"), items, header,
          day_rows)
