# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The Kubeflow v2 / Vertex compile: every component, the image, Beam args."""
import json
import os

import pytest

from relvid import config as config_lib
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
  assert "/app/relvid/schemas/items/schema.pbtxt" in spec
  assert config_lib.PACKAGED_SCHEMA_DIR not in spec


def test_flink_args(tmp_path):
  _, job = compiled(tmp_path, ["beam.runner=FlinkRunner",
                               "beam.flink_master=flink-jm:8081"])
  args = executors(job)["interactions_ExampleGen_executor"]["container"][
      "args"]
  assert "--flink_master=flink-jm:8081" in args
  assert "--environment_type=DOCKER" in args
  assert f"--environment_config={IMAGE}" in args


def test_every_artifact_and_the_push_land_under_the_gs_root(tmp_path):
  _, job = compiled(tmp_path, ["data.source=demo_media"])
  # Every output artifact (the evaluator's metrics and blessing included)
  # gets its URI under the pipeline root at run time.
  assert job["runtimeConfig"]["gcsOutputDirectory"] == (
      "gs://acme/relvid/pipelines/relvid")
  spec = job["pipelineSpec"]
  evaluator = spec["components"]["RelatedVideoEvaluator"]["outputDefinitions"]
  assert set(evaluator["artifacts"]) == {"evaluation", "blessing"}
  # The Pusher's destination stays a gs:// URI (not <cwd>/gs:/...).
  text = json.dumps(job)
  assert "gs://acme/relvid/serving/relvid" in text
  assert os.getcwd() not in text and "gs:/acme" not in text
  # The demo catalog is written into DemoCatalogGen's (gs://) artifact.
  assert "DemoCatalogGen" in spec["root"]["dag"]["tasks"]


def test_a_local_output_dir_cannot_be_compiled(tmp_path):
  with pytest.raises(ValueError, match="output_dir"):
    kubeflow_v2_runner.compile_pipeline(
        config_lib.load_config(None, [f"output_dir={tmp_path}"]),
        str(tmp_path / "relvid.json"))


def test_cli_entry_writes_the_spec(tmp_path, capsys):
  out = tmp_path / "spec.json"
  assert kubeflow_v2_runner.main(
      ["--set", "output_dir=gs://acme/relvid", "--output", str(out)]) == 0
  assert "TextEmbedder" in json.loads(out.read_text())["pipelineSpec"][
      "root"]["dag"]["tasks"]
  assert kubeflow_v2_runner.main(["--set", "beam.runner=SparkRunner"]) == 2
  assert "beam.spark_master_url" in capsys.readouterr().err


def test_the_kfp_sdk_parses_and_recompiles_the_spec(tmp_path):
  """What Vertex / KFP clients do with the file: the KFP SDK (kfp 2.13)
  parses the PipelineSpec strictly (an unknown field is an error), loads it
  as a pipeline component and compiles that again."""
  import yaml  # pylint: disable=g-import-not-at-top
  from google.protobuf import json_format  # pylint: disable=g-import-not-at-top
  from kfp import compiler  # pylint: disable=g-import-not-at-top
  from kfp import components  # pylint: disable=g-import-not-at-top
  from kfp.pipeline_spec import pipeline_spec_pb2  # pylint: disable=g-import-not-at-top
  config, job = compiled(tmp_path, DATAFLOW + ["visual.enabled=true"])
  spec = json_format.ParseDict(job["pipelineSpec"],
                               pipeline_spec_pb2.PipelineSpec())
  expected = {c.id for c in pipeline_lib.create_components(config)}
  assert set(spec.root.dag.tasks) == expected
  component = components.load_component_from_text(
      yaml.safe_dump(job["pipelineSpec"]))
  assert component.name == "relvid"
  compiler.Compiler().compile(component, str(tmp_path / "recompiled.yaml"))
  with open(tmp_path / "recompiled.yaml") as f:
    recompiled = yaml.safe_load(f)
  assert set(recompiled["root"]["dag"]["tasks"]) == expected
  assert recompiled["deploymentSpec"] == job["pipelineSpec"]["deploymentSpec"]
  # The ExampleGens' driver hook survives the SDK's strict parse.
  for table in ("interactions", "items"):
    assert recompiled["deploymentSpec"]["executors"][
        f"{table}_ExampleGen_executor"]["container"]["lifecycle"][
            "preCacheCheck"]["command"][-1] == "components.vertex_driver"


@pytest.mark.parametrize("overrides", [
    [], ["data.source=files", "data.interactions_path=gs://acme/logs/"
         "{YYYY}-{MM}-{DD}/*.parquet", "data.items_path=gs://acme/items/*",
         "data.file_format=parquet"]])
def test_ingestion_runs_tfx_example_gen_driver_before_the_cache_check(
    tmp_path, overrides):
  """Vertex runs a FileBasedExampleGen's driver as the step's
  pre-cache-check hook: span, version and the input fingerprint enter the
  cache key before the cache is looked up (TFX compiles the hook for
  FileBasedExampleGen subclasses only)."""
  _, job = compiled(tmp_path, overrides)
  tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
  hooks = {}
  for name, executor in executors(job).items():
    hook = executor["container"].get("lifecycle", {}).get("preCacheCheck")
    if hook:
      hooks[name] = hook
  assert sorted(hooks) == ["interactions_ExampleGen_executor",
                           "items_ExampleGen_executor"]
  for name, hook in hooks.items():
    # TFX's driver behind the span parameter (components/vertex_driver.py).
    assert hook["command"] == ["python", "-m", "components.vertex_driver"]
    assert hook["args"][:2] == ["--json_serialized_invocation_args", "{{$}}"]
    container = executors(job)[name]["container"]
    assert container["args"][:2] == [
        "--executor_class_path",
        "components.ingestion.TableExampleGenExecutor"]
  for table in ("interactions", "items"):
    assert tasks[f"{table}_ExampleGen"]["cachingOptions"] == {
        "enableCache": True}
  parameters = {
      table: {k: v["runtimeValue"]["constant"] for k, v in tasks[
          f"{table}_ExampleGen"]["inputs"]["parameters"].items()
              if "runtimeValue" in v}
      for table in ("interactions", "items")}
  if overrides:  # a date-span glob on gs://, read in place
    assert parameters["interactions"]["input_base"] == "gs://acme/logs"
    assert json.loads(parameters["interactions"]["input_config"])[
        "splits"][0]["pattern"] == (
            "{YYYY}-{MM}-{DD}/*.parquet")
  else:  # packaged MovieLens: read inside the image, not this machine
    assert parameters["items"]["input_base"] == (
        "/usr/local/lib/python3.10/site-packages/recbole/dataset_example/"
        "ml-100k")
    assert parameters["items"]["file_format"] == "atomic"
    assert config_lib.PACKAGED_SCHEMA_DIR not in json.dumps(job)


def test_window_and_serving_comparison_compile(tmp_path):
  """The window is resolved by CoEngagementPairs from the span registry
  (no span-range resolver, which Kubeflow v2 does not compile), and the
  evaluator gets the Pusher's destination to compare with."""
  config, job = compiled(tmp_path, [
      "data.source=files", "data.items_path=gs://acme/items/*.csv",
      "data.interactions_path=gs://acme/logs/{YYYY}-{MM}-{DD}/*.csv",
      "data.window_days=7"])
  tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
  assert not [t for t in tasks if "Resolver" in t]
  spec = json.dumps(job["pipelineSpec"]["root"]["dag"]["tasks"][
      "CoEngagementPairs"])
  assert "gs://acme/relvid/span_registry/relvid" in spec
  evaluator = json.dumps(tasks["RelatedVideoEvaluator"])
  assert config_lib.serving_model_dir(config) in evaluator


def test_span_parameter_and_warm_start_compile(tmp_path):
  """A daily job on Vertex: the interactions ExampleGen reads the `span`
  pipeline parameter (default `yesterday`, in the job's runtime config),
  the items table, whose path names no span, does not; the Trainer's base
  model comes from the LatestBlessedModel resolver, which Kubeflow v2
  compiles; the KFP SDK accepts the spec with its parameter."""
  import yaml  # pylint: disable=g-import-not-at-top
  from kfp import components  # pylint: disable=g-import-not-at-top
  _, job = compiled(tmp_path, [
      "data.source=files", "data.items_path=gs://acme/items/*.csv",
      "data.interactions_path=gs://acme/logs/{YYYY}-{MM}-{DD}/*.csv",
      "data.window_days=7"])
  spec = job["pipelineSpec"]
  assert spec["schemaVersion"] == "2.1.0"
  assert spec["root"]["inputDefinitions"]["parameters"] == {
      "span": {"parameterType": "STRING"}}
  assert job["runtimeConfig"]["parameterValues"] == {"span": "yesterday"}
  tasks = spec["root"]["dag"]["tasks"]
  assert tasks["interactions_ExampleGen"]["inputs"]["parameters"][
      "span"] == {"componentInputParameter": "span"}
  assert "span" not in tasks["items_ExampleGen"]["inputs"]["parameters"]
  assert tasks["Trainer"]["inputs"]["artifacts"]["base_model"][
      "taskOutputArtifact"]["producerTask"] == (
          "latest_blessed_model_resolver-model-resolver")
  component = components.load_component_from_text(yaml.safe_dump(spec))
  assert list(component.component_spec.inputs) == ["span"]


def _driver_input(logs, out, span, schema="2.1"):
  """The ExecutorInput Vertex gives the hook: pipeline spec 2.1 (what
  `relvid compile` writes) puts the parameters in `parameterValues` and
  passes an inputs spec, 2.0 in `parameters`. Returns (input, spec)."""
  from google.protobuf import json_format  # pylint: disable=g-import-not-at-top
  from kfp.pipeline_spec import pipeline_spec_pb2  # pylint: disable=g-import-not-at-top
  from tfx.proto import example_gen_pb2  # pylint: disable=g-import-not-at-top
  from tfx.utils import proto_utils  # pylint: disable=g-import-not-at-top
  pattern = proto_utils.proto_to_json(example_gen_pb2.Input(splits=[
      example_gen_pb2.Input.Split(name="all", pattern="{YYYY}-{MM}-{DD}.csv")]))
  values = {"input_base": str(logs), "input_config": pattern, "span": span}
  inputs_spec = None
  if schema == "2.1":
    inputs = {"parameterValues": values}
    inputs_spec = pipeline_spec_pb2.ComponentInputsSpec()
    json_format.ParseDict({"parameters": {
        k: {"parameterType": "STRING"} for k in values}}, inputs_spec)
  else:
    inputs = {"parameters": {k: {"stringValue": v}
                             for k, v in values.items()}}
  executor_input = pipeline_spec_pb2.ExecutorInput()
  json_format.ParseDict({
      "inputs": inputs,
      "outputs": {"artifacts": {"examples": {"artifacts": [{
          "name": "projects/p/artifacts/1",
          "type": {"schemaTitle": "tfx.Examples"},
          "uri": str(out / "examples")}]}},
                  "outputFile": str(out / "metadata.json")}},
      executor_input)
  return executor_input, inputs_spec


@pytest.mark.parametrize("span,expected_day,schema", [
    ("2000-06-01", "2000-06-01", "2.1"), ("", "2000-06-02", "2.1"),
    ("11109", "2000-06-01", "2.0")])
def test_vertex_driver_reads_the_span_parameter(tmp_path, span,
                                                 expected_day, schema):
  """The hook turns the span parameter into TFX's range config and runs
  TFX's driver: a date or span number reads that day, an empty one the
  latest day (TFX's default)."""
  from components import vertex_driver  # pylint: disable=g-import-not-at-top
  from tfx.orchestration.kubeflow.v2.file_based_example_gen import driver  # pylint: disable=g-import-not-at-top
  logs = tmp_path / "logs"
  logs.mkdir()
  for day in ("2000-06-01", "2000-06-02"):
    (logs / f"{day}.csv").write_text("user_id,item_id,timestamp\nu,a,1\n")
  executor_input, inputs_spec = _driver_input(logs, tmp_path, span, schema)
  vertex_driver.read_span_parameter(executor_input)
  driver._run_driver(executor_input, inputs_spec)  # pylint: disable=protected-access
  with open(tmp_path / "metadata.json") as f:
    resolved = json.load(f)["parameterValues"]
  assert json.loads(resolved["input_config"])["splits"][0]["pattern"] == (
      f"{expected_day}.csv")
  assert resolved["span"] == config_lib.span_number(expected_day)


def test_vertex_driver_names_a_bad_span(tmp_path):
  from components import vertex_driver  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match="the run's span parameter: 'June'"):
    vertex_driver.read_span_parameter(_driver_input(tmp_path, tmp_path,
                                                    "June")[0])


def test_trainer_worker_pools_on_vertex(tmp_path):
  """trainer.distribution=parameter_server with Vertex worker pools: the
  Trainer is TFX's Vertex AI Trainer, its custom job asks for the chief,
  the workers and the parameter servers in the project image, and the KFP
  SDK accepts the spec."""
  import yaml  # pylint: disable=g-import-not-at-top
  from kfp import components  # pylint: disable=g-import-not-at-top
  _, job = compiled(tmp_path, [
      "trainer.distribution=parameter_server",
      "orchestration.vertex_project=acme", "orchestration.vertex_region="
      "europe-west4", "orchestration.vertex_workers=4",
      "orchestration.vertex_parameter_servers=2",
      "orchestration.vertex_parameter_server_machine_type=n2-highmem-32"])
  trainer = executors(job)["Trainer_executor"]["container"]
  assert trainer["image"] == IMAGE
  assert any("google_cloud_ai_platform.trainer.executor" in arg
             for arg in trainer["args"])
  custom = json.loads(job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"][
      "inputs"]["parameters"]["custom_config"]["runtimeValue"]["constant"])
  assert custom["ai_platform_enable_vertex"] is True
  assert custom["ai_platform_vertex_region"] == "europe-west4"
  assert custom["trainer"]["distribution"] == "parameter_server"
  args = custom["ai_platform_training_args"]
  assert args["project"] == "acme"
  assert args["job_spec"]["worker_pool_specs"] == [
      {"machine_spec": {"machine_type": "n1-highmem-8"}, "replica_count": 1,
       "container_spec": {"image_uri": IMAGE}},
      {"machine_spec": {"machine_type": "n1-standard-8"}, "replica_count": 4,
       "container_spec": {"image_uri": IMAGE}},
      {"machine_spec": {"machine_type": "n2-highmem-32"},
       "replica_count": 2, "container_spec": {"image_uri": IMAGE}}]
  components.load_component_from_text(yaml.safe_dump(job["pipelineSpec"]))


def test_synchronous_training_asks_vertex_for_the_chief_and_workers(
    tmp_path):
  """trainer.distribution=multi_worker_mirrored: the custom job's pools
  are the chief and the workers, no parameter servers (every replica
  holds the variables)."""
  _, job = compiled(tmp_path, [
      "trainer.distribution=multi_worker_mirrored",
      "orchestration.vertex_project=acme", "orchestration.vertex_workers=3"])
  custom = json.loads(job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"][
      "inputs"]["parameters"]["custom_config"]["runtimeValue"]["constant"])
  assert custom["trainer"]["distribution"] == "multi_worker_mirrored"
  assert custom["ai_platform_training_args"]["job_spec"][
      "worker_pool_specs"] == [
          {"machine_spec": {"machine_type": "n1-highmem-8"},
           "replica_count": 1, "container_spec": {"image_uri": IMAGE}},
          {"machine_spec": {"machine_type": "n1-standard-8"},
           "replica_count": 3, "container_spec": {"image_uri": IMAGE}}]


@pytest.mark.parametrize("overrides, field", [
    (["orchestration.vertex_workers=2"], "orchestration.vertex_project"),
    (["orchestration.vertex_project=acme",
      "trainer.distribution=multi_worker_mirrored"],
     "orchestration.vertex_workers"),
    (["orchestration.vertex_project=acme",
      "trainer.distribution=multi_worker_mirrored",
      "orchestration.vertex_workers=2",
      "orchestration.vertex_parameter_servers=1"],
     "orchestration.vertex_parameter_servers"),
    (["orchestration.vertex_project=acme",
      "trainer.distribution=parameter_server"],
     "orchestration.vertex_workers"),
    (["orchestration.vertex_project=acme",
      "trainer.distribution=parameter_server",
      "orchestration.vertex_workers=2"],
     "orchestration.vertex_parameter_servers"),
    (["orchestration.vertex_project=acme", "orchestration.vertex_workers=1"],
     "orchestration.vertex_workers"),
    (["orchestration.vertex_project=acme", "orchestration.image="],
     "orchestration.image")])
def test_bad_worker_pools_are_refused(overrides, field):
  with pytest.raises(ValueError, match=field):
    config_lib.load_config(None, overrides)


def test_the_documented_vertex_example_compiles(tmp_path):
  """docs/distributed-training.md's YAML, as a user copies it."""
  import re  # pylint: disable=g-import-not-at-top
  docs = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs",
                      "distributed-training.md")
  with open(docs) as f:
    (block,) = re.findall(r"```yaml\n(.*?)```", f.read(), re.S)
  (tmp_path / "vertex_ps.yaml").write_text(block)
  config = config_lib.load_config(str(tmp_path / "vertex_ps.yaml"))
  path = kubeflow_v2_runner.compile_pipeline(config,
                                             str(tmp_path / "relvid.json"))
  with open(path) as f:
    custom = json.loads(json.load(f)["pipelineSpec"]["root"]["dag"]["tasks"][
        "Trainer"]["inputs"]["parameters"]["custom_config"]["runtimeValue"][
            "constant"])
  pools = custom["ai_platform_training_args"]["job_spec"]["worker_pool_specs"]
  assert [p["replica_count"] for p in pools] == [1, 8, 4]
