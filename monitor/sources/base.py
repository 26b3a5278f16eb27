"""The interface every trace source implements, and the one registry of them.

A trace source reads one kind of trace export (OpenTelemetry, OpenInference, LangSmith, Weave,
Langfuse, policy decision logs) into `Task`s, one per agent task, and recognises its export by its
field names.
`SOURCES` lists them, in the order `detect_format` tries them; the command line's `--from` and
`--events-format`, `importer.import_traces` and `importer.detect_format` all read it. Its names
are exactly `playbook.core.settings.TRACE_SOURCES`, the names sources.yaml may use under
`agent_attribute` (checked on import).

A new source: a module beside the others with a class of this shape (see `otel.OtelSource`), one
line in `SOURCES`, its name in `TRACE_SOURCES`. The readers do not import this module (the
interface is a Protocol, satisfied by shape), so that the registry can import them all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

from monitor.sources import decisions, langfuse, langsmith, openinference, otel, weave
from monitor.sources.common import Skipped, Task
from playbook.core.errors import UsageError, unknown_choice
from playbook.core.settings import TRACE_SOURCES, SourceSettings


@runtime_checkable
class TraceSource(Protocol):
    """One kind of trace export, read into agent tasks."""

    name: str  # what `--from`, `--events-format` and sources.yaml's `agent_attribute` call it
    description: str  # one line for `--help`, e.g. "LangSmith runs"
    detected_by: str  # the fields `detect` looks for, as a message names them

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[Iterable[Task], Skipped]:
        """One Task per agent task (root span, run or call) in the files, and the records
        skipped by reason with `file:line` examples. A bad record is skipped and counted, never
        raised; a file that cannot be read at all is a UsageError naming it. The tasks may come
        as a list or as an iterator that makes them as it goes (so that a large export is never
        held whole): `Skipped` is complete once they have all been taken."""
        ...

    def detect(self, columns: Collection[str]) -> bool:
        """Whether a file whose first record has these field names (nested ones also as `a.b`)
        looks like this source's export."""
        ...


SOURCES: dict[str, TraceSource] = {
    source.name: source
    for source in (
        otel.OtelSource(),
        openinference.OpenInferenceSource(),
        langsmith.LangSmithSource(),
        weave.WeaveSource(),
        langfuse.LangfuseSource(),
        decisions.DecisionLogSource(),
    )
}
assert tuple(SOURCES) == TRACE_SOURCES, (
    f"the trace readers {tuple(SOURCES)} are not the sources sources.yaml may name "
    f"{TRACE_SOURCES} (playbook.core.settings.TRACE_SOURCES)"
)


def get_source(name: str) -> TraceSource:
    """The registered source called `name`; an unknown one is a UsageError (exit 2) that names
    the closest."""
    try:
        return SOURCES[name]
    except KeyError:
        raise UsageError(unknown_choice("trace source", name, SOURCES)) from None
