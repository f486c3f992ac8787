"""Nothing is lost: a build killed at any point leaves the previous database intact."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

BUILD = "from kb.cli import main; main(['build', '--root', sys.argv[1]])"


def snapshot(path):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
        return conn.execute("select group_concat(id) from (select id from claims order by id)").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_killed_builds_leave_a_whole_database(kb):
    kb.source()
    for i in range(150):
        kb.claim(f"c-{i}", folder="x", extra=f"tags: [t{i}]\n")
    subprocess.run([sys.executable, "-c", "import sys; " + BUILD, str(kb.root)], check=True, capture_output=True)
    before = snapshot(kb.root / "kb.db")
    kb.claim("c-new", folder="x")
    rng = random.Random(1)
    for _ in range(8):
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; " + BUILD, str(kb.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = snapshot(kb.root / "kb.db")  # integrity_check passes every time
        assert state == before or state.split(",") == sorted([*before.split(","), "c-new"])
    # the next build sweeps whatever the killed ones left behind
    subprocess.run([sys.executable, "-c", "import sys; " + BUILD, str(kb.root)], check=True, capture_output=True)
    assert "c-new" in snapshot(kb.root / "kb.db").split(",")
    assert [p.name for p in kb.root.iterdir() if p.name.endswith(".tmp")] == []
