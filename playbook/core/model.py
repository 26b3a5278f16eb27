"""The governance catalogs: one typed schema per catalog file, the single definition of each.

organisation.yaml, operating-models.yaml, tiers.yaml, roles.yaml, metrics.yaml and rollout.yaml;
the charter of each agent is `playbook.core.charter`, the value types `playbook.core.types`. The
loader validates YAML against these classes; the renderer and the monitor read them. Field shapes
here are the contract that `governance/*.yaml` files and outside tools rely on.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator

from playbook.core.framework import CharterField, MapsTo
from playbook.core.types import (
    ColumnName,
    LaxDate,
    MetricKind,
    MetricRef,
    NonNegative,
    Reference,
    Schema,
    Slug,
    Text,
    Window,
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
    # Charter fields that show an agent has the control (`approvals`, `owners.reviewer`): the
    # framework crosswalk's evidence, per agent of the tier and above.
    evidence: list[CharterField] = Field(default_factory=list)
    maps_to: MapsTo  # framework items (`nist-ai-rmf-1.0:MEASURE-2.4`) the control serves


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
    maps_to: MapsTo  # framework items the metric gives evidence for

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
WEEKS_PATTERN = re.compile(r"^([1-9][0-9]*)(?:\s*-\s*([1-9][0-9]*))?$")


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
    weeks: Annotated[
        str | int,
        AfterValidator(_weeks),
        WithJsonSchema(
            {"anyOf": [{"type": "string", "pattern": WEEKS_PATTERN.pattern},
                       {"type": "integer", "minimum": 1}]}
        ),
    ]  # fmt: skip
    owner_role: Annotated[str, Reference("role", "roles")]
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
