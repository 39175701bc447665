# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Scale of the two data-heavy Beam stages on synthetic logs.

  python -m benchmarks.pipeline_scale --sizes 1000000,10000000

For each size N (interactions) it writes synthetic logs in the pipeline's
own format (gzipped tf.Examples, as the ExampleGens write them): N / 50
users with 50 engagements each in sessions, N / 50 items with Zipf
popularity and clustered unit text vectors. Then it runs, each as its own
Beam pipeline on the DirectRunner in multi-process mode:

* pair generation: the CoEngagementPairs graph (per-user grouping, time
  split by approximate quantiles, pair counts, trigger counts, catalog join);
* semantic mining: the SemanticPairs stage (per-block ScaNN search; exact
  search below semantic_pairs.EXACT_LIMIT items).

It prints wall time, throughput and the peak resident memory of the whole
process tree (this process + Beam workers, sampled every 0.2 s), and the
cost per interaction, which stays ~flat when cost grows linearly.
`--max-seconds` bounds each stage: a stage past it is stopped and reported
as such, never as a result.
"""
import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional

import numpy as np


EVENTS_PER_USER = 50
INTERACTIONS_PER_ITEM = 50
SHARDS = 8


def _varint(value: int) -> bytes:
  out = bytearray()
  while True:
    byte = value & 0x7F
    value >>= 7
    if value:
      out.append(byte | 0x80)
    else:
      out.append(byte)
      return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
  """A length-delimited protobuf field."""
  return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _feature_entry(key: str, feature: bytes) -> bytes:
  return _field(1, _field(1, key.encode()) + _field(2, feature))


def interaction_example(user: str, item: str, timestamp: int) -> bytes:
  """The serialized tf.Example of one interaction, encoded by hand: the
  generator writes millions, and building tf.train.Example protos is ~5x
  slower. `tests/test_pipeline_scale.py` checks it against
  example_io.to_example."""
  features = (
      _feature_entry("user_id", _field(1, _field(1, user.encode())))
      + _feature_entry("item_id", _field(1, _field(1, item.encode())))
      + _feature_entry("timestamp", _field(3, _field(1, _varint(timestamp)))))
  return _field(1, features)


def _write_shard(args) -> int:
  """One shard of users' sessions as interaction tf.Examples."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  path, users, num_items, seed = args
  rng = np.random.default_rng(seed)
  popularity = 1.0 / np.arange(1, num_items + 1) ** 0.9
  popularity /= popularity.sum()
  written = 0
  with tf.io.TFRecordWriter(path, options="GZIP") as writer:
    for user in users:
      items = rng.choice(num_items, size=EVENTS_PER_USER, p=popularity)
      # Sessions: gaps of minutes, a day between sessions of ~10.
      gaps = np.where(rng.random(EVENTS_PER_USER) < 0.1, 86400,
                      rng.integers(30, 900, size=EVENTS_PER_USER))
      times = 1_600_000_000 + int(rng.integers(0, 86400 * 30)) + np.cumsum(gaps)
      for item, timestamp in zip(items, times):
        writer.write(interaction_example(f"u{user}", f"i{item}",
                                         int(timestamp)))
        written += 1
  return written


def write_synthetic(folder: str, interactions: int, dim: int,
                    seed: int = 0) -> Dict[str, str]:
  """Writes interactions, items and item text vectors; returns their globs.
  A folder holding a complete set for the same arguments is reused."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from components import example_io  # pylint: disable=g-import-not-at-top
  users = interactions // EVENTS_PER_USER
  num_items = max(100, interactions // INTERACTIONS_PER_ITEM)
  globs = {name: os.path.join(folder, name, "*.gz")
           for name in ("interactions", "items", "vectors")}
  done = os.path.join(folder, "COMPLETE")
  wanted = f"{interactions} {dim} {seed}"
  if os.path.exists(done) and open(done).read() == wanted:
    return globs
  for name in globs:
    os.makedirs(os.path.join(folder, name), exist_ok=True)
  jobs = [(os.path.join(folder, "interactions", f"part-{s:03d}.gz"),
           range(s, users, SHARDS), num_items, seed + s)
          for s in range(SHARDS)]
  with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
    pool.map(_write_shard, jobs)
  rng = np.random.default_rng(seed)
  topics = rng.integers(0, 40, size=num_items)
  centres = rng.normal(size=(num_items // 20 + 1, dim))
  vectors = centres[rng.integers(len(centres), size=num_items)] + 0.35 * (
      rng.normal(size=(num_items, dim)))
  vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
  with tf.io.TFRecordWriter(os.path.join(folder, "items", "items.gz"),
                            options="GZIP") as items, tf.io.TFRecordWriter(
                                os.path.join(folder, "vectors", "vectors.gz"),
                                options="GZIP") as embeddings:
    for i in range(num_items):
      items.write(example_io.to_example(
          {"item_id": f"i{i}", "topics": [f"t{topics[i]}"]}
      ).SerializeToString())
      embeddings.write(example_io.to_example(
          {"item_id": f"i{i}", "text_embedding": vectors[i].tolist()}
      ).SerializeToString())
  with open(done, "w") as f:
    f.write(wanted)
  return globs


class PeakMemory:
  """Peak RSS of this process and all its descendants (sampled)."""

  def __init__(self, interval: float = 0.2):
    import psutil  # pylint: disable=g-import-not-at-top
    self._root = psutil.Process()
    self._interval = interval
    self.peak = 0
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._run, daemon=True)

  def _run(self):
    while not self._stop.is_set():
      total = 0
      for process in [self._root] + self._root.children(recursive=True):
        try:
          total += process.memory_info().rss
        except Exception:  # pylint: disable=broad-except
          pass  # a worker that just exited
      self.peak = max(self.peak, total)
      time.sleep(self._interval)

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()


def _beam_options(workers: int, mode: str):
  from apache_beam.options.pipeline_options import PipelineOptions  # pylint: disable=g-import-not-at-top
  return PipelineOptions([
      "--runner=DirectRunner", f"--direct_num_workers={workers}",
      f"--direct_running_mode={mode}"])


def pair_stage(globs, out: str, workers: int, mode: str) -> None:
  import apache_beam as beam  # pylint: disable=g-import-not-at-top
  from components import pair_generation  # pylint: disable=g-import-not-at-top
  with beam.Pipeline(options=_beam_options(workers, mode)) as root:
    pair_generation.build_pair_generation(
        root, globs["interactions"], globs["items"], globs["vectors"],
        {s: os.path.join(out, s) for s in pair_generation.OUTPUT_SPLITS},
        window_seconds=3600, max_lookahead=1, symmetric=False, dedupe=True,
        eval_fraction=0.1)


def semantic_stage(globs, out: str, workers: int, mode: str,
                   threshold: float, neighbors: int) -> None:
  import apache_beam as beam  # pylint: disable=g-import-not-at-top
  from components import example_io  # pylint: disable=g-import-not-at-top
  from components import semantic_pairs  # pylint: disable=g-import-not-at-top
  with beam.Pipeline(options=_beam_options(workers, mode)) as root:
    _ = (root
         | example_io.ReadExamples(globs["vectors"],
                                   list_fields=["text_embedding"])
         | beam.Map(lambda r: (r["item_id"], r["text_embedding"]))
         | semantic_pairs.SemanticPairs(threshold, neighbors)
         | example_io.WriteExamples(os.path.join(out, "semantic")))


def _count_rows(pattern: str) -> int:
  """Records under `pattern`, counted inside TF's graph (a Python loop over
  millions of records takes many minutes)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  files = tf.io.gfile.glob(pattern)
  if not files:
    return 0
  dataset = tf.data.TFRecordDataset(files, compression_type="GZIP",
                                    num_parallel_reads=len(files))
  return int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


def timed(stage, max_seconds: float, *args) -> Optional[Dict[str, float]]:
  """Runs `stage(*args)` in a child process, bounded by max_seconds."""
  context = multiprocessing.get_context("fork")
  with PeakMemory() as memory:
    started = time.time()
    child = context.Process(target=stage, args=args)
    child.start()
    child.join(max_seconds)
    if child.is_alive():
      import psutil  # pylint: disable=g-import-not-at-top
      for process in psutil.Process(child.pid).children(recursive=True):
        process.kill()
      child.kill()
      child.join()
      return None
    seconds = time.time() - started
  if child.exitcode != 0:
    raise RuntimeError(f"{stage.__name__} failed (exit {child.exitcode})")
  return {"seconds": seconds, "peak_gb": memory.peak / 2 ** 30}


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline_scale",
                                   description=__doc__.split("\n")[0])
  parser.add_argument("--sizes", default="1000000,10000000",
                      help="interaction counts, comma-separated")
  parser.add_argument("--workers", type=int, default=os.cpu_count())
  parser.add_argument("--mode", default="multi_processing",
                      choices=["multi_processing", "in_memory"])
  parser.add_argument("--dim", type=int, default=64,
                      help="text vector size (the pipeline's BERT has 384)")
  parser.add_argument("--threshold", type=float, default=0.8)
  parser.add_argument("--neighbors", type=int, default=10)
  parser.add_argument("--max-seconds", type=float, default=3600)
  parser.add_argument("--workdir", help="keep (and reuse) the synthetic data "
                      "here (default: a temporary folder, removed)")
  parser.add_argument("--count-rows", action="store_true",
                      help="count the rows each stage wrote (slow: ~5 min "
                      "for the 6.2M pair rows of 10M interactions)")
  parser.add_argument("--stages", default="pairs,semantic",
                      help="which stages to run: pairs, semantic")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  rows = []
  for size in [int(s) for s in args.sizes.split(",")]:
    folder = args.workdir or tempfile.mkdtemp(prefix="relvid-scale-")
    folder = os.path.join(folder, str(size))
    started = time.time()
    globs = write_synthetic(os.path.join(folder, "in"), size, args.dim)
    print(f"[{size:,}] synthetic logs written in {time.time() - started:.0f} s",
          flush=True)
    out = os.path.join(folder, "out")
    stages = {"pairs": ("pair generation", pair_stage, (
        globs, out, args.workers, args.mode)),
              "semantic": ("semantic mining", semantic_stage, (
                  globs, out, args.workers, args.mode, args.threshold,
                  args.neighbors))}
    for key in args.stages.split(","):
      name, stage, stage_args = stages[key]
      result = timed(stage, args.max_seconds, *stage_args)
      items = size // INTERACTIONS_PER_ITEM
      if result is None:
        print(f"[{size:,}] {name}: stopped after {args.max_seconds:.0f} s "
              "(bound reached; no figure)", flush=True)
        rows.append((size, items, name, None, None, None, None))
        continue
      produced = (_count_rows(os.path.join(
          out, "train" if key == "pairs" else "semantic", "*"))
                  if args.count_rows else None)
      rows.append((size, items, name, result["seconds"],
                   size / result["seconds"], result["peak_gb"], produced))
      print(f"[{size:,}] {name}: {result['seconds']:.0f} s, "
            f"{size / result['seconds']:,.0f} interactions/s, peak "
            f"{result['peak_gb']:.2f} GB, rows {produced}", flush=True)
    if not args.workdir:
      shutil.rmtree(os.path.dirname(folder), ignore_errors=True)
  print(f"\nDirectRunner {args.mode}, {args.workers} workers, "
        f"{os.cpu_count()} cores, text vectors {args.dim}-d\n")
  print("| interactions | items | stage | seconds | interactions/s | "
        "µs per interaction | peak memory GB | rows written |")
  print("|---|---|---|---|---|---|---|---|")
  for size, items, name, seconds, rate, peak, produced in rows:
    if seconds is None:
      print(f"| {size:,} | {items:,} | {name} | > {args.max_seconds:.0f} "
            "(stopped) | - | - | - | - |")
      continue
    rows_cell = "-" if produced is None else f"{produced:,}"
    print(f"| {size:,} | {items:,} | {name} | {seconds:.0f} | {rate:,.0f} | "
          f"{1e6 * seconds / size:.0f} | {peak:.2f} | {rows_cell} |")
  return 0


if __name__ == "__main__":
  sys.exit(main())
