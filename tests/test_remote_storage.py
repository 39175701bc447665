# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Remote storage loses nothing.

1. The whole pipeline with its root (and its input files) on a non-local
   filesystem shared by TensorFlow and Beam: TensorFlow's `ram://`, which
   Beam reaches through tests/ram_filesystem.py. Every artifact -- the Beam
   components' outputs, the trained model, the evaluator's metrics and
   blessing, the pushed model -- must be there, found through ML Metadata,
   and nothing but the ML Metadata SQLite file may land on local disk.
2. The Beam transforms on real gs:// URIs through Beam's own GCS client,
   against a local GCS emulator (gcp-storage-emulator from PyPI), writing
   exactly what they write locally.

TensorFlow's own gs:// client is not exercised here: the built-in one has a
fixed endpoint, and the tensorflow-io-gcs-filesystem plugin that honours an
emulator endpoint crashed (SIGSEGV / double free) on plain reads here."""
import csv
import glob
import json
import os
import socket
import subprocess
import sys
import time

import apache_beam as beam
import numpy as np
import pytest
import requests
import tensorflow as tf

from components import example_io
from components import ingestion
from components import pair_generation
from pipeline import local_runner
from pipeline import results
from relvid import config as config_lib
from serving import registry as registry_lib
from tests import ram_filesystem  # noqa: F401  (Beam sees ram://)
from tests.conftest import movielens_sample
from tests.conftest import sample_overrides
from tests.gcs_emulator import client_environment

gfile = tf.io.gfile
BUCKET = "relvid-test"


def upload_to(folder: str, local: str) -> str:
  gfile.makedirs(folder)
  remote = folder + "/" + os.path.basename(local)
  gfile.copy(local, remote, overwrite=True)
  return remote


def only(pattern: str) -> str:
  found = gfile.glob(pattern)
  assert len(found) == 1, (pattern, found)
  return found[0]


def test_pipeline_on_a_non_local_root_keeps_every_artifact_there(
    tmp_path, monkeypatch):
  root = "ram://relvid-remote"
  inputs = tmp_path / "inputs"
  inputs.mkdir()
  interactions, items, num_items, _ = movielens_sample(str(inputs))
  config = config_lib.load_config(None, sample_overrides(
      tmp_path, interactions, items) + [
          f"data.interactions_path={upload_to(root + '/in', interactions)}",
          f"data.items_path={upload_to(root + '/in', items)}",
          f"output_dir={root}/out",
          f"metadata_path={tmp_path / 'metadata' / 'metadata.db'}",
          "trainer.epochs=1", "trainer.semantic_weight=1",
          "trainer.semantic_threshold=0.5", "eval.recall_floor=0.0",
          "eval.topic_match_floor=0.0"])
  workdir = tmp_path / "workdir"
  workdir.mkdir()
  monkeypatch.chdir(workdir)
  local_runner.run(config)

  base = f"{root}/out/pipelines/relvid"
  assert config_lib.pipeline_root(config) == base
  reports = results.latest_reports(config)
  assert reports["items_ExampleGen"]["counts"]["items_written"] == num_items
  for component, output in (("interactions_ExampleGen", "examples"),
                            ("items_ExampleGen", "examples"),
                            ("TextEmbedder", "report"),
                            ("CoEngagementPairs", "report")):
    assert results.latest_output_uri(config, component, output).startswith(
        base + f"/{component}/{output}/")
  pairs = results.latest_pairs_uri(config)
  for split in ("train", "eval", "catalog", "semantic"):
    assert gfile.glob(f"{pairs}/Split-{split}/*.gz"), split
  assert only(f"{base}/interactions_ExampleGen/examples/*/rejected-*.jsonl")
  assert only(f"{base}/CoEngagementPairs/report/*/rejected-*.jsonl")
  only(f"{base}/items_StatisticsGen/statistics/*/Split-all/FeatureStats.pb")
  model = results.latest_output_uri(config, "Trainer", "model")
  assert gfile.exists(f"{model}/Format-Serving/saved_model.pb")
  model_run = results.latest_model_run_uri(config)
  assert gfile.exists(f"{model_run}/item_embeddings.npz")
  with gfile.GFile(f"{model_run}/training.json") as f:
    assert json.load(f)["semantic_pairs_from_pipeline"] > 0
  metrics = results.latest_metrics(config)
  assert metrics["blessed"] is True and metrics["num_eval_pairs"] > 0
  assert only(f"{base}/RelatedVideoEvaluator/evaluation/*/metrics.json")
  blessing = results.latest_output_uri(config, "RelatedVideoEvaluator",
                                       "blessing")
  assert gfile.listdir(blessing) == ["BLESSED"]
  (version,) = results.pushed_versions(config)
  pushed = f"{root}/out/serving/relvid/{version}"
  assert gfile.exists(f"{pushed}/saved_model.pb")
  assert gfile.exists(f"{pushed}/assets.extra/tf_serving_warmup_requests")
  assert "blessed (pushed)" in results.summary(config)
  # The endpoint serves from such a base path too (TF Serving allows gs://).
  registry = registry_lib.ModelRegistry("relvid",
                                        config_lib.serving_model_dir(config))
  assert registry.refresh() and registry.current().version == int(version)

  # Nothing landed on this machine's disk but ML Metadata's file: no
  # `ram:` folder in the working directory, nothing else beside it.
  assert list(workdir.iterdir()) == []
  assert sorted(p.name for p in (tmp_path / "metadata").iterdir()) == [
      "metadata.db"]
  assert not glob.glob(str(tmp_path / "**" / "ram:*"), recursive=True)


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
  """A local GCS emulator with one bucket; yields its endpoint."""
  folder = tmp_path_factory.mktemp("gcs")
  with socket.socket() as probe:  # a free port, closed before the bind
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
  endpoint = f"http://127.0.0.1:{port}"
  log = open(folder / "emulator.log", "w")
  process = subprocess.Popen(
      [sys.executable, os.path.join(os.path.dirname(__file__),
                                    "gcs_emulator.py"),
       "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory",
       "-q"], stdout=log, stderr=subprocess.STDOUT)
  try:
    deadline = time.time() + 60
    while True:
      try:
        requests.get(endpoint, timeout=1)
        break
      except requests.ConnectionError:
        assert process.poll() is None and time.time() < deadline, (
            (folder / "emulator.log").read_text())
        time.sleep(0.2)
    requests.post(f"{endpoint}/storage/v1/b?project=test-project",
                  json={"name": BUCKET}, timeout=10).raise_for_status()
    yield endpoint, folder
  finally:
    process.terminate()
    process.wait(timeout=30)
    log.close()


def gcs_objects(endpoint: str, prefix: str) -> dict:
  """name -> bytes of every object under `prefix` (the JSON API)."""
  found, token = {}, None
  while True:
    params = {"prefix": prefix, **({"pageToken": token} if token else {})}
    page = requests.get(f"{endpoint}/storage/v1/b/{BUCKET}/o", params=params,
                        timeout=30).json()
    for item in page.get("items", []):
      found[item["name"]] = requests.get(
          f"{endpoint}/storage/v1/b/{BUCKET}/o/"
          f"{requests.utils.quote(item['name'], '')}",
          params={"alt": "media"}, timeout=30).content
    token = page.get("nextPageToken")
    if not token:
      return found


def example_rows(blobs, tmp_path):
  """tf.Example rows of gzipped TFRecord blobs (sorted)."""
  rows = []
  tmp_path.mkdir()
  for number, blob in enumerate(blobs):
    path = tmp_path / f"part{number}.gz"
    path.write_bytes(blob)
    rows += example_io.read_example_files(str(path), ["topics"])
  return sorted(json.dumps(r, sort_keys=True) for r in rows)


def run_beam_stages(interactions, items, vectors, out, rejected):
  """Ingestion, then pair generation with semantic mining, as the
  components run them."""
  p = beam.Pipeline()
  ingestion.build_interactions(p, interactions, "csv", f"{out}/inter",
                               rejected + "-interactions")
  ingestion.build_items(p, items, "csv", f"{out}/items", rejected + "-items")
  p.run().wait_until_finish()
  p = beam.Pipeline()
  _ = (p | beam.Create(vectors)
       | example_io.WriteExamples(f"{out}/vectors"))
  p.run().wait_until_finish()
  p = beam.Pipeline()
  pair_generation.build_pair_generation(
      p, f"{out}/inter/*.gz", f"{out}/items/*.gz", f"{out}/vectors/*.gz",
      {split: f"{out}/{split}" for split in ("train", "eval", "catalog",
                                             "semantic")},
      window_seconds=3600, max_lookahead=1, symmetric=False, dedupe=True,
      eval_fraction=0.2, semantic_threshold=0.5, semantic_neighbors=3,
      rejected_prefix=rejected + "-pairs")
  return example_io.run_and_count(p, pair_generation.NAMESPACE)


def test_beam_stages_on_gs_write_what_they_write_locally(gcs, tmp_path,
                                                         monkeypatch):
  endpoint, folder = gcs
  for key, value in client_environment(endpoint, str(folder)).items():
    if not key.startswith(("TF_", "GCS_", "CLOUD_", "GOOGLE_CLOUD_CPP")):
      monkeypatch.setenv(key, value)  # Beam's GCS client only
  interactions, items, _, _ = movielens_sample(str(tmp_path))
  with open(items) as f:
    item_ids = [row["item_id"] for row in csv.DictReader(f)]
  rng = np.random.default_rng(0)
  vectors = [{"item_id": i, "text_embedding": [float(v) for v in
                                               rng.normal(size=8)]}
             for i in item_ids]
  for vector in vectors:
    norm = np.linalg.norm(vector["text_embedding"])
    vector["text_embedding"] = [v / norm for v in vector["text_embedding"]]
  for name, path in (("i.csv", interactions), ("items.csv", items)):
    with open(path, "rb") as f:
      requests.post(f"{endpoint}/upload/storage/v1/b/{BUCKET}/o",
                    params={"uploadType": "media", "name": f"in/{name}"},
                    data=f.read(), timeout=30).raise_for_status()
  remote = run_beam_stages(f"gs://{BUCKET}/in/i.csv",
                           f"gs://{BUCKET}/in/items.csv", vectors,
                           f"gs://{BUCKET}/out", f"gs://{BUCKET}/out/rejected")
  local = run_beam_stages(interactions, items, vectors, str(tmp_path / "out"),
                          str(tmp_path / "out" / "rejected"))
  assert remote == local and remote["pairs_written_train"] > 0
  objects = gcs_objects(endpoint, "out/")
  for split in ("inter", "items", "train", "eval", "catalog", "semantic"):
    blobs = [b for n, b in objects.items()
             if n.startswith(f"out/{split}/") and n.endswith(".gz")]
    local_blobs = [open(p, "rb").read() for p in glob.glob(
        str(tmp_path / "out" / split / "*.gz"))]
    assert blobs, split
    assert (example_rows(blobs, tmp_path / f"gcs-{split}")
            == example_rows(local_blobs, tmp_path / f"local-{split}")), split
  rejected = [json.loads(line)["reason"] for n, b in objects.items()
              if n.startswith("out/rejected") for line in
              b.decode().splitlines()]
  assert sorted(rejected) == ["interaction_bad_timestamp",
                              "interaction_unknown_item"]
  # Beam's temporary files were cleaned up after the writes finished.
  assert not [n for n in objects if ".temp-beam" in n]
