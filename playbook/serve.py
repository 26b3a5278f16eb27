"""`govkit serve`: the builder's development server on a staging directory govkit keeps current.

The builder (MkDocs or Zensical) serves the staged pages with live reload. govkit watches the
governance YAML, the templates and the hand-written docs; on a change it re-validates,
re-renders and copies into the staging directory only the files whose content changed, which
the builder's own watcher picks up. Invalid YAML is reported and the last good pages stay up.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from playbook import resources
from playbook.errors import GovkitError
from playbook.load import load_governance
from playbook.monitor_view import load_view, snapshot_path
from playbook.site import Report, builder_command, read_site_config, stage

POLL_SECONDS = 1.0


def _snapshot(roots: Iterable[Path]) -> dict[Path, float]:
    """Modification times of every file under `roots`: cheap change detection without a daemon."""
    times: dict[Path, float] = {}
    for root in roots:
        if root.is_file():
            times[root] = root.stat().st_mtime
        elif root.is_dir():
            for path in root.rglob("*"):
                if path.is_file():
                    times[path] = path.stat().st_mtime
    return times


def _sync_tree(source: Path, target: Path) -> int:
    """Make `target` equal to `source`, touching only what differs. Returns the files changed."""
    changed = 0
    source_files = {p.relative_to(source) for p in source.rglob("*") if p.is_file()}
    target_files = {p.relative_to(target) for p in target.rglob("*") if p.is_file()}
    for relative in target_files - source_files:
        (target / relative).unlink()
        changed += 1
    for relative in source_files:
        destination = target / relative
        if destination.is_file() and filecmp.cmp(source / relative, destination, shallow=False):
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, destination)
        changed += 1
    return changed


def _serve_command(builder: str, config: Path, dev_addr: str) -> list[str]:
    command = builder_command(builder, config)
    command[command.index("build")] = "serve"
    return [*command, "--dev-addr", dev_addr] if builder == "mkdocs" else [*command, "-a", dev_addr]


def _restage(
    governance_dir: Path,
    config_path: Path,
    live: Path,
    today: date | None,
    state: Path,
    report: Report,
) -> bool:
    """Re-render in a scratch staging dir and sync it into the live one; False on bad input."""
    try:
        governance = load_governance(governance_dir, today=today or date.today())
        with tempfile.TemporaryDirectory(prefix="govkit-restage-") as scratch:
            stage(
                governance,
                config_path=config_path,
                staging_dir=Path(scratch),
                site_dir=live.parent / "site",
                today=today or date.today(),
                monitor=load_view(state),
            )
            changed = _sync_tree(Path(scratch), live)
    except GovkitError as exc:
        report(f"not updated; the last good pages stay up:\n{exc.format_message()}")
        return False
    if changed:
        report(f"updated {changed} file(s)")
    return True


def serve_handbook(
    governance_dir: Path,
    *,
    config_path: Path,
    dev_addr: str,
    builder: str,
    today: date | None,
    state: Path,
    report: Report,
) -> None:
    """Serve until interrupted. Teardown runs in reverse order of set-up."""
    config = read_site_config(config_path)
    docs_source = config_path.parent / str(config.get("docs_dir", "docs"))
    watched = [governance_dir, resources.template_dir(), docs_source, config_path]
    watched.append(snapshot_path(state))  # a monitor run updates the pages too
    workspace = Path(tempfile.mkdtemp(prefix="govkit-serve-"))
    live = workspace / "stage"
    server: subprocess.Popen[bytes] | None = None
    try:
        governance = load_governance(governance_dir, today=today or date.today())
        stage(
            governance,
            config_path=config_path,
            staging_dir=live,
            site_dir=workspace / "site",
            today=today or date.today(),
            monitor=load_view(state),
        )
        server = subprocess.Popen(_serve_command(builder, live / "mkdocs.yml", dev_addr), cwd=live)
        report(f"serving on http://{dev_addr}/ (Ctrl-C to stop); watching {len(watched)} paths")
        before = _snapshot(watched)
        while server.poll() is None:
            time.sleep(POLL_SECONDS)
            now = _snapshot(watched)
            if now != before:
                before = now
                _restage(governance_dir, config_path, live, today, state, report)
    except KeyboardInterrupt:
        report("stopping")
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(workspace, ignore_errors=True)
