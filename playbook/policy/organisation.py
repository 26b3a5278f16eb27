"""The whole organisation: its governance files and its executable policies, checked together.

`playbook.core` reads and validates the governance YAML; policies sit one floor up because they are
executable (a parser, an evaluator, test cases). `load_governance` joins the two: every policy is
loaded and its own test cases run, and their problems are reported with everything else.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from pathlib import Path

from playbook.core.errors import Problem, ValidationFailed
from playbook.core.framework import framework_context
from playbook.core.governance import Governance
from playbook.core.load import read_governance
from playbook.policy.cases import load_cases, run_tests
from playbook.policy.rules import load_policies, tests_path


def load_governance(
    root: Path, *, today: date | None = None, agents: Collection[str] | None = None
) -> Governance:
    """Load and validate the organisation under `root`, policies included, or raise
    ValidationFailed with every problem found. Rules relative to a date (a baseline must have
    ended) are checked against `today`, when given: the caller reads the clock, not govkit.
    `agents`: only these charters are read (the catalogs and policies always are)."""
    return read_governance(root, today=today, check_policies=check_policies, only=agents)


def check_policies(governance: Governance) -> list[Problem]:
    """Load `policies/*.yaml` and run each policy's own test cases (`<id>.tests.yaml`)."""
    try:
        context = framework_context(governance.frameworks)
        governance.policies = load_policies(governance.root, context)
        for policy_id, loaded in governance.policies.items():
            cases_file = tests_path(loaded.path)
            if cases_file.is_file():
                cases = load_cases(cases_file)
                governance.policy_results[policy_id] = run_tests(loaded, cases)
    except ValidationFailed as exc:
        return list(exc.problems)
    return []
