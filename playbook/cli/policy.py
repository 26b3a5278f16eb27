"""`govkit policy`: apply an executable policy to a case, or run the policy's test cases."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from playbook.cli.options import format_option
from playbook.cli.options import governance_option as governance_option_for
from playbook.cli.policy_serve import serve_command
from playbook.core import jsonout
from playbook.core.errors import Problem, UsageError, ValidationFailed, display_path
from playbook.core.problems import describe
from playbook.core.yamlsrc import YamlReadError, read_yaml
from playbook.policy import (
    POLICIES_DIR,
    Case,
    Decision,
    DecisionLog,
    Policy,
    PolicyFile,
    load_cases,
    load_policy,
    resolve_policy,
    run_tests,
    tests_path,
)
from playbook.policy.cases import CaseSpec

POLICY_KEYS = set(PolicyFile.model_fields)
CASE_KEYS = set(CaseSpec.model_fields)
CASE_EXAMPLE = '{"action": "refund", "amount_usd": 150, "sentiment": "neutral"}'
MEANINGS = {
    "auto_approve": "the agent may go ahead on its own",
    "require_human": "a person must approve first",
    "escalate": "hand the conversation to a person",
}

policy_argument = click.argument("policy_ref", metavar="POLICY")
governance_option = governance_option_for(
    "Governance directory: a POLICY id is read from its policies/<id>.yaml."
)


@click.group()
def policy() -> None:
    """Executable policies: decide a case, or run a policy's test cases.

    A policy is governance/policies/<id>.yaml: the refund limit, conditions that need a human,
    escalation rules, PII redaction and log sampling. POLICY is its id or a path to the file.
    """


policy.add_command(serve_command)


@policy.command("decide")
@policy_argument
@click.option(
    "--case",
    "case_text",
    required=True,
    metavar="JSON",
    help=f"The case's facts as a JSON object, e.g. '{CASE_EXAMPLE}'; @FILE reads it from a file.",
)
@format_option(
    "text: a readable summary; json: {decision, reasons, redact_pii, log_sample_rate, "
    "policy_revision (the commit of the policy file), policy_source}."
)
@governance_option
@click.option(
    "--decision-log",
    "decision_log",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PATH",
    help="Also append the decision to this decision log (JSON Lines; an auto_approve decision "
    "is sampled at the policy's logging.sample_rate, the rest always written).",
)
@click.option(
    "--agent",
    metavar="ID",
    help="The agent asking, written to the decision log (default: the case's agent fact).",
)
def decide_command(
    policy_ref: str,
    case_text: str,
    output_format: str,
    governance_dir: Path,
    decision_log: Path | None,
    agent: str | None,
) -> None:
    """Decide one case: escalate, require_human or auto_approve, and which rules fired.

    Escalation rules (sentiment, topic) come first; then the refund limit and the conditions that
    need a human. A fact a rule needs but the case lacks is an error (exit 2), never a silent no.
    The policy's revision is reported with the decision, for the audit log: `policy_revision`
    is the commit that last changed the policy file (null when the file is not in git or
    differs from what git holds); `policy_source` has its git blob id and commit time.
    """
    loaded = _load_policy(resolve_policy(policy_ref, governance_dir), governance_dir)
    case = read_case(case_text)
    with DecisionLog(decision_log) if decision_log else nullcontext() as log:
        loaded.decision_log = log
        decision = loaded.decide(case, agent=agent)  # the in-process API's code path
    if output_format == "json":
        click.echo(jsonout.dumps(decision.to_json(), indent=2))
    else:
        click.echo(render_decision(loaded, decision))
        click.echo(render_revision(decision))


@policy.command("test")
@policy_argument
@click.argument(
    "cases_path",
    metavar="[CASES.yaml]",
    type=click.Path(path_type=Path, dir_okay=False),
    required=False,
)
@governance_option
def test_command(policy_ref: str, cases_path: Path | None, governance_dir: Path) -> None:
    """Run test cases against a policy: one PASS or FAIL line per case, with the reasons.

    CASES.yaml is a list of {name, case: {facts}, expect: DECISION}; by default the policy's
    <id>.tests.yaml beside it. Exit 0 when all pass, 1 when any fails, 2 on invalid input.
    """
    path = resolve_policy(policy_ref, governance_dir)
    loaded = _load_policy(path, governance_dir)
    cases_path = cases_path or tests_path(path)
    if not cases_path.is_file():
        raise UsageError(
            f"test cases {display_path(cases_path)} not found; expected a list of "
            "{name, case, expect} there, or a CASES.yaml argument"
        )
    results = run_tests(loaded, _load_cases(cases_path, governance_dir))
    for result in results:
        why = f" ({'; '.join(result.reasons)})" if result.reasons else ""
        if result.passed:
            click.echo(f"PASS  {result.name}: {result.actual}{why}")
        else:
            click.echo(
                f"FAIL  {result.name}: expected {result.expected} but got {result.actual}{why}"
            )
    failed = sum(not result.passed for result in results)
    click.echo(
        f"{loaded.id}: {len(results)} cases, {len(results) - failed} passed, "
        f"{failed} failed ({display_path(cases_path)})"
    )
    if failed:
        raise click.exceptions.Exit(1)


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


def _top_level(path: Path) -> Any:
    try:
        return read_yaml(path).data
    except YamlReadError:
        return None


def _foreign(path: Path, expected: str, directory: Path) -> UsageError:
    """An error for a file given as a policy or cases that is not one: nothing of its contents
    is shown (it may be any file the user can read, and this message may end up in a CI log)."""
    return UsageError(
        f"{display_path(path)}: not a govkit {expected}; its contents are not shown because it "
        f"lies outside {display_path(directory)}"
    )


def _load_policy(path: Path, governance_dir: Path) -> Policy:
    """The policy at `path`, with located problems when it is one; a file outside the policies
    directory that does not even look like a policy is refused without echoing any of it."""
    directory = governance_dir / POLICIES_DIR
    if _inside(path, directory):
        return load_policy(path)
    data = _top_level(path)
    if not isinstance(data, dict) or not set(data) & POLICY_KEYS or set(data) - POLICY_KEYS:
        raise _foreign(path, f"policy (a mapping of {', '.join(sorted(POLICY_KEYS))})", directory)
    try:
        return load_policy(path)
    except ValidationFailed as exc:
        raise ValidationFailed([_without_values(problem) for problem in exc.problems]) from None


def _without_values(problem: Problem) -> Problem:
    """A problem of a file outside the policies directory: what was expected, not what was
    found there (`expected a mapping but received 'x'` -> `expected a mapping`)."""
    message = problem.message.split(" but received ")[0].split(" (received ")[0]
    return Problem(problem.file, problem.line, problem.path, message, problem.severity)


def _load_cases(path: Path, governance_dir: Path) -> list[Case]:
    directory = governance_dir / POLICIES_DIR
    if _inside(path, directory):
        return load_cases(path)
    data = _top_level(path)
    if not isinstance(data, list) or not all(
        isinstance(item, dict) and set(item) <= CASE_KEYS for item in data
    ):
        raise _foreign(path, "list of test cases ({name, case, expect})", directory)
    try:
        return load_cases(path)
    except ValidationFailed as exc:
        raise ValidationFailed([_without_values(problem) for problem in exc.problems]) from None


def read_case(text: str) -> dict[str, Any]:
    """The --case value: a JSON object of facts, given inline or as @FILE."""
    source = "--case"
    text_from_file = text.startswith("@")
    if text_from_file:
        path = Path(text[1:])
        source = f"--case {display_path(path)}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "expected UTF-8 text"
            raise UsageError(f"{source}: cannot read the file: {reason}") from None
    try:
        value = jsonout.loads_strict(text)
    except (ValueError, RecursionError) as exc:
        detail = str(exc)
        if isinstance(exc, json.JSONDecodeError):
            detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise UsageError(
            f"{source}: expected a JSON object of facts like '{CASE_EXAMPLE}' but "
            f"received invalid JSON: {detail}"
        ) from None
    if not isinstance(value, dict):
        # A file may be anything the user can read: name what it holds, never its contents.
        received = type(value).__name__ if text_from_file else describe(value)
        raise UsageError(
            f"{source}: expected a JSON object of facts like '{CASE_EXAMPLE}' but "
            f"received {received}"
        )
    return value


def render_decision(loaded: Policy, decision: Decision) -> str:
    rules = loaded.rules
    lines = [
        f"Policy:    {loaded.id} ({display_path(loaded.path)})",
        f"Decision:  {decision.decision}: {MEANINGS[decision.decision]}",
    ]
    if decision.reasons:
        lines.append("Because:")
        lines += [f"  - {reason}" for reason in decision.reasons]
    else:
        lines.append(
            f"Because:   no escalation or review rule fired (refunds up to "
            f"{rules.refunds.auto_approve_max_usd:g} USD are approved automatically)"
        )
    tone = f"; tone: {rules.responses.tone.style}" if rules.responses.tone else ""
    lines.append(f"Replies:   {'redact PII' if decision.redact_pii else 'PII kept'}{tone}")
    lines.append(
        f"Logging:   sample rate {decision.log_sample_rate:g}, "
        f"kept {rules.logging.retention_days} days"
    )
    return "\n".join(lines)


def render_revision(decision: Decision) -> str:
    """`Revision:  blob 9c1e2f3, last changed in 3f2a1bc (2026-10-02T09:14:00Z)`."""
    source = decision.policy_source or {}
    blob = f"blob {(source.get('blob') or '')[:7]}"
    if decision.policy_revision is None:
        return f"Revision:  {blob} (not as committed: the file is not in git, or changed since)"
    return (
        f"Revision:  {blob}, last changed in {decision.policy_revision[:7]} "
        f"({source.get('committed_at')})"
    )
