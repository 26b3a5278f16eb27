"""`govkit crosswalk FRAMEWORK --format json|csv`: the crosswalk as auditors take it away.

JSON (one object, keys stable; documented in the README): `schema`, `framework` (id, name,
version, source), `monitor_run`, `summary`, `items` (each with its mappings and, per agent, the
evidence) and `gaps` (unmapped items; agents lacking evidence). CSV: one row per piece of
evidence, an item with nothing mapped or no agent still one row, with `CSV_COLUMNS`.

Auditors open the CSV in a spreadsheet, which runs a cell starting with `=`, `+`, `-` or `@` (or a
tab or carriage return) as a formula. Titles, names and test case names come from the governance
YAML, so such a cell is written with a leading `'` (OWASP's advice; spreadsheets hide it): the text
reads the same and never runs. The JSON export keeps every value as written.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from playbook.handbook.crosswalk import MAPPED, VIA_CHILDREN, Crosswalk, ItemRow

SCHEMA = "govkit.crosswalk/1"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "framework",
    "item",
    "title",
    "parent",
    "coverage",
    "mapping_kind",
    "mapping_id",
    "agent",
    "evidence_kind",
    "status",
    "detail",
)


def crosswalk_json(walk: Crosswalk) -> dict[str, Any]:
    framework = walk.framework
    return {
        "schema": SCHEMA,
        "framework": {
            "id": framework.id,
            "name": framework.name,
            "version": framework.version,
            "source": framework.source.model_dump(mode="json", exclude_none=True),
        },
        "monitor_run": walk.monitor_run,
        "summary": {
            "items": len(walk.rows),
            MAPPED: sum(row.coverage == MAPPED for row in walk.rows),
            VIA_CHILDREN: sum(row.coverage == VIA_CHILDREN for row in walk.rows),
            "unmapped": len(walk.unmapped),
            "agents_lacking_evidence": walk.lacking_count,
        },
        "items": [_item_json(row) for row in walk.rows],
        "gaps": {
            "unmapped_items": [row.ref for row in walk.unmapped],
            "agents_lacking_evidence": [
                {
                    "item": row.ref,
                    "agent": agent.agent,
                    "mapping": piece.mapping,
                    "kind": piece.kind,
                    "detail": piece.detail,
                }
                for row, agent, piece in walk.lacking
            ],
        },
    }


def _item_json(row: ItemRow) -> dict[str, Any]:
    return {
        "id": row.item.id,
        "ref": row.ref,
        "title": row.item.title,
        "parent": row.item.parent,
        "source": row.item.source,
        "coverage": row.coverage,
        "mapped": [
            {"kind": m.kind, "id": m.id, "name": m.name, "agents": list(m.agents)}
            for m in row.mappings
        ],
        "agents": [
            {
                "agent": agent.agent,
                "status": agent.status,
                "evidence": [
                    {"mapping": p.mapping, "kind": p.kind, "status": p.status, "detail": p.detail}
                    for p in agent.evidence
                ],
            }
            for agent in row.agents
        ],
    }


def neutralise(cell: str) -> str:
    """`cell` with a leading `'` when a spreadsheet would take it for a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


class _SafeWriter:
    """A csv writer whose every cell is neutralised first."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Any) -> None:
        self._writer.writerow([neutralise(str(cell)) for cell in row])


def crosswalk_csv(walk: Crosswalk) -> str:
    out = io.StringIO()
    writer = _SafeWriter(out)
    writer.writerow(CSV_COLUMNS)
    for row in walk.rows:
        head = [walk.framework.id, row.item.id, row.item.title, row.item.parent or "", row.coverage]
        if not row.mappings:
            writer.writerow([*head, "", "", "", "", "", ""])
            continue
        kinds = {f"{m.kind} {m.id}": m for m in row.mappings}
        written = False
        for agent in row.agents:
            for piece in agent.evidence:
                mapping = kinds.get(piece.mapping)
                kind, ident = (mapping.kind, mapping.id) if mapping else piece.mapping.split(" ", 1)
                writer.writerow(
                    [*head, kind, ident, agent.agent, piece.kind, piece.status, piece.detail]
                )
                written = True
        if not written:
            for mapping in row.mappings:
                writer.writerow([*head, mapping.kind, mapping.id, "", "", "", "no agent"])
    return out.getvalue()
