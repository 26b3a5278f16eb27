"""Tasks read more than once: one `task_id` on several rows.

Exports that overlap are the usual cause: a job that writes "the last seven days" every day,
globbed together, holds most tasks seven times. Every copy counts as a task, so counts and sums
swell and every test grows overconfident (seven copies make a shift look seven times better
evidenced than it is). `task_id` is optional and the monitor does not rely on it, so this is a
warning, not a refusal: the run says how many rows repeat a task and where two copies are.

Counting distinct ids exactly costs more than the rest of the pass on a large source, so ids are
sampled by hash: every copy of a sampled id is in the sample, so the share of rows that repeat
an id is estimated without bias from about `SAMPLE_ROWS` rows (exact below that size).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis

SAMPLE_ROWS = 200_000
WORTH_SAYING = 0.01  # a repeat share below 1% moves no count or test by more than 1%
EXAMPLE_COPIES = 2


@dataclass(frozen=True)
class Repeats:
    """Rows with a `task_id`, and those (estimated, unless `every` is 1) repeating one."""

    rows: int
    repeated: int
    every: int  # one id in `every` was looked at
    task_id: str
    places: list[str]  # `file:row` of copies of `task_id`

    def warning(self) -> str:
        share = self.repeated / self.rows
        amount = f"{self.repeated:,}" if self.every == 1 else f"about {self.repeated:,}"
        how = "" if self.every == 1 else f", estimated from 1 task_id in {self.every:,}"
        return (
            f"task_id: {amount} of {self.rows:,} events ({share:.0%}{how}) repeat a task_id "
            f"another event has ({self.task_id!r} at {' and '.join(self.places)}): every copy "
            "counts as a task, so counts, rates and the drift tests' confidence are inflated. "
            "Overlapping exports are the usual cause (each holding the last few days): read "
            "each task once"
        )


def repeated_tasks(events: Any, rows: int) -> Repeats | None:
    """The repeats of `task_id` in `events` (`monitor.engine.events.Events`, `rows` rows), when
    they are at least `WORTH_SAYING` of the rows with one; None otherwise or without the column."""
    if "task_id" not in events.present or not rows:
        return None
    every = max(1, rows // SAMPLE_ROWS)
    table = events.typed
    ids = table.task_id
    with_id = events.fetch(table.aggregate(rows=ids.count()))
    picked = ids.notnull() if every == 1 else _hash(ids) % every == 0
    sampled = table.filter(picked)
    counted = events.fetch(sampled.aggregate(seen=sampled.count(), distinct=ids.nunique()))
    found = {name: int(values[0]) for name, values in (with_id | counted).items()}
    repeats = found["seen"] - found["distinct"]
    if not found["seen"] or repeats / found["seen"] < WORTH_SAYING:
        return None
    copies = sampled.group_by("task_id").aggregate(n=sampled.count())
    repeated = copies.filter(copies.n > 1)
    task_id = events.fetch(repeated.aggregate(first=repeated.task_id.min()))["first"][0]
    copied = table.filter(ids == task_id).select("_file", "_row")
    places = copied.order_by(["_file", "_row"]).limit(EXAMPLE_COPIES)
    located = events.fetch(places)
    return Repeats(
        rows=found["rows"],
        repeated=round(found["rows"] * repeats / found["seen"]),
        every=every,
        task_id=str(task_id),
        places=[
            f"{Path(str(file)).name}:{int(row)}"
            for file, row in zip(located["_file"], located["_row"], strict=True)
        ],
    )


@ibis.udf.scalar.builtin(name="hash")
def _hash(value: str) -> int:
    """The engine's own hash (DuckDB's and Spark's are both `hash`): Ibis's `hash()` converts
    DuckDB's through a bit string, which costs this check more than the distinct count."""
