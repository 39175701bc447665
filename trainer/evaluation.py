# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""RelatedVideoEvaluator: the candidate model and the serving version on the
same eval pairs, and the blessing that decides whether the Pusher pushes.

The candidate is scored through its exported serving signature (what
the floors gate). For the comparison, the candidate and the serving
version (the newest complete version under the Pusher's destination,
which is what a server polling that folder serves) are each re-indexed
over the current catalog with their own item towers, as a catalog
refresh would (`trainer.refresh.reindex_version`: items a model was
trained with keep their ID embedding, new ones are embedded by their
content, so new trigger ids do not fail), into exact indexes, and scored
on the same eval pairs. The candidate is blessed when it clears the
floors and, against the serving version, TFMA's change thresholds
(`components.evaluator.change_checks`). With no serving version, or one
that cannot be re-indexed (no item towers, vectors of another width), the
floors alone decide and the metrics say why.

The blessing artifact gets TFX's custom properties: `blessed`,
`current_model` / `current_model_id` (what `LatestBlessedModelStrategy`
matches), and the serving version compared with. metrics.json holds the
candidate's figures, `serving` (the version compared with and its
lineage, or why there was none), `compared` (both models' exact figures)
and `change_checks`.

It lives in trainer/, beside the towers' export it re-indexes with, as
CatalogRefresh does.
"""
import json
import logging
import os
from typing import Any, Dict, Optional

import tensorflow as tf
from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter

from components import artifacts
from components import evaluator
from components import example_io
from components import version_folders
from relvid import config as config_lib
from relvid import contract
from trainer import refresh


def exact_metrics(version_dir: str, examples_uri: str,
                  eval_config: config_lib.EvalConfig, top_k: int,
                  work_dir: str) -> Dict[str, Any]:
  """A version's metrics on the eval pairs of `examples_uri` by exact
  retrieval: its item towers over the current catalog (items it was
  trained with by their ID embedding, new ones by their content), a
  brute-force index (an approximate index built twice from the same
  vectors does not return the same lists, so comparing two builds would
  compare index noise), scored through the signature a server calls.

  Raises:
    FileNotFoundError: the version has no item towers.
    ValueError: the catalog's vectors do not fit its towers.
  """
  if not refresh.has_item_towers(version_dir):
    raise FileNotFoundError(f"{version_dir} has no {contract.ITEM_TOWERS_DIR}")
  catalog = artifacts.load_catalog(examples_uri)
  refresh.reindex_version(version_dir, catalog, work_dir,
                          config_lib.ExportConfig(index="brute_force",
                                                  top_k=top_k))
  try:
    return evaluator.evaluate_exported_model(work_dir, examples_uri,
                                             eval_config)
  finally:
    tf.io.gfile.rmtree(work_dir)


def serving_version(serving_dir: str) -> Dict[str, Any]:
  """The version served from `serving_dir` (the newest complete one, what a
  server with the latest-version policy loads): {"version", "path",
  "lineage"}, or {"version": None, "not_compared": why} without one."""
  versions = version_folders.serving_versions(serving_dir)
  if not versions:
    return {"version": None,
            "not_compared": f"no serving version under {serving_dir} "
                            "(first push): the floors alone decide"}
  path = os.path.join(serving_dir, str(versions[-1]))
  return {"version": versions[-1], "path": path,
          "lineage": refresh.read_lineage(path)}


def compare_with_serving(model_dir: str, serving: Dict[str, Any],
                         examples_uri: str,
                         eval_config: config_lib.EvalConfig, top_k: int,
                         work_dir: str) -> Dict[str, Any]:
  """Both models' exact-retrieval metrics on the same eval pairs:
  {"candidate", "serving"}, or {"not_compared": why} when either has no
  item towers or cannot embed the current catalog."""
  for name, path in (("the candidate", model_dir),
                     (f"serving version {serving['version']}",
                      serving["path"])):
    if not refresh.has_item_towers(path):
      return {"not_compared": f"{name} has no item towers (ID-only towers, "
                              "or exported before them), so it cannot be "
                              "re-indexed over the current catalog: the "
                              "floors alone decide"}
  try:
    compared = {"candidate": exact_metrics(
        model_dir, examples_uri, eval_config, top_k,
        os.path.join(work_dir, "candidate"))}
    try:
      compared["serving"] = exact_metrics(
          serving["path"], examples_uri, eval_config, top_k,
          os.path.join(work_dir, "serving"))
    except ValueError as e:  # vectors of another width: another encoder
      return {"not_compared": f"serving version {serving['version']} "
                              f"cannot embed this catalog ({e}): the floors "
                              "alone decide"}
    return compared
  finally:
    if tf.io.gfile.exists(work_dir):
      tf.io.gfile.rmtree(work_dir)


def evaluate_and_bless(model_dir: str, examples_uri: str,
                       eval_config: config_lib.EvalConfig,
                       export_config: config_lib.ExportConfig,
                       serving_dir: str, work_dir: str,
                       drift: Optional[Dict[str, Any]] = None
                       ) -> Dict[str, Any]:
  """The candidate's metrics, the comparison with the serving version and
  the verdict.

  Args:
    model_dir: the candidate's exported serving model.
    examples_uri: the CoEngagementPairs artifact (catalog and eval split).
    eval_config: metrics, floors and change thresholds.
    export_config: top_k of the exact indexes the comparison builds.
    serving_dir: the Pusher's destination ("": no comparison).
    work_dir: scratch folder for the re-indexed models (removed after).
    drift: DriftCheck's drift.json (None: no drift gate); its breaches
      hold the model.

  Returns:
    The candidate's metrics as served (what the floors gate) plus
    `blessed`, `not_blessed_because` (failed floors and change checks),
    `serving` (the version compared with and its lineage, or
    `not_compared`: why none was), `compared` (both models' exact-retrieval
    metrics, which the change checks use) and `change_checks` (empty when
    nothing was compared), and `drift` (the span's drift figures and
    breaches, when there is a drift gate).
  """
  metrics = evaluator.evaluate_exported_model(model_dir, examples_uri,
                                              eval_config)
  _, reasons = evaluator.bless(
      metrics, eval_config.gate_k, eval_config.recall_floor,
      eval_config.topic_match_floor, eval_config.cold_candidate_recall_floor,
      eval_config.cold_trigger_topic_match_floor)
  if eval_config.compare_with_serving and serving_dir:
    serving = serving_version(serving_dir)
  else:
    serving = {"version": None,
               "not_compared": "eval.compare_with_serving is off: the "
                               "floors alone decide"}
  compared, checks = {}, []
  if serving["version"] is not None:
    compared = compare_with_serving(model_dir, serving, examples_uri,
                                    eval_config, export_config.top_k,
                                    work_dir)
    if "not_compared" in compared:
      serving["not_compared"] = compared.pop("not_compared")
    else:
      checks, change_reasons = evaluator.change_checks(
          compared["candidate"], compared["serving"],
          eval_config.change_bounds())
      reasons += change_reasons
  if "not_compared" in serving:
    logging.warning("RelatedVideoEvaluator: %s", serving["not_compared"])
  if drift is not None:
    reasons += [f"drift: {breach}" for breach in drift.get("breaches", [])]
    metrics["drift"] = drift
  metrics.update(blessed=not reasons, not_blessed_because=reasons,
                 serving=serving, compared=compared, change_checks=checks)
  return metrics


@tfx.dsl.components.component
def RelatedVideoEvaluator(  # pylint: disable=invalid-name
    model: InputArtifact[tfx.types.standard_artifacts.Model],
    examples: InputArtifact[tfx.types.standard_artifacts.Examples],
    evaluation: OutputArtifact[tfx.types.standard_artifacts.ModelEvaluation],
    blessing: OutputArtifact[tfx.types.standard_artifacts.ModelBlessing],
    eval_config: Parameter[str] = "{}",
    export_config: Parameter[str] = "{}",
    serving_dir: Parameter[str] = "",
    drift: InputArtifact[example_io.RunReport] = None):
  """Evaluates the exported model and the version serving from
  `serving_dir` on the eval pairs, and blesses the model when the floors
  and the change thresholds pass (`eval_config`: EvalConfig as JSON,
  `export_config`: ExportConfig as JSON, whose top_k the comparison's
  exact indexes return). With `drift` (DriftCheck's artifact), a drift
  breach holds the model too."""
  config = config_lib.from_dict(config_lib.EvalConfig, json.loads(eval_config))
  export = config_lib.from_dict(config_lib.ExportConfig,
                                json.loads(export_config))
  metrics = evaluate_and_bless(
      os.path.join(model.uri, contract.SERVING_MODEL_DIR), examples.uri,
      config, export, serving_dir,
      os.path.join(evaluation.uri, "reindexed"),
      drift=(example_io.read_json(os.path.join(drift.uri, contract.DRIFT_FILE))
             if drift is not None else None))
  blessed = metrics["blessed"]
  evaluator.write_outcome(evaluation.uri, blessing.uri, metrics, blessed)
  blessing.set_int_custom_property("blessed", int(blessed))
  blessing.set_string_custom_property("current_model", model.uri)
  blessing.set_int_custom_property("current_model_id", model.id)
  if metrics["serving"].get("version") is not None:
    blessing.set_int_custom_property("baseline_version",
                                     metrics["serving"]["version"])
  logging.info("RelatedVideoEvaluator metrics: %s", json.dumps(metrics))
  if not blessed:
    logging.warning("model NOT blessed (it will not be pushed): %s",
                    "; ".join(metrics["not_blessed_because"]))
