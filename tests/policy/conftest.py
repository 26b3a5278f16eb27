"""Shared by the policy tests (and the decision server's): the seed policy's own test cases."""

from __future__ import annotations

from pathlib import Path

from playbook.policy import Case, load_cases, tests_path


def seed_cases(policy_path: Path) -> list[Case]:
    """Every case of `<id>.tests.yaml` beside `policy_path`: the comparison set of API, CLI and
    server (`case.name`, `case.facts`, `case.expect`)."""
    return load_cases(tests_path(policy_path))
