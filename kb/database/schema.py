"""The shape of the database: tables with their foreign keys, indexes, full-text search,
the views users query most, and the checks a new database must pass before it is published.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from itertools import chain
from typing import TYPE_CHECKING

from kb import SCHEMA_VERSION
from kb.database.search import create_search_indexes
from kb.progress import Progress, quiet

if TYPE_CHECKING:  # (sqlite-utils is imported by a full build only: an update does without)
    import sqlite_utils

__all__ = [
    "SCHEMA_VERSION",
    "SchemaError",
    "compact",
    "create_tables",
    "create_views",
    "index_and_search",
    "insert_rows",
    "insert_tuples",
    "verify",
]

# SCHEMA_VERSION (kb/__init__.py): 2: metrics table; claims.qualifiers, metric_as_written,
# subject_as_written; 3: citation columns; 4: compound indexes for the filtered and faceted pages;
# 5: track_record a table (MATERIALIZED); 6: idx_claims_figures (PARTIAL_INDEXES)


class SchemaError(Exception):
    """The new database failed its integrity or foreign-key check."""


# How to cite each claim and source (kb.cite), so readers of the database need no analysis run:
# the key ([@claim:ID] / [@src:ID]), the published page (base_url/c/ID), a formatted reference
# and the CSL-JSON item.
CITATION_COLUMNS = {"citation_key": str, "page_url": str, "citation": str, "csl_json": str}


def create_tables(db: sqlite_utils.Database) -> None:
    db["entities"].create({"id": str, "name": str, "aliases": str, "claims": int}, pk="id")
    db["metrics"].create(
        {
            "id": str,
            "description": str,
            "unit": str,
            "tolerance": float,
            "aliases": str,
            "declared": int,
            "claims": int,
        },
        pk="id",
        not_null={"declared", "claims"},
    )
    db["sources"].create(
        {
            "id": str,
            "title": str,
            "type": str,
            "publisher": str,
            "authors": str,
            "url": str,
            "language": str,
            "published": str,
            "published_start": str,
            "translation_of": str,
            "snapshot": str,
            "origin_id": str,
            "tags": str,
            "body": str,
            "body_html": str,
            "path": str,
            **CITATION_COLUMNS,
        },
        pk="id",
        not_null={"title", "type", "path"},
        foreign_keys=[("translation_of", "sources", "id"), ("origin_id", "sources", "id")],
    )
    db["claims"].create(
        {
            "id": str,
            "statement": str,
            # what a reader looks at first: the table shows columns in this order
            "figure": str,
            "status": str,
            "kind": str,
            "subject": str,
            "subject_as_written": str,
            "entity_id": str,
            "metric": str,
            "metric_as_written": str,
            "qualifiers": str,
            "value": float,
            "value_low": float,
            "value_high": float,
            "unit": str,
            "period": str,
            "period_start": str,
            "period_end": str,
            "approximate": int,
            "claimant": str,
            "stated": str,
            "stated_start": str,
            "independent_origins": int,
            "evidence_count": int,
            "verdict": str,
            "verdict_rationale": str,
            "verdict_reviewed": str,
            "supersedes": str,
            "derived_formula": str,
            "tags": str,
            "body": str,
            "body_html": str,
            "path": str,
            **CITATION_COLUMNS,
        },
        pk="id",
        not_null={"statement", "kind", "status", "path"},
        foreign_keys=[("entity_id", "entities", "id"), ("metric", "metrics", "id"), ("supersedes", "claims", "id")],
    )
    db["evidence"].create(
        {
            "id": str,
            "claim_id": str,
            "position": int,
            "source_id": str,
            "via": str,
            "stance": str,
            "quote": str,
            "locator": str,
            "stated_as": str,
            "note": str,
            "origin_id": str,
        },
        pk="id",
        not_null={"claim_id", "source_id", "stance"},
        foreign_keys=[
            ("claim_id", "claims", "id"),
            ("source_id", "sources", "id"),
            ("via", "sources", "id"),
            ("origin_id", "sources", "id"),
        ],
    )
    db["claim_links"].create(
        {
            "id": str,
            "from_claim": str,
            "to_claim": str,
            "relation": str,
            "origin": str,
            "note": str,
            "outcome": str,
            "input": str,
        },
        pk="id",
        not_null={"from_claim", "to_claim", "relation", "origin"},
        foreign_keys=[("from_claim", "claims", "id"), ("to_claim", "claims", "id")],
    )
    db["source_links"].create(
        {"source_id": str, "target_id": str, "relation": str},
        pk=("source_id", "target_id", "relation"),
        foreign_keys=[("source_id", "sources", "id"), ("target_id", "sources", "id")],
    )
    db["findings"].create(
        {
            "id": str,
            "code": str,
            "name": str,
            "severity": str,
            "acknowledged": int,
            "acknowledgement": str,
            "message": str,
            "path": str,
            "line": int,
            "column": int,
            "claim_id": str,
            "source_id": str,
            "other_claim_id": str,
        },
        pk="id",
        not_null={"code", "name", "severity", "message", "path"},
        foreign_keys=[("claim_id", "claims", "id"), ("source_id", "sources", "id"), ("other_claim_id", "claims", "id")],
    )
    db["kb_build"].create(
        {
            "kb_version": str,
            "schema_version": int,
            "built_at": str,
            "git_commit": str,
            "input_hash": str,
            "today": str,
            "claims": int,
            "sources": int,
            "findings": int,
        }
    )


def insert_rows(conn: sqlite3.Connection, table: str, records: Iterable[dict]) -> None:
    """Insert rows (dicts of one shape, streamed) with one ``executemany``: SQLite binds each
    dict by name, so no Python-side conversion; a missing key is an error, not a NULL."""
    records = iter(records)
    first = next(records, None)
    if first is None:
        return
    columns = list(first)
    names = ", ".join(f"[{column}]" for column in columns)
    values = ", ".join(f":{column}" for column in columns)
    conn.executemany(f"insert into [{table}] ({names}) values ({values})", chain([first], records))


def insert_tuples(conn: sqlite3.Connection, table: str, columns: list[str], records: list[tuple]) -> None:
    """Insert rows given as tuples in the order of ``columns`` (:mod:`kb.database.rows_child`)."""
    names = ", ".join(f"[{column}]" for column in columns)
    values = ", ".join("?" for _ in columns)
    conn.executemany(f"insert into [{table}] ({names}) values ({values})", records)


# Indexes, created after the rows are in (a sorted build of each, cheaper than keeping them
# up to date row by row): the foreign keys (joins and the claim page), the columns the site and
# Datasette filter and facet on, compound where a filtered page sorts or facets on a second
# column (claims?metric=… by id, metric facets by entity), and the search's sort keys.
INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("claims", ("subject",)),
    ("claims", ("metric", "period_start")),
    ("claims", ("status",)),
    ("claims", ("kind",)),
    ("claims", ("claimant",)),
    ("findings", ("code",)),
    # claims?metric=… sorted by id, and its facets (metadata.yaml) counted from the index alone
    ("claims", ("metric", "id")),
    ("claims", ("metric", "entity_id")),
    ("claims", ("metric", "kind")),
    ("claims", ("metric", "status")),
    # a claim's contradictions (the home page's most disputed claims, the claim page)
    ("claim_links", ("relation", "from_claim")),
    ("claim_links", ("relation", "to_claim")),
)
# The figures of a metric (and entity) the claim page charts and the metric page tables:
# a partial index that covers the nearest-in-time query and the count, so that a subject
# with a thousand figures of a metric costs index entries, not table rows (10 → 3 ms a claim
# page at 100k claims). kb.site.pages writes the same condition (FIGURE).
FIGURE = "(value is not null or value_low is not null) and period_start is not null"
PARTIAL_INDEXES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("idx_claims_figures", "claims", ("metric", "entity_id", "period_start", "id"), FIGURE),
)
# Full-text search over the raw text (Datasette's ?_search=). English statements: porter
# stemming. Quotes and source titles are mostly Chinese, which the default tokenizer cannot
# split into words: trigram (queries need at least 3 characters).
FTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("claims", ("statement", "body"), "porter"),
    ("evidence", ("quote", "stated_as"), "trigram"),
    ("sources", ("title", "body"), "trigram"),
)


def _foreign_key_indexes(db: sqlite_utils.Database) -> list[tuple[str, tuple[str, ...]]]:
    wanted = []
    for table in db.table_names():
        for fk in db[table].foreign_keys:
            wanted.append((table, (fk.column,)))
    return wanted


def create_indexes(db: sqlite_utils.Database) -> None:
    seen = set()
    for table, columns in [*INDEXES, *_foreign_key_indexes(db)]:
        if (table, columns) in seen:
            continue
        seen.add((table, columns))
        name = f"idx_{table}_{'_'.join(columns)}"
        db.execute(f"create index [{name}] on [{table}] ({', '.join(f'[{c}]' for c in columns)})")
    for name, table, columns, where in PARTIAL_INDEXES:
        db.execute(f"create index [{name}] on [{table}] ({', '.join(f'[{c}]' for c in columns)}) where {where}")


def create_fts(db: sqlite_utils.Database, table: str, columns: tuple[str, ...], tokenize: str) -> None:
    """The ``TABLE_fts`` external-content index Datasette's ``?_search=`` uses; the database is
    rebuilt whole, so no triggers keep it in sync with edits."""
    names = ", ".join(f"[{column}]" for column in columns)
    db.execute(f"create virtual table [{table}_fts] using fts5 ({names}, tokenize='{tokenize}', content=[{table}])")
    db.execute(f"insert into [{table}_fts] (rowid, {names}) select rowid, {names} from [{table}]")


def index_and_search(db: sqlite_utils.Database, progress: Progress | None = None) -> None:
    progress = progress or quiet()
    with db.conn:
        with progress.stage("indexes"):
            create_indexes(db)
        for table, columns, tokenize in FTS:
            with progress.stage(f"fts {table}"):
                create_fts(db, table, columns, tokenize)
    # Search that finds 2-character Chinese words in either script (kb.database.search).
    create_search_indexes(db, progress)
    with progress.stage("analyze"):
        db.execute("analyze")


_VIEWS = {
    "contradictions": """
select a.id as claim, a.statement as claim_statement, a.figure as claim_figure, a.period as claim_period,
  a.claimant as claim_claimant, a.stated as claim_stated,
  b.id as other, b.statement as other_statement, b.figure as other_figure, b.period as other_period,
  b.claimant as other_claimant, b.stated as other_stated,
  l.note, l.origin, a.status as claim_status, b.status as other_status
from claim_links l join claims a on a.id = l.from_claim join claims b on b.id = l.to_claim
where l.relation = 'contradicts' and a.status != 'superseded' and b.status != 'superseded'
order by a.entity_id, a.metric, a.period_start, a.id""",
    "metric_timeline": """
select c.entity_id, c.metric, c.period, c.figure, c.kind, c.claimant, c.stated, c.status, c.id as claim,
  c.value, c.value_low, c.value_high, c.unit, c.period_start, c.period_end, e.source_id,
  s.publisher, s.title as source_title, e.via, e.origin_id, e.quote, e.stated_as
from claims c left join evidence e on e.claim_id = c.id left join sources s on s.id = e.source_id
where c.metric is not null
order by c.entity_id, c.metric, c.period_start, c.stated_start""",
    "track_record": """
select p.claimant, count(*) as forecasts, count(r.id) as resolved,
  sum(r.outcome = 'correct') as correct, sum(r.outcome = 'partly') as partly,
  sum(r.outcome = 'incorrect') as incorrect, sum(r.outcome = 'ambiguous') as ambiguous,
  sum(r.id is null and p.period_end < (select today from kb_build)) as overdue
from claims p left join (
  select to_claim, min(id) as id, min(outcome) as outcome from claim_links where relation = 'resolves' group by to_claim
) r on r.to_claim = p.id
where p.kind in ('projection', 'prediction')
group by p.claimant order by forecasts desc, p.claimant""",
    "origins": """
select e.origin_id, s.title as origin_title, s.publisher as origin_publisher,
  count(distinct e.claim_id) as claims, count(distinct e.source_id) as relayed_by,
  group_concat(distinct e.source_id) as relaying_sources
from evidence e join sources s on s.id = e.origin_id
where e.stance = 'supports'
group by e.origin_id order by claims desc""",
}


# Written as tables when the database is built, with an index, instead of views: the claim
# page asks for one claimant's row, and the view grouped every forecast to answer (47 ms a
# page for a large outlet at 100k claims). Same name, same columns, same rows.
MATERIALIZED = {"track_record": ("claimant",)}


def create_views(db: sqlite_utils.Database) -> None:
    for name, sql in _VIEWS.items():
        if name in MATERIALIZED:
            db.execute(f"create table [{name}] as {sql.strip()}")
            for column in MATERIALIZED[name]:
                db.execute(f"create index [idx_{name}_{column}] on [{name}] ([{column}])")
        else:
            db.create_view(name, sql.strip(), replace=True)


def verify(db: sqlite_utils.Database | sqlite3.Connection) -> None:
    """The new file is well formed and its references resolve, before it is published.

    ``quick_check`` verifies every page, b-tree, record and NOT NULL constraint, and is about
    4× cheaper than ``integrity_check`` (0.06 vs 0.26 s at 20k claims), which adds only the
    comparison of each index with its table: here every index was just built by ``create
    index`` from the finished table in this process, and each primary key was enforced as
    its row went in. ``foreign_key_check`` stands in for the foreign keys the load did not
    enforce row by row.
    """
    problems = [row[0] for row in db.execute("pragma quick_check").fetchall() if row[0] != "ok"]
    broken = db.execute("pragma foreign_key_check").fetchall()
    if problems or broken:
        raise SchemaError(f"the new database failed its checks: {problems[:3]} {broken[:3]}")


# Free pages a new file may keep rather than be vacuumed (a share of its pages).
MAX_FREE = 0.05


def compact(db: sqlite_utils.Database) -> None:
    """Leave a compact file in rollback-journal mode, vacuumed only when worth it.

    The file is new and written in one go, so its only free pages are those FTS5 frees when
    it merges segments (``optimize``): 1.7% of the file at 20k claims. ``vacuum`` rewrites
    the whole file to give them back (0.3 s at 20k, several seconds at 100k: as much as all
    the inserts), for no gain in speed; so it runs only when more than :data:`MAX_FREE` of
    the pages are free (which a future change that drops tables mid-build would cause).
    """
    db.execute("pragma journal_mode = delete")
    pages = db.execute("pragma page_count").fetchone()[0]
    free = db.execute("pragma freelist_count").fetchone()[0]
    if free > MAX_FREE * pages:
        db.vacuum()
