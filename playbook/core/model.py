"""The governance model: one typed schema per governance file, the single definition of each.

The loader validates YAML against these classes; the renderer and the monitor read them. Field
shapes here are the contract that `governance/*.yaml` files and outside tools rely on.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from playbook.core.errors import unknown_choice

WINDOW_PATTERN = re.compile(r"^([1-9][0-9]*)([hdw])$")
AGENT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
COLUMN_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
WEEKS_PATTERN = re.compile(r"^([1-9][0-9]*)(?:\s*-\s*([1-9][0-9]*))?$")

_WINDOW_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
# Bounds that keep every date and window govkit computes with inside the calendar: a window or a
# rollout of more than ten years, or a date outside these years, is a typo, never a plan.
MAX_WINDOW = timedelta(weeks=520)
MAX_WINDOW_TEXT = "520w (ten years)"
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def _window(value: str) -> str:
    match = WINDOW_PATTERN.match(value)
    if not match:
        raise ValueError(f"expected a window like 12h, 7d or 2w but received {value!r}")
    if int(match.group(1)) * _WINDOW_UNITS[match.group(2)].total_seconds() > (
        MAX_WINDOW.total_seconds()
    ):
        raise ValueError(f"expected a window of at most {MAX_WINDOW_TEXT} but received {value!r}")
    return value


def check_calendar_date(value: date) -> date:
    """A date within the years govkit plans and monitors in (EARLIEST_DATE to LATEST_DATE)."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"expected a date from {EARLIEST_DATE} to {LATEST_DATE} but received {value}"
        )
    return value


def _agent_id(value: str) -> str:
    if not AGENT_ID_PATTERN.match(value):
        raise ValueError(
            "expected lowercase letters, digits and '-', starting with a letter or digit, "
            f"at most 63 characters, but received {value!r}"
        )
    return value


def _slug(value: str) -> str:
    if not SLUG_PATTERN.match(value):
        raise ValueError(
            f"expected an id of lowercase letters, digits, '-' or '_' but received {value!r}"
        )
    return value


def _email(value: str) -> str:
    if not EMAIL_PATTERN.match(value):
        raise ValueError(f"expected an email address like name@example.org but received {value!r}")
    return value


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("expected text but received an empty string")
    return value


def _column(value: str) -> str:
    if not COLUMN_PATTERN.match(value):
        raise ValueError(
            f"expected an event column name (letters, digits, '_') but received {value!r}"
        )
    return value


Window = Annotated[str, AfterValidator(_window)]
ColumnName = Annotated[str, AfterValidator(_column)]
AgentId = Annotated[str, AfterValidator(_agent_id)]
Slug = Annotated[str, AfterValidator(_slug)]
Email = Annotated[str, AfterValidator(_email)]
Text = Annotated[str, AfterValidator(_non_blank)]
Number = float
NonNegative = Annotated[float, Field(ge=0)]
LaxDate = Annotated[date, Field(strict=False), AfterValidator(check_calendar_date)]

MetricKind = Literal["proportion", "continuous", "ratio", "count"]
Cadence = Literal["weekly", "biweekly", "monthly", "quarterly"]
StopAction = Literal["pause", "rollback", "escalate"]

CADENCE_DAYS: dict[str, int] = {"weekly": 7, "biweekly": 14, "monthly": 30, "quarterly": 91}


def _reference(what: str, catalog: str, *, events_only: bool = False):
    """A validator checking a reference against a catalog passed as validation context.

    The loader validates catalogs first and charters with `context={catalog: {id: computable}}`;
    without context (a charter validated alone) references are not checked.
    """

    def check(value: Any, info: ValidationInfo) -> Any:
        known = (info.context or {}).get(catalog)
        if known is None:
            return value
        if value not in known:
            raise ValueError(unknown_choice(what, value, known))
        if events_only and not known[value]:
            raise ValueError(
                f"metric {value!r} is reported manually; expected a metric the monitor can "
                "compute from events"
            )
        return value

    return AfterValidator(check)


MetricRef = Annotated[str, _reference("metric", "metrics")]
EventMetricRef = Annotated[str, _reference("metric", "metrics", events_only=True)]


def window_to_timedelta(window: str) -> timedelta:
    """`7d` -> 7 days. The window must already be valid (`_window`)."""
    match = WINDOW_PATTERN.match(_window(window))
    if match is None:
        raise ValueError(f"not a window: {window!r}")
    return int(match.group(1)) * _WINDOW_UNITS[match.group(2)]


class Schema(BaseModel):
    """Base of every governance schema: unknown keys are errors, values are not coerced, and a
    number is finite (`.nan` or `.inf` is never a threshold)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, populate_by_name=False, allow_inf_nan=False
    )


# --- organisation.yaml -------------------------------------------------------------------------


class Organisation(Schema):
    name: Text
    handbook_title: Text
    human_hourly_rate_usd: NonNegative = 60.0
    description: str = ""


# --- operating-models.yaml ---------------------------------------------------------------------


class OperatingModel(Schema):
    id: Slug
    name: Text
    best_for: Text
    oversight: Text
    failure_mode: Text


class OperatingModelsFile(Schema):
    operating_models: list[OperatingModel] = Field(min_length=1)


# --- tiers.yaml --------------------------------------------------------------------------------


class Control(Schema):
    id: Slug
    name: Text
    description: Text


class Tier(Schema):
    id: int = Field(ge=0, le=4)
    name: Text
    summary: Text
    example_tasks: list[Text] = Field(min_length=1)
    controls: list[Control] = Field(min_length=1)
    minimum_metrics: list[MetricRef] = Field(min_length=1)

    @property
    def slug(self) -> str:
        return f"tier-{self.id}"


class TiersFile(Schema):
    tiers: list[Tier] = Field(min_length=1)


# --- roles.yaml --------------------------------------------------------------------------------


class Role(Schema):
    id: Slug
    name: Text
    focus: Text
    responsibilities: list[Text] = Field(min_length=1)
    decision_rights: list[Text] = Field(min_length=1)
    review_response_time: Window
    charter_field: Literal["agent_owner", "model_steward", "reviewer"]


class RolesFile(Schema):
    roles: list[Role] = Field(min_length=1)


# --- metrics.yaml ------------------------------------------------------------------------------


class Compute(Schema):
    """How a metric comes from events.

    proportion: share of tasks matching `where`; continuous: per-task sum of the `sum` columns;
    ratio: the `sum` columns added over all tasks, divided by the number of tasks matching `where`;
    count: the number of tasks matching `where` per day.
    """

    where: dict[ColumnName, str | bool | int | float] | None = None
    sum: list[ColumnName] | None = None


_COMPUTE_NEEDS: dict[str, tuple[str, ...]] = {
    "proportion": ("where",),
    "continuous": ("sum",),
    "ratio": ("sum", "where"),
    "count": ("where",),
}


class Metric(Schema):
    id: Slug
    name: Text
    kind: MetricKind
    worse: Literal["higher", "lower"]
    unit: Text
    description: Text
    source: Literal["events", "manual", "custom_column"] = "events"
    compute: Compute | None = None
    column: ColumnName | None = None
    how_reported: str | None = None
    effect_floor: NonNegative | None = None

    @model_validator(mode="after")
    def _source_matches_compute(self) -> Metric:
        if self.source == "manual":
            if not self.how_reported:
                raise ValueError("a manual metric needs how_reported: who reports it and how")
            return self
        if self.source == "custom_column" and not self.column:
            raise ValueError("a custom_column metric needs column: the event column it reads")
        if self.compute is None:
            raise ValueError(f"a metric computed from events needs compute (kind {self.kind})")
        missing = [key for key in _COMPUTE_NEEDS[self.kind] if getattr(self.compute, key) is None]
        if missing:
            raise ValueError(
                f"compute of a {self.kind} metric expected {' and '.join(missing)} but has none"
            )
        return self

    @property
    def from_events(self) -> bool:
        return self.source != "manual"


class MetricsFile(Schema):
    metrics: list[Metric] = Field(min_length=1)


# --- rollout.yaml ------------------------------------------------------------------------------


MAX_ROLLOUT_WEEK = 520


def _weeks(value: str | int) -> str:
    text = str(value)
    match = WEEKS_PATTERN.match(text)
    if not match or int(match.group(2) or match.group(1)) < int(match.group(1)):
        raise ValueError(f"expected weeks like 1-2 or 5 but received {value!r}")
    if int(match.group(2) or match.group(1)) > MAX_ROLLOUT_WEEK:
        raise ValueError(
            f"expected weeks up to week {MAX_ROLLOUT_WEEK} (ten years) but received {value!r}"
        )
    return text


class Deliverable(Schema):
    item: Text
    done: bool
    evidence: str | None = None


class Phase(Schema):
    id: Slug
    name: Text
    weeks: Annotated[str | int, AfterValidator(_weeks)]
    owner_role: Annotated[str, _reference("role", "roles")]
    goals: list[Text] = Field(min_length=1)
    deliverables: list[Deliverable] = Field(min_length=1)

    @property
    def week_range(self) -> tuple[int, int]:
        match = WEEKS_PATTERN.match(str(self.weeks))
        assert match is not None
        first = int(match.group(1))
        return first, int(match.group(2) or first)

    def dates(self, start: date) -> tuple[date, date]:
        """First and last calendar day of the phase, inclusive."""
        first, last = self.week_range
        return start + timedelta(weeks=first - 1), start + timedelta(weeks=last) - timedelta(days=1)


class Rollout(Schema):
    start_date: LaxDate
    phases: list[Phase] = Field(min_length=1)


# --- agents/<id>.yaml: the charter -------------------------------------------------------------


class Person(Schema):
    name: Text
    email: Email


class Owners(Schema):
    agent_owner: Person
    model_steward: Person
    reviewer: Person | None = None


class NorthStar(Schema):
    metric: MetricRef
    target: Number


class Guardrail(Schema):
    metric: EventMetricRef
    max: Number | None = None
    min: Number | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Guardrail:
        if (self.max is None) == (self.min is None):
            raise ValueError("expected exactly one of max or min")
        return self

    @property
    def bound(self) -> tuple[str, float]:
        return ("max", self.max) if self.max is not None else ("min", self.min)  # type: ignore[return-value]


class StopCondition(Schema):
    metric: EventMetricRef
    above: Number | None = None
    below: Number | None = None
    window: Window
    action: StopAction

    @model_validator(mode="after")
    def _one_threshold(self) -> StopCondition:
        if (self.above is None) == (self.below is None):
            raise ValueError("expected exactly one of above or below")
        return self

    @property
    def threshold(self) -> tuple[str, float]:
        if self.above is not None:
            return "above", self.above
        return "below", self.below  # type: ignore[return-value]


class Work(Schema):
    allowed: list[Text] = Field(default_factory=list)
    forbidden: list[Text] = Field(default_factory=list)
    tools: list[Text] = Field(default_factory=list)


class Review(Schema):
    cadence: Cadence


class SpendBuckets(Schema):
    inference: NonNegative = 0.0
    tooling: NonNegative = 0.0
    human: NonNegative = 0.0

    @property
    def total(self) -> float:
        return self.inference + self.tooling + self.human


class Budget(Schema):
    monthly_usd: SpendBuckets


class Baseline(Schema):
    from_: LaxDate | None = Field(default=None, alias="from")
    to: LaxDate | None = None
    rolling: Window | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Baseline:
        dated = self.from_ is not None or self.to is not None
        if dated and self.rolling is not None:
            raise ValueError("expected either from and to dates or rolling, not both")
        if not dated and self.rolling is None:
            raise ValueError("expected from and to dates, or rolling: 28d")
        if dated and (self.from_ is None or self.to is None):
            raise ValueError("expected both from and to")
        if dated and self.from_ > self.to:  # type: ignore[operator]
            raise ValueError(f"expected from ({self.from_}) on or before to ({self.to})")
        return self


class MonitorSpec(Schema):
    baseline: Baseline
    recent: Window = "7d"
    metrics: list[EventMetricRef] = Field(min_length=1)
    effect_floors: dict[EventMetricRef, NonNegative] = Field(default_factory=dict)


def _two_guardrails(value: list[Guardrail]) -> list[Guardrail]:
    if len(value) != 2:
        raise ValueError(f"expected exactly two guardrails but received {len(value)}")
    return value


class Approvals(Schema):
    required: Annotated[int, Field(ge=1)]


class Audit(Schema):
    retention_days: Annotated[int, Field(ge=1)]


class BreakGlass(Schema):
    procedure: Text
    approvers: list[Text] = Field(default_factory=list)


class Charter(Schema):
    id: AgentId
    name: Text
    description: str = ""
    tier: Annotated[int, Field(ge=0, le=4), _reference("tier", "tiers")]
    operating_model: Annotated[str, _reference("operating model", "operating_models")]
    owners: Owners
    north_star: NorthStar
    guardrails: Annotated[list[Guardrail], AfterValidator(_two_guardrails)]
    stop_conditions: list[StopCondition] = Field(default_factory=list)
    work: Work = Field(default_factory=Work)
    review: Review
    budget: Budget | None = None
    monitor: MonitorSpec | None = None
    policies: list[Slug] = Field(default_factory=list)  # ids of governance/policies/<id>.yaml
    approvals: Approvals | None = None
    audit: Audit | None = None
    break_glass: BreakGlass | None = None
