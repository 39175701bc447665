# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The batch scheduler on a tiny numpy "model": merging, splitting back,
timeouts, a full queue, oversized and bad requests, the parameter file."""
import threading

import numpy as np
import pytest

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
  assert (batcher.batches_run, batcher.requests_run) == (1, 3)


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
