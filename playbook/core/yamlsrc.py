"""Safe YAML reading that remembers where every key and list item stands.

Only PyYAML's SafeLoader constructs values, so a `!!python/...` tag is an error, never executed.
Each document is returned with a line map from field paths (tuples of keys and list indexes) to the
1-based line where that field is written, so validation can point at `file:line`.

Hostile YAML is refused before anything is built from it: the composed node graph is measured
first (memoised, so an alias bomb costs no more than its own text), and a document that would
expand to more than `MAX_VALUES` values, nests deeper than `MAX_DEPTH` or refers to itself is a
located error. A scalar the YAML resolver cannot build (an unquoted `2026-02-30`) is located too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from playbook.core.errors import Problem, display_path

FieldPath = tuple[str | int, ...]

# libyaml's loader when PyYAML was built with it (several times faster), the pure one otherwise;
# both are safe loaders and both record the line of every node.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVED: dict[tuple[str, Any], str] = {}  # (a plain scalar's text, implicit) -> its tag
_RESOLVED_LIMIT = 200_000


class _Loader(_SafeLoader):  # type: ignore[valid-type, misc]
    """The safe loader, resolving each distinct scalar text once: the safe resolver's answer
    depends on the text alone (it has no path resolvers), and governance files repeat most of
    theirs (keys, metric ids, emails). Composing a charter takes about half the time."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            if len(_RESOLVED) >= _RESOLVED_LIMIT:
                _RESOLVED.clear()
            tag = _RESOLVED[key] = super().resolve(kind, value, implicit)
        return tag

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass  # path resolvers only: the safe loader has none

    def ascend_resolver(self) -> None:
        pass


assert not _SafeLoader.yaml_path_resolvers, "the resolver memo assumes no path resolvers"

# Far above any governance file (the example's largest has a few hundred values), far below what
# takes a noticeable time to build.
MAX_VALUES = 250_000
MAX_DEPTH = 100


@dataclass
class YamlDocument:
    """A parsed governance file: its data and where each field of it was written."""

    path: Path
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return display_path(self.path)

    def line_of(self, loc: FieldPath) -> int:
        """The line of `loc`, or of its closest written parent when `loc` itself is missing."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def problem(self, loc: FieldPath, message: str, *, severity: str = "error") -> Problem:
        return Problem(self.display, self.line_of(loc), dotted(loc), message, severity)


class _Refused(Exception):
    """A document govkit will not build: carries the field path and line of the offending node."""

    def __init__(self, loc: FieldPath, line: int, message: str) -> None:
        self.loc, self.line, self.message = loc, line, message
        super().__init__(message)


class YamlReadError(Exception):
    """The file could not be read as YAML; carries one located problem."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def dotted(loc: FieldPath) -> str:
    """`owners.agent_owner`, `guardrails[1].max`: a field path as users read it."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# The last document parsed from each file, with the text it was parsed from. A long-running
# reader (`govkit serve` re-validates every charter after each edit) then parses only the files
# whose text changed. Documents are never modified once parsed, so one can be handed out twice.
_PARSED: dict[Path, tuple[str, YamlDocument]] = {}
_PARSED_LIMIT = 50_000  # files; beyond it the memory starts over


def read_yaml(path: Path) -> YamlDocument:
    """Parse one YAML file safely; raise YamlReadError with file and line for any failure.
    A file whose text is the same as when it was last parsed is not parsed again."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        message = f"cannot read file: {exc.strerror}"
        raise YamlReadError(Problem(display_path(path), 1, "", message)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"expected UTF-8 text, found byte 0x{raw[exc.start]:02x}"
        raise YamlReadError(Problem(display_path(path), line, "", message)) from None
    key = path.absolute()
    remembered = _PARSED.get(key)
    if remembered is not None and remembered[0] == text:
        parsed = remembered[1]  # named as this caller named the file
        return YamlDocument(path=path, data=parsed.data, lines=parsed.lines)
    document = parse_yaml(text, path)
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[key] = (text, document)
    return document


def parse_yaml(text: str, path: Path) -> YamlDocument:
    """Parse YAML text (one document) into data plus a line map."""
    where = display_path(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlReadError(Problem(where, 1, "", "file is empty; expected a YAML mapping"))
        _measure(node)
        document = YamlDocument(path=path, data=None)
        document.data = _construct(loader, node, (), document.lines)
        return document
    except _Refused as exc:
        raise YamlReadError(Problem(where, exc.line, dotted(exc.loc), exc.message)) from None
    except RecursionError:  # the pure-Python composer, without libyaml's own nesting limit
        message = f"expected at most {MAX_DEPTH} levels of nesting but the document nests deeper"
        raise YamlReadError(Problem(where, 1, "", message)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in str(what):
            tag = what[what.find("'") :] if "'" in what else "(unknown)"
            tag = tag.replace("tag:yaml.org,2002:", "!!")
            message = f"unsupported YAML tag {tag}; expected plain YAML values (safe loading)"
        else:
            message = f"YAML syntax error: {what}"
        raise YamlReadError(Problem(where, line, "", message)) from None
    except yaml.YAMLError as exc:
        raise YamlReadError(Problem(where, 1, "", f"YAML syntax error: {exc}")) from None
    finally:
        loader.dispose()


_PLAIN_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_STR_TAG = "tag:yaml.org,2002:str"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse_depth(node: yaml.Node) -> _Refused:
    return _Refused(
        (), _line(node), f"expected at most {MAX_DEPTH} levels of nesting but found more"
    )


def _measure(root: yaml.Node) -> None:
    """Refuse a node graph that nests too deep, refers to itself, or expands (through aliases,
    which share one node) to more than MAX_VALUES values; linear in the size of the text.
    Iterative (a depth-first walk with its own stack), each collection measured once."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the collections on the path from the root being walked
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        if finished:
            total = 1 + sum(sizes.get(id(child), 1) for child in _children(node))
            open_nodes.discard(key)
            if total > MAX_VALUES:
                raise _Refused(
                    (),
                    _line(node),
                    f"expected at most {MAX_VALUES:,} values but the aliases here "
                    "expand to more (an alias bomb?); write the values out or use fewer aliases",
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            raise _refuse_depth(node)
        if key in open_nodes:
            raise _Refused(
                (),
                _line(node),
                "expected plain YAML values but found an alias that refers to "
                "the collection containing it",
            )
        children = _children(node)
        if not children:  # a scalar (or an empty collection): one value
            sizes[key] = 1
            continue
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in reversed(children))


def _refuse_control(node: yaml.ScalarNode, loc: FieldPath) -> None:
    """Text reaches terminals (whois, check) and pages: a control character, which YAML's
    double-quoted escapes ("\\e[2J", "\\r") can write, could clear or rewrite what is shown."""
    found = _CONTROL.search(node.value)
    if found:
        character = found.group()
        message = (
            f"expected text without control characters but received {node.value!r} "
            f"(U+{ord(character):04X} at position {found.start()}); only tab and newline are "
            "allowed"
        )
        raise _Refused(loc, _line(node), message)


def _construct(loader: Any, node: yaml.Node, loc: FieldPath, lines: dict[FieldPath, int]) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and (
        node.tag not in _PLAIN_COLLECTION_TAGS
    ):
        raise yaml.constructor.ConstructorError(
            None, None, f"unsupported YAML tag {node.tag!r}", node.start_mark
        )
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STR_TAG and isinstance(key_node, yaml.ScalarNode):
                _refuse_control(key_node, loc)
                key = key_node.value  # most keys: a plain string, as _construct would give
            else:
                key = _construct(loader, key_node, (*loc, "\0key"), {})
            if isinstance(key, (list, dict)):
                raise yaml.constructor.ConstructorError(
                    None, None, "expected a plain key, found a collection", key_node.start_mark
                )
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            child = (*loc, key if isinstance(key, (str, int)) else str(key))
            result[key] = _construct(loader, value_node, child, lines)
            lines[child] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, (*loc, index), lines) for index, item in enumerate(node.value)
        ]
    if node.tag == _STR_TAG:  # most values: what SafeConstructor would return, without its detour
        _refuse_control(node, loc)
        return node.value
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:  # e.g. an unquoted date that does not exist
        what = "a valid date (YYYY-MM-DD)" if node.tag.endswith(":timestamp") else "a valid value"
        message = f"expected {what} but received {node.value!r} ({exc})"
        raise _Refused(loc, _line(node), message) from None
