"""LLM calls, tokens, tools and costs from the OpenTelemetry reader, across the instrumentations that
write OTel spans: the GenAI semantic conventions (old and new names), OpenInference, the Vercel AI
SDK and OpenLLMetry (recorded files in fixtures/otel), pydantic-ai (run with its test model)."""

from __future__ import annotations

from inspect import signature
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk.trace", reason="the traces-test extra is not installed")

from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai

from monitor.sources.common import ImportResult, LlmCall, Task, call_cost, to_event
from monitor.sources.otel import read
from playbook.core.settings import ModelPrice, Pricing, SourceSettings, TaskRule
from tests.monitor.sources.test_traces_otel import START, Traces

FIXTURES = Path(__file__).parent / "fixtures" / "otel"
CHAT = {gen_ai.GEN_AI_OPERATION_NAME: "chat", gen_ai.GEN_AI_REQUEST_MODEL: "m"}
PRICING = Pricing(
    models={
        "claude-sonnet-4-5": ModelPrice(input_per_million=3, output_per_million=15,
                                        cache_read_per_million=0.3, cache_write_per_million=3.75),
        "gpt-4o-mini": ModelPrice(input_per_million=0.15, output_per_million=0.6),
        "claude-3-5-haiku-latest": ModelPrice(input_per_million=0.8, output_per_million=4,
                                              cache_read_per_million=0.08),
    }
)  # fmt: skip


def event(task: Task, result: ImportResult | None = None) -> dict[str, Any]:
    row = to_event(task, settings=SourceSettings(), pricing=PRICING, charters=None,
                   result=result or ImportResult())  # fmt: skip
    assert row is not None
    return row


@pytest.mark.parametrize(
    ("name", "attributes", "expected"),
    [
        ("chat m", {**CHAT, gen_ai.GEN_AI_USAGE_INPUT_TOKENS: 100,
                    gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS: 20,
                    gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 60,
                    gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 10},
         LlmCall("m", 100, 20, 60, 10)),
        ("completion", {gen_ai.GEN_AI_REQUEST_MODEL: "m", gen_ai.GEN_AI_USAGE_PROMPT_TOKENS: 100,
                        gen_ai.GEN_AI_USAGE_COMPLETION_TOKENS: 20},
         LlmCall("m", 100, 20)),
        # input without the cache (Anthropic's own counting): the cached tokens are added in
        ("anthropic.chat", {**CHAT, gen_ai.GEN_AI_USAGE_INPUT_TOKENS: 12,
                            gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS: 64,
                            "gen_ai.usage.cache_read_input_tokens": 2048,
                            "gen_ai.usage.cache_creation_input_tokens": 512},
         LlmCall("m", 2572, 64, 2048, 512)),
        ("ChatOpenAI", {SpanAttributes.OPENINFERENCE_SPAN_KIND: "LLM",
                        SpanAttributes.LLM_MODEL_NAME: "m",
                        SpanAttributes.LLM_TOKEN_COUNT_PROMPT: 100,
                        SpanAttributes.LLM_TOKEN_COUNT_COMPLETION: 20,
                        SpanAttributes.LLM_TOKEN_COUNT_TOTAL: 120,
                        SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: 80,
                        SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE: 5},
         LlmCall("m", 100, 20, 80, 5)),
        ("ai.generateText.doGenerate", {"ai.model.id": "m", "ai.usage.promptTokens": 100,
                                        "ai.usage.completionTokens": 20},
         LlmCall("m", 100, 20)),
        ("ai.streamText.doStream", {"ai.model.id": "m", "ai.usage.inputTokens": 100,
                                    "ai.usage.outputTokens": 20,
                                    "ai.usage.cachedInputTokens": 50},
         LlmCall("m", 100, 20, 50, 0)),
        ("chat m", {**CHAT, gen_ai.GEN_AI_USAGE_INPUT_TOKENS: "100",
                    gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS: "20"},
         LlmCall("m", 100, 20)),  # counts written as text
        ("chat m", CHAT, LlmCall("m", None, None)),  # a model, no tokens: unknown, not 0
        ("llm", {SpanAttributes.OPENINFERENCE_SPAN_KIND: "LLM"}, LlmCall(None, None, None)),
        ("chat m", {**CHAT, gen_ai.GEN_AI_USAGE_INPUT_TOKENS: -5,
                    gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS: "many"},
         LlmCall("m", None, None)),  # counts that are none
    ],
    ids=["genai", "genai-old", "anthropic-cache", "openinference", "vercel-4", "vercel-5",
         "text-counts", "no-tokens", "openinference-bare", "bad-counts"],
)  # fmt: skip
def test_token_attribute_names(
    tmp_path: Path, name: str, attributes: dict[str, Any], expected: LlmCall
) -> None:
    traces = Traces(service="svc")
    traces.span(name, attributes)
    [task], skipped = read([traces.json_lines(tmp_path / "t.jsonl")], SourceSettings())
    assert not skipped.by_reason
    assert task.llm_calls == [expected]


def test_costs_price_cached_tokens_and_never_guess_unknown_tokens() -> None:
    result = ImportResult()
    # 12 uncached x 3 + 2048 read x 0.3 + 512 written x 3.75 + 64 out x 15, per million
    cached = LlmCall("claude-sonnet-4-5", 2572, 64, 2048, 512)
    assert call_cost(cached, PRICING, result) == pytest.approx(3530.4e-6)
    # a model without a cache price: the cached tokens at the input price, and said so
    assert call_cost(LlmCall("gpt-4o-mini", 1000, 100, 800), PRICING, result) == pytest.approx(
        (1000 * 0.15 + 100 * 0.6) / 1e6
    )
    assert result.cache_priced_as_input == {"gpt-4o-mini"}
    unknown = LlmCall("gpt-4o-mini", None, None)
    assert call_cost(unknown, PRICING, result) is None
    assert result.unknown_tokens == {"gpt-4o-mini": 1}
    task = Task("a", "t", START, START, llm_calls=[LlmCall("gpt-4o-mini", 10, 1), unknown])
    assert event(task)["cost_usd"] is None  # one unknown call: the task's cost unknown, not 0


def test_openinference_spans_over_otlp(tmp_path: Path) -> None:
    traces = Traces(service="rag-service")
    kind = SpanAttributes.OPENINFERENCE_SPAN_KIND
    agent = traces.span(
        "Agent.run",
        {
            kind: OpenInferenceSpanKindValues.AGENT.value,
            SpanAttributes.AGENT_NAME: "research-agent",
        },
        seconds=5,
    )
    chain = traces.span("retrieve-and-answer", {kind: "CHAIN"}, parent=agent)
    traces.span("retriever", {kind: "RETRIEVER"}, parent=chain)
    traces.span("ChatAnthropic", {kind: "LLM", SpanAttributes.LLM_MODEL_NAME: "claude-sonnet-4-5",
                                  SpanAttributes.LLM_TOKEN_COUNT_PROMPT: 2572,
                                  SpanAttributes.LLM_TOKEN_COUNT_COMPLETION: 64,
                                  SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: 2048,
                                  SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE: 512},
                parent=chain)  # fmt: skip
    traces.span("web_search", {kind: "TOOL", SpanAttributes.TOOL_NAME: "web_search"}, parent=agent)
    path = traces.protobuf(tmp_path / "traces.pb")
    for settings in (
        SourceSettings(),
        SourceSettings(tasks={"otel": TaskRule(span_kind=["AGENT"])}),
    ):
        [task], skipped = read([path], settings)
        assert not skipped.by_reason
        assert task.agent_name == "research-agent"  # OpenInference's agent.name
        assert task.tool_names == {"web_search"}
        assert task.llm_calls == [LlmCall("claude-sonnet-4-5", 2572, 64, 2048, 512)]
        assert event(task)["cost_usd"] == pytest.approx(3530.4e-6)


def test_vercel_ai_sdk_recorded_export() -> None:
    path = FIXTURES / "vercel-ai-sdk.json"
    tasks, skipped = read([path], SourceSettings())
    assert not skipped.by_reason
    by_id = {task.task_id: task for task in tasks}
    chat = by_id["4bf92f3577b34da6a3ce929d0e0e4736"]
    assert chat.agent_name == "support-web"  # no agent attribute: the service
    # the two doGenerate steps; not ai.generateText's total over them
    assert chat.llm_calls == [LlmCall("gpt-4o-mini", 600, 40), LlmCall("gpt-4o-mini", 650, 55)]
    assert chat.tool_names == {"lookupOrder"}
    assert event(chat)["cost_usd"] == pytest.approx((1250 * 0.15 + 95 * 0.6) / 1e6)
    assert event(chat)["latency_s"] == 3.2
    stream = by_id["5c0a3f4b8e2d4f1a9b7c6d5e4f3a2b1c"]
    assert stream.llm_calls == [LlmCall("claude-3-5-haiku-latest", 2100, 80, 1800, 0)]
    assert event(stream)["outcome"] == "failure"
    assert event(stream)["cost_usd"] == pytest.approx((300 * 0.8 + 1800 * 0.08 + 80 * 4) / 1e6)
    settings = SourceSettings(agent_attribute={"otel": "ai.telemetry.functionId"})
    assert sorted(task.agent_name for task in read([path], settings)[0]) == [
        "support-chat", "triage"
    ]  # fmt: skip


def test_openllmetry_recorded_export() -> None:
    path = FIXTURES / "openllmetry.jsonl"
    roots, skipped = read([path], SourceSettings())
    assert not skipped.by_reason
    assert [task.attributes["http.route"] for task in roots] == ["/joke", "/joke"]
    assert {task.agent_name for task in roots} == {"joke-service"}
    assert skipped.seen.kinds["workflow"] == 2 and skipped.seen.kinds["tool"] == 1

    settings = SourceSettings(tasks={"otel": TaskRule(span_kind=["workflow"])},
                              agent_attribute={"otel": "traceloop.workflow.name"})  # fmt: skip
    ok, failed = read([path], settings)[0]
    assert (ok.agent_name, failed.agent_name) == ("joke_generator", "joke_generator")
    assert ok.tool_names == {"get_weather"}
    assert ok.llm_calls == [LlmCall("gpt-4o-mini", 15, 30)]
    assert event(ok)["outcome"] == "success" and event(ok)["latency_s"] == 4.985
    assert failed.llm_calls == [LlmCall("claude-sonnet-4-5", 2572, 64, 2048, 512)]
    assert event(failed)["outcome"] == "failure"
    assert event(failed)["cost_usd"] == pytest.approx(3530.4e-6)


@pytest.mark.parametrize("aggregated", [True, False])
def test_pydantic_ai_agent_run(tmp_path: Path, aggregated: bool) -> None:
    pydantic_ai = pytest.importorskip("pydantic_ai")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from pydantic_ai.models.test import TestModel

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    options: dict[str, Any] = {"tracer_provider": provider}
    if (
        "use_aggregated_usage_attribute_names"
        in signature(pydantic_ai.InstrumentationSettings).parameters
    ):
        options["use_aggregated_usage_attribute_names"] = aggregated
    elif not aggregated:
        pytest.skip("this pydantic-ai always names the agent span's usage apart")
    instrumentation = pydantic_ai.InstrumentationSettings(**options)
    try:
        from pydantic_ai.capabilities import Instrumentation
    except ImportError:  # before capabilities: the agent's own `instrument`
        agent = pydantic_ai.Agent(TestModel(), name="support-bot", instrument=instrumentation)
    else:
        agent = pydantic_ai.Agent(TestModel(), name="support-bot",
                                  capabilities=[Instrumentation(settings=instrumentation)])  # fmt: skip

    @agent.tool_plain
    def lookup_order(order_id: str) -> str:
        return f"order {order_id}: shipped"

    agent.run_sync("Where is my order?")
    spans = exporter.get_finished_spans()
    chats: list[dict[str, Any]] = [
        dict(span.attributes or {}) for span in spans if span.name.startswith("chat")
    ]
    assert chats  # the model was called
    traces = Traces()
    [task], skipped = read([traces.protobuf(tmp_path / "run.pb", spans=spans)], SourceSettings())
    assert not skipped.by_reason
    assert task.agent_name == "support-bot"
    assert task.tool_names == {"lookup_order"}
    # the agent span's total (gen_ai.usage.* without the aggregated names) is not counted again
    assert task.llm_calls == [
        LlmCall(chat["gen_ai.request.model"], chat["gen_ai.usage.input_tokens"],
                chat["gen_ai.usage.output_tokens"])
        for chat in chats
    ]  # fmt: skip
