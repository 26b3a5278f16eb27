"""The command line itself: help, version, option checks, `init`."""

from __future__ import annotations

import importlib.util

import click
import pytest

from playbook import __version__
from playbook.cli import cli


def all_commands() -> dict[str, click.Command]:
    """Every command by its full name ('build', 'monitor run', ...), lazy groups included."""
    found: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        context = click.Context(group)
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            assert command is not None
            found[f"{prefix}{name}"] = command
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")

    walk(cli, "")
    return found


COMMANDS = all_commands()


def test_version(govkit):
    result = govkit("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"govkit, version {__version__}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_explains_itself(govkit, command):
    result = govkit(*command.split(), "--help")
    assert result.exit_code == 0
    assert f"Usage: govkit {command}" in result.output
    for parameter in COMMANDS[command].params:
        if parameter.param_type_name == "option" and parameter.name != "help":
            assert parameter.help, f"--{parameter.name} of {command} has no help text"


def test_bad_date_is_a_usage_error(workspace, govkit):
    result = govkit("check", "--today", "24/11/2026")
    assert result.exit_code == 2
    assert (
        "Invalid value for '--today': expected a date as YYYY-MM-DD but received '24/11/2026'"
        in (result.stderr)
    )


def test_unknown_builder_is_refused_with_the_choices(workspace, govkit):
    result = govkit("build", "--builder", "sphinx")
    assert result.exit_code == 2
    assert "'sphinx' is not one of 'mkdocs', 'zensical'" in result.stderr


def test_missing_builder_package_says_how_to_install_it(workspace, govkit, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "zensical" else real_find_spec(name, *a),
    )
    result = govkit("build", "--builder", "zensical", "--today", "2026-11-24")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "the zensical builder is not installed; install it with "
        "pip install 'agent-governance-kit[zensical]'"
    )
    assert not (workspace.root / "site").exists()


def test_init_writes_an_organisation_that_checks(tmp_path, govkit, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = govkit("init", "org")
    assert result.exit_code == 0, result.stderr
    assert {p.name for p in (tmp_path / "org").iterdir()} == {"governance", "docs", "mkdocs.yml"}

    monkeypatch.chdir(tmp_path / "org")
    assert govkit("check", "--today", "2026-11-24").exit_code == 0


def test_init_never_overwrites(tmp_path, govkit, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "governance").mkdir()
    result = govkit("init")
    assert result.exit_code == 2
    assert result.stderr.strip() == "governance already exist; nothing was copied"
    assert list((tmp_path / "governance").iterdir()) == []
