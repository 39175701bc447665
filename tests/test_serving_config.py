# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The TF Serving model config and Dockerfiles that cannot be built here."""
import os

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_model_config_parses_and_keeps_the_latest_version():
  with open(os.path.join(ROOT, "serving", "models.config")) as f:
    config = text_format.Parse(f.read(),
                               model_server_config_pb2.ModelServerConfig())
  (model,) = config.model_config_list.config
  assert model.name == "relvid"
  assert model.base_path == "/models/relvid"
  assert model.model_platform == "tensorflow"
  assert model.model_version_policy.latest.num_versions == 1


def test_serving_dockerfile_targets_and_config_path():
  with open(os.path.join(ROOT, "serving", "Dockerfile")) as f:
    text = f.read()
  for needed in ("AS brute_force", "AS scann", "tensorflow/serving:${",
                 "TF_SERVING_VERSION=2.16.1", "--model_config_file=/models/"
                 "models.config", "scann_ops"):
    assert needed in text, needed
