"""Drift tests: recent window against baseline, chosen by the metric's kind, from the engine's
summaries (`monitor.engine.summary.WindowSummary`), never from per-task arrays.

- proportion: two-proportion z-test (pooled), or Fisher's exact test when an expected cell count
  is below 5, where the normal approximation is poor. Effect: recent share - baseline share.
- ratio (e.g. cost per successful task): a z-test on the difference of the logs of two ratios of
  means, with delta-method variances from the sums (numerator and denominator come from the same
  tasks, so their covariance matters); deterministic, no resampling. Effect: relative change.
- count: the conditional test of two Poisson rates (the recent count given the total is binomial
  with p = recent days / all days). Day-to-day swings larger than Poisson would make it raise
  false alarms, so the dispersion is estimated from the windows' daily counts (Pearson chi-square
  of each window's days about its own mean, pooled, over its degrees of freedom; at least 1) and
  the test runs on the counts divided by it (quasi-Poisson): the exact test when the dispersion is
  1 or no window has a daily series. `daily` holds one count per whole day, days without a match
  included (partial or missing days would read as swings). Effect: relative change of the rate.
- continuous: three aspects, each its own result (`monitor.engine.rank_tests`): `center`, the
  Mann-Whitney U test from the binned values, effect the relative change of the mean; `tail`, the
  share beyond the baseline's p95 in the worse direction, effect the share difference; `spread`,
  the share outside the baseline's central 80%, effect the share difference (tail and spread
  where the baseline's bins allow a region near its target share: not on a 1-5 score's top).

Every test is two-sided. Benjamini-Hochberg q-values across all tests of one run control the false
discovery rate; a shift is acted on only when it also reaches its effect floor (`effect_floor`),
and only a shift the worse way is drift (the other way is `improved`); for tail and spread an
increase is worse whichever way the metric's values are.

Rare rates: a share's floor is the smaller of the absolute floor (default 0.02, 2 points) and
`rare_multiple` (default 1.0) times the baseline rate of the rarer outcome, min(p, 1 - p). A
rollback rate of 0.003 then has the floor 0.003: 0.003 -> 0.009 can drift, while success
0.900 -> 0.897 on 100,000 tasks keeps the 2-point floor (0.1 x 1.0 > 0.02) and cannot. A floor
a charter or the catalog sets for the metric is used as given (`effect_floor(rare_rule=False)`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from monitor.engine import exact_tests
from monitor.engine.exact_tests import (
    CENTER,
    SPREAD,
    TAIL,
    TestResult,
    binomial_central_p,
    binomial_p,
    normal_p,
    proportion_test,
)
from monitor.engine.rank_tests import continuous_tests, relative_change
from monitor.engine.summary import WindowSummary
from playbook.results import DRIFT, IMPROVED, OK

__all__ = [
    "CENTER",
    "DRIFT",
    "IMPROVED",
    "OK",
    "SPREAD",
    "TAIL",
    "TestResult",
    "benjamini_hochberg",
    "dispersion",
    "drift_tests",
    "effect_floor",
    "has_enough",
    "verdict",
]


class Floors(Protocol):  # `playbook.core.settings.EffectFloors`
    tail: float
    spread: float
    rare_multiple: float


def drift_tests(baseline: WindowSummary, recent: WindowSummary, *, worse: str) -> list[TestResult]:
    """The metric's tests, recent against baseline: one result (aspect `center`) for proportion,
    ratio and count; three for continuous (`center`, `tail`, `spread`). `worse` ("higher" or
    "lower") picks the tail a continuous metric's tail test watches."""
    kind = baseline.kind
    if kind == "proportion":
        return [_proportion(baseline, recent)]
    if kind == "continuous":
        return continuous_tests(baseline, recent, worse)
    if kind == "ratio":
        return [_ratio(baseline, recent)]
    return [_count(baseline, recent)]


def _proportion(baseline: WindowSummary, recent: WindowSummary) -> TestResult:
    result = proportion_test(baseline.matches, baseline.n, recent.matches, recent.n)
    share = baseline.matches / baseline.n
    return TestResult(
        result.test, result.statistic, result.p_value, result.effect,
        base_rate=min(share, 1.0 - share),
    )  # fmt: skip


def _ratio_and_variance(summary: WindowSummary) -> tuple[float, float]:
    n = summary.n
    s = summary.sums
    mx, my = s["sx"] / n, s["sy"] / n
    var_x = max(s["sxx"] / n - mx * mx, 0.0)
    var_y = max(s["syy"] / n - my * my, 0.0)
    cov = s["sxy"] / n - mx * my
    ratio = mx / my
    variance = (var_x / my**2 - 2 * mx * cov / my**3 + mx**2 * var_y / my**4) / n
    return ratio, max(variance, 0.0)


def _ratio(baseline: WindowSummary, recent: WindowSummary) -> TestResult:
    r0, v0 = _ratio_and_variance(baseline)
    r1, v1 = _ratio_and_variance(recent)
    effect = relative_change(r1, r0)
    if r0 > 0 and r1 > 0:
        # On the log scale the sampling distribution of a ratio of skewed costs is far more
        # symmetric, so rises and falls are detected alike: Var(log R) ~ Var(R) / R^2.
        se = math.sqrt(v0 / r0**2 + v1 / r1**2)
        z = (math.log(r1) - math.log(r0)) / se if se else 0.0
    else:
        se = math.sqrt(v0 + v1)
        z = (r1 - r0) / se if se else 0.0
    return TestResult("delta_method_z", z, normal_p(z), effect)


def dispersion(*dailies: np.ndarray | None) -> float:
    """Day-to-day variance over the Poisson's: Pearson chi-square of each window's daily counts
    about its own mean, pooled over the windows, over the degrees of freedom; at least 1 (1 when
    no window has two days)."""
    chi_square, freedom = 0.0, 0
    for daily in dailies:
        if daily is None or len(daily) < 2:
            continue
        counts = np.asarray(daily, dtype=float)
        mean = float(counts.mean())
        if mean > 0:
            chi_square += float(((counts - mean) ** 2).sum()) / mean
        freedom += len(counts) - 1
    return max(1.0, chi_square / freedom) if freedom else 1.0


def _count(baseline: WindowSummary, recent: WindowSummary) -> TestResult:
    c0, t0, c1, t1 = baseline.matches, baseline.days, recent.matches, recent.days
    effect = relative_change(c1 / t1, c0 / t0)
    phi = dispersion(baseline.daily, recent.daily)
    share = t1 / (t0 + t1)
    if phi == 1.0:
        p_value = binomial_p(c1, c0 + c1, share) if c0 + c1 else 1.0
        return TestResult("poisson_rate_exact", float(c1), p_value, effect, dispersion=1.0)
    # quasi-Poisson: counts divided by the dispersion carry the information they really hold
    p_value = binomial_central_p(c1 / phi, (c0 + c1) / phi, share)
    return TestResult("quasi_poisson_rate", c1 / phi, p_value, effect, dispersion=phi)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """q-values (BH adjusted p-values), in the order given."""
    return exact_tests.benjamini_hochberg(p_values)


def has_enough(baseline: WindowSummary, recent: WindowSummary, min_samples: int) -> bool:
    """Whether both windows hold enough for the tests (else the caller says insufficient_data)."""
    if baseline.n < min_samples or recent.n < min_samples:
        return False
    if baseline.value is None or recent.value is None:
        return False
    if baseline.kind == "continuous":
        return all(s.histogram is not None and s.histogram.total > 0 for s in (baseline, recent))
    if baseline.kind == "count":
        return baseline.days > 0 and recent.days > 0
    return True


def effect_floor(
    result: TestResult, *, floor: float, floors: Floors, rare_rule: bool = True
) -> float:
    """The smallest effect worth acting on for this result. `floor` is the metric's own (the
    charter's, else the catalog's, else its kind's default) and applies to the centre; for a rare
    rate it is lowered to `rare_multiple` x the baseline rate, unless `rare_rule` is False (pass
    False when the charter or the catalog set `floor` for this metric: an explicit floor is used
    as given). Tail and spread have their own floors."""
    if result.aspect == TAIL:
        return floors.tail
    if result.aspect == SPREAD:
        return floors.spread
    if rare_rule and result.base_rate is not None:
        return min(floor, floors.rare_multiple * result.base_rate)
    return floor


def verdict(
    effect: float,
    q_value: float,
    *,
    fdr: float,
    floor: float,
    worse: str,
    consistent: bool = True,
    aspect: str = CENTER,
) -> str:
    """drift / improved / ok for a tested shift (sufficient data already established). For the
    tail and spread aspects an increase is the worse way, whatever the metric's `worse`."""
    if not consistent or q_value > fdr or abs(effect) < floor or effect == 0:
        return OK
    higher_is_worse = worse == "higher" or aspect in (TAIL, SPREAD)
    worse_way = effect > 0 if higher_is_worse else effect < 0
    return DRIFT if worse_way else IMPROVED
