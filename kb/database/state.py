"""Is the database current? Read from its ``kb_build`` row with the standard library only,
so that a ``kb build`` with nothing to do, and the ``kb serve`` poller, answer without
importing the database stack (sqlite-utils, markdown-it, the citation formats)."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kb.inputs import QUICK_READS, current_fingerprint, known_fingerprint

if TYPE_CHECKING:
    from kb.settings import Settings
    from kb.settings_file import QuickSettings

__all__ = ["is_stale", "up_to_date"]


def _built(path: Path) -> dict | None:
    """The kb_build row of the database at ``path`` and its count of failing findings."""
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("select input_hash, claims, sources, findings from kb_build").fetchone()
            errors = conn.execute(
                "select count(*) from findings where severity = 'error' and not acknowledged"
            ).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    return {"input_hash": row[0], "claims": row[1], "sources": row[2], "findings": row[3], "errors": errors[0]}


def is_stale(settings: Settings | QuickSettings, path: Path | None = None, today: date | None = None) -> bool:
    """True when the database is missing or was built from other inputs. A file whose stat
    does not match the cache's manifest is read and hashed, so a changed input is never
    called fresh; past QUICK_READS such files the answer is "stale" without reading the
    rest (the build that follows reads them anyway)."""
    built = _built(path or settings.database_path)
    if built is None:
        return True
    current = current_fingerprint(settings, today, max_reads=QUICK_READS)
    return current is None or built["input_hash"] != current


def up_to_date(
    settings: Settings | QuickSettings, path: Path | None = None, today: date | None = None, files: tuple | None = None
) -> dict | None:
    """The database's counts (claims, sources, findings, errors) when it was built from
    exactly the current inputs, else None: then ``kb build`` has nothing to do. ``files``:
    what :func:`kb.inputs.current_files` gave for these settings (else it is asked now)."""
    built = _built((path or settings.database_path).resolve())
    if built is None:
        return None
    if files is None:
        current = current_fingerprint(settings, today, max_reads=QUICK_READS)
    else:
        current = known_fingerprint(settings, today, *files)
    if current is None or built["input_hash"] != current:
        return None
    return built
