"""The data behind each page, the chart and the graph, as plain Python (no Datasette)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date

import pytest
from conftest import CLAIM
from hypothesis import given, settings
from hypothesis import strategies as st
from sitekb import build, write_kb

from kb.site import charts, graphview, pages


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    _, path = build(write_kb(tmp_path_factory.mktemp("pages")))
    with closing(sqlite3.connect(path)) as connection:
        yield connection


def test_is_kb_database(conn):
    assert pages.is_kb_database(conn)
    assert not pages.is_kb_database(sqlite3.connect(":memory:"))


def test_home_page(conn):
    data = pages.home_page(conn)
    assert data["claims"] == 4 and data["sources"] == 4 and data["entities"] == 1
    assert {row["status"]: row["count"] for row in data["by_status"]} == {
        "supported": 2,
        "contested": 1,
        "refuted": 1,
        "superseded": 0,
        "unsupported": 0,
    }
    assert data["contradictions"] == 1
    assert data["findings"]["acknowledged"] == 1
    assert [c["id"] for c in data["contested"]] == ["openai-2024-loss-low", "openai-2024-loss-projected"]
    assert [(m["metric"], m["figures"]) for m in data["top_metrics"]] == [("net_loss", 3), ("monthly_loss", 1)]


def test_claim_page(conn):
    data = pages.claim_page(conn, "openai-2024-loss-projected")
    assert data["claim"]["tags"] == ["losses", "openai"]
    first, second = data["evidence"]
    assert [s["id"] for s in first["chain"]] == ["netease-relay", "the-info-report"]
    assert first["origin"]["id"] == "the-info-report"
    assert [s["id"] for s in second["chain"]] == ["blog-post-zh", "blog-post"]
    [contradiction] = data["contradictions"]
    assert contradiction["other"]["id"] == "openai-2024-loss-low"
    assert contradiction["gap_percent"] == 20
    assert [s["id"] for s in contradiction["other"]["sources"]] == ["blog-post"]
    [settled] = data["history"]
    assert (settled["label"], settled["outcome"]) == ("Settled by", "correct")
    assert data["track_record"]["claimant"] == "The Information"
    assert [p["id"] for p in data["peers"]] == [
        "openai-2024-loss-projected",
        "openai-2024-loss-low",
        "openai-2024-loss",
    ]
    assert data["citations"] == []
    assert pages.claim_page(conn, "nope") is None


def test_gap_percent_needs_same_unit_and_a_figure():
    assert pages.gap_percent({"value": 1.0, "unit": "USD"}, {"value": 1.0, "unit": "USD/month"}) is None
    assert pages.gap_percent({"value_low": 1.0, "value_high": 3.0, "unit": "x"}, {"value": 2.0, "unit": "x"}) == 0


def test_source_page(conn):
    data = pages.source_page(conn, "the-info-report")
    assert [r["id"] for r in data["cited_by"]] == ["netease-relay"]
    assert [r["id"] for r in data["relayed_by"]] == ["netease-relay"]
    assert [(c["claim_id"], c["stance"]) for c in data["claims"]] == [("openai-2024-loss-projected", "supports")]
    data = pages.source_page(conn, "blog-post-zh")
    assert [s["id"] for s in data["chain"]] == ["blog-post-zh", "blog-post"]
    assert [r["id"] for r in data["translates"]] == ["blog-post"]
    assert pages.source_page(conn, "nope") is None


def test_metric_pages(conn):
    [loss, monthly] = pages.metric_index(conn)
    assert monthly["metric"] == "monthly_loss"
    assert (loss["metric"], loss["figures"], loss["units"]) == ("net_loss", 3, "USD")
    assert loss["top_entities"] == [{"id": "openai", "name": "OpenAI", "figures": 3}]
    data = pages.metric_page(conn, "net_loss", "openai")
    [section] = data["sections"]
    # the publisher of the original report behind the first non-refuting item, else the claimant
    assert [f["outlet"] for f in section["figures"]] == ["The Information", "A Blogger", "Where's Your Ed At"]
    assert pages.metric_page(conn, "nope") is None
    assert pages.resolve_entity(conn, "open ai") == "openai" and pages.resolve_entity(conn, "x") is None


def test_readable():
    assert pages.readable(264000000000.0, "USD") == "264 billion USD"


def test_figure_chart_draws_every_figure_and_escapes_text():
    points = [
        {
            "id": "a",
            "statement": "<script>alert(1)</script>",
            "figure": "5",
            "kind": "fact",
            "outlet": "X & <Y>",
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "value": 5.0,
            "unit": "USD",
        },
        {
            "id": "b",
            "statement": "b",
            "figure": "3–4",
            "kind": "projection",
            "outlet": "Z",
            "period_start": "2025-01-01",
            "period_end": "2025-12-31",
            "value": None,
            "value_low": 3.0,
            "value_high": 4.0,
            "unit": "USD",
        },
    ]
    svg = charts.figure_chart(points, highlight="b", href=lambda i: f"/c/{i}")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "X &amp; &lt;Y&gt;" in svg
    assert svg.count("data-claim=") == 2 and 'class="mark focus" data-claim="b"' in svg
    assert "<rect" in svg and 'stroke-dasharray="3 2"' in svg  # a range bar, hollow projection
    assert svg == charts.figure_chart(points, highlight="b", href=lambda i: f"/c/{i}")  # deterministic
    assert charts.figure_chart([]) == ""
    [first, second] = charts.legend(points)
    assert first["outlet"] == "X & <Y>" and "<circle" in first["swatch"] and "<rect" in second["swatch"]


def test_graph_neighbourhood_and_layout(conn):
    graph = graphview.read_graph(conn)
    assert graph.number_of_nodes() == 4 + 4 + 1
    sub, rings = graphview.neighbourhood(graph, "claim:openai-2024-loss-projected")
    assert rings["claim:openai-2024-loss-projected"] == 0
    assert rings["source:netease-relay"] == 1 and rings["source:the-info-report"] == 2
    relations = {data["relation"] for _, _, data in sub.edges(data=True)}
    assert {"supports-evidence", "via", "contradicts", "resolves", "about", "cites"} <= relations
    positions, radius = graphview.layout(sub, rings)
    assert positions["claim:openai-2024-loss-projected"] == (0.0, 0.0)
    assert radius >= 300
    assert len({(round(x), round(y)) for x, y in positions.values()}) == len(positions)  # no two nodes on one spot
    small, small_rings = graphview.neighbourhood(graph, "entity:openai", max_nodes=3)
    assert len(small_rings) == small.number_of_nodes() == 3


def test_graph_svg_links_every_node(conn):
    graph = graphview.read_graph(conn)
    sub, rings = graphview.neighbourhood(graph, "entity:openai")
    svg = graphview.graph_svg(sub, rings, "entity:openai", lambda kind, id_: f"/{kind}/{id_}")
    assert svg.count("<a href=") == len(rings)
    assert '<a href="/source/blog-post"' in svg


def test_track_record_table_holds_what_its_query_gives(tmp_path):
    """track_record is written as a table (indexed by claimant) at build time: the same rows
    as its query run on the finished database, for a generated knowledge base with forecasts,
    resolutions and overdue ones."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from generate import generate

    from kb.analyse import analyse
    from kb.database import build_database
    from kb.database.schema import _VIEWS

    generate(tmp_path, 800, seed=5)
    path = build_database(analyse(tmp_path), tmp_path / "kb.db", allow_errors=True)
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("select type from sqlite_master where name = 'track_record'").fetchone() == ("table",)
        table = connection.execute("select * from track_record").fetchall()
        assert table == connection.execute(_VIEWS["track_record"]).fetchall()
        assert len(table) > 20 and sum(row[2] for row in table) > 0 and sum(row[7] for row in table) > 0
        plan = connection.execute("explain query plan select * from track_record where claimant = 'x'").fetchall()
        assert "idx_track_record_claimant" in str(plan)


def test_claim_page_charts_the_figures_nearest_in_time(tmp_path, monkeypatch):
    """A subject with more figures of a metric than the chart takes: the nearest in time,
    and the page says how many there are in all."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from generate import generate

    from kb.analyse import analyse
    from kb.database import build_database

    generate(tmp_path, 600, seed=9)
    path = build_database(analyse(tmp_path), tmp_path / "kb.db", allow_errors=True)
    monkeypatch.setattr(pages, "PEERS", 5)
    with closing(sqlite3.connect(path)) as connection:
        metric, entity, count = connection.execute(
            "select metric, entity_id, count(*) from claims where value is not null and period_start is not null"
            " group by metric, entity_id order by count(*) desc limit 1"
        ).fetchone()
        assert count > 5
        claim_id, start = connection.execute(
            "select id, period_start from claims where metric = ? and entity_id = ? and value is not null"
            " order by period_start desc limit 1",
            (metric, entity),
        ).fetchone()
        data = pages.claim_page(connection, claim_id)
        assert len(data["peers"]) == 5 and data["peers_total"] == count
        assert claim_id in [p["id"] for p in data["peers"]]
        every = pages.figures(connection, metric, entity)
        distance = sorted(abs(date.fromisoformat(p["period_start"]) - date.fromisoformat(start)) for p in every)
        shown = sorted(abs(date.fromisoformat(p["period_start"]) - date.fromisoformat(start)) for p in data["peers"])
        assert shown == distance[:5]
        # the chart's marks have the outlet the full table gives them (and no source lists)
        outlets = {p["id"]: p["outlet"] for p in every}
        assert all(p["outlet"] == outlets[p["id"]] and "sources" not in p for p in data["peers"])
        assert all(p["sources"] for p in every)


def _built_with_figures(kb, count: int):
    """One source and ``count`` claims c0000… of one figure each (5, 6, 7… billion), built."""
    from kb.analyse import analyse
    from kb.database import build_database

    kb.source()
    for i in range(count):
        kb.claim(f"c{i:04d}", text=CLAIM.format(id=f"c{i:04d}", extra="").replace("5 billion", f"{5 + i} billion"))
    return build_database(analyse(kb.root), kb.root / "kb.db", allow_errors=True)


def test_a_claim_is_always_on_its_own_chart(kb, monkeypatch):
    """More figures than the chart takes, all for the same period (tied in distance): every
    claim still finds itself among its peers."""
    path = _built_with_figures(kb, 12)
    monkeypatch.setattr(pages, "PEERS", 5)
    with closing(sqlite3.connect(path)) as connection:
        for i in range(12):
            data = pages.claim_page(connection, f"c{i:04d}")
            assert f"c{i:04d}" in [p["id"] for p in data["peers"]] and len(data["peers"]) == 5
            assert data["peers_total"] == 12


def test_metric_pages_show_a_bounded_number_of_figures_and_count_them_all(kb, monkeypatch):
    path = _built_with_figures(kb, 12)
    monkeypatch.setattr(pages, "METRIC_FIGURES", 5)
    monkeypatch.setattr(pages, "OVERVIEW_FIGURES", 3)
    with closing(sqlite3.connect(path)) as connection:
        one = pages.metric_page(connection, "net_loss", "openai")
        [section] = one["sections"]
        assert (len(section["figures"]), section["total"], one["count"]) == (5, 12, 12)
        every = pages.metric_page(connection, "net_loss")
        [section] = every["sections"]
        assert (len(section["figures"]), section["total"], every["count"], every["more_subjects"]) == (3, 12, 12, 0)
        monkeypatch.setattr(pages, "OVERVIEW_SUBJECTS", 0)
        assert pages.metric_page(connection, "net_loss")["more_subjects"] == 1


def test_source_page_lists_a_bounded_number_of_claims_and_counts_them_all(kb, monkeypatch):
    path = _built_with_figures(kb, 7)
    monkeypatch.setattr(pages, "SOURCE_CLAIMS", 3)
    with closing(sqlite3.connect(path)) as connection:
        data = pages.source_page(connection, "outlet-report")
    assert [row["claim_id"] for row in data["claims"]] == ["c0000", "c0001", "c0002"]
    assert data["claims_total"] == 7 and data["stances"] == {"supports": 7}


def test_whole_database_pages_are_computed_once_per_build(kb, monkeypatch):
    from kb.analyse import analyse
    from kb.database import build_database

    kb.source()
    kb.claim()
    path = build_database(analyse(kb.root), kb.root / "kb.db", allow_errors=True)
    calls = []

    def counted(conn):
        calls.append(1)
        return pages.home_page(conn)

    with closing(sqlite3.connect(path)) as connection:
        first = pages.per_build(counted)(connection)
        assert pages.per_build(counted)(connection) is first and len(calls) == 1
    kb.claim("openai-2024-net-loss-2", text=CLAIM.format(id="openai-2024-net-loss-2", extra=""))
    build_database(analyse(kb.root), path, allow_errors=True)  # a new build: a new kb_build row
    with closing(sqlite3.connect(path)) as connection:
        assert pages.per_build(counted)(connection)["claims"] == 2 and len(calls) == 2


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-1e15, max_value=0), st.floats(min_value=0, max_value=1e15))
def test_chart_ticks_cover_every_figure(low, high):
    """The y axis reaches the lowest and the highest figure (a figure above the top tick was
    drawn outside the plot); the chart always includes 0 (low <= 0 <= high)."""
    ticks = charts.nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high * (1 - 1e-12)
    assert ticks == sorted(ticks) and 2 <= len(ticks) <= 12
