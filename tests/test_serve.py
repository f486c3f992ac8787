"""Datasette serving the built database: JSON, metadata, plugin, public hardening."""

from __future__ import annotations

import json

import pytest
from datasette.app import Datasette

from kb.database import build_database
from kb.serve import COMMON_SETTINGS, PUBLIC_SETTINGS, datasette_command, metadata


@pytest.fixture
def database(kb):
    kb.source()
    kb.claim(extra="contradicts: [other]\n")
    kb.write(
        "claims/openai/other.md",
        "---\nid: other\nstatement: s\nkind: fact\nevidence: [{source: outlet-report}]\n---\n"
        "Body with <script>alert(1)</script> and **bold**.\n",
    )
    analysis = kb.analyse()
    return analysis.settings, build_database(analysis)


def datasette(settings, path, public=False):
    options = PUBLIC_SETTINGS if public else COMMON_SETTINGS
    return Datasette([], immutables=[str(path)], metadata=metadata(settings), settings=options)


async def test_claim_as_json(database):
    ds = datasette(*database)
    response = await ds.client.get("/kb/claims/openai-2024-net-loss.json?_shape=objects")
    assert response.status_code == 200
    [row] = response.json()["rows"]
    assert (row["value"], row["unit"], row["status"], row["period"]) == (5e9, "USD", "contested", "2024")


async def test_table_has_descriptions_and_facets(database):
    ds = datasette(*database)
    data = (await ds.client.get("/kb/claims.json?_extra=facet_results")).json()
    assert set(data["facet_results"]) == {"entity_id", "metric", "kind", "status"}
    html = (await ds.client.get("/kb/claims")).text
    assert "Figures are in base units" in html


async def test_body_html_is_safe(database):
    ds = datasette(*database)
    html = (await ds.client.get("/kb/claims/other")).text
    assert "<strong>bold</strong>" in html
    assert "<script>alert(1)</script>" not in html


async def test_short_citation_url(database):
    ds = datasette(*database)
    response = await ds.client.get("/c/other")
    assert (response.status_code, response.headers["location"]) == (302, "/kb/claims/other")


async def test_canned_queries_and_views(database):
    ds = datasette(*database, public=True)
    rows = (await ds.client.get("/kb/figures.json?metric=net_loss&entity=&_shape=array")).json()
    assert [r["id"] for r in rows] == ["openai-2024-net-loss"]
    rows = (await ds.client.get("/kb/contradictions.json?_shape=array")).json()
    assert [(r["claim"], r["other"]) for r in rows] == [("openai-2024-net-loss", "other")]


async def test_public_instance_is_hardened(database):
    ds = datasette(*database, public=True)
    assert (await ds.client.get("/kb.json?sql=select+1")).status_code == 403
    assert (await ds.client.get("/kb.db")).status_code == 403
    assert (await ds.client.get("/kb/claims.json?_search=OpenAI")).status_code == 200


def test_command_line(database):
    settings, path = database
    command = datasette_command(settings, path.with_name("m.json"), "127.0.0.1", 8001, public=True)
    assert command[1:3] == ["-I", "-c"]  # isolated: no working folder on sys.path, no PYTHON* variables
    spec = json.loads(command[4])
    assert spec["args"][:3] == ["serve", "-i", str(path)]
    assert "default_allow_sql" in spec["args"] and "--port" in spec["args"]


async def test_stylesheet_is_served_locally(database):
    ds = datasette(*database)
    html = (await ds.client.get("/kb/claims/other")).text
    assert '<link rel="stylesheet" href="/-/kb.css">' in html
    response = await ds.client.get("/-/kb.css")
    assert response.status_code == 200 and "body.row" in response.text
    assert "cdn" not in html.lower() and "https://" not in html.split("<body")[0]


def test_signature_changes_when_a_file_changes(kb):
    from kb.inputs import signature

    kb.claim("x", text="---\nid: x\nstatement: s\nkind: opinion\n---\n", folder="a")
    settings = kb.analyse().settings
    before = signature(settings)
    assert signature(settings) == before
    kb.claim("x", text="---\nid: x\nstatement: longer\nkind: opinion\n---\n", folder="a")
    assert signature(settings) != before


async def test_values_built_by_a_query_are_capped(database):
    """The SQL time limit does not cap memory; the plugin's length limit does (README claim)."""
    ds = datasette(*database)
    small = await ds.client.get("/kb.json?sql=select+length(zeroblob(1000))&_shape=array")
    assert small.json() == [{"length(zeroblob(1000))": 1000}]
    huge = await ds.client.get("/kb.json?sql=select+length(zeroblob(200000000))&_shape=array")
    assert huge.status_code == 400 and "too big" in huge.text
