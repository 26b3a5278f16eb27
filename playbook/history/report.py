"""`govkit diff`'s report for people (text), tools (JSON) and CI systems (JUnit XML, SARIF 2.1.0):
each check a test case or a result located at `file:line`, so that the pull request shows it."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

from playbook.core import jsonout
from playbook.history.gate import APPROVAL, EVALS, TWO_PERSON, Check, Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES = {
    APPROVAL: ("missing-approval", "A change lacks the approval of a role holder it needs"),
    TWO_PERSON: ("two-person-approval", "A change lacks the distinct approvers its charter needs"),
    EVALS: ("eval-evidence", "A change of behaviour lacks passing eval results produced after it"),
}


def _span(report: Report) -> str:
    commits = f"{len(report.commits)} commit(s)"
    tree = " and the work tree" if report.span.head == "work tree" else ""
    return f"{report.span.label}: {commits}{tree}"


def format_text(report: Report) -> str:
    """The changes, each classed by risk, then what they need and lack."""
    if not report.changes:
        return f"{_span(report)}, no change to the governance: nothing to check."
    lines = [f"{_span(report)}, {len(report.changes)} governance change(s)"]
    lines += [f"  renamed: {old} -> {new}" for new, old in sorted(report.renamed.items())]
    lines += [f"  {c.where}: {c.text} [{c.risk}]" for c in report.changes]
    if report.checks:
        lines += ["", "Checks"]
        for check in report.checks:
            lines.append(f"  {'PASS' if check.passed else 'FAIL'}  {check.message}")
    lines += [f"  note: {note}" for note in report.notes]
    findings = report.findings
    lines.append("")
    if findings:
        lines.append(f"{len(findings)} finding(s): the change lacks what it needs.")
    else:
        lines.append(f"All {len(report.checks)} check(s) passed.")
    return "\n".join(lines)


def format_json(report: Report, prefix: str) -> str:
    return jsonout.dumps({"governance": prefix, **report.to_json()}, indent=2)


def _case_name(check: Check) -> str:
    return f"{check.file}:{check.line}: {check.change}: {check.needs}"


def format_junit(report: Report) -> str:
    """JUnit XML: one test case per check, a failure for each finding (GitLab, Jenkins, GitHub
    test reporters show them with their file and line)."""
    findings = len(report.findings)
    root = ElementTree.Element("testsuites", name="govkit diff", tests=str(len(report.checks)),
                               failures=str(findings), errors="0")  # fmt: skip
    suite = ElementTree.SubElement(
        root, "testsuite", name=f"govkit diff {report.span.label}",
        tests=str(len(report.checks)), failures=str(findings), errors="0", skipped="0",
    )  # fmt: skip
    for check in report.checks:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"govkit.{check.rule}", name=_case_name(check),
            file=check.file, line=str(check.line),
        )  # fmt: skip
        if not check.passed:
            failure = ElementTree.SubElement(
                case, "failure", message=check.message, type=RULES[check.rule][0]
            )
            failure.text = check.message
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, "unicode")


def _result(check: Check) -> dict[str, Any]:
    return {
        "ruleId": RULES[check.rule][0],
        "level": "error",
        "message": {"text": check.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": check.file, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": check.line},
                }
            }
        ],
        "properties": {
            "agent": check.agent,
            "risk": check.risk,
            "needs": check.needs,
            **({"role": check.role} if check.role else {}),
            **({"suite": check.suite} if check.suite else {}),
        },
    }


def format_sarif(report: Report, version: str) -> str:
    """SARIF 2.1.0: one result per finding (GitHub code scanning, GitLab, Azure DevOps)."""
    rules = [
        {"id": rule_id, "shortDescription": {"text": text}} for rule_id, text in RULES.values()
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "govkit",
                        "version": version,
                        "rules": rules,
                    }
                },
                "results": [_result(check) for check in report.findings],
            }
        ],
    }
    return jsonout.dumps(document, indent=2)
