"""Seeded example events for an organisation's charters: `govkit events generate`.

Each agent behaves well in a way derived from its charter, so that with nothing planted no
guardrail, stop condition or drift test fires and the north star is met: success comfortably above
every target and `below` threshold; flag rates (rework, policy hits, rollbacks, ...) at 40% of the
tightest `max`/`above` (lower when a window holds too few tasks for that to be safe); latency, cost
and reviewer time at half their tightest limit; spend split like the charter's budget and at most
60% of it over a 31-day month, so no `BudgetOverrun` fires either. Behaviour is stationary over the
whole period, so a baseline and the recent window share one distribution. Two things are planted,
deterministically:

- drift: the first charter (in governance order) whose monitor watches `customer_feedback` has
  that score lowered by 15% over its recent window;
- a stop-condition breach: the first `above` stop condition on a flag proportion (rollback_rate
  preferred, then one whose window fits in the recent window) is pushed to 2.5 times its threshold
  over its window, changing only the recent window. A drift test on that metric fires too.

One `default_rng(seed)` draws everything, vectorised: the same seed, governance and `now` give
the same file. DuckDB writes it (Parquet, CSV or JSON Lines, by extension) through a temporary file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from scipy.stats import binom

from monitor.engine.events import WRITE_FORMATS, copy_frame
from monitor.engine.sql import literal
from playbook.core.charter import Charter
from playbook.core.clock import parse_window
from playbook.core.errors import UsageError
from playbook.core.governance import Governance
from playbook.core.model import Metric
from playbook.core.windows import charter_windows, recent_length

OUTCOMES = ("success", "failure", "escalated")
# Flag columns every file has, and their rate when no charter limits them.
FLAG_DEFAULTS = {"reworked": 0.05, "policy_hit": 0.02, "rolled_back": 0.005,
                 "financial_error": 0.001, "unauthorized_attempt": 0.001}  # fmt: skip
OTHER_FLAG_DEFAULT = 0.01  # a custom boolean column the catalog names
NUMBERS = ("latency_s", "cost_usd", "tooling_cost_usd", "reviewer_minutes")
COST_COLUMNS = {"cost_usd", "tooling_cost_usd", "human_cost_usd"}
FEEDBACK_SHARE = 0.4  # share of tasks with a customer rating
DRIFT_FACTOR = 0.85  # planted drift: customer_feedback 15% lower
BREACH_FACTOR = 2.5  # planted stop breach: 2.5 times the threshold
LIMIT_SHARE = 0.5  # healthy means: half of the tightest limit
RATE_SHARE = 0.4  # healthy flag rates: 40% of the tightest limit
BUDGET_SHARE = 0.6  # healthy spend: at most 60% of the monthly budget
LONGEST_MONTH = 31  # days: the budget share holds in every month
DAY = timedelta(days=1)
Bound = tuple[float, float]  # a limit's threshold and its window in days


@dataclass
class Profile:
    """One agent's healthy behaviour: outcome shares, means, flag rates."""

    success: float
    escalated: float
    latency_s: float
    cost_usd: float
    tooling_cost_usd: float
    reviewer_minutes: float
    feedback: float
    flags: dict[str, float]


@dataclass(frozen=True)
class Plant:
    """A change to one agent's `column` from `start` (epoch seconds) on."""

    agent: str
    metric: str
    column: str
    start: int
    rate: float | None = None  # flags: the planted rate; feedback: DRIFT_FACTOR applies


def _recent(charter: Charter) -> timedelta:
    return recent_length(charter)


def _limits(charter: Charter, metric: Metric) -> list[tuple[bool, float, float]]:
    """(is an upper limit, threshold, window in days) of each limit the charter sets."""
    recent = _recent(charter) / DAY
    limits = [(g.max is not None, g.bound[1], recent) for g in charter.guardrails
              if g.metric == metric.id]  # fmt: skip
    limits += [(s.above is not None, s.threshold[1], parse_window(s.window) / DAY)
               for s in charter.stop_conditions if s.metric == metric.id]  # fmt: skip
    if charter.north_star.metric == metric.id:
        limits.append((metric.worse == "higher", charter.north_star.target, recent))
    return limits


def _safe_rate(rate: float, threshold: float, tasks: float, *, upper: bool) -> float:
    """Move a rate away from a threshold until crossing it by chance is a 1-in-1,000 event."""
    n = max(round(tasks), 1)
    for _ in range(60):
        if upper and binom.sf(math.floor(threshold * n), n, rate) > 1e-3:
            rate *= 0.8
        elif not upper and binom.cdf(math.ceil(threshold * n) - 1, n, rate) > 1e-3:
            rate = 1.0 - 0.8 * (1.0 - rate)
        else:
            break
    return rate


def flag_column(metric: Metric) -> str | None:
    """The boolean column a proportion or count metric counts (`where: {column: true}`)."""
    where = metric.compute.where if metric.compute else None
    if metric.kind in {"proportion", "count"} and where and len(where) == 1:
        column, value = next(iter(where.items()))
        return column if value is True else None
    return None


def flag_columns(governance: Governance) -> list[str]:
    named = [flag_column(m) for m in governance.metrics if m.from_events]
    return list(dict.fromkeys([*FLAG_DEFAULTS, *(c for c in named if c)]))


@dataclass
class _Needs:
    """What a charter's limits ask of an agent's behaviour, gathered metric by metric."""

    flags: dict[str, float]  # flag column -> rate
    limited: set[str] = field(default_factory=set)  # flag columns some limit has lowered
    success: float = 0.94
    escalated: float = 0.03
    success_floors: list[Bound] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)  # caps on the mean
    minutes: list[float] = field(default_factory=list)
    cost: list[tuple[str, float]] = field(default_factory=list)  # (metric kind, cap)
    feedback: list[float] = field(default_factory=lambda: [1.0])  # floors


def healthy_profile(governance: Governance, charter: Charter, tasks_per_day: float) -> Profile:
    """Behaviour clear of every limit the charter sets (see the module docstring)."""
    needs = _Needs({c: FLAG_DEFAULTS.get(c, OTHER_FLAG_DEFAULT) for c in flag_columns(governance)})
    for metric in governance.metrics:
        if metric.compute is not None and metric.from_events:
            _note_limits(needs, metric, _limits(charter, metric), tasks_per_day)
    success = _healthy_success(needs, tasks_per_day)
    escalated = min(needs.escalated, 0.5 * (1.0 - success))
    totals = [cap * success if kind == "ratio" else cap for kind, cap in needs.cost]
    score = _healthy_feedback(needs.feedback)
    minutes = min(needs.minutes, default=None)
    spend = _spend(governance, charter, min(totals, default=None), minutes, tasks_per_day)
    return Profile(success, escalated, min(needs.latency, default=20.0), *spend, score, needs.flags)


def _note_limits(
    needs: _Needs, metric: Metric, limits: list[tuple[bool, float, float]], tasks_per_day: float
) -> None:
    """Record what one metric's limits ask, by what the metric measures."""
    uppers, lowers = _split_limits(limits)
    outcome = _outcome_share(metric)
    column = flag_column(metric)
    if outcome == "success":
        needs.success_floors += lowers
        needs.success = max([needs.success] + [t + 0.8 * (1.0 - t) for t, _ in lowers])
    elif outcome == "escalated":
        needs.escalated = min([needs.escalated] + [RATE_SHARE * t for t, _ in uppers])
    elif column is not None and uppers:
        _note_flag_limits(needs, column, metric, uppers, tasks_per_day)
    else:
        _note_mean_limits(needs, metric, uppers, lowers)


def _outcome_share(metric: Metric) -> str | None:
    """The outcome a proportion metric counts, when it is success or escalation."""
    where = metric.compute.where if metric.compute else None
    if metric.kind == "proportion" and where in ({"outcome": "success"}, {"outcome": "escalated"}):
        return where["outcome"]
    return None


def _split_limits(limits: list[tuple[bool, float, float]]) -> tuple[list[Bound], list[Bound]]:
    """(upper limits, lower limits)."""
    uppers = [(t, days) for up, t, days in limits if up]
    lowers = [(t, days) for up, t, days in limits if not up]
    return uppers, lowers


def _note_flag_limits(
    needs: _Needs, column: str, metric: Metric, uppers: list[Bound], tasks_per_day: float
) -> None:
    """A flag's rate: RATE_SHARE of each cap, lowered until a window rarely crosses it by chance;
    the lowest rate any limit asks for wins."""
    for threshold, days in uppers:
        per_task = threshold / tasks_per_day if metric.kind == "count" else threshold
        rate = _safe_rate(RATE_SHARE * per_task, per_task, tasks_per_day * days, upper=True)
        needs.flags[column] = min(needs.flags[column], rate) if column in needs.limited else rate
        needs.limited.add(column)


def _note_mean_limits(
    needs: _Needs, metric: Metric, uppers: list[Bound], lowers: list[Bound]
) -> None:
    """Caps on mean latency, reviewer time and cost (LIMIT_SHARE of each); floors on feedback."""
    summed = set(metric.compute.sum or []) if metric.compute else set()
    caps = [LIMIT_SHARE * t for t, _ in uppers]
    if summed == {"latency_s"}:
        needs.latency += caps
    elif summed == {"reviewer_minutes"}:
        needs.minutes += caps
    elif summed & COST_COLUMNS:
        needs.cost += [(metric.kind, cap) for cap in caps]
    elif summed == {"customer_feedback"}:
        needs.feedback += [t for t, _ in lowers]


def _healthy_success(needs: _Needs, tasks_per_day: float) -> float:
    """The success rate: above every floor by a margin that chance rarely erodes, at most 99.5%."""
    success = needs.success
    for threshold, days in needs.success_floors:
        success = _safe_rate(success, threshold, tasks_per_day * days, upper=False)
    return min(success, 0.995)


def _healthy_feedback(floors: list[float]) -> float:
    """Feedback averages 4.2 of 5, raised so that even the planted drift stays above a minimum."""
    return min(max(4.2, (max(floors) + 0.25) / DRIFT_FACTOR), 4.7)


def _spend(
    governance: Governance,
    charter: Charter,
    total: float | None,
    minutes: float | None,
    tasks_per_day: float,
) -> tuple[float, float, float]:
    """Mean inference and tooling spend and reviewer minutes per task, split like the budget and
    at most BUDGET_SHARE of it in the longest month."""
    rate = governance.organisation.human_hourly_rate_usd
    shares = (0.3, 0.1, 0.6)
    if charter.budget is not None and charter.budget.monthly_usd.total > 0:
        b = charter.budget.monthly_usd
        shares = (b.inference / b.total, b.tooling / b.total, b.human / b.total)
    if total is None:  # no cost limit: anchor on reviewer time (1 minute a task by default)
        human = (minutes if minutes is not None else 1.0) * rate / 60.0
        total = human / shares[2] if shares[2] > 0 else 0.05
    if charter.budget is not None and charter.budget.monthly_usd.total > 0 and tasks_per_day > 0:
        monthly = charter.budget.monthly_usd.total
        total = min(total, BUDGET_SHARE * monthly / (tasks_per_day * LONGEST_MONTH))
    inference, tooling, human = (max(share * total, 1e-4) for share in shares)
    reviewer = human * 60.0 / rate if rate > 0 else 1.0
    return inference, tooling, min(reviewer, minutes) if minutes is not None else reviewer


def plan_plants(governance: Governance, profiles: dict[str, Profile], now: datetime) -> list[Plant]:
    """The drift and the stop-condition breach to plant (either may be missing)."""
    end = int(now.timestamp())
    plants: list[Plant] = []
    for charter in governance.agents:
        if charter.monitor and "customer_feedback" in charter.monitor.metrics:
            start = end - int(_recent(charter).total_seconds())
            plants.append(Plant(charter.id, "customer_feedback", "customer_feedback", start))
            break
    candidates = []
    for order, charter in enumerate(governance.agents):
        for index, stop in enumerate(charter.stop_conditions):
            metric = governance.metric(stop.metric)
            column = flag_column(metric)
            if stop.above is not None and column is not None and metric.kind == "proportion":
                fits = parse_window(stop.window) <= _recent(charter)
                key = (metric.id != "rollback_rate", not fits, order, index)
                candidates.append((key, charter, metric.id, stop.above, stop.window, column))
    if candidates:
        _, charter, metric_id, threshold, window_text, column = min(candidates, key=lambda c: c[0])
        window = parse_window(window_text)
        planted = min(window, _recent(charter))  # the breach stays within the recent window
        base = profiles[charter.id].flags[column]
        rate = (BREACH_FACTOR * threshold * window - base * (window - planted)) / planted
        start = end - int(planted.total_seconds())
        plants.append(Plant(charter.id, metric_id, column, start, min(rate, 0.95)))
    return plants


def _period_start(governance: Governance, now: datetime) -> datetime:
    """Midnight (UTC) of the day the earliest window of any charter starts."""
    starts = [w.start for c in governance.agents for w in charter_windows(c, now)]
    first = min(starts, default=now - 35 * DAY).astimezone(UTC)
    return first.replace(hour=0, minute=0, second=0, microsecond=0)


def _timeline(
    rng: np.random.Generator, agents: int, start: int, end: int, tasks_per_day: float
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson tasks per agent per day at uniform times: (epoch seconds, agent code) by time."""
    day_starts = np.arange(start, end, 86_400, dtype=np.int64)
    lengths = np.minimum(day_starts + 86_400, end) - day_starts
    counts = rng.poisson(tasks_per_day * lengths / 86_400, size=(agents, len(day_starts))).ravel()
    code = np.repeat(np.repeat(np.arange(agents, dtype=np.int32), len(day_starts)), counts)
    day = np.repeat(np.tile(np.arange(len(day_starts)), agents), counts)
    seconds = day_starts[day] + (rng.random(len(day)) * lengths[day]).astype(np.int64)
    order = np.argsort(seconds, kind="stable")
    return seconds[order], code[order]


def simulate(
    governance: Governance, now: datetime, *, seed: int, tasks_per_day: float
) -> tuple[dict[str, np.ndarray], list[Plant], datetime]:
    """The events as numpy columns (`ts` epoch seconds; agent and outcome as codes)."""
    rng = np.random.default_rng(seed)
    charters = governance.agents
    profiles = {c.id: healthy_profile(governance, c, tasks_per_day) for c in charters}
    plants = plan_plants(governance, profiles, now)
    start = _period_start(governance, now)
    ts, code = _timeline(rng, len(charters), int(start.timestamp()), int(now.timestamp()),
                         tasks_per_day)  # fmt: skip
    n = len(ts)
    index = {c.id: i for i, c in enumerate(charters)}

    def per_row(value: Callable[[Profile], float]) -> np.ndarray:
        return np.array([value(p) for p in profiles.values()], dtype=float)[code]

    def planted(plant: Plant) -> np.ndarray:
        return (code == index[plant.agent]) & (ts >= plant.start)

    success, escalated = per_row(lambda p: p.success), per_row(lambda p: p.escalated)
    draw = rng.random(n)
    outcome = np.where(draw < success, 0, np.where(draw < success + escalated, 2, 1))
    columns = {"ts": ts, "agent": code, "outcome": outcome.astype(np.int8)}
    for name, sigma, digits in zip(NUMBERS, (0.6, 0.5, 0.5, 0.8), (3, 6, 6, 3), strict=True):
        means = per_row(lambda p, name=name: getattr(p, name))
        draws = means * np.exp(sigma * rng.standard_normal(n) - sigma * sigma / 2.0)  # lognormal
        columns[name] = np.round(draws, digits)
    mean = per_row(lambda p: p.feedback)
    for plant in plants:
        if plant.rate is None:
            mean[planted(plant)] *= DRIFT_FACTOR
    rated = rng.random(n) < FEEDBACK_SHARE
    share = (mean[rated] - 1.0) / 4.0  # a score on [1, 5]: 1 + 4 * Beta with mean `share`
    columns["customer_feedback"] = np.full(n, np.nan)
    columns["customer_feedback"][rated] = 1.0 + 4.0 * rng.beta(share * 6.0, (1.0 - share) * 6.0)
    for flag in flag_columns(governance):
        rate = per_row(lambda p, flag=flag: p.flags[flag])
        for plant in plants:
            if plant.column == flag and plant.rate is not None:
                rate[planted(plant)] = plant.rate
        columns[flag] = rng.random(n) < rate
    return columns, plants, start


def write_events(
    columns: dict[str, np.ndarray], agents: list[str], out: Path, *, first_task: int = 1
) -> None:
    """COPY the columns to `out` (format by extension) via a temporary file and a rename; task
    ids count from `first_task` (files written in parts keep them unique)."""
    suffix = out.suffix.lower()
    timestamp = "to_timestamp(ts)"  # TIMESTAMPTZ in Parquet, ISO 8601 with offset in text
    if suffix != ".parquet":
        timestamp = f"strftime({timestamp}, '%Y-%m-%dT%H:%M:%S+00:00')"
    names = ", ".join(literal(a) for a in agents)
    outcomes = ", ".join(literal(o) for o in OUTCOMES)
    flags = [c for c in columns if columns[c].dtype == np.bool_]
    select = ", ".join(
        [
            f'{timestamp} AS "timestamp"',
            f"([{names}])[agent + 1] AS agent",
            "printf('t%09d', seq) AS task_id",
            f"([{outcomes}])[outcome + 1] AS outcome",
            *NUMBERS,
            "CASE WHEN isnan(customer_feedback) THEN NULL ELSE round(customer_feedback, 1) END "
            "AS customer_feedback",
            *(f'"{flag}"' for flag in flags),
        ]
    )
    rows = len(columns["ts"])
    frame = {**columns, "seq": np.arange(first_task, first_task + rows, dtype=np.int64)}
    # Agent ids are validated (model.AGENT_ID_PATTERN) and quoted; the rest is ours.
    copy_frame(frame, select, out)


def generate_events(
    governance: Governance, out: Path, *, now: datetime, seed: int = 7, tasks_per_day: float = 120
) -> str:
    """Write seeded example events for every charter to `out`; return a one-line summary."""
    out = Path(out)
    if out.suffix.lower() not in WRITE_FORMATS:
        expected = ", ".join(WRITE_FORMATS)
        raise UsageError(f"{out}: unsupported events format {out.suffix!r}; expected {expected}")
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    columns, plants, start = simulate(governance, now, seed=seed, tasks_per_day=tasks_per_day)
    write_events(columns, [c.id for c in governance.agents], out)
    kinds = {True: "stop condition", False: "drift in"}
    planted = [f"{kinds[p.rate is not None]} {p.agent} {p.metric}" for p in plants]
    return (
        f"wrote {len(columns['ts']):,} events for {len(governance.agents)} agents "
        f"({start.date()} to {now.astimezone(UTC).date()}) to {out}; "
        f"planted: {', '.join(planted) or 'nothing (no charter fits)'}"
    )
