"""`govkit serve`: the builder's development server on a staging directory govkit keeps current.

The builder (MkDocs or Zensical) serves the staged pages with live reload. govkit watches the
governance YAML, the templates and the hand-written docs; on a change it re-validates,
re-renders and copies into the staging directory only the files whose content changed, which
the builder's own watcher picks up. Invalid YAML is reported and the last good pages stay up.

Ctrl-C, SIGTERM and SIGHUP stop it (exit 0): the builder's process group is ended, the port freed
and the staging directory removed (see `playbook.handbook.lifecycle`).
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from playbook.core import resources
from playbook.core.clock import utc_now
from playbook.core.errors import BuildFailed, GovkitError, Stopped, UsageError
from playbook.handbook.lifecycle import (
    builder_process,
    remove_stale_stage_directories,
    stage_directory,
    stop_on_signals,
)
from playbook.handbook.site import Report, builder_command, read_site_config, stage
from playbook.handbook.view import load_view
from playbook.policy import load_governance
from playbook.results import snapshot_path

POLL_SECONDS = 1.0
WORKSPACE_PREFIX = "govkit-serve-"  # under the temporary directory
BUILT = "site"  # where Zensical's server writes the site: it must be inside the project
STAGED = ("docs", "mkdocs.yml")  # what `stage` writes; the rest is the builder's (site, .cache)


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
    """Make what `stage` wrote in `target` (`STAGED`) equal to `source`, touching only what
    differs; the builder's own files are left alone. Returns the files changed."""
    changed = 0
    source_files = {p.relative_to(source) for p in source.rglob("*") if p.is_file()}
    target_files = {
        relative
        for relative in (p.relative_to(target) for p in target.rglob("*") if p.is_file())
        if relative.parts[0] in STAGED
    }
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


def _check_address(dev_addr: str) -> None:
    """`--dev-addr` is IP:PORT and free to listen on; said plainly, not in a builder traceback."""
    host, _, port = dev_addr.rpartition(":")
    host = host.strip("[]")  # [::1]:8000
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"--dev-addr: expected IP:PORT such as 127.0.0.1:8000 but received {dev_addr!r}"
        )
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, int(port), type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the builders do
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"--dev-addr {dev_addr}: cannot serve there ({reason}); expected a free IP:PORT"
        ) from None


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
        governance = load_governance(governance_dir, today=today or utc_now().date())
        with tempfile.TemporaryDirectory(prefix="restage-", dir=live.parent) as scratch:
            stage(
                governance,
                config_path=config_path,
                staging_dir=Path(scratch),
                site_dir=live / BUILT,
                today=today or utc_now().date(),
                monitor=load_view(state),
            )
            changed = _sync_tree(Path(scratch), live)
    except Stopped:
        raise
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
    """Serve until Ctrl-C, SIGTERM or SIGHUP (exit 0); the builder's server ending on its own is
    `BuildFailed`. Teardown runs in reverse order of set-up."""
    _check_address(dev_addr)
    config = read_site_config(config_path)
    docs_source = config_path.parent / str(config.get("docs_dir", "docs"))
    watched = [governance_dir, resources.template_dir(), docs_source, config_path]
    watched.append(snapshot_path(state))  # a monitor run updates the pages too
    temporary = Path(tempfile.gettempdir())
    with stop_on_signals():
        try:
            with contextlib.ExitStack() as teardown:
                remove_stale_stage_directories(temporary, WORKSPACE_PREFIX)
                workspace = teardown.enter_context(stage_directory(temporary, WORKSPACE_PREFIX))
                live = workspace / "stage"
                governance = load_governance(governance_dir, today=today or utc_now().date())
                stage(
                    governance,
                    config_path=config_path,
                    staging_dir=live,
                    site_dir=live / BUILT,
                    today=today or utc_now().date(),
                    monitor=load_view(state),
                )
                command = _serve_command(builder, live / "mkdocs.yml", dev_addr)
                # The builder's own temporary files (MkDocs serves from one) go with the workspace.
                builder_temp = workspace / "tmp"
                builder_temp.mkdir()
                environment = dict(os.environ, TMPDIR=str(builder_temp))
                server = teardown.enter_context(builder_process(command, cwd=live, env=environment))
                report(
                    f"serving on http://{dev_addr}/ (Ctrl-C to stop); watching {len(watched)} paths"
                )
                before = _snapshot(watched)
                while server.poll() is None:
                    time.sleep(POLL_SECONDS)
                    now = _snapshot(watched)
                    if now != before:
                        before = now
                        _restage(governance_dir, config_path, live, today, state, report)
        except (KeyboardInterrupt, Stopped):
            report("stopped")
            return
    raise BuildFailed(
        f"the {builder} development server stopped (exit {server.returncode}); see its output above"
    )
