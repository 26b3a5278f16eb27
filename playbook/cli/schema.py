"""`govkit schema`: write the JSON Schema of every governance file, or check they are current."""

from __future__ import annotations

from pathlib import Path

import click

from playbook.cli.options import governance_option
from playbook.core.errors import UsageError, display_path
from playbook.handbook.schema import SCHEMAS_DIR, generate_schemas, load_catalogs


@click.command("schema")
@governance_option()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory the schema files are written to. Default: <governance>/schemas.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when a schema file is missing or differs from what would be "
    "written (for CI).",
)
def schema_command(governance_dir: Path, out_dir: Path | None, check: bool) -> None:
    """Write a JSON Schema (draft 2020-12) for each governance file, for editors and CI.

    charter.schema.json for agents/<id>.yaml and one per other file, made from the model
    `govkit check` validates with. Tier, operating model, role and metric references are limited
    to the ids in the governance directory's catalogs: the schemas are the organisation's, so
    run this again after editing a catalog. Point editors at them with a first line such as
    `# yaml-language-server: $schema=../schemas/charter.schema.json`.
    """
    if governance_dir.is_dir():
        catalogs = load_catalogs(governance_dir)
    elif out_dir is None:
        raise UsageError(
            f"governance directory {display_path(governance_dir)} not found; give --governance, "
            "or --out for schemas that do not check references"
        )
    else:
        catalogs = {}
    out_dir = out_dir if out_dir is not None else governance_dir / SCHEMAS_DIR
    texts = generate_schemas(catalogs)
    if check:
        _check(out_dir, texts, governance_dir)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for file_name, text in texts.items():
        path = out_dir / file_name
        path.write_text(text, encoding="utf-8", newline="\n")
        click.echo(f"wrote {display_path(path)}")
    click.echo(f"{len(texts)} schemas written to {display_path(out_dir)}.")


def _check(out_dir: Path, texts: dict[str, str], governance_dir: Path) -> None:
    stale = []
    for file_name, text in texts.items():
        path = out_dir / file_name
        if not path.is_file():
            stale.append(f"{display_path(path)}: missing")
        elif path.read_text(encoding="utf-8") != text:
            stale.append(f"{display_path(path)}: out of date")
    if not stale:
        click.echo(f"{len(texts)} schemas in {display_path(out_dir)} are up to date.")
        return
    for line in stale:
        click.echo(line, err=True)
    click.echo(
        f"Regenerate them with: govkit schema --governance {display_path(governance_dir)} "
        f"--out {display_path(out_dir)}",
        err=True,
    )
    raise click.exceptions.Exit(1)
