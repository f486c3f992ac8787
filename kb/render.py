"""Markdown bodies to safe HTML, at build time.

markdown-it-py (CommonMark, raw HTML off: linear time on pathological input) then nh3
with a small allow-list: no script, style, svg, math or iframe; only http, https and
mailto links, with ``rel="nofollow noopener noreferrer"``. No script from a file ever
runs in a reader's browser.

>>> render_markdown("**5 billion** <script>alert(1)</script> [x](javascript:alert(1)) [y](https://a.example)")
'<p><strong>5 billion</strong> &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1)) <a href="https://a.example" rel="nofollow noopener noreferrer">y</a></p>\\n'
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

__all__ = ["render_markdown"]

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")


def render_markdown(text: str) -> str:
    """Safe HTML for a Markdown body."""
    html = _MARKDOWN.render(text)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
