"""Options that must not mislead: a `--state` typo, `--today` where it changes nothing, and
`check --strict` failing without saying why (issue 14, items 6 and 9)."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import COMMANDS
from tests.conftest import TODAY

READERS_OF_STATE = [
    ("build", "--today", TODAY),
    ("serve", "--today", TODAY),
    ("whois", "refunds"),
]


@pytest.mark.parametrize("command", READERS_OF_STATE, ids=lambda command: command[0])
def test_a_state_that_does_not_exist_is_exit_2_naming_it(workspace, govkit, command):
    result = govkit(*command, "--state", ".govkit/monitr.db")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--state': no monitor state at .govkit/monitr.db (nor its "
        "snapshot .govkit/monitr.json). To go without monitor results, leave out --state or "
        "pass --state none."
    )
    assert not (workspace.root / "site").exists()


def test_a_missing_snapshot_named_directly_is_exit_2_too(workspace, govkit):
    result = govkit("whois", "refunds", "--state", "results/monitor.json")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--state': no monitor state at results/monitor.json. To go "
        "without monitor results, leave out --state or pass --state none."
    )


def test_state_none_asks_for_no_monitor_results(workspace, govkit):
    result = govkit("whois", "refunds", "--state", "none", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert '"monitor": null' in result.stdout


def test_left_out_the_default_state_may_be_absent(workspace, govkit):
    result = govkit("whois", "refunds")
    assert result.exit_code == 0, result.stderr
    assert "no monitor state found" in result.stdout


def _shows_today(command: str, govkit) -> bool:
    return "--today" in govkit(*command.split(), "--help").output


def test_today_is_offered_only_where_it_changes_the_output(govkit):
    offered = {command for command in COMMANDS if _shows_today(command, govkit)}
    # check: the date rules (a baseline must have ended); build and serve: the rollout phases.
    assert offered == {"check", "build", "serve"}


@pytest.mark.parametrize(
    "command",
    [("whois", "refunds"), ("charter", "new", "claims-helper", "--tier", "1",
     "--operating-model", "human-on-the-loop", "--owner", "Ada Lovelace <ada@example.org>",
     "--steward", "Grace Hopper <grace@example.org>")],
    ids=["whois", "charter new"],
)  # fmt: skip
def test_today_is_still_accepted_where_scripts_pass_it(workspace, govkit, command):
    result = govkit(*command, "--today", TODAY)
    assert result.exit_code == 0, result.stderr


def test_check_strict_says_how_many_todos_remain_and_where(workspace, govkit):
    created = govkit(
        "charter", "new", "claims-helper", "--tier", "2", "--operating-model",
        "human-on-the-loop", "--owner", "Ada Lovelace <ada@example.org>",
        "--steward", "Grace Hopper <grace@example.org>",
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    todos = sum(1 for line in govkit("check").stderr.splitlines() if "TODO placeholder" in line)
    assert todos > 1

    result = govkit("check", "--strict", "--today", TODAY)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"check --strict failed: {todos} TODO placeholders remain in "
        f"governance/agents/claims-helper.yaml ({todos}): only their owners can fill them in "
        "(each is listed above with its line)."
    )


def test_check_strict_passes_when_nothing_is_left(workspace, govkit):
    result = govkit("check", "--strict", "--today", TODAY)
    assert result.exit_code == 0
    assert "check --strict failed" not in result.stderr
