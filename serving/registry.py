# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Versioned SavedModels on disk, loaded and switched atomically.

The layout is TF Serving's: `<base_path>/<version>/saved_model.pb` with
numeric versions. Like TF Serving's default version policy, the newest
version serves; a new version directory is loaded (and warmed up) in the
background while the previous version keeps serving, then swapped in with a
single reference assignment, so no request ever sees a half-loaded model.
"""
import functools
import gc
import json
import logging
import os
import re
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import tensorflow as tf

from components import version_folders
from relvid import contract

try:  # The ScaNN ops must be registered before a ScaNN SavedModel loads.
  from scann.scann_ops.py import scann_ops  # noqa: F401
except ImportError:  # pragma: no cover - brute-force models still load
  scann_ops = None

DEFAULT_SIGNATURE = contract.SERVING_SIGNATURE


def freeze_heap() -> None:
  """Collects once, then moves every object alive (TensorFlow's modules, the
  loaded model) out of the garbage collector's sight (`gc.freeze`).

  Without it the collector's oldest generation walks those few million
  objects every few seconds under load, holding the GIL for about 120 ms
  each time: the requests of that moment wait (docs/serving.md, "Latency
  stalls"). Called again after each version switch, once the old
  version's requests are done: what was frozen is unfrozen first, so the
  unloaded version's objects are reclaimed.
  """
  started = time.time()
  gc.unfreeze()
  gc.collect()
  gc.freeze()
  logging.info("garbage collector: %d objects frozen (%.2f s)",
               gc.get_freeze_count(), time.time() - started)


class ServableNotFound(LookupError):
  """No such model or version (TF Serving answers 404)."""


class LoadedModel:
  """One loaded version with its signatures."""

  def __init__(self, version: int, path: str):
    self.version = version
    self.path = path
    self.module = tf.saved_model.load(path)
    self.signatures = dict(self.module.signatures)
    if DEFAULT_SIGNATURE not in self.signatures:
      raise ValueError(f"{path} has no {DEFAULT_SIGNATURE} signature")

  @functools.cached_property
  def item_metadata(self) -> Optional[Dict[str, Any]]:
    """This version's assets.extra/items.json ({"items": [...]}), or None
    when it was exported without one."""
    path = os.path.join(self.path, contract.ITEM_METADATA_FILE)
    if not tf.io.gfile.exists(path):
      return None
    with tf.io.gfile.GFile(path) as f:
      return json.load(f)

  @functools.cached_property
  def thumbnails(self) -> Dict[str, str]:
    """{thumbnail name as listed in the metadata: its file}; the only files
    of this version the page may serve."""
    folder = os.path.dirname(os.path.join(self.path,
                                          contract.ITEM_METADATA_FILE))
    # Even the metadata may only name plain files in the thumbnail folder.
    pattern = re.compile(re.escape(contract.THUMBNAIL_DIR) +
                         r"/[A-Za-z0-9_-]{1,64}\.jpg")
    return {item["thumbnail"]: os.path.join(folder, item["thumbnail"])
            for item in (self.item_metadata or {}).get("items", [])
            if isinstance(item.get("thumbnail"), str) and
            pattern.fullmatch(item["thumbnail"])}

  def signature(self, name: Optional[str]):
    name = name or DEFAULT_SIGNATURE
    if name not in self.signatures:
      raise KeyError(f"Serving signature name: \"{name}\" not found in "
                     "signature def")
    return self.signatures[name]

  def signature_def(self) -> Dict[str, Any]:
    """TF Serving's metadata view of the signatures (JSON-able)."""
    out = {}
    for name, fn in self.signatures.items():
      inputs = fn.structured_input_signature[1]
      outputs = fn.structured_outputs
      out[name] = {
          "inputs": {k: _tensor_info(v) for k, v in inputs.items()},
          "outputs": {k: _tensor_info(v) for k, v in outputs.items()},
          "method_name": "tensorflow/serving/predict"}
    return out


def _tensor_info(spec) -> Dict[str, Any]:
  if spec.shape.rank is None:
    shape = {"dim": [], "unknown_rank": True}
  else:
    shape = {"dim": [{"size": str(-1 if d is None else d)}
                     for d in spec.shape.as_list()], "unknown_rank": False}
  return {"dtype": "DT_" + spec.dtype.name.upper(),
          "name": getattr(spec, "name", None) or "", "tensor_shape": shape}


def _fingerprint(path: str) -> Tuple[int, int]:
  """(file count, total bytes) of a version folder."""
  count = size = 0
  for folder, _, files in tf.io.gfile.walk(path):
    for name in files:
      count += 1
      size += tf.io.gfile.stat(os.path.join(folder, name)).length
  return count, size


class ModelRegistry:
  """Serves the newest version under `base_path`, reloading on change.

  Args:
    name: the model name clients use in URLs.
    base_path: folder of numeric version folders.
    warmup: called with each newly loaded model before it is switched in
      (e.g. one real request), so the first client request is not slow.
    freeze_heap: hide the process's objects from the garbage collector
      (`freeze_heap`) after the first load, and after a switch on the next
      poll that finds nothing new; for a server process, which owns its
      heap.
  """

  def __init__(self, name: str, base_path: str, warmup=None,
               freeze_heap: bool = False):
    self.name = name
    self.base_path = base_path
    self._warmup = warmup
    self._freeze_heap = freeze_heap
    self._freeze_pending = False
    self._current: Optional[LoadedModel] = None
    # version -> (error, folder fingerprint when it failed): a version that
    # failed while still being copied is retried once its files change.
    self._failed: Dict[int, Tuple[str, Tuple[int, int]]] = {}
    self._lock = threading.Lock()  # one loader at a time
    self._stop = threading.Event()
    self._thread: Optional[threading.Thread] = None

  def current(self) -> LoadedModel:
    model = self._current  # one read: the request keeps this version
    if model is None:
      raise ServableNotFound(
          f"Servable not found for request: Latest({self.name})")
    return model

  def get(self, version: Optional[int]) -> LoadedModel:
    model = self.current()
    if version is not None and version != model.version:
      raise ServableNotFound(
          f"Servable not found for request: Specific({self.name}, {version})")
    return model

  def status(self) -> List[Dict[str, Any]]:
    """TF Serving's model_version_status list."""
    out = []
    if self._current is not None:
      out.append({"version": str(self._current.version), "state": "AVAILABLE",
                  "status": {"error_code": "OK", "error_message": ""}})
    for version, (error, _) in sorted(self._failed.items()):
      out.append({"version": str(version), "state": "END",
                  "status": {"error_code": "UNKNOWN", "error_message": error}})
    return out

  def refresh(self) -> bool:
    """Loads the newest version if it is newer than the serving one.

    Returns:
      True when a new version was switched in.
    """
    with self._lock:
      versions = [v for v in version_folders.serving_versions(self.base_path)
                  if v not in self._failed or self._failed[v][1] !=
                  _fingerprint(os.path.join(self.base_path, str(v)))]
      if not versions:
        return False
      newest = versions[-1]
      if self._current is not None and newest <= self._current.version:
        return False
      path = os.path.join(self.base_path, str(newest))
      started = time.time()
      try:
        model = LoadedModel(newest, path)
        if self._warmup is not None:
          self._warmup(model)
      except Exception as e:  # pylint: disable=broad-except
        # A broken version must not take the serving one down.
        self._failed[newest] = (f"{type(e).__name__}: {e}"[:500],
                                _fingerprint(path))
        logging.error("model %s version %d failed to load: %s", self.name,
                      newest, e)
        return False
      previous = self._current
      self._failed.pop(newest, None)
      self._current = model
      logging.info("model %s: version %d serving (loaded in %.1f s)%s",
                   self.name, newest, time.time() - started,
                   f", version {previous.version} unloaded" if previous else "")
      if self._freeze_heap:
        if previous is None:
          freeze_heap()
        else:
          # Requests still running on the previous version hold it: frozen
          # now, its objects would stay until the next switch. The next
          # poll that finds nothing new freezes instead (`settle_heap`).
          self._freeze_pending = True
      return True

  def settle_heap(self) -> None:
    """The freeze a version switch left for later (see `freeze_heap`)."""
    with self._lock:
      if self._freeze_pending:
        self._freeze_pending = False
        freeze_heap()

  def start_polling(self, interval_seconds: float) -> None:
    """Checks for new versions every `interval_seconds` in a daemon thread."""

    def loop():
      while not self._stop.wait(interval_seconds):
        if not self.refresh():
          self.settle_heap()

    self._thread = threading.Thread(target=loop, name="model-poller",
                                    daemon=True)
    self._thread.start()

  def stop(self) -> None:
    self._stop.set()
    if self._thread is not None:
      self._thread.join(timeout=5)
