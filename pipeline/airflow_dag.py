# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The Airflow DAG file: copy it into `$AIRFLOW_HOME/dags/`.

Needs `relvid[airflow]` in Airflow's environment and `RELVID_CONFIG` naming
the run's YAML config. The DAG `relvid` (the config's pipeline_name) is
built by pipeline/airflow_runner.py.
"""
from pipeline import airflow_runner

DAG = airflow_runner.dag_from_environment()
