# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""pipeline/logs.RunLog: a quiet `relvid run` sends everything written to
its stderr (Python logging, C-level writes, child processes) to a log file
beside the outputs, and only what it chooses to the terminal."""
import os
import subprocess
import sys

SCRIPT = """
import logging, os, subprocess, sys
from pipeline import logs
output_dir, keep = sys.argv[1], sys.argv[2] == "keep"
run_log = logs.RunLog()
logs.configure_logging(False, run_log.console)
os.write(2, b"a C-level line on fd 2\\n")
subprocess.run([sys.executable, "-c",
                "import sys; sys.stderr.write('from a child\\\\n')"])
logging.info("an INFO line")
logging.getLogger("tfx").warning("a library's warning")
logging.error("an error")
try:
  raise ValueError("deep inside")
except ValueError:
  logging.exception("failed with a traceback")
  logging.error("said by the caller", exc_info=True,
                extra={logs.LOG_ONLY: True})
  try:
    raise RuntimeError("first line\\nthe last line")
  except RuntimeError as e:
    print(logs.failure_line("pipeline", e), file=run_log.console)
print("the terminal line", file=run_log.console)
if keep:
  path = run_log.keep(output_dir, "run")
  logging.info("after keep")
  print(path)
run_log.close()
logging.warning("after close")  # no handler left on the closed console
print("stdout still works")
"""


def run(tmp_path, keep):
  # A temp folder of its own: other test processes (pytest-xdist) write
  # run logs of their own to the shared one meanwhile.
  (tmp_path / "tmp").mkdir()
  return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "out"),
                         "keep" if keep else "drop"], capture_output=True,
                        text=True, timeout=120, cwd=tmp_path,
                        env=dict(os.environ, TMPDIR=str(tmp_path / "tmp")))


def test_the_log_gets_everything_the_terminal_what_it_is_given(tmp_path):
  done = run(tmp_path, keep=True)
  assert done.returncode == 0, done.stderr
  path, last = done.stdout.strip().splitlines()
  assert last == "stdout still works"
  assert os.path.dirname(path) == str(tmp_path / "out" / "logs")
  assert os.path.basename(path).startswith("run-")
  with open(path) as f:
    log = f.read()
  for line in ("a C-level line on fd 2", "from a child", "INFO an INFO line",
               "a library's warning", "ERROR an error", "after keep",
               "ValueError: deep inside", "said by the caller",
               "the pipeline failed", "RuntimeError: first line"):
    assert line in log, line
  # The terminal: the chosen line and errors, one line each (tracebacks
  # stay in the log); no library warning, no INFO, no LOG_ONLY record.
  shown = done.stderr.splitlines()
  assert shown[:4] == [
      "ERROR an error", "ERROR failed with a traceback",
      "error: the pipeline failed: RuntimeError: the last line",
      "the terminal line"]
  # After close, logging writes to the terminal's stderr again (and not to
  # the closed console: no "--- Logging error ---").
  assert len(shown) == 5 and shown[4].endswith(" WARNING after close")


def test_a_log_not_kept_leaves_nothing(tmp_path):
  done = run(tmp_path, keep=False)
  assert done.returncode == 0, done.stderr
  assert not (tmp_path / "out").exists()
  assert not [n for n in os.listdir(tmp_path / "tmp")
              if n.startswith("relvid-")]
