"""Headless Chromium for the browser tests: one way to start it, with every host but loopback
unresolvable, so nothing a page needs can come from the network.

Needs ``chromium`` (Debian: ``apt-get install -y chromium fonts-noto-cjk``; .ci/run does it);
the tests that use it are skipped with that reason when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium fonts-noto-cjk)"
)


def dump_dom(url: str) -> subprocess.CompletedProcess:
    """Load ``url`` in a fresh profile, let its scripts run for 3 s of virtual time, dump the DOM."""
    with tempfile.TemporaryDirectory(prefix="kb-chromium-") as profile:
        return subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=3000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
