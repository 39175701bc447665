# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Warm start: a new model begins where the last blessed one ended.

Every Trainer run saves its towers' weights beside the serving export
(`<model artifact>/warm_start/weights.npz`, with the item ids its ID tables
are indexed by). A later run given that model as `base_model` (TFX's
`LatestBlessedModelStrategy` resolver, see pipeline/pipeline.py) starts
from it:

- the ID embedding tables are carried over by item id
  (`tf.keras.utils.warmstart_embedding_matrix`): an item both catalogs hold
  keeps its row, an item new to the catalog gets a freshly initialised row,
  an item gone from the catalog is dropped;
- every other weight (the content projections, the "missing modality"
  vectors, the task weighting) is copied when its shape is unchanged and
  left at its initial value, with a log line, when the config changed it.

The ID tables' Adagrad accumulators (`trainer.optimizer:
adagrad_embeddings`, the default) are carried over by item id too
(`apply_optimizer_state`, after the model is compiled): a fresh
accumulator would make the first steps on every carried row as large as
on a new model's. New items start at Adagrad's initial value. The rest of
the optimizer's state (Adam's moments and step count for the dense
layers) starts afresh: Adam's bias correction makes its first steps
ordinary ones.
"""
import io
import logging
import os
from typing import Any, Dict, List, Optional

import numpy as np
import tensorflow as tf

from relvid import contract
from trainer import distribute

ITEM_IDS = "item_ids"


def state_path(model_uri: str) -> str:
  """Where a model artifact (its uri, or its `Format-Serving` folder)
  keeps the weights a later run warm-starts from."""
  if os.path.basename(model_uri.rstrip("/")) == contract.SERVING_MODEL_DIR:
    model_uri = os.path.dirname(model_uri.rstrip("/"))
  return os.path.join(model_uri, contract.WARM_START_FILE)


def _towers(model: Any):
  return (("trigger", model.trigger_tower),
          ("candidate", model.candidate_tower))


def named_variables(model: Any) -> Dict[str, tf.Variable]:
  """The model's trained variables by a name that does not depend on Keras's
  layer numbering, so that two models of one config match."""
  named = {"task_log_variances": model.log_variances}
  for side, tower in _towers(model):
    if tower.id_embedding is not None:
      named[f"{side}/id_embedding"] = tower.id_embedding.embeddings
    for layer_name in ("hidden", "out"):
      layer = getattr(tower, layer_name)
      if layer is not None:
        named[f"{side}/{layer_name}/kernel"] = layer.kernel
        named[f"{side}/{layer_name}/bias"] = layer.bias
    for content in tower.contents:
      named[f"{side}/{content.modality}/missing"] = content.missing
  return named


def _id_table_accumulators(model: Any, create: bool = False
                           ) -> Dict[str, tf.Variable]:
  """The Adagrad accumulators of the ID tables by `<side>/id_embedding/
  accumulator`, where the compiled model's optimizer has them (Keras's
  legacy Adagrad, alone or in TFRS's CompositeOptimizer); `create` makes
  them first (Keras makes slots on the first update)."""
  optimizer = getattr(model, "optimizer", None)
  parts = getattr(optimizer, "optimizers", [optimizer])
  found = {}
  for part in parts:
    if not isinstance(part, tf.keras.optimizers.legacy.Adagrad):
      continue
    for side, tower in _towers(model):
      if tower.id_embedding is None:
        continue
      table = tower.id_embedding.embeddings
      # A table sharded over parameter servers has a slot per shard, read
      # here as a list (carrying state into one is not supported: its
      # Adagrad starts afresh).
      shards = getattr(table, "variables", None)
      if shards and create:
        continue
      if create:
        part._create_all_weights([table])  # pylint: disable=protected-access
      try:
        found[f"{side}/id_embedding/accumulator"] = (
            [part.get_slot(shard, "accumulator") for shard in shards]
            if shards else part.get_slot(table, "accumulator"))
      except KeyError:  # not among this optimizer's variables
        continue
  return found


def save(model: Any, item_ids: np.ndarray, model_uri: str) -> str:
  """Writes the model's weights and the item ids of its ID tables under
  the model artifact (`state_path`); returns the path."""
  model.build_towers()
  buffer = io.BytesIO()
  np.savez(buffer, **{ITEM_IDS: np.asarray(item_ids).astype(str)},
           **{name: distribute.full_value(v)
              for name, v in named_variables(model).items()},
           **{name: distribute.full_value(v)
              for name, v in _id_table_accumulators(model).items()})
  path = state_path(model_uri)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(buffer.getvalue())
  return path


def load(model_uri: str) -> Optional[Dict[str, np.ndarray]]:
  """What `save` wrote under a model artifact, or None (with a log line)
  when that model has none (a model trained before warm start existed)."""
  path = state_path(model_uri)
  if not tf.io.gfile.exists(path):
    logging.warning("warm start: %s has no %s; training from scratch",
                    model_uri, contract.WARM_START_FILE)
    return None
  with tf.io.gfile.GFile(path, "rb") as f:
    with np.load(io.BytesIO(f.read()), allow_pickle=False) as state:
      return {name: state[name] for name in state.files}


def copy_weights(source: Any, target: Any) -> None:
  """Sets a model's weights, the ID tables' Adagrad accumulators and the
  cold boosts to another's of the same config and catalog: a distributed
  model's (sharded over parameter servers) into an ordinary one built
  outside the strategy, which the export and `save` then use. `target`
  must be compiled when the accumulators are to be copied."""
  target.build_towers()
  sources = {**named_variables(source), **_id_table_accumulators(source)}
  for name, variable in {**named_variables(target),
                         **_id_table_accumulators(target, create=True)
                         }.items():
    variable.assign(distribute.full_value(sources[name]))
  for (_, tower), (_, copy) in zip(_towers(source), _towers(target)):
    if tower.cold_boost is not None:
      copy.cold_boost.assign(distribute.full_value(tower.cold_boost))


def _by_item_id(variable: tf.Variable, base_ids: np.ndarray,
                new_ids: np.ndarray, value: np.ndarray) -> None:
  """Sets a [num_items, d] variable to `value`'s rows by item id, keeping
  its own rows for items `base_ids` lacks."""
  fresh = distribute.full_value(variable)
  variable.assign(tf.keras.utils.warmstart_embedding_matrix(
      tf.constant(base_ids), tf.constant(new_ids),
      tf.constant(value, variable.dtype),
      new_embeddings_initializer=lambda shape, dtype=None: fresh))


def apply_optimizer_state(model: Any, item_ids: np.ndarray,
                          base: Dict[str, np.ndarray]) -> List[str]:
  """Carries the ID tables' Adagrad accumulators of a saved base model
  into a compiled model's optimizer, by item id; returns their names."""
  new_ids = np.asarray(item_ids).astype(str)
  carried = []
  for name, slot in _id_table_accumulators(model, create=True).items():
    if name in base and base[name].shape[1] == slot.shape[1]:
      _by_item_id(slot, base[ITEM_IDS].astype(str), new_ids, base[name])
      carried.append(name)
  if carried:
    logging.info("warm start: optimizer state carried: %s",
                 ", ".join(carried))
  return carried


def apply(model: Any, item_ids: np.ndarray, base: Dict[str, np.ndarray]
          ) -> Dict[str, Any]:
  """Sets a new (untrained) model's weights from a saved base model.

  Args:
    model: a RelatedVideoModel over the catalog `item_ids`.
    item_ids: [num_items] the new catalog's item ids, in index order.
    base: what `load` returned.

  Returns:
    The report: items carried over, new and dropped, and the weights
    copied and left at their initial values (with why).
  """
  model.build_towers()
  new_ids = np.asarray(item_ids).astype(str)
  base_ids = base[ITEM_IDS].astype(str)
  kept = np.isin(new_ids, base_ids)
  copied: List[str] = []
  skipped: List[str] = []
  for name, variable in named_variables(model).items():
    if name not in base:
      skipped.append(f"{name} (not in the base model)")
      continue
    value = base[name]
    if name.endswith("/id_embedding"):
      if value.shape[1] != variable.shape[1]:
        skipped.append(f"{name} (width {value.shape[1]} -> "
                       f"{variable.shape[1]})")
        continue
      _by_item_id(variable, base_ids, new_ids, value)
    elif value.shape != tuple(variable.shape):
      skipped.append(f"{name} (shape {value.shape} -> "
                     f"{tuple(variable.shape)})")
      continue
    else:
      variable.assign(value)
    copied.append(name)
  report = {"carried_items": int(kept.sum()),
            "new_items": int((~kept).sum()),
            "dropped_items": int((~np.isin(base_ids, new_ids)).sum()),
            "copied": copied, "skipped": skipped}
  logging.info("warm start: %d items carried over, %d new, %d dropped; "
               "%d weights copied%s", report["carried_items"],
               report["new_items"], report["dropped_items"], len(copied),
               f", left at their initial values: {', '.join(skipped)}"
               if skipped else "")
  return report
