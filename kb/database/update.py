"""A build that updates the previous database instead of writing a new one, when the files
changed since the last build allow it: a copy of the database, updated in one transaction,
checked and swapped in as a build is (the same lock, checks and atomic replace:
:mod:`kb.database.build`). An analyst editing files under ``kb serve`` waits for a copy of
the file and a re-check instead of a build.

Notes. A file's note (its Markdown body) is the one part no check, graph, status, citation
or other row reads: it is the ``body`` and ``body_html`` of its own row, and that row's text
in the search tables. So when a changed file still loads and has the frontmatter it had (the
same :attr:`kb.frontmatter.Document.head`: same fields, same values, same places), its row's
note and search entries are rewritten, and nothing else.

Claims' frontmatter. When a claim file changed its frontmatter but kept its path, id and
subject, the findings of the whole knowledge base come from a re-check of what the edit
reaches (:func:`kb.incremental.recheck`, from the state a full ``kb check`` or build left),
and the rows that may change are computed from it (:mod:`kb.database.records`); each is
compared with the database's row and written where it differs (with its search entries).

What a full build leaves in ``.kb-cache/build-state`` (signed like the rest of the cache)
decides it: the ``input_hash`` of the database it wrote, the settings, date and versions it
was built with, the sha256 of every file it read, the kind, id and frontmatter digest of
every file it published, and the files it left out. Anything else is a full build: a
source's frontmatter edit, a claim's new id or subject, a file added, removed or renamed,
one that no longer loads, a file that was left out, a path without a hash (a symbolic
link), other settings or date, no usable check state, a re-check that reaches half of the
files (:data:`UPDATE_SHARE`), a database not written from those files (another build since, a copy),
unacknowledged errors without ``--allow-errors`` (the full build lists them), more than
:data:`MAX_CHANGED` files changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kb.database.build import _locked, _reached, _swap, _temporary
from kb.database.errors import BuildError
from kb.database.schema import FTS, SchemaError, insert_rows, verify
from kb.database.search import INDEXES
from kb.database.state import _built
from kb.progress import Progress, quiet
from kb.search import index_text

if TYPE_CHECKING:
    from kb.analyse import Analysis
    from kb.settings import Settings

__all__ = [
    "MAX_CHANGED",
    "BeganStates",
    "abandon_build_states",
    "begin_build_states",
    "save_build_state",
    "start_check_state",
    "update_database",
]

BUILD_STATE = "build-state"
# What the updates since the full build that wrote the state changed (its files' hashes, the
# heads of edited claims, the database's input_hash): written whole after each update
# instead of the state (24 MB at 100k files, a third of a second to write).
BUILD_UPDATES = "build-updates"
MAX_CHANGED = 200  # more changed files than this: a full build (a copy is then no saving)
# The share of the files a re-check may parse for an update (kb.incremental.MAX_SHARE is a
# check's): a full build costs several times a full check, and a claim that cites a source
# reaches every claim citing it (in the shipped corpus, a third of the files for most claims).
UPDATE_SHARE = 0.5
_TABLES = {"claim": "claims", "source": "sources"}


def _base(settings: Settings, today: date | None) -> str:
    """What every row depends on besides the files: the fingerprint of no files (settings
    files, snapshots, kb and schema versions, the date), the cache's format and the renderer
    of notes (the other rows' HTML must be what this one would write)."""
    from kb.cache import FORMAT
    from kb.inputs import fingerprint
    from kb.render import RENDERER

    return f"{fingerprint(settings, today, '')} cache {FORMAT} {RENDERER}"


# A full build of this many files (as many as kb.cache.PARALLEL_THRESHOLD) saves the state a
# re-check starts from in a forked child while it writes the database, a single-core job that
# leaves the other core idle: at 100,000 claims the state took 8.7 s of a 79 s build after the
# database was in place (py-spy). Smaller ones save it after the build (a fork costs more).
# The child starts once the rows are in (:func:`start_check_state`): while they are written a
# child of kb.database.rows_child has the other core.
BACKGROUND_STATE_FILES = 2000


@dataclass(slots=True)
class BeganStates:
    """What :func:`begin_build_states` found, and :func:`start_check_state` started, for
    :func:`save_build_state`."""

    files: dict[str, str | None]  # the sha256 of every file the analysis read
    background: bool = False  # large enough for a child to save the check state meanwhile
    check_state: bool = False  # the state a re-check starts from is being saved (or was) already


def begin_build_states(analysis: Analysis, background: bool = True) -> BeganStates | None:
    """Before the database is written: the hashes of the files the build's analysis read
    (the cache manifest's, which its load wrote; None when the manifest no longer describes
    exactly those files, so that one another process wrote since is never taken for the
    build's), and whether the analysis (with ``incremental``, of at least
    :data:`BACKGROUND_STATE_FILES` files) is one whose state a re-check starts from
    (:mod:`kb.incremental`) is saved by a forked child (:func:`start_check_state`;
    :func:`kb.cache.in_background`: a command waits for it before it ends). That state
    describes the files, not the database: it stands whether the build then publishes or not,
    as a full ``kb check`` leaves it."""
    from kb.cache import Cache
    from kb.inputs import files_digest

    settings, corpus = analysis.settings, analysis.corpus
    if corpus.files_digest is None:
        return None
    manifest = Cache(settings.root, load_entries=False).manifest  # (waits for the load's writer)
    files = {relative: row[4] for relative, row in manifest.items()}
    del manifest
    if files_digest(files) != corpus.files_digest:
        return None
    return BeganStates(files, background and bool(corpus.loaded) and len(files) >= BACKGROUND_STATE_FILES)


def start_check_state(analysis: Analysis, began: BeganStates | None) -> None:
    """Once the database's rows are in, or the build is refused: a large analysis's check
    state saved by a forked child (see :data:`BACKGROUND_STATE_FILES`; where no fork can be
    made, e.g. `kb serve`'s threads, after the database is in place). Once only."""
    import os

    from kb.cache import in_background

    if began is not None and began.background and not began.check_state:
        began.check_state = in_background(_check_state_alone, os.getpid(), analysis, began.files, or_here=False)


def abandon_build_states(analysis: Analysis, began: BeganStates | None) -> None:
    """After a build that was interrupted: the check state :func:`begin_build_states` started
    is stopped, not waited for (Ctrl-C on a 100k build would wait 9 s for it)."""
    if began is not None and began.check_state:
        from kb.cache import abandon_writers

        abandon_writers(analysis.settings.root, _check_state_alone)


def _check_state_alone(parent: int, analysis: Analysis, files: dict) -> None:
    """Save the check state of a full analysis; in a forked child, the graph (which the
    state does not read) is freed first, so that the state's dictionaries reuse its memory
    instead of adding to the child's."""
    import os

    from kb.incremental import base_key, save_state, state_of

    if os.getpid() != parent:  # (in this process the caller frees it, when nothing needs it)
        analysis.graph.clear()
    save_state(analysis.settings.root, state_of(analysis, files, base_key(analysis.settings, analysis.today, False)))


def save_build_state(analysis: Analysis, left_out: list[str], began: BeganStates | None) -> None:
    """After a full build: what :func:`update_database` starts from, from what
    :func:`begin_build_states` found before the database was written (None: no state). An
    analysis with ``incremental`` also leaves the state a re-check starts from
    (:mod:`kb.incremental`), as a full ``kb check`` does, unless ``began`` saves it already."""
    import os

    from kb.cache import save_signed
    from kb.inputs import fingerprint

    settings, corpus = analysis.settings, analysis.corpus
    if began is None:
        return
    files = began.files
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
    save_signed(settings.root, BUILD_UPDATES, None)  # (none since this build)
    del heads, state  # (freed before the check state is made, which needs only the hashes)
    if corpus.loaded and not began.check_state:  # analysed with ``incremental``: what a re-check starts from
        _check_state_alone(os.getpid(), analysis, files)


def update_database(
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
    """Update the database with the files changed since the last build, when they allow it
    (see the module's docstring); ``files``: what :func:`kb.inputs.current_files` gave for
    these settings, when the caller has it. Returns the database's counts (``kb_build``,
    with ``errors`` and ``left_out``) once the new database is in place; None when a full
    build is needed (nothing has been written then: also when the database turns out not to
    be the one the state describes, a row missing or a page damaged). Raises
    :class:`BuildError` when the file cannot be written (the previous one is left as it was)."""
    from kb.cache import save_signed
    from kb.frontmatter import FrontmatterError
    from kb.inputs import QUICK_READS, current_files, fingerprint
    from kb.load import parse_file, read_bytes

    progress = progress or quiet()
    target = target.resolve()
    today = today or settings.today or date.today()  # one date for the whole build, as a full build has
    built = _built(target)
    if built is None or (built["errors"] and not allow_errors):
        return None
    state, updates = _build_state(settings.root)
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
    if not changed or len(changed) > MAX_CHANGED:
        return None
    notes = []
    edited: dict[str, object] = {}  # path -> the record of a claim whose frontmatter changed
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
            if record is None or record.id != id_:
                return None
            if record.document.head == head:
                notes.append((_TABLES[kind], id_, record.document.body.strip() or None, record.body_html))
            elif kind == "claim":
                edited[path] = record
            else:
                return None  # a source's frontmatter: what reads it is not tracked row by row
    records = rechecked = None
    if edited:
        found = _records(settings, target, today, hashes, edited, state, updates["writes"], progress)
        if found is None:
            return None
        records, rechecked = found
        if not allow_errors and any(finding.fails for finding in rechecked.findings):
            return None  # a full build says which errors
    input_hash = fingerprint(settings, today, digest)
    if not _write(target, notes, records, built["input_hash"], input_hash, settings, lock_timeout, on_wait, progress):
        return None
    updates = {
        "since": updates["since"],
        "input_hash": input_hash,
        "files": {**updates["files"], **{path: hashes[path] for path in changed}},
        "heads": {**updates["heads"], **{path: ("claim", r.id, r.document.head) for path, r in edited.items()}},
        "writes": updates["writes"],
    }
    if rechecked is not None:  # what the claims now in the database write (the next re-check's state may not know)
        updates["writes"] = {**updates["writes"], **{p: rechecked.entries[p].writes for p in rechecked.touched}}
    save_signed(settings.root, BUILD_UPDATES, updates)
    if rechecked is not None and rechecked.state is not None:
        from kb.cache import in_background
        from kb.incremental import save_state

        in_background(save_state, settings.root, rechecked.state)
    counts = {**built, "input_hash": input_hash, "left_out": state["left_out"]}
    if rechecked is not None:
        counts["findings"] = len(rechecked.findings)
        counts["errors"] = sum(1 for finding in rechecked.findings if finding.fails)
    return counts


def _build_state(root: Path) -> tuple[dict | None, dict]:
    """(the state the last full build left, with the updates since applied; the updates)."""
    from kb.cache import load_signed

    state = load_signed(root, BUILD_STATE)
    if not isinstance(state, dict):
        return None, {}
    updates = load_signed(root, BUILD_UPDATES)
    if not (isinstance(updates, dict) and updates.get("since") == state.get("input_hash")):
        return state, {"since": state.get("input_hash"), "files": {}, "heads": {}, "writes": {}}
    merged = {
        **state,
        "input_hash": updates["input_hash"],
        "files": {**state["files"], **updates["files"]},
        "heads": {**state["heads"], **updates["heads"]},
    }
    return merged, updates


def _records(
    settings: Settings, target: Path, today: date, hashes: dict, edited: dict, built: dict, writes: dict, progress
):
    """(the rows of :mod:`kb.database.records`, the re-check) for claims whose frontmatter
    changed; None when only a full build can say (no usable check state, a re-check too
    large, an id kept or lost elsewhere, a subject changed). ``built``: the build state;
    ``writes``: path -> the keys (:mod:`kb.incremental`) that the version of an edited file
    an update wrote to the database writes."""
    from kb.database.records import record_rows
    from kb.incremental import load_state, recheck

    with progress.stage("load state"):
        state = load_state(settings, today, False)
    if state is None:
        return None
    # The rows to write are those that the version of each edited file in the database, or
    # its version now, reaches. The re-check reaches what the version its state knows
    # wrote: when that is not the database's (an update since, whose state was not worth
    # saving; a `kb check` after an edit), the keys the database's version wrote are added.
    also = set()
    for path in edited:
        if state.files.get(path) != built["files"][path]:
            if path not in writes:
                return None  # the state is of a version the database never had, and nothing says what its own wrote
            also.update(writes[path])
    with progress.stage("recheck"):
        rechecked = recheck(settings, today, False, hashes, state, also, UPDATE_SHARE)
    if rechecked is None or rechecked.corpus is None or not edited.keys() <= rechecked.touched:
        return None
    held = [entry.id for entry in rechecked.entries.values() if entry.id]
    if len(held) != len(set(held)):
        # a duplicated id: where it first appears orders the corpus (which superseding claim
        # a citation names first), and the re-check's corpus may not hold that file
        return None
    # the re-check also takes again the claims edited since its state was saved (an update
    # saves it only when worth it): those are in the database already, and their rows are
    # computed again as the edited ones' are (the same rows: nothing written)
    touched = {path: loaded.record for _, path, loaded in rechecked.corpus.loaded if path in rechecked.touched}
    for path in rechecked.touched:
        record, head = touched.get(path), built["heads"].get(path)
        if record is None or head is None or head[:2] != ("claim", record.id):
            return None
    with progress.stage("rows"):
        try:
            with contextlib.closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as conn:
                names = dict(conn.execute("select id, name from entities"))

                def held(table: str, ids: set[str]) -> set[str]:
                    query = f"select value from json_each(?) where value in (select id from [{table}])"
                    return {row[0] for row in conn.execute(query, [json.dumps(sorted(ids))])}

                records = record_rows(rechecked, today, {record.id for record in touched.values()}, names, held)
                ids = json.dumps(sorted(records.claims))
                query = "select id, path, subject_as_written from claims where id in (select value from json_each(?))"
                claims = {row[0]: row[1:] for row in conn.execute(query, [ids])}
        except sqlite3.Error:
            return None
        for record in touched.values():
            if claims.get(record.id) != (record.path, record.model.subject):
                return None  # a new subject: entity names and counts (or another file keeps the id)
        if any(claims.get(id_, (None,))[0] != row["path"] for id_, row in records.claims.items()):
            return None  # not the file the database has for that id
    return records, rechecked


def _write(
    target: Path,
    notes: list,
    records,
    before: str,
    input_hash: str,
    settings: Settings,
    lock_timeout: float,
    on_wait,
    progress,
) -> bool:
    """Write the database with the notes and the records' rows; False when it is no longer
    the one built from ``before`` (another build wrote it meanwhile: then a full build)."""
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
                with progress.stage("update"):
                    _update(temp, notes, records, settings, input_hash, _git_commit(settings.root))
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


def _update(path: Path, notes: list, records, settings: Settings, input_hash: str, commit: str | None) -> None:
    """The notes, the records' rows, their search entries and the kb_build row, in one
    transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("pragma journal_mode = off")  # a new file, fsynced before the swap
        conn.execute("pragma synchronous = off")
        conn.execute("begin")
        for table, id_, body, body_html in notes:
            names, found = _select(conn, table, "id = ?", [id_])
            if id_ not in found:
                raise sqlite3.DatabaseError(f"{table} has no row {id_}")  # not the database the state describes
            rowid, values = found[id_]
            _replace(conn, table, rowid, dict(zip(names, values, strict=True)), {"body": body, "body_html": body_html})
        if records is not None:
            _write_records(conn, records, settings)
        built_at = datetime.now(UTC).isoformat(timespec="seconds")
        conn.execute("update kb_build set input_hash = ?, built_at = ?, git_commit = ?", [input_hash, built_at, commit])
        if records is not None:
            conn.execute("update kb_build set findings = ?", [records.reported])
        conn.execute("commit")
        verify(conn)
        _reached("integrity")
        conn.execute("pragma journal_mode = delete")
    finally:
        conn.close()


def _write_records(conn: sqlite3.Connection, records, settings: Settings) -> None:
    """The rows of :func:`kb.database.records.record_rows` where they differ from the
    database's, and the tables computed from them."""
    from kb.database.rows import metric_rows
    from kb.database.schema import _VIEWS, MATERIALIZED

    edited = json.dumps(sorted(records.evidence))
    region = json.dumps(sorted(records.claims))
    evidence = [row for rows in records.evidence.values() for row in rows]
    declared = [row for rows in records.declared.values() for row in rows]
    changed = {
        "claims": _sync(conn, "claims", records.claims.values(), "id in (select value from json_each(?))", [region]),
        "evidence": _sync(conn, "evidence", evidence, "claim_id in (select value from json_each(?))", [edited]),
        "claim_links": _sync(
            conn,
            "claim_links",
            declared,
            "origin = 'declared' and from_claim in (select value from json_each(?))",
            [edited],
        )
        | _sync(
            conn,
            "claim_links",
            records.detected,
            "origin = 'detected' and from_claim in (select value from json_each(?))",
            [region],
        ),
        "findings": _sync(conn, "findings", records.findings, "1", []),
    }
    counts = dict(conn.execute("select metric, count(*) from claims where metric is not null group by metric"))
    metrics = metric_rows(settings, counts)
    cursor = conn.execute("select * from metrics order by rowid")
    names = [column[0] for column in cursor.description]
    if [dict(zip(names, row, strict=True)) for row in cursor] != metrics:
        conn.execute("delete from metrics")
        insert_rows(conn, "metrics", metrics)
        changed["metrics"] = True
    for name in MATERIALIZED:  # written as a build writes them, from the rows now in place
        conn.execute(f"delete from [{name}]")
        conn.execute(f"insert into [{name}] {_VIEWS[name].strip()}")
    # the planner's statistics, as a build leaves them (it analyses before it writes the
    # materialized views: they have none)
    for table, rewritten in changed.items():
        if rewritten:
            conn.execute(f"analyze [{table}]")


def _indexes(table: str) -> list[tuple[str, tuple[str, ...], bool]]:
    """The full-text tables over ``table``: (name, columns, whether its text is folded)."""
    indexes = [(f"{name}_fts", columns, False) for name, columns, _ in FTS if name == table]
    indexes += [(index, tuple(weights), True) for index, (name, weights) in INDEXES.items() if name == table]
    return indexes


def _select(conn: sqlite3.Connection, table: str, where: str, params: list) -> tuple[list[str], dict]:
    """(the columns of ``table``, id -> (rowid, values) of the rows that match ``where``)."""
    cursor = conn.execute(f"select rowid, * from [{table}] where {where}", params)
    names = [column[0] for column in cursor.description[1:]]
    at = names.index("id") + 1
    return names, {row[at]: (row[0], row[1:]) for row in cursor}


def _entries(conn: sqlite3.Connection, table: str, rowid: int, row: dict, delete: bool) -> None:
    """Give the full-text tables over ``table`` a row's text (or, ``delete``, tell them the
    text they were given is gone: external-content and contentless tables need the old text)."""
    for index, names, folded in _indexes(table):
        texts = [index_text(row[name]) if folded else row[name] for name in names]
        listed = ", ".join(f"[{name}]" for name in names)
        marks = ", ".join("?" for _ in names)
        if delete:
            sql = f"insert into [{index}] ([{index}], rowid, {listed}) values ('delete', ?, {marks})"
        else:
            sql = f"insert into [{index}] (rowid, {listed}) values (?, {marks})"
        conn.execute(sql, [rowid, *texts])


def _replace(conn: sqlite3.Connection, table: str, rowid: int, old: dict, changes: dict) -> None:
    """Change a row's columns (``changes``), and its search entries with them."""
    _entries(conn, table, rowid, old, delete=True)
    assigned = ", ".join(f"[{name}] = ?" for name in changes)
    conn.execute(f"update [{table}] set {assigned} where rowid = ?", [*changes.values(), rowid])
    _entries(conn, table, rowid, {**old, **changes}, delete=False)


def _sync(conn: sqlite3.Connection, table: str, rows, where: str, params: list) -> bool:
    """Make the rows of ``table`` that match ``where`` the rows ``rows`` (dicts of every
    column, by id): the others deleted, the new ones inserted, the changed ones updated,
    search entries with them. Whether any row changed."""
    names, old = _select(conn, table, where, params)
    new = {row["id"]: row for row in rows}
    changed = False
    for id_ in sorted(old.keys() - new.keys()):
        rowid, values = old[id_]
        _entries(conn, table, rowid, dict(zip(names, values, strict=True)), delete=True)
        conn.execute(f"delete from [{table}] where rowid = ?", [rowid])
        changed = True
    listed = ", ".join(f"[{name}]" for name in names)
    marks = ", ".join(f":{name}" for name in names)
    for id_, row in new.items():
        values = tuple(row[name] for name in names)  # (tuples: 40,000 findings compared at once)
        if id_ not in old:
            rowid = conn.execute(f"insert into [{table}] ({listed}) values ({marks})", row).lastrowid
            _entries(conn, table, rowid, row, delete=False)
            changed = True
        elif old[id_][1] != values:
            rowid, was = old[id_]
            changes = {name: value for name, before, value in zip(names, was, values, strict=True) if before != value}
            if changes:  # (1 == 1.0: an integer written to a REAL column is not a change)
                _replace(conn, table, rowid, dict(zip(names, was, strict=True)), changes)
                changed = True
    return changed
