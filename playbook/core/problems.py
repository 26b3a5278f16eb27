"""Validation problems as people read them: a pydantic error becomes `file:line: field: expected
... but received ...`, with "Did you mean" for a misspelt key. Used by every loader of YAML."""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from playbook.core.errors import Problem, did_you_mean, display_path, one_of
from playbook.core.yamlsrc import YamlDocument, YamlReadError, read_yaml

SchemaT = TypeVar("SchemaT", bound=BaseModel)

_TYPE_NOUNS = {
    "string_type": "text",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
    "finite_number": "a finite number (not .nan or .inf)",
}

_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")

_BOUNDS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}


def validate_document(
    document: YamlDocument,
    schema: type[SchemaT],
    problems: list[Problem],
    *,
    context: dict[str, Any] | None = None,
    placeholders: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
) -> SchemaT | None:
    """Validate one document against its schema; translate every error into a located problem.

    `context` holds the catalogs loaded so far, against which references are checked. An error
    about a value that is a TODO placeholder is not a problem: the warning already says it.
    """
    try:
        return schema.model_validate(document.data, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        waiting = set(placeholders)
        for error in errors:
            loc = tuple(part for part in error["loc"] if not _is_internal(part))
            if loc in waiting or _explained_by_typo(error, errors, schema):
                continue
            problems.append(translate_error(document, schema, error))
        return None


def _explained_by_typo(error: Any, errors: list[Any], schema: type[BaseModel]) -> bool:
    """A missing field next to a misspelt key for it is one mistake: report only the typo."""
    if error["type"] != "missing":
        return False
    parent, name = tuple(error["loc"][:-1]), error["loc"][-1]
    for other in errors:
        other_loc = tuple(other["loc"])
        if other["type"] == "extra_forbidden" and other_loc[:-1] == parent:
            allowed = _fields_at(schema, parent)
            if difflib.get_close_matches(str(other_loc[-1]), allowed, n=1, cutoff=0.6) == [name]:
                return True
    return False


def translate_error(document: YamlDocument, schema: type[BaseModel], error: Any) -> Problem:
    """One pydantic error as `file:line: field: expected ... but received ...`."""
    loc = tuple(part for part in error["loc"] if not _is_internal(part))
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        message = "field required"
    elif kind == "extra_forbidden":
        allowed = _fields_at(schema, loc[:-1])
        hint = did_you_mean(loc[-1] if loc else "", allowed)
        message = f"unknown field.{hint} Expected one of {one_of(allowed)}."
    elif kind == "literal_error":
        expected = error["ctx"]["expected"]
        message = f"expected one of {expected} but received {value!r}."
        message += did_you_mean(value, _literal_choices(expected))
    elif kind in _TYPE_NOUNS:
        message = f"expected {_TYPE_NOUNS[kind]} but received {describe(value)}"
        if kind.startswith("date") and isinstance(value, str) and _DATE_SHAPE.fullmatch(value):
            message = f"expected {_TYPE_NOUNS[kind]} but received {value!r}, not a calendar day"
    elif kind in _BOUNDS:
        limit = next(iter(error["ctx"].values()))
        message = f"expected a number {_BOUNDS[kind]} {limit} but received {describe(value)}"
    elif kind == "value_error":
        message = str(error["ctx"]["error"])
    else:
        message = f"{_lower_first(error['msg'])} (received {describe(value)})"
    return document.problem(loc, message)


def describe(value: object) -> str:
    """A YAML-minded description of a received value."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, datetime):  # YAML's unquoted 2026-11-18T10:00:00
        return f"{value.isoformat()} (a time)"
    if isinstance(value, date):
        return f"{value.isoformat()} (a date)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value!r} (text)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


_UNION_MEMBERS = {"str", "int", "float", "bool", "Model"}  # `model: NAME | {provider, name}`


def _is_internal(part: object) -> bool:
    # pydantic adds validator names (e.g. "function-after[...]") and the member of a union it
    # tried (`Model`) to locations of some errors.
    return isinstance(part, str) and ("[" in part or part in _UNION_MEMBERS)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _literal_choices(expected: str) -> list[str]:
    return [part.strip(" '") for part in expected.replace(" or ", ", ").split(",")]


def _fields_at(schema: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed in the mapping at `loc` of `schema`."""
    current: type[BaseModel] | None = schema
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = {info.alias or name: info for name, info in current.model_fields.items()}
        current = model_in(fields[part].annotation) if part in fields else None
    if current is None:
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (`Owner | None`, `list[Guardrail]`), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = model_in(argument)
        if found is not None:
            return found
    return None


def read_document(
    path: Path, problems: list[Problem], expected: type = dict
) -> YamlDocument | None:
    """A governance file as YAML whose top level is `expected` (a mapping, or a list); None
    with the located problem added when it is missing, not YAML or of another shape."""
    if not path.is_file():
        what = "is a directory; expected a YAML file" if path.is_dir() else "file is missing"
        problems.append(Problem(display_path(path), 1, "", what))
        return None
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
