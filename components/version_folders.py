# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Numbered folders (serving versions, embedding-store versions), local or
on remote storage. Apart from example_io so that the model server, which
needs only these, does not import TFX and Beam (seconds at start-up)."""
import os
from typing import Callable, List

import tensorflow as tf


def numbered_folders(base_path: str,
                     is_complete: Callable[[str], bool] = lambda path: True
                     ) -> List[int]:
  """The numeric folder names under `base_path` (local or gs://) whose
  folder `is_complete`, oldest first; [] when there is no such folder."""
  if not tf.io.gfile.isdir(base_path):
    return []
  versions = []
  for entry in tf.io.gfile.listdir(base_path):
    entry = entry.rstrip("/")
    if entry.isdigit() and is_complete(os.path.join(base_path, entry)):
      versions.append(int(entry))
  return sorted(versions)


def serving_versions(base_path: str) -> List[int]:
  """The numeric version folders under a model's serving folder that hold a
  complete SavedModel, oldest first (local or gs://, as TF Serving allows).
  A version being written under a staging name is not one of them."""
  return numbered_folders(
      base_path, lambda path: tf.io.gfile.exists(
          os.path.join(path, "saved_model.pb")) and tf.io.gfile.isdir(
              os.path.join(path, "variables")))
