# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The DAG itself: what each component is given, and that building it reads
and writes nothing."""
import json

import pytest
from tfx import v1 as tfx

from pipeline import pipeline as pipeline_lib
from relvid import config as config_lib


def pair_generation_properties(*overrides):
  config = config_lib.load_config(None, list(overrides))
  (pairs,) = [c for c in pipeline_lib.create_components(config)
              if c.id == "CoEngagementPairs"]
  return dict(pairs.exec_properties)


def test_trainer_knobs_do_not_touch_pair_generation_when_mining_is_off():
  """Its exec properties are its cache key: a semantic knob changed while the
  semantic task is off must not rerun pair generation and all after it."""
  base = pair_generation_properties("trainer.semantic_weight=0")
  assert pair_generation_properties(
      "trainer.semantic_weight=0",
      "trainer.semantic_threshold=0.9", "trainer.semantic_neighbors=3",
      "trainer.semantic_index=exact", "trainer.epochs=9") == base
  assert not {"semantic_threshold", "semantic_neighbors",
              "semantic_index"} & set(base)


def test_mining_parameters_reach_pair_generation_when_the_task_is_on():
  mining = pair_generation_properties(
      "trainer.semantic_weight=1", "trainer.semantic_threshold=0.6",
      "trainer.semantic_neighbors=4", "trainer.semantic_index=scann")
  assert (mining["semantic_threshold"], mining["semantic_neighbors"],
          mining["semantic_index"]) == (0.6, 4, "scann")


def test_building_any_dag_writes_nothing(tmp_path):
  for source in ("movielens_100k", "movielens_1m", "demo_media"):
    config = config_lib.load_config(None, [
        f"output_dir={tmp_path / source}", f"data.source={source}",
        "visual.enabled=true"])
    for create in (pipeline_lib.create_pipeline,
                   pipeline_lib.create_refresh_pipeline):
      dag = create(config)
      ids = [c.id for c in dag.components]
      assert ("DemoCatalogGen" in ids) == (source == "demo_media")
  assert list(tmp_path.iterdir()) == []


def test_refresh_pipeline_indexes_the_catalog_without_training(tmp_path):
  config = config_lib.load_config(None, [f"output_dir={tmp_path}",
                                         "trainer.semantic_weight=1"])
  training = pipeline_lib.create_pipeline(config)
  refresh = pipeline_lib.create_refresh_pipeline(config)
  ids = [c.id for c in refresh.components]
  assert {"CoEngagementPairs", "CatalogRefresh"} <= set(ids)
  assert not {"Trainer", "RelatedVideoEvaluator", "Pusher"} & set(ids)
  assert set(ids) - {"CatalogRefresh"} <= {c.id for c in
                                             training.components}
  (catalog_refresh,) = [c for c in refresh.components
                        if c.id == "CatalogRefresh"]
  assert catalog_refresh.exec_properties["serving_dir"] == (
      config_lib.serving_model_dir(config))
  # Its own pipeline and root, beside the training pipeline's, cached like
  # training (the ExampleGens fingerprint the catalog files); the version
  # it refreshes from is part of CatalogRefresh's cache key.
  assert refresh.pipeline_info.pipeline_name == "relvid-refresh"
  assert refresh.pipeline_info.pipeline_root == (
      training.pipeline_info.pipeline_root + "-refresh")
  assert refresh.enable_cache and training.enable_cache
  assert catalog_refresh.exec_properties["source_version"] == 0
  (from_version_7,) = [
      c for c in pipeline_lib.create_refresh_pipeline(
          config, source_version=7).components if c.id == "CatalogRefresh"]
  assert from_version_7.exec_properties["source_version"] == 7
  # No semantic mining in a refresh: it trains nothing.
  (pairs,) = [c for c in refresh.components if c.id == "CoEngagementPairs"]
  assert "semantic_threshold" not in pairs.exec_properties


def test_training_and_refresh_share_the_embedding_stores(tmp_path):
  def store_dirs(*overrides):
    config = config_lib.load_config(None, [
        f"output_dir={tmp_path}", "visual.enabled=true", *overrides])
    found = set()
    for create in (pipeline_lib.create_pipeline,
                   pipeline_lib.create_refresh_pipeline):
      found |= {(c.id, c.exec_properties["embedding_store_dir"])
                for c in create(config).components
                if c.id in ("TextEmbedder", "VisualEmbedder")}
    return found

  assert store_dirs() == {
      ("TextEmbedder", f"{tmp_path}/embedding_store/relvid/text"),
      ("VisualEmbedder", f"{tmp_path}/embedding_store/relvid/visual")}
  assert store_dirs("text.reuse_embeddings=false") == {
      ("TextEmbedder", ""),
      ("VisualEmbedder", f"{tmp_path}/embedding_store/relvid/visual")}


def test_each_table_gets_an_example_gen_with_its_span(tmp_path):
  """The two ExampleGens read the configured paths as FileBasedExampleGen
  does (input_base + pattern), with a static span only where a path names
  one; the demo catalog is written before it is read."""
  config = config_lib.load_config(None, [
      f"output_dir={tmp_path}", "data.source=files",
      "data.interactions_path=gs://acme/logs/{YYYY}-{MM}-{DD}/*.parquet",
      "data.items_path=gs://acme/catalog/*.parquet",
      "data.file_format=parquet", "data.span=2000-06-02"])
  gens = {c.id: c for c in pipeline_lib.create_components(config)
          if c.id.endswith("_ExampleGen")}
  assert sorted(gens) == ["interactions_ExampleGen", "items_ExampleGen"]
  logs = gens["interactions_ExampleGen"].exec_properties
  assert logs["input_base"] == "gs://acme/logs"
  assert json.loads(logs["input_config"])["splits"] == [
      {"name": "all", "pattern": "{YYYY}-{MM}-{DD}/*.parquet"}]
  assert json.loads(logs["range_config"]) == {"static_range": {
      "start_span_number": 11110, "end_span_number": 11110}}
  assert (logs["table"], logs["file_format"]) == ("interactions", "parquet")
  items = gens["items_ExampleGen"].exec_properties
  assert items["input_base"] == "gs://acme/catalog"
  assert items["range_config"] is None
  latest = config_lib.load_config(None, [
      f"output_dir={tmp_path}", "data.source=files",
      "data.interactions_path=/logs/{SPAN}/*.csv", "data.items_path=/i.csv"])
  (logs,) = [c for c in pipeline_lib.create_components(latest)
             if c.id == "interactions_ExampleGen"]
  assert logs.exec_properties["range_config"] is None  # the latest span
  assert logs.exec_properties["span"] is None

  demo = config_lib.load_config(None, [f"output_dir={tmp_path}",
                                       "data.source=demo_media"])
  components = pipeline_lib.create_components(demo)
  (catalog,) = [c for c in components if c.id == "DemoCatalogGen"]
  assert catalog.exec_properties["catalog_dir"] == (
      f"{tmp_path}/demo_catalog/relvid")
  for gen in (c for c in components if c.id.endswith("_ExampleGen")):
    assert gen.upstream_nodes == {catalog}
    assert gen.exec_properties["input_base"] == (
        catalog.exec_properties["catalog_dir"])
  assert list(tmp_path.iterdir()) == []


DAILY = ["data.source=files", "data.items_path=/catalog/items.csv",
         "data.interactions_path=/logs/{YYYY}-{MM}-{DD}.csv"]


@pytest.mark.parametrize("overrides,warm", [
    (DAILY + ["data.window_days=7"], True),
    (DAILY + ["data.window_days=7", "trainer.warm_start=false"], False),
    (DAILY, False)])  # no window: not a per-span job
def test_a_per_span_job_warm_starts_from_the_last_blessed_model(
    tmp_path, overrides, warm):
  config = config_lib.load_config(None, [f"output_dir={tmp_path}"] +
                                  overrides)
  components = {c.id: c for c in pipeline_lib.create_components(config)}
  trainer = components["Trainer"]
  assert (pipeline_lib.WARM_START_RESOLVER in components) == warm
  assert ("base_model" in trainer.inputs) == warm
  if warm:
    resolver = components[pipeline_lib.WARM_START_RESOLVER]
    assert resolver.exec_properties["resolver_class"] is (
        tfx.dsl.experimental.LatestBlessedModelStrategy)
    assert trainer.inputs["base_model"].producer_component_id == (
        pipeline_lib.WARM_START_RESOLVER)


def test_scheduled_runs_read_the_span_the_scheduler_gives(tmp_path):
  """Airflow's DAG reads the run date ({{ ds }}) into the ExampleGen of a
  table whose path names a span; a fixed data.span or a path without a
  span takes no parameter."""
  from pipeline import airflow_runner  # pylint: disable=g-import-not-at-top
  config = config_lib.load_config(None, [f"output_dir={tmp_path}"] + DAILY)
  gens = {c.id: c for c in airflow_runner.create_airflow_pipeline(
      config).components if c.id.endswith("_ExampleGen")}
  span = gens["interactions_ExampleGen"].exec_properties["span"]
  assert isinstance(span, tfx.dsl.experimental.RuntimeParameter)
  assert (span.name, span.ptype, span.default) == ("span", str, "{{ ds }}")
  assert gens["items_ExampleGen"].exec_properties["span"] is None
  fixed = config_lib.load_config(None, [f"output_dir={tmp_path}",
                                        "data.span=2000-06-01"] + DAILY)
  assert pipeline_lib.span_parameter(fixed, "{{ ds }}") is None
  assert pipeline_lib.span_parameter(config_lib.load_config(
      None, [f"output_dir={tmp_path}"]), "{{ ds }}") is None
