# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Distributed training against one process: quality, throughput, memory.

  python -m benchmarks.distributed [--config FILE] [--set ...]
      [--seeds 0,1,2] [--workers 2] [--ps 2] [--memory-pairs 1000000,10000000]
      [--memory-items 100000] [--skip-quality] [--skip-memory]
      [--arms memory,streaming,ps,ps_async,sync] [--workdir DIR]

Quality and throughput (needs a `relvid run` of the config first: its
latest CoEngagementPairs artifact is the input). Per seed, up to five
trainings of the Trainer's own `run_fn` through `trainer.local_cluster`,
with the config's trainer settings otherwise:

  one process      (memory) trainer.input memory (the default);
  one, streaming   (streaming) trainer.input streaming (the cluster's);
  parameter server (ps) --workers workers and --ps parameter servers on
                   127.0.0.1, in a network namespace of their own (root),
                   in synchronous rounds (the default);
  ps, asynchronous (ps_async) the same cluster with asynchronous updates;
  synchronous      (sync) trainer.distribution multi_worker_mirrored:
                   --workers replicas (the chief and --workers - 1
                   workers), in a network namespace of their own;

(all five by default; name fewer with --arms to skip the others).

Each is scored by exact retrieval over the catalog with its exported item
vectors on the artifact's eval pairs (the code `relvid ablate` uses), and
its examples/s is the pair rows trained on (every epoch, the refit's
included) over the wall time of those fits.

Memory: synthetic pair artifacts (`--memory-items` items with 32-d text
vectors, Zipf-popular candidates, --memory-pairs rows in 8 files), one
epoch each in one process with streaming input (and with memory input at
the smallest size): the peak resident memory of the training process.
"""
import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

SHARDS = 8
TEXT_DIM = 32
# (--arms key, table name, the cluster's kind, its settings)
ARMS = (("memory", "one process", None, ["trainer.input=memory"]),
        ("streaming", "one, streaming", None, ["trainer.input=streaming"]),
        ("ps", "parameter server", "ps",
         ["trainer.distribution=parameter_server"]),
        ("ps_async", "ps, asynchronous", "ps",
         ["trainer.distribution=parameter_server",
          "trainer.parameter_server_updates=asynchronous"]),
        ("sync", "synchronous", "sync",
         ["trainer.distribution=multi_worker_mirrored"]))


def cluster_shape(kind: Optional[str], workers: int,
                  parameter_servers: int) -> Tuple[int, int]:
  """(--workers, --ps) of trainer.local_cluster for an arm: none for one
  process; the parameter-server cluster as given; for synchronous
  training `workers` replicas (at least 2), the chief one of them."""
  if kind is None:
    return 0, 0
  if kind == "ps":
    return workers, parameter_servers
  return max(workers - 1, 1), 0


def launch(pairs_uri: str, out: str, overrides: List[str], workers: int,
           parameter_servers: int, config_file: Optional[str] = None
           ) -> Dict[str, Any]:
  """One `trainer.local_cluster` run; its report and training.json."""
  command = [sys.executable, "-m", "trainer.local_cluster", "--examples",
             pairs_uri, "--output", out, "--workers", str(workers),
             "--ps", str(parameter_servers)]
  if workers:
    command.append("--isolate-network")
  if config_file:
    command.append(f"--config={config_file}")
  command += [f"--set={o}" for o in overrides]
  done = subprocess.run(command, capture_output=True, text=True)
  if done.returncode != 0:
    chief = os.path.join(out, "chief-0.log")
    tail = ""
    if os.path.exists(chief):
      with open(chief) as f:
        tail = f.read()[-3000:]
    raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}"
                       f"\n{tail}")
  with open(os.path.join(out, "cluster.json")) as f:
    report = json.load(f)
  with open(os.path.join(out, "model_run", "training.json")) as f:
    report["training"] = json.load(f)
  return report


class ExportedVectors:
  """A trained run's item vectors, as `validation.evaluate_model` takes."""

  def __init__(self, model_run_dir: str):
    from trainer import task  # pylint: disable=g-import-not-at-top
    self.vectors = task.read_item_embeddings(model_run_dir)

  def item_embeddings(self) -> Dict[str, np.ndarray]:
    return self.vectors


def quality(args, workdir: str) -> List[Dict[str, Any]]:
  from components import artifacts  # pylint: disable=g-import-not-at-top
  from pipeline import results  # pylint: disable=g-import-not-at-top
  from relvid import config as config_lib  # pylint: disable=g-import-not-at-top
  from relvid import contract  # pylint: disable=g-import-not-at-top
  from trainer import ablation  # pylint: disable=g-import-not-at-top
  from trainer import validation  # pylint: disable=g-import-not-at-top
  config = config_lib.load_config(args.config, args.overrides)
  pairs_uri = results.latest_pairs_uri(config)
  catalog = artifacts.load_catalog(pairs_uri)
  eval_pairs = artifacts.load_pairs(pairs_uri, contract.EVAL, catalog)
  print(f"pairs: {pairs_uri} ({len(catalog)} items, {len(eval_pairs)} eval "
        "pairs)", flush=True)
  arms = [a for a in ARMS if a[0] in args.arms]
  rows = []
  for seed in args.seeds:
    for _, name, kind, arm in arms:
      out = os.path.join(workdir, "quality", f"{name.replace(' ', '_')}-"
                         f"{seed}".replace(",", ""))
      report = launch(pairs_uri, out, args.overrides + arm +
                      [f"trainer.seed={seed}"],
                      *cluster_shape(kind, args.workers, args.ps),
                      config_file=args.config)
      training = report["training"]
      metrics = validation.evaluate_model(
          ExportedVectors(os.path.join(out, "model_run")), catalog,
          eval_pairs, config.eval)["all"]
      row = {"arm": name, "seed": seed,
             "recall@100": metrics["recall@100"],
             "topic@10": metrics["topic_match@10"],
             "popular@10": metrics["popular_share@10"],
             "kept_epoch": training["kept_epoch"],
             "examples_per_s": training["fit_examples"] /
                               max(training["fit_seconds"], 1e-9),
             "fit_seconds": training["fit_seconds"],
             "job_seconds": report["chief_seconds"]}
      rows.append(row)
      print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in row.items()), flush=True)
  print("\n| training | recall@100 | topic@10 | popular@10 | kept epoch | "
        "examples/s | job s |")
  print("|---|---|---|---|---|---|---|")
  for _, name, _, _ in arms:
    arm = [r for r in rows if r["arm"] == name]

    def stat(key, digits=4):
      values = np.array([r[key] for r in arm], float)
      return (f"{values.mean():.{digits}f} ± "
              f"{ablation.seed_std(values):.{digits}f}")
    print(f"| {name} | {stat('recall@100')} | {stat('topic@10')} | "
          f"{stat('popular@10')} | {stat('kept_epoch', 1)} | "
          f"{stat('examples_per_s', 0)} | {stat('job_seconds', 0)} |")
  return rows


def _example(fields: Dict[str, Any]) -> bytes:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  feature = {}
  for key, value in fields.items():
    values = value if isinstance(value, list) else [value]
    if isinstance(values[0], bytes):
      feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(
          value=values))
    elif isinstance(values[0], (int, np.integer)):
      feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(
          value=values))
    else:
      feature[key] = tf.train.Feature(float_list=tf.train.FloatList(
          value=values))
  return tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString()


def _write_pair_shard(job) -> int:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  path, rows, items, seed = job
  rng = np.random.default_rng(seed)
  # Zipf-like candidates, uniform triggers.
  candidates = np.minimum(rng.zipf(1.2, rows) - 1, items - 1)
  triggers = rng.integers(0, items, rows)
  with tf.io.TFRecordWriter(path, options="GZIP") as writer:
    for t, c in zip(triggers, candidates):
      writer.write(_example({"trigger_id": b"v%d" % t,
                             "candidate_id": b"v%d" % c,
                             "pair_count": 1, "trigger_count": 10,
                             "recent_count": 0}))
  return rows


def synthetic_pairs(folder: str, items: int, pairs: int) -> str:
  """A CoEngagementPairs-shaped artifact of `pairs` train rows."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  for split in ("catalog", "train", "eval"):
    os.makedirs(os.path.join(folder, f"Split-{split}"), exist_ok=True)
  text = rng.normal(size=(items, TEXT_DIM)).astype(np.float32)
  with tf.io.TFRecordWriter(os.path.join(folder, "Split-catalog", "c.gz"),
                            options="GZIP") as writer:
    for i in range(items):
      writer.write(_example({"item_id": b"v%d" % i,
                             "text_embedding": [float(x) for x in text[i]],
                             "topics": [b"t%d" % (i % 20)],
                             "train_engagements": 1}))
  jobs = [(os.path.join(folder, "Split-train", f"p-{s:05d}.gz"),
           pairs // SHARDS + (s < pairs % SHARDS), items, s)
          for s in range(SHARDS)]
  with multiprocessing.Pool(min(SHARDS, os.cpu_count() or 1)) as pool:
    pool.map(_write_pair_shard, jobs)
  _write_pair_shard((os.path.join(folder, "Split-eval", "e.gz"), 1000,
                     items, 99))
  return folder


def memory(args, workdir: str) -> None:
  settings = ["trainer.validation=off", "trainer.epochs=1",
              "trainer.semantic_weight=0", "export.index=brute_force"]
  print("\n| pairs | input | peak RSS MB | job s | examples/s |")
  print("|---|---|---|---|---|")
  for n, pairs in enumerate(args.memory_pairs):
    uri = synthetic_pairs(os.path.join(workdir, f"pairs-{pairs}"),
                          args.memory_items, pairs)
    for mode in ("streaming", "memory") if n == 0 else ("streaming",):
      report = launch(uri, os.path.join(workdir, f"memory-{pairs}-{mode}"),
                      settings + [f"trainer.input={mode}"], 0, 0)
      training = report["training"]
      print(f"| {pairs:,} | {mode} | {report['peak_rss_mb']:.0f} | "
            f"{report['chief_seconds']:.0f} | "
            f"{training['fit_examples'] / training['fit_seconds']:.0f} |",
            flush=True)


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m benchmarks.distributed", description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--config")
  parser.add_argument("--set", dest="overrides", action="append", default=[])
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--workers", type=int, default=2)
  parser.add_argument("--ps", type=int, default=2)
  parser.add_argument("--memory-pairs", default="1000000,10000000")
  parser.add_argument("--memory-items", type=int, default=100_000)
  parser.add_argument("--skip-quality", action="store_true")
  parser.add_argument("--skip-memory", action="store_true")
  parser.add_argument("--arms", default=",".join(a[0] for a in ARMS),
                      help="which trainings per seed (comma-separated)")
  parser.add_argument("--workdir")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  args.arms = args.arms.split(",")
  unknown = set(args.arms) - {a[0] for a in ARMS}
  if unknown:
    parser.error(f"unknown --arms {sorted(unknown)}; choose from "
                 f"{[a[0] for a in ARMS]}")
  args.seeds = [int(s) for s in args.seeds.split(",")]
  args.memory_pairs = [int(n) for n in args.memory_pairs.split(",")]
  workdir = args.workdir or tempfile.mkdtemp(prefix="relvid_distributed_")
  if not args.skip_quality:
    quality(args, workdir)
  if not args.skip_memory:
    memory(args, workdir)
  print(f"outputs under {workdir}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
