"""Markdown bodies to safe HTML, at build time.

markdown-it-py (CommonMark, raw HTML off: linear time on pathological input) then nh3
with a small allow-list: no script, style, svg, math or iframe; only http, https and
mailto links, with ``rel="nofollow noopener noreferrer"``. No script from a file ever
runs in a reader's browser.

>>> render_markdown("**5 billion** <script>alert(1)</script> [x](javascript:alert(1)) [y](https://a.example)")
'<p><strong>5 billion</strong> &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1)) <a href="https://a.example" rel="nofollow noopener noreferrer">y</a></p>\\n'
"""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt

__all__ = ["MAX_MARKUP_CHARACTERS", "MAX_RENDERED_LENGTH", "render_markdown"]

# markdown-it-py is linear, but with a large constant on the characters that open links,
# images, emphasis, entities and raw HTML: about 25 µs each, so a 1 MiB body of `[` took 25 s
# to render and stalled `kb build` (and `kb serve --watch` behind it). A real note has a few
# dozen of them. Past either budget the body is shown as plain text (escaped, in <pre>):
# nothing is lost, the build stays fast, and the source file is untouched.
MAX_RENDERED_LENGTH = 64 * 1024
MAX_MARKUP_CHARACTERS = 4000
_MARKUP = re.compile(r"[\[\]!_*&<`]")

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


# A line markdown-it renders as plain paragraph text, character for character: none of the
# characters that open inline markup, entities or raw HTML, no character that starts a
# block (indent, list marker or number, heading, quote, rule, setext line, table), no tab,
# control character or no-break space.
_NOT_PLAIN = re.compile(r"[\\`*_\[\]<>&#|~!\t\x00-\x1f\x7f-\xa0]|^[0-9+=-]")  # nh3 writes U+00A0 as &nbsp;


def plain_paragraphs(text: str) -> str | None:
    """The HTML of a body of plain paragraphs, without the Markdown parser; None when any
    line might be markup (then :func:`render_markdown` parses it). More than half the
    bodies of the shipped corpus are plain, and markdown-it takes 180 µs for each.
    tests/test_render.py checks it equals the full rendering on generated text."""
    paragraphs: list[list[str]] = [[]]
    for line in text.split("\n"):
        if not line:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        if line[0].isspace() or line[-1].isspace() or _NOT_PLAIN.search(line):
            return None
        paragraphs[-1].append(line)
    return "".join("<p>" + "\n".join(lines) + "</p>\n" for lines in paragraphs if lines)


def render_markdown(text: str) -> str:
    """Safe HTML for a Markdown body (plain text past the budgets above)."""
    if len(text) > MAX_RENDERED_LENGTH or len(_MARKUP.findall(text, 0, MAX_RENDERED_LENGTH)) > MAX_MARKUP_CHARACTERS:
        return f'<pre class="kb-plain-text">{html.escape(text)}</pre>\n'
    if (plain := plain_paragraphs(text)) is not None:
        return plain
    return render_parsed(text)


def render_parsed(text: str) -> str:
    """markdown-it, then nh3: what :func:`render_markdown` does for a body that is not plain."""
    rendered = _MARKDOWN.render(text)
    return nh3.clean(
        rendered,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
