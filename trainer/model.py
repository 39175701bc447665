# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Two-tower related-video model: engagement + semantic tasks, with OPC.

The loss, in one place (`RelatedVideoModel.compute_loss`):

  L = a_eng * w_eng * mean_b[ o_b * CE(y_b, softmax(s(q_b, C) / T)) ]
    + a_sem * w_sem * mean_b[ o_b * CE(y'_b, softmax(s(q'_b, C') / T)) ]
    (+ a_eng * w_eng * mean_b[ o_b * CE(y_b, softmax(s(g_b, sg(C)) / T)) ]
       with trigger_content: fallback)
    (+ s_eng + s_sem with adaptive weighting)

  q = trigger tower, C = candidate tower over the in-batch candidates plus
  `uniform_negatives` catalog items drawn uniformly (mixed negative
  sampling), T = temperature, s = dot product (of L2-normalised vectors when
  `normalize`). With logQ correction each task's logits are corrected by
  log q(candidate), q the probability that a batch slot holds that
  candidate (`data.batch_frequency`: its share of the rows the batches are
  built from; for engagement mixed with the uniform sampling distribution).
  y_b = one-hot on the positive. With `trigger_content: fallback` a warm
  trigger's q is its ID embedding alone and g, the trigger tower's content
  projection, is the query of cold triggers, trained against the candidate
  vectors held fixed (sg = stop-gradient).
  o_b = 1 / (alpha + count^beta) when OPC is on (else 1), count = the
  trigger's or the candidate's, or o_b = the product of both weights
  (`opc_side`); with `opc_normalize` (default) divided by its mean over
  the batch, so that mean_b[o_b * CE] is the o-weighted average of CE
  (self-normalised importance weights). The first term is over
  co-engagement pairs, the second over semantic pseudo-label pairs (BERT
  cosine >= threshold); with `semantic_targets: soft`,
  y'_b = softmax(BERT cosine(q'_b, C') / T_soft) instead of one-hot.
  a_t = 1 for fixed weighting, exp(-s_t) with learned s_t for uncertainty
  weighting (Kendall et al., 2018).

TFRS's Retrieval task sums its loss over the batch; here each task is a
per-example mean, so the ratio w_sem : w_eng means the same at any batch
size.

Under synchronous training (`trainer.distribution: multi_worker_mirrored`)
each replica holds a slice of the batch: the in-batch candidates C and C',
the logQ probabilities and the OPC normalisation are taken over the whole
global batch (`global_batch`, `global_mean`) and each mean_b divides by
the global batch size, so every replica's loss is its queries' share of
the one-process loss on the same global batch, and their gradients sum
to its gradient.
"""
import logging
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

import tensorflow as tf
import tensorflow_recommenders as tfrs

from relvid.config import TrainerConfig
from trainer import averaging
from trainer import synchronous


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
    self.modality = name
    self.vectors = tf.constant(vectors, tf.float32)
    self.present = tf.constant(present[:, None], tf.float32)
    self.missing = self.add_weight(name=f"missing_{name or 'content'}",
                                   shape=(vectors.shape[1],),
                                   initializer="zeros")

  def call(self, item_index: tf.Tensor) -> tf.Tensor:
    return self.encode(tf.gather(self.vectors, item_index),
                       tf.gather(self.present, item_index)[:, 0])

  def encode(self, vector: tf.Tensor, present: tf.Tensor) -> tf.Tensor:
    """The tower input of given vectors [b, d] and present bits [b]."""
    mask = tf.cast(present, tf.float32)[:, tf.newaxis]
    return tf.concat([mask * vector + (1.0 - mask) * self.missing, mask],
                     axis=-1)


ContentFeatures = Dict[str, Tuple[np.ndarray, np.ndarray]]


def id_embedding_variables(model: tf.keras.Model, complement: bool = False
                           ) -> List[tf.Variable]:
  """The trainable ID embedding tables of the model's towers (attributes
  `trigger_tower` and `candidate_tower`, each with `id_embedding` or None),
  or with `complement` every other trainable variable: the two groups of
  `trainer.optimizer: adagrad_embeddings`."""
  tables = [v for tower in (model.trigger_tower, model.candidate_tower)
            if tower.id_embedding is not None
            for v in tower.id_embedding.trainable_variables]
  if not complement:
    return tables
  ids = {v.ref() for v in tables}
  return [v for v in model.trainable_variables if v.ref() not in ids]


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

  Cold start: with content features and `cold_items: content`, an item
  that is not `warm` (no train-period engagement) has its ID embedding
  zeroed, in training and after, so it is embedded by content alone; with
  `id_dropout` > 0 each training example loses its ID embedding with that
  probability, so the content path learns to rank without it.

  Args:
    num_items: catalog size.
    features: modality name -> (vectors, present); see `content_features`.
    config: id_dim, hidden_dim, output_dim, fusion, normalize, cold_items,
      id_dropout, content_dropout.
    warm: [num_items], true for items with train-period engagements (None:
      every item is).
    side: "trigger" or "candidate", for `cold_boost` (after training, the
      outputs get one more column: 1 on cold candidates, cold_boost on
      triggers).
    score_column: [num_items] a column appended to the outputs after
      training, before the cold-boost column (the rare-trigger popularity
      correction, `rare_trigger_columns`); None: none.
    new_item_score: that column's value for an item the model was not
      trained with (`embed_vectors` with index -1).
  """

  def __init__(self, num_items: int, features: ContentFeatures,
               config: TrainerConfig, warm: Optional[np.ndarray] = None,
               side: str = "candidate", name: Optional[str] = None,
               score_column: Optional[np.ndarray] = None,
               new_item_score: float = 0.0):
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
    # Without content there is nothing to fall back on: ID-only towers keep
    # every ID embedding (a cold item's is its untrained initial value).
    content_fallback = (bool(self.contents) and config.cold_items == "content"
                        and warm is not None)
    self.id_mask = tf.constant(
        (np.asarray(warm, np.float32) if content_fallback
         else np.ones(num_items, np.float32))[:, None])
    self.id_dropout = config.id_dropout if self.contents else 0.0
    self.content_dropout = (tf.keras.layers.Dropout(config.content_dropout)
                            if self.contents and config.content_dropout > 0
                            else None)
    # The cold-boost column (after training only): the candidate's is 1 on
    # cold items, the trigger's is the boost, so their dot product adds
    # cold_boost to a cold candidate's score.
    # A variable, so that `calibrate_cold_boost` can set it after training
    # and the export saves the value.
    self.cold_boost = (tf.Variable(config.cold_boost, trainable=False,
                                   dtype=tf.float32, name="cold_boost")
                       if content_fallback and (config.cold_boost > 0 or
                                                config.cold_share > 0)
                       else None)
    self.side = side
    self.score_column = (None if score_column is None else
                         tf.constant(np.asarray(score_column, np.float32)))
    self.new_item_score = float(new_item_score)
    # trainer.trigger_content=fallback: the content is the query of cold
    # triggers only (see `fuse`); the model trains it by `content_query`.
    self.fallback = (side == "trigger" and content_fallback and
                     config.trigger_content == "fallback" and
                     self.residual and self.id_embedding is not None)
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

  def call(self, item_index: tf.Tensor, training: bool = False
           ) -> tf.Tensor:
    parts = self._content_parts(item_index, training)
    ids, warm, with_id = self._id_vectors(item_index, training=training)
    return self._with_score_columns(self.fuse(ids, parts, with_id),
                                    item_index, 1.0 - warm, training)

  def content_query(self, item_index: tf.Tensor, training: bool = False
                    ) -> tf.Tensor:
    """The content projection alone (a cold trigger's query under
    `fallback`), for every given item whatever its ID embedding."""
    return self.fuse(None, self._content_parts(item_index, training))

  def _content_parts(self, item_index: tf.Tensor, training: bool
                     ) -> List[tf.Tensor]:
    """Each modality's tower input, with content_dropout in training."""
    parts = [content(item_index) for content in self.contents]
    if self.content_dropout is not None:
      parts = [self.content_dropout(part, training=training)
               for part in parts]
    return parts

  def _id_vectors(self, item_index: tf.Tensor,
                  known: Optional[tf.Tensor] = None, training: bool = False
                  ) -> Tuple[Optional[tf.Tensor], tf.Tensor, tf.Tensor]:
    """(ID vectors or None, [b, 1] warm bits, [b, 1] bits of the rows that
    keep their ID vector): the ID embedding of warm items, zeros for the
    rest (`known`: [b, 1], 0 for items the model was not trained with) and
    for the rows id_dropout drops in training (in the third bits only for a
    `fallback` tower, the one `fuse` reads them for)."""
    warm = tf.gather(self.id_mask, item_index)
    if known is not None:
      warm *= known
    if self.id_embedding is None:
      return None, warm, warm
    ids = self.id_embedding(item_index) * warm
    with_id = warm
    if training and self.id_dropout > 0:
      # Per example, not per unit: the whole ID vector goes, so the
      # content path alone has to score that example.
      kept = tf.random.uniform(tf.shape(item_index)) >= self.id_dropout
      ids *= tf.cast(kept, ids.dtype)[:, tf.newaxis]
      # Only where fuse reads it: other towers keep the graph, and so the
      # op-level random seeds, they had before trigger_content existed.
      if self.fallback:
        with_id = warm * tf.cast(kept, warm.dtype)[:, tf.newaxis]
    return ids, warm, with_id

  def _with_score_columns(self, output: tf.Tensor, item_index: tf.Tensor,
                          cold: tf.Tensor, training: bool) -> tf.Tensor:
    """`output` plus, after training only, the score column (of
    `item_index`, -1 for an item the model was not trained with) and the
    cold-boost column, in that order (the cold one last, where
    `export.cold_column` reads it)."""
    if training:
      return output
    columns = [output]
    if self.score_column is not None:
      index = tf.cast(item_index, tf.int64)
      known = tf.gather(self.score_column, tf.maximum(index, 0))
      columns.append(tf.where(index >= 0, known, tf.cast(
          self.new_item_score, known.dtype))[:, tf.newaxis])
    if self.cold_boost is not None:
      columns.append(cold if self.side == "candidate"
                     else tf.ones_like(cold) * tf.cast(self.cold_boost,
                                                       output.dtype))
    return tf.concat(columns, axis=-1) if len(columns) > 1 else output

  def embed_vectors(self, item_index: tf.Tensor,
                    vectors: Dict[str, Tuple[tf.Tensor, tf.Tensor]]
                    ) -> tf.Tensor:
    """The tower output for items given by their content vectors (items
    new to the catalog, or whose content changed).

    Args:
      item_index: [b] training-catalog index, -1 for an item the model was
        not trained with (embedded by content alone, as a cold item is).
      vectors: modality -> ([b, d] vectors, [b] present bits), for each
        modality the tower uses.

    Returns:
      [b, output_dim], what `call` returns for a catalog item with these
      vectors.

    Raises:
      ValueError: the tower has no content path, or a modality is missing.
    """
    if not self.contents:
      raise ValueError("an ID-only tower cannot embed new items: train with "
                       "trainer.use_text or trainer.use_visual")
    missing = [c.modality for c in self.contents if c.modality not in vectors]
    if missing:
      raise ValueError(f"no {', '.join(missing)} vectors for the tower")
    parts = [content.encode(*vectors[content.modality])
             for content in self.contents]
    ids, warm, with_id = self._id_vectors(
        tf.maximum(item_index, 0),
        known=tf.cast(item_index >= 0, tf.float32)[:, tf.newaxis])
    return self._with_score_columns(self.fuse(ids, parts, with_id),
                                    item_index, 1.0 - warm, False)

  def fuse(self, ids: Optional[tf.Tensor], parts: List[tf.Tensor],
           with_id: Optional[tf.Tensor] = None) -> tf.Tensor:
    """The tower output from the ID vectors (None without an ID embedding;
    zeros for items embedded by content alone) and the content parts; a
    `fallback` tower adds the content only to rows without an ID vector
    (`with_id` 0)."""
    if self.residual:
      fused = (self.out(self.hidden(tf.concat(parts, axis=-1)))
               if parts else 0.0)
      if parts and self.fallback and with_id is not None:
        fused *= 1.0 - with_id
      if ids is not None:
        fused += ids
    else:
      if ids is not None:
        parts = [ids] + parts
      fused = self.out(self.hidden(tf.concat(parts, axis=-1)))
    return tf.math.l2_normalize(fused, axis=-1) if self.normalize else fused


def tower_embeddings(trigger_tower: Any, candidate_tower: Any,
                     num_items: int) -> Dict[str, np.ndarray]:
  """Both towers applied to every catalog index 0..num_items-1."""
  everything = tf.range(num_items, dtype=tf.int64)
  return {"trigger": trigger_tower(everything).numpy(),
          "candidate": candidate_tower(everything).numpy()}


def cold_share_at(boost: float, warm_scores: np.ndarray,
                  cold_scores: np.ndarray, k: int) -> float:
  """The mean share of cold items in the top k when cold scores gain
  `boost`.

  Args:
    boost: added to every cold score.
    warm_scores: [t, w] each trigger's warm-candidate scores, descending.
    cold_scores: [t, c] its cold-candidate scores, descending.
    k: the cut-off, <= w.

  Returns:
    mean over triggers of |cold in top k| / k: m cold items are in a top k
    exactly when the m-th best cold score beats the (k-m+1)-th best warm.
  """
  most = min(k, cold_scores.shape[1])
  cold = cold_scores[:, :most] + boost
  warm = warm_scores[:, k - 1::-1][:, :most]  # (k-m+1)-th best, m = 1..
  return float(np.mean(np.sum(cold > warm, axis=1)) / k)


def calibrate_cold_boost(model: "RelatedVideoModel", share: float, k: int,
                         num_triggers: int = 2000, seed: int = 0) -> float:
  """Sets the towers' cold boost so that cold items take `share` of the top
  k on average over a sample of warm triggers (bisection; the share grows
  with the boost), and returns it.

  Without cold items, or with k or fewer warm ones, there is nothing to
  calibrate: the boost stays as it is (logged).

  Raises:
    ValueError: the model has no cold boost (no content path, cold_items
      id, or neither cold_boost nor cold_share configured).
  """
  trigger_tower, candidate_tower = model.trigger_tower, model.candidate_tower
  if trigger_tower.cold_boost is None:
    raise ValueError("the towers have no cold boost to calibrate")
  warm = candidate_tower.id_mask.numpy()[:, 0] > 0
  if warm.all() or warm.sum() <= k:
    logging.warning("no cold boost: a cold share needs cold items and more "
                    "than %d warm ones (%d warm of %d)", k, int(warm.sum()),
                    len(warm))
    return float(trigger_tower.cold_boost.numpy())
  rng = np.random.default_rng(seed)
  warm_ids = np.flatnonzero(warm)
  triggers = rng.choice(warm_ids, min(num_triggers, len(warm_ids)),
                        replace=False)
  vectors = candidate_tower(tf.range(len(warm), dtype=tf.int64)).numpy()
  query = trigger_tower(tf.constant(triggers, tf.int64)).numpy()
  # The served scores without the boost: every column but the last.
  scores = query[:, :-1] @ vectors[:, :-1].T
  scores[np.arange(len(triggers)), triggers] = -np.inf  # never itself
  warm_scores = -np.sort(-scores[:, warm], axis=1)
  cold_scores = -np.sort(-scores[:, ~warm], axis=1)
  reachable = cold_share_at(np.inf, warm_scores, cold_scores, k)
  if share >= reachable:
    logging.warning("cold share %.3f of the top %d is out of reach (%d cold "
                    "items): boosting them all in", share, k,
                    cold_scores.shape[1])
  low, high = 0.0, float(np.max(warm_scores[:, 0]) - np.min(cold_scores))
  if cold_share_at(low, warm_scores, cold_scores, k) < share:
    for _ in range(50):
      middle = (low + high) / 2
      if cold_share_at(middle, warm_scores, cold_scores, k) < share:
        low = middle
      else:
        high = middle
    boost = high
  else:
    boost = low  # cold items take that share without a boost
  trigger_tower.cold_boost.assign(boost)
  candidate_tower.cold_boost.assign(boost)
  logging.info("cold boost %.4f: cold items take %.3f of the top %d (target "
               "%.3f)", boost, cold_share_at(boost, warm_scores,
                                             cold_scores, k), k, share)
  return boost


def rare_trigger_columns(config: TrainerConfig,
                         trigger_engagements: np.ndarray,
                         candidate_probability: np.ndarray
                         ) -> Dict[str, Tuple[np.ndarray, float]]:
  """The towers' score columns of the rare-trigger popularity correction.

  Their product adds -g * c / (c + n_t) * T * log q(j) to the score of
  candidate j for trigger t (g = rare_trigger_logq, c =
  rare_trigger_engagements, n_t = t's train-period engagements, T = the
  temperature, in whose units the scores are): with the full logQ
  correction the trained scores estimate log p(j | t), popularity
  included, and a trigger with few engagements of its own gets that
  popularity from what its content shares with other triggers, not from
  its own evidence.

  The candidate side is -log q(j) / S and the trigger side carries S,
  S = max_j -log q(j): the product is the same, and the candidate column
  stays in [0, 1] beside the embedding's own scale, which keeps a
  partitioned (ScaNN) index from being dominated by it.

  Args:
    config: rare_trigger_logq, rare_trigger_engagements, temperature.
    trigger_engagements: [num_items] train-period engagements per item.
    candidate_probability: [num_items] the logQ probabilities q(j).

  Returns:
    side -> ([num_items] column, the value for an item the model was not
    trained with): "trigger" g * c / (c + n_t) * T * S (a new item has no
    engagements: g * T * S), "candidate" -log q(j) / S (a new item is
    scored as the rarest candidate: 1).
  """
  g, c = config.rare_trigger_logq, config.rare_trigger_engagements
  counts = np.maximum(np.asarray(trigger_engagements, np.float64), 0.0)
  minus_log_q = -np.log(np.asarray(candidate_probability, np.float64))
  scale = max(float(np.max(minus_log_q)), 1e-12)
  share = g * config.temperature * scale
  return {"trigger": (share * c / (c + counts), share),
          "candidate": (minus_log_q / scale, 1.0)}


def _replica_context() -> Optional[tf.distribute.ReplicaContext]:
  """The replica context of a synchronous strategy with several replicas,
  else None (one process, or a parameter-server worker step, which holds
  the whole batch)."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return None
  return context


def replicas_in_sync() -> int:
  """The synchronous replicas each training step is split over (1 in one
  process and on a parameter-server worker)."""
  context = _replica_context()
  return 1 if context is None else context.num_replicas_in_sync


def global_batch(*tensors: tf.Tensor) -> List[tf.Tensor]:
  """Every replica's rows of `tensors`, this replica's first and then the
  others' in replica order: the whole global batch, so that in-batch
  negatives mean what they mean in one process. Unchanged without
  several synchronous replicas.

  Args:
    *tensors: [b, ...] this replica's rows (the same b for all of them).

  Returns:
    [B, ...] per tensor, B the sum of every replica's b; the gradient of
    each row flows back to the replica that computed it.
  """
  context = _replica_context()
  if context is None:
    return list(tensors)
  tensors = [_placed(tensor) for tensor in tensors]
  size = _placed(tf.shape(tensors[0])[:1])
  sizes = context.all_gather(size, axis=0)
  start = tf.reduce_sum(sizes[:context.replica_id_in_sync_group])
  end = start + size[0]
  gathered = []
  for tensor in tensors:
    rows = context.all_gather(tensor, axis=0)
    # Slices, not tf.gather: all_gather's gradient takes dense tensors.
    gathered.append(tf.concat([rows[start:end], rows[:start], rows[end:]],
                              0))
  return gathered


def _placed(tensor: tf.Tensor) -> tf.Tensor:
  """`tensor` with a device: all_gather sends each value to its own
  device, and a one-device worker's replica ops have none."""
  if tensor.device:
    return tensor
  with tf.device(tf.distribute.get_strategy().extended.worker_devices[0]):
    return tf.identity(tensor)


def global_mean(values: tf.Tensor) -> tf.Tensor:
  """The mean of `values` over the global batch (every replica's)."""
  context = _replica_context()
  if context is None:
    return tf.reduce_mean(values)
  total, count = context.all_reduce(
      tf.distribute.ReduceOp.SUM,
      [tf.reduce_sum(values), tf.cast(tf.size(values), values.dtype)])
  return total / count


def _retrieval_task(config: TrainerConfig) -> tfrs.tasks.Retrieval:
  """In-batch softmax returning the weighted loss per example
  (`batch_mean` reduces it): tf.distribute strategies refuse Keras's
  SUM_OVER_BATCH_SIZE reduction."""
  return tfrs.tasks.Retrieval(
      loss=tf.keras.losses.CategoricalCrossentropy(
          from_logits=True, reduction=tf.keras.losses.Reduction.NONE),
      temperature=config.temperature,
      remove_accidental_hits=config.remove_accidental_hits)


def batch_mean(per_example: tf.Tensor) -> tf.Tensor:
  """sum_b w_b * l_b / B over the global batch: Keras's SUM_OVER_BATCH_SIZE
  in one process, and the same under a tf.distribute strategy (a
  parameter-server worker step holds the whole batch; a synchronous
  replica's share is divided by the global batch size)."""
  return tf.nn.compute_average_loss(per_example)


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
  return batch_mean(sample_weight * per_example)


def mixed_candidates(candidate: tf.Tensor, sampled: tf.Tensor,
                     probability_table: Optional[tf.Tensor], num_items: int
                     ) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
  """Mixed negative sampling: the in-batch candidates followed by the
  uniformly sampled ones, and each column's logQ probability under the
  mixture q(j) = (B * p(j) + M / N) / (B + M) (B in-batch, M sampled, N
  catalog items, p(j) the probability that an in-batch slot holds j,
  `data.candidate_probability`).

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
    candidate_probability: [num_items] probability that an engagement batch
      slot holds each item, for logQ when config.logq_correction is on.
    candidate_counts: [num_items] train-pair occurrences as a candidate, for
      candidate-side OPC.
    warm: [num_items], true for items with train-period engagements (the
      towers' cold-start fallback; None: every item is warm).
    semantic_probability: [num_items] probability that a semantic batch
      slot holds each item (its share of the pseudo-label positives), for
      the semantic task's logQ with binary targets; None: no correction.
    trigger_engagements: [num_items] train-period engagements per item, for
      the rare-trigger popularity correction (`rare_trigger_columns`,
      with config.rare_trigger_logq > 0, config.logq_correction and
      candidate_probability; None: no correction).
  """

  def __init__(self, num_items: int, features: ContentFeatures,
               config: TrainerConfig,
               candidate_probability: Optional[np.ndarray] = None,
               candidate_counts: Optional[np.ndarray] = None,
               warm: Optional[np.ndarray] = None,
               semantic_probability: Optional[np.ndarray] = None,
               trigger_engagements: Optional[np.ndarray] = None):
    super().__init__()
    self.config = config
    self.num_items = num_items
    columns = (rare_trigger_columns(config, trigger_engagements,
                                    candidate_probability)
               # It takes back popularity that logQ put in the scores.
               if config.rare_trigger_logq > 0 and config.logq_correction
               and trigger_engagements is not None
               and candidate_probability is not None else {})

    def tower(side):
      column, new_item = columns.get(side, (None, 0.0))
      return ItemTower(num_items, features, config, warm, side=side,
                       name=f"{side}_tower", score_column=column,
                       new_item_score=new_item)
    self.trigger_tower = tower("trigger")
    self.candidate_tower = tower("candidate")
    self.engagement_task = _retrieval_task(config)
    self.semantic_task = _retrieval_task(config)
    self.candidate_probability = (
        tf.constant(candidate_probability, tf.float32)
        if candidate_probability is not None else None)
    self.semantic_probability = (
        tf.constant(semantic_probability, tf.float32)
        if semantic_probability is not None else None)
    self.candidate_counts = tf.constant(
        np.zeros(num_items) if candidate_counts is None else candidate_counts,
        tf.float32)
    self.text = (tf.constant(features["text"][0], tf.float32)
                 if "text" in features else None)
    # s_t of uncertainty weighting (a_t = exp(-s_t)); unused when fixed.
    self.log_variances = self.add_weight(
        name="task_log_variances", shape=(2,), initializer="zeros",
        trainable=config.task_weighting == "uncertainty")
    # Per-epoch means shown by fit() and TensorBoard. Under synchronous
    # replicas each replica reports the means over every replica; fit()
    # would add those up ("sum", its default off TPU) under
    # MultiWorkerMirroredStrategy and not under MirroredStrategy.
    self.distribute_reduction_method = "first"
    # The moving average of the dense weights (`trainer/averaging.py`),
    # made by `track_weight_average` once the variables exist.
    self.weight_average: Optional[averaging.WeightAverage] = None
    # Synchronous rounds' gradient sums (`trainer/synchronous.py`), made by
    # `track_gradient_sums` under parameter servers.
    self.gradient_sums: Optional[synchronous.GradientSums] = None
    self.watch = {name: tf.keras.metrics.Mean(name=name) for name in (
        "total_loss", "engagement_loss", "semantic_loss", "cold_query_loss",
        "engagement_task_weight",
        "semantic_task_weight", "opc_weight")}

  def _weights(self, trigger: tf.Tensor, candidate: tf.Tensor,
               trigger_count: tf.Tensor) -> tf.Tensor:
    """o_b of the module docstring."""
    return self._normalised(self._opc_weights(trigger, candidate,
                                              trigger_count))

  def _normalised(self, raw: tf.Tensor) -> tf.Tensor:
    """The raw OPC weights over their batch mean with opc_normalize: they
    then move the loss between examples without shrinking it (the ID
    tables' Adagrad is tuned to the loss's scale, engagement_weight, and
    the raw weights' mean is far below 1)."""
    if self.config.opc and self.config.opc_normalize:
      return raw / global_mean(raw)
    return raw

  def _opc_weights(self, trigger: tf.Tensor, candidate: tf.Tensor,
                   trigger_count: tf.Tensor) -> tf.Tensor:
    """1 / (alpha + count^beta) per example as opc_side says (1 without
    OPC), before any normalisation."""
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

  def _logq(self, probability: Optional[tf.Tensor]) -> Optional[tf.Tensor]:
    """q ** logq_strength: what TFRS's logQ subtracts the log of, so the
    logits lose logq_strength * log q (None: no correction)."""
    if probability is None or self.config.logq_strength == 1.0:
      return probability
    return probability ** self.config.logq_strength

  def _engagement_loss(self, features: Dict[str, tf.Tensor],
                       weight: tf.Tensor, training: bool
                       ) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
    """(L_eng, the cold-trigger query's loss under trigger_content=
    fallback or None)."""
    trigger, candidate = features["trigger"], features["candidate"]
    sampled = tf.random.uniform([self.config.uniform_negatives], 0,
                                self.num_items, tf.int64)
    table = (self.candidate_probability if self.config.logq_correction
             else None)
    in_batch = tf.cast(candidate, tf.int64)
    size = tf.shape(in_batch)[0]
    queries = self.trigger_tower(trigger, training=training)
    vectors = self.candidate_tower(tf.concat([in_batch, sampled], 0),
                                   training=training)
    in_batch, in_batch_vectors = global_batch(in_batch, vectors[:size])
    candidates, probability = mixed_candidates(in_batch, sampled, table,
                                               self.num_items)
    candidate_vectors = tf.concat([in_batch_vectors, vectors[size:]], 0)
    engagement = batch_mean(self.engagement_task(
        queries, candidate_vectors,
        sample_weight=weight,
        candidate_sampling_probability=self._logq(probability),
        candidate_ids=candidates, compute_metrics=False))
    if not self.trigger_tower.fallback:
      return engagement, None
    # trigger_content=fallback: the triggers' content alone as queries, so
    # that a cold trigger's query learns what its item's triggers engage
    # with; the candidates held fixed, so this loss moves neither them nor
    # the warm triggers' queries.
    cold_query = batch_mean(self.engagement_task(
        self.trigger_tower.content_query(trigger, training=training),
        tf.stop_gradient(candidate_vectors), sample_weight=weight,
        candidate_sampling_probability=self._logq(probability),
        candidate_ids=candidates, compute_metrics=False))
    return engagement, cold_query

  def _semantic_loss(self, features: Dict[str, tf.Tensor],
                     weight: tf.Tensor, training: bool) -> tf.Tensor:
    anchor, positive = features["sem_trigger"], features["sem_candidate"]
    queries = self.trigger_tower(anchor, training=training)
    positive, candidates = global_batch(
        positive, self.candidate_tower(positive, training=training))
    if self.config.semantic_targets == "binary":
      probability = (
          tf.gather(self.semantic_probability, positive)
          if self.config.logq_correction and
          self.semantic_probability is not None else None)
      return batch_mean(self.semantic_task(
          queries, candidates, sample_weight=weight,
          candidate_sampling_probability=self._logq(probability),
          candidate_ids=positive, compute_metrics=False))
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
    # Under synchronous replicas each task loss is this replica's share of
    # the global batch's, and the replicas' gradients are summed: a term
    # every replica adds whole is added as a share too. The watched means
    # are averaged over the replicas (`distribute_reduction_method`), so
    # they record the shares times the replicas.
    replicas = replicas_in_sync()
    loss = tf.constant(0.0)
    active = [0.0, 0.0]  # tasks in this loss, for uncertainty weighting
    if self.config.engagement_weight > 0:
      raw = self._opc_weights(features["trigger"], features["candidate"],
                              features["trigger_count"])
      weight = self._normalised(raw)
      engagement, cold_query = self._engagement_loss(features, weight,
                                                     training)
      loss += scales[0] * engagement
      if cold_query is not None:
        loss += scales[0] * cold_query
        self.watch["cold_query_loss"].update_state(replicas * cold_query)
      active[0] = 1.0
      self.watch["engagement_loss"].update_state(replicas * engagement)
      # The raw weights' mean: how far OPC alone would shrink the loss.
      self.watch["opc_weight"].update_state(tf.reduce_mean(raw))
    if self.config.semantic_weight > 0 and "sem_trigger" in features:
      semantic = self._semantic_loss(
          features, self._weights(features["sem_trigger"],
                                  features["sem_candidate"],
                                  features["sem_trigger_count"]), training)
      loss += scales[1] * semantic
      active[1] = 1.0
      self.watch["semantic_loss"].update_state(replicas * semantic)
    if self.config.task_weighting == "uncertainty":
      loss += tf.reduce_sum(tf.constant(active) *
                            self.log_variances) / replicas
    self.watch["total_loss"].update_state(replicas * loss)
    self.watch["engagement_task_weight"].update_state(scales[0])
    self.watch["semantic_task_weight"].update_state(scales[1])
    return loss

  def train_step(self, inputs: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    """TFRS's step (the batch's gradients, the optimizer's update), then the
    weight average's update (when there is one)."""
    self.apply_gradients(self.batch_gradients(inputs))
    return self.step_logs()

  def batch_gradients(self, inputs: Dict[str, tf.Tensor]
                      ) -> List[Optional[tf.Tensor]]:
    """The gradients of one batch's loss (regularization losses included,
    as TFRS's step adds them) for `trainable_variables`."""
    with tf.GradientTape() as tape:
      loss = self.compute_loss(inputs, training=True)
      loss += tf.reduce_sum([tf.reduce_sum(l) for l in self.losses])
    return tape.gradient(loss, self.trainable_variables)

  def apply_gradients(self, gradients: List[Optional[tf.Tensor]]) -> None:
    """The optimizer's update with `gradients`, then the weight average's."""
    self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
    if self.weight_average is not None:
      self.weight_average.update()

  def step_logs(self) -> Dict[str, tf.Tensor]:
    """The metrics, with the epoch's mean loss as `loss` and `total_loss`
    (TFRS's step returns the batch's, which fit() would show for the last
    batch only)."""
    logs = {metric.name: metric.result() for metric in self.metrics}
    logs["loss"] = logs["total_loss"] = self.watch["total_loss"].result()
    return logs

  def track_gradient_sums(self, strategy: tf.distribute.Strategy,
                          batches: int) -> synchronous.GradientSums:
    """Builds the towers and makes the sums of synchronous rounds of
    `batches` batches (under parameter servers); `fit` then trains in
    rounds (`make_train_function`)."""
    self.build_towers()
    self.gradient_sums = synchronous.GradientSums(
        self.trainable_variables, strategy, batches)
    return self.gradient_sums

  def add_batch_gradients(self, inputs: Dict[str, tf.Tensor]) -> None:
    """A synchronous round's share: one batch's gradients, summed."""
    self.gradient_sums.add(self.batch_gradients(inputs))

  def apply_round(self) -> Dict[str, tf.Tensor]:
    """A synchronous round's update: the mean of its batches' gradients."""
    self.apply_gradients(self.gradient_sums.take_mean())
    return self.step_logs()

  def make_train_function(self, force: bool = False):
    """Keras's, or with gradient sums a synchronous round per step."""
    if self.gradient_sums is None:
      return super().make_train_function(force)
    if self.train_function is None or force:
      self.train_function = synchronous.round_function(
          self, self._cluster_coordinator, self.gradient_sums.batches)
    return self.train_function

  def build_towers(self) -> None:
    """Creates the towers' variables (Keras builds layers on first call)."""
    for tower in (self.trigger_tower, self.candidate_tower):
      tower(tf.zeros([1], tf.int32))

  def track_weight_average(self, decay: float) -> averaging.WeightAverage:
    """Builds the towers and starts the moving average of every trainable
    variable but the ID tables (under the strategy's scope, when there is
    one); the train step then updates it."""
    self.build_towers()
    self.weight_average = averaging.WeightAverage(
        id_embedding_variables(self, complement=True), decay)
    logging.info("weight average: decay %g over %d variables (%d values)",
                 decay, len(self.weight_average.followed),
                 sum(int(np.prod(v.shape))
                     for v in self.weight_average.followed))
    return self.weight_average

  def item_embeddings(self) -> Dict[str, np.ndarray]:
    """Trigger- and candidate-side embeddings of every catalog item."""
    return tower_embeddings(self.trigger_tower, self.candidate_tower,
                            self.num_items)
