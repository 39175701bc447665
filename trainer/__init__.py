# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The two-tower TFRS model, its training entry points and export.

Keras 2 is selected here, before any module of this package imports
TensorFlow (see relvid/runtime.py).
"""
from relvid import runtime

runtime.use_keras2()
