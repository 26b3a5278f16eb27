"""`govkit serve`: the page follows the YAML; broken YAML keeps the last good page up."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_GOVERNANCE, TODAY

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


@pytest.fixture
def server(tmp_path: Path):
    shutil.copytree(EXAMPLE_GOVERNANCE, tmp_path / "governance")
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "playbook",
            "serve",
            "--dev-addr",
            f"127.0.0.1:{port}",
            "--today",
            TODAY,
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    yield tmp_path, f"http://127.0.0.1:{port}", process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    log.close()


def test_serve_rebuilds_on_change_and_survives_bad_yaml(server):
    root, base, process = server
    page = f"{base}/agents/refunds/"
    assert wait_for(lambda: "Refunds" in (fetch(page) or "")), (root / "serve.log").read_text()

    charter = root / "governance/agents/refunds.yaml"
    original = charter.read_text(encoding="utf-8")
    charter.write_text(original.replace("name: Refunds", "name: Refund desk"), encoding="utf-8")
    assert wait_for(lambda: "Refund desk" in (fetch(page) or ""))

    charter.write_text(original.replace("tier: 3", "tier: three"), encoding="utf-8")
    log = root / "serve.log"
    assert wait_for(lambda: "the last good pages stay up" in log.read_text())
    assert "governance/agents/refunds.yaml" in log.read_text()
    assert "Refund desk" in (fetch(page) or "")
    assert process.poll() is None

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0
