"""``kb build``: write the analysed knowledge base to SQLite, atomically.

A knowledge base with unacknowledged errors is not published (:class:`UnpublishedErrors`,
nothing written) unless the caller allows it. Otherwise: a full rebuild into a temporary
file next to the database, checked (``integrity_check``, ``foreign_key_check``), fsynced
and swapped in with ``os.replace``, then the folder fsynced: a failed or interrupted build
leaves the previous database exactly as it was. A lock file serialises concurrent builds
(the second waits for the first, up to ``lock_timeout`` seconds); stale temporary files of
interrupted builds are swept by the next one.

Test hook: with ``KB_TEST_KILL_AT=STAGE`` in the environment the build process SIGKILLs
itself right after STAGE (one of :data:`STAGES`), so that tests can prove a crash at each
step leaves a whole database. Unset, it costs one dictionary lookup per stage.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from kb.database.errors import BuildError, UnpublishedErrors
from kb.database.rows import rows
from kb.database.rows_child import FORK_ROWS_AT, ChildFailed, RowsChild
from kb.database.rows_child import TABLE as CHILD_TABLE
from kb.database.schema import (
    SchemaError,
    compact,
    create_tables,
    create_views,
    index_and_search,
    insert_rows,
    insert_tuples,
    verify,
)
from kb.database.state import is_stale, up_to_date
from kb.inputs import NOT_INHERITED
from kb.progress import Progress, quiet

if TYPE_CHECKING:
    from kb.analyse import Analysis

__all__ = ["STAGES", "BuildError", "UnpublishedErrors", "build_database", "is_stale", "left_out", "up_to_date"]

# The steps of a build, in order; KB_TEST_KILL_AT names one of them.
STAGES = (
    "parse",  # the analysis is done (files parsed, checks run); nothing written yet
    "lock",  # the build lock is held
    "tables",  # the temporary database has its tables
    "rows",  # ... and every row
    "fts",  # ... indexes and full-text search
    "views",  # ... views
    "integrity",  # integrity_check and foreign_key_check passed
    "vacuum",  # journal mode DELETE, vacuumed if it has many free pages
    "fsync",  # the temporary file is on disk
    "replace",  # os.replace put it in place of the database
    "directory",  # the folder is fsynced: the new database is durable
)


def _reached(stage: str) -> None:
    if os.environ.get("KB_TEST_KILL_AT") == stage:  # test hook, see the module docstring
        os.kill(os.getpid(), signal.SIGKILL)


def left_out(analysis: Analysis) -> list[str]:
    """The files that failed to load, so are not in the database (sorted paths)."""
    loaded = {record.path for record in [*analysis.corpus.claims.values(), *analysis.corpus.sources.values()]}
    return sorted({f.path for f in analysis.findings if f.code < "KB100"} - loaded)


@contextlib.contextmanager
def _locked(path: Path, timeout: float, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    lock_path = path.with_name(f".{path.name}.lock")
    # not truncated on open: the file names the pid of the build holding the lock
    with os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644), "r+") as lock:
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                lock.seek(0)
                holder = lock.read(20).strip() or "?"
                if time.monotonic() >= deadline:
                    raise BuildError(
                        f"another build of {path.name} (pid {holder}) still holds {lock_path.name} "
                        f"after {timeout:g} s (wait longer with --lock-timeout)"
                    ) from None
                if not waiting and on_wait is not None:
                    on_wait(f"waiting for another build of {path.name} (pid {holder}) to finish")
                waiting = True
                time.sleep(0.05)
        try:
            lock.seek(0)
            lock.truncate()
            lock.write(str(os.getpid()))
            lock.flush()
            NOT_INHERITED.add(lock.fileno())  # (a child kb forks meanwhile closes its copy)
            yield
        finally:
            NOT_INHERITED.discard(lock.fileno())
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_database(
    analysis: Analysis,
    path: Path | None = None,
    *,
    allow_errors: bool = False,
    lock_timeout: float = 60.0,
    on_wait: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    after_rows: Callable[[], None] | None = None,
) -> Path:
    """Write the database atomically; return its path.

    Raises :class:`UnpublishedErrors` (before writing anything) when the analysis has
    unacknowledged errors and ``allow_errors`` is false; :class:`BuildError` when the
    database cannot be written. ``on_wait`` is told once when another build holds the lock;
    ``progress`` times each stage of the write; ``after_rows`` is called once every row is in
    (the indexes and search are built next, in this process alone).
    """
    progress = progress or quiet()
    target = (path or analysis.settings.database_path).resolve()
    errors = [f for f in analysis.findings if f.fails]
    if errors and not allow_errors:
        raise UnpublishedErrors(errors)
    _reached("parse")
    if not target.parent.is_dir():
        raise BuildError(f"folder {target.parent} does not exist")
    replaced = False
    try:
        with _locked(target, lock_timeout, on_wait):
            _reached("lock")
            temp = _temporary(target)
            try:
                _write(analysis, temp, progress, after_rows)
                with progress.stage("swap"):
                    _swap(temp, target)
                replaced = True
            finally:
                temp.unlink(missing_ok=True)
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
        outcome = "the new database is in place but may not be durable" if replaced else "the previous one is unchanged"
        raise BuildError(f"cannot write {target}: {reason}; {outcome}") from None
    return target


def _insert_forked(conn: sqlite3.Connection, analysis: Analysis, progress: Progress) -> None:
    """The claims' rows made by a forked child (:mod:`kb.database.rows_child`), inserted as
    they come, between the chunks of the other tables' rows this process makes meanwhile."""
    child = RowsChild(analysis)
    try:
        with progress.stage("insert rows"):
            for table, records in rows(analysis):
                if table == CHILD_TABLE:
                    continue
                records = iter(records)
                while chunk := list(itertools.islice(records, OWN_CHUNK)):
                    insert_rows(conn, table, chunk)
                    while child.ready() and (batch := child.next()) is not None:
                        insert_tuples(conn, CHILD_TABLE, *batch)
            while (batch := child.next()) is not None:
                insert_tuples(conn, CHILD_TABLE, *batch)
    finally:
        child.close()


OWN_CHUNK = 200  # the parent's rows between two looks at the pipe (a few ms of work)


def _temporary(target: Path) -> Path:
    """The temporary file a build writes (the lock held): those of interrupted builds are
    swept first."""
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def _swap(temp: Path, target: Path) -> None:
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    _reached("fsync")
    os.replace(temp, target)
    _reached("replace")
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    _reached("directory")


def _write(analysis: Analysis, temp: Path, progress: Progress, after_rows: Callable[[], None] | None = None) -> None:
    from kb.cache import jobs

    size = len(analysis.corpus.claims) + len(analysis.corpus.sources)
    # (no fork beside other threads, e.g. `kb serve`'s: RowsChild would refuse)
    forked = size >= FORK_ROWS_AT and jobs() > 1 and threading.active_count() == 1
    db = None
    try:
        db = _new_database(temp)
        try:
            _insert_all(db.conn, analysis, progress, forked)
        except ChildFailed:
            # the rows made here instead, into a new file (no journal: nothing to roll back)
            db.close()
            db = None  # (not closed twice should the new file fail)
            db = _new_database(temp)
            _insert_all(db.conn, analysis, progress, False)
        _reached("rows")
        if after_rows is not None:
            after_rows()
        with progress.stage("indexes and search"):
            index_and_search(db, progress)
        _reached("fts")
        create_views(db)
        _reached("views")
        with progress.stage("integrity"):
            verify(db)
        _reached("integrity")
        with progress.stage("vacuum"):
            compact(db)
        _reached("vacuum")
    except SchemaError as exc:
        raise BuildError(str(exc)) from None
    finally:
        if db is not None:
            db.close()


def _new_database(temp: Path):
    """A new file with kb's tables, written by this process only and fsynced before the swap:
    no journal, no syncs; a crash leaves a temporary file the next build sweeps."""
    import sqlite_utils  # (0.06-0.09 s to import: not by an update, kb.database.update)

    db = sqlite_utils.Database(temp, recreate=True)
    try:
        db.execute("pragma journal_mode = off")
        db.execute("pragma synchronous = off")
        create_tables(db)
    except BaseException:
        db.close()
        raise
    _reached("tables")
    return db


def _insert_all(conn: sqlite3.Connection, analysis: Analysis, progress: Progress, forked: bool) -> None:
    """Every table's rows, in one transaction; ``forked``: made by a child
    (:mod:`kb.database.rows_child`, which may raise ChildFailed)."""
    with conn:
        if forked:
            _insert_forked(conn, analysis, progress)
            return
        for table, records in rows(analysis):
            with progress.stage(f"insert {table}"):
                insert_rows(conn, table, records)
