"""The condition language of policies: a tokenizer, a recursive-descent parser and the syntax tree.

A condition compares facts of a case: `customer_tenure_months < 3`, `topic in ['legal', 'spam']`,
`action == 'refund' and not (fraud_risk_score < 0.7 or is_vip)`. Grammar:

    condition  := or
    or         := and ('or' and)*
    and        := not ('and' not)*
    not        := 'not' not | '(' condition ')' | comparison
    comparison := value [('<' | '<=' | '>' | '>=' | '==' | '!=') value
                         | ['not'] 'in' (list | NAME)]
    value      := NAME | NUMBER | STRING | 'true' | 'false'
    list       := '[' [literal (',' literal)* [',']] ']'

Nothing else parses: no calls, attributes, indexing or arithmetic. Names are only looked up in the
case's facts (a dict) by `playbook.policy.evaluate`; nothing is ever evaluated as Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from playbook.core.errors import UsageError

COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
_OPERATOR_LIST = "<, <=, >, >=, ==, !="
_HINTS = {"=": "==", "=<": "<=", "=>": ">=", "<>": "!=", "&&": "and", "||": "or", "!": "not"}
_KEYWORDS = {"and", "or", "not", "in"}
_BOOLEANS = {"true": True, "false": False, "True": True, "False": False}
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_TOKEN = re.compile(
    r"""(?P<space>\s+)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<number>-?[0-9](?:[eE][+-]?[0-9]|[\w.])*)
    | (?P<dotted>[A-Za-z_]\w*(?:\s*\.\s*\w+)+)
    | (?P<name>[A-Za-z_]\w*)
    | (?P<op>[<>!=]=|[<>](?![<>=!~*+/%&|^@])|[<>=!~*+/%&|^@-]+)
    | (?P<punct>[()\[\],])
    | (?P<other>.)""",
    re.VERBOSE,
)
_EXAMPLE = "a comparison such as 'customer_tenure_months < 3'"
_AN_OPERATOR = f"a comparison operator ({_OPERATOR_LIST}, in)"
_A_LITERAL = "a number, a quoted string, true or false in the list"
_MAX_DEPTH = 32
_CALL = ("a function call", ": function calls are not allowed")
_INDEX = ("indexing", ": indexing is not allowed")


class ExpressionError(ValueError):
    """A condition that does not parse; the message says what was expected and where."""


class ConditionError(UsageError):
    """A condition could not be evaluated on a case (wrong type of fact)."""


class MissingFact(ConditionError):
    """A condition names a fact the case does not have."""

    def __init__(self, fact: str, known: list[str], message: str | None = None) -> None:
        self.fact = fact
        self.known = sorted(known)
        super().__init__(message or f"missing fact {fact!r}")


# --- syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool


@dataclass(frozen=True)
class ListLiteral:
    items: tuple[Literal, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Name | Literal
    right: Name | Literal


@dataclass(frozen=True)
class Member:
    left: Name | Literal
    container: Name | ListLiteral
    negated: bool = False


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Expr, ...]


Expr = Name | Compare | Member | Not | BoolOp


def facts_in(expr: Expr | ListLiteral | Literal) -> list[str]:
    """The fact names a condition reads, in order of first appearance."""
    if isinstance(expr, Name):
        return [expr.name]
    children = [getattr(expr, key, None) for key in ("left", "right", "container", "operand")]
    children += list(getattr(expr, "operands", ()))
    found = [name for child in children if child is not None for name in facts_in(child)]
    return list(dict.fromkeys(found))


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # name, keyword, number, string, op, ( ) [ ] , end
    text: str
    column: int  # 1-based
    value: Any = None


def _fail(expected: str, received: str, column: int, why: str = "") -> ExpressionError:
    return ExpressionError(f"expected {expected} but received {received} at column {column}{why}")


def tokenize(text: str) -> list[Token]:
    """Split a condition into tokens; refuse at once what no condition may contain."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind, word, column = match.lastgroup or "", match.group(), match.start() + 1
        if kind == "space":
            continue
        _refuse_foreign(kind, word, column)
        tokens.append(_token(kind, word, column, tokens))
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _refuse_foreign(kind: str, word: str, column: int) -> None:
    """Raise for what is no part of the language: attribute access, an unclosed string, any
    other character."""
    if kind == "dotted":
        raise _fail("a fact name", repr(word), column, ": attribute access is not allowed")
    if kind == "other":
        if word in "'\"":
            raise ExpressionError(
                f"expected a closing {word} for the string at column {column} "
                "but the condition ended"
            )
        why = ": attribute access is not allowed" if word == "." else ""
        raise _fail(_EXAMPLE, f"unexpected character {word!r}", column, why)


def _token(kind: str, word: str, column: int, before: list[Token]) -> Token:
    """The token for one match: literals get their value, keywords and booleans their kind,
    punctuation is its own kind; an unknown operator is refused."""
    value: Any = None
    if kind == "number":
        value = _number_value(word, column, before)
    elif kind == "string":
        value = word[1:-1]
    elif kind == "name" and word in _BOOLEANS:
        kind, value = "bool", _BOOLEANS[word]
    elif kind == "name" and word in _KEYWORDS:
        kind = "keyword"
    elif kind == "op" and word not in COMPARISONS:
        raise _operator_error(word, column)
    return Token(kind if kind != "punct" else word, word, column, value)


def _number_value(word: str, column: int, before: list[Token]) -> int | float:
    """A number's value; `x -1` is refused as subtraction, not read as a number."""
    if not _NUMBER.fullmatch(word):
        raise _fail("a number", repr(word), column)
    value = float(word) if set(".eE") & set(word) else int(word)
    after_value = before and before[-1].kind in {"name", "number", "string", "bool", ")"}
    if word.startswith("-") and after_value:
        raise _operator_error("-", column)
    return value


def _operator_error(op: str, column: int) -> ExpressionError:
    if op not in _HINTS and set(op) & set("+-*/%"):
        return _fail(_AN_OPERATOR, repr(op), column, ": arithmetic is not allowed")
    hint = f". Did you mean {_HINTS[op]!r}?" if op in _HINTS else ""
    return _fail(f"one of {_OPERATOR_LIST}", f"unknown operator {op!r}", column, hint)


# --- parser ---------------------------------------------------------------------------------


def parse(text: str) -> Expr:
    """Parse one condition, or raise ExpressionError saying what was expected and where."""
    if not text.strip():
        raise ExpressionError(f"expected {_EXAMPLE} but received an empty condition")
    return _Parser(tokenize(text)).parse()


def _shown(token: Token) -> str:
    return "the end of the condition" if token.kind == "end" else repr(token.text)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.token
        self.at += 1
        return token

    def is_keyword(self, word: str) -> bool:
        return self.token.kind == "keyword" and self.token.text == word

    def parse(self) -> Expr:
        expr = self.parse_or()
        if self.token.kind != "end":
            why = ""
            if self.token.kind == "op":
                why = ": chained comparisons are not allowed; join them with 'and'"
            raise _fail(
                "'and', 'or' or the end of the condition",
                _shown(self.token),
                self.token.column,
                why,
            )
        return expr

    def parse_or(self) -> Expr:
        return self._chain("or", self.parse_and)

    def parse_and(self) -> Expr:
        return self._chain("and", self.parse_not)

    def _chain(self, word: str, operand: Any) -> Expr:
        operands = [operand()]
        while self.is_keyword(word):
            self.take()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else BoolOp(word, tuple(operands))

    def parse_not(self) -> Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _fail(
                f"at most {_MAX_DEPTH} nested 'not' or '('", _shown(self.token), self.token.column
            )
        expr = self._parse_not()
        self.depth -= 1
        return expr

    def _parse_not(self) -> Expr:
        if self.is_keyword("not"):
            self.take()
            return Not(self.parse_not())
        if self.token.kind == "(":
            self.take()
            expr = self.parse_or()
            if self.token.kind != ")":
                raise _fail("')'", _shown(self.token), self.token.column)
            self.take()
            return expr
        return self.parse_comparison()

    def parse_value(self) -> Name | Literal:
        token = self.take()
        if token.kind == "name":
            after = self.token
            if after.kind in {"(", "["}:
                what, rule = _CALL if after.kind == "(" else _INDEX
                raise _fail(_EXAMPLE, f"{what} {token.text + after.text!r}", token.column, rule)
            return Name(token.text)
        if token.kind in {"number", "string", "bool"}:
            return Literal(token.value)
        raise _fail(
            f"{_EXAMPLE}, a fact name, a number or a quoted string", _shown(token), token.column
        )

    def parse_comparison(self) -> Expr:
        left = self.parse_value()
        token = self.token
        if token.kind == "op":
            self.take()
            return Compare(token.text, left, self.parse_value())
        negated = self.is_keyword("not") and self.tokens[self.at + 1].text == "in"
        if negated or self.is_keyword("in"):
            self.at += 2 if negated else 1
            return Member(left, self.parse_container(), negated)
        if isinstance(left, Name):
            return left
        raise _fail(f"{_AN_OPERATOR} after {left.value!r}", _shown(token), token.column)

    def parse_container(self) -> Name | ListLiteral:
        token = self.take()
        if token.kind == "name":
            return Name(token.text)
        if token.kind != "[":
            raise _fail(
                "a list like ['a', 'b'] or a fact name after 'in'", _shown(token), token.column
            )
        items: list[Literal] = []
        while self.token.kind != "]":
            item = self.take()
            if item.kind not in {"number", "string", "bool"}:
                raise _fail(_A_LITERAL, _shown(item), item.column)
            items.append(Literal(item.value))
            if self.token.kind == ",":
                self.take()
            elif self.token.kind != "]":
                raise _fail("',' or ']'", _shown(self.token), self.token.column)
        self.take()
        return ListLiteral(tuple(items))
