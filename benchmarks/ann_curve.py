# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""ScaNN recall@10 against QPS, the ann-benchmarks way, on 1M items.

  .venv/bin/python -m benchmarks.ann_curve [--items 1000000] [--dim 128]
      [--queries 1000] [--png docs/ann-curve.png]

For two synthetic catalogs of unit vectors -- clustered (like
benchmarks/pipeline_scale.py's text vectors: noisy copies of n/20 centres,
as real item embeddings form topics) and uniformly random (the worst case
for any partitioning index) -- it builds the index the export builds
(trainer/export.py: the TFRS ScaNN layer's tree + asymmetric hashing +
exact reordering, num_leaves = sqrt(n)) once, then sweeps the query-time
knobs, leaves searched and reorder size, and measures for each setting:

- recall@10 against exact search, for --queries held-out queries drawn
  from the same distribution;
- QPS of single-query searches, one at a time in this process (what one
  serving request does), against brute force (the TFRS BruteForce layer's
  matmul + top_k) on the same queries.

Prints a table per catalog and the settings that reach recall@10 >= 0.95,
then plots recall against QPS (log scale) with brute force as a reference
line (PNG). Finally it exports the default configuration's serving model
over the clustered catalog and checks its recall through the signature.
"""
import argparse
import os
import sys
import time
from typing import Dict, List, Tuple

import numpy as np
from scann.scann_ops.py import scann_ops
import tensorflow as tf

import benchmarks
from relvid import config as config_lib
from trainer import export

LEAVES_TO_SEARCH = (5, 10, 20, 40, 80, 160, 320)
REORDER = (50, 100, 200, 400)
K = 10


def clustered(n: int, dim: int, rng: np.random.Generator,
              centres: np.ndarray) -> np.ndarray:
  vectors = centres[rng.integers(len(centres), size=n)] + 0.35 * (
      rng.normal(size=(n, dim)))
  return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
          ).astype(np.float32)


def clustered_catalog(items: int, dim: int, seed: int = 0) -> np.ndarray:
  """[items, dim] clustered unit vectors (the ANN curve's catalog)."""
  rng = np.random.default_rng(seed)
  return clustered(items, dim, rng, rng.normal(size=(items // 20 + 1, dim)))


def catalogs(items: int, dim: int, queries: int, seed: int
             ) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
  """{name: (items [n, dim], queries [q, dim])}, unit vectors."""
  rng = np.random.default_rng(seed)
  centres = rng.normal(size=(items // 20 + 1, dim))
  random = rng.normal(size=(items + queries, dim))
  random /= np.linalg.norm(random, axis=1, keepdims=True)
  random = random.astype(np.float32)
  return {"clustered": (clustered(items, dim, rng, centres),
                        clustered(queries, dim, rng, centres)),
          "random": (random[:items], random[items:])}


def exact_top_k(database: np.ndarray, queries: np.ndarray) -> np.ndarray:
  out = []
  db = tf.constant(database)
  for start in range(0, len(queries), 256):
    scores = tf.matmul(tf.constant(queries[start:start + 256]), db,
                       transpose_b=True)
    out.append(tf.math.top_k(scores, K).indices.numpy())
  return np.concatenate(out)


def brute_force_qps(database: np.ndarray, queries: np.ndarray,
                    count: int = 200) -> float:
  db = tf.constant(database)

  @tf.function
  def one(query):
    return tf.math.top_k(tf.linalg.matvec(db, query), K).indices

  one(tf.constant(queries[0]))
  started = time.perf_counter()
  for query in queries[:count]:
    one(tf.constant(query))
  return count / (time.perf_counter() - started)


def recall(found: np.ndarray, exact: np.ndarray) -> float:
  return float(np.mean([len(set(f) & set(e)) / K
                        for f, e in zip(found, exact)]))


def sweep(database: np.ndarray, queries: np.ndarray, exact: np.ndarray,
          leaves: int, searches: List[int]) -> List[Dict[str, float]]:
  """Builds the export's ScaNN index once; one row per (leaves searched,
  reorder) setting."""
  started = time.time()
  searcher = scann_ops.builder(database, K, "dot_product").tree(
      num_leaves=leaves, num_leaves_to_search=searches[0],
      training_iterations=12).score_ah(dimensions_per_block=2).reorder(
          max(REORDER)).build()
  print(f"  built ScaNN over {len(database)} items ({leaves} leaves) in "
        f"{time.time() - started:.0f} s", flush=True)
  rows = []
  for search in searches:
    if search > leaves:
      continue
    for reorder in REORDER:
      def one(query, search=search, reorder=reorder):
        return searcher.search(query, final_num_neighbors=K,
                               pre_reorder_num_neighbors=reorder,
                               leaves_to_search=search).index.numpy()
      one(tf.constant(queries[0]))
      started = time.perf_counter()
      found = [one(tf.constant(q)) for q in queries]
      seconds = time.perf_counter() - started
      rows.append({"leaves_to_search": search, "reorder": reorder,
                   "recall": recall(found, exact),
                   "qps": len(queries) / seconds})
      print(f"    leaves {search:>4} reorder {reorder:>4}: recall@10 "
            f"{rows[-1]['recall']:.4f}  {rows[-1]['qps']:8.0f} QPS",
            flush=True)
  return rows


def plot(curves: Dict[str, List[Dict[str, float]]],
         brute: Dict[str, float], path: str, items: int,
         default: Tuple[int, int]) -> None:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, axes = plt.subplots(figsize=(7.5, 5))
  for (name, rows), colour in zip(curves.items(), ("tab:blue", "tab:red")):
    for reorder, marker in zip(REORDER, "os^D"):
      points = sorted((r["recall"], r["qps"]) for r in rows
                      if r["reorder"] == reorder)
      axes.plot([p[0] for p in points], [p[1] for p in points],
                marker=marker, color=colour, alpha=0.8,
                label=f"ScaNN {name}, reorder {reorder}")
    axes.axhline(brute[name], color=colour, linestyle="--", linewidth=1,
                 label=f"brute force {name}")
    chosen = [r for r in rows
              if (r["leaves_to_search"], r["reorder"]) == default]
    axes.plot([r["recall"] for r in chosen], [r["qps"] for r in chosen],
              marker="*", markersize=16, color=colour, linestyle="none",
              markeredgecolor="black",
              label=f"export default, {name} ({default[0]} leaves, "
              f"reorder {default[1]})")
  axes.axvline(0.95, color="gray", linestyle=":", linewidth=1)
  axes.set_yscale("log")
  axes.set_xlabel("recall@10 against exact search")
  axes.set_ylabel("queries per second (one query at a time)")
  axes.set_title(f"ScaNN on {items:,} items: recall vs speed "
                 "(up and right is better)")
  axes.grid(True, alpha=0.3, which="both")
  axes.legend(fontsize=7, ncol=2)
  figure.tight_layout()
  tf.io.gfile.makedirs(os.path.dirname(path) or ".")
  figure.savefig(path, dpi=110)
  plt.close(figure)


def exported_recall(database: np.ndarray, queries: np.ndarray,
                    exact: np.ndarray, folder: str) -> float:
  """recall@10 of the serving model the default ExportConfig exports, with
  the queries as extra catalog rows (their own ids) so they can trigger."""
  n = len(database)
  ids = np.array([str(i) for i in range(n + len(queries))], dtype=object)
  vectors = np.concatenate([database, queries])
  # Query rows get candidate vectors far from everything (-q), so they
  # never show up among their own or anyone's neighbours.
  candidates = np.concatenate([database, -queries])
  export.export_retrieval_model(export.PrecomputedTower(vectors), ids,
                                candidates, folder,
                                config_lib.ExportConfig(top_k=K))
  serve = tf.saved_model.load(folder).signatures["serving_default"]
  found = []
  for i in range(len(queries)):
    out = serve(trigger_id=tf.constant([ids[n + i]]))["candidate_ids"]
    found.append([int(c) for c in out.numpy()[0]])
  return recall(found, exact)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--items", type=int, default=1_000_000)
  parser.add_argument("--dim", type=int, default=128)
  parser.add_argument("--queries", type=int, default=1000)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--png", default="docs/ann-curve.png")
  parser.add_argument("--skip_export_check", action="store_true")
  args = parser.parse_args()
  defaults = config_lib.ExportConfig()
  leaves, default_search = export.scann_leaves(args.items, defaults, K)
  default = (default_search, defaults.num_reordering_candidates)
  searches = sorted(set(LEAVES_TO_SEARCH) | {default_search})
  curves, brute, exacts = {}, {}, {}
  data = catalogs(args.items, args.dim, args.queries, args.seed)
  for name, (database, queries) in data.items():
    print(f"\n{name}: {args.items} items, dim {args.dim}, "
          f"{args.queries} queries", flush=True)
    exacts[name] = exact_top_k(database, queries)
    brute[name] = brute_force_qps(database, queries)
    print(f"  brute force: {brute[name]:.0f} QPS (recall 1)", flush=True)
    curves[name] = sweep(database, queries, exacts[name], leaves, searches)
  print("\n| catalog | leaves searched (of %d) | reorder | recall@10 | QPS | "
        "x brute force |" % leaves)
  print("|---|---|---|---|---|---|")
  for name, rows in curves.items():
    for r in rows:
      print(f"| {name} | {r['leaves_to_search']} | {r['reorder']} | "
            f"{r['recall']:.4f} | {r['qps']:.0f} | "
            f"{r['qps'] / brute[name]:.1f} |")
  for name, rows in curves.items():
    good = [r for r in rows if r["recall"] >= 0.95]
    best = max(good, key=lambda r: r["qps"]) if good else None
    print(f"{name}: brute force {brute[name]:.0f} QPS; " + (
        f"fastest setting with recall@10 >= 0.95: leaves "
        f"{best['leaves_to_search']}, reorder {best['reorder']}: recall "
        f"{best['recall']:.4f} at {best['qps']:.0f} QPS "
        f"({best['qps'] / brute[name]:.1f}x brute force)" if best else
        "no setting reaches recall@10 0.95"))
  for name, rows in curves.items():
    for r in rows:
      if (r["leaves_to_search"], r["reorder"]) == default:
        print(f"{name}: export default (leaves {default[0]} of {leaves}, "
              f"reorder {default[1]}): recall {r['recall']:.4f} at "
              f"{r['qps']:.0f} QPS ({r['qps'] / brute[name]:.1f}x brute "
              "force)")
  plot(curves, brute, args.png, args.items, default)
  print(f"plot: {args.png}")
  if not args.skip_export_check:
    import tempfile  # pylint: disable=g-import-not-at-top
    database, queries = data["clustered"]
    with tempfile.TemporaryDirectory() as folder:
      value = exported_recall(database, queries[:200], exacts["clustered"][
          :200], os.path.join(folder, "1"))
    print(f"exported model with the default export config "
          f"(num_leaves_to_search={defaults.num_leaves_to_search or 'auto'}"
          f", reorder={defaults.num_reordering_candidates}), clustered: "
          f"recall@10 {value:.4f} on 200 triggers")
  return 0


if __name__ == "__main__":
  sys.exit(benchmarks.run_main(main))
