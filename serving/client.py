# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Client for the related-items model over TF Serving's REST or gRPC API.

Works unchanged against real TF Serving and the local endpoint
(`serving.server`): over REST it only uses
`POST /v1/models/<name>[/versions/<v>]:predict` with the row ("instances")
format; over gRPC, `PredictionService/Predict`.

  related 50 --url http://localhost:8501 --model relvid -k 10
  related 50 --grpc localhost:8500

prints the top-K related items of item 50 with their titles: those of the
version a relvid endpoint serves (its `GET /ui/items` over REST at --url;
with --grpc only when --url is given), or `--titles items.csv`.
Neither TensorFlow nor its protos are imported (serving/wire.py).
"""
import argparse
import csv
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import requests

DEFAULT_URL = "http://localhost:8501"


UNKNOWN_ID_PREFIX = "unknown trigger_id:"


class ServingError(RuntimeError):
  """The server answered with an error: `status` is the HTTP status (REST)
  or the gRPC status code name, `message` the server's error text."""

  def __init__(self, status, message: str):
    super().__init__(f"HTTP {status}: {message}" if isinstance(status, int)
                     else f"{status}: {message}")
    self.status = status
    self.message = message

  @property
  def unknown_ids(self) -> Optional[str]:
    """The unknown trigger ids the server named, if that was the error."""
    if UNKNOWN_ID_PREFIX not in self.message:
      return None
    return self.message.split(UNKNOWN_ID_PREFIX, 1)[1].strip()


class UnreachableError(ConnectionError):
  """No answer from the endpoint (refused, unresolvable, timed out)."""


class RelatedClient:
  """Top-K related items for trigger item ids.

  Args:
    url: REST server root, e.g. http://localhost:8501.
    model: model name.
    version: pin a version (None: the newest the server has).
    timeout: seconds per request.
    session: a requests session to reuse (REST).
    grpc_target: "host:port" of the gRPC API; when set, requests go over
      gRPC instead of REST.
  """

  def __init__(self, url: str = DEFAULT_URL, model: str = "relvid",
               version: Optional[int] = None, timeout: float = 10.0,
               session: Optional[requests.Session] = None,
               grpc_target: Optional[str] = None):
    path = f"/v1/models/{model}"
    if version is not None:
      path += f"/versions/{version}"
    self.predict_url = url.rstrip("/") + path + ":predict"
    self.model = model
    self.version = version
    self.timeout = timeout
    self.session = session or requests.Session()
    self.grpc_target = grpc_target
    self._predict = None

  @property
  def endpoint(self) -> str:
    return self.grpc_target or self.predict_url

  def related(self, item_ids: Sequence[str], k: Optional[int] = None
              ) -> List[List[Tuple[str, float]]]:
    """For each trigger id, [(item id, score), ...] best first.

    Raises:
      ServingError: the server answered with an error.
      UnreachableError: the server did not answer.
    """
    ids = [str(i) for i in item_ids]
    pairs = (self._related_grpc(ids) if self.grpc_target
             else self._related_rest(ids))
    return [p[:k] if k else p for p in pairs]

  def _related_rest(self, ids: List[str]) -> List[List[Tuple[str, float]]]:
    try:
      response = self.session.post(self.predict_url, json={"instances": ids},
                                   timeout=self.timeout)
    except requests.RequestException as e:
      raise UnreachableError(f"cannot reach {self.predict_url} "
                             f"({type(e).__name__})") from None
    try:
      body = response.json()
    except ValueError:
      raise ServingError(response.status_code, response.text[:200]) from None
    if response.status_code != 200 or "error" in body:
      raise ServingError(response.status_code,
                         body.get("error", response.text[:200]))
    return [list(zip(p["candidate_ids"], p["scores"]))
            for p in body["predictions"]]

  def _related_grpc(self, ids: List[str]) -> List[List[Tuple[str, float]]]:
    # Imported here: REST users need no grpc. The messages are
    # serving/wire.py's, so no TensorFlow is imported either.
    import grpc  # pylint: disable=g-import-not-at-top
    from serving import wire  # pylint: disable=g-import-not-at-top
    if self._predict is None:
      self._predict = grpc.insecure_channel(self.grpc_target).unary_unary(
          wire.PREDICT_METHOD,
          request_serializer=wire.PredictRequest.SerializeToString,
          response_deserializer=wire.PredictResponse.FromString)
    request = wire.predict_request(self.model, ids, self.version)
    try:
      response = self._predict(request, timeout=self.timeout)
    except grpc.RpcError as e:
      if e.code() == grpc.StatusCode.UNAVAILABLE and (
          "connect" in (e.details() or "").lower()):
        raise UnreachableError(f"cannot reach {self.grpc_target} over gRPC "
                               f"({e.code().name})") from None
      raise ServingError(e.code().name, e.details() or "") from None
    candidates = response.outputs["candidate_ids"]
    scores = response.outputs["scores"]
    width = candidates.tensor_shape.dim[-1].size
    names = [v.decode() for v in candidates.string_val]
    # TF packs numeric tensors into tensor_content, other writers use float_val.
    values = (np.frombuffer(scores.tensor_content, "<f4").tolist()
              if scores.tensor_content else list(scores.float_val))
    return [list(zip(names[r * width:(r + 1) * width],
                     values[r * width:(r + 1) * width]))
            for r in range(len(ids))]


def load_titles(path: str) -> Dict[str, str]:
  """item id -> title from a CSV with item_id,title columns."""
  with open(path, newline="") as f:
    return {row["item_id"]: row.get("title", "") for row in
            csv.DictReader(f)}


def served_titles(url: str, model: str, version: Optional[int] = None,
                  timeout: float = 5.0) -> Dict[str, str]:
  """item id -> title of the version a relvid endpoint serves (its page's
  `GET /ui/items`, from the version's own `assets.extra/items.json`); {}
  when the endpoint has none (TF Serving itself, a version exported without
  metadata), serves another model or version, or cannot be reached."""
  try:
    response = requests.get(url.rstrip("/") + "/ui/items", timeout=timeout)
    body = response.json() if response.status_code == 200 else {}
    if body.get("model_name") != model or (
        version is not None and body.get("version") != version):
      return {}
    items = body["items"]
  except (requests.RequestException, ValueError, KeyError, TypeError,
          AttributeError):
    return {}
  return {str(item["item_id"]): item.get("title") or "" for item in items
          if isinstance(item, dict) and "item_id" in item}


def main(argv: Optional[List[str]] = None,
         prog: str = "related") -> int:
  parser = argparse.ArgumentParser(
      prog=prog, description="Print the items related to a trigger "
      "item, from a TF Serving (or local relvid) endpoint.")
  parser.add_argument("item_id", help="trigger item id")
  parser.add_argument("--url", default=os.environ.get("RELVID_URL"),
                      help=f"REST endpoint (default {DEFAULT_URL}); with "
                      "--grpc, where the titles are read")
  parser.add_argument("--grpc", metavar="HOST:PORT",
                      default=os.environ.get("RELVID_GRPC"),
                      help="use the gRPC API at HOST:PORT instead of REST")
  parser.add_argument("--model", default="relvid")
  parser.add_argument("--version", type=int)
  parser.add_argument("-k", type=int, default=10, help="how many to print")
  parser.add_argument("--titles", help="CSV with item_id,title (default: "
                      "the titles of the version a relvid endpoint serves, "
                      "read over REST; with --grpc only when --url is "
                      "given)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  url = args.url or DEFAULT_URL
  if args.titles:
    titles = load_titles(args.titles)
  elif args.url or not args.grpc:
    titles = served_titles(url, args.model, args.version)
  else:  # no REST endpoint named: ids only
    titles = {}
  client = RelatedClient(url, args.model, args.version,
                         grpc_target=args.grpc)
  try:
    (results,) = client.related([args.item_id], args.k)
  except ServingError as e:
    print(f"unknown item id: {args.item_id}" if e.unknown_ids is not None
          else f"error: {e}", file=sys.stderr)
    return 1
  except UnreachableError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  try:
    print(f"related to {args.item_id} "
          f"{titles.get(args.item_id, '')}".rstrip())
    for rank, (item_id, score) in enumerate(results, 1):
      print(f"{rank:>3}. {item_id:>8}  {score:7.4f}  "
            f"{titles.get(item_id, '')}")
    sys.stdout.flush()
  except BrokenPipeError:
    # The reader stopped early (`related 50 | head -3`): not a failure.
    # Point stdout at /dev/null so that the flush at exit does not raise
    # again and print a traceback.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
  return 0


if __name__ == "__main__":
  sys.exit(main())
