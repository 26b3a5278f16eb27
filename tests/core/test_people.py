"""Owner liveness: `governance/people.yaml` (or `people.csv`, an HR export) lets `govkit check`
flag charters whose agent owner, model steward or reviewer is inactive or unknown; warnings,
located at the charter's field, that `--strict` turns into exit 1. A bad directory row is exit 2."""

from __future__ import annotations

import pytest

TODAY = "2026-11-24"
REFUNDS = "governance/agents/refunds.yaml"
OLIVER = (
    "  - {name: Oliver Brandt, email: oliver.brandt@northwind.example, team: Finance operations}"
)


def check(govkit, *args: str):
    return govkit("check", "--today", TODAY, *args)


def warnings_of(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": warning: " in line]


def test_the_example_directory_names_every_owner_active(workspace, govkit):
    result = check(govkit, "--strict")

    assert result.exit_code == 0, result.stderr
    assert warnings_of(result) == []


def test_an_inactive_owner_is_a_located_warning_and_strict_fails(workspace, govkit):
    workspace.edit("people.yaml", OLIVER, OLIVER.replace("}", ", active: false}"))

    result = check(govkit)
    strict = check(govkit, "--strict")

    assert result.exit_code == 0, result.stderr
    assert warnings_of(result) == [
        f"{REFUNDS}:12: owners.agent_owner: warning: Oliver Brandt "
        "<oliver.brandt@northwind.example> is inactive in people.yaml: name an active agent owner"
    ]
    assert strict.exit_code == 1
    assert "check --strict failed" in strict.stderr


def test_an_unknown_owner_gets_did_you_mean(workspace, govkit):
    workspace.edit(
        "agents/refunds.yaml",
        "    email: kwame.asante@northwind.example",
        "    email: kwame.asanti@northwind.example",
    )

    result = check(govkit)

    assert result.exit_code == 0, result.stderr
    assert warnings_of(result) == [
        f"{REFUNDS}:20: owners.reviewer.email: warning: kwame.asanti@northwind.example is not "
        "in people.yaml, which lists Kwame Asante as kwame.asante@northwind.example. Did you "
        "mean 'kwame.asante@northwind.example'?"
    ]


def test_someone_nobody_knows_is_unknown_with_the_closest_name(workspace, govkit):
    workspace.edit("agents/refunds.yaml", "    name: Kwame Asante", "    name: Kwame Asanti")
    workspace.edit(
        "agents/refunds.yaml",
        "    email: kwame.asante@northwind.example",
        "    email: k.a@contractor.example",
    )

    result = check(govkit)

    assert warnings_of(result) == [
        f"{REFUNDS}:20: owners.reviewer.email: warning: Kwame Asanti <k.a@contractor.example> "
        "is not in people.yaml: unknown reviewer. Did you mean 'Kwame Asante'?"
    ]


def test_matching_by_name_when_the_directory_has_no_email_ignores_case(workspace, govkit):
    workspace.edit("people.yaml", OLIVER, "  - {name: oliver  BRANDT, active: false}")

    result = check(govkit)

    assert warnings_of(result) == [
        f"{REFUNDS}:12: owners.agent_owner: warning: Oliver Brandt "
        "<oliver.brandt@northwind.example> is inactive in people.yaml: name an active agent owner"
    ]


def test_without_a_directory_nothing_is_checked(workspace, govkit):
    (workspace.governance / "people.yaml").unlink()
    workspace.edit("agents/refunds.yaml", "    name: Kwame Asante", "    name: Somebody Else")

    result = check(govkit, "--strict")

    assert result.exit_code == 0, result.stderr


def test_a_bad_directory_entry_is_a_located_error(workspace, govkit):
    workspace.edit("people.yaml", OLIVER, OLIVER.replace("}", ", active: maybe}"))

    result = check(govkit)

    assert result.exit_code == 2
    assert "governance/people.yaml:14: people[8].active: expected true or false" in result.stderr


CSV = """Name,Email,Active,Team,Start date
{rows}"""


def hr_export(workspace, rows: list[str]) -> None:
    (workspace.governance / "people.yaml").unlink()
    workspace.write("people.csv", CSV.format(rows="\n".join(rows) + "\n"))


def example_rows(*, oliver: str = "yes") -> list[str]:
    names = {
        "Aisha Bello": "aisha.bello", "Daniel Whitfield": "daniel.whitfield",
        "Fiona MacLeod": "fiona.macleod", "Grace Okafor": "grace.okafor",
        "Henrik Lund": "henrik.lund", "Kwame Asante": "kwame.asante",
        "Lena Fischer": "lena.fischer", "Mei Lin Chen": "meilin.chen",
        "Priya Raman": "priya.raman", "Rosa Delgado": "rosa.delgado",
        "Sanjay Kapoor": "sanjay.kapoor", "Tomasz Nowak": "tomasz.nowak",
    }  # fmt: skip
    rows = [f"{name},{local}@northwind.example,Y,Ops,2020-01-01" for name, local in names.items()]
    return [*rows, f"Oliver Brandt,oliver.brandt@northwind.example,{oliver},Finance,2020-01-01"]


def test_an_hr_export_as_csv_reads_yes_and_no(workspace, govkit):
    hr_export(workspace, example_rows(oliver="No"))

    result = check(govkit)

    assert result.exit_code == 0, result.stderr
    assert warnings_of(result) == [
        f"{REFUNDS}:12: owners.agent_owner: warning: Oliver Brandt "
        "<oliver.brandt@northwind.example> is inactive in people.csv: name an active agent owner"
    ]


def test_an_hr_export_with_every_owner_active_is_clean(workspace, govkit):
    hr_export(workspace, example_rows(oliver=""))  # an empty cell: active

    assert check(govkit, "--strict").exit_code == 0


def test_a_bad_csv_row_is_exit_2_with_its_line(workspace, govkit):
    rows = example_rows()
    rows.insert(2, "Jo Bloggs,jo.bloggs,maybe,Ops,2021-03-04")
    rows.insert(4, ",nobody@northwind.example,yes,Ops,2021-03-04")
    hr_export(workspace, rows)

    result = check(govkit)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "governance/people.csv:4: active: expected true or false (true|false/yes|no/y|n/1|0/"
        "active|inactive) but received 'maybe'",
        "governance/people.csv:4: email: expected an email address like name@example.org but "
        "received 'jo.bloggs'",
        "governance/people.csv:6: name: expected a name but the cell is empty",
        "3 problems found; nothing was written.",
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Email,Active\n", "expected a header row with a name column"),
        ("", "expected a header row with a name column (and email, active, team) but received "
             "nothing"),
    ],
)  # fmt: skip
def test_a_csv_without_a_name_column_is_located_at_line_1(workspace, govkit, header, expected):
    (workspace.governance / "people.yaml").unlink()
    workspace.write("people.csv", header)

    result = check(govkit)

    assert result.exit_code == 2
    assert result.stderr.startswith(f"governance/people.csv:1: {expected}")


def test_both_a_yaml_and_a_csv_directory_is_an_error(workspace, govkit):
    workspace.write("people.csv", "name\nSomeone\n")

    result = check(govkit)

    assert result.exit_code == 2
    assert (
        "governance/people.csv:1: expected one people directory, people.yaml or people.csv, "
        "not both" in result.stderr
    )


def test_a_people_directory_that_is_a_folder_is_located(workspace, govkit):
    (workspace.governance / "people.yaml").unlink()
    (workspace.governance / "people.csv").mkdir()

    result = check(govkit)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "governance/people.csv:1: expected the people directory as a file but found a directory"
    )


def test_a_people_directory_that_links_to_nothing_is_located(workspace, govkit):
    (workspace.governance / "people.yaml").unlink()
    (workspace.governance / "people.yaml").symlink_to(workspace.governance / "missing.yaml")

    result = check(govkit)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "governance/people.yaml:1: expected the people directory as a file but found a link to "
        "nothing"
    )


def test_a_csv_export_not_in_utf8_names_the_line_and_byte(workspace, govkit):
    (workspace.governance / "people.yaml").unlink()
    (workspace.governance / "people.csv").write_bytes(b"name,email\nJos\xe9 Ruiz,jose@x.example\n")

    result = check(govkit)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "governance/people.csv:2: expected UTF-8 text but received byte 0xe9; export the "
        "directory as CSV UTF-8"
    )


def test_a_quote_never_closed_is_located_at_its_row(workspace, govkit):
    (workspace.governance / "people.yaml").unlink()
    workspace.write(
        "people.csv",
        "name,email\nAisha Bello,aisha.bello@northwind.example\n"
        '"Grace Okafor,grace.okafor@northwind.example\nHenrik Lund,henrik.lund@northwind.example\n',
    )

    result = check(govkit)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "governance/people.csv:3: not a CSV row: unexpected end of data; a quote opened in this "
        "row is never closed"
    )


def test_a_column_named_twice_is_an_error(workspace, govkit):
    (workspace.governance / "people.yaml").unlink()
    workspace.write("people.csv", "Name,email,NAME\nAisha Bello,aisha.bello@northwind.example,A\n")

    result = check(govkit)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "governance/people.csv:1: expected each column once but 'name' is there twice"
    )
