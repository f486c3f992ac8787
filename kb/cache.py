"""A content-hash cache of parsed and validated files, and a manifest of file stats.

Both live in ``<root>/.kb-cache/`` (a folder with a ``.gitignore`` of ``*``; safe to delete
at any time). ``KB_NO_CACHE=1`` (or ``--no-cache``) bypasses them.

* ``entries-00`` … ``entries-3f``: signed pickles of ``{key: Loaded}`` (the record carries
  its rendered body once a build has rendered it), in 64 shards by key, so that an edit
  rewrites the shards of its old and its new entry, not the whole cache. A key is the sha256 of
  the file's bytes, its kind, its relative path (KB006 depends on the file name), the kb
  version and :data:`FORMAT`. What ``load_file`` gives depends on nothing else in the
  settings (the root only through the relative path). Symbolic links and unreadable files
  are never cached.
* ``manifest``: relative path → (size, mtime_ns, ctime_ns, inode, sha256), when it was
  written, and the digest of its (path, sha256) lines (:func:`kb.inputs.files_digest`), so
  that a fingerprint over files that all match it needs no hashing of 100k lines. A file
  whose stat matches is not read again. Racy guard (as git): a file modified within 2 s of
  the manifest's writing is re-hashed. ``ctime`` cannot be set back by ``os.utime``, so an
  edit that restores size and mtime is still seen.

Pickle is code execution, so each file is signed with an HMAC-SHA256 key kept per user
outside the knowledge base (``$XDG_CACHE_HOME/kb/key`` or ``~/.cache/kb/key``, mode
0600): a ``.kb-cache`` that came with a clone or a tarball fails the check and is ignored,
never unpickled. A corrupt, truncated, foreign or old-format file is a silent miss. Writes
go to a temporary file and ``os.replace``: two builds at once never leave a torn file (the
last one wins).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import os
import pickle
import secrets
import signal
import stat
import time
from pathlib import Path
from typing import Any

from kb import __version__
from kb.inputs import Forked, files_digest

__all__ = [
    "FORMAT",
    "Cache",
    "cache_enabled",
    "entry_key",
    "load_findings",
    "load_signed",
    "parse_many",
    "save_findings",
    "save_signed",
]

FORMAT = 4  # bump when what an entry holds changes shape or meaning (3: Document.head; 4: cmark-gfm HTML)
SHARDS = 64
CHECK_STATE = "check-state"  # kb.incremental's state
RACY_NS = 2_000_000_000
_MAGIC = b"kb-cache\0"
_DIGEST = 32


def unchanged(row: tuple | None, info: os.stat_result, racy: int) -> bool:
    """Whether a file's stat is that of its manifest row (size, mtime, ctime, inode) and
    both its times are before ``racy`` (the manifest's writing less RACY_NS: a file changed
    within the timestamps' resolution since may look the same). Written out again in
    :func:`kb.inputs._compare`'s loop (a call per file cost a tenth of the walk): keep both alike."""
    return (
        row is not None
        and row[0] == info.st_size
        and row[1] == info.st_mtime_ns
        and row[2] == info.st_ctime_ns
        and row[3] == info.st_ino
        and info.st_mtime_ns < racy
        and info.st_ctime_ns < racy
    )


def cache_enabled(flag: bool | None = None) -> bool:
    if flag is not None:
        return flag
    return os.environ.get("KB_NO_CACHE", "") in ("", "0")


def _key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kb" / "key"


def _user_key() -> bytes | None:
    """The per-user signing key, created (0600) on first use; None when it cannot be had."""
    path = _key_path()
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if len(data) >= 32 else None


def entry_key(digest: str, kind: str, relative: str) -> str:
    return f"{FORMAT}\0{__version__}\0{kind}\0{relative}\0{digest}"


def shard_of(key: str) -> int:
    """The shard an entry is kept in (its key ends with the file's sha256)."""
    return int(key[-2:], 16) % SHARDS


def _header() -> bytes:
    return _MAGIC + f"{FORMAT} {__version__}\n".encode()


def _read_signed(path: Path, key: bytes) -> Any:
    """The unpickled payload, or None for anything not written by this user and version."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    header = _header()
    if not blob.startswith(header) or len(blob) < len(header) + _DIGEST:
        return None
    signature = blob[len(header) : len(header) + _DIGEST]
    payload = memoryview(blob)[len(header) + _DIGEST :]  # no copies of what can be 60 MB
    mac = hmac.new(key, header, hashlib.sha256)
    mac.update(payload)
    if not hmac.compare_digest(signature, mac.digest()):
        return None
    return _unpickle(payload)


def _unpickle(payload: bytes | memoryview) -> Any:
    """Signed bytes unpickled, or None."""
    import gc

    enabled = gc.isenabled()
    gc.disable()  # unpickling builds millions of small objects: collections would triple its time
    try:
        return pickle.loads(payload)
    except Exception:  # signed by us but unreadable (a kb bug or a changed class): a miss
        return None
    finally:
        if enabled:
            if not gc.get_freeze_count():
                # the new objects, all young, would make the next young collection scan
                # every one of them (0.2 s after a state at 100k files): frozen then
                # unfrozen, they join the oldest generation unscanned (and are still collected)
                gc.freeze()
                gc.unfreeze()
            gc.enable()


class _Signing:
    """A file that signs what is written to it (the pickler's frames, as they come)."""

    def __init__(self, handle, mac):
        self.handle, self.mac = handle, mac

    def write(self, data) -> int:
        self.mac.update(data)
        return self.handle.write(data)


_TEMPORARY = ".tmp"  # what _write_signed writes first: ".NAME.PID.TOKEN.tmp" (see _temporaries)


def _temporaries(folder: Path, pid: int) -> list[Path]:
    """The temporary files process ``pid`` was writing in ``folder`` (:func:`_write_signed`)."""
    return list(folder.glob(f".*.{pid}.*{_TEMPORARY}"))


def _write_signed(path: Path, key: bytes, value: Any) -> None:
    """``value`` pickled into ``path``, signed. The pickle is streamed to the file, its
    signature written in its place once known: never the whole payload in memory (a check
    state at 100k files is 62 MB, and ``pickle.dumps`` grew its buffer past that: the
    state's writing peaked 26 MB lower this way, and took 1.6 s instead of 2.0, measured)."""
    header = _header()
    mac = hmac.new(key, header, hashlib.sha256)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{_TEMPORARY}")
    try:
        with open(temporary, "wb") as handle:
            handle.write(header + bytes(_DIGEST))
            pickle.Pickler(_Signing(handle, mac), protocol=pickle.HIGHEST_PROTOCOL).dump(value)
            handle.seek(len(header))
            handle.write(mac.digest())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


class Cache:
    """The cache of one knowledge base; every failure is a miss, never an error."""

    def __init__(self, root: Path, *, load_entries: bool = True):
        self.folder = root / ".kb-cache"
        self.key = _user_key()
        self.entries: dict[str, tuple] = {}
        self.shards: dict[int, set[str]] = {}  # shard -> the keys it held when read
        self.manifest: dict[str, tuple] = {}
        self.manifest_written = 0
        self.manifest_digest: str | None = None  # files_digest of the manifest's hashes
        self.dirty = False
        wait_for_writers()  # (a child may still be writing this folder)
        if self.key is None:
            return
        manifest = _read_signed(self.folder / "manifest", self.key)
        if isinstance(manifest, tuple) and len(manifest) == 3 and isinstance(manifest[1], dict):
            self.manifest_written, self.manifest, self.manifest_digest = manifest
        if load_entries:
            for shard in range(SHARDS):
                entries = _read_signed(self.folder / f"entries-{shard:02x}", self.key)
                if isinstance(entries, dict):
                    self.entries.update(entries)
                    self.shards[shard] = set(entries)

    def known_hash(self, relative: str, info: os.stat_result) -> str | None:
        """The sha256 the manifest holds for a file whose stat still matches (None: read it)."""
        row = self.manifest.get(relative)
        return row[4] if unchanged(row, info, self.manifest_written - RACY_NS) else None

    def save(
        self,
        manifest: dict[str, tuple],
        entries: dict[str, tuple] | None,
        changed: set[str] = frozenset(),
        digest: str | None = None,
    ) -> None:
        """Write the manifest (with ``digest``, its files digest, when the caller has it),
        and the shards of ``entries`` whose keys differ from what was read or hold a key in
        ``changed`` (parsed or rendered anew); failures are ignored."""
        if self.key is None:
            return
        with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
            self.folder.mkdir(exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("*\n", encoding="utf-8")
            if entries is not None:
                shards: dict[int, dict] = {shard: {} for shard in range(SHARDS)}
                for key, value in entries.items():
                    shards[shard_of(key)][key] = value
                for shard, part in shards.items():
                    if set(part) != self.shards.get(shard, set()) or not changed.isdisjoint(part):
                        _write_signed(self.folder / f"entries-{shard:02x}", self.key, part)
                (self.folder / "entries").unlink(missing_ok=True)  # format 1 kept all in one file
            if digest is None:
                digest = files_digest({relative: row[4] for relative, row in manifest.items()})
            _write_signed(self.folder / "manifest", self.key, (time.time_ns(), manifest, digest))


# --- the findings of the last check, for a `kb check` with nothing changed ----------------


def load_signed(root: Path, name: str) -> Any:
    """What :func:`save_signed` stored as ``name`` in the cache folder (None: nothing usable)."""
    wait_for_writers(manifest=False)
    secret = _user_key()
    return None if secret is None else _read_signed(root / ".kb-cache" / name, secret)


def save_signed(root: Path, name: str, value: Any) -> None:
    """Store ``value`` as ``name`` in the cache folder, signed; failures are ignored."""
    wait_for_writers(manifest=False)
    secret = _user_key()
    if secret is None:
        return
    folder = root / ".kb-cache"
    with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
        folder.mkdir(exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        _write_signed(folder / name, secret, value)


def load_findings(root: Path, key: str) -> list | None:
    """The findings stored for ``key`` (the inputs' fingerprint and the check's options)."""
    stored = load_signed(root, "findings")  # (key, pickled findings): no findings unpickled for another key
    if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key and isinstance(stored[1], bytes)):
        return None
    findings = _unpickle(stored[1])  # signed with the key above
    return findings if isinstance(findings, list) else None


def save_findings(root: Path, key: str, findings: list) -> None:
    with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError):
        save_signed(root, "findings", (key, pickle.dumps(findings, protocol=pickle.HIGHEST_PROTOCOL)))


# --- writes a forked child finishes while the command goes on ----------------------------

_WRITERS: list = []  # kb.inputs.Forked children writing to a cache folder
_MANIFEST_WRITERS: list = []  # those writing its manifest alone


def in_background(function, *args, manifest_only: bool = False, or_here: bool = True) -> bool:
    """``function(*args)`` (a write to the cache) in a forked child (:class:`kb.inputs.Forked`),
    while this process goes on (a re-check at 100k files prints its report meanwhile instead
    of first pickling 40,000 findings: 0.2 s). Every read or write of a stored value waits for
    such children first (but for those that write the manifest alone, ``manifest_only``: a
    read of the manifest waits for them), and so does the end of the process (``kb`` itself,
    and :mod:`atexit` for a library caller): what a command stored is there once it has ended.
    Where a fork is not safe (another thread runs) or fails, the function runs here and now
    (unless not ``or_here``: then not at all, and False is returned); a child that fails is
    redone here when waited for."""
    writer = Forked(_write_alone, os.getpid(), function, *args)
    if not writer.forked:
        if or_here:
            writer.result()
        return or_here
    if not _WRITERS and not _MANIFEST_WRITERS:
        atexit.register(wait_for_writers)
    (_MANIFEST_WRITERS if manifest_only else _WRITERS).append(writer)
    return True


def abandon_writers(root: Path, function) -> None:
    """Stop the children :func:`in_background` started to run ``function``, instead of waiting
    for them: for work that can be done without (the check state of a build that was
    interrupted: the next check is a full one). What a child was writing goes with it: the
    temporary file :func:`_write_signed` names after the child is removed, the file it was to
    replace is left as it was."""
    # (each writer is Forked(_write_alone, parent, function, *args): see in_background)
    for writer in [writer for writer in _WRITERS if writer.args[1] is function and writer.ours]:
        _WRITERS.remove(writer)
        child = writer.child
        writer.close()  # (SIGKILL, and waited for)
        if child is not None:
            for temporary in _temporaries(root / ".kb-cache", child):
                with contextlib.suppress(OSError):
                    temporary.unlink()


def _write_alone(parent: int, function, *args) -> None:
    """The write; in the child (not in ``parent``, where it runs when the fork could not be
    made or the child failed), one that Ctrl-C meant for the command does not cut short, and
    that waits for no sibling (the parent's lists are not the child's to wait on)."""
    if os.getpid() != parent:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _WRITERS.clear()
        _MANIFEST_WRITERS.clear()
    function(*args)


def wait_for_writers(manifest: bool = True) -> None:
    """Wait until every child :func:`in_background` started has finished (with ``manifest``
    false, but for those writing the manifest alone: a stored value elsewhere is not theirs)."""
    # (a writer another process started, whose lists a process forked from it has, is that
    # process's to wait for: its child cannot be waited for from here)
    while _WRITERS:
        if (writer := _WRITERS.pop(0)).ours:
            writer.result()
    while manifest and _MANIFEST_WRITERS:
        if (writer := _MANIFEST_WRITERS.pop(0)).ours:
            writer.result()


# --- loading every file through the cache, in parallel when many need parsing -------------

PARALLEL_THRESHOLD = 2000  # fewer files to parse than this: one process (a fork costs ~0.1 s)
CHUNK = 250


def jobs() -> int:
    try:
        wanted = int(os.environ.get("KB_JOBS", "0"))
    except ValueError:
        wanted = 0
    return wanted if wanted > 0 else min(os.cpu_count() or 1, 4)


def stat_row(info: os.stat_result, digest: str) -> tuple:
    """A manifest row: what a file's stat must match for its ``digest`` to be trusted."""
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, digest)


def _each(one, chunk: list, *args) -> list:
    """In a worker: ``one(item, *args)`` for each item of the chunk, in order."""
    return [one(item, *args) for item in chunk]


def _parse_one(item: tuple, render: bool) -> Any:
    """Parse one (kind, path, shown, bytes) item: its Loaded."""
    from kb.load import parse_file

    kind, path, shown, raw = item
    return parse_file(kind, Path(path), shown, raw, render)


def _render_one(body: str) -> str:
    from kb.render import render_markdown

    return render_markdown(body)


class _Pool:
    """``one(item, *args)`` over items as they come, results in the order of the items: once
    PARALLEL_THRESHOLD items wait, a fork pool starts and takes chunks of CHUNK while the
    caller goes on adding (on a cold page cache reading is a third of the parse). Few items,
    one core, or a pool that fails in any way: the work is done in this process, nothing
    lost. ``one`` is a module function (workers get it by name)."""

    def __init__(self, one, *args):
        self.one, self.args = one, args
        self.workers = jobs()
        self.items: list = []
        self.pool = None
        self.futures: list = []
        self.submitted = 0
        self.failed = False

    def add(self, item) -> None:
        self.items.append(item)
        if self.pool is None and not self.failed and len(self.items) >= PARALLEL_THRESHOLD and self.workers > 1:
            self._start()
        while self.pool is not None and len(self.items) - self.submitted >= CHUNK:
            self._submit(CHUNK)

    def _start(self) -> None:
        import gc
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        try:
            context = multiprocessing.get_context("fork")
            gc.freeze()  # the forked workers share the parent's pages instead of copying them
            # (a dead worker raises BrokenProcessPool, where multiprocessing.Pool would hang)
            self.pool = ProcessPoolExecutor(self.workers, mp_context=context)
        except Exception:
            gc.unfreeze()
            self.failed = True

    def _submit(self, size: int) -> None:
        chunk = self.items[self.submitted : self.submitted + size]
        self.submitted += len(chunk)
        try:
            self.futures.append(self.pool.submit(_each, self.one, chunk, *self.args))  # type: ignore[union-attr]
        except Exception:
            self.failed = True

    def close(self, wait: bool = False) -> None:
        """Stop the pool (if it runs) and unfreeze the collector; safe to call twice. The
        caller calls it on every way out, so an interrupted load (Ctrl-C, MemoryError) in a
        long-lived process (`kb serve`) leaves no workers and no frozen heap behind."""
        if self.pool is not None:
            import gc

            pool, self.pool = self.pool, None
            pool.shutdown(wait=wait, cancel_futures=True)
            gc.unfreeze()

    def results(self, progress) -> list:
        done: list = []
        if self.pool is not None:
            try:
                if self.submitted < len(self.items):
                    self._submit(len(self.items) - self.submitted)
                if not self.failed:
                    for future in self.futures:
                        part = future.result()
                        done.extend(part)
                        progress.advance(len(part))
            except Exception:  # a worker died: the serial pass below
                done = []
            finally:
                self.close(wait=True)
            if len(done) == len(self.items):
                return done
        done = []
        for item in self.items:
            done.append(self.one(item, *self.args))
            progress.advance()
        return done


def parse_many(items: list[tuple], render: bool = False) -> list:
    """The Loaded of each (kind, path, shown, bytes) item, in order; in worker processes when
    there are many (kb.incremental's region)."""
    from kb.progress import quiet

    pool = _Pool(_parse_one, render)
    try:
        for item in items:
            pool.add(item)
        return pool.results(quiet())
    finally:
        pool.close()


def _render_many(records: list, progress) -> None:
    """Render the bodies of records that have none rendered (cache entries written by
    `kb check`, which does not render), in a pool when there are many."""
    pool = _Pool(_render_one)
    try:
        for record in records:
            pool.add(record.document.body.strip())
        for record, html in zip(records, pool.results(progress), strict=True):
            record.body_html = html
    finally:
        pool.close()


def load_all(
    files: list[tuple[str, Path]], root: Path, use: bool | None, progress, render: bool = False
) -> tuple[list[tuple], str, dict]:
    """(kind, path, Loaded) for each file, in order, the :func:`kb.inputs.files_digest` of
    {relative path: sha256 of the bytes parsed, None for a file that could not be read as
    one} (what the fingerprint of this load is made of), and those hashes. With ``render``,
    every record has its body rendered (a cached one without it is rendered now, and the
    cache keeps the HTML)."""
    from kb.frontmatter import FrontmatterError
    from kb.load import _display, load_file, needs_render, read_bytes

    store = Cache(root) if cache_enabled(use) else None
    results: list = [None] * len(files)
    hashes: dict[str, str | None] = {}
    manifest: dict[str, tuple] = {}
    entries: dict[str, tuple] = {}
    misses: list[tuple[int, str]] = []  # (index, entry key) to parse
    keys: dict[int, str] = {}  # index -> entry key, for what came from the cache
    parsing = _Pool(_parse_one, render)
    try:
        with progress.stage("read", total=len(files)):
            for index, (kind, path) in enumerate(files):
                shown = _display(path, root)
                info = None
                try:
                    info = os.lstat(path)
                except OSError:
                    pass
                if info is None or not stat.S_ISREG(info.st_mode):  # not a regular file: never cached
                    results[index] = load_file(kind, path, root, render)  # type: ignore[arg-type]
                    hashes[shown] = None
                    continue
                if store is not None and (digest := store.known_hash(shown, info)) is not None:
                    key = entry_key(digest, kind, shown)
                    if (hit := store.entries.get(key)) is not None:
                        results[index] = hit
                        keys[index] = key
                        hashes[shown] = digest
                        manifest[shown] = store.manifest[shown]
                        entries[key] = hit
                        continue
                try:
                    raw = read_bytes(path, root)
                except (FrontmatterError, OSError, RuntimeError):
                    results[index] = load_file(kind, path, root, render)  # type: ignore[arg-type]  # says why
                    hashes[shown] = None
                    continue
                digest = hashlib.sha256(raw).hexdigest()
                hashes[shown] = digest
                manifest[shown] = stat_row(info, digest)
                key = entry_key(digest, kind, shown)
                if store is not None and (hit := store.entries.get(key)) is not None:
                    results[index] = hit
                    keys[index] = key
                    entries[key] = hit
                    continue
                misses.append((index, key))
                parsing.add((kind, str(path), shown, raw))
            progress.advance(len(files))
        with progress.stage("parse", total=len(parsing.items)):
            parsed = parsing.results(progress) if parsing.items else []
    finally:
        parsing.close()
    for (index, key), loaded in zip(misses, parsed, strict=True):
        results[index] = loaded
        entries[key] = loaded
    unrendered = [index for index in keys if render and needs_render(results[index])]
    if unrendered:
        with progress.stage("render", total=len(unrendered)):
            _render_many([results[index].record for index in unrendered], progress)
    changed = {key for _, key in misses} | {keys[index] for index in unrendered}
    write_entries = bool(changed) or len(entries) != len(store.entries if store else ())
    loaded_digest = files_digest(hashes)
    if store is not None and (write_entries or manifest != store.manifest):
        with progress.stage("cache"):
            # every file in the manifest (none unreadable): its digest is the load's
            same = len(manifest) == len(hashes)
            # by a forked child when many entries changed: the build goes on with the graph, the
            # checks and the database meanwhile (4.7 s of a clean build at 100k files)
            save = (store.save, manifest, entries if write_entries else None, changed, loaded_digest if same else None)
            if len(changed) >= PARALLEL_THRESHOLD:
                in_background(*save)
            else:
                save[0](*save[1:])
    loaded = [(kind, path, loaded) for (kind, path), loaded in zip(files, results, strict=True)]
    return loaded, loaded_digest, hashes
