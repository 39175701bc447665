# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Ablation: the paper's variants on the pipeline's data, several seeds.

  python -m trainer.ablation [--config FILE] [--set a.b=v ...] [--seeds 3]

Reads the newest CoEngagementPairs output of the configured pipeline (run
`make demo` first), trains each variant with `trainer.task.train`, retrieves
the exact top-K for every eval trigger from the trained towers, and computes
the evaluator's metrics. Writes `ablation.md`, `ablation.csv` and
`frontier.png` (engagement recall vs topic match) under
`<output_dir>/ablation/`, and prints the table.

Variants (semantic:engagement weight written as the paper does, 1:R means
semantic_weight=1, engagement_weight=R):
  engagement only; +semantic 1:1, 1:10, 1:100, 1:500, 1:1000; engagement
  only + OPC; +semantic 1:10 + OPC.
"""
import argparse
import csv
import dataclasses
import logging
import os
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

import pipeline  # noqa: F401  (selects Keras 2 before TF loads)

from components import evaluator
from pipeline import config as config_lib
from pipeline import local_runner
from trainer import data
from trainer import task

SEMANTIC_RATIOS = (1, 10, 100, 500, 1000)
# (column title, metrics section, metric name)
COLUMNS = (("recall@10", "all", "recall@10"),
           ("recall@100", "all", "recall@100"),
           ("topic@10", "all", "topic_match@10"),
           ("popular@10", "all", "popular_share@10"),
           ("coverage@10", "all", "coverage@10"),
           ("tail recall@100", "tail_triggers", "recall@100"),
           ("tail topic@10", "tail_triggers", "topic_match@10"))


def variants(base: config_lib.TrainerConfig
             ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """The paper's ablation grid as (name, TrainerConfig)."""
  plain = dataclasses.replace(base, engagement_weight=1.0,
                              semantic_weight=0.0, opc=False)
  grid = [("engagement only", plain)]
  for ratio in SEMANTIC_RATIOS:
    grid.append((f"+semantic 1:{ratio}", dataclasses.replace(
        plain, semantic_weight=1.0, engagement_weight=float(ratio))))
  grid.append(("engagement + OPC", dataclasses.replace(plain, opc=True)))
  grid.append(("+semantic 1:10 + OPC", dataclasses.replace(
      plain, semantic_weight=1.0, engagement_weight=10.0, opc=True)))
  return grid


def exact_top_k(trigger_vectors: np.ndarray, candidate_vectors: np.ndarray,
                triggers: np.ndarray, k: int) -> np.ndarray:
  """Exact top-k catalog indices per trigger by dot product, self excluded."""
  scores = trigger_vectors[triggers] @ candidate_vectors.T
  scores[np.arange(len(triggers)), triggers] = -np.inf
  k = min(k, candidate_vectors.shape[0] - 1)
  top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
  order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
  return np.take_along_axis(top, order, axis=1)


def evaluate_model(model, catalog: data.Catalog, eval_pairs: data.Pairs,
                   eval_config: config_lib.EvalConfig) -> Dict:
  """The evaluator's metrics for a trained model (exact retrieval)."""
  pair_trigger, pair_candidate = evaluator.distinct_pairs(
      eval_pairs.trigger, eval_pairs.candidate)
  triggers = np.unique(pair_trigger)
  vectors = model.item_embeddings()
  top = exact_top_k(vectors["trigger"], vectors["candidate"], triggers,
                    max(eval_config.ks))
  return evaluator.retrieval_metrics(
      triggers, top, pair_trigger, pair_candidate, catalog.topics,
      catalog.train_engagements, eval_config.ks,
      eval_config.popular_fraction, eval_config.tail_fraction)


def summarize(runs: Dict[str, List[Dict]]) -> List[Dict[str, str]]:
  """Mean (and std over seeds) of each column, per variant."""
  rows = []
  for name, results in runs.items():
    row = {"variant": name, "seeds": str(len(results))}
    for title, section, metric in COLUMNS:
      values = np.array([r[section][metric] for r in results], float)
      row[title] = f"{np.nanmean(values):.4f}"
      row[title + " std"] = f"{np.nanstd(values):.4f}"
    rows.append(row)
  return rows


def write_outputs(rows: List[Dict[str, str]], folder: str) -> Dict[str, str]:
  """ablation.csv, ablation.md and frontier.png under `folder`."""
  os.makedirs(folder, exist_ok=True)
  paths = {k: os.path.join(folder, f) for k, f in (
      ("csv", "ablation.csv"), ("md", "ablation.md"),
      ("png", "frontier.png"))}
  with open(paths["csv"], "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
  titles = ["variant", "seeds"] + [c[0] for c in COLUMNS]
  lines = ["| " + " | ".join(titles) + " |",
           "|" + "---|" * len(titles)]
  for row in rows:
    cells = [row["variant"], row["seeds"]] + [
        f"{row[t]} ± {row[t + ' std']}" for t, _, _ in COLUMNS]
    lines.append("| " + " | ".join(cells) + " |")
  with open(paths["md"], "w") as f:
    f.write("\n".join(lines) + "\n")
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, axes = plt.subplots(figsize=(7, 5))
  for row in rows:
    x, y = float(row["recall@100"]), float(row["topic@10"])
    axes.errorbar(x, y, xerr=float(row["recall@100 std"]),
                  yerr=float(row["topic@10 std"]), fmt="o")
    axes.annotate(row["variant"], (x, y), textcoords="offset points",
                  xytext=(4, 4), fontsize=8)
  axes.set_xlabel("engagement: recall@100 of held-out co-engagements")
  axes.set_ylabel("semantic relevance: topic match rate@10")
  axes.set_title("Engagement vs topic relevance (MovieLens-100K)")
  axes.grid(True, alpha=0.3)
  figure.tight_layout()
  figure.savefig(paths["png"], dpi=120)
  plt.close(figure)
  return paths


def latest_pairs_uri(config: config_lib.PipelineConfig) -> str:
  uri = local_runner.latest_output(config, "CoEngagementPairs", "pairs",
                                   "Split-catalog")
  if not uri:
    raise FileNotFoundError(
        "no CoEngagementPairs output under "
        f"{config.output_dir}: run the pipeline first (`make demo`)")
  return uri


def latest_item_embeddings(config: config_lib.PipelineConfig
                           ) -> Dict[str, np.ndarray]:
  """The newest Trainer run's item vectors (item_ids, trigger, candidate)."""
  uri = local_runner.latest_output(config, "Trainer", "model_run",
                                   task.EMBEDDINGS_FILE)
  if not uri:
    raise FileNotFoundError(
        f"no trained model under {config.output_dir}: run the pipeline "
        "first (`make demo`)")
  with np.load(os.path.join(uri, task.EMBEDDINGS_FILE),
               allow_pickle=False) as vectors:
    return {k: vectors[k] for k in vectors.files}


def run_ablation(config: config_lib.PipelineConfig, seeds: int,
                 only: Optional[Sequence[str]] = None) -> List[Dict[str, str]]:
  """Trains and evaluates every variant for `seeds` seeds."""
  examples_uri = latest_pairs_uri(config)
  catalog = data.load_catalog(examples_uri)
  train_pairs = data.load_pairs(examples_uri, "train", catalog)
  eval_pairs = data.load_pairs(examples_uri, "eval", catalog)
  runs: Dict[str, List[Dict]] = {}
  grid = [(n, c) for n, c in variants(config.trainer)
          if not only or n in only]
  for number, (name, variant) in enumerate(grid, 1):
    for seed in range(seeds):
      started = time.time()
      model = task.train(catalog, train_pairs,
                         dataclasses.replace(variant,
                                             seed=variant.seed + seed))
      result = evaluate_model(model, catalog, eval_pairs, config.eval)
      runs.setdefault(name, []).append(result)
      print(f"[{number}/{len(grid)}] {name} seed {seed}: "
            f"recall@100={result['all']['recall@100']:.4f} "
            f"topic@10={result['all']['topic_match@10']:.4f} "
            f"({time.time() - started:.0f} s)", flush=True)
  return summarize(runs)


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m trainer.ablation", description=__doc__.split("\n")[0])
  parser.add_argument("--config", help="YAML file overriding the defaults")
  parser.add_argument("--set", dest="overrides", action="append", default=[],
                      metavar="SECTION.FIELD=VALUE")
  parser.add_argument("--seeds", type=int, default=3)
  parser.add_argument("--variant", action="append", default=[],
                      help="run only this variant (repeatable)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    config = config_lib.load_config(args.config, args.overrides)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  logging.basicConfig(level=logging.WARNING)
  rows = run_ablation(config, args.seeds, args.variant)
  paths = write_outputs(rows, os.path.join(config.output_dir, "ablation"))
  with open(paths["md"]) as f:
    print(f.read())
  print("written:", ", ".join(paths.values()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
