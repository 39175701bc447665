# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Catalog refresh: items held out of training are indexed by their content
and served, without retraining, and the items the model was trained with
keep their vectors and results."""
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from components import artifacts
from relvid import contract
from relvid.config import ExportConfig
from relvid.config import TrainerConfig
from serving import inference
from serving import registry as registry_lib
from serving import server
from trainer import export
from trainer import refresh
from trainer import task

CLUSTERS, PER_CLUSTER, HELD_OUT, DIM = 4, 10, 2, 16
TOP_K = PER_CLUSTER + HELD_OUT


def cluster_catalog(rng, ids, clusters):
  """Text vectors: a cluster centre per cluster plus a little noise."""
  centres = np.eye(CLUSTERS, DIM, dtype=np.float32) * 3
  text = centres[clusters] + 0.1 * rng.normal(size=(len(ids), DIM)).astype(
      np.float32)
  return artifacts.Catalog(
      item_ids=np.array(ids, dtype=object), text=text,
      has_text=np.ones(len(ids), np.float32),
      topics=[[f"c{c}"] for c in clusters],
      train_engagements=np.ones(len(ids), np.int64),
      titles=[f"title {i}" for i in ids])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """A model trained on the first PER_CLUSTER items of each cluster (the
  last HELD_OUT per cluster are new to it), exported as version 1."""
  rng = np.random.default_rng(0)
  ids, clusters = [], []
  for c in range(CLUSTERS):
    for i in range(PER_CLUSTER + HELD_OUT):
      ids.append(f"c{c}-{i}")
      clusters.append(c)
  clusters = np.array(clusters)
  full = cluster_catalog(rng, ids, clusters)
  old_rows = np.array([i for i, item in enumerate(ids)
                       if int(item.split("-")[1]) < PER_CLUSTER])
  old = refresh._subset(full, old_rows)  # pylint: disable=protected-access
  old_clusters = clusters[old_rows]
  triggers, candidates = [], []
  for _ in range(3000):  # co-engagement within a cluster
    c = rng.integers(CLUSTERS)
    a, b = rng.choice(np.flatnonzero(old_clusters == c), 2, replace=False)
    triggers.append(a)
    candidates.append(b)
  pairs = artifacts.Pairs(np.array(triggers), np.array(candidates),
                          np.ones(3000, np.float32),
                          np.bincount(triggers, minlength=len(old))[
                              triggers].astype(np.float32))
  config = TrainerConfig(id_dim=8, hidden_dim=16, output_dim=8,
                         semantic_weight=0.0, engagement_weight=1.0,
                         epochs=15, validation="off", batch_size=256,
                         id_dropout=0.3, seed=1)
  model = task.train(old, pairs, config)
  base = tmp_path_factory.mktemp("serving") / "relvid"
  version_dir = str(base / "1")
  vectors = model.item_embeddings()
  export_config = ExportConfig(index="brute_force", top_k=TOP_K)
  export.export_serving_version(model, old, version_dir, export_config,
                                vectors)
  return full, clusters, old, vectors, base, export_config


def serve(base):
  registry = registry_lib.ModelRegistry("relvid", str(base), server.warm_up)
  assert registry.refresh()
  return registry, TestClient(server.create_app(
      inference.Predictor(registry, max_batch_size=64)))


def related(http, ids):
  answer = http.post("/v1/models/relvid:predict", json={"instances": ids})
  assert answer.status_code == 200, answer.text
  return [row["candidate_ids"] for row in answer.json()["predictions"]]


def test_refresh_indexes_new_items_and_keeps_the_old_ones(trained):
  full, clusters, old, vectors, base, export_config = trained
  _, http = serve(base)
  old_ids = [str(i) for i in old.item_ids]
  before = dict(zip(old_ids, related(http, old_ids)))
  # The new catalog: the held-out items, one item gone, and one new item
  # with no text (it cannot be embedded: counted, listed, left out).
  removed = "c0-0"
  keep = np.array([i for i, item in enumerate(full.item_ids)
                   if item != removed])
  catalog = refresh._subset(full, keep)  # pylint: disable=protected-access
  catalog.item_ids = np.append(catalog.item_ids, "no-text")
  catalog.text = np.vstack([catalog.text, np.zeros((1, DIM), np.float32)])
  catalog.has_text = np.append(catalog.has_text, 0.0).astype(np.float32)
  catalog.topics.append([])
  catalog.titles.append("")
  catalog.media_paths.append("")
  catalog.train_engagements = np.append(catalog.train_engagements, 0)
  catalog.visual = np.zeros((len(catalog.item_ids), 0), np.float32)
  catalog.has_visual = np.zeros(len(catalog.item_ids), np.float32)
  new_ids = [str(i) for i in full.item_ids if str(i) not in old_ids]

  report = refresh.refresh_serving_model(catalog, str(base), export_config)

  assert report["source_version"] == 1 and report["version"] > 1
  assert report["added"] == {"count": len(new_ids), "ids": sorted(new_ids)}
  assert report["removed"] == {"count": 1, "ids": [removed]}
  assert report["skipped_without_content"] == {"count": 1,
                                               "ids": ["no-text"]}
  assert report["items_indexed"] == len(full.item_ids) - 1
  version_dir = base / str(report["version"])
  assert json.loads((version_dir / contract.REFRESH_REPORT_FILE).read_text()
                    ) == report
  assert (version_dir / contract.ITEM_TOWERS_DIR /
          contract.ITEM_TOWERS_GRAPH_FILE).exists()
  assert not list(base.glob(".refresh-*"))  # staged, then renamed

  registry, http = serve(base)
  assert registry.current().version == report["version"]
  cluster_of = dict(zip((str(i) for i in full.item_ids), clusters))
  # New items are recommendable (as triggers, their cluster comes back) and
  # retrievable (each is among the related items of its cluster's items).
  for item, top in zip(new_ids, related(http, new_ids)):
    assert np.mean([cluster_of[c] == cluster_of[item]
                    for c in top[:PER_CLUSTER]]) >= 0.8, (item, top)
  after = dict(zip(old_ids[1:], related(http, old_ids[1:])))
  retrieved = {c for top in after.values() for c in top}
  assert set(new_ids) <= retrieved
  for trigger, top in after.items():
    assert removed not in top and "no-text" not in top
    # Within the trigger's cluster size, new items come from its cluster.
    new_in_top = [c for c in top[:TOP_K - 1] if c in new_ids]
    assert all(cluster_of[c] == cluster_of[trigger] for c in new_in_top)
    # The old items keep their order: the new list without the new items
    # is the old one without the removed item, cut to length.
    kept = [c for c in top if c not in new_ids]
    assert kept == [c for c in before[trigger] if c != removed][:len(kept)]
  # And their vectors are the trained ones.
  towers = refresh.embed_catalog(str(version_dir / contract.ITEM_TOWERS_DIR),
                                 old)
  np.testing.assert_allclose(towers["candidate"], vectors["candidate"],
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(towers["trigger"], vectors["trigger"],
                             rtol=1e-5, atol=1e-6)


def test_refresh_without_a_version_or_towers_says_so(trained, tmp_path):
  full = trained[0]
  with pytest.raises(FileNotFoundError, match="relvid run"):
    refresh.refresh_serving_model(full, str(tmp_path / "none"),
                                  ExportConfig())
  version = tmp_path / "relvid" / "7"
  version.mkdir(parents=True)
  (version / "saved_model.pb").write_bytes(b"")
  (version / "variables").mkdir()
  with pytest.raises(FileNotFoundError, match="no assets.extra/item_towers"):
    refresh.refresh_serving_model(full, str(tmp_path / "relvid"),
                                  ExportConfig())


def test_refresh_rejects_vectors_of_another_width(trained):
  full, _, _, _, base, export_config = trained
  wrong = refresh._subset(full, np.arange(4))  # pylint: disable=protected-access
  wrong.text = np.ones((4, DIM + 1), np.float32)
  with pytest.raises(ValueError, match="17-d, the towers were trained on 16-d"):
    refresh.refresh_serving_model(wrong, str(base), export_config)
