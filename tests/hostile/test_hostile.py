"""The hostile-input suite: every case of ``hostile_cases.CASES`` in one knowledge base, and
three scale cases in their own, each through ``kb check`` and ``kb build`` in a child process.

For each case: the expected code at the expected line (and column), or no error for a valid
file. For each run: exit 1, no traceback, no "internal error", no control character reaching
the terminal, and bounded time and memory, measured from the child's own rusage (``wait4``).

    .venv/bin/python -m pytest tests/hostile -q
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_cases import CASES, SCALE_CASES, source_file, write

from kb.findings import printable

KB = [str(Path(sys.executable).with_name("kb"))]
TIME_LIMIT = 30.0  # seconds per run (a run holds many cases; each case alone is far below)
MEMORY_LIMIT = 512 * 1024 * 1024  # bytes of peak RSS per run
ADDRESS_LIMIT = 4 * 1024**3  # a safety net: a runaway child fails instead of swapping the machine


@dataclass
class Run:
    returncode: int
    output: str
    seconds: float
    peak_rss: int  # bytes


def run(args: list[str], cwd: Path, timeout: float = TIME_LIMIT) -> Run:
    """Run kb in a child, killed after ``timeout``; its own peak RSS from ``wait4``."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))

    log = cwd.parent / f"{cwd.name}-{args[0]}.log"
    env = {key: value for key, value in os.environ.items() if key != "KB_DEBUG"}  # no traceback on purpose
    started = time.monotonic()
    with open(log, "wb") as out:
        child = subprocess.Popen([*KB, *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=limit, env=env)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                child.send_signal(signal.SIGKILL)
                _, status, usage = os.wait4(child.pid, 0)
                child.returncode = -9
                pytest.fail(f"kb {' '.join(args)} hung: killed after {timeout} s")
            time.sleep(0.02)
    child.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_bytes().decode("utf-8", "replace")
    return Run(child.returncode, output, time.monotonic() - started, usage.ru_maxrss * 1024)


def assert_well_behaved(result: Run, what: str) -> None:
    assert result.returncode == 1, f"{what}: exit {result.returncode}\n{result.output[-2000:]}"
    assert "Traceback" not in result.output, f"{what}:\n{result.output[-4000:]}"
    assert "internal error" not in result.output, f"{what}:\n{result.output[-2000:]}"
    assert not any(ch in result.output for ch in "\x1b\x07\u202e\x9b"), (
        f"{what}: a control character reached the terminal"
    )
    assert result.seconds < TIME_LIMIT, f"{what}: {result.seconds:.1f} s"
    assert result.peak_rss < MEMORY_LIMIT, f"{what}: peak RSS {result.peak_rss / 2**20:.0f} MiB"


def build_fails_on_errors() -> bool:
    """`kb build` exits 1 on unacknowledged errors once it has --allow-errors (issue 7)."""
    help_text = subprocess.run([*KB, "build", "--help"], capture_output=True, text=True, check=False).stdout
    return "--allow-errors" in help_text


def check_and_build(root: Path) -> tuple[list[dict], Run, Run]:
    check = run(["check", "--format", "json"], root)
    assert_well_behaved(check, "kb check")
    findings = json.loads(check.output)
    concise = run(["check"], root)
    assert_well_behaved(concise, "kb check (concise)")
    build = run(["build"], root)
    if build_fails_on_errors():
        assert_well_behaved(build, "kb build")
    else:  # until the build refuses to publish errors: it must still never crash
        assert (
            build.returncode in (0, 1) and "Traceback" not in build.output and "internal error" not in build.output
        ), build.output[-3000:]
    return findings, check, build


def new_root(tmp_path_factory, name: str) -> Path:
    root = tmp_path_factory.mktemp(name)
    (root / "claims").mkdir()
    (root / "sources").mkdir()
    (root / "kb.toml").write_text('today = "2026-11-23"\n', encoding="utf-8")
    source_file(root)
    return root


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = new_root(tmp_path_factory, "hostile")
    for case in CASES:
        write(root, case)
    findings, check, build = check_and_build(root)
    yield root, findings, check, build
    for path in root.parent.glob(f"{root.name}-outside"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(batch, case):
    _, findings, _, _ = batch
    here = [f for f in findings if f["path"] == case.reported]
    if case.code is None:
        assert not [f for f in here if f["severity"] == "error"], here
        return
    matching = [f for f in here if f["code"] == case.code]
    assert matching, (
        f"expected {case.code} in {case.reported}, got {[(f['code'], f['line'], f['message']) for f in here]}"
    )
    if case.line is not None:
        assert case.line in [f["line"] for f in matching], [(f["line"], f["message"]) for f in matching]
    if case.column is not None:
        assert case.column in [f["column"] for f in matching if f["line"] == case.line], matching
    if case.message is not None:
        assert any(case.message in f["message"] for f in matching), [f["message"] for f in matching]
    assert all(printable(f["message"]) == f["message"] for f in here)


def test_nothing_was_executed(batch):
    assert not Path("/tmp/kb-hostile-owned").exists()


def test_the_build_leaves_out_every_failing_file(batch):
    root, _, _, _ = batch
    database = root / "kb.db"
    if build_fails_on_errors():
        assert not database.exists(), "a build with errors publishes nothing"
        forced = run(["build", "--allow-errors"], root)
        assert (
            forced.returncode in (0, 1) and "Traceback" not in forced.output and "internal error" not in forced.output
        )
        assert forced.peak_rss < MEMORY_LIMIT and forced.seconds < TIME_LIMIT
    import sqlite3

    with sqlite3.connect(database) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in db.execute("select id from claims")}
    # a file that fails to load (KB001-KB007) is never in the database, whatever its id says
    failing = {case.name for case in CASES if case.code and case.code < "KB100" and case.folder == "claims"}
    assert stored, "the valid claims are stored"
    assert not stored & failing


@pytest.mark.parametrize("name", list(SCALE_CASES))
def test_scale(tmp_path_factory, name):
    maker, code, path, line = SCALE_CASES[name]
    root = new_root(tmp_path_factory, name)
    maker(root)
    findings, _, _ = check_and_build(root)
    matching = [f for f in findings if f["code"] == code and f["path"] == path]
    assert matching and line in [f["line"] for f in matching], [
        (f["code"], f["path"], f["line"]) for f in findings if f["code"] == code
    ][:5]
    assert len(findings) < 10_000  # findings grow with the files, never with the pairs or the cycles
