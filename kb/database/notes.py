"""A build that only rewrites notes: when every file changed since the last build kept its
frontmatter, the new database is the old one with those files' notes replaced.

A file's note (its Markdown body) is the one part no check, graph, status, citation or
other row reads: it is the ``body`` and ``body_html`` of its own row, and that row's text in
the search tables. So when each changed file still loads and has the frontmatter it had
(the same :attr:`kb.frontmatter.Document.head`: same fields, same values, same places), the
database a full build would write differs from the current one in those rows, their
search entries and the ``kb_build`` row only. This module writes exactly that: a copy of
the database, updated in one transaction, checked and swapped in as a build is (the same
lock, checks and atomic replace: :mod:`kb.database.build`). An analyst editing notes under
``kb serve`` waits for a copy of the file instead of a build.

What a full build leaves in ``.kb-cache/build-state`` (signed like the rest of the cache)
decides it: the ``input_hash`` of the database it wrote, the settings, date and versions it
was built with, the sha256 of every file it read, the kind, id and frontmatter digest of
every file it published, and the files it left out. Anything else is a full build: a
frontmatter edit, a file added, removed or renamed, one that no longer loads, a file that
was left out, a path without a hash (a symbolic link), other settings or date, a database
not written from those files (another build since, a copy), unacknowledged errors without
``--allow-errors``, more than :data:`MAX_NOTES` files changed.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kb.database.build import _locked, _reached, _swap, _temporary
from kb.database.errors import BuildError
from kb.database.schema import FTS, SchemaError, verify
from kb.database.search import INDEXES
from kb.database.state import _built
from kb.progress import Progress, quiet
from kb.search import index_text

if TYPE_CHECKING:
    from kb.analyse import Analysis
    from kb.settings import Settings

__all__ = ["MAX_NOTES", "save_build_state", "update_notes"]

BUILD_STATE = "build-state"
MAX_NOTES = 200  # more changed files than this: a full build (a copy is then no saving)
_TABLES = {"claim": "claims", "source": "sources"}


def _base(settings: Settings, today: date | None) -> str:
    """What every row depends on besides the files: the fingerprint of no files (settings
    files, snapshots, kb and schema versions, the date), the cache's format and the renderer
    of notes (the other rows' HTML must be what this one would write)."""
    from kb.cache import FORMAT
    from kb.inputs import fingerprint
    from kb.render import RENDERER

    return f"{fingerprint(settings, today, '')} cache {FORMAT} {RENDERER}"


def save_build_state(analysis: Analysis, left_out: list[str]) -> None:
    """After a full build: what :func:`update_notes` starts from. The files' hashes are the
    cache manifest's, which the build's load wrote; kept only when they are exactly the files
    the build read (their digest is the build's), so that a manifest another process wrote
    since is never taken for the build's."""
    from kb.cache import Cache, save_signed
    from kb.inputs import files_digest, fingerprint

    settings, corpus = analysis.settings, analysis.corpus
    if corpus.files_digest is None:
        return
    manifest = Cache(settings.root, load_entries=False).manifest
    files = {relative: row[4] for relative, row in manifest.items()}
    if files_digest(files) != corpus.files_digest:
        return
    heads = {
        record.path: (record.kind, record.id, record.document.head)
        for records in (corpus.claims, corpus.sources)
        for record in records.values()
    }
    state = {
        "input_hash": fingerprint(settings, analysis.today, corpus.files_digest),
        "base": _base(settings, analysis.today),
        "files": files,
        "heads": heads,
        "left_out": left_out,
    }
    save_signed(settings.root, BUILD_STATE, state)


def update_notes(
    settings: Settings,
    target: Path,
    today: date | None = None,
    *,
    files: tuple | None = None,
    allow_errors: bool = False,
    lock_timeout: float = 60.0,
    on_wait=None,
    progress: Progress | None = None,
) -> dict | None:
    """Rewrite the notes that changed since the last build, when nothing else did (see the
    module's docstring); ``files``: what :func:`kb.inputs.current_files` gave for these
    settings, when the caller has it. Returns the database's counts (``kb_build``, with ``errors`` and
    ``left_out``) once the new database is in place; None when a full build is needed
    (nothing has been written then: also when the database turns out not to be the one the
    state describes, a row missing or a page damaged). Raises :class:`BuildError` when the
    file cannot be written (the previous one is left as it was)."""
    from kb.cache import load_signed, save_signed
    from kb.frontmatter import FrontmatterError
    from kb.inputs import QUICK_READS, current_files, fingerprint
    from kb.load import parse_file, read_bytes

    progress = progress or quiet()
    target = target.resolve()
    today = today or settings.today or date.today()  # one date for the whole build, as a full build has
    built = _built(target)
    if built is None or (built["errors"] and not allow_errors):
        return None
    state = load_signed(settings.root, BUILD_STATE)
    if not (
        isinstance(state, dict)
        and state.get("input_hash") == built["input_hash"]
        and state.get("base") == _base(settings, today)
    ):
        return None
    with progress.stage("walk"):
        hashes, digest = files or current_files(settings, max_reads=QUICK_READS)
    if hashes is None or None in hashes.values() or hashes.keys() != state["files"].keys():
        return None
    changed = [path for path, sha in hashes.items() if state["files"][path] != sha]
    if not changed or len(changed) > MAX_NOTES:
        return None
    notes = []
    with progress.stage("parse"):
        for path in sorted(changed):
            if path not in state["heads"]:
                return None  # a file left out, or one that did not keep its id
            kind, id_, head = state["heads"][path]
            try:
                raw = read_bytes(settings.root / path, settings.root)
            except (FrontmatterError, OSError, RuntimeError):
                return None
            if hashlib.sha256(raw).hexdigest() != hashes[path]:
                return None  # edited again since the walk
            loaded = parse_file(kind, settings.root / path, path, raw, render=True)
            record = loaded.record
            if record is None or record.id != id_ or record.document.head != head:
                return None
            notes.append((_TABLES[kind], id_, record.document.body.strip() or None, record.body_html))
    input_hash = fingerprint(settings, today, digest)
    if not _write(target, notes, built["input_hash"], input_hash, settings.root, lock_timeout, on_wait, progress):
        return None
    save_signed(settings.root, BUILD_STATE, {**state, "input_hash": input_hash, "files": hashes})
    return {**built, "input_hash": input_hash, "left_out": state["left_out"]}


def _write(
    target: Path, notes: list, before: str, input_hash: str, root: Path, lock_timeout: float, on_wait, progress
) -> bool:
    """Write the database with the notes; False when it is no longer the one built from
    ``before`` (another build wrote it meanwhile: then a full build)."""
    from kb.database.rows import _git_commit

    replaced = False
    try:
        with _locked(target, lock_timeout, on_wait):
            _reached("lock")
            now = _built(target)
            if now is None or now["input_hash"] != before:
                return False
            temp = _temporary(target)
            try:
                with progress.stage("copy"):
                    shutil.copyfile(target, temp)
                with progress.stage("notes"):
                    _update(temp, notes, input_hash, _git_commit(root))
                _reached("rows")
                with progress.stage("swap"):
                    _swap(temp, target)
                replaced = True
            finally:
                temp.unlink(missing_ok=True)
        return True
    except (sqlite3.Error, SchemaError):
        # the database is not what the state says (a row gone, a damaged page): nothing was
        # replaced (no SQL runs after the swap), and a full build writes a whole new one
        return False
    except OSError as exc:
        outcome = "the new database is in place but may not be durable" if replaced else "the previous one is unchanged"
        raise BuildError(f"cannot write {target}: {exc.strerror or exc}; {outcome}") from None


def _update(path: Path, notes: list, input_hash: str, commit: str | None) -> None:
    """The notes, their search entries and the kb_build row, in one transaction."""
    import sqlite_utils

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("pragma journal_mode = off")  # a new file, fsynced before the swap
        conn.execute("pragma synchronous = off")
        conn.execute("begin")
        for table, id_, body, body_html in notes:
            _note(conn, table, id_, body, body_html)
        built_at = datetime.now(UTC).isoformat(timespec="seconds")
        conn.execute("update kb_build set input_hash = ?, built_at = ?, git_commit = ?", [input_hash, built_at, commit])
        conn.execute("commit")
        db = sqlite_utils.Database(conn)
        verify(db)
        _reached("integrity")
        conn.execute("pragma journal_mode = delete")
    finally:
        conn.close()


def _note(conn: sqlite3.Connection, table: str, id_: str, body: str | None, body_html: str | None) -> None:
    """One row's note, and the search entries of the row: each full-text table over the row
    is told the old text is gone ('delete', with the text it was given), then given the new."""
    indexes = [(f"{name}_fts", columns, False) for name, columns, _ in FTS if name == table]
    indexes += [(index, tuple(weights), True) for index, (name, weights) in INDEXES.items() if name == table]
    columns = sorted({column for _, names, _ in indexes for column in names})
    selected = ", ".join(f"[{column}]" for column in columns)
    row = conn.execute(f"select rowid, {selected} from [{table}] where id = ?", [id_]).fetchone()
    if row is None:
        raise sqlite3.DatabaseError(f"{table} has no row {id_}")  # not the database the state describes
    rowid, old = row[0], dict(zip(columns, row[1:], strict=True))
    new = {**old, "body": body}

    def entry(names: tuple, folded: bool, row: dict) -> tuple[str, str, list]:
        """The index's column list, its placeholders, and the row's text for it."""
        texts = [index_text(row[name]) if folded else row[name] for name in names]
        return ", ".join(f"[{name}]" for name in names), ", ".join("?" for _ in names), texts

    for index, names, folded in indexes:
        listed, marks, texts = entry(names, folded, old)
        conn.execute(
            f"insert into [{index}] ([{index}], rowid, {listed}) values ('delete', ?, {marks})", [rowid, *texts]
        )
    conn.execute(f"update [{table}] set body = ?, body_html = ? where rowid = ?", [body, body_html, rowid])
    for index, names, folded in indexes:
        listed, marks, texts = entry(names, folded, new)
        conn.execute(f"insert into [{index}] (rowid, {listed}) values (?, {marks})", [rowid, *texts])
