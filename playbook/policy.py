"""Executable policies: `governance/policies/<id>.yaml`, validated, applied to cases and tested.

A policy turns a support workflow's intent into rules a program applies: refunds up to a limit are
approved automatically, listed conditions need a human, some sentiments and topics escalate. A case
is a mapping of facts (`amount_usd`, `customer_tenure_months`, ...); `decide` returns one of
`escalate`, `require_human` or `auto_approve` with the rules that fired, as written. Test cases
live beside the policy in `<id>.tests.yaml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from playbook.errors import (
    Problem,
    UsageError,
    ValidationFailed,
    did_you_mean,
    display_path,
    unknown_choice,
)
from playbook.load import describe, translate_error, validate_document
from playbook.model import SLUG_PATTERN, NonNegative, Schema, Text
from playbook.policy_expr import (
    BoolOp,
    Compare,
    ConditionError,
    Expr,
    ListLiteral,
    Member,
    MissingFact,
    Name,
    facts_in,
    parse,
)
from playbook.policy_expr import Literal as Value
from playbook.policy_expr import evaluate as evaluate_condition
from playbook.yamlsrc import YamlDocument, YamlReadError, dotted, read_yaml

POLICIES_DIR = "policies"
TESTS_SUFFIX = ".tests.yaml"
DecisionName = Literal["auto_approve", "require_human", "escalate"]
DECISIONS: tuple[str, ...] = get_args(DecisionName)
MAX_FACTS_SHOWN = 20  # an error names a case's facts; a case of thousands lists these many


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


class PolicyFile(Schema):
    description: str = ""
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
    """A validated policy. Its id is the file's stem."""

    id: str
    path: Path
    rules: PolicyFile
    conditions: list[Condition]
    document: YamlDocument = field(repr=False)

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


def load_policy(path: Path) -> Policy:
    """Load and validate one policy file, or raise ValidationFailed with every problem located."""
    problems: list[Problem] = []
    policy = _load(path, problems)
    if policy is None or problems:
        raise ValidationFailed(problems)
    return policy


def load_policies(governance_dir: Path) -> dict[str, Policy]:
    """Every policy in `governance_dir/policies/` by id ({} without that directory)."""
    directory = governance_dir / POLICIES_DIR
    problems: list[Problem] = []
    policies: dict[str, Policy] = {}
    for path in _policy_paths(directory):
        policy = _load(path, problems)
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


def _read(path: Path, problems: list[Problem], expected: type) -> YamlDocument | None:
    try:
        document = read_yaml(path)
    except YamlReadError as exc:
        problems.append(exc.problem)
        return None
    if not isinstance(document.data, expected):
        noun = "a mapping" if expected is dict else "a list"
        received = describe(document.data)
        problems.append(
            document.problem((), f"expected {noun} at the top level but received {received}")
        )
        return None
    return document


def _load(path: Path, problems: list[Problem]) -> Policy | None:
    document = _read(path, problems, dict)
    if document is None:
        return None
    if not SLUG_PATTERN.match(path.stem):
        expected = "a file name of lowercase letters, digits, '-' or '_' (the policy id)"
        problems.append(document.problem((), f"expected {expected} but received {path.name!r}"))
    rules = validate_document(document, PolicyFile, problems)
    if rules is None:
        return None
    conditions = []
    for index, text in enumerate(rules.refunds.require_human_if):
        loc = ("refunds", "require_human_if", index)
        conditions.append(Condition(text, parse(text), dotted(loc), document.line_of(loc)))
    return Policy(path.stem, path, rules, conditions, document)


# --- deciding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    decision: DecisionName
    reasons: list[str]
    redact_pii: bool
    log_sample_rate: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def decide(policy: Policy, case: Mapping[str, Any]) -> Decision:
    """Escalate, require a human, or approve automatically, with every rule that fired.

    Escalation rules are checked first; only when none fires are the review rules checked. Raises
    MissingFact (a ConditionError, exit 2) when a rule needs a fact the case does not have.
    """
    rules, escalation = policy.rules, policy.rules.escalation
    checks: list[tuple[str, str, Expr]] = []
    if sentiment := escalation.if_sentiment:
        listed = sentiment if isinstance(sentiment, list) else [sentiment]
        rule = f"sentiment {'==' if isinstance(sentiment, str) else 'in'} escalation.if_sentiment"
        checks.append(("escalation.if_sentiment", rule, _member("sentiment", listed)))
    if escalation.if_topic_in:
        rule = "topic in escalation.if_topic_in"
        checks.append(("escalation.if_topic_in", rule, _member("topic", escalation.if_topic_in)))
    reasons = [rule for where, rule, expr in checks if _holds(expr, case, where, rule)]
    redact, sample_rate = rules.responses.pii.redact, rules.logging.sample_rate
    if reasons:
        return Decision("escalate", reasons, redact, sample_rate)
    reasons = [c.text for c in policy.conditions if _holds(c.expr, case, c.where, c.text)]
    limit = _whole(rules.refunds.auto_approve_max_usd)
    refund = Compare("==", Name("action"), Value("refund"))
    over = BoolOp("and", (refund, Compare(">", Name("amount_usd"), Value(limit))))
    rule = "action == 'refund' and amount_usd > auto_approve_max_usd"
    if _holds(over, case, "refunds.auto_approve_max_usd", rule):
        amount = _whole(case["amount_usd"])
        reasons.append(f"amount_usd {amount} > auto_approve_max_usd {limit}")
    decision: DecisionName = "require_human" if reasons else "auto_approve"
    return Decision(decision, reasons, redact, sample_rate)


def _member(fact: str, values: list[str]) -> Expr:
    return Member(Name(fact), ListLiteral(tuple(Value(value) for value in values)))


def _holds(expr: Expr, case: Mapping[str, Any], where: str, text: str) -> bool:
    try:
        return evaluate_condition(expr, case)
    except MissingFact as exc:
        shown = exc.known[:MAX_FACTS_SHOWN]
        more = len(exc.known) - len(shown)
        has = ", ".join(shown) + (f" and {more:,} more" if more > 0 else "") or "no facts"
        hint = did_you_mean(exc.fact, exc.known)
        message = (
            f"missing fact {exc.fact!r}, needed by {where} ({text}).{hint} The case has: {has}."
        )
        raise MissingFact(exc.fact, exc.known, message) from None
    except ConditionError as exc:
        raise ConditionError(f"{where} ({text}): {exc}") from None


def _whole(value: Any) -> Any:
    """200.0 as 200, as a policy author wrote it; other values unchanged."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# --- test cases -----------------------------------------------------------------------------


class CaseSpec(Schema):
    name: Text
    case: dict[str, Any]
    expect: DecisionName


@dataclass(frozen=True)
class Case:
    name: str
    facts: dict[str, Any]
    expect: str
    file: str
    line: int  # of its `case:` mapping
    index: int


@dataclass(frozen=True)
class CaseResult:
    name: str
    expected: str
    actual: str
    passed: bool
    reasons: list[str]


def load_cases(path: Path) -> list[Case]:
    """Read `<id>.tests.yaml`: a list of {name, case, expect}; ValidationFailed when invalid."""
    problems: list[Problem] = []
    document = _read(path, problems, list)
    if document is None:
        raise ValidationFailed(problems)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(document.data):
        try:
            spec = CaseSpec.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                error = {**error, "loc": (index, *error["loc"])}
                problems.append(translate_error(document, CaseSpec, error))
            continue
        line = document.line_of((index, "name"))
        if spec.name in seen:
            problems.append(
                document.problem(
                    (index, "name"),
                    f"expected a unique name but "
                    f"{spec.name!r} is also used at line {seen[spec.name]}",
                )
            )
        seen.setdefault(spec.name, line)
        where = document.line_of((index, "case"))
        cases.append(Case(spec.name, spec.case, spec.expect, document.display, where, index))
    if not cases and not problems:
        problems.append(document.problem((), "expected at least one case but the list is empty"))
    if problems:
        raise ValidationFailed(problems)
    return cases


def run_tests(policy: Policy, cases: list[Case]) -> list[CaseResult]:
    """Decide every case; a case the policy cannot decide (missing fact) is a located problem."""
    results: list[CaseResult] = []
    problems: list[Problem] = []
    for case in cases:
        try:
            decision = decide(policy, case.facts)
        except ConditionError as exc:
            problems.append(Problem(case.file, case.line, f"[{case.index}].case", str(exc)))
            continue
        passed = decision.decision == case.expect
        results.append(
            CaseResult(case.name, case.expect, decision.decision, passed, decision.reasons)
        )
    if problems:
        raise ValidationFailed(problems)
    return results
