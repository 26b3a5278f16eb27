"""Stage the handbook (hand-written docs + rendered pages) and build it with a site builder.

Pages are rendered to plain Markdown before the builder runs, so MkDocs Material and Zensical build
the same pages from the same `mkdocs.yml`. The site is built into a temporary directory next to the
target and swapped in only when the build succeeds: a failed build never replaces a good site.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from playbook.core import resources
from playbook.core.errors import BuildFailed, Stopped, UsageError, display_path
from playbook.core.governance import Governance
from playbook.handbook import BUILDERS
from playbook.handbook.lifecycle import (
    builder_process,
    remove_stale_stage_directories,
    signals_held,
    stage_directory,
    stop_on_signals,
)
from playbook.handbook.pages import agent_page
from playbook.handbook.render import Renderer
from playbook.handbook.site_config import (
    MERMAID_ASSET,
    NAV_AGENTS_LIMIT,
    copy_assets,
    is_offline,
    offline_settings,
    organisation_settings,
    read_site_config,
    without_pages,
    write_site_config,
)
from playbook.handbook.trends import CHARTS_DIR, copy_reviews, write_charts
from playbook.handbook.view import MonitorView

STAGE_PREFIX = ".govkit-stage-"  # next to the site directory

Report = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    site_dir: Path
    pages: int
    render_seconds: float
    builder_seconds: float

    @property
    def index_html(self) -> Path:
        return self.site_dir / "index.html"


@dataclass
class Staged:
    """One staged handbook: its configuration file and what serve needs to restage part of it."""

    config: Path
    pages: dict[str, str]
    hand_written: list[str]
    charts: dict[tuple[str, str], str]
    offline: bool


def stage(
    governance: Governance,
    *,
    config_path: Path,
    staging_dir: Path,
    site_dir: Path,
    today: date,
    monitor: MonitorView | None = None,
    offline: bool = False,
) -> tuple[Path, int]:
    """Write docs + generated pages + a builder configuration into `staging_dir`.

    `monitor` is the latest monitor run (its snapshot), if any: it adds the dashboard, alerts,
    costs, reviews and each agent's results and trend charts. `offline`: a site that works when
    opened as files (see `site_config.offline_settings`). Returns the staged configuration file
    and the number of generated pages.
    """
    staged = stage_handbook(
        governance,
        config_path=config_path,
        staging_dir=staging_dir,
        site_dir=site_dir,
        today=today,
        monitor=monitor,
        offline=offline,
    )
    return staged.config, len(staged.pages)


def stage_handbook(
    governance: Governance,
    *,
    config_path: Path,
    staging_dir: Path,
    site_dir: Path,
    today: date,
    monitor: MonitorView | None = None,
    offline: bool = False,
    environment: jinja2.Environment | None = None,
) -> Staged:
    """`stage`, returning what was staged. `environment`: the page templates' environment of an
    earlier staging, to reuse what it compiled (`govkit serve`)."""
    config = read_site_config(config_path)
    docs_source = config_path.parent / str(config.get("docs_dir", "docs"))
    docs_dir = staging_dir / "docs"
    if docs_source.is_dir():
        shutil.copytree(docs_source, docs_dir)
    else:
        docs_dir.mkdir(parents=True)
    hand_written = sorted(path.relative_to(docs_dir).as_posix() for path in docs_dir.rglob("*.md"))

    charts = write_charts(governance, monitor, docs_dir / CHARTS_DIR) if monitor else {}
    if monitor is not None:
        copy_reviews(monitor, docs_dir / "reviews")
    renderer = page_renderer(governance, today, monitor, charts, hand_written, environment)
    pages = renderer.pages()
    clashes = sorted(set(pages) & set(hand_written))
    if clashes:
        raise UsageError(
            f"{display_path(docs_source)}: hand-written pages {', '.join(clashes)} clash with "
            "generated pages of the same path; rename them"
        )
    for page_path, text in pages.items():
        target = docs_dir / page_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    offline = offline or is_offline(config)
    copy_assets(docs_dir, offline=offline)
    config["docs_dir"] = "docs"  # relative to the staged configuration file
    config["site_dir"] = str(site_dir)
    config["extra_javascript"] = [MERMAID_ASSET, *config.get("extra_javascript", [])]
    config |= organisation_settings(governance.organisation, config)
    if offline:
        config |= offline_settings(config)
    if "nav" not in config:
        config["nav"] = site_nav(governance, renderer, hand_written)
        # Agent pages left out of a large organisation's navigation are meant to be.
        config.setdefault("validation", {"nav": {"omitted_files": "ignore"}})
    staged_config = staging_dir / "mkdocs.yml"
    write_site_config(config, staged_config)
    return Staged(staged_config, pages, hand_written, charts, offline)


def page_renderer(
    governance: Governance,
    today: date,
    monitor: MonitorView | None,
    charts: dict[tuple[str, str], str],
    hand_written: list[str],
    environment: jinja2.Environment | None = None,
) -> Renderer:
    renderer = Renderer(
        governance,
        template_dir=resources.template_dir(),
        today=today,
        monitor=monitor,
        charts=charts,
        hand_written=hand_written,
    )
    if environment is not None:  # its templates already compiled; an edited one is reloaded
        renderer.environment = environment
    return renderer


def site_nav(governance: Governance, renderer: Renderer, hand_written: list[str]) -> list[Any]:
    """The navigation; above `NAV_AGENTS_LIMIT` agents it lists the registry, not every agent."""
    nav = renderer.nav(hand_written)
    if len(governance.agents) <= NAV_AGENTS_LIMIT:
        return nav
    return without_pages(nav, {agent_page(agent.id) for agent in governance.agents})


def builder_command(builder: str, config: Path) -> list[str]:
    if builder not in BUILDERS:
        raise UsageError(f"unknown builder {builder!r}; expected one of mkdocs or zensical")
    if importlib.util.find_spec(builder) is None:
        extra = "[zensical]" if builder == "zensical" else ""
        raise UsageError(
            f"the {builder} builder is not installed; install it with "
            f"pip install 'agent-governance-kit{extra}'"
        )
    return [sys.executable, "-m", builder, "build", "-f", str(config)]


def build_site(
    governance: Governance,
    *,
    config_path: Path,
    site_dir: Path,
    builder: str = "mkdocs",
    today: date,
    monitor: MonitorView | None = None,
    offline: bool = False,
    moment: datetime | None = None,
    report: Report = lambda message: None,
) -> BuildResult:
    """Render, stage and build the handbook; replace `site_dir` only when everything succeeded.

    `moment`, when the command was given one (`--now`), is also the builder's build date
    (`SOURCE_DATE_EPOCH`: the sitemap's dates), so that the same inputs build the same site.
    SIGTERM and SIGHUP stop it like Ctrl-C (`playbook.core.errors.Stopped`, exit 128 + the
    signal): the builder's process group is ended, the stage directory removed and the previous
    site kept.
    """
    site_dir = site_dir.resolve()
    request = _BuildRequest(governance, config_path, builder, today, monitor, offline, moment)
    try:
        return _build(request, site_dir, report)
    except OSError as exc:  # a read-only or full disk: say where and why, keep the old site
        where = display_path(Path(exc.filename)) if exc.filename else display_path(site_dir)
        raise BuildFailed(
            f"{where}: cannot write the site: {exc.strerror or exc}; the previous site was kept"
        ) from None


@dataclass(frozen=True)
class _BuildRequest:
    governance: Governance
    config_path: Path
    builder: str
    today: date
    monitor: MonitorView | None
    offline: bool
    moment: datetime | None


def _build(request: _BuildRequest, site_dir: Path, report: Report) -> BuildResult:
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    builder = request.builder
    with contextlib.ExitStack() as teardown:
        teardown.enter_context(stop_on_signals())
        remove_stale_stage_directories(site_dir.parent, STAGE_PREFIX)
        # Staged next to the target: Zensical wants the site inside the project directory, and
        # the finished site then moves into place with a rename on the same file system.
        staging = teardown.enter_context(stage_directory(site_dir.parent, STAGE_PREFIX))
        building = staging / "site"
        try:
            started = time.perf_counter()
            staged_config, pages = stage(
                request.governance,
                config_path=request.config_path,
                staging_dir=staging,
                site_dir=building,
                today=request.today,
                monitor=request.monitor,
                offline=request.offline,
            )
            rendered = time.perf_counter()
            report(f"rendered {pages} pages; building the site with {builder}")
            command = builder_command(builder, staged_config)
            _run_builder(command, cwd=staging, moment=request.moment)
            built = time.perf_counter()
            if not (building / "index.html").is_file():
                raise BuildFailed(f"the {builder} build finished but wrote no index.html")
        except Stopped as stopped:
            raise Stopped(stopped.signum, "the previous site was kept") from None
        _swap_in(building, site_dir, retired=staging / "retired")
    return BuildResult(site_dir, pages, rendered - started, built - rendered)


def _run_builder(command: list[str], *, cwd: Path, moment: datetime | None = None) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # The builders date the sitemap with it: reproducible builds. (A gzip header holds 32 bits:
    # a moment past 2106 keeps the builder's own date.)
    if moment is not None and 0 <= moment.timestamp() < 2**32:
        env["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    with builder_process(command, cwd=cwd, env=env, **pipes) as process:
        stdout, stderr = process.communicate()
    if process.returncode != 0:
        output = (stdout + stderr).strip()
        tail = "\n".join(output.splitlines()[-30:])
        raise BuildFailed(
            f"the site builder failed (exit {process.returncode}); "
            f"the previous site was kept.\n{tail}"
        )


def _swap_in(new_site: Path, site_dir: Path, *, retired: Path) -> None:
    """Move the fresh build into place. The old site moves to `retired` (in the stage directory,
    removed with it); no signal can land between the two renames and leave no site at all."""
    with signals_held():
        had_site = site_dir.exists()
        if had_site:
            site_dir.rename(retired)
        try:
            new_site.rename(site_dir)
        except OSError:
            if had_site:
                retired.rename(site_dir)  # the old site back where it was
            raise
