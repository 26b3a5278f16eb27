"""`govkit serve`'s MkDocs: a page rewritten while a dirty build runs waits for the next build."""

from __future__ import annotations

from types import SimpleNamespace

from playbook.handbook import mkdocs_dirty


def test_a_page_not_read_by_this_build_is_left_to_the_next(monkeypatch):
    built = []
    monkeypatch.setattr(mkdocs_dirty, "_build_page", lambda page, *a, **k: built.append(page))
    unread, read = SimpleNamespace(content=None), SimpleNamespace(content="<p>hello</p>")

    for page in (unread, read):
        mkdocs_dirty._build_page_read_in_this_build(page, "config", [], "nav", "env", True)

    assert built == [read]


def test_serve_runs_mkdocs_through_the_guard():
    from pathlib import Path

    from playbook.handbook.serve import _serve_command

    command = _serve_command("mkdocs", Path("mkdocs.yml"), "127.0.0.1:8000")
    assert command[1:4] == ["-m", "playbook.handbook.mkdocs_dirty", "serve"]
    assert "--dirty" in command
