"""``kb build``: write the analysed knowledge base to SQLite, atomically.

A full rebuild into a temporary file next to the database, checked (``integrity_check``,
``foreign_key_check``), fsynced and swapped in with ``os.replace``: a failed or interrupted
build leaves the previous database exactly as it was. A lock file serialises concurrent
builds; stale temporary files of interrupted builds are swept by the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from kb.analyse import Analysis
from kb.database.rows import rows
from kb.database.schema import SchemaError, create_tables, create_views, index_and_search, verify
from kb.inputs import fingerprint
from kb.settings import Settings

__all__ = ["BuildError", "build_database", "is_stale"]


class BuildError(Exception):
    """The database could not be written; the previous one is untouched."""


def is_stale(settings: Settings) -> bool:
    """True when the database is missing or was built from other inputs."""
    path = settings.database_path
    if not path.is_file():
        return True
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("select input_hash from kb_build").fetchone()
    except sqlite3.Error:
        return True
    return row is None or row[0] != fingerprint(settings)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock_path = path.with_name(f".{path.name}.lock")
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"another build of {path.name} is running (lock {lock_path.name})") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_database(analysis: Analysis, path: Path | None = None) -> Path:
    """Write the database atomically; return its path. Raises BuildError."""
    target = (path or analysis.settings.database_path).resolve()
    if not target.parent.is_dir():
        raise BuildError(f"folder {target.parent} does not exist")
    try:
        with _locked(target):
            for stale in target.parent.glob(f".{target.name}.*.tmp"):
                stale.unlink(missing_ok=True)
            temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            try:
                _write(analysis, temp)
                _swap(temp, target)
            finally:
                temp.unlink(missing_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot write {target}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise BuildError(f"cannot write {target}: {exc}") from None
    return target


def _swap(temp: Path, target: Path) -> None:
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _write(analysis: Analysis, temp: Path) -> None:
    db = sqlite_utils.Database(temp, recreate=True)
    try:
        db.execute("pragma journal_mode = off")
        db.execute("pragma synchronous = off")
        create_tables(db)
        with db.conn:
            for table, records in rows(analysis):
                db[table].insert_all(records)
        index_and_search(db)
        create_views(db)
        verify(db)
        db.execute("pragma journal_mode = delete")
        db.vacuum()
    except SchemaError as exc:
        raise BuildError(str(exc)) from None
    finally:
        db.close()
