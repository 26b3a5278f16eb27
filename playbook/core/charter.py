"""The charter of one agent (`governance/agents/<id>.yaml`): who owns it, what it may do, which
numbers say it is healthy and when it must stop, how it is watched and reviewed."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from playbook.core.change_control import Approver, EvalSuites, Model, Prompt, PromptText
from playbook.core.settings import HttpUrl
from playbook.core.types import (
    AgentId,
    Cadence,
    Email,
    EventMetricRef,
    LaxDate,
    MetricRef,
    NonNegative,
    Number,
    Reference,
    Schema,
    Slug,
    StopAction,
    Text,
    Window,
    exactly_one_of,
)

DEFAULT_RECENT = "7d"  # the recent window when a charter names none (guardrails need one)
ACTIVE, RETIRED = "active", "retired"  # a charter's `status`
Status = Literal["active", "retired"]


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
    model_config = ConfigDict(json_schema_extra=exactly_one_of(["max"], ["min"]))

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
    model_config = ConfigDict(json_schema_extra=exactly_one_of(["above"], ["below"]))

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
    # The last review held outside govkit (a meeting, a sign-off); the reviews the monitor
    # writes beside its state count too: the later of the two is the last review.
    last: LaxDate | None = None


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
    model_config = ConfigDict(json_schema_extra=exactly_one_of(["from", "to"], ["rolling"]))

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
    recent: Window = DEFAULT_RECENT
    metrics: list[EventMetricRef] = Field(min_length=1)
    effect_floors: dict[EventMetricRef, NonNegative] = Field(default_factory=dict)


def _two_guardrails(value: list[Guardrail]) -> list[Guardrail]:
    if len(value) != 2:
        raise ValueError(f"expected exactly two guardrails but received {len(value)}")
    return value


class Approvals(Schema):
    required: Annotated[int, Field(ge=1)]
    # Whose approval counts for a change to this charter (roles, emails, @logins); anyone's
    # but the change's authors when empty.
    approvers: list[Approver] = Field(default_factory=list)


class Audit(Schema):
    retention_days: Annotated[int, Field(ge=1)]


class BreakGlass(Schema):
    procedure: Text
    approvers: list[Text] = Field(default_factory=list)


class Retirement(Schema):
    """When and why an agent left: its charter stays, for the audit questions that outlive it."""

    date: LaxDate
    reason: Text


# A retired charter must say when and why; `retired:` on an active charter contradicts it.
_RETIREMENT_SCHEMA = {
    "if": {"properties": {"status": {"const": RETIRED}}, "required": ["status"]},
    "then": {"required": ["retired"], "properties": {"retired": {"not": {"type": "null"}}}},
    "else": {"properties": {"retired": {"type": "null"}}},
}


class Charter(Schema):
    model_config = ConfigDict(json_schema_extra=_RETIREMENT_SCHEMA)

    id: AgentId
    name: Text
    description: str = ""
    tier: Annotated[int, Field(ge=0, le=4), Reference("tier", "tiers")]
    operating_model: Annotated[str, Reference("operating model", "operating_models")]
    owners: Owners
    north_star: NorthStar
    guardrails: Annotated[
        list[Guardrail],
        AfterValidator(_two_guardrails),
        Field(json_schema_extra={"minItems": 2, "maxItems": 2}),
    ]
    stop_conditions: list[StopCondition] = Field(default_factory=list)
    work: Work = Field(default_factory=Work)
    review: Review
    budget: Budget | None = None
    monitor: MonitorSpec | None = None
    policies: list[Slug] = Field(default_factory=list)  # ids of governance/policies/<id>.yaml
    approvals: Approvals | None = None
    # What the agent runs and its eval suites: a change to the model, the prompt, the tools or the
    # policies needs every suite's latest results produced after it (govkit diff).
    model: Text | Model | None = None  # a name, or {provider, name, version}
    prompt: PromptText | Prompt | None = None  # a path (relative to governance/) or a version
    evals: EvalSuites = Field(default_factory=list)
    audit: Audit | None = None
    break_glass: BreakGlass | None = None
    # What the on-call does when this agent alerts: the handbook links it from each alert.
    runbook: HttpUrl | None = None
    # A retired agent keeps its charter (owners, work, policies: the audit trail) but is no longer
    # monitored; `retired` says when and why. Declared before `status`, whose check reads it.
    retired: Retirement | None = None
    status: Status = Field(default=ACTIVE, validate_default=True)

    @field_validator("status")
    @classmethod
    def _retirement_given(cls, status: str, info: ValidationInfo) -> str:
        if "retired" not in info.data:  # `retired:` itself is invalid: its error says why
            return status
        given = info.data["retired"] is not None
        if status == RETIRED and not given:
            raise ValueError(
                "expected retired: {date: YYYY-MM-DD, reason: ...} beside status: retired "
                "(when the agent left and why)"
            )
        if status == ACTIVE and given:
            raise ValueError(
                "expected status: retired beside retired: {date, reason} (or remove retired: "
                "while the agent is active)"
            )
        return status

    @property
    def is_retired(self) -> bool:
        return self.status == RETIRED
