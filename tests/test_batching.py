# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The batch scheduler on a tiny numpy "model": merging, splitting back,
timeouts, a full queue, oversized and bad requests, the parameter file."""
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from serving import batching


class Doubler:
  """y = 2x per row; records every call's batch; a negative x is an error."""

  def __init__(self, gate: threading.Event = None):
    self.batches = []
    self.started = threading.Event()
    self.gate = gate

  def __call__(self, arrays):
    self.started.set()
    if self.gate is not None:
      assert self.gate.wait(10)
    x = arrays["x"]
    self.batches.append(x.tolist())
    if (x < 0).any():
      raise ValueError(f"negative input {x[x < 0].tolist()}")
    return {"y": 2 * x, "row_sum": x.sum(axis=1)}


def scheduler(**parameters):
  return batching.BatchScheduler(batching.BatchingParameters(**parameters))


def test_concurrent_requests_are_merged_and_split_back():
  model = Doubler()
  batcher = scheduler(max_batch_size=6, batch_timeout_micros=2_000_000,
                      num_batch_threads=1)
  try:
    requests = [np.array([[1, 2]]), np.array([[3, 4], [5, 6]]),
                np.array([[7, 8], [9, 10], [11, 12]])]
    futures = [batcher.submit("m", model, {"x": x}) for x in requests]
    results = [f.result(timeout=10) for f in futures]
  finally:
    batcher.stop()
  # 1 + 2 + 3 rows fill the batch of 6: one call, in arrival order.
  assert model.batches == [[[1, 2], [3, 4], [5, 6], [7, 8], [9, 10],
                            [11, 12]]]
  assert results[0]["y"].tolist() == [[2, 4]]
  assert results[1]["y"].tolist() == [[6, 8], [10, 12]]
  assert results[2]["row_sum"].tolist() == [15, 19, 23]
  assert (batcher.calls_run, batcher.requests_run,
          batcher.merged_batches) == (1, 3, 1)


def test_a_batch_that_is_not_full_runs_after_the_timeout():
  model = Doubler()
  batcher = scheduler(max_batch_size=64, batch_timeout_micros=20_000)
  try:
    result = batcher.submit("m", model, {"x": np.array([[1, 1]])}).result(
        timeout=10)
  finally:
    batcher.stop()
  assert result["y"].tolist() == [[2, 2]]
  assert model.batches == [[[1, 1]]]


def test_different_keys_are_never_merged():
  model = Doubler()
  batcher = scheduler(max_batch_size=2, batch_timeout_micros=200_000,
                      num_batch_threads=1)
  try:
    first = batcher.submit(("v1", ""), model, {"x": np.array([[1, 0]])})
    second = batcher.submit(("v2", ""), model, {"x": np.array([[2, 0]])})
    assert first.result(10)["y"].tolist() == [[2, 0]]
    assert second.result(10)["y"].tolist() == [[4, 0]]
  finally:
    batcher.stop()
  assert sorted(model.batches) == [[[1, 0]], [[2, 0]]]


def test_a_full_queue_refuses_at_once_and_later_requests_succeed():
  gate = threading.Event()
  model = Doubler(gate)
  batcher = scheduler(max_batch_size=1, batch_timeout_micros=0,
                      num_batch_threads=1, max_enqueued_batches=2)
  try:
    running = batcher.submit("m", model, {"x": np.array([[1, 0]])})
    assert model.started.wait(10)  # the only thread is busy with it
    queued = [batcher.submit("m", model, {"x": np.array([[i, 0]])})
              for i in (2, 3)]
    with pytest.raises(batching.QueueFullError, match="queue .* is full"):
      batcher.submit("m", model, {"x": np.array([[4, 0]])})
    gate.set()
    assert running.result(10)["y"].tolist() == [[2, 0]]
    assert [q.result(10)["y"].tolist() for q in queued] == [[[4, 0]],
                                                             [[6, 0]]]
    after = batcher.submit("m", model, {"x": np.array([[5, 0]])})
    assert after.result(10)["y"].tolist() == [[10, 0]]
  finally:
    gate.set()
    batcher.stop()


def test_a_request_larger_than_a_batch_is_refused():
  batcher = scheduler(max_batch_size=2)
  try:
    with pytest.raises(batching.TaskTooLargeError,
                       match="Task size 3 is larger than maximum input batch "
                       "size 2"):
      batcher.submit("m", Doubler(), {"x": np.zeros((3, 2))})
  finally:
    batcher.stop()


def test_a_bad_request_fails_alone_when_merged():
  model = Doubler()
  batcher = scheduler(max_batch_size=3, batch_timeout_micros=2_000_000,
                      num_batch_threads=1)
  try:
    good = batcher.submit("m", model, {"x": np.array([[1, 1]])})
    bad = batcher.submit("m", model, {"x": np.array([[-1, 1]])})
    other = batcher.submit("m", model, {"x": np.array([[2, 2]])})
    assert good.result(10)["y"].tolist() == [[2, 2]]
    assert other.result(10)["y"].tolist() == [[4, 4]]
    with pytest.raises(ValueError, match=r"negative input \[-1\]"):
      bad.result(10)
  finally:
    batcher.stop()
  # The merged call failed, then each request ran on its own.
  assert model.batches == [[[1, 1], [-1, 1], [2, 2]], [[1, 1]], [[-1, 1]],
                           [[2, 2]]]
  assert (batcher.calls_run, batcher.requests_run,
          batcher.merged_batches) == (4, 3, 0)


def test_batching_parameters_file_format():
  parameters = batching.parse_batching_parameters(
      "# TF Serving's format\n"
      "max_batch_size { value: 32 }\n"
      "batch_timeout_micros { value: 500 }\n"
      "num_batch_threads { value: 4 }\n")
  assert parameters == batching.BatchingParameters(
      max_batch_size=32, batch_timeout_micros=500, num_batch_threads=4,
      max_enqueued_batches=64)
  with pytest.raises(ValueError, match="unknown field 'pad_variable_length"):
    batching.parse_batching_parameters(
        "pad_variable_length_inputs { value: 1 }")
  with pytest.raises(ValueError, match="cannot parse 'max_batch_size: 3'"):
    batching.parse_batching_parameters("max_batch_size: 3")
  with pytest.raises(ValueError, match="num_batch_threads must be an "
                     "integer >= 1, got 0"):
    batching.parse_batching_parameters("num_batch_threads { value: 0 }")


class _BlockingSignature:
  """A predict signature (x float [batch] -> y = x + 1) that waits for a
  gate, so a test can hold the only batch thread busy."""

  structured_input_signature = ((), {"x": tf.TensorSpec([None], tf.float32,
                                                        name="x")})
  structured_outputs = {"y": tf.TensorSpec([None], tf.float32, name="y")}

  def __init__(self):
    self.gate = threading.Event()
    self.started = threading.Event()

  def __call__(self, x):
    self.started.set()
    assert self.gate.wait(30)
    return {"y": x + 1}


class _OneModelRegistry:
  name = "m"

  def __init__(self, signature):
    self.model = type("Model", (), {"version": 1})()
    self.model.signature = lambda name: signature

  def get(self, version):
    return self.model


def test_a_full_queue_answers_503_over_rest_and_the_server_recovers():
  from fastapi.testclient import TestClient  # pylint: disable=g-import-not-at-top
  from serving import inference  # pylint: disable=g-import-not-at-top
  from serving import server  # pylint: disable=g-import-not-at-top
  signature = _BlockingSignature()
  predictor = inference.Predictor(
      _OneModelRegistry(signature), batching_parameters=
      batching.BatchingParameters(max_batch_size=1, batch_timeout_micros=0,
                                  num_batch_threads=1,
                                  max_enqueued_batches=1))
  http = TestClient(server.create_app(predictor))
  answers = {}

  def post(name, value):
    answers[name] = http.post("/v1/models/m:predict",
                              json={"instances": [value]})

  try:
    running = threading.Thread(target=post, args=("running", 1.0))
    running.start()
    assert signature.started.wait(30)  # the only batch thread is busy
    queued = threading.Thread(target=post, args=("queued", 2.0))
    queued.start()
    deadline = time.time() + 30
    while not predictor.scheduler._queues and time.time() < deadline:  # pylint: disable=protected-access
      time.sleep(0.01)
    post("refused", 3.0)  # answered at once, not after the others
    assert answers["refused"].status_code == 503
    assert "queue" in answers["refused"].json()["error"]
    signature.gate.set()
    running.join(30)
    queued.join(30)
    assert answers["running"].json() == {"predictions": [{"y": 2.0}]}
    assert answers["queued"].json() == {"predictions": [{"y": 3.0}]}
    post("after", 4.0)
    assert answers["after"].json() == {"predictions": [{"y": 5.0}]}
  finally:
    signature.gate.set()
    predictor.close()


def test_requests_that_cannot_be_concatenated_are_run_alone():
  model = Doubler()
  batcher = scheduler(max_batch_size=2, batch_timeout_micros=2_000_000,
                      num_batch_threads=1)
  try:
    narrow = batcher.submit("m", model, {"x": np.array([[1, 2]])})
    wide = batcher.submit("m", model, {"x": np.array([[1, 2, 3]])})
    assert narrow.result(10)["y"].tolist() == [[2, 4]]
    assert wide.result(10)["y"].tolist() == [[2, 4, 6]]
    # ... and the thread still serves.
    later = batcher.submit("m", model, {"x": np.array([[5, 5]])})
    assert later.result(10)["y"].tolist() == [[10, 10]]
  finally:
    batcher.stop()
