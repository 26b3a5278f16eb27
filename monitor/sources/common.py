"""What every trace reader produces, and how a task becomes an event row.

A reader parses its files into `Task`s (one per agent task: the root span/run/call) and reports
the records it skipped by reason with `file:line` examples. `to_event` then applies the mapping
(`governance/sources.yaml`) and prices (`governance/pricing.yaml`) shared by all sources.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from playbook.core.settings import Escalation, FeedbackKeys, Pricing, SourceSettings

MAX_EXAMPLES = 5
FEEDBACK_COLUMNS = ("customer_feedback", "reworked", "policy_hit", "rolled_back")
EVENT_COLUMNS = (
    "timestamp", "agent", "task_id", "outcome", "latency_s", "cost_usd", *FEEDBACK_COLUMNS,
)  # fmt: skip


@dataclass
class LlmCall:
    """One LLM call's model and tokens. `input_tokens` counts every input token, cached ones
    included (readers of sources that count cache reads and writes apart add them in);
    `cache_read_tokens` and `cache_write_tokens` say how many of them were read from or written to
    the provider's prompt cache. None: the source did not say (the call cannot be priced)."""

    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass
class Task:
    """One agent task reconstructed from a trace."""

    agent_name: str | None
    task_id: str
    start: datetime
    end: datetime
    error: bool = False
    escalated: bool = False  # a marker of the source's own (tags, tool names) already seen
    cost_usd: float | None = None  # the trace's own cost, when the source records one
    llm_calls: list[LlmCall] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    attributes: dict[str, Any] = field(default_factory=dict)  # flattened metadata / attributes
    tool_names: set[str] = field(default_factory=set)  # names of descendant tool spans/runs
    feedback: dict[str, float | bool] = field(default_factory=dict)  # key -> score or label
    policy_hit: bool | None = None  # the source's own verdict (decision logs); a feedback key wins
    timed: bool = True  # False: the source knows when the task happened, not how long it took


@dataclass
class Seen:
    """What a reader read, whether or not it became tasks: how many records (spans, runs, calls)
    and traces, and which kinds of record (span kinds, GenAI operations, run types). An import
    that finds no task says this, and how `sources.yaml` can make tasks of them."""

    records: int = 0
    traces: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


@dataclass
class Skipped:
    """Records left out, by reason, with `file:line` examples; and what was seen (`Seen`)."""

    by_reason: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    seen: Seen = field(default_factory=Seen)

    def add(self, reason: str, where: str) -> None:
        self.by_reason[reason] += 1
        found = self.examples.setdefault(reason, [])
        if len(found) < MAX_EXAMPLES:
            found.append(where)

    def merge(self, other: Skipped) -> None:
        self.seen.records += other.seen.records
        self.seen.traces += other.seen.traces
        self.seen.kinds.update(other.seen.kinds)
        for reason, count in other.by_reason.items():
            self.by_reason[reason] += count
            room = MAX_EXAMPLES - len(self.examples.setdefault(reason, []))
            self.examples[reason] += other.examples.get(reason, [])[:room]


@dataclass
class ImportResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: Skipped = field(default_factory=Skipped)
    unmapped_agents: Counter[str] = field(default_factory=Counter)
    unpriced_models: Counter[str] = field(default_factory=Counter)  # model -> LLM calls
    unknown_tokens: Counter[str] = field(default_factory=Counter)  # model -> calls without tokens
    cache_priced_as_input: set[str] = field(default_factory=set)  # models without a cache price

    @property
    def per_agent(self) -> Counter[str]:
        return Counter(row["agent"] for row in self.rows)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1", "y"}
    return bool(value)


def _score(value: Any) -> float | None:
    """A feedback value as a finite number (a bool as 1 or 0); None when it is none (a word, a
    list): the column is left empty rather than the import stopped."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _present(task: Task, key: str) -> Any:
    if key in task.tags:
        return True
    if key in task.attributes:
        return task.attributes[key]
    if key in task.feedback:
        return task.feedback[key]
    return None


def to_event(
    task: Task,
    *,
    settings: SourceSettings,
    pricing: Pricing,
    charters: set[str] | None,
    result: ImportResult,
) -> dict[str, Any] | None:
    """The event row for a task, or None (counted) when its agent maps to no charter. With
    `charters` None (no governance yet, or `--unmapped keep` for the names without one) every
    task is kept under its traced (or mapped) agent name."""
    agent = _charter(task, settings.agents, charters, result)
    if agent is None:
        return None
    return {
        "timestamp": task.start.isoformat(),
        "agent": agent,
        "task_id": task.task_id,
        "outcome": _outcome(task, settings.escalation),
        "latency_s": max((task.end - task.start).total_seconds(), 0.0) if task.timed else None,
        "cost_usd": _cost(task, pricing, result),
        **_feedback_columns(task, settings.feedback),
    }


def _charter(
    task: Task, agents: dict[str, str], charters: set[str] | None, result: ImportResult
) -> str | None:
    """The charter id of the task's agent (its traced name, mapped by sources.yaml `agents`);
    None, counted as unmapped, when there is no such charter (`charters` None: any name)."""
    name = task.agent_name or ""
    agent = agents.get(name, name)
    if charters is None:
        if not agent:
            result.unmapped_agents["(no agent name)"] += 1
            return None
        return agent
    if agent not in charters:
        result.unmapped_agents[name or "(no agent name)"] += 1
        return None
    return agent


def _outcome(task: Task, escalation: Escalation) -> str:
    escalated = (
        task.escalated
        or any(tag in task.tags for tag in escalation.tags)
        or any(_truthy(task.attributes.get(key)) for key in escalation.keys)
        or any(tool in task.tool_names for tool in escalation.tools)
    )
    return "failure" if task.error else "escalated" if escalated else "success"


def _cost(task: Task, pricing: Pricing, result: ImportResult) -> float | None:
    """The trace's own cost, else its LLM calls priced; None (never zero) when a call's tokens
    are unknown or its model has no price, every such call counted."""
    if task.cost_usd is not None or not task.llm_calls:
        return task.cost_usd
    cost: float | None = 0.0
    for call in task.llm_calls:
        priced = call_cost(call, pricing, result)
        cost = None if cost is None or priced is None else cost + priced
    return cost


def call_cost(call: LlmCall, pricing: Pricing, result: ImportResult) -> float | None:
    """One call in USD: uncached input, cache reads, cache writes and output at their prices (a
    model without cache prices has its cached tokens at the input price, noted once)."""
    model = call.model or "(no model name)"
    if call.input_tokens is None or call.output_tokens is None:
        result.unknown_tokens[model] += 1
        return None
    price = pricing.models.get(call.model or "")
    if price is None:
        result.unpriced_models[model] += 1
        return None
    read_price, write_price = price.cache_read_per_million, price.cache_write_per_million
    if (call.cache_read_tokens and read_price is None) or (
        call.cache_write_tokens and write_price is None
    ):
        result.cache_priced_as_input.add(model)
    cached = call.cache_read_tokens + call.cache_write_tokens
    uncached = max(call.input_tokens - cached, 0)
    return (
        uncached * price.input_per_million
        + call.cache_read_tokens * (price.input_per_million if read_price is None else read_price)
        + call.cache_write_tokens
        * (price.input_per_million if write_price is None else write_price)
        + call.output_tokens * price.output_per_million
    ) / 1_000_000


def _feedback_columns(task: Task, keys: FeedbackKeys) -> dict[str, Any]:
    """Each feedback column from the first of its keys the task has (a tag, an attribute, a
    feedback value); None when it has none."""
    columns: dict[str, Any] = dict.fromkeys(FEEDBACK_COLUMNS)
    for column in FEEDBACK_COLUMNS:
        for key in getattr(keys, column):
            value = _present(task, key)
            if value is not None:
                columns[column] = _score(value) if column == "customer_feedback" else _truthy(value)
                break
    if columns["policy_hit"] is None:
        columns["policy_hit"] = task.policy_hit
    return columns
