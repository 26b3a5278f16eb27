"""A build on a read-only or full disk (issue 10, item 12): exit 2 naming the path and the
reason, the previous site intact, no stage directory left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TODAY
from tests.filesystems import SmallDisk, small_disk

pytestmark = pytest.mark.slow


def site_files(site: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()
    }


def build(govkit, site: Path):
    return govkit("build", "--site-dir", str(site), "--today", TODAY, "--state", "none")


@pytest.fixture
def built(workspace, govkit, tmp_path):
    with small_disk(tmp_path / "disk", size="32m") as disk:
        site = disk.root / "site"
        result = build(govkit, site)
        assert result.exit_code == 0, result.output
        yield disk, site, site_files(site)


def test_item_12_read_only_site_directory_keeps_the_site(built, govkit):
    disk, site, before = built
    disk.read_only()
    try:
        result = build(govkit, site)
    finally:
        disk.read_only(False)

    assert result.exit_code == 2
    assert "Read-only file system; the previous site was kept" in result.output
    assert str(disk.root) in result.output or "disk" in result.output
    assert site_files(site) == before
    assert sorted(path.name for path in disk.root.iterdir()) == ["site"]


def test_item_12_disk_full_during_a_build_keeps_the_site(built, govkit):
    disk, site, before = built
    disk.fill()
    try:
        result = build(govkit, site)
    finally:
        disk.free()

    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output, result.output
    assert "Traceback" not in result.output
    assert site_files(site) == before
    assert sorted(path.name for path in disk.root.iterdir()) == ["site"]


def test_small_disk_fill_leaves_no_room(tmp_path):
    with small_disk(tmp_path / "disk", size="64k") as disk:
        assert isinstance(disk, SmallDisk)
        disk.fill()
        with pytest.raises(OSError):
            (disk.root / "x").write_bytes(b"y" * 8192)
