# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The `relvid` entry point: commands, their --help, errors, dispatch."""
import json
import os
import subprocess
import sys

import pytest

from pipeline import cli


def test_console_script_lists_every_command():
  script = os.path.join(os.path.dirname(sys.executable), "relvid")
  command = [script] if os.path.exists(script) else [
      sys.executable, "-m", "pipeline.cli"]
  out = subprocess.run(command + ["--help"], capture_output=True, text=True,
                       check=True).stdout
  for name in cli.COMMANDS:
    assert f"    {name}" in out


@pytest.mark.parametrize("command, expected", [
    ("run", "--progress"), ("compile", "--output"), ("airflow", "--config"),
    ("ablate", "--suite"), ("serve", "--model_base_path"),
    ("related", "item_id")])
def test_each_command_explains_itself(capsys, command, expected):
  with pytest.raises(SystemExit) as exit_:
    cli.main([command, "--help"])
  assert exit_.value.code == 0
  out = capsys.readouterr().out
  assert out.startswith(f"usage: relvid {command}")
  assert expected in out


HELP_WITHOUT_TENSORFLOW = """
import contextlib, io, sys
from pipeline import cli
for command in sys.argv[1:]:
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    try:
      cli.main([command, "--help"])
    except SystemExit as e:
      assert e.code == 0, (command, e.code)
  assert out.getvalue().startswith("usage: relvid " + command), command
  heavy = sorted(m for m in ("tensorflow", "tfx", "apache_beam")
                 if m in sys.modules)
  assert not heavy, (command, heavy)
sys.argv[1:] = ["--help"]
try:
  cli.serve_main()
except SystemExit as e:
  assert e.code == 0
assert "tensorflow" not in sys.modules
print("ok")
"""


def test_help_of_every_command_imports_no_tensorflow():
  """`relvid COMMAND --help` (and `relvid-serve --help`) answer from the
  options alone: TensorFlow, TFX and Beam take seconds to import."""
  done = subprocess.run(
      [sys.executable, "-c", HELP_WITHOUT_TENSORFLOW, *cli.COMMANDS],
      capture_output=True, text=True, timeout=120)
  assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (
      done.stdout[-1500:] + done.stderr[-1500:])
  assert "tensorflow" not in done.stderr.lower()


def test_ablation_suite_names_match_the_suites():
  from relvid import contract  # pylint: disable=g-import-not-at-top
  from trainer import ablation  # pylint: disable=g-import-not-at-top
  assert sorted(contract.ABLATION_SUITES) == sorted(ablation.SUITES)


def test_unknown_command_and_no_command_fail(capsys):
  for argv in (["train"], []):
    with pytest.raises(SystemExit) as exit_:
      cli.main(argv)
    assert exit_.value.code == 2
  assert "invalid choice" in capsys.readouterr().err


def test_compile_dispatches_with_the_config(tmp_path):
  out = tmp_path / "job.json"
  assert cli.main(["compile", "--set", "output_dir=gs://b/relvid",
                   "--set", "orchestration.image=img:7",
                   "--output", str(out)]) == 0
  executors = json.loads(out.read_text())["pipelineSpec"]["deploymentSpec"][
      "executors"]
  assert {e["container"]["image"] for e in executors.values()} == {"img:7"}


def test_bad_config_is_a_one_line_error(capfd):
  # On the terminal, although `relvid run` sends its logs to a file.
  assert cli.main(["run", "--set", "pairs.window_seconds=0"]) == 2
  assert "pairs.window_seconds" in capfd.readouterr().err
  with pytest.raises(SystemExit):
    cli.main(["run", "--no-such-option"])
  assert "unrecognized arguments: --no-such-option" in capfd.readouterr().err
  assert cli.main(["ablate", "--set", "output_dir=/nonexistent/relvid"]) == 2
  assert "run the pipeline first" in capfd.readouterr().err
