"""What an import tells people: tasks per agent, records skipped, agents without a charter, LLM
calls that could not be priced, and, when nothing became a task, what was read instead and which
`sources.yaml` setting would make tasks of it."""

from __future__ import annotations

from monitor.sources.common import ImportResult, Seen

MOST_KINDS = 8  # record kinds listed when no task was found
RULED_SOURCES = ("otel", "openinference")  # the sources that read `tasks:` rules in sources.yaml


def _printable(name: str) -> str:
    """A traced name as a terminal can print it (lone surrogates escaped)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def format_summary(
    result: ImportResult, source: str, files: int, *, first_look: bool = False
) -> str:
    """Counts for people, one section per finding, in the order they matter."""
    lines = [f"{len(result.rows):,} tasks from {files} {source} file(s)"]
    if first_look and result.rows:
        lines[0] += (
            " (no governance directory: every agent kept under its traced name; these names "
            "are the start of your agent register)"
        )
    for agent, count in sorted(result.per_agent.items()):
        lines.append(f"  {_printable(str(agent))}: {count:,}")
    if not result.rows:
        lines += _nothing_found(result.skipped.seen, source)
    skipped = result.skipped
    if skipped.by_reason:
        lines.append(f"skipped {sum(skipped.by_reason.values()):,} record(s):")
        for reason, count in sorted(skipped.by_reason.items()):
            examples = ", ".join(skipped.examples.get(reason, []))
            lines.append(f"  {reason}: {count:,}" + (f" (e.g. {examples})" if examples else ""))
    if result.unmapped_agents:
        lines.append(
            "tasks of agents without a charter, left out (map them under `agents:` in "
            "sources.yaml, or keep them with --unmapped keep):"
        )
        for name, count in result.unmapped_agents.most_common():
            lines.append(f"  {_printable(str(name))}: {count:,}")
    lines += _pricing_lines(result)
    return "\n".join(lines)


def _pricing_lines(result: ImportResult) -> list[str]:
    lines = []
    unpriced = sum(result.unpriced_models.values()) + sum(result.unknown_tokens.values())
    if unpriced:
        lines.append(
            f"{unpriced:,} LLM call(s) could not be priced (their tasks' cost_usd left empty):"
        )
    if result.unpriced_models:
        lines.append("  models without a price in pricing.yaml:")
        for model, count in result.unpriced_models.most_common():
            lines.append(f"    {_printable(str(model))}: {count:,} call(s)")
    if result.unknown_tokens:
        lines.append("  calls whose token counts the trace does not record:")
        for model, count in result.unknown_tokens.most_common():
            lines.append(f"    {_printable(str(model))}: {count:,} call(s)")
    if result.cache_priced_as_input:
        models = ", ".join(sorted(_printable(m) for m in result.cache_priced_as_input))
        lines.append(
            f"warning: cached input tokens priced at the input rate (no cache_read_per_million / "
            f"cache_write_per_million in pricing.yaml): {models}"
        )
    return lines


def _nothing_found(seen: Seen, source: str) -> list[str]:
    """Why an import found no task: what it read, and the setting that would make tasks."""
    if not seen.records:
        return ["  no records were read (see the skipped records below, if any)"]
    lines = [f"  read {seen.records:,} record(s) in {seen.traces:,} trace(s), none of them a task"]
    if seen.kinds:
        kinds = ", ".join(
            f"{_printable(kind)} ({count:,})" for kind, count in seen.kinds.most_common(MOST_KINDS)
        )
        lines.append(f"  kinds of record seen: {kinds}")
    if source == "decisions":
        lines.append(
            "  every decision is a task: see the records skipped below, and the agents left out "
            "for want of a charter"
        )
    elif source in RULED_SOURCES:
        lines.append(
            f"  to make tasks of them, name them in sources.yaml, e.g. `tasks: {{{source}: "
            '{span_kind: [AGENT, CHAIN]}}` (or `span_name: "workflow *"`, or `attribute: ...`)'
        )
    else:
        lines.append(
            f"  a {source} task is a root record (one without a parent): export the traces "
            "with their roots, not only their child runs, calls or feedback"
        )
    return lines
