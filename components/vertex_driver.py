# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""TableExampleGen's pre-cache-check hook on Vertex / Kubeflow v2.

Vertex runs a file-based ExampleGen's driver as a separate step before its
cache lookup (`tfx.orchestration.kubeflow.v2.file_based_example_gen.driver`,
which `pipeline/kubeflow_v2_runner.py` swaps for this module in the compiled
spec). That driver reads the span from the range config only; this one
first turns the run's `span` pipeline parameter (a span number, a
YYYY-MM-DD date or `yesterday`, resolved when the step runs) into that
range config, as `ingestion.InputFilesDriver` does on the other runners,
then runs TFX's driver unchanged.

  python -m components.vertex_driver --json_serialized_invocation_args ...
"""
from absl import app
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration.kubeflow.v2.file_based_example_gen import driver
from tfx.types import standard_component_specs

from components import ingestion

TFX_DRIVER_MODULE = driver.__name__


def read_span_parameter(executor_input: pipeline_spec_pb2.ExecutorInput
                        ) -> None:
  """Sets the range config of `executor_input` to the one span its `span`
  parameter names (in place); an absent or empty span changes nothing (the
  latest span is read)."""
  # Newer backends fill `parameter_values`, older ones `parameters`.
  for values in (executor_input.inputs.parameter_values,
                 executor_input.inputs.parameters):
    span = (values[ingestion.SPAN_KEY].string_value
            if ingestion.SPAN_KEY in values else "")
    if span:
      values[standard_component_specs.RANGE_CONFIG_KEY].string_value = (
          ingestion.span_range_config(span))


def main(args) -> None:
  executor_input = pipeline_spec_pb2.ExecutorInput()
  json_format.Parse(args.json_serialized_invocation_args, executor_input,
                    ignore_unknown_fields=True)
  inputs_spec = None
  if getattr(args, "json_serialized_inputs_spec_args", None):
    inputs_spec = pipeline_spec_pb2.ComponentInputsSpec()
    json_format.Parse(args.json_serialized_inputs_spec_args, inputs_spec,
                      ignore_unknown_fields=True)
  read_span_parameter(executor_input)
  # TFX's own driver (module-private in tfx 1.16, pinned by constraints.txt).
  driver._run_driver(executor_input, inputs_spec)  # pylint: disable=protected-access


if __name__ == "__main__":
  app.run(main, flags_parser=driver._parse_flags)  # pylint: disable=protected-access
