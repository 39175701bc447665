# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Two-tower related-video model: engagement + semantic tasks, with OPC.

The loss, in one place (`RelatedVideoModel.compute_loss`):

  L = a_eng * w_eng * mean_b[ o_b * CE(y_b, softmax(s(q_b, C) / T)) ]
    + a_sem * w_sem * mean_b[ o_b * CE(y'_b, softmax(s(q'_b, C') / T)) ]
    (+ s_eng + s_sem with adaptive weighting)

  q = trigger tower, C = candidate tower over the in-batch candidates plus
  `uniform_negatives` catalog items drawn uniformly (mixed negative
  sampling), T = temperature, s = dot product (of L2-normalised vectors when
  `normalize`). The engagement logits are corrected by log q(candidate)
  (logQ, q the mixture of the candidate frequency in the train pairs and
  the uniform sampling distribution). y_b = one-hot on the positive.
  o_b = 1 / (alpha + count^beta) when OPC is on (else 1), count = the
  trigger's or the candidate's, or o_b = the product of both weights
  (`opc_side`). The first term is over co-engagement pairs, the
  second over semantic pseudo-label pairs (BERT cosine >= threshold); with
  `semantic_targets: soft`, y'_b = softmax(BERT cosine(q'_b, C') / T_soft)
  instead of one-hot. a_t = 1 for fixed weighting, exp(-s_t) with learned
  s_t for uncertainty weighting (Kendall et al., 2018).

TFRS's Retrieval task sums its loss over the batch; here each task is a
per-example mean, so the ratio w_sem : w_eng means the same at any batch
size.
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
  """Item index -> embedding fusing the ID embedding with the content
  vectors.

  `fusion: dense` concatenates ID and content and projects them by two dense
  layers; `fusion: residual` adds an output_dim-wide ID embedding to the
  two-layer projection of the content (ID only when there is no content).
  The output is L2-normalised when `config.normalize`.

  Args:
    num_items: catalog size.
    features: modality name -> (vectors, present); see `content_features`.
    config: id_dim, hidden_dim, output_dim, fusion, normalize.
  """

  def __init__(self, num_items: int, features: ContentFeatures,
               config: TrainerConfig, name: Optional[str] = None):
    super().__init__(name=name)
    self.residual = config.fusion == "residual"
    self.normalize = config.normalize
    id_width = config.output_dim if self.residual else config.id_dim
    self.id_embedding = (tf.keras.layers.Embedding(
        num_items, id_width, name="id_embedding") if config.id_dim else None)
    self.contents = [MaskedContent(vectors, present, name=modality)
                     for modality, (vectors, present) in features.items()]
    if self.id_embedding is None and not self.contents:
      raise ValueError("ItemTower needs an ID embedding or a content feature")
    self.hidden = self.out = None
    if self.contents or not self.residual:
      self.hidden = tf.keras.layers.Dense(config.hidden_dim, activation="relu")
      # Residual: the content term starts at zero, so training starts from
      # the ID model and adds content where it helps (without an ID
      # embedding, content is all there is and starts as usual).
      from_id = self.residual and self.id_embedding is not None
      self.out = tf.keras.layers.Dense(
          config.output_dim,
          kernel_initializer="zeros" if from_id else "glorot_uniform")

  def call(self, item_index: tf.Tensor) -> tf.Tensor:
    parts = [content(item_index) for content in self.contents]
    if self.residual:
      fused = (self.out(self.hidden(tf.concat(parts, axis=-1)))
               if parts else 0.0)
      if self.id_embedding is not None:
        fused += self.id_embedding(item_index)
    else:
      if self.id_embedding is not None:
        parts.insert(0, self.id_embedding(item_index))
      fused = self.out(self.hidden(tf.concat(parts, axis=-1)))
    return tf.math.l2_normalize(fused, axis=-1) if self.normalize else fused


def tower_embeddings(trigger_tower: Any, candidate_tower: Any,
                     num_items: int) -> Dict[str, np.ndarray]:
  """Both towers applied to every catalog index 0..num_items-1."""
  everything = tf.range(num_items, dtype=tf.int64)
  return {"trigger": trigger_tower(everything).numpy(),
          "candidate": candidate_tower(everything).numpy()}


def _retrieval_task(config: TrainerConfig) -> tfrs.tasks.Retrieval:
  return tfrs.tasks.Retrieval(
      loss=tf.keras.losses.CategoricalCrossentropy(
          from_logits=True,
          reduction=tf.keras.losses.Reduction.SUM_OVER_BATCH_SIZE),
      temperature=config.temperature,
      remove_accidental_hits=config.remove_accidental_hits)


def soft_target_loss(scores: tf.Tensor, teacher_scores: tf.Tensor,
                     teacher_temperature: float,
                     sample_weight: tf.Tensor) -> tf.Tensor:
  """mean_b w_b * CE(softmax(teacher_b / T_t), softmax(scores_b)).

  Args:
    scores: [B, C] the model's logits (already divided by its temperature).
    teacher_scores: [B, C] the teacher's similarities (BERT cosines).
    teacher_temperature: T_t.
    sample_weight: [B].

  Returns:
    The weighted mean cross-entropy against the soft targets.
  """
  targets = tf.nn.softmax(teacher_scores / teacher_temperature, axis=-1)
  per_example = -tf.reduce_sum(targets * tf.nn.log_softmax(scores, axis=-1),
                               axis=-1)
  return tf.reduce_mean(sample_weight * per_example)


def mixed_candidates(candidate: tf.Tensor, sampled: tf.Tensor,
                     probability_table: Optional[tf.Tensor], num_items: int
                     ) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
  """Mixed negative sampling: the in-batch candidates followed by the
  uniformly sampled ones, and each column's logQ probability under the
  mixture q(j) = (B * p(j) + M / N) / (B + M) (B in-batch, M sampled, N
  catalog items, p(j) the candidate's share of the co-engagement
  occurrences in the train pairs, `data.candidate_probability`).

  Args:
    candidate: [B] in-batch positives (catalog indices).
    sampled: [M] uniformly drawn catalog indices (M may be 0).
    probability_table: [N] p(j), or None without logQ correction.
    num_items: N.

  Returns:
    ([B + M] candidate indices, [B + M] probabilities or None).
  """
  candidates = tf.concat([tf.cast(candidate, tf.int64),
                          tf.cast(sampled, tf.int64)], 0)
  if probability_table is None:
    return candidates, None
  batch = tf.cast(tf.shape(candidate)[0], tf.float32)
  extra = tf.cast(tf.shape(sampled)[0], tf.float32)
  probability = tf.gather(probability_table, candidates)
  return candidates, ((batch * probability + extra / num_items) /
                      (batch + extra))


class RelatedVideoModel(tfrs.models.Model):
  """Trigger and candidate towers trained on the engagement and semantic
  tasks (see the module docstring for the loss).

  Args:
    num_items, features: the catalog (see ItemTower).
    config: the trainer config (weights, OPC, logQ, temperature).
    candidate_probability: [num_items] candidate sampling probability, used
      when config.logq_correction is on.
    candidate_counts: [num_items] train-pair occurrences as a candidate, for
      candidate-side OPC.
  """

  def __init__(self, num_items: int, features: ContentFeatures,
               config: TrainerConfig,
               candidate_probability: Optional[np.ndarray] = None,
               candidate_counts: Optional[np.ndarray] = None):
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
    self.candidate_counts = tf.constant(
        np.zeros(num_items) if candidate_counts is None else candidate_counts,
        tf.float32)
    self.text = (tf.constant(features["text"][0], tf.float32)
                 if "text" in features else None)
    # s_t of uncertainty weighting (a_t = exp(-s_t)); unused when fixed.
    self.log_variances = self.add_weight(
        name="task_log_variances", shape=(2,), initializer="zeros",
        trainable=config.task_weighting == "uncertainty")
    # Per-epoch means shown by fit() and TensorBoard.
    self.watch = {name: tf.keras.metrics.Mean(name=name) for name in (
        "total_loss", "engagement_loss", "semantic_loss", "engagement_task_weight",
        "semantic_task_weight", "opc_weight")}

  def _weights(self, trigger: tf.Tensor, candidate: tf.Tensor,
               trigger_count: tf.Tensor) -> tf.Tensor:
    """o_b of the module docstring."""
    ones = tf.ones_like(tf.cast(trigger_count, tf.float32))
    if not self.config.opc:
      return ones
    alpha, beta, side = (self.config.opc_alpha, self.config.opc_beta,
                         self.config.opc_side)
    weight = ones
    if side in ("trigger", "both"):
      weight *= opc_weights(trigger_count, alpha, beta)
    if side in ("candidate", "both"):
      weight *= opc_weights(tf.gather(self.candidate_counts, candidate),
                            alpha, beta)
    return weight

  def _engagement_loss(self, features: Dict[str, tf.Tensor],
                       weight: tf.Tensor) -> tf.Tensor:
    trigger, candidate = features["trigger"], features["candidate"]
    sampled = tf.random.uniform([self.config.uniform_negatives], 0,
                                self.num_items, tf.int64)
    table = (self.candidate_probability if self.config.logq_correction
             else None)
    candidates, probability = mixed_candidates(candidate, sampled, table,
                                               self.num_items)
    return self.engagement_task(
        self.trigger_tower(trigger), self.candidate_tower(candidates),
        sample_weight=weight, candidate_sampling_probability=probability,
        candidate_ids=candidates, compute_metrics=False)

  def _semantic_loss(self, features: Dict[str, tf.Tensor],
                     weight: tf.Tensor) -> tf.Tensor:
    anchor, positive = features["sem_trigger"], features["sem_candidate"]
    queries = self.trigger_tower(anchor)
    candidates = self.candidate_tower(positive)
    if self.config.semantic_targets == "binary":
      return self.semantic_task(queries, candidates, sample_weight=weight,
                                candidate_ids=positive, compute_metrics=False)
    if self.text is None:
      raise ValueError("trainer.semantic_targets=soft needs use_text=true")
    scores = tf.matmul(queries, candidates,
                       transpose_b=True) / self.config.temperature
    teacher = tf.matmul(tf.gather(self.text, anchor),
                        tf.gather(self.text, positive), transpose_b=True)
    return soft_target_loss(scores, teacher,
                            self.config.semantic_soft_temperature, weight)

  def task_scales(self) -> tf.Tensor:
    """a_t per task (engagement, semantic) times the configured weights."""
    fixed = tf.constant([self.config.engagement_weight,
                         self.config.semantic_weight], tf.float32)
    if self.config.task_weighting == "fixed":
      return fixed
    return fixed * tf.exp(-self.log_variances)

  def compute_loss(self, features: Dict[str, tf.Tensor],
                   training: bool = False) -> tf.Tensor:
    scales = self.task_scales()
    loss = tf.constant(0.0)
    active = [0.0, 0.0]  # tasks in this loss, for uncertainty weighting
    if self.config.engagement_weight > 0:
      weight = self._weights(features["trigger"], features["candidate"],
                             features["trigger_count"])
      engagement = self._engagement_loss(features, weight)
      loss += scales[0] * engagement
      active[0] = 1.0
      self.watch["engagement_loss"].update_state(engagement)
      self.watch["opc_weight"].update_state(tf.reduce_mean(weight))
    if self.config.semantic_weight > 0 and "sem_trigger" in features:
      semantic = self._semantic_loss(
          features, self._weights(features["sem_trigger"],
                                  features["sem_candidate"],
                                  features["sem_trigger_count"]))
      loss += scales[1] * semantic
      active[1] = 1.0
      self.watch["semantic_loss"].update_state(semantic)
    if self.config.task_weighting == "uncertainty":
      loss += tf.reduce_sum(tf.constant(active) * self.log_variances)
    # Keras logs the last batch's `loss`; this is the epoch's mean.
    self.watch["total_loss"].update_state(loss)
    self.watch["engagement_task_weight"].update_state(scales[0])
    self.watch["semantic_task_weight"].update_state(scales[1])
    return loss

  def item_embeddings(self) -> Dict[str, np.ndarray]:
    """Trigger- and candidate-side embeddings of every catalog item."""
    return tower_embeddings(self.trigger_tower, self.candidate_tower,
                            self.num_items)
