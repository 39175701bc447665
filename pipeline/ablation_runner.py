# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""`relvid ablate`: the paper's ablation on the newest pipeline run's pairs.

  relvid ablate [--config F] [--set a.b=v ...] [--seeds 3]
                [--suite paper|model|ladder|opc|logq|weighting|labels|cold|modality]
                [--variant NAME ...] [--no-baselines]

Finds the newest CoEngagementPairs output of the configured pipeline in ML
Metadata (run the pipeline first), runs `trainer.ablation`, writes
`ablation.md`, `ablation.csv` and `frontier.png` under
`<output_dir>/ablation/<suite>/` and prints the table (the `labels` suite
also writes `labels.md`, the mined pseudo-label sets' size, topic precision
and coverage). The suites are described in `trainer/ablation.py`.
"""
import argparse
import logging
import os
import sys
from typing import List, Optional

from pipeline import results
from relvid import config as config_lib
from trainer import ablation


def main(argv: Optional[List[str]] = None,
         prog: str = "relvid ablate") -> int:
  parser = argparse.ArgumentParser(prog=prog,
                                   description=__doc__.split("\n")[0])
  config_lib.add_arguments(parser)
  parser.add_argument("--seeds", type=int, default=3)
  parser.add_argument("--variant", action="append", default=[],
                      help="run only this variant (repeatable)")
  parser.add_argument("--suite", choices=sorted(ablation.SUITES),
                      default="paper", help="paper: task weights and OPC; "
                      "model: the default vs what it replaced; opc: the OPC "
                      "grid; weighting: fixed vs adaptive, binary vs soft; "
                      "labels: pseudo-label quality (incl. a controlled "
                      "study); cold: cold-start options (content fallback, "
                      "ID dropout); modality: text / text+visual / visual "
                      "towers")
  parser.add_argument("--no-baselines", dest="baselines",
                      action="store_false",
                      help="skip the popularity, text k-NN and TFRS ID "
                      "baselines")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  config = config_lib.from_args(args, local_metadata=True)
  if config is None:
    return 2
  logging.basicConfig(level=logging.WARNING)
  folder = os.path.join(config.output_dir, "ablation", args.suite)
  try:
    pairs_uri = results.latest_pairs_uri(config)
    if args.suite == "labels":
      labels = ablation.write_label_quality(pairs_uri, config, folder)
      print(labels)
    rows = ablation.run_ablation(pairs_uri, config, args.seeds, args.variant,
                                 args.suite, args.baselines)
  except (ValueError, FileNotFoundError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  paths = ablation.write_outputs(rows, folder, config.eval.ks,
                                 config.data.source)
  print(ablation.markdown_table(rows, config.eval.ks))
  print("written:", ", ".join(paths.values()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
