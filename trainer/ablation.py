# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Ablation: the paper's variants on the pipeline's data, several seeds.

`run_ablation(examples_uri, ...)` reads a CoEngagementPairs artifact, trains
each variant with `trainer.task.train`, retrieves the exact top-K for every
eval trigger from the trained towers, and computes the evaluator's metrics;
`write_outputs` writes `ablation.md`, `ablation.csv` and `frontier.png`
(engagement recall vs topic match). `relvid ablate` (pipeline/cli.py) finds
the newest pairs of the configured pipeline and writes them under
`<output_dir>/ablation/<suite>/`.

Suite `paper` (semantic:engagement weight written as the paper does, 1:R
means semantic_weight=1, engagement_weight=R):
  engagement only; +semantic 1:1, 1:10, 1:100, 1:500, 1:1000; engagement
  only + OPC; +semantic 1:10 + OPC.
Suite `modality` (needs visual vectors: `--config configs/demo_media.yaml`
after `make demo-media`), each with the ID embedding, the config's task
weights otherwise:
  text only; text + visual; visual only.
"""
import csv
import dataclasses
import io
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from components import artifacts
from components import evaluator
from relvid import config as config_lib
from relvid import contract
from trainer import task

SEMANTIC_RATIOS = (1, 10, 100, 500, 1000)


def columns(ks: Sequence[int]) -> List[Tuple[str, str, str]]:
  """(column title, metrics section, metric name) of the table, at the
  smallest K (precision-like figures) and the largest K (recall)."""
  small, large = min(ks), max(ks)
  return [(f"recall@{small}", "all", f"recall@{small}"),
          (f"recall@{large}", "all", f"recall@{large}"),
          (f"topic@{small}", "all", f"topic_match@{small}"),
          (f"popular@{small}", "all", f"popular_share@{small}"),
          (f"coverage@{small}", "all", f"coverage@{small}"),
          (f"tail recall@{large}", "tail_triggers", f"recall@{large}"),
          (f"tail topic@{small}", "tail_triggers", f"topic_match@{small}")]


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


def modality_variants(base: config_lib.TrainerConfig
                      ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """Text-only vs text+visual vs visual-only towers (paper Table II)."""
  return [(name, dataclasses.replace(base, use_text=text, use_visual=visual))
          for name, text, visual in (("text only", True, False),
                                     ("text + visual", True, True),
                                     ("visual only", False, True))]


SUITES = {"paper": variants, "modality": modality_variants}


def exact_top_k(trigger_vectors: np.ndarray, candidate_vectors: np.ndarray,
                triggers: np.ndarray, k: int) -> np.ndarray:
  """Exact top-k catalog indices per trigger by dot product, self excluded."""
  scores = trigger_vectors[triggers] @ candidate_vectors.T
  scores[np.arange(len(triggers)), triggers] = -np.inf
  k = min(k, candidate_vectors.shape[0] - 1)
  top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
  order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
  return np.take_along_axis(top, order, axis=1)


def evaluate_model(model, catalog: artifacts.Catalog,
                   eval_pairs: artifacts.Pairs,
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


def summarize(runs: Dict[str, List[Dict]], ks: Sequence[int]
              ) -> List[Dict[str, str]]:
  """Mean (and std over seeds) of each column, per variant."""
  rows = []
  for name, results in runs.items():
    row = {"variant": name, "seeds": str(len(results))}
    for title, section, metric in columns(ks):
      values = np.array([r[section][metric] for r in results], float)
      row[title] = f"{np.nanmean(values):.4f}"
      row[title + " std"] = f"{np.nanstd(values):.4f}"
    rows.append(row)
  return rows


def markdown_table(rows: List[Dict[str, str]], ks: Sequence[int]) -> str:
  """The summary as a Markdown table: mean ± std per column."""
  table = columns(ks)
  titles = ["variant", "seeds"] + [c[0] for c in table]
  lines = ["| " + " | ".join(titles) + " |",
           "|" + "---|" * len(titles)]
  for row in rows:
    cells = [row["variant"], row["seeds"]] + [
        f"{row[t]} ± {row[t + ' std']}" for t, _, _ in table]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def write_outputs(rows: List[Dict[str, str]], folder: str, ks: Sequence[int],
                  dataset: str = "MovieLens-100K") -> Dict[str, str]:
  """ablation.csv, ablation.md and frontier.png under `folder` (local or a
  remote URI, through tf.io.gfile)."""
  tf.io.gfile.makedirs(folder)
  paths = {k: os.path.join(folder, f) for k, f in (
      ("csv", "ablation.csv"), ("md", "ablation.md"),
      ("png", "frontier.png"))}
  text = io.StringIO()
  writer = csv.DictWriter(text, fieldnames=list(rows[0]))
  writer.writeheader()
  writer.writerows(rows)
  with tf.io.gfile.GFile(paths["csv"], "w") as f:
    f.write(text.getvalue())
  with tf.io.gfile.GFile(paths["md"], "w") as f:
    f.write(markdown_table(rows, ks))
  table = columns(ks)
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  recall, topic = table[1][0], table[2][0]
  figure, axes = plt.subplots(figsize=(7, 5))
  for row in rows:
    x, y = float(row[recall]), float(row[topic])
    axes.errorbar(x, y, xerr=float(row[recall + " std"]),
                  yerr=float(row[topic + " std"]), fmt="o")
    axes.annotate(row["variant"], (x, y), textcoords="offset points",
                  xytext=(4, 4), fontsize=8)
  axes.set_xlabel(f"engagement: {recall} of held-out co-engagements")
  axes.set_ylabel(f"semantic relevance: topic match rate@{min(ks)}")
  axes.set_title(f"Engagement vs topic relevance ({dataset})")
  axes.grid(True, alpha=0.3)
  figure.tight_layout()
  image = io.BytesIO()
  figure.savefig(image, format="png", dpi=120)
  plt.close(figure)
  with tf.io.gfile.GFile(paths["png"], "wb") as f:
    f.write(image.getvalue())
  return paths


def run_ablation(examples_uri: str, config: config_lib.PipelineConfig,
                 seeds: int, only: Optional[Sequence[str]] = None,
                 suite: str = "paper") -> List[Dict[str, str]]:
  """Trains and evaluates every variant of `suite` for `seeds` seeds.

  Args:
    examples_uri: a CoEngagementPairs `pairs` artifact.
    config: the trainer section is the variants' base; the eval section
      sets the metrics.
    seeds: runs per variant (seed, seed + 1, ...).
    only: variant names to run (all when empty).
    suite: a key of SUITES.

  Returns:
    One summary row per variant (see `summarize`).
  """
  catalog = artifacts.load_catalog(examples_uri)
  train_pairs = artifacts.load_pairs(examples_uri, contract.TRAIN, catalog)
  eval_pairs = artifacts.load_pairs(examples_uri, contract.EVAL, catalog)
  runs: Dict[str, List[Dict]] = {}
  small, large = min(config.eval.ks), max(config.eval.ks)
  grid = [(n, c) for n, c in SUITES[suite](config.trainer)
          if not only or n in only]
  if not grid:
    raise ValueError(f"no variant of suite {suite!r} is named {list(only)}")
  from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  bar = tqdm(total=len(grid) * seeds, unit="model", desc=f"ablation {suite}",
             dynamic_ncols=True)
  for number, (name, variant) in enumerate(grid, 1):
    for seed in range(seeds):
      started = time.time()
      model = task.train(catalog, train_pairs,
                         dataclasses.replace(variant,
                                             seed=variant.seed + seed))
      result = evaluate_model(model, catalog, eval_pairs, config.eval)
      runs.setdefault(name, []).append(result)
      bar.write(f"[{number}/{len(grid)}] {name} seed {seed}: "
                f"recall@{large}={result['all'][f'recall@{large}']:.4f} "
                f"topic@{small}={result['all'][f'topic_match@{small}']:.4f} "
                f"({time.time() - started:.0f} s)")
      bar.update(1)
  bar.close()
  return summarize(runs, config.eval.ks)
