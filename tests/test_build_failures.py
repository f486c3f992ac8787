"""A build that cannot write says so in one line (exit 2: the machine, not the knowledge
base) and leaves the previous database untouched: a full disk, a read-only folder; and a
second build waits for the first instead of failing.

The full disk and the read-only folder are simulated in-process (SQLite's own "disk is
full" through ``max_page_count``, ENOSPC from fsync, EROFS from the first file created),
so they run as root and everywhere; where user namespaces work (``unshare -rm``), the
real thing too: a 160 KiB tmpfs and a read-only bind mount.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest
import sqlite_utils
from click.testing import CliRunner

import kb.database.build
from kb.cli import main


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def built(minimal, monkeypatch):
    """A knowledge base with a database built, a new claim since, and the cwd at its root."""
    monkeypatch.chdir(minimal.root)
    assert run("build").exit_code == 0
    minimal.claim("another", folder="x")
    return minimal


def untouched(kb, before):
    assert digest(kb.root / "kb.db") == before
    assert sorted(p.name for p in kb.root.iterdir() if p.name.startswith(".") and p.name != ".kb-cache") == [
        ".kb.db.lock"
    ]


def test_disk_full_inside_sqlite(built, monkeypatch):
    real = sqlite_utils.Database

    def tiny(*args, **kwargs):  # SQLite answers SQLITE_FULL at the page limit, as on a full disk
        db = real(*args, **kwargs)
        db.execute("pragma max_page_count = 12")
        return db

    monkeypatch.setattr(sqlite_utils, "Database", tiny)  # (imported by build_database when it runs)
    before = digest(built.root / "kb.db")
    result = run("build")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"kb: error: cannot write {built.root / 'kb.db'}: database or disk is full; the previous one is unchanged"
    ]
    untouched(built, before)


def test_disk_full_at_fsync(built, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(kb.database.build.os, "fsync", full)
    before = digest(built.root / "kb.db")
    result = run("build")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"kb: error: cannot write {built.root / 'kb.db'}: No space left on device; the previous one is unchanged"
    ]
    untouched(built, before)


def test_read_only_folder(built, monkeypatch):
    real = os.open

    def read_only(path, flags, *args, **kwargs):  # as the kernel answers in a read-only folder
        if os.path.dirname(os.path.abspath(path)) == str(built.root) and flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        return real(path, flags, *args, **kwargs)

    (built.root / ".kb.db.lock").unlink()
    monkeypatch.setattr(kb.database.build.os, "open", read_only)
    before = digest(built.root / "kb.db")
    result = run("build")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"kb: error: cannot write {built.root / 'kb.db'}: Read-only file system; the previous one is unchanged"
    ]
    assert digest(built.root / "kb.db") == before
    assert sorted(p.name for p in built.root.iterdir() if p.name.startswith(".") and p.name != ".kb-cache") == []


def namespaces_work() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


REAL_FS = pytest.mark.skipif(not namespaces_work(), reason="needs user namespaces (unshare -rm)")
KB = [sys.executable, "-c", "from kb.cli import main; main()"]


@REAL_FS
def test_real_read_only_bind_mount(built):
    before = digest(built.root / "kb.db")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", str(built.root), *KB, "build", "--root", str(built.root)],
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"kb: error: cannot write {built.root / 'kb.db'}: Read-only file system; the previous one is unchanged\n"
    )
    assert digest(built.root / "kb.db") == before


@REAL_FS
def test_real_full_disk(built, tmp_path_factory):
    """The old database on a tmpfs with room for it but not for a second copy."""
    mount = tmp_path_factory.mktemp("full")
    size = (built.root / "kb.db").stat().st_size
    script = (
        'mount -t tmpfs -o size="$2" tmpfs "$1" && cp "$3" "$1/kb.db" && before=$(sha256sum < "$1/kb.db") || exit 9\n'
        'target=$1; shift 3; "$@"; code=$?\n'
        '[ "$before" = "$(sha256sum < "$target/kb.db")" ] && echo same; ls -A "$target"; exit $code'
    )
    arguments = [str(mount), str(size + 64 * 1024), str(built.root / "kb.db")]
    command = [*KB, "build", "--root", str(built.root), "-o", str(mount / "kb.db")]
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", *arguments, *command],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result
    assert result.stderr.startswith(f"kb: error: cannot write {mount / 'kb.db'}: ")
    assert result.stderr.endswith("; the previous one is unchanged\n")
    assert "full" in result.stderr or "No space left" in result.stderr
    assert result.stdout.split() == ["same", ".kb.db.lock", "kb.db"]  # no temporary file left


def hold_lock(root):
    lock = open(root / ".kb.db.lock", "r+")  # noqa: SIM115 (closed by the caller)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    lock.seek(0)
    lock.truncate()
    lock.write("4242")
    lock.flush()
    return lock


def test_second_build_waits_for_the_first(built):
    lock = hold_lock(built.root)
    try:
        waiting = subprocess.Popen(
            [*KB, "build", "--root", str(built.root), "--lock-timeout", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = waiting.stderr.readline()
        assert line == "kb: waiting for another build of kb.db (pid 4242) to finish\n"
        time.sleep(0.5)
        assert waiting.poll() is None  # still waiting, not failed
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    assert waiting.wait(timeout=60) == 0
    assert waiting.stdout.read().startswith("Built ")
    assert "another" in run("show", "another").output


def test_lock_timeout_is_one_line(built):
    before = digest(built.root / "kb.db")
    lock = hold_lock(built.root)
    try:
        start = time.monotonic()
        result = run("build", "--lock-timeout", "0.5")
        elapsed = time.monotonic() - start
    finally:
        lock.close()
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "kb: waiting for another build of kb.db (pid 4242) to finish",
        "kb: error: another build of kb.db (pid 4242) still holds .kb.db.lock after 0.5 s "
        "(wait longer with --lock-timeout)",
    ]
    assert 0.5 <= elapsed < 5
    assert digest(built.root / "kb.db") == before


def test_two_builds_at_once_both_succeed(built):
    builds = [subprocess.Popen([*KB, "build", "--root", str(built.root)], stdout=subprocess.DEVNULL) for _ in range(2)]
    assert [b.wait(timeout=120) for b in builds] == [0, 0]
