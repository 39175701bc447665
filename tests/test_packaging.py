# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The package installs the way docs/getting-started.md says: Beam's `--setup_file`
staging builds it from setup.py, and (marked `packaging`, run by .ci/run,
~3 min and ~4 GB) its wheel installs into a clean Python 3.10 venv with
`pip install -c constraints.txt` in one pass and works there."""
import glob
import os
import subprocess
import sys
import tarfile

import pytest

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_beam_setup_file_staging_builds_the_package(tmp_path):
  """What `--setup_file ./setup.py` does before a Dataflow job starts."""
  from apache_beam.runners.portability.stager import Stager  # pylint: disable=g-import-not-at-top
  sdist = Stager._build_setup_package(  # pylint: disable=protected-access
      os.path.join(PROJECT, "setup.py"), str(tmp_path))
  with tarfile.open(sdist) as archive:
    names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    info = archive.extractfile(next(
        m for m in archive.getmembers()
        if m.name.endswith("relvid.egg-info/requires.txt"))).read().decode()
  for path in ("relvid/contract.py", "relvid/schemas/items/schema.pbtxt",
               "pipeline/cli.py", "components/pair_generation.py",
               "trainer/task.py", "serving/server.py", "pyproject.toml"):
    assert path in names, path
  assert "tfx==1.16.0" in info and "tensorflow-hub==0.16.1" in info


def run(command, cwd, timeout=1800):
  out = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                       timeout=timeout)
  assert out.returncode == 0, (command, out.stdout[-3000:],
                               out.stderr[-3000:])
  return out.stdout


@pytest.mark.packaging
def test_wheel_installs_into_a_clean_venv_in_one_pass(tmp_path):
  run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", PROJECT,
       "-w", str(tmp_path / "dist")], cwd=tmp_path)
  (wheel,) = glob.glob(str(tmp_path / "dist" / "relvid-*.whl"))
  base_python = getattr(sys, "_base_executable", sys.executable)
  run([base_python, "-m", "venv", str(tmp_path / "venv")], cwd=tmp_path)
  python = str(tmp_path / "venv" / "bin" / "python")
  run([python, "-m", "pip", "install", "-q", "pip<25"], cwd=tmp_path)
  run([sys.executable, os.path.join(PROJECT, "tools", "build_wheelhouse.py")],
      cwd=tmp_path)
  # From outside the source tree: constraints.txt finds the wheelhouse
  # relative to itself.
  run([python, "-m", "pip", "install", "-q", "-c",
       os.path.join(PROJECT, "constraints.txt"), wheel], cwd=tmp_path)
  assert "No broken requirements" in run([python, "-m", "pip", "check"],
                                         cwd=tmp_path)
  smoke = (
      "import os, tensorflow as tf\n"
      "import relvid.config, pipeline.pipeline, components.evaluator\n"
      "import trainer.model, serving.server\n"
      "from components import assets\n"
      "from kfp import compiler, dsl\n"
      "import tensorflow_hub, tensorflow_recommenders, tensorflow_text\n"
      "from scann.scann_ops.py import scann_ops\n"
      "assert tf.keras.__name__.startswith('tf_keras'), tf.keras.__name__\n"
      "assert tensorflow_hub.__version__ == '0.16.1'\n"
      "assert os.path.isfile(os.path.join(relvid.config.PACKAGED_SCHEMA_DIR,"
      " 'items', 'schema.pbtxt'))\n"
      "assert relvid.config.__file__.startswith(os.environ['VIRTUAL_ENV'])\n"
      "for folder in (assets.movielens_100k_dir(), assets.movielens_1m_dir(),\n"
      "               assets.minilm_dir()):\n"
      "  assert os.listdir(folder)\n"
      "print('ok')\n")
  env = dict(os.environ, VIRTUAL_ENV=str(tmp_path / "venv"),
             TF_CPP_MIN_LOG_LEVEL="3")
  out = subprocess.run([python, "-c", smoke], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
  assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
  relvid = str(tmp_path / "venv" / "bin" / "relvid")
  run([relvid, "compile", "--set", "output_dir=gs://acme/relvid", "--output",
       str(tmp_path / "spec.json")], cwd=tmp_path)
  assert (tmp_path / "spec.json").stat().st_size > 0
