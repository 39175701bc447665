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
from typing import Dict, Optional

import numpy as np

import pipeline  # noqa: F401  (selects Keras 2 before TF loads)
import tensorflow as tf
import tensorflow_recommenders as tfrs

from pipeline.config import TrainerConfig


def opc_weights(trigger_count: tf.Tensor, alpha: float,
                beta: float) -> tf.Tensor:
  """Off-policy correction weight w = 1 / (alpha + count^beta)."""
  return 1.0 / (alpha + tf.pow(tf.cast(trigger_count, tf.float32), beta))


class ItemTower(tf.keras.Model):
  """Item index -> L2-normalised embedding fusing ID and text features.

  Args:
    num_items: catalog size.
    text: [num_items, d] frozen BERT vectors (zeros where missing).
    has_text: [num_items] 1 where the item has a text vector.
    config: id_dim, use_text, hidden_dim, output_dim.
  """

  def __init__(self, num_items: int, text: np.ndarray, has_text: np.ndarray,
               config: TrainerConfig, name: Optional[str] = None):
    super().__init__(name=name)
    self.id_embedding = (tf.keras.layers.Embedding(
        num_items, config.id_dim, name="id_embedding")
                         if config.id_dim else None)
    self.use_text = config.use_text
    if self.use_text:
      self.text = tf.constant(text, tf.float32)
      self.has_text = tf.constant(has_text[:, None], tf.float32)
      # A missing modality gets a learned "missing" vector plus the mask bit,
      # not a made-up embedding.
      self.missing_text = self.add_weight(
          name="missing_text", shape=(text.shape[1],),
          initializer="zeros")
    self.hidden = tf.keras.layers.Dense(config.hidden_dim, activation="relu")
    self.out = tf.keras.layers.Dense(config.output_dim)

  def call(self, item_index: tf.Tensor) -> tf.Tensor:
    parts = []
    if self.id_embedding is not None:
      parts.append(self.id_embedding(item_index))
    if self.use_text:
      mask = tf.gather(self.has_text, item_index)
      text = tf.gather(self.text, item_index)
      parts += [mask * text + (1.0 - mask) * self.missing_text, mask]
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
    num_items, text, has_text: the catalog (see ItemTower).
    config: the trainer config (weights, OPC, logQ, temperature).
    candidate_probability: [num_items] candidate sampling probability, used
      when config.logq_correction is on.
  """

  def __init__(self, num_items: int, text: np.ndarray, has_text: np.ndarray,
               config: TrainerConfig,
               candidate_probability: Optional[np.ndarray] = None):
    super().__init__()
    self.config = config
    self.num_items = num_items
    self.trigger_tower = ItemTower(num_items, text, has_text, config,
                                   name="trigger_tower")
    self.candidate_tower = ItemTower(num_items, text, has_text, config,
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
