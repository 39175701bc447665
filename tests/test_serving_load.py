# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The serving load benchmark's parsing of wrk's report and its quoting of
trigger ids into wrk's Lua script (the load itself is a benchmark)."""
import json

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
      "errors": 4 + 2 + 1}
  clean = WRK_REPORT.replace("  Socket errors: connect 0, read 2, write 0, "
                             "timeout 1\n", "").replace(
                                 "  Non-2xx or 3xx responses: 4\n", "")
  fast = clean.replace("50%    2.95ms", "50%  812.00us")
  assert serving_load.parse_wrk(fast)["p50_ms"] == 0.812
  assert serving_load.parse_wrk(clean)["errors"] == 0


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
