# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Scheduled runs on Airflow: the DAG that TFX's AirflowDagRunner builds.

`pipeline/airflow_dag.py` is the DAG file Airflow loads (copy it into
`$AIRFLOW_HOME/dags/` on a deployment with `relvid[airflow]` installed and
point `RELVID_CONFIG` at the run's YAML config). This module builds what it
holds and validates it:

  relvid airflow [--config F]      (= python -m pipeline.airflow_runner)

compiles the DAG's pipeline with TFX's compiler, prints the schedule and
the tasks in dependency order and, where Airflow is installed, builds the
real `airflow.models.DAG` too. The DAG is the same `create_pipeline` as the
local runner; its schedule and start date come from
`orchestration.schedule` / `orchestration.start_date`, and ML Metadata is
the SQLite store of `metadata_path` (as with the local runner).
"""
import datetime
import logging
import os
import sys
from typing import Any, Dict, List, Optional

from tfx import v1 as tfx

from pipeline import options
from pipeline import pipeline as pipeline_lib
from relvid import config as config_lib

# The run's logical date as YYYY-MM-DD; for a daily schedule the day whose
# data the run reads. A run triggered with conf {"span": ...} reads that.
AIRFLOW_RUN_DATE = "{{ ds }}"


def airflow_dag_config(config: config_lib.PipelineConfig) -> Dict[str, Any]:
  """Arguments of the `airflow.models.DAG` that AirflowDagRunner builds (it
  passes dag_id = pipeline_name itself)."""
  return {"schedule": config.orchestration.schedule,
          "start_date": datetime.datetime.combine(
              datetime.date.fromisoformat(config.orchestration.start_date),
              datetime.time()),
          # With a span placeholder each run reads its own day, so a
          # catch-up backfills the missed days in order.
          "catchup": config.orchestration.catchup,
          "max_active_runs": 1}


def create_airflow_pipeline(config: config_lib.PipelineConfig
                            ) -> tfx.dsl.Pipeline:
  """The pipeline the DAG runs, with its ML Metadata store; a path that
  names a span reads the run's date (`{{ ds }}`, the start of its data
  interval) unless data.span fixes one."""
  return pipeline_lib.create_pipeline(
      config, pipeline_lib.sqlite_metadata(config),
      span_parameter=pipeline_lib.span_parameter(config, AIRFLOW_RUN_DATE))


def _named_per_component(driver_class: type) -> type:
  """`driver_class` with its output artifacts named
  `<component id>:<output key>:<run id>` instead of TFX's
  `<output key>:<run id>`: ML Metadata requires names unique per artifact
  type, so two components of one kind in a run (each table's
  StatisticsGen, SchemaGen and ExampleValidator) would collide. Inputs are
  found by the producer's events, not by name."""

  class Driver(driver_class):

    def _prepare_output_artifacts(self, input_artifacts, output_dict,
                                  exec_properties, execution_id,
                                  pipeline_info, component_info):
      outputs = super()._prepare_output_artifacts(
          input_artifacts, output_dict, exec_properties, execution_id,
          pipeline_info, component_info)
      for artifacts in outputs.values():
        for artifact in artifacts:
          if artifact.name:
            artifact.name = f"{component_info.component_id}:{artifact.name}"
      return outputs

  Driver.__name__ = driver_class.__name__
  return Driver


def create_dag(config: config_lib.PipelineConfig):
  """The Airflow DAG (needs apache-airflow installed)."""
  # pylint: disable=g-import-not-at-top
  from tfx.orchestration.airflow.airflow_dag_runner import AirflowDagRunner
  from tfx.orchestration.airflow.airflow_dag_runner import AirflowPipelineConfig
  from tfx.orchestration.launcher import in_process_component_launcher

  class Launcher(in_process_component_launcher.InProcessComponentLauncher):
    """TFX's in-process launcher with `_named_per_component` drivers."""

    def __init__(self, component, *args, **kwargs):
      super().__init__(component, *args, **kwargs)
      self._driver_class = _named_per_component(self._driver_class)

  dag = AirflowDagRunner(AirflowPipelineConfig(
      airflow_dag_config=airflow_dag_config(config),
      supported_launcher_classes=[Launcher])).run(
          create_airflow_pipeline(config))
  for task in dag.tasks:
    # TFX's task writes the rendered values (the span) into its component's
    # exec_properties, which is the very dict holding the templates: a
    # second run in the same process (`dag.test()` per date) would find the
    # first run's values instead of its own. A copy keeps the templates.
    if "exec_properties" in task.op_kwargs:
      task.op_kwargs = dict(task.op_kwargs, exec_properties=dict(
          task.op_kwargs["exec_properties"]))
  return dag


def check(config: config_lib.PipelineConfig) -> List[str]:
  """Compiles the DAG's pipeline with TFX's compiler (what Airflow would
  schedule); returns the node ids in topological order."""
  from tfx.dsl.compiler import compiler  # pylint: disable=g-import-not-at-top
  ir = compiler.Compiler().compile(create_airflow_pipeline(config))
  return [node.pipeline_node.node_info.id for node in ir.nodes]


def airflow_installed() -> bool:
  import importlib.util  # pylint: disable=g-import-not-at-top
  return importlib.util.find_spec("airflow") is not None


def dag_from_environment():
  """The DAG of the config named by $RELVID_CONFIG (defaults otherwise), for
  the DAG file. The metadata store's folder is made here, as the runner's
  set-up: the tasks open the SQLite file in it."""
  config = config_lib.load_config(os.environ.get(options.AIRFLOW_CONFIG_ENV))
  os.makedirs(os.path.dirname(config_lib.metadata_path(config)),
              exist_ok=True)
  return create_dag(config)


def main(argv: Optional[List[str]] = None,
         prog: str = "python -m pipeline.airflow_runner") -> int:
  parser = options.airflow(prog)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  config = config_lib.from_args(args, local_metadata=True)
  if config is None:
    return 2
  nodes = check(config)
  dag = airflow_dag_config(config)
  print(f"DAG {config.pipeline_name}: schedule {dag['schedule']}, "
        f"start {dag['start_date']:%Y-%m-%d}, catchup "
        f"{'on' if dag['catchup'] else 'off'}, {len(nodes)} tasks: "
        + " -> ".join(nodes))
  if pipeline_lib.span_parameter(config, AIRFLOW_RUN_DATE):
    print(f"each run reads the span of its date ({AIRFLOW_RUN_DATE}; a run "
          'triggered with conf {"span": ...} reads that one)')
  if airflow_installed():
    tasks = len(create_dag(config).tasks)
    print(f"Airflow installed: DAG built with {tasks} tasks")
  else:
    print("Airflow not installed (pip install -c constraints.txt "
          "'relvid[airflow]'): validated with TFX's compiler only")
  return 0


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING)
  sys.exit(main())
