"""A continuous metric's three drift tests, from the two windows' histograms and sums.

- centre: the Mann-Whitney U test. Its statistic is linear in the ranks, so binned values give it
  exactly: every value of a bin shares the bin's midrank, and the permutation mean and
  tie-corrected variance follow from the bin counts (normal approximation with continuity
  correction, as `scipy.stats.mannwhitneyu` asymptotically). Effect: the relative change of the
  mean, from the exact sums. `consistent`: the rank shift and the change of the mean agree.
- tail: the share of recent values beyond the baseline's 95th percentile in the worse direction
  (above p95 when higher is worse, below p5 when lower is), against the baseline's own share
  beyond that bin edge: a two-proportion test. Effect: the share difference.
- spread: the share outside the baseline's central 80% (below p10 or above p90), against the
  baseline's. Effect: the share difference; widening is worse for every metric. A shift of the
  whole distribution also moves mass out of the band on one side while the other side empties:
  the result is `consistent` only when neither side moved against the total by more than its
  standard error, so a pure shift is left to the centre's test rather than called a widening.

An edge is a bin edge: of the two around the quantile's bin, the one whose baseline share beyond
it is nearer the target (in ratio), so coarse values (whole seconds, 1-5 scores) still get a
region that holds values; when neither is within a factor 2 of the target (a score of 5 given by
40%, minutes that are 0 for 60% of tasks) that region is not tested: the tail's test is left
out, and so is the spread's unless both of its sides have a region. The edge is chosen from the
baseline alone, so the baseline's share beyond it is that of an order statistic, with the
variance of a binomial share, as the two-proportion test assumes (checked by simulation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.engine.exact_tests import CENTER, SPREAD, TAIL, TestResult, normal_p, proportion_test
from monitor.engine.summary import Histogram, WindowSummary

TAIL_SHARE = 0.05  # beyond p95 (or below p5)
SPREAD_SHARE = 0.10  # below p10 and above p90


@dataclass(frozen=True)
class Pooled:
    """Both windows' counts over the union of their bins, ascending."""

    baseline: np.ndarray
    recent: np.ndarray

    @classmethod
    def of(cls, baseline: Histogram, recent: Histogram) -> Pooled:
        codes = np.concatenate((baseline.codes, recent.codes))
        union, inverse = np.unique(codes, return_inverse=True)
        split = len(baseline.codes)
        size = len(union)
        b = np.bincount(inverse[:split], weights=baseline.counts, minlength=size)
        r = np.bincount(inverse[split:], weights=recent.counts, minlength=size)
        return cls(b, r)

    @property
    def n0(self) -> float:
        return float(self.baseline.sum())

    @property
    def n1(self) -> float:
        return float(self.recent.sum())

    def quantile_index(self, share: float) -> int:
        """The index of the bin holding the baseline's `share` quantile."""
        cumulative = np.cumsum(self.baseline)
        return int(np.searchsorted(cumulative, share * cumulative[-1], side="left"))

    def region(self, share: float, upper: bool) -> np.ndarray | None:
        """Bins beyond the baseline's quantile (above the (1 - share) one when `upper`, below the
        `share` one otherwise), with or without the quantile's bin, whichever region's baseline
        share is nearer `share`; None when neither is within a factor 2 of it (coarse values)."""
        index = self.quantile_index(1 - share if upper else share)
        positions = np.arange(len(self.baseline))
        beyond = positions > index if upper else positions < index
        with_bin = beyond | (positions == index)
        shares = self._share(beyond), self._share(with_bin)
        chosen = beyond if _nearer(shares[0], shares[1], share) else with_bin
        if not share / 2 <= self._share(chosen) <= 2 * share:
            return None
        return chosen

    def _share(self, mask: np.ndarray) -> float:
        return float(self.baseline[mask].sum()) / self.n0

    def counts(self, mask: np.ndarray) -> tuple[int, int]:
        """(baseline, recent) values in the region."""
        return int(self.baseline[mask].sum()), int(self.recent[mask].sum())


def _nearer(first: float, second: float, target: float) -> bool:
    """Whether `first` is at least as near `target` as `second`, in ratio (0 is never near)."""
    if first <= 0:
        return False
    return abs(math.log(first / target)) <= abs(math.log(second / target))


def continuous_tests(
    baseline: WindowSummary, recent: WindowSummary, worse: str
) -> list[TestResult]:
    """The centre's test, then the tail's and the spread's where the baseline's bins allow them."""
    assert baseline.histogram is not None and recent.histogram is not None
    pooled = Pooled.of(baseline.histogram, recent.histogram)
    found = [center_test(pooled, baseline, recent), tail_test(pooled, worse), spread_test(pooled)]
    return [result for result in found if result is not None]


def _mean(summary: WindowSummary) -> float:
    return summary.sums.get("s", 0.0) / summary.n if summary.n else 0.0


def relative_change(recent: float, baseline: float) -> float:
    """recent / baseline - 1 for a positive baseline; the change over |baseline| in general."""
    if baseline == 0:
        return 0.0 if recent == 0 else math.copysign(math.inf, recent)
    return (recent - baseline) / abs(baseline)


def mann_whitney(pooled: Pooled) -> tuple[float, float]:
    """(U of the recent window minus its null mean, two-sided p) from binned values."""
    b, r = pooled.baseline, pooled.recent
    n0, n1 = pooled.n0, pooled.n1
    ties = b + r
    total = n0 + n1
    midranks = np.cumsum(ties) - ties + (ties + 1) / 2
    shift = float((r * midranks).sum()) - n1 * (n1 + 1) / 2 - n0 * n1 / 2
    tie_term = float((ties**3 - ties).sum()) / (total * (total - 1))
    variance = n0 * n1 / 12 * (total + 1 - tie_term)
    if variance <= 1e-9 * n0 * n1 * (total + 1):
        return shift, 1.0  # every value in one bin: no shift to see
    z = max(abs(shift) - 0.5, 0.0) / math.sqrt(variance)  # continuity correction
    return shift, normal_p(z)


def center_test(pooled: Pooled, baseline: WindowSummary, recent: WindowSummary) -> TestResult:
    effect = relative_change(_mean(recent), _mean(baseline))
    shift, p_value = mann_whitney(pooled)
    consistent = shift == 0 or effect == 0 or (shift > 0) == (effect > 0)
    statistic = shift + pooled.n0 * pooled.n1 / 2  # the recent window's U
    return TestResult("mann_whitney_u", statistic, p_value, effect, consistent, CENTER)


def tail_test(pooled: Pooled, worse: str) -> TestResult | None:
    """Recent share beyond the baseline's p95 (p5 when lower is worse) against the baseline's."""
    region = pooled.region(TAIL_SHARE, upper=worse == "higher")
    if region is None:
        return None
    k0, k1 = pooled.counts(region)
    return proportion_test(k0, int(pooled.n0), k1, int(pooled.n1), aspect=TAIL)


def spread_test(pooled: Pooled) -> TestResult | None:
    """Recent share outside the baseline's central 80% against the baseline's; no test when the
    bins cannot give both sides (one side alone cannot tell a widening from a shift: that is the
    tail's and the centre's to report)."""
    sides = [pooled.region(SPREAD_SHARE, upper=False), pooled.region(SPREAD_SHARE, upper=True)]
    if any(side is None for side in sides):
        return None
    n0, n1 = int(pooled.n0), int(pooled.n1)
    k0, k1 = pooled.counts(np.logical_or.reduce(sides))
    result = proportion_test(k0, n0, k1, n1, aspect=SPREAD)
    total = result.effect or 0.0
    consistent = total == 0 or not any(_against(pooled, side, total) for side in sides)
    return TestResult(result.test, result.statistic, result.p_value, total, consistent, SPREAD)


def _against(pooled: Pooled, side: np.ndarray, total: float) -> bool:
    """Whether one side of the band moved against the total by more than its standard error."""
    k0, k1 = pooled.counts(side)
    n0, n1 = pooled.n0, pooled.n1
    move = k1 / n1 - k0 / n0
    share = (k0 + k1) / (n0 + n1)
    se = math.sqrt(share * (1 - share) * (1 / n0 + 1 / n1))
    return math.copysign(1.0, total) * move < -se
