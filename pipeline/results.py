# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""What a pipeline run produced, found through ML Metadata.

The runners, the ablation, the benchmarks and the tests ask ML Metadata
which artifact each component's newest successful execution (COMPLETE, or
CACHED: a cache hit links the reused artifacts to the new execution)
published, instead of listing artifact folders, so a remote pipeline root
(gs://...) works like a local one. Artifact contents are read through
tf.io.gfile.
"""
import dataclasses
import os
from typing import Any, Dict, List, Optional, Tuple

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
import tensorflow as tf

from components import artifacts
from components import example_io
from components import version_folders
from pipeline import pipeline as pipeline_lib
from relvid import config as config_lib
from relvid import contract

NODE_CONTEXT_TYPE = "node"  # TFX's context type for one pipeline node
_FINISHED = (metadata_store_pb2.Execution.COMPLETE,
             metadata_store_pb2.Execution.CACHED)


def open_store(config: config_lib.PipelineConfig
               ) -> Optional[metadata_store.MetadataStore]:
  """The run's ML Metadata store (read-only), or None before any run."""
  if not os.path.exists(config_lib.metadata_path(config)):
    return None
  return metadata_store.MetadataStore(
      pipeline_lib.sqlite_metadata(config, read_only=True))


def _node_prefix(config: config_lib.PipelineConfig) -> str:
  return config.pipeline_name + "."


def component_ids(config: config_lib.PipelineConfig,
                  store: Optional[metadata_store.MetadataStore] = None
                  ) -> List[str]:
  """Ids of the pipeline's components that ML Metadata knows, sorted."""
  store = store or open_store(config)
  if store is None:
    return []
  prefix = _node_prefix(config)
  return sorted(c.name[len(prefix):]
                for c in store.get_contexts_by_type(NODE_CONTEXT_TYPE)
                if c.name.startswith(prefix))


def executions(config: config_lib.PipelineConfig, component: str,
               store: Optional[metadata_store.MetadataStore] = None
               ) -> List[metadata_store_pb2.Execution]:
  """Every execution of one component, oldest first."""
  store = store or open_store(config)
  if store is None:
    return []
  context = store.get_context_by_type_and_name(
      NODE_CONTEXT_TYPE, _node_prefix(config) + component)
  if context is None:
    return []
  return sorted(store.get_executions_by_context(context.id),
                key=lambda e: e.id)


def execution_artifact_ids(store: metadata_store.MetadataStore,
                           execution_id: int
                           ) -> Dict[Tuple[int, str], List[int]]:
  """(event type, input or output key) -> the artifact ids of one
  execution's events (`metadata_store_pb2.Event.INPUT` / `OUTPUT`)."""
  found: Dict[Tuple[int, str], List[int]] = {}
  for event in store.get_events_by_execution_ids([execution_id]):
    if event.path.steps:
      found.setdefault((event.type, event.path.steps[0].key), []).append(
          event.artifact_id)
  return found


def _latest_output(config: config_lib.PipelineConfig, component: str,
                   output: str, store: metadata_store.MetadataStore
                   ) -> Optional[Tuple[int, str]]:
  """(execution id, URI) of `component.outputs[output]` from its newest
  finished execution that has that output, or None."""
  for execution in reversed(executions(config, component, store)):
    if execution.last_known_state not in _FINISHED:
      continue
    artifact_ids = execution_artifact_ids(store, execution.id).get(
        (metadata_store_pb2.Event.OUTPUT, output))
    if artifact_ids:
      return execution.id, store.get_artifacts_by_id(artifact_ids[:1])[0].uri
  return None


def latest_output_uri(config: config_lib.PipelineConfig, component: str,
                      output: str,
                      store: Optional[metadata_store.MetadataStore] = None
                      ) -> Optional[str]:
  """URI of `component.outputs[output]` of its newest finished execution
  that has that output, or None."""
  store = store or open_store(config)
  if store is None:
    return None
  found = _latest_output(config, component, output, store)
  return found[1] if found else None


def _require(uri: Optional[str], what: str,
             config: config_lib.PipelineConfig) -> str:
  if not uri:
    raise FileNotFoundError(
        f"no {what} in the ML Metadata of pipeline {config.pipeline_name!r} "
        f"({config_lib.metadata_path(config)}): run the pipeline first "
        "(`relvid run` or `make demo`)")
  return uri


def latest_pairs_uri(config: config_lib.PipelineConfig) -> str:
  """The newest CoEngagementPairs `pairs` artifact (raises if none)."""
  return _require(latest_output_uri(config, "CoEngagementPairs", "pairs"),
                  "CoEngagementPairs output", config)


def latest_model_run_uri(config: config_lib.PipelineConfig) -> str:
  """The newest Trainer `model_run` artifact (raises if none)."""
  return _require(latest_output_uri(config, "Trainer", "model_run"),
                  "trained model", config)


def latest_item_embeddings(config: config_lib.PipelineConfig) -> Dict[str, Any]:
  """The newest Trainer run's item vectors: item_ids, trigger, candidate
  (raises if there is none)."""
  from trainer import task  # pylint: disable=g-import-not-at-top
  return task.read_item_embeddings(latest_model_run_uri(config))


# Where a component's report.json lies: its `report` output, or (the
# ExampleGens, which have one output) beside the splits of `examples`.
_REPORT_OUTPUTS = ("report", "examples")


def latest_reports(config: config_lib.PipelineConfig) -> Dict[str, dict]:
  """The newest report.json of each reporting component, by component id,
  in the order those executions ran."""
  store = open_store(config)
  if store is None:
    return {}
  found = []
  for component in component_ids(config, store):
    for output in _REPORT_OUTPUTS:
      latest = _latest_output(config, component, output, store)
      if latest and tf.io.gfile.exists(
          os.path.join(latest[1], example_io.REPORT_FILE)):
        found.append((latest[0], component, latest[1]))
        break
  return {component: example_io.read_report(uri)
          for _, component, uri in sorted(found)}


def latest_anomalies(config: config_lib.PipelineConfig
                     ) -> Dict[str, List[str]]:
  """Per table, the anomalies ExampleValidator found ("feature: reason")."""
  from tensorflow_metadata.proto.v0 import anomalies_pb2  # pylint: disable=g-import-not-at-top
  store = open_store(config)
  found = {}
  for table in pipeline_lib.TABLES:
    uri = latest_output_uri(config, f"{table}_ExampleValidator", "anomalies",
                            store)
    if not uri:
      continue
    lines = []
    for diff in sorted(tf.io.gfile.glob(os.path.join(uri, "Split-*",
                                                     "SchemaDiff.pb"))):
      anomalies = anomalies_pb2.Anomalies()
      with tf.io.gfile.GFile(diff, "rb") as f:
        anomalies.ParseFromString(f.read())
      for feature, info in sorted(anomalies.anomaly_info.items()):
        lines.append(f"{feature}: {info.short_description}")
    found[table] = lines
  return found


def latest_metrics(config: config_lib.PipelineConfig) -> Optional[dict]:
  """The newest RelatedVideoEvaluator metrics, or None."""
  uri = latest_output_uri(config, "RelatedVideoEvaluator", "evaluation")
  return artifacts.read_metrics(uri) if uri else None


def pushed_versions(config: config_lib.PipelineConfig) -> List[str]:
  """The complete version folders under the serving directory, oldest
  first: the Pusher's and the catalog refreshes'."""
  return [str(v) for v in version_folders.serving_versions(
      config_lib.serving_model_dir(config))]


def format_metrics(metrics: dict) -> str:
  """The evaluation as a table: one row per metric@K; columns all triggers,
  the tail triggers and the cold slices (items without train-period
  engagements: as triggers, and as the candidates of eval pairs)."""
  slices = (("all", "all triggers"), ("tail_triggers", "tail triggers"),
            ("cold_triggers", "cold triggers"),
            ("cold_candidates", "cold candidates"))
  present = [(key, title) for key, title in slices if key in metrics]
  lines = [f"  {'metric':<20}" + "".join(f"{title:>16}"
                                         for _, title in present)]
  family = ("recall", "topic_match", "popular_share", "cold_share",
            "coverage")
  names = sorted(metrics["all"], key=lambda n: (
      family.index(n.split("@")[0]) if n.split("@")[0] in family else 9,
      int(n.split("@")[1]) if "@" in n else 0))
  for name in names:
    lines.append(f"  {name:<20}" + "".join(
        f"{metrics[key].get(name, float('nan')):>16.4f}"
        for key, _ in present))
  verdict = ("blessed (pushed)" if metrics.get("blessed") else
             "NOT blessed: " + "; ".join(metrics.get("not_blessed_because",
                                                      [])))
  cold = (f", {metrics['num_cold_items']} cold items: "
          f"{metrics['num_cold_triggers']} cold triggers, "
          f"{metrics['num_cold_candidate_pairs']} pairs with a cold "
          "candidate" if "num_cold_items" in metrics else "")
  serving = metrics.get("serving") or {}
  if metrics.get("change_checks"):
    lines.append(f"  against serving version {serving.get('version')}: " +
                 "; ".join(
                     f"{c['metric']} {c['candidate']:.4f} vs "
                     f"{c['baseline']:.4f} ({c['change']:+.4f}"
                     f"{', fails' if not c['passed'] else ''})"
                     for c in metrics["change_checks"]))
  elif serving.get("not_compared"):
    lines.append(f"  not compared with a serving version: "
                 f"{serving['not_compared']}")
  lines.append(f"  eval pairs {metrics['num_eval_pairs']}, triggers "
               f"{metrics['num_eval_triggers']} ({metrics['num_tail_triggers']}"
               f" tail){cold}; {verdict}")
  return "\n".join(lines)


def latest_training_summary(config: config_lib.PipelineConfig
                            ) -> Optional[dict]:
  """The newest Trainer run's training.json (epochs, warm start), or None."""
  uri = latest_output_uri(config, "Trainer", "model_run")
  path = uri and os.path.join(uri, contract.TRAINING_SUMMARY_FILE)
  return example_io.read_json(path) if path and tf.io.gfile.exists(
      path) else None


def run_line(config: config_lib.PipelineConfig) -> str:
  """The newest run in one line: the window it read, how it trained (warm
  start or from scratch), the gated metrics and the verdict (pushed, or
  held and why)."""
  pairs = latest_reports(config).get("CoEngagementPairs", {})
  window = pairs.get("inputs", {}).get("interactions", {}).get("window")
  parts = []
  if window:
    parts.append(f"spans {window['spans'][0]}..{window['spans'][-1]} read "
                 f"({len(window['reused'])} reused, "
                 f"{len(window['missing'])} missing)")
  training = latest_training_summary(config)
  if training:
    warm = training.get("warm_start")
    parts.append(
        f"{training['kept_epoch']} epoch(s) " +
        (f"warm-started ({warm['carried_items']} items carried, "
         f"{warm['new_items']} new)" if warm else "from scratch"))
  metrics = latest_metrics(config)
  if metrics:
    k = config.eval.gate_k
    parts.append(f"recall@{k} {metrics['all'][f'recall@{k}']:.4f} "
                 f"topic_match@{k} {metrics['all'][f'topic_match@{k}']:.4f}")
    parts.append("pushed" if metrics.get("blessed") else
                 "held: " + "; ".join(metrics.get("not_blessed_because", [])))
  return ", ".join(parts)


def format_report(report: dict) -> str:
  """One line: the report's scalar figures, then its counts, as key=value."""
  scalars = [f"{k}={v}" for k, v in sorted(report.items())
             if isinstance(v, (int, float)) and k != "counts"]
  counts = [f"{k}={v}" for k, v in report.get("counts", {}).items()]
  return " ".join(scalars + counts)


def summary(config: config_lib.PipelineConfig) -> str:
  """The reports, anomalies and evaluation of the newest run, as text."""
  lines = [f"  {component}: {format_report(report)}"
           for component, report in latest_reports(config).items()]
  for table, anomalies in latest_anomalies(config).items():
    lines.append(f"  anomalies in {table}: {'; '.join(anomalies) or 'none'}")
  metrics = latest_metrics(config)
  if metrics:
    lines += ["", "Evaluation on the time-split eval pairs:",
              format_metrics(metrics)]
  return "\n".join(lines)


def refresh_pipeline_config(config: config_lib.PipelineConfig
                            ) -> config_lib.PipelineConfig:
  """`config` as this module looks up the refresh pipeline's runs: its own
  pipeline name, in the ML Metadata store both pipelines share."""
  return dataclasses.replace(
      config, pipeline_name=config.pipeline_name + pipeline_lib.REFRESH_SUFFIX,
      metadata_path=config_lib.metadata_path(config))


def latest_refresh_report(config: config_lib.PipelineConfig
                          ) -> Optional[dict]:
  """The refresh report of the newest serving version, or None when that
  version came from training (the Pusher), not from a refresh."""
  versions = pushed_versions(config)
  if not versions:
    return None
  path = "/".join([config_lib.serving_model_dir(config), versions[-1],
                   contract.REFRESH_REPORT_FILE])
  return example_io.read_json(path) if tf.io.gfile.exists(path) else None


def format_refresh(report: dict) -> str:
  """The refresh report as a few lines."""
  if report.get("up_to_date"):
    return (f"  version {report['version']} is up to date: it was refreshed "
            "from this catalog; nothing published")
  lines = [f"  version {report['version']} (from {report['source_version']}"
           f"): {report['items_indexed']} items indexed in "
           f"{report['total_seconds']} s"]
  for key, title in (("added", "added"), ("removed", "removed"),
                     ("skipped_without_content",
                      "new without text or media (not indexed)")):
    entry = report[key]
    listed = ", ".join(entry["ids"])
    more = " ..." if entry["count"] > len(entry["ids"]) else ""
    lines.append(f"  {title}: {entry['count']}"
                 + (f" ({listed}{more})" if listed else ""))
  return "\n".join(lines)
