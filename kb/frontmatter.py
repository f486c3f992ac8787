"""Split a Markdown file into its YAML frontmatter and body, and read the YAML safely.

The YAML is read with YAML 1.2 (core schema) meaning, from parser *events*, without
PyYAML's composer or constructor:

- ``1e9`` is a number, ``NO`` and ``on`` are strings, ``2024-07-25`` is a string
  (YAML 1.2 has no timestamps: partial dates are parsed by explicit validators later);
- anchors, aliases, custom tags, duplicate keys, complex keys and a second document are
  errors, and nesting is capped at ``MAX_DEPTH``;
- every mapping key and sequence item keeps its line and column, so a schema error can
  point at the field's own line.

Building values from events with an explicit stack means no recursion in C or Python:
deep nesting gives a located error, never a ``RecursionError`` or a crash of libyaml's
recursive composer (see shared/notes/reliability.md).

>>> doc = read_frontmatter("---\\nid: x\\nvalue: 1e9\\nflag: NO\\n---\\nBody\\n")
>>> doc.data
{'id': 'x', 'value': 1000000000.0, 'flag': 'NO'}
>>> doc.positions[("value",)]
Position(line=3, column=8)
>>> doc.body, doc.body_line
('Body\\n', 6)
"""

from __future__ import annotations

import hashlib
import re
from array import array
from itertools import chain
from sys import intern
from typing import Any, NamedTuple

import yaml

from kb import MAX_FILE_BYTES

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_FRONTMATTER_BYTES",
    "Document",
    "FrontmatterError",
    "Position",
    "UnreadableNumber",
    "decode",
    "read_frontmatter",
    "resolve_plain_scalar",
]

MAX_FRONTMATTER_BYTES = 64 * 1024
MAX_DEPTH = 32

# libyaml parses (no recursion in its state machine); we only consume its events.
_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG_PREFIX = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {f"{_TAG_PREFIX}{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map")}
_ALLOWED_TAGS |= {"!"}


class Position(NamedTuple):
    """A 1-based line and column in the file."""

    line: int
    column: int


class FrontmatterError(Exception):
    """A file whose frontmatter cannot be read. ``code`` is KB001, KB002 or KB003."""

    def __init__(self, code: str, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column


class Document:
    """The frontmatter mapping, where each of its fields stands, and the Markdown body.

    Compact, because a knowledge base of 100,000 files keeps one per file for the whole run:
    the two position tables share one tuple of field paths and keep their lines and columns
    as flat arrays of unsigned ints; ``positions`` and ``key_positions`` are built as dictionaries of
    :class:`Position` only when asked for (in practice, for a file with a finding). Once a
    file has validated, :meth:`drop_data` lets go of the raw mapping (the model holds the
    values). Together these halve what a loaded file holds (measured with tracemalloc:
    12.6 KiB per file before).
    """

    __slots__ = ("_flat", "_key_flat", "_paths", "body", "body_line", "data", "head")

    def __init__(
        self,
        data: dict[str, Any],
        positions: dict[tuple, Position] | None = None,
        key_positions: dict[tuple, Position] | None = None,
        body: str = "",
        body_line: int = 1,
        head: bytes | None = None,
    ):
        self.data = data
        self.body = body
        self.body_line = body_line
        # a digest of the frontmatter's text: two versions of a file with the same head (and
        # path) have the same model and positions, whatever their bodies (kb.incremental)
        self.head = head
        positions = positions or {}
        key_positions = key_positions or {}
        if key_positions.keys() != positions.keys():  # never from the reader; kept exact anyway
            key_positions = {path: key_positions.get(path, where) for path, where in positions.items()}
        self._paths = tuple(positions)
        self._flat = _packed(chain.from_iterable(positions.values()))
        self._key_flat = _packed(chain.from_iterable(key_positions[path] for path in self._paths))

    @property
    def positions(self) -> dict[tuple, Position]:
        """Field path -> where its value starts (a table built for each call)."""
        return _table(self._paths, self._flat)

    @property
    def key_positions(self) -> dict[tuple, Position]:
        """Field path -> where its key starts (a table built for each call)."""
        return _table(self._paths, self._key_flat)

    def position_of(self, path: tuple) -> Position | None:
        """Where the value of one field path starts, read from the packed table: no table of
        every path is built (kept for each file with a finding, those were 75 MB at 100k)."""
        return _at(self._paths, self._flat, path)

    def key_position_of(self, path: tuple) -> Position | None:
        """Where the key of one field path starts."""
        return _at(self._paths, self._key_flat, path)

    def drop_data(self) -> None:
        """Forget the raw mapping (after validation: the model has the values)."""
        self.data = {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return (self.data, self._paths, self._flat, self._key_flat, self.body, self.body_line) == (
            other.data,
            other._paths,
            other._flat,
            other._key_flat,
            other.body,
            other.body_line,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Document(data={self.data!r}, positions={self.positions!r}, body={self.body!r})"

    def __reduce__(self):
        # The packed tables as they are: no Position object is pickled (a NamedTuple is rebuilt
        # through a Python-level __getnewargs__, and 20,000 files have 800,000 positions).
        state = (self.data, self._paths, self._flat, self._key_flat, self.body, self.body_line, self.head)
        return (_document, state)


_INTERNED = 64  # scalars up to this length are interned (sys.intern)
_PATHS: dict[tuple, tuple] = {}  # one tuple per field path, shared by every file of a run


def _shared_path(path: tuple) -> tuple:
    """The one copy of ``path`` (("evidence", 0, "quote") is the same in 100,000 files);
    bounded, so that hostile files with endless distinct keys cannot grow it without end."""
    shared = _PATHS.get(path)
    if shared is not None:
        return shared
    if len(_PATHS) < 100_000:
        _PATHS[path] = path
    return path


def _packed(numbers) -> array:
    """Lines and columns as an array of 16-bit numbers, or of 32-bit ones when one is larger
    (a line past 65,535): half the bytes for nearly every file."""
    packed = array("I", numbers)
    return array("H", packed) if not packed or max(packed) < 1 << 16 else packed


def _at(paths: tuple, flat: array, path: tuple) -> Position | None:
    try:
        index = paths.index(path)
    except ValueError:
        return None
    return tuple.__new__(Position, (flat[2 * index], flat[2 * index + 1]))


def _table(paths: tuple, flat: array) -> dict[tuple, Position]:
    numbers = iter(flat)
    new = tuple.__new__
    return {path: new(Position, (line, column)) for path, line, column in zip(paths, numbers, numbers, strict=True)}


# The tuples of field paths of unpickled documents, one per distinct shape (most files have
# one of a few hundred); bounded, as kb.models.FIELDS_SETS.
_PATH_TUPLES: dict[tuple, tuple] = {}


def _document(data, paths, flat, key_flat, body, body_line, head=None) -> Document:
    # Each path comes shared (pickle keeps one copy per shard or chunk), but the tuple of a
    # document's paths is one per document: 600 bytes a claim, 66 MB at 100k files.
    if len(_PATH_TUPLES) < 10_000:
        paths = _PATH_TUPLES.setdefault(paths, paths)
    document = Document.__new__(Document)
    document.data, document.body, document.body_line, document.head = data, body, body_line, head
    document._paths, document._flat, document._key_flat = paths, flat, key_flat
    return document


def decode(raw: bytes) -> str:
    """Decode file bytes as UTF-8 text (KB001 when that is not possible).

    >>> decode(b"\\xef\\xbb\\xbfid: x\\r\\n")
    'id: x\\n'
    """
    if len(raw) > MAX_FILE_BYTES:
        raise FrontmatterError("KB001", f"file is {len(raw):,} bytes, over the limit of {MAX_FILE_BYTES:,}")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise FrontmatterError("KB001", "file contains a NUL byte: is it a binary file?", line)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FrontmatterError(
            "KB001", f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})", line, column
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


_ODD_BREAKS = re.compile("[\x85\u2028\u2029]")  # libyaml breaks lines there; kb's line numbers would drift
_FENCE = re.compile(r"^---[ \t]*$")
_CLOSE = re.compile(r"^(---|\.\.\.)[ \t]*$")


def read_frontmatter(text: str) -> Document:
    """Split ``text`` into frontmatter and body and read the frontmatter."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        raise FrontmatterError("KB002", "no frontmatter: the file must start with a line `---`")
    for end in range(1, len(lines)):
        if _CLOSE.match(lines[end]):
            break
    else:
        raise FrontmatterError("KB002", "unterminated frontmatter: no closing `---` line", 1, 1)
    source = "\n".join(lines[1:end]) + "\n"
    if odd := _ODD_BREAKS.search(source):
        offset = odd.start()
        line = source.count("\n", 0, offset) + 2
        column = offset - (source.rfind("\n", 0, offset) + 1) + 1
        message = f"frontmatter contains the line separator U+{ord(odd.group()):04X}: use a plain newline"
        raise FrontmatterError("KB003", message, line, column)
    if len(source.encode("utf-8")) > MAX_FRONTMATTER_BYTES:
        raise FrontmatterError("KB001", f"frontmatter is over the limit of {MAX_FRONTMATTER_BYTES:,} bytes")
    body = "\n".join(lines[end + 1 :])
    head = hashlib.blake2b(source.encode("utf-8"), digest_size=16).digest()
    from kb.plain_yaml import load_plain  # (it imports this module)

    if (plain := load_plain(source, 2)) is not None:  # the plain YAML most files are written in
        data, paths, flat, key_flat = plain
        return _document(data, paths, _packed(flat), _packed(key_flat), body, end + 2, head)
    data, positions, key_positions = _load(source, first_line=2)
    if data is None:
        raise FrontmatterError("KB002", "empty frontmatter: expected a mapping of fields")
    if not isinstance(data, dict):
        raise FrontmatterError("KB002", f"frontmatter is a {_kind(data)}, expected a mapping of fields", 2, 1)
    return Document(data, positions, key_positions, body, end + 2, head)


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(value), "value")


# ----------------------------------------------------------------- YAML 1.2 core schema
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


class UnreadableNumber:
    """A plain scalar YAML 1.2 reads as a number that kb cannot keep as written: hexadecimal
    or octal (YAML 1.1 reads ``0o17`` as text and ``017`` as 15, YAML 1.2 the reverse, so a
    figure written so means different things to different tools), over 100 characters, or a
    float that would become infinite or 0. No field accepts it: the schema reports ``reason``
    at the field's own line (KB004), and the file's id is still known.
    """

    __slots__ = ("reason", "text")

    def __init__(self, text: str, reason: str):
        self.text = text
        self.reason = reason

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 40 else self.text[:37] + "..."

    __str__ = __repr__


_NONZERO = re.compile(r"[1-9]")


def _number(value: str) -> Any:
    shown = value if len(value) <= 40 else value[:37] + "..."
    if _INT8.match(value) or _INT16.match(value):
        base = "octal" if value[1] == "o" else "hexadecimal"
        return UnreadableNumber(value, f"`{shown}` is written in {base}: write figures in decimal")
    if len(value) > 100:
        return UnreadableNumber(value, f"the number `{shown}` has more than 100 characters")
    if _INT10.match(value):
        return int(value)
    number = float(value)
    if number in (float("inf"), float("-inf")):
        return UnreadableNumber(value, f"the number `{shown}` is too large to store")
    if not number and _NONZERO.search(value.partition("e")[0].partition("E")[0]):
        return UnreadableNumber(value, f"the number `{shown}` is too small to store (it would become 0)")
    return number


# The first characters of every null, boolean and number of the core schema.
_SPECIAL_FIRST = frozenset("~nNtTfF.+-0123456789")


def resolve_plain_scalar(value: str) -> Any:
    """The value of an untagged plain scalar under the YAML 1.2 core schema.

    >>> [resolve_plain_scalar(v) for v in ["1e3", "NO", "on", "012", "2024-07-25", "0x1F", "~"]]
    [1000.0, 'NO', 'on', 12, '2024-07-25', 0x1F, None]
    """
    if value and value[0] not in _SPECIAL_FIRST:
        return value  # most scalars are words: no null, boolean or number starts so
    if _NULL.match(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT10.match(value) or _INT8.match(value) or _INT16.match(value) or _FLOAT.match(value):
        return _number(value)
    if _INF.match(value):
        return float("-inf") if value.startswith("-") else float("inf")
    if _NAN.match(value):
        return float("nan")
    return value


def _tagged_scalar(tag: str, value: str) -> Any:
    """A scalar with an explicit standard tag (``!!int 12``); ValueError if it does not fit."""
    name = tag.removeprefix(_TAG_PREFIX)
    if name == "str":
        return value
    resolved = resolve_plain_scalar(value)
    expected = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}.get(name)
    if expected is None or isinstance(resolved, bool) != (name == "bool") or not isinstance(resolved, expected):
        raise ValueError(f"`{value}` is not a valid !!{name}")
    return float(resolved) if name == "float" else resolved


# ----------------------------------------------------------------- event-driven builder
class _Frame:
    __slots__ = ("container", "key", "key_mark", "path", "seen")

    def __init__(self, container: Any, path: tuple):
        self.container = container
        self.path = path
        self.key: Any = _NO_KEY
        self.key_mark: Position | None = None
        self.seen: dict[str, Position] = {}


_NO_KEY = object()


def _load(source: str, first_line: int) -> tuple[Any, dict, dict]:
    """Build Python values from the YAML events of ``source``."""
    try:
        return _build(yaml.parse(source, Loader=_Parser), first_line)
    except FrontmatterError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _position(mark, first_line) if mark else Position(first_line, 1)
        problem = exc.problem or str(exc)
        if exc.context and "mapping" in exc.context and "duplicate" not in problem:
            problem = f"{problem} ({exc.context})"
        raise FrontmatterError("KB003", f"YAML syntax error: {problem}", *pos) from None
    except yaml.reader.ReaderError as exc:
        line = source.count("\n", 0, exc.position) + first_line
        column = exc.position - (source.rfind("\n", 0, exc.position) + 1) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise FrontmatterError(
            "KB003", f"YAML cannot contain the control character U+{character:04X}", line, column
        ) from None
    except Exception as exc:
        raise FrontmatterError("KB003", f"YAML could not be read: {exc}", first_line) from None


def _position(mark: Any, first_line: int) -> Position:
    return _new_tuple(Position, (mark.line + first_line, mark.column + 1))  # C-level, not the NamedTuple's __new__


_new_tuple = tuple.__new__


def _build(events: Any, first_line: int) -> tuple[Any, dict, dict]:
    positions: dict[tuple, Position] = {}
    key_positions: dict[tuple, Position] = {}
    stack: list[_Frame] = []
    root: Any = None
    documents = 0

    def place(value: Any, mark: Position) -> tuple:
        """Put a finished value into the current container; return its path."""
        nonlocal root
        if not stack:
            root = value
            return ()
        frame = stack[-1]
        if type(frame.container) is list:
            path = _shared_path((*frame.path, len(frame.container)))
            frame.container.append(value)
            positions[path] = mark
            key_positions[path] = mark
            return path
        if frame.key is _NO_KEY:
            if not isinstance(value, str):
                raise FrontmatterError("KB003", f"key `{value}` must be text (quote it)", *mark)
            if value in frame.seen:
                first = frame.seen[value]
                raise FrontmatterError("KB003", f"duplicate key `{value}` (first defined on line {first.line})", *mark)
            frame.seen[value] = mark
            frame.key, frame.key_mark = value, mark
            return ()
        path = _shared_path((*frame.path, frame.key))
        frame.container[frame.key] = value
        positions[path] = mark
        key_positions[path] = frame.key_mark or mark
        frame.key = _NO_KEY
        return path

    # dispatch on the exact event class (libyaml's events are these classes): isinstance
    # chains were a fifth of the builder's time
    scalar, mapping, sequence = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    for event in events:
        kind = type(event)
        if kind is scalar or kind is mapping or kind is sequence:
            mark = _position(event.start_mark, first_line)
            if event.anchor is not None:
                raise FrontmatterError("KB003", f"anchors (&{event.anchor}) are not allowed", *mark)
            tag = event.tag
            if tag is not None and tag not in _ALLOWED_TAGS:
                raise FrontmatterError("KB003", f"custom tag `{tag}` is not allowed", *mark)
            if kind is scalar:
                if not event.style and tag is None:
                    value = resolve_plain_scalar(event.value)
                elif tag is not None and tag != "!":
                    try:
                        value = _tagged_scalar(tag, event.value)
                    except (ValueError, OverflowError) as exc:
                        raise FrontmatterError("KB003", str(exc), *mark) from None
                else:
                    value = event.value
                if type(value) is str and len(value) <= _INTERNED:
                    value = intern(value)  # keys, ids, names, units repeat across files: one copy each
                place(value, mark)
                continue
            if stack and type(stack[-1].container) is dict and stack[-1].key is _NO_KEY:
                raise FrontmatterError("KB003", "keys must be plain text, not a mapping or a list", *mark)
            if len(stack) >= MAX_DEPTH:
                raise FrontmatterError("KB003", f"nesting is deeper than {MAX_DEPTH} levels", *mark)
            container: Any = {} if kind is mapping else []
            path = place(container, mark)
            stack.append(_Frame(container, path))
        elif kind in ends:
            stack.pop()
        elif kind is yaml.AliasEvent:
            mark = _position(event.start_mark, first_line)
            raise FrontmatterError("KB003", f"aliases (*{event.anchor}) are not allowed", *mark)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                mark = _position(event.start_mark, first_line)
                raise FrontmatterError("KB003", "a second YAML document is not allowed in frontmatter", *mark)
    return root, positions, key_positions
