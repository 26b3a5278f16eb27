"""Phoenix span annotations (and legacy evaluations) as task feedback, for `openinference`.

An annotation record is one without span fields (`start_time`, `span_kind`, `context.trace_id`)
that has `annotation_name`, `annotator_kind`, `result.score`/`result.label` (also nested as
`result: {score, label}`) or `score`/`label`: a row of `get_span_annotations_dataframe()`, of the
REST `span_annotations` list, or of a legacy `SpanEvaluations` dataframe. Its span is `span_id`
or `context.span_id` (or, in a CSV whose index column had no name, the first column: ``,
`index`, `Unnamed: 0`); its name `annotation_name` or `name`, else the file's evaluation name
(`openinference_files.eval_name`); its value the score, else a label read as yes/no or a number.
Several values of one name on one span are combined (`values.combined_feedback`).

Annotations are joined onto the task's own span (the root span, or the span sources.yaml's
`tasks.openinference` rule picks); those on other spans of the export (an LLM judge's on each LLM
call) are not the task's feedback and are left out without a count. Skipped by reason:
`annotation_without_span_id` (a `to_json(orient="records")` export drops the DataFrame index,
which is the span id: export with `reset_index()` or as Parquet or CSV), `bad_id` (a span id that
is no id), `annotation_without_score` (no score, and a label that is neither yes/no nor a number),
`annotation_span_not_found` (its span is in none of the span files read).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from typing import Any

from monitor.sources.common import Skipped, Task
from monitor.sources.values import combined_feedback, feedback_value, missing, read_id, text

_ANNOTATION = (
    "annotation_name",
    "annotator_kind",
    "result.score",
    "result.label",
    "score",
    "label",
)
_SPAN_ID_KEYS = ("span_id", "context.span_id", "", "index", "Unnamed: 0")


def field(record: dict[str, Any], key: str) -> Any:
    """A flattened record's field; an object there, which flattening spread into `key.*`
    fields, comes back as `{}` so that it reads as malformed rather than missing."""
    if key in record:
        return record[key]
    prefix = f"{key}."
    return {} if any(name.startswith(prefix) for name in record) else None


def is_annotation(record: dict[str, Any]) -> bool:
    """A span annotation (or evaluation) rather than a span."""
    if "start_time" in record or "span_kind" in record or "context.trace_id" in record:
        return False
    return any(key in record for key in _ANNOTATION)


class Annotations:
    """The annotations read, by span id, until the spans are all read."""

    def __init__(self) -> None:
        self.by_span: dict[str, list[tuple[str, float | bool, str]]] = {}

    def add(
        self, record: dict[str, Any], where: str, default_name: Callable[[], str], skipped: Skipped
    ) -> None:
        raw = next((record[key] for key in _SPAN_ID_KEYS if not missing(record.get(key))), None)
        if raw is None and any(
            name.startswith(("span_id.", "context.span_id.")) for name in record
        ):
            raw = {}  # an object there, which flattening spread: malformed
        span_id = read_id(raw)
        if span_id is None:
            skipped.add("bad_id", where)
            return
        if not span_id:
            skipped.add("annotation_without_span_id", where)
            return
        score = record.get("result.score", record.get("score"))
        label = record.get("result.label", record.get("label"))
        value = feedback_value(score, label)
        if value is None:
            skipped.add("annotation_without_score", where)
            return
        name = text(record.get("annotation_name")) or text(record.get("name")) or default_name()
        self.by_span.setdefault(span_id, []).append((name, value, where))

    def join(
        self,
        task_spans: Mapping[str, Task],
        known_spans: Callable[[], Container[str]],
        skipped: Skipped,
    ) -> None:
        """Each annotation onto its task's feedback; those whose span was not read counted
        (`known_spans`, every span id read, is asked for only then)."""
        known: Container[str] | None = None
        for span_id, found_here in self.by_span.items():
            task = task_spans.get(span_id)
            if task is None:
                known = known_spans() if known is None else known
                if span_id not in known:
                    for _, _, where in found_here:
                        skipped.add("annotation_span_not_found", where)
                continue
            values: dict[str, list[float | bool]] = {}
            for name, value, _ in found_here:
                values.setdefault(name, []).append(value)
            for name, found in values.items():
                task.feedback[name] = combined_feedback(found)
