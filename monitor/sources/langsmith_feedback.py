"""LangSmith feedback on a task: the `feedback_stats` the server keeps on each run, and feedback
records exported apart (`Client.list_feedback`, `GET /api/v1/feedback`: the SDK's `Feedback`
with `run_id`, `trace_id`, `key`, `score`, `value`, `comment`, `correction`) given in the same
import as the runs (in their own files, or mixed in with them).

`feedback_stats` (key -> {n, avg, values: {label: count}}) gives a key its average score, else
its most frequent label read as yes/no or a number. A record gives its `score`, else its `value`
read so; a key given several times is the mean of its scores (else its last yes/no), and a
record that carries a `correction` also sets `<key>.corrected` (true). Feedback on a child run
counts for the run's root task; a record whose `run_id` is not in the export counts for the root
of its `trace_id`. The records win over the statistics for the same key, a root's statistics
over its children's. Feedback for runs outside the export is left out without a count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.sources.common import Task
from monitor.sources.values import (
    as_int,
    combined_feedback,
    feedback_value,
    json_object,
    missing,
    read_id,
    text,
)

# run id, trace id, key, value (None: none), corrected
Item = tuple[str, str, str, float | bool | None, bool]


def is_feedback(record: dict[str, Any]) -> bool:
    """A feedback record rather than a run: a `key` for a `run_id` (or a `trace_id`), and none
    of a run's own fields."""
    return (
        "key" in record
        and ("run_id" in record or "trace_id" in record)
        and "run_type" not in record
        and "dotted_order" not in record
    )


def stats_feedback(value: Any) -> dict[str, float | bool]:
    """A run's `feedback_stats` as key -> score or label."""
    feedback: dict[str, float | bool] = {}
    for key, stat in json_object(value).items():
        if isinstance(stat, dict):
            found = feedback_value(stat.get("avg"))
            labels = json_object(stat.get("values"))
            if found is None and labels:  # categorical feedback: its most frequent label
                found = feedback_value(None, max(labels, key=lambda label: as_int(labels[label])))
        else:
            found = feedback_value(stat)
        if found is not None:
            feedback[str(key)] = found
    return feedback


def record_item(record: dict[str, Any]) -> Item | None:
    """What a feedback record says, or None when it names no run, no key or nothing to read."""
    run_id, trace_id = read_id(record.get("run_id")), read_id(record.get("trace_id"))
    key = text(record.get("key"))
    if not key or not (run_id or trace_id):
        return None
    value = feedback_value(record.get("score"), record.get("value"))
    corrected = not missing(record.get("correction")) and record.get("correction") != {}
    if value is None and not corrected:
        return None
    return run_id or "", trace_id or "", key, value, corrected


def apply(
    items: list[Item],
    roots: dict[str, Task],
    root_of: Callable[[str], str | None],
    trace_root: Callable[[str], str | None],
) -> None:
    """Each item's feedback on its run's root task (records win over `feedback_stats`)."""
    values: dict[str, dict[str, list[float | bool]]] = {}
    for run_id, trace_id, key, value, corrected in items:
        root = root_of(run_id) if run_id else None
        if root is None and trace_id:
            root = trace_root(trace_id)
        if root is None or root not in roots:
            continue
        found = values.setdefault(root, {})
        if value is not None:
            found.setdefault(key, []).append(value)
        if corrected:
            found[f"{key}.corrected"] = [True]
    for root, keys in values.items():
        for key, given in keys.items():
            roots[root].feedback[key] = combined_feedback(given)
