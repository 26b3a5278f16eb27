"""`govkit serve` survives hostile governance YAML (issue 10, items 14-16): every such edit is
reported with its file and line, the last good pages stay up, and fixing the file recovers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_GOVERNANCE, TODAY
from tests.core.test_load import ALIAS_BOMB
from tests.handbook.test_serve import fetch, free_port, wait_for

pytestmark = pytest.mark.slow

HOSTILE = {
    "alias bomb (14)": (
        "organisation.yaml",
        'a: &a ["lol", "lol", "lol", "lol", "lol"]\n' + ALIAS_BOMB,
        "governance/organisation.yaml:6: expected at most 250,000 values",
    ),
    "deep nesting (15)": (
        "organisation.yaml",
        "name: " + "[" * 300 + "]" * 300 + "\n",
        "governance/organisation.yaml:1: expected at most 100 levels of nesting",
    ),
    "a date that does not exist (16)": (
        "agents/refunds.yaml",
        None,
        "governance/agents/refunds.yaml:66: monitor.baseline.from: expected a valid date",
    ),
}


def test_items_14_to_16_serve_survives_hostile_yaml_and_recovers(tmp_path: Path) -> None:
    root = tmp_path
    shutil.copytree(EXAMPLE_GOVERNANCE, root / "governance")
    port = free_port()
    log_path = root / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "playbook", "serve", "--dev-addr", f"127.0.0.1:{port}",
             "--today", TODAY],
            cwd=root, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )  # fmt: skip
    try:
        home = f"http://127.0.0.1:{port}/"
        assert wait_for(lambda: "Northwind" in (fetch(home) or "")), log_path.read_text()
        for relative, text, expected in HOSTILE.values():
            target = root / "governance" / relative
            original = target.read_text()
            if text is None:
                text = original.replace('from: "2026-09-07"', "from: 2026-02-30")
            seen = log_path.read_text().count("the last good pages stay up")
            target.write_text(text)
            assert wait_for(
                lambda seen=seen: log_path.read_text().count("the last good pages stay up") > seen
            ), log_path.read_text()
            assert expected in log_path.read_text()
            assert process.poll() is None
            assert "Northwind" in (fetch(home) or "")

            marker = "name: Refunds" if "refunds" in relative else "Northwind"
            for text in (original.replace(marker, f"{marker} (fixed)", 1), original):
                updated = log_path.read_text().count("govkit: updated")
                target.write_text(text)
                assert wait_for(
                    lambda updated=updated: log_path.read_text().count("govkit: updated") > updated
                ), log_path.read_text()
        assert "Traceback" not in log_path.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
