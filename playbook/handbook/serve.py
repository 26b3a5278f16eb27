"""`govkit serve`: the builder's development server on a staging directory govkit keeps current.

The builder (MkDocs or Zensical) serves the staged pages with live reload. govkit watches the
governance YAML, the templates, the hand-written docs, `mkdocs.yml` and the monitor's snapshot; on
a change it re-validates, re-renders what the change can affect and writes only the files whose
content changed (`playbook.handbook.live_stage`), which the builder's own watcher picks up and
rebuilds incrementally (MkDocs with `--dirty`, Zensical by itself). Invalid YAML is reported and
the last good pages stay up.

Ctrl-C, SIGTERM and SIGHUP stop it (exit 0): the builder's process group is ended, the port freed
and the staging directory removed (see `playbook.handbook.lifecycle`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from playbook.core import resources
from playbook.core.errors import BuildFailed, GovkitError, Stopped, UsageError
from playbook.handbook.lifecycle import (
    builder_process,
    remove_stale_stage_directories,
    stage_directory,
    stop_on_signals,
)
from playbook.handbook.live_stage import LiveStage, ServeInputs, watched_paths
from playbook.handbook.site import Report, builder_command, read_site_config

POLL_SECONDS = 0.15  # how often the watched files are looked at: an edit shows within 2 s
WORKSPACE_PREFIX = "govkit-serve-"  # under the temporary directory
BUILT = "site"  # where Zensical's server writes the site: it must be inside the project


def _snapshot(roots: Iterable[Path]) -> dict[Path, int]:
    """Modification times of every file under `roots`: cheap change detection without a daemon
    (`os.scandir`: a thousand charters are looked at in a few milliseconds)."""
    times: dict[Path, int] = {}

    def walk(folder: str) -> None:
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path)
                elif entry.is_file():
                    with contextlib.suppress(OSError):  # gone since it was listed
                        times[Path(entry.path)] = entry.stat().st_mtime_ns

    for root in roots:
        if root.is_file():
            times[root] = root.stat().st_mtime_ns
        elif root.is_dir():
            walk(str(root))
    return times


def _changes(before: dict[Path, int], now: dict[Path, int]) -> set[Path] | None:
    """The files edited since `before`; None when a file appeared or went away (the pages
    themselves may change: everything is restaged)."""
    if before.keys() != now.keys():
        return None
    return {path for path, mtime in now.items() if before[path] != mtime}


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
    if builder == "mkdocs":  # rebuild only the pages govkit rewrote (see live_stage)
        command[command.index("mkdocs")] = "playbook.handbook.mkdocs_dirty"
        return [*command, "--dirty", "--dev-addr", dev_addr]
    return [*command, "-a", dev_addr]


def _restage(stage: LiveStage, changed: set[Path] | None, report: Report) -> bool:
    """Bring the live pages up to date; False on bad input (the last good pages stay up)."""
    started = time.perf_counter()
    try:
        written = stage.restage(changed)
    except Stopped:
        raise
    except GovkitError as exc:
        report(f"not updated; the last good pages stay up:\n{exc.format_message()}")
        return False
    if written:
        report(f"updated {written} file(s) in {time.perf_counter() - started:.1f} s")
    return True


def serve_handbook(
    governance_dir: Path,
    *,
    config_path: Path,
    dev_addr: str,
    builder: str,
    today: date | None,
    state: Path | None,
    report: Report,
) -> None:
    """Serve until Ctrl-C, SIGTERM or SIGHUP (exit 0); the builder's server ending on its own is
    `BuildFailed`. `state` None: no monitor results. Teardown runs in reverse order of set-up."""
    _check_address(dev_addr)
    config = read_site_config(config_path)
    docs_source = config_path.parent / str(config.get("docs_dir", "docs"))
    inputs = ServeInputs(governance_dir, config_path, today, state)
    watched = watched_paths(inputs, docs_source, resources.template_dir())
    temporary = Path(tempfile.gettempdir())
    with stop_on_signals():
        try:
            with contextlib.ExitStack() as teardown:
                remove_stale_stage_directories(temporary, WORKSPACE_PREFIX)
                workspace = teardown.enter_context(stage_directory(temporary, WORKSPACE_PREFIX))
                live = workspace / "stage"
                live.mkdir()
                stage = LiveStage(live, inputs)
                before = _snapshot(watched)
                stage.restage()
                command = _serve_command(builder, live / "mkdocs.yml", dev_addr)
                # The builder's own temporary files (MkDocs serves from one) go with the workspace.
                builder_temp = workspace / "tmp"
                builder_temp.mkdir()
                environment = dict(os.environ, TMPDIR=str(builder_temp))
                server = teardown.enter_context(builder_process(command, cwd=live, env=environment))
                report(
                    f"serving on http://{dev_addr}/ (Ctrl-C to stop); watching {len(watched)} paths"
                )
                while server.poll() is None:
                    time.sleep(POLL_SECONDS)
                    now = _snapshot(watched)
                    if now != before:
                        changed = _changes(before, now)
                        before = now
                        _restage(stage, changed, report)
        except (KeyboardInterrupt, Stopped):
            report("stopped")
            return
    raise BuildFailed(
        f"the {builder} development server stopped (exit {server.returncode}); see its output above"
    )
