# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""TF Serving's PredictionService/Predict messages, without TensorFlow.

`tensorflow_serving.apis` imports TensorFlow (seconds, and its C++ start-up
lines) only to describe a request that holds a few strings. The messages
below carry the same field numbers and types as TF Serving's
`predict.proto`, `model.proto`, `tensor.proto` and `tensor_shape.proto`
(for the fields relvid uses), so their bytes are the same on the wire; they
live in a descriptor pool of their own and never clash with the real ones.
"""
from typing import Optional, Sequence

from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message_factory

PREDICT_METHOD = "/tensorflow.serving.PredictionService/Predict"
DT_FLOAT = 1
DT_STRING = 7

_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "relvid.wire"


def _message(file, name, fields, nested=()):
  message = file.message_type.add(name=name)
  for nested_message in nested:
    message.nested_type.add().CopyFrom(nested_message)
  for number, field_name, kind, label, type_name in fields:
    field = message.field.add(name=field_name, number=number, type=kind,
                              label=label)
    if type_name:
      field.type_name = type_name
  return message


def _map_entry(name, value_type):
  entry = descriptor_pb2.DescriptorProto(name=name)
  entry.options.map_entry = True
  entry.field.add(name="key", number=1, type=_F.TYPE_STRING,
                  label=_F.LABEL_OPTIONAL)
  entry.field.add(name="value", number=2, type=_F.TYPE_MESSAGE,
                  label=_F.LABEL_OPTIONAL, type_name=value_type)
  return entry


def _build():
  file = descriptor_pb2.FileDescriptorProto(
      name="relvid/wire.proto", package=_PACKAGE, syntax="proto3")
  opt, rep = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
  ref = lambda name: f".{_PACKAGE}.{name}"  # pylint: disable=unnecessary-lambda-assignment
  _message(file, "Int64Value", [(1, "value", _F.TYPE_INT64, opt, None)])
  _message(file, "ModelSpec", [
      (1, "name", _F.TYPE_STRING, opt, None),
      (2, "version", _F.TYPE_MESSAGE, opt, ref("Int64Value")),
      (3, "signature_name", _F.TYPE_STRING, opt, None)])
  dim = descriptor_pb2.DescriptorProto(name="Dim")
  dim.field.add(name="size", number=1, type=_F.TYPE_INT64, label=opt)
  dim.field.add(name="name", number=2, type=_F.TYPE_STRING, label=opt)
  _message(file, "TensorShapeProto", [
      (2, "dim", _F.TYPE_MESSAGE, rep, ref("TensorShapeProto.Dim")),
      (3, "unknown_rank", _F.TYPE_BOOL, opt, None)], [dim])
  # dtype is TF's DataType enum: an int32 on the wire.
  _message(file, "TensorProto", [
      (1, "dtype", _F.TYPE_INT32, opt, None),
      (2, "tensor_shape", _F.TYPE_MESSAGE, opt, ref("TensorShapeProto")),
      (4, "tensor_content", _F.TYPE_BYTES, opt, None),
      (5, "float_val", _F.TYPE_FLOAT, rep, None),
      (8, "string_val", _F.TYPE_BYTES, rep, None)])
  _message(file, "PredictRequest", [
      (1, "model_spec", _F.TYPE_MESSAGE, opt, ref("ModelSpec")),
      (2, "inputs", _F.TYPE_MESSAGE, rep, ref("PredictRequest.InputsEntry")),
      (3, "output_filter", _F.TYPE_STRING, rep, None)],
           [_map_entry("InputsEntry", ref("TensorProto"))])
  _message(file, "PredictResponse", [
      (1, "outputs", _F.TYPE_MESSAGE, rep,
       ref("PredictResponse.OutputsEntry")),
      (2, "model_spec", _F.TYPE_MESSAGE, opt, ref("ModelSpec"))],
           [_map_entry("OutputsEntry", ref("TensorProto"))])
  pool = descriptor_pool.DescriptorPool()
  pool.Add(file)
  return {name: message_factory.GetMessageClass(
      pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
          for name in ("PredictRequest", "PredictResponse")}


_CLASSES = _build()
PredictRequest = _CLASSES["PredictRequest"]
PredictResponse = _CLASSES["PredictResponse"]


def predict_request(model: str, ids: Sequence[str],
                    version: Optional[int] = None, input_name: str =
                    "trigger_id"):
  """A PredictRequest for a DT_STRING [batch] input."""
  request = PredictRequest()
  request.model_spec.name = model
  if version is not None:
    request.model_spec.version.value = version
  tensor = request.inputs[input_name]
  tensor.dtype = DT_STRING
  tensor.string_val.extend(str(i).encode() for i in ids)
  tensor.tensor_shape.dim.add(size=len(ids))
  return request
