"""Markdown bodies to safe HTML, at build time.

cmark-gfm (GitHub's CommonMark parser, in C: linear time, 4× quicker than markdown-it-py,
whose 220 µs a note were over a third of parsing a file), with tables and ``~~strikethrough~~``,
then nh3 with a small allow-list: no script, style, svg, math or iframe; only http, https
and mailto links, with ``rel="nofollow noopener noreferrer"``. No script from a file ever
runs in a reader's browser.

Raw HTML is not HTML here: a note that says ``<b>`` shows ``<b>``, as markdown-it's
``html=False`` showed it. cmark-gfm has no such switch (its safe mode drops the tag and
what it wraps would lose text), so every ``<`` that does not open an autolink and is not
escaped is held back as a character no Markdown rule reads (:data:`_HELD`, Unicode
punctuation like ``<``, so emphasis next to it parses the same) and written back as
``&lt;``. A note that contains that character itself goes to markdown-it.

>>> render_markdown("**5 billion** <script>alert(1)</script> [x](javascript:alert(1)) [y](https://a.example)")
'<p><strong>5 billion</strong> &lt;script&gt;alert(1)&lt;/script&gt; <a href="" rel="nofollow noopener noreferrer">x</a> <a href="https://a.example" rel="nofollow noopener noreferrer">y</a></p>\\n'
"""

from __future__ import annotations

import html
import re

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

__all__ = ["MAX_MARKUP_CHARACTERS", "MAX_RENDERED_LENGTH", "RENDERER", "render_markdown"]

# What the HTML of a note depends on besides the note: a database whose notes another
# renderer wrote is rebuilt whole, not patched (kb.database.notes)
RENDERER = f"cmark-gfm {cmarkgfm.cmark.CMARK_VERSION} nh3 {nh3.__version__}"

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
    "s",
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
_OPTIONS = Options.CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE | Options.CMARK_OPT_TABLE_PREFER_STYLE_ATTRIBUTES
_EXTENSIONS = ["table", "strikethrough"]
_HELD = "\u2e2e"  # ⸮, REVERSED QUESTION MARK: punctuation, and in no Markdown rule
# CommonMark's autolinks (<scheme:…> and <address@host>), which keep their "<"
_AUTOLINK = re.compile(
    r"<(?:[A-Za-z][A-Za-z0-9.+-]{1,31}:[^\x00-\x20<>]*"
    r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>"
)
_OPEN = re.compile(r"(?<!\\)((?:\\\\)*)<")  # a "<" after an even number of backslashes: not escaped
# A link destination in angle brackets, `[x](<a b>)` or `[x]: <a b>`: its "<" is kept when
# the rest of the link follows (then it is no HTML for either parser); when it does not,
# markdown-it shows the text, so the "(" or ":" before it is escaped as well: a held "<"
# would start a destination cmark-gfm accepts, a link (or definition) markdown-it never made.
_TITLE = r"""(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?"""
_INLINE_AFTER = re.compile(r"<[^<>\n]*>" + _TITLE + r"\s*\)")
_INLINE_BEFORE = re.compile(r"\]\([ \t]*\n?[ \t]*\Z")
_DEFINITION_AFTER = re.compile(r"<[^<>\n]*>" + _TITLE.replace(r"\s", "[ \t]") + r"[ \t]*(?:\n|\Z)")
_DEFINITION_BEFORE = re.compile(r"(?:\A|\n) {0,3}\[[^\]\n]+\]:[ \t]*\n?[ \t]*\Z")


# A line the parser renders as plain paragraph text, character for character: none of the
# characters that open inline markup, entities or raw HTML, no character that starts a
# block (indent, list marker or number, heading, quote, rule, setext line, table), no tab,
# control character, no-break space (nh3 writes it as &nbsp;) or byte-order mark (cmark-gfm
# drops one at the start).
_NOT_PLAIN = re.compile(r"[\\`*_\[\]<>&#|~!\t\x00-\x1f\x7f-\xa0\ufeff]|^[0-9+=-]")


def plain_paragraphs(text: str) -> str | None:
    """The HTML of a body of plain paragraphs, without the Markdown parser; None when any
    line might be markup (then :func:`render_markdown` parses it). More than half the
    bodies of the shipped corpus are plain, and the parser and nh3 take 50 µs for each.
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
    """cmark-gfm, then nh3: what :func:`render_markdown` does for a body that is not plain."""
    if _HELD in text:
        return _render_markdown_it(text)
    rendered = cmarkgfm.markdown_to_html_with_extensions(_hold(text), options=_OPTIONS, extensions=_EXTENSIONS)
    return _clean(rendered.replace(_HELD, "&lt;").replace("<del>", "<s>").replace("</del>", "</s>"))


def _hold(text: str) -> str:
    """``text`` with every "<" that is neither escaped, an autolink's nor a link destination's
    held back (and the "(" or ":" before a destination that is no link escaped)."""
    if "<" not in text:
        return text
    edits: dict[int, str] = {}
    for match in _OPEN.finditer(text):
        at = match.end() - 1
        if _AUTOLINK.match(text, at):
            continue
        before = text[max(0, at - 1100) : at]  # (a link label is at most 999 characters)
        for after, preceded, opener in (
            (_INLINE_AFTER, _INLINE_BEFORE, "]("),
            (_DEFINITION_AFTER, _DEFINITION_BEFORE, "]:"),
        ):
            if found := preceded.search(before):
                if after.match(text, at):
                    break  # a destination: kept
                edits[at - len(before) + found.start() + found.group().rindex(opener) + 1] = "\\" + opener[1]
                edits[at] = _HELD
                break
        else:
            edits[at] = _HELD
    if not edits:
        return text
    parts, last = [], 0
    for position in sorted(edits):
        parts += [text[last:position], edits[position]]
        last = position + 1
    parts.append(text[last:])
    return "".join(parts)


def _render_markdown_it(text: str) -> str:
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
    return _clean(parser.render(text))


def _clean(rendered: str) -> str:
    return nh3.clean(
        rendered,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
