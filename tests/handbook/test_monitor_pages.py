"""The monitor in the handbook: dashboard, alerts, agent results and charts, costs, reviews."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_GOVERNANCE, REPO, TODAY

pytestmark = pytest.mark.slow
NOW = "2026-11-24T12:00:00Z"


def govkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "playbook", *args], cwd=cwd, capture_output=True, text=True
    )
    assert result.returncode in (0, 1), result.stderr
    return result


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example handbook built after a monitor run on the planted-drift demo events."""
    root = tmp_path_factory.mktemp("monitored")
    governance = str(EXAMPLE_GOVERNANCE)
    events = root / "events.parquet"
    state = root / "state" / "monitor.db"
    govkit(
        "events",
        "generate",
        "--governance",
        governance,
        "--out",
        str(events),
        "--now",
        NOW,
        cwd=REPO,
    )
    govkit("monitor", "run", "--governance", governance, "--events", str(events), "--state",
           str(state), "--now", NOW, cwd=REPO)  # fmt: skip
    govkit("build", "--governance", governance, "--site-dir", str(root / "site"), "--state",
           str(state), "--today", TODAY, cwd=REPO)  # fmt: skip
    return root / "site"


def page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def test_dashboard_lists_agents_worst_first_with_their_alerts(site):
    text = text_of(page(site, "monitor"))
    rows = re.findall(r"(Refunds|Support replies|Ticket triage|Internal docs Q&amp;A) \d", text)
    assert rows[:2] == ["Refunds", "Support replies"], text
    assert "stop condition" in text and "StopCondition (rollback_rate)" in text
    assert "MetricDrift (customer_feedback)" in text


def test_alerts_page_shows_alert_owner_and_action(site):
    html = page(site, "monitor/alerts")
    text = text_of(html)
    assert "StopCondition" in text and "escalate" in text and "Oliver Brandt" in text
    assert 'href="../../agents/refunds/"' in html


def test_agent_page_shows_findings_alert_and_charts(site):
    html = page(site, "agents/support-replies")
    text = text_of(html)
    # The firing drift alert first, as a warning admonition naming whom to call.
    article = html[html.index("<article") :]
    first_block = re.search(r'<div class="admonition (\w+)">(.*?)</details>', article, re.S)
    assert first_block is not None and first_block.group(1) == "warning"
    assert article.index(first_block.group(0)) < article.index(
        "Drafts replies to shipment-tracking"
    )
    alert = text_of(first_block.group(2))
    assert "Rosa Delgado" in alert and "Statistics" in alert and "Customer feedback" in alert
    assert "drift" in text
    charts = re.findall(r'<img alt="([^"]+)" src="([^"]+\.svg)"', html)
    assert len(charts) == 6, charts
    for alt, src in charts:
        assert alt.strip()
        svg = (site / "agents/support-replies" / src).resolve()
        assert ET.parse(svg).getroot().tag.endswith("svg")


def test_every_chart_file_is_valid_svg(site):
    files = list((site / "assets/charts").rglob("*.svg"))
    assert len(files) >= 20
    for file in files:
        assert ET.parse(file).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_cost_page_shows_cost_per_successful_outcome_by_bucket(site):
    text = text_of(page(site, "costs"))
    assert "Inference / success" in text and "Human / success" in text
    assert "2026-10" in text and "Organisation" in text


def test_build_without_monitor_state_says_so(tmp_path):
    result = govkit("build", "--governance", str(EXAMPLE_GOVERNANCE), "--site-dir",
                    str(tmp_path / "site"), "--state", "none", "--today", TODAY,
                    cwd=REPO)  # fmt: skip
    assert result.returncode == 0
    assert "No monitor run has happened yet" in page(tmp_path / "site", "monitor")
    home = text_of(page(tmp_path / "site", "."))  # the status strip says so too, and still
    assert "No monitor run has happened yet" in home  # lists the late rollout phase
    assert "1 late Build evals before widening access" in home
