"""Executable policies: `governance/policies/<id>.yaml`, its schema, loading and validation.

A policy turns a support workflow's intent into rules a program applies: refunds up to a limit are
approved automatically, listed conditions need a human, some sentiments and topics escalate. A case
is a mapping of facts (`amount_usd`, `customer_tenure_months`, ...); `decide` returns one of
`escalate`, `require_human` or `auto_approve` with the rules that fired, as written. Test cases
live beside the policy in `<id>.tests.yaml`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BeforeValidator, Field

from playbook.core.errors import Problem, UsageError, ValidationFailed, display_path, unknown_choice
from playbook.core.framework import MapsTo
from playbook.core.problems import describe, read_document, validate_document
from playbook.core.types import SLUG_PATTERN, NonNegative, Schema, Text
from playbook.core.yamlsrc import YamlDocument, dotted
from playbook.policy.decide import Decision, DecisionName, Plan, decide_plan, plan_for
from playbook.policy.decision_log import DecisionLog, as_log
from playbook.policy.revision import Revision, revision_of
from playbook.policy.syntax import Expr, facts_in, parse

POLICIES_DIR = "policies"
TESTS_SUFFIX = ".tests.yaml"
DECISIONS: tuple[str, ...] = get_args(DecisionName)
_REVISION_LOCK = threading.Lock()


def _condition(text: str) -> str:
    parse(text)  # ExpressionError is a ValueError: reported at the item's line
    return text


def _text_or_list(value: Any) -> Any:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list):
        raise ValueError(f"expected text or a list of text but received {describe(value)}")
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"expected text or a list of text but received {describe(text)}")
    return value


# --- the policy file ------------------------------------------------------------------------


class Refunds(Schema):
    auto_approve_max_usd: NonNegative
    require_human_if: list[Annotated[str, AfterValidator(_condition)]] = Field(default_factory=list)


class Pii(Schema):
    redact: bool


class Tone(Schema):
    style: Text


class Responses(Schema):
    pii: Pii
    tone: Tone | None = None


class Escalation(Schema):
    if_sentiment: Annotated[str | list[str], BeforeValidator(_text_or_list)] = Field(
        default_factory=list
    )
    if_topic_in: list[Text] = Field(default_factory=list)


class Logging(Schema):
    retention_days: Annotated[int, Field(ge=1)]
    sample_rate: Annotated[float, Field(ge=0, le=1)]
    # Facts that are personal data: a decision log writes them as "[redacted]".
    redact_fields: list[Text] = Field(default_factory=list)


class PolicyFile(Schema):
    description: str = ""
    maps_to: MapsTo  # framework items (`iso42001-2023:A.9.2`) the policy serves
    refunds: Refunds
    responses: Responses
    escalation: Escalation
    logging: Logging


@dataclass(frozen=True)
class Condition:
    """One `refunds.require_human_if` item: its text as written, parsed, and where it stands."""

    text: str
    expr: Expr
    where: str  # refunds.require_human_if[0]
    line: int

    @property
    def facts(self) -> list[str]:
        return facts_in(self.expr)


@dataclass
class Policy:
    """A validated policy, its rules compiled (`plan`). Its id is the file's stem. `revision`:
    the file's git revision (read by `load_policy`, or at the first `decide`); `decision_log`:
    where `decide` records its decisions, if anywhere."""

    id: str
    path: Path
    rules: PolicyFile
    conditions: list[Condition]
    document: YamlDocument = field(repr=False)
    revision: Revision | None = field(default=None, compare=False)
    decision_log: DecisionLog | None = field(default=None, repr=False, compare=False)
    plan: Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules = self.rules
        self.plan = plan_for(
            if_sentiment=rules.escalation.if_sentiment,
            if_topic_in=rules.escalation.if_topic_in,
            conditions=[(c.where, c.text, c.expr) for c in self.conditions],
            auto_approve_max_usd=rules.refunds.auto_approve_max_usd,
            redact=rules.responses.pii.redact,
            sample_rate=rules.logging.sample_rate,
            redact_fields=rules.logging.redact_fields,
        )

    def decide(self, facts: Mapping[str, Any], *, agent: str | None = None) -> Decision:
        """Escalate, require a human, or approve automatically, with the rules that fired and
        the policy's revision; written to the decision log when one is attached. Thread-safe:
        it reads the compiled plan and changes nothing but the log, which locks. Raises
        MissingFact naming a fact a rule needs, TypeError when `facts` is no mapping. `agent`:
        who asked, for the log (by default the facts' `agent`, when it is text)."""
        if not isinstance(facts, Mapping):
            raise TypeError(
                "expected the facts as a JSON object (a mapping of fact names to values) but "
                f"received {describe(facts)}"
            )
        decision = decide_plan(self.plan, facts, self.revision or self._read_revision())
        log = self.decision_log
        if log is not None:
            if agent is None and isinstance(facts.get("agent"), str):
                agent = facts["agent"]
            decision_id = log.write(
                policy=self.id,
                revision=decision.policy_revision,
                decision=decision.decision,
                reasons=decision.reasons,
                facts=facts,
                sample_rate=decision.log_sample_rate,
                agent=agent,
                redact=self.plan.redact_fields,
            )
            if decision_id is not None:
                decision = replace(decision, decision_id=decision_id)
        return decision

    def _read_revision(self) -> Revision:
        """Read from git once, the first time a policy not loaded by `load_policy` decides."""
        with _REVISION_LOCK:
            if self.revision is None:
                self.revision = revision_of(self.path)
            return self.revision

    @property
    def redact_fields(self) -> frozenset[str]:
        return self.plan.redact_fields

    @property
    def description(self) -> str:
        return self.rules.description

    @property
    def facts(self) -> list[str]:
        """Every fact a case may need: the escalation inputs, the refund inputs, the conditions."""
        escalation = self.rules.escalation
        names = ["sentiment"] if escalation.if_sentiment else []
        names += ["topic"] if escalation.if_topic_in else []
        names += ["action", "amount_usd"]
        names += [fact for condition in self.conditions for fact in condition.facts]
        return list(dict.fromkeys(names))


# --- loading --------------------------------------------------------------------------------


def tests_path(policy_path: Path) -> Path:
    """The conventional test cases of a policy: `<id>.tests.yaml` beside it."""
    return policy_path.with_name(policy_path.stem + TESTS_SUFFIX)


def load_policy(
    path: str | Path, *, decision_log: DecisionLog | str | Path | None = None
) -> Policy:
    """Load, validate and compile one policy file and read its revision from git, or raise
    ValidationFailed with every problem located. `decision_log`: a DecisionLog (or a path to open
    one at) that `Policy.decide` writes to."""
    problems: list[Problem] = []
    policy = _load(Path(path), problems)
    if policy is None or problems:
        raise ValidationFailed(problems)
    policy.revision = revision_of(policy.path)
    policy.decision_log = as_log(decision_log)
    return policy


def load_policies(governance_dir: Path, context: dict[str, Any] | None = None) -> dict[str, Policy]:
    """Every policy in `governance_dir/policies/` by id ({} without that directory).
    `context`: the catalogs its references are checked against (unchecked without)."""
    directory = governance_dir / POLICIES_DIR
    problems: list[Problem] = []
    policies: dict[str, Policy] = {}
    for path in _policy_paths(directory):
        policy = _load(path, problems, context)
        if policy is not None:
            policies[policy.id] = policy
    if problems:
        raise ValidationFailed(problems)
    return policies


def resolve_policy(ref: str, governance_dir: Path) -> Path:
    """POLICY on the command line: a path to a policy file, or an id under `policies/`."""
    candidate = Path(ref)
    if candidate.suffix in {".yaml", ".yml"} or "/" in ref:
        if not candidate.is_file():
            raise UsageError(f"policy file {display_path(candidate)} not found")
        return candidate
    directory = governance_dir / POLICIES_DIR
    known = {path.stem: path for path in _policy_paths(directory)}
    if ref in known:
        return known[ref]
    if not known:
        raise UsageError(
            f"no policy {ref!r}: {display_path(directory)} holds no policies; expected "
            f"{display_path(directory / ref)}.yaml or a path to a policy file"
        )
    raise UsageError(f"{unknown_choice('policy', ref, known)[:-1]} in {display_path(directory)}.")


def _policy_paths(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.glob("*.yaml") if not path.name.endswith(TESTS_SUFFIX))


def _load(
    path: Path, problems: list[Problem], context: dict[str, Any] | None = None
) -> Policy | None:
    document = read_document(path, problems, dict)
    if document is None:
        return None
    if not SLUG_PATTERN.match(path.stem):
        expected = "a file name of lowercase letters, digits, '-' or '_' (the policy id)"
        problems.append(document.problem((), f"expected {expected} but received {path.name!r}"))
    rules = validate_document(document, PolicyFile, problems, context=context)
    if rules is None:
        return None
    conditions = []
    for index, text in enumerate(rules.refunds.require_human_if):
        loc = ("refunds", "require_human_if", index)
        conditions.append(Condition(text, parse(text), dotted(loc), document.line_of(loc)))
    return Policy(path.stem, path, rules, conditions, document)
