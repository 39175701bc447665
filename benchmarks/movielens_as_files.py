# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""A packaged MovieLens copy written as the generic CSV tables, to judge
the defaults the way a user with their own logs meets them
(`data.source: files`, everything else default).

  python -m benchmarks.movielens_as_files --source movielens_1m --out DIR

writes DIR/interactions.csv (user_id, item_id, timestamp) and
DIR/items.csv (item_id, title, description, tags, topics, media_path; the
genres as `|`-separated topics, no description or tags), read from the
installed package (GroupLens terms: the files are for this machine's runs,
never for the repository), and prints the `relvid run` command for them.
"""
import argparse
import csv
import os
import sys
from typing import List, Optional

from components import ingestion
from relvid import config as config_lib
from relvid import contract


def _atomic_rows(path: str):
  """Rows of a recbole atomic file as dicts (headers without `:type`)."""
  with open(path, encoding="utf-8", newline="") as f:
    yield from ingestion.parse_delimited(f.read(), "\t", quoted=False)


def write_tables(source: str, folder: str) -> List[str]:
  """Writes the two generic tables of `source` into `folder`; returns
  their paths (interactions, items)."""
  interactions_file, items_file, _ = ingestion.movielens_patterns(source)
  columns = {config_lib.MOVIELENS_100K: ingestion.MOVIELENS_ITEM_COLUMNS,
             config_lib.MOVIELENS_1M: ingestion.MOVIELENS_1M_ITEM_COLUMNS}[
                 source]
  os.makedirs(folder, exist_ok=True)
  paths = [os.path.join(folder, "interactions.csv"),
           os.path.join(folder, "items.csv")]
  with open(paths[0], "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f)
    writer.writerow(contract.INTERACTION_FIELDS)
    for row in _atomic_rows(interactions_file):
      writer.writerow([row[contract.USER_ID], row[contract.ITEM_ID],
                       int(float(row[contract.TIMESTAMP]))])
  with open(paths[1], "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f)
    writer.writerow(contract.ITEM_FIELDS)
    for row in _atomic_rows(items_file):
      item = {columns.get(k, k): v for k, v in row.items()}
      writer.writerow([item[contract.ITEM_ID], item[contract.TITLE], "", "",
                       "|".join(item[contract.TOPICS].split()), ""])
  return paths


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--source", default=config_lib.MOVIELENS_1M,
                      choices=[config_lib.MOVIELENS_100K,
                               config_lib.MOVIELENS_1M])
  parser.add_argument("--out", required=True, help="folder for the tables")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  interactions, items = write_tables(args.source, args.out)
  print(f"wrote {interactions} and {items}; run them as your own logs:\n"
        f"  relvid run --set data.source=files "
        f"--set data.interactions_path={interactions} "
        f"--set data.items_path={items} --set output_dir=...")
  return 0


if __name__ == "__main__":
  sys.exit(main())
