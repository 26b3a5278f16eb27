"""The value types of governance files: each says how it is validated and what its JSON Schema is.

A type is defined once, here, with both: `Annotated[str, AfterValidator(check), WithJsonSchema(
...)]`. `govkit schema` then needs no knowledge of the validators. A reference to a catalog
(`MetricRef`, a tier, an operating model, a role) is checked against the catalogs the loader passes
as validation context, and marks its JSON Schema with `x-govkit-catalog`, which `govkit schema`
replaces by the organisation's ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import CoreSchema, core_schema

from playbook.core.clock import (
    INTERVAL_PATTERN,
    WINDOW_PATTERN,
    check_calendar_date,
    check_interval,
    check_window,
)
from playbook.core.errors import unknown_choice

AGENT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
COLUMN_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CALENDAR_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-"  # the years 1970 to 2999 of check_calendar_date
CATALOG_KEYWORD = "x-govkit-catalog"  # replaced by the catalog's ids in `govkit schema`


def _matching(pattern: re.Pattern[str], expected: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"expected {expected} but received {value!r}")
        return value

    return AfterValidator(check)


def repeated(values: list[str]) -> list[str]:
    """The values given more than once, sorted (for "expected each ... once" checks)."""
    return sorted({value for value in values if values.count(value) > 1})


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("expected text but received an empty string")
    return value


def _string(pattern: str, **extra: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, **extra})


Window = Annotated[str, AfterValidator(check_window), _string(WINDOW_PATTERN.pattern)]
Interval = Annotated[str, AfterValidator(check_interval), _string(INTERVAL_PATTERN.pattern)]
ColumnName = Annotated[
    str,
    _matching(COLUMN_PATTERN, "an event column name (letters, digits, '_')"),
    _string(COLUMN_PATTERN.pattern),
]
AgentId = Annotated[
    str,
    _matching(
        AGENT_ID_PATTERN,
        "lowercase letters, digits and '-', starting with a letter or digit, at most 63 "
        "characters,",
    ),
    _string(AGENT_ID_PATTERN.pattern),
]
Slug = Annotated[
    str,
    _matching(SLUG_PATTERN, "an id of lowercase letters, digits, '-' or '_'"),
    _string(SLUG_PATTERN.pattern),
]
Email = Annotated[
    str,
    _matching(EMAIL_PATTERN, "an email address like name@example.org"),
    _string(EMAIL_PATTERN.pattern),
]
Text = Annotated[str, AfterValidator(_non_blank), _string(r"\S")]
Number = float
NonNegative = Annotated[float, Field(ge=0)]
LaxDate = Annotated[
    date,
    Field(strict=False),
    AfterValidator(check_calendar_date),
    _string(CALENDAR_PATTERN, format="date"),
]

MetricKind = Literal["proportion", "continuous", "ratio", "count"]
Cadence = Literal["weekly", "biweekly", "monthly", "quarterly"]
StopAction = Literal["pause", "rollback", "escalate"]
CADENCE_DAYS: dict[str, int] = {"weekly": 7, "biweekly": 14, "monthly": 30, "quarterly": 91}


class Reference:
    """An id that must exist in a catalog (`metrics`, `tiers`, `operating_models`, `roles`).

    The loader validates catalogs first and later files with `context={catalog: {id:
    computable}}`; without context (a file validated alone) references are not checked.
    `events_only`: the metric must be one the monitor can compute from events.
    """

    def __init__(self, what: str, catalog: str, *, events_only: bool = False) -> None:
        self.what, self.catalog, self.events_only = what, catalog, events_only

    def check(self, value: Any, info: ValidationInfo) -> Any:
        known = (info.context or {}).get(self.catalog)
        if known is None:
            return value
        if value not in known:
            raise ValueError(unknown_choice(self.what, value, known))
        if self.events_only and not known[value]:
            raise ValueError(
                f"metric {value!r} is reported manually; expected a metric the monitor can "
                "compute from events"
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.with_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = handler(schema)
        json_schema[CATALOG_KEYWORD] = {"catalog": self.catalog, "events_only": self.events_only}
        return json_schema


MetricRef = Annotated[str, Reference("metric", "metrics")]
EventMetricRef = Annotated[str, Reference("metric", "metrics", events_only=True)]


def exactly_one_of(*groups: Iterable[str]) -> dict[str, Any]:
    """JSON Schema saying that exactly one group of keys is set (the others absent or null), as a
    model validator of the same class checks it."""
    groups = tuple(tuple(group) for group in groups)

    def only(group: tuple[str, ...]) -> dict[str, Any]:
        others = [key for other in groups if other != group for key in other]
        return {
            "required": list(group),
            "properties": {
                **{key: {"not": {"type": "null"}} for key in group},
                **{key: {"type": "null"} for key in others},
            },
        }

    return {"oneOf": [only(group) for group in groups]}


class Schema(BaseModel):
    """Base of every governance schema: unknown keys are errors, values are not coerced, and a
    number is finite (`.nan` or `.inf` is never a threshold)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, populate_by_name=False, allow_inf_nan=False
    )
