# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Shared fixtures: the text encoder is exported once per test session."""
import os

import pytest

import pipeline  # noqa: F401  (selects Keras 2 before TF loads)

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")


@pytest.fixture(scope="session")
def encoder_dir(tmp_path_factory):
  from components import text_encoder
  return text_encoder.export_text_encoder(
      str(tmp_path_factory.mktemp("encoder")), max_seq_length=256)


def write_csv(path, header, rows):
  import csv
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows(rows)
  return str(path)
