# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""TF Serving's gRPC contract over a real loopback channel, on the model the
small pipeline run pushed: Predict, GetModelMetadata, GetModelStatus, every
bad input (each followed by a good request), server-side batching, the
client's --grpc path, and a version switch under concurrent gRPC load."""
import csv
import shutil
import threading
import time

import grpc
import numpy as np
import pytest

import tensorflow as tf
from tensorflow_serving.apis import classification_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from serving import batching
from serving import client as client_lib
from serving import grpc_service
from serving import inference
from serving import registry as registry_lib
from serving import server


def _free_port() -> int:
  import socket  # pylint: disable=g-import-not-at-top
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class Endpoint:
  """A registry on a copy of the pushed model, served over gRPC."""

  def __init__(self, source, folder, parameters=None):
    self.base = folder / "relvid"
    shutil.copytree(source, self.base)
    self.registry = registry_lib.ModelRegistry("relvid", str(self.base),
                                               server.warm_up)
    assert self.registry.refresh()
    self.predictor = inference.Predictor(self.registry, max_batch_size=8,
                                         batching_parameters=parameters)
    self.target = f"127.0.0.1:{_free_port()}"
    self.server = grpc_service.start_server(self.predictor, self.target)
    self.channel = grpc_service.channel(self.target)
    self.predict = prediction_service_pb2_grpc.PredictionServiceStub(
        self.channel)
    self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)

  def close(self):
    self.channel.close()
    self.server.stop(grace=None)
    self.predictor.close()


@pytest.fixture(scope="module")
def endpoint(small_pipeline_run, tmp_path_factory):
  served = Endpoint(small_pipeline_run.serving_base,
                    tmp_path_factory.mktemp("grpc"))
  yield served
  served.close()


@pytest.fixture(scope="module")
def item_ids(small_pipeline_run):
  with open(small_pipeline_run.items_csv) as f:
    return [row["item_id"] for row in csv.DictReader(f)]


def request_for(ids, name="relvid", version=None, signature=None,
                dtype=tf.string):
  request = predict_pb2.PredictRequest()
  request.model_spec.name = name
  if version is not None:
    request.model_spec.version.value = version
  if signature is not None:
    request.model_spec.signature_name = signature
  request.inputs["trigger_id"].CopyFrom(tf.make_tensor_proto(ids, dtype))
  return request


def test_predict_over_grpc(endpoint, item_ids):
  response = endpoint.predict.Predict(request_for(item_ids[:2]), timeout=30)
  version = endpoint.registry.current().version
  assert response.model_spec.name == "relvid"
  assert response.model_spec.version.value == version
  assert response.model_spec.signature_name == "serving_default"
  candidates = tf.make_ndarray(response.outputs["candidate_ids"])
  scores = tf.make_ndarray(response.outputs["scores"])
  assert candidates.shape == scores.shape == (2, 100)
  ranked = [c.decode() for c in candidates[0]]
  assert item_ids[0] not in ranked and set(ranked) <= set(item_ids)
  assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
  # TF Serving's encoding, which stock clients read field by field.
  assert list(response.outputs["scores"].float_val) == pytest.approx(
      scores.ravel().tolist())
  assert not response.outputs["scores"].tensor_content
  # The same request over REST through the same Predictor: same answer.
  rest = server.predict(endpoint.predictor, endpoint.registry.current(),
                        {"instances": item_ids[:2]})
  assert rest["predictions"][1]["candidate_ids"] == [
      c.decode() for c in candidates[1]]
  np.testing.assert_allclose(rest["predictions"][1]["scores"], scores[1],
                             rtol=1e-6)
  only_scores = request_for(item_ids[:1], version=version)
  only_scores.output_filter.append("scores")
  filtered = endpoint.predict.Predict(only_scores, timeout=30)
  assert set(filtered.outputs) == {"scores"}


def test_metadata_and_status_over_grpc(endpoint):
  request = get_model_metadata_pb2.GetModelMetadataRequest()
  request.model_spec.name = "relvid"
  request.metadata_field.append("signature_def")
  response = endpoint.predict.GetModelMetadata(request, timeout=30)
  signatures = get_model_metadata_pb2.SignatureDefMap()
  assert response.metadata["signature_def"].Unpack(signatures)
  default = signatures.signature_def["serving_default"]
  assert default.inputs["trigger_id"].dtype == tf.string.as_datatype_enum
  assert set(default.outputs) == {"candidate_ids", "scores"}
  assert response.model_spec.version.value == (
      endpoint.registry.current().version)
  status_request = get_model_status_pb2.GetModelStatusRequest()
  status_request.model_spec.name = "relvid"
  status = endpoint.models.GetModelStatus(status_request, timeout=30)
  (entry,) = status.model_version_status
  assert entry.version == endpoint.registry.current().version
  assert entry.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
  assert entry.status.error_code == 0


def _predict_cases(item_ids):
  empty = request_for(["x"])
  empty.inputs["trigger_id"].CopyFrom(tf.make_tensor_proto(
      np.array([], dtype=object), tf.string))
  renamed = request_for(item_ids[:1])
  renamed.inputs["item"].CopyFrom(renamed.inputs.pop("trigger_id"))
  unknown_output = request_for(item_ids[:1])
  unknown_output.output_filter.append("embeddings")
  matrix = request_for(["x"])
  matrix.inputs["trigger_id"].CopyFrom(tf.make_tensor_proto(
      np.array([[item_ids[0]]], dtype=object), tf.string))
  # A few bytes that declare two billion strings: refused before any
  # allocation.
  huge = request_for(item_ids[:1])
  huge.inputs["trigger_id"].tensor_shape.dim[0].size = 2_000_000_000
  too_many_values = request_for(item_ids[:2])
  too_many_values.inputs["trigger_id"].tensor_shape.dim[0].size = 1
  return [
      (matrix, "INVALID_ARGUMENT", "has shape [1, 1]"),
      (huge, "INVALID_ARGUMENT", "batch of 2000000000 exceeds"),
      (too_many_values, "INVALID_ARGUMENT", "has 2 values for shape [1]"),
      (request_for(["no-such-item"]), "INVALID_ARGUMENT",
       "unknown trigger_id"),
      (request_for([1, 2], dtype=tf.int64), "INVALID_ARGUMENT",
       "expects DT_STRING values, got DT_INT64"),
      (empty, "INVALID_ARGUMENT", "empty batch"),
      (request_for(item_ids[:1] * 9), "INVALID_ARGUMENT",
       "maximum batch size 8"),
      (renamed, "INVALID_ARGUMENT", "unknown input(s) ['item']"),
      (unknown_output, "INVALID_ARGUMENT", "unknown output(s)"),
      (request_for(item_ids[:1], signature="nope"), "FAILED_PRECONDITION",
       "not found"),
      (request_for(item_ids[:1], name="other"), "NOT_FOUND",
       "Latest(other)"),
      (request_for(item_ids[:1], version=999), "NOT_FOUND",
       "Specific(relvid, 999)"),
  ]


def test_bad_requests_get_tf_serving_status_codes(endpoint, item_ids):
  good = request_for(item_ids[:1])
  for request, code, message in _predict_cases(item_ids):
    with pytest.raises(grpc.RpcError) as raised:
      endpoint.predict.Predict(request, timeout=30)
    assert raised.value.code() == getattr(grpc.StatusCode, code), message
    assert message in raised.value.details()
    assert endpoint.predict.Predict(good, timeout=30).outputs  # still serving
  no_fields = get_model_metadata_pb2.GetModelMetadataRequest()
  no_fields.model_spec.name = "relvid"
  with pytest.raises(grpc.RpcError) as raised:
    endpoint.predict.GetModelMetadata(no_fields, timeout=30)
  assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
  status_request = get_model_status_pb2.GetModelStatusRequest()
  status_request.model_spec.name = "relvid"
  status_request.model_spec.version.value = 999
  with pytest.raises(grpc.RpcError) as raised:
    endpoint.models.GetModelStatus(status_request, timeout=30)
  assert raised.value.code() == grpc.StatusCode.NOT_FOUND
  with pytest.raises(grpc.RpcError) as raised:
    endpoint.predict.Classify(classification_pb2.ClassificationRequest(),
                              timeout=30)
  assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
  assert endpoint.predict.Predict(good, timeout=30).outputs


def test_error_details_cut_what_the_request_echoes(endpoint, item_ids):
  with pytest.raises(grpc.RpcError) as raised:
    endpoint.predict.Predict(request_for([item_ids[0], "z" * 3_000_000]),
                             timeout=60)
  assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
  assert raised.value.details() == (
      "unknown trigger_id: " + "z" * inference.MAX_ECHOED_CHARS
      + "... (3,000,000 characters)")
  assert endpoint.predict.Predict(request_for(item_ids[:1]),
                                  timeout=30).outputs


def test_related_client_over_grpc(endpoint, item_ids):
  client = client_lib.RelatedClient(grpc_target=endpoint.target)
  (top,) = client.related([item_ids[0]], k=5)
  assert len(top) == 5 and all(isinstance(s, float) for _, s in top)
  rest = server.predict(endpoint.predictor, endpoint.registry.current(),
                        {"instances": item_ids[:1]})["predictions"][0]
  assert [i for i, _ in top] == rest["candidate_ids"][:5]
  with pytest.raises(client_lib.ServingError) as raised:
    client.related(["no-such-item"])
  assert raised.value.status == "INVALID_ARGUMENT"
  assert raised.value.unknown_ids == "no-such-item"
  closed = client_lib.RelatedClient(grpc_target=f"127.0.0.1:{_free_port()}",
                                    timeout=5)
  with pytest.raises(client_lib.UnreachableError, match="cannot reach"):
    closed.related([item_ids[0]])


def test_batching_merges_concurrent_grpc_requests_and_survives_a_version_switch(
    small_pipeline_run, tmp_path, item_ids):
  served = Endpoint(small_pipeline_run.serving_base, tmp_path,
                    batching.BatchingParameters(
                        max_batch_size=8, batch_timeout_micros=20_000,
                        num_batch_threads=2, max_enqueued_batches=64))
  try:
    old = served.registry.current().version
    errors, answered = [], []
    stop = threading.Event()

    def load(worker):
      count = 0
      while not stop.is_set():
        # One request in five is bad: it must fail alone, not its batch.
        trigger = ("no-such-item" if count % 5 == 4 else
                   item_ids[(worker * 7 + count) % len(item_ids)])
        count += 1
        try:
          response = served.predict.Predict(request_for([trigger]),
                                            timeout=30)
        except grpc.RpcError as e:
          if trigger != "no-such-item" or "unknown trigger_id" not in (
              e.details() or ""):
            errors.append((trigger, e.code(), e.details()))
          continue
        if trigger == "no-such-item":
          errors.append((trigger, "an unknown id got an answer"))
        answered.append((trigger, response))

    workers = [threading.Thread(target=load, args=(w,)) for w in range(8)]
    for w in workers:
      w.start()
    time.sleep(1.0)
    shutil.copytree(served.base / str(old), served.base / str(old + 1))
    assert served.registry.refresh()
    time.sleep(1.0)
    stop.set()
    for w in workers:
      w.join()
    assert not errors, errors[:3]
    assert served.registry.current().version == old + 1
    assert len(answered) > 20
    bad = []
    for trigger, response in answered:
      ids = [i.decode() for i in response.outputs["candidate_ids"].string_val]
      scores = tf.make_ndarray(response.outputs["scores"]).ravel()
      if trigger in ids or len(ids) != 100 or len(set(ids)) != len(ids):
        bad.append(
            f"trigger {trigger} version {response.model_spec.version.value}: "
            f"{len(ids)} ids ({len(set(ids))} distinct), trigger at "
            f"{ids.index(trigger) if trigger in ids else None}, "
            f"last scores {scores[-3:].tolist()}")
    assert not bad, f"{len(bad)} of {len(answered)} answers: {bad[:5]}"
    scheduler = served.predictor.scheduler
    # Concurrent requests were merged into single signature calls.
    assert scheduler.merged_batches > 0
  finally:
    served.close()
