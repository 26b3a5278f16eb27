"""What the engine hands to the drift tests: a metric over one window of one agent, summarised.

Everything here is small: counts and sums, and for a continuous metric a histogram over fixed,
log-spaced bins. Its size depends on agents x windows x bins, never on the number of events: the
engine computes it where the events live (DuckDB or Spark) and no task's value reaches Python.

Bins (`bin_codes`, and the same expression in the engine's query): `BINS_PER_DECADE` bins per
power of ten, from 10^-6 to 10^12 in absolute value; the sign kept, zero its own bin. Codes are
ordered as the values are, so ranks and quantiles come from the bins. A bin is 2.3% wide: ties
within a bin cost a rank test no meaningful power (checked by simulation in the test suite).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BINS_PER_DECADE = 100
SMALLEST_DECADE = -6  # |x| below 10^-6 shares the first bin of its sign


def bin_codes(values: np.ndarray) -> np.ndarray:
    """The bin code of each value: sign(x) * (1 + max(0, floor(K * (log10|x| + 6)))), 0 for 0."""
    values = np.asarray(values, dtype=float)
    magnitude = np.abs(values)
    with np.errstate(divide="ignore"):
        scaled = np.floor(BINS_PER_DECADE * (np.log10(magnitude) - SMALLEST_DECADE))
    codes = 1 + np.maximum(0, np.nan_to_num(scaled, neginf=0.0))
    return (np.sign(values) * codes).astype(np.int64)


def bin_floor(code: int) -> float:
    """The smallest value of a bin (its lower edge for positive codes)."""
    if code == 0:
        return 0.0
    size = 10.0 ** ((abs(code) - 1) / BINS_PER_DECADE + SMALLEST_DECADE)
    return size if code > 0 else -size


@dataclass(frozen=True)
class Histogram:
    """Counts of a window's values per bin, bins ascending (codes from `bin_codes`)."""

    codes: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Histogram:
        """The histogram of raw values (tests and simulations; the engine bins in SQL)."""
        codes, counts = np.unique(bin_codes(values), return_counts=True)
        return cls(codes, counts.astype(np.int64))

    @classmethod
    def from_pairs(cls, pairs: dict[int, int]) -> Histogram:
        codes = np.array(sorted(pairs), dtype=np.int64)
        return cls(codes, np.array([pairs[c] for c in codes], dtype=np.int64))

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def quantile_code(self, share: float) -> int:
        """The code of the bin holding the `share` quantile (0 < share < 1)."""
        cumulative = np.cumsum(self.counts)
        index = int(np.searchsorted(cumulative, share * cumulative[-1], side="left"))
        return int(self.codes[min(index, len(self.codes) - 1)])


@dataclass
class WindowSummary:
    """A metric over one window of one agent: its value and what its tests need.

    `n`: the tasks the metric is defined on (a proportion's known flags, a continuous metric's
    known values, a ratio's tasks with a value, a count's tasks); `matches`: the tasks matching
    the metric's `where` (proportion, count); `days`: the window's length (count); `sums`: for a
    ratio `sx sy sxx syy sxy`, for a continuous metric `s ss`; `histogram`: a continuous
    metric's values in the drift windows; `daily`: a count metric's matches per day of the
    window (to see day-to-day swings larger than Poisson).
    """

    metric: str
    kind: str
    n: int = 0
    value: float | None = None
    matches: int = 0
    days: float = 0.0
    sums: dict[str, float] = field(default_factory=dict)
    histogram: Histogram | None = None
    daily: np.ndarray | None = None
