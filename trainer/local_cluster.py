# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""A parameter-server training cluster of local processes, for development,
tests and benchmarks (`trainer.distribution: parameter_server`).

    python -m trainer.local_cluster --examples <CoEngagementPairs uri> \\
        --output <dir> --workers 2 --ps 2 [--config FILE] [--set ...]

starts the parameter servers, the workers and the chief as processes on
127.0.0.1, each with its TF_CONFIG, and each runs the Trainer's own
`trainer.task.run_fn`, as every Vertex AI worker pool runs the same
executor: the parameter servers and workers serve, the chief trains and
exports into `<dir>/serving_model` (its logs and training.json in
`<dir>/model_run`). When the chief is done the servers are stopped
(SIGTERM, then SIGKILL after a grace period) and `<dir>/cluster.json` says
what ran: the roles and their process ids, exit codes, the chief's time
and the largest resident memory of any of them. `--workers 0 --ps 0`
runs `run_fn` alone, without TF_CONFIG: one process, or with
trainer.distribution=parameter_server the chief starting its own local
servers (`trainer.distribute.local_servers`), as `relvid run` does.

`--isolate-network` (root): TF's gRPC servers listen on every interface
whatever the cluster spec says, so a test cluster first moves this
launcher, and with it every process it starts, into a network namespace
of its own with only loopback (as `unshare --net` does).
"""
import argparse
import ctypes
import fcntl
import json
import logging
import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

import tensorflow as tf

from relvid import config as config_lib
from trainer import distribute

CLUSTER_REPORT = "cluster.json"
SERVING_MODEL = "serving_model"
MODEL_RUN = "model_run"
# Seconds the servers get to stop on SIGTERM before SIGKILL.
STOP_GRACE_S = 10.0
_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def isolate_network() -> None:
  """Moves this process into a new network namespace with only loopback,
  up (needs root; children inherit it)."""
  libc = ctypes.CDLL(None, use_errno=True)
  if libc.unshare(_CLONE_NEWNET) != 0:
    raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed (root "
                  "is needed for --isolate-network)")
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    request = struct.pack("16sH", b"lo", 0)
    flags = struct.unpack("16sH", fcntl.ioctl(s, _SIOCGIFFLAGS, request))[1]
    fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | _IFF_UP))


def fn_args(examples_uri: str, output_dir: str,
            config: config_lib.PipelineConfig,
            base_model: Optional[str] = None) -> Any:
  """The Trainer's FnArgs for `run_fn` over a CoEngagementPairs artifact
  (and a model to warm-start from, as the pipeline's resolver gives)."""
  from tfx.components.trainer import fn_args_utils  # pylint: disable=g-import-not-at-top
  from relvid import contract  # pylint: disable=g-import-not-at-top
  from components import example_io  # pylint: disable=g-import-not-at-top
  return fn_args_utils.FnArgs(
      train_files=[example_io.uri_split_glob(examples_uri, contract.TRAIN)],
      eval_files=[example_io.uri_split_glob(examples_uri, contract.EVAL)],
      serving_model_dir=os.path.join(output_dir, SERVING_MODEL),
      model_run_dir=os.path.join(output_dir, MODEL_RUN),
      base_model=base_model,
      custom_config={"trainer": config_lib.to_dict(config.trainer),
                     "export": config_lib.to_dict(config.export),
                     "eval": config_lib.to_dict(config.eval)})


def run_role(examples_uri: str, output_dir: str,
             config: config_lib.PipelineConfig,
             base_model: Optional[str] = None) -> None:
  """One cluster process: `run_fn` in the role TF_CONFIG gives it."""
  from trainer import task  # pylint: disable=g-import-not-at-top
  task.run_fn(fn_args(examples_uri, output_dir, config, base_model))


def _run_fn_args(path: str) -> None:
  """One cluster process of `train_on_local_replicas`: `run_fn` with the
  FnArgs fields stored in the JSON file `path`."""
  from tfx.components.trainer import fn_args_utils  # pylint: disable=g-import-not-at-top
  from trainer import task  # pylint: disable=g-import-not-at-top
  with open(path) as f:
    task.run_fn(fn_args_utils.FnArgs(**json.load(f)))


def train_on_local_replicas(args: Any, replicas: int) -> Dict[str, Any]:
  """`run_fn`'s work for trainer.distribution=multi_worker_mirrored without
  TF_CONFIG (`relvid run` on one machine): the chief and `replicas` - 1
  workers as processes on this machine, each running `run_fn` with the
  same FnArgs and its TF_CONFIG; the chief exports into
  args.serving_model_dir. (This process cannot be a replica itself:
  the strategy must exist before a process runs any TensorFlow
  operation.) Their logs and cluster.json are copied to
  <args.model_run_dir>/local_replicas.

  Raises:
    RuntimeError: the chief failed (with the end of its log).
  """
  work = tempfile.mkdtemp(prefix="relvid_replicas_")
  fields = os.path.join(work, "fn_args.json")
  with open(fields, "w") as f:
    json.dump({name: getattr(args, name) for name in (
        "train_files", "eval_files", "serving_model_dir", "model_run_dir",
        "base_model", "custom_config")}, f)
  logging.info("synchronous training on %d local replicas (the chief and "
               "%d workers as processes on this machine; their logs are in "
               "%s while they run, then in %s)", replicas, replicas - 1, work,
               os.path.join(args.model_run_dir, "local_replicas"))
  try:
    report = launch([f"--fn-args={fields}"], work, replicas - 1, 0)
    copied = os.path.join(args.model_run_dir, "local_replicas")
    tf.io.gfile.makedirs(copied)
    for name in os.listdir(work):
      if name.endswith((".log", ".json")) and name != "fn_args.json":
        tf.io.gfile.copy(os.path.join(work, name),
                         os.path.join(copied, name), overwrite=True)
    if report["exit_codes"]["chief:0"] != 0:
      with open(os.path.join(work, "chief-0.log")) as f:
        tail = f.read()[-3000:]
      raise RuntimeError("the synchronous training's chief failed "
                         f"({report['exit_codes']}):\n{tail}")
    return report
  finally:
    shutil.rmtree(work, ignore_errors=True)


def role_command(role_args: Sequence[str]) -> List[str]:
  """The command line of one cluster process that `launch` starts: it
  ends itself if this launcher dies before stopping it."""
  return [sys.executable, "-m", "trainer.local_cluster", "--role-only",
          f"--exit-with-parent={os.getpid()}", *role_args]


def launch(role_args: Sequence[str], output_dir: str, workers: int,
           parameter_servers: int) -> Dict[str, Any]:
  """Starts the cluster (each process `python -m trainer.local_cluster
  --role-only *role_args` with its TF_CONFIG), waits for the chief, stops
  the servers; returns (and writes to output_dir/cluster.json) the
  report."""
  spec = distribute.local_cluster_spec(workers, parameter_servers)
  os.makedirs(output_dir, exist_ok=True)
  processes: Dict[str, subprocess.Popen] = {}
  logs = []
  alone = not workers and not parameter_servers
  for role in ("ps", "worker", "chief"):
    for index in range(len(spec.get(role, []))):
      env = dict(os.environ,
                 TF_CONFIG=distribute.tf_config(spec, role, index))
      if alone:  # one process, no cluster
        env.pop("TF_CONFIG")
      log = open(os.path.join(output_dir, f"{role}-{index}.log"), "w")
      logs.append(log)
      processes[f"{role}:{index}"] = subprocess.Popen(
          role_command(role_args), env=env, stdout=log,
          stderr=subprocess.STDOUT)
  started = time.time()
  chief = processes["chief:0"]
  try:
    while chief.poll() is None:
      failed = [name for name, p in processes.items()
                if name != "chief:0" and p.poll() is not None]
      if failed:
        raise RuntimeError(f"cluster process {failed[0]} exited with "
                           f"{processes[failed[0]].returncode} before the "
                           "chief finished")
      time.sleep(0.2)
  finally:
    chief_seconds = time.time() - started
    codes = {name: distribute.stop(p, STOP_GRACE_S)
             for name, p in processes.items()}
    for log in logs:
      log.close()
  report = {"cluster": None if alone else spec,
            "pids": {name: p.pid for name, p in processes.items()},
            "exit_codes": codes, "chief_seconds": round(chief_seconds, 1),
            # The largest resident set of any process this launcher
            # started and waited for (not the servers a chief starts for
            # itself with --workers 0 --ps 0).
            "peak_rss_mb": round(resource.getrusage(
                resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}
  with open(os.path.join(output_dir, CLUSTER_REPORT), "w") as f:
    json.dump(report, f, indent=1)
  return report


def cluster_shape_error(workers: int, parameter_servers: int,
                        distribution: str) -> Optional[str]:
  """Why --workers and --ps do not fit trainer.distribution (None: they
  do)."""
  if distribution == distribute.MULTI_WORKER_MIRRORED:
    if parameter_servers:
      return ("--ps must be 0 with trainer.distribution="
              "multi_worker_mirrored (the chief and the workers train; "
              "--workers 0: run_fn alone starts its local replicas)")
    return None
  if bool(workers) != bool(parameter_servers) or (
      workers and distribution != distribute.PARAMETER_SERVER):
    return ("--workers and --ps must both be >= 1 (with "
            "trainer.distribution=parameter_server) or both 0 (run_fn alone)")
  return None


def output_in_use_error(output_dir: str) -> Optional[str]:
  """Why `output_dir` cannot take a run (None: it can): an earlier run's
  model there would be mixed with this one's, or stop its export."""
  held = [name for name in (SERVING_MODEL, MODEL_RUN)
          if tf.io.gfile.exists(os.path.join(output_dir, name))]
  if held:
    return (f"--output {output_dir} already holds a run ({', '.join(held)}); "
            "give a new or empty folder")
  return None


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      description="Train on a local parameter-server cluster (processes on "
      "127.0.0.1) with the Trainer's run_fn.")
  parser.add_argument("--examples", help="a CoEngagementPairs artifact's "
                      "uri (required)")
  parser.add_argument("--output", help="where the chief exports and the "
                      "logs go (required)")
  parser.add_argument("--workers", type=int, default=2)
  parser.add_argument("--ps", type=int, default=2)
  parser.add_argument("--base-model",
                      help="a model artifact (or its serving folder) to "
                      "warm-start from")
  parser.add_argument("--isolate-network", action="store_true",
                      help="run in a network namespace with only loopback "
                      "(root)")
  parser.add_argument("--role-only", action="store_true",
                      help=argparse.SUPPRESS)
  parser.add_argument("--fn-args", help=argparse.SUPPRESS)
  parser.add_argument("--exit-with-parent", type=int, metavar="PID",
                      help=argparse.SUPPRESS)
  config_lib.add_arguments(parser)
  args = parser.parse_args(argv)
  if args.exit_with_parent:
    distribute.exit_with_parent(args.exit_with_parent, STOP_GRACE_S)
  if args.role_only and args.fn_args:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    _run_fn_args(args.fn_args)
    return 0
  if not args.examples or not args.output:
    parser.error("--examples and --output are required")
  config_args = ([f"--config={args.config}"] if args.config else []) + [
      f"--set={o}" for o in args.overrides] + (
          [f"--base-model={args.base_model}"] if args.base_model else [])
  config = config_lib.from_args(args)
  if config is None:
    return 2
  if args.role_only:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    run_role(args.examples, args.output, config, args.base_model)
    return 0
  error = (cluster_shape_error(args.workers, args.ps,
                               config.trainer.distribution)
           or output_in_use_error(args.output))
  if error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  if args.isolate_network:
    isolate_network()
  report = launch(["--examples", args.examples, "--output", args.output,
                   *config_args], args.output, args.workers, args.ps)
  print(json.dumps(report))
  return 0 if report["exit_codes"]["chief:0"] == 0 else 1


if __name__ == "__main__":
  sys.exit(main())
