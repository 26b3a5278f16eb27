"""Optional governance settings: `monitor.yaml` (testing and telling), `sources.yaml` and
`pricing.yaml` (turning trace exports into events)."""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from playbook.core.types import Interval, NonNegative, Schema, Slug, Text, Window, repeated


def check_http_url(value: str) -> str:
    """`value` if it is an http(s) URL with a host that can be requested as written; otherwise
    ValueError saying what was expected and what was received. The one check for every webhook
    URL (monitor.yaml, --webhook, the outbox) and for handbook_url."""
    problem = _http_url_problem(value)
    if problem is not None:
        detail = f": {problem}" if problem else ""  # a wrong scheme needs no explanation
        raise ValueError(f"expected an http(s) URL but received {value!r}{detail}")
    return value


def _http_url_problem(value: str) -> str | None:
    """None for a good URL, "" for a scheme other than http(s), else what is wrong."""
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
        return "it contains a space or a control character"
    if not value.isascii():
        return "it contains non-ASCII characters; percent-encode them, punycode for a host"
    try:
        parts = urlsplit(value)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        return str(exc)[:1].lower() + str(exc)[1:]
    if parts.scheme not in {"http", "https"}:
        return ""
    if not parts.hostname:
        return "it has no host"
    port_text = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
    if port_text and not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
        return f"port {port_text!r} is not a number from 1 to 65535"
    return None


DEFAULT_NOTIFY_TIMEOUT = 10.0  # seconds for one webhook notification, all of it


HTTP_URL_SCHEMA = {"type": "string", "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s]+([/?#]\S*)?$"}
HttpUrl = Annotated[str, AfterValidator(check_http_url), WithJsonSchema(HTTP_URL_SCHEMA)]
# A receiver's target when given: written out or left out, never null
TargetUrl = Annotated[HttpUrl | None, WithJsonSchema(HTTP_URL_SCHEMA)]


class EffectFloors(Schema):
    """The smallest shift worth acting on, per metric kind (a metric may set its own) and per
    aspect of a continuous metric's distribution (`monitor.engine.stats.effect_floor`).

    proportion: absolute change of the share (0.02 = 2 percentage points), lowered for a rare
    rate to `rare_multiple` x its baseline rate; continuous (its centre) and ratio: relative
    change of the mean or ratio (0.10 = 10%); count: relative change of the daily rate; tail and
    spread: absolute change of a share of a continuous metric's values.
    """

    proportion: NonNegative = 0.02
    continuous: NonNegative = 0.10
    ratio: NonNegative = 0.10
    count: NonNegative = 0.25
    # the share of recent values beyond the baseline's p95 in the worse direction (p5 when lower
    # is worse), minus the baseline's (about 5%): 0.03 = 5% -> 8% of tasks past the old p95
    tail: NonNegative = 0.03
    # the share of recent values outside the baseline's central 80% (below p10 or above p90),
    # minus the baseline's (about 20%): 0.05 = 20% -> 25%, e.g. lognormal sigma +11%
    spread: NonNegative = 0.05
    # a proportion's floor is at most this multiple of its baseline rate of the rarer outcome,
    # min(p, 1 - p): 1.0 = a doubling, so a rollback rate of 0.3% -> 0.6% is worth acting on
    # although it is far below the 2-point floor; 0.900 -> 0.897 is still not (0.1 x 1.0 > 0.02)
    rare_multiple: NonNegative = 1.0


class Receiver(Schema):
    """Where alerts go: a webhook (`url`) that receives Alertmanager-style (v4) JSON, or an
    Alertmanager (`alertmanager`: its base URL, e.g. "http://alertmanager:9093") whose API v2
    receives every firing alert on every run (`monitor.alerting.alertmanager`). Exactly one."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["url"]}, {"required": ["alertmanager"]}]}
    )

    name: Slug
    url: TargetUrl = None
    alertmanager: TargetUrl = None

    @model_validator(mode="after")
    def _one_target(self) -> Receiver:
        if self.url is not None and self.alertmanager is not None:
            raise ValueError(
                "expected url (a webhook) or alertmanager (an Alertmanager's URL), not both"
            )
        if self.url is None and self.alertmanager is None:
            raise ValueError(
                "expected url (a webhook) or alertmanager (an Alertmanager's URL) but received "
                "neither"
            )
        return self


ENGINE_KINDS = ("duckdb", "spark")
SPARK_MASTER = r"^(local(\[(\d+|\*)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn)$"


def _check_remote(value: str) -> str:
    if not re.fullmatch(r"sc://[^\s/]+(/\S*)?", value):
        raise ValueError(
            f"expected a Spark Connect URL such as 'sc://host:15002' but received {value!r}"
        )
    return value


def _check_master(value: str) -> str:
    if not re.fullmatch(SPARK_MASTER, value):
        raise ValueError(
            "expected a Spark master such as 'local[2]', 'local[*]', 'spark://host:7077' or "
            f"'yarn' but received {value!r}"
        )
    return value


SparkConnectUrl = Annotated[
    str,
    AfterValidator(_check_remote),
    WithJsonSchema({"type": "string", "pattern": r"^sc://[^\s/]+(/\S*)?$"}),
]
SparkMaster = Annotated[
    str, AfterValidator(_check_master), WithJsonSchema({"type": "string", "pattern": SPARK_MASTER})
]


class EngineSettings(Schema):
    """Where the monitor's queries run: `duckdb` (embedded, the default) or `spark` (a Spark
    Connect `remote` such as "sc://host:15002", or a `master` such as "local[2]"; neither: a local
    session on this machine's cores)."""

    kind: Literal["duckdb", "spark"] = "duckdb"
    remote: SparkConnectUrl | None = None
    master: SparkMaster | None = None

    @model_validator(mode="after")
    def _one_session(self) -> EngineSettings:
        if self.remote is not None and self.master is not None:
            raise ValueError("expected remote (Spark Connect) or master, not both")
        return self


class CostSettings(Schema):
    """Money thresholds shared by the monitor's `BudgetOverrun` alert, the handbook's costs page
    and agent reviews (`playbook.core.costs`).

    A cost shift (inference per task fell, human cost per task rose by more) is *material*, and
    warned about, only when the rise exceeds the saving by more than `shift_share` of the cost per
    successful task and both the saving and the rise are above `shift_floor_usd_per_month`. A
    month's spend is projected (linearly, by the share of the month elapsed) only once
    `projection_after` of it has passed: a projection from the first hours of a month is noise.
    """

    shift_share: Annotated[float, Field(ge=0, le=10)] = 0.10
    shift_floor_usd_per_month: NonNegative = 100.0
    projection_after: Window = "3d"


class MonitorSettings(Schema):
    fdr: Annotated[float, Field(gt=0, le=0.5)] = 0.05
    min_samples: Annotated[int, Field(ge=2)] = 30
    repeat_interval: Window = "4h"
    # How often the monitor is scheduled to run here (e.g. 15m, 1h, 1d): `govkit monitor schedule`
    # runs at this interval unless given --every or --cron; the handbook flags results older than
    # twice this as stale (older than 24h when it is not set).
    every: Interval | None = None
    effect_floors: EffectFloors = Field(default_factory=EffectFloors)
    receivers: list[Receiver] = Field(default_factory=list)
    handbook_url: HttpUrl | None = None
    engine: EngineSettings = Field(default_factory=EngineSettings)
    costs: CostSettings = Field(default_factory=CostSettings)

    @field_validator("receivers")
    @classmethod
    def _names_once(cls, receivers: list[Receiver]) -> list[Receiver]:
        """Deliveries are shown, retried and told apart by receiver name."""
        names = [receiver.name for receiver in receivers]
        twice = repeated(names)
        if twice:
            positions = [index for index, name in enumerate(names) if name == twice[0]]
            raise ValueError(
                f"expected each receiver name once but {twice[0]!r} names receivers "
                f"{', '.join(map(str, positions[:-1]))} and {positions[-1]}; deliveries are "
                "told apart by name"
            )
        return receivers


# --- sources.yaml: how trace exports become events --------------------------------------------


class Escalation(Schema):
    """What marks a task as escalated to a person."""

    tags: list[Text] = Field(default_factory=list)  # a tag on the task's root run or span
    keys: list[Text] = Field(default_factory=list)  # a metadata or attribute key present and true
    tools: list[Text] = Field(default_factory=list)  # a descendant tool span/run with this name


class FeedbackKeys(Schema):
    """Which feedback key, annotation name, tag or attribute fills each event column."""

    customer_feedback: list[Text] = Field(default_factory=list)
    reworked: list[Text] = Field(default_factory=list)
    policy_hit: list[Text] = Field(default_factory=list)
    rolled_back: list[Text] = Field(default_factory=list)


# The trace sources sources.yaml may name (under `agent_attribute`): the contract the monitor's
# registry of trace readers (monitor.sources.base.SOURCES) serves exactly, in this order.
TraceSourceName = Literal["otel", "openinference", "langsmith", "weave", "langfuse", "decisions"]
TRACE_SOURCES: tuple[str, ...] = get_args(TraceSourceName)


class TaskRule(Schema):
    """Which spans are tasks in traces without an agent span (`invoke_agent`): a span whose name
    matches `span_name` (a glob such as "workflow *"), or that has the attribute `attribute`, or
    whose `openinference.span.kind` is one of `span_kind` (AGENT, CHAIN, ...). Without a rule,
    or where no span matches, a trace's root span is its task."""

    span_name: Text | None = None
    attribute: Text | None = None
    span_kind: list[Text] = Field(default_factory=list)


class SourceSettings(Schema):
    agent_attribute: dict[TraceSourceName, Text] = Field(
        default_factory=dict
    )  # overrides the default attribute naming the agent, per source
    tasks: dict[TraceSourceName, TaskRule] = Field(default_factory=dict)
    agents: dict[str, Slug] = Field(default_factory=dict)  # traced name -> charter id
    escalation: Escalation = Field(default_factory=Escalation)
    feedback: FeedbackKeys = Field(default_factory=FeedbackKeys)


class ModelPrice(Schema):
    """USD per million tokens. Cached input tokens are priced apart where the provider does
    (reads from the prompt cache are typically a tenth of the input price, writes more than it);
    without a cache price they cost the input price, and the import says so."""

    input_per_million: NonNegative
    output_per_million: NonNegative
    cache_read_per_million: NonNegative | None = None
    cache_write_per_million: NonNegative | None = None


class Pricing(Schema):
    """USD per million input and output tokens, per model name as traces record it."""

    models: dict[str, ModelPrice] = Field(default_factory=dict)
