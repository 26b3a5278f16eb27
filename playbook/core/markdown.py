"""Escaping for values that come from YAML and end up in Markdown pages.

Every `{{ value }}` in a template passes through `escape`: HTML is neutralised (a name of
`<script>` shows as text) and Markdown syntax is backslash-escaped so that a value never turns into
a link, emphasis, a table cell border or a list. Template-made markup is wrapped in `Markup`
and left alone.
"""

from __future__ import annotations

import functools
import html
import posixpath
import re
from urllib.parse import urlsplit

from markupsafe import Markup

_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]|{}])")
_ANCHOR = re.compile(r"^[A-Za-z0-9_-]+$")
_LINE_START_SPECIALS = re.compile(r"^(\s*)([-+#]|\d+(?=[.)]))")


def escape(value: object) -> str:
    """Text safe to place anywhere inline in a Markdown page (including a table cell)."""
    if isinstance(value, Markup):
        return str(value)
    if value is None:
        return ""
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    text = _INLINE_SPECIALS.sub(r"\\\1", text)
    return _LINE_START_SPECIALS.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker.isdigit():  # "1." would start an ordered list: escape the dot, not the digits
        return f"{indent}{marker}\\"
    return f"{indent}\\{marker}"


def attribute(value: object) -> str:
    """Text safe inside a double-quoted HTML attribute."""
    return html.escape(str(value), quote=True)


def link(text: object, target: str) -> Markup:
    """A Markdown link to a page govkit generated (targets never come from YAML)."""
    return Markup(f"[{escape(text)}]({target})")


def external_link(text: object, url: str | None) -> Markup:
    """An HTML link for a URL written in YAML; anything but http(s) or mailto stays plain text."""
    if not url:
        return Markup(escape(text))
    if urlsplit(url).scheme not in {"http", "https", "mailto"}:
        return Markup(escape(f"{text} ({url})"))
    return Markup(f'<a href="{attribute(url)}">{escape(text)}</a>')


def mailto(email: str) -> Markup:
    return external_link(email, f"mailto:{email}")


def anchor(value: object) -> Markup:
    """An element id for `{ #id }` and `#id` links; ids are validated slugs, checked again here."""
    text = str(value)
    if not _ANCHOR.match(text):
        raise ValueError(f"not a safe anchor: {text!r}")
    return Markup(text)


def code(value: object) -> Markup:
    """Inline code as HTML: Markdown backslash escapes would show literally inside backticks."""
    return Markup(f"<code>{html.escape(str(value), quote=False)}</code>")


def front_matter_title(value: object) -> Markup:
    """A `title:` for a page's YAML front matter, as a single-quoted YAML string.

    Themes print it as HTML in <title>: MkDocs Material as given, Zensical after decoding
    entities. Dropping angle brackets is the one form safe in both; the page's heading keeps the
    exact text.
    """
    text = " ".join(str(value).replace("<", " ").replace(">", " ").split())
    escaped = html.escape(text, quote=False).replace("'", "''")
    return Markup(f"'{escaped}'")


def theme_text(value: object) -> str:
    """A value for the site configuration (`site_name`, `site_description`, `copyright`).

    MkDocs Material and Zensical print these as HTML without escaping them, as text and inside
    double-quoted attributes (the description's `<meta content>`, the logo's `aria-label`), so
    they arrive escaped, quotes included. Neither decodes them again; the one place that escapes
    them a second time (the logo's `title` tooltip) shows the entities rather than the text.
    """
    return html.escape(" ".join(str(value).split()), quote=True)


def mermaid_text(value: object) -> Markup:
    """A label safe inside a Mermaid diagram: letters, digits, spaces and simple punctuation."""
    return Markup(re.sub(r"[^\w .,&()/'+-]", " ", str(value)).strip() or "-")


@functools.lru_cache(maxsize=65_536)
def relative(from_page: str, to_page: str) -> str:
    """The relative Markdown link from one generated page to another (`a/b.md` -> `c.md#x`).

    Both are paths within the docs directory, taken from its root ("/"): never the process's
    working directory, which `relpath` would otherwise ask the system for on every link. Kept:
    a page of a thousand agents links the same pages thousands of times."""
    target, _, anchor = to_page.partition("#")
    path = posixpath.relpath(f"/{target}", f"/{posixpath.dirname(from_page)}")
    return f"{path}#{anchor}" if anchor else path
