# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""DriftCheck: this run's span of interactions against the previous span,
the drift gate of a per-span job.

Figures (Beam over both spans' Examples artifacts; the previous one is
found in the span registry, components/span_window.py, by
`baseline_span`: the newest earlier span that passed the gate within the
training window, so that one broken span does not also hold the normal
span after it, else the newest earlier span, so that a lasting change
holds at most a window's worth of runs):
  volume_ratio             this span's interactions / the previous span's.
  popularity_shift         max over items of |share of this span's
                           interactions - share of the previous span's|
                           (L-infinity of the item popularity).
  user_activity_divergence Jensen-Shannon divergence (base 2) of the
                           interactions-per-user distributions (log2
                           buckets).
  hour_of_day_divergence   the same of the timestamps' hours of day (UTC).
Each is checked against `relvid.config.DriftConfig`; the breaches, one line
each, go into drift.json with the figures, and RelatedVideoEvaluator holds
the model when there is any. The first span (no previous one) has nothing
to compare with and says so.
"""
import datetime
import json
import math
import os
from typing import Any, Dict, List, Optional, Tuple

import apache_beam as beam
from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import BeamComponentParameter
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter

from components import example_io
from components import ingestion
from components import span_window
from relvid import config as config_lib
from relvid import contract

DRIFT_FILE = contract.DRIFT_FILE
SIDES = ("current", "previous")
# The span registry's table of the spans that passed the gate: the next
# span is compared with the newest of them.
PASSED_TABLE = "interactions_passed_drift"


def js_divergence(a: Dict[Any, int], b: Dict[Any, int]) -> float:
  """Jensen-Shannon divergence (base 2, in [0, 1]) of two histograms."""
  total_a, total_b = sum(a.values()), sum(b.values())
  if not total_a or not total_b:
    return 0.0
  divergence = 0.0
  for key in set(a) | set(b):
    p, q = a.get(key, 0) / total_a, b.get(key, 0) / total_b
    mean = (p + q) / 2
    if p:
      divergence += 0.5 * p * math.log2(p / mean)
    if q:
      divergence += 0.5 * q * math.log2(q / mean)
  return divergence


def breaches(figures: Dict[str, float], config: config_lib.DriftConfig,
             previous_span: int) -> List[str]:
  """One line per figure outside its bound."""
  found = []
  ratio = figures["volume_ratio"]
  if not config.min_volume_ratio <= ratio <= config.max_volume_ratio:
    found.append(f"interactions volume {ratio:.2f}x span {previous_span}'s "
                 f"(bounds {config.min_volume_ratio}x..."
                 f"{config.max_volume_ratio}x)")
  for name, bound, what in (
      ("popularity_shift", config.max_popularity_shift,
       "item popularity shift (L-inf)"),
      ("user_activity_divergence", config.max_user_activity_divergence,
       "interactions-per-user divergence (JS)"),
      ("hour_of_day_divergence", config.max_hour_of_day_divergence,
       "hour-of-day divergence (JS)")):
    if figures[name] > bound:
      extra = (f", item {figures['most_shifted_item']}"
               if name == "popularity_shift" else "")
      found.append(f"{what} {figures[name]:.3f} > {bound} against span "
                   f"{previous_span}{extra}")
  return found


def _hour(row: Dict[str, Any]) -> int:
  return datetime.datetime.fromtimestamp(
      row[contract.TIMESTAMP], datetime.timezone.utc).hour


def _span_figures(rows, label: str):
  """(total, item counts, activity histogram, hour histogram) of one
  span's rows."""
  total = rows | f"{label}Total" >> beam.combiners.Count.Globally()
  items = (rows | f"{label}Items" >> beam.Map(lambda r: (r[contract.ITEM_ID],
                                                         1))
           | f"{label}ItemCounts" >> beam.CombinePerKey(sum))
  activity = (rows | f"{label}Users" >> beam.Map(lambda r: (r[contract.USER_ID],
                                                            1))
              | f"{label}UserCounts" >> beam.CombinePerKey(sum)
              | f"{label}Buckets" >> beam.Map(lambda kv: int(math.log2(kv[1])))
              | f"{label}Activity" >> beam.combiners.Count.PerElement())
  hours = (rows | f"{label}Hours" >> beam.Map(_hour)
           | f"{label}HourCounts" >> beam.combiners.Count.PerElement())
  return total, items, activity, hours


def _shift(item_and_counts, totals: Dict[str, int]) -> Tuple[float, str]:
  item, counts = item_and_counts
  shares = [sum(counts[side]) / max(totals[side], 1) for side in SIDES]
  return abs(shares[0] - shares[1]), item


def _assemble(_, current_total, previous_total, shift, current_activity,
              previous_activity, current_hours, previous_hours):
  return json.dumps({
      "current_interactions": current_total,
      "previous_interactions": previous_total,
      "volume_ratio": current_total / max(previous_total, 1),
      "popularity_shift": shift[0], "most_shifted_item": shift[1],
      "user_activity_divergence": js_divergence(dict(current_activity),
                                                dict(previous_activity)),
      "hour_of_day_divergence": js_divergence(dict(current_hours),
                                              dict(previous_hours))})


def build_drift(root: beam.Pipeline, current_glob: str, previous_glob: str,
                output_path: str) -> None:
  """Adds the drift figures of two spans' interactions to `root`; they are
  written as one JSON line to `output_path`."""
  figures = {}
  for side, glob in (("current", current_glob), ("previous", previous_glob)):
    rows = root | f"Read{side}" >> example_io.ReadExamples(glob)
    figures[side] = _span_figures(rows, side)
  totals = {side: figures[side][0] for side in SIDES}
  shift = (
      {side: figures[side][1] for side in SIDES}
      | "JoinItems" >> beam.CoGroupByKey()
      | "Shift" >> beam.Map(
          _shift, totals=beam.pvalue.AsDict(
              tuple(totals[side] | f"{side}Keyed" >> beam.Map(
                  lambda n, s=side: (s, n)) for side in SIDES)
              | "Totals" >> beam.Flatten()))
      | "MaxShift" >> beam.CombineGlobally(
          lambda shifts: max(shifts, default=(0.0, ""))))
  single = beam.pvalue.AsSingleton
  _ = (root
       | "One" >> beam.Create([None])
       | "Assemble" >> beam.Map(
           _assemble, single(totals["current"]), single(totals["previous"]),
           single(shift), beam.pvalue.AsList(figures["current"][2]),
           beam.pvalue.AsList(figures["previous"][2]),
           beam.pvalue.AsList(figures["current"][3]),
           beam.pvalue.AsList(figures["previous"][3]))
       | "Write" >> beam.io.WriteToText(output_path, shard_name_template=""))


def baseline_span(registry_dir: str, span: int, window_days: int
                  ) -> Optional[Tuple[int, str]]:
  """(span, Examples URI) that `span` is compared with: the newest earlier
  span that passed the gate if it lies within the `window_days` spans
  ending at `span`, else the newest earlier span ingested; None when no
  earlier span was ingested."""
  passed = span_window.previous_span(registry_dir, PASSED_TABLE, span)
  if passed is not None and passed[0] > span - max(window_days, 1):
    return passed
  return span_window.previous_span(registry_dir, ingestion.INTERACTIONS,
                                   span)


@tfx.dsl.components.component(use_beam=True)
def DriftCheck(  # pylint: disable=invalid-name
    interactions: InputArtifact[tfx.types.standard_artifacts.Examples],
    drift: OutputArtifact[example_io.RunReport],
    span_registry_dir: Parameter[str],
    drift_config: Parameter[str] = "{}",
    window_days: Parameter[int] = 1,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None):
  """Compares this run's span of interactions with the previous span
  ingested (`drift_config`: DriftConfig as JSON) and writes drift.json
  (figures, bounds, breaches) into `drift`."""
  config = config_lib.from_dict(config_lib.DriftConfig,
                                json.loads(drift_config))
  span = int(interactions.span)
  previous = baseline_span(span_registry_dir, span, window_days)
  outcome: Dict[str, Any] = {"span": span,
                             "bounds": config_lib.to_dict(config)}
  if previous is None:
    outcome.update(previous_span=None, breaches=[],
                   note="no earlier span ingested: nothing to compare with")
  else:
    path = os.path.join(drift.uri, "figures.json")
    build_drift(beam_pipeline,
                example_io.split_glob(interactions, ingestion.SPLIT),
                example_io.uri_split_glob(previous[1], ingestion.SPLIT), path)
    beam_pipeline.run().wait_until_finish()
    figures = example_io.read_json(path)
    found = breaches(figures, config, previous[0]) if config.enabled else []
    outcome.update(previous_span=previous[0], previous_uri=previous[1],
                   figures=figures, breaches=found)
  if not outcome["breaches"]:
    span_window.record_span(span_registry_dir, PASSED_TABLE,
                            interactions.uri, span)
  example_io.write_json(os.path.join(drift.uri, DRIFT_FILE), outcome)
  example_io.write_report(drift.uri, dict(
      {k: v for k, v in outcome.get("figures", {}).items()
       if isinstance(v, (int, float))}, breaches=len(outcome["breaches"])),
                          "DriftCheck")
