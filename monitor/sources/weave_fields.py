"""How the Weave reader reads one call's nested fields, whatever export carried them: `summary`
and `attributes` as objects (JSON Lines, JSON, Parquet structs), as JSON or Python-literal text
(a dataframe written with `to_csv`), or flattened into dotted columns (`summary.weave.status`,
`summary.usage.gpt-4.1.prompt_tokens`, `attributes.env`: `pd.json_normalize`, CSV exports); and
what `summary.usage` and `summary.weave.costs` say: tokens and cost per model.

Usage follows Weave's convention (its cost query, and since 0.53.2 its Anthropic integration,
treat `prompt_tokens`/`input_tokens` as the gross input with the cache counts
inside it): `input_tokens` of an `LlmCall` is that count. Two exceptions add the cache reads and
writes in: a count smaller than its own cache counts (it cannot have included them), and
Anthropic-style usage (`input_tokens` without `prompt_tokens` or `*_tokens_details`) written by a
client older than 0.53.2 (`attributes.weave.client_version`), which stored Anthropic's own
`input_tokens`, the uncached part. Cache reads: `prompt_tokens_details.cached_tokens` /
`input_tokens_details.cached_tokens` (OpenAI), else `cache_read_input_tokens`; cache writes:
`cache_creation_input_tokens`, else `*_tokens_details.cache_write_tokens`. A model whose usage has
no token count is an `LlmCall` with unknown (None) tokens.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from monitor.sources.common import LlmCall
from monitor.sources.values import DecodeError, as_float, flatten, loads, missing, text

# The first segment of a field inside `summary.usage.<model>.` / `summary.weave.costs.<model>.`:
# what ends a model name (which may itself hold dots: "gpt-4.1", "anthropic.claude-v2:1").
_FIELD = re.compile(
    r"^(requests|[a-z_]*tokens[a-z_]*|[a-z_]*_details|[a-z_]*_cost|[a-z_]*_unit|effective_date"
    r"|provider_id|pricing_level(_id)?|created_at|created_by)$"
)
_NEW_ANTHROPIC_USAGE = (0, 53, 2)  # Weave client from which Anthropic input counts the cache
_COSTS = ("prompt_tokens_total_cost", "completion_tokens_total_cost",
    "cache_read_input_tokens_total_cost", "cache_creation_input_tokens_total_cost")  # fmt: skip
_OLD_COSTS = ("prompt_tokens_cost", "completion_tokens_cost")  # Weave servers of 2024
MAX_LITERAL = 1 << 20  # Python-literal text longer than this is not parsed


def loose(value: Any) -> Any:
    """A JSON-encoded or Python-literal object or list (`repr` of a dict, as `DataFrame.to_csv`
    writes one) as the object or list; anything else as it is."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return value
    try:
        return loads(value)
    except DecodeError:
        pass
    if len(value) > MAX_LITERAL:
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return value


def loose_object(value: Any) -> dict[str, Any]:
    found = loose(value)
    return found if isinstance(found, dict) else {}


def loose_list(value: Any) -> list[Any]:
    found = loose(value)
    return list(found) if isinstance(found, list | tuple) else []


def nested(call: dict[str, Any], name: str) -> dict[str, Any]:
    """The call's object `name` (`summary`, `attributes`): the object itself merged with the
    flattened columns under `name.`; `summary.usage` and `summary.weave.costs` split into model
    and field where the model name has dots of its own."""
    found = loose_object(call.get(name))
    prefix = name + "."
    if not any(key.startswith(prefix) for key in call):
        return found
    found = {key: value for key, value in found.items()}  # the record's own object untouched
    for key, value in call.items():
        if key.startswith(prefix) and not missing(value):
            _set(found, _path(key[len(prefix) :]), value)
    return found


def _path(key: str) -> list[str]:
    parts = key.split(".")
    for head in (["usage"], ["weave", "costs"]):
        if parts[: len(head)] == head and len(parts) > len(head) + 1:
            rest = parts[len(head) :]
            cut = next((i for i in range(1, len(rest)) if _FIELD.match(rest[i])), 1)
            return [*head, ".".join(rest[:cut]), *rest[cut:]]
    return parts


def _set(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        inner = loose_object(target.get(part))
        target[part] = inner = dict(inner)
        target = inner
    target[path[-1]] = value


def count(value: Any) -> int | None:
    """A token count (also "1200.0", as a dataframe writes an int column with gaps); None when
    missing or not a non-negative whole number."""
    number = as_float(value)
    if number is None or number < 0 or not number.is_integer() or number >= 2**63:
        return None
    return int(number)


def client_version(attributes: dict[str, Any]) -> tuple[int, ...] | None:
    """`attributes.weave.client_version` ("0.51.59") as numbers; None when absent or unreadable."""
    weave = loose_object(attributes.get("weave"))
    raw = text(weave.get("client_version", attributes.get("weave.client_version"))) or ""
    numbers = re.findall(r"\d+", raw.split("-")[0].split("+")[0])[:3]
    return tuple(int(number) for number in numbers) if numbers else None


def llm_calls(summary: dict[str, Any], version: tuple[int, ...] | None) -> list[LlmCall]:
    """One LlmCall per model in `summary.usage` (Weave sums a call's LLM requests per model)."""
    calls = []
    for model, usage in loose_object(summary.get("usage")).items():
        usage = loose_object(usage)
        if usage:
            calls.append(_llm_call(text(model), usage, version))
    return calls


def _llm_call(model: str | None, usage: dict[str, Any], version: tuple[int, ...] | None) -> LlmCall:
    details = {
        **loose_object(usage.get("input_tokens_details")),
        **loose_object(usage.get("prompt_tokens_details")),
    }
    prompt = count(
        usage["prompt_tokens"] if "prompt_tokens" in usage else usage.get("input_tokens")
    )
    completion = count(
        usage["completion_tokens"] if "completion_tokens" in usage else usage.get("output_tokens")
    )
    read = count(details.get("cached_tokens"))
    read = count(usage.get("cache_read_input_tokens")) if read is None else read
    write = count(usage.get("cache_creation_input_tokens"))
    write = count(details.get("cache_write_tokens")) if write is None else write
    read, write = read or 0, write or 0
    anthropic_style = "prompt_tokens" not in usage and not details and "input_tokens" in usage
    old_client = version is not None and version < _NEW_ANTHROPIC_USAGE
    cached = read + write
    if prompt is not None and cached and (prompt < cached or (anthropic_style and old_client)):
        prompt += cached
    return LlmCall(model, prompt, completion, read, write)


def summary_cost(summary: dict[str, Any], calls: list[LlmCall]) -> float | None:
    """The USD Weave's cost query put in `summary.weave.costs` (per model: prompt and completion
    totals, and cache totals where given); None when there is none, or when a model of the usage
    or a cost in it is missing (a partial sum would pass for the whole)."""
    costs = loose_object(loose_object(summary.get("weave")).get("costs"))
    if not costs or any(call.model not in costs for call in calls if call.model):
        return None
    total = 0.0
    for cost in costs.values():
        cost = loose_object(cost)
        names = [name for name in _COSTS if name in cost] or [n for n in _OLD_COSTS if n in cost]
        values = [as_float(cost[name]) for name in names]
        if not values or None in values:
            return None
        total += sum(value for value in values if value is not None)
    return total


def attribute_values(attributes: dict[str, Any]) -> dict[str, Any]:
    """The call's attributes flattened to dotted keys, Weave's own (`weave.*`) left out."""
    return {
        key: value
        for key, value in flatten(attributes).items()
        if not key.startswith("weave.") and not missing(value)
    }
