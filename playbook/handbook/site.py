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
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from playbook.core import resources
from playbook.core.errors import BuildFailed, Stopped, UsageError, display_path
from playbook.core.governance import Governance
from playbook.core.markdown import theme_text
from playbook.core.model import Organisation
from playbook.handbook.lifecycle import (
    builder_process,
    remove_stale_stage_directories,
    signals_held,
    stage_directory,
    stop_on_signals,
)
from playbook.handbook.render import Renderer
from playbook.handbook.trends import CHARTS_DIR, copy_reviews, write_charts
from playbook.handbook.view import MonitorView

BUILDERS = ("mkdocs", "zensical")
STAGE_PREFIX = ".govkit-stage-"  # next to the site directory
MERMAID_ASSET = "assets/govkit/mermaid.min.js"

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


class TaggedValue:
    """A YAML value with a tag govkit does not interpret (e.g. `!!python/name:` in mkdocs.yml).

    It is carried through to the staged configuration unchanged and never constructed here: only
    the site builder, which owns that file, gives it meaning.
    """

    def __init__(self, tag: str, value: Any) -> None:
        self.tag = tag
        self.value = value


class _ConfigLoader(yaml.SafeLoader):
    pass


class _ConfigDumper(yaml.SafeDumper):
    pass


def _construct_tagged(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> TaggedValue:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return TaggedValue(node.tag, value)


def _represent_tagged(dumper: yaml.SafeDumper, data: TaggedValue) -> yaml.Node:
    if isinstance(data.value, list):
        return dumper.represent_sequence(data.tag, data.value)
    if isinstance(data.value, dict):
        return dumper.represent_mapping(data.tag, data.value)
    return dumper.represent_scalar(data.tag, data.value)


_ConfigLoader.add_multi_constructor("!", _construct_tagged)
_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", _construct_tagged)
_ConfigDumper.add_representer(TaggedValue, _represent_tagged)


def read_site_config(path: Path) -> dict[str, Any]:
    """Read mkdocs.yml safely, keeping builder-specific tags as opaque values."""
    try:
        with path.open(encoding="utf-8") as handle:
            config = yaml.load(handle, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass
    except OSError as exc:
        raise UsageError(
            f"{display_path(path)}: cannot read site configuration: {exc.strerror}"
        ) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise UsageError(f"{display_path(path)}:{line}: YAML syntax error: {exc.problem}") from None
    if not isinstance(config, dict):
        raise UsageError(f"{display_path(path)}:1: expected a mapping of MkDocs settings")
    return config


def stage(
    governance: Governance,
    *,
    config_path: Path,
    staging_dir: Path,
    site_dir: Path,
    today: date,
    monitor: MonitorView | None = None,
) -> tuple[Path, int]:
    """Write docs + generated pages + a builder configuration into `staging_dir`.

    `monitor` is the latest monitor run (its snapshot), if any: it adds the dashboard, alerts,
    costs, reviews and each agent's results and trend charts. Returns the staged configuration
    file and the number of generated pages.
    """
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
    renderer = Renderer(
        governance,
        template_dir=resources.template_dir(),
        today=today,
        monitor=monitor,
        charts=charts,
    )
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

    mermaid = docs_dir / MERMAID_ASSET
    mermaid.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(resources.asset("mermaid/mermaid.min.js"), mermaid)

    config["docs_dir"] = "docs"  # relative to the staged configuration file
    config["site_dir"] = str(site_dir)
    config["extra_javascript"] = [MERMAID_ASSET, *config.get("extra_javascript", [])]
    config |= organisation_settings(governance.organisation, config)
    if "nav" not in config:
        config["nav"] = renderer.nav(hand_written)
    staged_config = staging_dir / "mkdocs.yml"
    staged_config.write_text(
        yaml.dump(config, Dumper=_ConfigDumper, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return staged_config, len(pages)


def organisation_settings(organisation: Organisation, config: dict[str, Any]) -> dict[str, str]:
    """`site_name`, and `site_description` and `copyright` unless mkdocs.yml sets them, from the
    organisation; escaped, since the themes print them as HTML (see `markdown.theme_text`)."""
    settings = {"site_name": theme_text(organisation.handbook_title)}
    if "site_description" not in config and organisation.description.strip():
        settings["site_description"] = theme_text(organisation.description)
    if "copyright" not in config:
        settings["copyright"] = theme_text(f"© {organisation.name}")
    return settings


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
    report: Report = lambda message: None,
) -> BuildResult:
    """Render, stage and build the handbook; replace `site_dir` only when everything succeeded.

    SIGTERM and SIGHUP stop it like Ctrl-C (`playbook.core.errors.Stopped`, exit 128 + the
    signal): the builder's process group is ended, the stage directory removed and the previous
    site kept.
    """
    site_dir = site_dir.resolve()
    try:
        return _build(governance, config_path, site_dir, builder, today, monitor, report)
    except OSError as exc:  # a read-only or full disk: say where and why, keep the old site
        where = display_path(Path(exc.filename)) if exc.filename else display_path(site_dir)
        raise BuildFailed(
            f"{where}: cannot write the site: {exc.strerror or exc}; the previous site was kept"
        ) from None


def _build(
    governance: Governance,
    config_path: Path,
    site_dir: Path,
    builder: str,
    today: date,
    monitor: MonitorView | None,
    report: Report,
) -> BuildResult:
    site_dir.parent.mkdir(parents=True, exist_ok=True)
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
                governance,
                config_path=config_path,
                staging_dir=staging,
                site_dir=building,
                today=today,
                monitor=monitor,
            )
            rendered = time.perf_counter()
            report(f"rendered {pages} pages; building the site with {builder}")
            _run_builder(builder_command(builder, staged_config), cwd=staging)
            built = time.perf_counter()
            if not (building / "index.html").is_file():
                raise BuildFailed(f"the {builder} build finished but wrote no index.html")
        except Stopped as stopped:
            raise Stopped(stopped.signum, "the previous site was kept") from None
        _swap_in(building, site_dir, retired=staging / "retired")
    return BuildResult(site_dir, pages, rendered - started, built - rendered)


def _run_builder(command: list[str], *, cwd: Path) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
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
