"""The hardening plugin (kb.site.hardening): headers, refused paths, trusted HTML, robots, limits."""

from __future__ import annotations

import re

import pytest
from datasette.app import Datasette

from kb.database import build_database
from kb.serve import COMMON_SETTINGS, PUBLIC_SETTINGS, metadata
from kb.site.hardening import CSP, _sha256


@pytest.fixture
def database(kb):
    kb.source()
    kb.claim(extra="tags: [loss]\n")
    analysis = kb.analyse()
    return analysis.settings, build_database(analysis)


def datasette(settings, path, public=False):
    return Datasette(
        [], immutables=[str(path)], metadata=metadata(settings), settings=PUBLIC_SETTINGS if public else COMMON_SETTINGS
    )


@pytest.mark.parametrize("public", [False, True])
async def test_headers_on_every_response(database, public):
    ds = datasette(*database, public=public)
    for path in ("/", "/kb", "/kb/claims", "/kb/claims/openai-2024-net-loss", "/kb/search_quotes?q=x", "/nope"):
        response = await ds.client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.headers["content-security-policy"] == CSP, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
    response = await ds.client.get("/kb/claims.json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


def test_csp_allows_no_inline_script_and_no_other_origin():
    directives = dict(part.split(" ", 1) for part in CSP.split("; "))
    assert directives["default-src"] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert "http" not in CSP and "*" not in CSP
    assert directives["object-src"] == directives["base-uri"] == directives["frame-ancestors"] == "'none'"


async def test_datasette_pages_inline_scripts_are_allowed_by_hash(database):
    """Datasette 0.65's own inline scripts still run under the CSP: each one's hash is in it."""
    ds = datasette(*database)
    seen = set()
    for path in (
        "/",
        "/kb",
        "/kb/claims",
        "/kb/claims/openai-2024-net-loss",
        "/kb/search_quotes?q=x",
        "/kb?sql=select+1",
    ):
        html = (await ds.client.get(path)).text
        for script in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.DOTALL):
            assert _sha256(script) in CSP, (path, script[:80])
            seen.add(script)
    assert len(seen) >= 3  # menus, the facet flag, the SQL editor


@pytest.mark.parametrize("public", [False, True])
@pytest.mark.parametrize(
    "path", ["/\\example.com/", "/\\\\example.com", "//example.com/", "//example.com/%2F..", "/%5Cexample.com/"]
)
async def test_open_redirect_paths_are_refused(database, public, path):
    ds = datasette(*database, public=public)
    response = await ds.client.get(path)
    assert response.status_code == 400 and "location" not in response.headers


async def test_body_html_is_html_only_in_claims_and_sources(database):
    ds = datasette(*database)
    payload = "<script>alert(1)</script>"
    page = (await ds.client.get("/kb", params={"sql": f"select '{payload}' as body_html"})).text
    assert payload not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = (await ds.client.get("/kb", params={"sql": "select body_html from claims"})).text
    assert "&lt;p&gt;Notes on the claim.&lt;/p&gt;" in page  # a query is not the claims table
    page = (await ds.client.get("/kb/claims/openai-2024-net-loss")).text
    assert "<p>Notes on the claim.</p>" in page


async def test_trace_is_refused_only_in_public(database):
    assert (await datasette(*database, public=True).client.get("/kb/claims?_trace=1")).status_code == 400
    assert (await datasette(*database).client.get("/kb/claims?_trace=1")).status_code == 200


async def test_robots_txt_follows_the_setting(kb):
    kb.source()
    kb.claim()
    allow = kb.analyse()
    kb.settings('[site]\nrobots = "disallow"\n')
    disallow = kb.analyse()
    assert disallow.settings.site.robots == "disallow"
    path = build_database(disallow)
    text = (await datasette(disallow.settings, path).client.get("/robots.txt")).text
    assert text == "User-agent: *\nDisallow: /\n"
    text = (await datasette(allow.settings, path).client.get("/robots.txt")).text
    assert "Allow: /\n" in text and "Disallow: /*?\n" in text


def test_robots_setting_is_validated(kb):
    from kb.settings import SettingsError

    kb.settings('[site]\nrobots = "maybe"\n')
    with pytest.raises(SettingsError, match="robots"):
        kb.analyse()


async def test_length_and_attach_limits(database):
    ds = datasette(*database)
    response = await ds.client.get("/kb.json", params={"sql": "select length(hex(zeroblob(2000000)))"})
    assert response.status_code == 400 and "too big" in response.text
    response = await ds.client.get("/kb.json", params={"sql": "select length(hex(zeroblob(100000)))"})
    assert response.status_code == 200
