"""The site in a real browser: headless Chromium opens the claim, source, metric and graph pages
of the shipped corpus, served by Datasette on a loopback port, with every other host unreachable.

Skipped only when Chromium is not installed (CI installs it: apt-get install -y chromium
fonts-noto-cjk in .ci/run)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import dump_dom, needs_chromium
from live import free_port

from kb.analyse import analyse
from kb.database import build_database
from kb.serve import COMMON_SETTINGS, metadata
from kb.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
pytestmark = needs_chromium


def dom(url: str) -> str:
    """The DOM after load, with every host but loopback unresolvable: nothing may come from the network."""
    result = dump_dom(url)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    path = build_database(analyse(ROOT), folder / "kb.db")
    meta = folder / "metadata.json"
    meta.write_text(json.dumps(metadata(load_settings(ROOT))), encoding="utf-8")
    port = free_port()
    command = [sys.executable, "-m", "datasette", "serve", "-i", str(path), "--metadata", str(meta)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    for key, value in COMMON_SETTINGS.items():
        command += ["--setting", key, ("on" if value else "off") if isinstance(value, bool) else str(value)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("Datasette did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def visible(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", page).replace("&amp;", "&").replace("&#39;", "'").split())


def assert_offline(page: str) -> None:
    remote = r'<(?:script|link|img)\b[^>]*(?:src|href)="(?:https?:)?//(?!127\.0\.0\.1[:/])'
    assert not re.search(remote, page), "an asset from another host"


def test_claim_page_in_a_browser(server):
    page = dom(server + "/kb/claims/openai-2025-net-loss-projected")
    text = visible(page)
    assert "OpenAI expects to lose more than $8 billion in 2025." in text
    assert "OpenAI 预计亏损将超过 80 亿美元" in text
    assert "OpenAI will probably lose more than $10 billion in 2025" in text and "about 10 billion USD" in text
    assert "20% apart" in text
    assert "[@claim:openai-2025-net-loss-projected]" in page
    assert '<svg class="kb-chart"' in page
    assert_offline(page)


def test_source_page_in_a_browser(server):
    page = dom(server + "/kb/sources/netease-2024-07-25-openai-could-lose-5-billion")
    text = visible(page)
    assert "为什么OpenAI今年可能会亏损50亿美元" in text
    assert "Cites Why OpenAI Could Lose $5 Billion This Year" in text
    assert "Claims resting on it" in text and "supports" in text
    assert_offline(page)


def test_metric_chart_in_a_browser(server):
    page = dom(server + "/metrics/net_loss?subject=openai")
    assert page.count('<svg class="kb-chart"') == 1
    assert len(re.findall(r'<g class="mark[^"]*" data-claim="openai-', page)) >= 6
    text = visible(page)
    assert "net_loss of OpenAI" in text and "The Information" in text
    assert_offline(page)


def test_graph_in_a_browser(server):
    page = dom(server + "/graph/openai")
    assert '<svg class="kb-graph"' in page
    assert len(re.findall(r'class="node node-claim"', page)) >= 100
    assert 'data-node="source:netease-2024-07-25-openai-could-lose-5-billion"' in page
    assert_offline(page)
