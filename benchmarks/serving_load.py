# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Load benchmark of the local TF Serving-compatible endpoint, loopback only.

  .venv/bin/python -m benchmarks.serving_load [--requests 300] [--seconds 20]
      [--synthetic_items 1000000] [--skip_synthetic]

For two catalogs -- the MovieLens model of the last pipeline run (the towers'
item vectors saved by the Trainer) and a synthetic catalog of random unit
vectors of the same dimension -- it exports a ScaNN and a brute-force
SavedModel (trainer/export.py, as the Trainer does), starts
`serving.server` on each in a subprocess, and measures QPS and p50/p99
latency of single-trigger predict requests at concurrency 1, 8 and 32 (each
level bounded by --requests and --seconds). It also reports ScaNN recall@10
against brute force on the same triggers, and, for MovieLens, pushes a new
version while 8 clients keep sending requests and counts failed requests.
"""
import argparse
import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List

import numpy as np
import requests

import tensorflow as tf

import benchmarks
from pipeline import results
from relvid import config as config_lib
from trainer import export

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONCURRENCY = (1, 8, 32)


class VectorTower(tf.keras.Model):
  """Trigger tower stand-in: the trained (or synthetic) trigger vectors."""

  def __init__(self, vectors: np.ndarray):
    super().__init__()
    self.vectors = tf.Variable(vectors, trainable=False)

  def call(self, index):
    return tf.gather(self.vectors, index)


def export_both(ids: np.ndarray, trigger: np.ndarray, candidate: np.ndarray,
                folder: str) -> Dict[str, str]:
  """{index kind: model base path} with version 1 exported in each."""
  bases = {}
  for kind in ("scann", "brute_force"):
    config = config_lib.ExportConfig(index=kind, top_k=10)
    base = os.path.join(folder, kind)
    started = time.time()
    export.export_retrieval_model(VectorTower(trigger), ids, candidate,
                                  os.path.join(base, "1"), config)
    print(f"  exported {kind} over {len(ids)} items in "
          f"{time.time() - started:.1f} s", flush=True)
    bases[kind] = base
  return bases


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class Server:
  """serving.server in a subprocess."""

  def __init__(self, base: str):
    self.port = free_port()
    self.url = f"http://127.0.0.1:{self.port}"
    self.process = subprocess.Popen(
        [sys.executable, "-m", "serving.server", "--model_base_path", base,
         "--model_name", "relvid", "--rest_api_port", str(self.port),
         "--file_system_poll_wait_seconds", "0.5"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline:
      try:
        if requests.get(self.url + "/v1/models/relvid", timeout=1).ok:
          return
      except requests.RequestException:
        time.sleep(0.5)
    raise RuntimeError(f"server on {base} did not start")

  def stop(self):
    self.process.terminate()
    self.process.wait(timeout=30)


def load(url: str, ids: np.ndarray, concurrency: int, max_requests: int,
         max_seconds: float, seed: int = 0) -> Dict[str, float]:
  """Sends single-trigger predict requests from `concurrency` threads."""
  rng = np.random.default_rng(seed)
  triggers = [str(i) for i in rng.choice(ids, max_requests)]
  latencies: List[float] = []
  errors = 0
  lock = threading.Lock()
  local = threading.local()
  deadline = time.time() + max_seconds

  def one(trigger):
    nonlocal errors
    if time.time() > deadline:
      return
    session = getattr(local, "session", None)
    if session is None:
      session = local.session = requests.Session()
    started = time.perf_counter()
    try:
      response = session.post(url + "/v1/models/relvid:predict",
                              json={"instances": [trigger]}, timeout=60)
      ok = response.status_code == 200
    except requests.RequestException:
      ok = False
    elapsed = time.perf_counter() - started
    with lock:
      if ok:
        latencies.append(elapsed)
      else:
        errors += 1

  started = time.time()
  with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
    list(pool.map(one, triggers))
  wall = time.time() - started
  lat = np.array(latencies) * 1000
  return {"requests": len(latencies) + errors, "errors": errors,
          "qps": len(latencies) / wall,
          "p50_ms": float(np.percentile(lat, 50)) if len(lat) else np.nan,
          "p99_ms": float(np.percentile(lat, 99)) if len(lat) else np.nan}


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
                              ids: np.ndarray) -> Dict[str, float]:
  """Pushes version 2 while 8 clients send requests; counts failures."""
  result: Dict[str, float] = {}

  def run_load():
    result.update(load(server.url, ids, 8, 100000, 8.0, seed=1))

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


def benchmark_catalog(name: str, ids: np.ndarray, trigger: np.ndarray,
                      candidate: np.ndarray, args, folder: str,
                      switch: bool) -> List[str]:
  print(f"\n{name}: {len(ids)} items, dim {candidate.shape[1]}", flush=True)
  bases = export_both(ids, trigger, candidate, os.path.join(folder, name))
  rows = []
  answers = {}
  probe = [str(i) for i in np.random.default_rng(2).choice(ids, 500)]
  for kind, base in bases.items():
    server = Server(base)
    try:
      for concurrency in CONCURRENCY:
        r = load(server.url, ids, concurrency, args.requests, args.seconds)
        rows.append(f"| {name} | {kind} | {concurrency} | {r['requests']} | "
                    f"{r['errors']} | {r['qps']:.1f} | {r['p50_ms']:.1f} | "
                    f"{r['p99_ms']:.1f} |")
        print("  " + rows[-1], flush=True)
      answers[kind] = top10(server.url, probe)
      if switch and kind == "brute_force":
        r = version_switch_under_load(server, base, ids)
        print(f"  version switch under load (8 clients, 8 s): "
              f"{r['requests']} requests, {r['errors']} failed, now serving "
              f"version {r['serving_version']}", flush=True)
    finally:
      server.stop()
  recall = np.mean([len(a & b) / 10 for a, b in zip(answers["scann"],
                                                    answers["brute_force"])])
  print(f"  ScaNN recall@10 vs brute force ({len(probe)} triggers): "
        f"{recall:.4f}", flush=True)
  return rows


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  config_lib.add_arguments(parser)
  parser.add_argument("--requests", type=int, default=300,
                      help="requests per concurrency level (at most)")
  parser.add_argument("--seconds", type=float, default=20.0,
                      help="time per concurrency level (at most)")
  parser.add_argument("--synthetic_items", type=int, default=1_000_000)
  parser.add_argument("--skip_synthetic", action="store_true")
  args = parser.parse_args()
  config = config_lib.load_config(args.config, args.overrides)
  vectors = results.latest_item_embeddings(config)
  rows = ["| catalog | index | concurrency | requests | errors | QPS | "
          "p50 ms | p99 ms |", "|---|---|---|---|---|---|---|---|"]
  with tempfile.TemporaryDirectory() as folder:
    rows += benchmark_catalog("movielens", vectors["item_ids"],
                              vectors["trigger"], vectors["candidate"], args,
                              folder, switch=True)
    if not args.skip_synthetic:
      n, dim = args.synthetic_items, vectors["candidate"].shape[1]
      rng = np.random.default_rng(0)
      synthetic = rng.normal(size=(n, dim)).astype(np.float32)
      synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
      ids = np.array([str(i) for i in range(n)], dtype=object)
      rows += benchmark_catalog(f"synthetic-{n}", ids, synthetic, synthetic,
                                args, folder, switch=False)
  print("\n" + "\n".join(rows))
  return 0


if __name__ == "__main__":
  sys.exit(benchmarks.run_main(main))
