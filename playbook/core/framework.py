"""Framework catalogues (`governance/frameworks/*.yaml`) and the `maps_to` references to them.

A catalogue lists the items of one version of a framework (NIST AI RMF 1.0, ISO/IEC 42001:2023
Annex A, the EU AI Act): each item's id and short title as the source gives them, a description in
the organisation's own words, and where in the source it stands. Tier controls, policies and
metrics say which items they serve with `maps_to: [FRAMEWORK:ITEM, ...]`, e.g.
`nist-ai-rmf-1.0:MEASURE-2.4`, `iso42001-2023:A.6.2.6`, `eu-ai-act:Art-72`: the framework's `id`,
a colon, the item's `id` exactly as its catalogue writes it. References are checked against the
loaded catalogues like every other reference (`Reference`), with "Did you mean" when misspelt.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, WithJsonSchema

from playbook.core.errors import Problem, did_you_mean, display_path, one_of, unknown_choice
from playbook.core.problems import model_in, read_document, validate_document
from playbook.core.types import LaxDate, Reference, Schema, Text, repeated
from playbook.core.yamlsrc import YamlDocument

FRAMEWORKS_DIR = "frameworks"
FRAMEWORKS_CATALOG = "frameworks"  # the validation context's key: {"fw:item": True}
SEPARATOR = ":"
FRAMEWORK_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
ITEM_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
REF_PATTERN = re.compile(
    f"^{FRAMEWORK_ID_PATTERN.pattern[1:-1]}{SEPARATOR}{ITEM_ID_PATTERN.pattern[1:-1]}$"
)


def _matching(pattern: re.Pattern[str], expected: str) -> Any:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"expected {expected} but received {value!r}")
        return value

    return AfterValidator(check)


FrameworkId = Annotated[
    str,
    _matching(
        FRAMEWORK_ID_PATTERN,
        "a framework id of lowercase letters, digits, '.' and '-', with its version "
        "(e.g. nist-ai-rmf-1.0)",
    ),
    WithJsonSchema({"type": "string", "pattern": FRAMEWORK_ID_PATTERN.pattern}),
]
ItemId = Annotated[
    str,
    _matching(
        ITEM_ID_PATTERN,
        "an item id of letters, digits, '.' and '-' without spaces (e.g. MEASURE-2.4, A.6.2.6, "
        "Art-72)",
    ),
    WithJsonSchema({"type": "string", "pattern": ITEM_ID_PATTERN.pattern}),
]


class Source(Schema):
    """Where the framework is published."""

    publication: Text
    publisher: Text
    date: LaxDate | None = None
    url: Text


class FrameworkItem(Schema):
    id: ItemId
    title: Text  # the short title as the source gives it
    description: Text  # in the organisation's own words
    parent: ItemId | None = None  # a function or category of the same catalogue, listed before
    source: Text  # section, table or page of the publication


class Framework(Schema):
    id: FrameworkId
    name: Text
    version: Text
    source: Source
    items: list[FrameworkItem] = Field(min_length=1)

    def item(self, item_id: str) -> FrameworkItem:
        return next(item for item in self.items if item.id == item_id)

    def ref(self, item_id: str) -> str:
        return f"{self.id}{SEPARATOR}{item_id}"

    def children(self, item_id: str) -> list[FrameworkItem]:
        return [item for item in self.items if item.parent == item_id]

    def depth(self, item: FrameworkItem) -> int:
        parents = {candidate.id: candidate.parent for candidate in self.items}
        depth, parent = 0, item.parent
        while parent is not None and depth < len(self.items):
            depth, parent = depth + 1, parents.get(parent)
        return depth


class FrameworkReference(Reference):
    """`FRAMEWORK:ITEM`, checked against the loaded catalogues: an unknown framework and an
    unknown item of a known framework each get their own message and "Did you mean"."""

    def __init__(self) -> None:
        super().__init__("framework item", FRAMEWORKS_CATALOG)

    def check(self, value: Any, info: ValidationInfo) -> Any:
        known = (info.context or {}).get(self.catalog)
        if known is None:
            return value
        framework, _, item = str(value).partition(SEPARATOR)
        frameworks = sorted({ref.partition(SEPARATOR)[0] for ref in known})
        if not frameworks:
            raise ValueError(
                f"no framework catalogue under governance/{FRAMEWORKS_DIR}/ defines "
                f"{framework!r}; add {FRAMEWORKS_DIR}/<name>.yaml or remove this reference"
            )
        if not item:
            raise ValueError(
                f"expected FRAMEWORK{SEPARATOR}ITEM (e.g. {sorted(known)[0]}) but received "
                f"{value!r}.{did_you_mean(value, known)}"
            )
        if framework not in frameworks:
            raise ValueError(unknown_framework(framework, frameworks))
        if value not in known:
            prefix = framework + SEPARATOR
            items = [ref.partition(SEPARATOR)[2] for ref in known if ref.startswith(prefix)]
            spelled = _spelled(item)
            hint = f" Did you mean {spelled!r}?" if spelled in items else did_you_mean(item, items)
            raise ValueError(
                f"unknown item {item!r} of framework {framework!r}.{hint} Expected an item id as "
                f"its catalogue under governance/{FRAMEWORKS_DIR}/ writes it, such as "
                f"{items[-1]!r}."
            )
        return value


def _spelled(item: str) -> str:
    """`MEASURE 2.4` or `Art. 72`, as people write them, in the catalogue's spelling."""
    return re.sub(r"\.?\s+", "-", item.strip())


FrameworkRef = Annotated[
    str, WithJsonSchema({"type": "string", "pattern": REF_PATTERN.pattern}), FrameworkReference()
]


def _once_each(refs: list[str]) -> list[str]:
    """A framework item mapped twice would count its evidence twice in the crosswalk."""
    twice = repeated(refs)
    if twice:
        raise ValueError(f"expected each framework item once but {one_of(twice)} is listed twice")
    return refs


MapsTo = Annotated[list[FrameworkRef], AfterValidator(_once_each), Field(default_factory=list)]


def charter_field(path: str) -> str:
    """A dotted path of charter fields (`owners.reviewer`, `stop_conditions`, `budget`): what a
    control's `evidence` names, and the crosswalk looks for in each charter."""
    from playbook.core.charter import Charter  # the charter imports the catalogs' types

    current: type[BaseModel] | None = Charter
    walked: list[str] = []
    for part in path.split("."):
        fields = _fields(current) if current is not None else {}
        if part not in fields:
            where = f"{'.'.join(walked)} of a charter" if walked else "a charter"
            raise ValueError(
                f"expected a field of {where} but received {part!r}."
                f"{did_you_mean(part, fields)} Expected one of {one_of(fields)}."
            )
        walked.append(part)
        current = model_in(fields[part])
    return path


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {info.alias or name: info.annotation for name, info in model.model_fields.items()}


CharterField = Annotated[
    str,
    AfterValidator(charter_field),
    WithJsonSchema({"type": "string", "pattern": r"^[a-z_]+(\.[a-z_]+)*$"}),
]


# --- loading ------------------------------------------------------------------------------------


def framework_paths(root: Path) -> list[Path]:
    directory = root / FRAMEWORKS_DIR
    if not directory.is_dir():
        return []
    return sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))


def read_frameworks(
    root: Path, problems: list[Problem]
) -> tuple[list[Framework], list[YamlDocument]]:
    """Every valid catalogue under `root/frameworks/`, in file order; problems are added."""
    frameworks: list[Framework] = []
    documents: list[YamlDocument] = []
    seen: dict[str, str] = {}
    folder = root / FRAMEWORKS_DIR
    if folder.exists() and not folder.is_dir():
        message = (
            f"expected a directory of framework catalogues ({FRAMEWORKS_DIR}/<name>.yaml) but "
            "found a file"
        )
        problems.append(Problem(display_path(folder), 1, "", message))
    for path in framework_paths(root):
        document = read_document(path, problems)
        if document is None:
            continue
        framework = validate_document(document, Framework, problems)
        if framework is None:
            continue
        problems += framework_rules(document, framework)
        if framework.id in seen:
            problems.append(
                document.problem(
                    ("id",),
                    f"duplicate framework id {framework.id!r}; {seen[framework.id]} defines it too",
                )
            )
            continue
        seen[framework.id] = display_path(path)
        frameworks.append(framework)
        documents.append(document)
    return frameworks, documents


def framework_rules(document: YamlDocument, framework: Framework) -> list[Problem]:
    """Unique item ids; a parent names an item listed before it (so there is no cycle)."""
    problems: list[Problem] = []
    before: list[str] = []
    for index, item in enumerate(framework.items):
        if item.id in before:
            problems.append(
                document.problem(
                    ("items", index, "id"), f"duplicate id {item.id!r}; each must be unique"
                )
            )
        if item.parent is not None and item.parent not in before:
            later = item.parent in {other.id for other in framework.items}
            reason = (
                "listed after it; list a parent before its children"
                if later
                else f"not an item of this catalogue.{did_you_mean(item.parent, before)}"
            )
            problems.append(
                document.problem(("items", index, "parent"), f"parent {item.parent!r} is {reason}")
            )
        before.append(item.id)
    return problems


def framework_context(frameworks: list[Framework]) -> dict[str, dict[Any, bool]]:
    """What `maps_to` may reference: every `FRAMEWORK:ITEM` of the loaded catalogues ({} when
    there is none, so that any reference is an error saying so)."""
    return {
        FRAMEWORKS_CATALOG: {
            framework.ref(item.id): True for framework in frameworks for item in framework.items
        }
    }


def find_framework(frameworks: list[Framework], framework_id: str) -> Framework:
    """The catalogue with this id; ValueError with "Did you mean" otherwise."""
    for framework in frameworks:
        if framework.id == framework_id:
            return framework
    known = [framework.id for framework in frameworks]
    if not known:
        raise ValueError(f"no framework catalogue under governance/{FRAMEWORKS_DIR}/")
    raise ValueError(unknown_framework(framework_id, known))


def unknown_framework(value: str, known: list[str]) -> str:
    """`unknown framework 'nist'. Did you mean 'nist-ai-rmf-1.0'? Expected one of ...`: a
    framework id without its version still finds its catalogue."""
    message = unknown_choice("framework", value, known)
    if " Did you mean " in message:
        return message
    close = [name for name in sorted(known) if name.startswith(value)]
    if not close:
        return message
    hint = f" Did you mean {' or '.join(repr(name) for name in close)}?"
    return f"unknown framework {value!r}.{hint} Expected one of {one_of(sorted(known))}."
