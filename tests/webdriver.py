# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""A headless Chromium driven through chromedriver's W3C WebDriver protocol.

Debian's `chromium` and `chromium-driver` (`make test-tools` installs them);
the protocol is plain HTTP+JSON, so `requests` is the only client needed.
"""
import base64
import shutil
import socket
import subprocess
import time
from typing import Any, Callable, List

import requests

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element key


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class BrowserMissing(RuntimeError):
  pass


class Browser:
  """One headless Chromium session."""

  def __init__(self, width: int = 1280, height: int = 900):
    driver, chromium = shutil.which("chromedriver"), shutil.which("chromium")
    if not driver or not chromium:
      raise BrowserMissing("the UI test needs Debian's chromium and "
                           "chromium-driver: run `make test-tools`")
    port = _free_port()
    self.process = subprocess.Popen([driver, f"--port={port}"],
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    self.root = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
      try:
        if requests.get(self.root + "/status", timeout=2).json()["value"][
            "ready"]:
          break
      except requests.RequestException:
        pass
      if time.time() > deadline:
        self.process.kill()
        raise RuntimeError("chromedriver did not start")
      time.sleep(0.2)
    try:
      session = self._call("POST", "/session", {"capabilities": {
          "alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
              "binary": chromium,
              "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                       "--disable-dev-shm-usage",
                       f"--window-size={width},{height}"]}}}})
    except Exception:
      self.process.kill()
      raise
    self.session = f"/session/{session['sessionId']}"

  def _call(self, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, self.root + path, json=body,
                                timeout=60)
    value = response.json()["value"]
    if response.status_code != 200:
      raise RuntimeError(f"WebDriver {path}: {value.get('message', value)}")
    return value

  def _session(self, method: str, path: str, body: Any = None) -> Any:
    return self._call(method, self.session + path, body)

  def get(self, url: str) -> None:
    self._session("POST", "/url", {"url": url})

  def find_all(self, css: str) -> List[str]:
    found = self._session("POST", "/elements",
                          {"using": "css selector", "value": css})
    return [e[ELEMENT] for e in found]

  def find(self, css: str) -> str:
    found = self.find_all(css)
    if not found:
      raise LookupError(f"no element matches {css!r}")
    return found[0]

  def text(self, element: str) -> str:
    return self._session("GET", f"/element/{element}/text")

  def attribute(self, element: str, name: str) -> str:
    return self._session("GET", f"/element/{element}/attribute/{name}")

  def click(self, element: str) -> None:
    self._session("POST", f"/element/{element}/click", {})

  def type(self, element: str, text: str) -> None:
    self._session("POST", f"/element/{element}/value", {"text": text})

  def script(self, source: str, *args) -> Any:
    return self._session("POST", "/execute/sync",
                         {"script": source, "args": list(args)})

  def screenshot(self) -> bytes:
    return base64.b64decode(self._session("GET", "/screenshot"))

  def wait(self, condition: Callable[[], Any], timeout: float = 30,
           what: str = "condition") -> Any:
    deadline = time.time() + timeout
    while True:
      value = condition()
      if value:
        return value
      if time.time() > deadline:
        raise TimeoutError(f"waited {timeout} s for {what}")
      time.sleep(0.1)

  def close(self) -> None:
    try:
      self._call("DELETE", self.session)
    finally:
      self.process.terminate()
      self.process.wait(timeout=10)
