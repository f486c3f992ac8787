"""Nothing is lost: a build killed at any point leaves a whole database, the previous one
or the new one, and the next build sweeps what the killed one left.

Deterministic kill points (``KB_TEST_KILL_AT``, see kb.database.build.STAGES) kill the
build right after each of its steps; then 40 kills at random moments. Builds run in forked
children of this process (kb already imported), so a kill costs the build, not a start-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from kb.cli import main
from kb.database import STAGES

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork and signals")

# after os.replace the new database is in place; before it, the old one must be
AFTER_REPLACE = STAGES[STAGES.index("replace") :]


def state(path):
    """(sha256 of the file, sorted claim ids); integrity_check must pass."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
        assert conn.execute("pragma foreign_key_check").fetchall() == []
        ids = [row[0] for row in conn.execute("select id from claims order by id")]
    finally:
        conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest(), ids


def build_in_child(root, kill_at: str | None = None) -> int:
    """Fork; the child runs `kb build` (with KB_TEST_KILL_AT set) and exits. Returns its pid."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the child exits)
            if kill_at:
                os.environ["KB_TEST_KILL_AT"] = kill_at
            main(["build", "--root", str(root)])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    return pid


def wait(pid) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def temp_files(root):
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def corpus(kb):
    kb.source()
    for i in range(150):
        kb.claim(f"c-{i:03}", folder="x", extra=f"tags: [t{i}]\n")
    assert wait(build_in_child(kb.root)) == 0
    return kb


def test_kill_at_every_stage_leaves_the_old_or_the_new_database(corpus):
    database = corpus.root / "kb.db"
    results = {}
    on_disk = state(database)[1]
    for number, stage in enumerate(STAGES):
        before = state(database)
        corpus.claim(f"new-{number}", folder="x")
        on_disk = sorted([*on_disk, f"new-{number}"])
        assert wait(build_in_child(corpus.root, kill_at=stage)) == -signal.SIGKILL
        after = state(database)
        if stage in AFTER_REPLACE:
            assert after[1] == on_disk, stage  # the new build, whole
        else:
            assert after == before, stage  # byte for byte
        results[stage] = "new" if after != before else "old"
    assert results == {stage: "new" if stage in AFTER_REPLACE else "old" for stage in STAGES}
    assert wait(build_in_child(corpus.root)) == 0  # sweeps what the killed builds left
    assert temp_files(corpus.root) == []
    assert state(database)[1] == on_disk


def test_the_hook_works_in_a_real_kb_build(minimal):
    """The documented command: KB_TEST_KILL_AT=fts kb build is killed after the FTS step."""
    environment = {**os.environ, "KB_TEST_KILL_AT": "fts"}
    command = [sys.executable, "-c", "from kb.cli import main; main()", "build", "--root", str(minimal.root)]
    killed = subprocess.run(command, env=environment, capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert not (minimal.root / "kb.db").exists()
    assert len(temp_files(minimal.root)) == 1  # the killed build's, swept by the next
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert temp_files(minimal.root) == []


def test_forty_random_kills(corpus):
    """Kill 40 builds at random moments, 20 over a build's whole duration and 20 over its
    last 40% (writing the database: the delicate part): each leaves a whole database."""
    database = corpus.root / "kb.db"
    start = time.monotonic()
    assert wait(build_in_child(corpus.root)) == 0
    duration = time.monotonic() - start
    rng = random.Random(7)
    outcomes = {"old": 0, "new": 0}
    on_disk = state(database)[1]
    for trial in range(40):
        before = state(database)
        corpus.claim(f"random-{trial:02}", folder="x")
        on_disk = sorted([*on_disk, f"random-{trial:02}"])
        pid = build_in_child(corpus.root)
        time.sleep(rng.uniform(0 if trial < 20 else duration * 0.6, duration * 1.05))
        os.kill(pid, signal.SIGKILL)
        wait(pid)
        after = state(database)  # integrity_check and foreign_key_check pass every time
        if after == before:
            outcomes["old"] += 1
        else:
            assert after[1] == on_disk  # the new build, whole
            outcomes["new"] += 1
    print(f"40 random kills: {outcomes}")
    assert sum(outcomes.values()) == 40 and outcomes["old"] > 0  # most kills land mid-build
    assert wait(build_in_child(corpus.root)) == 0
    assert temp_files(corpus.root) == []
    assert time.monotonic() - start < 120


def test_a_killed_build_s_children_do_not_hold_its_lock(corpus, monkeypatch):
    """Killed once its rows are in, a build leaves the child saving its check state running
    (at 100k files for 8 s): that child closed its copy of the lock's descriptor when it was
    forked, so the next build does not wait for it."""
    import threading

    from kb import incremental
    from kb.database import update

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    monkeypatch.setattr(update, "BACKGROUND_STATE_FILES", 1)
    real_state_of = incremental.state_of

    pids = corpus.root.parent / "state-child.pid"

    def slow_state_of(*args):  # (in the build's child, which has this module as it was at the fork)
        pids.write_text(str(os.getpid()))
        time.sleep(30)
        return real_state_of(*args)

    monkeypatch.setattr(incremental, "state_of", slow_state_of)
    corpus.claim("new-0", folder="x")
    assert wait(build_in_child(corpus.root, kill_at="fts")) == -signal.SIGKILL
    monkeypatch.setattr(incremental, "state_of", real_state_of)
    deadline = time.monotonic() + 10
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    orphan = int(pids.read_text())
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # never returns into pytest
        code = 70
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            main(["build", "--lock-timeout", "5", "--root", str(corpus.root)])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    try:
        assert wait(pid) == 0 and time.monotonic() - started < 20
        assert "new-0" in state(corpus.root / "kb.db")[1]
        os.kill(orphan, 0)  # (the killed build's child was still running meanwhile)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(orphan, signal.SIGKILL)
