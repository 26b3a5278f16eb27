"""Policy decision logs (`playbook.policy.DecisionLog`, `govkit policy serve`) read as events: the
policy's own record of what it decided, so that `policy_hit_rate` and `escalation_rate` drift and
guardrails work from it.

A decision log is JSON Lines, one decision record a line (`time`, `decision_id`, `policy`,
`revision`, `agent`, `facts`, `decision`, `reasons`, `sample_rate`, `represents`), rotated by
size into `decisions.jsonl`, `decisions.jsonl.1`, `.2`, ...; give every file (or a glob such as
`logs/decisions.jsonl*`): their order does not matter, and a file named twice is read once.

One event per decision the record represents: `auto_approve` decisions are logged at the policy's
`logging.sample_rate`, and a logged one carries `represents: k`, the auto_approve decisions since
the logger's previous logged one, itself included (a closing logger's `summary: true` record, with
`facts` null, carries those still pending). A record of `represents: k` becomes k events, all at
the record's `time`: the first with `task_id` the record's `decision_id`, the others
`<decision_id>#2` ... `<decision_id>#k`. Counts and rates are so exact despite the sampling, with
no weights; the decisions a record stands for are dated at it, not when each was made.

- agent: the record's `agent`, else the fact `agent`; with `agent_attribute: {decisions: KEY}`
  in sources.yaml, the fact KEY (a nested fact as `a.b`), else the record's field KEY (`policy`:
  one agent per policy) first. Mapped to charters by sources.yaml `agents` as every source is;
- outcome: `escalated` for an `escalate` decision, else `success`. A decision log knows nothing
  of whether the task then succeeded: `task_success_rate` from decision events only says how
  many were not escalated (import task traces for that);
- policy_hit: true when a rule fired (`require_human` or `escalate`), false for `auto_approve`;
- latency_s and cost_usd empty (a decision log says when, not how long or at what cost). The
  policy and its revision are not event columns (events take numbers and yes/no values only).

Skipped by reason, with `file:line` examples: `bad_json` (a line that is not a JSON object),
`torn_last_line` (the last line of a file, without its newline, cut short: a writer that crashed
mid-line; the rest of the file is read), `missing_id` / `bad_id` (`decision_id`),
`duplicate_decision` (a `decision_id` already read: a file copied and imported twice),
`missing_timestamp` / `bad_timestamp` (`time`), `bad_decision` (not auto_approve, require_human
or escalate), `bad_represents` (not a whole number from 1 to 10^6; absent means 1: each
decision is an event row, and a count past that is no sampled log's),
`missing_agent` (no agent in the record or its facts) and `empty_file`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.sources.common import Skipped, Task
from monitor.sources.records import open_binary
from monitor.sources.values import DecodeError, flatten, loads, parse_time, read_id, text
from playbook.core.settings import SourceSettings

NAME = "decisions"
# playbook.policy.rules.DECISIONS and decision_log.MAX_REPRESENTS, spelled out: importing the
# policy floor would slow every command that loads the source registry (a test holds them equal)
DECISIONS = ("auto_approve", "require_human", "escalate")
MAX_REPRESENTS = 10**6  # a record standing for more decisions than this is not a count
AUTO_APPROVE = "auto_approve"
AGENT_FACT = "agent"
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Decision:
    """What one valid record says, as the events need it."""

    decision_id: str
    time: datetime
    agent: str
    decision: str
    represents: int


def _represents(value: Any) -> int | None:
    """The record's `represents`: 1 when absent; None when it is no count."""
    if value is None:
        return 1
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 1 <= value <= MAX_REPRESENTS else None


def _agent(record: dict[str, Any], override: str | None) -> str | None:
    facts = record.get("facts")
    facts = flatten(facts) if isinstance(facts, dict) else {}
    if override and (agent := text(facts.get(override, record.get(override)))):
        return agent
    return text(record.get("agent")) or text(facts.get(AGENT_FACT))


def parse_record(record: dict[str, Any], override: str | None) -> Decision | str:
    """The decision a record holds, or the reason it is skipped."""
    decision_id = read_id(record.get("decision_id"))
    if not decision_id:
        return "bad_id" if decision_id is None else "missing_id"
    raw_time = record.get("time")
    if raw_time is None or raw_time == "":
        return "missing_timestamp"
    moment = parse_time(raw_time)
    if moment is None:
        return "bad_timestamp"
    decision = record.get("decision")
    if decision not in DECISIONS:
        return "bad_decision"
    represents = _represents(record.get("represents"))
    if represents is None:
        return "bad_represents"
    agent = _agent(record, override)
    if agent is None:
        return "missing_agent"
    return Decision(decision_id, moment, agent, decision, represents)


def _lines(path: Path, skipped: Skipped) -> Iterator[tuple[str, dict[str, Any]]]:
    """`(file:line, record)` for each JSON object line of a decision log."""
    empty = True
    with open_binary(path) as handle:
        for number, line in enumerate(handle, 1):
            if number == 1:
                line = line.removeprefix(UTF8_BOM)  # an editor's or PowerShell's byte order mark
            if not line.strip():
                continue
            empty = False
            where = f"{path}:{number}"
            try:
                record = loads(line)
            except DecodeError:
                torn = not line.endswith(b"\n")  # only a file's last line lacks its newline
                skipped.add("torn_last_line" if torn else "bad_json", where)
                continue
            if isinstance(record, dict):
                yield where, record
            else:
                skipped.add("bad_json", where)
    if empty:
        skipped.add("empty_file", f"{path}:1")


def _unique(paths: list[Path]) -> list[Path]:
    """The paths in order, each file once (a glob and a name may both reach it)."""
    seen: set[Path] = set()
    unique = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def tasks(paths: list[Path], settings: SourceSettings, skipped: Skipped) -> Iterator[Task]:
    """One Task per decision the records of the files represent."""
    override = settings.agent_attribute.get(NAME)
    read: set[str] = set()
    for path in _unique(paths):
        for where, record in _lines(path, skipped):
            skipped.seen.records += 1
            skipped.seen.traces += 1  # a decision is its own trace
            parsed = parse_record(record, override)
            if isinstance(parsed, str):
                skipped.add(parsed, where)
                continue
            if parsed.decision_id in read:
                skipped.add("duplicate_decision", where)
                continue
            read.add(parsed.decision_id)
            summary = record.get("summary") is True
            skipped.seen.kinds["summary" if summary else parsed.decision] += 1
            yield from _events(parsed)


def _events(decision: Decision) -> Iterator[Task]:
    hit = decision.decision != AUTO_APPROVE
    escalated = decision.decision == "escalate"
    for index in range(1, decision.represents + 1):
        yield Task(
            agent_name=decision.agent,
            task_id=decision.decision_id if index == 1 else f"{decision.decision_id}#{index}",
            start=decision.time,
            end=decision.time,
            escalated=escalated,
            policy_hit=hit,
            timed=False,
        )


class DecisionLogSource:
    """Policy decision logs as a trace source (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "policy decision logs"
    detected_by = "decision log `decision_id` with `decision` and `represents`"

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[Iterator[Task], Skipped]:
        skipped = Skipped()
        return tasks(paths, settings, skipped), skipped

    def detect(self, columns: Collection[str]) -> bool:
        return {"decision_id", "decision", "represents"} <= set(columns)
