# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""`relvid versions` records: version folders joined with the evaluator's
metrics by model URI, held models listed after the pushed versions."""
import json
import os

from pipeline import versions
from relvid import config as config_lib
from relvid import contract


def version_folder(serving, version, lineage):
  path = os.path.join(serving, str(version))
  os.makedirs(os.path.join(path, "variables"))
  open(os.path.join(path, "saved_model.pb"), "w").close()
  os.makedirs(os.path.join(path, "assets.extra"))
  with open(os.path.join(path, contract.LINEAGE_FILE), "w") as f:
    json.dump(lineage, f)


def evaluation(recall, topic, blessed, serving_version=None, changes=(),
               reasons=()):
  return {"all": {"recall@100": recall, "topic_match@100": topic,
                  "popular_share@10": 0.5},
          "blessed": blessed, "not_blessed_because": list(reasons),
          "serving": ({"version": serving_version} if serving_version
                      else {"version": None, "not_compared": "first push"}),
          "change_checks": [{"metric": m, "change": c} for m, c in changes]}


def test_versions_join_lineage_and_evaluations(tmp_path, monkeypatch):
  config = config_lib.load_config(None, [f"output_dir={tmp_path}"])
  serving = config_lib.serving_model_dir(config)
  spans = {"interactions": {"uri": "x", "span": 20000601}, "items": {
      "uri": "y", "span": 20000601}}
  version_folder(serving, 100, {"model": "/m/1", "inputs": spans,
                                "steps": []})
  version_folder(serving, 200, {"model": "/m/1", "inputs": spans, "steps": [
      {"refreshed_from": 100}]})
  monkeypatch.setattr(versions, "evaluations", lambda _: {
      "/m/1": evaluation(0.4, 0.5, True),
      "/m/2": evaluation(0.3, 0.5, False, 200, [("recall@100", -0.1),
                                                ("topic_match@100", 0.0)],
                         ["recall@100=0.3000 vs serving 0.4000: ..."])})
  rows = versions.list_versions(config)
  assert [(r["version"], r["serving"], r["origin"], r["status"])
          for r in rows] == [(100, False, "trained", "pushed"),
                             (200, True, "refresh of 100", "pushed"),
                             (None, False, "trained", "held")]
  assert rows[0]["spans"] == "20000601" and rows[0]["recall@100"] == 0.4
  assert rows[2]["compared_with"] == 200
  assert rows[2]["changes"] == {"recall@100": -0.1, "topic_match@100": 0.0}
  lines = versions.format_versions(rows, config).splitlines()
  assert lines[1].split()[:5] == ["100", "trained", "20000601", "0.4000",
                                  "0.5000"]
  assert "not compared (floors)" in lines[1]
  assert lines[2].rstrip().endswith("pushed (serving)")
  assert "v200: recall -0.1000 topic_match +0.0000" in lines[3]
  assert lines[3].rstrip().endswith(
      "held: recall@100=0.3000 vs serving 0.4000: ...")


def test_rollback_copies_and_keeps_everything(tmp_path):
  config = config_lib.load_config(None, [f"output_dir={tmp_path}"])
  serving = config_lib.serving_model_dir(config)
  version_folder(serving, 100, {"model": "/m/1", "steps": []})
  version_folder(serving, 200, {"model": "/m/2", "steps": []})
  new = versions.rollback(config, 100)
  assert new > 200
  assert sorted(os.listdir(serving), key=int) == ["100", "200", str(new)]
  with open(os.path.join(serving, str(new), contract.LINEAGE_FILE)) as f:
    lineage = json.load(f)
  assert lineage["model"] == "/m/1"
  assert lineage["steps"][0]["rolled_back_to"] == 100
  assert lineage["steps"][0]["replaced"] == 200
  assert versions.list_versions(config)[-1]["origin"] == "rollback to 100"
