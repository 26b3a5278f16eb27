"""The site builder's configuration: read from the site owner's `mkdocs.yml`, completed for one
build and written into the stage directory (never back into `mkdocs.yml`).

govkit sets the directories, the organisation's names, the navigation and its own assets; for an
offline build (`govkit build --offline`, or an `offline` plugin in `mkdocs.yml`) also plain file
URLs and search without a server. MkDocs Material and Zensical read the same result.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from playbook.core import resources
from playbook.core.errors import UsageError, display_path
from playbook.core.markdown import theme_text
from playbook.core.model import Organisation

MERMAID_ASSET = "assets/govkit/mermaid.min.js"
# Material's and Zensical's offline plugins fetch this shim from unpkg.com unless a polyfill
# whose URL names `iframe-worker` is configured: the bundled copy keeps search working offline.
IFRAME_WORKER_ASSET = "assets/govkit/iframe-worker/shim.js"
OFFLINE_PLUGIN = "offline"
# Above this many agents the navigation lists the registry rather than every agent page: each
# page carries the whole navigation, so listing every agent makes the build grow with the square
# of their number (and a sidebar of a thousand names helps nobody).
NAV_AGENTS_LIMIT = 200


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


def write_site_config(config: dict[str, Any], path: Path) -> None:
    path.write_text(
        yaml.dump(config, Dumper=_ConfigDumper, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )


def organisation_settings(organisation: Organisation, config: dict[str, Any]) -> dict[str, str]:
    """`site_name`, and `site_description` and `copyright` unless mkdocs.yml sets them, from the
    organisation; escaped, since the themes print them as HTML (see `markdown.theme_text`)."""
    settings = {"site_name": theme_text(organisation.handbook_title)}
    if "site_description" not in config and organisation.description.strip():
        settings["site_description"] = theme_text(organisation.description)
    if "copyright" not in config:
        settings["copyright"] = theme_text(f"© {organisation.name}")
    return settings


def _plugin_names(plugins: Any) -> list[str]:
    """Plugin names as mkdocs.yml lists them: `- search`, `- search: {...}`, or a mapping."""
    if isinstance(plugins, dict):
        return [str(name) for name in plugins]
    names = []
    for entry in plugins or []:
        if isinstance(entry, dict):
            names += [str(name) for name in entry]
        else:
            names.append(str(entry))
    return names


def is_offline(config: dict[str, Any]) -> bool:
    """Whether mkdocs.yml itself asks for an offline site (an `offline` plugin)."""
    return OFFLINE_PLUGIN in _plugin_names(config.get("plugins"))


def offline_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What a site opened from `file://` needs: file URLs (`page.html`, not `page/`), the
    builder's offline plugin (the search index inlined as a script) and the bundled iframe-worker
    shim that lets search run its worker from a file."""
    plugins = config.get("plugins", ["search"])
    if OFFLINE_PLUGIN not in _plugin_names(plugins):
        if isinstance(plugins, dict):
            plugins = {**plugins, OFFLINE_PLUGIN: {}}
        else:
            plugins = [*(plugins or []), OFFLINE_PLUGIN]
    extra = dict(config.get("extra") or {})
    polyfills = list(extra.get("polyfills") or [])
    if not any("iframe-worker" in str(script) for script in polyfills):
        polyfills.append(IFRAME_WORKER_ASSET)
    extra["polyfills"] = polyfills
    return {"use_directory_urls": False, "plugins": plugins, "extra": extra}


def without_pages(nav: list[Any], pages: set[str]) -> list[Any]:
    """`nav` with the entries that point at `pages` left out (sections kept)."""
    kept: list[Any] = []
    for entry in nav:
        if isinstance(entry, dict):
            entry = {
                title: without_pages(value, pages) if isinstance(value, list) else value
                for title, value in entry.items()
                if not (isinstance(value, str) and value in pages)
            }
            if entry:
                kept.append(entry)
        elif entry not in pages:
            kept.append(entry)
    return kept


def copy_assets(docs_dir: Path, *, offline: bool) -> None:
    """govkit's own scripts, bundled rather than fetched: Mermaid, and for an offline site the
    iframe-worker shim."""
    copies = {MERMAID_ASSET: "mermaid/mermaid.min.js"}
    if offline:
        copies[IFRAME_WORKER_ASSET] = "iframe-worker/shim.js"
    for target, source in copies.items():
        destination = docs_dir / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resources.asset(source), destination)
