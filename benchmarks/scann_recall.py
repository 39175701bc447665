# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""ScaNN recall@10 of the exported index against exact (brute-force) search.

  .venv/bin/python -m benchmarks.scann_recall [--config FILE] [--set a.b=v]

Takes the newest Trainer output of the configured pipeline: queries its
exported serving signature for every catalog item, and compares the top 10
with the exact top 10 computed from the towers' item vectors saved beside it
(`item_embeddings.npz` in the model run). Prints recall@10 and query time.
"""
import argparse
import os
import sys
import time

import numpy as np
from scann.scann_ops.py import scann_ops  # noqa: F401  (registers the ops)
import tensorflow as tf

import benchmarks
from pipeline import results
from relvid import config as config_lib
from relvid import contract
from trainer import validation


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  config_lib.add_arguments(parser)
  parser.add_argument("--k", type=int, default=10)
  args = parser.parse_args()
  config = config_lib.load_config(args.config, args.overrides)
  vectors = results.latest_item_embeddings(config)
  model_uri = results.latest_output_uri(config, "Trainer", "model")
  ids = vectors["item_ids"]
  everything = np.arange(len(ids))
  exact = validation.exact_top_k(vectors["trigger"], vectors["candidate"],
                               everything, args.k)
  serve = tf.saved_model.load(
      os.path.join(model_uri, contract.SERVING_MODEL_DIR)).signatures[
          contract.SERVING_SIGNATURE]
  index = {item_id: i for i, item_id in enumerate(ids)}
  started = time.time()
  hits = 0
  for start in range(0, len(ids), 256):
    batch = ids[start:start + 256]
    out = serve(trigger_id=tf.constant(list(batch)))["candidate_ids"].numpy()
    for row, got in enumerate(out[:, :args.k]):
      found = {index[c.decode()] for c in got}
      hits += len(found & set(exact[start + row]))
  seconds = time.time() - started
  print(f"model: {model_uri}")
  print(f"items: {len(ids)}  index: {config.export.index}")
  print(f"recall@{args.k} of the exported index vs exact search: "
        f"{hits / (len(ids) * args.k):.4f}")
  print(f"query time: {seconds:.2f} s for {len(ids)} triggers "
        f"({len(ids) / seconds:.0f} triggers/s, batches of 256)")
  return 0


if __name__ == "__main__":
  sys.exit(benchmarks.run_main(main))
