"""Stage timings of one run, and a line on the terminal saying which stage is running.

Every long step of ``kb check`` and ``kb build`` runs inside ``progress.stage(name)``; the
time of each stage is recorded (``progress.timings``, seconds, summed when a stage runs
twice) whether or not anything is shown. On a terminal (stderr a TTY, ``CI`` unset) the
current stage is shown on one line, redrawn at most ten times a second and erased when the
run ends, so a 100k build shows signs of life and a finished run leaves nothing behind. Not
on a terminal, or in CI, nothing is printed. ``KB_PROGRESS=0`` silences it everywhere,
``KB_PROGRESS=1`` forces it.

``KB_TIMINGS=FILE`` makes the CLI write the timings as JSON when the command ends
(``benchmarks/`` reads them).

>>> progress = Progress(enabled=False)
>>> with progress.stage("parse", total=3):
...     progress.advance(3)
>>> sorted(progress.timings)
['parse']
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

__all__ = ["Progress", "quiet"]

_REDRAW = 0.1  # seconds between two redraws of the line


def _wanted(stream: TextIO) -> bool:
    forced = os.environ.get("KB_PROGRESS")
    if forced in {"0", "1"}:
        return forced == "1"
    if os.environ.get("CI"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Timings of named stages; on a terminal, a progress line on ``stream`` (stderr)."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = _wanted(self.stream) if enabled is None else enabled
        self.timings: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._name = ""
        self._done = 0
        self._total: int | None = None
        self._drawn = 0.0
        self._shown = False

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Progress]:
        """Time the block as stage ``name``; ``total`` items, if known, for ``advance``."""
        outer = (self._name, self._done, self._total)
        self._name, self._done, self._total = name, 0, total
        self._draw(force=True)
        start = time.perf_counter()
        try:
            yield self
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start
            if total is not None:
                self.counts[name] = self.counts.get(name, 0) + self._done
            self._name, self._done, self._total = outer
            if self._name:
                self._draw(force=True)
            else:
                self.clear()

    def advance(self, count: int = 1) -> None:
        """``count`` more items of the current stage are done."""
        self._done += count
        if self.enabled and time.monotonic() - self._drawn >= _REDRAW:
            self._draw()

    def record(self, name: str, seconds: float) -> None:
        """Add a time measured elsewhere (e.g. in a worker process)."""
        self.timings[name] = self.timings.get(name, 0.0) + seconds

    def _draw(self, force: bool = False) -> None:
        if not self.enabled or not self._name:
            return
        now = time.monotonic()
        if not force and now - self._drawn < _REDRAW:
            return
        self._drawn = now
        count = ""
        if self._total:
            count = f" {self._done:,}/{self._total:,}"
        elif self._done:
            count = f" {self._done:,}"
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(f"\r\x1b[2Kkb: {self._name}{count}")
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        """Erase the progress line (before printing anything else, and at the end)."""
        if self._shown:
            with contextlib.suppress(OSError, ValueError):
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
            self._shown = False

    def write_timings(self, path: str | os.PathLike | None = None) -> None:
        """Write the timings as JSON to ``path`` (default: ``$KB_TIMINGS``, if set)."""
        target = path or os.environ.get("KB_TIMINGS")
        if not target:
            return
        data = {"timings": self.timings, "counts": self.counts}
        with contextlib.suppress(OSError):
            Path(target).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


def quiet() -> Progress:
    """A Progress that records timings and never prints (the library's default)."""
    return Progress(enabled=False)
