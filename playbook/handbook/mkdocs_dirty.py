"""`mkdocs serve --dirty` for `govkit serve`, safe against a page rewritten during a build.

MkDocs decides twice per page whether a dirty build must render it: once when it reads the
Markdown, once when it writes the HTML, each time by comparing modification times. When govkit
rewrites a page between the two (an edit arriving while the previous one is still being built),
the page is written without having been read, and MkDocs 1.6 fails with a traceback deep in the
search plugin. Such a page is skipped here instead: its new modification time has already set off
the watcher, whose next build renders it. Pages are still rendered by govkit before MkDocs runs;
this changes only which pages one dirty build writes.
"""

from __future__ import annotations

from typing import Any

from mkdocs.__main__ import cli
from mkdocs.commands import build

_build_page = build._build_page


def _build_page_read_in_this_build(page: Any, *args: Any, **kwargs: Any) -> None:
    if page.content is None:  # not read by this build: changed after it began
        return
    _build_page(page, *args, **kwargs)


def main() -> None:
    build._build_page = _build_page_read_in_this_build
    cli()


if __name__ == "__main__":
    main()
