# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""CoEngagementPairs: (trigger, candidate) pairs from interaction logs, Beam.

Interactions whose item is not in the item table are left out first,
counted (`interaction_unknown_item`) and written to `rejected-*.jsonl` beside
the report: the two tables are ingested separately and meet here.

For each user, engagements are ordered by time (item id breaks ties, so runs
are reproducible) and each one pairs with the next `max_lookahead` ones that
come at most `window_seconds` later; self-pairs are dropped and counted.

Time split: the cutoff is the (1 - eval_fraction) quantile of all interaction
times, exact whatever the input's order (`components.quantiles`), so every
runner and ingestion path splits the same interactions at the same time. A
pair whose candidate engagement happens at or after the cutoff goes to
`eval`, every other pair to `train`, so training never sees an engagement
from the evaluation period.

Each output row carries `pair_count` (occurrences of the pair, 1 when not
deduplicated) and `trigger_count` (pair occurrences with that trigger in the
split), the count that off-policy correction weights by.

Validation window: the `validation_fraction` of the timeline just before
the cutoff (the same quantiles) is the train period's newest part. Each
train row also carries `recent_count`, its occurrences in that window, so
the trainer can fit on what came before the window and pick the training
length on the window's pairs, a miniature of the time split it is judged
on (`trainer.validation: window`).

The train rows are written in an order that follows no trigger
(`MixedOrder`): the grouping by trigger emits them trigger by trigger, and
the trainer's streaming input shuffles with a bounded buffer.

A third split, `catalog`, holds one row per item, the view of the catalog
that training and evaluation share: item_id, topics, `text_embedding` (absent
when the item had no text), `visual_embedding` (when VisualEmbedder ran and
the item's media could be embedded) and `train_engagements` (interactions
before the cutoff, the popularity that evaluation buckets by).

With `semantic_neighbors` > 0 a fourth split, `semantic`, holds the semantic
pseudo-label pairs mined from the text vectors by the distributed
`components.semantic_pairs.SemanticPairs` stage (trigger_id, candidate_id,
cosine), which the trainer's semantic task uses.
"""
import json
import logging
import os
import random
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union
import zlib

import apache_beam as beam
from apache_beam.metrics import Metrics
import tensorflow as tf

from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import BeamComponentParameter
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter

from components import example_io
from components import ingestion
from components import quantiles as quantiles_lib
from components import semantic_pairs
from components import span_window
from components import visual_embedding
from relvid import contract

NAMESPACE = "relvid.pairs"
TRAIN, EVAL = contract.TRAIN, contract.EVAL
CATALOG, SEMANTIC = contract.CATALOG, contract.SEMANTIC
SPLITS = contract.PAIR_SPLITS
OUTPUT_SPLITS = (TRAIN, EVAL, CATALOG)
EMBEDDING_FEATURE = contract.TEXT_EMBEDDING
VISUAL_FEATURE = contract.VISUAL_EMBEDDING
_QUANTILES = 1001  # cutoff resolution: 0.1% of the timeline


def _counter(name: str):
  return Metrics.counter(NAMESPACE, name)


def user_pairs(user_and_events: Tuple[str, Iterable[Dict[str, Any]]],
               window_seconds: int, max_lookahead: int, symmetric: bool,
               cutoff: int, window_start: Optional[int] = None
               ) -> Iterable[Tuple[str, str, str, bool]]:
  """Yields (split, trigger_id, candidate_id, recent) for one user's
  engagements; `recent` is true for a train pair whose candidate engagement
  is at or after `window_start` (the validation window; None: none)."""
  _, events = user_and_events
  events = sorted(events,
                  key=lambda e: (e[contract.TIMESTAMP], e[contract.ITEM_ID]))
  for i, trigger in enumerate(events):
    for candidate in events[i + 1:i + 1 + max_lookahead]:
      gap = candidate[contract.TIMESTAMP] - trigger[contract.TIMESTAMP]
      if gap > window_seconds:
        break
      if candidate[contract.ITEM_ID] == trigger[contract.ITEM_ID]:
        _counter("self_pairs_dropped").inc()
        continue
      time = candidate[contract.TIMESTAMP]
      split = EVAL if time >= cutoff else TRAIN
      recent = (split == TRAIN and window_start is not None
                and time >= window_start)
      yield (split, trigger[contract.ITEM_ID], candidate[contract.ITEM_ID],
             recent)
      if symmetric:
        yield (split, candidate[contract.ITEM_ID], trigger[contract.ITEM_ID],
               recent)


def cutoff_from_quantiles(quantiles: List[int], eval_fraction: float) -> int:
  """The time at which the last `eval_fraction` of interactions begins."""
  index = int(round((1.0 - eval_fraction) * (len(quantiles) - 1)))
  return int(quantiles[index])


# The cutoff of a window whose newest span is empty: no eval pair (the
# empty eval split is then reported as such).
_NO_EVAL = 2**62
# The newest span starts at its first percentile time, not its earliest: a
# few late events in its files must not move most of the window into eval.
_SPAN_START_QUANTILES = 101


def _span_start(quantiles: List[int]) -> int:
  return int(quantiles[1]) if quantiles else _NO_EVAL


def _window_start(train_quantiles: List[int], fraction: float,
                  cutoff: int) -> int:
  """The validation window's start: the latest `fraction` of the
  interactions before the cutoff (the cutoff itself when there are none)."""
  if not train_quantiles:
    return cutoff
  return cutoff_from_quantiles(train_quantiles, fraction)


def _count_read(row):
  _counter("interactions_read").inc()
  return row


# Buckets of MixedOrder: on a runner each is one group held in memory, so
# at a billion train rows a bucket holds about a million.
MIX_BUCKETS = 1024


def _pair_hash(row: Dict[str, Any]) -> int:
  """A hash of the row's pair that is the same in every process (Python's
  hash() of a str is not)."""
  return zlib.crc32(f"{row[contract.TRIGGER_ID]}\x00"
                    f"{row[contract.CANDIDATE_ID]}".encode("utf-8"))


def _hashed(row: Dict[str, Any], buckets: int
            ) -> Tuple[int, Tuple[int, Dict[str, Any]]]:
  pair_hash = _pair_hash(row)
  return pair_hash % buckets, (pair_hash, row)


def _mixed_bucket(bucket_and_rows) -> List[Dict[str, Any]]:
  bucket, hashed_rows = bucket_and_rows
  ordered = [r for _, r in sorted(hashed_rows, key=lambda hr: hr[0])]
  # Sorted first because a grouping hands its values over in no fixed
  # order; seeded by the bucket, so a bucket's rows come out in the same
  # order on every run, and the repeated rows of one pair (dedupe off)
  # are spread.
  random.Random(bucket).shuffle(ordered)
  return ordered


class MixedOrder(beam.PTransform):
  """Rows in an order that follows no key: each of `buckets` groups is a
  hash-chosen sample of all rows, written in a seeded shuffled order (the
  same order of a bucket's rows on every run; the order of the buckets is
  the runner's).

  The train rows come out of the per-trigger grouping in trigger order, and
  the trainer's streaming input shuffles them with a bounded buffer: rows
  of one trigger would then fill whole stretches of the stream, and the
  batches, their in-batch negatives and logQ's candidate frequencies would
  be those of a few hundred triggers at a time. After this any stretch of
  the file is a sample of the whole.
  """

  def __init__(self, buckets: int = MIX_BUCKETS):
    super().__init__()
    self._buckets = buckets

  def expand(self, rows):
    return (rows
            | "ByBucket" >> beam.Map(_hashed, self._buckets)
            | "GroupBuckets" >> beam.GroupByKey()
            | "Shuffled" >> beam.FlatMap(_mixed_bucket))


def _with_trigger_count(key_and_groups, dedupe: bool):
  """Rows of one (split, trigger): each candidate's pair_count, the
  trigger's count and, for train rows, the occurrences in the validation
  window (`recent_count`; one row per occurrence when not deduplicated)."""
  (split, trigger), groups = key_and_groups
  per_candidate: Dict[str, List[int]] = {}
  for candidate, recent, n in groups["pairs"]:
    counts = per_candidate.setdefault(candidate, [0, 0])
    counts[0] += n
    counts[1] += n if recent else 0
  trigger_count = sum(total for total, _ in per_candidate.values())
  for candidate, (n, recent) in sorted(per_candidate.items()):
    _counter(f"pair_occurrences_{split}").inc(n)
    _counter(f"pairs_written_{split}").inc(1 if dedupe else n)
    if recent:
      _counter("pair_occurrences_validation_window").inc(recent)
      _counter("pairs_in_validation_window").inc(1 if dedupe else recent)
    row = {contract.TRIGGER_ID: trigger, contract.CANDIDATE_ID: candidate,
           contract.PAIR_COUNT: n if dedupe else 1,
           contract.TRIGGER_COUNT: trigger_count}
    if split != TRAIN:
      rows = [row] * (1 if dedupe else n)
    elif dedupe:
      rows = [dict(row, **{contract.RECENT_COUNT: recent})]
    else:
      rows = ([dict(row, **{contract.RECENT_COUNT: 1})] * recent
              + [dict(row, **{contract.RECENT_COUNT: 0})] * (n - recent))
    for one in rows:
      yield split, one


def _attach_topics(key_and_groups, side: str):
  """Joins one side's topics onto (pair, n) records keyed by that item."""
  _, groups = key_and_groups
  topics = next(iter(groups["topics"]), [])
  for record in groups["pairs"]:
    yield dict(record, **{side: topics})


def _count_topic_overlap(record) -> None:
  if record["trigger_topics"] and record["candidate_topics"]:
    shared = set(record["trigger_topics"]) & set(record["candidate_topics"])
    _counter(f"pair_occurrences_with_topics_{record['split']}").inc(
        record["n"])
    if shared:
      _counter(f"pair_occurrences_sharing_topic_{record['split']}").inc(
          record["n"])


def _catalog_row(item_id_and_groups):
  item_id, groups = item_id_and_groups
  items = list(groups["item"])
  if not items:  # an embedding of an item no longer in the table, or an
    return     # engagement already rejected above: not a catalog row.
  row = {contract.ITEM_ID: item_id,
         contract.TITLE: items[0].get(contract.TITLE) or "",
         contract.MEDIA_PATH: items[0].get(contract.MEDIA_PATH) or "",
         contract.TOPICS: list(items[0].get(contract.TOPICS, [])),
         contract.TRAIN_ENGAGEMENTS: sum(groups["engagements"])}
  for feature in (EMBEDDING_FEATURE, VISUAL_FEATURE):
    if feature not in groups:  # that embedder is not part of this pipeline
      continue
    vectors = list(groups[feature])
    if vectors:
      row[feature] = vectors[0]
    else:
      _counter(f"catalog_items_without_{feature}").inc()
  _counter("catalog_items").inc()
  yield row


UNKNOWN_ITEM = "interaction_unknown_item"


def _known_items_only(item_id_and_groups):
  """Keeps the interactions whose item is in the item table; the others
  are counted and tagged as rejected."""
  _, groups = item_id_and_groups
  known = bool(list(groups["item"]))
  for interaction in groups["interaction"]:
    if known:
      yield interaction
    else:
      _counter(UNKNOWN_ITEM).inc()
      yield beam.pvalue.TaggedOutput(UNKNOWN_ITEM, json.dumps(
          {"reason": UNKNOWN_ITEM, "row": interaction}, sort_keys=True))


def _read_vectors(root: beam.Pipeline, glob: str, feature: str):
  """(item_id, vector) of each embedding row under `glob`."""
  return (root
          | f"Read_{feature}" >> example_io.ReadExamples(
              glob, list_fields=[feature])
          | f"Key_{feature}" >> beam.Map(
              lambda r: (r[contract.ITEM_ID], r[feature])))


def build_pair_generation(root: beam.Pipeline,
                          interactions_glob: Union[str, Sequence[str]],
                          items_glob: str, embeddings_glob: str,
                          output_dirs: Dict[str, str],
                          window_seconds: int, max_lookahead: int,
                          symmetric: bool, dedupe: bool,
                          eval_fraction: float,
                          visual_glob: Optional[str] = None,
                          semantic_threshold: float = 0.7,
                          semantic_neighbors: int = 0,
                          semantic_index: str = "auto",
                          rejected_prefix: Optional[str] = None,
                          validation_fraction: float = 0.0,
                          eval_on_last: bool = False):
  """Adds the pair graph to `root`; returns the cutoff PCollection and the
  validation window's start (one timestamp each).

  Args:
    root: the Beam pipeline.
    interactions_glob: interaction tf.Examples (interactions_ExampleGen),
      or a list of globs, one per span of a window, oldest first.
    items_glob: item tf.Examples (their topics, for the catalog and the
      topic-overlap figures of the report).
    embeddings_glob: item text embeddings written by TextEmbedder.
    output_dirs: split name (OUTPUT_SPLITS) -> folder for that split.
    window_seconds, max_lookahead, symmetric, dedupe, eval_fraction,
      validation_fraction: see `relvid.config.PairConfig`.
    visual_glob: item visual embeddings written by VisualEmbedder, or None.
    semantic_threshold, semantic_neighbors, semantic_index: semantic
      pseudo-label mining into output_dirs[SEMANTIC] (see
      `trainer.semantic_*` in `relvid.config.TrainerConfig`); 0
      neighbors = no semantic split.
    rejected_prefix: path prefix of the JSON-lines files of interactions
      with an unknown item (None: counted, not written).
    eval_on_last: the eval pairs are those of the last glob's span (the
      cutoff is its first percentile time, so that a few late events in
      its files do not move it) instead of the latest eval_fraction of the
      timeline; the validation window is then the
      latest validation_fraction of the interactions before the cutoff.
  """
  items = root | "ReadItems" >> example_io.ReadExamples(
      items_glob, list_fields=ingestion.ITEM_LIST_FIELDS)
  globs = ([interactions_glob] if isinstance(interactions_glob, str)
           else list(interactions_glob))
  if len(globs) == 1:
    spans = [root | "ReadInteractions" >> example_io.ReadExamples(globs[0])]
  else:
    spans = [root | f"ReadInteractionsSpan{i}" >> example_io.ReadExamples(g)
             for i, g in enumerate(globs)]
  logged = ((spans[0] if len(spans) == 1 else
             tuple(spans) | "FlattenWindow" >> beam.Flatten())
            | "CountRead" >> beam.Map(_count_read))
  checked = (
      {"interaction": logged | "KeyByItem" >> beam.Map(
          lambda r: (r[contract.ITEM_ID], r)),
       "item": items | "ItemIds" >> beam.Map(
           lambda i: (i[contract.ITEM_ID], 1))}
      | "JoinItems" >> beam.CoGroupByKey()
      | "KnownItemsOnly" >> beam.FlatMap(_known_items_only).with_outputs(
          UNKNOWN_ITEM, main="known"))
  interactions = checked.known
  if rejected_prefix:
    _ = checked[UNKNOWN_ITEM] | "WriteRejected" >> beam.io.WriteToText(
        rejected_prefix, file_name_suffix=".jsonl")
  times = interactions | "Times" >> beam.Map(lambda r: r[contract.TIMESTAMP])
  if eval_on_last:
    cutoff = (spans[-1]
              | "LastSpanTimes" >> beam.Map(lambda r: r[contract.TIMESTAMP])
              | "LastSpanQuantiles" >> quantiles_lib.ExactQuantiles(
                  _SPAN_START_QUANTILES)
              | "LastSpanStart" >> beam.Map(_span_start))
    window_start = (
        times
        | "BeforeLastSpan" >> beam.Filter(
            lambda t, cut: t < cut, cut=beam.pvalue.AsSingleton(cutoff))
        | "TrainQuantiles" >> quantiles_lib.ExactQuantiles(_QUANTILES)
        | "WindowStart" >> beam.Map(
            _window_start, validation_fraction,
            cutoff=beam.pvalue.AsSingleton(cutoff)))
  else:
    quantiles = times | "Quantiles" >> quantiles_lib.ExactQuantiles(_QUANTILES)
    cutoff = quantiles | "Cutoff" >> beam.Map(cutoff_from_quantiles,
                                              eval_fraction)
    window_start = quantiles | "WindowStart" >> beam.Map(
        cutoff_from_quantiles, eval_fraction + validation_fraction)
  occurrences = (
      interactions
      | "ByUser" >> beam.Map(lambda r: (r[contract.USER_ID], r))
      | "GroupByUser" >> beam.GroupByKey()
      | "UserPairs" >> beam.FlatMap(
          user_pairs, window_seconds, max_lookahead, symmetric,
          cutoff=beam.pvalue.AsSingleton(cutoff),
          window_start=(beam.pvalue.AsSingleton(window_start)
                        if validation_fraction > 0 else None))
      | "CountOccurrences" >> beam.combiners.Count.PerElement())
  pair_counts = (occurrences
                 | "DropRecent" >> beam.Map(
                     lambda kv: ((kv[0][0], kv[0][1], kv[0][2]), kv[1]))
                 | "CountPairs" >> beam.CombinePerKey(sum))

  by_trigger = occurrences | "KeyByTrigger" >> beam.Map(
      lambda kv: ((kv[0][0], kv[0][1]), (kv[0][2], kv[0][3], kv[1])))
  rows = ({"pairs": by_trigger}
          | "GroupByTrigger" >> beam.CoGroupByKey()
          | "TriggerCount" >> beam.FlatMap(_with_trigger_count, dedupe))
  per_split = rows | "Split" >> beam.Partition(
      lambda kv, _: SPLITS.index(kv[0]), len(SPLITS))
  for split, partition in zip(SPLITS, per_split):
    split_rows = partition | f"Rows{split}" >> beam.Map(lambda kv: kv[1])
    if split == TRAIN:
      split_rows = split_rows | "MixTrainOrder" >> MixedOrder()
    _ = split_rows | f"Write{split}" >> example_io.WriteExamples(
        output_dirs[split])

  topics = items | "ItemTopics" >> beam.Map(
      lambda i: (i[contract.ITEM_ID], list(i.get(contract.TOPICS, []))))
  engagements = (
      interactions
      | "TrainPeriod" >> beam.Filter(
          lambda r, cut: r[contract.TIMESTAMP] < cut,
          cut=beam.pvalue.AsSingleton(cutoff))
      | "EngagedItem" >> beam.Map(lambda r: (r[contract.ITEM_ID], 1)))
  text_vectors = _read_vectors(root, embeddings_glob, EMBEDDING_FEATURE)
  catalog = {"item": items | "KeyItems" >> beam.Map(
                 lambda i: (i[contract.ITEM_ID], i)),
             "engagements": engagements, EMBEDDING_FEATURE: text_vectors}
  if semantic_neighbors > 0:
    _ = (text_vectors
         | "SemanticPairs" >> semantic_pairs.SemanticPairs(
             semantic_threshold, semantic_neighbors, semantic_index)
         | "WriteSemantic" >> example_io.WriteExamples(
             output_dirs[SEMANTIC]))
  if visual_glob:
    catalog[VISUAL_FEATURE] = _read_vectors(root, visual_glob, VISUAL_FEATURE)
  _ = (catalog
       | "JoinCatalog" >> beam.CoGroupByKey()
       | "CatalogRows" >> beam.FlatMap(_catalog_row)
       | "WriteCatalog" >> example_io.WriteExamples(output_dirs[CATALOG]))
  records = pair_counts | "Records" >> beam.Map(
      lambda kv: {"split": kv[0][0], "trigger": kv[0][1],
                  "candidate": kv[0][2], "n": kv[1]})
  with_trigger = (
      {"pairs": records | "RecordByTrigger" >> beam.Map(
          lambda r: (r["trigger"], r)), "topics": topics}
      | "JoinTriggerTopics" >> beam.CoGroupByKey()
      | "TriggerTopics" >> beam.FlatMap(_attach_topics, "trigger_topics"))
  _ = ({"pairs": with_trigger | "RecordByCandidate" >> beam.Map(
      lambda r: (r["candidate"], r)), "topics": topics}
       | "JoinCandidateTopics" >> beam.CoGroupByKey()
       | "CandidateTopics" >> beam.FlatMap(_attach_topics, "candidate_topics")
       | "TopicOverlap" >> beam.Map(_count_topic_overlap))
  return cutoff, window_start


def summarize(counts: Dict[str, int]) -> Dict[str, Any]:
  """Adds the share of pair occurrences whose items share a topic."""
  summary: Dict[str, Any] = {}
  for split in SPLITS:
    with_topics = counts.get(f"pair_occurrences_with_topics_{split}", 0)
    if with_topics:
      summary[f"topic_share_{split}"] = round(
          counts.get(f"pair_occurrences_sharing_topic_{split}", 0)
          / with_topics, 4)
  return summary


def table_lineage(tables: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
  """Per input table: its Examples artifact's URI, span and version."""
  found = {}
  for name, artifact in tables.items():
    entry = {"uri": artifact.uri}
    for field in ("span", "version"):
      if artifact.has_property(field):
        entry[field] = int(getattr(artifact, field))
    found[name] = entry
  return found


@tfx.dsl.components.component(use_beam=True)
def CoEngagementPairs(  # pylint: disable=invalid-name
    interactions: InputArtifact[tfx.types.standard_artifacts.Examples],
    items: InputArtifact[tfx.types.standard_artifacts.Examples],
    item_embeddings: InputArtifact[tfx.types.standard_artifacts.Examples],
    pairs: OutputArtifact[tfx.types.standard_artifacts.Examples],
    report: OutputArtifact[example_io.RunReport],
    window_seconds: Parameter[int] = 3600,
    max_lookahead: Parameter[int] = 1,
    symmetric: Parameter[int] = 0,
    dedupe: Parameter[int] = 1,
    eval_fraction: Parameter[float] = 0.1,
    validation_fraction: Parameter[float] = 0.0,
    visual_embeddings: InputArtifact[
        tfx.types.standard_artifacts.Examples] = None,
    semantic_threshold: Parameter[float] = 0.7,
    semantic_neighbors: Parameter[int] = 0,
    semantic_index: Parameter[str] = "auto",
    window_days: Parameter[int] = 0,
    span_registry_dir: Parameter[str] = "",
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None):
  """Writes co-engagement pairs (splits train/eval) with trigger counts, and
  the item catalog (split catalog) and, with semantic_neighbors > 0, the
  semantic pseudo-label pairs (split semantic).

  With window_days > 0, `interactions` is this run's span: the spans
  before it in the window are read from the artifacts earlier runs
  ingested (see components/span_window.py), the eval pairs are this span's,
  and this span is recorded in the registry once the pairs are written.
  The first run of a window (no earlier span ingested) splits its own span
  by eval_fraction."""
  splits = list(OUTPUT_SPLITS) + ([SEMANTIC] if semantic_neighbors > 0 else [])
  example_io.set_splits(pairs, splits)
  window = None
  interactions_globs = [example_io.split_glob(interactions, ingestion.SPLIT)]
  if window_days > 0:
    if not span_registry_dir:
      raise ValueError("CoEngagementPairs: window_days needs a "
                       "span_registry_dir")
    window = span_window.resolve_window(
        span_registry_dir, ingestion.INTERACTIONS, int(interactions.span),
        interactions.uri, window_days)
    interactions_globs = [example_io.uri_split_glob(uri, ingestion.SPLIT)
                          for uri in window["uris"]]
    logging.info("CoEngagementPairs: window of %d spans ending at %d: "
                 "reads %s (reused %s), missing %s", window_days,
                 interactions.span, window["spans"], window["reused"],
                 window["missing"])
  cutoff, window_start = build_pair_generation(
      beam_pipeline, interactions_globs,
      example_io.split_glob(items, ingestion.SPLIT),
      example_io.split_glob(item_embeddings, ingestion.SPLIT),
      {s: example_io.split_dir(pairs, s) for s in splits},
      window_seconds, max_lookahead, bool(symmetric), bool(dedupe),
      eval_fraction,
      visual_glob=(example_io.split_glob(visual_embeddings,
                                         visual_embedding.SPLIT)
                   if visual_embeddings is not None else None),
      semantic_threshold=semantic_threshold,
      semantic_neighbors=semantic_neighbors,
      semantic_index=semantic_index,
      rejected_prefix=os.path.join(report.uri, "rejected"),
      validation_fraction=validation_fraction,
      eval_on_last=bool(window and window["reused"]))
  times = {}
  for name, value in (("cutoff", cutoff), ("window_start", window_start)):
    times[name] = os.path.join(report.uri, name)
    _ = value | f"Write_{name}" >> beam.io.WriteToText(
        times[name], shard_name_template="")
  counts = example_io.run_and_count(beam_pipeline, NAMESPACE)
  for name, path in times.items():
    with tf.io.gfile.GFile(path) as f:
      times[name] = int(f.read().strip())
  report_dict = {"eval_cutoff_timestamp": times["cutoff"], "counts": counts,
                 **summarize(counts)}
  if validation_fraction > 0:
    report_dict["validation_window_start_timestamp"] = times["window_start"]
  inputs = table_lineage({"interactions": interactions, "items": items})
  if window is not None:
    # What this run read: its own span, and the earlier spans it reused.
    inputs["interactions"]["window"] = dict(
        {key: window[key] for key in ("spans", "reused", "missing")},
        # Without an earlier span there is nothing to train on but this
        # one: its latest eval_fraction is the eval split, as without a
        # window.
        eval_pairs=("newest span" if window["reused"] else
                    f"latest {eval_fraction} of the newest span (no "
                    "earlier span in the window)"))
    report_dict.update(window_spans_read=len(window["spans"]),
                       window_spans_reused=len(window["reused"]),
                       window_spans_missing=len(window["missing"]))
  report_dict["inputs"] = inputs
  example_io.write_report(report.uri, report_dict, "CoEngagementPairs")
  # Beside the splits, so the Trainer can record what its model came from.
  example_io.write_json(os.path.join(pairs.uri, contract.PAIRS_INPUTS_FILE),
                        inputs)
  for split in SPLITS:
    if not counts.get(f"pairs_written_{split}"):
      raise RuntimeError(
          f"CoEngagementPairs: the {split} split is empty (window "
          f"{window_seconds}s, eval_fraction {eval_fraction}"
          f"{'' if window is None else ', window spans ' + str(window['spans'])}"
          f"; counts: {counts}); widen the window or check the timestamps")
  if window is not None:
    span_window.record_span(span_registry_dir, ingestion.INTERACTIONS,
                            interactions.uri, int(interactions.span),
                            inputs["interactions"].get("version"))
