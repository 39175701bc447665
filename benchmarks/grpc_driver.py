# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""A closed-loop gRPC load driver that is not bound by one interpreter's lock.

One process per core, each keeping its share of the concurrent requests in
flight on `grpc.aio`. Requests arrive serialised (bytes), so the drivers
never build protos or call TensorFlow. The clock starts only once every
process has connected and sent a warm-up request (spawned processes
re-import the caller's module, which can take seconds), and all of them
send from the same moment to the same moment.
"""
import asyncio
import multiprocessing
import os
import time
from typing import Dict, List

import numpy as np

from serving.wire import PREDICT_METHOD


def _identity(payload: bytes) -> bytes:
  return payload


def _worker(target: str, requests: List[bytes], in_flight: int,
            seconds: float, seed: int, queue, start_at) -> None:
  import grpc  # pylint: disable=g-import-not-at-top

  async def run():
    latencies, errors = [], 0
    async with grpc.aio.insecure_channel(target) as channel:
      predict = channel.unary_unary(PREDICT_METHOD,
                                    request_serializer=_identity,
                                    response_deserializer=_identity)
      await channel.channel_ready()
      await predict(requests[0], timeout=30)
      queue.put(("ready", None))
      while start_at.value == 0:
        await asyncio.sleep(0.01)
      await asyncio.sleep(max(0.0, start_at.value - time.time()))
      stop_at = start_at.value + seconds
      rng = np.random.default_rng(seed)

      async def client():
        nonlocal errors
        while time.time() < stop_at:
          started = time.perf_counter()
          try:
            await predict(requests[rng.integers(len(requests))], timeout=10)
            latencies.append(time.perf_counter() - started)
          except grpc.aio.AioRpcError:
            errors += 1

      await asyncio.gather(*(client() for _ in range(in_flight)))
    return latencies, errors

  try:
    queue.put(("ok", asyncio.run(run())))
  except Exception as e:  # pylint: disable=broad-except
    queue.put(("error", f"{type(e).__name__}: {e}"))


def grpc_load(target: str, requests: List[bytes], concurrency: int,
              seconds: float, start_timeout: float = 120.0
              ) -> Dict[str, float]:
  """`concurrency` Predict calls in flight for `seconds`, spread over one
  process per core; returns requests, errors, qps, p50_ms, p99_ms and
  max_ms."""
  processes = max(1, min(concurrency, os.cpu_count() or 1))
  shares = [concurrency // processes + (i < concurrency % processes)
            for i in range(processes)]
  context = multiprocessing.get_context("spawn")
  queue = context.Queue()
  start_at = context.Value("d", 0.0)
  workers = [context.Process(target=_worker, args=(
      target, requests, share, seconds, i, queue, start_at))
             for i, share in enumerate(shares)]
  for worker in workers:
    worker.start()
  try:
    for _ in workers:
      status, value = queue.get(timeout=start_timeout)
      if status != "ready":
        raise RuntimeError(f"gRPC load driver failed: {value}")
    outcomes = []
    start_at.value = time.time() + 0.2
    for _ in workers:
      status, value = queue.get(timeout=seconds + start_timeout)
      if status != "ok":
        raise RuntimeError(f"gRPC load driver failed: {value}")
      outcomes.append(value)
  finally:
    for worker in workers:
      worker.join(timeout=30)
      if worker.is_alive():
        worker.terminate()
  if not any(o[0] for o in outcomes):
    raise RuntimeError(f"gRPC load driver: no request succeeded at "
                       f"concurrency {concurrency} "
                       f"({sum(o[1] for o in outcomes)} errors)")
  latencies = np.concatenate([np.array(o[0]) for o in outcomes]) * 1000
  errors = sum(o[1] for o in outcomes)
  return {"requests": len(latencies) + errors, "errors": errors,
          "qps": len(latencies) / seconds,
          "p50_ms": float(np.percentile(latencies, 50)),
          "p99_ms": float(np.percentile(latencies, 99)),
          "max_ms": float(np.max(latencies))}
