"""`kb serve` as a process: it starts or says why not, stops with its Datasette on every
signal, leaves no folder behind, runs no code from the knowledge base, and keeps serving
the last good build when a rebuild fails. Every server runs on a free port and is stopped."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.serve import sweep_stale_folders

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find child processes")

KB = Path(sys.executable).with_name("kb")  # the console script, as users run it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (zombies excluded)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Server:
    """`kb serve` in a subprocess, its output collected, always stopped."""

    def __init__(self, root: Path, *args: str, cwd: Path | None = None, root_option: bool = True):
        self.port = free_port()
        command = [str(KB), "serve", "--port", str(self.port), *args]
        if root_option:
            command += ["--root", str(root)]
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command, cwd=cwd or root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if re.search(pattern, line):
                    return line
            assert self.process.poll() is None, f"kb serve exited: {self.lines}"
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s: {self.lines}")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def rows(self) -> list[dict]:
        status, text = self.get("/kb/claims.json?_shape=array")
        assert status == 200, text
        return json.loads(text)

    def stop(self) -> None:
        for pid in [*children(self.process.pid), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)
        self.reader.join(timeout=5)


@pytest.fixture
def servers():
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def serve(servers, *args, **kwargs) -> Server:
    server = Server(*args, **kwargs)
    servers.append(server)
    return server


def own_folders(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"kb-serve-{pid}-*"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_stops_datasette_and_removes_the_folder(minimal, servers, signum):
    server = serve(servers, minimal.root, "--no-watch")
    server.wait_for_line(r"^Serving kb\.db on http://127\.0\.0\.1:\d+/")
    assert [row["id"] for row in server.rows()] == ["openai-2024-net-loss"]
    datasette = children(server.process.pid)
    assert datasette and own_folders(server.process.pid)
    server.process.send_signal(signum)
    assert server.process.wait(timeout=15) == 0
    assert [pid for pid in datasette if alive(pid)] == []
    assert own_folders(server.process.pid) == []


def test_killed_kb_serve_takes_datasette_down(minimal, servers):
    """SIGKILL runs no clean-up: the child sees its lifeline close and stops by itself."""
    server = serve(servers, minimal.root, "--no-watch")
    server.wait_for_line(r"^Serving ")
    datasette = children(server.process.pid)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in datasette):
        assert time.monotonic() < deadline, "Datasette outlived a killed kb serve"
        time.sleep(0.1)
    print(f"Datasette stopped {time.monotonic() - deadline + 15:.2f} s after kb serve was killed")
    # its folder stays behind (nothing runs after SIGKILL): the next kb serve sweeps it
    [folder] = own_folders(server.process.pid)
    assert folder in sweep_stale_folders()
    assert not folder.exists()


def test_stale_folders_of_dead_processes_are_swept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"kb-serve-{int(dead.stdout)}-abc"
    live = tmp_path / f"kb-serve-{os.getpid()}-def"
    other = tmp_path / "kb-serve-legacy"
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "metadata.json").write_text("{}")
    assert sweep_stale_folders(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_busy_port_is_one_line_exit_2(minimal, monkeypatch):
    monkeypatch.chdir(minimal.root)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port), "--no-watch"])
    assert result.exit_code == 2
    built, error = result.output.splitlines()
    assert built.startswith("Built kb.db: ")
    match = re.fullmatch(rf"kb: error: port {port} is in use: try --port (\d+)", error)
    assert match and int(match.group(1)) > port
    assert "Serving" not in result.output
    assert [p for p in Path(tempfile.gettempdir()).glob(f"kb-serve-{os.getpid()}-*")] == []


def test_datasette_dying_at_start_is_reported_in_one_line(minimal, monkeypatch):
    import kb.serve

    monkeypatch.chdir(minimal.root)
    arguments = kb.serve.datasette_arguments
    monkeypatch.setattr(kb.serve, "datasette_arguments", lambda *a: [*arguments(*a), "--no-such-option"])
    result = CliRunner().invoke(main, ["serve", "--port", str(free_port()), "--no-watch"])
    assert result.exit_code == 2
    assert result.output.splitlines()[1:] == [
        "kb: error: Datasette stopped at start (exit 2): Error: No such option '--no-such-option'."
    ]
    assert [p for p in Path(tempfile.gettempdir()).glob(f"kb-serve-{os.getpid()}-*")] == []


HOSTILE = "import pathlib; pathlib.Path({marker!r}).joinpath({name!r}).write_text('ran')\n"


def test_no_code_from_the_knowledge_base_runs(minimal, servers, tmp_path_factory):
    markers = tmp_path_factory.mktemp("markers")
    for name in ("markupsafe.py", "concurrent.py", "sitecustomize.py", "usercustomize.py", "kb/__init__.py"):
        minimal.write(name, HOSTILE.format(marker=str(markers), name=name.replace("/", "_")))
    (minimal.root / "kb" / "site").mkdir()
    server = serve(servers, minimal.root, "--no-watch", root_option=False)  # run in the folder, as users do
    server.wait_for_line(r"^Serving ")
    for path in ("/", "/-/kb.css", "/kb/claims/openai-2024-net-loss", "/kb/claims.json"):
        status, text = server.get(path)
        assert status == 200, (path, text[:500])
    assert "body.row" in server.get("/-/kb.css")[1]
    assert sorted(p.name for p in markers.iterdir()) == []


def test_watch_keeps_the_last_good_build_then_picks_up_the_next(minimal, servers):
    server = serve(servers, minimal.root, "--watch")
    server.wait_for_line(r"^Serving ")
    claim = minimal.root / "claims/openai/openai-2024-net-loss.md"
    good = claim.read_text()
    claim.write_text(good.replace("kind: projection", "kind: projectoin"))
    server.wait_for_line(r"still serving the previous build")
    assert server.wait_for_line(r"KB004").startswith("claims/openai/openai-2024-net-loss.md:")
    assert [row["kind"] for row in server.rows()] == ["projection"]  # the last good build
    claim.write_text(good.replace("could lose", "may lose"))
    server.wait_for_line(r"restarting Datasette")
    deadline = time.monotonic() + 60
    while True:
        try:
            rows = server.rows()
            if rows[0]["statement"].startswith("OpenAI may lose"):
                break
        except OSError:
            pass  # restarting
        assert time.monotonic() < deadline, server.lines
        time.sleep(0.2)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0


def test_first_build_refused_without_a_database_exits_1(minimal, monkeypatch):
    monkeypatch.chdir(minimal.root)
    minimal.claim("broken", folder="x", text="---\nid: broken\nstatement: s\nkind: factt\n---\n")
    result = CliRunner().invoke(main, ["serve", "--port", str(free_port()), "--no-watch"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "kb: not built: 1 error in 1 file; no database was written (fix it, or pass --allow-errors)"
    )
    assert not (minimal.root / "kb.db").exists()
