"""The drift tests' building blocks: the result type, the two-proportion test and the p-values.

Distributions come from `math` and numpy alone: `import scipy.stats` costs the monitor about a
CPU-second and even `scipy.special` a quarter of one, against a whole run's budget of about one.
The exact tests are written out here and checked against scipy in the test suite:
- `normal_p`: two-sided normal p-value (math.erfc);
- `binomial_p`: the exact binomial test, two-sided by the "minlike" rule (the outcomes no likelier
  than the one seen), as `scipy.stats.binomtest`;
- `fisher_p`: Fisher's exact test of a 2x2 table, two-sided by the same rule, as
  `scipy.stats.fisher_exact`;
- `binomial_central_p`: the binomial test for real-valued counts (the regularised incomplete
  beta function, by its continued fraction, extends the binomial distribution function),
  two-sided by doubling the smaller tail: the count test on dispersion-scaled counts;
- `benjamini_hochberg`: q-values, as `scipy.stats.false_discovery_control(method="bh")`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CENTER, TAIL, SPREAD = "center", "tail", "spread"
RELATIVE_TOLERANCE = 1 + 1e-7  # outcomes this close to the seen one's probability count as tied


@dataclass(frozen=True)
class TestResult:
    """One drift test of one aspect of a metric: recent window against baseline."""

    test: str
    statistic: float | None
    p_value: float | None
    # proportion, tail, spread: recent share - baseline share; continuous centre, ratio and
    # count: recent / baseline - 1 (relative to the baseline's magnitude)
    effect: float | None
    # False when the test's shift and the effect point different ways (a rank test can find
    # most tasks faster while a heavier tail raises the mean; the band around the centre can
    # move out on one side and in on the other, which is a shift, not a widening): no verdict.
    consistent: bool = True
    aspect: str = CENTER  # center, tail or spread (the last two: continuous metrics only)
    # proportion: the baseline rate of the rarer outcome, min(p, 1 - p), for the rare-rate floor
    base_rate: float | None = None
    # count: the dispersion the test was scaled by (1: Poisson, the exact test)
    dispersion: float | None = None


def normal_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))


_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _log_choose(n: float, k: np.ndarray) -> np.ndarray:
    return math.lgamma(n + 1) - _lgamma(k + 1).astype(float) - _lgamma(n - k + 1).astype(float)


def _minlike(log_pmf: np.ndarray, seen: float) -> float:
    """The probability of the outcomes no likelier than the one seen (log pmf `seen`)."""
    pmf = np.exp(log_pmf)
    return float(min(1.0, pmf[pmf <= math.exp(seen) * RELATIVE_TOLERANCE].sum()))


def _support(mean: float, sd: float, low: int, high: int, seen: int) -> np.ndarray:
    """The outcomes worth summing: from 40 sd below the lower of the mean and the outcome seen to
    40 sd above the higher (beyond, the pmf falls below 1e-300 of its value there), and the
    outcome seen itself."""
    start = max(low, math.floor(min(mean, seen) - 40 * sd - 1))
    stop = min(high, math.ceil(max(mean, seen) + 40 * sd + 1))
    return np.arange(start, stop + 1, dtype=float)


def binomial_p(k: int, n: int, p: float) -> float:
    """Exact two-sided binomial test of k successes in n trials with success probability p."""
    if n == 0 or k == p * n or p in (0.0, 1.0):
        return 1.0
    x = _support(n * p, math.sqrt(n * p * (1 - p)), 0, n, k)
    log_pmf = _log_choose(n, x) + x * math.log(p) + (n - x) * math.log1p(-p)
    return _minlike(log_pmf, float(log_pmf[x == k][0]))


def binomial_central_p(k: float, n: float, p: float) -> float:
    """Two-sided binomial test for real-valued k <= n: twice the smaller tail, P(X <= k) or
    P(X >= k), through the regularised incomplete beta function."""
    if n <= 0:
        return 1.0
    lower = 1.0 if k >= n else incomplete_beta(n - k, k + 1, 1 - p)  # P(X <= k)
    upper = 1.0 if k <= 0 else incomplete_beta(k, n - k + 1, p)  # P(X >= k)
    return min(1.0, 2.0 * min(lower, upper))


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (a, b > 0), by its continued fraction
    on the side where it converges fast, so a small tail keeps its relative precision."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log1p(-x)
    )  # fmt: skip
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, epsilon = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 100_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < epsilon:
            break
    return fraction


def fisher_p(table: Sequence[Sequence[int]]) -> float:
    """Fisher's exact two-sided test of [[a, b], [c, d]] (rows: recent, baseline)."""
    (a, b), (c, d) = table
    rows, column, total = a + b, a + c, a + b + c + d
    if total == 0 or rows in (0, total) or column in (0, total):
        return 1.0
    low, high = max(0, column - (c + d)), min(column, rows)
    mean = rows * column / total
    sd = math.sqrt(mean * (1 - column / total) * (total - rows) / max(total - 1, 1))
    x = _support(mean, sd, low, high, a)

    log_all = math.lgamma(total + 1) - math.lgamma(rows + 1) - math.lgamma(total - rows + 1)
    log_pmf = _log_choose(column, x) + _log_choose(total - column, rows - x) - log_all
    return _minlike(log_pmf, float(log_pmf[x == a][0]))


def odds_ratio(table: Sequence[Sequence[int]]) -> float | None:
    (a, b), (c, d) = table
    if b * c == 0:
        return None
    return a * d / (b * c)


def proportion_test(k0: int, n0: int, k1: int, n1: int, *, aspect: str = CENTER) -> TestResult:
    """Two shares, k1 of n1 (recent) against k0 of n0 (baseline): the pooled two-proportion z-test,
    or Fisher's exact test when an expected cell count is below 5."""
    effect = k1 / n1 - k0 / n0
    pooled = (k0 + k1) / (n0 + n1)
    expected = min(pooled * n0, (1 - pooled) * n0, pooled * n1, (1 - pooled) * n1)
    if expected < 5:
        table = [[k1, n1 - k1], [k0, n0 - k0]]
        return TestResult("fisher_exact", odds_ratio(table), fisher_p(table), effect, aspect=aspect)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    z = effect / se if se else 0.0
    return TestResult("two_proportion_z", z, normal_p(z), effect, aspect=aspect)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """q-values (Benjamini-Hochberg adjusted p-values), in the order given."""
    m = len(p_values)
    if m == 0:
        return []
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    q = np.empty(m)
    q[order] = q_sorted
    return [float(v) for v in q]
