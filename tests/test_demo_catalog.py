# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The demo catalog with real media: files, topics, log; written through
tf.io.gfile (a remote folder works) by the DemoCatalogGen component."""
import collections
import csv
import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tfx import v1 as tfx

from components import demo_catalog
from components import frames


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  folder = str(tmp_path_factory.mktemp("demo") / "catalog")
  interactions, items = demo_catalog.build_demo_catalog(folder)
  with open(items) as f:
    item_rows = list(csv.DictReader(f))
  with open(interactions) as f:
    log = list(csv.DictReader(f))
  return folder, item_rows, log


def test_items_have_real_decodable_media_and_topics(built):
  _, items, _ = built
  videos = sum(v.clips for v in demo_catalog.VIDEOS)
  assert len(items) == (videos + len(demo_catalog.IMAGES)
                        + len(demo_catalog.TEXT_ONLY_ITEMS))
  assert len({i["item_id"] for i in items}) == len(items)
  with_media = [i for i in items if i["media_path"]]
  assert len(with_media) == videos + len(demo_catalog.IMAGES)
  for item in items:
    assert item["title"] and item["topics"]
  clip = next(i for i in with_media if i["media_path"].endswith(".mp4"))
  decoded = frames.read_frames(clip["media_path"], 4)
  assert decoded.shape[0] == 4 and decoded.shape[2] <= demo_catalog.MAX_WIDTH
  assert decoded.std() > 10  # real pictures, not a blank frame
  image = next(i for i in with_media if i["item_id"] == "chelsea")
  assert frames.read_frames(image["media_path"]).shape[0] == 1


def test_engagement_log_is_seeded_and_on_topic(built, tmp_path):
  folder, items, log = built
  again, _ = demo_catalog.build_demo_catalog(str(tmp_path / "again"))
  with open(again) as f, open(os.path.join(
      folder, demo_catalog.INTERACTIONS_FILE)) as g:
    assert f.read() == g.read()
  known = {i["item_id"] for i in items}
  assert {r["item_id"] for r in log} <= known
  # Consecutive engagements share a topic far more often than random pairs.
  topics = {i["item_id"]: set(i["topics"].split("|")) for i in items}
  by_user = collections.defaultdict(list)
  for r in log:
    by_user[r["user_id"]].append((int(r["timestamp"]), r["item_id"]))
  consecutive = [(a[1], b[1]) for events in by_user.values()
                 for a, b in zip(sorted(events), sorted(events)[1:])]
  share = np.mean([bool(topics[a] & topics[b]) for a, b in consecutive])
  ids = sorted(known)
  rng = np.random.default_rng(0)
  random_pairs = rng.choice(len(ids), size=(5000, 2))
  chance = np.mean([bool(topics[ids[a]] & topics[ids[b]])
                    for a, b in random_pairs if a != b])
  assert share > chance + 0.3


def test_catalog_lands_on_a_remote_filesystem_and_its_media_decode():
  # TensorFlow's in-memory filesystem stands in for gs://: nothing may be
  # written with local file calls, and media are read back through gfile.
  folder = "ram://relvid-test/demo"
  interactions, items = demo_catalog.build_demo_catalog(folder)
  assert interactions == folder + "/interactions.csv"
  with tf.io.gfile.GFile(items) as f:
    rows = list(csv.DictReader(io.StringIO(f.read())))
  clip = next(r for r in rows if r["media_path"].endswith(".mp4"))
  assert clip["media_path"].startswith(folder + "/media/")
  assert frames.read_frames(clip["media_path"], 2).shape[0] == 2
  with pytest.raises(frames.MediaError, match="media_missing"):
    frames.read_frames(folder + "/media/no-such-clip.mp4")


def test_component_writes_the_catalog_where_the_example_gens_read_it(
    tmp_path):
  catalog_dir = str(tmp_path / "demo_catalog")
  component = demo_catalog.DemoCatalogGen(catalog_dir=catalog_dir)
  tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
      pipeline_name="demo", pipeline_root=str(tmp_path / "root"),
      components=[component],
      metadata_connection_config=(
          tfx.orchestration.metadata.sqlite_metadata_connection_config(
              str(tmp_path / "metadata.db")))))
  with open(os.path.join(catalog_dir, demo_catalog.ITEMS_FILE)) as f:
    rows = list(csv.DictReader(f))
  media = [r["media_path"] for r in rows if r["media_path"]]
  assert media and all(p.startswith(os.path.join(catalog_dir, "media")) and
                       os.path.isfile(p) for p in media)
  assert os.path.getsize(os.path.join(
      catalog_dir, demo_catalog.INTERACTIONS_FILE)) > 0
  # Its own artifact records what it wrote, for lineage.
  (uri,) = [os.path.join(folder, run) for folder, runs, _ in os.walk(
      tmp_path / "root" / "DemoCatalogGen" / "catalog") for run in runs
            if run.isdigit()]
  with open(os.path.join(uri, "catalog.json")) as f:
    assert json.load(f)["items"] == os.path.join(catalog_dir,
                                                 demo_catalog.ITEMS_FILE)
