# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Console output of a pipeline run: progress lines or a bar, not TFX's
protobuf dumps (`--verbose` shows everything)."""
import logging
import os
import re
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


class ComponentProgress(logging.Handler):
  """A tqdm bar over the pipeline's components, advanced by TFX's
  "Component X is finished" log lines (cached components included)."""

  def __init__(self, total: int):
    super().__init__(level=logging.INFO)
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top
    self.bar = tqdm(total=total, unit="component", desc="relvid pipeline",
                    dynamic_ncols=True)

  def emit(self, record: logging.LogRecord) -> None:
    match = _PROGRESS.match(record.getMessage())
    if match and match.group(1) == "finished":
      self.bar.update(1)
      self.bar.set_postfix_str(record.getMessage().split()[1])

  def close(self) -> None:
    self.bar.close()
    super().close()


def configure_logging(verbose: bool) -> None:
  """INFO logs with a timestamp; without `verbose`, only progress lines,
  warnings and this project's own messages."""
  logging.basicConfig(level=logging.INFO,
                      format="%(asctime)s %(levelname)s %(message)s",
                      force=True)
  absl_logging.set_verbosity(absl_logging.INFO)
  if not verbose:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for handler in logging.getLogger().handlers:
      handler.addFilter(ProgressFilter())
