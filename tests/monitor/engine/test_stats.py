"""Simulation tests of the drift statistics in `monitor.engine.stats`, computed from summaries.

Each simulated agent mirrors a monitor run: per-task events over a baseline of 28 days and a
recent window of 7 (whole weeks; the baseline holds 4x the recent tasks), summarised exactly as
the engine summarises them (`monitor.engine.summary`: counts, sums, a histogram over the fixed
log-spaced bins via `Histogram.of`, daily matches for a count); every (agent, metric, aspect) is
tested, Benjamini-Hochberg q-values are taken across the run, and a verdict is given with the
default effect floors (`playbook.core.settings.EffectFloors`) at the default FDR of 0.05.

The simulated agent (per task), the example catalog's metrics:
- outcome: success 0.90, escalated 0.04, else failure    -> success (worse lower), escalation
- rework 0.08, policy hit 0.02, rollback 0.003, financial error 0.001 -> proportions, worse higher
- latency ~ lognormal, median 20 s, log-sigma 1.0         -> continuous, worse higher
- cost ~ lognormal, median $0.40, log-sigma 0.8, failures x2 -> cost per task (continuous) and
  cost per successful task (ratio), worse higher
- reviewer minutes: 0 for 60% of tasks, else lognormal (median 4), to 0.1 min -> continuous
- customer feedback: a 1-5 score on 30% of tasks        -> continuous, worse lower
- unauthorised attempts: 1% of tasks, counted per day  -> count, worse higher
and, where a scenario asks, day-to-day noise: task volumes (gamma-Poisson), the success rate and
latency per day, the attempts' daily rate (overdispersed counts), and a weekly pattern.

Every test is seeded, so results are reproducible; the bounds hold with a margin for an honest
implementation and fail for a broken one (an unpooled or one-sided p-value, a covariance-free
ratio variance, a Poisson count test on overdispersed days, a verdict ignoring direction, floor or
aspect). Measured figures are printed: run with `-s` to see them.
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pytest

from monitor.engine import stats
from monitor.engine.summary import Histogram, WindowSummary
from playbook.core.settings import MonitorSettings

SETTINGS = MonitorSettings()  # fdr 0.05, min_samples 30, default effect floors
FLOORS = SETTINGS.effect_floors
FDR = SETTINGS.fdr
MIN = SETTINGS.min_samples
NO_FLOORS = FLOORS.model_copy(update=dict.fromkeys(type(FLOORS).model_fields, 0.0))
BASELINE_DAYS, RECENT_DAYS = 28, 7

# (kind, worse) of each simulated metric
METRICS = {
    "task_success_rate": ("proportion", "lower"),
    "escalation_rate": ("proportion", "higher"),
    "rework_rate": ("proportion", "higher"),
    "policy_hit_rate": ("proportion", "higher"),
    "rollback_rate": ("proportion", "higher"),
    "financial_error_rate": ("proportion", "higher"),
    "latency_s": ("continuous", "higher"),
    "cost_per_task": ("continuous", "higher"),
    "reviewer_minutes_per_task": ("continuous", "higher"),
    "customer_feedback": ("continuous", "lower"),
    "cost_per_successful_task": ("ratio", "higher"),
    "unauthorized_attempts": ("count", "higher"),
}
AGENT = (  # one agent of the acceptance scenarios: every kind, a rare rate, a count
    "task_success_rate", "escalation_rate", "rollback_rate", "latency_s",
    "cost_per_successful_task", "unauthorized_attempts",
)  # fmt: skip


def binomial_se(p: float, trials: int) -> float:
    return math.sqrt(p * (1 - p) / trials)


# --- summaries, as the engine builds them -------------------------------------------------------


def proportion_summary(n: int, k: int, metric: str = "task_success_rate") -> WindowSummary:
    return WindowSummary(metric, "proportion", n=n, matches=k, value=k / n if n else None)


def continuous_summary(values: np.ndarray, metric: str = "latency_s") -> WindowSummary:
    values = np.asarray(values, dtype=float)
    n = len(values)
    return WindowSummary(
        metric,
        "continuous",
        n=n,
        value=float(values.mean()) if n else None,
        sums={"s": float(values.sum()), "ss": float((values * values).sum())},
        histogram=Histogram.of(values) if n else None,
    )


def ratio_summary(
    x: np.ndarray, success: np.ndarray, metric: str = "cost_per_successful_task"
) -> WindowSummary:
    """x = cost per task, y = 1 for a successful task else 0; value = sum(x) / sum(y)."""
    x, y = np.asarray(x, dtype=float), np.asarray(success, dtype=float)
    sums = {"sx": x.sum(), "sy": y.sum(), "sxx": (x * x).sum(), "syy": (y * y).sum(),
            "sxy": (x * y).sum()}  # fmt: skip
    sums = {name: float(value) for name, value in sums.items()}
    value = sums["sx"] / sums["sy"] if sums["sy"] else None
    return WindowSummary(metric, "ratio", n=len(x), value=value, sums=sums)


def count_summary(
    tasks: int, daily: np.ndarray, metric: str = "unauthorized_attempts"
) -> WindowSummary:
    daily = np.asarray(daily, dtype=float)
    days, k = float(len(daily)), int(daily.sum())
    return WindowSummary(
        metric, "count", n=int(tasks), matches=k, days=days, value=k / days, daily=daily
    )


# --- the simulated agent ------------------------------------------------------------------------

WEEKLY_VOLUME = np.array([1.2, 1.2, 1.15, 1.1, 1.05, 0.65, 0.65])  # Monday first; mean 1
WEEKLY_LATENCY = np.array([1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.3])  # slower at weekends
WEEKLY_SUCCESS = np.array([0.0, 0.0, 0.0, 0.0, 0.0, -0.03, -0.03])
FEEDBACK_SCORES = np.array([0.05, 0.05, 0.15, 0.35, 0.40])  # P(1) .. P(5)


@dataclass(frozen=True)
class World:
    """The distribution one agent's tasks come from during one window."""

    success: float = 0.90
    escalation: float = 0.04
    rollback: float = 0.003
    latency_sigma: float = 1.0
    latency_upper_sigma: float | None = None  # log-sigma above the median (None: the same)
    latency_scale: float = 1.0  # multiplies every latency
    cost_scale: float = 1.0  # multiplies every cost
    attempts: float = 0.01  # share of tasks with an unauthorised attempt
    volume_cv: float = 0.0  # day-to-day: the task volume's coefficient of variation
    attempts_cv: float = 0.0  # day-to-day: the attempts' rate (overdispersed counts)
    success_day_sd: float = 0.0  # day-to-day: the success rate's standard deviation
    latency_day_sd: float = 0.0  # day-to-day: log-sd of a factor on every latency of the day
    weekly: bool = False  # a weekly pattern in volume, success and latency


NORMAL = World()


def _day_factor(rng: np.random.Generator, cv: float, days: int) -> np.ndarray:
    return rng.gamma(1 / cv**2, cv**2, days) if cv else np.ones(days)


class Window:
    """One window's simulated tasks; `summary(metric)` as the engine would give it."""

    def __init__(self, rng: np.random.Generator, world: World, days: int, per_day: float):
        self.rng, self.world, self.days = rng, world, days
        weekday = np.arange(days) % 7
        pattern = world.weekly
        volume = per_day * _day_factor(rng, world.volume_cv, days)
        self.volumes = rng.poisson(volume * (WEEKLY_VOLUME[weekday] if pattern else 1.0))
        self.day = np.repeat(np.arange(days), self.volumes)
        self.n = int(self.volumes.sum())
        daily = world.success + world.success_day_sd * rng.standard_normal(days)
        p_success = np.clip(daily + (WEEKLY_SUCCESS[weekday] if pattern else 0.0), 0, 1)[self.day]
        u = rng.random(self.n)
        self.success = u < p_success
        self.escalated = (u >= p_success) & (u < p_success + world.escalation)
        factor = np.exp(world.latency_day_sd * rng.standard_normal(days))
        self.latency_factor = (factor * (WEEKLY_LATENCY[weekday] if pattern else 1.0))[self.day]
        self._cost: np.ndarray | None = None

    def flags(self, share: float) -> int:
        return int(self.rng.binomial(self.n, share))

    @property
    def cost(self) -> np.ndarray:
        if self._cost is None:
            cost = self.world.cost_scale * self.rng.lognormal(math.log(0.40), 0.8, self.n)
            self._cost = cost * np.where(self.success, 1.0, 2.0)
        return self._cost

    def latency(self) -> np.ndarray:
        world = self.world
        z = self.rng.standard_normal(self.n)
        upper = world.latency_upper_sigma or world.latency_sigma
        log = np.where(z > 0, upper * z, world.latency_sigma * z)
        return world.latency_scale * 20.0 * self.latency_factor * np.exp(log)

    def summary(self, metric: str) -> WindowSummary:
        rng, world, n = self.rng, self.world, self.n
        proportions = {"task_success_rate": int(self.success.sum()),
                       "escalation_rate": int(self.escalated.sum())}  # fmt: skip
        shares = {"rework_rate": 0.08, "policy_hit_rate": 0.02,
                  "rollback_rate": world.rollback, "financial_error_rate": 0.001}  # fmt: skip
        if metric in proportions:
            return proportion_summary(n, proportions[metric], metric)
        if metric in shares:
            return proportion_summary(n, self.flags(shares[metric]), metric)
        if metric == "latency_s":
            return continuous_summary(self.latency(), metric)
        if metric == "cost_per_task":
            return continuous_summary(self.cost, metric)
        if metric == "cost_per_successful_task":
            return ratio_summary(self.cost, self.success, metric)
        if metric == "reviewer_minutes_per_task":
            minutes = np.round(rng.lognormal(math.log(4), 0.9, n), 1) * (rng.random(n) < 0.4)
            return continuous_summary(minutes, metric)
        if metric == "customer_feedback":
            scores = rng.choice(np.arange(1.0, 6.0), size=rng.binomial(n, 0.3), p=FEEDBACK_SCORES)
            return continuous_summary(scores, metric)
        rate = np.clip(world.attempts * _day_factor(rng, world.attempts_cv, self.days), 0, 1)
        return count_summary(n, rng.binomial(self.volumes, rate), metric)


@dataclass(frozen=True)
class Tested:
    __test__ = False  # a record, not a test class

    agent: int
    metric: str
    result: stats.TestResult


def run_agent(
    rng: np.random.Generator,
    recent_tasks: float,
    recent: World = NORMAL,
    baseline: World = NORMAL,
    metrics: tuple[str, ...] = AGENT,
    agent: int = 0,
) -> list[Tested]:
    """Simulate both windows of one agent and run every test of its metrics."""
    per_day = recent_tasks / RECENT_DAYS
    base = Window(rng, baseline, BASELINE_DAYS, per_day)
    now = Window(rng, recent, RECENT_DAYS, per_day)
    tested = []
    for metric in metrics:
        b, r = base.summary(metric), now.summary(metric)
        assert stats.has_enough(b, r, MIN), metric
        for result in stats.drift_tests(b, r, worse=METRICS[metric][1]):
            assert result.p_value is not None and 0.0 <= result.p_value <= 1.0
            tested.append(Tested(agent, metric, result))
    return tested


def verdicts(tested: list[Tested], floors=FLOORS) -> dict[tuple[int, str, str], str]:
    """BH across the run, then each result's floor and direction, as the monitor's run does."""
    q_values = stats.benjamini_hochberg([t.result.p_value for t in tested])
    found = {}
    for t, q in zip(tested, q_values, strict=True):
        kind, worse = METRICS[t.metric]
        floor = stats.effect_floor(t.result, floor=getattr(floors, kind), floors=floors)
        found[(t.agent, t.metric, t.result.aspect)] = stats.verdict(
            t.result.effect, q, fdr=FDR, floor=floor, worse=worse,
            consistent=t.result.consistent, aspect=t.result.aspect,
        )  # fmt: skip
    return found


def drifted(found: dict[tuple[int, str, str], str]) -> set[tuple[int, str, str]]:
    return {key for key, verdict in found.items() if verdict == stats.DRIFT}


# --- 1. the exact tests and BH, written out, agree with scipy.stats ------------------------------


def test_exact_tests_agree_with_scipy() -> None:
    from scipy import special
    from scipy import stats as scipy_stats

    from monitor.engine import exact_tests

    rng = np.random.default_rng(1)
    for _ in range(300):
        n, p = int(rng.integers(1, 3000)), float(rng.uniform(0.01, 0.99))
        k = int(rng.binomial(n, min(0.999, p * rng.uniform(0.7, 1.3))))
        expected = scipy_stats.binomtest(k, n, p).pvalue
        assert exact_tests.binomial_p(k, n, p) == pytest.approx(expected, rel=1e-8, abs=1e-250)
        n1, n0, rate = int(rng.integers(1, 400)), int(rng.integers(1, 4000)), rng.uniform(0, 0.05)
        k1, k0 = int(rng.binomial(n1, 2 * rate)), int(rng.binomial(n0, rate))
        table = [[k1, n1 - k1], [k0, n0 - k0]]
        expected = scipy_stats.fisher_exact(table).pvalue
        assert exact_tests.fisher_p(table) == pytest.approx(expected, rel=1e-8, abs=1e-250)
    for _ in range(300):
        a, b = np.exp(rng.uniform(-1, 12, 2))
        x = float(rng.uniform(0, 1))
        expected = special.betainc(a, b, x)
        assert exact_tests.incomplete_beta(a, b, x) == pytest.approx(expected, rel=1e-9, abs=1e-300)
        z = float(rng.normal(0, 5))
        assert exact_tests.normal_p(z) == pytest.approx(2 * special.ndtr(-abs(z)), rel=1e-12)
    for _ in range(100):  # the count test's scaled binomial, at whole counts: twice a binomial tail
        n, p = int(rng.integers(1, 2000)), float(rng.uniform(0.05, 0.95))
        k = int(rng.binomial(n, p))
        tails = scipy_stats.binom.cdf(k, n, p), scipy_stats.binom.sf(k - 1, n, p)
        expected = min(1.0, 2 * min(tails))
        assert exact_tests.binomial_central_p(k, n, p) == pytest.approx(expected, rel=1e-9)
    for _ in range(20):
        p_values = rng.random(int(rng.integers(1, 60))) ** 3
        expected = scipy_stats.false_discovery_control(p_values, method="bh")
        assert stats.benjamini_hochberg(list(p_values)) == pytest.approx(list(expected))
    assert stats.benjamini_hochberg([]) == []


def test_binned_mann_whitney_is_scipys_when_every_value_has_its_own_bin() -> None:
    """Whole seconds fall in separate bins: the binned U and p are scipy's on the raw values
    (ties included: the midranks and the tie-corrected variance are the same)."""
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(2)
    for _ in range(20):
        x0 = np.round(rng.lognormal(1, 0.6, 2000))
        x1 = np.round(rng.lognormal(1.05, 0.6, 500))
        center = stats.drift_tests(continuous_summary(x0), continuous_summary(x1), worse="higher")[
            0
        ]
        expected = scipy_stats.mannwhitneyu(x1, x0)
        assert center.aspect == stats.CENTER and center.test == "mann_whitney_u"
        assert center.statistic == pytest.approx(expected.statistic)
        assert center.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_stats_does_not_import_scipy() -> None:
    """`import scipy.stats` costs ~1 CPU-second and `scipy.special` ~0.3 on top of the engine's
    imports, against a whole run's budget of about one: the drift tests use math and numpy."""
    code = "import sys, monitor.engine.stats; print(sorted(m for m in sys.modules if 'scipy' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- 2. no false alarms without drift -----------------------------------------------------------

DAY_NOISE = replace(
    NORMAL, volume_cv=0.3, attempts_cv=0.5, success_day_sd=0.01, latency_day_sd=0.05
)
WEEKLY = replace(NORMAL, weekly=True)
# name: (recent tasks, recent world, baseline world). At 100,000 tasks the floors make a false
# alarm impossible in practice: 0 runs of 20 with any drift. Where samples are small, BH alone
# holds the line: measured over 10,000 seeds (4,000 at 3,000 tasks), the share of runs with any
# drift is 2.3-2.9% at 300 recent tasks and 0.9-2.0% at 3,000 (day-to-day noise the highest),
# i.e. 0.2-0.6 of 20 seeds; those scenarios run 200 seeds and their share must stay within the
# FDR + 3 SE (the first 20 seeds' count is printed too).
NULL_SCENARIOS = {
    "null_300": (300, NORMAL, NORMAL),
    "null_3k": (3_000, NORMAL, NORMAL),
    "null_100k": (100_000, NORMAL, NORMAL),
    "tiny_success_0.900_to_0.897_100k": (100_000, replace(NORMAL, success=0.897), NORMAL),
    "tiny_latency_plus_1pct_100k": (100_000, replace(NORMAL, latency_scale=1.01), NORMAL),
    "weekly_seasonality_300": (300, WEEKLY, WEEKLY),
    "weekly_seasonality_3k": (3_000, WEEKLY, WEEKLY),
    "weekly_seasonality_100k": (100_000, WEEKLY, WEEKLY),
    "day_to_day_noise_300": (300, DAY_NOISE, DAY_NOISE),
    "day_to_day_noise_3k": (3_000, DAY_NOISE, DAY_NOISE),
    "day_to_day_noise_100k": (100_000, DAY_NOISE, DAY_NOISE),
}
HUGE = 100_000
SEEDS = 20


@pytest.mark.parametrize("name", list(NULL_SCENARIOS))
def test_no_drift_raises_no_alarm(name) -> None:
    """An agent with every kind of metric and nothing worth acting on: no drift verdict, by the
    floors where samples are huge, and by BH (at most the FDR of runs) where they are small."""
    tasks, recent, baseline = NULL_SCENARIOS[name]
    rng = np.random.default_rng(list(NULL_SCENARIOS).index(name) + 1000)
    seeds = 20 if tasks >= HUGE else 200
    alarms = [drifted(verdicts(run_agent(rng, tasks, recent, baseline))) for _ in range(seeds)]
    raised = sum(bool(found) for found in alarms)
    first = sum(bool(found) for found in alarms[:20])
    print(f"\n{name}: runs with a drift verdict {raised}/{seeds}, of the first 20: {first}")
    if tasks >= HUGE:
        assert raised == 0, [found for found in alarms if found]
    else:
        assert raised / seeds <= FDR + 3 * binomial_se(FDR, seeds)


NULL_RUNS, AGENTS = 400, 5  # 2,000 simulated agents, 100 tasks a day


@pytest.fixture(scope="module")
def null_runs() -> list[list[Tested]]:
    rng = np.random.default_rng(20261124)
    return [
        [t for agent in range(AGENTS) for t in run_agent(rng, 700, agent=agent)]
        for _ in range(NULL_RUNS)
    ]


@pytest.mark.parametrize("floors", [FLOORS, NO_FLOORS], ids=["default_floors", "floor_0"])
def test_no_drift_runs_rarely_raise_any_drift(null_runs, floors) -> None:
    """Same distribution in both windows: the share of runs (5 agents, 40 tests) with ANY drift
    verdict is at most the FDR plus 3 binomial SE. With floor 0 this is pure BH, so it shows the
    p-values are honest rather than rescued by the effect floor (under the global null BH controls
    the family-wise error at the FDR)."""
    alarmed = sum(bool(drifted(verdicts(run, floors))) for run in null_runs)
    rate = alarmed / len(null_runs)
    bound = FDR + 3 * binomial_se(FDR, len(null_runs))
    print(f"\nno drift, floors {floors}: runs with a drift verdict {alarmed}/{len(null_runs)}")
    assert rate <= bound, f"false-alarm run rate {rate:.4f} > {bound:.4f}"


def test_no_drift_is_ok_everywhere_with_default_floors(null_runs) -> None:
    """The floors on top of BH: without a true shift, nothing at all is flagged (neither drift
    nor improved) in (nearly) every run."""
    flagged = sum(any(v != stats.OK for v in verdicts(run).values()) for run in null_runs)
    print(f"\nno drift: runs with any non-ok verdict (default floors) {flagged}/{len(null_runs)}")
    assert flagged / len(null_runs) <= 2 * FDR


# (metric, aspect, check the lower bound too): the z-tests are close to nominal; the rare rate's
# Fisher test and the count test (discrete at ~7 events a week; scaled by a dispersion of at
# least 1) are conservative, so only their upper bound is asserted.
CALIBRATION = [
    ("task_success_rate", stats.CENTER, True),
    ("escalation_rate", stats.CENTER, True),
    ("rollback_rate", stats.CENTER, False),
    ("latency_s", stats.CENTER, True),
    ("latency_s", stats.TAIL, True),
    ("latency_s", stats.SPREAD, True),
    ("cost_per_successful_task", stats.CENTER, True),
    ("unauthorized_attempts", stats.CENTER, False),
]


@pytest.mark.parametrize(("metric", "aspect", "two_sided_check"), CALIBRATION)
def test_null_p_values_are_calibrated(null_runs, metric, aspect, two_sided_check) -> None:
    """Under no drift, the share of single tests with p < 0.05 is 0.05 within 3 binomial SE."""
    tested = [t.result for run in null_runs for t in run
              if t.metric == metric and t.result.aspect == aspect]  # fmt: skip
    assert len(tested) == NULL_RUNS * AGENTS
    p_values = np.array([r.p_value for r in tested])
    rate = float(np.mean(p_values < 0.05))
    se = binomial_se(0.05, len(p_values))
    print(f"\n{metric} {aspect}: P(p < 0.05 | no drift) = {rate:.4f} (SE {se:.4f})")
    assert rate <= 0.05 + 3 * se
    if two_sided_check:
        assert rate >= 0.05 - 3 * se
        # Two-sided: neither direction may carry the whole error (a one-sided test would).
        effects = np.array([r.effect for r in tested])[p_values < 0.05]
        assert 0.15 <= float(np.mean(effects > 0)) <= 0.85, "rejections are one-sided"


CATALOG_CONTINUOUS = ("cost_per_task", "reviewer_minutes_per_task", "customer_feedback")


@pytest.fixture(scope="module")
def catalog_null() -> list[Tested]:
    rng = np.random.default_rng(17)
    return [t for _ in range(2000) for t in run_agent(rng, 700, metrics=CATALOG_CONTINUOUS)]


CALIBRATED = [(m, a) for m in CATALOG_CONTINUOUS for a in (stats.CENTER, stats.TAIL)]
CALIBRATED.append(("cost_per_task", stats.SPREAD))


@pytest.mark.parametrize(("metric", "aspect"), CALIBRATED)
def test_coarse_and_zero_heavy_values_are_calibrated(catalog_null, metric, aspect) -> None:
    """The catalog's other continuous metrics: cost (failures cost 2x), reviewer minutes (0 for
    60% of tasks: no lower side, so no spread test) and 1-5 feedback scores (worse lower, a
    handful of bins, the top score 40%: no spread test either): every aspect tested still
    rejects ~5% under no drift."""
    p_values = np.array([t.result.p_value for t in catalog_null
                         if t.metric == metric and t.result.aspect == aspect])  # fmt: skip
    assert len(p_values) == 2000
    rate = float(np.mean(p_values < 0.05))
    se = binomial_se(0.05, len(p_values))
    print(f"\n{metric} {aspect}: P(p < 0.05 | no drift) = {rate:.4f}")
    assert 0.05 - 3 * se <= rate <= 0.05 + 3 * se


def _null_rate(rng, trials, make_pair, pick=0) -> float:
    p_values = [
        stats.drift_tests(*make_pair(rng), worse="higher")[pick].p_value for _ in range(trials)
    ]
    return float(np.mean(np.array(p_values) < 0.05))


def test_fisher_branch_is_not_anticonservative() -> None:
    """A rare failure (success 0.998, ~1.4 failures expected in the recent week) sends the
    proportion test to Fisher's exact test; under no drift it must not reject more than 5%."""

    def pair(rng):
        return (proportion_summary(2800, int(rng.binomial(2800, 0.998))),
                proportion_summary(700, int(rng.binomial(700, 0.998))))  # fmt: skip

    rng = np.random.default_rng(7)
    assert stats.drift_tests(*pair(rng), worse="lower")[0].test == "fisher_exact"
    rate = _null_rate(rng, 2000, pair)
    print(f"\nfisher: P(p < 0.05 | no drift) = {rate:.4f}")
    assert rate <= 0.05 + 3 * binomial_se(0.05, 2000)


@pytest.mark.parametrize("aspect", [0, 1, 2], ids=["center", "tail", "spread"])
def test_continuous_tests_with_heavy_ties_are_calibrated(aspect) -> None:
    """Latency logged in whole seconds with a short median: many ties, few bins. The tie-corrected
    rank test, and the tail and spread shares beyond bin edges, still reject ~5% under no drift."""

    def pair(rng):
        return (continuous_summary(np.round(rng.lognormal(math.log(3), 0.6, 2800))),
                continuous_summary(np.round(rng.lognormal(math.log(3), 0.6, 700))))  # fmt: skip

    rate = _null_rate(np.random.default_rng(8), 2000, pair, aspect)
    se = binomial_se(0.05, 2000)
    print(f"\nwhole seconds, aspect {aspect}: P(p < 0.05 | no drift) = {rate:.4f}")
    assert 0.05 - 3 * se <= rate <= 0.05 + 3 * se


def _count_pair(rate: float, cv: float, with_daily: bool = True):
    def pair(rng):
        windows = []
        for days in (BASELINE_DAYS, RECENT_DAYS):
            daily = rng.poisson(rate * _day_factor(rng, cv, days))
            summary = count_summary(100 * days, daily)
            windows.append(summary if with_daily else replace(summary, daily=None))
        return windows

    return pair


def test_count_test_is_exact_and_calibrated_at_a_higher_rate() -> None:
    """Without a daily series (dispersion 1) the count test is the exact conditional test; at 20
    events a day it is fine-grained and its size is close to 0.05 from both sides."""
    pair = _count_pair(20.0, 0.0, with_daily=False)
    rng = np.random.default_rng(9)
    assert stats.drift_tests(*pair(rng), worse="higher")[0].test == "poisson_rate_exact"
    rate = _null_rate(rng, 4000, pair)
    se = binomial_se(0.05, 4000)
    print(f"\ncount at 20/day, exact: P(p < 0.05 | no drift) = {rate:.4f}")
    assert 0.05 - 3 * se <= rate <= 0.05 + 3 * se


@pytest.mark.parametrize(
    ("rate", "cv"), [(20.0, 0.0), (2.0, 0.5), (20.0, 0.2), (20.0, 0.5)],
    ids=["poisson_20_a_day", "cv0.5_2_a_day", "cv0.2_20_a_day", "cv0.5_20_a_day"],
)  # fmt: skip
def test_count_test_holds_its_size_on_overdispersed_days(rate, cv) -> None:
    """Daily rates that swing from day to day (gamma, coefficient of variation `cv`): the
    dispersion-scaled test still rejects at most ~5% (the exact Poisson test would reject 15-40%
    at 20 a day: measured, and asserted below); on Poisson days it stays close to its size."""
    pair = _count_pair(rate, cv)
    rate_scaled = _null_rate(np.random.default_rng(10), 2000, pair)
    poisson = _count_pair(rate, cv, with_daily=False)
    rate_poisson = _null_rate(np.random.default_rng(10), 2000, poisson)
    se = binomial_se(0.05, 2000)
    print(f"\ncount {rate}/day cv {cv}: scaled {rate_scaled:.4f}, Poisson-exact {rate_poisson:.4f}")
    assert rate_scaled <= 0.05 + 3 * se
    assert rate_scaled >= 0.025  # scaled by at least 1, not by a runaway estimate
    if cv >= 0.2 and rate >= 20:
        assert rate_poisson > 0.10  # the problem the dispersion solves


# --- 3. planted shifts are found ----------------------------------------------------------------

UPPER_SIGMA_P95_X15 = 1.0 + math.log(1.5) / 1.6449  # the upper half's log-sigma for p95 x1.5
NARROW = replace(NORMAL, latency_sigma=0.6)
# name: (metric, recent tasks, recent world, baseline world, aspects that must find it)
POWER_SHIFTS = {
    "success_0.90_to_0.85_3k": ("task_success_rate", 3_000, replace(NORMAL, success=0.85),
                                NORMAL, {stats.CENTER}),
    "latency_x1.25_3k": ("latency_s", 3_000, replace(NORMAL, latency_scale=1.25), NORMAL,
                         {stats.CENTER}),
    "cost_per_success_plus_30pct_3k": ("cost_per_successful_task", 3_000,
                                       replace(NORMAL, cost_scale=1.3), NORMAL, {stats.CENTER}),
    "escalation_0.04_to_0.08_3k": ("escalation_rate", 3_000, replace(NORMAL, escalation=0.08),
                                   NORMAL, {stats.CENTER}),
    # ~30 rollbacks a week at 0.3%: the rare-rate floor (a doubling) lets a tripling through;
    # at 3,000 tasks (9 rollbacks expected) it is found in ~89% of runs (measured, 100 seeds)
    "rollback_0.003_to_0.009_10k": ("rollback_rate", 10_000, replace(NORMAL, rollback=0.009),
                                    NORMAL, {stats.CENTER}),
    "latency_p95_x1.5_median_same_3k": ("latency_s", 3_000,
                                        replace(NORMAL, latency_upper_sigma=UPPER_SIGMA_P95_X15),
                                        NORMAL, {stats.TAIL}),
    "latency_log_sigma_0.6_to_0.85_3k": ("latency_s", 3_000, replace(NORMAL, latency_sigma=0.85),
                                         NARROW, {stats.TAIL, stats.SPREAD}),
    # a count of ~2 a day tripling (14 -> 42 in the week; measured: 0.98 of 200 seeds, 0.945 with
    # day-to-day swings of cv 0.3, a doubling 0.52)
    "attempts_x3_from_2_a_day": ("unauthorized_attempts", 700, replace(NORMAL, attempts=0.06),
                                 replace(NORMAL, attempts=0.02), {stats.CENTER}),
}  # fmt: skip


@pytest.mark.parametrize("name", list(POWER_SHIFTS))
def test_planted_shift_is_found(name) -> None:
    """One metric shifted the worse way, the agent's others not: drift, in >= 19 of 20 runs, by
    the aspects named (the figures print which aspects found it in how many runs)."""
    metric, tasks, recent, baseline, aspects = POWER_SHIFTS[name]
    rng = np.random.default_rng(list(POWER_SHIFTS).index(name) + 100)
    by_aspect = dict.fromkeys((stats.CENTER, stats.TAIL, stats.SPREAD), 0)
    found = 0
    for _ in range(SEEDS):
        hits = {a for (_, m, a) in drifted(verdicts(run_agent(rng, tasks, recent, baseline)))
                if m == metric}  # fmt: skip
        found += bool(hits)
        for aspect in hits:
            by_aspect[aspect] += 1
    print(f"\n{name}: drift in {found}/{SEEDS} runs; by aspect {by_aspect}")
    assert found >= SEEDS - 1
    for aspect in aspects:
        assert by_aspect[aspect] >= SEEDS - 1, aspect


# name: (metric, recent tasks, recent world, baseline world)
IMPROVEMENTS = {
    "success_0.90_to_0.96": ("task_success_rate", 700, replace(NORMAL, success=0.96), NORMAL),
    "latency_minus_25pct": ("latency_s", 700, replace(NORMAL, latency_scale=0.75), NORMAL),
    "latency_log_sigma_1.0_to_0.7": ("latency_s", 3_000, replace(NORMAL, latency_sigma=0.7),
                                     NORMAL),
    "cost_per_success_minus_25pct": ("cost_per_successful_task", 700,
                                     replace(NORMAL, cost_scale=0.75), NORMAL),
    # a fall is harder to see in a count than a rise: 5% of tasks -> 1% (245 -> 49 a week)
    "attempts_5pct_to_1pct": ("unauthorized_attempts", 700, NORMAL,
                              replace(NORMAL, attempts=0.05)),
}  # fmt: skip


@pytest.mark.parametrize("name", list(IMPROVEMENTS))
def test_shift_in_better_direction_is_improved_never_drift(name) -> None:
    metric, tasks, recent, baseline = IMPROVEMENTS[name]
    rng = np.random.default_rng(list(IMPROVEMENTS).index(name) + 200)
    improved = drift = 0
    for _ in range(SEEDS):
        found = verdicts(run_agent(rng, tasks, recent, baseline))
        mine = [v for (_, m, _), v in found.items() if m == metric]
        improved += stats.IMPROVED in mine
        drift += stats.DRIFT in mine
    print(f"\n{name}: improved in {improved}/{SEEDS} runs, drift in {drift}")
    assert drift == 0
    assert improved >= SEEDS - 1


# --- 4. a healthy organisation rarely raises any alert ------------------------------------------

TEMPLATES = (  # the example charters' metrics, five each (a count where a charter has fewer)
    ("task_success_rate", "rollback_rate", "rework_rate", "reviewer_minutes_per_task",
     "cost_per_successful_task"),
    ("task_success_rate", "latency_s", "cost_per_task", "escalation_rate",
     "unauthorized_attempts"),
    ("task_success_rate", "rework_rate", "reviewer_minutes_per_task", "cost_per_successful_task",
     "policy_hit_rate"),
    ("task_success_rate", "financial_error_rate", "rollback_rate", "reviewer_minutes_per_task",
     "unauthorized_attempts"),
    ("task_success_rate", "escalation_rate", "cost_per_successful_task", "rollback_rate",
     "customer_feedback"),
    ("task_success_rate", "latency_s", "cost_per_task", "rework_rate", "policy_hit_rate"),
)  # fmt: skip
HEALTHY = replace(NORMAL, weekly=True, volume_cv=0.2, attempts_cv=0.3, success_day_sd=0.005,
                  latency_day_sd=0.02)  # fmt: skip


def test_healthy_organisations_rarely_raise_any_drift() -> None:
    """100 organisations of 6 healthy agents (5 metrics each, the example catalog's kinds, 300 to
    5,000 tasks a week, weekly seasonality and day-to-day noise): at most 5 raise any drift."""
    rng = np.random.default_rng(31)
    alarmed, tests = [], 0
    for _ in range(100):
        run = []
        for agent, metrics in enumerate(TEMPLATES):
            tasks = float(np.exp(rng.uniform(math.log(300), math.log(5_000))))
            run += run_agent(rng, tasks, HEALTHY, HEALTHY, metrics, agent)
        tests += len(run)
        found = drifted(verdicts(run))
        if found:
            alarmed.append(found)
    print(f"\nhealthy organisations with any drift: {len(alarmed)}/100 ({tests} tests); {alarmed}")
    assert len(alarmed) <= 5


# --- 5. binning costs no meaningful power -------------------------------------------------------


@pytest.mark.parametrize("tasks", [3_000, 300])
def test_binned_rank_test_is_as_powerful_as_the_raw_one(tasks) -> None:
    """Latency x1.10, 200 seeds: the binned Mann-Whitney's p-values stay within a small factor of
    scipy's on the raw values, and its power is within 2 points of the raw test's (at 3,000
    tasks both are ~1; at 300, where power is middling, the comparison has teeth)."""
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(41)
    binned, raw = [], []
    for _ in range(200):
        x0 = rng.lognormal(math.log(20), 1.0, 4 * tasks)
        x1 = 1.10 * rng.lognormal(math.log(20), 1.0, tasks)
        center = stats.drift_tests(continuous_summary(x0), continuous_summary(x1), worse="higher")[
            0
        ]
        binned.append(center.p_value)
        raw.append(scipy_stats.mannwhitneyu(x1, x0).pvalue)
    b, r = np.array(binned), np.array(raw)
    factor = float(np.exp(np.max(np.abs(np.log(b / r)))))
    power_b, power_r = float(np.mean(b < 0.05)), float(np.mean(r < 0.05))
    print(f"\nx1.10 at {tasks}: power binned {power_b:.3f}, raw {power_r:.3f}; p-values within "
          f"a factor {factor:.3f} (median {float(np.exp(np.median(np.abs(np.log(b / r))))):.4f})")  # fmt: skip
    assert factor < 1.5
    assert abs(power_b - power_r) <= 0.02


# --- 6. floors, direction and verdicts ----------------------------------------------------------


@pytest.mark.parametrize(
    ("worse", "effect", "aspect", "expected"),
    [
        ("lower", -0.05, stats.CENTER, stats.DRIFT),
        ("lower", 0.05, stats.CENTER, stats.IMPROVED),
        ("higher", 0.30, stats.CENTER, stats.DRIFT),
        ("higher", -0.30, stats.CENTER, stats.IMPROVED),
        ("higher", math.inf, stats.CENTER, stats.DRIFT),  # a count rising from zero
        ("lower", math.inf, stats.CENTER, stats.IMPROVED),
        # tail and spread: more values beyond the edges is worse, whatever the metric's way
        ("lower", 0.05, stats.TAIL, stats.DRIFT),
        ("lower", -0.05, stats.TAIL, stats.IMPROVED),
        ("higher", 0.05, stats.SPREAD, stats.DRIFT),
        ("lower", 0.05, stats.SPREAD, stats.DRIFT),
        ("lower", -0.05, stats.SPREAD, stats.IMPROVED),
    ],
)
def test_verdict_direction(worse, effect, aspect, expected) -> None:
    def verdict(q, floor, consistent=True):
        return stats.verdict(effect, q, fdr=FDR, floor=floor, worse=worse,
                             consistent=consistent, aspect=aspect)  # fmt: skip

    assert verdict(0.001, 0.02) == expected
    # not significant, below the floor or inconsistent: ok either way
    assert verdict(0.2, 0.02) == stats.OK
    assert verdict(0.001, 0.02, consistent=False) == stats.OK
    if math.isfinite(effect):
        assert verdict(0.001, 1.0) == stats.OK


def _result(test: str, aspect: str = stats.CENTER, base_rate: float | None = None):
    return stats.TestResult(test, 0.0, 0.01, 0.1, aspect=aspect, base_rate=base_rate)


def test_effect_floor_per_aspect_and_for_rare_rates() -> None:
    floors = FLOORS
    assert (floors.tail, floors.spread, floors.rare_multiple) == (0.03, 0.05, 1.0)
    continuous = stats.effect_floor(_result("mann_whitney_u"), floor=0.10, floors=floors)
    assert continuous == 0.10
    assert stats.effect_floor(_result("x", stats.TAIL), floor=0.10, floors=floors) == 0.03
    assert stats.effect_floor(_result("x", stats.SPREAD), floor=0.10, floors=floors) == 0.05
    for rate, expected in ((0.1, 0.02), (0.003, 0.003), (0.0, 0.0)):
        proportion = _result("two_proportion_z", base_rate=rate)
        assert stats.effect_floor(proportion, floor=0.02, floors=floors) == expected
    explicit = _result("two_proportion_z", base_rate=0.003)  # a charter's floor: as given
    assert stats.effect_floor(explicit, floor=0.01, floors=floors, rare_rule=False) == 0.01
    # the rarer outcome: a success rate of 99.7% has a failure rate of 0.3%
    success = stats.drift_tests(
        proportion_summary(10_000, 9_970), proportion_summary(10_000, 9_910), worse="lower"
    )
    assert success[0].base_rate == pytest.approx(0.003)
    assert stats.effect_floor(success[0], floor=0.02, floors=floors) == pytest.approx(0.003)


def _proportion_verdict(n0, p0, n1, p1, worse, floors=FLOORS):
    baseline = proportion_summary(n0, round(n0 * p0))
    recent = proportion_summary(n1, round(n1 * p1))
    (result,) = stats.drift_tests(baseline, recent, worse=worse)
    floor = stats.effect_floor(result, floor=floors.proportion, floors=floors)
    verdict = stats.verdict(result.effect, result.p_value, fdr=FDR, floor=floor, worse=worse)
    return result, verdict


def test_huge_sample_tiny_shift_is_ok_because_of_the_floor() -> None:
    """0.900 -> 0.897 on 100,000 tasks per window: significant (p ~ 0.03) but 0.3 points is under
    the 2-point floor, which the rare-rate rule leaves alone (0.1 x 1.0 > 0.02); with floor 0 the
    same result would be drift."""
    result, verdict = _proportion_verdict(100_000, 0.900, 100_000, 0.897, "lower")
    assert result.test == "two_proportion_z"
    assert result.effect == pytest.approx(-0.003)
    assert result.p_value < FDR
    assert verdict == stats.OK
    assert _proportion_verdict(100_000, 0.900, 100_000, 0.897, "lower", NO_FLOORS)[1] == stats.DRIFT


def test_big_shift_on_moderate_sample_is_drift() -> None:
    """0.90 -> 0.82 on 3,000 tasks per window: drift (z ~ -9)."""
    result, verdict = _proportion_verdict(3000, 0.90, 3000, 0.82, "lower")
    assert result.effect == pytest.approx(-0.08)
    assert result.p_value < 1e-10
    assert verdict == stats.DRIFT


def test_rare_rate_tripling_is_drift_though_under_the_absolute_floor() -> None:
    """Rollbacks 0.3% -> 0.9% (40,000 and 10,000 tasks): 0.6 points, under the 2-point floor, but
    a tripling of a rare rate: drift. With the relative rule off (a huge multiple) it is ok."""
    result, verdict = _proportion_verdict(40_000, 0.003, 10_000, 0.009, "higher")
    assert result.effect == pytest.approx(0.006) and result.p_value < 1e-6
    assert verdict == stats.DRIFT
    off = FLOORS.model_copy(update={"rare_multiple": 1e9})
    assert _proportion_verdict(40_000, 0.003, 10_000, 0.009, "higher", off)[1] == stats.OK
    # a rise under a doubling is not worth acting on, however significant
    assert _proportion_verdict(400_000, 0.003, 100_000, 0.0055, "higher")[1] == stats.OK


def test_huge_sample_tiny_shift_simulated() -> None:
    """The same with random draws, 30 runs of 100,000 tasks per window: never drift."""
    rng = np.random.default_rng(11)
    small_p = 0
    for _ in range(30):
        baseline = proportion_summary(100_000, int(rng.binomial(100_000, 0.900)))
        recent = proportion_summary(100_000, int(rng.binomial(100_000, 0.897)))
        (result,) = stats.drift_tests(baseline, recent, worse="lower")
        small_p += result.p_value < FDR
        floor = stats.effect_floor(result, floor=FLOORS.proportion, floors=FLOORS)
        verdict = stats.verdict(result.effect, result.p_value, fdr=FDR, floor=floor, worse="lower")
        assert verdict == stats.OK
    assert small_p >= 10  # the shift is real and often significant; only the floor holds it back


# --- 7. has_enough ------------------------------------------------------------------------------


def _window_of(kind: str, n: int, rng: np.random.Generator) -> WindowSummary:
    success = rng.random(n) < 0.9
    if n:
        success[0] = True  # at least one success, so the ratio has a value
    if kind == "proportion":
        return proportion_summary(n, int(success.sum()))
    if kind == "continuous":
        return continuous_summary(rng.lognormal(3, 1, n))
    if kind == "ratio":
        return ratio_summary(rng.lognormal(0, 1, n), success)
    return count_summary(n, np.array([min(n, 3), 0, 0, 0, 0, 0, 0]))


@pytest.mark.parametrize("kind", ["proportion", "continuous", "ratio", "count"])
@pytest.mark.parametrize(
    ("n_baseline", "n_recent", "enough"),
    [
        (MIN - 1, MIN, False),
        (MIN, MIN - 1, False),
        (MIN - 1, MIN - 1, False),
        (0, 1000, False),
        (1000, 0, False),
        (MIN, MIN, True),
        (MIN + 1, 1000, True),
    ],
)
def test_has_enough(kind, n_baseline, n_recent, enough) -> None:
    assert MIN == 30
    rng = np.random.default_rng(n_baseline * 1000 + n_recent)
    baseline, recent = _window_of(kind, n_baseline, rng), _window_of(kind, n_recent, rng)
    assert stats.has_enough(baseline, recent, MIN) is enough


def test_has_enough_needs_a_histogram_and_a_value() -> None:
    rng = np.random.default_rng(12)
    baseline, recent = _window_of("continuous", 100, rng), _window_of("continuous", 100, rng)
    assert stats.has_enough(baseline, recent, MIN)
    assert not stats.has_enough(baseline, replace(recent, histogram=None), MIN)
    assert not stats.has_enough(replace(baseline, value=None), recent, MIN)


def test_a_starved_agent_is_insufficient_data() -> None:
    """An agent with 20 tasks in its recent week (fewer than min_samples): no metric is tested,
    so the caller reports insufficient_data rather than a verdict."""
    rng = np.random.default_rng(13)
    base = Window(rng, NORMAL, BASELINE_DAYS, 100)
    starved = Window(rng, replace(NORMAL, success=0.5), RECENT_DAYS, 20 / RECENT_DAYS)
    assert starved.n < MIN
    for metric in AGENT:
        assert not stats.has_enough(base.summary(metric), starved.summary(metric), MIN), metric


# --- 8. ratio: the delta-method variance ---------------------------------------------------------


@pytest.mark.parametrize(
    ("failed_cost_factor", "success"),
    [(1.0, 0.9), (2.0, 0.9), (4.0, 0.7)],
    ids=["independent", "failures_cost_2x", "failures_cost_4x_success_0.7"],
)
def test_ratio_z_has_unit_variance_under_no_drift(failed_cost_factor, success) -> None:
    """Recent/baseline pairs from one distribution: the delta-method z has mean ~0 and sd ~1.
    Cost and success come from the same tasks; when failures cost more, their covariance matters:
    a variance without the covariance term gives sd ~1.19 in the last case (measured), so this
    check would catch it."""
    rng = np.random.default_rng(int(failed_cost_factor * 100 + success * 10))
    z_values = []
    for _ in range(2000):
        pair = []
        for n in (2800, 700):
            ok = rng.random(n) < success
            cost = rng.lognormal(math.log(0.40), 0.8, n) * np.where(ok, 1.0, failed_cost_factor)
            pair.append(ratio_summary(cost, ok))
        (result,) = stats.drift_tests(*pair, worse="higher")
        assert result.test == "delta_method_z"
        z_values.append(result.statistic)
    z = np.array(z_values)
    print(f"\nratio z ({failed_cost_factor}x, {success}): mean {z.mean():+.3f}, sd {z.std():.3f}")
    assert abs(z.std(ddof=1) - 1.0) < 0.1
    assert abs(z.mean()) < 0.1


# --- 9. no verdict where a test and its effect disagree ------------------------------------------


def test_rank_shift_against_the_mean_gives_no_verdict() -> None:
    """Most tasks got faster (median -20%) while a heavier tail raised the mean (+~20%): the
    rank test is significant but points the other way from the effect, so no drift is claimed
    on the centre (the heavier tail is the tail's and the spread's to report)."""
    rng = np.random.default_rng(11)
    baseline = continuous_summary(rng.lognormal(np.log(20), 1.0, 2800))
    recent = continuous_summary(rng.lognormal(np.log(16), 1.35, 700))
    center, tail, spread = stats.drift_tests(baseline, recent, worse="higher")
    assert center.p_value < 0.01 and center.effect > 0.05
    assert not center.consistent
    assert stats.verdict(center.effect, 0.0, fdr=0.05, floor=0.05, worse="higher",
                         consistent=center.consistent) == stats.OK  # fmt: skip
    assert tail.p_value < 0.01 and tail.effect > 0  # ~8% beyond the old p95 (expected 8.3%)
    assert spread.consistent and spread.effect > FLOORS.spread  # wider on both sides


def test_a_shift_of_the_whole_distribution_is_not_a_widening() -> None:
    """Latency x2 (log-sigma 1): 30% of recent values fall outside the baseline's central 80%,
    but all of the change is on one side while the other empties: the spread result is
    inconsistent (no verdict); the centre and the tail report the shift."""
    rng = np.random.default_rng(14)
    baseline = continuous_summary(rng.lognormal(np.log(20), 1.0, 12_000))
    recent = continuous_summary(2 * rng.lognormal(np.log(20), 1.0, 3_000))
    center, tail, spread = stats.drift_tests(baseline, recent, worse="higher")
    assert spread.effect > FLOORS.spread and spread.p_value < 1e-6
    assert not spread.consistent
    assert center.consistent and center.effect > 0.5 and tail.effect > 0.1


def test_coarse_values_keep_only_the_aspects_their_bins_allow() -> None:
    """1-5 feedback scores (worse lower): the lowest score holds ~5% (a tail region exists), the
    top score holds 40% (no region near 10% above p90): no spread test, since one side alone
    cannot tell a widening from a shift. A value that is always the same has no tail or spread
    test at all."""
    rng = np.random.default_rng(15)
    scores = np.arange(1.0, 6.0)
    baseline = continuous_summary(rng.choice(scores, 4000, p=FEEDBACK_SCORES), "customer_feedback")
    recent = continuous_summary(rng.choice(scores, 1000, p=FEEDBACK_SCORES), "customer_feedback")
    aspects = [r.aspect for r in stats.drift_tests(baseline, recent, worse="lower")]
    assert aspects == [stats.CENTER, stats.TAIL]
    constant = continuous_summary(np.full(100, 3.0))
    (center,) = stats.drift_tests(constant, constant, worse="higher")
    assert center.p_value == 1.0 and center.effect == 0.0


# --- 10. the run-level combination in monitor.engine.drift ----------------------------------------


def test_drift_findings_matches_the_simulated_combination() -> None:
    """`monitor.engine.drift.drift_findings` on simulated summaries gives the verdicts the helpers above
    assume: every aspect tested, BH across all agents' tests, then each result's floor
    (`stats.effect_floor`) and direction (`stats.verdict` with its aspect)."""
    from monitor.engine.drift import drift_findings
    from playbook.core.governance import Governance
    from playbook.core.model import Metric
    from playbook.core.windows import BASELINE, RECENT

    catalog = [
        Metric.model_validate({
            "id": metric, "name": metric, "kind": METRICS[metric][0],
            "worse": METRICS[metric][1], "unit": "u", "description": "d",
            "compute": {"where": {"outcome": "success"}, "sum": ["cost_usd"]},
        })
        for metric in AGENT
    ]  # fmt: skip
    agents = [
        SimpleNamespace(id=f"agent-{a}", monitor=SimpleNamespace(metrics=list(AGENT),
                                                                 effect_floors={}))
        for a in range(AGENTS)
    ]  # fmt: skip
    governance = Governance(
        root=None, organisation=None, operating_models=[], tiers=[], roles=[], metrics=catalog,
        rollout=None, agents=agents, monitor=SETTINGS,
    )  # fmt: skip
    rng = np.random.default_rng(16)
    worlds = {0: replace(NORMAL, success=0.80), 1: replace(NORMAL, latency_scale=0.7),
              2: replace(NORMAL, rollback=0.02)}  # fmt: skip
    summaries, tested = {}, []
    for a in range(AGENTS):
        base = Window(rng, NORMAL, BASELINE_DAYS, 100)
        now = Window(rng, worlds.get(a, NORMAL), RECENT_DAYS, 100)
        for metric in AGENT:
            b, r = base.summary(metric), now.summary(metric)
            summaries[(f"agent-{a}", BASELINE, metric)] = b
            summaries[(f"agent-{a}", RECENT, metric)] = r
            tested += [Tested(a, metric, result)
                       for result in stats.drift_tests(b, r, worse=METRICS[metric][1])]  # fmt: skip
    expected = verdicts(tested)
    findings = drift_findings(governance, summaries)
    got = {
        (int(f["agent"].split("-")[1]), f["metric"], f.get("aspect", stats.CENTER)): f["verdict"]
        for f in findings
    }
    assert got == expected
    assert got[(0, "task_success_rate", stats.CENTER)] == stats.DRIFT
    assert got[(1, "latency_s", stats.CENTER)] == stats.IMPROVED
    assert got[(2, "rollback_rate", stats.CENTER)] == stats.DRIFT  # 0.3% -> 2%: under 2 points
