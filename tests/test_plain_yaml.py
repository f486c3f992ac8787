"""kb.plain_yaml reads the plain YAML subset exactly as the strict reader does, or declines.

Every comparison reads a text twice: through :func:`kb.frontmatter.read_frontmatter` as kb
runs it (the plain reader first), and with the plain reader switched off (the strict reader,
libyaml's events); the two documents must be equal in everything a document holds (values
with their types, the field paths in order, every value's and key's line and column, the
body, the head), or both readings must fail with the same located error.

The speed: ``.venv/bin/python -m timeit -s 'from kb.frontmatter import read_frontmatter as r;
t=open("claims/openai/openai-2024-net-loss.md").read()' 'r(t)'`` (and with kb.plain_yaml's
``load_plain`` replaced by ``lambda *a: None`` for the strict reader): about half the time.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb import plain_yaml
from kb.frontmatter import FrontmatterError, decode, read_frontmatter

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def _strict_only():
    saved = plain_yaml.load_plain
    plain_yaml.load_plain = lambda *args: None
    try:
        yield
    finally:
        plain_yaml.load_plain = saved


def _read(text: str):
    try:
        document = read_frontmatter(text)
    except FrontmatterError as exc:
        return ("error", exc.code, exc.message, exc.line, exc.column)
    return (
        repr(document.data),  # repr: 1, 1.0 and True differ, as NaN equals itself
        [type(value).__name__ for value in _leaves(document.data)],
        document._paths,
        list(document._flat),
        list(document._key_flat),
        document.body,
        document.body_line,
        document.head,
    )


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _both(text: str) -> tuple:
    quick = _read(text)
    with _strict_only():
        strict = _read(text)
    return quick, strict


def _plain_taken(text: str) -> bool:
    source = text.split("---\n")[1]
    return plain_yaml.load_plain(source, 2) is not None


def _files(*folders: Path) -> list[Path]:
    return sorted(path for folder in folders for path in folder.rglob("*.md"))


def test_every_file_of_the_shipped_corpus_reads_the_same():
    files = _files(ROOT / "claims", ROOT / "sources", ROOT / "tests" / "fixtures", ROOT / "examples")
    taken = 0
    for path in files:
        try:
            text = decode(path.read_bytes())
        except FrontmatterError:
            continue
        quick, strict = _both(text)
        assert quick == strict, path
        taken += text.startswith("---\n") and "\n---\n" in text and _plain_taken(text)
    assert len(files) > 900 and taken > 0.8 * len(files)  # the plain reader does read most files


def test_a_generated_knowledge_base_reads_the_same(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(tmp_path / "kb"), "--claims", "400"],
        check=True,
        capture_output=True,
    )
    files = _files(tmp_path / "kb")
    taken = 0
    for path in files:
        text = decode(path.read_bytes())
        quick, strict = _both(text)
        assert quick == strict, path
        taken += _plain_taken(text)
    assert len(files) >= 440 and taken > 0.9 * len(files)


TYPICAL = """---
id: openai-2024-net-loss
statement: "OpenAI could lose $5 billion in 2024."
kind: projection
subject: OpenAI
metric: net_loss
value: 5 billion
unit: USD
period: 2024
qualifiers: {basis: "net of Amazon's share", scope: company}
stated: 2024-07-24
evidence:
  - source: the-information-2024
    quote: "OpenAI 今年可能亏损 50 亿美元"
    locator: line 12
  - source: reuters-2024
    quote: 'single: quoted'
tags: [openai, losses, 1e3]
derived_from:
  formula: "a / 12"
  inputs:
    a: openai-2024-revenue
---
Body.
"""


def test_a_typical_claim_is_read_by_the_plain_reader():
    assert _plain_taken(TYPICAL)
    quick, strict = _both(TYPICAL)
    assert quick == strict and quick[0].startswith("{'id': 'openai-2024-net-loss'")


@pytest.mark.parametrize(
    "line",
    [
        "value: 5 billion # a comment",
        "value: |\n  block",
        "value: >\n  folded",
        'value: "escaped \\" quote"',
        "value: 'it''s'",
        "value: &anchor 5",
        "value: *alias",
        "value: !!str 5",
        "value: !custom 5",
        "value:",
        "value: a: b",
        "value: ends with:",
        "value:\tx",
        "\tvalue: x",
        "value: [ ]",
        "value: [a, [b]]",
        "value: [a, ]",
        "value: {a: b, }",
        "value: {a: [b]}",
        "value: ? x",
        "value: - x",
        "true: x",
        "1: x",
        "null: x",
        "id: again",
        "value: multi\n  line",
        "list:\n- at the parent's indentation",
        "list:\n  -   extra spaces",
        "list:\n  -",
        "map:\n   three: spaces",
        "value: x\u00a0y",
        "value: %reserved",
        "value: @reserved",
        "value: `reserved`",
        "k" * 1100 + ": a key longer than libyaml takes",
        "k" * 1025 + ": v",
        "list:\n  - " + "k" * 1030 + ": v",
        # what libyaml refuses in a comment too (found by a hostile review), and a carriage
        # return there, a line break to libyaml
        "# \x01 control",
        "# \x7f delete",
        "# \x9f C1",
        "# \x0c form feed",
        "# \ufffe",
        "# a\rb: y",
        "# a\r\rk: x",
        "value: {" + "k" * 1100 + ": x}",
    ],
)
def test_what_the_plain_reader_declines_reads_as_the_strict_reader_has_it(line):
    text = f"---\nid: x\n{line}\n---\nBody\n"
    assert not _plain_taken(text)
    quick, strict = _both(text)
    assert quick == strict


# Lines of frontmatter built from the pieces that make YAML hard: indicators, comments,
# quotes, flow collections, numbers and words the core schema reads as other types, Chinese,
# odd indentations, blank and comment lines, duplicate keys.
_KEYS = st.sampled_from(["id", "value", "tags", "a-b", "_x", "Key", "true", "1", "null", "on", "k"])
_SCALARS = st.sampled_from(
    [
        "5 billion",
        "-5",
        "- x",
        "1e3",
        "0x1F",
        "0o17",
        "017",
        "1_000",
        ".inf",
        "-.INF",
        ".nan",
        "~",
        "true",
        "False",
        "no",
        "2024-07-25",
        "a: b",
        "a #b",
        "a#b",
        "https://x.example/y?z=1",
        "'q'",
        "'it''s'",
        '"d"',
        '"e \\" f"',
        '"tab\\there"',
        '""',
        "[a, b]",
        "[a,b]",
        "[]",
        "[ ]",
        "[1, -2, x y]",
        "{a: b}",
        '{a: "b, c", d: e}',
        "{}",
        "{a: b,}",
        "&a x",
        "*a",
        "!t x",
        "|",
        ">",
        "%x",
        "@x",
        "`x`",
        "亏损 50 亿美元",
        "x:",
        ":x",
        "?x",
        "-",
        "a,b",
        "trail   ",
        "x # c",
        "\u00a0nb",
        "ＯｐｅｎＡＩ",
    ]
)
_LINES = st.one_of(
    st.builds("{}{}:".format, st.sampled_from(["", "  ", "    ", " ", "   "]), _KEYS),
    st.builds("{}{}: {}".format, st.sampled_from(["", "  ", "    ", " "]), _KEYS, _SCALARS),
    st.builds("{}{}:  {}".format, st.sampled_from(["", "  "]), _KEYS, _SCALARS),
    st.builds("{}- {}".format, st.sampled_from(["", "  ", "    ", " "]), _SCALARS),
    st.builds("{}- {}: {}".format, st.sampled_from(["", "  ", "    "]), _KEYS, _SCALARS),
    st.builds("{}- {}:".format, st.sampled_from(["  ", "    "]), _KEYS),
    st.sampled_from(["", "# a comment", "  # indented comment", "   "]),
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_LINES, min_size=1, max_size=12))
def test_any_frontmatter_reads_as_the_strict_reader_has_it(lines):
    text = "---\n" + "\n".join(lines) + "\n---\nBody\n"
    quick, strict = _both(text)
    assert quick == strict


# Whole documents of nested block mappings and sequences, rendered with the indentation the
# plain reader takes, their scalars from the tricky ones above and from ordinary ones (so
# that most documents are in the subset and the comparison is of two readings, not of two
# refusals).
_ORDINARY = st.sampled_from(["OpenAI", "5 billion", "2024", "line 12", "亏损 50 亿", "USD/year", "a, b", "x-y"])
_VALUES = st.one_of(_ORDINARY, _ORDINARY, _ORDINARY, _ORDINARY, _SCALARS)
_WORDS = st.sampled_from(
    [
        "id",
        "value",
        "source",
        "quote",
        "tags",
        "a-b",
        "_x",
        "Key",
        "k",
        "on",
        "no",
        "unit",
        "via",
        "period",
        "stance",
        "locator",
        "metric",
        "b2",
        "true",
        "1",
    ]
)


@st.composite
def _document_lines(draw, indent: int = 0, depth: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    keys = draw(st.lists(_WORDS, min_size=1, max_size=4, unique=True))
    if draw(st.integers(0, 9)) == 0:
        keys.append(keys[0])  # now and then a duplicate key
    for key in keys:
        shape = draw(st.sampled_from(["scalar", "scalar", "mapping", "sequence"] if depth < 3 else ["scalar"]))
        if shape == "scalar":
            lines.append(f"{pad}{key}: {draw(_VALUES)}")
        elif shape == "mapping":
            lines.append(f"{pad}{key}:")
            lines += draw(_document_lines(indent + 2, depth + 1))
        else:
            lines.append(f"{pad}{key}:")
            for _ in range(draw(st.integers(1, 3))):
                if draw(st.booleans()):
                    lines.append(f"{pad}  - {draw(_VALUES)}")
                else:
                    item = draw(_document_lines(indent + 4, depth + 1))
                    lines.append(f"{pad}  - {item[0].lstrip(' ')}")
                    lines += item[1:]
    return lines


@settings(max_examples=2500, deadline=None)
@given(_document_lines())
def test_any_nested_frontmatter_reads_as_the_strict_reader_has_it(lines):
    text = "---\n" + "\n".join(lines) + "\n---\nBody\n"
    quick, strict = _both(text)
    assert quick == strict
