"""kb.render: raw HTML shown as text, autolinks and escapes as CommonMark has them, and the
plain-paragraph fast path gives exactly what the parser + nh3 give."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kb.frontmatter import read_frontmatter
from kb.render import _render_markdown_it, plain_paragraphs, render_markdown, render_parsed

ROOT = Path(__file__).resolve().parent.parent

# every character class that matters to CommonMark, plus text, CJK and odd whitespace
ALPHABET = [
    *"aZ09 .,;:'\"()[]{}<>&#*_`~!|\\/-+=?@$%^\t\n",
    *["\n\n", "中", "亏损", "\u00a0", "\u3000", "é", "1. ", "- ", "\x0c", "\x01", "\x7f", "\x85", "\u2028"],
    *["\ufeff", "\u200b"],
]


@given(st.lists(st.sampled_from(ALPHABET), max_size=60).map("".join))
@example('Plain text.\n\nA second paragraph, with (brackets) and "quotes".')
@example("2024. A line starting with a year")
@example("Line\n===")
@example("trailing space \nnext")
@example("\u3000indented by an ideographic space")
def test_fast_path_equals_the_parser(text):
    text = text.strip()
    fast = plain_paragraphs(text)
    if fast is not None:
        assert fast == render_parsed(text)
    assert render_markdown(text) == (fast if fast is not None else render_parsed(text))


def test_fast_path_on_the_shipped_corpus():
    bodies = [
        read_frontmatter(path.read_text(encoding="utf-8")).body.strip()
        for folder in ("claims", "sources")
        for path in sorted((ROOT / folder).rglob("*.md"))
    ]
    plain = [body for body in bodies if body and plain_paragraphs(body) is not None]
    assert len(plain) > len(bodies) / 3  # most notes are plain prose
    for body in plain:
        assert plain_paragraphs(body) == render_parsed(body)


@pytest.mark.parametrize(
    ("note", "html"),
    [
        (
            "<b>x</b> and <script>alert(1)</script>",
            "<p>&lt;b&gt;x&lt;/b&gt; and &lt;script&gt;alert(1)&lt;/script&gt;</p>\n",
        ),
        ("<div>\nblock\n</div>", "<p>&lt;div&gt;\nblock\n&lt;/div&gt;</p>\n"),
        ("<!-- a comment -->", "<p>&lt;!-- a comment --&gt;</p>\n"),
        (
            "<https://a.example> <me@a.example>",
            '<p><a href="https://a.example" rel="nofollow noopener noreferrer">'
            'https://a.example</a> <a href="mailto:me@a.example" rel="nofollow noopener noreferrer">me@a.example</a></p>\n',
        ),
        ("\\<b> and \\\\<b>", "<p>&lt;b&gt; and \\&lt;b&gt;</p>\n"),
        (
            "`<code>` and\n\n    <indented>",
            "<p><code>&lt;code&gt;</code> and</p>\n<pre><code>&lt;indented&gt;\n</code></pre>\n",
        ),
        ("*<em>*", "<p><em>&lt;em&gt;</em></p>\n"),
        ("~~struck~~, ~about~ 5", "<p><s>struck</s>, ~about~ 5</p>\n"),
        (
            "| a | b |\n|:--|--:|\n| 1 | 2 |",
            "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n"
            "<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>\n",
        ),
        (
            "[x](javascript:alert(1)) ![i](https://a.example/i.png)",
            '<p><a href="" rel="nofollow noopener noreferrer">x</a> </p>\n',
        ),
    ],
)
def test_notes_render_as_commonmark_with_raw_html_as_text(note, html):
    assert render_markdown(note) == html


def test_a_note_with_the_held_character_is_rendered_by_markdown_it():
    # "\u2e2e" stands in for "<" inside the cmark-gfm path: a note that has one goes elsewhere
    assert render_markdown("⸮ <b>x</b> **y**") == "<p>⸮ &lt;b&gt;x&lt;/b&gt; <strong>y</strong></p>\n"


@pytest.mark.parametrize(
    "note",
    [
        "[x](<https://a.example/a b>)",
        '[x](<https://a.example/a> "a title")',
        "[x]: <https://a.example/a b>\n\n[y][x]",
        "[x](<b>)",
        "[x](<script>alert(1)</script>)",
        "before [x](<script>) [y](<a>b>) after",
        "[x]: <script>alert(1)\n\n[x]",
        " [a:b]: <c>d\n\n[a:b]",
        "[x](\n<https://a.example/c d>)",
    ],
)
def test_angle_bracket_destinations_render_as_markdown_it_renders_them(note):
    """A "<" that opens a link destination is no HTML: kept when the link is whole, else the
    link is broken as markdown-it has it (the held character never starts a destination)."""
    assert render_parsed(note) == _render_markdown_it(note)


LINKISH = ["[x]", "(", ")", "<", ">", "b", " ", "\n", ":", "]", "[", '"t"', "https://a.example", "\\", "`", "*"]


@given(st.lists(st.sampled_from(LINKISH), max_size=25).map("".join))
@example("[x](<b)")
@example("[x]: <b\n\n[x]")
def test_the_held_character_never_reaches_the_html(note):
    html = render_parsed(note)
    assert "\u2e2e" not in html and "%E2%B8%AE" not in html
