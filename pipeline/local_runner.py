# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Runs the pipeline on this machine: LocalDagRunner, ML Metadata in SQLite.

  python -m pipeline.local_runner [--config FILE.yaml] [--set a.b=value ...]

Prints each component as it starts and finishes, then a summary of the
reports (counts of rows read, written and skipped per reason).
"""
import argparse
import glob
import json
import logging
import os
import re
import sys
import time
import warnings
from typing import Dict, List, Optional, Sequence

from absl import logging as absl_logging

import pipeline  # noqa: F401  (selects Keras 2 before TF loads)
from tfx import v1 as tfx

from components import example_io
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib

_PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PROJECT_PACKAGES = tuple(os.path.join(_PROJECT_DIR, p) + os.sep
                          for p in ("pipeline", "components", "trainer",
                                    "serving"))
_PROGRESS = re.compile(r"^Component \S+ is (running|finished)")


class ProgressFilter(logging.Filter):
  """Keeps warnings, this project's own log lines and TFX's component
  start/finish lines; drops the rest (TFX dumps whole pipeline protos)."""

  def filter(self, record: logging.LogRecord) -> bool:
    return (record.levelno >= logging.WARNING
            or record.pathname.startswith(_PROJECT_PACKAGES)
            or bool(_PROGRESS.match(record.getMessage())))


class ComponentProgress(logging.Handler):
  """A tqdm bar over the pipeline's components, advanced by TFX's
  "Component X is finished" log lines (cached components included)."""

  def __init__(self, total: int):
    super().__init__(level=logging.INFO)
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
    self.bar = tqdm(total=total, unit="component", desc="relvid pipeline",
                    dynamic_ncols=True)

  def emit(self, record: logging.LogRecord) -> None:
    match = _PROGRESS.match(record.getMessage())
    if match and match.group(1) == "finished":
      self.bar.update(1)
      self.bar.set_postfix_str(record.getMessage().split()[1])

  def close(self) -> None:
    self.bar.close()
    super().close()


def configure_logging(verbose: bool) -> None:
  logging.basicConfig(level=logging.INFO,
                      format="%(asctime)s %(levelname)s %(message)s",
                      force=True)
  absl_logging.set_verbosity(absl_logging.INFO)
  if not verbose:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for handler in logging.getLogger().handlers:
      handler.addFilter(ProgressFilter())


def parse_args(argv: Sequence[str],
               prog: str = "python -m pipeline.local_runner"
               ) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
      prog=prog,
      description="Run the relvid pipeline locally (LocalDagRunner).")
  config_lib.add_arguments(parser)
  parser.add_argument("--verbose", action="store_true",
                      help="show all TFX/Beam/TF logs, not only progress")
  parser.add_argument("--progress", action="store_true",
                      help="show a progress bar over the components")
  return parser.parse_args(argv)


def latest_output(config: config_lib.PipelineConfig, component: str,
                  output: str, marker: str) -> Optional[str]:
  """URI of the newest artifact of `component.output` holding `marker`."""
  folder = os.path.join(pipeline_lib.pipeline_root(config), component, output)
  runs = sorted((d for d in os.listdir(folder) if d.isdigit()), key=int,
                reverse=True) if os.path.isdir(folder) else []
  for run in runs:
    if glob.glob(os.path.join(folder, run, marker)):
      return os.path.join(folder, run)
  return None


def latest_reports(config: config_lib.PipelineConfig) -> Dict[str, dict]:
  """The newest report.json of each reporting component, by component id."""
  root = pipeline_lib.pipeline_root(config)
  reports = {}
  for component in sorted(os.listdir(root)) if os.path.isdir(root) else []:
    path = latest_output(config, component, "report", example_io.REPORT_FILE)
    if path:
      reports[component] = example_io.read_report(path)
  return reports


def latest_anomalies(config: config_lib.PipelineConfig) -> Dict[str, List[str]]:
  """Per table, the anomalies ExampleValidator found ("feature: reason")."""
  from tensorflow_metadata.proto.v0 import anomalies_pb2  # pylint: disable=g-import-not-at-top
  found = {}
  for table in pipeline_lib.TABLES:
    path = latest_output(config, f"{table}_ExampleValidator", "anomalies",
                         "Split-*/SchemaDiff.pb")
    if not path:
      continue
    lines = []
    for diff in sorted(glob.glob(os.path.join(path, "Split-*",
                                              "SchemaDiff.pb"))):
      anomalies = anomalies_pb2.Anomalies()
      with open(diff, "rb") as f:
        anomalies.ParseFromString(f.read())
      for feature, info in sorted(anomalies.anomaly_info.items()):
        lines.append(f"{feature}: {info.short_description}")
    found[table] = lines
  return found


def latest_metrics(config: config_lib.PipelineConfig) -> Optional[dict]:
  """The newest RelatedVideoEvaluator metrics, or None."""
  from components import evaluator  # pylint: disable=g-import-not-at-top
  path = latest_output(config, "RelatedVideoEvaluator", "evaluation",
                       evaluator.METRICS_FILE)
  if not path:
    return None
  with open(os.path.join(path, evaluator.METRICS_FILE)) as f:
    return json.load(f)


def format_metrics(metrics: dict) -> str:
  """The evaluation as a table: one row per metric@K, all vs tail triggers."""
  lines = [f"  {'metric':<20}{'all triggers':>14}{'tail triggers':>15}"]
  family = ("recall", "topic_match", "popular_share", "coverage")
  names = sorted(metrics["all"], key=lambda n: (
      family.index(n.split("@")[0]) if n.split("@")[0] in family else 9,
      int(n.split("@")[1]) if "@" in n else 0))
  for name in names:
    lines.append(f"  {name:<20}{metrics['all'][name]:>14.4f}"
                 f"{metrics['tail_triggers'].get(name, float('nan')):>15.4f}")
  verdict = ("blessed (pushed)" if metrics.get("blessed") else
             "NOT blessed: " + "; ".join(metrics.get("not_blessed_because",
                                                      [])))
  lines.append(f"  eval pairs {metrics['num_eval_pairs']}, triggers "
               f"{metrics['num_eval_triggers']} ({metrics['num_tail_triggers']}"
               f" tail); {verdict}")
  return "\n".join(lines)


def format_report(report: dict) -> str:
  """One line: the report's scalar figures, then its counts, as key=value."""
  scalars = [f"{k}={v}" for k, v in sorted(report.items())
             if isinstance(v, (int, float)) and k != "counts"]
  counts = [f"{k}={v}" for k, v in report.get("counts", {}).items()]
  return " ".join(scalars + counts)


def run(config: config_lib.PipelineConfig,
        progress_bar: bool = False) -> Dict[str, dict]:
  """Runs the pipeline to completion; returns the components' reports.

  Args:
    config: the run's configuration.
    progress_bar: show a tqdm bar over the components.
  """
  os.makedirs(os.path.dirname(pipeline_lib.metadata_path(config)),
              exist_ok=True)
  metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(
      pipeline_lib.metadata_path(config))
  started = time.time()
  dsl_pipeline = pipeline_lib.create_pipeline(config, metadata)
  progress = (ComponentProgress(len(dsl_pipeline.components))
              if progress_bar else None)
  if progress:
    logging.getLogger().addHandler(progress)
  try:
    tfx.orchestration.LocalDagRunner().run(dsl_pipeline)
  finally:
    if progress:
      logging.getLogger().removeHandler(progress)
      progress.close()
  logging.info("pipeline %s finished in %.1f s", config.pipeline_name,
               time.time() - started)
  return latest_reports(config)


def main(argv: Optional[List[str]] = None,
         prog: str = "python -m pipeline.local_runner") -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv, prog)
  config = config_lib.from_args(args)
  if config is None:
    return 2
  configure_logging(args.verbose)
  started = time.time()
  reports = run(config, progress_bar=args.progress)
  print(f"\nrelvid pipeline finished in {time.time() - started:.1f} s; "
        f"artifacts under {pipeline_lib.pipeline_root(config)}")
  for component, report in reports.items():
    print(f"  {component}: {format_report(report)}")
  for table, anomalies in latest_anomalies(config).items():
    print(f"  anomalies in {table}: {'; '.join(anomalies) or 'none'}")
  metrics = latest_metrics(config)
  if metrics:
    print("\nEvaluation on the time-split eval pairs:")
    print(format_metrics(metrics))
  return 0


if __name__ == "__main__":
  sys.exit(main())
