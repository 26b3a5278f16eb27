"""`govkit serve`'s staging directory, kept current edit by edit, writing only what changed.

The builder's development server watches this directory and rebuilds what it finds changed:
MkDocs runs with `--dirty` (it rebuilds only the pages whose Markdown is newer than their HTML)
and Zensical builds incrementally. So govkit writes a file only when its content changed, and an
edit to one charter re-renders only that charter's page and the pages that list agents (home,
registry, tiers, roles, readiness, monitor pages, policies), not the page of every other agent.

Anything else (a template, a hand-written page, `mkdocs.yml`, another governance file, a monitor
run, a charter added, removed or renamed) restages everything, in a scratch directory synced into
the live one file by file. When the staged configuration changes (the navigation above all), every
page's HTML changes with it: the staged pages are then touched, so a dirty rebuild redoes them all.
"""

from __future__ import annotations

import dataclasses
import filecmp
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playbook.core import resources
from playbook.core.clock import utc_now
from playbook.core.governance import AGENTS_DIR, Governance
from playbook.handbook.page_helpers import make_environment
from playbook.handbook.pages import agent_page
from playbook.handbook.site import Staged, page_renderer, stage_handbook
from playbook.handbook.trends import CHARTS_DIR, write_charts
from playbook.handbook.view import MonitorView, load_view
from playbook.policy import load_governance
from playbook.results import snapshot_path

STAGED = ("docs", "mkdocs.yml")  # what `stage` writes; the rest is the builder's (site, .cache)
CHARTER_SUFFIXES = (".yaml", ".yml")

Load = Callable[[Path, date], Governance]


@dataclass(frozen=True)
class ServeInputs:
    """What the served handbook is made from."""

    governance_dir: Path
    config_path: Path
    today: date | None  # None: today in UTC at each restage
    state: Path | None  # None: no monitor results (`--state none`)

    @property
    def day(self) -> date:
        return self.today or utc_now().date()

    def charter_files(self) -> Path:
        return self.governance_dir / AGENTS_DIR


def _outline(governance: Governance) -> tuple[object, ...]:
    """What the navigation and the set of pages depend on: charters (id and name) and drafts."""
    agents = tuple((agent.id, agent.name) for agent in governance.agents)
    return agents, tuple(sorted(document.path.stem for document in governance.drafts))


def sync_tree(source: Path, target: Path) -> int:
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


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` unless the file holds it already: an unchanged page keeps its mtime, so the
    builder does not rebuild it."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def touch_pages(docs: Path) -> None:
    """Mark every staged page as newer than its HTML: the next dirty rebuild redoes them all."""
    for page in docs.rglob("*.md"):
        os.utime(page)


class LiveStage:
    """The live staging directory `live` and what its last good staging was made from."""

    def __init__(self, live: Path, inputs: ServeInputs, load: Load | None = None) -> None:
        self.live = live
        self.inputs = inputs
        self._load = load or (lambda root, day: load_governance(root, today=day))
        self._staged: Staged | None = None
        self._outline: tuple[object, ...] = ()
        self._view: MonitorView | None = None
        self._unapplied: set[Path] | None = None  # changes not staged yet; None: all
        self._environment = make_environment(resources.template_dir())

    def _read_view(self) -> MonitorView | None:
        state = self.inputs.state
        return (
            load_view(state, now=utc_now() if self.inputs.today is None else None)
            if state
            else None
        )

    def restage(self, changed: set[Path] | None = None) -> int:
        """Bring the live directory up to date after `changed` (None: anything); returns the
        files written. Raises GovkitError on bad input, leaving the last good pages: what
        changed meanwhile is kept and restaged with the next change (the fix)."""
        if changed is None or self._unapplied is None:
            self._unapplied = None
        else:
            self._unapplied |= changed
        governance = self._load(self.inputs.governance_dir, self.inputs.day)
        charters = self._edited_charters(self._unapplied, governance)
        written = (
            self._full(governance)
            if charters is None
            else self._charters_only(governance, charters)
        )
        self._unapplied = set()
        return written

    def _edited_charters(
        self, changed: set[Path] | None, governance: Governance
    ) -> set[str] | None:
        """The ids of the charters edited, when nothing but existing charters changed and the
        navigation stays as it was; None when everything must be restaged."""
        if changed is None or self._staged is None or _outline(governance) != self._outline:
            return None
        folder = self.inputs.charter_files().resolve()
        ids = {agent.id for agent in governance.agents}
        edited = set()
        for path in changed:
            resolved = path.resolve()
            if resolved.parent != folder or resolved.suffix not in CHARTER_SUFFIXES:
                return None
            if resolved.stem not in ids:  # a draft, or a file that is not a charter yet
                return None
            edited.add(resolved.stem)
        return edited

    def _full(self, governance: Governance) -> int:
        view = self._read_view()
        with tempfile.TemporaryDirectory(prefix="restage-", dir=self.live.parent) as scratch:
            staged = stage_handbook(
                governance,
                config_path=self.inputs.config_path,
                staging_dir=Path(scratch),
                site_dir=self.live / "site",
                today=self.inputs.day,
                monitor=view,
                environment=self._environment,
            )
            old_config = self._config_text()
            changed = sync_tree(Path(scratch), self.live)
        if old_config is not None and old_config != self._config_text():
            touch_pages(self.live / "docs")
        self._staged = dataclasses.replace(staged, config=self.live / "mkdocs.yml")
        self._outline = _outline(governance)
        self._view = view
        return changed

    def _config_text(self) -> bytes | None:
        config = self.live / "mkdocs.yml"
        return config.read_bytes() if config.is_file() else None

    def _charters_only(self, governance: Governance, edited: set[str]) -> int:
        """Re-render the edited charters' pages (and charts), written first so that they show
        first; then the pages that list agents. Other agents' pages are left alone."""
        assert self._staged is not None
        staged, view = self._staged, self._view
        charts = dict(staged.charts)
        written = 0
        if view is not None:
            charts_now, written = self._write_charts(governance, view, edited)
            charts |= charts_now
        renderer = page_renderer(
            governance, self.inputs.day, view, charts, staged.hand_written, self._environment
        )
        edited_pages = {agent_page(agent_id) for agent_id in edited}
        others = {agent_page(a.id) for a in governance.agents} - edited_pages
        pages: dict[str, str] = {}
        for skip in (set(staged.pages) - edited_pages, others | edited_pages):
            batch = renderer.pages(skip=skip)
            written += sum(write_if_changed(self.live / "docs" / p, t) for p, t in batch.items())
            pages |= batch
        self._staged = dataclasses.replace(staged, pages=staged.pages | pages, charts=charts)
        return written

    def _write_charts(
        self, governance: Governance, view: MonitorView, edited: set[str]
    ) -> tuple[dict[tuple[str, str], str], int]:
        """The edited charters' trend charts (their thresholds may have moved)."""
        only_edited = dataclasses.replace(
            governance, agents=[agent for agent in governance.agents if agent.id in edited]
        )
        written = 0
        with tempfile.TemporaryDirectory(prefix="charts-", dir=self.live.parent) as scratch:
            alt_texts = write_charts(only_edited, view, Path(scratch))
            for svg in Path(scratch).rglob("*.svg"):
                target = self.live / "docs" / CHARTS_DIR / svg.relative_to(scratch)
                written += write_if_changed(target, svg.read_text("utf-8"))
        return alt_texts, written


def watched_paths(inputs: ServeInputs, docs_source: Path, template_dir: Path) -> list[Path]:
    """Everything a restage reads: governance, templates, hand-written docs, mkdocs.yml and the
    monitor's snapshot (a monitor run updates the pages too)."""
    paths = [inputs.governance_dir, template_dir, docs_source, inputs.config_path]
    if inputs.state is not None:
        paths.append(snapshot_path(inputs.state))
    return paths
