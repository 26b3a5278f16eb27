"""`govkit policy`: the seed's support-agent policy decides cases; bad conditions never load."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import playbook.policy.syntax
from playbook import policy as policy_module
from playbook.core.errors import GovkitError
from playbook.policy import decide, load_cases, load_policies, load_policy, run_tests
from playbook.policy.evaluate import evaluate
from playbook.policy.syntax import ExpressionError, parse
from tests.conftest import EXAMPLE_GOVERNANCE

POLICY = "policies/support-agent.yaml"
WHERE = f"governance/{POLICY}"
FRAUD = "    - fraud_risk_score >= 0.7\n"  # refunds.require_human_if[1], line 12

CALM = {
    "action": "refund",
    "amount_usd": 150,
    "customer_tenure_months": 12,
    "fraud_risk_score": 0.1,
    "lifetime_refunds_usd": 100,
    "sentiment": "neutral",
    "topic": "billing",
}

SEED_CASES = {
    "within the limit": ({}, "auto_approve", []),
    "at the limit": ({"amount_usd": 200}, "auto_approve", []),
    "over the limit": (
        {"amount_usd": 250},
        "require_human",
        ["amount_usd 250 > auto_approve_max_usd 200"],
    ),
    "new customer": (
        {"customer_tenure_months": 2},
        "require_human",
        ["customer_tenure_months < 3"],
    ),
    "fraud risk": ({"fraud_risk_score": 0.7}, "require_human", ["fraud_risk_score >= 0.7"]),
    "refunded a lot": (
        {"lifetime_refunds_usd": 500},
        "require_human",
        ["lifetime_refunds_usd >= 500"],
    ),
    "every review rule": (
        {"amount_usd": 250.5, "customer_tenure_months": 1, "fraud_risk_score": 0.9},
        "require_human",
        [
            "customer_tenure_months < 3",
            "fraud_risk_score >= 0.7",
            "amount_usd 250.5 > auto_approve_max_usd 200",
        ],
    ),
    "angry": ({"sentiment": "angry"}, "escalate", ["sentiment == escalation.if_sentiment"]),
    "legal topic": ({"topic": "legal"}, "escalate", ["topic in escalation.if_topic_in"]),
    "escalation first": (
        {"sentiment": "angry", "topic": "chargeback", "amount_usd": 900},
        "escalate",
        ["sentiment == escalation.if_sentiment", "topic in escalation.if_topic_in"],
    ),
    "not a refund": ({"action": "reply", "amount_usd": 5000}, "auto_approve", []),
}


def case_json(**changes: object) -> str:
    return json.dumps({**CALM, **changes})


@pytest.mark.parametrize("changes, decision, reasons", SEED_CASES.values(), ids=SEED_CASES.keys())
def test_decide_the_seed_cases_as_json(workspace, govkit, changes, decision, reasons):
    result = govkit("policy", "decide", "support-agent", "--case", case_json(**changes),
                    "--format", "json")  # fmt: skip

    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    revision = answer.pop("policy_revision")  # which version decided (tests/history/test_at.py)
    source = answer.pop("policy_source")
    assert answer == {
        "decision": decision,
        "reasons": reasons,
        "redact_pii": True,
        "log_sample_rate": 0.15,
    }
    assert revision is None and len(source["blob"]) == 40  # the workspace is no repository


def test_decide_as_text_is_a_readable_summary(workspace, govkit):
    result = govkit("policy", "decide", WHERE, "--case", case_json(customer_tenure_months=1))

    assert result.exit_code == 0
    *lines, revision = result.stdout.splitlines()
    assert lines == [
        f"Policy:    support-agent ({WHERE})",
        "Decision:  require_human: a person must approve first",
        "Because:",
        "  - customer_tenure_months < 3",
        "Replies:   redact PII; tone: direct, apologetic, no promises",
        "Logging:   sample rate 0.15, kept 90 days",
    ]
    assert revision.startswith("Revision:  blob ") and revision.endswith("or changed since)")


def test_case_can_be_read_from_a_file(workspace, govkit):
    (workspace.root / "case.json").write_text(case_json(topic="security"), encoding="utf-8")

    result = govkit("policy", "decide", "support-agent", "--case", "@case.json", "--format", "json")

    assert result.exit_code == 0
    assert json.loads(result.stdout)["decision"] == "escalate"


def test_every_shipped_test_case_passes(workspace, govkit):
    result = govkit("policy", "test", "support-agent")

    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.output
    assert len(lines) >= 9
    assert all(line.startswith("PASS  ") for line in lines[:-1])
    count = len(lines) - 1
    assert lines[-1] == (
        f"support-agent: {count} cases, {count} passed, 0 failed "
        "(governance/policies/support-agent.tests.yaml)"
    )


def test_shipped_test_cases_cover_every_rule():
    policy = load_policy(EXAMPLE_GOVERNANCE / POLICY)
    cases = load_cases(policy_module.tests_path(policy.path))
    results = run_tests(policy, cases)

    fired = {reason.split(" ")[0] for result in results for reason in result.reasons}
    assert {"customer_tenure_months", "fraud_risk_score", "lifetime_refunds_usd"} <= fired
    assert {"amount_usd", "sentiment", "topic"} <= fired
    assert {"auto_approve", "require_human", "escalate"} == {result.actual for result in results}
    escalated_topics = {case.facts["topic"] for case in cases if case.expect == "escalate"}
    assert {"chargeback", "legal", "security"} <= escalated_topics
    assert any(case.facts["action"] != "refund" for case in cases)


def test_a_wrong_expectation_fails_with_exit_1(workspace, govkit):
    cases = workspace.write(
        "policies/wrong.yaml",
        "- name: big refund\n"
        f"  case: {case_json(amount_usd=250)}\n"
        "  expect: auto_approve\n"
        "- name: small refund\n"
        f"  case: {case_json()}\n"
        "  expect: auto_approve\n",
    )

    result = govkit("policy", "test", "support-agent", str(cases))

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "FAIL  big refund: expected auto_approve but got require_human "
        "(amount_usd 250 > auto_approve_max_usd 200)",
        "PASS  small refund: auto_approve",
        f"support-agent: 2 cases, 1 passed, 1 failed ({cases.relative_to(workspace.root)})",
    ]


REFUSED = {
    "function call": (
        "len(x) > 1",
        "expected a comparison such as 'customer_tenure_months < 3' but received a function "
        "call 'len(' at column 1: function calls are not allowed",
    ),
    "attribute access": (
        "a.b > 1",
        "expected a fact name but received 'a.b' at column 1: attribute access is not allowed",
    ),
    "unknown operator": (
        "x => 1",
        "expected one of <, <=, >, >=, ==, != but received unknown operator '=>' at column 3. "
        "Did you mean '>='?",
    ),
    "arithmetic": (
        "x + 1 > 2",
        "expected a comparison operator (<, <=, >, >=, ==, !=, in) but received '+' at column 3: "
        "arithmetic is not allowed",
    ),
    "python import": (
        "\"__import__('os')\"",
        "expected a comparison such as 'customer_tenure_months < 3' but received a function "
        "call '__import__(' at column 1: function calls are not allowed",
    ),
}


@pytest.mark.parametrize("command", ["decide", "test"])
@pytest.mark.parametrize("condition, message", REFUSED.values(), ids=REFUSED.keys())
def test_unsafe_conditions_are_refused_at_load_time(workspace, govkit, command, condition, message):
    workspace.edit(POLICY, FRAUD, f"    - {condition}\n")

    extra = ["--case", case_json()] if command == "decide" else []
    result = govkit("policy", command, "support-agent", *extra)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{WHERE}:12: refunds.require_human_if[1]: {message}",
        "1 problem found; nothing was written.",
    ]


def test_a_condition_never_runs_python(workspace, govkit):
    marker = workspace.root / "pwned"
    workspace.edit(POLICY, FRAUD, f"    - \"__import__('os').system('touch {marker}') > 0\"\n")

    result = govkit("policy", "decide", "support-agent", "--case", case_json())

    assert result.exit_code == 2
    assert f"{WHERE}:12: refunds.require_human_if[1]: expected " in result.stderr
    assert not marker.exists()
    for module in Path(playbook.policy.syntax.__file__).parent.glob("*.py"):
        source = module.read_text(encoding="utf-8")
        assert not re.search(r"(?<![.\w])(eval|exec|compile|__import__|literal_eval)\(", source)
        assert "import ast" not in source


def test_every_problem_of_a_policy_is_reported_together(workspace, govkit):
    workspace.edit(POLICY, FRAUD, "    - x ~= 1\n")
    workspace.edit(POLICY, "sample_rate: 0.15", "sample_rate: 1.5")
    workspace.edit(POLICY, 'if_sentiment: "angry"', "if_sentiment: 3")

    result = govkit("policy", "test", "support-agent")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{WHERE}:12: refunds.require_human_if[1]: expected one of <, <=, >, >=, ==, != but "
        "received unknown operator '~=' at column 3",
        f"{WHERE}:20: escalation.if_sentiment: expected text or a list of text but received 3 "
        "(a number)",
        f"{WHERE}:24: logging.sample_rate: expected a number <= 1.0 but received 1.5 (a number)",
        "3 problems found; nothing was written.",
    ]


def test_a_missing_fact_is_an_error_naming_it(workspace, govkit):
    facts = {key: value for key, value in CALM.items() if key != "fraud_risk_score"}
    facts["fraud_score"] = 0.1

    result = govkit("policy", "decide", "support-agent", "--case", json.dumps(facts))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "missing fact 'fraud_risk_score', needed by refunds.require_human_if[1] "
        "(fraud_risk_score >= 0.7). Did you mean 'fraud_score'? The case has: action, "
        "amount_usd, customer_tenure_months, fraud_score, lifetime_refunds_usd, sentiment, topic."
    )


def test_comparing_text_with_a_number_names_both(workspace, govkit):
    result = govkit("policy", "decide", "support-agent", "--case",
                    case_json(customer_tenure_months="twelve"))  # fmt: skip

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "refunds.require_human_if[0] (customer_tenure_months < 3): cannot compare "
        "customer_tenure_months 'twelve' (text) with 3 (a number) using '<': expected both "
        "numbers or both text"
    )


@pytest.mark.parametrize(
    "case, received",
    [
        ('{"action": refund}', "invalid JSON: Expecting value at line 1 column 12"),
        ('{"amount_usd": NaN}', "invalid JSON: NaN is not a number"),
        (
            '{"amount_usd": 1, "amount_usd": 900}',
            "invalid JSON: the key 'amount_usd' is given twice",
        ),
        ("[1, 2]", "a list"),
    ],
)
def test_bad_case_json_is_exit_2(workspace, govkit, case, received):
    result = govkit("policy", "decide", "support-agent", "--case", case)

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        '--case: expected a JSON object of facts like \'{"action": "refund", "amount_usd": '
        f'150, "sentiment": "neutral"}}\' but received {received}'
    )
    assert "Traceback" not in result.output


def test_a_case_missing_a_fact_in_a_tests_file_is_located(workspace, govkit):
    cases = workspace.write(
        "policies/partial.yaml",
        "- name: angry, nothing else\n  case:\n    sentiment: angry\n  expect: escalate\n"
        "- name: calm, nothing else\n  case:\n    sentiment: calm\n  expect: auto_approve\n",
    )

    result = govkit("policy", "test", "support-agent", str(cases))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"governance/policies/partial.yaml:{line}: [{index}].case: missing fact 'topic', needed "
        "by escalation.if_topic_in (topic in escalation.if_topic_in). The case has: sentiment."
        for index, line in [(0, 2), (1, 6)]
    ] + ["2 problems found; nothing was written."]


def test_an_invalid_tests_file_is_located(workspace, govkit):
    cases = workspace.write(
        "policies/bad.yaml",
        f"- name: one\n  case: {case_json()}\n  expect: approve\n- name: two\n  case: []\n",
    )

    result = govkit("policy", "test", "support-agent", str(cases))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "governance/policies/bad.yaml:3: [0].expect: expected one of 'auto_approve', "
        "'require_human' or 'escalate' but received 'approve'. Did you mean 'auto_approve'?",
        "governance/policies/bad.yaml:4: [1].expect: field required",
        "governance/policies/bad.yaml:5: [1].case: expected a mapping but received a list",
        "3 problems found; nothing was written.",
    ]


def test_an_unknown_policy_id_suggests_the_closest(workspace, govkit):
    result = govkit("policy", "decide", "support-agnet", "--case", case_json())

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "unknown policy 'support-agnet'. Did you mean 'support-agent'? Expected one of "
        "'support-agent' in governance/policies."
    )


def test_load_policies_skips_test_cases_and_tolerates_no_directory(tmp_path):
    policies = load_policies(EXAMPLE_GOVERNANCE)

    assert list(policies) == ["support-agent"]
    policy = policies["support-agent"]
    assert policy.path == EXAMPLE_GOVERNANCE / POLICY
    assert [condition.text for condition in policy.conditions] == [
        "customer_tenure_months < 3",
        "fraud_risk_score >= 0.7",
        "lifetime_refunds_usd >= 500",
    ]
    assert [condition.line for condition in policy.conditions] == [11, 12, 13]
    assert (
        policy_module.tests_path(policy.path)
        == EXAMPLE_GOVERNANCE / "policies/support-agent.tests.yaml"
    )
    assert load_policies(tmp_path) == {}


def test_decide_raises_a_govkit_error_for_a_missing_fact():
    policy = load_policy(EXAMPLE_GOVERNANCE / POLICY)

    with pytest.raises(GovkitError, match="missing fact 'topic'") as raised:
        decide(policy, {"sentiment": "calm"})

    assert raised.value.exit_code == 2


LANGUAGE = {
    "x < 3 and topic == 'a'": True,
    "x >= 4 or not flag": False,
    "(x > 0 or missing > 1) and flag": True,
    "topic in ['a', \"b\"]": True,
    "topic not in tags": False,
    "x in [1, 2.5, -3]": False,
    "x <= -1": False,
    "flag == true": True,
    "flag": True,
}


@pytest.mark.parametrize("condition, expected", LANGUAGE.items(), ids=LANGUAGE.keys())
def test_the_condition_language(condition, expected):
    facts = {"x": 2, "topic": "a", "tags": ["a", "c"], "flag": True}

    assert evaluate(parse(condition), facts) is expected


@pytest.mark.parametrize(
    "condition",
    ["x ** 2 > 1", "x[0] > 1", "1 < x < 3", "x = 1", "x in 3", "lambda: 1", "'a'.upper() == 'A'",
     "x if y else z", "", "x < 'open", "(" * 40 + "x" + ")" * 40],
)  # fmt: skip
def test_anything_else_is_refused(condition):
    with pytest.raises(ExpressionError, match=r"^expected "):
        parse(condition)


# --- hostile input (issue 10) ------------------------------------------------------------------

SECRET = "db_password: hunter2-SECRET"


@pytest.mark.parametrize("command", ["decide", "test"])
@pytest.mark.parametrize(
    "contents",
    [f"{SECRET}\n".encode(), b"root:x:0:0:SECRET:/root:/bin/bash\n", b'"SECRET"\n', b"- SECRET\n",
     b"refunds: SECRET\n", b"\xffSECRET\n"],
)  # fmt: skip
def test_item_03_a_file_outside_policies_is_never_echoed(workspace, govkit, command, contents):
    foreign = workspace.root / "elsewhere" / "settings.yaml"
    foreign.parent.mkdir()
    foreign.write_bytes(contents)
    args = ["policy", command, str(foreign)]
    if command == "decide":
        args += ["--case", json.dumps(CALM)]

    result = govkit(*args)

    assert result.exit_code == 2
    assert "SECRET" not in result.output
    assert "settings.yaml" in result.output


def test_item_03_a_cases_file_outside_policies_is_never_echoed(workspace, govkit):
    foreign = workspace.root / "notes.yaml"
    foreign.write_text(f"- {SECRET}\n")

    result = govkit("policy", "test", "support-agent", str(foreign))

    assert result.exit_code == 2
    assert "SECRET" not in result.output
    assert result.output.strip() == (
        "notes.yaml: not a govkit list of test cases ({name, case, expect}); its contents are "
        "not shown because it lies outside governance/policies"
    )


def test_item_03_a_case_file_of_the_wrong_shape_is_not_echoed(workspace, govkit):
    (workspace.root / "case.json").write_text('"SECRET"')

    result = govkit("policy", "decide", "support-agent", "--case", "@case.json")

    assert result.exit_code == 2
    assert "SECRET" not in result.output


def test_item_19_a_huge_case_is_decided_and_scientific_literals_parse(workspace, govkit):
    case = {f"fact_{index}": index * 0.5 for index in range(90_000)} | CALM
    (workspace.root / "big.json").write_text(json.dumps(case))
    workspace.edit(POLICY, FRAUD, "    - fraud_risk_score >= 7e-1\n")

    result = govkit("policy", "decide", "support-agent", "--case", "@big.json", "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["decision"] == "auto_approve"
    assert parse("x < 1e-4") == parse("x < 0.0001")


def test_item_19_a_missing_fact_among_thousands_lists_a_few(workspace, govkit):
    case = {f"fact_{index}": index for index in range(90_000)} | {"action": "refund"}
    (workspace.root / "big.json").write_text(json.dumps(case))

    result = govkit("policy", "decide", "support-agent", "--case", "@big.json")

    assert result.exit_code == 2
    assert result.output.strip().endswith("fact_10012 and 89,981 more.")
