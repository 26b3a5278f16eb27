"""Eval results as JUnit XML, the format pytest, promptfoo, Inspect and most runners write:

    <testsuites>
      <testsuite name="refunds-regression" tests="50" failures="1" errors="0" skipped="0"
                 timestamp="2026-10-06T07:40:00+00:00">
        <testcase classname="refunds.damaged" name="..."/>
        ...

A file's totals are the sums over its innermost `<testsuite>` elements (their `tests`, `failures`,
`errors` and `skipped` attributes, else their `<testcase>` children); it was produced at its latest
`timestamp` (ISO 8601; without an offset, UTC), or, without one, when the commit that added it was
made. The pass rate is the cases that passed over those that ran (skipped ones did not). A file
that declares a DOCTYPE or entities is refused: results are data, never markup to expand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.parsers import expat

from playbook.core.clock import iso, parse_instant

_COUNTS = ("tests", "failures", "errors", "skipped")
_OUTCOMES = {"failure": "failures", "error": "errors", "skipped": "skipped"}


class JUnitError(ValueError):
    """Not JUnit XML; `line` is where the trouble is."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class JUnitResults:
    tests: int
    failures: int
    errors: int
    skipped: int
    timestamp: datetime | None  # the latest `timestamp` of the file's suites

    @property
    def ran(self) -> int:
        return max(self.tests - self.skipped, 0)

    @property
    def passed(self) -> int:
        return max(self.ran - self.failures - self.errors, 0)

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.ran if self.ran else None

    def to_json(self) -> dict[str, Any]:
        return {
            "tests": self.tests,
            "passed": self.passed,
            "failures": self.failures,
            "errors": self.errors,
            "skipped": self.skipped,
            "pass_rate": round(self.pass_rate, 6) if self.pass_rate is not None else None,
            "timestamp": iso(self.timestamp),
        }


@dataclass
class _Element:
    tag: str
    attrib: dict[str, str]
    children: list[_Element] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.attrib.get(name)

    def iter(self, tag: str) -> Iterator[_Element]:
        """The elements named `tag`, this one and below, in document order (no recursion: a
        deeply nested file is no trouble)."""
        stack = [self]
        while stack:
            element = stack.pop()
            if element.tag == tag:
                yield element
            stack.extend(reversed(element.children))


def _refuse(*_: Any) -> None:
    raise JUnitError("a DOCTYPE or entity declaration: expected plain JUnit XML")


def _tree(data: bytes) -> _Element:
    """The elements of an XML document, read with expat; any DOCTYPE, entity declaration or
    external entity is refused (what defusedxml does), so that nothing is expanded or fetched."""
    parser = expat.ParserCreate()
    stack: list[_Element] = [_Element("", {})]

    def start(tag: str, attrib: dict[str, str]) -> None:
        element = _Element(tag, attrib)
        stack[-1].children.append(element)
        stack.append(element)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise JUnitError(f"not XML ({expat.ErrorString(exc.code)})", exc.lineno) from None
    except JUnitError as exc:
        raise JUnitError(str(exc), parser.CurrentLineNumber) from None
    return stack[0].children[0]


def _count(element: _Element, name: str) -> int | None:
    value = element.get(name)
    if value is None:
        return None
    try:
        number = int(float(value))
    except ValueError:
        raise JUnitError(f"<{element.tag}> {name}={value!r}: expected a whole number") from None
    if number < 0:
        raise JUnitError(f"<{element.tag}> {name}={value!r}: expected a number >= 0")
    return number


def _stamp(element: _Element) -> datetime | None:
    value = element.get("timestamp")
    if not value:
        return None
    try:
        return parse_instant(value.strip())
    except ValueError:
        raise JUnitError(
            f"<{element.tag}> timestamp={value!r}: expected an ISO 8601 time such as "
            "2026-10-06T07:40:00Z"
        ) from None


def _suite_counts(suite: _Element) -> dict[str, int]:
    """A suite's totals: its attributes, else its test cases counted."""
    cases = [child for child in suite.children if child.tag == "testcase"]
    counted = {"tests": len(cases), "failures": 0, "errors": 0, "skipped": 0}
    for case in cases:
        outcome = next((_OUTCOMES[c.tag] for c in case.children if c.tag in _OUTCOMES), None)
        if outcome:
            counted[outcome] += 1
    found = {}
    for name in _COUNTS:
        written = _count(suite, name)
        found[name] = written if written is not None else counted[name]
    return found


def parse_junit(data: bytes) -> JUnitResults:
    """The totals of a JUnit XML file; JUnitError when it is not one."""
    root = _tree(data)
    if root.tag not in ("testsuites", "testsuite"):
        raise JUnitError(f"expected <testsuites> or <testsuite> but found <{root.tag}>")
    suites = [
        s for s in root.iter("testsuite") if not any(c.tag == "testsuite" for c in s.children)
    ]
    if not suites:  # <testsuites> with its totals only
        suites = [root]
    totals = dict.fromkeys(_COUNTS, 0)
    stamps = [stamp for s in [root, *suites] if (stamp := _stamp(s)) is not None]
    for suite in suites:
        for name, value in _suite_counts(suite).items():
            totals[name] += value
    return JUnitResults(**totals, timestamp=max(stamps) if stamps else None)


def describe_results(parsed: Any) -> dict[str, Any] | str:
    """A results file's version as `govkit history` shows it: its totals, or why it is none."""
    raw = getattr(parsed, "raw", b"")
    try:
        return parse_junit(raw).to_json()
    except JUnitError as exc:
        return f"not JUnit XML: {exc}"
