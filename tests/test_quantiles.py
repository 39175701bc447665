# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""components.quantiles: exact quantiles of interaction times, in any
order."""
import fractions
import math
import random

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.stats import ApproximateQuantiles
import numpy as np
import pytest

from components import quantiles


def test_wanted_ranks_are_the_inverted_cdf_of_an_even_grid():
  # 11 values, shares 0, 1/4, 1/2, 3/4, 1: ceil(share * 11) - 1 = 0 (not
  # -1), 2 (2.75 up), 5 (5.5 up), 8 (8.25 up), 10.
  assert quantiles.wanted_ranks(11, 5) == [0, 2, 5, 8, 10]
  # More quantiles than values: ranks repeat (0.75, 1.5, 2.25 up).
  assert quantiles.wanted_ranks(3, 5) == [0, 0, 1, 2, 2]
  assert quantiles.wanted_ranks(0, 5) == []


def test_locate_and_resolve_by_hand():
  # Values 3, 5, 5, 12, 14, 27 in buckets of 10: bucket 0 holds 3 of them,
  # bucket 1 two, bucket 2 one. 3 quantiles: ranks 0, 2, 5.
  buckets = {0: 3, 1: 2, 2: 1}
  located = quantiles.locate(buckets, 3)
  assert located == [(0, 0), (0, 2), (2, 0)]
  counts = {3: 1, 5: 2, 27: 1}  # the values of the wanted buckets 0 and 2
  assert quantiles.resolve(located, counts, 10) == [3, 5, 27]
  # 6 quantiles: ranks 0, 1, 2, 3, 4, 5.
  located = quantiles.locate(buckets, 6)
  assert located == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0)]
  counts = {3: 1, 5: 2, 12: 1, 14: 1, 27: 1}
  assert quantiles.resolve(located, counts, 10) == [3, 5, 5, 12, 14, 27]


@pytest.mark.parametrize("order_seed,batches", [(0, 1), (1, 3), (2, 7)])
def test_exact_quantiles_are_numpy_inverted_cdf_in_any_order(
    order_seed, batches):
  rng = np.random.default_rng(5)
  # Ties, gaps and buckets of very different sizes.
  values = [int(v) for v in np.concatenate([
      rng.integers(0, 50, 300), rng.integers(1000, 1010, 200),
      rng.integers(5000, 90000, 500)])]
  # The smallest value with a share i/100 of the values at or below it
  # (numpy's inverted_cdf, with exact shares: np.linspace(0, 1, 101)[57]
  # * 1000 is 570.0000000000001).
  ordered = sorted(values)
  expected = [ordered[max(0, math.ceil(fractions.Fraction(i, 100)
                                       * len(values)) - 1)]
              for i in range(101)]
  assert expected[50] == int(np.quantile(values, 0.5, method="inverted_cdf"))
  random.Random(order_seed).shuffle(values)
  chunks = [values[i::batches] for i in range(batches)]
  with TestPipeline() as p:
    parts = [p | f"Create{i}" >> beam.Create(chunk)
             for i, chunk in enumerate(chunks)]
    merged = parts[0] if batches == 1 else tuple(parts) | beam.Flatten()
    got = merged | quantiles.ExactQuantiles(101, bucket_width=100)
    assert_that(got, equal_to([expected]))


def test_small_input_matches_beams_approximate_quantiles():
  """On inputs small enough for ApproximateQuantiles to be exact, the two
  give the same list (the replacement keeps the pipeline's splits)."""
  values = [0, 10, 20, 30, 40, 50, 60, 70, 80, 1000]
  with TestPipeline() as p:
    created = p | beam.Create(values)
    exact = created | "Exact" >> quantiles.ExactQuantiles(1001)
    approximate = created | "Approx" >> ApproximateQuantiles.Globally(1001)
    both = ((exact | "KeyExact" >> beam.Map(lambda q: (0, ("e", q))),
             approximate | "KeyApprox" >> beam.Map(lambda q: (0, ("a", q))))
            | beam.Flatten() | beam.GroupByKey()
            | beam.Map(lambda kv: dict(kv[1])))
    assert_that(both | beam.Map(lambda d: d["e"] == d["a"]),
                equal_to([True]))


def test_no_values_give_an_empty_list():
  with TestPipeline() as p:
    got = (p | beam.Create([0]) | beam.Filter(lambda v: v > 0)
           | quantiles.ExactQuantiles(11))
    assert_that(got, equal_to([[]]))


def test_fewer_than_two_quantiles_is_an_error():
  with pytest.raises(ValueError, match="num_quantiles"):
    quantiles.ExactQuantiles(1)
