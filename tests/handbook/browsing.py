"""What the browser tests share: a demo handbook built as `make demo` builds it, a local server
for it, and the flags Debian's headless Chromium runs with here (the `browser` fixture is in
`tests/handbook/conftest.py`)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TODAY = "2026-11-24"
NOW = "2026-11-24T12:00:00Z"  # the demo events plant a stop-condition breach for refunds
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def build_demo_site(governance: Path, root: Path) -> Path:
    """`root/site`: the handbook of `governance` after a monitor run on the demo events, with
    `--now` and `--today` pinned (as `make demo` does)."""
    site, events, state = root / "site", root / "events.parquet", root / "monitor.db"
    for command in [
        ["events", "generate", "--out", str(events), "--now", NOW],
        ["monitor", "run", "--events", str(events), "--state", str(state), "--now", NOW],
        ["build", "--site-dir", str(site), "--state", str(state), "--today", TODAY],
    ]:
        run = subprocess.run(
            [sys.executable, "-m", "playbook", *command, "--governance", str(governance)],
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
    return site


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(site: Path) -> Iterator[str]:
    """Serve a built site over HTTP from 127.0.0.1; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
