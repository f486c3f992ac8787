"""Serve the database with Datasette: ``kb serve``.

Datasette runs in a child process (``python -m datasette``) with kb's metadata, in
immutable mode. A server in immutable mode keeps the file it opened, so when a watched
input changes, ``kb serve`` rebuilds and restarts Datasette.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import yaml

from kb.inputs import signature
from kb.settings import Settings

__all__ = ["PUBLIC_SETTINGS", "datasette_command", "metadata", "serve"]

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
}


def metadata(settings: Settings) -> dict:
    """kb's Datasette metadata, keyed by the database's name."""
    text = resources.files("kb.site").joinpath("metadata.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["databases"] = {settings.database_path.stem: data["databases"]["kb"]}
    return data


def datasette_command(settings: Settings, metadata_path: Path, host: str, port: int, public: bool) -> list[str]:
    options = PUBLIC_SETTINGS if public else COMMON_SETTINGS
    command = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        "-i",
        str(settings.database_path),
        "--metadata",
        str(metadata_path),
        "--host",
        host,
        "--port",
        str(port),
    ]
    for key, value in options.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        command += ["--setting", key, text]
    return command


def serve(
    settings: Settings,
    host: str,
    port: int,
    public: bool,
    watch: bool,
    rebuild: Callable[[], bool],
    echo: Callable[[str], None],
) -> int:
    """Run Datasette until interrupted; with ``watch``, rebuild and restart on change.

    ``rebuild()`` builds when the inputs changed and returns True when it wrote a new database.
    """
    with tempfile.TemporaryDirectory(prefix="kb-serve-") as folder:
        metadata_path = Path(folder) / "metadata.json"
        metadata_path.write_text(json.dumps(metadata(settings), ensure_ascii=False), encoding="utf-8")
        command = datasette_command(settings, metadata_path, host, port, public)
        echo(f"Serving {settings.database_path.name} on http://{host}:{port}/ (Ctrl-C to stop)")
        process = subprocess.Popen(command)
        seen = signature(settings)
        try:
            while True:
                try:
                    return process.wait(timeout=1.0 if watch else None)
                except subprocess.TimeoutExpired:
                    pass
                current = signature(settings)
                if current == seen:
                    continue
                seen = current
                if rebuild():
                    echo("Inputs changed: rebuilt; restarting Datasette")
                    process.terminate()
                    process.wait()
                    process = subprocess.Popen(command)
                    time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait()
