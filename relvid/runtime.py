# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The one place that selects Keras 2 for TensorFlow.

TF 2.16 ships Keras 3, which TFRS 0.7.7 and TF Hub refuse; `tf.keras`
routes to `tf_keras` (Keras 2) when TF_USE_LEGACY_KERAS=1 is set before
`tf.keras` is first touched. Every relvid package calls `use_keras2()` in
its `__init__`, so any entry point (the `relvid` console script, `python -m`,
a notebook importing a relvid module) selects Keras 2 before its own
modules import TensorFlow. If TensorFlow was imported first and has already
resolved `tf.keras` to Keras 3, there is no way back in this process: that
is an ImportError saying what to do, not a confusing failure later inside
TFRS.
"""
import os
import sys
import warnings

LEGACY_KERAS_ENV = "TF_USE_LEGACY_KERAS"


class KerasVersionError(ImportError):
  """tf.keras is already Keras 3 in this process."""


def _resolved_keras_version(tf_module) -> str:
  """'tf_keras', 'keras_3', 'keras_2', or '' while tf.keras is unresolved."""
  loader = tf_module.__dict__.get("keras")
  if loader is None:
    return ""
  try:
    if not loader._tfll_initialized:  # pylint: disable=protected-access
      return ""
    return loader._tfll_keras_version  # pylint: disable=protected-access
  except AttributeError:  # not TF's lazy loader: a resolved module
    return "tf_keras" if loader.__name__.startswith("tf_keras") else "keras"


def use_keras2() -> None:
  """Makes `tf.keras` Keras 2 (tf_keras) in this process and its children.

  Raises:
    KerasVersionError: TensorFlow was imported earlier and `tf.keras` is
      already Keras 3.
  """
  os.environ[LEGACY_KERAS_ENV] = "1"
  # google-api-core warns on every import that Python 3.10 is past its
  # support window; TFX 1.16 (the newest that installs on glibc 2.36)
  # needs 3.10.
  warnings.filterwarnings(
      "ignore", message="You are using a non-supported Python version",
      category=FutureWarning)
  tf_module = sys.modules.get("tensorflow")
  if tf_module is None:
    return
  version = _resolved_keras_version(tf_module)
  if version and version != "tf_keras":
    raise KerasVersionError(
        "relvid needs Keras 2 (tf_keras), but TensorFlow was imported before "
        f"relvid and tf.keras is already {version}. Set "
        f"{LEGACY_KERAS_ENV}=1 in the environment, or import relvid's "
        "packages before TensorFlow.")
