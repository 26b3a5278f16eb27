"""`govkit check`: every class of mistake gives one exact, located line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TODAY

CHARTER = "agents/support-replies.yaml"
WHERE = f"governance/{CHARTER}"

OWNER = "  agent_owner:\n    name: Rosa Delgado\n    email: rosa.delgado@northwind.example\n"
REVIEWER = "  reviewer:\n    name: Fiona MacLeod\n    email: fiona.macleod@northwind.example\n"

CASES = {
    "missing required field": (
        OWNER,
        "",
        f"{WHERE}:11: owners.agent_owner: field required",
    ),
    "one guardrail": (
        "  - metric: cost_per_successful_task\n    max: 2.0\n",
        "",
        f"{WHERE}:24: guardrails: expected exactly two guardrails but received 1",
    ),
    "wrong type": (
        "tier: 2",
        "tier: two",
        f"{WHERE}:9: tier: expected a whole number but received 'two' (text)",
    ),
    "threshold given as text": (
        "max: 0.15",
        'max: "0.15"',
        f"{WHERE}:26: guardrails[0].max: expected a number but received '0.15' (text)",
    ),
    "tier out of range": (
        "tier: 2",
        "tier: 7",
        f"{WHERE}:9: tier: expected a number <= 4 but received 7 (a number)",
    ),
    "unknown operating model": (
        "operating_model: human-on-the-loop",
        "operating_model: human-on-loop",
        f"{WHERE}:10: operating_model: unknown operating model 'human-on-loop'. Did you mean "
        "'human-on-the-loop' or 'human-in-the-loop'? Expected one of 'agent-swarm', "
        "'autonomous-with-guardrails', 'human-in-the-loop', 'human-on-the-loop' or "
        "'internal-platform'.",
    ),
    "unknown field": (
        "review:\n  cadence: weekly",
        "reveiw:\n  cadence: weekly",
        f"{WHERE}:50: reveiw: unknown field. Did you mean 'review'? Expected one of 'id', 'name', "
        "'description', 'tier', 'operating_model', 'owners', 'north_star', 'guardrails', "
        "'stop_conditions', 'work', 'review', 'budget', 'monitor', 'policies', 'approvals', "
        "'model', 'prompt', 'evals', 'audit', 'break_glass', 'runbook', 'retired' or 'status'.",
    ),
    "id differs from file name": (
        "id: support-replies",
        "id: support-reply",
        f"{WHERE}:3: id: expected the file name's stem 'support-replies' but received "
        "'support-reply'",
    ),
    "invalid window": (
        "window: 7d",
        "window: 7 days",
        f"{WHERE}:32: stop_conditions[0].window: expected a window like 12h, 7d or 2w but "
        "received '7 days'",
    ),
    "invalid date": (
        'to: "2026-09-28"',
        'to: "2026-13-28"',
        f"{WHERE}:60: monitor.baseline.to: expected a date (YYYY-MM-DD) but received "
        "'2026-13-28', not a calendar day",
    ),
    "baseline not before today": (
        'to: "2026-09-28"',
        'to: "2026-12-28"',
        f"{WHERE}:60: monitor.baseline.to: expected a baseline that ends before today "
        f"({TODAY}) but received 2026-12-28",
    ),
    "last review ahead of today": (
        "cadence: weekly",
        'cadence: weekly\n  last: "2099-01-01"',
        f"{WHERE}:52: review.last: expected the day of the last review, on or before today "
        f"({TODAY}), but received 2099-01-01; a review date ahead would hide an overdue review",
    ),
    "reviewer missing from tier 2": (
        REVIEWER,
        "",
        f"{WHERE}:11: owners.reviewer: tier 2 needs: last-mile reviewer named (rule of tier 2 "
        "and up); owners.reviewer not named",
    ),
    "invalid choice": (
        "cadence: weekly",
        "cadence: daily",
        f"{WHERE}:51: review.cadence: expected one of 'weekly', 'biweekly', 'monthly' or "
        "'quarterly' but received 'daily'.",
    ),
    "guardrail with two bounds": (
        "    max: 0.15\n",
        "    max: 0.15\n    min: 0.1\n",
        f"{WHERE}:25: guardrails[0]: expected exactly one of max or min",
    ),
    "invalid email": (
        "email: rosa.delgado@northwind.example",
        "email: rosa",
        f"{WHERE}:14: owners.agent_owner.email: expected an email address like "
        "name@example.org but received 'rosa'",
    ),
    "YAML syntax error": (
        "tier: 2",
        "tier: [2",
        f"{WHERE}:10: YAML syntax error: did not find expected ',' or ']'",
    ),
}


@pytest.mark.parametrize("old, new, expected", CASES.values(), ids=CASES.keys())
def test_each_mistake_is_one_located_line(workspace, govkit, old, new, expected):
    workspace.edit(CHARTER, old, new)

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [expected, "1 problem found; nothing was written."]
    assert "Traceback" not in result.output


def test_unknown_metric_suggests_the_closest(workspace, govkit):
    workspace.edit(CHARTER, "    - policy_hit_rate", "    - policy_hits")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"{WHERE}:68: monitor.metrics[5]: unknown metric 'policy_hits'. "
        "Did you mean 'policy_hit_rate'? Expected one of 'audit_findings', "
    )


def test_all_problems_are_reported_together_sorted_by_file_and_line(workspace, govkit):
    workspace.edit(CHARTER, "cadence: weekly", "cadence: daily")
    workspace.edit(CHARTER, "tier: 2", "tier: two")
    workspace.edit(
        "agents/refunds.yaml", "operating_model: human-in-the-loop", "operating_model: x"
    )

    result = govkit("check", "--today", TODAY)

    refunds = (workspace.governance / "agents/refunds.yaml").read_text(encoding="utf-8")
    refunds_line = refunds.splitlines().index("operating_model: x") + 1
    lines = result.stderr.splitlines()
    assert result.exit_code == 2
    assert [line.split(": ")[0] for line in lines[:3]] == [
        f"governance/agents/refunds.yaml:{refunds_line}",
        f"{WHERE}:9",
        f"{WHERE}:51",
    ]
    assert lines[-1] == "3 problems found; nothing was written."


def test_python_tag_is_refused_and_never_runs(workspace, govkit):
    marker = workspace.root / "pwned"
    workspace.edit(
        CHARTER,
        "name: Support replies",
        f"name: !!python/object/apply:os.system ['touch {marker}']",
    )

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"{WHERE}:4: unsupported YAML tag '!!python/object/apply:os.system'; "
        "expected plain YAML values (safe loading)"
    )
    assert not marker.exists()


def test_python_object_tag_on_a_mapping_is_refused(workspace, govkit):
    workspace.edit(CHARTER, "north_star:\n", "north_star: !!python/object:builtins.dict\n")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert "unsupported YAML tag '!!python/object:builtins.dict'" in result.stderr


def test_empty_and_non_utf8_files_are_located(workspace, govkit):
    workspace.write(CHARTER, "")
    workspace.write("agents/refunds.yaml", b"id: refunds\nname: R\xe9funds\n")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "governance/agents/refunds.yaml:2: expected UTF-8 text, found byte 0xe9",
        f"{WHERE}:1: file is empty; expected a YAML mapping",
        "2 problems found; nothing was written.",
    ]


def test_missing_governance_file_is_named(workspace, govkit):
    (workspace.governance / "tiers.yaml").unlink()

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert "governance/tiers.yaml:1: file is missing" in result.stderr.splitlines()


def test_a_governance_file_that_is_a_directory_is_named_as_one(workspace, govkit):
    (workspace.governance / "tiers.yaml").unlink()
    (workspace.governance / "tiers.yaml").mkdir()

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert "governance/tiers.yaml:1: is a directory; expected a YAML file" in (
        result.stderr.splitlines()
    )


def test_duplicate_key_is_located(workspace, govkit):
    workspace.edit(CHARTER, "tier: 2\n", "tier: 2\ntier: 3\n")

    result = govkit("check", "--today", TODAY)

    assert result.stderr.splitlines()[0] == f"{WHERE}:10: YAML syntax error: duplicate key 'tier'"


def test_duplicate_ids_across_a_catalog(workspace, govkit):
    text = (workspace.governance / "metrics.yaml").read_text(encoding="utf-8")
    workspace.write("metrics.yaml", text.replace("id: rework_rate", "id: escalation_rate", 1))

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert "duplicate id 'escalation_rate'; each must be unique" in result.stderr


def test_tier_names_an_unknown_metric(workspace, govkit):
    workspace.edit("tiers.yaml", "      - rework_rate", "      - rework")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert "tiers[1].minimum_metrics[0]: unknown metric 'rework'." in result.stderr


def test_valid_example_passes(workspace, govkit):
    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "governance: 21 files valid: 7 agents, 5 tiers, 5 operating models, 16 metrics, "
        "2 incidents, 3 frameworks, people from people.yaml; "
        "1 retired agent(s) kept for the record.\n"
    )
    assert "; 1 retired agent(s) kept for the record." in result.stdout


def test_missing_directory_is_a_clear_error(tmp_path: Path, govkit, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = govkit("check", "--governance", "nowhere")

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "nowhere:1: governance directory not found"


def test_reference_and_schema_problems_of_one_charter_come_together(workspace, govkit):
    workspace.edit(CHARTER, "operating_model: human-on-the-loop", "operating_model: human-on-loop")
    workspace.edit(CHARTER, OWNER, "")
    workspace.edit(CHARTER, "  - metric: cost_per_successful_task\n    max: 2.0\n", "")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert [line.split(": ")[0:2] for line in result.stderr.splitlines()] == [
        [f"{WHERE}:10", "operating_model"],
        [f"{WHERE}:11", "owners.agent_owner"],
        [f"{WHERE}:21", "guardrails"],
        ["3 problems found; nothing was written."],
    ]


def test_manual_metric_cannot_be_a_guardrail(workspace, govkit):
    workspace.edit(CHARTER, "  - metric: escalation_rate\n", "  - metric: audit_findings\n")

    result = govkit("check", "--today", TODAY)

    assert result.stderr.splitlines()[0] == (
        f"{WHERE}:25: guardrails[0].metric: metric 'audit_findings' is reported manually; "
        "expected a metric the monitor can compute from events"
    )


def test_monitor_settings_are_validated(workspace, govkit):
    workspace.edit("monitor.yaml", "fdr: 0.05", "fdr: 0.7")
    workspace.edit("monitor.yaml", "receivers: []", "receivers:\n  - {name: pager, url: ftp://x}")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == [
        "governance/monitor.yaml:3: fdr: expected a number <= 0.5 but received 0.7 (a number)",
        "governance/monitor.yaml:16: receivers[0].url: expected an http(s) URL but received "
        "'ftp://x'",
    ]


def test_engine_settings_are_validated(workspace, govkit):
    workspace.edit("monitor.yaml", "  kind: duckdb ", "  kind: spark\n  remote: http://x\n ")
    result = govkit("check", "--today", TODAY)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "governance/monitor.yaml:20: engine.remote: expected a Spark Connect URL such as "
        "'sc://host:15002' but received 'http://x'"
    )

    workspace.edit("monitor.yaml", "remote: http://x", "remote: sc://h:15002\n  master: local[2]")
    result = govkit("check", "--today", TODAY)
    assert result.stderr.splitlines()[0] == (
        "governance/monitor.yaml:18: engine: expected remote (Spark Connect) or master, not both"
    )

    workspace.edit("monitor.yaml", "  kind: spark\n", "  kind: sparc\n")
    result = govkit("check", "--today", TODAY)
    assert result.stderr.splitlines()[0] == (
        "governance/monitor.yaml:19: engine.kind: expected one of 'duckdb' or 'spark' but "
        "received 'sparc'. Did you mean 'spark'?"
    )


def test_monitor_settings_file_is_optional(workspace, govkit):
    (workspace.governance / "monitor.yaml").unlink()
    assert govkit("check", "--today", TODAY).exit_code == 0


# --- hostile input (issue 10): each item's regression test is named after it ------------------

NON_FINITE = {
    "guardrail max": (
        CHARTER,
        "max: 0.15",
        "max: .nan",
        f"{WHERE}:26: guardrails[0].max: expected a finite number (not .nan or .inf) but "
        "received nan (a number)",
    ),
    "stop condition above": (
        "agents/refunds.yaml",
        "above: 0.02",
        "above: .inf",
        "governance/agents/refunds.yaml:35: stop_conditions[1].above: expected a finite number "
        "(not .nan or .inf) but received inf (a number)",
    ),
    "north star target": (
        CHARTER,
        "target: 0.85",
        "target: .NaN",
        f"{WHERE}:23: north_star.target: expected a finite number (not .nan or .inf) but "
        "received nan (a number)",
    ),
    "catalog effect floor": (
        "metrics.yaml",
        "    name: Escalation rate\n",
        "    name: Escalation rate\n    effect_floor: .inf\n",
        "governance/metrics.yaml:25: metrics[1].effect_floor: expected a finite number (not .nan "
        "or .inf) but received inf (a number)",
    ),
    "monitor.yaml floor": (
        "monitor.yaml",
        "continuous: 0.10 ",
        "continuous: -.inf ",
        "governance/monitor.yaml:8: effect_floors.continuous: expected a finite number (not .nan "
        "or .inf) but received -inf (a number)",
    ),
}


@pytest.mark.parametrize("case", NON_FINITE.values(), ids=NON_FINITE.keys())
def test_item_02_non_finite_thresholds_are_refused_at_check(workspace, govkit, case):
    relative, old, new, expected = case
    workspace.edit(relative, old, new)

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == expected


def test_item_08_a_window_of_more_than_ten_years_is_refused_at_check(workspace, govkit):
    workspace.edit("agents/refunds.yaml", "recent: 7d", "recent: 99999999999999w")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        "governance/agents/refunds.yaml:68: monitor.recent: expected a window of at most 520w "
        "(ten years) but received '99999999999999w'"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--today", "0001-01-01"], "Invalid value for '--today': expected a date from "
         "1970-01-01 to 2999-12-31 but received 0001-01-01"),
        (["monitor", "run", "--events", "e.csv", "--now", "9999-12-31T23:59:59Z"],
         "Invalid value for '--now': expected a date from 1970-01-01 to 2999-12-31 but received "
         "9999-12-31 (as an ISO 8601 time)"),
        (["review", "refunds", "--events", "e.csv", "--period", "99999999w"],
         "--period: expected a window of at most 520w (ten years) but received '99999999w'"),
        (["monitor", "schedule", "--events", "e.csv", "--every", "99999999999999d"],
         "--every: expected at most 520w (ten years) but received '99999999999999d'"),
        (["monitor", "run", "--events", "e.csv", "--lock-timeout", "nan"],
         "Invalid value for '--lock-timeout': expected a finite number but received 'nan'"),
    ],
)  # fmt: skip
def test_item_08_times_far_out_are_refused_at_the_option(workspace, args, message):
    from click.testing import CliRunner

    from playbook.cli import cli

    (workspace.root / "e.csv").write_text("timestamp,agent,outcome\n")
    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefghi", "bcdefghij", strict=True)
)


def _refused_within(seconds: int, govkit, *args: str):
    """Run the CLI with an alarm: a loader that expands a bomb would hang, and fail here."""
    import signal

    def timeout(*_: object) -> None:
        raise AssertionError(f"govkit {' '.join(args)} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(seconds)
    try:
        return govkit(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_item_14_alias_bombs_are_refused_with_a_located_error(workspace, govkit):
    workspace.write("organisation.yaml", 'a: &a ["lol", "lol", "lol", "lol", "lol"]\n' + ALIAS_BOMB)

    result = _refused_within(10, govkit, "check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        "governance/organisation.yaml:6: expected at most 250,000 values but the aliases here "
        "expand to more (an alias bomb?); write the values out or use fewer aliases"
    )


def test_item_14_a_self_referring_alias_is_refused(workspace, govkit):
    workspace.write("organisation.yaml", "name: &x [1, *x]\n")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        "governance/organisation.yaml:1: expected plain YAML values but found an alias that "
        "refers to the collection containing it"
    )


@pytest.mark.parametrize("style", ["flow", "block"])
def test_item_15_nesting_deeper_than_the_limit_is_a_located_error(workspace, govkit, style):
    depth = 150
    if style == "flow":
        text = "name: " + "[" * depth + "]" * depth + "\n"
    else:
        text = (
            "".join(f"{'  ' * level}k{level}:\n" for level in range(depth))
            + "  " * depth
            + "x: 1\n"
        )
    workspace.write("organisation.yaml", text)

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    first = result.output.splitlines()[0]
    assert first.startswith("governance/organisation.yaml:")
    assert first.endswith("expected at most 100 levels of nesting but found more")


@pytest.mark.parametrize(
    ("written", "reason"),
    [("2026-02-30", "day is out of range for month"),
     ("2026-13-01", "month must be in 1..12"),
     ("0000-01-01", "year 0 is out of range")],
)  # fmt: skip
def test_item_16_unquoted_dates_that_do_not_exist_are_located(workspace, govkit, written, reason):
    workspace.edit("agents/refunds.yaml", 'from: "2026-09-07"', f"from: {written}")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        "governance/agents/refunds.yaml:66: monitor.baseline.from: expected a valid date "
        f"(YYYY-MM-DD) but received '{written}' ({reason})"
    )


def test_item_16_dates_outside_the_calendar_are_located(workspace, govkit):
    workspace.edit("rollout.yaml", "start_date: 2026-10-05", "start_date: 1900-01-01")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert "start_date: expected a date from 1970-01-01 to 2999-12-31 but received 1900-01-01" in (
        result.output
    )


@pytest.mark.parametrize(
    ("written", "shown", "code"),
    [('"Refunds \\e[2J"', "'Refunds \\x1b[2J'", "U+001B at position 8"),
     ('"Refunds\\rOK"', "'Refunds\\rOK'", "U+000D at position 7"),
     ('"Refunds \\x9b31m"', "'Refunds \\x9b31m'", "U+009B at position 8")],
)  # fmt: skip
def test_control_characters_in_text_are_refused_where_written(
    workspace, govkit, written, shown, code
):
    workspace.edit("agents/refunds.yaml", "name: Refunds", f"name: {written}")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        f"governance/agents/refunds.yaml:4: name: expected text without control characters but "
        f"received {shown} ({code}); only tab and newline are allowed"
    )
    assert "\x1b" not in result.output and "\r" not in result.output


@pytest.mark.parametrize(
    ("written", "received"),
    [('"2026-11-31"', "'2026-11-31', not a calendar day"),
     ("2026-11-18T10:00:00", "2026-11-18T10:00:00 (a time)"),
     ('"18 Nov"', "'18 Nov' (text)")],
)  # fmt: skip
def test_a_date_that_is_not_one_says_what_it_is_in_yaml_terms(workspace, govkit, written, received):
    incident = "incidents/2026-11-18-refunds-rollbacks.yaml"
    workspace.edit(incident, 'date: "2026-11-18"', f"date: {written}")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        f"governance/{incident}:6: date: expected a date (YYYY-MM-DD) but received {received}"
    )
