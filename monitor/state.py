"""The monitor's state in SQLite: runs, findings, checks, alerts and the notification outbox.

Each run commits in one transaction, so a kill at any point leaves the old state or the new one.
A lock file serialises runs on one state: a second run waits, then gives up with a clear message.
Schema (version 1):

    runs(id, started_at, now, finished_at, source, tasks, bad_rows)
    findings(run_id, agent, metric, kind, test, baseline, recent, n_baseline, n_recent,
             statistic, p_value, q_value, effect, floor, verdict)
    checks(run_id, agent, check_kind, metric, bound, threshold, window, value, n, status, action)
    alerts(fingerprint, labels, annotations, status, starts_at, ends_at, last_notified_at,
           updated_run_id)
    outbox(id, receiver, url, fingerprint, status, transition_at, payload, created_at,
           attempts, last_error, delivered_at)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.alerts import FIRING, RESOLVED, Alert, Condition, iso
from playbook.errors import UsageError

SCHEMA_VERSION = 1
FAILPOINT = "GOVKIT_FAILPOINT"  # tests only: crash at a named point to prove atomicity

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, now TEXT NOT NULL, finished_at TEXT,
    source TEXT, tasks INTEGER, bad_rows TEXT);
CREATE TABLE IF NOT EXISTS findings (
    run_id INTEGER NOT NULL REFERENCES runs(id), agent TEXT, metric TEXT, kind TEXT, test TEXT,
    baseline REAL, recent REAL, n_baseline INTEGER, n_recent INTEGER, statistic REAL,
    p_value REAL, q_value REAL, effect REAL, floor REAL, verdict TEXT);
CREATE TABLE IF NOT EXISTS checks (
    run_id INTEGER NOT NULL REFERENCES runs(id), agent TEXT, check_kind TEXT, metric TEXT,
    bound TEXT, threshold REAL, window TEXT, value REAL, n INTEGER, status TEXT, action TEXT);
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint TEXT PRIMARY KEY, labels TEXT NOT NULL, annotations TEXT NOT NULL,
    status TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT, last_notified_at TEXT,
    updated_run_id INTEGER);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, receiver TEXT NOT NULL, url TEXT NOT NULL, fingerprint TEXT NOT NULL,
    status TEXT NOT NULL, transition_at TEXT NOT NULL, payload TEXT NOT NULL,
    created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    delivered_at TEXT, UNIQUE (url, fingerprint, status, transition_at));
CREATE INDEX IF NOT EXISTS findings_run ON findings(run_id);
CREATE INDEX IF NOT EXISTS checks_run ON checks(run_id);
"""


@dataclass(frozen=True)
class Receiver:
    name: str
    url: str


@dataclass
class OutboxItem:
    id: int
    receiver: str
    url: str
    payload: dict[str, Any]
    attempts: int


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def failpoint(name: str) -> None:
    if os.environ.get(FAILPOINT) == name:
        os._exit(99)


class StateStore:
    """Open with `with StateStore(path) as state:`; connection and lock are released on exit."""

    def __init__(self, path: Path, *, lock_timeout: float = 10.0) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self._lock_file: Any = None
        self.db: sqlite3.Connection | None = None

    def __enter__(self) -> StateStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            self.db = sqlite3.connect(self.path, timeout=self.lock_timeout, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(_SCHEMA)
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
        except sqlite3.DatabaseError as exc:
            self.__exit__(None, None, None)
            raise UsageError(f"{self.path}: not a govkit state database ({exc})") from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _acquire_lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = lock_path.open("a+")
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise UsageError(
                        f"{self.path}: another monitor run holds the lock ({lock_path}); "
                        f"waited {self.lock_timeout:g}s. Try again when it has finished."
                    ) from None
                time.sleep(0.1)
        self._lock_file = handle

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        assert self.db is not None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- reading -----------------------------------------------------------------------------

    def alerts(self, *, status: str | None = None) -> list[Alert]:
        assert self.db is not None
        query = "SELECT fingerprint, labels, annotations, status, starts_at, ends_at FROM alerts"
        rows = self.db.execute(
            query + (" WHERE status = ?" if status else "") + " ORDER BY starts_at, fingerprint",
            [status] if status else [],
        ).fetchall()
        return [
            Alert(fp, json.loads(labels), json.loads(notes), st, _parse(starts), _parse(ends))  # type: ignore[arg-type]
            for fp, labels, notes, st, starts, ends in rows
        ]

    def pending_outbox(self) -> list[OutboxItem]:
        assert self.db is not None
        rows = self.db.execute(
            "SELECT id, receiver, url, payload, attempts FROM outbox "
            "WHERE delivered_at IS NULL ORDER BY id"
        ).fetchall()
        return [OutboxItem(i, r, u, json.loads(p), a) for i, r, u, p, a in rows]

    def mark_delivered(self, item_id: int, at: datetime) -> None:
        assert self.db is not None
        self.db.execute(
            "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
            [iso(at), item_id],
        )

    def mark_failed(self, item_id: int, error: str) -> None:
        assert self.db is not None
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            [error[:500], item_id],
        )

    # --- writing one run ---------------------------------------------------------------------

    def record_run(
        self,
        *,
        started_at: datetime,
        now: datetime,
        source: str,
        tasks: int,
        bad_rows: dict[str, Any],
        findings: list[dict[str, Any]],
        checks: list[dict[str, Any]],
        conditions: list[Condition],
        receivers: list[Receiver],
        repeat_interval: timedelta,
        payload_for: Any,
    ) -> tuple[int, list[Alert]]:
        """Store one run and reconcile alerts, atomically. Returns the run id and the alerts
        that are firing after the run plus those this run resolved."""
        with self.transaction() as db:
            run_id = db.execute(
                "INSERT INTO runs (started_at, now, source, tasks, bad_rows) VALUES (?,?,?,?,?)",
                [iso(started_at), iso(now), source, tasks, json.dumps(bad_rows)],
            ).lastrowid
            db.executemany(
                "INSERT INTO findings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    [run_id, f["agent"], f["metric"], f["kind"], f["test"], f["baseline"],
                     f["recent"], f["n_baseline"], f["n_recent"], f["statistic"], f["p_value"],
                     f["q_value"], f["effect"], f.get("floor"), f["verdict"]]
                    for f in findings
                ],
            )  # fmt: skip
            db.executemany(
                "INSERT INTO checks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    [run_id, c["agent"], c["check"], c["metric"], c["bound"], c["threshold"],
                     c["window"], c["value"], c["n"], c["status"], c["action"]]
                    for c in checks
                ],
            )  # fmt: skip
            failpoint("after-findings")
            reported = self._reconcile(
                db, run_id, now, conditions, receivers, repeat_interval, payload_for
            )
            failpoint("before-commit")
            db.execute(
                "UPDATE runs SET finished_at = ? WHERE id = ?",
                [iso(datetime.now(now.tzinfo)), run_id],
            )
        return int(run_id), reported  # type: ignore[arg-type]

    def _reconcile(
        self,
        db: sqlite3.Connection,
        run_id: int,
        now: datetime,
        conditions: list[Condition],
        receivers: list[Receiver],
        repeat_interval: timedelta,
        payload_for: Any,
    ) -> list[Alert]:
        existing = {
            row[0]: row
            for row in db.execute(
                "SELECT fingerprint, status, starts_at, last_notified_at FROM alerts"
            ).fetchall()
        }
        reported: list[Alert] = []
        evaluated = {condition.fingerprint: condition for condition in conditions}
        for fp, condition in evaluated.items():
            row = existing.get(fp)
            firing_before = row is not None and row[1] == FIRING
            labels, notes = json.dumps(condition.labels), json.dumps(condition.annotations)
            if condition.active and not firing_before:
                alert = Alert(fp, condition.labels, condition.annotations, FIRING, now)
                db.execute(
                    "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?)",
                    [fp, labels, notes, FIRING, iso(now), None, iso(now), run_id],
                )
                self._enqueue(db, alert, receivers, now, iso(now), payload_for)
                reported.append(alert)
            elif condition.active:
                starts = _parse(row[2])
                alert = Alert(fp, condition.labels, condition.annotations, FIRING, starts)  # type: ignore[arg-type]
                last = _parse(row[3])
                due = last is None or now - last >= repeat_interval
                db.execute(
                    "UPDATE alerts SET labels = ?, annotations = ?, updated_run_id = ?, "
                    "last_notified_at = ? WHERE fingerprint = ?",
                    [labels, notes, run_id, iso(now) if due else row[3], fp],
                )
                if due:
                    self._enqueue(db, alert, receivers, now, f"repeat:{iso(now)}", payload_for)
                reported.append(alert)
            elif firing_before:
                starts = _parse(row[2])
                alert = Alert(fp, condition.labels, condition.annotations, RESOLVED, starts, now)  # type: ignore[arg-type]
                db.execute(
                    "UPDATE alerts SET status = ?, ends_at = ?, annotations = ?, "
                    "updated_run_id = ? WHERE fingerprint = ?",
                    [RESOLVED, iso(now), notes, run_id, fp],
                )
                self._enqueue(db, alert, receivers, now, iso(now), payload_for)
                reported.append(alert)
        # Firing alerts this run could not evaluate (e.g. too little data) stay firing.
        for alert in self.alerts(status=FIRING):
            if alert.fingerprint not in evaluated:
                reported.append(alert)
        return reported

    @staticmethod
    def _enqueue(
        db: sqlite3.Connection,
        alert: Alert,
        receivers: list[Receiver],
        now: datetime,
        transition: str,
        payload_for: Any,
    ) -> None:
        for receiver in receivers:
            db.execute(
                "INSERT OR IGNORE INTO outbox (receiver, url, fingerprint, status, transition_at, "
                "payload, created_at) VALUES (?,?,?,?,?,?,?)",
                [receiver.name, receiver.url, alert.fingerprint, alert.status, transition,
                 json.dumps(payload_for(alert, receiver.name)), iso(now)],
            )  # fmt: skip

    def last_run(self) -> dict[str, Any] | None:
        assert self.db is not None
        row = self.db.execute(
            "SELECT id, started_at, now, finished_at, source, tasks FROM runs "
            "WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        keys = ("id", "started_at", "now", "finished_at", "source", "tasks")
        return dict(zip(keys, row, strict=True))
