"""Drift tests: recent window against baseline, chosen by the metric's kind.

- proportion: two-proportion z-test (pooled), or Fisher's exact test when an expected cell count
  is below 5, where the normal approximation is poor;
- continuous: Mann-Whitney U, a rank test: no normality assumption, robust to the heavy tails of
  latency and cost;
- ratio (e.g. cost per successful task): a z-test on the difference of the logs of two ratios
  of means, with delta-method variances (numerator and denominator come from the same tasks, so
  their covariance matters); deterministic, no resampling;
- count: the exact conditional test of two Poisson rates (the recent count given the total is
  binomial with p = recent days / all days).

Every test is two-sided. Benjamini-Hochberg q-values across all tests of one run control the false
discovery rate; a shift is then acted on only when it is also at least the effect-size floor, and
only a shift in the metric's worse direction is drift (the other way is `improved`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from monitor.engine.metrics import WindowStats
from playbook.results import DRIFT, IMPROVED, OK


@dataclass(frozen=True)
class TestResult:
    test: str
    statistic: float | None
    p_value: float | None
    effect: float | None  # proportion: recent - baseline; others: recent / baseline - 1
    # False when the test's shift and the effect point different ways (a rank test can find
    # most tasks faster while a heavier tail raises the mean): no verdict is drawn then.
    consistent: bool = True


def drift_test(baseline: WindowStats, recent: WindowStats) -> TestResult:
    kind = baseline.kind
    if kind == "proportion":
        return _proportion(baseline, recent)
    if kind == "continuous":
        return _continuous(baseline, recent)
    if kind == "ratio":
        return _ratio(baseline, recent)
    return _count(baseline, recent)


def _relative(recent: float, baseline: float) -> float:
    if baseline == 0:
        return 0.0 if recent == 0 else math.copysign(math.inf, recent)
    return recent / baseline - 1.0


def _proportion(baseline: WindowStats, recent: WindowStats) -> TestResult:
    n0, k0, n1, k1 = baseline.n, baseline.matches, recent.n, recent.matches
    effect = k1 / n1 - k0 / n0
    pooled = (k0 + k1) / (n0 + n1)
    expected = min(pooled * n0, (1 - pooled) * n0, pooled * n1, (1 - pooled) * n1)
    if expected < 5:
        odds, p = scipy_stats.fisher_exact([[k1, n1 - k1], [k0, n0 - k0]])
        return TestResult("fisher_exact", _finite(odds), float(p), effect)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    z = effect / se if se else 0.0
    return TestResult("two_proportion_z", z, float(2 * scipy_stats.norm.sf(abs(z))), effect)


def _continuous(baseline: WindowStats, recent: WindowStats) -> TestResult:
    assert baseline.values is not None and recent.values is not None
    effect = _relative(float(np.mean(recent.values)), float(np.mean(baseline.values)))
    if np.ptp(np.concatenate((baseline.values, recent.values))) == 0:
        return TestResult("mann_whitney_u", None, 1.0, effect)  # all values equal: no shift
    result = scipy_stats.mannwhitneyu(recent.values, baseline.values, alternative="two-sided")
    centre = len(recent.values) * len(baseline.values) / 2
    rank_shift = float(result.statistic) - centre  # > 0: recent values tend to be larger
    consistent = rank_shift == 0 or effect == 0 or (rank_shift > 0) == (effect > 0)
    return TestResult(
        "mann_whitney_u", float(result.statistic), float(result.pvalue), effect, consistent
    )


def _ratio_and_variance(stats: WindowStats) -> tuple[float, float]:
    n = stats.n
    s = stats.sums
    mx, my = s["sx"] / n, s["sy"] / n
    var_x = max(s["sxx"] / n - mx * mx, 0.0)
    var_y = max(s["syy"] / n - my * my, 0.0)
    cov = s["sxy"] / n - mx * my
    ratio = mx / my
    variance = (var_x / my**2 - 2 * mx * cov / my**3 + mx**2 * var_y / my**4) / n
    return ratio, max(variance, 0.0)


def _ratio(baseline: WindowStats, recent: WindowStats) -> TestResult:
    r0, v0 = _ratio_and_variance(baseline)
    r1, v1 = _ratio_and_variance(recent)
    effect = _relative(r1, r0)
    if r0 > 0 and r1 > 0:
        # On the log scale the sampling distribution of a ratio of skewed costs is far more
        # symmetric, so rises and falls are detected alike: Var(log R) ~ Var(R) / R^2.
        se = math.sqrt(v0 / r0**2 + v1 / r1**2)
        z = (math.log(r1) - math.log(r0)) / se if se else 0.0
    else:
        se = math.sqrt(v0 + v1)
        z = (r1 - r0) / se if se else 0.0
    return TestResult("delta_method_z", z, float(2 * scipy_stats.norm.sf(abs(z))), effect)


def _count(baseline: WindowStats, recent: WindowStats) -> TestResult:
    c0, t0, c1, t1 = baseline.matches, baseline.days, recent.matches, recent.days
    effect = _relative(c1 / t1, c0 / t0)
    if c0 + c1 == 0:
        return TestResult("poisson_rate_exact", None, 1.0, effect)
    result = scipy_stats.binomtest(c1, c0 + c1, t1 / (t0 + t1))
    return TestResult("poisson_rate_exact", float(c1), float(result.pvalue), effect)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """q-values (BH adjusted p-values), in the order given."""
    if not p_values:
        return []
    return [float(q) for q in scipy_stats.false_discovery_control(p_values, method="bh")]


def has_enough(baseline: WindowStats, recent: WindowStats, min_samples: int) -> bool:
    if baseline.n < min_samples or recent.n < min_samples:
        return False
    if baseline.value is None or recent.value is None:
        return False
    if baseline.kind == "continuous":
        return baseline.values is not None and recent.values is not None
    return True


def verdict(
    effect: float, q_value: float, *, fdr: float, floor: float, worse: str, consistent: bool = True
) -> str:
    """drift / improved / ok for a tested shift (sufficient data already established)."""
    if not consistent or q_value > fdr or abs(effect) < floor or effect == 0:
        return OK
    worse_way = effect > 0 if worse == "higher" else effect < 0
    return DRIFT if worse_way else IMPROVED
