"""A plain (non-editable) install carries templates and defaults: govkit runs from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, TODAY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("agent_governance_kit-*.whl")
    return built


def test_wheel_ships_templates_example_and_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in [
        "playbook/_bundled/templates/pages/agent.md.j2",
        "playbook/_bundled/governance/agents/support-replies.yaml",
        "playbook/_bundled/docs/guide/how-to-read.md",
        "playbook/_bundled/mkdocs.yml",
        "playbook/assets/mermaid/mermaid.min.js",
        "playbook/assets/iframe-worker/shim.js",  # search from file:// (`build --offline`)
    ]:
        assert required in names


def test_installed_wheel_builds_a_handbook_from_an_empty_directory(wheel, tmp_path):
    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            wheel,
        ],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "somewhere"
    work.mkdir()
    # The installed copy must win over the checkout: run outside the repository, wheel first.
    env = dict(os.environ, PYTHONPATH=str(target))

    def govkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "playbook", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )

    location = subprocess.run(
        [sys.executable, "-c", "import playbook; print(playbook.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert location.stdout.startswith(str(target))
    assert govkit("init").returncode == 0
    result = govkit("build", "--today", TODAY)
    assert result.returncode == 0, result.stderr
    assert (work / "site/index.html").is_file()
    assert (work / "site/agents/support-replies/index.html").is_file()
