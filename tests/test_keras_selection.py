# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Keras 2 is selected by relvid's packages, whatever the caller imported
first; when that is no longer possible the import fails loudly."""
import os
import subprocess
import sys

import pytest

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str) -> subprocess.CompletedProcess:
  env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
  env["TF_CPP_MIN_LOG_LEVEL"] = "3"
  return subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env,
                        capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("module", ["trainer.model", "components.evaluator",
                                    "serving.server"])
def test_tensorflow_imported_first_still_gets_keras_2(module):
  out = run_python(
      "import tensorflow as tf\n"
      f"import {module}\n"
      "import tensorflow_recommenders\n"  # refuses Keras 3 on import
      "print(tf.keras.__name__)\n")
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.strip().startswith("tf_keras")


def test_keras_3_already_in_use_fails_loudly():
  out = run_python(
      "import tensorflow as tf\n"
      "tf.keras.layers.Dense(1)\n"  # resolves tf.keras to Keras 3
      "import trainer\n")
  assert out.returncode != 0
  assert "KerasVersionError" in out.stderr
  assert "TF_USE_LEGACY_KERAS=1" in out.stderr


def test_no_module_selects_keras_on_its_own():
  """One place selects Keras 2: the package __init__s call it, no module
  imports a package for that side effect."""
  offenders = []
  for package in ("pipeline", "components", "trainer", "serving", "relvid",
                  "benchmarks"):
    folder = os.path.join(PROJECT, package)
    for name in sorted(os.listdir(folder)):
      if not name.endswith(".py") or name == "__init__.py":
        continue
      with open(os.path.join(folder, name)) as f:
        text = f.read()
      if ("import pipeline  #" in text or "TF_USE_LEGACY_KERAS" in text
          or "use_keras2()" in text) and name != "runtime.py":
        offenders.append(f"{package}/{name}")
  assert offenders == []
