# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The installed console scripts (`relvid`, `related`), run as a user runs
them: a subprocess of the script in the environment's bin folder, from a
folder outside the source tree. (`relvid run` itself is run, killed and
rerun through the script by tests/test_reruns.py.)"""
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time

import requests

from components import artifacts
from pipeline import results
from relvid import config as config_lib
from relvid import contract

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def script(name: str) -> str:
  path = os.path.join(BIN, name)
  assert os.path.exists(path), f"{name} is not installed in {BIN}"
  return path


def relvid(*args, cwd, timeout=600, check=True, quiet_tf=True):
  """The installed `relvid`; `quiet_tf=False` runs it as in a shell without
  TF_CPP_MIN_LOG_LEVEL (relvid must then keep TensorFlow's C++ start-up
  lines off the terminal itself)."""
  env = dict(os.environ, AIRFLOW_HOME=os.path.join(str(cwd), "airflow_home"))
  if quiet_tf:
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
  else:
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
  out = subprocess.run([script("relvid"), *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=timeout)
  if check:
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
  return out


def test_console_scripts_are_plain_entry_points():
  """pip's wrappers, not setuptools' legacy ones: those declared
  `__requires__` and had pkg_resources re-check every installed
  distribution's requirements before `relvid` could start."""
  for name in ("relvid", "related", "relvid-serve"):
    with open(script(name)) as f:
      text = f.read()
    assert "__requires__" not in text and "pkg_resources" not in text


def test_compile_writes_the_spec(tmp_path):
  spec = tmp_path / "relvid_pipeline.json"
  out = relvid("compile", "--set", "output_dir=gs://acme/relvid",
               "--set", "orchestration.image=europe-docker.pkg.dev/a/b:1",
               "--output", str(spec), cwd=tmp_path, quiet_tf=False)
  assert str(spec) in out.stdout
  # TFX imports TensorFlow; its C++ start-up lines ("... E external/
  # local_xla/... Unable to register cuDNN factory") stay off the output.
  assert not re.search(r"^\d{4}-\d\d-\d\d [\d:.]+: [IWEF] ",
                       out.stdout + out.stderr, re.M), out.stderr[-2000:]
  job = json.loads(spec.read_text())
  assert "Trainer" in job["pipelineSpec"]["root"]["dag"]["tasks"]


def test_airflow_validates_the_dag(tmp_path):
  out = relvid("airflow", "--set", f"output_dir={tmp_path / 'out'}",
               cwd=tmp_path)
  match = re.search(r"DAG relvid: schedule @daily, start 2026-01-01, "
                    r"catchup off, (\d+) tasks: .*interactions_ExampleGen",
                    out.stdout)
  assert match and "-> Pusher" in out.stdout
  assert "each run reads the span of its date" not in out.stdout
  if importlib.util.find_spec("airflow"):  # the `airflow` extra
    assert f"Airflow installed: DAG built with {match.group(1)} tasks" in (
        out.stdout)


def test_ablate_on_the_small_run(small_pipeline_run, tmp_path):
  overrides = [a for o in small_pipeline_run.overrides for a in ("--set", o)]
  out = relvid("ablate", *overrides, "--seeds", "1", "--first-seed", "2",
               "--variant", "engagement only", cwd=tmp_path)
  assert "| engagement only | 1 |" in out.stdout
  # --first-seed extends an earlier run: this one is seed 2 alone.
  assert "engagement only seed 2:" in out.stdout + out.stderr
  assert "seed 0:" not in out.stdout + out.stderr
  # A part of a suite writes to a folder of its own.
  folder = os.path.join(small_pipeline_run.config.output_dir, "ablation",
                        "paper", "engagement-only_seeds-from-2")
  assert f"written: {os.path.join(folder, 'ablation.csv')}" in out.stdout
  assert sorted(os.listdir(folder)) == ["ablation.csv", "ablation.md",
                                        "by_trigger_engagement.md",
                                        "frontier.png"]
  with open(os.path.join(folder, "by_trigger_engagement.md")) as f:
    groups = [line for line in f if line.startswith("| engagement only |")]
  assert [line.split(" | ")[1].split(":")[0] for line in groups] == [
      "1", "2", "3", "4", "5"]


def test_ablate_labels_suite_writes_label_quality(small_pipeline_run,
                                                  tmp_path):
  overrides = [a for o in small_pipeline_run.overrides for a in ("--set", o)]
  out = relvid("ablate", *overrides, "--seeds", "1", "--suite", "labels",
               "--variant", "popularity", cwd=tmp_path)
  assert "| popularity | 1 |" in out.stdout
  assert "| co-engaged train pairs |" in out.stdout
  folder = os.path.join(small_pipeline_run.config.output_dir, "ablation",
                        "labels", "popularity")
  with open(os.path.join(folder, "labels.md")) as f:
    assert "| mined cos>=0.7, 10 neighbours |" in f.read()


def test_ablate_before_any_run_says_what_to_do(tmp_path):
  out = relvid("ablate", "--set", f"output_dir={tmp_path}", cwd=tmp_path,
               check=False)
  assert out.returncode == 2
  assert "run the pipeline first" in out.stderr


def test_refresh_indexes_new_items_of_the_small_run(small_pipeline_run,
                                                    tmp_path):
  """`relvid refresh` on a copy of the small run's serving folder, with two
  new movies and one without a title added to its items file: the next
  version indexes them (the untitled one is counted and listed, not
  indexed) and says so."""
  import csv  # pylint: disable=g-import-not-at-top
  import shutil  # pylint: disable=g-import-not-at-top
  out_dir = tmp_path / "out"
  config = config_lib.load_config(
      None, small_pipeline_run.overrides + [f"output_dir={out_dir}"])
  serving = config_lib.serving_model_dir(config)
  shutil.copytree(small_pipeline_run.serving_base, serving)
  # The text vectors the training run stored: only new text is embedded.
  shutil.copytree(
      config_lib.embedding_store_dir(small_pipeline_run.config,
                                     config_lib.TEXT),
      config_lib.embedding_store_dir(config, config_lib.TEXT))
  (source_version,) = os.listdir(serving)
  with open(small_pipeline_run.items_csv) as f:
    rows = list(csv.reader(f))
  new_items = [["new-1", "Toy Story 4 (2019)", "", "", "Animation", ""],
               ["new-2", "Alien: Covenant (2017)", "", "", "Sci-Fi", ""],
               ["untitled", "", "", "", "", ""]]
  items_csv = tmp_path / "items.csv"
  with open(items_csv, "w", newline="") as f:
    csv.writer(f).writerows(rows + new_items)
  overrides = [a for o in small_pipeline_run.overrides + [
      f"output_dir={out_dir}", f"data.items_path={items_csv}"]
               for a in ("--set", o)]

  out = relvid("refresh", *overrides, cwd=tmp_path)

  assert "added: 2 (new-1, new-2)" in out.stdout, out.stdout
  # The refresh pipeline's own reports, as `relvid run` prints its run's:
  # the text embedder counts the untitled item.
  assert re.search(r"^  items_ExampleGen: .*items_written=", out.stdout,
                   re.M)
  text_counts = re.search(r"^  TextEmbedder: (.*)$", out.stdout, re.M)
  assert text_counts, out.stdout
  assert re.search(r"\bitems_empty_text=1\b", text_counts[1])
  assert re.search(r"\bitems_embedded=2\b", text_counts[1])
  assert re.search(r"\bitems_reused=%d\b" % (len(rows) - 1),
                   text_counts[1]), text_counts[1]
  assert "removed: 0" in out.stdout
  assert ("new without text or media (not indexed): 1 (untitled)"
          in out.stdout)
  versions = sorted(os.listdir(serving), key=int)
  assert versions[0] == source_version and len(versions) == 2
  version = os.path.join(serving, versions[1])
  with open(os.path.join(version, "assets.extra", "refresh.json")) as f:
    report = json.load(f)
  assert report["source_version"] == int(source_version)
  with open(os.path.join(version, "assets.extra", "items.json")) as f:
    indexed = {item["item_id"] for item in json.load(f)["items"]}
  catalog = {row[0] for row in rows[1:]}
  # The refreshed version carries the trained version's lineage forward.
  with open(os.path.join(serving, source_version,
                         contract.LINEAGE_FILE)) as f:
    trained = json.load(f)
  with open(os.path.join(version, contract.LINEAGE_FILE)) as f:
    lineage = json.load(f)
  assert lineage["model"] == trained["model"] and trained["steps"] == []
  assert lineage["steps"][0]["refreshed_from"] == int(source_version)
  assert indexed == (catalog | {"new-1", "new-2"}) and (
      report["items_indexed"] == len(indexed))

  # Nothing changed since: the refresh pipeline comes from TFX's cache
  # (the ExampleGens fingerprinted the same files) and publishes nothing.
  again = relvid("refresh", *overrides, cwd=tmp_path)
  assert (f"version {versions[1]} is up to date: it was refreshed from this "
          "catalog; nothing published") in again.stdout, again.stdout
  assert sorted(os.listdir(serving), key=int) == versions
  from pipeline import results  # pylint: disable=g-import-not-at-top
  refresh_config = results.refresh_pipeline_config(config)
  store = results.open_store(refresh_config)
  for node in ("items_ExampleGen", "interactions_ExampleGen",
               "TextEmbedder", "CoEngagementPairs"):
    assert [e.last_known_state for e in results.executions(
        refresh_config, node, store)] == [3, 5], node  # COMPLETE, CACHED


def test_versions_and_rollback(small_pipeline_run, tmp_path):
  """`relvid versions` lists the small run's pushed version with its
  lineage and evaluation (from ML Metadata); after a newer version
  appears, `relvid rollback` serves the old one again as the newest
  version without deleting anything, and a server polling the folder
  switches to it."""
  import shutil  # pylint: disable=g-import-not-at-top
  from serving import registry as registry_lib  # pylint: disable=g-import-not-at-top
  run = small_pipeline_run.config
  overrides = small_pipeline_run.overrides + [
      f"output_dir={tmp_path / 'out'}",
      f"metadata_path={config_lib.metadata_path(run)}"]
  config = config_lib.load_config(None, overrides)
  serving = config_lib.serving_model_dir(config)
  shutil.copytree(small_pipeline_run.serving_base, serving)
  args = [a for o in overrides for a in ("--set", o)]
  (first,) = os.listdir(serving)

  listed = json.loads(relvid("versions", "--json", *args,
                             cwd=tmp_path).stdout)
  # The small run's own model and evaluation: its first Trainer and
  # evaluator executions (test_pipeline_e2e may since have trained and
  # held another model on the same store, listed after the versions).
  store = results.open_store(run)
  first_output = lambda node, key: [
      store.get_artifacts_by_id([e.artifact_id])[0].uri
      for e in store.get_events_by_execution_ids(
          [results.executions(run, node, store)[0].id])
      if e.path.steps and e.path.steps[0].key == key][0]
  metrics = artifacts.read_metrics(first_output("RelatedVideoEvaluator",
                                                "evaluation"))
  pushed = [r for r in listed if r["status"] == "pushed"]
  assert len(pushed) == 1 and pushed[0]["version"] == int(first)
  assert all(r["status"] == "held" and r["version"] is None
             and r["model"] != pushed[0]["model"] for r in listed[1:])
  row = listed[0]
  assert row["serving"] and row["status"] == "pushed"
  assert row["origin"] == "trained" and row["spans"] == "0"
  assert row["model"] == first_output("Trainer", "model")
  assert row["recall@100"] == metrics["all"]["recall@100"]
  assert row["compared_with"] is None and "first push" in row["not_compared"]

  # A newer version (as a later push would make), then the rollback.
  newer = str(int(first) + 10)
  shutil.copytree(os.path.join(serving, first), os.path.join(serving, newer))
  refused = relvid("rollback", newer, *args, cwd=tmp_path, check=False)
  assert refused.returncode == 1
  assert f"version {newer} is the one serving already" in refused.stderr
  missing = relvid("rollback", "7", *args, cwd=tmp_path, check=False)
  assert missing.returncode == 1 and "no version 7 under" in missing.stderr
  assert f"{first}, {newer}" in missing.stderr

  out = relvid("rollback", first, *args, cwd=tmp_path).stdout
  versions = sorted(os.listdir(serving), key=int)
  assert versions[:2] == [first, newer] and len(versions) == 3
  assert (f"version {first} is served again as version {versions[2]}"
          in out), out
  with open(os.path.join(serving, versions[2], contract.LINEAGE_FILE)) as f:
    lineage = json.load(f)
  assert lineage["steps"][-1]["rolled_back_to"] == int(first)
  assert lineage["steps"][-1]["replaced"] == int(newer)
  registry = registry_lib.ModelRegistry("relvid", serving)
  assert registry.refresh() and registry.current().version == int(
      versions[2])

  table = relvid("versions", *args, cwd=tmp_path).stdout.splitlines()
  assert table[0].split()[:3] == ["version", "origin", "spans"]
  assert table[3].split()[:5] == [versions[2], "*", "rollback", "to", first]
  assert table[3].rstrip().endswith("pushed (serving)")


def test_run_with_a_missing_span_names_the_pattern(tmp_path):
  """`relvid run --span` over a dated log without that day: one line naming
  the span and the pattern, exit status 2, nothing pushed."""
  (tmp_path / "logs" / "2000-06-01").mkdir(parents=True)
  (tmp_path / "logs" / "2000-06-01" / "part-0.csv").write_text(
      "user_id,item_id,timestamp\nu1,a,1\nu1,b,2\n")
  (tmp_path / "items.csv").write_text("item_id,title\na,Alien\nb,Heat\n")
  pattern = f"{tmp_path}/logs/{{YYYY}}-{{MM}}-{{DD}}/*.csv"
  out = relvid("run", "--no-progress", "--set", "data.source=files",
               "--set", f"data.interactions_path={pattern}",
               "--set", f"data.items_path={tmp_path / 'items.csv'}",
               "--set", f"output_dir={tmp_path / 'out'}",
               "--span", "2000-06-05", cwd=tmp_path, check=False)
  assert out.returncode == 2, out.stderr[-2000:]
  assert out.stderr.splitlines()[-1] == (
      "error: no input file for span 11113 (as a date: 2000-06-05) "
      f"matches {pattern}")
  assert not (tmp_path / "out" / "serving").exists()


def test_refresh_before_any_run_says_what_to_do(tmp_path):
  out = relvid("refresh", "--set", f"output_dir={tmp_path}", cwd=tmp_path,
               check=False)
  assert out.returncode == 2
  assert "relvid run" in out.stderr and out.stdout == ""
  assert list(tmp_path.iterdir()) == [] or all(
      p.name == "airflow_home" for p in tmp_path.iterdir())


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


RELATED_WITHOUT_TENSORFLOW = """
import sys
from serving import client
code = client.main(sys.argv[1:])
assert "tensorflow" not in sys.modules, "related imported tensorflow"
sys.exit(code)
"""


def test_serve_then_related(small_pipeline_run, tmp_path):
  """`relvid serve` with the run's config serves what the Pusher pushed;
  `related` asks it, as the README's quick start does."""
  port, grpc_port = free_port(), free_port()
  overrides = [a for o in small_pipeline_run.overrides for a in ("--set", o)]
  batching_file = tmp_path / "batching.txt"
  batching_file.write_text("max_batch_size { value: 8 }\n"
                           "batch_timeout_micros { value: 1000 }\n")
  server = subprocess.Popen(
      [script("relvid"), "serve", *overrides, "--rest_api_port", str(port),
       "--port", str(grpc_port), "--batching_parameters_file",
       str(batching_file)],
      cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      text=True)
  url = f"http://127.0.0.1:{port}"
  try:
    deadline = time.time() + 180
    while True:
      assert server.poll() is None, server.stdout.read()[-3000:]
      try:
        status = requests.get(f"{url}/v1/models/relvid", timeout=2).json()
        break
      except requests.ConnectionError:
        assert time.time() < deadline, "relvid serve did not start"
        time.sleep(1)
    version = config_lib.serving_model_dir(small_pipeline_run.config)
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    assert status["model_version_status"][0]["version"] in os.listdir(
        version)
    import csv  # pylint: disable=g-import-not-at-top
    with open(small_pipeline_run.items_csv) as f:
      items = {r["item_id"]: r["title"] for r in csv.DictReader(f)}
    trigger = sorted(items)[0]
    out = subprocess.run(
        [script("related"), trigger, "--url", url, "-k", "5", "--titles",
         small_pipeline_run.items_csv], cwd=tmp_path, capture_output=True,
        text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == f"related to {trigger} {items[trigger]}"
    assert len(lines) == 6
    ranked = [line.split()[1] for line in lines[1:]]
    assert trigger not in ranked and set(ranked) <= set(items)
    over_grpc = subprocess.run(
        [script("related"), trigger, "--grpc", f"127.0.0.1:{grpc_port}", "-k",
         "5", "--titles", small_pipeline_run.items_csv], cwd=tmp_path,
        capture_output=True, text=True, timeout=120)
    assert over_grpc.returncode == 0, over_grpc.stderr
    assert over_grpc.stdout == out.stdout
    # Without --titles: the titles of the version the endpoint serves (its
    # items.json), the same over gRPC, which imports no TensorFlow.
    for transport in (["--url", url],
                      ["--grpc", f"127.0.0.1:{grpc_port}", "--url", url]):
      served = subprocess.run(
          [sys.executable, "-c", RELATED_WITHOUT_TENSORFLOW, trigger, "-k",
           "5", *transport], cwd=tmp_path, capture_output=True, text=True,
          timeout=120)
      assert served.returncode == 0, served.stderr
      assert served.stdout == out.stdout, (transport, served.stdout)
    # A reader that stops early (`related ... | head -1`): here one that
    # never reads. No traceback, a clean exit.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
      piped = subprocess.run(
          [script("related"), trigger, "--url", url, "-k", "5", "--titles",
           small_pipeline_run.items_csv], cwd=tmp_path, stdout=write_end,
          stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
      os.close(write_end)
    assert (piped.returncode, piped.stderr) == (0, "")
    # TF users' shells often hold TF_CPP_MIN_LOG_LEVEL=2, which still lets
    # TensorFlow's CUDA-plugin error lines through on import.
    tf_user_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    for transport in (["--url", url], ["--grpc", f"127.0.0.1:{grpc_port}"]):
      bad = subprocess.run([script("related"), "no-such-item", *transport],
                           cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, env=tf_user_env)
      assert (bad.returncode, bad.stdout, bad.stderr) == (
          1, "", "unknown item id: no-such-item\n")
    closed = free_port()
    for transport in (["--url", f"http://127.0.0.1:{closed}"],
                      ["--grpc", f"127.0.0.1:{closed}"]):
      down = subprocess.run([script("related"), trigger, *transport],
                            cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
      assert down.returncode == 1 and down.stdout == ""
      assert down.stderr.startswith("error: cannot reach ")
      assert len(down.stderr.strip().splitlines()) == 1, down.stderr
  finally:
    server.terminate()
    server.wait(timeout=30)


def documentation():
  """{path relative to the project: text} of the README and docs/*.md."""
  pages = ["README.md"] + sorted(
      os.path.join("docs", n) for n in os.listdir(os.path.join(PROJECT,
                                                               "docs"))
      if n.endswith(".md"))
  texts = {}
  for page in pages:
    with open(os.path.join(PROJECT, page)) as f:
      texts[page] = f.read()
  return texts


def test_documented_commands_name_real_options(tmp_path):
  """Every command answers --help, and every `relvid ...` line of the
  README and the docs pages uses a command and options that exist (its
  --help is the authority), and `--set` names real config fields."""
  commands = [(page, line.split("#")[0].strip())
              for page, text in documentation().items()
              for block in re.findall(r"```sh\n(.*?)```", text, re.S)
              for line in block.splitlines()
              if line.strip().startswith(("relvid ", ".venv/bin/relvid "))]
  assert len(commands) >= 20
  helps = {}
  for page, command in commands:
    words = command.replace(".venv/bin/", "").split()
    name = words[1]
    if name not in helps:
      helps[name] = relvid(name, "--help", cwd=tmp_path, timeout=300).stdout
      assert helps[name].startswith(f"usage: relvid {name}")
    options = [w.strip("[]").split("=")[0] for w in words[2:]]
    for option in (o for o in options if o.startswith("--")):
      assert option in helps[name], f"{page}: {command}: {option} unknown"
    for override in (words[i + 1] for i, w in enumerate(words[:-1])
                     if w == "--set" and "=" in words[i + 1]):
      field = override.split("=")[0]
      section, _, name_ = field.rpartition(".")
      owner = (getattr(config_lib.PipelineConfig(), section) if section
               else config_lib.PipelineConfig())
      assert hasattr(owner, name_), f"{page}: {command}: no field {field}"


def test_documented_yaml_examples_are_valid_configs(tmp_path):
  blocks = [(page, block) for page, text in documentation().items()
            for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]
  assert len(blocks) >= 5
  for number, (page, block) in enumerate(blocks):
    path = tmp_path / f"example{number}.yaml"
    path.write_text(block)
    try:
      config_lib.load_config(str(path))
    except ValueError as e:
      raise AssertionError(f"{page}: {e}\n{block}") from None


def test_documentation_links_resolve():
  """Relative links and images of the README and docs pages name files
  that exist (pages moved between them must not leave dead links)."""
  dead = []
  for page, text in documentation().items():
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
      if re.match(r"[a-z]+://|#|mailto:", target):
        continue
      path = os.path.normpath(os.path.join(
          PROJECT, os.path.dirname(page), target.split("#")[0]))
      if not os.path.exists(path):
        dead.append(f"{page}: {target}")
  assert dead == []
