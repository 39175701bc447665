# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Importing any project package selects Keras 2 before TensorFlow loads.

TF 2.16 ships Keras 3, which TFRS 0.7.7 and TF Hub refuse; `tf_keras` (Keras 2)
is used when TF_USE_LEGACY_KERAS=1 is set before the first TF import.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
