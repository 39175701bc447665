# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Training entry points: `train()` (plain function) and `run_fn()` (the TFX
Trainer's GenericExecutor hook).

The Trainer's `examples` input is the CoEngagementPairs artifact: its
`train` split feeds the engagement task, its `catalog` split the towers'
features and the semantic pseudo-labels. `custom_config` carries the
TrainerConfig, ExportConfig and EvalConfig (the validation metrics) as dicts.
TensorBoard logs go to the run's `model_run_dir`.
"""
import io
import logging
import os
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from components import artifacts
from components import example_io
from relvid import config as config_lib
from relvid import contract
from trainer import data
from trainer import export
from trainer import model as model_lib
from trainer import validation
from trainer import warm_start

EMBEDDINGS_FILE = contract.ITEM_EMBEDDINGS_FILE


class _EpochLog(tf.keras.callbacks.Callback):
  """One progress line per epoch: the losses, the validation recall and
  topic match when there is validation, and the time."""

  def on_epoch_begin(self, epoch, logs=None):
    self._started = time.time()

  def on_epoch_end(self, epoch, logs=None):
    logs = logs or {}
    shown = ", ".join(f"{name} {value:.4f}" for name, value in logs.items()
                      if name in ("loss", "engagement_loss", "semantic_loss")
                      or name.startswith(("val_recall@", "val_topic_match@")))
    logging.info("epoch %d/%d: %s (%.1f s)", epoch + 1,
                 self.params.get("epochs", 0), shown,
                 time.time() - self._started)


def train(catalog: artifacts.Catalog, train_pairs: artifacts.Pairs,
          config: config_lib.TrainerConfig,
          semantic: Optional[Tuple[np.ndarray, np.ndarray]] = None,
          eval_config: Optional[config_lib.EvalConfig] = None,
          log_dir: Optional[str] = None,
          monitor_pairs: Optional[artifacts.Pairs] = None,
          base: Optional[Dict[str, np.ndarray]] = None
          ) -> model_lib.RelatedVideoModel:
  """Fits the two-tower model on the engagement (and semantic) task.

  Args:
    catalog: the item catalog (text vectors, ids).
    train_pairs: train-split co-engagement pairs; `config.validation` says
      which of them pick the training length (`validation.split_validation`).
    config: model, task weights, OPC and optimisation settings.
    semantic: the semantic pseudo-label pairs (anchor, positive catalog
      indices) mined by the pipeline; None mines them here, in memory.
    eval_config: the metrics computed on the validation pairs (ks, popular
      and tail fractions); defaults to EvalConfig().
    log_dir: where TensorBoard logs go (None: none are written).
    monitor_pairs: without a validation split, pairs whose metrics are
      logged per epoch for watching only (the Trainer passes the eval
      split, as Keras's `validation_data` does); never used to stop.
    base: a model to start from (`warm_start.load`): its weights carried
      over (`warm_start.apply`) and at most config.warm_start_epochs
      epochs trained; None trains from scratch.

  Returns:
    The trained model (the kept epoch's weights, `validation.EpochSelection`, or
    with config.refit a model trained that many epochs on every pair), with
    `kept_epoch`, `selection_history` (the Keras history of the run that
    chose the training length: `history` unless refitted) and
    `warm_start` (`warm_start.apply`'s report, None from scratch).
  """
  tf.keras.utils.set_random_seed(config.seed)
  eval_config = eval_config or config_lib.EvalConfig()
  if config.semantic_weight <= 0:
    semantic = None
  else:
    if semantic is None:
      semantic = data.mine_semantic_pairs(
          catalog.text, catalog.has_text, config.semantic_threshold,
          config.semantic_neighbors, index=config.semantic_index)
    logging.info("semantic task: %d pseudo-label pairs (cosine >= %.2f)",
                 len(semantic[0]), config.semantic_threshold)
    if not len(semantic[0]):
      raise ValueError(
          "trainer.semantic_weight > 0 but no item pair reaches "
          f"trainer.semantic_threshold={config.semantic_threshold}")
  fit_pairs, validation_pairs = validation.split_validation(train_pairs,
                                                           config)
  callbacks: List[tf.keras.callbacks.Callback] = []
  stopper = None
  if len(validation_pairs):
    stopper = validation.epoch_selection(config, eval_config,
                                         validation_pairs)
    callbacks += [validation.ValidationMetrics(catalog, validation_pairs,
                                               eval_config), stopper]
  elif monitor_pairs is not None and len(monitor_pairs):
    callbacks.append(validation.ValidationMetrics(catalog, monitor_pairs,
                                                  eval_config))
  callbacks.append(_EpochLog())
  if log_dir:
    # As the TFX taxi template does: scalars per epoch, comparable across
    # runs in TensorBoard (`tensorboard --logdir <model_run_dir>`).
    callbacks.append(tf.keras.callbacks.TensorBoard(
        log_dir=log_dir, update_freq="epoch", write_graph=False,
        profile_batch=0))
  epochs = (config.epochs if base is None
            else min(config.epochs, config.warm_start_epochs))
  model = _fit(catalog, fit_pairs, config, semantic, epochs, callbacks, base)
  # The epoch whose weights the model holds (1-based).
  kept = (stopper.kept_epoch + 1 if stopper is not None
          and stopper.kept_epoch is not None
          else len(model.history.epoch))
  # The run that chose the training length; with a refit, `history` is
  # the refit's (no validation).
  selection = model.history
  if config.refit and stopper is not None:
    logging.info("refit: %d epochs on all %d train pairs", kept,
                 len(train_pairs))
    tf.keras.utils.set_random_seed(config.seed)
    model = _fit(catalog, train_pairs, config, semantic, kept, [_EpochLog()],
                 base)
  model.selection_history = selection
  model.kept_epoch = kept
  if config.cold_share > 0 and config.cold_boost == 0:
    if model.trigger_tower.cold_boost is None:
      logging.info("no cold boost: the towers have no content path or keep "
                   "cold items' ID embeddings (trainer.cold_items=id)")
    else:
      model_lib.calibrate_cold_boost(model, config.cold_share,
                                     config.cold_share_k, seed=config.seed)
  return model


def _fit(catalog: artifacts.Catalog, pairs: artifacts.Pairs,
         config: config_lib.TrainerConfig,
         semantic: Optional[Tuple[np.ndarray, np.ndarray]], epochs: int,
         callbacks: List[tf.keras.callbacks.Callback],
         base: Optional[Dict[str, np.ndarray]] = None
         ) -> model_lib.RelatedVideoModel:
  """A new model fitted on `pairs` for at most `epochs` epochs (logQ and
  OPC counts from those pairs), from `base`'s weights when given."""
  num_items = len(catalog)
  model = model_lib.RelatedVideoModel(
      num_items, model_lib.content_features(catalog, config), config,
      data.candidate_probability(pairs, num_items),
      data.candidate_counts(pairs, num_items),
      warm=catalog.train_engagements > 0,
      semantic_probability=(None if semantic is None else
                            data.batch_frequency(semantic[1], num_items)))
  model.warm_start = (None if base is None else
                      warm_start.apply(model, catalog.item_ids, base))
  model.compile(optimizer=make_optimizer(config, model))
  if base is not None:
    model.warm_start["optimizer_state"] = warm_start.apply_optimizer_state(
        model, catalog.item_ids, base)
  dataset = data.training_dataset(
      pairs, config.batch_size, config.seed, semantic,
      data.trigger_counts_by_item(pairs, num_items))
  model.fit(dataset, epochs=epochs, verbose=0, callbacks=callbacks)
  return model


def make_optimizer(config: config_lib.TrainerConfig,
                   model: Optional[model_lib.RelatedVideoModel] = None
                   ) -> tf.keras.optimizers.Optimizer:
  """config.optimizer at config.learning_rate; `adagrad_embeddings` needs
  the model, whose ID embedding tables get Adagrad at
  config.embedding_learning_rate and the rest Adam."""
  if config.optimizer == "adagrad":
    return tf.keras.optimizers.Adagrad(config.learning_rate)
  if config.optimizer == "adagrad_embeddings":
    if model is None:
      raise ValueError("trainer.optimizer=adagrad_embeddings needs the model")
    import tensorflow_recommenders as tfrs  # pylint: disable=g-import-not-at-top
    return tfrs.experimental.optimizers.CompositeOptimizer([
        (tf.keras.optimizers.legacy.Adagrad(config.embedding_learning_rate),
         lambda: model_lib.id_embedding_variables(model)),
        (tf.keras.optimizers.legacy.Adam(config.learning_rate),
         lambda: model_lib.id_embedding_variables(model, complement=True)),
    ])
  return tf.keras.optimizers.Adam(config.learning_rate)


def write_item_embeddings(model_run_dir: str, item_ids: np.ndarray,
                          embeddings: Dict[str, np.ndarray]) -> str:
  """item_embeddings.npz (item_ids, trigger, candidate) via tf.io.gfile."""
  buffer = io.BytesIO()
  np.savez(buffer, item_ids=item_ids.astype(str), **embeddings)
  path = os.path.join(model_run_dir, EMBEDDINGS_FILE)
  tf.io.gfile.makedirs(model_run_dir)
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(buffer.getvalue())
  return path


def read_item_embeddings(model_run_dir: str) -> Dict[str, np.ndarray]:
  """What `write_item_embeddings` wrote."""
  with tf.io.gfile.GFile(os.path.join(model_run_dir, EMBEDDINGS_FILE),
                         "rb") as f:
    with np.load(io.BytesIO(f.read()), allow_pickle=False) as vectors:
      return {k: vectors[k] for k in vectors.files}


def _examples_uri(file_pattern: str) -> str:
  """`<uri>/Split-train/*` -> `<uri>`."""
  return os.path.dirname(os.path.dirname(file_pattern))


def _history_lists(history: tf.keras.callbacks.History
                   ) -> Dict[str, List[float]]:
  return {name: [float(v) for v in values]
          for name, values in history.history.items()}


def write_lineage(serving_model_dir: str, examples_uri: str,
                  **fields: Any) -> Dict[str, Any]:
  """assets.extra/lineage.json of a trained serving version: the model
  artifact it was exported into, the pairs and the input tables (with
  their spans) it was trained on; the Pusher copies it with the version,
  and refreshes and rollbacks append their steps to it."""
  inputs_path = os.path.join(examples_uri, contract.PAIRS_INPUTS_FILE)
  lineage = {
      "model": os.path.dirname(serving_model_dir.rstrip("/")),
      "pairs": examples_uri,
      "inputs": (example_io.read_json(inputs_path)
                 if tf.io.gfile.exists(inputs_path) else {}),
      "trained_at": example_io.utc_now(),
      **fields,
      "steps": []}
  example_io.write_json(os.path.join(serving_model_dir, contract.LINEAGE_FILE),
                        lineage)
  return lineage


def run_fn(fn_args: Any) -> None:
  """TFX Trainer hook: trains, then exports the retrieval SavedModel."""
  custom: Dict[str, Any] = fn_args.custom_config or {}
  trainer_config = config_lib.from_dict(config_lib.TrainerConfig,
                                        custom.get("trainer", {}))
  export_config = config_lib.from_dict(config_lib.ExportConfig,
                                       custom.get("export", {}))
  eval_config = config_lib.from_dict(config_lib.EvalConfig,
                                     custom.get("eval", {}))
  examples_uri = _examples_uri(fn_args.train_files[0])
  catalog = artifacts.load_catalog(examples_uri)
  train_pairs = artifacts.load_pairs(examples_uri, contract.TRAIN, catalog)
  semantic = artifacts.load_semantic_pairs(examples_uri, catalog)
  logging.info("training on %d pairs over %d items", len(train_pairs),
               len(catalog))
  # The pipeline gives a base model (the last blessed one) only to a
  # per-span job with trainer.warm_start on.
  base_model = getattr(fn_args, "base_model", None)
  if base_model:
    logging.info("warm start from %s", base_model)
  model = train(catalog, train_pairs, trainer_config, semantic, eval_config,
                log_dir=fn_args.model_run_dir,
                monitor_pairs=artifacts.load_pairs(examples_uri,
                                                   contract.EVAL, catalog),
                base=warm_start.load(base_model) if base_model else None)
  selection = model.selection_history
  embeddings = model.item_embeddings()
  metadata_counts = export.export_serving_version(
      model, catalog, fn_args.serving_model_dir, export_config, embeddings)
  warm_start.save(model, catalog.item_ids, fn_args.serving_model_dir)
  write_lineage(fn_args.serving_model_dir, examples_uri,
                trained_epochs=model.kept_epoch,
                warm_started_from=(os.path.dirname(base_model.rstrip("/"))
                                   if model.warm_start else None))
  # The towers' item vectors, for exact-vs-index checks and analysis.
  write_item_embeddings(fn_args.model_run_dir, catalog.item_ids, embeddings)
  example_io.write_json(
      os.path.join(fn_args.model_run_dir, contract.TRAINING_SUMMARY_FILE),
      {"trainer": config_lib.to_dict(trainer_config),
       "export": config_lib.to_dict(export_config),
       "num_train_pairs": len(train_pairs),
       "epochs_trained": len(selection.epoch),
       "kept_epoch": model.kept_epoch,
       "warm_start": (None if model.warm_start is None else
                      {"base_model": base_model, **model.warm_start}),
       "history": _history_lists(selection),
       # With trainer.refit, the model exported: kept_epoch epochs on every
       # train pair.
       "refit_history": (_history_lists(model.history)
                         if selection is not model.history else None),
       "semantic_pairs_from_pipeline": (
           None if semantic is None else len(semantic[0])),
       "num_items": len(catalog),
       "items_without_text": int((catalog.has_text == 0).sum()),
       "items_with_visual": int(catalog.has_visual.sum()),
       "item_metadata": metadata_counts})
  logging.info("exported %s index to %s", export_config.index,
               fn_args.serving_model_dir)
