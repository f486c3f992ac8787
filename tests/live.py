"""A real `kb serve` on a free loopback port, for the browser, probe and load tests."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def datasette_pid(self) -> int:
        """The Datasette child of `kb serve` (the process that answers)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return int(children[0]) if children else self.process.pid

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.datasette_pid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def get(self, path: str, timeout: float = 10) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.url + path)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


urllib.request.install_opener(urllib.request.build_opener(_NoRedirect))


@contextlib.contextmanager
def kb_serve(root: Path, public: bool = True, timeout: float = 60) -> Iterator[Server]:
    """Run `kb serve --no-watch` on ``root``; stopped (and waited for) on exit."""
    port = free_port()
    command = [sys.executable, "-c", "from kb.cli import main; main()", "serve", "--root", str(root)]
    command += ["--port", str(port), "--no-watch"] + (["--public"] if public else [])
    # kb serve passes on Datasette's log (a line per request): to a file, not a pipe that is
    # read only on failure: past 64 KB of log (some 1,700 requests) a full pipe blocked kb
    # serve's printing, then Datasette's logging, and the server stopped answering
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        server = Server(f"http://127.0.0.1:{port}", process)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if server.get("/-/versions.json", timeout=2)[0] == 200:
                        break
                except OSError:
                    pass
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"kb serve exited: {log.read().decode(errors='replace')[-2000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"kb serve did not answer within {timeout} s")
                time.sleep(0.3)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
