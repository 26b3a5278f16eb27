"""A decision log that cannot be written: the refused decision is not counted, the auto_approve
decisions already answered still are, and a failed rotation leaves no stale file descriptor
behind (whose number the process soon gives to another file or a client's socket)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from playbook.core.errors import UsageError
from playbook.policy import DecisionLog


class Draws:
    """A sampling source that returns the given draws in turn."""

    def __init__(self, *draws: float) -> None:
        self.draws = list(draws)

    def random(self) -> float:
        return self.draws.pop(0)


def write(log: DecisionLog, decision: str = "auto_approve", n: int = 0) -> str | None:
    return log.write(policy="p", revision=None, decision=decision, reasons=[],
                     facts={"n": n, "pad": "x" * 100}, sample_rate=0.5)  # fmt: skip


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_failed_write_keeps_the_answered_decisions_counted(tmp_path):
    path = tmp_path / "decisions.jsonl"
    path.mkdir()  # cannot be opened for writing
    log = DecisionLog(path, rng=Draws(0.9, 0.1, 0.1))  # type: ignore[arg-type]
    assert write(log, n=1) is None  # not sampled: answered, pending
    with pytest.raises(UsageError, match="cannot write: Is a directory"):
        write(log, n=2)  # sampled, but the log refuses it: the decision is refused too
    path.rmdir()
    assert write(log, n=3) is not None
    log.close()
    assert [(r["facts"]["n"], r["represents"]) for r in records(path)] == [(3, 2)]


def test_a_failed_rotation_leaves_no_stale_descriptor(tmp_path):
    path = tmp_path / "decisions.jsonl"
    log = DecisionLog(path, max_bytes=300, backups=1)
    write(log, "escalate", 1)
    (tmp_path / "decisions.jsonl.1").mkdir()  # the rotation's target cannot be replaced
    (tmp_path / "decisions.jsonl.1" / "keep").write_text("x")
    with pytest.raises(UsageError, match=r"cannot write: .*decisions\.jsonl\.1"):
        write(log, "escalate", 2)
    other = tmp_path / "other.txt"
    fd = os.open(other, os.O_WRONLY | os.O_CREAT)  # may take the number the log closed
    try:
        with pytest.raises(UsageError):
            write(log, "escalate", 3)
        os.write(fd, b"mine")
    finally:
        os.close(fd)
    assert other.read_bytes() == b"mine"  # neither closed nor written to by the log
    (tmp_path / "decisions.jsonl.1" / "keep").unlink()
    (tmp_path / "decisions.jsonl.1").rmdir()
    write(log, "escalate", 4)
    log.close()
    assert [r["facts"]["n"] for r in records(path)] == [4]
    assert [r["facts"]["n"] for r in records(tmp_path / "decisions.jsonl.1")] == [1]
