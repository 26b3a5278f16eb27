"""Scheduled reviews on disk: `<state dir>/reviews/<agent>/<YYYY-MM-DD>.md` and `.json`.

`govkit monitor schedule` (and `monitor run --write-reviews`) writes the review of every charter
whose `review.cadence` has come round since its last written review; each file atomically.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.review import build_reviews
from monitor.review_markdown import format_markdown
from playbook.core import jsonout
from playbook.core.atomic import write_atomically
from playbook.core.charter import Charter
from playbook.core.clock import parse_instant
from playbook.core.governance import Governance
from playbook.core.types import CADENCE_DAYS
from playbook.results import reviews_dir


def _last_review_end(directory: Path) -> datetime | None:
    """The `period.to` of the newest written review (its JSON is written last)."""
    for path in sorted(directory.glob("*.json"), reverse=True):
        try:
            return parse_instant(json.loads(path.read_text(encoding="utf-8"))["period"]["to"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def write_due_reviews(
    governance: Governance,
    events: str,
    state_path: Path,
    now: datetime,
    *,
    engine: str | None = None,
) -> list[Path]:
    """Write the review of every charter whose last review ended a cadence or more before `now`
    (or that has none), period = the cadence. Returns the files written (.md, then .json)."""
    root = reviews_dir(state_path)
    due: dict[int, list[Charter]] = {}
    for charter in governance.agents:
        days = CADENCE_DAYS[charter.review.cadence]
        last = _last_review_end(root / charter.id)
        if last is None or now - last >= timedelta(days=days):
            due.setdefault(days, []).append(charter)
    written: list[Path] = []
    for days, charters in sorted(due.items()):
        reviews = build_reviews(
            governance,
            charters,
            events,
            now=now,
            period=f"{days}d",
            state=state_path,
            engine=engine,
        )
        for review in reviews:
            directory = root / review.charter.id
            directory.mkdir(parents=True, exist_ok=True)
            stem = directory / f"{now.astimezone(UTC):%Y-%m-%d}"
            markdown, document = stem.with_suffix(".md"), stem.with_suffix(".json")
            write_atomically(markdown, format_markdown(governance, review))
            write_atomically(document, jsonout.dumps(review.document, indent=2) + "\n")
            written += [markdown, document]
    return written
