# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Names the components, the trainer, the server and the runners share.

Like the TFX taxi template's `models/features.py`: one place for split
names, feature keys, artifact file names and the serving signature, so a
producer and its consumers cannot drift apart.
"""
import posixpath

# Splits of the Examples artifacts.
ALL = "all"              # the ingested tables and the embedders' vectors
TRAIN = "train"          # co-engagement pairs before the eval cutoff
EVAL = "eval"            # co-engagement pairs at or after it
CATALOG = "catalog"      # one row per item: what the towers and metrics use
SEMANTIC = "semantic"    # semantic pseudo-label pairs (when mining is on)
PAIR_SPLITS = (TRAIN, EVAL)

# The two input tables, each ingested by its own ExampleGen
# (components/ingestion.py: TableExampleGen, node id `<table>_ExampleGen`).
INTERACTIONS_TABLE = "interactions"
ITEMS_TABLE = "items"
TABLES = (INTERACTIONS_TABLE, ITEMS_TABLE)
# Fields of the item and interaction tables.
ITEM_ID = "item_id"
USER_ID = "user_id"
TIMESTAMP = "timestamp"
TITLE = "title"
DESCRIPTION = "description"
TAGS = "tags"
TOPICS = "topics"
MEDIA_PATH = "media_path"
ITEM_TEXT_FIELDS = (TITLE, DESCRIPTION)
ITEM_LIST_FIELDS = (TAGS, TOPICS)
ITEM_FIELDS = (ITEM_ID,) + ITEM_TEXT_FIELDS + ITEM_LIST_FIELDS + (MEDIA_PATH,)
INTERACTION_FIELDS = (USER_ID, ITEM_ID, TIMESTAMP)

# Embeddings and pairs (TextEmbedder, VisualEmbedder, CoEngagementPairs).
TEXT_EMBEDDING = "text_embedding"
VISUAL_EMBEDDING = "visual_embedding"
TRIGGER_ID = "trigger_id"
CANDIDATE_ID = "candidate_id"
PAIR_COUNT = "pair_count"
TRIGGER_COUNT = "trigger_count"
RECENT_COUNT = "recent_count"  # a train pair's occurrences in the validation
                               # window (the train period's newest part)
TRAIN_ENGAGEMENTS = "train_engagements"
COSINE = "cosine"

# Files inside artifacts.
TFRECORD_SUFFIX = ".gz"
REPORT_FILE = "report.json"
METRICS_FILE = "metrics.json"
BLESSED_FILE = "BLESSED"
NOT_BLESSED_FILE = "NOT_BLESSED"
ITEM_EMBEDDINGS_FILE = "item_embeddings.npz"
TRAINING_SUMMARY_FILE = "training.json"
# The TFX Trainer writes the serving SavedModel here inside its Model artifact.
SERVING_MODEL_DIR = "Format-Serving"
# Beside it: the trained weights and item ids a later run warm-starts from.
WARM_START_FILE = posixpath.join("warm_start", "weights.npz")
DEMO_INTERACTIONS_FILE = "interactions.csv"
DEMO_ITEMS_FILE = "items.csv"

# Custom artifact types (<namespace>.<Name>: the form Vertex accepts).
RUN_REPORT_TYPE = "relvid.RunReport"
SOURCE_FILES_TYPE = "relvid.SourceFiles"

# The serving SavedModel's signature (what TF Serving clients call).
SERVING_SIGNATURE = "serving_default"
SERVING_INPUT = "trigger_id"
SERVING_OUTPUT_IDS = "candidate_ids"
SERVING_OUTPUT_SCORES = "scores"
# TF Serving replays these requests before a version takes traffic.
WARMUP_FILE = posixpath.join("assets.extra", "tf_serving_warmup_requests")
# Each version's item metadata (titles, topics, thumbnails) for people looking
# at its results (the serving page); TF Serving ignores assets.extra/.
ITEM_METADATA_FILE = posixpath.join("assets.extra", "items.json")
THUMBNAIL_DIR = "thumbnails"  # under assets.extra/
# Each version's trained towers as a function of an item's content (a
# SavedModel, signature `embed`), so `relvid refresh` can embed new items.
ITEM_TOWERS_DIR = posixpath.join("assets.extra", "item_towers")
ITEM_TOWERS_SIGNATURE = "embed"
# The towers' SavedModel graph, not named saved_model.pb: TFX's Pusher copies
# a version's saved_model.pb last, for an atomic push, and on the way skips
# every file of that name, nested ones included.
ITEM_TOWERS_GRAPH_FILE = "towers_graph.pb"
REFRESH_REPORT_FILE = posixpath.join("assets.extra", "refresh.json")
# Where a serving version came from: spans, pairs, model (the Trainer),
# refresh and rollback steps after it.
LINEAGE_FILE = posixpath.join("assets.extra", "lineage.json")
PAIRS_INPUTS_FILE = "inputs.json"  # in the pairs artifact: the tables read
DRIFT_FILE = "drift.json"  # DriftCheck: figures, bounds, breaches
# `relvid ablate --suite` names (trainer/ablation.py holds their variants).
ABLATION_SUITES = ("paper", "model", "ladder", "opc", "logq", "rare",
                   "trigger", "weighting", "labels", "cold", "modality")
