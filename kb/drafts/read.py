"""Reading a draft: its prose blocks located in the source, citations, sentences and
suppression comments (see :mod:`kb.drafts`)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from kb.rules import lookup

__all__ = [
    "Citation",
    "Suppression",
    "Unit",
    "blank",
    "find_citations",
    "footnote_references",
    "prose",
    "read_units",
    "sentences",
]

_KEY = r"[\w](?:[\w]|[:.#$%&\-+?<>~/](?=[\w]))*"
_CITATION = re.compile(rf"(?<![\w.@])-?@(?:\{{(?P<braced>[^{{}}\s]+)\}}|(?P<key>{_KEY}))")
_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_SUPPRESSION = re.compile(
    r"^\s*kb:\s*ignore\s+(?P<codes>[A-Za-z0-9-]+(?:\s*,\s*[A-Za-z0-9-]+)*)\s*(?P<reason>.*?)\s*$", re.S
)
_LINK_DESTINATION = re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)|\]\[[^\]]*\]")
_URL = re.compile(r"<?https?://[^\s>)]+>?")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\]:?")
_SENTENCE_END = re.compile(r"(?<!\b[A-Z])(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bNo)[.!?](?=[\s)\]\"”’]|$)|[。！？；]")


@dataclass(frozen=True)
class Citation:
    key: str
    start: int  # offset of the `@` in the unit text
    end: int


@dataclass
class Unit:
    """The text of one inline block with, for each character, its source line and column."""

    text: str
    lines: list[int]  # 1-based line of each character offset
    columns: list[int]  # 1-based column
    block: tuple[int, int]  # 0-based [first, last) lines of the block

    def position(self, offset: int) -> tuple[int, int]:
        offset = min(offset, len(self.lines) - 1)
        return self.lines[offset], self.columns[offset]


@dataclass
class Suppression:
    codes: set[str]
    reason: str
    lines: tuple[int, int]  # 0-based [first, last) lines covered
    line: int
    column: int
    used: bool = False


def blank(text: str, start: int, end: int) -> str:
    """The text with [start, end) replaced by spaces (newlines kept), offsets unchanged."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _mask_code_spans(text: str) -> str:
    """Blank CommonMark code spans: a run of N backticks up to the next run of exactly N."""
    out = text
    runs = [(m.start(), m.end()) for m in re.finditer(r"(?<!\\)`+", text)]
    used = set()
    for index, (start, end) in enumerate(runs):
        if index in used:
            continue
        width = end - start
        for other in range(index + 1, len(runs)):
            if runs[other][1] - runs[other][0] == width:
                out = blank(out, start, runs[other][1])
                used.update(range(index, other + 1))
                break
    return out


def find_citations(text: str) -> list[Citation]:
    """pandoc citation keys in a text (already stripped of code and comments).

    >>> [c.key for c in find_citations("A [@claim:a-b; @src:c], @claim:d--e, x@y.com, [-@claim:f].")]
    ['claim:a-b', 'src:c', 'claim:d', 'claim:f']
    """
    return [
        Citation(m.group("braced") or m.group("key"), m.start() + m.group(0).index("@"), m.end())
        for m in _CITATION.finditer(text)
    ]


def sentences(text: str, citations: list[Citation]) -> list[tuple[int, int]]:
    """Sentence spans; a sentence made only of citations joins the one before."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    merged: list[tuple[int, int]] = []
    for span in spans:
        rest = text[span[0] : span[1]]
        for citation in citations:
            if span[0] <= citation.start < span[1]:
                rest = rest.replace(text[citation.start : citation.end], "")
        if merged and not re.search(r"\w", re.sub(r"[\[\];@-]", "", rest)):
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    return merged


def _parser() -> MarkdownIt:
    # Block structure only: the inline rules (70% of the parse time) are not needed, since
    # citations and figures are found in each block's source text.
    parser = MarkdownIt("commonmark").enable("table").use(footnote_plugin)
    parser.core.ruler.disable(["inline", "text_join", "footnote_tail"], ignoreInvalid=True)
    return parser


def _frontmatter_end(lines: list[str]) -> int:
    """Lines of a leading YAML metadata block (pandoc, Quarto), 0 when there is none."""
    if lines and lines[0].rstrip() == "---":
        for index in range(1, len(lines)):
            if lines[index].rstrip() in ("---", "..."):
                return index + 1
    return 0


def read_units(source: str) -> tuple[list[Unit], list[Suppression], list[tuple[int, int, str]]]:
    """The prose units of a draft, its suppression comments, and bad ones (line, column, why)."""
    lines = source.split("\n")
    skip = _frontmatter_end(lines)
    body = "\n" * skip + "\n".join(lines[skip:])
    tokens = _parser().parse(body)
    blocks = sorted({tuple(t.map) for t in tokens if t.map and t.nesting >= 0 and t.type != "inline"})
    units: list[Unit] = []
    comments: list[tuple[str, int, int, tuple[int, int]]] = []  # text, line, column, scope
    cell_cursor: dict[int, int] = {}
    in_cell = False
    for token in tokens:
        if token.type in ("th_open", "td_open"):
            in_cell = True
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        if token.type == "html_block" and token.map:
            first, last = token.map
            scope = _next_block(blocks, last)
            for match in _COMMENT.finditer(token.content):
                line = first + token.content[: match.start()].count("\n")
                column = lines[line].find("<!--") + 1
                comments.append((match.group(1), line + 1, column, scope))
            continue
        if token.type != "inline" or not token.map:
            continue
        first, last = token.map
        text_parts, line_of, column_of = [], [], []
        for index, content_line in enumerate(token.content.split("\n")):
            number = first + index
            if number >= len(lines):
                break
            source_line = lines[number]
            if in_cell:
                start = source_line.find(content_line, cell_cursor.get(number, 0))
                cell_cursor[number] = start + len(content_line) if start >= 0 else cell_cursor.get(number, 0)
            else:
                stripped, wanted = source_line.rstrip(), content_line.rstrip()
                start = len(stripped) - len(wanted) if stripped.endswith(wanted) else source_line.find(content_line)
            start = max(start, 0)
            if index:
                text_parts.append("\n")
                line_of.append(number + 1)
                column_of.append(start + len(content_line) + 1)
            text_parts.append(content_line)
            line_of.extend([number + 1] * len(content_line))
            column_of.extend(range(start + 1, start + len(content_line) + 1))
        text = "".join(text_parts)
        line_of.append(line_of[-1] if line_of else first + 1)
        column_of.append(column_of[-1] + 1 if column_of else 1)
        block = (first, last)
        for match in _COMMENT.finditer(text):
            line, column = line_of[match.start()], column_of[match.start()]
            comments.append((match.group(1), line, column, block))
        units.append(Unit(text, line_of, column_of, block))
    suppressions, bad = [], []
    for text, line, column, scope in comments:
        match = _SUPPRESSION.match(text)
        if not text.strip().startswith("kb:"):
            continue
        if not match:
            bad.append((line, column, "is not `<!-- kb: ignore CODE reason -->`"))
            continue
        codes, unknown = set(), []
        for name in re.split(r"\s*,\s*", match["codes"]):
            rule = lookup(name)
            (codes.add(rule.code) if rule else unknown.append(name))
        if unknown:
            bad.append((line, column, f"names no known rule: {', '.join(unknown)}"))
        elif not match["reason"]:
            bad.append((line, column, "gives no reason: write `<!-- kb: ignore CODE why it is fine -->`"))
        else:
            suppressions.append(Suppression(codes, match["reason"], scope, line, column))
    return units, suppressions, bad


def _next_block(blocks: list[tuple[int, int]], after: int) -> tuple[int, int]:
    """The widest block that starts first at or after line ``after`` (0-based)."""
    index = bisect.bisect_left(blocks, (after, -1))
    if index == len(blocks):
        return (after, after)
    start, widest = blocks[index]
    while index + 1 < len(blocks) and blocks[index + 1][0] == start:  # sorted: same start, wider end
        index += 1
        widest = blocks[index][1]
    return (start, widest)


def prose(unit: Unit) -> str:
    """The unit's text with what is not prose blanked (offsets kept): HTML comments, code
    spans, link destinations, URLs and footnote references."""
    text = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), unit.text)
    text = _mask_code_spans(text)
    for pattern in (_LINK_DESTINATION, _URL, _FOOTNOTE_REF):
        for match in pattern.finditer(text):
            keep = 1 if pattern is _LINK_DESTINATION else 0  # keep the `]`
            text = blank(text, match.start() + keep, match.end())
    return text


def footnote_references(unit: Unit) -> list[int]:
    """Offsets of the footnote references (``[^1]``) of a unit."""
    return [m.start() for m in _FOOTNOTE_REF.finditer(unit.text)]
