"""The settings file, read with the standard library only: where the root is, the TOML
table of ``kb.toml`` or ``[tool.kb]``, and the few settings a build's inputs depend on.

:mod:`kb.settings` validates the whole table (pydantic). A ``kb build`` with nothing to do
needs only the paths and the date, to compare the inputs' fingerprint with the database's;
:func:`quick_settings` gives them without importing pydantic (a third of such a build), and
gives up (None) on anything it does not read exactly as :mod:`kb.settings` does, so that
the full settings decide.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

__all__ = [
    "SETTINGS_FILES",
    "InputPaths",
    "QuickSettings",
    "SettingsError",
    "find_root",
    "quick_settings",
    "read_table",
    "settings_digest",
    "settings_files",
]


class SettingsError(Exception):
    """The settings file cannot be read or is not valid (one sentence, with the file)."""


def find_root(start: Path | None = None) -> Path:
    """The nearest folder upward with a kb.toml, a pyproject.toml with [tool.kb], or claims/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "kb.toml").is_file() or (folder / "claims").is_dir():
            return folder
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.kb" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return folder
    return here


SETTINGS_FILES = ("kb.toml", "pyproject.toml")


def settings_files(root: Path) -> dict[str, bytes | None]:
    """The bytes of each settings file at ``root`` that is a file (None: not readable)."""
    found: dict[str, bytes | None] = {}
    for name in SETTINGS_FILES:
        path = root / name
        if path.is_file():
            try:
                found[name] = path.read_bytes()
            except OSError:
                found[name] = None
    return found


def settings_digest(files: dict[str, bytes | None]) -> str:
    """The digest of the settings files' bytes: what the fingerprint of a build or a check
    holds of its settings (those it read, not those on disk when it ends: a kb.toml
    edited during a build leaves its database stale, never falsely current)."""
    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(f"{name} {'-' if data is None else len(data)}\0".encode())
        digest.update(data or b"")
    return digest.hexdigest()


def read_table(root: Path) -> tuple[dict, str, str]:
    """The settings table, the name of the file it came from ("defaults" for none), and the
    :func:`settings_digest` of the bytes it was read from."""
    files = settings_files(root)
    name = "kb.toml" if "kb.toml" in files else "pyproject.toml"
    digest = settings_digest(files)
    try:
        if "kb.toml" in files:
            table = tomllib.loads(_text(files["kb.toml"]))
        elif "pyproject.toml" in files:
            tool = tomllib.loads(_text(files["pyproject.toml"])).get("tool", {})
            table = tool.get("kb", {}) if isinstance(tool, dict) else None
        else:
            return {}, "defaults", digest
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise SettingsError(f"{name}: cannot read the settings: {exc}") from None
    if not isinstance(table, dict):
        raise SettingsError(f"{name}: [tool.kb] must be a table of settings")
    if "root" in table:
        raise SettingsError(f"{name}: root: unknown setting (the root is where the settings file is)")
    if env := os.environ.get("KB_SNAPSHOTS"):
        table["snapshots"] = [p for p in env.split(os.pathsep) if p]
    return table, name, digest


def _text(data: bytes | None) -> str:
    if data is None:
        raise OSError("the file cannot be read")
    return data.decode("utf-8")


class InputPaths:
    """The folders and files of a knowledge base, from its ``root`` and the ``claims``,
    ``sources``, ``database`` and ``snapshots`` settings: shared by :class:`QuickSettings`
    and :class:`kb.settings.Settings`."""

    root: Path
    claims: str
    sources: str
    database: str
    snapshots: list[str]

    @property
    def claims_dir(self) -> Path:
        return self.root / self.claims

    @property
    def sources_dir(self) -> Path:
        return self.root / self.sources

    @property
    def database_path(self) -> Path:
        return self.root / self.database

    @property
    def snapshot_dirs(self) -> list[Path]:
        return [(self.root / folder) for folder in self.snapshots]


@dataclass(frozen=True)
class QuickSettings(InputPaths):
    """The settings a build's inputs depend on, with the names and paths of
    :class:`kb.settings.Settings` (what :mod:`kb.inputs` and :mod:`kb.database.state` read)."""

    root: Path
    claims: str = "claims"
    sources: str = "sources"
    database: str = "kb.db"
    snapshots: list[str] = field(default_factory=list)
    today: date | None = None
    settings_digest: str | None = None  # of the bytes these settings were read from


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def quick_settings(root: Path) -> QuickSettings | None:
    """The paths and date of the knowledge base at ``root``, read as :mod:`kb.settings`
    reads them, or None when the file cannot be read or any of them is not of the plain
    form (a string, a list of strings, a date): then only the full settings can say."""
    try:
        table, _, digest = read_table(root)
    except SettingsError:
        return None
    values: dict = {"settings_digest": digest}
    for name in ("claims", "sources", "database"):
        if name in table:
            if not isinstance(table[name], str):
                return None
            values[name] = table[name]
    if "snapshots" in table:
        snapshots = table["snapshots"]
        if not isinstance(snapshots, list) or not all(isinstance(item, str) for item in snapshots):
            return None
        values["snapshots"] = list(snapshots)
    if "today" in table:
        today = table["today"]
        if isinstance(today, str) and _ISO_DATE.fullmatch(today):
            try:
                today = date.fromisoformat(today)
            except ValueError:
                return None
        if not isinstance(today, date) or isinstance(today, datetime):
            return None
        values["today"] = today
    return QuickSettings(root, **values)
