# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Ablation: the paper's variants and the baselines on the pipeline's data,
several seeds.

`run_ablation(examples_uri, ...)` reads a CoEngagementPairs artifact, fits
each variant of a suite (a `TrainerConfig` trained by `trainer.task.train`,
or a fit function such as a baseline), retrieves the exact top-K for every
eval trigger, and computes the evaluator's metrics; `write_outputs` writes
`ablation.md`, `ablation.csv` and `frontier.png` (engagement recall vs topic
match), and `by_trigger_engagement.md`: recall, topic match and popular
share per group of eval triggers by train-period engagements, rarest
first (`ENGAGEMENT_GROUPS`). `relvid ablate` (pipeline/cli.py) finds the
newest pairs of the configured pipeline and writes them under
`<output_dir>/ablation/<suite>/` (`output_folder`).

Every suite starts with the baselines (`trainer.baselines`): popularity,
co-visitation counts, text k-NN (content only), and the TFRS recipe (the
retrieval tutorial's ID two-tower with logQ, verbatim).

Suites (semantic:engagement weights written as the paper does: 1:R means
engagement_weight as configured, its loss scale, and semantic_weight =
engagement_weight / R):
  paper      engagement only; +semantic 1:1, 1:10, 1:100, 1:500, 1:1000;
             engagement only + OPC; +semantic 1:10 + OPC.
  model      the default against what it replaced and the options tried
             (dense fusion with cosine / 0.05, mixed negatives, early
             stopping, ID only).
  opc        the paper's OPC grid alpha in {1, 10, 100} x beta in
             {0.5, 0.75, 1.0} on the trigger side, candidate-side and
             two-sided correction (read the tail-trigger columns), and
             the raw (not self-normalised) weights at a=1 b=0.5.
  logq       the configured model at logQ strengths 1, 0.9, 0.8, 0.7 and
             without the correction.
  trigger    the configured model with the trigger tower's content added
             to every trigger (`trigger_content: residual`) and used by
             cold triggers only (`fallback`).
  weighting  fixed ratios vs uncertainty weighting; binary vs soft
             semantic targets.
  labels     the semantic task with mined pseudo-labels at three cosine
             thresholds, then a CONTROLLED study (never a default): label
             sets of the same size as the mined one at topic precision 0.5,
             0.7, 0.9 and 1.0, built by mixing mined pairs with pairs drawn
             by their topics (the evaluation labels), at 1:1 and 1:10.
  cold       cold items (no train engagement) with their untrained ID
             embedding vs by content alone, ID-embedding dropout 0.1, 0.25,
             0.5, dropout 0.1 with a cold boost of 1 and 2, and boosts
             calibrated to a cold share of 0.02, 0.05, 0.1 of the top 100
             (read the cold-candidate and cold-trigger columns).
  ladder     from the TFRS recipe to the configured model, one difference
             at a time: the product's code at the recipe's settings, then
             each group of settings (LADDER) switched to the configured
             value, in order; the last rung is the configured model.
  modality   needs visual vectors (`--config configs/demo_media.yaml`
             after `make demo-media`): text only; text + visual; visual
             only, each with the ID embedding.
"""
import csv
import dataclasses
import inspect
import io
import logging
import os
import re
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from components import artifacts
from relvid import config as config_lib
from relvid import contract
from trainer import baselines
from trainer import data
from trainer import task
from trainer import validation

SEMANTIC_RATIOS = (1, 10, 100, 500, 1000)
OPC_ALPHAS = (1.0, 10.0, 100.0)
OPC_BETAS = (0.5, 0.75, 1.0)
LABEL_THRESHOLDS = (0.6, 0.7, 0.8)
LABEL_PRECISIONS = (0.5, 0.7, 0.9, 1.0)

# (catalog, train pairs, seed) -> anything with item_embeddings().
Fit = Callable[[artifacts.Catalog, artifacts.Pairs, int], Any]
Variant = Union[config_lib.TrainerConfig, Fit]


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
          (f"tail topic@{small}", "tail_triggers", f"topic_match@{small}"),
          (f"cold-candidate recall@{large}", "cold_candidates",
           f"recall@{large}"),
          (f"cold-trigger topic@{small}", "cold_triggers",
           f"topic_match@{small}")]


# The per-task loss magnitudes (means over the last epoch), so a ratio such
# as 1:500 can be read as what it does to the gradient mix.
LOSS_COLUMNS = (("L_eng", "engagement_loss"), ("L_sem", "semantic_loss"))

# The second table (by_trigger_engagement.md): the eval triggers in this
# many groups by train-period engagements, rarest first, so that a popular
# share or a recall can be traced to the triggers it comes from.
ENGAGEMENT_GROUPS = 5


def group_columns(ks: Sequence[int]) -> List[Tuple[str, str]]:
  """(column title, metric name) of the by-trigger-engagement table."""
  small, large = min(ks), max(ks)
  return [(f"recall@{large}", f"recall@{large}"),
          (f"topic@{small}", f"topic_match@{small}"),
          (f"popular@{small}", f"popular_share@{small}")]


def _group_key(group: int, title: str) -> str:
  return f"group {group} {title}"


def variants(base: config_lib.TrainerConfig
             ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """The paper's ablation grid as (name, TrainerConfig)."""
  plain = dataclasses.replace(_engagement_only(base), opc=False)
  grid = [("engagement only", plain)]
  for ratio in SEMANTIC_RATIOS:
    grid.append((f"+semantic 1:{ratio}", _semantic(plain, ratio)))
  grid.append(("engagement + OPC", dataclasses.replace(plain, opc=True)))
  grid.append(("+semantic 1:10 + OPC", dataclasses.replace(
      _semantic(plain, 10), opc=True)))
  return grid


def _engagement_only(config: config_lib.TrainerConfig
                     ) -> config_lib.TrainerConfig:
  return dataclasses.replace(config, semantic_weight=0.0)


def _semantic(config: config_lib.TrainerConfig, ratio: float,
              **changes: Any) -> config_lib.TrainerConfig:
  """semantic:engagement = 1:ratio at the configured engagement weight:
  that weight is the loss scale the ID tables' Adagrad is tuned to
  (`TrainerConfig.engagement_weight`), so a ratio moves the semantic
  weight only."""
  if config.engagement_weight <= 0:
    raise ValueError(
        "a semantic:engagement ratio needs trainer.engagement_weight > 0 "
        f"(it is {config.engagement_weight:g}: the semantic task alone)")
  return dataclasses.replace(
      config, semantic_weight=config.engagement_weight / ratio, **changes)


def model_variants(base: config_lib.TrainerConfig
                   ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """The configured model against the one it replaced and the options
  tried on the way."""
  return [
      ("relvid (configured)", base),
      ("before: dense fusion, cosine / 0.05, batch 512, 5 epochs, lr 0.005",
       dataclasses.replace(base, fusion="dense", normalize=True,
                           temperature=0.05, output_dim=64, batch_size=512,
                           epochs=5, id_dim=32, learning_rate=0.005,
                           validation="off", rare_trigger_logq=0.0)),
      ("residual, cosine / 0.05", dataclasses.replace(
          base, normalize=True, temperature=0.05)),
      ("+ 512 uniform negatives", dataclasses.replace(
          base, uniform_negatives=512)),
      ("+ early stopping on 5% of train pairs held out at random",
       dataclasses.replace(base, validation="random",
                           validation_fraction=0.05, epochs=10)),
      ("ID only (relvid towers)", dataclasses.replace(base, use_text=False,
                                                      use_visual=False)),
  ]


def opc_variants(base: config_lib.TrainerConfig
                 ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """The paper's OPC grid (trigger side) and the candidate-side options."""
  plain = dataclasses.replace(base, opc=False)
  grid = [("no OPC", plain)]
  for alpha in OPC_ALPHAS:
    for beta in OPC_BETAS:
      grid.append((f"OPC trigger a={alpha:g} b={beta:g}", dataclasses.replace(
          plain, opc=True, opc_alpha=alpha, opc_beta=beta)))
  for side in ("candidate", "both"):
    grid.append((f"OPC {side} a=1 b=0.5", dataclasses.replace(
        plain, opc=True, opc_alpha=1.0, opc_beta=0.5, opc_side=side)))
  grid.append(("raw OPC weights, trigger a=1 b=0.5", dataclasses.replace(
      plain, opc=True, opc_alpha=1.0, opc_beta=0.5, opc_side="trigger",
      opc_normalize=False)))
  return grid


LOGQ_STRENGTHS = (1.0, 0.9, 0.8, 0.7)


def logq_variants(base: config_lib.TrainerConfig
                  ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """The logQ correction's strength: the configured model with
  `logq_strength` at each of LOGQ_STRENGTHS, and without the correction."""
  grid = [(f"logQ strength {strength:g}", dataclasses.replace(
      base, logq_correction=True, logq_strength=strength))
          for strength in LOGQ_STRENGTHS]
  grid.append(("no logQ", dataclasses.replace(base, logq_correction=False)))
  return grid


def rare_trigger_variants(base: config_lib.TrainerConfig
                          ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """The rare-trigger popularity correction: off, then the configured
  share g and engagement scale c, each halved and doubled alone (with g
  off in the configuration, around TrainerConfig's default g)."""
  g = base.rare_trigger_logq or config_lib.TrainerConfig.rare_trigger_logq
  c = base.rare_trigger_engagements
  grid = [("rare-trigger correction off",
           dataclasses.replace(base, rare_trigger_logq=0.0))]
  for share, scale in ((g, c), (g / 2, c), (g * 2, c), (g, c / 2),
                       (g, c * 2)):
    grid.append((f"rare-trigger correction g={share:g} c={scale:g}",
                 dataclasses.replace(base, rare_trigger_logq=share,
                                     rare_trigger_engagements=scale)))
  return grid


def trigger_content_variants(base: config_lib.TrainerConfig
                             ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """The configured model with the trigger tower's content added to every
  trigger (`residual`) and used by cold triggers only (`fallback`)."""
  return [(f"trigger content: {mode}",
           dataclasses.replace(base, trigger_content=mode))
          for mode in ("residual", "fallback")]


def weighting_variants(base: config_lib.TrainerConfig
                       ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """Fixed task ratios vs uncertainty weighting; binary vs soft targets."""
  plain = _engagement_only(base)
  grid = [("engagement only", plain)]
  for ratio in (1, 10, 500):
    grid.append((f"fixed 1:{ratio}", _semantic(plain, ratio)))
  grid.append(("uncertainty weighting (from 1:1)", _semantic(
      plain, 1, task_weighting="uncertainty")))
  for ratio in (1, 10):
    grid.append((f"soft targets 1:{ratio}", _semantic(
        plain, ratio, semantic_targets="soft")))
  return grid


def modality_variants(base: config_lib.TrainerConfig
                      ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """Text-only vs text+visual vs visual-only towers (paper Table II)."""
  return [(name, dataclasses.replace(base, use_text=text, use_visual=visual))
          for name, text, visual in (("text only", True, False),
                                     ("text + visual", True, True),
                                     ("visual only", False, True))]


COLD_ID_DROPOUTS = (0.1, 0.25, 0.5)
COLD_BOOSTS = (1.0, 2.0)
COLD_SHARES = (0.02, 0.05, 0.1)


def cold_start_variants(base: config_lib.TrainerConfig
                        ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """Cold items keeping their untrained ID embedding vs embedded by content
  alone, ID-embedding dropout rates, fixed cold boosts and boosts
  calibrated to a cold share of the top 100 (read the cold-slice
  columns)."""
  def cold(**fields):
    unboosted = dict(cold_items="content", id_dropout=0.0, cold_share=0.0,
                     cold_boost=0.0)
    return dataclasses.replace(base, **dict(unboosted, **fields))

  grid = [("cold items keep their ID embedding", cold(cold_items="id")),
          ("cold items by content alone", cold())]
  for rate in COLD_ID_DROPOUTS:
    grid.append((f"content alone + ID dropout {rate:g}",
                 cold(id_dropout=rate)))
  for boost in COLD_BOOSTS:
    grid.append((f"ID dropout 0.1 + cold boost {boost:g}",
                 cold(id_dropout=0.1, cold_boost=boost)))
  for share in COLD_SHARES:
    grid.append((f"content alone + cold share {share:g}",
                 cold(cold_share=share)))
  grid.append(("ID dropout 0.1 + cold share 0.05",
               cold(id_dropout=0.1, cold_share=0.05)))
  return grid


# The product's code at the TFRS recipe's settings: ID-only 64-d towers
# (residual fusion without content is the plain embedding), Adagrad 0.1,
# batch 1024, 3 epochs, logQ, no accidental-hit removal, no semantic task,
# no OPC, no cold handling. The product's engagement loss is a per-example
# mean; weighted by the batch size it is TFRS's sum.
RECIPE_SETTINGS = dict(
    id_dim=64, output_dim=64, fusion="residual", use_text=False,
    use_visual=False, normalize=False, temperature=1.0, uniform_negatives=0,
    epochs=3, validation="off", batch_size=1024, optimizer="adagrad",
    learning_rate=0.1, engagement_weight=1024.0, semantic_weight=0.0,
    logq_correction=True, logq_strength=1.0, remove_accidental_hits=False,
    opc=False, cold_items="id", trigger_content="residual", id_dropout=0.0,
    cold_share=0.0, cold_boost=0.0, rare_trigger_logq=0.0)

# The ladder's rungs: (what changes, the TrainerConfig fields it sets to the
# configured values), applied in this order on top of RECIPE_SETTINGS.
LADDER = (
    ("accidental-hit removal", ("remove_accidental_hits",)),
    ("optimizer, learning rate and loss scale",
     ("optimizer", "learning_rate", "embedding_learning_rate",
      "engagement_weight")),
    ("batch size", ("batch_size",)),
    ("training length", ("epochs", "validation", "validation_fraction",
                         "early_stopping_patience", "selection_metric",
                         "selection_tie_se", "selection_tie_test",
                         "selection_tie_break", "refit")),
    ("embedding width", ("output_dim", "id_dim", "hidden_dim")),
    ("scoring (cosine, temperature, sampled negatives)",
     ("normalize", "temperature", "uniform_negatives")),
    ("text path (fusion of text and ID)", ("use_text", "use_visual",
                                           "fusion", "content_dropout")),
    ("semantic task", ("semantic_weight", "semantic_threshold",
                       "semantic_neighbors", "semantic_index",
                       "semantic_targets", "semantic_soft_temperature",
                       "task_weighting")),
    ("OPC", ("opc", "opc_alpha", "opc_beta", "opc_side", "opc_normalize")),
    # trigger_content here: its fallback needs cold_items=content.
    ("cold start (content-only cold items, trigger content, cold boost)",
     ("cold_items", "trigger_content", "id_dropout", "cold_share",
      "cold_share_k", "cold_boost")),
    ("logQ", ("logq_correction", "logq_strength")),
    ("rare triggers' popularity correction", ("rare_trigger_logq",
                                              "rare_trigger_engagements")),
)


def _describe(config: config_lib.TrainerConfig, fields: Sequence[str]) -> str:
  return ", ".join(f"{f}={getattr(config, f)}" for f in fields)


def ladder_variants(base: config_lib.TrainerConfig
                    ) -> List[Tuple[str, config_lib.TrainerConfig]]:
  """The ladder from the recipe to `base`: the product's code at the
  recipe's settings, then one LADDER group at a time set to `base`'s values
  (a group that changes nothing is skipped). The last rung is `base`.

  Raises:
    AssertionError: a field of `base` is in no group (the last rung would
      not be `base`).
  """
  current = dataclasses.replace(base, **RECIPE_SETTINGS)
  rungs = [("0. product code at the recipe's settings", current)]
  for name, fields in LADDER:
    changed = dataclasses.replace(
        current, **{f: getattr(base, f) for f in fields})
    if changed != current:
      rungs.append((f"{len(rungs)}. + {name}: {_describe(changed, fields)}",
                    changed))
      current = changed
  assert current == base, "a TrainerConfig field is missing from LADDER"
  return rungs


def shares_topic(topics: Sequence[Sequence[str]], first: np.ndarray,
                 second: np.ndarray) -> np.ndarray:
  """Per pair, whether the two items share a topic."""
  sets = [set(t) for t in topics]
  return np.array([bool(sets[a] & sets[b]) for a, b in zip(first, second)],
                  bool)


def label_quality(catalog: artifacts.Catalog, anchors: np.ndarray,
                  positives: np.ndarray) -> Dict[str, float]:
  """How good a pseudo-label set is: its size, the share of its pairs that
  share a topic (precision) and the share of the catalog it touches."""
  touched = np.union1d(anchors, positives)
  return {"pairs": int(len(anchors)),
          "topic_precision": (float(shares_topic(catalog.topics, anchors,
                                                 positives).mean())
                              if len(anchors) else float("nan")),
          "item_coverage": len(touched) / len(catalog)}


def _random_pairs(rng: np.random.Generator, topics: Sequence[Sequence[str]],
                  count: int, sharing: bool,
                  attempts: int = 100) -> Tuple[np.ndarray, np.ndarray]:
  """`count` random item pairs (i != j, both with topics) that do / do not
  share a topic, by rejection sampling.

  Raises:
    ValueError: the catalog's topics make such pairs absent or too rare.
  """
  with_topics = np.flatnonzero([len(t) > 0 for t in topics])
  first, second = [], []
  while sum(len(f) for f in first) < count:
    attempts -= 1
    if attempts < 0 or len(with_topics) < 2:
      raise ValueError(
          "the labels suite needs item pairs that "
          f"{'share' if sharing else 'do not share'} a topic, and the "
          "catalog's topics give (almost) none")
    a = rng.choice(with_topics, 4 * count + 64)
    b = rng.choice(with_topics, 4 * count + 64)
    keep = (a != b) & (shares_topic(topics, a, b) == sharing)
    first.append(a[keep])
    second.append(b[keep])
  return (np.concatenate(first)[:count].astype(np.int64),
          np.concatenate(second)[:count].astype(np.int64))


def labels_at_precision(catalog: artifacts.Catalog, anchors: np.ndarray,
                        positives: np.ndarray, precision: float,
                        seed: int) -> Tuple[np.ndarray, np.ndarray]:
  """A CONTROLLED label set (a study, never a default): as many pairs as the
  mined set, round(precision * n) of them sharing a topic. Mined pairs are
  used first (sharing ones for the sharing part, the others for the rest);
  random pairs with / without a shared topic make up any shortfall."""
  rng = np.random.default_rng(seed)
  n = len(anchors)
  sharing = shares_topic(catalog.topics, anchors, positives)
  parts = []
  for want, mask, share in ((int(round(precision * n)), sharing, True),
                            (n - int(round(precision * n)), ~sharing, False)):
    rows = rng.permutation(np.flatnonzero(mask))[:want]
    parts.append((anchors[rows], positives[rows]))
    if want > len(rows):
      parts.append(_random_pairs(rng, catalog.topics, want - len(rows),
                                 share))
  return (np.concatenate([p[0] for p in parts]).astype(np.int64),
          np.concatenate([p[1] for p in parts]).astype(np.int64))


def label_variants(base: config_lib.TrainerConfig
                   ) -> List[Tuple[str, Variant]]:
  """Mined pseudo-labels at several thresholds, then the controlled
  precision study at the configured threshold (see the module docstring)."""
  plain = _engagement_only(base)
  grid: List[Tuple[str, Variant]] = [("engagement only", plain)]
  for threshold in LABEL_THRESHOLDS:
    grid.append((f"mined cos>={threshold:g} 1:10", _semantic(
        plain, 10, semantic_threshold=threshold)))
  for ratio in (1, 10):
    for precision in LABEL_PRECISIONS:
      grid.append((f"CONTROLLED precision {precision:g} 1:{ratio}",
                   _with_controlled_labels(_semantic(plain, ratio),
                                           precision)))
  return grid


def _with_controlled_labels(config: config_lib.TrainerConfig,
                            precision: float) -> Fit:
  """Trains `config` on a label set of the mined one's size at `precision`
  (built once per catalog when the variant first runs, then reused by
  every seed)."""
  built: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

  def fit(catalog, train_pairs, seed, eval_config=None):
    if id(catalog) not in built:
      mined = data.mine_semantic_pairs(catalog.text, catalog.has_text,
                                       config.semantic_threshold,
                                       config.semantic_neighbors,
                                       index=config.semantic_index)
      built[id(catalog)] = labels_at_precision(catalog, *mined, precision,
                                               config.seed)
    return fit_variant(config, catalog, train_pairs, seed,
                       semantic=built[id(catalog)], eval_config=eval_config)
  return fit


def label_quality_table(catalog: artifacts.Catalog,
                        train_pairs: artifacts.Pairs,
                        base: config_lib.TrainerConfig,
                        thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.8,
                                                       0.9),
                        neighbors: Sequence[int] = (10, 50)) -> str:
  """Markdown: pseudo-label sets mined per threshold / neighbours, with the
  co-engaged train pairs and random pairs for reference (no training)."""
  lines = ["| labels | pairs | topic precision | item coverage |",
           "|---|---|---|---|"]

  def add(name, quality):
    lines.append(f"| {name} | {quality['pairs']} | "
                 f"{quality['topic_precision']:.3f} | "
                 f"{quality['item_coverage']:.3f} |")

  for threshold in thresholds:
    for count in neighbors:
      add(f"mined cos>={threshold:g}, {count} neighbours", label_quality(
          catalog, *data.mine_semantic_pairs(
              catalog.text, catalog.has_text, threshold, count,
              index=base.semantic_index)))
  add("co-engaged train pairs", label_quality(catalog, train_pairs.trigger,
                                              train_pairs.candidate))
  rng = np.random.default_rng(base.seed)
  size = min(len(train_pairs), 100_000)
  add("random pairs", label_quality(catalog, rng.integers(0, len(catalog),
                                                          size),
                                    rng.integers(0, len(catalog), size)))
  return "\n".join(lines) + "\n"


def write_label_quality(examples_uri: str, config: config_lib.PipelineConfig,
                        folder: str) -> str:
  """`labels.md` (see `label_quality_table`) under `folder`; returns it."""
  catalog = artifacts.load_catalog(examples_uri)
  table = label_quality_table(
      catalog, artifacts.load_pairs(examples_uri, contract.TRAIN, catalog),
      config.trainer)
  tf.io.gfile.makedirs(folder)
  with tf.io.gfile.GFile(os.path.join(folder, "labels.md"), "w") as f:
    f.write(table)
  return table


SUITES = {"paper": variants, "modality": modality_variants,
          "ladder": ladder_variants,
          "model": model_variants, "opc": opc_variants,
          "logq": logq_variants, "rare": rare_trigger_variants,
          "trigger": trigger_content_variants,
          "weighting": weighting_variants, "labels": label_variants,
          "cold": cold_start_variants}


def seed_std(values: Sequence[float]) -> float:
  """The sample standard deviation over seeds (n - 1 in the denominator:
  the seeds are a sample of the runs the configuration could give); 0.0
  for one seed."""
  values = np.asarray(values, float)
  return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _put_mean_and_std(row: Dict[str, str], title: str,
                      per_seed: Sequence[float]) -> None:
  """row[title] and row[title + " std"] (the sample std, `seed_std`) over
  the seeds' values; NaN (a slice the eval pairs lack) is left out, "nan"
  when nothing is left."""
  values = np.array(per_seed, float)
  values = values[~np.isnan(values)]
  row[title] = f"{values.mean():.4f}" if len(values) else "nan"
  row[title + " std"] = f"{seed_std(values):.4f}" if len(values) else "nan"


def _mean_std_cell(row: Dict[str, str], title: str) -> str:
  return (f"{row[title]} ± {row[title + ' std']}" if row[title] != "nan"
          else "–")


def summarize(runs: Dict[str, List[Dict]], ks: Sequence[int]
              ) -> List[Dict[str, str]]:
  """Mean (and std over seeds) of each column, per variant; the loss
  columns are empty for models without those tasks (the baselines)."""
  rows = []
  for name, results in runs.items():
    row = {"variant": name, "seeds": str(len(results))}
    for title, section, metric in columns(ks):
      _put_mean_and_std(row, title, [r[section][metric] for r in results])
    for title, key in LOSS_COLUMNS:
      values = [r.get("losses", {}).get(key) for r in results]
      row[title] = ("" if None in values else f"{np.mean(values):.4g}")
    # The groups are the same for every seed (the same eval pairs).
    for number, group in enumerate(
        results[0].get("by_trigger_engagement", []), 1):
      row[_group_key(number, "train engagements")] = (
          f"{group['min_train_engagements']}-"
          f"{group['max_train_engagements']}")
      row[_group_key(number, "triggers")] = str(group["triggers"])
      row[_group_key(number, "eval pairs")] = str(group["eval_pairs"])
      for title, metric in group_columns(ks):
        _put_mean_and_std(
            row, _group_key(number, title),
            [r["by_trigger_engagement"][number - 1][metric] for r in results])
    rows.append(row)
  return rows


def markdown_table(rows: List[Dict[str, str]], ks: Sequence[int]) -> str:
  """The summary as a Markdown table: mean ± std per column, then the
  per-task loss magnitudes."""
  table = columns(ks)
  titles = (["variant", "seeds"] + [c[0] for c in table] +
            [t for t, _ in LOSS_COLUMNS])
  lines = ["| " + " | ".join(titles) + " |",
           "|" + "---|" * len(titles)]
  for row in rows:
    cells = ([row["variant"], row["seeds"]] +
             [_mean_std_cell(row, t) for t, _, _ in table] +
             [row.get(t) or "–" for t, _ in LOSS_COLUMNS])
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def engagement_table(rows: List[Dict[str, str]], ks: Sequence[int]) -> str:
  """The by-trigger-engagement groups of the summary as a Markdown table:
  one line per variant and group, mean ± std over seeds ("" when the rows
  have no groups)."""
  groups = sorted({int(k.split()[1]) for row in rows for k in row
                   if k.startswith("group ")})
  if not groups:
    return ""
  table = group_columns(ks)
  lines = ["| variant | trigger group (train engagements) | triggers | "
           "eval pairs | " + " | ".join(t for t, _ in table) + " |",
           "|" + "---|" * (4 + len(table))]
  for row in rows:
    for number in groups:
      cells = [row["variant"],
               f"{number}: {row[_group_key(number, 'train engagements')]}",
               row[_group_key(number, "triggers")],
               row[_group_key(number, "eval pairs")]]
      cells += [_mean_std_cell(row, _group_key(number, title))
                for title, _ in table]
      lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def output_folder(output_dir: str, suite: str,
                  variants: Sequence[str] = (), first_seed: int = 0) -> str:
  """`<output_dir>/ablation/<suite>`, or for a run of some variants or from
  a first seed other than 0 a folder below it named after them (e.g.
  `<suite>/engagement-only+default_seeds-from-3`): runs of parts of a
  suite side by side each keep their own outputs."""
  folder = os.path.join(output_dir, "ablation", suite)
  parts = []
  if variants:
    parts.append("+".join(
        re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-") or "variant"
        for name in variants))
  if first_seed:
    parts.append(f"seeds-from-{first_seed}")
  return os.path.join(folder, "_".join(parts)) if parts else folder


def write_outputs(rows: List[Dict[str, str]], folder: str, ks: Sequence[int],
                  dataset: str = "MovieLens-100K") -> Dict[str, str]:
  """ablation.csv, ablation.md, frontier.png and (when the rows have
  trigger groups) by_trigger_engagement.md under `folder` (local or a
  remote URI, through tf.io.gfile)."""
  tf.io.gfile.makedirs(folder)
  paths = {k: os.path.join(folder, f) for k, f in (
      ("csv", "ablation.csv"), ("md", "ablation.md"),
      ("png", "frontier.png"))}
  groups = engagement_table(rows, ks)
  if groups:
    paths["groups"] = os.path.join(folder, "by_trigger_engagement.md")
    with tf.io.gfile.GFile(paths["groups"], "w") as f:
      f.write(groups)
  text = io.StringIO()
  writer = csv.DictWriter(text, fieldnames=list(rows[0]))
  writer.writeheader()
  writer.writerows(rows)
  with tf.io.gfile.GFile(paths["csv"], "w") as f:
    f.write(text.getvalue())
  with tf.io.gfile.GFile(paths["md"], "w") as f:
    f.write(markdown_table(rows, ks))
  figure = frontier_figure(rows, ks, dataset)
  image = io.BytesIO()
  figure.savefig(image, format="png", dpi=120, bbox_inches="tight")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  plt.close(figure)
  with tf.io.gfile.GFile(paths["png"], "wb") as f:
    f.write(image.getvalue())
  return paths


# Marker and colour per row: ten colours, then the next marker shape.
_MARKERS = "osD^vP*Xph<>"


def frontier_figure(rows: List[Dict[str, str]], ks: Sequence[int],
                    dataset: str):
  """recall@max(ks) vs topic@min(ks), mean +- std over seeds: every row on
  the left, the trained models around the TFRS recipe on the right (its
  point where the dashed lines cross; up and right of both is better than
  the recipe on engagement and topic at once).

  Rows are told apart by marker and colour, named in one legend beside the
  plots: labels written at the points overlapped where points lie close.

  Returns:
    The matplotlib figure (Agg backend).
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  table = columns(ks)
  recall, topic = table[1][0], table[2][0]
  figure, (overview, zoom) = plt.subplots(1, 2, figsize=(13, 5.5))
  recipe = [r for r in rows if r["variant"] == baselines.RECIPE_NAME]
  trained = [r for r in rows if r["variant"] not in baselines.BASELINES]
  colours = plt.get_cmap("tab10").colors
  handles = {}
  for axes, shown in ((overview, rows), (zoom, recipe + trained)):
    for row in shown:
      index = rows.index(row)
      baseline = row["variant"] in baselines.BASELINES
      handles[row["variant"]] = axes.errorbar(
          float(row[recall]), float(row[topic]),
          xerr=float(row[recall + " std"]), yerr=float(row[topic + " std"]),
          fmt=_MARKERS[index // len(colours) % len(_MARKERS)],
          color=colours[index % len(colours)], markersize=7,
          markerfacecolor="none" if baseline else None, capsize=2)
    for row in recipe:
      axes.axvline(float(row[recall]), color="gray", ls="--", lw=0.8)
      axes.axhline(float(row[topic]), color="gray", ls="--", lw=0.8)
    axes.set_xlabel(f"engagement: {recall} of held-out co-engagements")
    axes.grid(True, alpha=0.3)
  overview.set_ylabel(f"semantic relevance: topic match rate@{min(ks)}")
  overview.set_title(f"Engagement vs topic relevance ({dataset})")
  zoom.set_title("trained models and the TFRS recipe (dashed)")
  figure.legend([handles[r["variant"]] for r in rows],
                [_short_label(r["variant"]) +
                 (" (baseline)" if r["variant"] in baselines.BASELINES
                  else "") for r in rows],
                loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
                frameon=False)
  figure.tight_layout()
  return figure


def _short_label(variant: str) -> str:
  """A legend label: the variant's name, cut at 70 characters."""
  return variant if len(variant) <= 70 else variant[:69] + "…"


def grid_for(suite: str, base: config_lib.TrainerConfig,
             baseline_rows: bool = True) -> List[Tuple[str, Variant]]:
  """The baselines, then the suite's variants."""
  if suite not in SUITES:
    raise ValueError(f"unknown suite {suite!r}; one of {sorted(SUITES)}")
  grid: List[Tuple[str, Variant]] = (
      list(baselines.BASELINES.items()) if baseline_rows else [])
  variants_of = SUITES[suite]
  return grid + variants_of(base)


def fit_variant(variant: Variant, catalog: artifacts.Catalog,
                train_pairs: artifacts.Pairs, seed: int,
                semantic: Optional[Tuple[np.ndarray, np.ndarray]] = None,
                eval_config: Optional[config_lib.EvalConfig] = None) -> Any:
  """Trains one variant for seed number `seed` (0, 1, ...); a config is
  trained with `semantic` as its pseudo-labels (None: mined) and picks its
  training length with `eval_config`'s metrics, as the Trainer does (a
  baseline trains as its recipe says)."""
  if isinstance(variant, config_lib.TrainerConfig):
    return task.train(catalog, train_pairs, dataclasses.replace(
        variant, seed=variant.seed + seed), semantic=semantic,
                      eval_config=eval_config)
  if "eval_config" in inspect.signature(variant).parameters:
    return variant(catalog, train_pairs, seed, eval_config=eval_config)
  return variant(catalog, train_pairs, seed)


def _losses(model: Any) -> Dict[str, float]:
  """The last epoch's per-task loss means, for models that log them."""
  history = getattr(getattr(model, "history", None), "history", {}) or {}
  return {key: float(history[key][-1]) for _, key in LOSS_COLUMNS
          if history.get(key) and history[key][-1] > 0}


def run_ablation(examples_uri: str, config: config_lib.PipelineConfig,
                 seeds: int, only: Optional[Sequence[str]] = None,
                 suite: str = "paper",
                 baseline_rows: bool = True,
                 first_seed: int = 0) -> List[Dict[str, str]]:
  """Trains and evaluates the baselines and every variant of `suite` for
  `seeds` seeds.

  Args:
    examples_uri: a CoEngagementPairs `pairs` artifact.
    config: the trainer section is the variants' base; the eval section
      sets the metrics.
    seeds: runs per variant, with the seeds first_seed, first_seed + 1,
      ... (every fit is deterministic per configuration and seed, so
      first_seed extends an earlier run without repeating it).
    only: variant names to run (all when empty); baselines are names too.
    suite: a key of SUITES.
    baseline_rows: whether the baselines are run (when `only` allows).
    first_seed: the first run's seed.

  Returns:
    One summary row per variant (see `summarize`).

  Raises:
    ValueError: seeds < 1 or first_seed < 0 (named), an unknown suite or
      variant.
  """
  if seeds < 1:
    raise ValueError(f"--seeds must be >= 1 (it is {seeds})")
  if first_seed < 0:
    raise ValueError(f"--first-seed must be >= 0 (it is {first_seed})")
  catalog = artifacts.load_catalog(examples_uri)
  train_pairs = artifacts.load_pairs(examples_uri, contract.TRAIN, catalog)
  eval_pairs = artifacts.load_pairs(examples_uri, contract.EVAL, catalog)
  runs: Dict[str, List[Dict]] = {}
  small, large = min(config.eval.ks), max(config.eval.ks)
  grid = [(n, v) for n, v in grid_for(suite, config.trainer, baseline_rows)
          if not only or n in only]
  if not catalog.has_text.any() and any(
      v is baselines.fit_text_knn for _, v in grid):
    logging.warning("no text embeddings in this catalog: the text k-NN "
                    "baseline is left out")
    grid = [(n, v) for n, v in grid if v is not baselines.fit_text_knn]
  if not grid:
    raise ValueError(f"no variant of suite {suite!r} is named {list(only)}")
  from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  bar = tqdm(total=len(grid) * seeds, unit="model", desc=f"ablation {suite}",
             dynamic_ncols=True)
  for number, (name, variant) in enumerate(grid, 1):
    for seed in range(first_seed, first_seed + seeds):
      started = time.time()
      model = fit_variant(variant, catalog, train_pairs, seed,
                          eval_config=config.eval)
      result = validation.evaluate_model(model, catalog, eval_pairs,
                                         config.eval, ENGAGEMENT_GROUPS)
      result["losses"] = _losses(model)
      runs.setdefault(name, []).append(result)
      bar.write(f"[{number}/{len(grid)}] {name} seed {seed}: "
                f"recall@{large}={result['all'][f'recall@{large}']:.4f} "
                f"topic@{small}={result['all'][f'topic_match@{small}']:.4f} "
                f"popular@{small}="
                f"{result['all'][f'popular_share@{small}']:.4f} "
                f"({time.time() - started:.0f} s)")
      bar.update(1)
  bar.close()
  return summarize(runs, config.eval.ks)
