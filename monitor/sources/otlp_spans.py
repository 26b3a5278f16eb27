"""What one OTLP span is to the OpenTelemetry reader: an LLM call, a tool call or neither; whether
sources.yaml's task rule picks it; the kind it is counted under when no task is found. Attribute
values here are still OTLP AnyValues (`otlp.plain_value` reads them); the names read are the
reference list in `otel`'s docstring.

Token counts: input tokens count every input token, cached ones included (the GenAI semantic
conventions, OpenInference and the Vercel AI SDK all report them so); an instrumentation that
reports them without the cache (Anthropic's own `input_tokens`) is recognised by cache reads and
writes that exceed its input count, and the cached tokens are then added in. A span that reports
neither input nor output tokens has unknown tokens (None: its cost stays unknown, never 0); one
that reports one of them has 0 of the other.
"""

from __future__ import annotations

import fnmatch
import math
import re
from typing import Any

from monitor.sources.common import LlmCall
from monitor.sources.otlp import plain_value, value_of
from monitor.sources.values import INT64, text
from playbook.core.settings import TaskRule

OPERATION = "gen_ai.operation.name"  # GenAI semantic conventions
OPENINFERENCE_KIND = "openinference.span.kind"  # Arize OpenInference: LLM, TOOL, AGENT, CHAIN...
TRACELOOP_KIND = "traceloop.span.kind"  # OpenLLMetry: workflow, task, agent, tool
AGENT_OPERATION = "invoke_agent"
TOOL_OPERATION = "execute_tool"
LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
VERCEL_CALLS = (".doGenerate", ".doStream")  # ai.generateText.doGenerate, ai.streamText.doStream
VERCEL_OPERATION = "ai.operationId"

# Each count: the first of its names a span carries (GenAI new, GenAI old, OpenInference, Vercel).
INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt", "ai.usage.inputTokens", "ai.usage.promptTokens")  # fmt: skip
OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
    "llm.token_count.completion", "ai.usage.outputTokens", "ai.usage.completionTokens")  # fmt: skip
CACHE_READ_TOKENS = ("gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens", "llm.token_count.prompt_details.cache_read",
    "ai.usage.cachedInputTokens")  # fmt: skip
CACHE_WRITE_TOKENS = ("gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write")  # fmt: skip
MODELS = ("gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "ai.model.id")
TOOL_NAMES = ("gen_ai.tool.name", "tool.name", "ai.toolCall.name", "traceloop.entity.name")
USAGE = frozenset(INPUT_TOKENS + OUTPUT_TOKENS)
CACHE = frozenset(CACHE_READ_TOKENS + CACHE_WRITE_TOKENS)
# A span with none of these (and no GenAI operation) is neither an LLM nor a tool call.
SIGNALS = USAGE | frozenset(MODELS) | {OPENINFERENCE_KIND, TRACELOOP_KIND, "ai.toolCall.name"}

# What a span is: OTHER (payload None), TOOL (payload: its name) or LLM (payload: an LlmCall).
OTHER, TOOL, LLM = 0, 1, 2


def classify(attributes: dict[str, Any], operation: Any, name: Any) -> tuple[int, Any]:
    """A span as (OTHER, None), (TOOL, name) or (LLM, LlmCall); `attributes` maps keys to raw
    AnyValues; ValueError when a value read is malformed. An `invoke_agent` span is an LLM call
    only when it reports token usage (its own model name is not a call)."""
    if operation == TOOL_OPERATION:
        return TOOL, tool_name(attributes, name)
    if operation == AGENT_OPERATION:
        call = llm_call(attributes, usage_only=True)
        return (OTHER, None) if call is None else (LLM, call)
    if type(operation) is str and operation in LLM_OPERATIONS:
        return LLM, llm_call(attributes, force=True)
    if SIGNALS.isdisjoint(attributes):
        return OTHER, None
    kind = _upper(attributes.get(OPENINFERENCE_KIND))
    vercel_tool = "ai.toolCall.name" in attributes
    if kind == "TOOL" or vercel_tool or _upper(attributes.get(TRACELOOP_KIND)) == "TOOL":
        return TOOL, tool_name(attributes, name)
    vercel = text(plain_value(attributes.get(VERCEL_OPERATION))) or text(name) or ""
    if kind == "LLM" or vercel.endswith(VERCEL_CALLS):
        return LLM, llm_call(attributes, force=True)
    # a model name alone makes a call, except on spans that say they are something else
    usage_only = (kind is not None and kind != "LLM") or vercel.startswith("ai.")
    call = llm_call(attributes, usage_only=usage_only)
    return (OTHER, None) if call is None else (LLM, call)


def tool_name(attributes: dict[str, Any], name: Any) -> str | None:
    for key in TOOL_NAMES:
        found = text(plain_value(attributes.get(key)))
        if found:
            return found
    return text(name)


def llm_call(
    attributes: dict[str, Any], *, usage_only: bool = False, force: bool = False
) -> LlmCall | None:
    """The call a span reports: None when it reports no token usage and (unless `force`) no
    model, or no usage and `usage_only`."""
    has_usage = not USAGE.isdisjoint(attributes)
    if not has_usage and usage_only and not force:
        return None
    model = _model(attributes)
    if not has_usage:
        return LlmCall(model, None, None) if force or model is not None else None
    tokens_in = _count(attributes, INPUT_TOKENS)
    tokens_out = _count(attributes, OUTPUT_TOKENS)
    if tokens_in is None and tokens_out is None:
        return LlmCall(model, None, None)
    tokens_in, tokens_out = tokens_in or 0, tokens_out or 0
    if CACHE.isdisjoint(attributes):
        return LlmCall(model, tokens_in, tokens_out)
    read = _count(attributes, CACHE_READ_TOKENS) or 0
    written = _count(attributes, CACHE_WRITE_TOKENS) or 0
    if read + written > tokens_in:  # input counted without the cache (Anthropic's convention)
        tokens_in += read + written
    return LlmCall(model, tokens_in, tokens_out, read, written)


def _model(attributes: dict[str, Any]) -> str | None:
    for key in MODELS:
        found = attributes.get(key)
        if found is not None:
            found = plain_value(found)
            if isinstance(found, str) and found:
                return found
    return None


def _count(attributes: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    """The first of `keys` that holds a token count; None when none does (absent, or not a
    non-negative number)."""
    for key in keys:
        raw = attributes.get(key)
        if raw is None:
            continue
        usual = type(raw) is dict and "intValue" in raw  # {"intValue": "1200"}
        value = raw["intValue"] if usual else value_of(raw)
        if type(value) is int:
            if 0 <= value <= INT64:
                return value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        try:
            number = float(value)
        except (ValueError, OverflowError):
            continue
        if math.isfinite(number) and 0 <= number <= INT64:
            return int(number)
    return None


def _upper(any_value: Any) -> str | None:
    found = text(plain_value(any_value)) if any_value is not None else None
    return found.upper() if found else None


def kind_label(attributes: dict[str, Any], operation: Any, name: Any) -> str:
    """What a span is counted as when no task is found: its GenAI operation, else its
    OpenInference or OpenLLMetry span kind, else its name."""
    return (
        text(operation)
        or text(plain_value(attributes.get(OPENINFERENCE_KIND)))
        or text(plain_value(attributes.get(TRACELOOP_KIND)))
        or text(name)
        or "(no name)"
    )


class TaskMatcher:
    """sources.yaml's `tasks.otel` rule: a span is a task when its name matches `span_name` (a
    glob, case-sensitive), or it has the attribute `attribute`, or its OpenInference or
    OpenLLMetry span kind is one of `span_kind` (case-insensitive)."""

    def __init__(self, rule: TaskRule | None) -> None:
        rule = rule or TaskRule()
        glob = rule.span_name
        self.name = re.compile(fnmatch.translate(glob)).match if glob else None
        self.attribute = rule.attribute or None
        self.kinds = frozenset(kind.upper() for kind in rule.span_kind)
        self.active = bool(self.name or self.attribute or self.kinds)

    def __call__(self, name: Any, attributes: dict[str, Any]) -> bool:
        if self.name is not None and isinstance(name, str) and self.name(name):
            return True
        if self.attribute is not None and attributes.get(self.attribute) is not None:
            return True
        if self.kinds:
            for key in (OPENINFERENCE_KIND, TRACELOOP_KIND):
                if _upper(attributes.get(key)) in self.kinds:
                    return True
        return False
