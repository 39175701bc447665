# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""TextEncoderExport and TextEmbedder: BERT item text embeddings with Beam.

TextEncoderExport writes the MiniLM encoder SavedModel once (TFX caches it);
TextEmbedder loads it with tensorflow-hub inside a Beam DoFn and embeds the
text of every item. The text is the configured item fields joined with ". ";
an item whose text is empty gets no vector (it is counted, listed in the
report and left for the trainer to mask), never a made-up one.

With an embedding store (`text.reuse_embeddings`, see
`components.embedding_store`), an item whose text is what it was at the
last run, under the same encoder, keeps its stored vector: a catalog
refresh embeds only its new and changed items.
"""
import logging
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import BeamComponentParameter
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter

from components import embedding_store
from components import example_io
from components import ingestion
from components import text_encoder
from relvid import contract

NAMESPACE = "relvid.text"
SPLIT = contract.ALL
EMBEDDING_FEATURE = contract.TEXT_EMBEDDING
TEXT_SEPARATOR = ". "


def item_text(item: Dict[str, Any], text_fields: Sequence[str]) -> str:
  """Joins the non-empty configured fields of an item (lists by spaces)."""
  parts = []
  for field in text_fields:
    value = item.get(field)
    if isinstance(value, (list, tuple)):
      value = " ".join(str(v) for v in value)
    value = str(value or "").strip()
    if value:
      parts.append(value)
  return TEXT_SEPARATOR.join(parts)


# Texts reach the encoder LENGTH_SORT_BATCHES encoder batches at a time, so
# it can group texts of similar length (see text_encoder.load_text_encoder).
LENGTH_SORT_BATCHES = 8


class _EmbedBatch(beam.DoFn):
  """Embeds batches of (item_id, text) with the hub-loaded encoder."""

  def __init__(self, encoder_dir: str, batch_size: int):
    super().__init__()
    self._encoder_dir = encoder_dir
    self._batch_size = batch_size
    self._encode = None
    self._embedded = Metrics.counter(NAMESPACE, "items_embedded")

  def setup(self):
    self._encode = text_encoder.load_text_encoder(self._encoder_dir,
                                                  self._batch_size)

  def process(self, batch: List[Dict[str, str]]) -> Iterable[Dict[str, Any]]:
    vectors = self._encode([row["text"] for row in batch])
    for row, vector in zip(batch, vectors):
      self._embedded.inc()
      yield {contract.ITEM_ID: row[contract.ITEM_ID],
             EMBEDDING_FEATURE: [float(v) for v in vector],
             embedding_store.CONTENT_KEY: row[embedding_store.CONTENT_KEY]}


def _with_text(item: Dict[str, Any], text_fields: Sequence[str],
               encoder_key: str):
  text = item_text(item, text_fields)
  if not text:
    Metrics.counter(NAMESPACE, "items_empty_text").inc()
    logging.warning("item %s has empty text in fields %s: no text embedding",
                    item[contract.ITEM_ID], list(text_fields))
    yield beam.pvalue.TaggedOutput("empty", item[contract.ITEM_ID])
    return
  yield (item[contract.ITEM_ID],
         {contract.ITEM_ID: item[contract.ITEM_ID], "text": text,
          embedding_store.CONTENT_KEY: (embedding_store.content_key(
              encoder_key, text) if encoder_key else "")})


def build_text_embedding(root: beam.Pipeline, items_glob: str,
                         encoder_dir: str, output_dir: str,
                         empty_text_prefix: str, text_fields: Sequence[str],
                         batch_size: int,
                         store: Optional[embedding_store.StoreRun] = None
                         ) -> None:
  """Adds the embedding graph: items -> (item_id, text_embedding) Examples.

  Args:
    root: the Beam pipeline.
    items_glob: item tf.Example files written by items_ExampleGen.
    encoder_dir: the exported text encoder SavedModel.
    output_dir: split folder for the embedding tf.Examples.
    empty_text_prefix: path prefix of the list of items with empty text.
    text_fields: item fields that make up the text.
    batch_size: items per encoder call.
    store: the embedding store to reuse vectors from and write to, if any.
  """
  text_fields = list(text_fields)
  encoder_key = store.encoder_key if store else ""
  texts = (root
           | "ReadItems" >> example_io.ReadExamples(
               items_glob, list_fields=ingestion.ITEM_LIST_FIELDS)
           | "ItemText" >> beam.FlatMap(
               _with_text, text_fields, encoder_key).with_outputs(
                   "empty", main="text"))
  split = texts.text | "Reuse" >> embedding_store.ReuseStored(
      NAMESPACE, store and store.stored_glob, EMBEDDING_FEATURE)
  embedded = (split.compute
              | "Batch" >> beam.BatchElements(
                  min_batch_size=1,
                  max_batch_size=batch_size * LENGTH_SORT_BATCHES)
              | "Embed" >> beam.ParDo(_EmbedBatch(encoder_dir, batch_size)))
  embedding_store.write_vectors(
      (split.reused, embedded) | "Vectors" >> beam.Flatten(), output_dir,
      store)
  _ = (texts.empty
       | "WriteEmptyTextIds" >> beam.io.WriteToText(
           empty_text_prefix, file_name_suffix=".txt"))


@tfx.dsl.components.component
def TextEncoderExport(  # pylint: disable=invalid-name
    encoder: OutputArtifact[tfx.types.standard_artifacts.Model],
    max_seq_length: Parameter[int] = 256):
  """Saves the MiniLM BERT encoder (packaged weights) as a SavedModel."""
  logging.info("TextEncoderExport: building all-MiniLM-L6-v2 from the "
               "packaged weights (max_seq_length=%d)", max_seq_length)
  text_encoder.export_text_encoder(encoder.uri, max_seq_length)
  logging.info("TextEncoderExport: SavedModel written to %s", encoder.uri)


@tfx.dsl.components.component(use_beam=True)
def TextEmbedder(  # pylint: disable=invalid-name
    items: InputArtifact[tfx.types.standard_artifacts.Examples],
    encoder: InputArtifact[tfx.types.standard_artifacts.Model],
    item_embeddings: OutputArtifact[tfx.types.standard_artifacts.Examples],
    report: OutputArtifact[example_io.RunReport],
    text_fields: Parameter[str] = "title,description,tags",
    batch_size: Parameter[int] = 64,
    embedding_store_dir: Parameter[str] = "",
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None):
  """Embeds each item's text (comma-separated `text_fields`) with BERT;
  with `embedding_store_dir`, only the items whose text or encoder changed
  since the store's last version (the others keep their stored vector)."""
  fields = [f.strip() for f in text_fields.split(",") if f.strip()]
  example_io.set_splits(item_embeddings, [SPLIT])
  store = embedding_store.StoreRun.open(embedding_store_dir, encoder.uri)
  build_text_embedding(
      beam_pipeline, example_io.split_glob(items, ingestion.SPLIT),
      encoder.uri, example_io.split_dir(item_embeddings, SPLIT),
      os.path.join(report.uri, "empty_text_item_ids"), fields, batch_size,
      store)
  counts = example_io.run_and_report(
      beam_pipeline, NAMESPACE, report.uri, "TextEmbedder",
      text_fields=fields,
      embedding_store=store.output_dir if store else "")["counts"]
  if not counts.get("items_embedded") and not counts.get("items_reused"):
    raise RuntimeError(f"TextEmbedder: no item has text in {fields} "
                       f"(counts: {counts})")
  if store:
    embedding_store.publish(store.output_dir)
