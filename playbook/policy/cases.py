"""A policy's test cases (`<id>.tests.yaml`): `{name, case, expect}`, decided and compared."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from playbook.core.errors import Problem, ValidationFailed
from playbook.core.problems import read_document, translate_error
from playbook.core.types import Schema, Text
from playbook.policy.decide import decide
from playbook.policy.rules import DecisionName, Policy
from playbook.policy.syntax import ConditionError


class CaseSpec(Schema):
    name: Text
    case: dict[str, Any]
    expect: DecisionName


@dataclass(frozen=True)
class Case:
    name: str
    facts: dict[str, Any]
    expect: str
    file: str
    line: int  # of its `case:` mapping
    index: int


@dataclass(frozen=True)
class CaseResult:
    name: str
    expected: str
    actual: str
    passed: bool
    reasons: list[str]


def load_cases(path: Path) -> list[Case]:
    """Read `<id>.tests.yaml`: a list of {name, case, expect}; ValidationFailed when invalid."""
    problems: list[Problem] = []
    document = read_document(path, problems, list)
    if document is None:
        raise ValidationFailed(problems)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(document.data):
        try:
            spec = CaseSpec.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                error = {**error, "loc": (index, *error["loc"])}
                problems.append(translate_error(document, CaseSpec, error))
            continue
        line = document.line_of((index, "name"))
        if spec.name in seen:
            problems.append(
                document.problem(
                    (index, "name"),
                    f"expected a unique name but "
                    f"{spec.name!r} is also used at line {seen[spec.name]}",
                )
            )
        seen.setdefault(spec.name, line)
        where = document.line_of((index, "case"))
        cases.append(Case(spec.name, spec.case, spec.expect, document.display, where, index))
    if not cases and not problems:
        problems.append(document.problem((), "expected at least one case but the list is empty"))
    if problems:
        raise ValidationFailed(problems)
    return cases


def run_tests(policy: Policy, cases: list[Case]) -> list[CaseResult]:
    """Decide every case; a case the policy cannot decide (missing fact) is a located problem."""
    results: list[CaseResult] = []
    problems: list[Problem] = []
    for case in cases:
        try:
            decision = decide(policy, case.facts)
        except ConditionError as exc:
            problems.append(Problem(case.file, case.line, f"[{case.index}].case", str(exc)))
            continue
        passed = decision.decision == case.expect
        results.append(
            CaseResult(case.name, case.expect, decision.decision, passed, decision.reasons)
        )
    if problems:
        raise ValidationFailed(problems)
    return results
