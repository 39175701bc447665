# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
import pytest

from relvid import config as config_lib


def test_defaults_are_valid_and_movielens():
  config = config_lib.PipelineConfig().validate()
  assert config.data.source == config_lib.MOVIELENS_100K
  assert "topics" not in config.data.text_fields
  assert config.beam.pipeline_args()[:1] == ["--runner=DirectRunner"]


def test_yaml_then_overrides(tmp_path):
  path = tmp_path / "run.yaml"
  path.write_text("pairs:\n  window_seconds: 600\n  symmetric: true\n"
                  "data:\n  text_fields: [title]\n")
  config = config_lib.load_config(
      str(path), ["pairs.window_seconds=1200", "beam.direct_num_workers=1"])
  assert config.pairs.window_seconds == 1200
  assert config.pairs.symmetric is True
  assert config.data.text_fields == ["title"]
  assert "--direct_num_workers=1" in config.beam.pipeline_args()


@pytest.mark.parametrize("override, field", [
    ("pairs.window_seconds=0", "pairs.window_seconds"),
    ("pairs.eval_fraction=1.5", "pairs.eval_fraction"),
    ("pairs.window_seconds=soon", "pairs.window_seconds"),
    ("pairs.symmetric=maybe", "pairs.symmetric"),
    ("data.source=kaggle", "data.source"),
    ("data.text_fields=title,topics", "data.text_fields"),
    ("data.nonsense=1", "data.nonsense"),
    ("data.source=files", "data.interactions_path"),
    ("beam.direct_running_mode=multi_threading", "beam.direct_running_mode"),
    ("beam.runner=SamzaRunner", "beam.runner"),
    ("beam.runner=DataflowRunner", "beam.project"),
    ("beam.runner=FlinkRunner", "beam.flink_master"),
    ("beam.runner=SparkRunner", "beam.spark_master_url"),
    ("beam.environment_type=KUBERNETES", "beam.environment_type"),
    ("metadata_path=gs://b/metadata.db", "metadata_path"),
    ("orchestration.start_date=tomorrow", "orchestration.start_date"),
    ("trainer.use_visual=true", "trainer.use_visual"),
    ("visual.frame_method=random", "visual.frame_method"),
    ("visual.frame_count=0", "visual.frame_count"),
    ("trainer.semantic_threshold=1.5", "trainer.semantic_threshold"),
    ("trainer.opc_alpha=0", "trainer.opc_alpha"),
    ("trainer.semantic_index=faiss", "trainer.semantic_index"),
    ("export.index=hnsw", "export.index"),
    ("eval.ks=10,500", "eval.ks"),
    ("eval.recall_floor=2", "eval.recall_floor"),
    ("trainer.fusion=concat", "trainer.fusion"),
    ("trainer.optimizer=sgd", "trainer.optimizer"),
    ("trainer.selection_tie_break=recall", "trainer.selection_tie_break"),
    ("trainer.selection_metric=ndcg", "trainer.selection_metric"),
    ("trainer.selection_tie_test=bootstrap", "trainer.selection_tie_test"),
    ("trainer.opc_side=user", "trainer.opc_side"),
    ("trainer.task_weighting=gradnorm", "trainer.task_weighting"),
    ("trainer.semantic_targets=graded", "trainer.semantic_targets"),
    ("trainer.validation_fraction=1", "trainer.validation_fraction"),
    ("trainer.uniform_negatives=-1", "trainer.uniform_negatives"),
    ("trainer.cold_items=hashed", "trainer.cold_items"),
    ("trainer.id_dropout=1", "trainer.id_dropout"),
    ("trainer.logq_strength=-0.5", "trainer.logq_strength"),
    ("trainer.logq_strength=1.2", "trainer.logq_strength"),
    ("trainer.rare_trigger_logq=-0.1", "trainer.rare_trigger_logq"),
    ("trainer.rare_trigger_engagements=0", "trainer.rare_trigger_engagements"),
    ("trainer.selection_tie_se=-1", "trainer.selection_tie_se"),
    ("trainer.cold_boost=-1", "trainer.cold_boost"),
    ("trainer.cold_share=1", "trainer.cold_share"),
    ("trainer.cold_share_k=0", "trainer.cold_share_k"),
    ("eval.cold_candidate_recall_floor=2",
     "eval.cold_candidate_recall_floor"),
    ("eval.recall_change_absolute=-2", "eval.recall_change_absolute"),
    ("eval.topic_change_relative=1.5", "eval.topic_change_relative"),
    ("trainer.warm_start_epochs=0", "trainer.warm_start_epochs"),
    ("data.window_days=-1", "data.window_days"),
    ("data.window_days=7", "data.window_days"),  # no span placeholder
    ("drift.min_volume_ratio=2", "drift.min_volume_ratio"),
    ("drift.max_volume_ratio=0.5", "drift.min_volume_ratio"),
    ("drift.max_popularity_shift=2", "drift.max_popularity_shift"),
    ("drift.max_hour_of_day_divergence=-1",
     "drift.max_hour_of_day_divergence"),
])
def test_invalid_values_name_the_field(override, field):
  with pytest.raises(ValueError, match=f"config field {field}"):
    config_lib.load_config(None, [override])


def test_soft_semantic_targets_need_the_text_vectors():
  with pytest.raises(ValueError, match="config field trainer.semantic_targets"):
    config_lib.load_config(None, ["trainer.semantic_targets=soft",
                                  "trainer.semantic_weight=1",
                                  "trainer.use_text=false"])


def test_a_fixed_cold_boost_needs_content_fallback():
  with pytest.raises(ValueError, match="config field trainer.cold_boost"):
    config_lib.load_config(None, ["trainer.cold_items=id",
                                  "trainer.cold_boost=1"])
  # The default cold share is simply off for towers that keep the IDs.
  assert config_lib.load_config(None, ["trainer.cold_items=id"])


def test_override_needs_equals_sign():
  with pytest.raises(ValueError, match="section.field=value"):
    config_lib.load_config(None, ["pairs.window_seconds"])


def test_dataflow_temp_location_must_be_on_gcs():
  with pytest.raises(ValueError, match="beam.temp_location"):
    config_lib.load_config(None, [
        "beam.runner=DataflowRunner", "beam.project=p", "beam.region=r",
        "beam.temp_location=/tmp/x"])


def test_beam_args_per_runner():
  spark = config_lib.load_config(None, [
      "beam.runner=SparkRunner", "beam.spark_master_url=spark://m:7077",
      "beam.extra_args=--parallelism=8"])
  assert spark.beam.pipeline_args("img:1") == [
      "--runner=SparkRunner", "--spark_master_url=spark://m:7077",
      "--environment_type=DOCKER", "--environment_config=img:1",
      "--sdk_container_image=img:1", "--parallelism=8"]
  dataflow = config_lib.load_config(None, [
      "beam.runner=DataflowRunner", "beam.project=p", "beam.region=r",
      "beam.temp_location=gs://b/t", "beam.sdk_container_image=own:2"])
  assert "--sdk_container_image=own:2" in dataflow.beam.pipeline_args("img:1")


def test_portable_runner_with_an_external_worker_pool():
  config = config_lib.load_config(None, [
      "beam.runner=PortableRunner", "beam.job_endpoint=localhost:8099",
      "beam.environment_type=EXTERNAL",
      "beam.environment_config=localhost:50000"])
  assert config.beam.pipeline_args("img:1") == [
      "--runner=PortableRunner", "--job_endpoint=localhost:8099",
      "--environment_type=EXTERNAL", "--environment_config=localhost:50000",
      "--sdk_container_image=img:1"]
  with pytest.raises(ValueError, match="config field beam.environment_config"):
    config_lib.load_config(None, [
        "beam.runner=FlinkRunner", "beam.flink_master=jm:8081",
        "beam.environment_type=EXTERNAL"])


def test_remote_output_dir_paths():
  config = config_lib.load_config(None, ["output_dir=gs://b/relvid"])
  assert config_lib.pipeline_root(config) == "gs://b/relvid/pipelines/relvid"
  assert config_lib.serving_model_dir(config) == "gs://b/relvid/serving/relvid"
  # SQLite cannot live on object storage: the local runners need a path.
  with pytest.raises(ValueError, match="config field metadata_path"):
    config_lib.metadata_path(config)
  config.metadata_path = "meta/relvid.db"
  assert config_lib.metadata_path(config).endswith("/meta/relvid.db")
  local = config_lib.load_config(None, ["output_dir=out"])
  assert config_lib.serving_model_dir(local).endswith("/out/serving/relvid")


def test_demo_media_config_file_loads():
  import os
  path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs",
                      "demo_media.yaml")
  config = config_lib.load_config(path)
  assert config.data.source == config_lib.DEMO_MEDIA
  assert config.visual.enabled and config.trainer.use_visual


def test_movielens_1m_config_file_loads():
  import os
  path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs",
                      "movielens_1m.yaml")
  config = config_lib.load_config(path)
  assert config.data.source == config_lib.MOVIELENS_1M
  assert config.output_dir == "outputs/movielens_1m"
  # One default configuration for every data set: no per-set training.
  assert config.trainer == config_lib.TrainerConfig()
  assert config_lib.MOVIELENS_1M in config_lib.SOURCES
  with pytest.raises(ValueError, match="data.source"):
    config_lib.load_config(None, ["data.source=movielens_10m"])
