"""What a build depends on, in one place: the claim and source files, the settings files,
the snapshot folders, the kb version and the date the time rules use.

Two fingerprints are taken of the same list: ``signature`` (names, sizes, modification
times: cheap, polled by ``kb serve``) and ``fingerprint`` (a content hash: stored in the
database, it decides whether a build is stale). The fingerprint a build stores is made from
the sha256 of the bytes the load actually parsed (``Corpus.hashes``), never from a second
read afterwards: a file edited during a build leaves the database stale, never falsely
fresh. ``current_hashes`` gives the same per-file hashes for the files as they are now,
without reading a file whose stat matches the cache's manifest (:mod:`kb.cache`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from datetime import date
from pathlib import Path
from typing import Literal

from kb import SCHEMA_VERSION, __version__
from kb.frontmatter import MAX_FILE_BYTES
from kb.settings import Settings

Kind = Literal["claim", "source"]

__all__ = [
    "QUICK_READS",
    "SETTINGS_FILES",
    "collect_files",
    "current_hashes",
    "fingerprint",
    "signature",
]

SETTINGS_FILES = ("kb.toml", "pyproject.toml")
_CHUNK = 1 << 20


def collect_files(settings: Settings) -> list[tuple[Kind, Path]]:
    """The Markdown files under the claims and sources folders, in a stable order.

    Symbolic links to folders are not followed (they could lead outside the knowledge base,
    loop, or bring files in twice): each is listed, so that :func:`load_file` reports it.
    Hidden files and folders are skipped.
    """
    found: list[tuple[Kind, Path]] = []
    for kind, folder in (("claim", settings.claims_dir), ("source", settings.sources_dir)):
        if not folder.is_dir():
            continue
        paths = _scan(str(folder))  # strings: pathlib per file cost more than the walk itself
        paths.sort(key=lambda path: path.split(os.sep))  # the order of Path objects: part by part
        found += [(kind, Path(path)) for path in paths]  # type: ignore[misc]
    return found


def _configs_and_snapshots(settings: Settings) -> tuple[list[Path], list[Path]]:
    configs = [settings.root / name for name in SETTINGS_FILES if (settings.root / name).is_file()]
    snapshots: list[Path] = []
    for folder in settings.snapshot_dirs:
        with contextlib.suppress(OSError):
            if folder.is_dir():
                snapshots += sorted(path for path in folder.iterdir() if path.is_file())
    return configs, snapshots


def _day(settings: Settings, today: date | None) -> date:
    return today or settings.today or date.today()


def signature(settings: Settings, today: date | None = None) -> tuple:
    """Names, sizes and modification times of every input, and the date: what ``kb serve``
    polls every second, so a string walk and one ``stat`` per file (issue 10 measured 3 s
    a pass at 100k files with pathlib). Compare two signatures for equality only."""
    configs, snapshots = _configs_and_snapshots(settings)
    stats = set()
    for path in [*map(str, configs), *(path for _, path in _walk(settings)), *map(str, snapshots)]:
        try:
            info = os.stat(path)  # followed: a linked file's edit is an edit
        except OSError:
            continue
        stats.add((path, info.st_size, info.st_mtime_ns))
    return (_day(settings, today).isoformat(), frozenset(stats))


# How many files a "has anything changed?" question reads before it answers "yes, probably":
# after a clean checkout (no manifest) it would read and hash every file only to learn that
# a build is needed, which then reads them all again (8 s of a 100k build).
QUICK_READS = 2000


def current_hashes(settings: Settings, *, use_cache: bool | None = None, max_reads: int | None = None) -> dict | None:
    """Relative path -> sha256 of every claim and source file as it is now (None for one that
    is not a readable regular file). A file whose stat matches the manifest is not read;
    past ``max_reads`` other files the answer is None ("cannot tell without reading")."""
    from kb.cache import Cache, cache_enabled

    store = Cache(settings.root, load_entries=False) if cache_enabled(use_cache) else None
    hashes: dict[str, str | None] = {}
    reads = 0
    for relative, path in _walk(settings):
        try:
            info = os.lstat(path)
        except OSError:
            hashes[relative] = None
            continue
        if not stat.S_ISREG(info.st_mode):
            hashes[relative] = None
            continue
        if store is not None and (known := store.known_hash(relative, info)) is not None:
            hashes[relative] = known
            continue
        if max_reads is not None and reads >= max_reads:
            return None
        reads += 1
        digest = hashlib.sha256()
        hashes[relative] = digest.hexdigest() if _hash_file(digest, Path(path)) else None
    return hashes


def _walk(settings: Settings) -> list[tuple[str, str]]:
    """(relative path, path) of the files :func:`collect_files` lists, in any order, with
    strings only (pathlib costs more than the stat walk itself)."""
    root = str(settings.root)
    prefix = root.rstrip(os.sep) + os.sep
    found = []
    for folder in (settings.claims_dir, settings.sources_dir):
        if folder.is_dir():
            for path in _scan(str(folder)):
                relative = path[len(prefix) :] if path.startswith(prefix) else path
                found.append((relative.replace(os.sep, "/"), path))
    return found


def _scan(folder: str) -> list[str]:
    """The paths under ``folder`` that are inputs, in any order: ``*.md`` files, and symbolic
    links to folders (listed, never followed, so that loading reports them); names starting
    with a dot are skipped. ``os.scandir`` gives each entry's type without a system call per
    entry (``os.walk`` plus a link test per folder cost twice as much); an unreadable
    folder is skipped, as ``os.walk`` does."""
    found: list[str] = []
    stack = [folder]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    is_folder = entry.is_dir()  # follows links, as os.walk classifies
                except OSError:
                    is_folder = False
                if is_folder:
                    if entry.is_symlink():
                        found.append(entry.path)
                    else:
                        stack.append(entry.path)
                elif entry.name.endswith(".md"):
                    found.append(entry.path)
    return found


def fingerprint(settings: Settings, today: date | None = None, hashes: dict | None = None) -> str:
    """A content hash of the settings and of every claim and source file; snapshots count by
    name, size and modification time; the kb and schema versions and the date are part of it.

    ``hashes`` (relative path -> sha256, as :attr:`kb.load.Corpus.hashes`) are the files'
    hashes; without them the files are read now (:func:`current_hashes`)."""
    configs, snapshots = _configs_and_snapshots(settings)
    if hashes is None:
        hashes = current_hashes(settings) or {}
    day = _day(settings, today)
    digest = hashlib.sha256(f"kb {__version__} schema {SCHEMA_VERSION} today {day}\n".encode())
    for folder in settings.snapshot_dirs:
        digest.update(f"snapshots {folder.resolve()}\n".encode())
    for path in snapshots:
        with contextlib.suppress(OSError):
            info = path.stat()
            digest.update(f"{path.name} {info.st_size} {info.st_mtime_ns}\n".encode())
    for path in configs:
        digest.update(path.relative_to(settings.root).as_posix().encode() + b"\0")
        _hash_file(digest, path)
    for relative, known in sorted(hashes.items()):
        digest.update(f"{relative}\0{known or '-'}\n".encode())
    return digest.hexdigest()


def _hash_file(digest, path: Path) -> bool:
    """Hash a regular file's content (True); anything else (a FIFO would block the open
    forever) or a file over the size limit (the loader refuses it unread) counts by its
    stat, an unreadable one not at all (False)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with open(descriptor, "rb", closefd=True) as handle:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                digest.update(f"{info.st_mode} {info.st_size} {info.st_mtime_ns}\n".encode())
                return False
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
            return True
    return False
