# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Server-side request batching, like TF Serving's `--enable_batching`.

Concurrent predict requests for the same model version and signature are
queued and merged into one signature call (up to `max_batch_size` rows, or
whatever arrived within `batch_timeout_micros` of the batch's first
request), run by one of `num_batch_threads` threads, and the outputs are
split back per request. The parameter names and their text-proto file
(`--batching_parameters_file`) are TF Serving's:

  max_batch_size { value: 64 }
  batch_timeout_micros { value: 1000 }
  num_batch_threads { value: 2 }
  max_enqueued_batches { value: 64 }

A request that would overflow the queue (more than `max_enqueued_batches`
batches waiting) is refused at once with UNAVAILABLE, as TF Serving does,
instead of waiting. A merged batch that the model rejects (e.g. one request
carries an unknown item id) is re-run request by request, so only the bad
request gets the error.
"""
import collections
import dataclasses
import re
import threading
import time
from concurrent import futures
from typing import Any, Callable, Deque, Dict, Hashable, List, Tuple

import numpy as np

Arrays = Dict[str, np.ndarray]


class QueueFullError(RuntimeError):
  """The batch queue is full (TF Serving answers UNAVAILABLE / 503)."""


class TaskTooLargeError(ValueError):
  """One request is larger than a whole batch (INVALID_ARGUMENT / 400)."""


@dataclasses.dataclass(frozen=True)
class BatchingParameters:
  """TF Serving's BatchingParameters (the fields relvid uses).

  Attributes:
    max_batch_size: rows per merged signature call; a single request larger
      than this is refused.
    batch_timeout_micros: how long a batch waits for more requests after its
      first one arrived before it runs anyway (0: run what is queued).
    num_batch_threads: batches run in parallel.
    max_enqueued_batches: batches (of max_batch_size rows) that may wait per
      queue before new requests are refused with UNAVAILABLE.
  """
  max_batch_size: int = 64
  batch_timeout_micros: int = 1000
  num_batch_threads: int = 2
  max_enqueued_batches: int = 64

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      minimum = 0 if field.name == "batch_timeout_micros" else 1
      if not isinstance(value, int) or value < minimum:
        raise ValueError(f"batching parameter {field.name} must be an "
                         f"integer >= {minimum}, got {value!r}")


_FIELD = re.compile(r"(\w+)\s*\{\s*value\s*:\s*(-?\d+)\s*\}")


def parse_batching_parameters(text: str) -> BatchingParameters:
  """BatchingParameters from TF Serving's text-proto file format.

  Raises:
    ValueError: an unknown field, a malformed line or a bad value, naming it.
  """
  known = {f.name for f in dataclasses.fields(BatchingParameters)}
  values = {}
  stripped = re.sub(r"#.*", "", text)
  for match in _FIELD.finditer(stripped):
    name, value = match.group(1), int(match.group(2))
    if name not in known:
      raise ValueError(f"batching parameters: unknown field {name!r}; "
                       f"relvid supports {sorted(known)}")
    values[name] = value
  leftover = _FIELD.sub("", stripped).strip()
  if leftover:
    raise ValueError("batching parameters: cannot parse "
                     f"{leftover.splitlines()[0]!r} (expected lines like "
                     "'max_batch_size { value: 64 }')")
  return BatchingParameters(**values)


def read_batching_parameters(path: str) -> BatchingParameters:
  # Imported here: the server's options (serving/options.py) use this
  # module and must not import TensorFlow.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  with tf.io.gfile.GFile(path) as f:
    return parse_batching_parameters(f.read())


@dataclasses.dataclass
class _Task:
  inputs: Arrays
  size: int
  future: futures.Future
  enqueued: float


class _Queue:
  """The tasks waiting for one (model version, signature)."""

  def __init__(self, key: Hashable, run: Callable[[Arrays], Arrays]):
    self.key = key
    self.run = run
    self.tasks: Deque[_Task] = collections.deque()
    self.rows = 0


class BatchScheduler:
  """Merges concurrent requests into batched signature calls.

  Args:
    parameters: the batching parameters.
  """

  def __init__(self, parameters: BatchingParameters):
    self.parameters = parameters
    self._queues: Dict[Hashable, _Queue] = {}
    self._condition = threading.Condition()
    self._stopped = False
    # Signature calls made, requests answered, and calls that answered two
    # or more requests at once.
    self.calls_run = 0
    self.requests_run = 0
    self.merged_batches = 0
    self._threads = [threading.Thread(target=self._loop, daemon=True,
                                      name=f"batch-thread-{i}")
                     for i in range(parameters.num_batch_threads)]
    for thread in self._threads:
      thread.start()

  def submit(self, key: Hashable, run: Callable[[Arrays], Arrays],
             inputs: Arrays) -> futures.Future:
    """Queues one request; the future resolves to its own outputs.

    Args:
      key: requests with equal keys may be merged (e.g. (version, signature)).
      run: the signature call for a merged batch: {input: array} -> {output:
        array}, every array with the batch as its first dimension.
      inputs: this request's arrays, all with the same first dimension.

    Raises:
      TaskTooLargeError: the request is larger than max_batch_size.
      QueueFullError: max_enqueued_batches batches are already waiting.
    """
    size = len(next(iter(inputs.values())))
    limit = self.parameters.max_batch_size
    if size > limit:
      raise TaskTooLargeError(f"Task size {size} is larger than maximum "
                              f"input batch size {limit}")
    task = _Task(inputs, size, futures.Future(), time.monotonic())
    with self._condition:
      if self._stopped:
        raise QueueFullError("the batch scheduler is stopped")
      queue = self._queues.get(key)
      if queue is None:
        queue = self._queues[key] = _Queue(key, run)
      if queue.rows + size > limit * self.parameters.max_enqueued_batches:
        raise QueueFullError("The batch scheduling queue to which this task "
                             "was submitted is full")
      queue.tasks.append(task)
      queue.rows += size
      self._condition.notify()
    return task.future

  def _next_batch(self) -> Tuple[_Queue, List[_Task]]:
    """Blocks until some queue has a full batch or its oldest request's
    timeout passed; returns (queue, tasks), or (None, []) once stopped."""
    timeout = self.parameters.batch_timeout_micros / 1e6
    limit = self.parameters.max_batch_size
    with self._condition:
      while True:
        if self._stopped:
          return None, []
        waiting = [q for q in self._queues.values() if q.tasks]
        if not waiting:
          self._condition.wait()
          continue
        now = time.monotonic()
        full = [q for q in waiting if q.rows >= limit]
        oldest = min(waiting, key=lambda q: q.tasks[0].enqueued)
        due = oldest.tasks[0].enqueued + timeout
        if not full and now < due:
          self._condition.wait(due - now)
          continue
        queue = full[0] if full else oldest
        tasks, rows = [], 0
        while queue.tasks and rows + queue.tasks[0].size <= limit:
          task = queue.tasks.popleft()
          tasks.append(task)
          rows += task.size
        queue.rows -= rows
        if not queue.tasks:  # an idle queue must not keep a version alive
          del self._queues[queue.key]
        if any(q.tasks for q in self._queues.values()):
          self._condition.notify()  # another thread may take the rest
        return queue, tasks

  def _loop(self) -> None:
    while True:
      queue, tasks = self._next_batch()
      if queue is None:
        return
      try:
        self._run(queue.run, tasks)
      except BaseException as e:  # pylint: disable=broad-except
        # Whatever went wrong, no request may wait forever.
        for task in tasks:
          if not task.future.done():
            task.future.set_exception(e)

  def _run(self, run: Callable[[Arrays], Arrays], tasks: List[_Task]) -> None:
    if len(tasks) == 1:
      self._count(calls=1, requests=1)
      _resolve(tasks[0], run, tasks[0].inputs)
      return
    rows = sum(t.size for t in tasks)
    try:
      merged = {name: np.concatenate([t.inputs[name] for t in tasks])
                for name in tasks[0].inputs}
      outputs = run(merged)
      if any(len(v) != rows for v in outputs.values()):
        raise ValueError("the signature's outputs are not one row per input")
    except Exception:  # pylint: disable=broad-except
      # One bad request must not fail the others merged with it.
      self._count(calls=1 + len(tasks), requests=len(tasks))
      for task in tasks:
        _resolve(task, run, task.inputs)
      return
    self._count(calls=1, requests=len(tasks), merged=1)
    start = 0
    for task in tasks:
      task.future.set_result({k: v[start:start + task.size]
                              for k, v in outputs.items()})
      start += task.size

  def _count(self, calls: int, requests: int, merged: int = 0) -> None:
    with self._condition:
      self.calls_run += calls
      self.requests_run += requests
      self.merged_batches += merged

  def stop(self) -> None:
    """Stops the threads; requests still queued get QueueFullError."""
    with self._condition:
      self._stopped = True
      pending = [t for q in self._queues.values() for t in q.tasks]
      for queue in self._queues.values():
        queue.tasks.clear()
        queue.rows = 0
      self._condition.notify_all()
    for task in pending:
      task.future.set_exception(QueueFullError("the server is shutting down"))
    for thread in self._threads:
      thread.join(timeout=5)


def _resolve(task: _Task, run: Callable[[Arrays], Arrays],
             inputs: Arrays) -> None:
  try:
    task.future.set_result(run(inputs))
  except Exception as e:  # pylint: disable=broad-except
    task.future.set_exception(e)


def describe(parameters: Any) -> str:
  return ", ".join(f"{f.name}={getattr(parameters, f.name)}"
                   for f in dataclasses.fields(parameters))
