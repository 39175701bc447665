# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""relvid's contract layer: what every other package shares and builds on.

  relvid.contract   split names, feature keys, signature and file names
  relvid.config     the one typed configuration (and its validation)
  relvid.config_doc the configuration as YAML commented from its source
  relvid.runtime    selects Keras 2 before TensorFlow loads
  relvid/schemas/   the curated data schemas ExampleValidator checks

Imports point one way: runners -> pipeline -> components / trainer /
serving -> relvid. Nothing here imports the other packages, TFX or
TensorFlow.
"""
