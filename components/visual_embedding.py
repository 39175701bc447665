# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""VisualEncoderExport and VisualEmbedder: per-item visual embeddings, Beam.

For every item with a `media_path`, VisualEmbedder decodes representative
frames (components/frames.py), embeds them with the hub-loaded
EfficientNet-Lite0 and writes the mean of the frame embeddings, L2
normalised, as `visual_embedding`. Items without media, and items whose
media is missing, unreadable or corrupt, get no vector: each is counted by
reason and listed (`media_errors*.jsonl` beside the report), never faked.

With an embedding store (`visual.reuse_embeddings`, see
`components.embedding_store`), an item whose media file has the same bytes
as at the last run, under the same encoder and frame settings, keeps its
stored vector: its frames are not decoded again.
"""
import json
import logging
import os
from typing import Any, Dict, Iterable, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics
import numpy as np

from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import BeamComponentParameter
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter

from components import embedding_store
from components import example_io
from components import frames as frames_lib
from components import ingestion
from components import visual_encoder
from relvid import contract

NAMESPACE = "relvid.visual"
SPLIT = contract.ALL
EMBEDDING_FEATURE = contract.VISUAL_EMBEDDING
ERRORS = "errors"


def mean_embedding(frame_embeddings: np.ndarray) -> np.ndarray:
  """Item vector: the L2-normalised mean of its frames' embeddings."""
  mean = frame_embeddings.mean(axis=0)
  return mean / max(float(np.linalg.norm(mean)), 1e-12)


class _EmbedItem(beam.DoFn):
  """item -> {item_id, visual_embedding}, or a tagged, counted error."""

  def __init__(self, encoder_dir: str, frame_count: int, method: str):
    super().__init__()
    self._encoder_dir = encoder_dir
    self._frame_count = frame_count
    self._method = method
    self._encode = None

  def setup(self):
    self._encode = visual_encoder.load_visual_encoder(self._encoder_dir)

  def process(self, item: Dict[str, Any]) -> Iterable[Any]:
    path = item.get(contract.MEDIA_PATH) or ""
    if not path:
      Metrics.counter(NAMESPACE, "items_without_media").inc()
      return
    try:
      frames = frames_lib.read_frames(path, self._frame_count, self._method)
    except frames_lib.MediaError as e:
      Metrics.counter(NAMESPACE, e.reason).inc()
      logging.warning("item %s: %s", item[contract.ITEM_ID], e)
      yield beam.pvalue.TaggedOutput(ERRORS, json.dumps(
          {contract.ITEM_ID: item[contract.ITEM_ID], "reason": e.reason,
           "path": path}))
      return
    Metrics.counter(NAMESPACE, "frames_embedded").inc(len(frames))
    Metrics.counter(NAMESPACE, "items_embedded").inc()
    vector = mean_embedding(self._encode(frames)["embedding"])
    yield {contract.ITEM_ID: item[contract.ITEM_ID],
           EMBEDDING_FEATURE: [float(v) for v in vector],
           embedding_store.CONTENT_KEY: item[embedding_store.CONTENT_KEY]}


def _keyed(item: Dict[str, Any], encoder_key: str, frame_count: int,
           method: str):
  """(item_id, item with the content key of its media); no key without a
  store, or when the file cannot be read (the embedder reports why)."""
  path = item.get(contract.MEDIA_PATH) or ""
  digest = embedding_store.file_digest(path) if encoder_key and path else ""
  key = (embedding_store.content_key(encoder_key, str(frame_count), method,
                                     digest) if digest else "")
  return item[contract.ITEM_ID], dict(item, **{embedding_store.CONTENT_KEY:
                                              key})


def build_visual_embedding(root: beam.Pipeline, items_glob: str,
                           encoder_dir: str, output_dir: str,
                           errors_prefix: str, frame_count: int,
                           method: str,
                           store: Optional[embedding_store.StoreRun] = None
                           ) -> None:
  """Adds the graph: items -> (item_id, visual_embedding) tf.Examples.

  Args:
    root: the Beam pipeline.
    items_glob: item tf.Examples written by items_ExampleGen.
    encoder_dir: the exported visual encoder SavedModel.
    output_dir: split folder for the embedding tf.Examples.
    errors_prefix: path prefix of the media-error JSON lines.
    frame_count: frames per video.
    method: `uniform` or `scene` (see frames.read_frames).
    store: the embedding store to reuse vectors from and write to, if any.
  """
  split = (root
           | "ReadItems" >> example_io.ReadExamples(
               items_glob, list_fields=ingestion.ITEM_LIST_FIELDS)
           | "Key" >> beam.Map(_keyed, store.encoder_key if store else "",
                               frame_count, method)
           | "Reuse" >> embedding_store.ReuseStored(
               NAMESPACE, store and store.stored_glob, EMBEDDING_FEATURE))
  results = split.compute | "Embed" >> beam.ParDo(_EmbedItem(
      encoder_dir, frame_count, method)).with_outputs(ERRORS, main="vectors")
  embedding_store.write_vectors(
      (split.reused, results.vectors) | "Vectors" >> beam.Flatten(),
      output_dir, store)
  _ = results[ERRORS] | "WriteErrors" >> beam.io.WriteToText(
      errors_prefix, file_name_suffix=".jsonl")


@tfx.dsl.components.component
def VisualEncoderExport(  # pylint: disable=invalid-name
    encoder: OutputArtifact[tfx.types.standard_artifacts.Model]):
  """Saves EfficientNet-Lite0 (packaged ImageNet weights) as a SavedModel."""
  visual_encoder.export_visual_encoder(encoder.uri)


@tfx.dsl.components.component(use_beam=True)
def VisualEmbedder(  # pylint: disable=invalid-name
    items: InputArtifact[tfx.types.standard_artifacts.Examples],
    encoder: InputArtifact[tfx.types.standard_artifacts.Model],
    item_embeddings: OutputArtifact[tfx.types.standard_artifacts.Examples],
    report: OutputArtifact[example_io.RunReport],
    frame_count: Parameter[int] = 4,
    method: Parameter[str] = "uniform",
    embedding_store_dir: Parameter[str] = "",
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None):
  """Embeds each item's media frames with EfficientNet-Lite0; with
  `embedding_store_dir`, only the items whose media bytes, encoder or frame
  settings changed since the store's last version."""
  example_io.set_splits(item_embeddings, [SPLIT])
  store = embedding_store.StoreRun.open(embedding_store_dir, encoder.uri)
  build_visual_embedding(
      beam_pipeline, example_io.split_glob(items, ingestion.SPLIT),
      encoder.uri, example_io.split_dir(item_embeddings, SPLIT),
      os.path.join(report.uri, "media_errors"), frame_count, method, store)
  example_io.run_and_report(
      beam_pipeline, NAMESPACE, report.uri, "VisualEmbedder",
      frame_count=frame_count, method=method,
      embedding_store=store.output_dir if store else "")
  if store:
    embedding_store.publish(store.output_dir)
