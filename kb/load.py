"""Load a knowledge base: collect the files, read their frontmatter, validate the models.

Every file is read and every problem collected (rules KB001–KB007) before anything is
reported; a file that fails is left out of the corpus but its id is remembered, so that
references to it do not cascade into "unknown source" findings.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, ValidationError

from kb.findings import Finding
from kb.frontmatter import MAX_FILE_BYTES, Document, FrontmatterError, Position, decode, read_frontmatter
from kb.inputs import collect_files
from kb.models import (
    ID_MAX_LENGTH,
    ID_PATTERN,
    Claim,
    Source,
    shared_fields_set,
)
from kb.progress import Progress, quiet
from kb.settings import Settings
from kb.validation import problems

__all__ = [
    "Corpus",
    "Loaded",
    "Record",
    "assemble",
    "collect_files",
    "load_corpus",
    "load_file",
    "raw_references",
    "read_bytes",
]

Kind = Literal["claim", "source"]


@dataclass
class Record:
    """A file that loaded: its model, its place and where each field stands."""

    kind: Kind
    path: str
    model: Claim | Source
    document: Document
    body_html: str | None = None  # the body rendered once (kb.render), for the database

    @property
    def id(self) -> str:
        return self.model.id

    def position(self, *path: object) -> Position:
        """Where a field (or the nearest enclosing field) stands in the file."""
        return _locate(self.document.position_of, tuple(path))

    def key_position(self, *path: object) -> Position:
        return _locate(self.document.key_position_of, tuple(path))


@dataclass
class Corpus:
    """Everything that loaded, plus the findings of loading."""

    settings: Settings
    claims: dict[str, Record] = field(default_factory=dict)
    sources: dict[str, Record] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    broken_ids: set[str] = field(default_factory=set)
    broken_references: set[str] = field(default_factory=set)
    # kb.inputs.files_digest of {relative path: sha256 of the bytes that were parsed (None:
    # not readable as a file)}: what the fingerprint of this load is made of (the hashes
    # themselves are not kept: 20 MB at 100k files); None: not loaded from files
    files_digest: str | None = None
    # (kind, relative path, Loaded) of every file read, in reading order, the ones left out of
    # the corpus (failed, duplicate) included: what kb.incremental indexes (when asked for)
    loaded: list[tuple[str, str, Loaded]] = field(default_factory=list, repr=False)
    # relative path -> sha256 of the bytes parsed, when asked for (kb.incremental's state; a
    # build does without these 20 MB at 100k files)
    hashes: dict[str, str | None] | None = field(default=None, repr=False)

    def record(self, id_: str) -> Record | None:
        return self.claims.get(id_) or self.sources.get(id_)


def _locate(position_of, path: tuple) -> Position:
    """The position of ``path``, else of the nearest enclosing path that has one
    (``position_of``: :meth:`Document.position_of` or :meth:`Document.key_position_of`)."""
    while path:
        if (found := position_of(path)) is not None:
            return found
        path = path[:-1]
    return Position(2, 1)


def read_bytes(path: Path, root: Path) -> bytes:
    """The bytes of a claim or source file, or FrontmatterError KB001 saying why not.

    Only regular files are read: the file is opened without blocking (a FIFO would wait for
    a writer forever), checked with ``fstat`` on that same descriptor (no race between check
    and read), refused by size before anything is read, and read up to the limit only.
    """
    if path.is_symlink():
        target = path.resolve()
        outside = not target.is_relative_to(root.resolve())
        where = f"{target}, outside the knowledge base" if outside else str(target)
        if target.is_dir():
            raise FrontmatterError(
                "KB001",
                f"symbolic link to a folder is not followed (it points to {where}): "
                "move the files into the knowledge base, or link each file",
            )
        if outside:
            raise FrontmatterError("KB001", "symbolic link points outside the knowledge base")
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device"
            raise FrontmatterError("KB001", f"not a regular file ({what}): only regular files are read")
        if info.st_size > MAX_FILE_BYTES:
            raise FrontmatterError(
                "KB001", f"file is {info.st_size:,} bytes, over the limit of {MAX_FILE_BYTES:,}: it was not read"
            )
        # The size fstat gave, plus one byte to see the end: a read of the limit's size
        # allocates a 1 MiB buffer each time (20 µs, twice a file: 4 s of a 100k build);
        # a file that grows meanwhile is read on in chunks, up to the limit.
        chunks, size, want = [], 0, info.st_size + 1
        while size <= MAX_FILE_BYTES and (chunk := os.read(descriptor, min(want, MAX_FILE_BYTES + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
            want = 1 << 16
        return b"".join(chunks)  # a file that grew past the limit since fstat: decode() refuses it
    finally:
        os.close(descriptor)


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


_REFERENCE_KEYS = {"source", "via", "cites", "translation_of"}


def raw_references(data: object) -> set[str]:
    """Source ids a file that failed validation seems to refer to (so that they are not
    reported as unused because of it).

    >>> sorted(raw_references({"evidence": [{"source": "a", "via": "b"}], "cites": ["c", 5]}))
    ['a', 'b', 'c']
    """
    found: set[str] = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in _REFERENCE_KEYS:
                    found.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


class Loaded(NamedTuple):
    """What reading one file gave: its record (None when it failed), its findings, its id if
    known, and, for a file that failed validation, the source ids it seems to refer to."""

    record: Record | None
    findings: list[Finding]
    id: str | None
    references: set[str]


def load_file(kind: Kind, path: Path, root: Path, render: bool = False) -> Loaded:
    """Read and validate one file (and render its body, with ``render``)."""
    shown = _display(path, root)
    try:
        raw = read_bytes(path, root)
    except FrontmatterError as exc:
        return Loaded(None, [Finding(exc.code, exc.message, shown, exc.line, exc.column)], None, set())
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
        reason = getattr(exc, "strerror", None) or str(exc)
        return Loaded(None, [Finding("KB001", f"cannot read the file: {reason}", shown)], None, set())
    return parse_file(kind, path, shown, raw, render)


def parse_file(kind: Kind, path: Path, shown: str, raw: bytes, render: bool = False) -> Loaded:
    """Decode, read the frontmatter of and validate the bytes of one file; with ``render``,
    also render its Markdown body (``Record.body_html``: the database needs it, `kb check`
    does not, and does not import markdown-it)."""
    try:
        document = read_frontmatter(decode(raw))
    except FrontmatterError as exc:
        return Loaded(None, [Finding(exc.code, exc.message, shown, exc.line, exc.column)], None, set())
    raw_id = document.data.get("id")
    id_ = raw_id if isinstance(raw_id, str) else None
    subject = {"claim_id" if kind == "claim" else "source_id": id_}
    findings = _id_findings(document, path, shown, subject)
    model_class: type[BaseModel] = Claim if kind == "claim" else Source
    try:
        model = model_class.model_validate(document.data)
    except ValidationError as exc:
        findings += _schema_findings(exc, model_class, document, shown, subject)
        return Loaded(None, sorted(findings, key=Finding.sort_key), id_, raw_references(document.data))
    if any(finding.code == "KB007" for finding in findings):  # an invalid id is never a key in the database
        return Loaded(None, findings, id_, raw_references(document.data))
    document.drop_data()  # the model holds the values; the raw mapping would double them in memory
    _share_fields_sets(model)
    record = Record(kind, shown, model, document)  # type: ignore[arg-type]
    if render:
        render_body(record)
    return Loaded(record, findings, id_, set())


def _share_fields_sets(model: BaseModel) -> None:
    """Give the model (and the models inside it) one shared set of the fields a file set,
    instead of a set each: most files set the same fields, and a set of ten names is some
    700 bytes (100,000 claims with their evidence items have a quarter of a million). Safe
    because nothing changes it in place: the models are frozen, and pydantic's ``model_copy``
    copies the set before it adds to it. A ``set`` still, not a frozenset, for pydantic's
    ``exclude_unset``."""
    stack: list = [model]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseModel):
            object.__setattr__(item, "__pydantic_fields_set__", shared_fields_set(item.__pydantic_fields_set__))
            stack.extend(item.__dict__.values())
        elif isinstance(item, list):
            stack.extend(item)


def render_body(record: Record) -> None:
    """Set ``record.body_html`` from its Markdown body (None for an empty body)."""
    from kb.render import render_markdown

    body = record.document.body.strip()
    record.body_html = render_markdown(body) if body else None


def needs_render(loaded: Loaded) -> bool:
    record = loaded.record
    return record is not None and record.body_html is None and bool(record.document.body.strip())


def _id_findings(document: Document, path: Path, shown: str, subject: dict) -> list[Finding]:
    raw_id = document.data.get("id")
    if not isinstance(raw_id, str):
        return []
    if raw_id == path.stem and len(raw_id) <= ID_MAX_LENGTH and ID_PATTERN.match(raw_id):
        return []  # the common case, without building the file's table of positions
    line, column = document.position_of(("id",)) or Position(2, 1)
    if len(raw_id) > ID_MAX_LENGTH or not ID_PATTERN.match(raw_id):
        why = (
            "longer than 100 characters"
            if len(raw_id) > ID_MAX_LENGTH
            else "not lower-case letters, digits and single hyphens"
        )
        return [Finding("KB007", f"invalid id `{raw_id}`: {why}", shown, line, column, **subject)]
    if raw_id != path.stem:
        return [
            Finding(
                "KB006",
                f"id `{raw_id}` does not match the file name `{path.name}` (expected `{path.stem}`)",
                shown,
                line,
                column,
                **subject,
            )
        ]
    return []


def _schema_findings(
    exc: ValidationError, model: type[BaseModel], document: Document, shown: str, subject: dict
) -> list[Finding]:
    """KB004 for each validation error, located at its field (the words: :mod:`kb.validation`)."""
    findings = []
    for problem in problems(exc, model):
        loc, path = problem.loc, problem.path
        if problem.kind == "unknown":
            message = f"unknown field `{path}`{problem.hint}"
            line, column = _locate(document.key_position_of, loc)
        elif problem.kind == "missing":
            message = f"missing required field `{path}`"
            line, column = _locate(document.position_of, loc[:-1]) if len(loc) > 1 else Position(1, 1)
        else:
            message = f"`{path}`: {problem.detail}" if loc else problem.detail
            line, column = _locate(document.position_of, loc)
        findings.append(Finding("KB004", message, shown, line, column, key=path, **subject))
    return findings


def load_corpus(
    settings: Settings,
    *,
    cache: bool | None = None,
    progress: Progress | None = None,
    render: bool = False,
    incremental: bool = False,
    keep_hashes: bool = True,
) -> Corpus:
    """Load every claim and source of the knowledge base described by ``settings``.

    When several files claim one id, the one that loaded and whose file name matches the id
    keeps it; each other file gets KB005 (and is left out). Files unchanged since the last
    load come from the cache (:mod:`kb.cache`; ``cache=False`` or ``KB_NO_CACHE=1``
    bypass it): the result is the same either way. With ``render`` every record's Markdown
    body is rendered too (``Record.body_html``, cached with it), as a build needs. With
    ``incremental`` the corpus keeps what :mod:`kb.incremental` needs: the sha256 of each file
    parsed (``Corpus.hashes``, unless not ``keep_hashes``: the cache's manifest has them) and
    what each file gave (``Corpus.loaded``).
    """
    from kb.cache import load_all

    progress = progress or quiet()
    with progress.stage("walk"):
        files = collect_files(settings)
    loaded_files, digest, hashes = load_all(files, settings.root, cache, progress, render)
    if len(files) >= TRIM_FILES:  # every file's bytes and the workers' pickled results are gone
        release_free_memory()
    corpus = assemble(settings, loaded_files, keep_loaded=incremental)
    corpus.files_digest = digest
    if incremental and keep_hashes:
        corpus.hashes = hashes
    return corpus


# Loads of fewer files than this leave too little to give back to be worth importing ctypes.
TRIM_FILES = 2000


def release_free_memory() -> None:
    """Give the memory the C allocator holds free back to the system (glibc's
    ``malloc_trim``; elsewhere nothing).

    Loading holds every file's bytes and the workers' pickled results, then frees them; glibc
    keeps most of that freed memory, fragmented in its heap, where Python's small objects
    (the graph, the checks' tables: pymalloc's arenas are mapped apart) cannot use it. At
    100,000 claims trimming after the load gives back about 100 MB, which would otherwise
    stay resident under everything that follows.
    """
    global _malloc_trim
    if _malloc_trim is None:
        _malloc_trim = _no_trim
        if sys.platform.startswith("linux"):
            import ctypes

            try:  # the symbols the process has loaded: glibc's, where it is the C library
                _malloc_trim = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):  # another C library (musl has no malloc_trim)
                pass
    _malloc_trim(0)


def _no_trim(pad: int) -> int:
    return 0


_malloc_trim = None


_NO_FINDINGS: tuple = ()  # (immutable: a kept Loaded is only read)
_NO_REFERENCES: frozenset = frozenset()


def assemble(settings: Settings, loaded_files, keep_loaded: bool = False) -> Corpus:
    """The corpus of (kind, path, Loaded) triples, in reading order: one record per id (the
    first that loaded and whose file name matches it), KB005 for each other file."""
    corpus = Corpus(settings)
    by_id: dict[str, list[tuple[Path, Loaded]]] = {}
    for kind, path, loaded in loaded_files:
        if keep_loaded:  # (20 MB at 100k files that a build does without)
            if loaded.record is not None and not loaded.findings and not loaded.references:
                # one empty tuple and frozenset for all, not a list and a set per file (56 and
                # 216 bytes: 30 MB at 110,000 files)
                loaded = loaded._replace(findings=_NO_FINDINGS, references=_NO_REFERENCES)
            corpus.loaded.append((kind, loaded.record.path if loaded.record else _display(path, settings.root), loaded))
        corpus.findings.extend(loaded.findings)
        corpus.broken_references |= loaded.references
        if loaded.id is not None:
            by_id.setdefault(loaded.id, []).append((path, loaded))
    for id_, files in by_id.items():
        files.sort(key=lambda item: (item[1].record is None, item[0].stem != id_))
        keeper_path, keeper = files[0]
        for path, loaded in files[1:]:
            line, column = loaded.record.position("id") if loaded.record else Position(2, 1)
            subject = {"claim_id" if path.is_relative_to(settings.claims_dir) else "source_id": id_}
            message = f"duplicate id `{id_}`: also used by {_display(keeper_path, settings.root)}"
            corpus.findings.append(Finding("KB005", message, _display(path, settings.root), line, column, **subject))
        if keeper.record is None:
            corpus.broken_ids.add(id_)
        else:
            (corpus.claims if keeper.record.kind == "claim" else corpus.sources)[id_] = keeper.record
    _share_values(corpus)
    return corpus


def _share_values(corpus: Corpus) -> None:
    """One object for each value many files repeat, instead of one per file: the source ids
    evidence names, and the dates and periods (immutable, and each wholly given by its text,
    by which they are matched). Each file comes from its own parse (in a worker, pickled back
    in batches), so equal values arrive as separate objects: at 100,000 claims some 45 MB at
    the build's peak of memory, for 0.3-0.5 s. Set in the models' ``__dict__`` (they are
    frozen; the values are equal, only their identity changes). Beside the sharing done as
    models and documents are unpickled (``kb.models._Strict.__setstate__``,
    ``kb.frontmatter._document``): a pass over the corpus also covers a load parsed in this
    process, and shares the source ids with the keys of ``corpus.sources``."""
    ids: dict[str, str] = {id_: id_ for id_ in corpus.sources}
    dates: dict[str, object] = {}
    periods: dict[str, object] = {}
    for record in corpus.sources.values():
        published = record.model.published
        if published is not None:
            record.model.__dict__["published"] = dates.setdefault(published.text, published)
    for record in corpus.claims.values():
        fields = record.model.__dict__
        if (stated := fields["stated"]) is not None:
            fields["stated"] = dates.setdefault(stated.text, stated)
        if (period := fields["period"]) is not None:
            fields["period"] = periods.setdefault(period.text, period)
        for item in fields["evidence"]:
            values = item.__dict__
            values["source"] = ids.setdefault(item.source, item.source)
            if item.via is not None:
                values["via"] = ids.setdefault(item.via, item.via)
