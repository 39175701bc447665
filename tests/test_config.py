# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
import pytest

from pipeline import config as config_lib


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
])
def test_invalid_values_name_the_field(override, field):
  with pytest.raises(ValueError, match=f"config field {field}"):
    config_lib.load_config(None, [override])


def test_override_needs_equals_sign():
  with pytest.raises(ValueError, match="section.field=value"):
    config_lib.load_config(None, ["pairs.window_seconds"])
