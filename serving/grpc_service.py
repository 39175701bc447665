# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""TF Serving's gRPC API (port 8500) over the same Predictor as REST.

`tensorflow.serving.PredictionService`: Predict and GetModelMetadata
(signature_def); Classify, Regress and MultiInference answer UNIMPLEMENTED
(the retrieval model has no such signatures). `tensorflow.serving.
ModelService`: GetModelStatus. Status codes are TF Serving's:
INVALID_ARGUMENT for bad inputs (unknown ids, dtypes, shapes, empty or
oversized batches), FAILED_PRECONDITION for an unknown signature, NOT_FOUND
for unknown models or versions, UNAVAILABLE when the batch queue is full.
Outputs use TF Serving's encoding (the dtype's *_val field). Any stock TF Serving client (e.g. the
`tensorflow-serving-api` stubs) works against it.
"""
import logging
from concurrent import futures
from typing import Dict, Optional

import grpc
import numpy as np

import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow.core.framework import tensor_shape_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from serving.inference import ApiError
from serving.inference import echo
from serving.inference import invalid
from serving.inference import Predictor
from serving.inference import unknown_inputs
from serving.registry import LoadedModel

SIGNATURE_DEF_FIELD = "signature_def"
# Large enough for a full 1,024-row request and its 100-candidate answers.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def _abort(context: grpc.ServicerContext, error: ApiError):
  context.abort(getattr(grpc.StatusCode, error.code), error.message)


def _model(predictor: Predictor, model_spec) -> LoadedModel:
  if model_spec.version_label:
    raise invalid("version labels are not supported; use a version number")
  version = model_spec.version.value if model_spec.HasField("version") else None
  return predictor.model(model_spec.name, version)


# The TensorProto field TF Serving fills per dtype (its default
# kAsProtoField encoding); requests may also use tensor_content.
_VALUE_FIELDS = {tf.float32: "float_val", tf.float64: "double_val",
                 tf.int32: "int_val", tf.int16: "int_val", tf.int8: "int_val",
                 tf.uint8: "int_val", tf.int64: "int64_val",
                 tf.bool: "bool_val", tf.string: "string_val"}
# A request's tensors may hold at most this many elements per batch row.
MAX_ELEMENTS_PER_ROW = 4096


def _checked_proto(name: str, proto, spec: tf.TensorSpec,
                   max_batch_size: int) -> None:
  """Validates a request tensor's dtype, shape and value count against the
  signature BEFORE anything is materialised (a few bytes of proto may
  declare billions of elements)."""
  dtype_name = "DT_" + spec.dtype.name.upper()
  if proto.dtype != spec.dtype.as_datatype_enum:
    got = (f"DT_{tf.dtypes.as_dtype(proto.dtype).name.upper()}"
           if proto.dtype else "no dtype")
    raise invalid(f"input {name} expects {dtype_name} values, got {got}")
  dims = [d.size for d in proto.tensor_shape.dim]
  if proto.tensor_shape.unknown_rank or any(d < 0 for d in dims):
    raise invalid(f"input {name} has an unknown or negative dimension")
  if not dims:
    raise invalid(f"input {name} must be a batch (rank >= 1), not a scalar")
  if spec.shape.rank is not None and len(dims) != spec.shape.rank:
    raise invalid(f"input {name} has shape {dims}; the signature takes "
                  f"{spec.shape}")
  if dims[0] > max_batch_size:
    raise invalid(f"batch of {dims[0]} exceeds the maximum batch size "
                  f"{max_batch_size}")
  count = int(np.prod(dims))
  if count > max(dims[0], 1) * MAX_ELEMENTS_PER_ROW:
    raise invalid(f"input {name} declares {count} elements")
  field = _VALUE_FIELDS.get(spec.dtype)
  if field is None:
    raise invalid(f"input {name}: {dtype_name} is not supported")
  if proto.tensor_content and spec.dtype != tf.string:
    given = len(proto.tensor_content) // spec.dtype.size
  else:
    given = len(getattr(proto, field))
  if given != count:
    raise invalid(f"input {name} has {given} values for shape {dims}")


def _inputs(request: predict_pb2.PredictRequest,
            specs: Dict[str, tf.TensorSpec],
            max_batch_size: int) -> Dict[str, np.ndarray]:
  unknown = set(request.inputs) - set(specs)
  if unknown:
    raise unknown_inputs(unknown, specs)
  arrays = {}
  for name, proto in request.inputs.items():
    _checked_proto(name, proto, specs[name], max_batch_size)
    try:
      arrays[name] = tf.make_ndarray(proto)
    except (TypeError, ValueError) as e:
      raise invalid(f"input {name} is not a valid TensorProto: {e}") from None
  return arrays


def tensor_proto(array: np.ndarray) -> tensor_pb2.TensorProto:
  """An output array as TF Serving encodes it: the dtype's *_val field, not
  tensor_content, so clients reading e.g. `outputs["scores"].float_val`
  work."""
  dtype = tf.string if array.dtype.kind in "OSU" else tf.as_dtype(array.dtype)
  proto = tensor_pb2.TensorProto(dtype=dtype.as_datatype_enum)
  for size in array.shape:
    proto.tensor_shape.dim.add(size=size)
  values = array.ravel().tolist()
  if dtype == tf.string:
    values = [v.encode("utf-8") if isinstance(v, str) else v for v in values]
  getattr(proto, _VALUE_FIELDS[dtype]).extend(values)
  return proto


def _shape(spec: tf.TensorSpec) -> tensor_shape_pb2.TensorShapeProto:
  if spec.shape.rank is None:
    return tensor_shape_pb2.TensorShapeProto(unknown_rank=True)
  return tensor_shape_pb2.TensorShapeProto(dim=[
      tensor_shape_pb2.TensorShapeProto.Dim(size=-1 if d is None else d)
      for d in spec.shape.as_list()])


def signature_def_map(model: LoadedModel) -> get_model_metadata_pb2.SignatureDefMap:
  """The model's signatures as TF Serving's SignatureDefMap proto."""
  out = get_model_metadata_pb2.SignatureDefMap()
  for name, fn in model.signatures.items():
    signature = out.signature_def[name]
    signature.method_name = "tensorflow/serving/predict"
    for section, specs in ((signature.inputs,
                            fn.structured_input_signature[1]),
                           (signature.outputs, fn.structured_outputs)):
      for key, spec in specs.items():
        section[key].CopyFrom(meta_graph_pb2.TensorInfo(
            name=getattr(spec, "name", None) or key,
            dtype=spec.dtype.as_datatype_enum, tensor_shape=_shape(spec)))
  return out


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
  """tensorflow.serving.PredictionService on a Predictor."""

  def __init__(self, predictor: Predictor):
    self.predictor = predictor

  def Predict(self, request, context):  # pylint: disable=invalid-name
    try:
      model = _model(self.predictor, request.model_spec)
      signature_name = request.model_spec.signature_name or None
      specs = self.predictor.input_specs(model, signature_name)
      outputs = self.predictor.predict(
          model, signature_name,
          _inputs(request, specs, self.predictor.max_batch_size))
    except ApiError as e:
      _abort(context, e)
    wanted = set(request.output_filter) or set(outputs)
    unknown = wanted - set(outputs)
    if unknown:
      _abort(context, invalid(f"output_filter names unknown output(s) "
                              f"{[echo(n) for n in sorted(unknown)]}"))
    response = predict_pb2.PredictResponse()
    response.model_spec.name = request.model_spec.name
    response.model_spec.version.value = model.version
    response.model_spec.signature_name = (signature_name or
                                          "serving_default")
    for name in sorted(wanted):
      response.outputs[name].CopyFrom(tensor_proto(outputs[name]))
    return response

  def GetModelMetadata(self, request, context):  # pylint: disable=invalid-name
    fields = set(request.metadata_field)
    if fields != {SIGNATURE_DEF_FIELD}:
      _abort(context, invalid(
          "Metadata field(s) must be specified" if not fields else
          f"Metadata field(s) {sorted(fields - {SIGNATURE_DEF_FIELD})} are "
          f"not supported; use {SIGNATURE_DEF_FIELD!r}"))
    try:
      model = _model(self.predictor, request.model_spec)
    except ApiError as e:
      _abort(context, e)
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = request.model_spec.name
    response.model_spec.version.value = model.version
    response.metadata[SIGNATURE_DEF_FIELD].Pack(signature_def_map(model))
    return response

  def _unimplemented(self, request, context):
    del request
    context.abort(grpc.StatusCode.UNIMPLEMENTED,
                  "the relvid model only has predict signatures")

  Classify = Regress = MultiInference = _unimplemented


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
  """tensorflow.serving.ModelService (status only) on a Predictor."""

  STATES = {"AVAILABLE": get_model_status_pb2.ModelVersionStatus.AVAILABLE,
            "END": get_model_status_pb2.ModelVersionStatus.END}

  def __init__(self, predictor: Predictor):
    self.predictor = predictor

  def GetModelStatus(self, request, context):  # pylint: disable=invalid-name
    spec = request.model_spec
    try:
      statuses = self.predictor.status(
          spec.name, spec.version.value if spec.HasField("version") else None)
    except ApiError as e:
      _abort(context, e)
    response = get_model_status_pb2.GetModelStatusResponse()
    for status in statuses:
      entry = response.model_version_status.add()
      entry.version = int(status["version"])
      entry.state = self.STATES[status["state"]]
      entry.status.error_code = (0 if status["status"]["error_code"] == "OK"
                                 else grpc.StatusCode.UNKNOWN.value[0])
      entry.status.error_message = status["status"]["error_message"]
    return response

  def HandleReloadConfigRequest(self, request, context):  # pylint: disable=invalid-name
    del request
    context.abort(grpc.StatusCode.UNIMPLEMENTED,
                  "relvid serves one model base path; push a new version "
                  "folder instead")


def start_server(predictor: Predictor, address: str,
                 max_threads: int = 32) -> grpc.Server:
  """Starts both services on `address` ("host:port"); returns the server.

  Raises:
    RuntimeError: the address cannot be bound.
  """
  server = grpc.server(
      futures.ThreadPoolExecutor(max_workers=max_threads,
                                 thread_name_prefix="grpc"),
      options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
               ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
               ("grpc.so_reuseport", 0)])
  prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
      PredictionService(predictor), server)
  model_service_pb2_grpc.add_ModelServiceServicer_to_server(
      ModelService(predictor), server)
  if not server.add_insecure_port(address):
    raise RuntimeError(f"cannot bind the gRPC port {address}")
  server.start()
  logging.debug("gRPC PredictionService and ModelService on %s", address)
  return server


def channel(target: str, options: Optional[list] = None) -> grpc.Channel:
  """An insecure channel to a relvid / TF Serving gRPC endpoint."""
  return grpc.insecure_channel(target, options=(options or []) + [
      ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
      ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])
