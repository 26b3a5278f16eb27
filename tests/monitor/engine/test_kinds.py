"""The engine bins values exactly as `bin_codes` does, so tests on histograms from SQL mean what
the simulations (which bin in numpy) showed."""

from __future__ import annotations

import ibis
import numpy as np

from monitor.engine.kinds import bin_expression
from monitor.engine.summary import BINS_PER_DECADE, Histogram, bin_codes, bin_floor


def _values() -> np.ndarray:
    rng = np.random.default_rng(12)
    edges = 10.0 ** (np.arange(-6 * BINS_PER_DECADE, 12 * BINS_PER_DECADE, 37) / BINS_PER_DECADE)
    return np.concatenate([
        rng.lognormal(1.0, 2.0, 5_000),
        -rng.lognormal(0.0, 1.0, 500),
        rng.integers(0, 6, 500).astype(float),  # 1-5 scores and zeros: whole numbers
        [0.0, -0.0, 1e-9, -1e-9, 1e-6, 1e11, 9.99e11, 1.0, 10.0, 100.0, 0.1, 0.01],
        edges, -edges,
    ])  # fmt: skip


def test_the_sql_bins_are_the_numpy_bins():
    values = _values()
    table = ibis.memtable({"value": values})
    binned = table.select(code=bin_expression(table.value)).to_pyarrow()
    assert binned.column("code").to_pylist() == bin_codes(values).tolist()


def test_bins_keep_the_order_of_values_and_a_bin_is_2_3_percent_wide():
    values = np.sort(_values())
    codes = bin_codes(values)
    assert (np.diff(codes) >= 0).all()
    assert bin_codes(np.array([0.0]))[0] == 0
    positive = [c for c in np.unique(codes) if c > 1]
    widths = [bin_floor(c + 1) / bin_floor(c) for c in positive[:50]]
    assert np.allclose(widths, 10 ** (1 / BINS_PER_DECADE))  # 1.0233: 2.3% per bin
    for value in (0.004, 1.0, 3.7, 250.0):
        assert bin_floor(int(bin_codes(np.array([value]))[0])) <= value


def test_a_histogram_counts_every_value_once():
    values = _values()
    histogram = Histogram.of(values)
    assert histogram.total == len(values)
    assert list(histogram.codes) == sorted(set(bin_codes(values).tolist()))
