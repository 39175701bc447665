# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Client for the related-items model over TF Serving's REST API.

Works unchanged against real TF Serving and the local endpoint
(`serving.server`): it only uses `POST /v1/models/<name>[/versions/<v>]:predict`
with the row ("instances") format.

  related 50 --url http://localhost:8501 --model relvid -k 10

prints the top-K related items of item 50 with their titles (MovieLens
titles from the installed package by default, or `--titles items.csv`).
"""
import argparse
import csv
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import requests

DEFAULT_URL = "http://localhost:8501"


class ServingError(RuntimeError):
  """The server answered with an error ({"error": ...})."""

  def __init__(self, status: int, message: str):
    super().__init__(f"HTTP {status}: {message}")
    self.status = status
    self.message = message


class RelatedClient:
  """Top-K related items for trigger item ids.

  Args:
    url: server root, e.g. http://localhost:8501.
    model: model name.
    version: pin a version (None: the newest the server has).
    timeout: seconds per request.
  """

  def __init__(self, url: str = DEFAULT_URL, model: str = "relvid",
               version: Optional[int] = None, timeout: float = 10.0,
               session: Optional[requests.Session] = None):
    path = f"/v1/models/{model}"
    if version is not None:
      path += f"/versions/{version}"
    self.predict_url = url.rstrip("/") + path + ":predict"
    self.timeout = timeout
    self.session = session or requests.Session()

  def related(self, item_ids: Sequence[str], k: Optional[int] = None
              ) -> List[List[Tuple[str, float]]]:
    """For each trigger id, [(item id, score), ...] best first."""
    response = self.session.post(
        self.predict_url, json={"instances": [str(i) for i in item_ids]},
        timeout=self.timeout)
    try:
      body = response.json()
    except ValueError:
      raise ServingError(response.status_code, response.text[:200]) from None
    if response.status_code != 200 or "error" in body:
      raise ServingError(response.status_code,
                         body.get("error", response.text[:200]))
    results = []
    for prediction in body["predictions"]:
      pairs = list(zip(prediction["candidate_ids"], prediction["scores"]))
      results.append(pairs[:k] if k else pairs)
    return results


def load_titles(path: Optional[str]) -> Dict[str, str]:
  """item id -> title from a CSV with item_id,title columns, or MovieLens."""
  if path:
    with open(path, newline="") as f:
      return {row["item_id"]: row.get("title", "") for row in
              csv.DictReader(f)}
  try:
    from components import assets  # pylint: disable=g-import-not-at-top
    folder = assets.movielens_100k_dir()
  except Exception:  # pylint: disable=broad-except
    return {}
  with open(os.path.join(folder, "ml-100k.item"), newline="") as f:
    rows = list(csv.reader(f, delimiter="\t"))[1:]
  return {row[0]: row[1] for row in rows}


def main(argv: Optional[List[str]] = None,
         prog: str = "related") -> int:
  parser = argparse.ArgumentParser(
      prog=prog, description="Print the items related to a trigger "
      "item, from a TF Serving (or local relvid) endpoint.")
  parser.add_argument("item_id", help="trigger item id")
  parser.add_argument("--url", default=os.environ.get("RELVID_URL",
                                                      DEFAULT_URL))
  parser.add_argument("--model", default="relvid")
  parser.add_argument("--version", type=int)
  parser.add_argument("-k", type=int, default=10, help="how many to print")
  parser.add_argument("--titles", help="CSV with item_id,title (default: "
                      "MovieLens-100K titles from the recbole package)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  titles = load_titles(args.titles)
  client = RelatedClient(args.url, args.model, args.version)
  try:
    (results,) = client.related([args.item_id], args.k)
  except (ServingError, requests.RequestException) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  print(f"related to {args.item_id} {titles.get(args.item_id, '')}".rstrip())
  for rank, (item_id, score) in enumerate(results, 1):
    print(f"{rank:>3}. {item_id:>8}  {score:7.4f}  {titles.get(item_id, '')}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
