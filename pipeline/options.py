# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The command-line options of the pipeline's commands (`relvid run`,
`backfill`, `compile`, `airflow`, `ablate`, `versions`, `rollback`,
`config`).

Built without importing TensorFlow or TFX, so that `relvid COMMAND --help`
answers at once; each runner parses its arguments with the parser made
here.
"""
import argparse
import datetime
import os

from relvid import config as config_lib
from relvid import contract

# The environment variable naming the Airflow DAG's config file.
AIRFLOW_CONFIG_ENV = "RELVID_CONFIG"


VERBOSE_HELP = "show TensorFlow's C++ log lines (hidden by default)"


def _parser(prog: str, description: str, default_config: str = None,
            verbose_help: str = VERBOSE_HELP) -> argparse.ArgumentParser:
  # No abbreviations: `--verb` or `--hel` must not pass for --verbose or
  # --help, which the CLI looks for before parsing.
  parser = argparse.ArgumentParser(prog=prog, description=description,
                                   allow_abbrev=False)
  config_lib.add_arguments(parser, default_config)
  add_verbose(parser, verbose_help)
  return parser


def add_verbose(parser: argparse.ArgumentParser,
                text: str = VERBOSE_HELP) -> None:
  parser.add_argument("--verbose", action="store_true", help=text)


# run and backfill: their logs go to a file unless --verbose.
_LOGS_HELP = ("every log line (TFX, Beam, TensorFlow) on the terminal "
              "instead of the log file")


def run(prog: str) -> argparse.ArgumentParser:
  parser = _parser(prog, "Run the relvid pipeline locally (LocalDagRunner); "
                   "`relvid refresh` is the same with --refresh.",
                   verbose_help=_LOGS_HELP)
  parser.add_argument("--progress", action="store_true",
                      help="show a progress bar over the components "
                      "(`relvid run` shows it unless --no-progress)")
  parser.add_argument("--span", help="the span of a {SPAN} or "
                      "{YYYY}/{MM}/{DD} input path to read: a span number or "
                      "a YYYY-MM-DD date (default: the latest span present; "
                      "= --set data.span=SPAN)")
  parser.add_argument("--refresh", action="store_true",
                      help="run the catalog refresh pipeline: index the "
                      "current catalog with the newest serving version's "
                      "towers and publish the next version (no training)")
  return parser


def _date(text: str) -> datetime.date:
  try:
    return datetime.date.fromisoformat(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}")


def backfill(prog: str) -> argparse.ArgumentParser:
  parser = _parser(prog, "One local pipeline run per day, oldest first; "
                   "each reads its day's span (data.span).",
                   verbose_help=_LOGS_HELP)
  parser.add_argument("--from", dest="start", type=_date, required=True,
                      help="first day, YYYY-MM-DD")
  parser.add_argument("--to", dest="end", type=_date, required=True,
                      help="last day, YYYY-MM-DD (included)")
  return parser


def compile_spec(prog: str) -> argparse.ArgumentParser:
  parser = _parser(prog, "Compile the pipeline to a Kubeflow v2 / Vertex AI "
                   "JSON.")
  parser.add_argument("--output", help="pipeline JSON path (default "
                      "orchestration.kfp_output_file)")
  return parser


def airflow(prog: str) -> argparse.ArgumentParser:
  return _parser(prog, "Validate the Airflow DAG's pipeline (TFX compile).",
                 os.environ.get(AIRFLOW_CONFIG_ENV))


def ablate(prog: str) -> argparse.ArgumentParser:
  parser = _parser(prog, "The paper's ablation on the newest pipeline run's "
                   "pairs.")
  parser.add_argument("--seeds", type=int, default=3,
                      help="runs per variant (default 3)")
  parser.add_argument("--first-seed", type=int, default=0,
                      help="the runs' seeds are first-seed, first-seed + 1, "
                      "...: --first-seed 3 adds seeds to a run of 3")
  parser.add_argument("--variant", action="append", default=[],
                      help="run only this variant (repeatable)")
  parser.add_argument("--suite", choices=contract.ABLATION_SUITES,
                      default="paper", help="paper: task weights and OPC; "
                      "model: the default vs what it replaced; ladder: from "
                      "the TFRS recipe to the default, one difference at a "
                      "time; opc: the OPC grid; logq: the logQ strength; "
                      "trigger: the trigger tower's content for every "
                      "trigger or for cold ones only; weighting: fixed vs "
                      "adaptive, binary vs soft; "
                      "labels: pseudo-label quality (incl. a controlled "
                      "study); cold: cold-start options (content fallback, "
                      "ID dropout); modality: text / text+visual / visual "
                      "towers")
  parser.add_argument("--no-baselines", dest="baselines",
                      action="store_false",
                      help="skip the popularity, co-visitation, text k-NN "
                      "and TFRS recipe baselines")
  return parser


def versions(prog: str) -> argparse.ArgumentParser:
  parser = _parser(prog, "The serving versions, newest last (* = serving), "
                   "then the models that were evaluated and held.")
  parser.add_argument("--json", action="store_true",
                      help="print the records as JSON")
  return parser


def rollback(prog: str) -> argparse.ArgumentParser:
  parser = _parser(prog, "Serve VERSION again: it is copied as the newest "
                   "version (a running server reloads it); nothing is "
                   "deleted.")
  parser.add_argument("version", type=int, help="a version `relvid "
                      "versions` lists")
  return parser


def config(prog: str) -> argparse.ArgumentParser:
  parser = _parser(prog, "Print the configuration that commands given the "
                   "same --config/--set use, as YAML commented from "
                   "relvid/config.py; a value other than its default says "
                   "the default. The output is itself a valid --config "
                   "file.")
  parser.add_argument("--defaults", action="store_true",
                      help="print the defaults, ignoring --config and "
                      "--set (docs/configuration.md)")
  return parser
