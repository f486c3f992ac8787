"""The frontmatter reader: YAML 1.2 meaning, refused features, located errors, no crash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.frontmatter import FrontmatterError, decode, read_frontmatter


def fm(body: str) -> str:
    return f"---\n{body}---\n"


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        ("v: 1e9\n", 1e9),
        ("v: NO\n", "NO"),
        ("v: on\n", "on"),
        ("v: 012\n", 12),
        ("v: 1.10\n", 1.1),
        ("v: 2024-07-25\n", "2024-07-25"),
        ("v: '2024'\n", "2024"),
        ("v: 2024\n", 2024),
        ("v: true\n", True),
        ("v: ~\n", None),
        ("v: 1:30\n", "1:30"),
        ("v: !!str 5\n", "5"),
        ("v: !!float 5\n", 5.0),
        ("v: 50亿美元\n", "50亿美元"),
    ],
)
def test_yaml_1_2_meaning(yaml, expected):
    assert read_frontmatter(fm(yaml)).data["v"] == expected


@pytest.mark.parametrize(
    ("text", "code", "line", "column", "words"),
    [
        ("no frontmatter\n", "KB002", 1, 1, "no frontmatter"),
        ("---\nid: x\n", "KB002", 1, 1, "unterminated"),
        ("---\n---\n", "KB002", 1, 1, "empty"),
        ("---\n- a\n---\n", "KB002", 2, 1, "a list"),
        ("---\na: 1\nb: 2\na: 3\n---\n", "KB003", 4, 1, "duplicate key `a` (first defined on line 2)"),
        ("---\na: &x 1\nb: *x\n---\n", "KB003", 2, 4, "anchors"),
        ("---\nb: *x\n---\n", "KB003", 2, 4, "alias"),
        ("---\na: !python/object x\n---\n", "KB003", 2, 4, "custom tag"),
        ("---\na: !!int abc\n---\n", "KB003", 2, 4, "not a valid !!int"),
        ("---\na: [1, 2\n---\n", "KB003", 3, 1, "YAML syntax error"),
        ("---\n? [a]\n: 1\n---\n", "KB003", 2, 3, "keys must be plain text"),
        ("---\n1: x\n---\n", "KB003", 2, 1, "must be text"),
        ("---\na: 1\n---\nb: 2\n---\n", None, None, None, None),
    ],
)
def test_refused_and_located(text, code, line, column, words):
    if code is None:
        assert read_frontmatter(text).data == {"a": 1}
        return
    with pytest.raises(FrontmatterError) as info:
        read_frontmatter(text)
    assert (info.value.code, info.value.line, info.value.column) == (code, line, column)
    assert words in info.value.message


def test_first_closing_line_ends_the_frontmatter():
    doc = read_frontmatter("---\na: 1\n... \nb: 2\n---\n")
    assert doc.data == {"a": 1} and doc.body == "b: 2\n---\n"


@pytest.mark.parametrize("depth", [33, 500, 25_000])
def test_deep_nesting_is_an_error_not_a_crash(depth):
    with pytest.raises(FrontmatterError) as info:
        read_frontmatter(fm("a: " + "[" * depth + "\n"))
    assert info.value.code in ("KB001", "KB003")


def test_block_nesting_limit():
    text = "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "v\n"
    with pytest.raises(FrontmatterError, match="nesting is deeper than 32"):
        read_frontmatter(fm(text))


def test_positions_of_fields_and_items():
    doc = read_frontmatter(fm("id: x\nevidence:\n  - source: s\n    quote: q\n"))
    assert doc.positions[("id",)] == (2, 5)
    assert doc.positions[("evidence", 0)] == (4, 5)
    assert doc.positions[("evidence", 0, "quote")] == (5, 12)
    assert doc.key_positions[("evidence", 0, "quote")] == (5, 5)


def test_body_and_crlf():
    doc = read_frontmatter(decode(b"---\r\nid: x\r\n---\r\n# Notes\r\n"))
    assert doc.data == {"id": "x"}
    assert doc.body == "# Notes\n"
    assert doc.body_line == 4


@pytest.mark.parametrize(
    ("raw", "line", "words"),
    [
        (b"---\nid: x\n\x00\n", 3, "NUL"),
        (b"---\nid: \xff\n", 2, "UTF-8"),
        (b"x" * (1024 * 1024 + 1), 1, "over the limit"),
    ],
)
def test_unreadable_bytes(raw, line, words):
    with pytest.raises(FrontmatterError) as info:
        decode(raw)
    assert info.value.code == "KB001" and info.value.line == line and words in info.value.message


def test_oversized_frontmatter():
    with pytest.raises(FrontmatterError, match="frontmatter is over the limit"):
        read_frontmatter(fm("a: '" + "x" * 70_000 + "'\n"))


_TOKENS = st.sampled_from(
    [
        "a",
        ":",
        " ",
        "\n",
        "-",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&x",
        "*x",
        "!!int",
        "!t",
        "'",
        '"',
        "?",
        "|",
        ">",
        "#",
        "1e3",
        "NO",
        "  ",
        "\t",
        "%",
        "@",
        "2024-02-30",
        "<<",
        "~",
        "\x85",
        "\ufeff",
        "...",
        "---",
    ]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_TOKENS, max_size=40).map("".join))
def test_never_raises_anything_but_frontmatter_error(body):
    try:
        doc = read_frontmatter("---\n" + body + "\n---\n")
    except FrontmatterError as exc:
        assert exc.code in ("KB001", "KB002", "KB003") and exc.line >= 1 and exc.column >= 1
    else:
        assert isinstance(doc.data, dict)
