# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The training window of a per-span (daily) job, resolved on every runner.

Each run ingests one span of interactions (its ExampleGen reads that span's
files). The window is that span and the `window_days - 1` spans before it,
whose Examples artifacts earlier runs ingested: CoEngagementPairs records
every span it read in the span registry, one small JSON file per span
(`<registry>/<table>/<span>.json`: the artifact URI, span, version), and
looks the earlier spans up there. The registry is a folder under the
output root (tf.io.gfile, so gs:// works), not an ML Metadata query or a
TFX resolver: Kubeflow v2 / Vertex compiles only the LatestArtifact and
LatestBlessedModel resolver strategies, so a span-range resolver would not
run there.

A span no run ingested (or whose artifact was deleted) is missing: counted
and listed in the pair report, and the window is read without it.
"""
import os
from typing import Any, Dict, List, Optional, Tuple

import tensorflow as tf

from components import example_io


def _entry_path(registry_dir: str, table: str, span: int) -> str:
  return os.path.join(registry_dir, table, f"{span:08d}.json")


def _live_uri(registry_dir: str, table: str, span: int) -> Optional[str]:
  """The Examples URI recorded for `span`, or None when no run recorded it
  or its artifact is gone."""
  path = _entry_path(registry_dir, table, span)
  if not tf.io.gfile.exists(path):
    return None
  uri = example_io.read_json(path)["uri"]
  return uri if tf.io.gfile.exists(uri) else None


def record_span(registry_dir: str, table: str, uri: str, span: int,
                version: Any = None) -> str:
  """Records that span `span` of `table` was ingested into the Examples
  artifact at `uri` (a later record of the same span replaces it)."""
  entry = {"span": span, "uri": uri,
           "recorded_at": example_io.utc_now()}
  if version is not None:
    entry["version"] = int(version)
  return example_io.write_json(_entry_path(registry_dir, table, span), entry)


def resolve_window(registry_dir: str, table: str, newest_span: int,
                   newest_uri: str, window_days: int) -> Dict[str, Any]:
  """The Examples artifacts of the window ending at `newest_span`.

  Args:
    registry_dir: the span registry (see the module docstring).
    table: the table's name in the registry ("interactions").
    newest_span, newest_uri: this run's span and its Examples artifact.
    window_days: spans in the window, this run's included.

  Returns:
    {"spans": [span read, oldest first], "uris": [their artifacts],
     "reused": [spans read from earlier runs' artifacts],
     "missing": [spans in the window that no run ingested]}.
  """
  spans: List[int] = []
  uris: List[str] = []
  missing: List[int] = []
  for span in range(newest_span - window_days + 1, newest_span):
    uri = _live_uri(registry_dir, table, span)
    if uri is None:
      missing.append(span)
      continue
    spans.append(span)
    uris.append(uri)
  return {"spans": spans + [newest_span], "uris": uris + [newest_uri],
          "reused": list(spans), "missing": missing}


def previous_span(registry_dir: str, table: str, span: int
                  ) -> Optional[Tuple[int, str]]:
  """(span, artifact URI) of the newest span before `span` that a run
  ingested and whose artifact is still there, or None."""
  folder = os.path.join(registry_dir, table)
  if not tf.io.gfile.isdir(folder):
    return None
  earlier = sorted((int(name.split(".")[0]) for name in
                    tf.io.gfile.listdir(folder)
                    if name.endswith(".json") and name.split(".")[0].isdigit()
                    and int(name.split(".")[0]) < span), reverse=True)
  for candidate in earlier:
    uri = _live_uri(registry_dir, table, candidate)
    if uri is not None:
      return candidate, uri
  return None
