# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""`relvid ablate`: the paper's ablation on the newest pipeline run's pairs.

  relvid ablate [--config F] [--set a.b=v ...] [--seeds 3]
                [--suite paper|model|ladder|opc|logq|weighting|labels|cold|modality]
                [--variant NAME ...] [--no-baselines]

Finds the newest CoEngagementPairs output of the configured pipeline in ML
Metadata (run the pipeline first), runs `trainer.ablation`, writes
`ablation.md`, `ablation.csv`, `frontier.png` and `by_trigger_engagement.md`
(the metrics per group of triggers by train-period engagements) under
`<output_dir>/ablation/<suite>/` (a run of some variants, or from a
--first-seed, in a folder of its own below it, so that runs side by side
do not overwrite each other) and prints the table (the `labels` suite
also writes `labels.md`, the mined pseudo-label sets' size, topic precision
and coverage). The suites are described in `trainer/ablation.py`.
"""
import logging
import sys
from typing import List, Optional

from pipeline import options
from pipeline import results
from relvid import config as config_lib
from trainer import ablation


def main(argv: Optional[List[str]] = None,
         prog: str = "relvid ablate") -> int:
  parser = options.ablate(prog)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  config = config_lib.from_args(args, local_metadata=True)
  if config is None:
    return 2
  logging.basicConfig(level=logging.WARNING)
  folder = ablation.output_folder(config.output_dir, args.suite,
                                 args.variant, args.first_seed)
  try:
    pairs_uri = results.latest_pairs_uri(config)
    if args.suite == "labels":
      labels = ablation.write_label_quality(pairs_uri, config, folder)
      print(labels)
    rows = ablation.run_ablation(pairs_uri, config, args.seeds, args.variant,
                                 args.suite, args.baselines, args.first_seed)
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
