"""The monitor's published results: the one contract between the drift monitor and the handbook.

The monitor writes, the handbook (and `govkit whois`, `govkit review`) reads, and neither imports
the other: both go through this module. Two things are published beside `--state PATH`:

- the snapshot `PATH.json` (schema `govkit.monitor/N`): the latest run's findings, checks, alerts,
  daily series, monthly costs and windows per agent (`Snapshot`, written by `snapshot_json`, read
  by `read_snapshot`);
- the reviews the schedule writes, `reviews/<agent>/<YYYY-MM-DD>.md` and `.json` beside the state;
- the SQLite state itself, of which readers use the `alerts` table (one row per alert label set,
  `read_state_alerts`) and the `runs` table (`latest_run_id`): its other tables are the monitor's.

Both carry the run id, so a reader can tell that they belong together. Every name a reader
compares against (verdicts, check and agent statuses, alert states) is defined here once.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from playbook.core import jsonout
from playbook.core.errors import UsageError, display_path

SCHEMA_PREFIX = "govkit.monitor/"
SNAPSHOT_VERSION = 2

# A drift test's verdict.
OK, DRIFT, IMPROVED, INSUFFICIENT = "ok", "drift", "improved", "insufficient_data"
# A threshold check's status (with OK and INSUFFICIENT).
BREACHED, MET, MISSED = "breached", "met", "missed"
GUARDRAIL, STOP_CONDITION, NORTH_STAR = "guardrail", "stop_condition", "north_star"
# An alert's state, as in Alertmanager.
FIRING, RESOLVED = "firing", "resolved"
# An agent's status in the last run, worst first.
STATUS_ORDER = ("stop_condition", "guardrail_breach", "drift", "insufficient_data", "ok")
NOT_MONITORED = "not_monitored"
STATUS_LABELS = {
    "stop_condition": "stop condition",
    "guardrail_breach": "guardrail breach",
    "drift": "drift",
    "insufficient_data": "insufficient data",
    "ok": "ok",
    NOT_MONITORED: "not in the last run",
}
# Alert names whose firing sets an agent's status, worst first.
STATUS_OF_ALERT = {
    "StopCondition": "stop_condition",
    "GuardrailBreach": "guardrail_breach",
    "MetricDrift": "drift",
}


class Record(BaseModel):
    """Published records keep unknown keys a newer monitor may add (readers ignore them)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class AlertRecord(Record):
    """An alert as JSON, in the monitor's report, its snapshot and its state alike."""

    fingerprint: str
    status: str  # FIRING or RESOLVED
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str | None = Field(alias="startsAt")
    ends_at: str | None = Field(default=None, alias="endsAt")

    @property
    def agent(self) -> str | None:
        return self.labels.get("agent")


class Finding(Record):
    """One drift test of one (agent, metric)."""

    agent: str
    metric: str
    kind: str
    aspect: str = "center"  # center; for a continuous metric also tail and spread
    test: str | None = None
    baseline: float | None = None
    recent: float | None = None
    n_baseline: int = 0
    n_recent: int = 0
    statistic: float | None = None
    p_value: float | None = None
    q_value: float | None = None
    effect: float | None = None
    floor: float | None = None  # the effect-size floor the verdict used
    verdict: str = INSUFFICIENT


class CheckRecord(Record):
    """One threshold: a guardrail, a stop condition or the north star."""

    agent: str
    check: str  # GUARDRAIL, STOP_CONDITION or NORTH_STAR
    metric: str
    bound: str  # max, min, above, below or target
    threshold: float
    window: str
    value: float | None = None
    n: int = 0
    status: str
    action: str | None = None


class Point(Record):
    """A metric's value on one UTC day (`value` None without tasks)."""

    day: str
    value: float | None = None
    n: int = 0


class MonthCost(Record):
    """A calendar month's tasks and spend by bucket, USD (None: the events lack its column)."""

    month: str  # YYYY-MM
    tasks: int
    successes: int
    inference: float | None
    tooling: float | None
    human: float | None


class Span(Record):
    """A half-open window [from, to) as ISO 8601 UTC."""

    from_: str = Field(alias="from")
    to: str


class AgentResults(Record):
    status: str = OK
    findings: list[Finding] = Field(default_factory=list)
    checks: list[CheckRecord] = Field(default_factory=list)
    firing_alerts: list[AlertRecord] = Field(default_factory=list)
    series: dict[str, list[Point]] = Field(default_factory=dict)
    costs: list[MonthCost] = Field(default_factory=list)
    windows: dict[str, Span | None] = Field(default_factory=dict)


# A corrective action's verification (`ActionRecord.status`), worst first.
REOPENED, OVERDUE, NO_DATA, VERIFYING, OPEN, VERIFIED = (
    "reopened", "overdue", "no_data", "verifying", "open", "verified"
)  # fmt: skip
ACTION_ORDER = (REOPENED, OVERDUE, NO_DATA, VERIFYING, OPEN, VERIFIED)
ACTION_LABELS = {
    REOPENED: "reopened: not effective",
    OVERDUE: "overdue",
    NO_DATA: "no data in the window",
    VERIFYING: "verifying",
    OPEN: "open",
    VERIFIED: "verified",
}


class ActionRecord(Record):
    """One corrective action of an incident, for one of its agents, as the last run judged it:
    `window` is the verification window [from, to) after the action's `done` date; `days` the
    days in it with tasks so far; `breaches` the days whose value missed the condition."""

    incident: str
    action: str
    agent: str
    metric: str
    bound: str  # below or above
    threshold: float
    status: str  # one of ACTION_ORDER
    due: str
    done: str | None = None
    window: Span | None = None
    days: int = 0
    breaches: list[Point] = Field(default_factory=list)


def action_status(records: list[ActionRecord]) -> str | None:
    """The worst status among an action's records (one per agent), None without any."""
    statuses = [record.status for record in records if record.status in ACTION_ORDER]
    return min(statuses, key=ACTION_ORDER.index) if statuses else None


class UnchartedRecord(Record):
    """An agent id the events name that no charter has: its tasks before the run's `now`, the
    first and last of them (ISO 8601 UTC), and its tasks in the last `window` (e.g. 7d)."""

    agent: str
    tasks: int
    first_seen: str
    last_seen: str
    recent_tasks: int = 0
    window: str = "7d"


class BadRowsRecord(Record):
    count: int = 0
    by_reason: dict[str, int] = Field(default_factory=dict)
    examples: dict[str, list[str]] = Field(default_factory=dict)


class Snapshot(Record):
    """The latest run, as published beside the state (schema `govkit.monitor/2`)."""

    schema_: str = Field(default=f"{SCHEMA_PREFIX}{SNAPSHOT_VERSION}", alias="schema")
    run_id: int
    generated_at: str
    now: str
    tasks: int = 0
    agents: dict[str, AgentResults] = Field(default_factory=dict)
    alerts: list[AlertRecord] = Field(default_factory=list)
    bad_rows: BadRowsRecord = Field(default_factory=BadRowsRecord)
    actions: list[ActionRecord] = Field(default_factory=list)  # incidents' corrective actions
    # agents seen in the events without a charter, most tasks first (UnchartedAgent)
    uncharted: list[UnchartedRecord] = Field(default_factory=list)
    # what the run could not judge or may have judged wrongly (columns the events lack, windows
    # that mix weekdays unevenly), as `govkit monitor run` printed them
    warnings: list[str] = Field(default_factory=list)


def agent_status(
    findings: list[Finding], checks: list[CheckRecord], alerts: list[AlertRecord]
) -> str:
    """Worst first: stop_condition, guardrail_breach, drift, insufficient_data, ok."""
    names = {alert.labels.get("alertname") for alert in alerts}
    for alertname, status in STATUS_OF_ALERT.items():
        if alertname in names:
            return status
    verdicts = [finding.verdict for finding in findings] + [check.status for check in checks]
    if verdicts and all(verdict == INSUFFICIENT for verdict in verdicts):
        return INSUFFICIENT
    return OK


def snapshot_path(state: Path) -> Path:
    """`monitor.json` beside `monitor.db` (or the `.json` itself)."""
    return state if state.suffix == ".json" else state.with_suffix(".json")


def state_path(snapshot: Path) -> Path:
    return snapshot.with_suffix(".db")


def reviews_dir(state: Path) -> Path:
    """Where written reviews are published: `<state dir>/reviews/<agent>/<YYYY-MM-DD>.md`."""
    return state.parent / "reviews"


def written_review_days(state: Path) -> dict[str, date]:
    """Per agent, the day of its newest review written beside `state` (`reviews/<agent>/
    <YYYY-MM-DD>.md`); agents without one are left out."""
    days: dict[str, date] = {}
    root = reviews_dir(state)
    for folder in sorted(root.glob("*")) if root.is_dir() else []:
        found = [_day(path.stem) for path in folder.glob("*.md")] if folder.is_dir() else []
        written = [day for day in found if day is not None]
        if written:
            days[folder.name] = max(written)
    return days


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def snapshot_json(
    snapshot: Snapshot, series: dict[str, dict[str, list[dict[str, Any]]]] | None = None
) -> str:
    """Compact, strict JSON: with a daily series per monitored metric, an indented snapshot of a
    few hundred agents would be several times larger for no reader's benefit. Floats keep 12
    significant digits: the engine adds doubles in parallel, in an order that changes the last
    bits from one run to the next, and the rounding hides that from all but the few figures that
    sit on a rounding edge (a rerun on 10M events: 13-24 of 42,039 differ in their last digit).

    `series` (per agent, per metric: `Point`s as JSON dicts, rounded and finite where they were
    made) replaces the agents' `series` as it is: it is nine tenths of a large snapshot, and
    validating, dumping and walking it again would cost more than the rest of the file together.
    A point that is not finite is still an error (`allow_nan=False`), never invalid output."""
    document = jsonout.finite(snapshot.to_json(), digits=12)
    for agent, points in (series or {}).items():
        document["agents"][agent]["series"] = points
    return jsonout.encode(document, compact=True)


def read_snapshot(state: Path) -> Snapshot | None:
    """The latest run's results beside `state`, or None when the monitor has not run yet."""
    path = snapshot_path(state)
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{display_path(path)}: cannot read the monitor snapshot ({exc})"
        ) from None
    schema = document.get("schema", "") if isinstance(document, dict) else ""
    if not str(schema).startswith(SCHEMA_PREFIX):
        raise UsageError(
            f"{display_path(path)}: expected a monitor snapshot ({SCHEMA_PREFIX}N) but received "
            f"schema {schema!r}"
        )
    try:
        return Snapshot.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(
            f"{display_path(path)}: not a valid monitor snapshot: {where}: {first['msg']}"
        ) from None


def _rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    """The rows of a query on the state, read-only; UsageError when the state is unreadable."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            return db.execute(query).fetchall()
    except sqlite3.Error as exc:
        message = f"{display_path(database)}: cannot read the monitor state ({exc})"
        raise UsageError(message) from None


def read_state_alerts(database: Path) -> list[AlertRecord]:
    """Every alert in the state's `alerts` table, oldest first. [] when there is no state;
    UsageError when it cannot be read."""
    if not database.is_file():
        return []
    rows = _rows(
        database,
        "SELECT fingerprint, labels, annotations, status, starts_at, ends_at "
        "FROM alerts ORDER BY starts_at, fingerprint",
    )
    return [
        AlertRecord(
            fingerprint=fingerprint,
            status=status,
            labels=json.loads(labels),
            annotations=json.loads(notes),
            startsAt=starts,
            endsAt=ends,
        )
        for fingerprint, labels, notes, status, starts, ends in rows
    ]


class RunRecord(Record):
    """A finished run in the state's `runs` table."""

    id: int
    now: str
    finished_at: str


def latest_run(database: Path) -> RunRecord | None:
    """The state's last finished run (None without state or run); UsageError when unreadable."""
    if not database.is_file():
        return None
    rows = _rows(
        database,
        "SELECT id, now, finished_at FROM runs WHERE finished_at IS NOT NULL "
        "ORDER BY id DESC LIMIT 1",
    )
    return RunRecord(id=rows[0][0], now=rows[0][1], finished_at=rows[0][2]) if rows else None


def latest_run_id(database: Path) -> int | None:
    """The id of the state's last finished run (None without state, run, or when unreadable)."""
    try:
        run = latest_run(database)
    except UsageError:
        return None
    return run.id if run else None
