# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The Airflow DAG file: its schedule and the pipeline it runs.

apache-airflow 2.x cannot be installed beside this project's pins (it needs
pydantic<2 / protobuf>=4), so where it is absent the DAG's pipeline is
validated with TFX's own compiler, and the module must import cleanly with
`DAG = None`. Where Airflow is installed the real DAG is checked too."""
import datetime
import importlib.util

import pytest

from pipeline import airflow_dag
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib


def test_dag_config_comes_from_the_orchestration_section():
  config = config_lib.load_config(None, [
      "orchestration.schedule=0 3 * * *",
      "orchestration.start_date=2026-12-01"])
  dag = airflow_dag.airflow_dag_config(config)
  assert dag["dag_id"] == "relvid"
  assert dag["schedule_interval"] == "0 3 * * *"
  assert dag["start_date"] == datetime.datetime(2026, 12, 1)
  assert dag["catchup"] is False


def test_dag_pipeline_compiles_in_dependency_order(tmp_path):
  config = config_lib.load_config(None, [f"output_dir={tmp_path}"])
  nodes = airflow_dag.check(config)
  assert sorted(nodes) == sorted(
      c.id for c in pipeline_lib.create_components(config))
  order = {n: i for i, n in enumerate(nodes)}
  assert order["DataIngestion"] < order["CoEngagementPairs"] < order[
      "Trainer"] < order["RelatedVideoEvaluator"] < order["Pusher"]
  assert (tmp_path / "metadata" / "relvid").is_dir()


def test_dag_object_matches_airflow_availability(capsys, tmp_path):
  if importlib.util.find_spec("airflow") is None:
    assert airflow_dag.DAG is None
  else:
    assert airflow_dag.DAG.dag_id == "relvid"
  assert airflow_dag.main(["--set", f"output_dir={tmp_path}"]) == 0
  out = capsys.readouterr().out
  assert "DAG relvid: schedule @daily" in out and "-> Pusher" in out


def test_bad_schedule_config_is_refused():
  with pytest.raises(ValueError, match="orchestration.schedule"):
    config_lib.load_config(None, ["orchestration.schedule="])
