# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Catalog refresh time for new items, against training a version.

  python -m benchmarks.refresh [--workdir DIR] [--new-items 1000]
                               [--synthetic-items 1000000] [--skip-movielens]

MovieLens: MovieLens-100K is written in the generic CSV format (every
rating; titles, genres as topics) and the default pipeline runs on it
(`relvid run`, timed). Then the items file gains `--new-items` movies of
MovieLens-1M that MovieLens-100K lacks (real titles and genres, no ratings)
and the refresh pipeline runs (`relvid refresh`, timed): ingestion, BERT
text embedding of the new items (the others' vectors come from the
embedding store), the catalog join, then CatalogRefresh (the trained
towers over the catalog, index build, export); then once more with
`text.reuse_embeddings=false`, which embeds the whole catalog.

Synthetic: a catalog of `--synthetic-items` items with clustered unit text
vectors (the shape of benchmarks.pipeline_scale's catalogs), a model
trained for one epoch on within-cluster pairs and exported as version 1
(timed, as the Trainer's share of a full run), then
`refresh_serving_model` with `--new-items` more items (timed). Its text
vectors are given, so the text embedding of the new items is not in that
figure (the MovieLens refresh includes it).

Prints one table row per measurement.
"""
import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from typing import List, Optional, Tuple

import numpy as np

CLUSTERS = 200
TEXT_DIM = 64


def read_atomic(path: str) -> List[List[str]]:
  with open(path, newline="") as f:
    return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


def write_csv(path: str, header: List[str], rows: List[List[str]]) -> str:
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows(rows)
  return path


ITEM_HEADER = ["item_id", "title", "description", "tags", "topics",
               "media_path"]


def movielens_files(folder: str, new_items: int) -> Tuple[str, str, str]:
  """(interactions.csv, items.csv, items_plus_new.csv) of MovieLens-100K;
  the last adds `new_items` MovieLens-1M movies whose titles it lacks."""
  from components import assets  # pylint: disable=g-import-not-at-top
  ml100k, ml1m = assets.movielens_100k_dir(), assets.movielens_1m_dir()
  ratings = read_atomic(os.path.join(ml100k, "ml-100k.inter"))
  interactions = write_csv(os.path.join(folder, "interactions.csv"),
                            ["user_id", "item_id", "timestamp"],
                            [[r[0], r[1], r[3]] for r in ratings])
  movies = [[m[0], m[1], "", "", m[3].replace(" ", "|"), ""]
            for m in read_atomic(os.path.join(ml100k, "ml-100k.item"))]
  items = write_csv(os.path.join(folder, "items.csv"), ITEM_HEADER, movies)
  known = {m[1].lower() for m in movies}
  new = [[f"ml1m:{m[0]}", m[1], "", "", m[3].replace(" ", "|"), ""]
         for m in read_atomic(os.path.join(ml1m, "ml-1m.item"))
         if m[1].lower() not in known][:new_items]
  if len(new) < new_items:
    raise ValueError(f"MovieLens-1M has only {len(new)} movies that "
                     "MovieLens-100K lacks")
  plus = write_csv(os.path.join(folder, "items_plus_new.csv"), ITEM_HEADER,
                    movies + new)
  return interactions, items, plus


def bench_movielens(workdir: str, new_items: int) -> List[str]:
  from pipeline import local_runner  # pylint: disable=g-import-not-at-top
  from pipeline import results  # pylint: disable=g-import-not-at-top
  from relvid import config as config_lib  # pylint: disable=g-import-not-at-top
  interactions, items, plus = movielens_files(workdir, new_items)
  base = ["data.source=files", f"data.interactions_path={interactions}",
          f"output_dir={os.path.join(workdir, 'out')}"]
  config = config_lib.load_config(None, base + [f"data.items_path={items}"])
  print("MovieLens-100K: full pipeline run ...", flush=True)
  started = time.time()
  local_runner.run(config)
  run_seconds = time.time() - started
  versions = results.pushed_versions(config)
  if not versions:
    raise RuntimeError("the pipeline pushed no version (not blessed); "
                       "nothing to refresh")
  ingested = results.latest_reports(config)["items_ExampleGen"]["counts"]
  rows = [f"| MovieLens-100K, full pipeline run (`relvid run`) | "
          f"{_text_counts(config)} | {ingested['items_written']:,} | - | "
          f"{run_seconds:.0f} | - |"]
  for reuse in ("true", "false"):
    print(f"MovieLens-100K: refresh with {new_items} new items "
          f"(text.reuse_embeddings={reuse}) ...", flush=True)
    # No cache: both refreshes ingest, validate and pair the grown catalog
    # (the second would otherwise reuse the first's ingestion).
    config = config_lib.load_config(None, base + [
        f"data.items_path={plus}", f"text.reuse_embeddings={reuse}",
        "enable_cache=false"])
    started = time.time()
    local_runner.run(config, refresh=True)
    refresh_seconds = time.time() - started
    report = results.latest_refresh_report(config)
    rows.append(
        f"| MovieLens-100K + {report['added']['count']} MovieLens-1M "
        f"movies, `relvid refresh`, reuse_embeddings={reuse} | "
        f"{_text_counts(results.refresh_pipeline_config(config))} | "
        f"{report['items_indexed']} | {report['added']['count']} | "
        f"{refresh_seconds:.0f} | {report['embed_seconds']:.1f} / "
        f"{report['total_seconds']:.1f} |")
    # The next refresh starts from the trained version again.
    shutil.rmtree(os.path.join(config_lib.serving_model_dir(config),
                               str(report["version"])))
  return rows


def _text_counts(config) -> str:
  """The newest TextEmbedder run's `embedded / reused` text vectors and
  its seconds (from ML Metadata's execution times)."""
  from pipeline import results  # pylint: disable=g-import-not-at-top
  counts = results.latest_reports(config)["TextEmbedder"]["counts"]
  execution = results.executions(config, "TextEmbedder")[-1]
  seconds = (execution.last_update_time_since_epoch
             - execution.create_time_since_epoch) / 1000
  return (f"{counts.get('items_embedded', 0):,} / "
          f"{counts.get('items_reused', 0):,} | {seconds:.1f}")


def synthetic_catalog(num_items: int, rng: np.random.Generator,
                      prefix: str = "item"):
  """A Catalog of clustered unit text vectors, and each item's cluster."""
  from components import artifacts  # pylint: disable=g-import-not-at-top
  clusters = rng.integers(CLUSTERS, size=num_items)
  centres = rng.normal(size=(CLUSTERS, TEXT_DIM)).astype(np.float32)
  text = centres[clusters] + 0.5 * rng.normal(
      size=(num_items, TEXT_DIM)).astype(np.float32)
  text /= np.linalg.norm(text, axis=1, keepdims=True)
  catalog = artifacts.Catalog(
      item_ids=np.array([f"{prefix}-{i}" for i in range(num_items)],
                        dtype=object),
      text=text, has_text=np.ones(num_items, np.float32),
      topics=[[f"c{c}"] for c in clusters],
      train_engagements=np.ones(num_items, np.int64))
  return catalog, clusters


def bench_synthetic(workdir: str, num_items: int, new_items: int
                    ) -> List[str]:
  from components import artifacts  # pylint: disable=g-import-not-at-top
  from relvid import config as config_lib  # pylint: disable=g-import-not-at-top
  from trainer import export  # pylint: disable=g-import-not-at-top
  from trainer import refresh  # pylint: disable=g-import-not-at-top
  from trainer import task  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  catalog, clusters = synthetic_catalog(num_items, rng)
  pairs_count = 2 * num_items
  # Each trigger's candidate: a random item of its cluster.
  by_cluster = np.argsort(clusters, kind="stable")
  starts = np.searchsorted(clusters[by_cluster], np.arange(CLUSTERS))
  sizes = np.bincount(clusters, minlength=CLUSTERS)
  trigger = rng.integers(num_items, size=pairs_count)
  own = clusters[trigger]
  candidate = by_cluster[starts[own] + (rng.random(pairs_count)
                                        * sizes[own]).astype(np.int64)]
  pairs = artifacts.Pairs(trigger, candidate,
                          np.ones(pairs_count, np.float32),
                          np.bincount(trigger, minlength=num_items)[
                              trigger].astype(np.float32))
  config = config_lib.TrainerConfig(semantic_weight=0.0, epochs=1,
                                    batch_size=4096)
  export_config = config_lib.ExportConfig()
  serving = os.path.join(workdir, "synthetic", "relvid")
  print(f"synthetic {num_items:,} items: training, export ...", flush=True)
  started = time.time()
  model = task.train(catalog, pairs, config)
  trained = time.time()
  export.export_serving_version(model, catalog, os.path.join(serving, "1"),
                                export_config)
  exported = time.time()
  new, _ = synthetic_catalog(new_items, np.random.default_rng(1), "new")
  current = artifacts.Catalog(
      item_ids=np.concatenate([catalog.item_ids, new.item_ids]),
      text=np.vstack([catalog.text, new.text]),
      has_text=np.concatenate([catalog.has_text, new.has_text]),
      topics=catalog.topics + new.topics,
      train_engagements=np.concatenate([catalog.train_engagements,
                                        new.train_engagements * 0]))
  print(f"synthetic {num_items:,} items: refresh with {new_items} new "
        "items ...", flush=True)
  started_refresh = time.time()
  report = refresh.refresh_serving_model(current, serving, export_config)
  refresh_seconds = time.time() - started_refresh
  return [
      f"| synthetic, train 1 epoch on {pairs_count:,} pairs + export "
      f"({export_config.index}) | - (given) | - | {num_items:,} | - | "
      f"{exported - started:.0f} (train {trained - started:.0f}, export "
      f"{exported - trained:.0f}) | - |",
      f"| synthetic + {report['added']['count']:,} new, "
      f"`refresh_serving_model` | - (given) | - | "
      f"{report['items_indexed']:,} | {report['added']['count']:,} | "
      f"{refresh_seconds:.0f} | {report['embed_seconds']:.1f} / "
      f"{report['total_seconds']:.1f} |"]


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", default="",
                      help="where to write (default: a temporary folder, "
                      "removed afterwards)")
  parser.add_argument("--new-items", type=int, default=1000)
  parser.add_argument("--synthetic-items", type=int, default=1_000_000,
                      help="synthetic catalog size; 0 skips it")
  parser.add_argument("--skip-movielens", action="store_true")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  workdir = args.workdir or tempfile.mkdtemp(prefix="relvid-refresh-")
  os.makedirs(workdir, exist_ok=True)
  rows = []
  try:
    if not args.skip_movielens:
      rows += bench_movielens(workdir, args.new_items)
    if args.synthetic_items:
      rows += bench_synthetic(workdir, args.synthetic_items, args.new_items)
  finally:
    if not args.workdir:
      shutil.rmtree(workdir, ignore_errors=True)
  print("\n| what | text vectors embedded / reused | TextEmbedder s | "
        "items indexed | new items | seconds | CatalogRefresh: towers / "
        "total s |\n|---|---|---|---|---|---|---|")
  print("\n".join(rows))
  return 0


if __name__ == "__main__":
  sys.exit(main())
