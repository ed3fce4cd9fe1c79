"""The noise floor's percentile (detect/cells.py) is numpy's to the last bit, only cheaper:
a faster percentile must not move a single decision of the detector."""

from __future__ import annotations

import numpy as np
import pytest

from slidecast.detect.cells import percentile


@pytest.mark.parametrize("q", [0, 5, 20, 50, 95, 99.5, 100])
def test_percentile_equals_numpys_bit_for_bit(q):
    rng = np.random.default_rng(int(q * 10))
    for _ in range(2000):
        values = (rng.random(int(rng.integers(1, 600))) * rng.choice([1e-3, 1.0, 10.0])).astype(np.float32)
        if rng.random() < 0.3:
            values = np.round(values, 2)  # ties, as cells of a still screen have
        assert percentile(values, q) == float(np.percentile(values, q))


@pytest.mark.parametrize("q", [20, 75])
def test_percentile_equals_numpys_for_float64_arrays_of_a_whole_picture(q):
    # builds.aligned takes the 75th percentile of a picture's float64 residuals, and the
    # build test the 20th of a cell grid's details: the same value as numpy's, or a build
    # decision could move.
    rng = np.random.default_rng(q)
    for _ in range(200):
        values = rng.random(int(rng.integers(2, 60000))) * rng.choice([1e-3, 1.0, 10.0])
        if rng.random() < 0.3:
            values = np.round(values, 3)
        assert percentile(values, q) == float(np.percentile(values, q))
