# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The baselines every model change is reported against, trained on the
same train pairs and scored by the same metrics (`trainer.ablation`). None
takes any of the product's trainer settings:

  popularity     every trigger gets the items most often co-engaged as a
                 candidate in the train pairs.
  co-visitation  the items co-engaged after the trigger most often in the
                 train pairs (score = the pair's occurrence count; ties,
                 such as never co-engaged items, by popularity).
  text k-NN      content only, no training: the items whose text embeddings
                 are nearest by cosine (what cold items can get without any
                 engagement).
  TFRS recipe    the TFRS retrieval tutorial, nothing tuned: item-ID query
                 and candidate embeddings (64-d, separate tables),
                 unnormalised dot product, `tfrs.tasks.Retrieval()` with its
                 defaults (in-batch softmax summed over the batch) and logQ
                 (`candidate_sampling_probability` = the candidate's
                 frequency in the batches: `data.candidate_probability`),
                 Adagrad lr 0.1, batch 1024, 3 epochs over the shuffled
                 distinct train pairs.

All expose `item_embeddings()` like `RelatedVideoModel`, or `scores()`
where an embedding would be catalog-wide (co-visitation), so retrieval and
metrics run through the same code (`validation.evaluate_model`).
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


class CoVisitationBaseline:
  """Scores (trigger, candidate) by the pair's occurrences in the train
  pairs, plus the candidate's popularity scaled below one occurrence, so
  that ties (never co-engaged items included) go to popular items.

  Args:
    pairs: train pairs (catalog indices and pair_count).
    num_items: catalog size.
  """

  def __init__(self, pairs: Pairs, num_items: int):
    from scipy import sparse  # pylint: disable=g-import-not-at-top
    self.counts = sparse.csr_matrix(
        (np.asarray(pairs.pair_count, np.float64),
         (pairs.trigger, pairs.candidate)), shape=(num_items, num_items))
    popularity = data.candidate_counts(pairs, num_items).astype(np.float64)
    self.tie_break = (popularity / (popularity.max() + 1.0) * 0.5).astype(
        np.float32)

  def scores(self, triggers: np.ndarray) -> np.ndarray:
    """[len(triggers), num_items] scores."""
    return (self.counts[triggers].toarray().astype(np.float32)
            + self.tie_break[None, :])


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
  """The TFRS recipe's two-tower on item IDs (see the module docstring).

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


def fit_co_visitation(catalog: Catalog, train_pairs: Pairs,
                      seed: int = 0) -> CoVisitationBaseline:
  """The co-visitation baseline (deterministic; `seed` is unused)."""
  del seed
  return CoVisitationBaseline(train_pairs, len(catalog))


def fit_text_knn(catalog: Catalog, train_pairs: Pairs,
                 seed: int = 0) -> TextKnnBaseline:
  """The text k-NN baseline (no training; `train_pairs` and `seed` are
  unused)."""
  del train_pairs, seed
  if not catalog.has_text.any():
    raise ValueError("the text k-NN baseline needs text embeddings; the "
                     "catalog has none")
  return TextKnnBaseline(catalog.text)


# The TFRS recipe's settings, as the tutorial has them.
RECIPE = {"dim": 64, "epochs": 3, "batch_size": 1024, "learning_rate": 0.1}


def fit_id_two_tower(catalog: Catalog, train_pairs: Pairs, seed: int,
                     logq: bool = True, dim: int = RECIPE["dim"],
                     epochs: int = RECIPE["epochs"],
                     batch_size: int = RECIPE["batch_size"],
                     learning_rate: float = RECIPE["learning_rate"]
                     ) -> IdTwoTower:
  """Trains the TFRS recipe (Adagrad) on the train pairs; `logq=False`
  leaves out the correction."""
  tf.keras.utils.set_random_seed(seed)
  probability = (data.candidate_probability(train_pairs, len(catalog))
                 if logq else None)
  model = IdTwoTower(len(catalog), dim, probability)
  model.compile(optimizer=tf.keras.optimizers.Adagrad(learning_rate))
  model.fit(data.training_dataset(train_pairs, batch_size, seed),
            epochs=epochs, verbose=0)
  return model


RECIPE_NAME = "TFRS recipe (ID two-tower + logQ)"
BASELINES = {
    "popularity": fit_popularity,
    "co-visitation counts": fit_co_visitation,
    "text k-NN": fit_text_knn,
    RECIPE_NAME: fit_id_two_tower,
}
