# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""A local endpoint that speaks TF Serving's REST and gRPC APIs.

  python -m serving.server --model_base_path outputs/serving/relvid \
      --model_name relvid --rest_api_port 8501 --port 8500 \
      [--enable_batching | --batching_parameters_file F]

gRPC on --port: see serving/grpc_service.py. Server-side batching (TF
Serving's --enable_batching): see serving/batching.py. A page to look at the
recommendations: GET /ui (serving/ui.py).

REST routes (as TF Serving):
  GET  /v1/models/<name>[/versions/<v>]            version status
  GET  /v1/models/<name>[/versions/<v>]/metadata   signature defs
  POST /v1/models/<name>[/versions/<v>]:predict    {"instances": [...]} or
                                                   {"inputs": ...}
Errors are `{"error": "<message>"}` with TF Serving's HTTP statuses: 400 for
invalid arguments (bad JSON, wrong dtype, empty or oversized batch, unknown
item id), 404 for an unknown model or version, 503 when the batch queue is
full. New version folders pushed
under the base path are picked up without a restart (see registry.py).
"""
import argparse
import logging
import os
import signal
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import fastapi
import numpy as np
from fastapi.responses import JSONResponse
from fastapi.responses import Response
import orjson
from starlette.concurrency import run_in_threadpool

import tensorflow as tf

from relvid import config as config_lib
from relvid import contract
from serving import batching
from serving import options
from serving import ui
from serving.inference import ApiError
from serving.inference import echo
from serving.inference import invalid
from serving.inference import Predictor
from serving.inference import unknown_inputs
from serving.registry import LoadedModel
from serving.registry import ModelRegistry

def _columns(body: Dict[str, Any], input_specs: Dict[str, tf.TensorSpec]
             ) -> Tuple[Dict[str, List[Any]], bool]:
  """The request's inputs as {input name: list of values}, and whether the
  request used the row ("instances") format."""
  if "instances" in body and "inputs" in body:
    raise invalid("Request can have either 'instances' or 'inputs', not both")
  names = sorted(input_specs)
  if "instances" in body:
    instances = body["instances"]
    if not isinstance(instances, list):
      raise invalid("'instances' must be a list")
    columns: Dict[str, List[Any]] = {name: [] for name in names}
    for instance in instances:
      if isinstance(instance, dict):
        missing = set(names) - set(instance)
        if missing:
          raise invalid(f"instance is missing input(s) {sorted(missing)}")
        for name in names:
          columns[name].append(instance[name])
      elif len(names) == 1:
        columns[names[0]].append(instance)
      else:
        raise invalid(f"instances must be objects with {names}")
    return columns, True
  if "inputs" in body:
    inputs = body["inputs"]
    if isinstance(inputs, dict):
      unknown = set(inputs) - set(names)
      if unknown:
        raise unknown_inputs(unknown, names)
      return {name: inputs.get(name) for name in names}, False
    if len(names) == 1:
      return {names[0]: inputs}, False
    raise invalid(f"'inputs' must be an object with {names}")
  raise invalid("Missing 'inputs' or 'instances' key")


def _array(name: str, values: Any, spec: tf.TensorSpec) -> np.ndarray:
  """One JSON input column as a numpy array, its JSON types checked."""
  if not isinstance(values, list):
    raise invalid(f"input {name} must be a list of values")
  if spec.dtype == tf.string:
    if not all(isinstance(v, str) for v in values):
      raise invalid(f"input {name} expects DT_STRING values, got "
                    f"{sorted({type(v).__name__ for v in values})}")
    return np.array(values, dtype=object)
  if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
             for v in values):
    raise invalid(f"input {name} expects numbers")
  try:
    return np.array(values, dtype=spec.dtype.as_numpy_dtype)
  except (TypeError, ValueError, OverflowError) as e:
    raise invalid(f"input {name}: {e}") from None


def _jsonable(value: Any) -> Any:
  """numpy output (bytes for strings) -> JSON values."""
  if isinstance(value, bytes):
    return value.decode("utf-8")
  if isinstance(value, np.ndarray):
    if value.dtype == object:
      return [_jsonable(v) for v in value]
    return value.tolist()
  return value.item() if isinstance(value, np.generic) else value


def predict(predictor: Predictor, model: LoadedModel, body: Any
            ) -> Dict[str, Any]:
  """Runs one TF Serving REST predict request (a parsed JSON body)."""
  if not isinstance(body, dict):
    raise invalid("JSON Value: the request body must be an object")
  signature_name = body.get("signature_name")
  specs = predictor.input_specs(model, signature_name)
  columns, rows = _columns(body, specs)
  outputs = predictor.predict(model, signature_name, {
      name: _array(name, values, specs[name])
      for name, values in columns.items()})
  if not rows:
    return {"outputs": {k: _jsonable(v) for k, v in outputs.items()}}
  batch = len(next(iter(outputs.values())))
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
    raise invalid(f"version must be a number, got {echo(text)!r}")
  return int(text)


def create_app(predictor: Predictor) -> fastapi.FastAPI:
  """The FastAPI app serving the predictor's registry over REST."""
  app = fastapi.FastAPI(title="relvid TF Serving-compatible endpoint")

  @app.exception_handler(ApiError)
  async def _api_error(request, error: ApiError):  # pylint: disable=unused-argument
    return JSONResponse({"error": error.message},
                        status_code=error.http_status)

  def status(name: str, version: Optional[int]):
    return {"model_version_status": predictor.status(name, version)}

  def metadata(name: str, version: Optional[int]):
    model = predictor.model(name, version)
    return {"model_spec": {"name": name, "signature_name": "",
                           "version": str(model.version)},
            "metadata": {"signature_def": {
                "signature_def": model.signature_def()}}}

  async def do_predict(request: fastapi.Request, name: str,
                       version: Optional[int]):
    model = predictor.model(name, version)  # this version serves the request
    raw = await request.body()
    try:
      body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
      raise invalid(f"JSON Parse error: {e}") from None
    answer = await run_in_threadpool(predict, predictor, model, body)
    # orjson straight to bytes: FastAPI's default encoder walks every one of
    # the 100 ids and scores per trigger in Python.
    return Response(orjson.dumps(answer), media_type="application/json")

  def split_method(spec: str) -> Tuple[str, str]:
    if ":" not in spec:
      raise ApiError("NOT_FOUND", f"Malformed request: POST {spec} (expected "
                                  ":predict)")
    target, method = spec.rsplit(":", 1)
    if method != "predict":
      raise invalid(f"method {echo(method)!r} is not supported: use "
                    "predict")
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

  ui.add_routes(app, predictor)
  return app


def main(argv: Optional[List[str]] = None,
         prog: str = "python -m serving.server",
         parents: Sequence[argparse.ArgumentParser] = ()) -> int:
  parser = options.server(prog, parents)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  logging.basicConfig(level=logging.INFO,
                      format="%(asctime)s %(levelname)s %(message)s")
  if not args.port and not args.rest_api_port:
    parser.error("--port and --rest_api_port are both 0: nothing to serve")
  parameters = None
  if args.batching_parameters_file or args.enable_batching:
    try:
      parameters = (batching.read_batching_parameters(
          args.batching_parameters_file) if args.batching_parameters_file
                    else batching.BatchingParameters())
    except (ValueError, tf.errors.OpError) as e:
      print(f"error: {e}", file=sys.stderr)
      return 2
    logging.info("batching on: %s", batching.describe(parameters))
  registry = ModelRegistry(args.model_name,
                           config_lib.absolute(args.model_base_path), warm_up,
                           freeze_heap=True)
  if not registry.refresh():
    print(f"error: no loadable version under {args.model_base_path}",
          file=sys.stderr)
    return 1
  registry.start_polling(args.file_system_poll_wait_seconds)
  predictor = Predictor(registry, args.max_batch_size, parameters)
  grpc_server = None
  # SIGTERM (what schedulers send) ends like Ctrl-C: through `finally`, so
  # gRPC drains and queued batches are answered. uvicorn re-raises the
  # signal to this handler after its own shutdown.
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
  try:
    if args.port:
      from serving import grpc_service  # pylint: disable=g-import-not-at-top
      grpc_server = grpc_service.start_server(
          predictor, f"{args.host}:{args.port}", args.grpc_max_threads)
      logging.info("gRPC on %s:%d", args.host, args.port)
    if args.rest_api_port:
      import uvicorn  # pylint: disable=g-import-not-at-top
      logging.info("REST on http://%s:%d", args.host, args.rest_api_port)
      uvicorn.run(create_app(predictor), host=args.host,
                  port=args.rest_api_port, log_level="warning")
    else:
      grpc_server.wait_for_termination()
  except KeyboardInterrupt:
    pass
  finally:
    if grpc_server is not None:
      grpc_server.stop(grace=2).wait()
    predictor.close()
    registry.stop()
  return 0


if __name__ == "__main__":
  sys.exit(main())
