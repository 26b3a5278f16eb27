"""The model and token usage of a LangSmith LLM run, wherever the tracer or the server put them.

Tokens, from the first of these that gives an input or an output count:

1. `outputs.usage_metadata`: what `@traceable` LLM functions return, and wrappers write
   (`input_tokens`, `output_tokens`, `input_token_details.cache_read` / `.cache_creation`);
2. `extra.metadata.usage_metadata`: the same, where the SDK (0.2+) and LangChain (0.3+) copy it;
3. the run's own `prompt_tokens` / `completion_tokens` (with `prompt_token_details.cache_read` /
   `.cache_creation`): what the server computed, in `list_runs` answers and bulk exports;
4. `outputs.generations[][].message.kwargs.usage_metadata`: a LangChain chat model's serialised
   AIMessage (the first generation of each prompt that has one, summed over prompts);
5. `outputs.llm_output.token_usage` (older LangChain and OpenAI: `prompt_tokens`,
   `completion_tokens`, `prompt_tokens_details.cached_tokens`) or `outputs.llm_output.usage`
   (Anthropic: `input_tokens` without its `cache_read_input_tokens` and
   `cache_creation_input_tokens`, which are added in).

Input tokens always include the cached ones. A run with neither count, or with both zero (how a
server view shows a call that reported no usage), has unknown tokens: None, and its
cost is left empty rather than zero. One count without the other is unknown too.

The model: `extra.metadata.ls_model_name`, else `extra.invocation_params.model` /
`.model_name`, else `outputs.llm_output.model_name` / `.model`.
"""

from __future__ import annotations

from typing import Any

from monitor.sources.values import as_int, json_list, json_object, missing, text

# input tokens (cached included) or None, output tokens or None, cache reads, cache writes
Usage = tuple[int | None, int | None, int, int]
_CACHE_WRITES = ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")


def _count(value: Any) -> int | None:
    """A token count, or None when there is none (missing, not a number, a bool)."""
    if missing(value) or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        return None
    return max(as_int(value), 0)


def _known(
    input_tokens: int | None, output_tokens: int | None, read: int, write: int
) -> Usage | None:
    if input_tokens is None and output_tokens is None:
        return None
    if not input_tokens and not output_tokens:
        return None  # 0 and 0: no usage reported, not a free call
    return input_tokens, output_tokens, read, write


def _details(details: dict[str, Any]) -> tuple[int, int]:
    """Cache reads and writes of an `input_token_details` / `prompt_token_details` object."""
    read = as_int(details.get("cache_read"))
    write = as_int(details.get("cache_creation"))
    if not write:  # Anthropic's split by time to live
        write = sum(as_int(details.get(key)) for key in _CACHE_WRITES)
    return max(read, 0), max(write, 0)


def usage_metadata(value: Any) -> Usage | None:
    """LangChain's `UsageMetadata` (also the SDK's `ExtractedUsageMetadata`)."""
    usage = json_object(value)
    if not usage:
        return None
    read, write = _details(json_object(usage.get("input_token_details")))
    return _known(
        _count(usage.get("input_tokens")), _count(usage.get("output_tokens")), read, write
    )


def run_level(run: dict[str, Any]) -> Usage | None:
    """The counts the LangSmith server keeps on a run (a root's are its descendants' totals)."""
    if missing(run.get("prompt_tokens")) and missing(run.get("completion_tokens")):
        return None
    read, write = _details(json_object(run.get("prompt_token_details")))
    return _known(
        _count(run.get("prompt_tokens")), _count(run.get("completion_tokens")), read, write
    )


def provider_usage(value: Any) -> Usage | None:
    """A provider's own usage object: OpenAI's (`prompt_tokens`, cached tokens included),
    Anthropic's (`input_tokens`, cache reads and writes apart), or a `UsageMetadata`."""
    usage = json_object(value)
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        cached = json_object(usage.get("prompt_tokens_details")).get("cached_tokens")
        return _known(
            _count(usage.get("prompt_tokens")),
            _count(usage.get("completion_tokens")),
            max(as_int(cached), 0),
            0,
        )
    if "input_token_details" in usage:
        return usage_metadata(usage)
    read = _count(usage.get("cache_read_input_tokens")) or 0
    write = _count(usage.get("cache_creation_input_tokens")) or 0
    uncached = _count(usage.get("input_tokens"))
    total = None if uncached is None else uncached + read + write
    return _known(total, _count(usage.get("output_tokens")), read, write)


def _message_usage(generation: Any) -> Usage | None:
    fields = json_object(generation.get("message")) if isinstance(generation, dict) else {}
    if fields.get("lc") == 1 and isinstance(fields.get("kwargs"), dict):
        fields = fields["kwargs"]  # langchain_core.load.dumpd: {"lc": 1, "kwargs": {...}}
    return usage_metadata(fields.get("usage_metadata"))


def generations_usage(value: Any) -> Usage | None:
    """The usage on a LangChain `LLMResult`'s generations: per prompt (outer list), the first
    generation that has one (the choices of one call share its usage), summed over prompts."""
    found: list[Usage] = []
    for prompt in json_list(value):
        for generation in prompt if isinstance(prompt, list) else [prompt]:
            if usage := _message_usage(generation):
                found.append(usage)
                break
    if not found:
        return None
    inputs = [usage[0] for usage in found]
    outputs = [usage[1] for usage in found]
    return (
        None if None in inputs else sum(inputs),  # type: ignore[arg-type]
        None if None in outputs else sum(outputs),  # type: ignore[arg-type]
        sum(usage[2] for usage in found),
        sum(usage[3] for usage in found),
    )


def llm_usage(run: dict[str, Any], extra: dict[str, Any]) -> Usage | None:
    """An LLM run's tokens, from the first place (in the module's order) that records them."""
    outputs = json_object(run.get("outputs"))
    metadata = json_object(extra.get("metadata"))
    found = (
        usage_metadata(outputs.get("usage_metadata"))
        or usage_metadata(metadata.get("usage_metadata"))
        or run_level(run)
        or generations_usage(outputs.get("generations"))
    )
    if found is None:
        llm_output = json_object(outputs.get("llm_output"))
        found = provider_usage(llm_output.get("token_usage")) or provider_usage(
            llm_output.get("usage")
        )
    return found


def model_name(run: dict[str, Any], extra: dict[str, Any]) -> str | None:
    """An LLM run's model as its pricing should name it."""
    params = json_object(extra.get("invocation_params"))
    metadata = json_object(extra.get("metadata"))
    for value in (metadata.get("ls_model_name"), params.get("model"), params.get("model_name")):
        if found := text(value):
            return found
    llm_output = json_object(json_object(run.get("outputs")).get("llm_output"))
    return text(llm_output.get("model_name")) or text(llm_output.get("model"))
