# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Console output of a pipeline run: progress lines or a bar, not TFX's
protobuf dumps (`--verbose` shows everything); `RunLog` sends the full logs
to a file instead of the terminal."""
import datetime
import logging
import os
import re
import shutil
import sys
import tempfile
from typing import Optional, TextIO
import warnings

from absl import logging as absl_logging

_PROJECT_PACKAGES = tuple(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                 package) + os.sep
    for package in ("relvid", "pipeline", "components", "trainer", "serving"))
_PROGRESS = re.compile(r"^Component \S+ is (running|finished)")


class ProgressFilter(logging.Filter):
  """Keeps warnings, this project's own log lines and TFX's component
  start/finish lines; drops the rest (TFX dumps whole pipeline protos)."""

  def filter(self, record: logging.LogRecord) -> bool:
    return (record.levelno >= logging.WARNING
            or record.pathname.startswith(_PROJECT_PACKAGES)
            or bool(_PROGRESS.match(record.getMessage())))


# `extra={LOG_ONLY: True}` keeps a record off the terminal (the caller says
# it there in its own words).
LOG_ONLY = "relvid_log_only"


class ConsoleFilter(logging.Filter):
  """What a quiet run still shows on the terminal: this project's warnings
  and anything's errors."""

  def filter(self, record: logging.LogRecord) -> bool:
    if getattr(record, LOG_ONLY, False):
      return False
    return record.levelno >= logging.ERROR or (
        record.levelno >= logging.WARNING
        and record.pathname.startswith(_PROJECT_PACKAGES))


def failure_line(what: str, error: BaseException) -> str:
  """Logs `error`'s traceback to the log file only; the one line the
  terminal gets instead: "error: the <what> failed: <Type>: <last line>"."""
  logging.error("the %s failed", what, exc_info=error,
                extra={LOG_ONLY: True})
  message = str(error).strip().splitlines()
  return (f"error: the {what} failed: {type(error).__name__}"
          f"{': ' + message[-1] if message else ''}")


class _Brief(logging.Formatter):
  """One line per record: tracebacks stay in the log file."""

  def format(self, record: logging.LogRecord) -> str:
    return super().format(logging.makeLogRecord(
        {**record.__dict__, "exc_info": None, "exc_text": None,
         "stack_info": None}))


class RunLog:
  """While open, everything this process writes to its stderr (Python
  logging, warnings, TensorFlow's and Beam's C++ lines, child processes)
  goes to a log file; `console` still writes to the terminal.

  Opened before TensorFlow is imported, so that its start-up lines land in
  the file too. The file starts in the temporary folder; `keep` moves it
  beside the run's outputs as soon as the command is past its argument
  checks, so a run stopped by Ctrl-C or a crash keeps its log, while
  `close` removes a log not kept (a command refused for a bad argument
  leaves nothing behind). `open_if_possible` gives None when stderr is
  closed.
  """

  def __init__(self):
    sys.stderr.flush()
    self._saved = os.dup(2)
    self.console: TextIO = os.fdopen(os.dup(2), "w", buffering=1)
    self._fd, self.path = tempfile.mkstemp(prefix="relvid-", suffix=".log")
    os.dup2(self._fd, 2)
    self._open = True
    self._kept = False

  @classmethod
  def open_if_possible(cls) -> Optional["RunLog"]:
    try:
      os.fstat(2)
    except OSError:  # started with stderr closed: nothing to redirect
      return None
    if sys.stderr is None:
      return None
    return cls()

  def _restore(self) -> None:
    if self._open:
      sys.stderr.flush()
      os.dup2(self._saved, 2)
      os.close(self._saved)
      self._open = False
    if self._fd is not None:
      os.close(self._fd)
      self._fd = None

  def keep(self, output_dir: str, name: str) -> str:
    """Moves the log to `<output_dir>/logs/<name>-<UTC time>.log` (or keeps
    it in the temporary folder when output_dir is remote or cannot take
    it), where it goes on filling until `close`; its path."""
    if self._kept or "://" in output_dir:
      self._kept = True
      return self.path
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y%m%d-%H%M%S")
    path = os.path.abspath(os.path.join(output_dir, "logs",
                                        f"{name}-{stamp}.log"))
    sys.stderr.flush()
    try:
      os.makedirs(os.path.dirname(path), exist_ok=True)
      try:
        os.rename(self.path, path)  # the open file moves with its name
      except OSError:  # another file system: copy, then write to the copy
        shutil.copyfile(self.path, path)
        moved = os.open(path, os.O_WRONLY | os.O_APPEND)
        if self._open:
          os.dup2(moved, 2)
        os.close(self._fd)
        self._fd = moved
        os.remove(self.path)
    except OSError as e:
      print(f"warning: the log stays at {self.path} ({e})", file=self.console)
    else:
      self.path = path
    self._kept = True
    return self.path

  def announce(self, output_dir: str, name: str) -> str:
    """`keep`, then says on the terminal where the log goes; its path."""
    path = self.keep(output_dir, name)
    print(f"full log: {path}", file=self.console)
    return path

  def close(self) -> None:
    """Back to the terminal; a log not kept is removed, and the logging
    handlers writing to the console go with it."""
    self._restore()
    if not self._kept and os.path.exists(self.path):
      os.remove(self.path)
    root = logging.getLogger()
    for handler in list(root.handlers):
      if getattr(handler, "stream", None) is self.console:
        root.removeHandler(handler)
    self.console.close()


class ComponentProgress(logging.Handler):
  """A tqdm bar over the pipeline's components, advanced by TFX's
  "Component X is finished" log lines (cached components included)."""

  def __init__(self, total: int, stream: Optional[TextIO] = None):
    super().__init__(level=logging.INFO)
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
    self.bar = tqdm(total=total, unit="component", desc="relvid pipeline",
                    dynamic_ncols=True, file=stream)

  def emit(self, record: logging.LogRecord) -> None:
    match = _PROGRESS.match(record.getMessage())
    if match and match.group(1) == "finished":
      self.bar.update(1)
      self.bar.set_postfix_str(record.getMessage().split()[1])

  def close(self) -> None:
    self.bar.close()
    super().close()


def configure_logging(verbose: bool, console: Optional[TextIO] = None
                      ) -> None:
  """INFO logs with a timestamp. With a `console` (a RunLog's), every log
  line goes to stderr (the log file) and the console gets only this
  project's warnings and all errors. Otherwise, without `verbose`, stderr
  gets only progress lines, warnings and this project's own messages."""
  logging.basicConfig(level=logging.INFO,
                      format="%(asctime)s %(levelname)s %(message)s",
                      force=True)
  absl_logging.set_verbosity(absl_logging.INFO)
  if console is not None:
    terminal = logging.StreamHandler(console)
    terminal.setLevel(logging.WARNING)
    terminal.addFilter(ConsoleFilter())
    terminal.setFormatter(_Brief("%(levelname)s %(message)s"))
    logging.getLogger().addHandler(terminal)
    return
  if not verbose:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for handler in logging.getLogger().handlers:
      handler.addFilter(ProgressFilter())
