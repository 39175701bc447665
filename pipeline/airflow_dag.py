# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Airflow DAG for scheduled relvid runs (TFX Airflow orchestration).

Copy (or symlink) this file into `$AIRFLOW_HOME/dags/` on an Airflow 2.x
deployment whose Python environment has this package installed, and point
`RELVID_CONFIG` at the run's YAML config. The DAG is the same
`pipeline.create_pipeline` as the local runner, turned into an Airflow DAG
by TFX's `AirflowDagRunner`; its schedule and start date come from
`orchestration.schedule` / `orchestration.start_date`, and ML Metadata is the
SQLite store under `output_dir` (as with the local runner).

Airflow itself is not part of this project's lock: apache-airflow 2.x cannot
be installed beside its pins (it needs pydantic<2 / protobuf>=4 through its
dependencies). Without Airflow, importing this module defines `DAG = None`
and `python -m pipeline.airflow_dag` validates the DAG's pipeline
with TFX's compiler instead (see README, "Airflow").
"""
import argparse
import datetime
import logging
import os
import sys
from typing import Any, Dict, List, Optional

import pipeline  # noqa: F401  (selects Keras 2 before TF loads)
from tfx import v1 as tfx

from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib

CONFIG_ENV = "RELVID_CONFIG"


def airflow_dag_config(config: config_lib.PipelineConfig) -> Dict[str, Any]:
  """Arguments of the `airflow.models.DAG` that AirflowDagRunner builds."""
  return {"dag_id": config.pipeline_name,
          "schedule_interval": config.orchestration.schedule,
          "start_date": datetime.datetime.combine(
              datetime.date.fromisoformat(config.orchestration.start_date),
              datetime.time()),
          # A missed day is not backfilled: each run trains on the logs as
          # they are when it starts.
          "catchup": False,
          "max_active_runs": 1}


def create_airflow_pipeline(config: config_lib.PipelineConfig
                            ) -> tfx.dsl.Pipeline:
  """The pipeline the DAG runs, with its ML Metadata store."""
  os.makedirs(os.path.dirname(pipeline_lib.metadata_path(config)),
              exist_ok=True)
  return pipeline_lib.create_pipeline(
      config, tfx.orchestration.metadata.sqlite_metadata_connection_config(
          pipeline_lib.metadata_path(config)))


def create_dag(config: config_lib.PipelineConfig):
  """The Airflow DAG (needs apache-airflow installed)."""
  # pylint: disable=g-import-not-at-top
  from tfx.orchestration.airflow.airflow_dag_runner import AirflowDagRunner
  from tfx.orchestration.airflow.airflow_dag_runner import AirflowPipelineConfig
  return AirflowDagRunner(AirflowPipelineConfig(
      airflow_dag_config=airflow_dag_config(config))).run(
          create_airflow_pipeline(config))


def check(config: config_lib.PipelineConfig) -> List[str]:
  """Compiles the DAG's pipeline with TFX's compiler (what Airflow would
  schedule); returns the node ids in topological order."""
  from tfx.dsl.compiler import compiler  # pylint: disable=g-import-not-at-top
  ir = compiler.Compiler().compile(create_airflow_pipeline(config))
  return [node.pipeline_node.node_info.id for node in ir.nodes]


def _airflow_installed() -> bool:
  import importlib.util  # pylint: disable=g-import-not-at-top
  return importlib.util.find_spec("airflow") is not None


if _airflow_installed():
  DAG = create_dag(config_lib.load_config(os.environ.get(CONFIG_ENV)))
else:
  DAG = None


def main(argv: Optional[List[str]] = None,
         prog: str = "python -m pipeline.airflow_dag") -> int:
  parser = argparse.ArgumentParser(
      prog=prog,
      description="Validate the Airflow DAG's pipeline (TFX compile).")
  config_lib.add_arguments(parser, os.environ.get(CONFIG_ENV))
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  config = config_lib.from_args(args)
  if config is None:
    return 2
  nodes = check(config)
  dag = airflow_dag_config(config)
  print(f"DAG {dag['dag_id']}: schedule {dag['schedule_interval']}, start "
        f"{dag['start_date']:%Y-%m-%d}, {len(nodes)} tasks: "
        + " -> ".join(nodes))
  print("Airflow installed: " + ("yes, DAG built" if DAG is not None else
                                 "no (DAG = None; validated with TFX's "
                                 "compiler only)"))
  return 0


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING)
  sys.exit(main())
