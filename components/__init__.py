# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Part of relvid; importing it selects Keras 2 (see pipeline/__init__.py)."""
import pipeline  # noqa: F401
