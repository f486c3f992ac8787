"""What a build depends on, in one place: the claim and source files, the settings files,
the snapshot folders, the kb version and the date the time rules use.

Two fingerprints are taken of the same list: ``signature`` (names, sizes, modification
times: cheap, polled by ``kb serve``) and ``fingerprint`` (a content hash: stored in the
database, it decides whether a build is stale). The fingerprint a build stores is made from
the sha256 of the bytes the load actually parsed (``Corpus.files_digest``), never from a second
read afterwards: a file edited during a build leaves the database stale, never falsely
fresh. ``current_hashes`` gives the same per-file hashes for the files as they are now,
without reading a file whose stat matches the cache's manifest (:mod:`kb.cache`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import signal
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kb import MAX_FILE_BYTES, SCHEMA_VERSION, __version__
from kb.settings_file import SETTINGS_FILES, settings_digest, settings_files

if TYPE_CHECKING:  # kb.settings (pydantic) and kb.frontmatter (PyYAML) are not imported: a
    # `kb build` with nothing to do answers from here without them (kb.settings_file)
    from kb.settings import Settings
    from kb.settings_file import QuickSettings

Kind = Literal["claim", "source"]

__all__ = [
    "QUICK_READS",
    "SETTINGS_FILES",
    "collect_files",
    "current_files",
    "current_fingerprint",
    "current_hashes",
    "files_digest",
    "fingerprint",
    "known_fingerprint",
    "signature",
]

_CHUNK = 1 << 16  # a read of 1 MiB allocates 1 MiB each time, whatever the file holds


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


def _configs_and_snapshots(settings: Settings | QuickSettings) -> tuple[list[Path], list[Path]]:
    configs = [settings.root / name for name in SETTINGS_FILES if (settings.root / name).is_file()]
    snapshots: list[Path] = []
    for folder in settings.snapshot_dirs:
        with contextlib.suppress(OSError):
            if folder.is_dir():
                snapshots += sorted(path for path in folder.iterdir() if path.is_file())
    return configs, snapshots


def _day(settings: Settings | QuickSettings, today: date | None) -> date:
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


def current_hashes(
    settings: Settings | QuickSettings, *, use_cache: bool | None = None, max_reads: int | None = None
) -> dict | None:
    """Relative path -> sha256 of every claim and source file as it is now (None for one that
    is not a readable regular file). A file whose stat matches the manifest is not read;
    past ``max_reads`` other files the answer is None ("cannot tell without reading")."""
    return _current(settings, use_cache, max_reads)[0]


def current_fingerprint(
    settings: Settings | QuickSettings,
    today: date | None = None,
    *,
    use_cache: bool | None = None,
    max_reads: int | None = None,
) -> str | None:
    """``fingerprint(settings, today, files_digest(current_hashes(settings, …)))``, or None past
    ``max_reads``: what a no-op ``kb build`` and an unchanged ``kb check`` compare. When every
    file matches the manifest, the manifest's own files digest stands for the per-file lines
    (0.3 s at 100k files)."""
    hashes, digest = current_files(settings, use_cache=use_cache, max_reads=max_reads)
    return known_fingerprint(settings, today, hashes, digest)


def known_fingerprint(
    settings: Settings | QuickSettings, today: date | None, hashes: dict | None, digest: str | None
) -> str | None:
    """The fingerprint of the files :func:`current_files` found, or None when they cannot
    tell: past its ``max_reads``, or when a path has no hash (a symbolic link, a file over
    the size limit: only reading it tells whether what it leads to changed)."""
    if hashes is None or None in hashes.values():
        return None
    return fingerprint(settings, today, digest)


def current_files(
    settings: Settings | QuickSettings,
    *,
    use_cache: bool | None = None,
    max_reads: int | None = None,
    split: bool = True,
    digest: bool = True,
    refresh: bool = True,
) -> tuple[dict | None, str | None]:
    """(:func:`current_hashes`, their :func:`files_digest`), or (None, None) past ``max_reads``.
    ``split=False``: the walk all in this process (one already running beside another);
    ``digest=False``: the digest only when it is known without computing it (else None);
    ``refresh=False``: the manifest is not brought up to date (see :func:`_current`)."""
    hashes, known = _current(settings, use_cache, max_reads, split, refresh)
    if hashes is None:
        return None, None
    return hashes, known or (files_digest(hashes) if digest else None)


def _current(
    settings: Settings | QuickSettings,
    use_cache: bool | None,
    max_reads: int | None,
    split: bool = True,
    refresh: bool = True,
) -> tuple[dict | None, str | None]:
    """(current hashes or None, the manifest's files digest when they are all its hashes).

    With ``refresh``, files the manifest did not know as they are now (edited, new, gone)
    leave it up to date: their rows are written (by a forked child, :func:`kb.cache.in_background`),
    so that the next walk trusts what it can instead of reading them again. Only a full load
    wrote the manifest before: after an edit built as an update, every later no-op build read
    the edited files again and hashed the whole list of files (0.2 s at 100k files). Each
    row's stat is taken before its file is read: a change after the stat shows as another
    stat next time (a stat taken after the read could pair a new stat with the old content);
    a change within the racy window of the write is not trusted either (:data:`kb.cache.RACY_NS`)."""
    from kb.cache import RACY_NS, Cache, cache_enabled, in_background, jobs, stat_row

    store = Cache(settings.root, load_entries=False) if cache_enabled(use_cache) else None
    manifest = store.manifest if store is not None else {}
    racy = store.manifest_written - RACY_NS if store is not None else 0
    tasks = _tasks(settings)
    if split and len(manifest) >= FORK_THRESHOLD and jobs() > 1:
        # two cores: a forked child walks and stats every other folder (the walk and the
        # stats are two thirds of a no-op build at 100k files; threads only fight over the GIL)
        weights = _weights(tasks, settings.root, manifest)
        known, unknown, missing = _in_two(_compare, tasks, settings.root, manifest, racy, weights=weights)
    else:
        known, unknown, missing = _compare(tasks, settings.root, manifest, racy)
    if max_reads is not None and len(unknown) > max_reads:
        return None, None
    if not unknown and not missing and len(known) == len(manifest) == len(set(known)):
        # every file of the manifest walked and unchanged (the common case): its hashes, read
        # in one pass over its rows (a look-up per path cost twice as much)
        hashes: dict[str, str | None] = {relative: row[4] for relative, row in manifest.items()}
    else:
        hashes = {relative: manifest[relative][4] for relative in known}
    hashes.update(dict.fromkeys(missing))
    rows: dict[str, tuple] = {}
    for relative, path in unknown:
        digest = hashlib.sha256()
        try:
            info = os.lstat(path)  # before the read (see the docstring); lstat, as the walk
        except OSError:
            info = None
        read = _hash_file(digest, Path(path))
        hashes[relative] = digest.hexdigest() if read else None
        if read and info is not None:
            rows[relative] = stat_row(info, hashes[relative])
    if store is not None and not unknown and not missing and len(hashes) == len(manifest):
        # every path walked is in the manifest, and as many paths: the same set. (Not a count
        # of the matches: overlapping claims and sources folders walk some files twice.)
        return hashes, store.manifest_digest
    if store is not None and refresh and (rows or len(manifest) != len(set(known))):
        # the manifest of the files walked, as they are: the rows that matched, and the new
        # ones (unreadable files and anything not a regular file have none, as a load writes
        # it). A row copied was trusted under the old manifest's time: not racy under the new.
        fresh = {relative: manifest[relative] for relative in known}
        fresh.update(rows)
        digest = files_digest(hashes)  # (what current_files would compute next)
        in_background(
            store.save, fresh, None, frozenset(), digest if len(fresh) == len(hashes) else None, manifest_only=True
        )
        return hashes, digest
    return hashes, None


# Below this many files (by the manifest) the stat walk is not worth a fork.
FORK_THRESHOLD = 20_000


def _compare(tasks: list[tuple[str, bool]], root: Path, manifest: dict, racy: int) -> tuple[list, list, list]:
    """Walk the folders of ``tasks`` (:func:`_tasks`) and compare each file's stat with its
    manifest row (:func:`kb.cache.unchanged`): (relative paths that match, (relative, path)
    to read, relative paths of what is not a regular file).

    :func:`_scan_entries`, :func:`_relative` and :func:`kb.cache.unchanged` written out in one
    loop: this runs once per file on every no-op build and unchanged check, and the three
    generators and a call per file were a third of it (0.3 s at 100k files)."""
    regular = stat.S_ISREG
    known: list[str] = []
    unknown: list[tuple[str, str]] = []
    missing: list[str] = []
    prefix = str(root).rstrip(os.sep) + os.sep
    cut, slashes = len(prefix), os.sep == "/"
    get = manifest.get
    for top, deep in tasks:
        stack = [top]
        while stack:
            try:
                entries = os.scandir(stack.pop())
            except OSError:
                continue
            with entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    try:
                        is_folder = entry.is_dir()  # follows links, as os.walk classifies
                    except OSError:
                        is_folder = False
                    if is_folder:
                        if not entry.is_symlink():
                            if deep:
                                stack.append(entry.path)
                            continue
                    elif not name.endswith(".md"):
                        continue
                    path = entry.path
                    relative = path[cut:] if path.startswith(prefix) else path
                    if not slashes:
                        relative = relative.replace(os.sep, "/")
                    try:
                        info = entry.stat(follow_symlinks=False)  # the lstat os.scandir did not do
                    except OSError:
                        missing.append(relative)
                        continue
                    if not regular(info.st_mode):  # a link to a folder, a FIFO…: the load reports it
                        missing.append(relative)
                        continue
                    row = get(relative)
                    if (
                        row is not None
                        and row[0] == info.st_size
                        and row[1] == info.st_mtime_ns
                        and row[2] == info.st_ctime_ns
                        and row[3] == info.st_ino
                        and info.st_mtime_ns < racy
                        and info.st_ctime_ns < racy
                    ):
                        known.append(relative)
                    else:
                        unknown.append((relative, path))
    return known, unknown, missing


def _weights(tasks: list[tuple[str, bool]], root: Path, manifest: dict) -> list[int]:
    """How many files each walk task (:func:`_tasks`) is likely to find: the manifest's paths
    under its folder, from a sample of one path in :data:`SAMPLE` (a 100k knowledge base's
    largest topic holds an eighth of its files: split by count of folders, one process
    walked twice as many files as the other)."""
    prefix = str(root).rstrip(os.sep) + os.sep
    folders = []
    for folder, deep in tasks:
        relative = folder[len(prefix) :] if folder.startswith(prefix) else folder
        folders.append((relative if os.sep == "/" else relative.replace(os.sep, "/"), deep))
    depths = {relative.count("/") + 1 for relative, _ in folders}
    under: dict[str, int] = {}  # folder -> sampled paths anywhere under it
    inside: dict[str, int] = {}  # folder -> sampled paths right in it
    for path in itertools.islice(manifest, 0, None, SAMPLE):
        parts = path.split("/")
        for depth in depths:
            if depth < len(parts):
                where = "/".join(parts[:depth])
                under[where] = under.get(where, 0) + 1
                if depth == len(parts) - 1:
                    inside[where] = inside.get(where, 0) + 1
    return [1 + SAMPLE * (under if deep else inside).get(relative, 0) for relative, deep in folders]


SAMPLE = 8


def _in_two(function, tasks: list, *args, weights: list[int] | None = None) -> tuple[list, list, list]:
    """``function(tasks, *args)`` with about half the work done by a forked child
    (:func:`_halves`; ``weights``: each task's expected size), the parts' lists joined; all
    done here when a fork is not safe (another thread runs) or fails."""
    if len(tasks) < 2:
        return function(tasks, *args)
    mine, theirs = _halves(tasks, weights)
    child = Forked(function, theirs, *args)
    try:
        part = function(mine, *args)
        other = child.result()
    finally:
        child.close()
    return tuple(a + b for a, b in zip(part, other, strict=True))  # type: ignore[return-value]


def _halves(tasks: list, weights: list[int] | None) -> tuple[list, list]:
    """The tasks in two halves of about equal weight: the heaviest first, each to the lighter
    half (without weights, every other task)."""
    if weights is None:
        return tasks[0::2], tasks[1::2]
    halves: tuple[list, list] = ([], [])
    loads = [0, 0]
    for weight, task in sorted(zip(weights, tasks, strict=True), key=lambda pair: -pair[0]):
        lighter = 0 if loads[0] <= loads[1] else 1
        halves[lighter].append(task)
        loads[lighter] += weight
    return halves


# Descriptors a forked child closes before anything else: the build lock's
# (kb.database.build._locked), which a child that outlived a killed build (the check state's,
# saving for 8 s at 100k) held until it ended, refusing the next build. Closed, not unlocked:
# the lock is the parent's.
NOT_INHERITED: set[int] = set()


def close_not_inherited() -> None:
    """In a child just forked: close the descriptors of :data:`NOT_INHERITED`."""
    for fd in list(NOT_INHERITED):
        with contextlib.suppress(OSError):
            os.close(fd)
    NOT_INHERITED.clear()


def fork_writer(write, *args, pipe_bytes: int = 0) -> tuple[int, int] | None:
    """Fork a child that runs ``write(out, *args)`` (``out``: the write end of a pipe, as a
    binary file) and exits at once (``os._exit``: status 0 when ``write`` returned); (its pid,
    the read end) here, or None when the fork fails. The child first closes
    :data:`NOT_INHERITED`. ``pipe_bytes``: the pipe's buffer (Linux; else as it is). Ctrl-C is
    held back across the fork, so that the child is inside its try before it can be
    interrupted: never a second kb unwinding. The caller checks that no other thread runs."""
    read, write_end = os.pipe()
    if pipe_bytes:
        with contextlib.suppress(AttributeError, OSError):
            import fcntl

            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, pipe_bytes)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        child = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(read)
        os.close(write_end)
        return None
    if child == 0:
        status = 1
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            close_not_inherited()
            os.close(read)
            with open(write_end, "wb") as out:
                write(out, *args)
            status = 0
        finally:
            os._exit(status)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    os.close(write_end)
    return child, read


def _send_result(out, function, *args) -> None:
    """In :class:`Forked`'s child: what ``function(*args)`` returned, pickled."""
    import pickle

    out.write(pickle.dumps(function(*args), protocol=pickle.HIGHEST_PROTOCOL))


class Forked:
    """``function(*args)`` run by a forked child while the caller goes on; :meth:`result`
    gives what it returned (pickled back through a pipe). Where a fork is not safe (another
    thread runs) or fails, the child fails, or ``fork`` is false, the function runs in this
    process when the result is asked for: the same answer either way. :meth:`close` (on
    every way out) leaves no child behind."""

    def __init__(self, function, *args, fork: bool = True):
        self.function, self.args = function, args
        self.child: int | None = None
        self.pipe: int | None = None
        self.parent = os.getpid()  # a process forked from this one has the object, not the child
        import threading

        if not fork or not hasattr(os, "fork") or threading.active_count() > 1:
            return
        forked = fork_writer(_send_result, function, *args)
        if forked is not None:
            self.child, self.pipe = forked

    @property
    def forked(self) -> bool:
        return self.child is not None

    @property
    def ours(self) -> bool:
        """Whether this process started the child (a process forked since, e.g. a test's or a
        library caller's, has a copy of the object but cannot wait for or kill its child)."""
        return os.getpid() == self.parent

    def ready(self) -> bool:
        """Whether :meth:`result` would not wait for the child (it has begun to send its
        result, or ended; or no child runs, and the result is computed here when asked for)."""
        if self.child is None:
            return True
        import select

        return bool(select.select([self.pipe], [], [], 0)[0])

    def result(self):
        if self.child is None or not self.ours:
            return self.function(*self.args)
        import pickle

        with open(self.pipe, "rb", closefd=False) as pipe:  # type: ignore[arg-type]
            payload = pipe.read()
        _, status = os.waitpid(self.child, 0)
        self.child = None
        self.close()
        if status == 0:
            with contextlib.suppress(Exception):
                return pickle.loads(payload)
        return self.function(*self.args)  # the child failed: here

    def close(self) -> None:
        if self.pipe is not None:
            os.close(self.pipe)
            self.pipe = None
        if self.child is not None and self.ours:  # interrupted: no child left behind
            with contextlib.suppress(OSError):
                os.kill(self.child, signal.SIGKILL)
                os.waitpid(self.child, 0)
            self.child = None


def _tasks(settings: Settings | QuickSettings) -> list[tuple[str, bool]]:
    """The walk of the claims and sources folders as (folder, deep) tasks: each of the two
    folders shallow (its own files and linked folders), each of their real subfolders deep."""
    tasks: list[tuple[str, bool]] = []
    for folder in (settings.claims_dir, settings.sources_dir):
        if not folder.is_dir():
            continue
        tasks.append((str(folder), False))
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if not entry.name.startswith(".") and entry.is_dir() and not entry.is_symlink():
                        tasks.append((entry.path, True))
    return tasks


def _relative(root: Path, entries) -> Iterator[tuple[str, os.DirEntry]]:
    """(relative path, entry) for each entry: its path from the root, with slashes."""
    prefix = str(root).rstrip(os.sep) + os.sep
    for entry in entries:
        path = entry.path
        relative = path[len(prefix) :] if path.startswith(prefix) else path
        yield (relative if os.sep == "/" else relative.replace(os.sep, "/")), entry


def _walk(settings: Settings) -> list[tuple[str, str]]:
    """(relative path, path) of the files :func:`collect_files` lists, in any order, with
    strings only (pathlib costs more than the stat walk itself)."""
    found = (entry for folder, deep in _tasks(settings) for entry in _scan_entries(folder, deep))
    return [(relative, entry.path) for relative, entry in _relative(settings.root, found)]


def _scan(folder: str) -> list[str]:
    """The paths under ``folder`` that are inputs, in any order (:func:`_scan_entries`)."""
    return [entry.path for entry in _scan_entries(folder)]


def _scan_entries(folder: str, deep: bool = True) -> Iterator[os.DirEntry]:
    """The entries under ``folder`` that are inputs, in any order: ``*.md`` files, and symbolic
    links to folders (listed, never followed, so that loading reports them); names starting
    with a dot are skipped. ``os.scandir`` gives each entry's type without a system call per
    entry (``os.walk`` plus a link test per folder cost twice as much); an unreadable
    folder is skipped, as ``os.walk`` does. Not ``deep``: the folder's own entries only."""
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
                        yield entry
                    elif deep:
                        stack.append(entry.path)
                elif entry.name.endswith(".md"):
                    yield entry


def files_digest(hashes: dict) -> str:
    """The digest of the per-file lines of a fingerprint (relative path -> sha256 or None)."""
    paths = sorted(hashes)  # one string hashed (one update a line took 20% longer at 100k files)
    lines = "".join(map("{}\0{}\n".format, paths, (hashes[path] or "-" for path in paths)))
    return hashlib.sha256(lines.encode()).hexdigest()


def fingerprint(settings: Settings | QuickSettings, today: date | None = None, files: str | None = None) -> str:
    """A content hash of the settings and of every claim and source file; snapshots count by
    name, size, modification and change times and inode; the kb and schema versions and the date are part of it.

    ``files`` is the :func:`files_digest` of the claim and source files' hashes
    (:attr:`kb.load.Corpus.files_digest`); without it the files are read now
    (:func:`current_hashes`)."""
    snapshots = _configs_and_snapshots(settings)[1]
    if files is None:
        files = files_digest(current_hashes(settings) or {})
    day = _day(settings, today)
    digest = hashlib.sha256(f"kb {__version__} schema {SCHEMA_VERSION} today {day}\n".encode())
    for folder in settings.snapshot_dirs:  # whether it exists: an empty archive still changes KB203
        digest.update(f"snapshots {folder.resolve()} {folder.is_dir()}\n".encode())
    for path in snapshots:
        with contextlib.suppress(OSError):
            info = path.stat()
            # ctime and inode too: an edit that puts size and mtime back still changes them
            digest.update(f"{path.name} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns} {info.st_ino}\n".encode())
    # the settings as they were read (a kb.toml edited since: stale, never falsely current)
    read = settings.settings_digest or settings_digest(settings_files(settings.root))
    digest.update(f"settings {read}\n".encode())
    digest.update(f"files {files}\n".encode())
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
