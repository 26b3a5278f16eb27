"""Decision logs: every policy decision an agent asks for, as JSON Lines, rotated by size.

One record per line: `time` (UTC), `decision_id`, `policy`, `revision`, `agent`, the `facts` (the
fields the policy marks as PII replaced with "[redacted]"), the `decision` and its `reasons`,
`sample_rate` and `represents`. `require_human` and `escalate` are always written; `auto_approve`
with probability `sample_rate`, its record `represents` the auto_approve decisions of that policy
and agent since the previous such record, itself included; on close, the ones not yet represented
are written as one `"summary": true` record with `"facts": null` (and one such record is written
whenever MAX_REPRESENTS are pending, so no record stands for more). Counts are exact, not
weighted.

Each line is one `write` of the whole line to a file opened for appending, so a crash never leaves
a torn line; `decisions.jsonl` rotates to `decisions.jsonl.1`, `.2`, ... (newest first) when the
next line would take it past `max_bytes`, like Python's RotatingFileHandler. Threads share a
DecisionLog safely, and several processes may append to one log: a rotation is made under an
exclusive lock on the log's directory, by one of them, once, and a writer notices within
RECHECK_SECONDS that its file was rotated away and reopens the path (else its lines would go to
a backup that a later rotation deletes).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: rotations are not coordinated between processes
    fcntl = None  # type: ignore[assignment]

from playbook.core import jsonout
from playbook.core.clock import utc_now
from playbook.core.errors import UsageError, display_path

REDACTED = "[redacted]"
ALWAYS_LOGGED = frozenset({"require_human", "escalate"})
DEFAULT_MAX_BYTES = 10_000_000
MAX_REPRESENTS = 10**6  # the most decisions one record stands for (readers refuse more: at a sample
# rate of 0.001 a record stands for about 1,000; 10^9 would become 10^9 event rows)
DEFAULT_BACKUPS = 5
RECHECK_SECONDS = 0.1  # how often a writer checks that its file is still the log's path


def redacted(facts: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
    """A copy of `facts` with each of `fields` written as REDACTED: a top-level key, or a dotted
    path into nested facts (`customer.email`, into every element of a list on the way); the
    caller's facts are left as they were."""
    shown = dict(facts)
    for field in fields:
        if field in shown:
            shown[field] = REDACTED
        else:
            _redact_path(shown, field.split("."))
    return shown


def _redact_path(node: dict[str, Any], parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head not in node:
        return
    if not rest:
        node[head] = REDACTED
        return
    child = node[head]
    if isinstance(child, Mapping):
        node[head] = dict(child)
        _redact_path(node[head], rest)
    elif isinstance(child, list):
        node[head] = [dict(item) if isinstance(item, Mapping) else item for item in child]
        for item in node[head]:
            if isinstance(item, dict):
                _redact_path(item, rest)


class DecisionLog:
    """A decision log at `path`. `max_bytes` or `backups` 0: never rotated. `rng`: the sampling
    source (a seeded `random.Random` in tests); `clock`: the time of each record (UTC)."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if max_bytes < 0 or backups < 0:
            raise ValueError(
                f"expected max_bytes and backups >= 0 but received {max_bytes} and {backups}"
            )
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._rng = rng or random.Random()  # noqa: S311 (sampling, not secrecy)
        self._clock = clock
        self._lock = threading.Lock()
        # (policy, agent) -> [auto_approve decisions not yet represented, revision, sample rate]
        self._pending: dict[tuple[str, str | None], list[Any]] = {}
        self._fd: int | None = None
        self._size = 0
        self._checked = 0.0  # time.monotonic() of the last check that the path is still our file
        self._closed = False

    def write(
        self,
        *,
        policy: str,
        revision: str | None,
        decision: str,
        reasons: list[str],
        facts: Mapping[str, Any],
        sample_rate: float,
        agent: str | None = None,
        redact: Collection[str] = (),
    ) -> str | None:
        """Record one decision; returns its decision id, or None when an auto_approve decision
        was not sampled (it is counted by the next auto_approve record of its policy and agent)."""
        with self._lock:
            self._check_open()
            represents = 1
            if decision not in ALWAYS_LOGGED:
                pending = self._pending.setdefault((policy, agent), [0, revision, sample_rate])
                if pending[0] == MAX_REPRESENTS:  # a rate of (nearly) 0: a summary every 10^6
                    self._summarise(policy, agent, pending)
                pending[0] += 1
                pending[1:] = [revision, sample_rate]
                if self._rng.random() >= sample_rate:
                    return None
                represents, pending[0] = pending[0], 0
            shown = redacted(facts, redact)  # only for a decision that is written
            record = _record(policy, revision, agent, shown, decision, reasons, sample_rate)
            record["represents"] = represents
            try:
                return self._emit(record)
            except UsageError:  # this decision is refused, not made; the earlier ones still count
                if decision not in ALWAYS_LOGGED:
                    pending[0] = represents - 1
                raise

    def close(self) -> None:
        """Write the summary records of auto_approve decisions not yet represented; close."""
        with self._lock:
            if self._closed:
                return
            for (policy, agent), pending in self._pending.items():
                if pending[0]:
                    self._summarise(policy, agent, pending)
            self._pending.clear()
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _summarise(self, policy: str, agent: str | None, pending: list[Any]) -> None:
        """One `"summary": true` record for the pending auto_approve decisions (at most
        MAX_REPRESENTS of them: a reader refuses a record standing for more)."""
        count, revision, rate = pending
        record = _record(policy, revision, agent, None, "auto_approve", [], rate)
        record |= {"represents": count, "summary": True}
        self._emit(record)
        pending[0] = 0

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"decision log {display_path(self.path)} is closed")

    def _emit(self, record: dict[str, Any]) -> str:
        record["time"] = self._clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        line = (json.dumps(jsonout.finite(record), default=str, allow_nan=False) + "\n").encode()
        try:
            self._write(line)
        except OSError as exc:
            names = [display_path(Path(name)) for name in (exc.filename, exc.filename2) if name]
            where = f" ({' -> '.join(names)})" if names else ""  # a rotation names both files
            raise UsageError(
                f"decision log {display_path(self.path)}: cannot write: {exc.strerror or exc}"
                f"{where}"
            ) from None
        return record["decision_id"]

    def _write(self, line: bytes) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        elif time.monotonic() - self._checked > RECHECK_SECONDS:
            if self._moved():
                self._reopen()  # another process rotated the log
            else:  # other processes' lines count towards max_bytes too
                self._size = os.fstat(self._fd).st_size
        if self._over(len(line)):
            with self._rotation_lock():
                if self._moved():  # rotated by another process while we waited
                    self._reopen()
                self._size = os.fstat(self._fd).st_size  # type: ignore[arg-type]
                if self._over(len(line)):
                    self._rotate()
                    self._open()
        view = memoryview(line)
        while view:  # a regular file takes the whole line in one write; a short write continues
            written = os.write(self._fd, view)  # type: ignore[arg-type]
            view = view[written:]
        self._size += len(line)

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size
        self._checked = time.monotonic()

    def _reopen(self) -> None:
        fd, self._fd = self._fd, None
        os.close(fd)  # type: ignore[arg-type]
        self._open()

    def _over(self, more: int) -> bool:
        """Whether `more` bytes would take a non-empty log past `max_bytes` (when it rotates)."""
        return bool(self.max_bytes and self.backups and self._size) and (
            self._size + more > self.max_bytes
        )

    def _moved(self) -> bool:
        """Whether the log's path no longer names the file this writer appends to."""
        self._checked = time.monotonic()
        try:
            return os.stat(self.path).st_ino != os.fstat(self._fd).st_ino  # type: ignore[arg-type]
        except FileNotFoundError:
            return True

    @contextlib.contextmanager
    def _rotation_lock(self) -> Iterator[None]:
        """An exclusive lock on the log's directory (no extra file beside the log for a reader's
        glob to meet), held by one rotating process at a time."""
        if fcntl is None:
            yield
            return
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(directory, fcntl.LOCK_EX)
            yield
        finally:
            os.close(directory)  # releases the lock

    def _rotate(self) -> None:
        fd, self._fd = self._fd, None  # a failed rotation must leave no stale descriptor: its
        os.close(fd)  # type: ignore[arg-type]  # number is soon another file's or a socket's
        for number in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{number + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))


def _record(
    policy: str,
    revision: str | None,
    agent: str | None,
    facts: dict[str, Any] | None,
    decision: str,
    reasons: list[str],
    sample_rate: float,
) -> dict[str, Any]:
    return {
        "time": None,  # set when written, so that the records of a file are in time order
        "decision_id": uuid.uuid4().hex,
        "policy": policy,
        "revision": revision,
        "agent": agent,
        "facts": facts,
        "decision": decision,
        "reasons": list(reasons),
        "sample_rate": sample_rate,
    }


def as_log(value: DecisionLog | str | Path | None) -> DecisionLog | None:
    """`decision_log=` of `load_policy`: a DecisionLog, a path to open one at, or None."""
    if value is None or isinstance(value, DecisionLog):
        return value
    if isinstance(value, str | Path):
        return DecisionLog(value)
    raise TypeError(f"expected a DecisionLog, a path or None but received {type(value).__name__}")
