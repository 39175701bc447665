# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Beam's portable path on one machine, for tests: the local job service
and an EXTERNAL SDK worker pool, each its own process (group), as Flink or
Spark on Kubernetes run Python workers beside the job server.

  job service: python -m apache_beam.runners.portability.local_job_service_main
  worker pool: python -m apache_beam.runners.worker.worker_pool_main
  jobs:        --runner=PortableRunner --job_endpoint=localhost:<job port>
               --environment_type=EXTERNAL --environment_config=localhost:<pool>

The pool starts one SDK worker process per job with the bare command
`python`, so this environment's bin folder goes first on its PATH; its
stdout is a pipe nobody reads, so the workers must not print much (the
project's DoFns log instead).
"""
import os
import signal
import socket
import subprocess
import sys
import time
from typing import List

JOB_SERVICE = "apache_beam.runners.portability.local_job_service_main"
WORKER_POOL = "apache_beam.runners.worker.worker_pool_main"


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


class PortableServices:
  """Starts both services in `folder` (logs there); `stop()` ends them and
  every worker they started."""

  def __init__(self, folder: str):
    self.folder = folder
    self.job_port, self.pool_port = free_port(), free_port()
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               PATH=os.path.dirname(sys.executable) + os.pathsep
               + os.environ.get("PATH", ""))
    port_file = os.path.join(folder, "job_service.port")
    self.processes = [
        self._start([JOB_SERVICE, f"--port={self.job_port}",
                     f"--port_file={port_file}"], "job_service", env),
        self._start([WORKER_POOL, f"--service_port={self.pool_port}"],
                    "worker_pool", env)]
    try:
      self._wait_until_ready(port_file)
    except BaseException:
      self.stop()
      raise

  def _start(self, args: List[str], name: str, env) -> subprocess.Popen:
    log = open(os.path.join(self.folder, name + ".log"), "w")
    return subprocess.Popen([sys.executable, "-m"] + args, env=env,
                            cwd=self.folder, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)

  def _wait_until_ready(self, port_file: str, timeout: float = 120) -> None:
    import grpc  # pylint: disable=g-import-not-at-top
    deadline = time.time() + timeout
    while not os.path.exists(port_file):
      for process in self.processes:
        if process.poll() is not None:
          raise RuntimeError(f"a Beam service exited; see {self.folder}")
      if time.time() > deadline:
        raise TimeoutError(f"Beam services did not start; see {self.folder}")
      time.sleep(0.2)
    for port in (self.job_port, self.pool_port):
      channel = grpc.insecure_channel(f"localhost:{port}")
      grpc.channel_ready_future(channel).result(
          timeout=max(1.0, deadline - time.time()))
      channel.close()

  def pipeline_args(self) -> List[str]:
    return ["--runner=PortableRunner",
            f"--job_endpoint=localhost:{self.job_port}",
            "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{self.pool_port}"]

  def stop(self) -> None:
    for process in self.processes:
      try:
        os.killpg(process.pid, signal.SIGTERM)
      except ProcessLookupError:
        pass
    for process in self.processes:
      try:
        process.wait(timeout=15)
      except subprocess.TimeoutExpired:
        pass
      try:  # workers still in the group die with it
        os.killpg(process.pid, signal.SIGKILL)
      except ProcessLookupError:
        pass
      process.wait()
