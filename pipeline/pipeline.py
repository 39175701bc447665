# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The relvid TFX pipeline, built from one `PipelineConfig`.

  DataIngestion -> interactions, items (tf.Examples) + report
    each table -> StatisticsGen -> SchemaGen (or ImportSchemaGen) ->
                  ExampleValidator (anomalies)
  TextEncoderExport -> BERT SavedModel (TF Hub loadable)
  TextEmbedder(items, encoder) -> item text embeddings + report
  [visual.enabled] VisualEncoderExport -> EfficientNet-Lite0 SavedModel
  [visual.enabled] VisualEmbedder(items, encoder) -> item visual embeddings
                  + report (media errors counted and listed)
  CoEngagementPairs(interactions, items, embeddings[, visual]) -> pairs
                  (train/eval) + catalog split [+ semantic pseudo-label
                  split when the semantic task is on] + report
  Trainer (TFRS two-tower, run_fn=trainer.task.run_fn) -> retrieval SavedModel
  RelatedVideoEvaluator -> metrics + blessing
  Pusher -> <serving_dir>/<model_name>/<version>/ when blessed

Runners (`local_runner.py`, ...) only choose where it runs; everything the
pipeline does comes from the config.
"""
import json
import os
from typing import Any, Dict, List, Optional

import pipeline  # noqa: F401  (selects Keras 2 before TF loads)
from tfx import v1 as tfx

from components.evaluator import RelatedVideoEvaluator
from components.ingestion import DataIngestion
from components.pair_generation import CoEngagementPairs
from components.text_embedding import TextEmbedder
from components.text_embedding import TextEncoderExport
from components.visual_embedding import VisualEmbedder
from components.visual_embedding import VisualEncoderExport
from pipeline import config as config_lib
from pipeline import demo_catalog
from pipeline.config import PipelineConfig

TABLES = ("interactions", "items")


def _validation_components(name: str, examples, schema_dir: str):
  """Statistics, schema (inferred, or imported from `schema_dir/<name>`) and
  anomaly detection for one Examples channel."""
  statistics = tfx.components.StatisticsGen(
      examples=examples).with_id(f"{name}_StatisticsGen")
  schema_file = os.path.join(schema_dir, name, "schema.pbtxt") if schema_dir else ""
  if schema_file:
    schema = tfx.components.ImportSchemaGen(
        schema_file=schema_file).with_id(f"{name}_ImportSchemaGen")
  else:
    schema = tfx.components.SchemaGen(
        statistics=statistics.outputs["statistics"],
        infer_feature_shape=False).with_id(f"{name}_SchemaGen")
  validator = tfx.components.ExampleValidator(
      statistics=statistics.outputs["statistics"],
      schema=schema.outputs["schema"]).with_id(f"{name}_ExampleValidator")
  return [statistics, schema, validator]


def _data_source(config: PipelineConfig) -> Dict[str, str]:
  """DataIngestion's source parameters; the demo catalog is written (once)
  under <output_dir>/demo_catalog and read as generic CSV files."""
  if config.data.source != config_lib.DEMO_MEDIA:
    return {"source": config.data.source,
            "interactions_path": config.data.interactions_path,
            "items_path": config.data.items_path,
            "file_format": config.data.file_format}
  interactions, items = demo_catalog.build_demo_catalog(
      os.path.join(_output_root(config), "demo_catalog"))
  return {"source": config_lib.FILES, "interactions_path": interactions,
          "items_path": items, "file_format": "csv"}


def create_components(config: PipelineConfig) -> List[Any]:
  """All components of the pipeline, in dependency order."""
  ingestion = DataIngestion(**_data_source(config))
  encoder = TextEncoderExport(max_seq_length=config.text.max_seq_length)
  embedder = TextEmbedder(
      items=ingestion.outputs["items"],
      encoder=encoder.outputs["encoder"],
      text_fields=",".join(config.data.text_fields),
      batch_size=config.text.batch_size)
  visual = []
  if config.visual.enabled:
    visual_encoder = VisualEncoderExport()
    visual_embedder = VisualEmbedder(
        items=ingestion.outputs["items"],
        encoder=visual_encoder.outputs["encoder"],
        frame_count=config.visual.frame_count,
        method=config.visual.frame_method)
    visual = [visual_encoder, visual_embedder]
  pairs = CoEngagementPairs(
      interactions=ingestion.outputs["interactions"],
      items=ingestion.outputs["items"],
      item_embeddings=embedder.outputs["item_embeddings"],
      visual_embeddings=(visual[1].outputs["item_embeddings"] if visual
                         else None),
      # The semantic task's pseudo-labels are mined here, distributed, only
      # when the task is on.
      semantic_threshold=config.trainer.semantic_threshold,
      semantic_neighbors=(config.trainer.semantic_neighbors
                          if config.trainer.semantic_weight > 0 else 0),
      semantic_index=config.trainer.semantic_index,
      window_seconds=config.pairs.window_seconds,
      max_lookahead=config.pairs.max_lookahead,
      symmetric=int(config.pairs.symmetric),
      dedupe=int(config.pairs.dedupe),
      eval_fraction=config.pairs.eval_fraction)
  trainer = tfx.components.Trainer(
      run_fn="trainer.task.run_fn",
      examples=pairs.outputs["pairs"],
      train_args=tfx.proto.TrainArgs(splits=["train"]),
      eval_args=tfx.proto.EvalArgs(splits=["eval"]),
      custom_config={"trainer": config_lib.to_dict(config.trainer),
                     "export": config_lib.to_dict(config.export)})
  evaluator = RelatedVideoEvaluator(
      model=trainer.outputs["model"], examples=pairs.outputs["pairs"],
      eval_config=json.dumps(config_lib.to_dict(config.eval)))
  pusher = tfx.components.Pusher(
      model=trainer.outputs["model"],
      model_blessing=evaluator.outputs["blessing"],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(
              base_directory=os.path.join(
                  os.path.abspath(config_lib.serving_dir(config)),
                  config.export.model_name))))
  validation = [
      component for table in TABLES
      for component in _validation_components(
          table, ingestion.outputs[table], config.data.schema_dir)]
  return ([ingestion] + validation
          + [encoder, embedder] + visual
          + [pairs, trainer, evaluator, pusher])


def _output_root(config: PipelineConfig) -> str:
  # Local paths are made absolute so Beam workers resolve them the same way.
  if "://" in config.output_dir:
    return config.output_dir
  return os.path.abspath(config.output_dir)


def pipeline_root(config: PipelineConfig) -> str:
  return os.path.join(_output_root(config), "pipelines", config.pipeline_name)


def metadata_path(config: PipelineConfig) -> str:
  return os.path.join(_output_root(config), "metadata", config.pipeline_name,
                      "metadata.db")


def create_pipeline(config: PipelineConfig,
                    metadata_connection_config: Optional[object] = None
                    ) -> tfx.dsl.Pipeline:
  """Builds the TFX pipeline from a validated config.

  Args:
    config: the run's configuration.
    metadata_connection_config: ML Metadata store; None lets the runner
      choose (Kubeflow, Vertex).

  Returns:
    The `tfx.dsl.Pipeline`.
  """
  config.validate()
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=pipeline_root(config),
      components=create_components(config),
      enable_cache=config.enable_cache,
      metadata_connection_config=metadata_connection_config,
      beam_pipeline_args=config.beam.pipeline_args(config.orchestration.image))
