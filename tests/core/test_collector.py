"""The `govkit` process tunes the cyclic garbage collector before loading a command."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from playbook.core import collector
from tests.conftest import REPO


@pytest.fixture
def thresholds():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_the_entry_point_raises_the_thresholds_before_any_command_runs():
    script = (
        "import gc, sys\n"
        "sys.argv = ['govkit', '--version']\n"
        "from playbook.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(gc.get_threshold())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(collector.THRESHOLDS)


def test_tuning_never_lowers_a_threshold_someone_raised(thresholds):
    gc.set_threshold(500_000, 5, 100)
    collector.tune()
    assert gc.get_threshold() == (500_000, 30, 100)
