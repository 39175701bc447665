# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""A local endpoint that speaks TF Serving's REST API, for development/tests.

  python -m serving.server --model_base_path outputs/serving/relvid \
      --model_name relvid --rest_api_port 8501

Routes (as TF Serving):
  GET  /v1/models/<name>[/versions/<v>]            version status
  GET  /v1/models/<name>[/versions/<v>]/metadata   signature defs
  POST /v1/models/<name>[/versions/<v>]:predict    {"instances": [...]} or
                                                   {"inputs": ...}
Errors are `{"error": "<message>"}` with TF Serving's HTTP statuses: 400 for
invalid arguments (bad JSON, wrong dtype, empty or oversized batch, unknown
item id), 404 for an unknown model or version. New version folders pushed
under the base path are picked up without a restart (see registry.py).
"""
import argparse
import json
import logging
import os
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import fastapi
import numpy as np
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import tensorflow as tf

from relvid import config as config_lib
from relvid import contract
from serving.registry import LoadedModel
from serving.registry import ModelRegistry
from serving.registry import ServableNotFound

DEFAULT_MAX_BATCH_SIZE = 1024


class ApiError(Exception):
  """An error with its HTTP status, answered as {"error": message}."""

  def __init__(self, status: int, message: str):
    super().__init__(message)
    self.status = status
    self.message = message


def _columns(body: Dict[str, Any], input_specs: Dict[str, tf.TensorSpec]
             ) -> Tuple[Dict[str, List[Any]], bool]:
  """The request's inputs as {input name: list of values}, and whether the
  request used the row ("instances") format."""
  if "instances" in body and "inputs" in body:
    raise ApiError(400, "Request can have either 'instances' or 'inputs', "
                        "not both")
  names = sorted(input_specs)
  if "instances" in body:
    instances = body["instances"]
    if not isinstance(instances, list):
      raise ApiError(400, "'instances' must be a list")
    columns: Dict[str, List[Any]] = {name: [] for name in names}
    for instance in instances:
      if isinstance(instance, dict):
        missing = set(names) - set(instance)
        if missing:
          raise ApiError(400, f"instance is missing input(s) {sorted(missing)}")
        for name in names:
          columns[name].append(instance[name])
      elif len(names) == 1:
        columns[names[0]].append(instance)
      else:
        raise ApiError(400, f"instances must be objects with {names}")
    return columns, True
  if "inputs" in body:
    inputs = body["inputs"]
    if isinstance(inputs, dict):
      unknown = set(inputs) - set(names)
      if unknown:
        raise ApiError(400, f"unknown input(s) {sorted(unknown)}; the "
                            f"signature takes {names}")
      return {name: inputs.get(name) for name in names}, False
    if len(names) == 1:
      return {names[0]: inputs}, False
    raise ApiError(400, f"'inputs' must be an object with {names}")
  raise ApiError(400, "Missing 'inputs' or 'instances' key")


def _tensor(name: str, values: Any, spec: tf.TensorSpec,
            max_batch_size: int) -> tf.Tensor:
  if not isinstance(values, list):
    raise ApiError(400, f"input {name} must be a list of values")
  if not values:
    raise ApiError(400, f"input {name} is an empty batch")
  if len(values) > max_batch_size:
    raise ApiError(400, f"batch of {len(values)} exceeds the maximum batch "
                        f"size {max_batch_size}")
  if spec.dtype == tf.string:
    if not all(isinstance(v, str) for v in values):
      raise ApiError(400, f"input {name} expects DT_STRING values, got "
                          f"{sorted({type(v).__name__ for v in values})}")
  elif not all(isinstance(v, (int, float)) and not isinstance(v, bool)
               for v in values):
    raise ApiError(400, f"input {name} expects numbers")
  try:
    return tf.constant(values, dtype=spec.dtype)
  except (TypeError, ValueError) as e:
    raise ApiError(400, f"input {name}: {e}") from None


def _error_message(message: str) -> str:
  """The model's own assertion ("unknown trigger_id: x") without TF's graph
  execution preamble, or the whole message."""
  found = re.search(r"assertion failed: \[([^\]]*)\] \[([^\]]*)\]", message)
  return f"{found.group(1)} {found.group(2)}" if found else message.strip()


def _jsonable(value: Any) -> Any:
  """numpy output (bytes for strings) -> JSON values."""
  if isinstance(value, bytes):
    return value.decode("utf-8")
  if isinstance(value, np.ndarray):
    if value.dtype == object:
      return [_jsonable(v) for v in value]
    return value.tolist()
  return value.item() if isinstance(value, np.generic) else value


def predict(model: LoadedModel, body: Any,
            max_batch_size: int = DEFAULT_MAX_BATCH_SIZE) -> Dict[str, Any]:
  """Runs one TF Serving predict request against a loaded model."""
  if not isinstance(body, dict):
    raise ApiError(400, "JSON Value: the request body must be an object")
  try:
    signature = model.signature(body.get("signature_name"))
  except KeyError as e:
    raise ApiError(400, str(e.args[0])) from None
  specs = signature.structured_input_signature[1]
  columns, rows = _columns(body, specs)
  tensors = {name: _tensor(name, values, specs[name], max_batch_size)
             for name, values in columns.items()}
  sizes = {t.shape[0] for t in tensors.values()}
  if len(sizes) > 1:
    raise ApiError(400, "all inputs must have the same batch size")
  try:
    outputs = signature(**tensors)
  except tf.errors.InvalidArgumentError as e:
    raise ApiError(400, _error_message(e.message)) from None
  outputs = {k: v.numpy() for k, v in outputs.items()}
  if not rows:
    return {"outputs": {k: _jsonable(v) for k, v in outputs.items()}}
  batch = next(iter(sizes))
  return {"predictions": [{k: _jsonable(v[i]) for k, v in outputs.items()}
                          for i in range(batch)]}


def warm_up(model: LoadedModel) -> None:
  """Replays the model's TF Serving warmup requests (PredictionLog records in
  assets.extra/), if it has any."""
  path = os.path.join(model.path, contract.WARMUP_FILE)
  if not tf.io.gfile.exists(path):
    return
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
  for record in tf.data.TFRecordDataset(path):
    log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
    request = log.predict_log.request
    signature = model.signature(request.model_spec.signature_name)
    signature(**{k: tf.make_ndarray(v) for k, v in request.inputs.items()})


def _parse_version(text: str) -> int:
  if not text.isdigit():
    raise ApiError(400, f"version must be a number, got {text!r}")
  return int(text)


def create_app(registry: ModelRegistry,
               max_batch_size: int = DEFAULT_MAX_BATCH_SIZE) -> fastapi.FastAPI:
  """The FastAPI app serving one model registry."""
  app = fastapi.FastAPI(title="relvid TF Serving-compatible endpoint")

  @app.exception_handler(ApiError)
  async def _api_error(request, error: ApiError):  # pylint: disable=unused-argument
    return JSONResponse({"error": error.message}, status_code=error.status)

  @app.exception_handler(ServableNotFound)
  async def _not_found(request, error):  # pylint: disable=unused-argument
    return JSONResponse({"error": str(error)}, status_code=404)

  def model_for(name: str, version: Optional[int]) -> LoadedModel:
    if name != registry.name:
      raise ServableNotFound(f"Servable not found for request: Latest({name})")
    return registry.get(version)

  def status(name: str, version: Optional[int]):
    model_for(name, version)
    found = [s for s in registry.status()
             if version is None or s["version"] == str(version)]
    return {"model_version_status": found}

  def metadata(name: str, version: Optional[int]):
    model = model_for(name, version)
    return {"model_spec": {"name": name, "signature_name": "",
                           "version": str(model.version)},
            "metadata": {"signature_def": {
                "signature_def": model.signature_def()}}}

  async def do_predict(request: fastapi.Request, name: str,
                       version: Optional[int]):
    model = model_for(name, version)  # this version serves the request
    raw = await request.body()
    try:
      body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
      raise ApiError(400, f"JSON Parse error: {e}") from None
    return await run_in_threadpool(predict, model, body, max_batch_size)

  def split_method(spec: str) -> Tuple[str, str]:
    if ":" not in spec:
      raise ApiError(404, f"Malformed request: POST {spec} (expected "
                          ":predict)")
    target, method = spec.rsplit(":", 1)
    if method != "predict":
      raise ApiError(400, f"method {method!r} is not supported: use predict")
    return target, method

  @app.get("/v1/models/{name}")
  def get_status(name: str):
    return status(name, None)

  @app.get("/v1/models/{name}/versions/{version}")
  def get_version_status(name: str, version: str):
    return status(name, _parse_version(version))

  @app.get("/v1/models/{name}/metadata")
  def get_metadata(name: str):
    return metadata(name, None)

  @app.get("/v1/models/{name}/versions/{version}/metadata")
  def get_version_metadata(name: str, version: str):
    return metadata(name, _parse_version(version))

  @app.post("/v1/models/{name_method}")
  async def post_predict(name_method: str, request: fastapi.Request):
    name, _ = split_method(name_method)
    return await do_predict(request, name, None)

  @app.post("/v1/models/{name}/versions/{version_method}")
  async def post_version_predict(name: str, version_method: str,
                                 request: fastapi.Request):
    version, _ = split_method(version_method)
    return await do_predict(request, name, _parse_version(version))

  return app


def main(argv: Optional[List[str]] = None,
         prog: str = "python -m serving.server",
         parents: Sequence[argparse.ArgumentParser] = ()) -> int:
  parser = argparse.ArgumentParser(prog=prog, parents=list(parents),
                                   description=__doc__.split("\n")[0])
  parser.add_argument("--model_base_path", required=not parents,
                      help="folder (or gs:// URI) of numeric version folders")
  parser.add_argument("--model_name", default="relvid")
  parser.add_argument("--rest_api_port", type=int, default=8501)
  parser.add_argument("--host", default="127.0.0.1")
  parser.add_argument("--file_system_poll_wait_seconds", type=float,
                      default=2.0)
  parser.add_argument("--max_batch_size", type=int,
                      default=DEFAULT_MAX_BATCH_SIZE)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  logging.basicConfig(level=logging.INFO,
                      format="%(asctime)s %(levelname)s %(message)s")
  registry = ModelRegistry(args.model_name,
                           config_lib.absolute(args.model_base_path), warm_up)
  if not registry.refresh():
    print(f"error: no loadable version under {args.model_base_path}",
          file=sys.stderr)
    return 1
  registry.start_polling(args.file_system_poll_wait_seconds)
  import uvicorn  # pylint: disable=g-import-not-at-top
  uvicorn.run(create_app(registry, args.max_batch_size), host=args.host,
              port=args.rest_api_port, log_level="warning")
  return 0


if __name__ == "__main__":
  sys.exit(main())
