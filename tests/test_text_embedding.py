# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
import glob
import os

import apache_beam as beam
import numpy as np

from components import embedding_store
from components import example_io
from components import text_embedding
from components import text_encoder
from tests.test_pair_generation import read_examples
from tests.test_pair_generation import write_examples


def test_item_text_joins_configured_fields_only():
  item = {"item_id": "1", "title": "Alien", "description": "",
          "tags": ["space", "horror"], "topics": ["scifi"]}
  assert text_embedding.item_text(item, ["title", "description", "tags"]) == (
      "Alien. space horror")
  assert text_embedding.item_text(item, ["description"]) == ""


def test_embeds_items_and_lists_empty_text(tmp_path, encoder_dir):
  items = [
      {"item_id": "space1", "title": "Apollo 13",
       "description": "Astronauts fight to return to Earth", "tags": [],
       "topics": ["drama"]},
      {"item_id": "space2", "title": "Gravity",
       "description": "An astronaut is stranded in orbit", "tags": [],
       "topics": ["scifi"]},
      {"item_id": "romance", "title": "Notting Hill",
       "description": "A bookseller falls in love with a film star",
       "tags": [], "topics": ["romance"]},
      {"item_id": "blank", "title": "", "description": "", "tags": [],
       "topics": ["drama"]}]
  items_glob = write_examples(str(tmp_path / "items"), items)
  p = beam.Pipeline()
  text_embedding.build_text_embedding(
      p, items_glob, encoder_dir, str(tmp_path / "emb"),
      str(tmp_path / "empty"), ["title", "description"], batch_size=2)
  counts = example_io.run_and_count(p, text_embedding.NAMESPACE)
  assert counts == {"items_embedded": 3, "items_empty_text": 1}
  rows = {r["item_id"]: np.array(r["text_embedding"])
          for r in read_examples(str(tmp_path / "emb"))}
  assert sorted(rows) == ["romance", "space1", "space2"]
  assert rows["space1"].shape == (text_encoder.EMBEDDING_DIM,)
  assert rows["space1"] @ rows["space2"] > rows["space1"] @ rows["romance"]
  empty = [line.strip() for path in glob.glob(str(tmp_path / "empty*"))
           for line in open(path)]
  assert empty == ["blank"]
  # The same text through the encoder directly gives the same vector.
  direct = text_encoder.load_text_encoder(encoder_dir)(
      ["Apollo 13. Astronauts fight to return to Earth"])[0]
  assert np.abs(direct - rows["space1"]).max() < 1e-5


def embed_with_store(tmp_path, name, items, encoder_dir, store, encoder_key):
  """One TextEmbedder run against `store`, as the component does it."""
  items_glob = write_examples(str(tmp_path / name / "items"), items)
  run = embedding_store.StoreRun.open(store, encoder_dir)
  run.encoder_key = encoder_key
  p = beam.Pipeline()
  text_embedding.build_text_embedding(
      p, items_glob, encoder_dir, str(tmp_path / name / "emb"),
      str(tmp_path / name / "empty"), ["title"], batch_size=2, store=run)
  counts = example_io.run_and_count(p, text_embedding.NAMESPACE)
  embedding_store.publish(run.output_dir)
  rows = {r["item_id"]: np.array(r["text_embedding"])
          for r in read_examples(str(tmp_path / name / "emb"))}
  return counts, rows


def test_store_reuses_vectors_of_unchanged_text_only(tmp_path, encoder_dir):
  store = str(tmp_path / "store")
  key = embedding_store.saved_model_key(encoder_dir)
  assert embedding_store.StoreRun.open("", encoder_dir) is None
  first_items = [{"item_id": "same", "title": "Apollo 13"},
                 {"item_id": "edited", "title": "Gravity"},
                 {"item_id": "gone", "title": "Notting Hill"}]
  counts, first = embed_with_store(tmp_path, "first", first_items,
                                   encoder_dir, store, key)
  assert counts == {"items_embedded": 3}

  # A run that died while writing its version leaves no marker: never read.
  (tmp_path / "store" / "99999999999999").mkdir()
  second_items = [{"item_id": "same", "title": "Apollo 13"},
                  {"item_id": "edited", "title": "Gravity (2013)"},
                  {"item_id": "new", "title": "Interstellar"}]
  counts, second = embed_with_store(tmp_path, "second", second_items,
                                    encoder_dir, store, key)
  assert counts == {"items_embedded": 2, "items_reused": 1,
                    "stored_items_gone": 1}
  assert sorted(second) == ["edited", "new", "same"]
  np.testing.assert_array_equal(second["same"], first["same"])
  encode = text_encoder.load_text_encoder(encoder_dir)
  np.testing.assert_allclose(second["edited"], encode(["Gravity (2013)"])[0],
                             atol=1e-5)
  assert np.abs(second["edited"] - first["edited"]).max() > 1e-3
  complete = [v for v in os.listdir(store)
              if os.path.exists(os.path.join(store, v, "COMPLETE"))]
  assert len(complete) == 1  # the older complete version was deleted

  # Another encoder: nothing is reused.
  counts, _ = embed_with_store(tmp_path, "third", second_items, encoder_dir,
                               store, "another-encoder")
  assert counts == {"items_embedded": 3}


def test_encoder_key_is_the_model_not_its_folder(tmp_path, encoder_dir):
  again = text_encoder.export_text_encoder(str(tmp_path / "again"),
                                           max_seq_length=256)
  assert (embedding_store.saved_model_key(again)
          == embedding_store.saved_model_key(encoder_dir))
  shorter = text_encoder.export_text_encoder(str(tmp_path / "shorter"),
                                             max_seq_length=128)
  assert (embedding_store.saved_model_key(shorter)
          != embedding_store.saved_model_key(encoder_dir))
