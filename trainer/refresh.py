# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Catalog refresh without retraining.

`refresh_serving_model(catalog, serving_dir, ...)` takes the newest serving
version under `serving_dir`, embeds every item of the current catalog with
that version's trained towers (`assets.extra/item_towers`, signature
`embed`: items it was trained with keep their ID embedding, new items are
embedded by their content alone), rebuilds the index over the whole
catalog and publishes it as the next version, which a running endpoint
hot-reloads. Items no longer in the catalog leave the index; new items
with neither text nor visual vectors cannot be embedded and are counted,
listed and left out.

A refresh whose newest version was itself refreshed from the same catalog
artifact publishes nothing and says the version is up to date (the refresh
pipeline uses TFX's cache: an unchanged catalog is the same artifact).

The version is written under a hidden staging name and renamed when
complete, so a server never loads a partial version. Every path goes
through tf.io.gfile (a gs:// serving_dir works).

`CatalogRefresh` is the TFX component of the refresh pipeline
(`pipeline.pipeline.create_refresh_pipeline`: the same ingestion and
embedding components as training, then this one on CoEngagementPairs'
catalog split). It lives here, beside the towers' export, as the Trainer's
`run_fn` lives in `trainer.task`.
"""
import json
import logging
import os
import time
from typing import Any, Dict, Tuple

import numpy as np
import tensorflow as tf
from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter
from tfx.utils import io_utils

from components import artifacts
from components import example_io
from components import version_folders
from relvid import config as config_lib
from relvid import contract
from relvid.config import ExportConfig
from trainer import export

LISTED = 20  # ids listed per kind in the report (all are counted)


def has_item_towers(version_dir: str) -> bool:
  """Whether a version (or a model's serving folder) has the item towers a
  re-index needs (ID-only towers and older exports have none)."""
  return tf.io.gfile.exists(os.path.join(
      version_dir, contract.ITEM_TOWERS_DIR, contract.ITEM_TOWERS_GRAPH_FILE))


def latest_version(serving_dir: str) -> Tuple[int, str]:
  """(version, path) of the newest complete version under serving_dir.

  Raises:
    FileNotFoundError: no version, or the newest has no item towers.
  """
  versions = version_folders.serving_versions(serving_dir)
  if not versions:
    raise FileNotFoundError(
        f"no serving version under {serving_dir}: run the pipeline "
        "(relvid run) and let it push a model first")
  version = versions[-1]
  path = os.path.join(serving_dir, str(version))
  if not has_item_towers(path):
    raise FileNotFoundError(
        f"version {version} under {serving_dir} has no "
        f"{contract.ITEM_TOWERS_DIR}: it was trained before refresh "
        "existed, or with ID-only towers (trainer.use_text=false); retrain "
        "with a content feature")
  return version, path


def embed_catalog(towers_dir: str, catalog: artifacts.Catalog,
                  batch_size: int = 8192) -> Dict[str, np.ndarray]:
  """{"trigger", "candidate"}: the towers' vectors of every catalog item;
  "cold": 1 where an item is scored with the cold boost."""
  towers = export.load_item_towers(towers_dir)
  embed = towers.signatures[contract.ITEM_TOWERS_SIGNATURE]
  specs = embed.structured_input_signature[1]
  text_dim = specs["text"].shape[1]
  visual_dim = specs["visual"].shape[1]
  text, visual = catalog.text, catalog.visual
  if text.shape[1] != text_dim and catalog.has_text.any():
    raise ValueError(f"the catalog's text vectors are {text.shape[1]}-d, "
                     f"the towers were trained on {text_dim}-d")
  if visual.shape[1] != visual_dim and catalog.has_visual.any():
    raise ValueError(f"the catalog's visual vectors are {visual.shape[1]}-d,"
                     f" the towers were trained on {visual_dim}-d")
  if text.shape[1] != text_dim:
    text = np.zeros((len(catalog), text_dim), np.float32)
  if visual.shape[1] != visual_dim:
    visual = np.zeros((len(catalog), visual_dim), np.float32)
  out: Dict[str, list] = {"trigger": [], "candidate": [], "cold": []}
  for start in range(0, len(catalog), batch_size):
    rows = slice(start, start + batch_size)
    result = embed(
        item_id=tf.constant(list(catalog.item_ids[rows]), tf.string),
        text=tf.constant(text[rows], tf.float32),
        has_text=tf.constant(catalog.has_text[rows], tf.float32),
        visual=tf.constant(visual[rows], tf.float32),
        has_visual=tf.constant(catalog.has_visual[rows], tf.float32))
    for side in out:
      out[side].append(result[side].numpy())
  return {side: np.concatenate(parts) for side, parts in out.items()}


def next_version(serving_dir: str, newest: int, purpose: str
                 ) -> Tuple[int, str]:
  """(number, staging folder) of a version published after `newest`: the
  current time in seconds, above `newest`, built under the hidden
  `.<purpose>-<number>` (emptied first; servers skip it) and renamed to its
  number once complete."""
  version = max(int(time.time()), newest + 1)
  staging = os.path.join(serving_dir, f".{purpose}-{version}")
  if tf.io.gfile.exists(staging):
    tf.io.gfile.rmtree(staging)
  return version, staging


def reindex_version(version_dir: str, catalog: artifacts.Catalog,
                    export_dir: str, config: ExportConfig) -> float:
  """Exports a retrieval SavedModel of `version_dir`'s trained towers over
  `catalog` (items it was trained with by their ID embedding, new ones by
  their content) into `export_dir`; returns the seconds the embedding
  took.

  Raises:
    ValueError: the catalog's vectors do not fit the towers.
  """
  started = time.time()
  vectors = embed_catalog(os.path.join(version_dir, contract.ITEM_TOWERS_DIR),
                          catalog)
  embed_seconds = time.time() - started
  export.export_retrieval_model(export.PrecomputedTower(vectors["trigger"]),
                                catalog.item_ids, vectors["candidate"],
                                export_dir, config,
                                cold=vectors["cold"] > 0.5)
  return embed_seconds


def read_lineage(version_dir: str) -> Dict[str, Any]:
  """A version's lineage.json, or {} for a version exported without one."""
  path = os.path.join(version_dir, contract.LINEAGE_FILE)
  return example_io.read_json(path) if tf.io.gfile.exists(path) else {}


def copy_lineage(source_dir: str, target_dir: str, step: Dict[str, Any]
                 ) -> Dict[str, Any]:
  """The source version's lineage with one more step (a refresh, a
  rollback), written into the target version."""
  lineage = read_lineage(source_dir)
  lineage["steps"] = list(lineage.get("steps", [])) + [
      dict(step, at=example_io.utc_now())]
  example_io.write_json(os.path.join(target_dir, contract.LINEAGE_FILE),
                        lineage)
  return lineage


def _indexed_ids(version_dir: str) -> list:
  """The item ids a version indexes (its item metadata)."""
  with tf.io.gfile.GFile(os.path.join(version_dir,
                                      contract.ITEM_METADATA_FILE)) as f:
    return [item["item_id"] for item in json.load(f)["items"]]


def _subset(catalog: artifacts.Catalog, rows: np.ndarray
            ) -> artifacts.Catalog:
  return artifacts.Catalog(
      item_ids=catalog.item_ids[rows], text=catalog.text[rows],
      has_text=catalog.has_text[rows],
      topics=[catalog.topics[r] for r in rows],
      train_engagements=catalog.train_engagements[rows],
      visual=catalog.visual[rows], has_visual=catalog.has_visual[rows],
      titles=[catalog.titles[r] for r in rows],
      media_paths=[catalog.media_paths[r] for r in rows])


def _listed(ids) -> Dict[str, Any]:
  ids = sorted(str(i) for i in ids)
  return {"count": len(ids), "ids": ids[:LISTED]}


def _refresh_report(version_dir: str) -> Dict[str, Any]:
  """A version's refresh report, or {} for a version that came from
  training."""
  path = os.path.join(version_dir, contract.REFRESH_REPORT_FILE)
  return example_io.read_json(path) if tf.io.gfile.exists(path) else {}


def refresh_serving_model(catalog: artifacts.Catalog, serving_dir: str,
                          config: ExportConfig, catalog_uri: str = ""
                          ) -> Dict[str, Any]:
  """Publishes the next serving version: the newest version's towers over
  the whole current catalog.

  Args:
    catalog: the current catalog (ids, text and visual vectors, titles,
      topics, media), e.g. the catalog split of a CoEngagementPairs run.
    serving_dir: the model's folder of numeric versions (the Pusher's
      destination).
    config: the index (scann / brute_force, leaves) and top_k.
    catalog_uri: where `catalog` was read (the Examples artifact), recorded
      in the report; when the newest version was refreshed from the same
      one, nothing is published.

  Returns:
    The refresh report (also written to the version's
    contract.REFRESH_REPORT_FILE): source and new version, items indexed,
    added, removed and skipped (new without any content vector), timings;
    or, when up to date, {"up_to_date": True, "version": the newest}.

  Raises:
    FileNotFoundError: no version with item towers under serving_dir.
    ValueError: the catalog is empty, or its vectors do not fit the towers.
  """
  started = time.time()
  source_version, source_dir = latest_version(serving_dir)
  if catalog_uri and _refresh_report(source_dir).get("catalog") == catalog_uri:
    logging.info("refresh: version %d already indexes %s; nothing published",
                 source_version, catalog_uri)
    return {"up_to_date": True, "version": source_version,
            "catalog": catalog_uri}
  previous = set(_indexed_ids(source_dir))
  ids = [str(i) for i in catalog.item_ids]
  new = np.array([i not in previous for i in ids], bool)
  no_content = (catalog.has_text == 0) & (catalog.has_visual == 0)
  skipped = new & no_content
  for item_id in catalog.item_ids[skipped][:LISTED]:
    logging.warning("refresh: new item %s has no text or visual vector; "
                    "left out of the index", item_id)
  kept = _subset(catalog, np.flatnonzero(~skipped))
  if len(kept) < 2:
    raise ValueError(f"the catalog has {len(kept)} indexable item(s); an "
                     "index needs at least 2")
  version, staging = next_version(serving_dir, source_version, "refresh")
  embed_seconds = reindex_version(source_dir, kept, staging, config)
  metadata = export.write_item_metadata(staging, kept.item_ids, kept.titles,
                                        kept.topics, kept.media_paths,
                                        kept.train_engagements)
  io_utils.copy_dir(os.path.join(source_dir, contract.ITEM_TOWERS_DIR),
                    os.path.join(staging, contract.ITEM_TOWERS_DIR))
  copy_lineage(source_dir, staging, {"refreshed_from": source_version,
                                     "catalog": catalog_uri})
  current = set(ids)
  report = {
      "source_version": source_version, "version": version,
      "catalog": catalog_uri,
      "items_indexed": len(kept),
      "added": _listed(np.array(ids)[new & ~skipped]),
      "removed": _listed(previous - current),
      "skipped_without_content": _listed(np.array(ids)[skipped]),
      "items_without_text": int((kept.has_text == 0).sum()),
      "thumbnails": metadata["thumbnails"],
      "thumbnail_errors": metadata["thumbnail_errors"],
      "embed_seconds": round(embed_seconds, 2),
      "total_seconds": round(time.time() - started, 2)}
  with tf.io.gfile.GFile(os.path.join(staging, contract.REFRESH_REPORT_FILE),
                         "w") as f:
    json.dump(report, f, indent=1)
  tf.io.gfile.rename(staging, os.path.join(serving_dir, str(version)))
  logging.info("refresh: version %d (from %d): %d items, %d added, %d "
               "removed, %d skipped", version, source_version, len(kept),
               report["added"]["count"], report["removed"]["count"],
               report["skipped_without_content"]["count"])
  return report


@tfx.dsl.components.component
def CatalogRefresh(  # pylint: disable=invalid-name
    examples: InputArtifact[tfx.types.standard_artifacts.Examples],
    report: OutputArtifact[example_io.RunReport],
    serving_dir: Parameter[str],
    export_config: Parameter[str] = "{}",
    source_version: Parameter[int] = 0):
  """Indexes the catalog split of `examples` with the newest version under
  `serving_dir` and publishes the next version there (`export_config`:
  ExportConfig as JSON); the refresh report also goes into `report`.

  `source_version` is the newest version when the run was started (0:
  not known). It is part of TFX's cache key only: with the catalog
  unchanged, a new version to refresh from still makes a new execution."""
  del source_version
  config = config_lib.from_dict(ExportConfig, json.loads(export_config))
  catalog = artifacts.load_catalog(examples.uri)
  outcome = refresh_serving_model(catalog, serving_dir, config,
                                  catalog_uri=examples.uri)
  example_io.write_json(os.path.join(report.uri, contract.REPORT_FILE),
                        outcome)
