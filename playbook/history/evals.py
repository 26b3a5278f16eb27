"""Eval evidence: each suite a charter declares, its latest results and whether they pass.

A suite's results are the files its `results` glob matches (in a commit's tree, or in the work
tree); the latest is the one produced last: by its JUnit `timestamp`, else by the commit that
added the file, else (a file not committed yet) by its modification time. The suite passes when
that file reads as JUnit XML, ran at least one case, and its pass rate is at least the suite's
`min_pass_rate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from playbook.core.clock import iso
from playbook.history.documents import SuiteRef
from playbook.history.junit import JUnitError, JUnitResults, parse_junit
from playbook.history.snapshot import Snapshot

EPSILON = 1e-9  # 49 of 50 meets 0.98
# When each file without a timestamp was produced, and how that is known (`added in 3f2a1bc`).
Fallback = Callable[[list[str]], dict[str, tuple[datetime, str]]]


@dataclass(frozen=True)
class ResultFile:
    path: str
    results: JUnitResults | None
    problem: str | None  # why it is not JUnit XML (`path:line: ...`)
    produced_at: datetime | None
    produced_by: str  # `timestamp`, `added in 3f2a1bc`, `file time`

    def to_json(self) -> dict[str, Any]:
        found = {
            "file": self.path,
            "produced_at": iso(self.produced_at),
            "produced_by": self.produced_by,
            "problem": self.problem,
        }
        return found | (self.results.to_json() if self.results else {})


@dataclass(frozen=True)
class SuiteStatus:
    suite: SuiteRef
    latest: ResultFile | None  # None: no file matches the glob

    @property
    def pass_rate(self) -> float | None:
        results = self.latest.results if self.latest else None
        return results.pass_rate if results else None

    @property
    def problem(self) -> str | None:
        """Why the latest results do not pass (None: they do)."""
        suite = self.suite
        if self.latest is None:
            return f"no results match {suite.pattern}"
        if self.latest.problem is not None:
            return self.latest.problem
        rate = self.pass_rate
        if rate is None:
            return f"{self.latest.path}: no test case ran"
        if suite.min_pass_rate is not None and rate + EPSILON < suite.min_pass_rate:
            results = self.latest.results
            assert results is not None
            return (
                f"{self.latest.path}: pass rate {rate:.1%} ({results.passed} of {results.ran}) "
                f"is below min_pass_rate {suite.min_pass_rate:g}"
            )
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite.suite,
            "results": self.suite.pattern,
            "min_pass_rate": self.suite.min_pass_rate,
            "latest": self.latest.to_json() if self.latest else None,
            "passed": self.problem is None,
            "problem": self.problem,
        }


def read_results(snap: Snapshot, path: str) -> tuple[JUnitResults | None, str | None]:
    parsed = snap.parsed(path)
    if parsed is None or parsed.problem is not None:
        return None, str(parsed.problem) if parsed else f"{path}: cannot be read"
    try:
        return parse_junit(parsed.raw), None
    except JUnitError as exc:
        return None, f"{path}:{exc.line}: {exc}"


def suite_status(snap: Snapshot, suite: SuiteRef, fallback: Fallback) -> SuiteStatus:
    """The suite's latest results in `snap`; `fallback` dates the files without a timestamp."""
    paths = snap.matching(suite)
    if not paths:
        return SuiteStatus(suite, None)
    read = {path: read_results(snap, path) for path in paths}
    undated = [p for p, (results, _) in read.items() if results is None or not results.timestamp]
    dated = fallback(undated) if undated else {}
    files = []
    for path, (results, problem) in read.items():
        if results is not None and results.timestamp is not None:
            files.append(ResultFile(path, results, problem, results.timestamp, "timestamp"))
        else:
            moment, how = dated.get(path, (None, "unknown"))
            files.append(ResultFile(path, results, problem, moment, how))
    latest = max(files, key=lambda f: (f.produced_at is not None, f.produced_at or 0, f.path))
    return SuiteStatus(suite, latest)


def charter_suites(before: tuple[SuiteRef, ...], after: tuple[SuiteRef, ...]) -> list[SuiteRef]:
    """The suites a change is judged on: those after it, and those it removed (removing a suite
    in the change that needs it would otherwise escape the gate)."""
    names = {suite.suite for suite in after}
    return [*after, *(suite for suite in before if suite.suite not in names)]


def dating(snap: Snapshot, head_files: dict[str, str] | None) -> Fallback:
    """How files without a timestamp are dated in `snap`: the commit that added them, or, in the
    work tree, their modification time when they differ from the last commit (`head_files`)."""
    repo = snap.blobs.repo

    def dated(paths: list[str]) -> dict[str, tuple[datetime, str]]:
        found: dict[str, tuple[datetime, str]] = {}
        committed = [p for p in paths if head_files is None or head_files.get(p) == snap.files[p]]
        for path in paths:
            if path not in committed and path in snap.mtimes:
                found[path] = (snap.mtimes[path], "file time (not committed)")
        revision = "HEAD" if head_files is not None else snap.sha
        for path, moment in repo.added_at(revision, committed).items():
            found[path] = (moment, "the commit that added it")
        return found

    return dated
