"""How the Langfuse reader reads one record's fields: by their public-API names (camelCase:
`traceId`, `startTime`, `usageDetails`) or by the ClickHouse column names of Langfuse's blob
storage exports (snake_case: `trace_id`, `start_time`, `usage_details`); nested objects as
objects, as JSON text (CSV exports) or flattened into `usageDetails.input` columns; and what an
observation's usage, cost and a score's value are.

Usage. Langfuse's usage types are disjoint buckets, each priced apart (a model's prices are per
usage type: `input`, `input_cached_tokens`, `cache_read_input_tokens`, `output`, ...), and its
own sums count every type whose name starts with "input" as input and "output" as output
(`reduceUsageOrCostDetails` in Langfuse's server; its ingestion takes cached and other detail
tokens out of `input` when it maps OpenAI and OpenTelemetry usage, so `input` alone is the
uncached part). So an LlmCall's input is the sum of the `input*` types plus Anthropic-named cache
types (`cache_read_input_tokens`, `cache_creation_input_tokens`, which do not start with
"input"; a tier breakdown such as `cache_creation_ephemeral_5m_input_tokens` beside its total is
not counted twice); its cache reads the types naming a cache read (`input_cached_tokens`,
`input_cache_read`, `cache_read_input_tokens`), its cache writes those naming a cache creation or
write. One safeguard: when a `total` is given, the sum overshoots it, and `total - output` still
covers the cache counts, the buckets overlapped (a gross `input` ingested beside its cached part)
and `total - output` is the input. Without `usageDetails`, the legacy `usage` object (`input`,
`output`, unit TOKENS), the batch export's `inputUsage`/`outputUsage` or the older
`promptTokens`/`completionTokens` are read. No usage at all: unknown (None) tokens.

Cost: `costDetails.total` (else the sum of `costDetails`), else `totalCost`/`calculatedTotalCost`
when above zero (exports write 0 for "no cost known").
"""

from __future__ import annotations

from typing import Any

from monitor.sources.common import LlmCall
from monitor.sources.values import as_float, feedback_value, missing, text
from monitor.sources.weave_fields import count, loose_list, loose_object

ALIASES: dict[str, tuple[str, ...]] = {
    "traceId": ("traceId", "trace_id"),
    "startTime": ("startTime", "start_time"),
    "endTime": ("endTime", "end_time"),
    "parentObservationId": ("parentObservationId", "parent_observation_id"),
    "statusMessage": ("statusMessage", "status_message"),
    "model": ("model", "providedModelName", "provided_model_name"),
    "usageDetails": ("usageDetails", "usage_details"),
    "costDetails": ("costDetails", "cost_details"),
    "totalCost": ("totalCost", "total_cost", "calculatedTotalCost", "calculated_total_cost"),
    "traceName": ("traceName", "trace_name"),
    "tags": ("tags", "traceTags", "trace_tags"),
    "userId": ("userId", "user_id"),
    "sessionId": ("sessionId", "session_id"),
    "observationId": ("observationId", "observation_id"),
    "stringValue": ("stringValue", "string_value"),
    "dataType": ("dataType", "data_type"),
    "isRootObservation": ("isRootObservation", "is_root_observation"),
    "inputUsage": ("inputUsage", "input_usage"),
    "outputUsage": ("outputUsage", "output_usage"),
    "promptTokens": ("promptTokens", "prompt_tokens"),
    "completionTokens": ("completionTokens", "completion_tokens"),
}
LLM_TYPES = {"GENERATION", "EMBEDDING"}
_CACHE_READ = ("cache_read", "cached")
_CACHE_WRITE = ("cache_creation", "cache_write")
_AGGREGATES = ("cache_creation_input_tokens", "input_cache_creation")


def get(record: dict[str, Any], name: str) -> Any:
    """The first of the field's names the record has a value for; None when none."""
    for alias in ALIASES.get(name, (name,)):
        value = record.get(alias)
        if not missing(value):
            return value
    return None


def has(record: dict[str, Any], name: str) -> bool:
    return any(alias in record for alias in ALIASES.get(name, (name,)))


def obj(record: dict[str, Any], name: str) -> dict[str, Any]:
    """A nested object field: the object (or its JSON text) merged with `<name>.<key>` columns."""
    found = dict(loose_object(get(record, name)))
    for alias in ALIASES.get(name, (name,)):
        prefix = alias + "."
        for key, value in record.items():
            if key.startswith(prefix) and not missing(value):
                found[key[len(prefix) :]] = value
    return found


def tags(record: dict[str, Any]) -> set[str]:
    return {tag for tag in map(text, loose_list(get(record, "tags"))) if tag}


def llm_call(observation: dict[str, Any]) -> LlmCall:
    """The observation's model and tokens (see the module docstring)."""
    model = text(get(observation, "model"))
    details = obj(observation, "usageDetails")
    counts = {key: found for key, value in details.items() if (found := count(value)) is not None}
    if any(key not in ("total", "unit") for key in counts):
        return _from_details(model, counts)
    legacy = loose_object(observation.get("usage"))
    if (text(legacy.get("unit")) or "TOKENS").upper() == "TOKENS" and (
        count(legacy.get("input")) is not None or count(legacy.get("output")) is not None
    ):
        return LlmCall(model, count(legacy.get("input")), count(legacy.get("output")))
    for inputs, outputs in (("inputUsage", "outputUsage"), ("promptTokens", "completionTokens")):
        tokens_in, tokens_out = count(get(observation, inputs)), count(get(observation, outputs))
        if tokens_in or tokens_out:  # exports write 0 when there is no usage
            return LlmCall(model, tokens_in, tokens_out)
    return LlmCall(model, None, None)


def _without_tier_breakdown(counts: dict[str, int]) -> dict[str, int]:
    """The counts without a cache creation's tier breakdown when its total is given beside it
    (`cache_creation_ephemeral_5m_input_tokens` beside `cache_creation_input_tokens`)."""
    if not any(key in counts for key in _AGGREGATES):
        return counts
    return {
        key: value
        for key, value in counts.items()
        if key in _AGGREGATES or not key.startswith(("cache_creation_", "input_cache_creation_"))
    }


def _is_input(key: str) -> bool:
    """An input usage type: `input*`, or an Anthropic-named cache type (`cache_*input*`)."""
    return key.startswith("input") or (key.startswith("cache") and "input" in key)


def _sum_naming(counts: dict[str, int], keys: list[str], words: tuple[str, ...]) -> int:
    """The sum of the counts of those keys that contain one of the words."""
    return sum(counts[key] for key in keys if any(word in key for word in words))


def _net_input(tokens_in: int, tokens_out: int, cached: int, total: int | None) -> int:
    """The input, or `total - output` when the buckets overlapped: their sum overshoots the
    total, and `total - output` still covers the cache counts."""
    if total is not None and tokens_in + tokens_out > total and total - tokens_out >= cached:
        return total - tokens_out
    return tokens_in


def _from_details(model: str | None, counts: dict[str, int]) -> LlmCall:
    counts = _without_tier_breakdown(counts)
    inputs = [key for key in counts if _is_input(key)]
    outputs = [key for key in counts if key.startswith("output")]
    read = _sum_naming(counts, inputs, _CACHE_READ)
    write = _sum_naming(counts, inputs, _CACHE_WRITE)
    tokens_out = sum(counts[key] for key in outputs)
    tokens_in = _net_input(
        sum(counts[key] for key in inputs), tokens_out, read + write, counts.get("total")
    )
    return LlmCall(
        model,
        tokens_in if inputs else None,
        tokens_out if outputs else None,
        read if inputs else 0,
        write if inputs else 0,
    )


def cost(observation: dict[str, Any]) -> float | None:
    """The observation's USD cost, None when unknown (see the module docstring)."""
    details = obj(observation, "costDetails")
    if details:
        total = as_float(details.get("total"))
        if total is not None:
            return total
        values = [as_float(value) for value in details.values()]
        if values and None not in values:
            return sum(value for value in values if value is not None)
    found = as_float(get(observation, "totalCost"))
    return found if found is not None and found > 0 else None


def score_value(score: dict[str, Any]) -> float | bool | None:
    """A score as a feedback value: BOOLEAN as yes/no, NUMERIC as its number, CATEGORICAL as its
    label read as a yes/no or a number (other labels: None)."""
    kind = (text(get(score, "dataType")) or "").upper()
    value, label = score.get("value"), get(score, "stringValue")
    if kind == "BOOLEAN":
        number = as_float(value)
        return feedback_value(None, label) if number is None else number != 0
    if kind == "CATEGORICAL":
        return feedback_value(None, label)
    return feedback_value(value, label)


def score_trace(score: dict[str, Any]) -> tuple[str, str]:
    """(trace id, observation id) a score belongs to: its `traceId`/`observationId`, or the v3
    API's `subject` ({kind: trace|observation, id, traceId})."""
    trace = text(get(score, "traceId")) or ""
    observation = text(get(score, "observationId")) or ""
    subject = loose_object(score.get("subject"))
    kind = (text(subject.get("kind")) or "").lower()
    if kind == "trace":
        trace = trace or text(subject.get("id")) or ""
    elif kind == "observation":
        observation = observation or text(subject.get("id")) or ""
        trace = trace or text(subject.get("traceId")) or ""
    return trace, observation
