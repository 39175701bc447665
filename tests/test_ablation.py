# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Ablation grids, table columns and written outputs."""
import csv
import dataclasses

import numpy as np
import pytest

from components import artifacts
from relvid import config as config_lib
from relvid.config import TrainerConfig
from trainer import ablation
from trainer import baselines


def test_modality_suite_switches_only_the_modalities():
  base = TrainerConfig(semantic_weight=1.0, engagement_weight=100.0)
  grid = dict(ablation.SUITES["modality"](base))
  assert [(c.use_text, c.use_visual) for c in grid.values()] == [
      (True, False), (True, True), (False, True)]
  assert all(c.semantic_weight == 1.0 and c.engagement_weight == 100.0
             for c in grid.values())
  paper = dict(ablation.SUITES["paper"](base))
  # A ratio moves the semantic weight; the engagement weight (the loss
  # scale the ID tables' Adagrad is tuned to) stays as configured.
  assert (paper["+semantic 1:500"].engagement_weight,
          paper["+semantic 1:500"].semantic_weight) == (100.0, 0.2)
  assert (paper["+semantic 1:1"].engagement_weight,
          paper["+semantic 1:1"].semantic_weight) == (100.0, 100.0)
  assert (paper["engagement only"].engagement_weight,
          paper["engagement only"].semantic_weight) == (100.0, 0.0)
  with pytest.raises(ValueError, match="trainer.engagement_weight"):
    ablation.SUITES["paper"](TrainerConfig(engagement_weight=0.0))


def metrics(recall_small, recall_large, topic):
  section = {"recall@10": recall_small, "recall@20": recall_large,
             "topic_match@10": topic, "popular_share@10": 0.5,
             "coverage@10": 0.5}
  cold_triggers = dict(section, **{"topic_match@10": topic / 2})
  cold_candidates = dict(section, **{"recall@20": float("nan")})
  return {"all": section, "tail_triggers": section,
          "cold_triggers": cold_triggers, "cold_candidates": cold_candidates}


def test_parts_of_a_suite_write_to_folders_of_their_own():
  """Two `relvid ablate --variant` runs side by side must not overwrite
  each other's tables; the whole suite keeps its folder."""
  assert ablation.output_folder("out", "labels") == "out/ablation/labels"
  first = ablation.output_folder("out", "labels", ["mined cos>=0.6 1:10"])
  second = ablation.output_folder("out", "labels", ["mined cos>=0.8 1:10"])
  assert first == "out/ablation/labels/mined-cos-0.6-1-10"
  assert second == "out/ablation/labels/mined-cos-0.8-1-10"
  assert ablation.output_folder(
      "out", "paper", ["engagement only", "default"], first_seed=3) == (
          "out/ablation/paper/engagement-only+default_seeds-from-3")
  assert ablation.output_folder("out", "paper", first_seed=3) == (
      "out/ablation/paper/seeds-from-3")


def test_summary_and_outputs_follow_the_configured_ks(tmp_path):
  rows = ablation.summarize(
      {"a": [metrics(0.2, 0.4, 0.6), metrics(0.4, 0.6, 0.8)]}, ks=[10, 20])
  assert rows[0]["recall@10"] == "0.3000"
  # The sample std over the seeds: sqrt(((0.2 - 0.3)^2 + (0.4 - 0.3)^2) / 1).
  assert rows[0]["recall@20 std"] == "0.1414"
  assert rows[0]["topic@10"] == "0.7000"
  paths = ablation.write_outputs(rows, str(tmp_path), [10, 20], "demo")
  with open(paths["csv"]) as f:
    row = next(csv.DictReader(f))
  assert row["tail recall@20"] == "0.5000"
  assert row["cold-trigger topic@10"] == "0.3500"
  # No eval pair with a cold candidate: "nan", not a number.
  assert row["cold-candidate recall@20"] == "nan"
  with open(paths["md"]) as f:
    assert "| a | 2 | 0.3000 ± 0.1414 |" in f.read()
  assert open(paths["png"], "rb").read(4) == b"\x89PNG"


def test_trigger_groups_are_summarised_over_seeds_and_written(tmp_path):
  def with_groups(popular_rare, recall_rare):
    result = metrics(0.2, 0.4, 0.6)
    result["by_trigger_engagement"] = [
        {"triggers": 3, "eval_pairs": 4, "min_train_engagements": 1,
         "max_train_engagements": 9, "recall@20": recall_rare,
         "topic_match@10": 0.5, "popular_share@10": popular_rare},
        {"triggers": 3, "eval_pairs": 40, "min_train_engagements": 10,
         "max_train_engagements": 99, "recall@20": 0.5,
         "topic_match@10": float("nan"), "popular_share@10": 0.2}]
    return result

  rows = ablation.summarize({"a": [with_groups(0.6, 0.1),
                                   with_groups(0.8, 0.3)]}, ks=[10, 20])
  assert rows[0]["group 1 popular@10"] == "0.7000"
  assert rows[0]["group 1 popular@10 std"] == "0.1414"
  assert rows[0]["group 1 recall@20"] == "0.2000"
  assert rows[0]["group 2 train engagements"] == "10-99"
  table = ablation.engagement_table(rows, [10, 20])
  assert ("| a | 1: 1-9 | 3 | 4 | 0.2000 ± 0.1414 | 0.5000 ± 0.0000 | "
          "0.7000 ± 0.1414 |") in table
  # A group whose triggers have no topics: "–", not a number.
  assert "| a | 2: 10-99 | 3 | 40 | 0.5000 ± 0.0000 | – |" in table
  paths = ablation.write_outputs(rows, str(tmp_path), [10, 20], "demo")
  with open(paths["groups"]) as f:
    assert f.read() == table
  # Rows without groups (older results) write no such table.
  plain = ablation.summarize({"a": [metrics(0.2, 0.4, 0.6)]}, ks=[10, 20])
  assert plain[0]["recall@20 std"] == "0.0000"  # one seed: no spread
  assert ablation.engagement_table(plain, [10, 20]) == ""
  assert "groups" not in ablation.write_outputs(plain, str(tmp_path / "p"),
                                                [10, 20], "demo")


def test_the_frontier_plot_names_rows_in_a_legend_not_at_the_points():
  """Twelve rows within 0.002 of each other: labels at the points would
  overlap; a legend beside the axes names each row once, and no two
  rows share a marker and colour."""
  names = ["popularity", "co-visitation counts", "text k-NN",
           baselines.RECIPE_NAME] + [f"variant {i}: x={i}" for i in range(8)]
  rows = ablation.summarize(
      {name: [metrics(0.1, 0.5 + i / 10000, 0.5 + i / 5000)]
       for i, name in enumerate(names)}, ks=[10, 20])
  figure = ablation.frontier_figure(rows, [10, 20], "demo")
  figure.canvas.draw()
  renderer = figure.canvas.get_renderer()
  (legend,) = figure.legends
  labels = [t.get_text() for t in legend.get_texts()]
  assert labels[0] == "popularity (baseline)" and "variant 7: x=7" in labels
  assert len(labels) == len(rows)
  for axes in figure.axes:
    assert not axes.texts  # no label written at a point
    assert not legend.get_window_extent(renderer).overlaps(
        axes.get_window_extent(renderer))
  points = figure.axes[0].containers  # every row's errorbar
  styles = {(p.lines[0].get_marker(), p.lines[0].get_color())
            for p in points}
  assert len(points) == len(styles) == len(rows)


def test_every_suite_starts_with_the_baselines():
  for suite in ("paper", "model", "opc", "weighting", "labels", "cold",
                "ladder", "logq", "rare", "trigger"):
    names = [n for n, _ in ablation.grid_for(suite, TrainerConfig())]
    assert names[:4] == ["popularity", "co-visitation counts", "text k-NN",
                         "TFRS recipe (ID two-tower + logQ)"], suite
    assert len(names) == len(set(names)), suite
  assert [n for n, _ in ablation.grid_for(
      "paper", TrainerConfig(), baseline_rows=False)][0] == "engagement only"


def test_opc_suite_is_the_papers_grid_plus_candidate_side():
  grid = dict(ablation.SUITES["opc"](TrainerConfig(opc=True)))
  assert not grid["no OPC"].opc
  trigger_side = [c for n, c in grid.items() if n.startswith("OPC trigger")]
  assert sorted((c.opc_alpha, c.opc_beta) for c in trigger_side) == sorted(
      (a, b) for a in (1.0, 10.0, 100.0) for b in (0.5, 0.75, 1.0))
  assert grid["OPC candidate a=1 b=0.5"].opc_side == "candidate"
  assert grid["OPC both a=1 b=0.5"].opc_side == "both"
  assert all(c.opc_normalize for n, c in grid.items() if not n.startswith(
      "raw"))
  raw = grid["raw OPC weights, trigger a=1 b=0.5"]
  assert dataclasses.replace(raw, opc_normalize=True) == grid[
      "OPC trigger a=1 b=0.5"]


def test_logq_suite_changes_only_the_correction():
  base = TrainerConfig(semantic_weight=3.0)
  grid = dict(ablation.SUITES["logq"](base))
  assert [c.logq_strength for n, c in grid.items() if c.logq_correction
          ] == [1.0, 0.9, 0.8, 0.7]
  assert not grid["no logQ"].logq_correction
  for config in grid.values():
    assert dataclasses.replace(config, logq_correction=True,
                               logq_strength=1.0) == base


def test_rare_suite_changes_only_the_rare_trigger_correction():
  base = TrainerConfig(rare_trigger_logq=0.6, rare_trigger_engagements=4.0)
  grid = dict(ablation.SUITES["rare"](base))
  assert grid["rare-trigger correction off"].rare_trigger_logq == 0.0
  assert sorted((c.rare_trigger_logq, c.rare_trigger_engagements)
                for n, c in grid.items() if n != "rare-trigger correction off"
                ) == [(0.3, 4.0), (0.6, 2.0), (0.6, 4.0), (0.6, 8.0),
                      (1.2, 4.0)]
  assert grid["rare-trigger correction g=0.6 c=4"] == base
  for config in grid.values():
    assert dataclasses.replace(config, rare_trigger_logq=0.6,
                               rare_trigger_engagements=4.0) == base


def test_trigger_suite_changes_only_the_trigger_content():
  base = TrainerConfig(semantic_weight=3.0)
  grid = dict(ablation.SUITES["trigger"](base))
  assert {n: c.trigger_content for n, c in grid.items()} == {
      "trigger content: residual": "residual",
      "trigger content: fallback": "fallback"}
  for config in grid.values():
    assert dataclasses.replace(config, trigger_content="residual") == base


def test_weighting_suite_switches_weighting_and_targets():
  grid = dict(ablation.SUITES["weighting"](TrainerConfig()))
  assert grid["uncertainty weighting (from 1:1)"].task_weighting == (
      "uncertainty")
  assert grid["soft targets 1:10"].semantic_targets == "soft"
  assert (grid["soft targets 1:10"].engagement_weight,
          grid["soft targets 1:10"].semantic_weight) == (1024.0, 102.4)
  assert grid["fixed 1:500"].semantic_targets == "binary"


def topic_catalog():
  """Items 0-3 are topic a, 4-7 topic b, 8 has no topic."""
  topics = [["a"]] * 4 + [["b"]] * 4 + [[]]
  return artifacts.Catalog(
      item_ids=np.array([f"i{i}" for i in range(9)], dtype=object),
      text=np.zeros((9, 2), np.float32), has_text=np.ones(9, np.float32),
      topics=topics, train_engagements=np.zeros(9, np.int64))


def test_label_quality_by_hand():
  quality = ablation.label_quality(topic_catalog(), np.array([0, 0, 4, 8]),
                                   np.array([1, 5, 6, 2]))
  assert quality == {"pairs": 4, "topic_precision": 0.5,
                     "item_coverage": 7 / 9}


@pytest.mark.parametrize("precision", [0.5, 0.75, 1.0, 0.0])
def test_controlled_labels_have_the_asked_precision_and_size(precision):
  catalog = topic_catalog()
  # Mined: 2 sharing a topic, 2 not.
  anchors, positives = np.array([0, 4, 0, 5]), np.array([1, 5, 4, 2])
  got = ablation.labels_at_precision(catalog, anchors, positives, precision,
                                     seed=0)
  assert len(got[0]) == 4
  quality = ablation.label_quality(catalog, *got)
  assert quality["topic_precision"] == precision
  assert (got[0] != got[1]).all()
  mined = set(zip(anchors.tolist(), positives.tolist()))
  used = set(zip(got[0].tolist(), got[1].tolist()))
  # Mined pairs come first: at 0.5 the label set is exactly the mined one.
  if precision == 0.5:
    assert used == mined


def test_loss_columns_are_means_and_blank_for_baselines():
  with_losses = metrics(0.2, 0.4, 0.6)
  with_losses["losses"] = {"engagement_loss": 4.0, "semantic_loss": 2.0}
  other = dict(metrics(0.2, 0.4, 0.6),
               losses={"engagement_loss": 6.0, "semantic_loss": 4.0})
  rows = ablation.summarize({"model": [with_losses, other],
                             "popularity": [metrics(0.1, 0.2, 0.3)]}, [10, 20])
  assert (rows[0]["L_eng"], rows[0]["L_sem"]) == ("5", "3")
  assert rows[1]["L_eng"] == ""
  table = ablation.markdown_table(rows, [10, 20])
  assert table.splitlines()[-1].endswith("| – | – |")


def test_controlled_labels_fail_clearly_when_topics_cannot_give_them():
  catalog = topic_catalog()
  catalog.topics[:] = [["a"]] * 8 + [[]]  # every pair shares topic a
  with pytest.raises(ValueError, match="do not share a topic"):
    ablation.labels_at_precision(catalog, np.array([0]), np.array([1]),
                                 0.0, seed=0)


@pytest.mark.parametrize("base", [
    TrainerConfig(),
    TrainerConfig(optimizer="adagrad", learning_rate=0.1, opc=True,
                  validation_fraction=0.05, epochs=10, cold_share=0.0)])
def test_ladder_goes_from_the_recipe_to_the_configured_model(base):
  import dataclasses  # pylint: disable=g-import-not-at-top
  rungs = ablation.ladder_variants(base)
  first = rungs[0][1]
  assert (first.id_dim, first.output_dim, first.use_text, first.optimizer,
          first.learning_rate, first.batch_size, first.epochs,
          first.logq_correction, first.remove_accidental_hits,
          first.semantic_weight, first.opc, first.cold_share) == (
              64, 64, False, "adagrad", 0.1, 1024, 3, True, False, 0.0,
              False, 0.0)
  # The engagement loss is a per-example mean: weighted by the batch size
  # it is TFRS's summed loss.
  assert first.engagement_weight == first.batch_size
  assert rungs[-1][1] == base
  groups = dict(ablation.LADDER)
  for (_, before), (name, after) in zip(rungs, rungs[1:]):
    group = groups[name.split("+ ", 1)[1].split(":")[0]]
    changed = {f.name for f in dataclasses.fields(base)
               if getattr(before, f.name) != getattr(after, f.name)}
    assert changed and changed <= set(group), name


def test_ladder_first_rung_computes_the_recipes_loss():
  """The product's model at the recipe's settings is the recipe: with the
  same embedding weights, the same loss on a full batch."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from trainer import baselines  # pylint: disable=g-import-not-at-top
  from trainer import model as model_lib  # pylint: disable=g-import-not-at-top
  import dataclasses  # pylint: disable=g-import-not-at-top
  config = dataclasses.replace(ablation.ladder_variants(TrainerConfig())[0][1],
                               batch_size=4, engagement_weight=4.0)
  probability = np.array([0.1, 0.2, 0.3, 0.25, 0.15], np.float32)
  product = model_lib.RelatedVideoModel(5, {}, config, probability)
  recipe = baselines.IdTwoTower(5, dim=64, candidate_probability=probability)
  features = {"trigger": tf.constant([0, 1, 2, 3]),
              "candidate": tf.constant([1, 2, 3, 4]),
              "trigger_count": tf.constant([1.0, 1.0, 1.0, 1.0])}
  recipe.compute_loss(features)
  product.compute_loss(features)
  product.trigger_tower.id_embedding.set_weights(
      recipe.trigger_tower.get_weights())
  product.candidate_tower.id_embedding.set_weights(
      recipe.candidate_tower.get_weights())
  assert float(product.compute_loss(features)) == pytest.approx(
      float(recipe.compute_loss(features)), rel=1e-5)


def test_configured_models_pick_their_length_with_the_eval_config(
    monkeypatch):
  """A configured variant trains with the run's eval section (the metrics
  its validation window scores, as in the Trainer); a baseline trains as
  its recipe says."""
  seen = []
  monkeypatch.setattr(ablation.task, "train",
                      lambda *args, **kwargs: seen.append(kwargs))
  eval_config = config_lib.EvalConfig(ks=[5, 20], gate_k=20)
  ablation.fit_variant(TrainerConfig(), None, None, 0,
                       eval_config=eval_config)
  assert seen[-1]["eval_config"] is eval_config
  seen_by_baseline = []

  def baseline(catalog, pairs, seed):
    seen_by_baseline.append(seed)

  ablation.fit_variant(baseline, None, None, 3, eval_config=eval_config)
  assert seen_by_baseline == [3]


@pytest.mark.parametrize("seeds, first_seed, named", [
    (0, 0, "--seeds"), (3, -1, "--first-seed")])
def test_seed_counts_are_checked_before_any_work(seeds, first_seed, named):
  """A bad seed range is a clear error naming the option, raised before
  the pairs are read (the artifact here does not exist)."""
  with pytest.raises(ValueError, match=named):
    ablation.run_ablation("/nonexistent/pairs", config_lib.PipelineConfig(),
                          seeds, first_seed=first_seed)
