# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Two-tower related-video model: engagement + semantic tasks, with OPC.

The loss, in one place (`RelatedVideoModel.compute_loss`):

  L = w_eng * mean_b[ o_b * CE(softmax(s(q_b, C) / T), c_b) ]
    + w_sem * mean_b[ o_b * CE(softmax(s(q'_b, C') / T), c'_b) ]

  q = trigger tower, C = candidate tower over the in-batch candidates
  (sampled softmax with in-batch negatives), T = temperature, s = dot product
  of L2-normalised vectors (cosine), o_b = 1 / (alpha + trigger_count^beta)
  when OPC is on (else 1). The first term is over co-engagement pairs, the
  second over semantic pseudo-label pairs (BERT cosine >= threshold).

TFRS's Retrieval task sums its loss over the batch; here each task uses
`SUM_OVER_BATCH_SIZE` instead, so both terms are per-example means and the
ratio w_sem : w_eng means the same at any batch size.
"""
from typing import Any, Dict, Optional, Tuple

import numpy as np

import tensorflow as tf
import tensorflow_recommenders as tfrs

from relvid.config import TrainerConfig


def opc_weights(trigger_count: tf.Tensor, alpha: float,
                beta: float) -> tf.Tensor:
  """Off-policy correction weight w = 1 / (alpha + count^beta)."""
  return 1.0 / (alpha + tf.pow(tf.cast(trigger_count, tf.float32), beta))


class MaskedContent(tf.keras.layers.Layer):
  """Item index -> one frozen content vector (text or visual) and its mask.

  A missing modality gets a learned "missing" vector plus the mask bit 0,
  not a made-up embedding.

  Args:
    vectors: [num_items, d] frozen vectors (zeros where missing).
    present: [num_items] 1 where the item has a vector.
  """

  def __init__(self, vectors: np.ndarray, present: np.ndarray,
               name: Optional[str] = None):
    super().__init__(name=name)
    self.vectors = tf.constant(vectors, tf.float32)
    self.present = tf.constant(present[:, None], tf.float32)
    self.missing = self.add_weight(name=f"missing_{name or 'content'}",
                                   shape=(vectors.shape[1],),
                                   initializer="zeros")

  def call(self, item_index: tf.Tensor) -> tf.Tensor:
    mask = tf.gather(self.present, item_index)
    vector = tf.gather(self.vectors, item_index)
    return tf.concat([mask * vector + (1.0 - mask) * self.missing, mask],
                     axis=-1)


ContentFeatures = Dict[str, Tuple[np.ndarray, np.ndarray]]


def content_features(catalog: Any, config: TrainerConfig) -> ContentFeatures:
  """The modalities the towers fuse, per the config's switches.

  Args:
    catalog: a `components.artifacts.Catalog`.
    config: use_text / use_visual.

  Returns:
    {"text": (vectors, present), "visual": (vectors, present)}, each only
    when switched on.

  Raises:
    ValueError: use_visual is on but the catalog has no visual vectors.
  """
  features: ContentFeatures = {}
  if config.use_text:
    features["text"] = (catalog.text, catalog.has_text)
  if config.use_visual:
    if not catalog.has_visual.any():
      raise ValueError(
          "trainer.use_visual=true but no catalog item has a "
          "visual_embedding: run with visual.enabled=true on items whose "
          "media_path can be decoded")
    features["visual"] = (catalog.visual, catalog.has_visual)
  return features


class ItemTower(tf.keras.Model):
  """Item index -> L2-normalised embedding fusing the ID embedding with the
  content vectors (concatenated, then projected by two dense layers).

  Args:
    num_items: catalog size.
    features: modality name -> (vectors, present); see `content_features`.
    config: id_dim, hidden_dim, output_dim.
  """

  def __init__(self, num_items: int, features: ContentFeatures,
               config: TrainerConfig, name: Optional[str] = None):
    super().__init__(name=name)
    self.id_embedding = (tf.keras.layers.Embedding(
        num_items, config.id_dim, name="id_embedding")
                         if config.id_dim else None)
    self.contents = [MaskedContent(vectors, present, name=modality)
                     for modality, (vectors, present) in features.items()]
    if self.id_embedding is None and not self.contents:
      raise ValueError("ItemTower needs an ID embedding or a content feature")
    self.hidden = tf.keras.layers.Dense(config.hidden_dim, activation="relu")
    self.out = tf.keras.layers.Dense(config.output_dim)

  def call(self, item_index: tf.Tensor) -> tf.Tensor:
    parts = [content(item_index) for content in self.contents]
    if self.id_embedding is not None:
      parts.insert(0, self.id_embedding(item_index))
    fused = self.out(self.hidden(tf.concat(parts, axis=-1)))
    return tf.math.l2_normalize(fused, axis=-1)


def _retrieval_task(config: TrainerConfig) -> tfrs.tasks.Retrieval:
  return tfrs.tasks.Retrieval(
      loss=tf.keras.losses.CategoricalCrossentropy(
          from_logits=True,
          reduction=tf.keras.losses.Reduction.SUM_OVER_BATCH_SIZE),
      temperature=config.temperature,
      remove_accidental_hits=config.remove_accidental_hits)


class RelatedVideoModel(tfrs.models.Model):
  """Trigger and candidate towers trained on the engagement and semantic
  tasks (see the module docstring for the loss).

  Args:
    num_items, features: the catalog (see ItemTower).
    config: the trainer config (weights, OPC, logQ, temperature).
    candidate_probability: [num_items] candidate sampling probability, used
      when config.logq_correction is on.
  """

  def __init__(self, num_items: int, features: ContentFeatures,
               config: TrainerConfig,
               candidate_probability: Optional[np.ndarray] = None):
    super().__init__()
    self.config = config
    self.num_items = num_items
    self.trigger_tower = ItemTower(num_items, features, config,
                                   name="trigger_tower")
    self.candidate_tower = ItemTower(num_items, features, config,
                                     name="candidate_tower")
    self.engagement_task = _retrieval_task(config)
    self.semantic_task = _retrieval_task(config)
    self.candidate_probability = (
        tf.constant(candidate_probability, tf.float32)
        if candidate_probability is not None else None)

  def _weights(self, trigger_count: tf.Tensor) -> tf.Tensor:
    if not self.config.opc:
      return tf.ones_like(tf.cast(trigger_count, tf.float32))
    return opc_weights(trigger_count, self.config.opc_alpha,
                       self.config.opc_beta)

  def _task_loss(self, task: tfrs.tasks.Retrieval, trigger: tf.Tensor,
                 candidate: tf.Tensor, trigger_count: tf.Tensor,
                 logq: bool) -> tf.Tensor:
    probability = None
    if logq and self.candidate_probability is not None:
      probability = tf.gather(self.candidate_probability, candidate)
    return task(self.trigger_tower(trigger), self.candidate_tower(candidate),
                sample_weight=self._weights(trigger_count),
                candidate_sampling_probability=probability,
                candidate_ids=candidate, compute_metrics=False)

  def compute_loss(self, features: Dict[str, tf.Tensor],
                   training: bool = False) -> tf.Tensor:
    loss = tf.constant(0.0)
    if self.config.engagement_weight > 0:
      loss += self.config.engagement_weight * self._task_loss(
          self.engagement_task, features["trigger"], features["candidate"],
          features["trigger_count"], self.config.logq_correction)
    if self.config.semantic_weight > 0 and "sem_trigger" in features:
      loss += self.config.semantic_weight * self._task_loss(
          self.semantic_task, features["sem_trigger"],
          features["sem_candidate"], features["sem_trigger_count"], False)
    return loss

  def item_embeddings(self) -> Dict[str, np.ndarray]:
    """Trigger- and candidate-side embeddings of every catalog item."""
    everything = tf.range(self.num_items, dtype=tf.int64)
    return {"trigger": self.trigger_tower(everything).numpy(),
            "candidate": self.candidate_tower(everything).numpy()}
