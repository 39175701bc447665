# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""EfficientNet-Lite0 port: real images classified, real videos told apart."""
import pickle

import numpy as np
import pytest

from components import assets
from components import frames as frames_lib
from components import visual_encoder

EGYPTIAN_CAT, ESPRESSO = 285, 967  # ImageNet class indices


@pytest.fixture(scope="module")
def encode(visual_encoder_dir):
  return visual_encoder.load_visual_encoder(visual_encoder_dir)


def test_checkpoint_reads_without_torch():
  weights = visual_encoder.load_legacy_torch_state_dict(
      visual_encoder.checkpoint_path())
  params = sum(v.size for k, v in weights.items()
               if not k.endswith("num_batches_tracked"))
  assert 4.6e6 < params < 4.8e6
  assert weights["_conv_stem.weight"].shape == (32, 3, 3, 3)
  assert weights["_fc.weight"].shape == (1000, 1280)


def test_restricted_unpickler_refuses_other_classes(tmp_path):
  path = tmp_path / "evil.pth"
  with open(path, "wb") as f:
    for header in (1, 1001, {}):
      pickle.dump(header, f)
    pickle.dump(print, f)  # builtins.print: not a tensor
  with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
    visual_encoder.load_legacy_torch_state_dict(str(path))


@pytest.mark.parametrize("image, label", [("chelsea.png", EGYPTIAN_CAT),
                                          ("coffee.png", ESPRESSO)])
def test_real_images_get_the_right_imagenet_class(encode, image, label):
  frames = frames_lib.read_frames(assets.sample_image(image))
  out = encode(frames)
  assert out["embedding"].shape == (1, visual_encoder.EMBEDDING_DIM)
  probs = np.exp(out["logits"][0] - out["logits"][0].max())
  probs /= probs.sum()
  assert probs.argmax() == label
  assert probs[label] > 0.5


def test_frames_of_one_video_are_closer_than_across_videos(encode):
  videos = ("bigbuckbunny.mp4", "carphone_pristine.mp4", "bikes.mp4")
  vectors = {v: encode(frames_lib.read_frames(assets.sample_video(v), 4))[
      "embedding"] for v in videos}
  pairs = np.triu_indices(4, 1)
  within = {v: (e @ e.T)[pairs].mean() for v, e in vectors.items()}
  across = {(a, b): (vectors[a] @ vectors[b].T).mean()
            for a in videos for b in videos if a < b}
  # Measured: bunny 0.78, carphone 0.93 within; 0.26-0.31 across. bikes.mp4
  # changes scene a lot (0.31 within) but is still closer to itself.
  for (a, b), similarity in across.items():
    assert within[a] > similarity and within[b] > similarity, (a, b)
  assert min(within["bigbuckbunny.mp4"],
             within["carphone_pristine.mp4"]) > max(across.values()) + 0.3
