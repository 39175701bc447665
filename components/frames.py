# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Representative frames of an item's media (video file or image), with OpenCV.

`read_frames(path, count, method)`:
  * images (.jpg, .png, ...): the image itself, one frame;
  * videos, `uniform`: `count` frames evenly spaced over the video;
  * videos, `scene`: the first frame plus the `count - 1` frames that differ
    most from their predecessor (colour-histogram distance), in time order.
Frames come back as RGB uint8 [n, H, W, 3]. Missing, unreadable or corrupt
media raise `MediaError` with a reason (`media_missing`, `media_unreadable`,
`media_no_frames`), which callers count; nothing is made up. Media on a
remote filesystem (gs://...) is copied to a local temporary file through
tf.io.gfile first, since OpenCV decodes local files only.
"""
import contextlib
import os
import tempfile
from typing import Iterator, List

import numpy as np

from relvid import config as config_lib

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
METHODS = ("uniform", "scene")


class MediaError(ValueError):
  """Media that yields no frame; `reason` is the counter name."""

  def __init__(self, reason: str, path: str, detail: str = ""):
    super().__init__(f"{reason}: {path}" + (f" ({detail})" if detail else ""))
    self.reason = reason
    self.path = path
    self.detail = detail


def _read_image(path: str) -> np.ndarray:
  import cv2  # pylint: disable=g-import-not-at-top
  image = cv2.imread(path, cv2.IMREAD_COLOR)
  if image is None:
    raise MediaError("media_unreadable", path, "not a decodable image")
  return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)[np.newaxis]


def _decode_all(capture, max_frames: int) -> List[np.ndarray]:
  frames = []
  while len(frames) < max_frames:
    ok, frame = capture.read()
    if not ok:
      break
    frames.append(frame)
  return frames


def _histogram(frame) -> np.ndarray:
  import cv2  # pylint: disable=g-import-not-at-top
  hist = cv2.calcHist([frame], [0, 1, 2], None, [8, 8, 8],
                      [0, 256, 0, 256, 0, 256]).ravel()
  return hist / max(hist.sum(), 1.0)


def scene_change_indices(frames: List[np.ndarray], count: int) -> List[int]:
  """Frame 0 plus the `count - 1` largest histogram changes, sorted."""
  if len(frames) <= count:
    return list(range(len(frames)))
  hists = [_histogram(f) for f in frames]
  change = [np.abs(hists[i] - hists[i - 1]).sum()
            for i in range(1, len(frames))]
  best = np.argsort(change)[::-1][:count - 1] + 1
  return sorted({0, *best.tolist()})


@contextlib.contextmanager
def _local_copy(path: str) -> Iterator[str]:
  """`path` itself when local, else a temporary local copy of it."""
  if not config_lib.is_remote(path):
    if not os.path.isfile(path):
      raise MediaError("media_missing", path)
    yield path
    return
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not tf.io.gfile.exists(path):
    raise MediaError("media_missing", path)
  with tempfile.TemporaryDirectory(prefix="relvid-media-") as folder:
    local = os.path.join(folder, "media" + os.path.splitext(path)[1])
    tf.io.gfile.copy(path, local)
    yield local


def read_frames(path: str, count: int = 4, method: str = "uniform",
                max_decoded_frames: int = 3000) -> np.ndarray:
  """Representative RGB frames of one media file (see module docstring)."""
  if method not in METHODS:
    raise ValueError(f"frame method must be one of {METHODS}, got {method!r}")
  if not path:
    raise MediaError("media_missing", path)
  with _local_copy(path) as local:
    try:
      return _decode(local, count, method, max_decoded_frames)
    except MediaError as e:  # name the original file, not the local copy
      raise MediaError(e.reason, path, e.detail) from None


def _decode(path: str, count: int, method: str,
            max_decoded_frames: int) -> np.ndarray:
  import cv2  # pylint: disable=g-import-not-at-top
  if path.lower().endswith(IMAGE_EXTENSIONS):
    return _read_image(path)
  capture = cv2.VideoCapture(path)
  try:
    if not capture.isOpened():
      raise MediaError("media_unreadable", path, "cannot open as video")
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if method == "uniform" and total > 0:
      frames = []
      for index in np.linspace(0, total - 1, num=min(count, total)).round():
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = capture.read()
        if ok:
          frames.append(frame)
    else:
      decoded = _decode_all(capture, max_decoded_frames)
      frames = [decoded[i] for i in scene_change_indices(decoded, count)]
  finally:
    capture.release()
  if not frames:
    raise MediaError("media_no_frames", path, "no frame could be decoded")
  return np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames])
