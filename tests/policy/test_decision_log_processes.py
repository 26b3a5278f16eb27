"""Several processes appending to one decision log: a rotation happens once, a writer whose file
was rotated away writes to the log's path again, and no line is lost or torn."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from playbook.policy import DecisionLog, decision_log


def _escalate(log: DecisionLog, n: int) -> str | None:
    return log.write(policy="p", revision=None, decision="escalate", reasons=[], facts={"n": n},
                     sample_rate=1.0)  # fmt: skip


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def always_recheck(monkeypatch):
    """Every write checks its file (in production: every 0.1 s), so the tests are exact."""
    monkeypatch.setattr(decision_log, "RECHECK_SECONDS", -1.0)


def test_a_writer_follows_the_path_after_another_process_rotated_it(tmp_path, always_recheck):
    path = tmp_path / "decisions.jsonl"
    first, second = (DecisionLog(path, max_bytes=600, backups=10) for _ in range(2))
    _escalate(second, 0)  # `second` opens the file that `first` is about to rotate away
    n = 1
    while not path.with_name("decisions.jsonl.1").exists():
        _escalate(first, n)
        n += 1
    _escalate(second, n)
    first.close()
    second.close()
    assert [r["facts"]["n"] for r in _lines(path)] == [n - 1, n]  # not into the backup


def test_two_writers_over_the_limit_rotate_once(tmp_path, always_recheck):
    path = tmp_path / "decisions.jsonl"
    first, second = (DecisionLog(path, max_bytes=1000, backups=10) for _ in range(2))
    n = 0
    while not path.exists() or path.stat().st_size < 800:
        _escalate(first if n % 2 else second, n)
        n += 1
    for writer in (first, second, first, second):  # both see the limit; one rotates
        _escalate(writer, n)
        n += 1
    first.close()
    second.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.jsonl", "decisions.jsonl.1"]
    numbers = [r["facts"]["n"] for p in ("decisions.jsonl.1", "decisions.jsonl")
               for r in _lines(tmp_path / p)]  # fmt: skip
    assert numbers == list(range(n))


def _writer(path: str, start: int, count: int) -> None:
    with DecisionLog(path, max_bytes=4000, backups=10_000) as log:
        for n in range(start, start + count):
            _escalate(log, n)


def test_processes_sharing_a_log_lose_and_tear_no_line(tmp_path):
    path = tmp_path / "decisions.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(str(path), k * 1000, 600)) for k in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    records = [r for file in tmp_path.iterdir() for r in _lines(file)]  # every line parses
    assert sorted(r["facts"]["n"] for r in records) == sorted(
        k * 1000 + i for k in range(4) for i in range(600)
    )
    assert len(list(tmp_path.iterdir())) > 20
