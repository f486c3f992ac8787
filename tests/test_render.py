"""The plain-paragraph fast path of kb.render gives exactly what markdown-it + nh3 give."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from kb.frontmatter import read_frontmatter
from kb.render import plain_paragraphs, render_markdown, render_parsed

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
