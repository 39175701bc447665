# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""A local Google Cloud Storage for tests: gcp-storage-emulator (PyPI), with
the settings that let both of this stack's gs:// clients use it.

  python tests/gcs_emulator.py start --host 127.0.0.1 --port P --in-memory

starts the emulator with one fix: tensorflow-io-gcs-filesystem's GCS client
sends `Host: 127.0.0.1` without the port, the emulator builds each object's
download link from that header, and google-cloud-storage (Beam's GcsIO)
then downloads TF-written objects from port 80. The port is added to such
headers before the emulator sees them.

`client_environment(endpoint, folder)` is what a process needs before it
imports TensorFlow or Beam:
  * Beam (google-cloud-storage): STORAGE_EMULATOR_HOST, and an
    application-default credentials file with a token that never expires
    (else GcsIO retries google.auth.default() for ~20 s per pipeline);
  * TensorFlow: TF_USE_MODULAR_FILESYSTEM=1 routes gs:// to the
    tensorflow-io-gcs-filesystem plugin (TF's built-in GCS client cannot be
    pointed at an emulator), CLOUD_STORAGE_EMULATOR_ENDPOINT points it here,
    JSON API only (the emulator does not answer the XML API's empty PUTs),
    and every GCS_* cache setting given (plugin 0.37.1 crashes on an unset
    one; block size 0 avoids a crash on backward reads).
"""
import json
import os
import sys
from typing import Dict


def client_environment(endpoint: str, folder: str) -> Dict[str, str]:
  credentials = os.path.join(folder, "emulator_credentials.json")
  with open(credentials, "w") as f:
    json.dump({"type": "authorized_user", "client_id": "emulator",
               "client_secret": "emulator", "refresh_token": "emulator",
               "token": "emulator-token", "expiry": "2099-01-01T00:00:00Z"},
              f)
  return {"STORAGE_EMULATOR_HOST": endpoint,
          "GOOGLE_APPLICATION_CREDENTIALS": credentials,
          "GOOGLE_CLOUD_PROJECT": "test-project",
          "TF_USE_MODULAR_FILESYSTEM": "1",
          "CLOUD_STORAGE_EMULATOR_ENDPOINT": endpoint,
          "GOOGLE_CLOUD_CPP_STORAGE_REST_CONFIG": "disable-xml",
          "GCS_READ_CACHE_BLOCK_SIZE_MB": "0",
          "GCS_READ_CACHE_MAX_SIZE_MB": "0",
          "GCS_READ_CACHE_MAX_STALENESS": "0",
          "GCS_STAT_CACHE_MAX_AGE": "0",
          "GCS_STAT_CACHE_MAX_ENTRIES": "0"}


def _main(argv) -> None:
  from http import server as http_server  # pylint: disable=g-import-not-at-top
  from gcp_storage_emulator import server  # pylint: disable=g-import-not-at-top
  from gcp_storage_emulator.__main__ import main  # pylint: disable=g-import-not-at-top
  original = server.Request.__init__

  def with_port(self, handler, method):
    host = handler.headers.get("Host")
    if host and ":" not in host.rsplit("]", 1)[-1]:
      handler.headers.replace_header(
          "Host", f"{host}:{handler.server.server_address[1]}")
    original(self, handler, method)

  server.Request.__init__ = with_port
  # HTTP/1.1 with a thread per connection: clients keep connections open.
  server.RequestHandler.protocol_version = "HTTP/1.1"
  server.server.HTTPServer = http_server.ThreadingHTTPServer
  main(argv)


if __name__ == "__main__":
  _main(sys.argv[1:])
