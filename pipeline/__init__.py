# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Importing any project package selects Keras 2 before TensorFlow loads.

TF 2.16 ships Keras 3, which TFRS 0.7.7 and TF Hub refuse; `tf_keras` (Keras 2)
is used when TF_USE_LEGACY_KERAS=1 is set before the first TF import.
"""
import os
import warnings

os.environ["TF_USE_LEGACY_KERAS"] = "1"
# google-api-core warns on every import that Python 3.10 is past its support
# window; TFX 1.16 (the newest that installs on glibc 2.36) needs 3.10.
warnings.filterwarnings(
    "ignore", message="You are using a non-supported Python version",
    category=FutureWarning)
