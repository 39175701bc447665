# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Compiles the relvid pipeline for Kubeflow Pipelines v2 / Vertex AI.

  python -m pipeline.kubeflow_v2_runner --config prod.yaml  (or `relvid compile`)

The same `pipeline.create_pipeline` as the local runner, compiled by TFX's
`KubeflowV2DagRunner` into a PipelineJob JSON in which every component runs
in `orchestration.image` (built from the top-level Dockerfile). Submit it
with the Vertex AI SDK (`aiplatform.PipelineJob(template_path=...)`) or the
KFP UI/client. `output_dir` should be a gs:// path: every step runs in its
own container, so the pipeline root must be shared storage.
"""
import dataclasses
import logging
import os
import posixpath
import sys
from typing import Any, Dict, List, Optional

from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from components import ingestion
from components import vertex_driver
from pipeline import options
from pipeline import pipeline as pipeline_lib
from relvid import config as config_lib


def _read_packaged_files_in_the_image(config: config_lib.PipelineConfig
                                      ) -> config_lib.PipelineConfig:
  """The steps read the curated schemas and a packaged MovieLens copy from
  the image, not from this machine's install."""
  data = config.data
  if data.schema_dir == config_lib.PACKAGED_SCHEMA_DIR:
    data = dataclasses.replace(data, schema_dir=posixpath.join(
        config.orchestration.image_workdir,
        *config_lib.PACKAGED_SCHEMA_SUBDIR))
  if data.source in (config_lib.MOVIELENS_100K, config_lib.MOVIELENS_1M):
    interactions, items, _ = ingestion.movielens_patterns(
        data.source, config.orchestration.image_site_packages)
    data = dataclasses.replace(
        data, interactions_path=data.interactions_path or interactions,
        items_path=data.items_path or items)
  return dataclasses.replace(config, data=data)


def _use_span_aware_driver(job: Dict[str, Any]) -> None:
  """Points the ExampleGens' pre-cache-check hook (TFX's file-based
  driver) at `components.vertex_driver`, which reads the `span` pipeline
  parameter first (in place)."""
  for executor in job["pipelineSpec"]["deploymentSpec"]["executors"].values():
    hook = executor.get("container", {}).get("lifecycle", {}).get(
        "preCacheCheck")
    if hook and hook["command"][-1] == vertex_driver.TFX_DRIVER_MODULE:
      hook["command"][-1] = vertex_driver.__name__


def compile_pipeline(config: config_lib.PipelineConfig,
                     output_file: Optional[str] = None) -> str:
  """Writes the KFP v2 PipelineJob JSON; returns its path.

  Args:
    config: the run's configuration (validated here).
    output_file: destination; default `orchestration.kfp_output_file`.

  Raises:
    ValueError: the config cannot run on Kubeflow: its output_dir is on
      this machine's disk, which the step containers do not share.
  """
  config.validate()
  if not config_lib.is_remote(config.output_dir):
    raise ValueError(
        "config field output_dir: must be shared storage such as gs://... on "
        f"Kubeflow/Vertex (every step runs in its own container), got "
        f"{config.output_dir!r}")
  config = _read_packaged_files_in_the_image(config)
  output_file = os.path.abspath(
      output_file or config.orchestration.kfp_output_file)
  runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
      config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
          default_image=config.orchestration.image,
          display_name=config.pipeline_name,
          # Schema 2.1 types pipeline parameters as the KFP SDK and Vertex
          # read them (`parameterType`); 2.0 writes the older `type`.
          use_pipeline_spec_2_1=True),
      output_dir=os.path.dirname(output_file),
      output_filename=os.path.basename(output_file))
  span = pipeline_lib.span_parameter(config, default=config_lib.YESTERDAY)
  # TFX writes a parameter's default into the job's runtime config only
  # when given here: without it Vertex would demand the span on every run.
  job = runner.run(pipeline_lib.create_pipeline(config, span_parameter=span),
                   parameter_values={span.name: span.default} if span else None,
                   write_out=False)
  _use_span_aware_driver(job)
  os.makedirs(os.path.dirname(output_file), exist_ok=True)
  # TFX's writer (JSON, or YAML with comments), as runner.run writes it.
  kubeflow_v2_dag_runner._write_pipeline_spec_to_file(  # pylint: disable=protected-access
      job, f"relvid pipeline {config.pipeline_name}", output_file)
  return output_file


def main(argv: Optional[List[str]] = None,
         prog: str = "python -m pipeline.kubeflow_v2_runner") -> int:
  parser = options.compile_spec(prog)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  config = config_lib.from_args(args)
  if config is None:
    return 2
  try:
    path = compile_pipeline(config, args.output)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {path} (image {config.orchestration.image})")
  return 0


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING)
  sys.exit(main())
