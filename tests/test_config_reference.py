# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The configuration reference: YAML commented from relvid/config.py's own
source (`relvid config`, docs/configuration.md), loading back to the same
configuration."""
import dataclasses
import os
import re

from pipeline import cli
from relvid import config as config_lib
from relvid import config_doc

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(PROJECT, "docs", "configuration.md")

# One field or more per kind of value and section, a list among them.
OVERRIDES = [
    "pipeline_name=nightly", "output_dir=gs://acme/relvid",
    "metadata_path=/var/relvid/metadata.db",
    "data.text_fields=title,tags", "data.schema_dir=",
    "trainer.batch_size=4096", "trainer.learning_rate=0.0005",
    "trainer.normalize=true", "eval.ks=5,20", "eval.gate_k=20",
    "beam.extra_args=--max_num_workers=20,--experiments=use_runner_v2",
    "orchestration.schedule=0 3 * * *", "orchestration.start_date=2026-02-01",
]


def fields(config):
  """(section, field) for every field, top-level ones with section ""."""
  names = []
  for field in dataclasses.fields(config):
    value = getattr(config, field.name)
    if dataclasses.is_dataclass(value):
      names += [(field.name, f.name) for f in dataclasses.fields(value)]
    else:
      names.append(("", field.name))
  return names


def load(text, tmp_path, name="config.yaml"):
  path = tmp_path / name
  path.write_text(text)
  return config_lib.load_config(str(path))


def test_rendered_config_loads_back_to_itself(tmp_path):
  config = config_lib.load_config(None, OVERRIDES)
  assert config != config_lib.PipelineConfig()
  text = config_doc.render(config)
  assert dataclasses.asdict(load(text, tmp_path)) == dataclasses.asdict(
      config)
  defaults = config_lib.PipelineConfig()
  for portable in (False, True):
    text = config_doc.render(defaults, portable=portable)
    assert dataclasses.asdict(load(text, tmp_path)) == dataclasses.asdict(
        defaults)


def test_every_field_appears_with_its_source_comments():
  text = config_doc.render(config_lib.PipelineConfig())
  seen = set()
  section = ""
  for line in text.splitlines():
    match = re.match(r"( *)(\w+):", line)
    if not match:
      continue
    if match.group(1):
      seen.add((section, match.group(2)))
    elif line.endswith(":"):
      section = match.group(2)
    else:  # the top-level fields, before the first section
      seen.add(("", match.group(2)))
  assert set(fields(config_lib.PipelineConfig())) == seen
  # The section's docstring heads it; top-level fields come first.
  assert text.startswith("# Everything one pipeline run needs.\n"
                         "pipeline_name: relvid\n")
  assert ("# Two-tower model, its two tasks and off-policy correction.\n"
          "trainer:\n") in text
  # The comment block right above a field, and only that block:
  # warm_start_epochs has none of its own (it shares warm_start's), and
  # batch_size's own follows it.
  assert ("  # above). false: every run from scratch.\n"
          "  warm_start: true\n"
          "  warm_start_epochs: 3\n"
          "  # Train pairs per batch; the other candidates of a batch are each "
          "pair's\n"
          "  # negatives (in-batch softmax). Twice TFRS's 1024: the more "
          "negatives\n"
          "  # per pair added recall on MovieLens-1M (docs/model-quality.md, "
          "\"Batch\n"
          "  # size\").\n"
          "  batch_size: 2048\n"
          "  # `adam` or `adagrad` (TFRS's tutorials use Adagrad 0.1) at\n"
          ) in text
  assert ("  # Two engagements of one user at most this far apart form a "
          "pair.\n  window_seconds: 3600\n") in text
  # A comment after the field on its line stays there.
  assert "  num_leaves_to_search: 0  # 0 = that default\n" in text
  docs = config_doc.field_docs(config_lib.TrainerConfig)
  assert "warm_start_epochs" not in docs and "output_dim" not in docs
  assert docs["semantic_index"].above[0].startswith("Neighbour search")
  # Only values other than the default say the default.
  assert not re.search(r"\S  # default: ", text)
  changed = config_doc.render(config_lib.load_config(None, OVERRIDES))
  assert "  batch_size: 4096  # default: 2048\n" in changed
  assert "  ks: [5, 20]  # default: [10, 50, 100]\n" in changed
  assert "  batch_size: 64\n" in changed  # text.batch_size, unchanged


def test_reference_page_is_generated_from_the_code(tmp_path):
  with open(PAGE) as f:
    page = f.read()
  assert page == config_doc.reference_page(), (
      "docs/configuration.md is out of date with relvid/config.py; "
      f"regenerate it from the source root with: {config_doc.REGENERATE}")
  (block,) = re.findall(r"```yaml\n(.*?)```", page, re.S)
  assert load(block, tmp_path) == config_lib.PipelineConfig()
  # The same on every installation: no path of this one.
  assert config_lib.PACKAGED_SCHEMA_DIR not in page
  assert "# schema_dir: " in block


def test_config_command_prints_the_effective_config(capsys, tmp_path):
  assert cli.main(["config", "--set", "trainer.batch_size=4096"]) == 0
  out = capsys.readouterr().out
  assert "  batch_size: 4096  # default: 2048\n" in out
  assert load(out, tmp_path).trainer.batch_size == 4096
  path = tmp_path / "prod.yaml"
  path.write_text("pairs:\n  window_seconds: 600\n")
  assert cli.main(["config", "--config", str(path)]) == 0
  assert "  window_seconds: 600  # default: 3600\n" in capsys.readouterr().out
  # --defaults: the reference page's block, whatever else is given.
  assert cli.main(["config", "--defaults", "--config", str(path),
                   "--set", "trainer.batch_size=4096"]) == 0
  assert capsys.readouterr().out == config_doc.render(
      config_lib.PipelineConfig(), portable=True)


def test_config_command_refuses_a_bad_config(capsys):
  assert cli.main(["config", "--set", "trainer.batch_size=0"]) == 2
  captured = capsys.readouterr()
  assert captured.out == ""
  assert captured.err.strip().splitlines() == [
      "error: config field trainer.batch_size: must be > 0"]
  assert cli.main(["config", "--set", "trainer.no_such_field=1"]) == 2
  assert "trainer.no_such_field" in capsys.readouterr().err
