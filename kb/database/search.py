"""The search index tables, and the SQL functions that query them.

One contentless FTS5 table per searched table (``claims_search``, ``evidence_search``,
``sources_search``), whose rowid is the row's rowid and whose text is :func:`kb.search.index_text`
of the row's columns: each CJK character a token, folded to one script. The tokenizer is
``porter unicode61 remove_diacritics 2`` (English words are stemmed, case and accents
folded). bm25 weights favour the main column (statement, quote, title); they are stored in
the table's ``rank`` setting, and the canned queries (kb/site/metadata.yaml) call
``bm25(table, weights…)`` with the same weights and sort on it: the same order as ``order by
rank``, a third faster (FTS5's rank sorter took 55 ms for a word in a quarter of 100k claims,
the plain sort 33 ms). A test holds the two sets of weights equal.

The ``*_fts`` tables (porter / trigram over the raw text) stay: Datasette's table
``?_search=`` uses them. Queries transform what a reader typed with two SQL functions, which
:func:`register_functions` adds to a connection (the Datasette plugin does it for every
connection, so canned queries work with arbitrary SQL off):

- ``kb_match(q)``: the FTS5 MATCH expression for ``q`` (:func:`kb.search.match_expression`);
- ``kb_snippet(text, q)``: HTML around the first match, matches in ``<mark>``
  (:func:`kb.search.snippet`).

Both are cheap (a regular expression over one value; values are capped at 1 MB by the
plugin's length limit), which matters because SQLite's time limit cannot interrupt a Python
function.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from kb.progress import Progress, quiet
from kb.search import index_text, match_expression, snippet

if TYPE_CHECKING:  # (sqlite-utils is imported by a full build only: an update does without)
    import sqlite_utils

__all__ = ["INDEXES", "create_search_indexes", "register_functions"]

# index table -> (content table, {column: bm25 weight})
INDEXES: dict[str, tuple[str, dict[str, float]]] = {
    "claims_search": ("claims", {"statement": 10.0, "claimant": 2.0, "tags": 2.0, "body": 1.0}),
    "evidence_search": ("evidence", {"quote": 10.0, "stated_as": 5.0, "locator": 1.0, "note": 1.0}),
    "sources_search": ("sources", {"title": 10.0, "publisher": 2.0, "body": 1.0}),
}
TOKENIZE = "porter unicode61 remove_diacritics 2"


def create_search_indexes(db: sqlite_utils.Database, progress: Progress | None = None) -> None:
    """Create and fill the search tables (the database is rebuilt whole: no triggers)."""
    progress = progress or quiet()
    for index, (table, weights) in INDEXES.items():
        with progress.stage(f"search {table}"):
            _fill(db, index, table, weights)


def _fill(db: sqlite_utils.Database, index: str, table: str, weights: dict[str, float]) -> None:
    columns = list(weights)
    db.execute(f"drop table if exists [{index}]")
    db.execute(f"create virtual table [{index}] using fts5({', '.join(columns)}, content='', tokenize='{TOKENIZE}')")
    selected = ", ".join(f"[{column}]" for column in columns)
    # the rows are read as they are indexed (a second cursor on the same connection), never
    # all at once: 100k claims' texts were the peak of a build's memory
    records = (
        (rowid, *(index_text(value) for value in values))
        for rowid, *values in db.conn.execute(f"select rowid, {selected} from [{table}]")
    )
    placeholders = ", ".join("?" for _ in range(len(columns) + 1))
    with db.conn:
        db.conn.executemany(f"insert into [{index}] (rowid, {', '.join(columns)}) values ({placeholders})", records)
    ranking = "bm25(" + ", ".join(str(weight) for weight in weights.values()) + ")"
    db.execute(f"insert into [{index}] ([{index}], rank) values ('rank', ?)", [ranking])
    db.execute(f"insert into [{index}] ([{index}]) values ('optimize')")


def register_functions(conn: sqlite3.Connection) -> None:
    """Add ``kb_match(q)`` and ``kb_snippet(text, q)`` to a connection."""
    conn.create_function("kb_match", 1, match_expression, deterministic=True)
    conn.create_function("kb_snippet", 2, snippet, deterministic=True)
