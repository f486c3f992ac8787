"""Serve the database with Datasette: ``kb serve``.

Datasette runs in a child process with kb's metadata, in immutable mode. A server in
immutable mode keeps the file it opened, so when a watched input changes, ``kb serve``
rebuilds and restarts Datasette; a rebuild that fails leaves the last good one served.

The child is contained:

- **It runs no code from the knowledge base.** ``python -m datasette`` would put the
  working folder first on ``sys.path``, so a ``markupsafe.py``, ``concurrent.py`` or
  ``kb/`` folder beside the claims would be imported. The child runs isolated
  (``python -I``: no working folder or script folder on the path, no ``PYTHON*``
  variables, no user site, so no ``sitecustomize`` from them), in a private temporary
  folder. The folders the parent imports from (minus its working folder) are appended,
  after the interpreter's own, so that an install that only the parent's path reaches
  still works, without letting anything shadow an installed module.
- **It stops with kb.** It has its own process group, which SIGTERM, SIGHUP and SIGINT
  (Ctrl-C) to ``kb serve`` stop (SIGTERM, then SIGKILL after a grace period); if
  ``kb serve`` itself is killed outright, the child sees its lifeline pipe close and stops.
- **It starts or says why not.** The port is tried before anything is announced, and the
  announcement waits until the server answers; a child that dies at start is reported
  in one line with its last message.
- **It leaves nothing behind.** The temporary folder (``kb-serve-PID-*``) is removed on
  every exit path, and those of dead ``kb serve`` processes are swept at start.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import yaml

from kb.inputs import signature
from kb.settings import Settings

__all__ = ["PUBLIC_SETTINGS", "ServeError", "check_port", "child_path", "datasette_command", "metadata", "serve"]

COMMON_SETTINGS: dict[str, bool | int] = {
    "suggest_facets": False,
    "facet_time_limit_ms": 500,
    "sql_time_limit_ms": 2000,
}
# A public instance: no arbitrary SQL (canned queries and full-text search still work),
# no download of the whole file, no CSV streaming, tight time and row limits.
PUBLIC_SETTINGS: dict[str, bool | int] = {
    **COMMON_SETTINGS,
    "default_allow_sql": False,
    "allow_download": False,
    "allow_csv_stream": False,
    "sql_time_limit_ms": 1000,
    "max_returned_rows": 1000,
    "facet_time_limit_ms": 200,
    # ?_facet= on any column is refused (400); the facets metadata.yaml configures still show.
    "allow_facet": False,
}

START_TIMEOUT = 60.0  # seconds for Datasette to answer after it was started
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
_FOLDER_PREFIX = "kb-serve-"

# Run in the child by ``python -I -c``: extend the path, watch the lifeline, run Datasette.
_BOOTSTRAP = """\
import json, os, signal, sys, threading, time
spec = json.loads(sys.argv[1])
sys.path.extend(p for p in spec["path"] if p not in sys.path)
def lifeline(fd=spec["lifeline"]):
    try:
        while os.read(fd, 1):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)  # kb serve has gone: stop as on SIGTERM
    time.sleep(spec["grace"])
    os._exit(1)
threading.Thread(target=lifeline, daemon=True).start()
from datasette.cli import cli
cli.main(args=spec["args"], prog_name="datasette")
"""


class ServeError(Exception):
    """Datasette could not be started or stopped unexpectedly; one sentence."""


class _Stop(BaseException):
    """A signal asked ``kb serve`` to stop (a BaseException, so nothing swallows it)."""


def metadata(settings: Settings) -> dict:
    """kb's Datasette metadata, keyed by the database's name."""
    text = resources.files("kb.site").joinpath("metadata.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["databases"] = {settings.database_path.stem: data["databases"]["kb"]}
    # What the site says about itself comes from [tool.kb.site], never from the shipped corpus.
    site = settings.site
    for key in ("title", "description_html", "license", "license_url", "source", "source_url"):
        data.pop(key, None)
    data["title"] = site.title or settings.title or "Knowledge base"
    if site.description:
        data["description"] = site.description
    if site.license:
        data["license"] = site.license
    if site.license_url:
        data["license_url"] = site.license_url
    if site.source_url:
        data["source"] = "Source files"
        data["source_url"] = site.source_url
    # The kb plugin's own configuration: the base URL citations print.
    data.setdefault("plugins", {}).setdefault("kb", {})["base_url"] = settings.base_url
    data.setdefault("plugins", {}).setdefault("kb", {})["robots"] = settings.site.robots
    return data


def datasette_arguments(settings: Settings, metadata_path: Path, host: str, port: int, public: bool) -> list[str]:
    """The arguments of ``datasette`` (after the program name)."""
    options = PUBLIC_SETTINGS if public else COMMON_SETTINGS
    arguments = [
        "serve",
        "-i",
        str(settings.database_path.resolve()),
        "--metadata",
        str(metadata_path),
        "--host",
        host,
        "--port",
        str(port),
    ]
    for key, value in options.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        arguments += ["--setting", key, text]
    return arguments


def child_path() -> list[str]:
    """The folders the child may import from beyond the interpreter's own: the parent's
    ``sys.path`` without its first entry (the script's folder, or the working folder under
    ``-m``/``-c``) and without anything that is the working folder."""
    entries = sys.path if sys.flags.safe_path else sys.path[1:]
    here = os.path.realpath(os.getcwd())
    return [entry for entry in entries if entry and os.path.realpath(entry) != here]


def datasette_command(
    settings: Settings, metadata_path: Path, host: str, port: int, public: bool, lifeline: int = -1
) -> list[str]:
    """The child's command line: an isolated interpreter running Datasette."""
    spec = {
        "path": child_path(),
        "lifeline": lifeline,
        "grace": STOP_GRACE,
        "args": datasette_arguments(settings, metadata_path, host, port, public),
    }
    return [sys.executable, "-I", "-c", _BOOTSTRAP, json.dumps(spec)]


def _bind(host: str, port: int) -> int:
    """Bind and release (host, port) as uvicorn will bind it; return the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # uvicorn's choice
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        probe.bind((host, port))
        return probe.getsockname()[1]


def check_port(host: str, port: int) -> int:
    """The port Datasette can listen on (a free one for 0), or a ServeError in one line,
    with a free port to try when this one is taken."""
    try:
        return _bind(host, port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    for other in range(port + 1, min(port + 100, 65536)):
        try:
            free = _bind(host, other)
        except OSError:
            continue
        raise ServeError(f"port {port} is in use: try --port {free}")
    raise ServeError(f"port {port} is in use")


def sweep_stale_folders(base: Path | None = None) -> list[Path]:
    """Remove the temporary folders of ``kb serve`` processes that no longer run."""
    removed = []
    for folder in Path(base or tempfile.gettempdir()).glob(f"{_FOLDER_PREFIX}*-*"):
        pid_text = folder.name.removeprefix(_FOLDER_PREFIX).split("-", 1)[0]
        try:
            if not pid_text.isdigit() or folder.lstat().st_uid != os.getuid() or _alive(int(pid_text)):
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def _raise_stop(signum, frame):
    raise _Stop(signum)


def _set_handlers(handler) -> dict:
    """Set the handler of SIGTERM and SIGHUP (SIGINT too when ``handler`` is SIG_IGN: it
    raises KeyboardInterrupt already); return the previous ones. Only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    numbers = _SIGNALS if handler is signal.SIG_IGN else _SIGNALS[:2]
    return {number: signal.signal(number, handler) for number in numbers}


class _Datasette:
    """One Datasette child: started, waited for, stopped with its process group."""

    def __init__(self, command: list[str], lifeline: int, folder: Path):
        self.output: collections.deque[str] = collections.deque(maxlen=20)
        self.started = False
        self.process = subprocess.Popen(
            command,
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(lifeline,),
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._relay, daemon=True)
        self.reader.start()

    def _relay(self) -> None:
        """Keep the start-up output (reported if it fails); relay what follows."""
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if self.started:
                with contextlib.suppress(OSError):  # keep draining even if our stderr has gone
                    print(line, file=sys.stderr, flush=True)
            else:
                self.output.append(line)

    def wait_until_ready(self, host: str, port: int, timeout: float = START_TIMEOUT) -> None:
        connect_host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                self.reader.join(timeout=2)
                last = next((line for line in reversed(self.output) if line.strip()), "no output")
                raise ServeError(f"Datasette stopped at start (exit {code}): {last.strip()}")
            try:
                with socket.create_connection((connect_host, port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServeError(f"Datasette did not answer on {host}:{port} within {timeout:g} s") from None
                time.sleep(0.1)
        self.started = True
        for line in self.output:  # warnings at start-up, without uvicorn's INFO chatter
            if not line.startswith("INFO:"):
                print(line, file=sys.stderr, flush=True)

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after the grace period; reaped."""
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                pass
        self._signal(signal.SIGKILL)  # whatever of its group is left
        self.process.wait()
        self.reader.join(timeout=2)
        if self.process.stdout:
            self.process.stdout.close()

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, number)


def serve(
    settings: Settings,
    host: str,
    port: int,
    public: bool,
    watch: bool,
    rebuild: Callable[[], bool],
    echo: Callable[[str], None],
) -> int:
    """Run Datasette until a signal or Ctrl-C stops it (exit 0); with ``watch``, rebuild and
    restart on change. Raises ServeError when Datasette cannot start or stops by itself.

    ``rebuild()`` builds when the inputs changed and returns True when it wrote a new database.
    """
    sweep_stale_folders()
    port = check_port(host, port)
    previous = _set_handlers(_raise_stop)  # SIGTERM, SIGHUP: every ``finally`` runs
    folder = Path(tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-"))
    lifeline_read, lifeline_write = os.pipe()
    child: _Datasette | None = None
    try:
        metadata_path = folder / "metadata.json"
        metadata_path.write_text(json.dumps(metadata(settings), ensure_ascii=False), encoding="utf-8")
        command = datasette_command(settings, metadata_path, host, port, public, lifeline_read)
        child = _Datasette(command, lifeline_read, folder)
        child.wait_until_ready(host, port)
        echo(f"Serving {settings.database_path.name} on http://{host}:{port}/ (Ctrl-C to stop)")
        seen = signature(settings)
        interval = 1.0
        while True:
            try:
                code = child.process.wait(timeout=interval if watch else None)
                raise ServeError(f"Datasette stopped (exit {code})")
            except subprocess.TimeoutExpired:
                pass
            started = time.monotonic()
            current = signature(settings)
            # every second, or less often on a tree so large that a pass takes long: the
            # poller never takes more than a fifth of a core
            interval = max(1.0, 4 * (time.monotonic() - started))
            if current == seen:
                continue
            seen = current
            if rebuild():
                echo("Inputs changed: rebuilt; restarting Datasette")
                child.stop()
                child = _Datasette(command, lifeline_read, folder)
                child.wait_until_ready(host, port)
    except (_Stop, KeyboardInterrupt):
        return 0
    finally:
        ignored = _set_handlers(signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        try:
            if child is not None:
                child.stop()
            os.close(lifeline_write)
            os.close(lifeline_read)
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            for number, handler in {**ignored, **previous}.items():
                signal.signal(number, handler)
