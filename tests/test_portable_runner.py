# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Beam's portable path, the one Flink and Spark use: the Beam components
run through PortableRunner against Beam's local job service, their DoFns in
separate SDK worker processes of an EXTERNAL worker pool, and must write
exactly what the DirectRunner wrote (tests/conftest.py's small run).

Flink and Spark themselves cannot start here (their job servers are jars
from the Maven repository); what they add on top of this path is the
cluster, not a different way of running Python DoFns."""
import json
import os

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
import numpy as np
import pytest
from tfx import v1 as tfx

from components import assets
from components import example_io
from components import visual_embedding
from pipeline import pipeline as pipeline_lib
from pipeline import results
from relvid import config as config_lib
from tests.beam_services import PortableServices
from tests.test_pair_generation import read_examples
from tests.test_pair_generation import write_examples

BEAM_COMPONENTS = ("interactions_ExampleGen", "items_ExampleGen",
                   "TextEmbedder", "CoEngagementPairs")
# Counters that depend on how Beam groups elements into bundles.
BUNDLE_DEPENDENT = {"index_builds"}


@pytest.fixture(scope="module")
def services(tmp_path_factory):
  running = PortableServices(str(tmp_path_factory.mktemp("beam_services")))
  yield running
  running.stop()


@pytest.fixture(scope="module")
def portable_run(small_pipeline_run, services, tmp_path_factory):
  """The small run's Beam components again, on the portable runner."""
  folder = tmp_path_factory.mktemp("portable")
  job, pool = services.job_port, services.pool_port
  config = config_lib.load_config(None, small_pipeline_run.overrides + [
      f"output_dir={folder}", "beam.runner=PortableRunner",
      f"beam.job_endpoint=localhost:{job}",
      "beam.environment_type=EXTERNAL",
      f"beam.environment_config=localhost:{pool}"])
  components = pipeline_lib.create_components(config)
  upstream = components[:[c.id for c in components].index(
      "CoEngagementPairs") + 1]
  os.makedirs(os.path.dirname(config_lib.metadata_path(config)))
  tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config_lib.pipeline_root(config),
      components=upstream,
      metadata_connection_config=pipeline_lib.sqlite_metadata(config),
      beam_pipeline_args=pipeline_lib.beam_pipeline_args(config)))
  return config


def rows(config, component, output, split):
  uri = results.latest_output_uri(config, component, output)
  found = read_examples(os.path.join(uri, f"Split-{split}"))
  return sorted(found, key=lambda r: json.dumps(
      {k: v for k, v in r.items() if isinstance(v, (str, int))},
      sort_keys=True))


def assert_same_rows(direct, portable):
  assert len(direct) == len(portable) > 0
  for a, b in zip(direct, portable):
    assert sorted(a) == sorted(b)
    for key, value in a.items():
      if isinstance(value, float) or (
          isinstance(value, list) and value and isinstance(value[0], float)):
        # Text vectors from differently composed batches: float rounding.
        np.testing.assert_allclose(value, b[key], atol=1e-5)
      else:
        assert value == b[key], key


def test_beam_components_write_what_the_direct_runner_wrote(
    small_pipeline_run, portable_run):
  direct = small_pipeline_run.config
  for component, output, split in (
      ("interactions_ExampleGen", "examples", "all"),
      ("items_ExampleGen", "examples", "all"),
      ("TextEmbedder", "item_embeddings", "all"),
      ("CoEngagementPairs", "pairs", "train"),
      ("CoEngagementPairs", "pairs", "eval"),
      ("CoEngagementPairs", "pairs", "catalog"),
      ("CoEngagementPairs", "pairs", "semantic")):
    assert_same_rows(rows(direct, component, output, split),
                     rows(portable_run, component, output, split))
  direct_reports = small_pipeline_run.reports
  portable_reports = results.latest_reports(portable_run)
  for component in BEAM_COMPONENTS:
    expected = {k: v for k, v in direct_reports[component]["counts"].items()
                if k not in BUNDLE_DEPENDENT}
    got = {k: v for k, v in portable_reports[component]["counts"].items()
           if k not in BUNDLE_DEPENDENT}
    assert got == expected, component  # metrics came back from the workers
  assert (portable_reports["CoEngagementPairs"]["eval_cutoff_timestamp"]
          == direct_reports["CoEngagementPairs"]["eval_cutoff_timestamp"])
  # TFX's own Beam components ran there too.
  for table in pipeline_lib.TABLES:
    assert results.latest_output_uri(portable_run, f"{table}_StatisticsGen",
                                     "statistics")


def test_visual_embedder_dofn_on_portable_workers(services, tmp_path,
                                                  visual_encoder_dir):
  corrupt = tmp_path / "corrupt.mp4"
  corrupt.write_bytes(b"not a video" * 20)
  items_glob = write_examples(str(tmp_path / "items"), [
      {"item_id": "coffee", "media_path": assets.sample_image("coffee.png")},
      {"item_id": "bikes", "media_path": assets.sample_video("bikes.mp4")},
      {"item_id": "broken", "media_path": str(corrupt)},
      {"item_id": "text-only", "media_path": ""}])
  outputs = {}
  for runner, args in (("direct", []), ("portable", services.pipeline_args())):
    p = beam.Pipeline(options=PipelineOptions(args))
    visual_embedding.build_visual_embedding(
        p, items_glob, visual_encoder_dir, str(tmp_path / runner / "out"),
        str(tmp_path / runner / "errors"), frame_count=2, method="uniform")
    counts = example_io.run_and_count(p, visual_embedding.NAMESPACE)
    vectors = {r["item_id"]: r["visual_embedding"]
               for r in read_examples(str(tmp_path / runner / "out"))}
    outputs[runner] = (counts, vectors)
  (direct_counts, direct), (portable_counts, portable) = (
      outputs["direct"], outputs["portable"])
  assert portable_counts == direct_counts == {
      "frames_embedded": 3, "items_embedded": 2, "items_without_media": 1,
      "media_unreadable": 1}
  assert sorted(portable) == sorted(direct) == ["bikes", "coffee"]
  for item in direct:
    np.testing.assert_allclose(portable[item], direct[item], atol=1e-5)
