# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Frame extraction from real media, and every way media can be bad."""
import numpy as np
import pytest

from components import assets
from components import frames


@pytest.mark.parametrize("method", ["uniform", "scene"])
def test_video_frames(method):
  got = frames.read_frames(assets.sample_video("bikes.mp4"), 5, method)
  assert got.shape == (5, 272, 640, 3) and got.dtype == np.uint8
  assert len({f.tobytes() for f in got}) == 5  # five different frames


def test_image_is_one_rgb_frame():
  got = frames.read_frames(assets.sample_image("coffee.png"), 4)
  assert got.shape == (1, 400, 600, 3)
  # coffee.png is brown: red channel above blue on average.
  assert got[..., 0].mean() > got[..., 2].mean()


def test_scene_change_indices_pick_the_cuts():
  dark = np.zeros((8, 8, 3), np.uint8)
  light = np.full((8, 8, 3), 255, np.uint8)
  video = [dark] * 3 + [light] * 3 + [dark] * 2
  assert frames.scene_change_indices(video, 3) == [0, 3, 6]


@pytest.mark.parametrize("name, content, reason", [
    ("missing.mp4", None, "media_missing"),
    ("corrupt.mp4", b"\x00\x01 definitely not a video" * 10, "media_unreadable"),
    ("corrupt.png", b"\x89PNG broken", "media_unreadable"),
])
def test_bad_media_raise_with_a_reason(tmp_path, name, content, reason):
  path = tmp_path / name
  if content is not None:
    path.write_bytes(content)
  with pytest.raises(frames.MediaError) as error:
    frames.read_frames(str(path), 3)
  assert error.value.reason == reason


def test_truncated_video_is_bad_not_partial(tmp_path):
  with open(assets.sample_video("bikes.mp4"), "rb") as f:
    head = f.read(2000)
  path = tmp_path / "truncated.mp4"
  path.write_bytes(head)
  with pytest.raises(frames.MediaError):
    frames.read_frames(str(path), 3)
