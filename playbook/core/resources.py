"""Where govkit's own files are: in the wheel (`playbook/_bundled`) or in a source checkout.

A wheel carries the templates, the example governance, the default docs and `mkdocs.yml` under
`playbook/_bundled/`; an editable install or a plain checkout reads them from the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # playbook/
_BUNDLED = _PACKAGE / "_bundled"
_CHECKOUT = _PACKAGE.parent


def _root() -> Path:
    return _BUNDLED if _BUNDLED.is_dir() else _CHECKOUT


def template_dir() -> Path:
    return _root() / "templates"


def example_governance() -> Path:
    return _root() / "governance"


def default_site_config() -> Path:
    return _root() / "mkdocs.yml"


def asset(name: str) -> Path:
    return _PACKAGE / "assets" / name
