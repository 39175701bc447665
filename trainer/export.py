# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The serving SavedModel: trigger item id -> top-K related item ids + scores.

Signature `serving_default`:
  inputs:  trigger_id  string [batch]
  outputs: candidate_ids string [batch, K], scores float32 [batch, K]

The trigger tower embeds the trigger; an index over every catalog item's
candidate-tower embedding answers the nearest neighbours; the trigger itself
is never returned. `index: scann` uses the TFRS ScaNN layer (saved with the
`Scann` op namespace allowed; servers need the ScaNN ops), `brute_force` the
TFRS BruteForce layer (stock TF Serving loads it). An unknown trigger id is an
InvalidArgument error naming the id.
"""
import dataclasses
import json
import logging
import math
import os
import posixpath
import shutil
import tempfile
from typing import Any, Dict, Optional, Sequence

import numpy as np

import tensorflow as tf
import tensorflow_recommenders as tfrs
from tfx.utils import io_utils

from components import artifacts
from components import frames
from relvid import contract
from relvid.config import ExportConfig

INPUT = contract.SERVING_INPUT
OUTPUT_IDS = contract.SERVING_OUTPUT_IDS
OUTPUT_SCORES = contract.SERVING_OUTPUT_SCORES


# Up to this many candidates the default search covers every leaf.
SEARCH_EVERY_LEAF_UP_TO = 20_000


def scann_leaves(num_candidates: int, config: ExportConfig, k: int = 1):
  """(num_leaves, num_leaves_to_search): configured, or ~sqrt(n) and every
  leaf up to SEARCH_EVERY_LEAF_UP_TO candidates, n/4 above.

  The searched leaves must hold at least k candidates or ScaNN returns
  fewer than k for that query (and a batch's rows are cut to the fewest
  found): the search covers at least twice k leaves' worth of candidates.
  Leaves are unbalanced, so that is not always enough: on a 1,038-item
  sample, 8 of 32 leaves once left a batch 76 columns (with the cold
  index's) where the top 100 needs 100, and the evaluator failed. Small catalogs
  therefore search every leaf, which costs little at their size.
  """
  leaves = config.num_leaves or max(1, int(round(math.sqrt(num_candidates))))
  leaves = min(leaves, num_candidates)
  search = config.num_leaves_to_search or (
      leaves if num_candidates <= SEARCH_EVERY_LEAF_UP_TO
      else max(1, leaves // 4))
  enough = math.ceil(2 * k * leaves / num_candidates)
  return leaves, min(max(search, enough), leaves)


def build_index(candidate_embeddings: np.ndarray, item_ids: np.ndarray,
                k: int, config: ExportConfig,
                query_model: Optional[tf.keras.Model] = None):
  """A TFRS top-K layer (ScaNN or BruteForce) over the candidates."""
  if config.index == "scann":
    leaves, search = scann_leaves(len(item_ids), config, k)
    layer = tfrs.layers.factorized_top_k.ScaNN(
        query_model, k=k, num_leaves=leaves, num_leaves_to_search=search,
        num_reordering_candidates=max(config.num_reordering_candidates, k))
  else:
    layer = tfrs.layers.factorized_top_k.BruteForce(query_model, k=k)
  layer.index(candidates=tf.constant(candidate_embeddings, tf.float32),
              identifiers=tf.constant(list(item_ids), tf.string))
  return layer


class RelatedItemsModule(tf.Module):
  """What the SavedModel holds: id lookup, trigger tower and the index.

  Cold items (scored by content alone, with the cold boost; `cold`, given
  for towers whose last output column is the cold-boost column) get an
  exact BruteForce index of their own beside the main one, and the two
  top-K lists are merged by score: an approximate index partitions them
  among the warm items, and searching a fraction of the partitions drops
  most of their boosted scores. They are the few new items, so exact
  search over them is cheap.
  """

  def __init__(self, trigger_tower: tf.keras.Model, item_ids: np.ndarray,
               candidate_embeddings: np.ndarray, config: ExportConfig,
               cold: Optional[np.ndarray] = None):
    super().__init__()
    self.top_k = min(config.top_k, len(item_ids) - 1)
    self.lookup = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(item_ids), tf.string),
            tf.range(len(item_ids), dtype=tf.int64)), default_value=-1)
    self.trigger_tower = trigger_tower
    item_ids = np.asarray(item_ids)
    cold = (np.zeros(len(item_ids), bool) if cold is None
            else np.asarray(cold, bool))
    if cold.all():
      cold = np.zeros(len(item_ids), bool)
    main, side = np.flatnonzero(~cold), np.flatnonzero(cold)
    # The cold-boost column (the last) is 0 on every other item: the main
    # index leaves it out, and so does its query (the ANN is more accurate
    # without a dimension it does not need).
    self.main_dims = (candidate_embeddings.shape[1] - 1 if len(side)
                      else candidate_embeddings.shape[1])
    # One extra neighbour, because the trigger usually finds itself first.
    self.main_k = min(self.top_k + 1, len(main))
    self.index = build_index(candidate_embeddings[main, :self.main_dims],
                             item_ids[main], self.main_k, config)
    self.cold_k = min(self.top_k + 1, len(side))
    self.cold_index = (build_index(candidate_embeddings[side],
                                   item_ids[side], self.cold_k,
                                   dataclasses.replace(
                                       config, index="brute_force"))
                       if len(side) else None)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=INPUT)])
  def serve(self, trigger_id):
    index = self.lookup.lookup(trigger_id)
    unknown = tf.boolean_mask(trigger_id, index < 0)
    check = tf.debugging.Assert(tf.equal(tf.size(unknown), 0),
                                ["unknown trigger_id:", unknown])
    with tf.control_dependencies([check]):
      index = tf.identity(index)
    query = self.trigger_tower(index)
    scores, ids = self.index(query[:, :self.main_dims], k=self.main_k)
    if self.cold_index is not None:
      cold_scores, cold_ids = self.cold_index(query, k=self.cold_k)
      scores = tf.concat([scores, cold_scores], axis=1)
      ids = tf.concat([ids, cold_ids], axis=1)
    scores = tf.where(ids == trigger_id[:, tf.newaxis],
                      tf.constant(-np.inf, scores.dtype), scores)
    best = tf.math.top_k(scores, k=self.top_k)
    return {OUTPUT_IDS: tf.gather(ids, best.indices, batch_dims=1),
            OUTPUT_SCORES: best.values}


WARMUP_FILE = contract.WARMUP_FILE


class ItemTowersModule(tf.Module):
  """Both trained towers as a function of an item's id and content vectors.

  Signature `embed` (contract.ITEM_TOWERS_SIGNATURE):
    inputs:  item_id string [b], text float32 [b, dt], has_text float32 [b],
             visual float32 [b, dv], has_visual float32 [b]
    outputs: trigger, candidate float32 [b, output_dim (+1 with the
             rare-trigger correction, +1 with the cold boost)], cold
             float32 [b] (1: scored with the cold boost)
  An id from the training catalog keeps its trained ID embedding (unless it
  was cold); any other id is embedded by its content alone. What
  `relvid refresh` uses to index new items without retraining.

  Args:
    model: the trained `trainer.model.RelatedVideoModel`.
    item_ids: the training catalog's ids, in index order.
    text_dim, visual_dim: the content vectors' widths (0: none).
  """

  def __init__(self, model: tf.keras.Model, item_ids: np.ndarray,
               text_dim: int, visual_dim: int):
    super().__init__()
    self.trigger_tower = model.trigger_tower
    self.candidate_tower = model.candidate_tower
    self.lookup = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(item_ids), tf.string),
            tf.range(len(item_ids), dtype=tf.int64)), default_value=-1)
    vector = lambda d, name: tf.TensorSpec([None, d], tf.float32, name=name)
    bits = lambda name: tf.TensorSpec([None], tf.float32, name=name)
    self.embed = tf.function(self._embed, input_signature=[
        tf.TensorSpec([None], tf.string, name="item_id"),
        vector(text_dim, "text"), bits("has_text"),
        vector(visual_dim, "visual"), bits("has_visual")])

  def _embed(self, item_id, text, has_text, visual, has_visual):
    index = self.lookup.lookup(item_id)
    vectors = {"text": (text, has_text), "visual": (visual, has_visual)}
    candidate = self.candidate_tower.embed_vectors(index, vectors)
    return {"trigger": self.trigger_tower.embed_vectors(index, vectors),
            "candidate": candidate,
            "cold": cold_column(self.candidate_tower, candidate)}


def cold_column(candidate_tower: tf.keras.Model, candidates: Any) -> Any:
  """[n] 1 for the items the candidate tower scores with the cold boost (its
  last output column), 0 for all when the tower has no boost."""
  if candidate_tower.cold_boost is None:
    return candidates[:, 0] * 0
  return candidates[:, -1]


def export_item_towers(model: tf.keras.Model, item_ids: np.ndarray,
                       text_dim: int, visual_dim: int, export_dir: str
                       ) -> Optional[str]:
  """Saves `ItemTowersModule` under the serving version's
  contract.ITEM_TOWERS_DIR; None (nothing written) for ID-only towers,
  which cannot embed an item they were not trained with."""
  if not model.trigger_tower.contents:
    logging.info("ID-only towers: no %s (refresh needs a content path)",
                 contract.ITEM_TOWERS_DIR)
    return None
  module = ItemTowersModule(model, item_ids, text_dim, visual_dim)
  path = os.path.join(export_dir, contract.ITEM_TOWERS_DIR)
  tf.saved_model.save(module, path,
                      signatures={contract.ITEM_TOWERS_SIGNATURE: module.embed})
  tf.io.gfile.rename(os.path.join(path, SAVED_MODEL_GRAPH),
                     os.path.join(path, contract.ITEM_TOWERS_GRAPH_FILE))
  return path


SAVED_MODEL_GRAPH = "saved_model.pb"


def load_item_towers(towers_dir: str) -> Any:
  """The towers saved by `export_item_towers` (their signature
  contract.ITEM_TOWERS_SIGNATURE), loaded from a local copy with the graph
  under its SavedModel name; `towers_dir` may be local or gs://. Keep the
  returned object while using its signature."""
  local = tempfile.mkdtemp(prefix="relvid-towers-")
  try:
    io_utils.copy_dir(towers_dir, local)
    os.rename(os.path.join(local, contract.ITEM_TOWERS_GRAPH_FILE),
              os.path.join(local, SAVED_MODEL_GRAPH))
    return tf.saved_model.load(local)
  finally:
    shutil.rmtree(local, ignore_errors=True)


class PrecomputedTower(tf.keras.Model):
  """A trigger tower over vectors computed beforehand (benchmarks, and
  re-indexing stored tower outputs): catalog index -> its vector."""

  def __init__(self, vectors: np.ndarray):
    super().__init__()
    self.vectors = tf.Variable(vectors, trainable=False)

  def call(self, index):
    return tf.gather(self.vectors, index)


def write_warmup_requests(export_dir: str, model_name: str,
                          item_ids: np.ndarray, count: int = 3) -> str:
  """TF Serving's warmup file: PredictionLog records with real requests, so a
  server runs (and traces) the model before taking traffic."""
  from tensorflow_serving.apis import predict_pb2  # pylint: disable=g-import-not-at-top
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=g-import-not-at-top
  path = os.path.join(export_dir, WARMUP_FILE)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.TFRecordWriter(path) as writer:
    for batch in (list(item_ids[:1]), list(item_ids[:count])):
      request = predict_pb2.PredictRequest()
      request.model_spec.name = model_name
      request.model_spec.signature_name = contract.SERVING_SIGNATURE
      request.inputs[INPUT].CopyFrom(
          tf.make_tensor_proto(np.array(batch, dtype=object)))
      log = prediction_log_pb2.PredictionLog(
          predict_log=prediction_log_pb2.PredictLog(request=request))
      writer.write(log.SerializeToString())
  return path


def export_retrieval_model(trigger_tower: tf.keras.Model,
                           item_ids: np.ndarray,
                           candidate_embeddings: np.ndarray,
                           export_dir: str, config: ExportConfig,
                           cold: Optional[np.ndarray] = None) -> str:
  """Writes the serving SavedModel (with warmup requests) to `export_dir`;
  `cold`: the items scored with the cold boost (see RelatedItemsModule)."""
  module = RelatedItemsModule(trigger_tower, item_ids, candidate_embeddings,
                              config, cold)
  options = tf.saved_model.SaveOptions(namespace_whitelist=["Scann"])
  tf.saved_model.save(module, export_dir,
                      signatures={contract.SERVING_SIGNATURE: module.serve},
                      options=options)
  write_warmup_requests(export_dir, config.model_name, item_ids)
  return export_dir


THUMBNAIL_PIXELS = 160


def _thumbnail(media_path: str) -> bytes:
  """A JPEG of the media's first frame, at most THUMBNAIL_PIXELS a side."""
  import cv2  # pylint: disable=g-import-not-at-top
  (frame,) = frames.read_frames(media_path, count=1)
  scale = THUMBNAIL_PIXELS / max(frame.shape[:2])
  if scale < 1:
    frame = cv2.resize(frame, (max(1, round(frame.shape[1] * scale)),
                               max(1, round(frame.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
  ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  if not ok:
    raise ValueError(f"cannot encode a thumbnail of {media_path}")
  return encoded.tobytes()


def write_item_metadata(export_dir: str, item_ids: Sequence[str],
                        titles: Sequence[str],
                        topics: Sequence[Sequence[str]],
                        media_paths: Sequence[str],
                        engagements: Sequence[int]) -> Dict[str, int]:
  """Writes the version's `assets.extra/items.json` (id, title, topics,
  thumbnail and train engagements of every indexed item) and a first-frame
  thumbnail per item with media, so whatever shows this version's results
  shows its own catalog (the page starts with the most engaged items).

  Returns:
    Counts: items, thumbnails, and thumbnail_errors (media that could not be
    decoded; logged, and the item has no thumbnail).
  """
  folder = os.path.join(export_dir, os.path.dirname(
      contract.ITEM_METADATA_FILE))
  tf.io.gfile.makedirs(os.path.join(folder, contract.THUMBNAIL_DIR))
  items, counts = [], {"items": len(item_ids), "thumbnails": 0,
                       "thumbnail_errors": 0}
  for index, item_id in enumerate(item_ids):
    entry = {"item_id": str(item_id), "title": titles[index],
             "topics": list(topics[index]), "thumbnail": None,
             "engagements": int(engagements[index])}
    if media_paths[index]:
      name = posixpath.join(contract.THUMBNAIL_DIR, f"{index}.jpg")
      try:
        image = _thumbnail(media_paths[index])
      except Exception as e:  # pylint: disable=broad-except
        # Any media OpenCV cannot turn into a JPEG (MediaError, cv2.error,
        # storage errors): counted and logged; the item has no thumbnail.
        counts["thumbnail_errors"] += 1
        logging.warning("no thumbnail for item %s: %s", item_id, e)
      else:
        with tf.io.gfile.GFile(os.path.join(folder, name), "wb") as f:
          f.write(image)
        entry["thumbnail"] = name
        counts["thumbnails"] += 1
    items.append(entry)
  with tf.io.gfile.GFile(os.path.join(export_dir,
                                      contract.ITEM_METADATA_FILE), "w") as f:
    json.dump({"items": items}, f, ensure_ascii=False)
  return counts


def export_serving_version(model: tf.keras.Model,
                           catalog: artifacts.Catalog, export_dir: str,
                           config: ExportConfig,
                           vectors: Optional[Dict[str, np.ndarray]] = None
                           ) -> Dict[str, int]:
  """One complete serving version of a trained model over `catalog`: the
  retrieval SavedModel, the item towers (for refreshes) and the item
  metadata.

  Args:
    model: a trained RelatedVideoModel.
    catalog: the items it indexes, in the model's catalog order.
    export_dir: the version folder.
    config: index and top_k.
    vectors: the model's `item_embeddings()`, when the caller has them.

  Returns:
    The item metadata counts (see `write_item_metadata`).
  """
  vectors = vectors or model.item_embeddings()
  cold = cold_column(model.candidate_tower, vectors["candidate"]) > 0.5
  export_retrieval_model(model.trigger_tower, catalog.item_ids,
                         vectors["candidate"], export_dir, config, cold)
  export_item_towers(model, catalog.item_ids, catalog.text.shape[1],
                     catalog.visual.shape[1], export_dir)
  return write_item_metadata(export_dir, catalog.item_ids, catalog.titles,
                             catalog.topics, catalog.media_paths,
                             catalog.train_engagements)

