"""What a charter says about changing its agent: the model it runs, its prompt, its eval suites and
who approves a change (`model`, `prompt`, `evals`, `approvals.approvers`).

`govkit diff` gates a change on these: a change to the model, the prompt (the field, or the file it
names), the tools or the policies needs every eval suite's latest results produced after it and
meeting the suite's `min_pass_rate`. `govkit check` warns about an agent of tier 2 or above that
declares no eval suite, since no change to it could then be gated on evals.

    model: claude-sonnet-4-5              # or {provider, name, version}
    prompt: prompts/refunds.md            # a path (relative to governance/) or a version: v12
    evals:
      - suite: refunds-regression
        results: evals/refunds/*.xml      # JUnit XML, a glob relative to governance/
        min_pass_rate: 0.98
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, model_validator

from playbook.core.errors import Problem
from playbook.core.types import EMAIL_PATTERN, Schema, Text, repeated
from playbook.core.yamlsrc import YamlDocument

EVALS_FROM_TIER = 2  # from this tier, `govkit check` warns when a charter names no eval suite
APPROVER_ROLES = ("agent_owner", "model_steward", "reviewer")  # the charter's `owners` keys
LOGIN_PATTERN = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9._-]{0,98}$")
_RELATIVE = re.compile(r"^(?![A-Za-z]:)[^/\\\0][^\\\0]*$")
# A prompt written as one string is a path when it has a folder or a file extension (`.md`).
_PATH_LIKE = re.compile(r"/|\.[A-Za-z][A-Za-z0-9]*$")


def _relative_path(value: str) -> str:
    if not _RELATIVE.match(value) or not value.strip():
        raise ValueError(
            "expected a path relative to the governance directory, with '/' between folders "
            f"(e.g. prompts/refunds.md), but received {value!r}"
        )
    return value


RelativePath = Annotated[
    str,
    AfterValidator(_relative_path),
    WithJsonSchema({"type": "string", "pattern": _RELATIVE.pattern}),
]


def _approver(value: str) -> str:
    if value in APPROVER_ROLES or EMAIL_PATTERN.match(value) or LOGIN_PATTERN.match(value):
        return value
    raise ValueError(
        f"expected a role ({', '.join(APPROVER_ROLES)}), an email address or a code host login "
        f"such as @octocat but received {value!r}"
    )


Approver = Annotated[
    str,
    AfterValidator(_approver),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(APPROVER_ROLES)},
                {"type": "string", "pattern": EMAIL_PATTERN.pattern},
                {"type": "string", "pattern": LOGIN_PATTERN.pattern},
            ]
        }
    ),
]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Model(Schema):
    """The model the agent runs: a change to it is a change of the agent's behaviour."""

    provider: Text
    name: Text
    version: Text | None = None


class Prompt(Schema):
    """The agent's prompt: a file in the repository (its every edit is a change of behaviour),
    or a version in a prompt registry, or both."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": ["path"]},
                                                           {"required": ["version"]}]})  # fmt: skip

    path: RelativePath | None = None
    version: Text | None = None

    @model_validator(mode="after")
    def _something(self) -> Prompt:
        if self.path is None and self.version is None:
            raise ValueError("expected path (a file in the repository) or version, or both")
        return self


class EvalSuite(Schema):
    """One eval suite: where its JUnit XML results are (a glob relative to the governance
    directory; the latest file counts) and the pass rate its latest results must reach."""

    suite: Text
    results: RelativePath
    min_pass_rate: Fraction


def _unique_suites(suites: list[EvalSuite]) -> list[EvalSuite]:
    names = [suite.suite for suite in suites]
    twice = repeated(names)
    if twice:
        raise ValueError(f"expected each suite once but {', '.join(map(repr, twice))} repeats")
    return suites


EvalSuites = Annotated[list[EvalSuite], AfterValidator(_unique_suites)]


def _prompt_text(value: str) -> str:
    """A prompt written as one string: a path must stay inside the repository."""
    if _PATH_LIKE.search(value.strip()) or value.startswith(("/", "\\")):
        _relative_path(value)
    return value


PromptText = Annotated[Text, AfterValidator(_prompt_text)]


def prompt_path(prompt: Any) -> str | None:
    """The file a charter's `prompt` names (as written, relative to the governance directory),
    from a validated Prompt, a string or the raw YAML mapping; None for a version."""
    if isinstance(prompt, Prompt):
        return prompt.path
    if isinstance(prompt, dict):
        path = prompt.get("path")
        return path if isinstance(path, str) else None
    if isinstance(prompt, str) and _PATH_LIKE.search(prompt.strip()):
        return prompt.strip()
    return None


def model_name(model: Any) -> str | None:
    """The model a charter names, from a validated Model, a string or the raw mapping."""
    if isinstance(model, Model):
        return model.name + (f" {model.version}" if model.version else "")
    if isinstance(model, dict):
        name, version = model.get("name"), model.get("version")
        if isinstance(name, str):
            return name + (f" {version}" if isinstance(version, str) else "")
        return None
    return model if isinstance(model, str) else None


def _no_results(charter: Any, document: YamlDocument) -> list[Problem]:
    """A warning for each suite whose results glob matches no file (yet)."""
    root = document.path.parent.parent  # governance/agents/<id>.yaml
    found = []
    for index, suite in enumerate(charter.evals):
        try:
            matched = any(path.is_file() for path in root.glob(suite.results))
        except (ValueError, OSError):  # a pattern the file system refuses: say so below
            matched = False
        if not matched:
            message = (
                f"no results file matches {suite.results} (relative to the governance "
                f"directory): govkit diff cannot pass a change of behaviour without them"
            )
            found.append(document.problem(("evals", index, "results"), message, severity="warning"))
    return found


def evals_warnings(agents: Sequence[Any], documents: Sequence[YamlDocument]) -> list[Problem]:
    """A warning for each charter of tier 2 or above without an eval suite, and for each suite
    whose results are nowhere to be found."""
    missing = [
        problem
        for charter, document in zip(agents, documents, strict=True)
        for problem in _no_results(charter, document)
    ]
    return missing + [
        document.problem(
            ("evals",) if "evals" in document.data else (),
            f"tier {charter.tier} agent without an eval suite: a change to its model, prompt, "
            "tools or policies cannot be gated on eval results (govkit diff); expected evals: "
            "[{suite: NAME, results: evals/NAME/*.xml, min_pass_rate: 0.95}]",
            severity="warning",
        )
        for charter, document in zip(agents, documents, strict=True)
        if charter.tier >= EVALS_FROM_TIER and not charter.evals
    ]
