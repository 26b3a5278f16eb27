"""Simulation tests of the drift statistics in `monitor.engine.stats`.

Each simulated "run" mirrors `monitor.run.drift_findings`: several agents, each with one metric of
every kind, baseline = 28 days and recent = 7 days of ~100 tasks a day; every (agent, metric) pair
is tested, Benjamini-Hochberg q-values are taken across the run, and a verdict is given with the
default effect floors (`playbook.core.settings.EffectFloors`) at the default FDR of 0.05.

The simulated agent (per task):
- success ~ Bernoulli(0.90)                                   -> proportion, worse lower
- latency ~ lognormal, median 20 s, sigma 1.0 (heavy tail)    -> continuous, worse higher
- cost ~ lognormal, median $0.40, sigma 0.8, failures cost x2 -> ratio cost / successes, higher
- a rare event (e.g. unauthorised attempt), ~2 a day          -> count, worse higher

Every test is seeded, so results are reproducible; the bounds are chosen so that the assertions
hold with a wide margin for an honest implementation while still failing for a broken one (e.g.
a test that ignores the covariance of the ratio, an unpooled or one-sided p-value, a verdict that
ignores direction or the floor).

Measured figures are printed; run with `-s` to see them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pytest

from monitor.engine import stats
from monitor.engine.metrics import WindowStats
from playbook.core.settings import MonitorSettings
from playbook.core.windows import BASELINE, RECENT

SETTINGS = MonitorSettings()  # fdr 0.05, min_samples 30, default effect floors
FDR = SETTINGS.fdr
DEFAULT_FLOORS = {
    kind: getattr(SETTINGS.effect_floors, kind)
    for kind in ("proportion", "continuous", "ratio", "count")
}
NO_FLOORS = dict.fromkeys(DEFAULT_FLOORS, 0.0)

TASKS_PER_DAY = 100
BASELINE_DAYS = 28
RECENT_DAYS = 7
AGENTS = 5

LATENCY_MEDIAN_S, LATENCY_SIGMA = 20.0, 1.0
COST_MEDIAN_USD, COST_SIGMA, FAILED_COST_FACTOR = 0.40, 0.8, 2.0

# (metric id, kind, worse)
METRICS = (
    ("task_success_rate", "proportion", "lower"),
    ("latency_s", "continuous", "higher"),
    ("cost_per_successful_task", "ratio", "higher"),
    ("unauthorized_attempts", "count", "higher"),
)
KIND_OF = {metric: kind for metric, kind, _ in METRICS}
WORSE_OF = {metric: worse for metric, _, worse in METRICS}


def binomial_se(p: float, trials: int) -> float:
    return math.sqrt(p * (1 - p) / trials)


# --- WindowStats from simulated arrays ----------------------------------------------------------


def proportion_stats(flags: np.ndarray, metric: str = "task_success_rate") -> WindowStats:
    n, k = len(flags), int(np.count_nonzero(flags))
    return WindowStats(metric, "proportion", n=n, matches=k, value=k / n if n else None)


def continuous_stats(values: np.ndarray, metric: str = "latency_s") -> WindowStats:
    values = np.asarray(values, dtype=float)
    value = float(values.mean()) if len(values) else None
    return WindowStats(metric, "continuous", n=len(values), value=value, values=values)


def ratio_stats(
    x: np.ndarray, success: np.ndarray, metric: str = "cost_per_successful_task"
) -> WindowStats:
    """x = cost per task, y = 1 for a successful task else 0; value = sum(x) / sum(y)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(success, dtype=float)
    sums = {
        "sx": float(x.sum()),
        "sy": float(y.sum()),
        "sxx": float((x * x).sum()),
        "syy": float((y * y).sum()),
        "sxy": float((x * y).sum()),
    }
    value = sums["sx"] / sums["sy"] if sums["sy"] else None
    return WindowStats(metric, "ratio", n=len(x), value=value, sums=sums)


def count_stats(
    tasks: int, events: int, days: float, metric: str = "unauthorized_attempts"
) -> WindowStats:
    return WindowStats(
        metric, "count", n=tasks, matches=events, days=float(days), value=events / days
    )


# --- the simulated agent ------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """The distribution one agent's tasks come from during one window."""

    success: float = 0.90
    latency_scale: float = 1.0  # multiplies every latency, hence the mean
    cost_scale: float = 1.0  # multiplies every cost, hence cost per success
    event_rate: float = 2.0  # rare events per day


NORMAL = World()


def simulate_window(rng: np.random.Generator, world: World, days: float) -> dict[str, WindowStats]:
    n = int(rng.poisson(TASKS_PER_DAY * days))
    success = rng.random(n) < world.success
    latency = world.latency_scale * rng.lognormal(math.log(LATENCY_MEDIAN_S), LATENCY_SIGMA, n)
    cost = world.cost_scale * rng.lognormal(math.log(COST_MEDIAN_USD), COST_SIGMA, n)
    cost *= np.where(success, 1.0, FAILED_COST_FACTOR)
    # Poisson-many tasks, each an event with probability rate / tasks-per-day: Poisson events.
    events = int(rng.binomial(n, world.event_rate / TASKS_PER_DAY))
    return {
        "task_success_rate": proportion_stats(success),
        "latency_s": continuous_stats(latency),
        "cost_per_successful_task": ratio_stats(cost, success),
        "unauthorized_attempts": count_stats(n, events, days),
    }


@dataclass(frozen=True)
class Outcome:
    agent: int
    metric: str
    p_value: float
    effect: float


def simulate_run(
    rng: np.random.Generator, recent_worlds: dict[int, World] | None = None
) -> list[Outcome]:
    """Test every (agent, metric) of one run; the baseline is always NORMAL."""
    recent_worlds = recent_worlds or {}
    tested = []
    for agent in range(AGENTS):
        baseline = simulate_window(rng, NORMAL, BASELINE_DAYS)
        recent = simulate_window(rng, recent_worlds.get(agent, NORMAL), RECENT_DAYS)
        for metric, _, _ in METRICS:
            assert stats.has_enough(baseline[metric], recent[metric], SETTINGS.min_samples)
            result = stats.drift_test(baseline[metric], recent[metric])
            assert result.p_value is not None and 0.0 <= result.p_value <= 1.0
            tested.append(Outcome(agent, metric, result.p_value, result.effect))
    return tested


def verdicts(
    tested: list[Outcome], floors: dict[str, float], fdr: float = FDR
) -> dict[tuple[int, str], str]:
    """BH across the run, then the floor and direction: as `monitor.run.drift_findings` does."""
    q_values = stats.benjamini_hochberg([t.p_value for t in tested])
    return {
        (t.agent, t.metric): stats.verdict(
            t.effect, q, fdr=fdr, floor=floors[KIND_OF[t.metric]], worse=WORSE_OF[t.metric]
        )
        for t, q in zip(tested, q_values, strict=True)
    }


# --- 1. false alarms under no drift -------------------------------------------------------------

NULL_RUNS = 400  # x 5 agents = 2,000 tests of each kind


@pytest.fixture(scope="module")
def null_runs() -> list[list[Outcome]]:
    rng = np.random.default_rng(20261124)
    return [simulate_run(rng) for _ in range(NULL_RUNS)]


@pytest.mark.parametrize("floors", [DEFAULT_FLOORS, NO_FLOORS], ids=["default_floors", "floor_0"])
def test_no_drift_runs_rarely_raise_any_drift(null_runs, floors) -> None:
    """Same distribution in both windows: the share of runs (20 tests each) with ANY drift verdict
    is at most the FDR plus 3 binomial SE. With floor 0 this is pure BH, so it shows the p-values
    are honest rather than rescued by the effect floor (under the global null BH controls the
    family-wise error at the FDR)."""
    runs = len(null_runs)
    alarmed = sum(
        any(v == stats.DRIFT for v in verdicts(run, floors).values()) for run in null_runs
    )
    rate = alarmed / runs
    bound = FDR + 3 * binomial_se(FDR, runs)
    print(f"\nno drift, floors={floors}: runs with a drift verdict {alarmed}/{runs} = {rate:.4f}")
    assert rate <= bound, f"false-alarm run rate {rate:.4f} > {bound:.4f}"


def test_no_drift_is_ok_everywhere_with_default_floors(null_runs) -> None:
    """The effect floors on top of BH: without a true shift, nothing at all is flagged — neither
    drift nor improved — in (nearly) every run."""
    flagged = sum(
        any(v != stats.OK for v in verdicts(run, DEFAULT_FLOORS).values()) for run in null_runs
    )
    print(f"\nno drift: runs with any non-ok verdict (default floors) {flagged}/{len(null_runs)}")
    assert flagged / len(null_runs) <= 2 * FDR


# (kind, check the lower bound too): the z-tests should be close to nominal; the exact conditional
# Poisson test at ~70 events is discrete and conservative, so only its upper bound is asserted.
CALIBRATION = [
    ("proportion", True),
    ("continuous", True),
    ("ratio", True),
    ("count", False),
]


@pytest.mark.parametrize(("kind", "two_sided_check"), CALIBRATION)
def test_null_p_values_are_calibrated(null_runs, kind, two_sided_check) -> None:
    """Under no drift, the share of single tests with p < 0.05 is 0.05 within 3 binomial SE
    (only <= for the discrete exact count test)."""
    p_values = np.array([t.p_value for run in null_runs for t in run if KIND_OF[t.metric] == kind])
    assert len(p_values) == NULL_RUNS * AGENTS
    rate = float(np.mean(p_values < 0.05))
    se = binomial_se(0.05, len(p_values))
    print(f"\n{kind}: P(p < 0.05 | no drift) = {rate:.4f} over {len(p_values)} tests (SE {se:.4f})")
    assert rate <= 0.05 + 3 * se
    if two_sided_check:
        assert rate >= 0.05 - 3 * se
    # Two-sided: neither direction may carry the whole error (a one-sided test would).
    effects = np.array([t.effect for run in null_runs for t in run if KIND_OF[t.metric] == kind])
    rejected = p_values < 0.05
    if rejected.sum() >= 20:
        share_up = float(np.mean(effects[rejected] > 0))
        assert 0.15 <= share_up <= 0.85, f"rejections are one-sided: {share_up:.2f} upwards"


def _null_p_values(rng, trials, make_pair) -> np.ndarray:
    p_values = []
    for _ in range(trials):
        baseline, recent = make_pair(rng)
        result = stats.drift_test(baseline, recent)
        p_values.append(1.0 if result.p_value is None else result.p_value)
    return np.array(p_values)


def test_fisher_branch_is_not_anticonservative() -> None:
    """A rare failure (success 0.998, ~1.4 failures expected in the recent week) sends the
    proportion test to Fisher's exact test; under no drift it must not reject more than 5%."""
    rng = np.random.default_rng(7)

    def pair(rng):
        return (
            proportion_stats(rng.random(BASELINE_DAYS * TASKS_PER_DAY) < 0.998),
            proportion_stats(rng.random(RECENT_DAYS * TASKS_PER_DAY) < 0.998),
        )

    assert stats.drift_test(*pair(rng)).test == "fisher_exact"
    p_values = _null_p_values(rng, 2000, pair)
    rate = float(np.mean(p_values < 0.05))
    print(f"\nfisher: P(p < 0.05 | no drift) = {rate:.4f}")
    assert rate <= 0.05 + 3 * binomial_se(0.05, len(p_values))


def test_mann_whitney_with_heavy_ties_is_calibrated() -> None:
    """Latency logged in whole seconds with a short median: many ties. The tie-corrected rank test
    still rejects ~5% under no drift."""
    rng = np.random.default_rng(8)

    def pair(rng):
        return (
            continuous_stats(np.round(rng.lognormal(math.log(3), 0.6, BASELINE_DAYS * 100))),
            continuous_stats(np.round(rng.lognormal(math.log(3), 0.6, RECENT_DAYS * 100))),
        )

    p_values = _null_p_values(rng, 2000, pair)
    rate = float(np.mean(p_values < 0.05))
    se = binomial_se(0.05, len(p_values))
    print(f"\nmann-whitney with ties: P(p < 0.05 | no drift) = {rate:.4f}")
    assert 0.05 - 3 * se <= rate <= 0.05 + 3 * se


def test_count_test_is_calibrated_at_a_higher_rate() -> None:
    """At 20 events a day the conditional binomial is fine-grained; its size is then close to
    0.05 from both sides (the conservativeness at ~2 a day is discreteness, not a wrong null)."""
    rng = np.random.default_rng(9)

    def pair(rng):
        return (
            count_stats(2800, int(rng.poisson(20 * BASELINE_DAYS)), BASELINE_DAYS),
            count_stats(700, int(rng.poisson(20 * RECENT_DAYS)), RECENT_DAYS),
        )

    p_values = _null_p_values(rng, 4000, pair)
    rate = float(np.mean(p_values < 0.05))
    se = binomial_se(0.05, len(p_values))
    print(f"\ncount at 20/day: P(p < 0.05 | no drift) = {rate:.4f}")
    assert 0.05 - 3 * se <= rate <= 0.05 + 3 * se


# --- 2. power -----------------------------------------------------------------------------------

POWER_RUNS = 150

# Shifts worth acting on that a run finds (verdict drift) in >= 90% of runs at 28 + 7 days of ~100
# tasks a day, with 19 unshifted tests in the same run for BH; measured power is printed (~0.97-1.0
# with these seeds). Smaller shifts that are NOT found that reliably at these sizes (measured, 200
# runs each): success 0.90 -> 0.84 ~0.91 (borderline); cost per success +20% ~0.71 and +25% ~0.93
# (the cost is heavy-tailed: lognormal sigma 0.8, failures cost 2x); latency mean +15% ~0.57;
# a 2-a-day rare event doubling (14 -> 28 expected in the week) ~0.44, x2.5 ~0.81.
POWER_SHIFTS = {
    "success_0.90_to_0.83": ("task_success_rate", replace(NORMAL, success=0.83)),
    "latency_mean_plus_25pct": ("latency_s", replace(NORMAL, latency_scale=1.25)),
    "cost_per_success_plus_30pct": ("cost_per_successful_task", replace(NORMAL, cost_scale=1.30)),
    "rare_events_x3_from_2_per_day": ("unauthorized_attempts", replace(NORMAL, event_rate=6.0)),
}


def _share(rng, metric: str, world: World, runs: int, verdict: str) -> tuple[float, int]:
    found = other_drift = 0
    for _ in range(runs):
        run = verdicts(simulate_run(rng, {0: world}), DEFAULT_FLOORS)
        found += run[(0, metric)] == verdict
        other_drift += any(v == stats.DRIFT for (agent, _), v in run.items() if agent != 0)
    return found / runs, other_drift


@pytest.mark.parametrize("name", list(POWER_SHIFTS))
def test_planted_shift_is_found(name) -> None:
    """One agent's metric shifted in its worse direction, everything else unshifted: drift."""
    metric, world = POWER_SHIFTS[name]
    rng = np.random.default_rng(list(POWER_SHIFTS).index(name) + 100)
    power, other_drift = _share(rng, metric, world, POWER_RUNS, stats.DRIFT)
    print(
        f"\n{name}: drift found in {power:.3f} of {POWER_RUNS} runs; "
        f"runs with drift in an unshifted agent: {other_drift}"
    )
    assert power >= 0.90, f"{name}: power {power:.3f} < 0.90"


# --- 3. direction -------------------------------------------------------------------------------

IMPROVEMENTS = {
    "success_0.90_to_0.96": ("task_success_rate", replace(NORMAL, success=0.96)),
    "latency_mean_minus_25pct": ("latency_s", replace(NORMAL, latency_scale=0.75)),
    "cost_per_success_minus_25pct": ("cost_per_successful_task", replace(NORMAL, cost_scale=0.75)),
    # a fall is harder to see in a count than a rise: 5 -> 1 a day (35 -> 7 in the week)
    "rare_events_5_to_1_per_day": ("unauthorized_attempts", replace(NORMAL, event_rate=1.0)),
}


@pytest.mark.parametrize("name", list(IMPROVEMENTS))
def test_shift_in_better_direction_is_improved_never_drift(name) -> None:
    metric, world = IMPROVEMENTS[name]
    rng = np.random.default_rng(list(IMPROVEMENTS).index(name) + 200)
    runs = 100
    improved = drift = 0
    for _ in range(runs):
        if metric == "unauthorized_attempts":
            tested = _run_with_baseline(rng, replace(NORMAL, event_rate=5.0), world)
        else:
            tested = simulate_run(rng, {0: world})
        verdict = verdicts(tested, DEFAULT_FLOORS)[(0, metric)]
        improved += verdict == stats.IMPROVED
        drift += verdict == stats.DRIFT
    print(f"\n{name}: improved in {improved}/{runs} runs, drift in {drift}")
    assert drift == 0
    assert improved / runs >= 0.90


def _run_with_baseline(rng, baseline_world: World, recent_world: World) -> list[Outcome]:
    """Like simulate_run, but agent 0 has its own baseline world too."""
    tested = simulate_run(rng)
    tested = [t for t in tested if t.agent != 0]
    baseline = simulate_window(rng, baseline_world, BASELINE_DAYS)
    recent = simulate_window(rng, recent_world, RECENT_DAYS)
    for metric, _, _ in METRICS:
        result = stats.drift_test(baseline[metric], recent[metric])
        tested.append(Outcome(0, metric, result.p_value, result.effect))
    return tested


@pytest.mark.parametrize(
    ("worse", "effect", "expected"),
    [
        ("lower", -0.05, stats.DRIFT),
        ("lower", 0.05, stats.IMPROVED),
        ("higher", 0.30, stats.DRIFT),
        ("higher", -0.30, stats.IMPROVED),
        ("higher", math.inf, stats.DRIFT),  # a count rising from zero
        ("lower", math.inf, stats.IMPROVED),
    ],
)
def test_verdict_direction(worse, effect, expected) -> None:
    assert stats.verdict(effect, 0.001, fdr=FDR, floor=0.02, worse=worse) == expected
    # not significant, or below the floor: ok either way
    assert stats.verdict(effect, 0.2, fdr=FDR, floor=0.02, worse=worse) == stats.OK
    if math.isfinite(effect):
        assert stats.verdict(effect, 0.001, fdr=FDR, floor=1.0, worse=worse) == stats.OK


# --- 4. huge sample, tiny shift; moderate sample, big shift -------------------------------------


def _proportion_window(n: int, share: float) -> WindowStats:
    k = round(n * share)
    return WindowStats("task_success_rate", "proportion", n=n, matches=k, value=k / n)


def test_huge_sample_tiny_shift_is_ok_because_of_the_floor() -> None:
    """0.900 -> 0.897 on 100,000 tasks per window: significant (p ~ 0.03) but 0.3 points is under
    the 2-point floor, so ok; with floor 0 the same result would be drift."""
    baseline, recent = _proportion_window(100_000, 0.900), _proportion_window(100_000, 0.897)
    result = stats.drift_test(baseline, recent)
    assert result.test == "two_proportion_z"
    assert result.effect == pytest.approx(-0.003)
    assert result.p_value < FDR
    for floor, expected in ((DEFAULT_FLOORS["proportion"], stats.OK), (0.0, stats.DRIFT)):
        verdict = stats.verdict(result.effect, result.p_value, fdr=FDR, floor=floor, worse="lower")
        assert verdict == expected


def test_big_shift_on_moderate_sample_is_drift() -> None:
    """0.90 -> 0.82 on 3,000 tasks per window: drift (z ~ -9)."""
    baseline, recent = _proportion_window(3000, 0.90), _proportion_window(3000, 0.82)
    result = stats.drift_test(baseline, recent)
    assert result.effect == pytest.approx(-0.08)
    assert result.p_value < 1e-10
    floor = DEFAULT_FLOORS["proportion"]
    verdict = stats.verdict(result.effect, result.p_value, fdr=FDR, floor=floor, worse="lower")
    assert verdict == stats.DRIFT


def test_huge_sample_tiny_shift_simulated() -> None:
    """The same with random draws, in 30 runs of 100,000 tasks per window: never drift."""
    rng = np.random.default_rng(11)
    floor = DEFAULT_FLOORS["proportion"]
    small_p = 0
    for _ in range(30):
        baseline = proportion_stats(rng.random(100_000) < 0.900)
        recent = proportion_stats(rng.random(100_000) < 0.897)
        result = stats.drift_test(baseline, recent)
        small_p += result.p_value < FDR
        verdict = stats.verdict(result.effect, result.p_value, fdr=FDR, floor=floor, worse="lower")
        assert verdict == stats.OK
    assert small_p >= 10  # the shift is real and often significant; only the floor holds it back


# --- 5. has_enough ------------------------------------------------------------------------------


def _window_of(kind: str, n: int, rng: np.random.Generator) -> WindowStats:
    success = rng.random(n) < 0.9
    if n:
        success[0] = True  # at least one success, so the ratio has a value
    if kind == "proportion":
        return proportion_stats(success)
    if kind == "continuous":
        return continuous_stats(rng.lognormal(3, 1, n))
    if kind == "ratio":
        return ratio_stats(rng.lognormal(0, 1, n), success)
    return count_stats(n, min(n, 3), 7)


MIN = SETTINGS.min_samples


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


def test_has_enough_needs_values() -> None:
    rng = np.random.default_rng(12)
    baseline, recent = _window_of("continuous", 100, rng), _window_of("continuous", 100, rng)
    assert stats.has_enough(baseline, recent, MIN)
    assert not stats.has_enough(baseline, replace(recent, values=None), MIN)
    assert not stats.has_enough(replace(baseline, value=None), recent, MIN)


# --- 6. ratio: the delta-method variance ---------------------------------------------------------


@pytest.mark.parametrize(
    ("failed_cost_factor", "success"),
    [(1.0, 0.9), (FAILED_COST_FACTOR, 0.9), (4.0, 0.7)],
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
        for days in (BASELINE_DAYS, RECENT_DAYS):
            n = days * TASKS_PER_DAY
            ok = rng.random(n) < success
            cost = rng.lognormal(math.log(COST_MEDIAN_USD), COST_SIGMA, n)
            cost *= np.where(ok, 1.0, failed_cost_factor)
            pair.append(ratio_stats(cost, ok))
        result = stats.drift_test(*pair)
        assert result.test == "delta_method_z"
        z_values.append(result.statistic)
    z = np.array(z_values)
    print(
        f"\nratio z ({failed_cost_factor}x, success {success}): "
        f"mean {z.mean():+.3f}, sd {z.std(ddof=1):.3f}"
    )
    assert abs(z.std(ddof=1) - 1.0) < 0.1
    assert abs(z.mean()) < 0.1


# --- the run-level combination in monitor.run ----------------------------------------------------


def test_drift_findings_matches_the_simulated_combination() -> None:
    """`monitor.run.drift_findings` on simulated window stats gives the verdicts and q-values the
    helpers above assume (BH across all agents' tests, then floor and direction)."""
    from monitor.run import drift_findings
    from playbook.core.governance import Governance
    from playbook.core.model import Metric

    rng = np.random.default_rng(13)
    catalog = [
        Metric.model_validate(
            {
                "id": metric,
                "name": metric,
                "kind": kind,
                "worse": worse,
                "unit": "u",
                "description": "d",
                "compute": {"where": {"outcome": "success"}, "sum": ["cost_usd"]},
            }
        )
        for metric, kind, worse in METRICS
    ]
    agents = [
        SimpleNamespace(
            id=f"agent-{a}",
            monitor=SimpleNamespace(metrics=[m for m, _, _ in METRICS], effect_floors={}),
        )
        for a in range(AGENTS)
    ]
    governance = Governance(
        root=None,
        organisation=None,
        operating_models=[],
        tiers=[],
        roles=[],
        metrics=catalog,
        rollout=None,
        agents=agents,
        monitor=SETTINGS,
    )
    worlds = {0: replace(NORMAL, success=0.80), 1: replace(NORMAL, latency_scale=0.7)}
    window_stats = {}
    tested = []
    for a in range(AGENTS):
        baseline = simulate_window(rng, NORMAL, BASELINE_DAYS)
        recent = simulate_window(rng, worlds.get(a, NORMAL), RECENT_DAYS)
        for metric, _, _ in METRICS:
            window_stats[(f"agent-{a}", BASELINE, metric)] = baseline[metric]
            window_stats[(f"agent-{a}", RECENT, metric)] = recent[metric]
            result = stats.drift_test(baseline[metric], recent[metric])
            tested.append(Outcome(a, metric, result.p_value, result.effect))
    expected = verdicts(tested, DEFAULT_FLOORS)
    findings = drift_findings(governance, window_stats)
    got = {(int(f["agent"].split("-")[1]), f["metric"]): f["verdict"] for f in findings}
    assert got == expected
    assert got[(0, "task_success_rate")] == stats.DRIFT
    assert got[(1, "latency_s")] == stats.IMPROVED


def test_rank_shift_against_the_mean_gives_no_verdict() -> None:
    """Most tasks got faster (median -20%) while a heavier tail raised the mean (+~20%): the
    rank test is significant but points the other way from the effect, so no drift is claimed."""
    rng = np.random.default_rng(11)
    baseline = continuous_stats(rng.lognormal(np.log(20), 1.0, 2800))
    recent = continuous_stats(rng.lognormal(np.log(16), 1.35, 700))
    result = stats.drift_test(baseline, recent)
    assert result.p_value < 0.01 and result.effect > 0.05
    assert not result.consistent
    assert stats.verdict(result.effect, 0.0, fdr=0.05, floor=0.05, worse="higher",
                         consistent=result.consistent) == stats.OK  # fmt: skip
