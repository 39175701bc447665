# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
import glob

import apache_beam as beam
import numpy as np

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
