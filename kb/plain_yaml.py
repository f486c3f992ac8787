"""A quick reader for the plain YAML that nearly all frontmatter is written in.

:func:`kb.frontmatter.read_frontmatter` asks this module first, and its strict reader (libyaml's
events, :func:`kb.frontmatter._load`) only when the answer is None. The answer is None for
anything outside a small, line-based subset of YAML, so this reader never has to decide a
hard case; in the subset it gives exactly what the strict reader gives: the same values
(YAML 1.2 core schema, through the same :func:`kb.frontmatter.resolve_plain_scalar`), the
same interned strings and shared field paths, the same positions of every value and key, in
the same order. ``tests/test_plain_yaml.py`` compares the two on every file of the shipped
corpus, on a generated knowledge base, and on hypothesis-made frontmatter.

The subset, line by line (blank lines and whole-line comments are skipped):

- ``key: value`` at the mapping's indentation; a key is a word (letters, digits, ``_``, ``-``,
  not starting with a digit or ``-``) that the core schema reads as text, never twice in a
  mapping;
- a value is a plain scalar on one line (no ``: ``, no `` #``, not starting with an indicator,
  printable), a one-line double-quoted scalar without ``\\`` or a single-quoted one without
  ``'`` inside, a one-line flow sequence ``[a, b]`` of plain words, or a one-line flow
  mapping ``{a: b, c: "d"}`` of words to plain or double-quoted scalars;
- ``key:`` alone is followed by a block mapping or a block sequence indented two more spaces;
- a sequence item ``- `` holds one such value or a mapping whose further keys line up with its
  first (``- source: …`` then ``  quote: …``).

Everything else (multi-line and block scalars, escapes, comments after a value, tabs, other
indentations, anchors, aliases, tags, empty values, nested flow collections…) goes to the
strict reader, which also gives every error its located message. 95% of the files of the
shipped corpus and of a generated one are in the subset. Why: the strict reader spends about
200 µs a file (on this project's machine) building values and positions from libyaml's
events; this one about half of that, and it gives the positions packed, as a document keeps
them, without a Position object or a dictionary of them per file.
"""

from __future__ import annotations

import re
from sys import intern
from typing import Any

from kb.frontmatter import _shared_path, resolve_plain_scalar

__all__ = ["load_plain"]

# `key:` and what follows it on the line (None: nothing; "" or spaces: nothing either); a key
# of up to 1,000 characters (libyaml refuses an implicit key of over 1,024: the strict reader
# reports it)
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,999}):(?:$| +(.*)$)")
_DOUBLE = re.compile(r'"([^"\\]*)" *$')
_SINGLE = re.compile(r"'([^']*)' *$")
# What a plain scalar may not start with (YAML's indicators; '-' may, before a non-space,
# outside a flow collection: negative figures), and may not contain in a flow collection.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_STOP = re.compile(r"[\[\]{}#'\":&*!|>%@`]")
# one `key: value` pair of a one-line flow mapping, and the comma after it
_FLOW_PAIR = re.compile(r' *([A-Za-z_][A-Za-z0-9_-]{0,999}): +(?:"([^"\\]*)"|([^,\[\]{}#"\':&*!|>%@`]+)) *(,|$)')
# What libyaml's reader refuses anywhere, comments included (the strict reader reports it), a
# carriage return (a line break to libyaml) and a tab (it may indent nothing in YAML)
_UNREADABLE = re.compile("[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_LEVELS = 8  # deeper frontmatter goes to the strict reader (its cap is kb.frontmatter.MAX_DEPTH)
_TEXT_KEYS: dict[str, bool] = {}  # key -> whether the core schema reads it as text (bounded)


class _NotPlain(Exception):
    """The text is outside the subset: the strict reader reads it."""


def load_plain(source: str, first_line: int) -> tuple[dict, tuple, list[int], list[int]] | None:
    """(data, field paths, the flat list of their values' lines and columns, the flat list of
    their keys' lines and columns) of frontmatter ``source`` whose first line is line
    ``first_line`` of the file: what :func:`kb.frontmatter._load` gives as (data, positions,
    key positions), in the form :class:`kb.frontmatter.Document` packs them; None when the
    text is outside the subset (the module's docstring)."""
    if _UNREADABLE.search(source):
        return None
    rows = []  # (line index, indentation, the text after it) of each line with content
    for index, line in enumerate(source.split("\n")):
        text = line.lstrip(" ")
        if text and text[0] != "#":
            rows.append((index + first_line, len(line) - len(text), text))
    if not rows:
        return None
    reader = _Reader(rows)
    try:
        data = reader.mapping(0, (), 0)
    except _NotPlain:
        return None
    if reader.row < len(rows):
        return None
    return data, tuple(reader.paths), reader.flat, reader.key_flat


def _plain(text: str, flow: bool = False) -> bool:
    """Whether ``text`` (stripped) is a plain scalar the subset reads as the strict reader does."""
    if not text or " #" in text or not text.isprintable():
        return False
    first = text[0]
    if first in _INDICATORS and (flow or first != "-" or len(text) == 1 or text[1] == " "):
        return False
    if flow:
        return _FLOW_STOP.search(text) is None
    return ": " not in text and text[-1] != ":"


def _text_key(key: str) -> bool:
    known = _TEXT_KEYS.get(key)
    if known is None:
        known = type(resolve_plain_scalar(key)) is str
        if len(_TEXT_KEYS) < 10_000:
            _TEXT_KEYS[key] = known
    return known


class _Reader:
    """The subset's reader over the lines with content; positions go to flat lists of
    (line, column) numbers, 1-based, in the order the strict reader records them."""

    __slots__ = ("flat", "key_flat", "paths", "row", "rows")

    def __init__(self, rows: list[tuple[int, int, str]]):
        self.rows, self.row = rows, 0
        self.paths: list[tuple] = []
        self.flat: list[int] = []
        self.key_flat: list[int] = []

    def place(self, path: tuple, line: int, column: int, key_line: int, key_column: int) -> None:
        self.paths.append(path)
        self.flat += (line, column)
        self.key_flat += (key_line, key_column)

    def mapping(self, indent: int, path: tuple, level: int) -> dict:
        if level > MAX_LEVELS:
            raise _NotPlain
        result: dict[str, Any] = {}
        rows = self.rows
        while self.row < len(rows):
            line, here, text = rows[self.row]
            if here < indent:
                break
            match = _KEY.match(text) if here == indent else None
            if match is None:
                raise _NotPlain
            key = match.group(1)
            if key in result or not _text_key(key):
                raise _NotPlain  # a duplicate, or a key the core schema reads as a number, null…
            key = intern(key)
            child = _shared_path((*path, key))
            rest = match.group(2)
            self.row += 1
            if rest and rest.strip(" "):
                column = here + match.start(2)
                result[key] = self.inline(rest, line, column, child, line, here + 1)
            else:
                result[key] = self.block(indent + 2, child, line, here + 1, level)
        return result

    def block(self, indent: int, path: tuple, key_line: int, key_column: int, level: int) -> Any:
        """The block mapping or sequence a ``key:`` line opens (indented two more spaces)."""
        if self.row >= len(self.rows):
            raise _NotPlain  # an empty value (null)
        line, here, text = self.rows[self.row]
        if here != indent:
            raise _NotPlain
        self.place(path, line, indent + 1, key_line, key_column)
        if text.startswith("- "):
            return self.sequence(indent, path, level + 1)
        return self.mapping(indent, path, level + 1)

    def sequence(self, indent: int, path: tuple, level: int) -> list:
        if level > MAX_LEVELS:
            raise _NotPlain
        items: list[Any] = []
        rows = self.rows
        while self.row < len(rows):
            line, here, text = rows[self.row]
            if here < indent:
                break
            if here > indent or len(text) < 3 or not text.startswith("- ") or text[2] == " ":
                raise _NotPlain
            item = _shared_path((*path, len(items)))
            content = indent + 2
            if _KEY.match(text, 2):
                # a mapping in the item: its first key on the dash's line, the others under it
                self.place(item, line, content + 1, line, content + 1)
                rows[self.row] = (line, content, text[2:])
                items.append(self.mapping(content, item, level + 1))
            else:
                self.row += 1
                items.append(self.inline(text[2:], line, content, item, 0, 0))
        return items

    def inline(self, rest: str, line: int, start: int, path: tuple, key_line: int, key_column: int) -> Any:
        """The value written on the line after the key (or the dash) from column ``start``
        (0-based); ``key_line`` 0: an item of a sequence, whose key position is its own."""
        text = rest.lstrip(" ")
        column = start + len(rest) - len(text) + 1
        if key_line:
            self.place(path, line, column, key_line, key_column)
        else:
            self.place(path, line, column, line, column)
        first = text[0]
        if first == '"' or first == "'":
            match = (_DOUBLE if first == '"' else _SINGLE).match(text)
            if match is None or not match.group(1).isprintable():
                raise _NotPlain
            value = match.group(1)
            return intern(value) if len(value) <= 64 else value
        text = text.rstrip(" ")
        if first == "[":
            return self.flow(text, line, column, path)
        if first == "{":
            return self.flow_mapping(text, line, column, path)
        if not _plain(text):
            raise _NotPlain
        return _scalar(text)

    def flow(self, text: str, line: int, column: int, path: tuple) -> list:
        """A one-line flow sequence of plain scalars: ``[a, b, c]``."""
        if len(text) < 2 or text[-1] != "]":
            raise _NotPlain
        inner = text[1:-1]
        if not inner.strip(" "):
            if inner:
                raise _NotPlain  # `[ ]`: left to the strict reader
            return []
        items: list[Any] = []
        offset = column + 1
        for part in inner.split(","):
            item = part.strip(" ")
            if not _plain(item, flow=True):
                raise _NotPlain
            at = offset + len(part) - len(part.lstrip(" "))
            self.place(_shared_path((*path, len(items))), line, at, line, at)
            items.append(_scalar(item))
            offset += len(part) + 1
        return items

    def flow_mapping(self, text: str, line: int, column: int, path: tuple) -> dict:
        """A one-line flow mapping of words to plain or double-quoted scalars: ``{a: b, c: "d"}``."""
        if len(text) < 2 or text[-1] != "}":
            raise _NotPlain
        inner, result = text[1:-1], {}
        at = 0
        while at < len(inner):
            match = _FLOW_PAIR.match(inner, at)
            if match is None or (match.group(4) == "," and match.end() == len(inner)):
                raise _NotPlain  # anything else, or a trailing comma
            key, quoted, plain = match.group(1), match.group(2), match.group(3)
            if key in result or not _text_key(key):
                raise _NotPlain
            key = intern(key)
            if quoted is not None:
                if not quoted.isprintable():
                    raise _NotPlain
                value: Any = intern(quoted) if len(quoted) <= 64 else quoted
                start = match.start(2) - 1
            else:
                plain = plain.rstrip(" ")
                if not _plain(plain, flow=True):
                    raise _NotPlain
                value, start = _scalar(plain), match.start(3)
            self.place(_shared_path((*path, key)), line, column + 1 + start, line, column + 1 + match.start(1))
            result[key] = value
            at = match.end()
        return result


def _scalar(text: str) -> Any:
    value = resolve_plain_scalar(text)
    if type(value) is str and len(value) <= 64:
        value = intern(value)
    return value
