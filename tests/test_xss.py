"""No XSS payload from a knowledge base comes alive on any page.

A knowledge base whose every displayed text field (statement, body, quote, locator, note,
title, url, publisher, entity name, tags, acknowledgement reason…) carries each of the
payloads of tests/xss.py is served through ``datasette.client``; every route of
:func:`routes` (the one list of pages to walk) is parsed with html.parser and must hold no
script, event handler or script URL that the payloads brought. The browser test loads some of
the same pages in headless Chromium, where each payload that ran would set the title.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette
from xss import PAYLOADS, live_markup, write_knowledge_base

from kb.analyse import analyse
from kb.database import build_database
from kb.serve import COMMON_SETTINGS, PUBLIC_SETTINGS, metadata
from kb.site.hardening import CSP, _sha256

# Pages of the site engineer's templates: walked when the route exists (404 before they land).
OPTIONAL = [
    "/metrics",
    "/metrics/net_loss",
    "/metrics/net_loss?subject=e1",
    "/graph/a1",
    "/graph/s1",
    "/graph/e1",
    "/c/s0",
    "/c/s1",
]
ROW_TABLES = ("claims", "sources", "entities", "evidence", "findings", "claim_links")
QUERY_VALUES = {"q": "PWNED script onerror", "metric": "net_loss", "entity": "e1"}


@pytest.fixture(scope="module")
def xss_kb(tmp_path_factory):
    root = tmp_path_factory.mktemp("xss")
    write_knowledge_base(root)
    analysis = analyse(root)
    path = build_database(analysis)
    return analysis.settings, path


def routes(settings, path: Path) -> list[str]:
    """Every page type of the site, for the knowledge base at ``path``: the one list to walk."""
    conn = sqlite3.connect(path)
    names = [
        name
        for (name,) in conn.execute(
            "select name from sqlite_master where type in ('table', 'view') and name not like 'sqlite_%' "
            "and name not like '%_fts%' and name not like '%_search%' order by name"
        )
    ]
    pages = ["/", "/kb", "/-/metadata", "/-/versions", "/-/settings", "/nope", "/kb/nope", "/kb/claims/nope"]
    for name in names:
        pages += [f"/kb/{name}", f"/kb/{name}?_size=max"]
    pages += ["/kb/claims?_search=PWNED", "/kb/evidence?_search=onerror", "/kb/claims?_sort_desc=statement"]
    for table in ROW_TABLES:
        pages += [f"/kb/{table}/{key}" for (key,) in conn.execute(f"select id from [{table}] order by id")]
    for name, query in metadata(settings)["databases"]["kb"]["queries"].items():
        params = {param: QUERY_VALUES.get(param, "x") for param in re.findall(r":(\w+)", query["sql"])}
        pages.append(f"/kb/{name}?" + "&".join(f"{key}={value}" for key, value in params.items()))
    pages += [f"/c/a{i}" for i in range(3)]
    return pages


def trusted(script: str) -> bool:
    return _sha256(script) in CSP


@pytest.mark.parametrize("public", [False, True])
async def test_no_payload_is_live_markup_on_any_page(xss_kb, public):
    settings, path = xss_kb
    ds = Datasette(
        [], immutables=[str(path)], metadata=metadata(settings), settings=PUBLIC_SETTINGS if public else COMMON_SETTINGS
    )
    checked, carrying = 0, 0
    problems = {}
    for route in routes(settings, path) + OPTIONAL:
        response = await ds.client.get(route, follow_redirects=True)
        if route in OPTIONAL and response.status_code == 404:
            continue
        expected = (404,) if "nope" in route else (200,)
        assert response.status_code in expected, (route, response.status_code, response.text[:300])
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        checked += 1
        carrying += "PWNED" in response.text
        found = live_markup(response.text, trusted)
        if found:
            problems[route] = found[:5]
    assert not problems, problems
    assert checked > 400 and carrying > 350  # the pages were walked and do display the payloads


def test_every_field_carries_the_payloads(xss_kb):
    _, path = xss_kb
    conn = sqlite3.connect(path)
    fields = {
        "claims": ["statement", "body", "subject", "claimant", "tags"],
        "sources": ["title", "body", "publisher", "url", "authors", "tags"],
        "evidence": ["quote", "locator", "note", "stated_as"],
        "entities": ["name"],
        "claim_links": ["note"],
        "findings": ["acknowledgement"],
    }
    for table, columns in fields.items():
        for column in columns:
            values = [value for (value,) in conn.execute(f"select [{column}] from [{table}]")]
            if column in ("tags", "authors"):  # JSON lists
                values = [item for value in values for item in json.loads(value or "[]")]
            carried = sum(any(payload in (value or "") for value in values) for payload in PAYLOADS)
            if column == "url":  # spaces become + in a URL
                carried = sum("PWNED" in (value or "") or "data:" in (value or "") for value in values)
            assert carried >= 50, (table, column, carried)
