# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
import glob
import json
import shutil

import apache_beam as beam
import numpy as np

from components import assets
from components import embedding_store
from components import example_io
from components import visual_embedding
from tests.test_pair_generation import read_examples
from tests.test_pair_generation import write_examples


def test_mean_embedding_is_normalised_mean():
  got = visual_embedding.mean_embedding(np.array([[1.0, 0.0], [0.0, 1.0]]))
  np.testing.assert_allclose(got, [2 ** -0.5, 2 ** -0.5])


def test_embeds_real_media_and_counts_bad_media(tmp_path, visual_encoder_dir):
  corrupt = tmp_path / "corrupt.mp4"
  corrupt.write_bytes(b"not a video at all" * 20)
  items = [
      {"item_id": "bunny", "media_path": assets.sample_video(
          "bigbuckbunny.mp4")},
      {"item_id": "carphone", "media_path": assets.sample_video(
          "carphone_pristine.mp4")},
      {"item_id": "coffee", "media_path": assets.sample_image("coffee.png")},
      {"item_id": "gone", "media_path": str(tmp_path / "gone.mp4")},
      {"item_id": "broken", "media_path": str(corrupt)},
      {"item_id": "text-only", "media_path": ""}]
  items_glob = write_examples(str(tmp_path / "items"), items)
  p = beam.Pipeline()
  visual_embedding.build_visual_embedding(
      p, items_glob, visual_encoder_dir, str(tmp_path / "out"),
      str(tmp_path / "errors"), frame_count=3, method="uniform")
  counts = example_io.run_and_count(p, visual_embedding.NAMESPACE)
  assert counts == {"frames_embedded": 7, "items_embedded": 3,
                    "items_without_media": 1, "media_missing": 1,
                    "media_unreadable": 1}
  vectors = {r["item_id"]: np.array(r["visual_embedding"])
             for r in read_examples(str(tmp_path / "out"))}
  assert sorted(vectors) == ["bunny", "carphone", "coffee"]
  for vector in vectors.values():
    assert vector.shape == (1280,)
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-5
  errors = sorted(json.loads(line)["item_id"] for path in
                  glob.glob(str(tmp_path / "errors*")) for line in open(path))
  assert errors == ["broken", "gone"]


def test_store_decodes_only_new_and_changed_media(tmp_path,
                                                  visual_encoder_dir):
  store = str(tmp_path / "store")
  photo = tmp_path / "photo.png"
  shutil.copy(assets.sample_image("coffee.png"), photo)
  corrupt = tmp_path / "corrupt.mp4"
  corrupt.write_bytes(b"not a video at all" * 20)
  items = [
      {"item_id": "bunny", "media_path": assets.sample_video(
          "bigbuckbunny.mp4")},
      {"item_id": "photo", "media_path": str(photo)},
      {"item_id": "broken", "media_path": str(corrupt)},
      {"item_id": "text-only", "media_path": ""}]

  def embed(name):
    run = embedding_store.StoreRun.open(store, visual_encoder_dir)
    p = beam.Pipeline()
    visual_embedding.build_visual_embedding(
        p, write_examples(str(tmp_path / name / "items"), items),
        visual_encoder_dir, str(tmp_path / name / "out"),
        str(tmp_path / name / "errors"), frame_count=3, method="uniform",
        store=run)
    counts = example_io.run_and_count(p, visual_embedding.NAMESPACE)
    embedding_store.publish(run.output_dir)
    return counts, {r["item_id"]: np.array(r["visual_embedding"])
                    for r in read_examples(str(tmp_path / name / "out"))}

  counts, first = embed("first")
  assert counts == {"frames_embedded": 4, "items_embedded": 2,
                    "items_without_media": 1, "media_unreadable": 1}
  # Same bytes: reused. New bytes under the same path: decoded again. A
  # broken file stays broken (errors are not stored) and is reported again.
  shutil.copy(assets.sample_image("astronaut.png"), photo)
  counts, second = embed("second")
  assert counts["items_reused"] == 1
  assert counts["items_embedded"] == 1 and counts["media_unreadable"] == 1
  np.testing.assert_array_equal(second["bunny"], first["bunny"])
  assert np.abs(second["photo"] - first["photo"]).max() > 1e-3
