# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The recommendations page: the exported item metadata and thumbnails, the
page's routes (path traversal gets 404), and the page itself in a real
headless Chromium: load, search, click, and the related list renders."""
import http.client
import json
import os
import shutil
import threading
import time

import cv2
import numpy as np
import pytest
import uvicorn

from relvid import contract
from serving import inference
from serving import registry as registry_lib
from serving import server
from tests import webdriver
from trainer import export


def _free_port() -> int:
  import socket  # pylint: disable=g-import-not-at-top
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.fixture(scope="module")
def page_server(small_pipeline_run, tmp_path_factory):
  """The pushed model, with item 0 given a real photo and item 1 a corrupt
  file as media before its metadata is rewritten, served over HTTP."""
  folder = tmp_path_factory.mktemp("ui")
  base = folder / "relvid"
  shutil.copytree(small_pipeline_run.serving_base, base)
  (version,) = os.listdir(base)
  with open(base / version / contract.ITEM_METADATA_FILE) as f:
    pushed = json.load(f)["items"]
  from skimage import data  # pylint: disable=g-import-not-at-top
  photo = str(folder / "astronaut.png")
  cv2.imwrite(photo, cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
  corrupt = folder / "corrupt.mp4"
  corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
  media = [photo, str(corrupt)] + [""] * (len(pushed) - 2)
  counts = export.write_item_metadata(
      str(base / version), [i["item_id"] for i in pushed],
      [i["title"] for i in pushed], [i["topics"] for i in pushed], media,
      [i["engagements"] for i in pushed])
  # Metadata that names a file outside the thumbnail folder is not trusted.
  metadata_file = base / version / contract.ITEM_METADATA_FILE
  tampered = json.loads(metadata_file.read_text())
  tampered["items"][2]["thumbnail"] = "thumbnails/../../saved_model.pb"
  metadata_file.write_text(json.dumps(tampered))
  registry = registry_lib.ModelRegistry("relvid", str(base), server.warm_up)
  assert registry.refresh()
  port = _free_port()
  http_server = uvicorn.Server(uvicorn.Config(
      server.create_app(inference.Predictor(registry)), host="127.0.0.1",
      port=port, log_level="warning"))
  thread = threading.Thread(target=http_server.run, daemon=True)
  thread.start()
  deadline = time.time() + 60
  while not http_server.started:
    assert thread.is_alive() and time.time() < deadline, "uvicorn did not start"
    time.sleep(0.05)
  yield {"url": f"http://127.0.0.1:{port}", "port": port, "items": pushed,
         "version": version, "counts": counts, "base": base}
  http_server.should_exit = True
  thread.join(timeout=10)


def _get(port: int, raw_path: str):
  """GET with the path sent byte for byte (no client-side normalisation)."""
  connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
  connection.putrequest("GET", raw_path, skip_accept_encoding=True)
  connection.endheaders()
  response = connection.getresponse()
  return response.status, response.getheader("content-type"), response.read()


def test_export_writes_item_metadata_and_thumbnails(small_pipeline_run,
                                                     page_server):
  import csv  # pylint: disable=g-import-not-at-top
  with open(small_pipeline_run.items_csv) as f:
    titles = {r["item_id"]: r["title"] for r in csv.DictReader(f)}
  items = page_server["items"]
  # The Trainer's own export: every indexed item, titled, no media here.
  assert {i["item_id"] for i in items} <= set(titles)
  assert all(i["title"] == titles[i["item_id"]] for i in items)
  assert all(i["thumbnail"] is None for i in items)
  assert page_server["counts"] == {"items": len(items), "thumbnails": 1,
                                   "thumbnail_errors": 1}
  folder = page_server["base"] / page_server["version"] / "assets.extra"
  thumbnail = cv2.imread(str(folder / "thumbnails" / "0.jpg"))
  assert max(thumbnail.shape[:2]) == export.THUMBNAIL_PIXELS  # 512x512 in
  assert not (folder / "thumbnails" / "1.jpg").exists()


def test_page_routes_and_no_path_traversal(page_server):
  port, version = page_server["port"], page_server["version"]
  status, kind, body = _get(port, "/ui")
  assert status == 200 and kind.startswith("text/html")
  assert b'id="search"' in body
  status, _, body = _get(port, "/ui/items")
  listing = json.loads(body)
  assert status == 200 and listing["version"] == int(version)
  assert listing["items"][0]["thumbnail"] == "thumbnails/0.jpg"
  status, kind, body = _get(port, f"/ui/thumbnails/{version}/0.jpg")
  assert status == 200 and kind == "image/jpeg"
  assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR
                      ) is not None
  for path in (f"/ui/thumbnails/{version}/1.jpg",  # listed without one
               f"/ui/thumbnails/{int(version) + 1}/0.jpg",  # not served
               f"/ui/thumbnails/{version}/../items.json",
               f"/ui/thumbnails/{version}/../../saved_model.pb",
               f"/ui/thumbnails/{version}/..%2F..%2Fsaved_model.pb",
               f"/ui/thumbnails/{version}/%2e%2e/%2e%2e/saved_model.pb",
               f"/ui/thumbnails/{version}/%252e%252e%252fsaved_model.pb",
               f"/ui/thumbnails/{version}/..\\..\\saved_model.pb",
               f"/ui/thumbnails/{version}/0.jpg%00.pb",
               f"/ui/thumbnails/{version}//etc/passwd",
               "/ui/thumbnails/..%2F..%2F..%2Fetc/passwd"):
    status, _, body = _get(port, path)
    assert status == 404, path
    assert b"root:" not in body and len(body) < 200, path


def test_page_in_headless_chromium(page_server, tmp_path):
  items = page_server["items"]
  by_id = {i["item_id"]: i for i in items}
  # A title word that several items share, so the search lists some.
  words = [w for i in items for w in i["title"].lower().split()
           if len(w) > 3 and w.isalpha()]
  query = max(sorted(set(words)), key=words.count)
  browser = webdriver.Browser()
  try:
    browser.get(page_server["url"] + "/ui")
    version = browser.wait(lambda: "version" in browser.text(
        browser.find("#version")) and browser.text(browser.find("#version")),
                           what="the catalog")
    assert f"version {page_server['version']}" in version
    # The start view: the most engaged items, most first.
    start = browser.wait(lambda: browser.find_all("#results li"),
                         what="the start view")
    assert browser.text(browser.find("#results-title")) == (
        "Most engaged items")
    shown = [browser.attribute(r, "data-item-id") for r in start]
    most = sorted(items, key=lambda i: -i["engagements"])[:20]
    assert [by_id[i]["engagements"] for i in shown] == [
        i["engagements"] for i in most]
    assert most[0]["engagements"] > most[-1]["engagements"] >= 0
    browser.type(browser.find("#search"), query)
    results = browser.wait(lambda: browser.find_all("#results li"),
                           what="search results")
    listed = [browser.attribute(r, "data-item-id") for r in results]
    assert all(query in by_id[i]["title"].lower() for i in listed)
    trigger = listed[0]
    browser.click(results[0])
    rows = browser.wait(lambda: browser.find_all("#related li"),
                        what="the related list")
    related = [browser.attribute(r, "data-item-id") for r in rows]
    assert len(related) == min(20, len(items) - 1)
    assert trigger not in related and set(related) <= set(by_id)
    assert by_id[trigger]["title"] in browser.text(browser.find("#trigger"))
    # Titles, scores best first, and exactly the shared topics highlighted.
    first = browser.text(rows[0])
    assert by_id[related[0]]["title"] in first
    scores = [float(browser.text(s)) for s in browser.find_all(
        "#related .score")]
    assert scores == sorted(scores, reverse=True)
    shared = [browser.text(t) for t in browser.find_all(
        "#related .topic.shared")]
    expected = [t for i in related for t in by_id[i]["topics"]
                if t in by_id[trigger]["topics"]]
    assert shared == expected
    # The thumbnail of the item with media loads in the browser.
    browser.type(browser.find("#search"), "")  # keep focus, then clear
    browser.script("const s = document.getElementById('search');"
                   "s.value = arguments[0];"
                   "s.dispatchEvent(new Event('input'));",
                   items[0]["title"])
    image = browser.wait(lambda: browser.find_all("#results img.thumb"),
                         what="a thumbnail")[0]
    assert browser.wait(lambda: browser.script(
        "return arguments[0].complete && arguments[0].naturalWidth",
        {webdriver.ELEMENT: image}), what="the thumbnail to load") > 0
    (tmp_path / "ui.png").write_bytes(browser.screenshot())
    assert browser.text(browser.find("#error")) == ""

    # A list has an address: #item=ID (or ?item=ID) opens it on a fresh
    # load; a related item's link opens its own list; back returns.
    assert browser.script("return location.hash") == (
        f"#item={trigger}")
    for address in (f"/ui#item={trigger}", f"/ui?item={trigger}"):
      browser.get("about:blank")
      browser.get(page_server["url"] + address)
      rows = browser.wait(lambda: browser.find_all("#related li"),
                          what=f"the related list of {address}")
      assert [browser.attribute(r, "data-item-id") for r in rows] == related
    browser.click(browser.find("#related li a"))
    browser.wait(lambda: browser.script("return location.hash") ==
                 f"#item={related[0]}", what="the related item's address")
    browser.wait(lambda: by_id[related[0]]["title"] in browser.text(
        browser.find("#trigger")), what="the related item's list")
    browser.script("history.back()")
    browser.wait(lambda: by_id[trigger]["title"] in browser.text(
        browser.find("#trigger")), what="the list after going back")
    browser.get(page_server["url"] + "/ui#item=no-such-item")
    assert "no-such-item is not in version" in browser.wait(
        lambda: browser.text(browser.find("#error")), what="the error")
  finally:
    browser.close()
