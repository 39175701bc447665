# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The serving load benchmark's parsing of wrk's report, its quoting of
trigger ids into wrk's Lua script, and the gRPC driver's request counting
against a stand-in server (the load itself is a benchmark: nothing here is
timed)."""
from concurrent import futures
import json
import os

import grpc
import pytest

from benchmarks import grpc_driver
from benchmarks import serving_load

WRK_REPORT = """Running 8s test @ http://127.0.0.1:8501/v1/models/relvid:predict
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms  812.55us  20.11ms   91.33%
    Req/Sec     1.30k    95.20     1.51k    70.00%
  Latency Distribution
     50%    2.95ms
     75%    3.30ms
     90%    3.85ms
     99%    6.12ms
  20712 requests in 8.00s, 41.50MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2588.91
Transfer/sec:      5.19MB
"""


def test_parse_wrk_report():
  assert serving_load.parse_wrk(WRK_REPORT) == {
      "requests": 20712, "qps": 2588.91, "p50_ms": 2.95, "p99_ms": 6.12,
      "max_ms": 20.11, "errors": 4 + 2 + 1}
  clean = WRK_REPORT.replace("  Socket errors: connect 0, read 2, write 0, "
                             "timeout 1\n", "").replace(
                                 "  Non-2xx or 3xx responses: 4\n", "")
  fast = clean.replace("50%    2.95ms", "50%  812.00us")
  assert serving_load.parse_wrk(fast)["p50_ms"] == 0.812
  assert serving_load.parse_wrk(clean)["errors"] == 0


def test_spread_is_min_median_max_over_runs():
  runs = [{"p99_ms": v} for v in (30.0, 10.0, 520.0, 12.0, 11.0)]
  assert serving_load.spread(runs, "p99_ms", ".1f") == "10.0 / 12.0 / 520.0"


def test_lua_string_needs_no_escaping():
  for text in ('plain', 'quote " and back\\slash', 'ends with ]]',
               'has ]=] and ]]', 'tab\tnewline\n'):
    body = json.dumps({"instances": [text]})
    literal = serving_load.lua_string(body)
    level = literal.index("[", 1)  # the opening bracket's '=' run
    opening, closing = literal[:level + 1], "]" + literal[1:level] + "]"
    assert literal.startswith(opening) and literal.endswith(closing)
    inner = literal[len(opening):-len(closing)]
    assert inner == body and closing not in inner
    assert json.loads(inner)["instances"] == [text]


class _Predict:
  """A stand-in PredictionService/Predict: echoes the request, or fails."""

  def __init__(self, fail: bool):
    self.fail = fail
    self.calls = 0

  def __call__(self, request: bytes, context) -> bytes:
    self.calls += 1
    if self.fail:
      context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad request")
    return request


def _serve(handler: "_Predict"):
  server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
  service, method = grpc_driver.PREDICT_METHOD.strip("/").split("/")
  server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
      service, {method: grpc.unary_unary_rpc_method_handler(
          handler, request_deserializer=None, response_serializer=None)})])
  port = server.add_insecure_port("127.0.0.1:0")
  server.start()
  return server, f"127.0.0.1:{port}"


def test_grpc_driver_counts_every_request_across_processes():
  handler = _Predict(fail=False)
  server, target = _serve(handler)
  try:
    result = grpc_driver.grpc_load(target, [b"a", b"bc"], concurrency=3,
                                   seconds=0.5)
  finally:
    server.stop(0)
  assert result["errors"] == 0 and result["requests"] > 0
  # Each process sends one warm-up request before the clock starts.
  processes = min(3, os.cpu_count() or 1)
  assert handler.calls == result["requests"] + processes
  assert result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]


def test_grpc_driver_reports_a_server_that_answers_nothing():
  server, target = _serve(_Predict(fail=True))
  try:
    with pytest.raises(RuntimeError, match="gRPC load driver failed"):
      grpc_driver.grpc_load(target, [b"a"], concurrency=2, seconds=0.2)
  finally:
    server.stop(0)
