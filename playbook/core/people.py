"""The people directory: `governance/people.yaml`, or `people.csv` exported from the HR directory.

Optional. When present, `govkit check` warns about charters whose owners (agent owner, model
steward, reviewer) are inactive or unknown in it (`playbook.core.liveness`). Each person has a
`name`, an `email` (optional), `active` (default true) and a `team` (optional). A CSV export needs a
`name` column; `email`, `active` and `team` are read when present (headers in any case), other
columns are ignored; `active` accepts true/false, yes/no, y/n, 1/0, active/inactive (an empty
cell is active). A bad row is a located error (`people.csv:LINE`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from playbook.core.errors import Problem, display_path
from playbook.core.problems import read_document, validate_document
from playbook.core.types import EMAIL_PATTERN, Email, Schema, Text

PEOPLE_FILE = "people.yaml"
PEOPLE_CSV = "people.csv"
TRUE_WORDS = ("true", "yes", "y", "1", "active")
FALSE_WORDS = ("false", "no", "n", "0", "inactive")
CSV_COLUMNS = ("name", "email", "active", "team")
MAX_CSV_BYTES = 50_000_000  # an HR export of a few hundred thousand people; more is not one


class PersonEntry(Schema):
    name: Text
    email: Email | None = None
    active: bool = True
    team: Text | None = None


class PeopleFile(Schema):
    people: list[PersonEntry] = Field(default_factory=list)


@dataclass
class People:
    """The directory as read: its entries and the file they came from (for messages)."""

    source: str  # the file name as messages show it: people.yaml or people.csv
    entries: list[PersonEntry]

    def by_email(self, email: str) -> list[PersonEntry]:
        key = email.casefold()
        return [entry for entry in self.entries if entry.email and entry.email.casefold() == key]

    def by_name(self, name: str) -> list[PersonEntry]:
        key = " ".join(name.split()).casefold()
        return [entry for entry in self.entries if " ".join(entry.name.split()).casefold() == key]


def read_people(root: Path, problems: list[Problem]) -> People | None:
    """The directory under `root` (people.yaml, else people.csv), None when neither exists or
    when it is invalid (the problems are added)."""
    yaml_path, csv_path = root / PEOPLE_FILE, root / PEOPLE_CSV
    present = [path for path in (yaml_path, csv_path) if path.exists() or path.is_symlink()]
    if len(present) == 2:
        message = f"expected one people directory, {PEOPLE_FILE} or {PEOPLE_CSV}, not both"
        problems.append(Problem(display_path(csv_path), 1, "", message))
        return None
    for path in present:
        if not path.is_file():
            found = "a directory" if path.is_dir() else "a link to nothing"
            message = f"expected the people directory as a file but found {found}"
            problems.append(Problem(display_path(path), 1, "", message))
            return None
    if yaml_path.is_file():
        document = read_document(yaml_path, problems)
        parsed = validate_document(document, PeopleFile, problems) if document else None
        return People(PEOPLE_FILE, parsed.people) if parsed is not None else None
    if csv_path.is_file():
        return _read_csv(csv_path, problems)
    return None


def _read_csv(path: Path, problems: list[Problem]) -> People | None:
    where = display_path(path)
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise ValueError(f"larger than {MAX_CSV_BYTES // 1_000_000} MB")
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte order mark
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        message = (
            f"expected UTF-8 text but received byte {exc.object[exc.start]:#04x}; export the "
            "directory as CSV UTF-8"
        )
        problems.append(Problem(where, line, "", message))
        return None
    except (OSError, ValueError) as exc:
        problems.append(Problem(where, 1, "", f"cannot read the people directory: {exc}"))
        return None
    # Strict: a stray quote is an error at its row, not the rest of the file read as one cell.
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        problems.append(Problem(where, 1, "", f"not a CSV file: {exc}"))
        return None
    columns = _columns(where, header, problems)
    if columns is None:
        return None
    entries: list[PersonEntry] = []
    before = len(problems)
    start = reader.line_num + 1  # where the row being read begins (a quoted cell may span lines)
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                entry = _csv_entry(where, reader.line_num, row, columns, problems)
                entries += [entry] if entry is not None else []
            start = reader.line_num + 1
    except csv.Error as exc:
        hint = "; a quote opened in this row is never closed" if "end of data" in str(exc) else ""
        problems.append(Problem(where, start, "", f"not a CSV row: {exc}{hint}"))
    return People(PEOPLE_CSV, entries) if len(problems) == before else None


def _columns(where: str, header: list[str], problems: list[Problem]) -> dict[str, int] | None:
    """The header's column indexes by lower-case name; None, with a problem at line 1, when a
    known column is there twice or there is no name column."""
    names = [name.strip().casefold() for name in header]
    twice = [name for name in CSV_COLUMNS if names.count(name) > 1]
    if twice:
        listed = " and ".join(map(repr, twice))
        verb = "is" if len(twice) == 1 else "are"
        message = f"expected each column once but {listed} {verb} there twice"
        problems.append(Problem(where, 1, "", message))
        return None
    if "name" not in names:
        received = ", ".join(repr(name) for name in header) or "nothing"
        message = (
            "expected a header row with a name column (and email, active, team) but received "
            + received
        )
        problems.append(Problem(where, 1, "", message))
        return None
    return {name: index for index, name in enumerate(names)}


def _csv_entry(
    where: str, line: int, row: list[str], columns: dict[str, int], problems: list[Problem]
) -> PersonEntry | None:
    """One data row as a person; None, with located problems, when a cell is wrong."""
    cells = {
        name: row[columns[name]].strip() if columns.get(name, len(row)) < len(row) else ""
        for name in CSV_COLUMNS
    }
    found: list[Problem] = []
    if not cells["name"]:
        found.append(Problem(where, line, "name", "expected a name but the cell is empty"))
    if cells["email"] and not EMAIL_PATTERN.match(cells["email"]):
        message = f"expected an email address like name@example.org but received {cells['email']!r}"
        found.append(Problem(where, line, "email", message))
    active = _truth(cells["active"])
    if active is None:
        accepted = "/".join(f"{yes}|{no}" for yes, no in zip(TRUE_WORDS, FALSE_WORDS, strict=True))
        message = f"expected true or false ({accepted}) but received {cells['active']!r}"
        found.append(Problem(where, line, "active", message))
    problems += found
    if found:
        return None
    return PersonEntry(
        name=cells["name"],
        email=cells["email"] or None,
        active=bool(active),
        team=cells["team"] or None,
    )


def _truth(text: str) -> bool | None:
    """An HR export's yes/no as a bool (empty: active); None when it is neither."""
    word = text.strip().casefold()
    if not word or word in TRUE_WORDS:
        return True
    return False if word in FALSE_WORDS else None
