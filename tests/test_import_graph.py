# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Imports point one way: runners -> pipeline -> components / trainer /
serving -> relvid (contract, config). Every import is counted, the lazy ones
inside functions too."""
import ast
import os

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("relvid", "components", "trainer", "serving", "pipeline")
ALLOWED = {
    "relvid": set(),
    "components": {"relvid"},
    "trainer": {"components", "relvid"},
    "serving": {"components", "relvid"},  # version_folders
    "pipeline": {"components", "trainer", "serving", "relvid"},
}


def package_imports():
  """(importing package, imported package, file) for every import."""
  found = []
  for package in PACKAGES:
    folder = os.path.join(PROJECT, package)
    for name in sorted(os.listdir(folder)):
      if not name.endswith(".py"):
        continue
      path = os.path.join(folder, name)
      with open(path) as f:
        tree = ast.parse(f.read(), path)
      for node in ast.walk(tree):
        if isinstance(node, ast.Import):
          targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
          targets = [node.module or ""]
        else:
          continue
        for target in targets:
          top = target.split(".")[0]
          if top in PACKAGES and top != package:
            found.append((package, top, f"{package}/{name}"))
  return found


def test_imports_follow_the_layers():
  wrong = [f"{path} imports {imported}"
           for package, imported, path in package_imports()
           if imported not in ALLOWED[package]]
  assert wrong == []


def test_the_package_graph_has_no_cycle():
  edges = {(a, b) for a, b, _ in package_imports()}
  order = []
  remaining = set(PACKAGES)
  while remaining:  # Kahn's algorithm: peel packages with no outgoing edge
    leaves = {p for p in remaining
              if not any(a == p and b in remaining for a, b in edges)}
    assert leaves, f"cycle among {sorted(remaining)}"
    order += sorted(leaves)
    remaining -= leaves
  assert order[0] == "relvid" and order[-1] == "pipeline"
