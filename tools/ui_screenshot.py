# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Regenerates docs/ui.png, the screenshot of the page at /ui in docs/serving.md.

  make demo-media                      # a served model with thumbnails
  .venv/bin/python tools/ui_screenshot.py [--config configs/demo_media.yaml]
      [--query bunny] [--output docs/ui.png]

Starts `relvid serve` on the config's pushed model, opens /ui in Debian's
headless Chromium (tests/webdriver.py), searches --query, clicks the first
result and saves a screenshot of the related list.
"""
import argparse
import os
import socket
import subprocess
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests import webdriver  # pylint: disable=g-import-not-at-top,wrong-import-position


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--config", default="configs/demo_media.yaml")
  parser.add_argument("--query", default="bunny")
  parser.add_argument("--output", default="docs/ui.png")
  args = parser.parse_args()
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  server = subprocess.Popen(
      [os.path.join(os.path.dirname(sys.executable), "relvid"), "serve",
       "--config", args.config, "--rest_api_port", str(port), "--port", "0"],
      cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  url = f"http://127.0.0.1:{port}"
  try:
    deadline = time.time() + 180
    while True:
      try:
        if requests.get(url + "/ui/items", timeout=2).ok:
          break
      except requests.RequestException:
        pass
      if server.poll() is not None or time.time() > deadline:
        print("error: relvid serve did not start", file=sys.stderr)
        return 1
      time.sleep(1)
    browser = webdriver.Browser(1100, 860)
    try:
      browser.get(url + "/ui")
      browser.wait(lambda: "version" in browser.text(browser.find("#version")),
                   what="the catalog")
      browser.type(browser.find("#search"), args.query)
      results = browser.wait(lambda: browser.find_all("#results li"),
                             what="search results")
      browser.click(results[0])
      browser.wait(lambda: browser.find_all("#related li"),
                   what="the related list")
      browser.wait(lambda: browser.script(
          "return [...document.images].every(i => i.complete)"),
                   what="the thumbnails")
      os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
      with open(args.output, "wb") as f:
        f.write(browser.screenshot())
    finally:
      browser.close()
  finally:
    server.terminate()
    server.wait(timeout=30)
  print(f"wrote {args.output}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
