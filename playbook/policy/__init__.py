"""Executable policies: the condition language, decisions, test cases, and the organisation loaded
with its policies. The public API of the policy floor; it imports only `playbook.core`.

At runtime: `policy = load_policy(path, decision_log=DecisionLog("decisions.jsonl"))`, then
`policy.decide(facts, agent="refunds")` from any thread."""

from playbook.policy.cases import Case, CaseResult, load_cases, run_tests
from playbook.policy.decide import Decision, decide
from playbook.policy.decision_log import DecisionLog
from playbook.policy.organisation import load_governance
from playbook.policy.revision import Revision, revision_of
from playbook.policy.rules import (
    DECISIONS,
    POLICIES_DIR,
    Policy,
    PolicyFile,
    load_policies,
    load_policy,
    resolve_policy,
    tests_path,
)

__all__ = [
    "DECISIONS",
    "POLICIES_DIR",
    "Case",
    "CaseResult",
    "Decision",
    "DecisionLog",
    "Policy",
    "PolicyFile",
    "Revision",
    "decide",
    "load_cases",
    "load_governance",
    "load_policies",
    "load_policy",
    "resolve_policy",
    "revision_of",
    "run_tests",
    "tests_path",
]
