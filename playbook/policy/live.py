"""The policies a decision server serves, kept current with their files.

`LivePolicies.refresh()` looks at `policies/*.yaml` (cheap: a stat per file, a read and a hash only
when the stat changed) and reloads what changed: a new file is served, a deleted one no longer is,
an edited one is reloaded. An edit that makes a policy invalid keeps the last good version in
service; the problem, located (`file:line: message`), is reported and listed until a later edit
fixes it. A file must be gone at two looks in a row to be dropped: one deleted and created again
(git, some editors) keeps its version in service across the gap. `watch()` refreshes every
`interval` seconds from a thread until `stop()`.

Requests read the current table without a lock: a refresh builds a new table and swaps it in.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from playbook.core.clock import iso, utc_now
from playbook.core.errors import GovkitError, ValidationFailed, display_path
from playbook.policy.decision_log import DecisionLog
from playbook.policy.rules import POLICIES_DIR, TESTS_SUFFIX, Policy, load_policy

WATCH_SECONDS = 0.5  # how often the policy files are looked at: an edit is served within a second
Report = Callable[[str], None]
GONE = (-1, -1)  # the stat of a file not found: whatever is found next is looked at


@dataclass(frozen=True)
class Served:
    """One policy file: the version in service (None while it never was valid), when that
    version was loaded, and the problem of the file as it is now (None when it loads)."""

    id: str
    path: Path
    policy: Policy | None
    loaded_at: datetime | None
    error: str | None
    stat: tuple[int, int]  # (mtime_ns, size) of the file last looked at
    digest: str  # sha256 of its bytes
    missing: bool = False  # the file was gone at the last look (still served: see `refresh`)

    def to_json(self) -> dict[str, Any]:
        revision = self.policy.revision if self.policy else None
        return {
            "id": self.id,
            "revision": revision.commit if revision else None,
            "blob": revision.blob if revision else None,
            "file": display_path(self.path),
            "loaded_at": iso(self.loaded_at),
            "error": self.error,
        }


class LivePolicies:
    """The policies of `governance_dir/policies/`, reloaded when their files change. Every policy
    loaded writes to `decision_log` when one is given. `report`: where reloads and problems are
    told (stderr); `clock`: when a version was loaded."""

    def __init__(
        self,
        governance_dir: Path,
        *,
        decision_log: DecisionLog | None = None,
        report: Report = lambda message: None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.directory = governance_dir / POLICIES_DIR
        self.decision_log = decision_log
        self._report = report
        self._clock = clock
        self._served: dict[str, Served] = {}
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def get(self, policy_id: str) -> Served | None:
        return self._served.get(policy_id)

    def ids(self) -> list[str]:
        return sorted(self._served)

    def listing(self) -> list[dict[str, Any]]:
        served = self._served
        return [served[key].to_json() for key in sorted(served)]

    def refresh(self) -> None:
        """Bring the table up to date with the files (one refresh at a time)."""
        with self._refresh_lock:
            current = self._served
            table: dict[str, Served] = {}
            for path in _policy_paths(self.directory):
                entry = self._look(path, current.get(path.stem))
                if entry is not None:
                    table[entry.id] = entry
            for gone in sorted(set(current) - set(table)):
                entry = current[gone]
                if not entry.missing:  # gone at one look only: git and some editors replace a
                    # file by deleting and creating it; it stays in service, its version kept
                    table[gone] = replace(entry, stat=GONE, missing=True)
                    continue
                self._report(f"policy {gone}: {display_path(entry.path)} is gone; no longer served")
            self._served = table

    def watch(self, interval: float = WATCH_SECONDS) -> None:
        """Refresh every `interval` seconds from a thread, until `stop()`."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval,), name="govkit-policy-watch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except Exception as exc:  # the watcher must outlive any one bad look
                self._report(f"policy watcher: {type(exc).__name__}: {exc}")

    def _look(self, path: Path, before: Served | None) -> Served | None:
        """The entry of `path` now: unchanged when its stat or bytes are; None when it is gone."""
        try:
            status = path.stat()
            stat = (status.st_mtime_ns, status.st_size)
            if before is not None and before.stat == stat:
                return before
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:  # removed between the listing and now
            return None
        if before is not None and before.digest == digest:
            return replace(before, stat=stat, missing=False)
        return self._load(path, before, stat, digest)

    def _load(
        self, path: Path, before: Served | None, stat: tuple[int, int], digest: str
    ) -> Served:
        try:
            policy = load_policy(path, decision_log=self.decision_log)
        except ValidationFailed as exc:
            return self._failed(path, before, stat, digest, _located(exc))
        except (GovkitError, OSError) as exc:
            message = exc.format_message() if isinstance(exc, GovkitError) else str(exc)
            return self._failed(path, before, stat, digest, f"{display_path(path)}: {message}")
        loaded_at = self._clock()
        if before is not None:
            self._report(f"policy {policy.id}: reloaded {display_path(path)}")
        return Served(policy.id, path, policy, loaded_at, None, stat, digest)

    def _failed(
        self, path: Path, before: Served | None, stat: tuple[int, int], digest: str, error: str
    ) -> Served:
        kept = before.policy if before is not None else None
        if kept is not None:
            still = f"still serving the version loaded at {iso(before.loaded_at)}"  # type: ignore[union-attr]
        else:
            still = "not served until the file is fixed"
        self._report(f"policy {path.stem}: invalid, {still}:\n{error}")
        loaded_at = before.loaded_at if before is not None else None
        return Served(path.stem, path, kept, loaded_at, error, stat, digest)


def _located(exc: ValidationFailed) -> str:
    """`file:line: path: message`, one problem a line."""
    return "\n".join(str(problem) for problem in exc.problems)


def _policy_paths(directory: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [
        directory / name
        for name in names
        if name.endswith(".yaml") and not name.endswith(TESTS_SUFFIX)
    ]
