"""Corpus text on a page without Markdown: no Streamlit here.

Titles, passages, outlet names, document ids and urls come from the corpus, and Streamlit renders
the text of ``st.markdown``, ``st.caption``, ``st.header`` and alerts as Markdown. Passages are
shown with ``st.text`` (no Markdown at all); where corpus text sits in a caption or a heading it
goes through :func:`escape_markdown` first, so nothing in it becomes a link, an image, an icon or
formatting. A link is built only from a url :func:`safe_url` accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["WORD_JOINER", "escape_markdown", "markdown_link", "markdown_table", "safe_url"]

_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
"""What CommonMark lets a backslash escape: every ASCII punctuation character."""

WORD_JOINER = "\u2060"
"""An invisible character that splits what GitHub-flavoured Markdown and Streamlit find in plain
text after the escapes are resolved: bare urls (``https://``, ``www.``), e-mail addresses and
``:shortcode:`` emoji and icons."""

_WWW = re.compile(r"(?i)(www)(?=\\\.)")
_LINE_END = re.compile(r"\r\n?|\n")
"""A line end in any of the forms that CommonMark reads as one (a cell must stay on its row)."""
_COLON = re.compile(r"\\:(?=\S)")
"""A colon that could open a url (``https://``) or a ``:shortcode:`` (not one before a space)."""


def escape_markdown(text: object) -> str:
    """``text`` as Markdown that renders as exactly that text (apart from invisible joiners)."""
    value = "" if text is None else str(text)
    escaped = "".join("\\" + c if c in _PUNCTUATION else c for c in value)
    escaped = _COLON.sub("\\:" + WORD_JOINER, escaped).replace("\\@", WORD_JOINER + "\\@")
    return _WWW.sub(lambda m: m.group(1) + WORD_JOINER, escaped)


def safe_url(url: object) -> str | None:
    """``url`` when it is an http(s) address that a Markdown link can hold as it is (no ``)``,
    backslash, angle bracket or whitespace); else None."""
    if not isinstance(url, str):
        return None
    if not url.lower().startswith(("http://", "https://")):
        return None
    if any(c in url for c in ")\\<>") or any(c.isspace() for c in url):
        return None
    return url


def markdown_link(text: str, url: object) -> str:
    """A Markdown link ``[text](url)`` (text escaped), or "" when the url is not safe."""
    checked = safe_url(url)
    return f"[{escape_markdown(text)}]({checked})" if checked else ""


def markdown_table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    formats: Sequence[Callable[[Any], str] | None] | None = None,
) -> str:
    """A Markdown table of ``rows`` under ``header``, each cell formatted by its column's
    function in ``formats`` (``str`` where None; an empty cell for None values) and escaped, so
    corpus text in a cell renders as itself and a ``|`` does not split it."""
    formats = list(formats or [None] * len(header))

    def cell(value: Any, fmt: Callable[[Any], str] | None) -> str:
        if value is None:
            return ""
        return _LINE_END.sub(" ", escape_markdown((fmt or str)(value)))

    lines = [
        "| " + " | ".join(escape_markdown(h) for h in header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += [
        "| " + " | ".join(cell(v, f) for v, f in zip(row, formats, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines)
