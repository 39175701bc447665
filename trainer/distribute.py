# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Distributed training with tf.distribute (`trainer.distribution`).

`multi_worker_mirrored`: `tf.distribute.MultiWorkerMirroredStrategy`
over a TF_CONFIG cluster of a chief and workers (no parameter servers),
one replica per process, every process running the Trainer's `run_fn`.
Steps are synchronous: each replica trains on its slice of every batch
(its share of the pair files), the in-batch negatives, their logQ
probabilities and the OPC normalisation are gathered from every replica
(`model.global_batch`), and the gradients are summed, so a step is the
one-process step on the whole batch. Every process holds a whole copy of
the model. The strategy is made first thing in `run_fn`
(`synchronous_strategy`: TensorFlow configures its collective ops before
a process's first operation); after training the chief exports and the
workers wait to be stopped (`wait_until_stopped`). Without TF_CONFIG,
`run_fn` runs the replicas as local processes
(`local_cluster.train_on_local_replicas`).

`parameter_server`: `tf.distribute.ParameterServerStrategy`. The cluster
comes from TF_CONFIG (`{"cluster": {"chief": [...], "worker": [...],
"ps": [...]}, "task": {"type": ..., "index": ...}}`, as Vertex AI sets it
for the worker pools chief / workers / parameter servers):

- the parameter servers hold the variables; every table with a row per
  item (the ID embeddings and their optimizer slots) is split into shards
  across them (`MinSizePartitioner`, at least `trainer.shard_min_bytes` per
  shard, at most one shard per parameter server), so no machine holds a
  whole table;
- the workers run the training steps, each on its own share of the pair
  files (`streaming.pair_dataset`), each step on a whole batch, so in-batch
  negatives and logQ mean what they mean in one process (asynchronous
  updates: a step may read variables another worker is updating);
- the chief (the coordinator) schedules the steps, runs the epoch-level
  callbacks (the validation metrics and the epoch selection) and, after
  training, copies the sharded variables into an ordinary single-process
  model (`unsharded_copy`) that the export and warm start use.

Parameter servers and workers only serve (`serve`): in TFX every worker
pool runs the same Trainer executor and `run_fn`, which hands those roles
here and never returns; the job ends when the chief has exported.

Without TF_CONFIG (`relvid run` on one machine), the chief starts
`trainer.local_workers` workers and `trainer.local_parameter_servers`
parameter servers itself, as processes on this machine (`local_servers`),
and they exit when it exits.
TF's gRPC servers listen on every interface whatever the cluster spec
says: on a shared network, run such a job where the ports are not
reachable (the tests use a network namespace, `trainer.local_cluster
--isolate-network`).
"""
import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import tensorflow as tf

from relvid import config as config_lib

NONE, PARAMETER_SERVER, MULTI_WORKER_MIRRORED = config_lib.DISTRIBUTIONS
CHIEF = "chief"
SERVING_ROLES = ("ps", "worker")


def cluster_task() -> Optional[Dict[str, Any]]:
  """TF_CONFIG's task ({"type", "index"}), or None outside a cluster."""
  raw = os.environ.get("TF_CONFIG")
  if not raw:
    return None
  return json.loads(raw).get("task")


def serves_only(distribution: str) -> bool:
  """True for a parameter server or worker process of a parameter-server
  run (the chief trains)."""
  task = cluster_task()
  return (distribution == PARAMETER_SERVER and task is not None and
          task.get("type") in SERVING_ROLES)


def trains_without_export(distribution: str) -> bool:
  """True for a worker of a synchronous run: it trains its replica with
  the chief, which exports."""
  task = cluster_task()
  return (distribution == MULTI_WORKER_MIRRORED and task is not None and
          task.get("type") != CHIEF)


def wait_until_stopped() -> None:
  """Blocks until the process is stopped: a synchronous worker whose
  training is done stays up, as parameter servers do, until the job ends
  with the chief (a worker that exits first reads as a failed job)."""
  logging.info("training done; this worker waits for the chief to finish")
  # TensorFlow's cluster runtime handles SIGTERM itself; a worker that
  # is done has nothing to save, so the signal ends it at once.
  signal.signal(signal.SIGTERM, signal.SIG_DFL)
  while True:
    time.sleep(3600)


def _start_server() -> tf.distribute.Server:
  """This process's TF server, in the role TF_CONFIG gives it."""
  resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
  logging.info("serving as %s %d of %s", resolver.task_type,
               resolver.task_id, resolver.cluster_spec().as_dict())
  return tf.distribute.Server(
      resolver.cluster_spec(), job_name=resolver.task_type,
      task_index=resolver.task_id, protocol=resolver.rpc_layer or "grpc",
      start=True)


def serve() -> None:
  """Runs this process's TF server (a parameter server or a worker) until
  the process is stopped."""
  _start_server().join()


def free_ports(count: int) -> List[int]:
  """`count` distinct free TCP ports on 127.0.0.1."""
  sockets = []
  try:
    for _ in range(count):
      s = socket.socket()
      s.bind(("127.0.0.1", 0))
      sockets.append(s)
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def local_cluster_spec(workers: int, parameter_servers: int
                       ) -> Dict[str, List[str]]:
  """A chief, workers and parameter servers on free 127.0.0.1 ports (a
  role with none is left out, as Vertex leaves out an empty pool)."""
  ports = iter(free_ports(1 + workers + parameter_servers))
  spec = {"chief": [f"127.0.0.1:{next(ports)}"],
          "worker": [f"127.0.0.1:{next(ports)}" for _ in range(workers)],
          "ps": [f"127.0.0.1:{next(ports)}" for _ in range(parameter_servers)]}
  return {role: addresses for role, addresses in spec.items() if addresses}


def tf_config(cluster: Dict[str, List[str]], role: str, index: int) -> str:
  return json.dumps({"cluster": cluster,
                     "task": {"type": role, "index": index},
                     "rpc_layer": "grpc"})


def stop(process: subprocess.Popen, grace_s: float = 10.0) -> int:
  """SIGTERM, then SIGKILL after `grace_s`; the exit code."""
  if process.poll() is None:
    process.send_signal(signal.SIGTERM)
    try:
      process.wait(grace_s)
    except subprocess.TimeoutExpired:
      process.kill()
      process.wait()
  return process.returncode


@contextlib.contextmanager
def local_servers(workers: int, parameter_servers: int
                  ) -> Iterator[Dict[str, List[str]]]:
  """Workers and parameter servers as processes on this machine, with this
  process as the chief (TF_CONFIG set for the duration).

  They exit when this process does, not when the block ends: the chief's
  TensorFlow runtime stays connected to the cluster and talks to it until
  its very end (it registers every later function of a pipeline run with
  it, and unregisters them at exit), which fails noisily once the servers
  are gone."""
  cluster = local_cluster_spec(workers, parameter_servers)
  servers = [subprocess.Popen(
      [sys.executable, "-m", "trainer.distribute",
       f"--serve-for-parent={os.getpid()}"],
      env=dict(os.environ, TF_CONFIG=tf_config(cluster, role, index)))
             for role in ("ps", "worker")
             for index in range(len(cluster.get(role, [])))]
  logging.info("started %d workers and %d parameter servers on this "
               "machine (they exit with this process): %s", workers,
               parameter_servers, cluster)
  previous = os.environ.get("TF_CONFIG")
  os.environ["TF_CONFIG"] = tf_config(cluster, CHIEF, 0)
  try:
    yield cluster
    failed = [s.args for s in servers if s.poll() is not None]
    if failed:
      raise RuntimeError(f"local servers exited during training: {failed}")
  finally:
    if previous is None:
      os.environ.pop("TF_CONFIG", None)
    else:
      os.environ["TF_CONFIG"] = previous


class _KnownMetricWarning(logging.Filter):
  """Keras warns at every epoch under ParameterServerStrategy that it
  reports the last step's metric values, because TFRS's train step also
  returns the loss; those values are the epoch means of the metric
  variables, which live on the parameter servers and gather every
  worker's steps."""

  def filter(self, record: logging.LogRecord) -> bool:
    return "Could not get Model metric results" not in record.getMessage()


@contextlib.contextmanager
def cluster_strategy(config: Any) -> Iterator[Optional[tf.distribute.Strategy]]:
  """The strategy of trainer.distribution for the duration of a training
  (None: one process): the TF_CONFIG cluster's, or without TF_CONFIG one
  of local servers (`local_servers`)."""
  if config.distribution == NONE:
    yield None
    return
  quiet = _KnownMetricWarning()
  tf.get_logger().addFilter(quiet)
  try:
    # A synchronous run's replicas are run_fn processes; only parameter
    # servers can be started here.
    if (os.environ.get("TF_CONFIG")
        or config.distribution == MULTI_WORKER_MIRRORED):
      yield strategy(config.distribution, config.shard_min_bytes)
    else:
      with local_servers(config.local_workers,
                         config.local_parameter_servers):
        yield strategy(config.distribution, config.shard_min_bytes)
  finally:
    tf.get_logger().removeFilter(quiet)


def strategy(distribution: str, shard_min_bytes: int
             ) -> Optional[tf.distribute.Strategy]:
  """The strategy `distribution` names (None: one process).

  Raises:
    ValueError: a distributed run without a TF_CONFIG cluster, or with
      this process not the chief.
  """
  if distribution == NONE:
    return None
  task = cluster_task()
  if distribution == MULTI_WORKER_MIRRORED:
    return synchronous_strategy()
  if task is None or task.get("type") != CHIEF:
    raise ValueError(
        f"trainer.distribution={distribution} trains on the chief of a "
        "TF_CONFIG cluster (chief, workers, ps); this process has "
        f"{'no TF_CONFIG' if task is None else 'task ' + json.dumps(task)}")
  resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
  num_ps = len(resolver.cluster_spec().as_dict().get("ps", []))
  if not num_ps or not resolver.cluster_spec().as_dict().get("worker"):
    raise ValueError(
        "trainer.distribution=parameter_server needs at least one worker and "
        f"one ps in TF_CONFIG, got {resolver.cluster_spec().as_dict()}")
  partitioner = tf.distribute.experimental.partitioners.MinSizePartitioner(
      min_shard_bytes=shard_min_bytes, max_shards=num_ps)
  logging.info("ParameterServerStrategy: %s",
               resolver.cluster_spec().as_dict())
  return tf.distribute.experimental.ParameterServerStrategy(
      resolver, variable_partitioner=partitioner)


# This process's MultiWorkerMirroredStrategy: TensorFlow configures the
# collective ops once per process, before its first operation.
_synchronous: Optional[tf.distribute.MultiWorkerMirroredStrategy] = None


def synchronous_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
  """MultiWorkerMirroredStrategy over the TF_CONFIG cluster (a chief and
  workers, one replica each), for the chief or a worker; made by the
  first call, which must come before the process runs any TensorFlow
  operation (`run_fn` calls it first).

  Raises:
    ValueError: no TF_CONFIG task, a ps task, parameter servers in the
      cluster, or TensorFlow already running in this process.
  """
  global _synchronous
  if _synchronous is not None:
    return _synchronous
  task = cluster_task()
  if task is None or task.get("type") not in (CHIEF, "worker"):
    raise ValueError(
        "trainer.distribution=multi_worker_mirrored trains on the chief and "
        "the workers of a TF_CONFIG cluster, each running the Trainer's "
        "run_fn (Vertex worker pools; without TF_CONFIG run_fn starts them "
        "as local processes, as `relvid run` and `python -m "
        "trainer.local_cluster` do); this process has "
        f"{'no TF_CONFIG' if task is None else 'task ' + json.dumps(task)}")
  resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
  cluster = resolver.cluster_spec().as_dict()
  if cluster.get("ps"):
    raise ValueError(
        "trainer.distribution=multi_worker_mirrored takes no parameter "
        f"servers (every worker holds the variables), got {cluster}")
  logging.info("MultiWorkerMirroredStrategy: %s, this process %s %d",
               cluster, resolver.task_type, resolver.task_id)
  try:
    _synchronous = tf.distribute.MultiWorkerMirroredStrategy(
        cluster_resolver=resolver)
  except RuntimeError as e:
    raise ValueError(
        "trainer.distribution=multi_worker_mirrored: the strategy must be "
        "made before this process runs any TensorFlow operation (the "
        "Trainer's run_fn makes it first; run it in a process of its own, "
        f"as a Vertex worker pool or trainer.local_cluster does): {e}"
    ) from e
  return _synchronous


def num_workers() -> int:
  """The workers of the TF_CONFIG cluster (the parameter-server
  strategy's)."""
  resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
  return len(resolver.cluster_spec().as_dict().get("worker", []))


def worker_index() -> tf.Tensor:
  """In a dataset function a parameter-server worker runs, its index (the
  strategy gives every worker the same InputContext, so the input
  pipelines cannot tell their workers apart otherwise)."""
  return tf.distribute.coordinator.experimental_get_current_worker_index()


def scope(distribution_strategy: Optional[tf.distribute.Strategy]):
  return (distribution_strategy.scope() if distribution_strategy is not None
          else contextlib.nullcontext())


def full_value(variable: Any) -> np.ndarray:
  """A variable's whole value: a sharded one's (or a list of shards')
  shards concatenated along the first axis."""
  if isinstance(variable, (list, tuple)):
    return np.concatenate([full_value(v) for v in variable], axis=0)
  return tf.convert_to_tensor(variable).numpy()


def shard_counts(variables: Dict[str, Any]) -> Dict[str, int]:
  """Per named variable, the number of shards it is split into (1 when it
  is not sharded)."""
  return {name: len(getattr(v, "variables", [v]))
          for name, v in variables.items()}


def exit_with_parent(parent: int, grace_s: float = 10.0,
                     poll_s: float = 0.5) -> threading.Thread:
  """Ends this process once `parent` is no longer its parent (it died,
  also before this call, and the process was re-parented): SIGTERM to
  itself, then an exit after `grace_s`. A process started by a launcher
  that is killed (`kill -9`, an out-of-memory kill) would otherwise keep
  training, or keep its cluster's ports, with nobody waiting for it.

  Returns:
    The daemon thread that watches.
  """
  def watch():
    while os.getppid() == parent:
      time.sleep(poll_s)
    logging.error("the launcher (process %d) is gone; this process stops",
                  parent)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace_s)
    os._exit(1)  # pylint: disable=protected-access

  watcher = threading.Thread(target=watch, name="exit-with-parent",
                             daemon=True)
  watcher.start()
  return watcher


def _serve_for_parent(parent: int) -> None:
  """A local server (`local_servers`) that exits when its chief, the
  process `parent`, does (also when that happened before it started)."""
  exit_with_parent(parent)
  serve()


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--serve-for-parent", type=int, metavar="PID",
                      help="serve TF_CONFIG's task until process PID, the "
                      "parent, exits")
  arguments = parser.parse_args()
  if arguments.serve_for_parent:
    _serve_for_parent(arguments.serve_for_parent)
