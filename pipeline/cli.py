# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""`relvid`: one entry point for every way of running the project.

  relvid run      [--config F] [--set a.b=v ...]   the pipeline, locally
  relvid refresh  [--config F] [--set a.b=v ...]   index new items, no training
  relvid backfill --from D --to D [--config F]     one run per day, in order
  relvid compile  [--config F] [--output P]        Kubeflow v2 / Vertex JSON
  relvid airflow  [--config F]                     validate the Airflow DAG
  relvid ablate   [--config F] [--suite S]         the ablation table
  relvid serve    [--config F] [--model_base_path P]   TF Serving REST+gRPC
  relvid versions [--config F] [--json]            serving versions, lineage
  relvid rollback VERSION [--config F]             serve an older version
  relvid related  ITEM_ID [--url U | --grpc H:P]   ask a running endpoint

`relvid COMMAND --help` explains each command's options. All commands that
take `--config`/`--set` read the same typed config (relvid/config.py).
"""
import argparse
import os
import sys
from typing import Callable, Dict, List, Optional, Tuple

# Each command's module is imported only when it runs: TF and TFX take
# seconds to import, and `relvid related` needs neither.


def _run(argv: List[str], prog: str) -> int:
  from pipeline import local_runner  # pylint: disable=g-import-not-at-top
  if "--no-progress" in argv:
    argv = [a for a in argv if a != "--no-progress"]
  elif "--progress" not in argv:
    argv = argv + ["--progress"]
  return local_runner.main(argv, prog)


def _refresh(argv: List[str], prog: str) -> int:
  return _run(argv + ["--refresh"], prog)


def _backfill(argv: List[str], prog: str) -> int:
  from pipeline import backfill_runner  # pylint: disable=g-import-not-at-top
  return backfill_runner.main(argv, prog)


def _compile(argv: List[str], prog: str) -> int:
  from pipeline import kubeflow_v2_runner  # pylint: disable=g-import-not-at-top
  return kubeflow_v2_runner.main(argv, prog)


def _airflow(argv: List[str], prog: str) -> int:
  from pipeline import airflow_runner  # pylint: disable=g-import-not-at-top
  return airflow_runner.main(argv, prog)


def _ablate(argv: List[str], prog: str) -> int:
  from pipeline import ablation_runner  # pylint: disable=g-import-not-at-top
  return ablation_runner.main(argv, prog)


def _serve(argv: List[str], prog: str) -> int:
  """The server's own options, plus --config/--set: without
  --model_base_path it serves the config's Pusher destination."""
  from relvid import config as config_lib  # pylint: disable=g-import-not-at-top
  from serving import server  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(add_help=False)
  config_lib.add_arguments(parser)
  args, rest = parser.parse_known_args(argv)
  if not any(a.startswith("--model_base_path") for a in rest) and not any(
      a in ("-h", "--help") for a in rest):
    config = config_lib.from_args(args)
    if config is None:
      return 2
    rest = ["--model_base_path", config_lib.serving_model_dir(config),
            "--model_name", config.export.model_name] + rest
  return server.main(rest, prog, parents=[parser])


def _versions(argv: List[str], prog: str) -> int:
  from pipeline import versions_runner  # pylint: disable=g-import-not-at-top
  return versions_runner.list_main(argv, prog)


def _rollback(argv: List[str], prog: str) -> int:
  from pipeline import versions_runner  # pylint: disable=g-import-not-at-top
  return versions_runner.rollback_main(argv, prog)


def _related(argv: List[str], prog: str) -> int:
  from serving import client  # pylint: disable=g-import-not-at-top
  return client.main(argv, prog)


COMMANDS: Dict[str, Tuple[Callable[[List[str], str], int], str]] = {
    "run": (_run, "run the whole pipeline on this machine (LocalDagRunner), "
            "with a progress bar; --no-progress for plain logs"),
    "refresh": (_refresh, "index the current catalog (new items by their "
                "content) with the newest serving version's towers and "
                "publish the next version; no training"),
    "backfill": (_backfill, "one local run per day from --from to --to, "
                 "oldest first (each reads its day's span)"),
    "compile": (_compile, "compile the pipeline to a Kubeflow Pipelines v2 / "
                "Vertex AI PipelineJob JSON"),
    "airflow": (_airflow, "validate the Airflow DAG (pipeline/airflow_dag.py) "
                "and print its schedule and tasks"),
    "ablate": (_ablate, "train and evaluate the ablation variants on the "
               "pipeline's pairs; writes a table and a plot"),
    "serve": (_serve, "serve pushed models over TF Serving's REST (8501) "
              "and gRPC (8500) APIs, with a page at /ui (default: the "
              "config's Pusher destination, outputs/serving/relvid)"),
    "versions": (_versions, "list the serving versions (spans, metrics, the "
                 "change against the version serving when each model was "
                 "evaluated, pushed or held) from the version folders and "
                 "ML Metadata"),
    "rollback": (_rollback, "serve an older version again: it is copied "
                 "as the newest version, nothing is deleted"),
    "related": (_related, "print the items related to ITEM_ID from a "
                "running endpoint"),
}


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      prog="relvid", description=__doc__.split("\n")[0],
      formatter_class=argparse.RawDescriptionHelpFormatter,
      epilog="\n".join(__doc__.split("\n")[2:]))
  commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                   required=True)
  for name, (_, help_text) in COMMANDS.items():
    # Each command parses its own options (and its own --help).
    commands.add_parser(name, help=help_text, add_help=False)
  argv = sys.argv[1:] if argv is None else argv
  if "--verbose" not in argv:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ chatter
  args, rest = parser.parse_known_args(argv[:1])
  handler = COMMANDS[args.command][0]
  return handler(rest + argv[1:], f"relvid {args.command}")


if __name__ == "__main__":
  sys.exit(main())
