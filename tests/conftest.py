"""Fixtures: small knowledge bases written into temporary folders."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from kb.analyse import Analysis, analyse

# Hypothesis profiles: `ci` (selected when CI is set) runs thousands of examples across the
# fuzz properties (tests/test_fuzz_*.py scale theirs from max_examples); `dev` is quick.
# KB_HYPOTHESIS_PROFILE picks one explicitly.
settings.register_profile("ci", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("KB_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

SOURCE = """\
---
id: {id}
title: A report
type: article
publisher: The Outlet
published: 2024-07-24
{extra}---
Notes on the source.
"""

CLAIM = """\
---
id: {id}
statement: OpenAI could lose $5 billion in 2024.
kind: projection
subject: OpenAI
metric: net_loss
value: 5 billion
unit: USD
period: 2024
claimant: The Outlet
stated: 2024-07-24
evidence:
  - source: outlet-report
    quote: "lose 5 billion"
{extra}---
Notes on the claim.
"""


class KB:
    """A knowledge base in a temporary folder: write files, then analyse it."""

    def __init__(self, root: Path):
        self.root = root
        (root / "claims").mkdir()
        (root / "sources").mkdir()
        (root / "kb.toml").write_text('today = "2026-11-23"\n', encoding="utf-8")

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
        return path

    def source(self, id_: str = "outlet-report", extra: str = "", folder: str = "outlet") -> Path:
        return self.write(f"sources/{folder}/{id_}.md", SOURCE.format(id=id_, extra=extra))

    def claim(
        self, id_: str = "openai-2024-net-loss", extra: str = "", folder: str = "openai", text: str | None = None
    ) -> Path:
        return self.write(f"claims/{folder}/{id_}.md", text if text is not None else CLAIM.format(id=id_, extra=extra))

    def settings(self, toml: str) -> None:
        (self.root / "kb.toml").write_text('today = "2026-11-23"\n' + textwrap.dedent(toml), encoding="utf-8")

    def analyse(self, **kwargs) -> Analysis:
        return analyse(self.root, **kwargs)

    def codes(self, **kwargs) -> list[str]:
        return [f.code for f in self.analyse(**kwargs).findings]


@pytest.fixture
def kb(tmp_path: Path) -> KB:
    return KB(tmp_path)


@pytest.fixture
def minimal(kb: KB) -> KB:
    """One source and one claim citing it; a clean knowledge base but for KB401."""
    kb.source()
    kb.claim()
    return kb


@pytest.fixture(autouse=True)
def _cache_key_home(tmp_path_factory, monkeypatch):
    """The cache's signing key (kb.cache) goes to a folder of the test session, not ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture(autouse=True)
def _no_heap_limit_left():
    """A public Datasette served in this process caps SQLite's heap for the whole process
    (``pragma hard_heap_limit``, kb.site.hardening): lifted after each test, so that what
    runs next (a build, a comparison of databases) is not under a server's limit."""
    yield
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("pragma hard_heap_limit = 0")
