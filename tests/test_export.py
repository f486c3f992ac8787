"""The SQLite build: tables, columns, keys, search, views, determinism, atomicity."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from unittest import mock

import pytest
import sqlite_utils

from kb.database import BuildError, build_database, is_stale

REQUIRED = {
    "claims": "id statement kind subject entity_id metric value value_low value_high unit period period_start "
    "period_end approximate claimant stated status independent_origins verdict qualifiers tags body path",
    "sources": "id title type publisher authors url language published translation_of body path",
    "evidence": "id claim_id source_id via stance quote locator origin_id",
    "claim_links": "id from_claim to_claim relation origin note outcome",
    "source_links": "source_id target_id relation",
    "entities": "id name aliases",
    "metrics": "id description unit aliases claims",
    "findings": "id code name severity acknowledged message path line column claim_id source_id",
    "kb_build": "kb_version schema_version built_at git_commit",
}


@pytest.fixture
def built(kb):
    kb.source()
    kb.source("translation", extra="translation_of: outlet-report\ncites: [outlet-report]\n")
    kb.claim()
    kb.claim(
        "openai-2024-net-loss-low",
        extra='  - source: translation\n    quote: "亏损50亿美元"\n    via: outlet-report\n'
        "contradicts: [{claim: openai-2024-net-loss, note: differs}]\ntags: [losses]\n",
    )
    path = build_database(kb.analyse())
    return kb, sqlite_utils.Database(path)


def test_tables_and_columns(built):
    _, db = built
    for table, columns in REQUIRED.items():
        assert set(columns.split()) <= set(db[table].columns_dict), table
    assert db["claims"].pks == ["id"]
    assert db.execute("pragma foreign_key_check").fetchall() == []
    fks = {(fk.column, fk.other_table) for fk in db["evidence"].foreign_keys}
    assert {("claim_id", "claims"), ("source_id", "sources"), ("via", "sources"), ("origin_id", "sources")} <= fks


def test_rows(built):
    _, db = built
    claim = db["claims"].get("openai-2024-net-loss-low")
    assert (claim["value"], claim["unit"], claim["period_start"], claim["period_end"]) == (
        5e9,
        "USD",
        "2024-01-01",
        "2024-12-31",
    )
    assert (claim["status"], claim["independent_origins"], claim["tags"], claim["entity_id"]) == (
        "contested",
        1,
        '["losses"]',
        "openai",
    )
    evidence = list(db["evidence"].rows_where("claim_id = ?", ["openai-2024-net-loss-low"], order_by="position"))
    assert [(e["id"], e["source_id"], e["origin_id"]) for e in evidence] == [
        ("openai-2024-net-loss-low-e1", "outlet-report", "outlet-report"),
        ("openai-2024-net-loss-low-e2", "translation", "outlet-report"),
    ]
    links = [(r["from_claim"], r["to_claim"], r["relation"], r["origin"]) for r in db["claim_links"].rows]
    assert links == [("openai-2024-net-loss-low", "openai-2024-net-loss", "contradicts", "declared")]
    assert sorted((r["relation"]) for r in db["source_links"].rows) == ["cites", "translation_of"]
    assert db["kb_build"].count == 1


def test_full_text_search_finds_chinese_and_english(built):
    _, db = built
    assert [r["id"] for r in db["evidence"].search("50亿美元")] == ["openai-2024-net-loss-low-e2"]
    assert len(list(db["claims"].search("losing"))) == 2  # porter stemming: lose / losing


def test_views(built):
    _, db = built
    row = next(db["contradictions"].rows)
    assert (row["claim"], row["other"], row["claim_figure"], row["other_figure"]) == (
        "openai-2024-net-loss-low",
        "openai-2024-net-loss",
        "5 billion USD",
        "5 billion USD",
    )
    assert db["track_record"].count == 1 and db["metric_timeline"].count == 3
    assert next(db["origins"].rows)["origin_id"] == "outlet-report"


def test_deterministic(kb):
    kb.source()
    kb.claim()
    first = build_database(kb.analyse(), kb.root / "a.db")
    second = build_database(kb.analyse(), kb.root / "b.db")

    def dump(path):
        conn = sqlite3.connect(path)
        rows = [
            r
            for t in ("claims", "evidence", "claim_links", "findings")
            for r in conn.execute(f"select * from {t} order by 1")
        ]
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    assert dump(first) == dump(second)


def test_failed_build_leaves_previous_database(kb):
    kb.source()
    kb.claim()
    path = build_database(kb.analyse())
    before = path.read_bytes()
    with (
        mock.patch("kb.database.build.create_views", side_effect=sqlite3.OperationalError("disk I/O error")),
        pytest.raises(BuildError, match="disk I/O error"),
    ):
        build_database(kb.analyse())
    assert path.read_bytes() == before
    assert [p.name for p in kb.root.iterdir() if p.name.endswith(".tmp")] == []


def test_stale_temp_files_are_swept(kb):
    kb.claim("x", text="---\nid: x\nstatement: s\nkind: opinion\n---\n", folder="a")
    (kb.root / ".kb.db.999.tmp").write_text("left by a killed build")
    build_database(kb.analyse())
    assert not (kb.root / ".kb.db.999.tmp").exists()


def test_staleness(kb):
    kb.claim("x", text="---\nid: x\nstatement: s\nkind: opinion\n---\n", folder="a")
    settings = kb.analyse().settings
    assert is_stale(settings)
    build_database(kb.analyse())
    assert not is_stale(settings)
    kb.claim("x", text="---\nid: x\nstatement: t\nkind: opinion\n---\n", folder="a")
    assert is_stale(settings)


def test_metrics_table_qualifiers_and_canonical_names(kb):
    kb.settings(
        '[metrics.net_loss]\ndescription = "Net loss"\nunit = "USD"\naliases = ["loss"]\n'
        '[entities.openai]\nname = "OpenAI"\naliases = ["Open AI"]\n'
    )
    kb.source()
    kb.claim()
    kb.claim(
        "openai-2024-loss-alias",
        extra="qualifiers: {basis: gaap}\n",
    )
    path = kb.root / "claims" / "openai" / "openai-2024-loss-alias.md"
    text = (
        path.read_text(encoding="utf-8")
        .replace("metric: net_loss", "metric: loss")
        .replace("subject: OpenAI", "subject: open ai")
    )
    path.write_text(text, encoding="utf-8")
    db = sqlite_utils.Database(build_database(kb.analyse()))
    row = db["claims"].get("openai-2024-loss-alias")
    assert (row["metric"], row["metric_as_written"], row["subject"], row["subject_as_written"]) == (
        "net_loss",
        "loss",
        "OpenAI",
        "open ai",
    )
    assert json.loads(row["qualifiers"]) == {"basis": "gaap"}
    assert db["claims"].get("openai-2024-net-loss")["qualifiers"] is None
    metric = db["metrics"].get("net_loss")
    assert (metric["description"], metric["unit"], json.loads(metric["aliases"]), metric["claims"]) == (
        "Net loss",
        "USD",
        ["loss"],
        2,
    )
    assert ("metric", "metrics") in {(fk.column, fk.other_table) for fk in db["claims"].foreign_keys}
