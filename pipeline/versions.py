# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The serving versions: what each came from, how it scored, and rollback.

`list_versions(config)` reads the version folders under the Pusher's
destination (each version's `assets.extra/lineage.json`: the model, pairs
and spans it was trained on, and the refreshes and rollbacks since) and ML
Metadata (the RelatedVideoEvaluator execution that scored each model: its
metrics, the serving version it was compared with and the verdict), and
adds the models that were evaluated but held.

`rollback(config, version)` makes an older version the served one again
without deleting anything: it is copied, under a staging name then
renamed, as the next version number, with a rollback step in its lineage,
so TF Serving's latest-version policy (and `relvid serve`, which polls the
folder) switches to it.
"""
import os
from typing import Any, Dict, List, Optional

import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2
from tfx.utils import io_utils

from components import artifacts
from components import version_folders
from pipeline import results
from relvid import config as config_lib
from relvid import contract
from trainer import refresh

EVALUATOR = "RelatedVideoEvaluator"


def evaluations(config: config_lib.PipelineConfig) -> Dict[str, Dict[str, Any]]:
  """Model artifact URI -> the one evaluation that speaks for it, from ML
  Metadata: the newest that blessed it (the push), else the newest (a
  model evaluated again, e.g. under stricter floors, keeps the evaluation
  it was pushed with)."""
  store = results.open_store(config)
  found: Dict[str, Dict[str, Any]] = {}
  if store is None:
    return found
  for execution in results.executions(config, EVALUATOR, store):
    if execution.last_known_state != metadata_store_pb2.Execution.COMPLETE:
      continue  # a cached execution re-links an earlier one's outputs
    by_key = results.execution_artifact_ids(store, execution.id)
    model_ids = by_key.get((metadata_store_pb2.Event.INPUT, "model"))
    evaluation_ids = by_key.get((metadata_store_pb2.Event.OUTPUT,
                                 "evaluation"))
    if not model_ids or not evaluation_ids:
      continue
    model, evaluation = store.get_artifacts_by_id([model_ids[-1],
                                                   evaluation_ids[-1]])
    try:
      metrics = dict(artifacts.read_metrics(evaluation.uri),
                     evaluation=evaluation.uri)
    except tf.errors.NotFoundError:
      continue  # its folder was cleaned up
    if metrics.get("blessed") or not found.get(model.uri, {}).get("blessed"):
      found[model.uri] = metrics
  return found


def _spans(lineage: Dict[str, Any]) -> str:
  """The interaction spans the model was trained and evaluated on (its
  window, or its one span)."""
  interactions = lineage.get("inputs", {}).get("interactions", {})
  spans = interactions.get("window", {}).get("spans") or (
      [interactions["span"]] if "span" in interactions else [])
  if len(spans) > 1:
    return f"{spans[0]}..{spans[-1]}"
  return str(spans[0]) if spans else "-"


def _origin(lineage: Dict[str, Any]) -> str:
  steps = lineage.get("steps", [])
  if not steps:
    return "trained" if lineage else "unknown (no lineage)"
  last = steps[-1]
  if "rolled_back_to" in last:
    return f"rollback to {last['rolled_back_to']}"
  return f"refresh of {last.get('refreshed_from')}"


def _figures(metrics: Optional[Dict[str, Any]], gate_k: int,
             popular_k: int) -> Dict[str, Any]:
  if not metrics:
    return {}
  figures = {name: metrics["all"].get(name) for name in (
      f"recall@{gate_k}", f"topic_match@{gate_k}",
      f"popular_share@{popular_k}")}
  serving = metrics.get("serving", {})
  figures["compared_with"] = serving.get("version")
  figures["not_compared"] = serving.get("not_compared")
  figures["changes"] = {c["metric"]: c["change"]
                        for c in metrics.get("change_checks", [])}
  figures["not_blessed_because"] = metrics.get("not_blessed_because", [])
  return figures


def list_versions(config: config_lib.PipelineConfig) -> List[Dict[str, Any]]:
  """The serving versions, oldest first, then the held models.

  Returns:
    One record per version: version, serving (true for the newest, the
    one served), origin (trained / refresh of N / rollback to N), spans,
    model, status (pushed or held) and the evaluator's figures of the
    model (recall and topic match at gate_k, popular share at the smallest
    K, the serving version it was compared with and the changes); held
    models have version None.
  """
  serving_dir = config_lib.serving_model_dir(config)
  versions = version_folders.serving_versions(serving_dir)
  scored = evaluations(config)
  gate_k, popular_k = config.eval.gate_k, min(config.eval.ks)
  rows = []
  for version in versions:
    lineage = refresh.read_lineage(os.path.join(serving_dir, str(version)))
    model = lineage.get("model")
    rows.append(dict(version=version, serving=version == versions[-1],
                     origin=_origin(lineage), spans=_spans(lineage),
                     model=model, status="pushed",
                     **_figures(scored.get(model), gate_k, popular_k)))
  for model, metrics in scored.items():
    if metrics.get("blessed"):
      continue
    lineage = refresh.read_lineage(os.path.join(model,
                                                contract.SERVING_MODEL_DIR))
    rows.append(dict(version=None, serving=False, origin="trained",
                     spans=_spans(lineage), model=model, status="held",
                     **_figures(metrics, gate_k, popular_k)))
  return rows


def _number(value: Optional[float]) -> str:
  return "-" if value is None else f"{value:.4f}"


def format_versions(rows: List[Dict[str, Any]], config: config_lib.PipelineConfig
                    ) -> str:
  """`list_versions` as a table, with the reasons of held models below."""
  if not rows:
    return (f"no serving version under {config_lib.serving_model_dir(config)}"
            " and no evaluated model: run the pipeline first (relvid run)")
  gate_k, popular_k = config.eval.gate_k, min(config.eval.ks)
  header = (f"{'version':<12}{'':2}{'origin':<25}{'spans':<14} "
            f"{f'recall@{gate_k}':>11}{f'topic@{gate_k}':>11}"
            f"{f'popular@{popular_k}':>12}  {'against serving':<34}  status")
  lines = [header]
  for row in rows:
    changes = row.get("changes") or {}
    against = "not compared (floors)" if row.get("not_compared") else "-"
    if changes:
      against = f"v{row['compared_with']}: " + " ".join(
          f"{name.split('@')[0]} {change:+.4f}"
          for name, change in changes.items())
    status = row["status"]
    if status == "held":
      status += ": " + "; ".join(row.get("not_blessed_because", []))
    elif row["serving"]:
      status += " (serving)"
    lines.append(
        f"{str(row['version'] or '-'):<12}{'*' if row['serving'] else ' ':2}"
        f"{row['origin']:<25}{row['spans']:<14} "
        f"{_number(row.get(f'recall@{gate_k}')):>11}"
        f"{_number(row.get(f'topic_match@{gate_k}')):>11}"
        f"{_number(row.get(f'popular_share@{popular_k}')):>12}  "
        f"{against:<34}  {status}")
  lines.append("(figures on each model's own eval pairs, as served; the "
               "change is against the version serving then, both "
               "re-indexed exactly on the same pairs)")
  return "\n".join(lines)


def rollback(config: config_lib.PipelineConfig, version: int) -> int:
  """Publishes a copy of `version` as the newest version; returns its number.

  Raises:
    FileNotFoundError: `version` is not a complete version under the
      serving folder.
    ValueError: `version` is the one serving already.
  """
  serving_dir = config_lib.serving_model_dir(config)
  versions = version_folders.serving_versions(serving_dir)
  if version not in versions:
    raise FileNotFoundError(
        f"no version {version} under {serving_dir}; the versions there: "
        f"{', '.join(map(str, versions)) or 'none'} (relvid versions)")
  if version == versions[-1]:
    raise ValueError(f"version {version} is the one serving already")
  new_version, staging = refresh.next_version(serving_dir, versions[-1],
                                              "rollback")
  source = os.path.join(serving_dir, str(version))
  io_utils.copy_dir(source, staging)
  refresh.copy_lineage(source, staging, {"rolled_back_to": version,
                                         "replaced": versions[-1]})
  tf.io.gfile.rename(staging, os.path.join(serving_dir, str(new_version)))
  return new_version
