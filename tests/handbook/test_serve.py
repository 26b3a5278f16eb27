"""`govkit serve`: the page follows the YAML; broken YAML keeps the last good page up."""

from __future__ import annotations

import importlib.util
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
from tests.processes import port_is_free, processes_mentioning, running_in_group

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
    renamed = original.replace("name: Refunds", "name: Refund desk")
    charter.write_text(renamed, encoding="utf-8")  # the navigation changes: everything restaged
    assert wait_for(lambda: "Refund desk" in (fetch(page) or ""))
    edited = renamed.replace("description: >-", "description: >-\n  Edited while serving.")
    charter.write_text(edited, encoding="utf-8")  # this page and the listings only
    assert wait_for(lambda: "Edited while serving." in (fetch(page) or ""))
    assert "Refund desk" in (fetch(f"{base}/agents/ticket-triage/") or "")  # nav kept

    charter.write_text(original.replace("tier: 3", "tier: three"), encoding="utf-8")
    log = root / "serve.log"
    assert wait_for(lambda: "the last good pages stay up" in log.read_text())
    assert "governance/agents/refunds.yaml" in log.read_text()
    assert "Refund desk" in (fetch(page) or "")
    assert process.poll() is None

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0


def _serve(root: Path, builder: str, port: int, temporary: Path) -> subprocess.Popen:
    log = (root / "serve.log").open("w")
    command = [sys.executable, "-m", "playbook", "serve", "--builder", builder]
    command += ["--dev-addr", f"127.0.0.1:{port}", "--today", TODAY]
    environment = dict(os.environ, PYTHONUNBUFFERED="1", TMPDIR=str(temporary))
    with log:
        return subprocess.Popen(
            command, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=environment
        )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(("builder", "stop"), [("mkdocs", "SIGTERM"), ("zensical", "SIGHUP")])
def test_item_13_serve_stopped_by_sigterm_or_sighup_frees_the_port(tmp_path, builder, stop):
    if importlib.util.find_spec(builder) is None:
        pytest.skip(f"{builder} is not installed")
    shutil.copytree(EXAMPLE_GOVERNANCE, tmp_path / "governance")
    temporary = tmp_path / "tmp"  # the temporary directory of govkit and of its builder
    stale = temporary / "govkit-serve-left-by-a-killed-run"
    stale.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (stale / ".govkit-owner").write_text(str(dead.pid))
    port = free_port()

    process = _serve(tmp_path, builder, port, temporary)
    try:
        page = f"http://127.0.0.1:{port}/agents/refunds/"
        assert wait_for(lambda: "Refunds" in (fetch(page) or "")), (
            tmp_path / "serve.log"
        ).read_text()
        (workspace,) = temporary.glob("govkit-serve-*")  # the stale one was removed at start-up
        (server,) = processes_mentioning(str(workspace))
        assert os.getpgid(server) == server != os.getpgid(process.pid)

        process.send_signal(getattr(signal, stop))
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    log = (tmp_path / "serve.log").read_text()
    assert "govkit: stopped" in log and "Traceback" not in log
    assert wait_for(lambda: not processes_mentioning(str(workspace)), timeout=15)
    assert wait_for(lambda: not running_in_group(server), timeout=15)
    assert wait_for(lambda: port_is_free(port), timeout=15)
    assert fetch(page) is None
    assert list(temporary.iterdir()) == []  # no workspace, and the builder's own temp went too


@pytest.mark.parametrize("address", ["busy", "localhost", "127.0.0.1:99999"])
def test_serve_on_a_busy_or_malformed_address_exits_2(workspace, govkit, address):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        if address == "busy":
            address = f"127.0.0.1:{listener.getsockname()[1]}"
        result = govkit("serve", "--dev-addr", address, "--today", TODAY)
    assert result.exit_code == 2
    assert f"{address}" in result.output and "expected" in result.output
    assert "Traceback" not in result.output
