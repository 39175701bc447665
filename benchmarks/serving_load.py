# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Load benchmark of the local TF Serving-compatible endpoint, loopback only.

  .venv/bin/python -m benchmarks.serving_load [--seconds 8]
      [--synthetic_items 1000000] [--skip_synthetic]

For two catalogs -- the MovieLens model of the last pipeline run (the towers'
item vectors saved by the Trainer) and a synthetic catalog of clustered
unit vectors of the same dimension (benchmarks/ann_curve.py's) -- it exports a ScaNN and a brute-force
SavedModel (trainer/export.py, as the Trainer does), starts `serving.server`
on each in a subprocess, with server-side batching off and on, and drives
single-trigger predict requests at concurrency 1, 8 and 32 for --seconds per
level:

- REST with wrk (Debian's `wrk`; `make bench-tools` installs it), a Lua
  script picking a random trigger per request;
- gRPC with benchmarks/grpc_driver.py: one process per core, each keeping
  its share of the concurrent requests in flight on `grpc.aio` (so the
  driver is not bound by one Python interpreter's lock).

It also reports ScaNN recall@10 against brute force on the same triggers,
and, for MovieLens, pushes a new version while wrk keeps 8 connections busy
and counts failed requests. Client and server share the machine's cores.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional

import numpy as np
import requests

import tensorflow as tf

import benchmarks
from benchmarks import ann_curve
from benchmarks import grpc_driver
from pipeline import results
from relvid import config as config_lib
from serving import wire
from trainer import export

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONCURRENCY = (1, 8, 32)
BATCHING_FILE = os.path.join(ROOT, "serving", "batching_parameters.txt")


def export_both(ids: np.ndarray, trigger: np.ndarray, candidate: np.ndarray,
                folder: str) -> Dict[str, str]:
  """{index kind: model base path} with version 1 exported in each."""
  bases = {}
  for kind in ("scann", "brute_force"):
    config = config_lib.ExportConfig(index=kind, top_k=10)
    base = os.path.join(folder, kind)
    started = time.time()
    export.export_retrieval_model(export.PrecomputedTower(trigger), ids,
                                  candidate, os.path.join(base, "1"), config)
    print(f"  exported {kind} over {len(ids)} items in "
          f"{time.time() - started:.1f} s", flush=True)
    bases[kind] = base
  return bases


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class Server:
  """serving.server (REST and gRPC) in a subprocess."""

  def __init__(self, base: str, batching_file: Optional[str] = None):
    self.port, self.grpc_port = free_port(), free_port()
    self.url = f"http://127.0.0.1:{self.port}"
    self.grpc_target = f"127.0.0.1:{self.grpc_port}"
    command = [sys.executable, "-m", "serving.server", "--model_base_path",
               base, "--model_name", "relvid", "--rest_api_port",
               str(self.port), "--port", str(self.grpc_port),
               "--file_system_poll_wait_seconds", "0.5"]
    if batching_file:
      command += ["--batching_parameters_file", batching_file]
    started = time.time()
    self.process = subprocess.Popen(command, cwd=ROOT,
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline:
      if self.process.poll() is not None:
        raise RuntimeError(f"server on {base} exited with "
                           f"{self.process.returncode}")
      try:
        status = requests.get(self.url + "/v1/models/relvid", timeout=1)
        if status.ok and status.json()["model_version_status"][0][
            "state"] == "AVAILABLE":
          # From the process start to the model AVAILABLE.
          self.startup_seconds = time.time() - started
          return
      except (requests.RequestException, ValueError, KeyError, IndexError):
        pass  # not up yet, or no version loaded yet
      time.sleep(0.1)
    self.stop()
    raise RuntimeError(f"server on {base} did not start")

  def stop(self):
    self.process.terminate()
    self.process.wait(timeout=30)


WRK_SCRIPT = """
bodies = {%s}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])
end
"""


def lua_string(text: str) -> str:
  """`text` as a Lua long-bracket string literal whose level (=...) does
  not occur in it, so no character needs escaping."""
  level = 0
  while f"]{'=' * level}]" in text:
    level += 1
  return f"[{'=' * level}[{text}]{'=' * level}]"


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _milliseconds(text: str) -> float:
  value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
  return float(value) * _UNITS[unit]


def parse_wrk(output: str) -> Dict[str, float]:
  """QPS, p50/p99/max latency (ms), requests and failed requests (non-2xx
  answers and socket errors) from `wrk --latency` output."""
  def number(pattern, default=None):
    found = re.search(pattern, output)
    if found is None:
      if default is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
      return default
    return found.groups()

  (qps,) = number(r"Requests/sec:\s+([\d.]+)")
  (total,) = number(r"(\d+) requests in")
  (p50,) = number(r"\s50%\s+([\d.]+\w+)")
  (p99,) = number(r"\s99%\s+([\d.]+\w+)")
  (worst,) = number(r"Latency\s+\S+\s+\S+\s+([\d.]+\w+)")
  (non2xx,) = number(r"Non-2xx or 3xx responses: (\d+)", ("0",))
  sockets = number(r"Socket errors: connect (\d+), read (\d+), write "
                   r"(\d+), timeout (\d+)", ("0", "0", "0", "0"))
  return {"requests": int(total), "qps": float(qps),
          "p50_ms": _milliseconds(p50), "p99_ms": _milliseconds(p99),
          "max_ms": _milliseconds(worst),
          "errors": int(non2xx) + sum(int(s) for s in sockets)}


def wrk_load(url: str, triggers: List[str], concurrency: int,
             seconds: float) -> Dict[str, float]:
  """REST load with wrk: `concurrency` connections for `seconds`."""
  wrk = shutil.which("wrk")
  if wrk is None:
    raise FileNotFoundError("wrk is not installed: `make bench-tools` "
                            "(apt-get install wrk)")
  bodies = ",".join(lua_string(json.dumps({"instances": [t]}))
                    for t in triggers)
  with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
    f.write(WRK_SCRIPT % bodies)
  try:
    out = subprocess.run(
        [wrk, "-t", str(min(concurrency, 2)), "-c", str(concurrency), "-d",
         f"{max(1, round(seconds))}s", "--latency", "--timeout", "10s", "-s", f.name,
         url + "/v1/models/relvid:predict"],
        capture_output=True, text=True, check=True,
        timeout=seconds + 60).stdout
  finally:
    os.unlink(f.name)
  return parse_wrk(out)


def top10(url: str, triggers: List[str]) -> List[set]:
  out = []
  for start in range(0, len(triggers), 100):
    response = requests.post(url + "/v1/models/relvid:predict", json={
        "instances": triggers[start:start + 100]}, timeout=120)
    response.raise_for_status()
    out += [set(p["candidate_ids"][:10]) for p in response.json()[
        "predictions"]]
  return out


def version_switch_under_load(server: Server, base: str,
                              triggers: List[str]) -> Dict[str, float]:
  """Pushes version 2 while wrk keeps 8 connections busy for 8 s; counts
  failed requests."""
  result: Dict[str, float] = {}

  def run_load():
    result.update(wrk_load(server.url, triggers, 8, 8.0))

  thread = threading.Thread(target=run_load)
  thread.start()
  time.sleep(2.0)
  staging = os.path.join(base, ".staging-2")
  shutil.copytree(os.path.join(base, "1"), staging)
  os.rename(staging, os.path.join(base, "2"))  # appears complete, at once
  thread.join()
  status = requests.get(server.url + "/v1/models/relvid", timeout=5).json()
  result["serving_version"] = status["model_version_status"][0]["version"]
  return result


def spread(runs: List[Dict[str, float]], key: str, form: str) -> str:
  """min / median / max of one figure over repeated runs."""
  values = sorted(r[key] for r in runs)
  return " / ".join(format(v, form) for v in (
      values[0], float(np.median(values)), values[-1]))


def benchmark_catalog(name: str, ids: np.ndarray, trigger: np.ndarray,
                      candidate: np.ndarray, args, folder: str,
                      switch: bool) -> List[str]:
  print(f"\n{name}: {len(ids)} items, dim {candidate.shape[1]}", flush=True)
  bases = export_both(ids, trigger, candidate, os.path.join(folder, name))
  rows = []
  answers = {}
  rng = np.random.default_rng(2)
  probe = [str(i) for i in rng.choice(ids, 500)]
  triggers = [str(i) for i in rng.choice(ids, 2000)]
  grpc_requests = [wire.predict_request("relvid", [t]).SerializeToString()
                   for t in triggers]
  for kind, base in bases.items():
    if kind not in args.indexes.split(","):
      continue
    for batching in ("off", "on"):
      server = Server(base, args.batching_parameters_file
                      if batching == "on" else None)
      print(f"  {kind}, batching {batching}: AVAILABLE "
            f"{server.startup_seconds:.1f} s after the server started",
            flush=True)
      try:
        for protocol in ("REST", "gRPC"):
          for concurrency in CONCURRENCY:
            runs = [wrk_load(server.url, triggers, concurrency, args.seconds)
                    if protocol == "REST" else
                    grpc_driver.grpc_load(server.grpc_target, grpc_requests,
                                          concurrency, args.seconds)
                    for _ in range(args.runs)]
            rows.append(f"| {name} | {kind} | {batching} | {protocol} | "
                        f"{concurrency} | "
                        f"{sum(r['requests'] for r in runs)} | "
                        f"{sum(r['errors'] for r in runs)} | "
                        f"{spread(runs, 'qps', '.0f')} | "
                        f"{spread(runs, 'p50_ms', '.1f')} | "
                        f"{spread(runs, 'p99_ms', '.1f')} | "
                        f"{spread(runs, 'max_ms', '.0f')} |")
            print("  " + rows[-1], flush=True)
        if batching == "off":
          answers[kind] = top10(server.url, probe)
        elif switch and kind == "brute_force":
          r = version_switch_under_load(server, base, triggers)
          print(f"  version switch under load (wrk, 8 connections, 8 s, "
                f"batching on): {r['requests']} requests, {r['errors']} "
                f"failed, now serving version {r['serving_version']}",
                flush=True)
      finally:
        server.stop()
  if len(answers) < 2:
    return rows
  recall = np.mean([len(a & b) / 10 for a, b in zip(answers["scann"],
                                                    answers["brute_force"])])
  print(f"  ScaNN recall@10 vs brute force ({len(probe)} triggers): "
        f"{recall:.4f}", flush=True)
  return rows


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  config_lib.add_arguments(parser)
  parser.add_argument("--seconds", type=float, default=8.0,
                      help="load time per concurrency level")
  parser.add_argument("--batching_parameters_file", default=BATCHING_FILE,
                      help="the server's batching parameters when batching "
                      "is on (default %(default)s)")
  parser.add_argument("--runs", type=int, default=5,
                      help="runs per setting; the table gives min / median "
                      "/ max over them")
  parser.add_argument("--indexes", default="scann,brute_force",
                      help="the exported indexes to serve (comma-separated)")
  parser.add_argument("--synthetic_items", type=int, default=1_000_000)
  parser.add_argument("--skip_synthetic", action="store_true")
  args = parser.parse_args()
  unknown = set(args.indexes.split(",")) - {"scann", "brute_force"}
  if unknown:
    parser.error(f"--indexes: unknown {sorted(unknown)}; scann, brute_force")
  config = config_lib.load_config(args.config, args.overrides)
  vectors = results.latest_item_embeddings(config)
  rows = [f"QPS and latencies: min / median / max over {args.runs} runs of "
          f"{args.seconds:g} s", "",
          "| catalog | index | batching | protocol | concurrency | requests "
          "| errors | QPS | p50 ms | p99 ms | max ms |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
  with tempfile.TemporaryDirectory() as folder:
    rows += benchmark_catalog("movielens", vectors["item_ids"],
                              vectors["trigger"], vectors["candidate"], args,
                              folder, switch=True)
    if not args.skip_synthetic:
      n, dim = args.synthetic_items, vectors["candidate"].shape[1]
      synthetic = ann_curve.clustered_catalog(n, dim, seed=0)
      ids = np.array([str(i) for i in range(n)], dtype=object)
      rows += benchmark_catalog(f"synthetic-{n}", ids, synthetic, synthetic,
                                args, folder, switch=False)
  print("\n" + "\n".join(rows))
  return 0


if __name__ == "__main__":
  sys.exit(benchmarks.run_main(main))
