# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The Kubeflow v2 / Vertex compile: every component, the image, Beam args."""
import json

import pytest

from pipeline import config as config_lib
from pipeline import kubeflow_v2_runner
from pipeline import pipeline as pipeline_lib

IMAGE = "europe-docker.pkg.dev/acme/ml/relvid:1.2.3"
DATAFLOW = ["beam.runner=DataflowRunner", "beam.project=acme",
            "beam.region=europe-west4", "beam.temp_location=gs://acme/tmp"]


def compiled(tmp_path, overrides):
  config = config_lib.load_config(None, [
      "output_dir=gs://acme/relvid", f"orchestration.image={IMAGE}"]
      + overrides)
  path = kubeflow_v2_runner.compile_pipeline(config,
                                             str(tmp_path / "relvid.json"))
  with open(path) as f:
    return config, json.load(f)


def executors(job):
  return job["pipelineSpec"]["deploymentSpec"]["executors"]


@pytest.mark.parametrize("visual", [False, True])
def test_spec_names_every_component_and_the_image(tmp_path, visual):
  config, job = compiled(tmp_path, DATAFLOW + [f"visual.enabled={visual}"])
  expected = {c.id for c in pipeline_lib.create_components(config)}
  tasks = set(job["pipelineSpec"]["root"]["dag"]["tasks"])
  assert tasks == expected
  assert ("VisualEmbedder" in tasks) == visual
  assert job["pipelineSpec"]["pipelineInfo"]["name"] == "relvid"
  for executor in executors(job).values():
    assert executor["container"]["image"] == IMAGE
  assert job["runtimeConfig"]["gcsOutputDirectory"].startswith(
      "gs://acme/relvid/")


def test_beam_components_get_the_dataflow_args(tmp_path):
  _, job = compiled(tmp_path, DATAFLOW)
  args = executors(job)["CoEngagementPairs_executor"]["container"]["args"]
  for arg in ("--runner=DataflowRunner", "--project=acme",
              "--region=europe-west4", "--temp_location=gs://acme/tmp",
              f"--sdk_container_image={IMAGE}"):
    assert arg in args
  # The schemas are read inside the image, not from this machine's venv.
  spec = json.dumps(job)
  assert "/app/pipeline/schemas/items/schema.pbtxt" in spec
  assert config_lib.PACKAGED_SCHEMA_DIR not in spec


def test_flink_args(tmp_path):
  _, job = compiled(tmp_path, ["beam.runner=FlinkRunner",
                               "beam.flink_master=flink-jm:8081"])
  args = executors(job)["DataIngestion_executor"]["container"]["args"]
  assert "--flink_master=flink-jm:8081" in args
  assert "--environment_type=DOCKER" in args
  assert f"--environment_config={IMAGE}" in args


def test_demo_catalog_cannot_be_compiled(tmp_path):
  with pytest.raises(ValueError, match="data.source"):
    compiled(tmp_path, ["data.source=demo_media"])


def test_cli_entry_writes_the_spec(tmp_path, capsys):
  out = tmp_path / "spec.json"
  assert kubeflow_v2_runner.main(
      ["--set", "output_dir=gs://acme/relvid", "--output", str(out)]) == 0
  assert "TextEmbedder" in json.loads(out.read_text())["pipelineSpec"][
      "root"]["dag"]["tasks"]
  assert kubeflow_v2_runner.main(["--set", "beam.runner=SparkRunner"]) == 2
  assert "beam.spark_master_url" in capsys.readouterr().err
