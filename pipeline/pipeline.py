# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The relvid TFX pipeline, built from one `PipelineConfig`.

  [data.source=demo_media] DemoCatalogGen -> media + tables in the demo
                  catalog folder
  interactions_ExampleGen, items_ExampleGen (TableExampleGen, TFX
                  FileBasedExampleGen: span, version and input fingerprint
                  before the cache check) -> tf.Examples + report
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
  [data.window_days, trainer.warm_start] latest_blessed_model_resolver
                  (TFX Resolver, LatestBlessedModelStrategy) -> the last
                  blessed model, if any
  Trainer (TFRS two-tower, run_fn=trainer.task.run_fn; base_model: the
                  resolver's model, warm start; [orchestration.
                  vertex_project] as a Vertex AI training job with worker
                  pools) -> retrieval SavedModel
  [data.window_days] DriftCheck(interactions) -> this span against the
                  last one that passed (volume, popularity, numeric
                  distributions)
  RelatedVideoEvaluator -> metrics + blessing: the floors, the drift gate,
                  and the model
                  against the version serving from the Pusher's
                  destination on the same eval pairs
  Pusher -> <serving_dir>/<model_name>/<version>/ when blessed

The refresh pipeline (`create_refresh_pipeline`, `relvid refresh`) runs the
same components up to CoEngagementPairs, then
  CatalogRefresh -> the next <version>/: the newest version's trained
                  towers over the current catalog (new items by their
                  content), no training

Runners (`local_runner.py`, ...) only choose where it runs; everything the
pipeline does comes from the config.
"""
import json
import os
from typing import Any, Dict, List, Optional

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from components import ingestion
from components.demo_catalog import DemoCatalogGen
from components.drift import DriftCheck
from components.pair_generation import CoEngagementPairs
from components.text_embedding import TextEmbedder
from components.text_embedding import TextEncoderExport
from components.visual_embedding import VisualEmbedder
from components.visual_embedding import VisualEncoderExport
from relvid import config as config_lib
from relvid.config import PipelineConfig
from trainer.evaluation import RelatedVideoEvaluator
from trainer.refresh import CatalogRefresh

TABLES = ingestion.TABLES


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


def _ingestion(config: PipelineConfig, span_parameter: Optional[Any] = None
               ) -> List[Any]:
  """One TableExampleGen per table (interactions, items), preceded by
  DemoCatalogGen for the demo catalog, which writes the files they read;
  a table whose path names a span reads `span_parameter` (see
  `create_pipeline`) when given, else data.span."""
  span = config_lib.span_number(config.data.span)
  demo = (DemoCatalogGen(catalog_dir=config_lib.demo_catalog_dir(config))
          if config.data.source == config_lib.DEMO_MEDIA else None)
  components = [demo] if demo else []
  for table in TABLES:
    input_base, pattern, file_format = ingestion.input_location(config,
                                                                table)
    example_gen = ingestion.TableExampleGen(
        table=table, input_base=input_base, pattern=pattern,
        file_format=file_format, source=config.data.source,
        range_config=(ingestion.static_span(span) if span is not None and
                      config_lib.has_span_placeholder(pattern) else None),
        span=(span_parameter if config_lib.has_span_placeholder(pattern)
              else None),
    ).with_id(ingestion.component_id(table))
    if demo:  # the demo catalog must be written before it is read
      example_gen.add_upstream_node(demo)
    components.append(example_gen)
  return components


def _semantic_mining(config: PipelineConfig) -> Dict[str, Any]:
  """CoEngagementPairs' mining parameters, only when the semantic task is on:
  trainer knobs must not change pair generation's cache key otherwise."""
  trainer = config.trainer
  if trainer.semantic_weight <= 0:
    return {}
  return {"semantic_threshold": trainer.semantic_threshold,
          "semantic_neighbors": trainer.semantic_neighbors,
          "semantic_index": trainer.semantic_index}


def _window(config: PipelineConfig) -> Dict[str, Any]:
  """CoEngagementPairs' window parameters, only with data.window_days (so
  a run without a window keeps its cache key)."""
  if not config.data.window_days:
    return {}
  return {"window_days": config.data.window_days,
          "span_registry_dir": config_lib.span_registry_dir(config)}


def _catalog_components(config: PipelineConfig, training: bool,
                        span_parameter: Optional[Any] = None) -> List[Any]:
  """Ingestion, validation, text (and visual) embedding and
  CoEngagementPairs, whose catalog split is what the towers index; the
  last component is CoEngagementPairs."""
  sources = _ingestion(config, span_parameter)
  tables = {table: sources[-len(TABLES) + i].outputs["examples"]
            for i, table in enumerate(TABLES)}
  encoder = TextEncoderExport(max_seq_length=config.text.max_seq_length)
  embedder = TextEmbedder(
      items=tables[ingestion.ITEMS],
      encoder=encoder.outputs["encoder"],
      text_fields=",".join(config.data.text_fields),
      batch_size=config.text.batch_size,
      embedding_store_dir=config_lib.embedding_store_dir(config,
                                                         config_lib.TEXT))
  visual = []
  if config.visual.enabled:
    visual_encoder = VisualEncoderExport()
    visual_embedder = VisualEmbedder(
        items=tables[ingestion.ITEMS],
        encoder=visual_encoder.outputs["encoder"],
        frame_count=config.visual.frame_count,
        method=config.visual.frame_method,
        embedding_store_dir=config_lib.embedding_store_dir(
            config, config_lib.VISUAL))
    visual = [visual_encoder, visual_embedder]
  pairs = CoEngagementPairs(
      interactions=tables[ingestion.INTERACTIONS],
      items=tables[ingestion.ITEMS],
      item_embeddings=embedder.outputs["item_embeddings"],
      visual_embeddings=(visual[1].outputs["item_embeddings"] if visual
                         else None),
      window_seconds=config.pairs.window_seconds,
      max_lookahead=config.pairs.max_lookahead,
      symmetric=int(config.pairs.symmetric),
      dedupe=int(config.pairs.dedupe),
      eval_fraction=config.pairs.eval_fraction,
      validation_fraction=config.pairs.validation_fraction,
      # The refresh pipeline indexes the newest catalog: no window, no
      # semantic mining, and nothing recorded in the span registry.
      **(_window(config) if training else {}),
      **(_semantic_mining(config) if training else {}))
  validation = [
      component for table in TABLES
      for component in _validation_components(
          table, tables[table], config.data.schema_dir)]
  return sources + validation + [encoder, embedder] + visual + [pairs]


def _drift_check(config: PipelineConfig, components: List[Any]
                 ) -> Optional[Any]:
  """DriftCheck on this run's span of interactions, for a per-span job
  (data.window_days) with the drift gate on; None otherwise."""
  if not config.data.window_days or not config.drift.enabled:
    return None
  interactions = next(c for c in components
                      if c.id == ingestion.component_id(ingestion.INTERACTIONS))
  return DriftCheck(
      interactions=interactions.outputs["examples"],
      span_registry_dir=config_lib.span_registry_dir(config),
      drift_config=json.dumps(config_lib.to_dict(config.drift)),
      window_days=config.data.window_days)


WARM_START_RESOLVER = "latest_blessed_model_resolver"
SPAN_PARAMETER = "span"


def span_parameter(config: PipelineConfig, default: str) -> Optional[Any]:
  """The run-time span of a scheduled run (a `RuntimeParameter` named
  `span`, a string as Airflow needs), with `default` (Airflow: `{{ ds }}`,
  KFP: `yesterday`); None when the interactions path names no span or
  data.span fixes one."""
  if config.data.span or not config_lib.has_span_placeholder(
      config.data.interactions_path):
    return None
  return tfx.dsl.experimental.RuntimeParameter(
      name=SPAN_PARAMETER, ptype=str, default=default)


def _last_blessed_model(config: PipelineConfig) -> Optional[Any]:
  """The Resolver of the model a per-span job warm-starts from (the last
  one the evaluator blessed; none on a first run); None when the job is not
  per-span or trainer.warm_start is off. A whole-log run never warm-starts:
  a rerun would otherwise train on from its own result."""
  if not config.data.window_days or not config.trainer.warm_start:
    return None
  return tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(
          type=tfx.types.standard_artifacts.ModelBlessing),
  ).with_id(WARM_START_RESOLVER)


def vertex_training_config(config: PipelineConfig) -> Dict[str, Any]:
  """The Vertex AI Trainer's custom_config entries: region and the custom
  job's worker pools (0: the chief, 1: workers, 2: parameter servers, as
  Vertex numbers them and sets TF_CONFIG's roles), each in the project
  image; TFX sets every pool's command to the Trainer executor."""
  o = config.orchestration
  pools = [(1, o.vertex_chief_machine_type),
           (o.vertex_workers, o.vertex_worker_machine_type),
           (o.vertex_parameter_servers,
            o.vertex_parameter_server_machine_type)]
  ai_platform = tfx.extensions.google_cloud_ai_platform
  return {
      ai_platform.ENABLE_VERTEX_KEY: True,
      ai_platform.VERTEX_REGION_KEY: o.vertex_region,
      ai_platform.TRAINING_ARGS_KEY: {
          "project": o.vertex_project,
          "job_spec": {"worker_pool_specs": [
              {"machine_spec": {"machine_type": machine},
               "replica_count": count,
               "container_spec": {"image_uri": o.image}}
              for count, machine in pools if count]}}}


def create_components(config: PipelineConfig,
                      span_parameter: Optional[Any] = None) -> List[Any]:
  """All components of the pipeline, in dependency order (`span_parameter`
  as `create_pipeline`). Builds the graph only: nothing is read or written
  until a runner runs it."""
  components = _catalog_components(config, training=True,
                                   span_parameter=span_parameter)
  pairs = components[-1]
  base = _last_blessed_model(config)
  custom_config = {"trainer": config_lib.to_dict(config.trainer),
                   "export": config_lib.to_dict(config.export),
                   "eval": config_lib.to_dict(config.eval)}
  trainer_component = tfx.components.Trainer
  if config.orchestration.vertex_project:
    trainer_component = tfx.extensions.google_cloud_ai_platform.Trainer
    custom_config.update(vertex_training_config(config))
  trainer = trainer_component(
      run_fn="trainer.task.run_fn",
      examples=pairs.outputs["pairs"],
      base_model=base.outputs["model"] if base else None,
      train_args=tfx.proto.TrainArgs(splits=["train"]),
      eval_args=tfx.proto.EvalArgs(splits=["eval"]),
      custom_config=custom_config)
  drift = _drift_check(config, components)
  evaluator = RelatedVideoEvaluator(
      model=trainer.outputs["model"], examples=pairs.outputs["pairs"],
      drift=drift.outputs["drift"] if drift else None,
      eval_config=json.dumps(config_lib.to_dict(config.eval)),
      export_config=json.dumps(config_lib.to_dict(config.export)),
      serving_dir=config_lib.serving_model_dir(config))
  pusher = tfx.components.Pusher(
      model=trainer.outputs["model"],
      model_blessing=evaluator.outputs["blessing"],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(
              base_directory=config_lib.serving_model_dir(config))))
  return (components + [c for c in (drift, base) if c] +
          [trainer, evaluator, pusher])


def create_refresh_components(config: PipelineConfig,
                              source_version: int = 0) -> List[Any]:
  """The refresh pipeline: the catalog components of training (no
  semantic mining), then CatalogRefresh publishing the next serving
  version from the newest one's towers (no training); `source_version` as
  `create_refresh_pipeline`."""
  components = _catalog_components(config, training=False)
  refresh = CatalogRefresh(
      examples=components[-1].outputs["pairs"],
      serving_dir=config_lib.serving_model_dir(config),
      export_config=json.dumps(config_lib.to_dict(config.export)),
      source_version=source_version)
  return components + [refresh]


def sqlite_metadata(config: PipelineConfig, read_only: bool = False
                    ) -> metadata_store_pb2.ConnectionConfig:
  """The local and Airflow runners' ML Metadata store (the file is created
  on first use; its folder is the runner's to make, not the DAG's)."""
  modes = metadata_store_pb2.SqliteMetadataSourceConfig
  connection = metadata_store_pb2.ConnectionConfig()
  connection.sqlite.filename_uri = config_lib.metadata_path(config)
  connection.sqlite.connection_mode = (
      modes.READONLY if read_only else modes.READWRITE_OPENCREATE)
  return connection


def beam_pipeline_args(config: PipelineConfig) -> List[str]:
  """The Beam args of every Beam-based component: the project image as the
  workers' SDK image unless beam.sdk_container_image names another (that
  flag also stops TFX from packaging its own source on every run)."""
  return config.beam.pipeline_args(config.orchestration.image)


def create_pipeline(config: PipelineConfig,
                    metadata_connection_config: Optional[object] = None,
                    span_parameter: Optional[Any] = None
                    ) -> tfx.dsl.Pipeline:
  """Builds the TFX pipeline from a validated config.

  Args:
    config: the run's configuration.
    metadata_connection_config: ML Metadata store; None lets the runner
      choose (Kubeflow, Vertex).
    span_parameter: a scheduler's run-time span (`span_parameter`), read
      by the tables whose paths name a span; None: data.span.

  Returns:
    The `tfx.dsl.Pipeline`.
  """
  config.validate()
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config_lib.pipeline_root(config),
      components=create_components(config, span_parameter),
      enable_cache=config.enable_cache,
      metadata_connection_config=metadata_connection_config,
      beam_pipeline_args=beam_pipeline_args(config))


REFRESH_SUFFIX = "-refresh"


def create_refresh_pipeline(config: PipelineConfig,
                            metadata_connection_config: Optional[object] = None,
                            source_version: int = 0) -> tfx.dsl.Pipeline:
  """The catalog refresh as its own TFX pipeline (`<pipeline_name>-refresh`,
  beside the training pipeline's root), for schedulers to run between
  retrainings; arguments as `create_pipeline`, plus `source_version`: the
  newest serving version as the runner found it (0: unknown).

  It uses TFX's cache like training: the ExampleGens fingerprint the
  catalog's files, so a changed catalog is ingested again and an unchanged
  one is not. CatalogRefresh's cache key holds `source_version`, so a newly
  pushed version is refreshed even when the catalog is unchanged."""
  config.validate()
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name + REFRESH_SUFFIX,
      pipeline_root=config_lib.pipeline_root(config) + REFRESH_SUFFIX,
      components=create_refresh_components(config, source_version),
      enable_cache=config.enable_cache,
      metadata_connection_config=metadata_connection_config,
      beam_pipeline_args=beam_pipeline_args(config))
