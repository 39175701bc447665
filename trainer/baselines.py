# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The baselines every model change is reported against, trained on the
same train pairs and scored by the same metrics (`trainer.ablation`):

  popularity   every trigger gets the items most often co-engaged as a
               candidate in the train pairs.
  text k-NN    content only, no training: the items whose text embeddings
               are nearest by cosine (what cold items can get without any
               engagement).
  ID two-tower the TFRS tutorial's retrieval model on item IDs only: one
               64-d embedding table per tower, unnormalised dot product,
               `tfrs.tasks.Retrieval()` with its defaults (summed in-batch
               softmax loss), Adagrad 0.1, batch 1024, 3 epochs; optionally
               with logQ correction by candidate frequency.

All expose `item_embeddings()` like `RelatedVideoModel`, so retrieval and
metrics run through the same code.
"""
from typing import Dict, Optional

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from components.artifacts import Catalog
from components.artifacts import Pairs
from trainer import data
from trainer import model as model_lib


class PopularityBaseline:
  """Scores every candidate by its train-pair candidate count, whatever the
  trigger: a 1-d "embedding" (trigger 1, candidate count) whose dot product
  ranks by popularity.

  Args:
    candidate_counts: [num_items] occurrences as a candidate in train pairs.
  """

  def __init__(self, candidate_counts: np.ndarray):
    self.candidate_counts = np.asarray(candidate_counts, np.float32)

  def item_embeddings(self) -> Dict[str, np.ndarray]:
    n = len(self.candidate_counts)
    return {"trigger": np.ones((n, 1), np.float32),
            "candidate": self.candidate_counts[:, None]}


class TextKnnBaseline:
  """Ranks candidates by the cosine of their text embedding with the
  trigger's; items without text score 0 against everything.

  Args:
    text: [num_items, d] text embeddings (zero rows where an item has none).
  """

  def __init__(self, text: np.ndarray):
    text = np.asarray(text, np.float32)
    norms = np.linalg.norm(text, axis=1, keepdims=True)
    self.unit = np.divide(text, norms, out=np.zeros_like(text),
                          where=norms > 0)

  def item_embeddings(self) -> Dict[str, np.ndarray]:
    return {"trigger": self.unit, "candidate": self.unit}


class IdTwoTower(tfrs.models.Model):
  """The plain TFRS two-tower on item IDs (see the module docstring).

  Args:
    num_items: catalog size.
    dim: embedding size.
    candidate_probability: [num_items] sampling probability for logQ
      correction; None trains without it.
  """

  def __init__(self, num_items: int, dim: int = 64,
               candidate_probability: Optional[np.ndarray] = None):
    super().__init__()
    self.num_items = num_items
    self.trigger_tower = tf.keras.layers.Embedding(num_items, dim)
    self.candidate_tower = tf.keras.layers.Embedding(num_items, dim)
    self.task = tfrs.tasks.Retrieval()
    self.candidate_probability = (
        None if candidate_probability is None
        else tf.constant(candidate_probability, tf.float32))

  def compute_loss(self, features: Dict[str, tf.Tensor],
                   training: bool = False) -> tf.Tensor:
    probability = (None if self.candidate_probability is None else
                   tf.gather(self.candidate_probability, features["candidate"]))
    return self.task(self.trigger_tower(features["trigger"]),
                     self.candidate_tower(features["candidate"]),
                     candidate_sampling_probability=probability,
                     compute_metrics=False)

  def item_embeddings(self) -> Dict[str, np.ndarray]:
    return model_lib.tower_embeddings(self.trigger_tower,
                                      self.candidate_tower, self.num_items)


def fit_popularity(catalog: Catalog, train_pairs: Pairs,
                   seed: int = 0) -> PopularityBaseline:
  """The popularity baseline (deterministic; `seed` is unused)."""
  del seed
  return PopularityBaseline(data.candidate_counts(train_pairs, len(catalog)))


def fit_text_knn(catalog: Catalog, train_pairs: Pairs,
                 seed: int = 0) -> TextKnnBaseline:
  """The text k-NN baseline (no training; `train_pairs` and `seed` are
  unused)."""
  del train_pairs, seed
  if not catalog.has_text.any():
    raise ValueError("the text k-NN baseline needs text embeddings; the "
                     "catalog has none")
  return TextKnnBaseline(catalog.text)


def fit_id_two_tower(catalog: Catalog, train_pairs: Pairs, seed: int,
                     logq: bool = True, dim: int = 64, epochs: int = 3,
                     batch_size: int = 1024,
                     learning_rate: float = 0.1) -> IdTwoTower:
  """Trains the plain TFRS ID two-tower on the train pairs."""
  tf.keras.utils.set_random_seed(seed)
  probability = (data.candidate_probability(train_pairs, len(catalog))
                 if logq else None)
  model = IdTwoTower(len(catalog), dim, probability)
  model.compile(optimizer=tf.keras.optimizers.Adagrad(learning_rate))
  model.fit(data.training_dataset(train_pairs, batch_size, seed),
            epochs=epochs, verbose=0)
  return model


BASELINES = {
    "popularity": fit_popularity,
    "text k-NN": fit_text_knn,
    "TFRS ID two-tower": lambda c, p, seed: fit_id_two_tower(c, p, seed,
                                                            logq=False),
    "TFRS ID two-tower + logQ": fit_id_two_tower,
}
