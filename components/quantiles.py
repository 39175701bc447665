# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""Exact quantiles of interaction times, whatever the input's order (Beam).

The time split (the eval cutoff, the validation window's start, a span's
start) is a quantile of the interaction times. Beam's ApproximateQuantiles
answers within a rank error that depends on how the input is ordered and
bundled, so the same interactions read through two ingestion paths, or by
two runners, were split at different times (docs/model-quality.md has the
MovieLens-1M case). `ExactQuantiles` is its drop-in
replacement with a definite answer, the quantile that Beam's own gives
where it is exact (small inputs): value i of `num_quantiles` is the
smallest value with at least a share p = i / (num_quantiles - 1) of the n
values at or below it, the element of rank max(0, ceil(p * n) - 1) of the
sorted values (numpy's "inverted_cdf" quantile).

Two passes, each a global histogram, so memory does not grow with n: the
values' counts per `bucket_width` bucket, then the exact values' counts
inside the buckets that hold a wanted rank (at most `num_quantiles` of
them).
"""
import bisect
import collections
import itertools
from typing import Any, Dict, Iterable, List, Tuple

import apache_beam as beam

# Timestamps are seconds: an hour per first-pass bucket keeps both
# histograms small (8,760 buckets a year, at most 3,600 values a bucket).
BUCKET_SECONDS = 3600


class _Histogram(beam.CombineFn):
  """Counts of key(value), as a dict."""

  def __init__(self, bucket_width: int = 0):
    self._width = bucket_width

  def create_accumulator(self) -> collections.Counter:
    return collections.Counter()

  def add_input(self, counts: collections.Counter,
                value: Any) -> collections.Counter:
    counts[value // self._width if self._width else value] += 1
    return counts

  def merge_accumulators(self, accumulators: Iterable[collections.Counter]
                         ) -> collections.Counter:
    merged = collections.Counter()
    for counts in accumulators:
      merged.update(counts)
    return merged

  def extract_output(self, counts: collections.Counter) -> Dict[Any, int]:
    return dict(counts)


def wanted_ranks(n: int, num_quantiles: int) -> List[int]:
  """The 0-based ranks of the quantiles among n sorted values (integer
  arithmetic: ceil(i * n / (num_quantiles - 1)) - 1)."""
  if n == 0:
    return []
  return [max(0, -(-i * n // (num_quantiles - 1)) - 1)
          for i in range(num_quantiles)]


def locate(bucket_counts: Dict[int, int], num_quantiles: int
           ) -> List[Tuple[int, int]]:
  """(bucket, rank within the bucket) of each wanted rank, in order."""
  ranks = wanted_ranks(sum(bucket_counts.values()), num_quantiles)
  located, below, position = [], 0, 0
  buckets = sorted(bucket_counts)
  for rank in ranks:
    while rank >= below + bucket_counts[buckets[position]]:
      below += bucket_counts[buckets[position]]
      position += 1
    located.append((buckets[position], rank - below))
  return located


def resolve(located: List[Tuple[int, int]], value_counts: Dict[Any, int],
            bucket_width: int) -> List[Any]:
  """The value at each located (bucket, rank within it), given the exact
  counts of the values in those buckets."""
  by_bucket: Dict[int, List[Any]] = collections.defaultdict(list)
  for value in sorted(value_counts):
    by_bucket[value // bucket_width].append(value)
  # Sorted once per bucket, not once per wanted rank: a busy hour can hold
  # hundreds of the wanted ranks.
  ends = {bucket: list(itertools.accumulate(value_counts[v] for v in values))
          for bucket, values in by_bucket.items()}
  return [by_bucket[bucket][bisect.bisect_right(ends[bucket], rank)]
          for bucket, rank in located]


class ExactQuantiles(beam.PTransform):
  """One element: the list of `num_quantiles` exact quantiles of the input
  numbers (integers), min and max included, or [] when there are none; the
  same list as ApproximateQuantiles.Globally(num_quantiles) gives on small
  inputs, on any input and in any order."""

  def __init__(self, num_quantiles: int,
               bucket_width: int = BUCKET_SECONDS):
    super().__init__()
    if num_quantiles < 2:
      raise ValueError(f"num_quantiles must be at least 2: {num_quantiles}")
    self._num = num_quantiles
    self._width = bucket_width

  def expand(self, values: beam.PCollection) -> beam.PCollection:
    width = self._width
    located = (values
               | "CountPerBucket" >> beam.CombineGlobally(_Histogram(width))
               | "Locate" >> beam.Map(locate, self._num))
    buckets = located | "WantedBuckets" >> beam.Map(
        lambda at: {bucket for bucket, _ in at})
    value_counts = (
        values
        | "InWantedBuckets" >> beam.Filter(
            lambda v, wanted: v // width in wanted,
            wanted=beam.pvalue.AsSingleton(buckets))
        | "CountPerValue" >> beam.CombineGlobally(_Histogram()))
    return located | "Resolve" >> beam.Map(
        resolve, value_counts=beam.pvalue.AsSingleton(value_counts),
        bucket_width=width)
