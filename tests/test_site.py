"""The reader's site through datasette.client: every page, on a fixture knowledge base and on
the shipped corpus."""

from __future__ import annotations

import contextlib
import html
import re
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette
from sitekb import build, datasette, write_kb

from kb.analyse import analyse
from kb.database import build_database
from kb.serve import COMMON_SETTINGS, metadata
from kb.settings import load_settings
from kb.site import pages

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    settings, path = build(write_kb(tmp_path_factory.mktemp("site")))
    return datasette(settings, path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    analysis = analyse(ROOT)
    path = build_database(analysis, tmp_path_factory.mktemp("corpus") / "kb.db")
    return datasette(load_settings(ROOT), path, public=True)


def text_of(page: str) -> str:
    """The visible text of a page, whitespace folded (tags removed, entities decoded)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def get(ds, path: str, status: int = 200):
    response = await ds.client.get(path)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    return response


async def test_home_says_what_the_kb_holds(site):
    page = (await get(site, "/")).text
    text = text_of(page)
    assert "<title>Test KB</title>" in page
    assert "A knowledge base for the site tests." in text
    assert "4 claims" in text and "4 sources" in text and "1 open contradictions" in text
    assert "CC0" in text  # the licence from [site], in the footer
    assert "the economics of generative AI" not in page  # never the shipped corpus's title
    # most contested claims, entities and metrics
    assert 'href="/kb/claims/openai-2024-loss-projected"' in page
    assert 'href="/kb/claims?entity_id=openai"' in page
    assert 'href="/metrics/net_loss"' in page
    assert 'action="/kb/search_claims"' in page


async def test_home_defaults_are_neutral(kb):
    kb.source()
    kb.claim()
    settings, path = build(kb.root)
    page = (await get(datasette(settings, path), "/")).text
    assert "<title>Knowledge base</title>" in page
    assert "CC BY" not in page


async def test_claim_page_shows_evidence_contradictions_and_citation(site):
    page = (await get(site, "/kb/claims/openai-2024-loss-projected")).text
    text = text_of(page)
    assert "OpenAI could lose $5 billion in 2024." in text
    assert "5 billion USD" in text
    assert 'class="kb-status kb-status-contested"' in page
    assert "Claimed by The Information , 2024-07-24" in text
    # every evidence item: quote in its language, locator, stated_as, source, the via chain
    assert '<blockquote class="kb-quote" lang="zh-Hans">OpenAI今年可能亏损高达50亿美元</blockquote>' in page
    assert '<blockquote class="kb-quote" lang="zh-Hant">它預計將在2024年虧損50億美元</blockquote>' in page
    assert "line 6" in text and "50亿美元" in text
    assert re.search(r"Traced back: .*NetEase.*relays →.*The Information", text)
    assert re.search(r"Block unicorn .*translates →.*Where's Your Ed At", text)
    assert "2 independent origins" in text
    # the contradiction, side by side, with the gap and the note
    assert "OpenAI will lose only $4 billion in 2024." in text
    assert "4 billion USD" in text and "20% apart" in text and "declared" in text
    assert "The blog's figure is lower." in text
    # settled by a fact; track record of the claimant
    assert re.search(r"Settled by: OpenAI lost \$5 billion in 2024\. 5 billion USD .*correct", text)
    assert "Track record of The Information" in text
    # the chart of its peers, this one highlighted, marks linking to claim pages
    assert '<svg class="kb-chart"' in page
    assert 'class="mark focus" data-claim="openai-2024-loss-projected"' in page
    assert '<a href="/kb/claims/openai-2024-loss-low">' in page
    # notes rendered, citation ready to copy (base_url from settings)
    assert "<strong>bold</strong>" in page
    assert 'value="[@claim:openai-2024-loss-projected]"' in page
    assert 'value="https://kb.example.org/c/openai-2024-loss-projected"' in page


async def test_claim_page_shows_acknowledged_findings_and_derivations(site):
    text = text_of((await get(site, "/kb/claims/openai-2024-loss-low")).text)
    assert "KB401 acknowledged" in text and "Acknowledged: The outcome is in openai-2024-loss." in text
    assert "refutes" in text
    text = text_of((await get(site, "/kb/claims/openai-2024-monthly-loss")).text)
    assert "Computed as loss / 12 from:" in text
    assert re.search(r"loss OpenAI lost \$5 billion in 2024\. 5 billion USD supported", text)
    text = text_of((await get(site, "/kb/claims/openai-2024-loss")).text)
    assert "Figures computed from this one: OpenAI lost about $417 million a month" in text
    assert "Settles the earlier forecast: OpenAI could lose $5 billion in 2024." in text


async def test_citation_formats_show_when_the_database_has_them(tmp_path):
    settings, path = build(write_kb(tmp_path))
    with sqlite3.connect(path) as conn:
        conn.execute("create table citations (claim_id text, csl_json text, bibtex text)")
        conn.execute(
            "insert into citations values ('openai-2024-loss', '{\"id\": \"claim:openai-2024-loss\"}', '@misc{x}')"
        )
    page = (await get(datasette(settings, path), "/kb/claims/openai-2024-loss")).text
    assert "<dt>csl_json</dt>" in page and "@misc{x}" in page


async def test_source_page(site):
    page = (await get(site, "/kb/sources/blog-post-zh")).text
    text = text_of(page)
    assert '<h1 class="kb-statement" lang="zh-Hant">次贷人工智能危机</h1>' in page
    assert "Translation of The subprime AI crisis" in text
    assert re.search(
        r"Where it comes from 次贷人工智能危机 \(Block unicorn\) translates → The subprime AI crisis", text
    )
    assert "supports" in text and "OpenAI could lose $5 billion in 2024." in text
    text = text_of((await get(site, "/kb/sources/the-info-report")).text)
    assert "Cited by 为什么OpenAI" in text and "Relayed by 为什么OpenAI" in text
    assert "relayed by netease-relay" in text  # the claim resting on it through a relay
    text = text_of((await get(site, "/kb/sources/blog-post")).text)
    assert "Translated by 次贷人工智能危机" in text
    assert "3 evidence items rest on it: 1 refutes, 2 supports." in text


async def test_metric_pages(site, monkeypatch):
    text = text_of((await get(site, "/metrics")).text)
    assert re.search(r"net_loss 3 USD 2024 OpenAI 3", text)
    page = (await get(site, "/metrics/net_loss?subject=openai")).text
    assert page.count('<svg class="kb-chart"') == 1
    assert page.count('class="mark"') == 3
    assert "stroke-dasharray" in page  # projections are hollow, dashed
    text = text_of(page)
    assert "net_loss of OpenAI" in text and "3 figures" in text
    for outlet in ("The Information", "Where's Your Ed At"):
        assert outlet in text
    # a name or an alias finds the entity too; every entity without a subject
    assert (await get(site, "/metrics/net_loss?subject=Open%20AI")).text.count('class="mark"') == 3
    assert "OpenAI" in text_of((await get(site, "/metrics/net_loss")).text)
    # past the bound: the most recent figures, how many there are, and where the rest are
    monkeypatch.setattr(pages, "METRIC_FIGURES", 2)
    page = (await get(site, "/metrics/net_loss?subject=openai")).text
    assert page.count('class="mark"') == 2 and "The 2 most recent of 3 figures" in text_of(page)
    assert "claims?metric=net_loss&amp;entity_id=openai&amp;_sort_desc=period_start" in page
    await get(site, "/metrics/no_such_metric", 404)
    await get(site, "/metrics/net_loss?subject=nobody", 404)


async def test_graph_pages(site):
    page = (await get(site, "/graph/openai-2024-loss-projected")).text
    assert '<svg class="kb-graph"' in page
    for relation in ("supports-evidence", "via", "contradicts", "resolves", "about"):
        assert f'data-relation="{relation}"' in page, relation
    assert 'data-node="source:the-info-report"' in page
    assert '<a href="/kb/sources/netease-relay"' in page
    page = (await get(site, "/graph/blog-post")).text
    assert 'data-relation="translation_of"' in page and 'data-relation="refutes-evidence"' in page
    page = (await get(site, "/graph/openai")).text
    assert 'data-node="entity:openai"' in page and 'data-relation="derived_from"' in page
    await get(site, "/graph/nothing-here", 404)


async def test_short_urls_redirect_only_for_claims_and_sources(site):
    response = await get(site, "/c/openai-2024-loss", 302)
    assert response.headers["location"] == "/kb/claims/openai-2024-loss"
    response = await get(site, "/c/blog-post", 302)
    assert response.headers["location"] == "/kb/sources/blog-post"
    await get(site, "/c/no-such-claim", 404)
    await get(site, "/c/openai", 404)  # an entity is not citable


async def test_tables_show_readable_figures_and_fold_entities(site):
    page = (await get(site, "/kb/claims")).text
    assert '<span class="kb-number" title="5000000000.0">5 billion USD</span>' in page
    assert ">5000000000.0<" not in page
    headers = re.findall(r'<th [^>]*data-column="(\w+)"', page)
    assert headers[:4] == ["id", "statement", "figure", "status"]
    data = (await get(site, "/kb/claims.json?_extra=facet_results")).json()
    entity_facet = data["facet_results"]["entity_id"]["results"]
    assert [(r["value"], r["count"]) for r in entity_facet] == [("openai", 4)]  # "Open AI" folded in
    assert "tags" not in data["facet_results"]  # not by default: it costs a distinct over whole rows
    data = (await get(site, "/kb/claims.json?_extra=facet_results&_facet_array=tags")).json()
    assert {r["value"] for r in data["facet_results"]["tags"]["results"]} == {"losses", "openai"}


async def test_other_tables_keep_datasette_pages(site):
    page = (await get(site, "/kb/evidence/openai-2024-loss-e1")).text
    assert "kb-article" not in page and "rows-and-columns" in page
    await get(site, "/kb/claims/no-such-claim", 404)


async def test_claim_and_source_pages_answer_as_datasette_row_pages_do(site, tmp_path, monkeypatch):
    # kb.site.views.row_page serves them in front of Datasette's row view: same headers,
    # same permissions, and Datasette's row view for everything that is not kb's page
    from datasette.views.row import RowView

    async def unused(*args, **kwargs):
        raise AssertionError("Datasette's row view prepared a kb page")

    with monkeypatch.context() as patch:
        patch.setattr(RowView, "data", unused)
        await get(site, "/kb/claims/openai-2024-loss")
        await get(site, "/kb/sources/blog-post")
        assert (await site.client.request("HEAD", "/kb/sources/blog-post")).status_code == 200
    response = await get(site, "/kb/claims/openai-2024-loss")
    assert response.headers["cache-control"] == "max-age=5"  # default_cache_ttl
    assert response.headers["link"] == (
        'http://localhost/kb/claims/openai-2024-loss.json; rel="alternate"; type="application/json+datasette"'
    )
    assert '<link rel="alternate" type="application/json+datasette"' in response.text
    assert "Queries took" in response.text and "kb-article" in response.text
    assert (await get(site, "/kb/sources/blog-post?_ttl=0")).headers["cache-control"] == "no-cache"
    # a tilde-encoded id is the same claim; the JSON is Datasette's
    assert "OpenAI lost $5 billion in 2024." in (await get(site, "/kb/claims/openai~2D2024~2Dloss")).text
    row = (await get(site, "/kb/claims/openai-2024-loss.json?_shape=objects")).json()["rows"][0]
    assert row["id"] == "openai-2024-loss"
    head = await site.client.request("HEAD", "/kb/claims/openai-2024-loss")
    assert head.status_code == 200 and head.content == b""
    assert {k: v for k, v in head.headers.items() if k != "content-length"} == {
        k: v for k, v in response.headers.items() if k != "content-length"
    }
    assert (await site.client.post("/kb/claims/openai-2024-loss")).status_code in (403, 405)
    # a table denied by metadata stays denied
    (tmp_path / "kb").mkdir()
    settings, path = build(write_kb(tmp_path / "kb"))
    meta = metadata(settings)
    meta["databases"]["kb"]["tables"]["claims"]["allow"] = False
    denied = Datasette([], immutables=[str(path)], metadata=meta, settings=COMMON_SETTINGS)
    await get(denied, "/kb/claims/openai-2024-loss", 403)
    await get(denied, "/kb/sources/blog-post", 403)  # (it lists the claims resting on the source)
    # another database's claims table keeps Datasette's row page
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table claims (id text primary key, statement text)")
        conn.execute("insert into claims values ('x', 'Not a kb claim')")
    page = (await get(Datasette([str(other)]), "/other/claims/x")).text
    assert "Not a kb claim" in page and "rows-and-columns" in page and "kb-article" not in page


async def test_corpus_contested_claim_page(corpus):
    page = (await get(corpus, "/kb/claims/openai-2025-net-loss-projected")).text
    text = text_of(page)
    assert "OpenAI 预计亏损将超过 80 亿美元" in text  # the quote
    assert "OpenAI will probably lose more than $10 billion in 2025" in text  # the opposing claim
    assert "about 10 billion USD" in text and "20% apart" in text
    assert "Where's Your Ed At" in text  # the sources of both sides
    assert 'value="[@claim:openai-2025-net-loss-projected]"' in page
    assert "/c/openai-2025-net-loss-projected" in page


async def test_corpus_pages(corpus):
    page = (await get(corpus, "/")).text
    assert "<title>The economics of generative AI</title>" in page and "CC BY 4.0" in page
    page = (await get(corpus, "/metrics/net_loss?subject=openai")).text
    assert page.count("data-claim=") >= 6
    page = (await get(corpus, "/graph/openai")).text
    assert page.count('class="node node-claim"') >= 100 and 'class="node node-source"' in page
    page = (await get(corpus, "/kb/sources/netease-2024-07-25-openai-could-lose-5-billion")).text
    assert "Why OpenAI Could Lose $5 Billion This Year" in text_of(page)
    await get(corpus, "/metrics")
    await get(corpus, "/c/netease-2024-07-25-openai-could-lose-5-billion", 302)


@pytest.mark.parametrize(
    "where",
    [("tables", "claims"), ("tables", "sources"), ("tables", "evidence"), ("database", None), ("instance", None)],
)
async def test_kb_pages_answer_to_the_allow_blocks_of_the_tables_they_show(tmp_path, where):
    # the claim, source, metric, graph and /c/ pages show what the claims, sources and
    # evidence tables hold (kb.site.views.READ_TABLES): a reader who may not see one of them
    # gets 403, the home page Datasette's own
    settings, path = build(write_kb(tmp_path))
    meta = metadata(settings)
    level, name = where
    if level == "tables":
        meta["databases"]["kb"]["tables"][name]["allow"] = False
    elif level == "database":
        meta["databases"]["kb"]["allow"] = False
    else:
        meta["allow"] = False
    ds = Datasette([], immutables=[str(path)], metadata=meta, settings=COMMON_SETTINGS)
    shown = ("/metrics", "/metrics/net_loss", "/graph/openai-2024-loss", "/graph/openai", "/c/openai-2024-loss")
    for page in (*shown, "/kb/claims/openai-2024-loss", "/kb/sources/blog-post"):
        response = await ds.client.get(page)
        assert response.status_code == 403, page
        assert "OpenAI lost" not in response.text
    home = await ds.client.get("/")
    assert "OpenAI lost" not in home.text and "kb-article" not in home.text
    if level != "instance":
        assert home.status_code == 200
    # an actor allowed in sees them
    meta_root = metadata(settings)
    meta_root["allow"] = {"id": "root"}
    allowed = Datasette([], immutables=[str(path)], metadata=meta_root, settings=COMMON_SETTINGS)
    cookies = {"ds_actor": allowed.sign({"a": {"id": "root"}}, "actor")}
    assert (await allowed.client.get("/metrics/net_loss", cookies=cookies)).status_code == 200
    assert (await allowed.client.get("/metrics/net_loss")).status_code == 403


async def test_a_value_that_is_not_utf8_still_shows(tmp_path):
    # kb's page queries read text as str (kb.site.views._plain); a database changed by hand to
    # hold bytes that do not decode is read again with Datasette's lenient factory
    settings, path = build(write_kb(tmp_path))
    with sqlite3.connect(path) as conn:
        conn.execute("update claims set statement = cast(x'4f70656e4149ff' as text) where id = 'openai-2024-loss'")
    page = (await get(datasette(settings, path), "/kb/claims/openai-2024-loss")).text
    assert "OpenAI\ufffd" in page and "kb-article" in page


async def test_the_site_reads_the_database_mapped_in_memory(site, tmp_path):
    # (kb.site.prepare_connection, for every connection Datasette opens; SQLite caps the size
    # at its compiled maximum, and maps no in-memory database)
    with contextlib.closing(sqlite3.connect(tmp_path / "plain.db")) as plain:
        available = plain.execute("pragma mmap_size = 1048576").fetchone()
    if not available or not available[0]:
        pytest.skip("this SQLite maps no file in memory")
    (size,) = (await site.get_database("kb").execute("pragma mmap_size")).rows[0]
    assert 0 < size <= 1 << 31
