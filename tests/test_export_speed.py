"""The fast export path: the same rows as the sqlite-utils path it replaced, and query plans
that use an index for the pages Datasette and the site serve (behaviour, never time)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
import yaml

from kb.analyse import analyse
from kb.database import build_database
from kb.database.rows import rows
from kb.database.schema import MAX_FREE, compact, create_tables
from kb.database.search import register_functions

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped corpus, analysed once, and its database built the fast way."""
    analysis = analyse(ROOT)
    path = build_database(analysis, tmp_path_factory.mktemp("db") / "kb.db", allow_errors=True)
    return analysis, path


def _reference(analysis, path: Path) -> Path:
    """The rows as the previous export wrote them: sqlite-utils ``insert_all``."""
    db = sqlite_utils.Database(path, recreate=True)
    create_tables(db)
    with db.conn:
        for table, records in rows(analysis):
            db[table].insert_all(records)
    db.close()
    return path


def _table(conn: sqlite3.Connection, table: str) -> list[tuple]:
    columns = [row[1] for row in conn.execute(f"pragma table_info([{table}])") if row[1] != "built_at"]
    names = ", ".join(f"[{c}]" for c in columns)
    return conn.execute(f"select rowid, {names} from [{table}] order by rowid").fetchall()


def test_the_export_writes_the_rows_sqlite_utils_wrote(shipped, tmp_path):
    analysis, path = shipped
    reference = sqlite3.connect(_reference(analysis, tmp_path / "reference.db"))
    fast = sqlite3.connect(path)
    tables = [name for (name,) in reference.execute("select name from sqlite_master where type = 'table'")]
    assert {"claims", "sources", "evidence", "claim_links", "findings", "kb_build"} <= set(tables)
    for table in tables:
        expected = _table(reference, table)
        assert _table(fast, table) == expected, table
        # same values, same storage classes (a float stays a float, a count an integer)
        types = f"select {', '.join(f'typeof([{r[1]}])' for r in reference.execute(f'pragma table_info([{table}])'))}"
        assert (
            fast.execute(f"{types} from [{table}]").fetchall()
            == reference.execute(f"{types} from [{table}]").fetchall()
        )
    assert len(_table(fast, "claims")) == len(analysis.corpus.claims)


def test_the_new_file_is_whole_and_compact(shipped):
    _, path = shipped
    with sqlite3.connect(path) as conn:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert conn.execute("pragma foreign_key_check").fetchall() == []
        free, pages = (
            conn.execute("pragma freelist_count").fetchone()[0],
            conn.execute("pragma page_count").fetchone()[0],
        )
        assert free <= MAX_FREE * pages
        assert conn.execute("pragma journal_mode").fetchone() == ("delete",)


def _plan(conn: sqlite3.Connection, sql: str, params=()) -> str:
    return "\n".join(row[3] for row in conn.execute(f"explain query plan {sql}", params))


def _canned(name: str) -> str:
    text = (ROOT / "kb" / "site" / "metadata.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["databases"]["kb"]["queries"][name]["sql"]


FACETS = ("entity_id", "kind", "status")
# (what is served, the SQL Datasette or the site runs) – none may scan the claims table
INDEXED = [
    ("claim page", "select * from claims where id = ?", ("x",)),
    ("claim page: evidence", "select * from evidence where claim_id = ? order by position", ("x",)),
    (
        "claim page: links",
        "select * from claim_links where from_claim = ? or to_claim = ? order by relation, origin, id",
        ("x", "x"),
    ),
    ("claims?metric=", "select * from claims where metric = ? order by id limit 51", ("m",)),
    ("claims?metric= count", "select count(*) from claims where metric = ?", ("m",)),
    *(
        (
            f"claims?metric= facet {facet}",
            f"select {facet} as value, count(*) as count from (select * from claims where metric = ?)"
            f" where {facet} is not null group by {facet} order by count desc, value limit 31",
            ("m",),
        )
        for facet in FACETS
    ),
    (
        "home: most disputed",
        "select c.id, (select count(*) from claim_links l where l.relation = 'contradicts' and l.from_claim = c.id)"
        " + (select count(*) from claim_links l where l.relation = 'contradicts' and l.to_claim = c.id"
        " and l.from_claim != c.id) from claims c where c.status in ('contested', 'refuted')",
        (),
    ),
    ("claims?entity_id=", "select * from claims where entity_id = ? order by id limit 51", ("e",)),
    ("figures", "select * from claims where metric = ? and entity_id = ?", ("m", "e")),
    (
        "claims?_search=",
        "select * from claims where rowid in (select rowid from claims_fts where claims_fts match ?)"
        " order by id limit 51",
        ("loss",),
    ),
    *(
        (f"canned {name}", _canned(name), {"q": "loss"})
        for name in ("search_claims", "search_quotes", "search_sources")
    ),
]


@pytest.mark.parametrize(("page", "sql", "params"), INDEXED, ids=[case[0] for case in INDEXED])
def test_served_queries_use_an_index(shipped, page, sql, params):
    _, path = shipped
    with sqlite3.connect(path) as conn:
        register_functions(conn)
        plan = _plan(conn, sql, params)
    scans = [line for line in plan.splitlines() if line.startswith("SCAN") and "VIRTUAL TABLE" not in line]
    # a scan of a subquery's materialised result (a handful of rows) is fine; a table scan is not
    assert not [line for line in scans if line.split()[1] in {"claims", "evidence", "claim_links", "c", "e", "s"}], plan


def test_ranked_search_snippets_only_the_rows_it_returns():
    for name in ("search_claims", "search_quotes", "search_sources"):
        sql = _canned(name)
        inner = sql[sql.index("(select rowid") : sql.index(") f")]
        assert "order by rank, rowid limit 100" in inner, name  # kb_snippet runs on these 100 rows only
        assert "kb_snippet" not in inner


def test_ranked_search_weights_are_the_index_rank_settings():
    # the canned queries sort on bm25(table, weights) (faster than FTS5's `order by rank`):
    # the weights must be those stored as the table's rank, in column order
    from kb.database.search import INDEXES

    for name, index in (
        ("search_claims", "claims_search"),
        ("search_quotes", "evidence_search"),
        ("search_sources", "sources_search"),
    ):
        weights = ", ".join(str(weight) for weight in INDEXES[index][1].values())
        assert f"bm25({index}, {weights}) as rank" in _canned(name), name


async def test_suggested_facets_are_off_even_without_kb_serve(shipped):
    from datasette.app import Datasette

    _, path = shipped
    ds = Datasette([str(path)], settings={"suggest_facets": True})
    await ds.invoke_startup()
    response = await ds.client.get(f"/{path.stem}/claims.json", params={"_extra": "suggested_facets"})
    assert response.status_code == 200
    assert response.json()["suggested_facets"] == []
    assert ds.setting("suggest_facets") is False


def test_a_file_with_many_free_pages_is_vacuumed(tmp_path):
    db = sqlite_utils.Database(tmp_path / "x.db")
    db["t"].insert_all({"id": i, "text": "x" * 500} for i in range(2000))
    db["t"].drop()
    db["u"].insert({"id": 1})
    assert db.execute("pragma freelist_count").fetchone()[0] > 0
    compact(db)
    assert db.execute("pragma freelist_count").fetchone() == (0,)
    assert db.execute("pragma journal_mode").fetchone() == ("delete",)
