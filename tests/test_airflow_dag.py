# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The Airflow DAG: its schedule, the pipeline it runs, and Airflow's own
DagBag loading pipeline/airflow_dag.py the way a scheduler does.

Airflow is the `airflow` extra, which `make setup` (and so CI) installs; a
test that needs it is skipped, saying why, where it is absent. Airflow is
only ever imported in a child process: importing it reconfigures logging
and the interpreter's hooks for the whole process. `relvid airflow` is run
as the installed script by tests/test_installed_cli.py."""
import datetime
import glob
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from pipeline import airflow_runner
from pipeline import pipeline as pipeline_lib
from relvid import config as config_lib

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAG_FILE = os.path.join(PROJECT, "pipeline", "airflow_dag.py")
needs_airflow = pytest.mark.skipif(
    importlib.util.find_spec("airflow") is None,
    reason="apache-airflow is not installed (the `airflow` extra)")


def test_dag_config_comes_from_the_orchestration_section():
  config = config_lib.load_config(None, [
      "orchestration.schedule=0 3 * * *",
      "orchestration.start_date=2026-12-01"])
  dag = airflow_runner.airflow_dag_config(config)
  assert "dag_id" not in dag  # AirflowDagRunner passes the pipeline name
  assert dag["schedule"] == "0 3 * * *"
  assert dag["start_date"] == datetime.datetime(2026, 12, 1)
  assert dag["catchup"] is False and dag["max_active_runs"] == 1
  catching_up = config_lib.load_config(None, ["orchestration.catchup=true"])
  assert airflow_runner.airflow_dag_config(catching_up)["catchup"] is True


def test_dag_pipeline_compiles_in_dependency_order(tmp_path):
  config = config_lib.load_config(None, [f"output_dir={tmp_path}"])
  nodes = airflow_runner.check(config)
  assert sorted(nodes) == sorted(
      c.id for c in pipeline_lib.create_components(config))
  order = {n: i for i, n in enumerate(nodes)}
  assert order["interactions_ExampleGen"] < order["CoEngagementPairs"] < order[
      "Trainer"] < order["RelatedVideoEvaluator"] < order["Pusher"]
  assert list(tmp_path.iterdir()) == []  # building the DAG writes nothing


@needs_airflow
def test_airflow_dagbag_loads_the_dag_file(tmp_path):
  config_file = tmp_path / "prod.yaml"
  config_file.write_text(f"output_dir: {tmp_path / 'out'}\n"
                         "orchestration:\n  schedule: '0 3 * * *'\n")
  # A fresh interpreter, like the scheduler's DAG processor: Airflow's own
  # settings live under AIRFLOW_HOME, the DAG's config in RELVID_CONFIG.
  script = (
      "import json, sys\n"
      "from airflow.models import DagBag\n"
      f"bag = DagBag(dag_folder={DAG_FILE!r}, include_examples=False)\n"
      "dag = bag.dags.get('relvid')\n"
      "print(json.dumps({'errors': {k: str(v) for k, v in "
      "bag.import_errors.items()}, 'tasks': sorted(dag.task_ids) if dag "
      "else [], 'schedule': str(dag.schedule_interval) if dag else '', "
      "'catchup': dag.catchup if dag else None, "
      "'max_active_runs': dag.max_active_runs if dag else None}))\n")
  # Parsing imports TFX and TensorFlow, which can outlast Airflow's default
  # 30 s import timeout on a busy 2-core machine: the settings in
  # docs/operations.md.
  env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"),
             RELVID_CONFIG=str(config_file), PYTHONPATH=PROJECT,
             AIRFLOW__CORE__LOAD_EXAMPLES="false",
             AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="180",
             AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT="240")
  out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  loaded = json.loads(out.stdout.strip().splitlines()[-1])
  assert loaded["errors"] == {}
  config = config_lib.load_config(str(config_file))
  assert loaded["tasks"] == sorted(
      c.id for c in pipeline_lib.create_components(config))
  assert loaded["schedule"] == "0 3 * * *"
  assert loaded["catchup"] is False and loaded["max_active_runs"] == 1
  assert (tmp_path / "out" / "metadata" / "relvid").is_dir()


# One Airflow task run, as a worker runs it: a fresh interpreter that loads
# the DAG file and executes the task for one DAG run (its TaskInstance only
# gives the run id to TFX's Airflow launcher).
RUN_TASK = """
import sys, types
from airflow.models import DagBag
bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
assert not bag.import_errors, bag.import_errors
run = types.SimpleNamespace(run_id=sys.argv[3])
bag.dags["relvid"].get_task(sys.argv[2]).execute(
    context={"ti": types.SimpleNamespace(get_dagrun=lambda: run)})
"""


@needs_airflow
def test_airflow_runs_ingestion_with_its_driver(tmp_path):
  """TFX's Airflow launcher runs TableExampleGen's driver before its cache
  check: an unchanged log is served from the cache, rows appended to it
  make a new execution with a new input fingerprint."""
  from components import ingestion  # pylint: disable=g-import-not-at-top
  from ml_metadata.metadata_store import metadata_store  # pylint: disable=g-import-not-at-top
  from tests.conftest import write_csv  # pylint: disable=g-import-not-at-top
  (tmp_path / "logs").mkdir()
  log = write_csv(tmp_path / "logs" / "day1.csv",
                  ["user_id", "item_id", "timestamp"],
                  [["u1", "a", "100"], ["u1", "b", "200"]])
  items = write_csv(tmp_path / "items.csv", ["item_id", "title"],
                    [["a", "Alien"], ["b", "Heat"]])
  config_file = tmp_path / "prod.yaml"
  config_file.write_text(
      f"output_dir: {tmp_path / 'out'}\ndata:\n  source: files\n"
      f"  interactions_path: {tmp_path / 'logs'}/*.csv\n"
      f"  items_path: {items}\n")
  env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"),
             RELVID_CONFIG=str(config_file), PYTHONPATH=PROJECT,
             AIRFLOW__CORE__LOAD_EXAMPLES="false",
             AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="180")

  def run_task(run_id):
    out = subprocess.run(
        [sys.executable, "-c", RUN_TASK, DAG_FILE, "interactions_ExampleGen",
         run_id], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]

  run_task("scheduled__2026-12-01")
  run_task("scheduled__2026-12-02")  # the same file: cached
  with open(log, "a") as f:
    f.write("u2,a,300\n")
  run_task("scheduled__2026-12-03")

  config = config_lib.load_config(str(config_file))
  store = metadata_store.MetadataStore(pipeline_lib.sqlite_metadata(
      config, read_only=True))
  runs = sorted(store.get_executions_by_type(
      "components.ingestion.TableExampleGen"), key=lambda e: e.id)

  def value(execution, name):  # TFX's legacy launcher records both kinds
    for properties in (execution.properties, execution.custom_properties):
      if name in properties:
        return properties[name].string_value
    return None

  assert [value(e, "state") for e in runs] == ["complete", "cached",
                                               "complete"]
  prints = [value(e, "input_fingerprint") for e in runs]
  assert prints[0] == prints[1] != prints[2]
  assert prints[2] == ingestion.files_fingerprint(
      "all", str(tmp_path / "logs" / "*.csv"))
  written = [store.get_artifacts_by_id([event.artifact_id])[0]
             for event in store.get_events_by_execution_ids([runs[2].id])
             if event.type == event.OUTPUT]
  (examples,) = written
  with open(os.path.join(examples.uri, "report.json")) as f:
    assert json.load(f)["counts"]["interactions_written"] == 3


# A catch-up as Airflow's scheduler runs it, in one fresh interpreter: the
# DAG's runs for consecutive logical dates, oldest first, each with
# `dag.test()` (Airflow's own task loop, with its metadata database).
BACKFILL = """
import datetime, json, sys
from airflow.utils import db
db.initdb()
from airflow.models import DagBag
bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
assert not bag.import_errors, bag.import_errors
dag = bag.dags["relvid"]
states = {}
for day in sys.argv[2:]:
  run = dag.test(execution_date=datetime.datetime.fromisoformat(day).replace(
      tzinfo=datetime.timezone.utc))
  states[day] = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print(json.dumps({"catchup": dag.catchup, "states": states}))
"""


@needs_airflow
def test_airflow_backfills_three_days_in_order(tmp_path):
  """Three daily runs through Airflow: each reads its logical date's file
  (`{{ ds }}`), the window grows by a day per run, the first run trains
  from scratch and the next ones warm-start from the last blessed model;
  every day is pushed."""
  import yaml  # pylint: disable=g-import-not-at-top
  from components import example_io  # pylint: disable=g-import-not-at-top
  from pipeline import results  # pylint: disable=g-import-not-at-top
  from tests.conftest import daily_logs  # pylint: disable=g-import-not-at-top
  from tests.conftest import sample_overrides  # pylint: disable=g-import-not-at-top
  days = ["2000-06-01", "2000-06-02", "2000-06-03"]
  pattern, items, _, _ = daily_logs(tmp_path, days)
  config = config_lib.load_config(None, sample_overrides(
      tmp_path, pattern, items) + [
          "data.window_days=3", "trainer.epochs=1", "eval.recall_floor=0",
          "eval.topic_match_floor=0", "drift.enabled=false",
          "eval.recall_change_absolute=-1", "eval.recall_change_relative=-1",
          "eval.topic_change_absolute=-1", "eval.topic_change_relative=-1",
          "orchestration.start_date=2000-06-01",
          "orchestration.catchup=true"])
  config_file = tmp_path / "daily.yaml"
  config_file.write_text(yaml.safe_dump(config_lib.to_dict(config)))
  env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"),
             RELVID_CONFIG=str(config_file), PYTHONPATH=PROJECT,
             AIRFLOW__CORE__LOAD_EXAMPLES="false",
             AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="180")
  out = subprocess.run([sys.executable, "-c", BACKFILL, DAG_FILE, *days],
                       env=env, cwd=tmp_path, capture_output=True, text=True,
                       timeout=1800)
  assert out.returncode == 0, out.stderr[-3000:]
  ran = json.loads(out.stdout.strip().splitlines()[-1])
  assert ran["catchup"] is True
  for day in days:
    assert set(ran["states"][day].values()) == {"success"}, ran["states"]

  # Each run's outputs, oldest first (<root>/<component>/<output>/<id>/).
  def outputs(component, output, name):
    found = glob.glob(os.path.join(config_lib.pipeline_root(config),
                                   component, output, "*", name))
    return [example_io.read_json(path) for path in sorted(
        found, key=lambda p: int(p.split(os.sep)[-2]))]

  spans = [config_lib.span_number(day) for day in days]
  assert [r["inputs"]["interactions"]["window"]["spans"] for r in outputs(
      "CoEngagementPairs", "report", "report.json")] == [
          spans[:1], spans[:2], spans]
  assert [t["warm_start"] is not None for t in outputs(
      "Trainer", "model_run", "training.json")] == [False, True, True]
  assert len(results.pushed_versions(config)) == 3


def test_bad_schedule_config_is_refused():
  with pytest.raises(ValueError, match="orchestration.schedule"):
    config_lib.load_config(None, ["orchestration.schedule="])
