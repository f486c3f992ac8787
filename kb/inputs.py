"""What a build depends on, in one place: the claim and source files, the settings files,
the snapshot folders, the kb version and the date the time rules use.

Two fingerprints are taken of the same list: ``signature`` (names, sizes, modification
times: cheap, polled by ``kb serve``) and ``fingerprint`` (a content hash: stored in the
database, it decides whether a build is stale). Files are hashed in chunks, so a huge
file costs time, not memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from datetime import date
from pathlib import Path

from kb import __version__
from kb.frontmatter import MAX_FILE_BYTES
from kb.load import collect_files
from kb.settings import Settings

__all__ = ["SETTINGS_FILES", "fingerprint", "input_paths", "signature"]

SETTINGS_FILES = ("kb.toml", "pyproject.toml")
_CHUNK = 1 << 20


def _schema_version() -> int:
    from kb.database.schema import SCHEMA_VERSION  # the database package imports this module

    return SCHEMA_VERSION


def input_paths(settings: Settings) -> tuple[list[Path], list[Path], list[Path]]:
    """(settings files that exist, claim and source files, snapshot files), each sorted."""
    configs = [settings.root / name for name in SETTINGS_FILES if (settings.root / name).is_file()]
    files = [path for _, path in collect_files(settings)]
    snapshots: list[Path] = []
    for folder in settings.snapshot_dirs:
        with contextlib.suppress(OSError):
            if folder.is_dir():
                snapshots += sorted(path for path in folder.iterdir() if path.is_file())
    return configs, files, snapshots


def _day(settings: Settings, today: date | None) -> date:
    return today or settings.today or date.today()


def signature(settings: Settings, today: date | None = None) -> tuple:
    """Names, sizes and modification times of every input, and the date."""
    configs, files, snapshots = input_paths(settings)
    stats = []
    for path in [*configs, *files, *snapshots]:
        try:
            info = path.stat()
        except OSError:
            continue
        stats.append((str(path), info.st_size, info.st_mtime_ns))
    return (_day(settings, today).isoformat(), *stats)


def fingerprint(settings: Settings, today: date | None = None) -> str:
    """A content hash of the settings and of every claim and source file; snapshots count by
    name, size and modification time; the kb and schema versions and the date are part of it."""
    configs, files, snapshots = input_paths(settings)
    day = _day(settings, today)
    digest = hashlib.sha256(f"kb {__version__} schema {_schema_version()} today {day}\n".encode())
    for folder in settings.snapshot_dirs:
        digest.update(f"snapshots {folder.resolve()}\n".encode())
    for path in snapshots:
        with contextlib.suppress(OSError):
            info = path.stat()
            digest.update(f"{path.name} {info.st_size} {info.st_mtime_ns}\n".encode())
    for path in [*configs, *files]:
        digest.update(path.relative_to(settings.root).as_posix().encode() + b"\0")
        _hash_file(digest, path)
    return digest.hexdigest()


def _hash_file(digest, path: Path) -> None:
    """Hash a regular file's content; anything else (a FIFO would block the open forever) or a
    file over the size limit (the loader refuses it unread) counts by its stat."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with open(descriptor, "rb", closefd=True) as handle:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                digest.update(f"{info.st_mode} {info.st_size} {info.st_mtime_ns}\n".encode())
                return
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
