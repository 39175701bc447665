# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Training entry points: `train()` (plain function) and `run_fn()` (the TFX
Trainer's GenericExecutor hook).

The Trainer's `examples` input is the CoEngagementPairs artifact: its
`train` split feeds the engagement task, its `catalog` split the towers'
features and the semantic pseudo-labels. `custom_config` carries the
TrainerConfig, ExportConfig and EvalConfig (the validation metrics) as dicts.
TensorBoard logs go to the run's `model_run_dir`.
"""
import dataclasses
import io
import logging
import os
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from components import artifacts
from components import example_io
from relvid import config as config_lib
from relvid import contract
from trainer import averaging
from trainer import data
from trainer import distribute
from trainer import export
from trainer import local_cluster
from trainer import model as model_lib
from trainer import streaming
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


@dataclasses.dataclass
class TrainingInput:
  """What a fit reads: the batches and the per-item counts they imply.

  Attributes:
    rows: rows the batches are drawn from per epoch.
    candidate_probability: [items] logQ's q(j) (`data.batch_frequency`).
    candidate_counts: [items] candidate occurrences (candidate-side OPC).
    batches: (readers, reader_index, batch_size, repeat, lookup) -> the
      batches of one epoch (or endless) of one reader among `readers`
      (streaming input only with more than one: reader_index is an int,
      or the parameter-server worker's index tensor), with `lookup` (or a
      new one when None) from item ids to indices.
    lookup: makes that lookup (streaming input; None in memory), to be
      called under a strategy's scope so that every worker gets a copy.
  """
  rows: int
  candidate_probability: np.ndarray
  candidate_counts: np.ndarray
  batches: Callable[[int, Any, int, bool, Any], tf.data.Dataset]
  lookup: Optional[Callable[[], Any]] = None


def memory_input(pairs: artifacts.Pairs, num_items: int,
                 config: config_lib.TrainerConfig,
                 semantic: Optional[Tuple[np.ndarray, np.ndarray]]
                 ) -> TrainingInput:
  """The pairs held in memory, shuffled whole every epoch."""
  trigger_counts = data.trigger_counts_by_item(pairs, num_items)

  def batches(readers: int, reader_index: Any, batch_size: int,
              repeat: bool, lookup: Any = None) -> tf.data.Dataset:
    del reader_index, lookup  # one reader; the pairs hold catalog indices
    if readers > 1 or repeat:
      raise ValueError("pairs in memory feed one process: distributed "
                       "training streams them (trainer.input)")
    return data.training_dataset(pairs, batch_size, config.seed,
                                 semantic, trigger_counts)
  return TrainingInput(
      rows=len(pairs),
      candidate_probability=data.candidate_probability(pairs, num_items),
      candidate_counts=data.candidate_counts(pairs, num_items),
      batches=batches)


def streaming_input(stats: streaming.PairStats, item_ids: np.ndarray,
                    config: config_lib.TrainerConfig,
                    semantic: Optional[Tuple[np.ndarray, np.ndarray]]
                    ) -> TrainingInput:
  """The pairs streamed from their files (`streaming.pair_dataset`)."""
  return TrainingInput(
      rows=stats.fit_rows,
      candidate_probability=stats.candidate_probability(),
      candidate_counts=stats.candidate_occurrences,
      batches=lambda readers, reader_index, batch_size, repeat, lookup: (
          streaming.pair_dataset(
              stats, item_ids, batch_size, config.seed,
              config.shuffle_buffer, semantic, readers, reader_index, repeat,
              lookup)),
      lookup=lambda: streaming.index_table(item_ids))


def input_mode(config: config_lib.TrainerConfig) -> str:
  """`memory` or `streaming`, as trainer.input says (`auto`: streaming
  under a distribution)."""
  if config.input != "auto":
    return config.input
  return "memory" if config.distribution == distribute.NONE else "streaming"


def train(catalog: artifacts.Catalog,
          train_pairs: Optional[artifacts.Pairs],
          config: config_lib.TrainerConfig,
          semantic: Optional[Tuple[np.ndarray, np.ndarray]] = None,
          eval_config: Optional[config_lib.EvalConfig] = None,
          log_dir: Optional[str] = None,
          monitor_pairs: Optional[artifacts.Pairs] = None,
          base: Optional[Dict[str, np.ndarray]] = None,
          examples_uri: Optional[str] = None
          ) -> model_lib.RelatedVideoModel:
  """Fits the two-tower model on the engagement (and semantic) task.

  Args:
    catalog: the item catalog (text vectors, ids).
    train_pairs: train-split co-engagement pairs in memory
      (`trainer.input: memory`); `config.validation` says which of them
      pick the training length (`validation.split_validation`). None with
      streaming input.
    config: model, task weights, OPC, optimisation and distribution
      settings.
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
    examples_uri: the CoEngagementPairs artifact whose train split is
      streamed (`trainer.input: streaming`).

  Returns:
    The trained model (the kept epoch's weights, `validation.EpochSelection`, or
    with config.refit a model trained that many epochs on every pair), with
    `kept_epoch`, `selection_history` (the Keras history of the run that
    chose the training length: `history` unless refitted) and
    `warm_start` (`warm_start.apply`'s report, None from scratch). A
    distributed run returns the single-process copy of the trained model
    (`warm_start.copy_weights`), with `shards` (per variable, the number of
    parameter-server shards it was trained in).
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
  fit_input, validation_pairs, refit_input = _training_inputs(
      catalog, train_pairs, config, semantic, examples_uri)
  callbacks: List[tf.keras.callbacks.Callback] = []
  stopper = None
  if len(validation_pairs):
    scorer = validation.ValidationMetrics(catalog, validation_pairs,
                                          eval_config)
    stopper = validation.epoch_selection(config, eval_config,
                                         validation_pairs, scorer)
    callbacks += [scorer, stopper]
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
  with distribute.cluster_strategy(config) as cluster:
    model = _fit(catalog, fit_input, config, semantic, epochs, callbacks,
                 base, cluster)
    # The epoch whose weights the model holds (1-based).
    kept = (stopper.kept_epoch + 1 if stopper is not None
            and stopper.kept_epoch is not None
            else len(model.history.epoch))
    # The run that chose the training length; with a refit, `history` is
    # the refit's (no validation).
    selection = model.history
    fit_seconds, fit_examples = model.fit_seconds, model.fit_examples
    # The input the returned weights were last trained on (its logQ
    # probabilities make the rare-trigger column).
    final_input = fit_input
    if config.refit and stopper is not None:
      refit = final_input = refit_input()
      logging.info("refit: %d epochs on all %d train pair rows", kept,
                   refit.rows)
      tf.keras.utils.set_random_seed(config.seed)
      model = _fit(catalog, refit, config, semantic, kept, [_EpochLog()],
                   base, cluster)
      fit_seconds += model.fit_seconds
      fit_examples += model.fit_examples
    if distribute.trains_without_export(config.distribution):
      # A synchronous worker: the chief holds the same weights and exports.
      model.kept_epoch = kept
      return model
    if cluster is not None:
      model = _unsharded(model, catalog, config, final_input)
  model.selection_history = selection
  model.kept_epoch = kept
  model.fit_seconds, model.fit_examples = fit_seconds, fit_examples
  if config.cold_share > 0 and config.cold_boost == 0:
    if model.trigger_tower.cold_boost is None:
      logging.info("no cold boost: the towers have no content path or keep "
                   "cold items' ID embeddings (trainer.cold_items=id)")
    else:
      model_lib.calibrate_cold_boost(model, config.cold_share,
                                     config.cold_share_k, seed=config.seed)
  return model


def _training_inputs(
    catalog: artifacts.Catalog, train_pairs: Optional[artifacts.Pairs],
    config: config_lib.TrainerConfig,
    semantic: Optional[Tuple[np.ndarray, np.ndarray]],
    examples_uri: Optional[str]
) -> Tuple[TrainingInput, artifacts.Pairs, Callable[[], TrainingInput]]:
  """(the input of the fit that picks the training length, its validation
  pairs, a function giving the refit's input over every train pair), from
  the pairs in memory or streamed from examples_uri (`input_mode`)."""
  if input_mode(config) == "streaming":
    if examples_uri is None:
      raise ValueError("trainer.input=streaming needs the pairs' examples_uri")
    stats, validation_pairs = streaming.scan_pairs(examples_uri, catalog,
                                                   config.validation)
    return (streaming_input(stats, catalog.item_ids, config, semantic),
            validation_pairs,
            lambda: streaming_input(
                streaming.scan_pairs(examples_uri, catalog, "off")[0],
                catalog.item_ids, config, semantic))
  if train_pairs is None:
    raise ValueError("trainer.input=memory needs the train pairs")
  fit_pairs, validation_pairs = validation.split_validation(train_pairs,
                                                           config)
  num_items = len(catalog)
  return (memory_input(fit_pairs, num_items, config, semantic),
          validation_pairs,
          lambda: memory_input(train_pairs, num_items, config, semantic))


def _new_model(catalog: artifacts.Catalog, inputs: TrainingInput,
               config: config_lib.TrainerConfig,
               semantic: Optional[Tuple[np.ndarray, np.ndarray]]
               ) -> model_lib.RelatedVideoModel:
  num_items = len(catalog)
  return model_lib.RelatedVideoModel(
      num_items, model_lib.content_features(catalog, config), config,
      inputs.candidate_probability, inputs.candidate_counts,
      warm=catalog.train_engagements > 0,
      semantic_probability=(None if semantic is None else
                            data.batch_frequency(semantic[1], num_items)),
      trigger_engagements=catalog.train_engagements)


def _fit(catalog: artifacts.Catalog, inputs: TrainingInput,
         config: config_lib.TrainerConfig,
         semantic: Optional[Tuple[np.ndarray, np.ndarray]], epochs: int,
         callbacks: List[tf.keras.callbacks.Callback],
         base: Optional[Dict[str, np.ndarray]] = None,
         cluster: Optional[tf.distribute.Strategy] = None
         ) -> model_lib.RelatedVideoModel:
  """A new model fitted on `inputs` for at most `epochs` epochs (logQ and
  OPC counts from them), from `base`'s weights when given; under
  `cluster`'s scope (its variables on the parameter servers) when given."""
  with distribute.scope(cluster):
    model = _new_model(catalog, inputs, config, semantic)
    model.warm_start = (None if base is None else
                        warm_start.apply(model, catalog.item_ids, base))
    if config.weight_average_decay > 0:
      averaged = averaging.AveragedWeights(
          model.track_weight_average(config.weight_average_decay),
          final=not any(isinstance(c, validation.EpochSelection)
                        for c in callbacks))
      callbacks = [averaged.first, *callbacks, averaged.last]
    if synchronous_rounds(config):
      workers = distribute.num_workers()
      round_batch_size(config.batch_size, workers)  # before any training
      model.track_gradient_sums(cluster, workers)
    model.compile(optimizer=make_optimizer(config, model))
    # Made under the strategy: one copy per worker, not one on the chief.
    lookup = (inputs.lookup() if cluster is not None and inputs.lookup
              else None)
  if base is not None:
    model.warm_start["optimizer_state"] = warm_start.apply_optimizer_state(
        model, catalog.item_ids, base)
  started = time.time()
  if cluster is None:
    model.fit(inputs.batches(1, 0, config.batch_size, False, None),
              epochs=epochs, verbose=0, callbacks=callbacks)
  else:
    # Each worker builds its own input pipeline over its share of the
    # files; an epoch is a step (or synchronous round) count, each on
    # `batch_size` pairs, the batches endless.
    model.fit(tf.keras.utils.experimental.DatasetCreator(
        lambda context: _worker_batches(inputs, config, context, lookup)),
              epochs=epochs, steps_per_epoch=max(
                  -(-inputs.rows // config.batch_size), 1),
              verbose=0, callbacks=callbacks)
  # Training throughput, callbacks (the validation scoring) included.
  model.fit_seconds = time.time() - started
  model.average_steps = (0 if model.weight_average is None else
                         int(model.weight_average.steps.numpy()))
  model.fit_examples = inputs.rows * len(model.history.epoch)
  model.synchronous_rounds = (None if model.gradient_sums is None
                              else model.gradient_sums.counts())
  return model


def synchronous_rounds(config: config_lib.TrainerConfig) -> bool:
  """Whether the workers train in synchronous rounds."""
  return (config.distribution == distribute.PARAMETER_SERVER and
          config.parameter_server_updates == "synchronous")


def round_batch_size(batch_size: int, workers: int) -> int:
  """A worker's batch in a synchronous round of `batch_size` pairs.

  Raises:
    ValueError: `batch_size` does not divide among the workers.
  """
  if batch_size % workers:
    raise ValueError(
        f"config field trainer.batch_size: must divide among the {workers} "
        "workers of synchronous rounds (trainer.parameter_server_updates), "
        f"got {batch_size}")
  return batch_size // workers


def _worker_batches(inputs: TrainingInput, config: config_lib.TrainerConfig,
                    context: tf.distribute.InputContext, lookup: Any
                    ) -> tf.data.Dataset:
  """One distributed worker's endless batches: under parameter servers a
  whole `batch_size` batch per step (in synchronous rounds its share of
  the round's, `round_batch_size`), its share of the files chosen by the
  worker's index (every worker gets the same InputContext); under
  MultiWorkerMirrored its replica's slice of each batch, its share chosen
  by the context."""
  if config.distribution == distribute.PARAMETER_SERVER:
    workers = distribute.num_workers()
    return inputs.batches(
        workers, distribute.worker_index() if workers > 1 else 0,
        (round_batch_size(config.batch_size, workers)
         if synchronous_rounds(config) else config.batch_size), True, lookup)
  return inputs.batches(context.num_input_pipelines,
                        context.input_pipeline_id,
                        context.get_per_replica_batch_size(config.batch_size),
                        True, lookup)


def _unsharded(model: model_lib.RelatedVideoModel,
               catalog: artifacts.Catalog, config: config_lib.TrainerConfig,
               inputs: TrainingInput) -> model_lib.RelatedVideoModel:
  """The distributed model's weights (sharded on parameter servers, or
  mirrored) in a single-process model (built outside the strategy), which
  exports and saves like any other."""
  shards = distribute.shard_counts(warm_start.named_variables(model))
  copy = _new_model(catalog, inputs, config, None)
  copy.compile(optimizer=make_optimizer(config, copy))
  warm_start.copy_weights(model, copy)
  for name in ("history", "warm_start", "fit_seconds", "fit_examples",
               "average_steps", "synchronous_rounds"):
    setattr(copy, name, getattr(model, name))
  copy.shards = shards
  logging.info("trained under %s; sharded: %s", config.distribution,
               ", ".join(f"{name} ({n})" for name, n in shards.items()
                         if n > 1) or "nothing")
  return copy


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
  if distribute.serves_only(trainer_config.distribution):
    # A parameter server or worker of a distributed run (TF_CONFIG): the
    # chief trains and exports; this process serves until it is stopped.
    distribute.serve()
    return
  if trainer_config.distribution == distribute.MULTI_WORKER_MIRRORED:
    if distribute.cluster_task() is None:
      local_cluster.train_on_local_replicas(fn_args,
                                            trainer_config.local_workers)
      return
    distribute.synchronous_strategy()  # before any TensorFlow operation
  examples_uri = _examples_uri(fn_args.train_files[0])
  catalog = artifacts.load_catalog(examples_uri)
  streamed = input_mode(trainer_config) == "streaming"
  train_pairs = (None if streamed else
                 artifacts.load_pairs(examples_uri, contract.TRAIN, catalog))
  semantic = artifacts.load_semantic_pairs(examples_uri, catalog)
  logging.info("training on %s pairs over %d items",
               "streamed" if streamed else len(train_pairs), len(catalog))
  # The pipeline gives a base model (the last blessed one) only to a
  # per-span job with trainer.warm_start on.
  base_model = getattr(fn_args, "base_model", None)
  if base_model:
    logging.info("warm start from %s", base_model)
  model = train(catalog, train_pairs, trainer_config, semantic, eval_config,
                log_dir=fn_args.model_run_dir,
                monitor_pairs=artifacts.load_pairs(examples_uri,
                                                   contract.EVAL, catalog),
                base=warm_start.load(base_model) if base_model else None,
                examples_uri=examples_uri)
  if distribute.trains_without_export(trainer_config.distribution):
    distribute.wait_until_stopped()
    return
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
       "num_train_pairs": (None if train_pairs is None
                           else len(train_pairs)),
       "distribution": trainer_config.distribution,
       "input": input_mode(trainer_config),
       "parameter_server_shards": getattr(model, "shards", None),
       # The moving average the exported weights are (trainer.
       # weight_average_decay) and the steps it is over (those of the kept
       # epoch, or of the last fit without epoch selection); None when off.
       "weight_average": ({"decay": trainer_config.weight_average_decay,
                           "steps": model.average_steps}
                          if trainer_config.weight_average_decay > 0
                          else None),
       # In synchronous rounds (trainer.parameter_server_updates), the
       # batches whose mean gradient a round applies, and the rounds
       # applied and batches summed by the last fit; None otherwise.
       "synchronous_rounds": getattr(model, "synchronous_rounds", None),
       # Pair rows trained on (every epoch, the refit's included) and the
       # wall time of those fits.
       "fit_examples": model.fit_examples,
       "fit_seconds": round(model.fit_seconds, 2),
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
