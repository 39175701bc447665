# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""A page to look at what the served model recommends: `GET /ui`.

Search an item by title, click it, and see its related items (title,
topics with the shared ones highlighted, score, thumbnail) and the model
version answering. The page asks for recommendations through the public
`:predict` API only, pinned to the version whose metadata it shows; titles,
topics and thumbnails come from that version's `assets.extra/items.json`
(written by the Trainer's export), so the page always matches the version
it shows.

Routes:
  GET /ui                                the page (serving/ui/index.html)
  GET /ui/items                          {"model_name", "version", "items"}
                                         of the newest version
  GET /ui/thumbnails/<version>/<n>.jpg   a thumbnail listed in that version's
                                         metadata; anything else is a 404
"""
import os

import fastapi
from fastapi.responses import HTMLResponse
from fastapi.responses import Response

import tensorflow as tf

from relvid import contract
from serving.inference import ApiError
from serving.inference import Predictor

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ui",
                    "index.html")


def add_routes(app: fastapi.FastAPI, predictor: Predictor) -> None:
  """Adds the page's routes to the REST app."""

  @app.get("/ui", response_class=HTMLResponse)
  def page():
    with open(PAGE, encoding="utf-8") as f:
      return f.read()

  @app.get("/ui/items")
  def items():
    model = predictor.model(predictor.registry.name)
    metadata = model.item_metadata
    if metadata is None:
      raise ApiError("NOT_FOUND", f"version {model.version} was exported "
                     f"without {contract.ITEM_METADATA_FILE}")
    return {"model_name": predictor.registry.name,
            "version": model.version, "items": metadata["items"]}

  @app.get("/ui/thumbnails/{version}/{name:path}")
  def thumbnail(version: str, name: str):
    # Only names the version's own metadata lists are served: the request
    # never chooses a path on disk.
    model = predictor.model(predictor.registry.name)
    path = (model.thumbnails.get(f"{contract.THUMBNAIL_DIR}/{name}")
            if version == str(model.version) else None)
    if path is None:
      raise ApiError("NOT_FOUND", "no such thumbnail")
    try:
      with tf.io.gfile.GFile(path, "rb") as f:
        image = f.read()
    except tf.errors.NotFoundError:
      raise ApiError("NOT_FOUND", "no such thumbnail") from None
    return Response(image, media_type="image/jpeg",
                    headers={"Cache-Control": "max-age=3600"})
