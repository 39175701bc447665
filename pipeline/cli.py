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
  relvid config   [--config F] [--set a.b=v ...]   the effective config, YAML

`relvid COMMAND --help` explains each command's options. All commands that
take `--config`/`--set` read the same typed config (relvid/config.py).
"""
import argparse
import importlib
import os
import sys
from typing import Callable, Dict, List, Optional, Tuple

from pipeline import options
from relvid import config as config_lib
from relvid import config_doc
from serving import options as serving_options

# Each command's module is imported only when it runs: TF and TFX take
# seconds to import, and `relvid related` needs neither. `--help` is
# answered from the options alone (pipeline/options.py).


def _quiet(argv: List[str]) -> Optional["logs.RunLog"]:
  """A RunLog (the full logs to a file) unless --verbose or --help."""
  if any(a in ("--verbose", "-h", "--help") for a in argv):
    return None
  from pipeline import logs  # pylint: disable=g-import-not-at-top
  return logs.RunLog.open_if_possible()


def _logged(argv: List[str], prog: str, runner: str) -> int:
  """`pipeline.<runner>.main` with its logs in a file (`_quiet`)."""
  run_log = _quiet(argv)
  try:
    # Imported once the log file is open: TensorFlow's start-up lines go
    # there.
    module = importlib.import_module(f"pipeline.{runner}")
    return module.main(argv, prog, run_log)
  finally:
    if run_log:
      run_log.close()


def _run(argv: List[str], prog: str) -> int:
  if "--no-progress" in argv:
    argv = [a for a in argv if a != "--no-progress"]
  elif "--progress" not in argv:
    argv = argv + ["--progress"]
  return _logged(argv, prog, "local_runner")


def _refresh(argv: List[str], prog: str) -> int:
  return _run(argv + ["--refresh"], prog)


def _backfill(argv: List[str], prog: str) -> int:
  return _logged(argv, prog, "backfill_runner")


def _compile(argv: List[str], prog: str) -> int:
  from pipeline import kubeflow_v2_runner  # pylint: disable=g-import-not-at-top
  return kubeflow_v2_runner.main(argv, prog)


def _airflow(argv: List[str], prog: str) -> int:
  from pipeline import airflow_runner  # pylint: disable=g-import-not-at-top
  return airflow_runner.main(argv, prog)


def _ablate(argv: List[str], prog: str) -> int:
  from pipeline import ablation_runner  # pylint: disable=g-import-not-at-top
  return ablation_runner.main(argv, prog)


def _config_options() -> argparse.ArgumentParser:
  """--config/--set and --verbose, as a parent of the server's own
  options."""
  parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
  config_lib.add_arguments(parser)
  options.add_verbose(parser)
  return parser


def _serve(argv: List[str], prog: str) -> int:
  """The server's own options, plus --config/--set: without
  --model_base_path it serves the config's Pusher destination."""
  from serving import server  # pylint: disable=g-import-not-at-top
  parser = _config_options()
  args, rest = parser.parse_known_args(argv)
  if not any(a.startswith("--model_base_path") for a in rest):
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


def _config(argv: List[str], prog: str) -> int:
  args = options.config(prog).parse_args(argv)
  if args.defaults:
    # The reference's form (docs/configuration.md): the same on every
    # installation.
    sys.stdout.write(config_doc.render(config_lib.PipelineConfig(),
                                       portable=True))
    return 0
  config = config_lib.from_args(args)
  if config is None:
    return 2
  sys.stdout.write(config_doc.render(config))
  return 0


COMMANDS: Dict[str, Tuple[Callable[[List[str], str], int], str]] = {
    "run": (_run, "run the whole pipeline on this machine (LocalDagRunner), "
            "with a progress bar (--no-progress: none); the logs go to a "
            "file (--verbose: to the terminal)"),
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
    "config": (_config, "print the effective configuration (defaults, "
               "--config file, --set overrides) as commented YAML; "
               "--defaults for the defaults"),
}


HELP: Dict[str, Callable[[str], argparse.ArgumentParser]] = {
    "run": options.run, "refresh": options.run, "backfill": options.backfill,
    "compile": options.compile_spec, "airflow": options.airflow,
    "ablate": options.ablate, "versions": options.versions,
    "rollback": options.rollback, "config": options.config,
    "serve": lambda prog: serving_options.server(prog, [_config_options()]),
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
  if argv[:1] not in (["run"], ["refresh"], ["backfill"]):
    _quiet_tensorflow(argv)
  args, rest = parser.parse_known_args(argv[:1])
  prog = f"relvid {args.command}"
  rest += argv[1:]
  if args.command in HELP and ("-h" in rest or "--help" in rest):
    HELP[args.command](prog).parse_args(["--help"])  # exits
  return COMMANDS[args.command][0](rest, prog)


def _quiet_tensorflow(argv: List[str]) -> None:
  """TensorFlow's C++ start-up lines ("E ... Unable to register cuDNN
  factory" passes level 2, common in TF users' shells) are kept off the
  terminal unless --verbose. The pipeline runs keep them, in their log
  file."""
  if "--verbose" not in argv:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


def serve_main() -> int:
  """`relvid-serve`: the same as `relvid serve`."""
  _quiet_tensorflow(sys.argv[1:])
  if "-h" in sys.argv[1:] or "--help" in sys.argv[1:]:
    HELP["serve"]("relvid-serve").parse_args(["--help"])  # exits
  return _serve(sys.argv[1:], "relvid-serve")


if __name__ == "__main__":
  sys.exit(main())
