"""In a real browser: headless Chromium loads pages of a `kb serve` whose knowledge base carries
the XSS payloads of tests/xss.py, and no payload runs (each would set the title to /PWNED/).

Needs ``chromium`` (Debian: ``apt-get install -y chromium fonts-noto-cjk``; .ci/run does it);
skipped with that reason when it is missing.
"""

from __future__ import annotations

import re
from html import unescape

import browser
import pytest
from browser import needs_chromium
from live import kb_serve
from xss import PAYLOADS, RUN, live_markup, write_knowledge_base

from kb.site.hardening import CSP, _sha256

pytestmark = needs_chromium


def dump_dom(url: str) -> str:
    return browser.dump_dom(url).stdout


# Table pages show every payload at once; row pages of the trickiest payloads (mXSS, noscript,
# srcdoc, meta refresh, base, autofocus handlers); canned queries and their snippets.
TRICKY = ("<noscript>", "<math>", 'srcdoc="', "<base")
PAGES = [
    "/",
    "/kb/claims?_size=max",
    "/kb/sources?_size=max",
    "/kb/evidence?_size=max",
    "/kb/entities?_size=max",
    "/kb/findings?_size=max",
    "/kb/claim_links?_size=max",
    "/kb/search_quotes?q=PWNED",
    "/kb/search_claims?q=PWNED+onerror",
]
OPTIONAL = ["/metrics/net_loss", "/graph/e1"]


def trusted(script: str) -> bool:
    return _sha256(script) in CSP


def title(dom: str) -> str:
    found = re.search(r"<title>(.*?)</title>", dom, flags=re.DOTALL)
    return unescape(found.group(1)) if found else ""


def test_the_browser_runs_script_so_a_payload_would_show():
    """The control: outside the site, the same payload does set the title."""
    assert title(dump_dom(f"data:text/html,<title>t</title><img src=x onerror={RUN}>")) == "/PWNED/"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("xss-browser")
    write_knowledge_base(root)
    with kb_serve(root, public=False) as running:
        yield running


def test_no_payload_runs_in_chromium(server):
    tricky = [next(i for i, payload in enumerate(PAYLOADS) if mark in payload) for mark in TRICKY]
    pages = PAGES + [f"/kb/claims/a{i}" for i in tricky] + [f"/kb/sources/s{tricky[0]}"]
    pages += [page for page in OPTIONAL if server.get(page)[0] == 200]
    ran = {}
    for page in pages:
        dom = dump_dom(server.url + page)
        shown = "PWNED" in dom or "evil.example" in dom
        assert "</body>" in dom and (shown or page == "/"), f"{page}: did not load or shows no payload"
        # the title a payload would set, and live markup in the DOM as Chromium parsed it (mXSS)
        problems = live_markup(dom, trusted)
        # a payload that runs sets the title to exactly /PWNED/ (the control above); a claim page's
        # title shows the statement, payload text included, escaped
        if title(dom).strip() == "/PWNED/" or problems:
            ran[page] = (title(dom), problems[:5])
    assert not ran, ran
