# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Protocol-neutral predict, status and metadata over one model registry.

REST (`serving.server`) and gRPC (`serving.grpc_service`) both parse their
request into {input name: numpy array} and call `Predictor`, so the two
APIs share validation, error messages, the batch scheduler and the
registry's hot reload. Errors carry TF Serving's canonical code names; each
protocol maps them (REST: `ApiError.http_status`, gRPC: the status code of
the same name).
"""
import re
from typing import Any, Dict, List, Optional

import numpy as np

import tensorflow as tf

from serving import batching
from serving.options import DEFAULT_MAX_BATCH_SIZE
from serving.registry import LoadedModel
from serving.registry import ModelRegistry
from serving.registry import ServableNotFound


HTTP_STATUS = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400,
               "NOT_FOUND": 404, "UNAVAILABLE": 503, "UNIMPLEMENTED": 501,
               "INTERNAL": 500}


# Errors echo what a request sent (ids, names, values); these bounds keep an
# error body small whatever the request held.
MAX_ECHOED_CHARS = 64
MAX_ERROR_CHARS = 1024


def echo(value: str, limit: int = MAX_ECHOED_CHARS) -> str:
  """A request's value as an error shows it: cut, with its length said."""
  value = str(value)
  return value if len(value) <= limit else (
      f"{value[:limit]}... ({len(value):,} characters)")


class ApiError(Exception):
  """A request error with TF Serving's canonical code (e.g. NOT_FOUND); a
  message longer than MAX_ERROR_CHARS is cut, saying so."""

  def __init__(self, code: str, message: str):
    if len(message) > MAX_ERROR_CHARS:
      said = f"... (message cut: {len(message):,} characters)"
      message = message[:MAX_ERROR_CHARS - len(said)] + said
    super().__init__(message)
    if code not in HTTP_STATUS:
      raise ValueError(f"unknown error code {code!r}")
    self.code = code
    self.message = message

  @property
  def http_status(self) -> int:
    return HTTP_STATUS[self.code]


def invalid(message: str) -> ApiError:
  return ApiError("INVALID_ARGUMENT", message)


def unknown_inputs(unknown, known) -> ApiError:
  """The request named inputs the signature does not take."""
  return invalid(f"unknown input(s) {[echo(n) for n in sorted(unknown)]}; "
                 f"the signature takes {sorted(known)}")


def error_message(message: str) -> str:
  """The model's own assertion ("unknown trigger_id: x") without TF's graph
  execution preamble, or the whole message."""
  found = re.search(r"assertion failed: \[([^\]]*)\] \[([^\]]*)\]", message)
  if not found:
    return message.strip()
  # TF prints the first ids separated by spaces: each is cut.
  ids = " ".join(echo(word) for word in found.group(2).split(" "))
  return f"{found.group(1)} {ids}"


def _check_dtype(name: str, values: np.ndarray, spec: tf.TensorSpec) -> None:
  if spec.dtype == tf.string:
    if values.dtype.kind not in "OSU" or (values.dtype.kind == "O" and not all(
        isinstance(v, (bytes, str)) for v in values.ravel())):
      raise invalid(f"input {name} expects DT_STRING values, got "
                    f"{values.dtype.name}")
  elif values.dtype.kind not in "iuf" or (
      spec.dtype.is_integer and values.dtype.kind == "f"):
    raise invalid(f"input {name} expects DT_{spec.dtype.name.upper()} "
                  f"values, got {values.dtype.name}")


class Predictor:
  """Runs TF Serving predict requests against a registry's models.

  Args:
    registry: the versions being served.
    max_batch_size: the largest request (rows) accepted.
    batching: when set, requests go through a BatchScheduler with these
      parameters (TF Serving's --enable_batching); otherwise each request is
      its own signature call.
  """

  def __init__(self, registry: ModelRegistry,
               max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
               batching_parameters: Optional[
                   batching.BatchingParameters] = None):
    self.registry = registry
    self.max_batch_size = max_batch_size
    self.scheduler = (batching.BatchScheduler(batching_parameters)
                      if batching_parameters is not None else None)

  def model(self, name: str, version: Optional[int] = None) -> LoadedModel:
    """The model serving `name` at `version` (None: the newest).

    Raises:
      ApiError: NOT_FOUND for an unknown model name or version.
    """
    if name != self.registry.name:
      raise ApiError("NOT_FOUND",
                     f"Servable not found for request: Latest({name})")
    try:
      return self.registry.get(version)
    except ServableNotFound as e:
      raise ApiError("NOT_FOUND", str(e)) from None

  def status(self, name: str, version: Optional[int] = None
             ) -> List[Dict[str, Any]]:
    """TF Serving's model_version_status list for `name`."""
    self.model(name, version)
    return [s for s in self.registry.status()
            if version is None or s["version"] == str(version)]

  def input_specs(self, model: LoadedModel, signature_name: Optional[str]
                  ) -> Dict[str, tf.TensorSpec]:
    try:
      signature = model.signature(signature_name)
    except KeyError as e:  # TF Serving's code for an unknown signature
      raise ApiError("FAILED_PRECONDITION", str(e.args[0])) from None
    return signature.structured_input_signature[1]

  def predict(self, model: LoadedModel, signature_name: Optional[str],
              inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Validates the inputs against the signature and runs it.

    Args:
      model: from `model()`; this version answers even if a newer one is
        switched in meanwhile.
      signature_name: None or "" for serving_default.
      inputs: {input name: array with the batch as its first dimension}.

    Returns:
      {output name: numpy array}.

    Raises:
      ApiError: INVALID_ARGUMENT (bad names, dtypes, batch sizes, unknown
        ids), UNAVAILABLE (the batch queue is full).
    """
    specs = self.input_specs(model, signature_name)
    missing, unknown = set(specs) - set(inputs), set(inputs) - set(specs)
    if unknown:
      raise unknown_inputs(unknown, specs)
    if missing:
      raise invalid(f"missing input(s) {sorted(missing)}")
    sizes = set()
    for name, values in inputs.items():
      if values.ndim == 0:
        raise invalid(f"input {name} must be a batch (a list), not a "
                      "scalar")
      if len(values) == 0:  # pylint: disable=g-explicit-length-test
        raise invalid(f"input {name} is an empty batch")
      if len(values) > self.max_batch_size:
        raise invalid(f"batch of {len(values)} exceeds the maximum batch "
                      f"size {self.max_batch_size}")
      _check_dtype(name, values, specs[name])
      if not specs[name].shape.is_compatible_with(values.shape):
        raise invalid(f"input {name} has shape {list(values.shape)}; the "
                      f"signature takes {specs[name].shape}")
      sizes.add(len(values))
    if len(sizes) > 1:
      raise invalid("all inputs must have the same batch size")
    signature = model.signature(signature_name)

    def run(arrays: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
      outputs = signature(**{name: tf.constant(values, specs[name].dtype)
                             for name, values in arrays.items()})
      return {k: v.numpy() for k, v in outputs.items()}

    try:
      if self.scheduler is None:
        return run(inputs)
      key = (model.version, signature_name or "")
      return self.scheduler.submit(key, run, inputs).result()
    except tf.errors.InvalidArgumentError as e:
      raise invalid(error_message(e.message)) from None
    except batching.TaskTooLargeError as e:
      raise invalid(str(e)) from None
    except batching.QueueFullError as e:
      raise ApiError("UNAVAILABLE", str(e)) from None

  def close(self) -> None:
    if self.scheduler is not None:
      self.scheduler.stop()
