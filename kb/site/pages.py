"""What each page of the site shows, read from the built database.

Plain functions of a ``sqlite3.Connection`` that return dicts and lists for the templates:
no Datasette here, so each is tested as ordinary Python. The serving layer
(:mod:`kb.site.views`) runs them through ``Database.execute_fn`` and renders the result.
"""

from __future__ import annotations

import json
import sqlite3

from kb.checks.numbers import gap
from kb.values import format_amount

__all__ = [
    "STATUSES",
    "claim_page",
    "find_node",
    "home_page",
    "is_kb_database",
    "metric_index",
    "metric_page",
    "readable",
    "resolve_entity",
    "source_page",
]

STATUSES = ("supported", "contested", "refuted", "superseded", "unsupported")
KINDS = ("fact", "estimate", "projection", "prediction", "opinion")
REQUIRED_TABLES = {"claims", "sources", "evidence", "claim_links", "source_links", "entities", "findings"}


def _rows(conn: sqlite3.Connection, sql: str, params: tuple | dict = ()) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _one(conn: sqlite3.Connection, sql: str, params: tuple | dict = ()) -> dict | None:
    rows = _rows(conn, sql, params)
    return rows[0] if rows else None


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("select name from sqlite_master where type in ('table', 'view')")}


def is_kb_database(conn: sqlite3.Connection) -> bool:
    """True when the database was written by ``kb build`` (the pages need its tables)."""
    return _tables(conn) >= REQUIRED_TABLES


def readable(value: float | None, unit: str | None = None) -> str | None:
    """A base-unit number as a reader writes it.

    >>> readable(264000000000.0, "USD"), readable(1.3, "USD/hour"), readable(None)
    ('264 billion USD', '1.3 USD/hour', None)
    """
    if value is None:
        return None
    text = format_amount(value)
    return f"{text} {unit}" if unit else text


def _json_list(text: str | None) -> list:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


# ------------------------------------------------------------------------------------ home


_PER_BUILD: dict[tuple, object] = {}


def per_build(function):
    """``function(conn)``, computed once per build of the database (its ``kb_build`` row)
    and kept: for the pages that aggregate every claim (the home page, the metric index),
    which took 90 ms at 20k claims, growing with the knowledge base, on every view. A new
    build has a new row, so nothing stale is served; the values must not be changed."""

    def run(conn: sqlite3.Connection):
        built = conn.execute("select input_hash, built_at from kb_build").fetchone()
        key = (function.__name__, conn.execute("pragma database_list").fetchone()[2], *(built or ()))
        if key not in _PER_BUILD:
            if len(_PER_BUILD) >= 64:
                _PER_BUILD.clear()
            _PER_BUILD[key] = function(conn)
        return _PER_BUILD[key]

    return run


def home_page(conn: sqlite3.Connection, limit: int = 10) -> dict:
    """Counts of what the knowledge base holds, and where a reader might start."""
    by_status = dict(conn.execute("select status, count(*) from claims group by status").fetchall())
    by_kind = dict(conn.execute("select kind, count(*) from claims group by kind").fetchall())
    findings = _one(
        conn,
        "select count(*) as total, coalesce(sum(acknowledged), 0) as acknowledged,"
        " coalesce(sum(not acknowledged and severity = 'error'), 0) as errors,"
        " coalesce(sum(not acknowledged and severity = 'warning'), 0) as warnings from findings",
    )
    contested = _rows(
        conn,
        """
with disputes as (  -- counted once for all claims, not three subqueries per contested claim
  select claim, count(*) as n from (
    select from_claim as claim from claim_links where relation = 'contradicts'
    union all select to_claim from claim_links where relation = 'contradicts' and from_claim != to_claim
    union all select claim_id from evidence where stance = 'refutes'
  ) group by claim
)
select c.id, c.statement, c.figure, c.status, c.entity_id, c.claimant, coalesce(d.n, 0) as disputes
from claims c left join disputes d on d.claim = c.id where c.status in ('contested', 'refuted')
order by disputes desc, c.stated_start desc, c.id limit ?""",
        (limit,),
    )
    entities = _rows(
        conn,
        "select id, name, claims from entities where claims > 0 order by claims desc, name limit ?",
        (limit,),
    )
    metrics = _rows(
        conn,
        """
select metric, count(*) as figures, count(distinct entity_id) as entities, min(period) as first, max(period) as last
from claims where metric is not null and (value is not null or value_low is not null)
group by metric order by figures desc, metric limit ?""",
        (limit,),
    )
    return {
        "claims": sum(by_status.values()),
        "by_status": [{"status": s, "count": by_status.get(s, 0)} for s in STATUSES],
        "by_kind": [{"kind": k, "count": by_kind.get(k, 0)} for k in KINDS if by_kind.get(k)],
        "sources": conn.execute("select count(*) from sources").fetchone()[0],
        "entities": conn.execute("select count(*) from entities where claims > 0").fetchone()[0],
        "contradictions": conn.execute(
            "select count(*) from claim_links l join claims a on a.id = l.from_claim join claims b on b.id = l.to_claim"
            " where l.relation = 'contradicts' and a.status != 'superseded' and b.status != 'superseded'"
        ).fetchone()[0],
        "findings": findings,
        "contested": contested,
        "top_entities": entities,
        "top_metrics": metrics,
        "build": _one(conn, "select * from kb_build") if "kb_build" in _tables(conn) else None,
    }


# ----------------------------------------------------------------------------------- claim


def _source_summary(conn: sqlite3.Connection, source_id: str | None) -> dict | None:
    if not source_id:
        return None
    return _one(
        conn,
        "select id, title, type, publisher, url, language, published, translation_of from sources where id = ?",
        (source_id,),
    )


def source_chain(conn: sqlite3.Connection, source_id: str, limit: int = 20) -> list[dict]:
    """The source, then what it translates, to the root: the original report last."""
    chain, seen = [], set()
    current = _source_summary(conn, source_id)
    while current and current["id"] not in seen and len(chain) < limit:
        seen.add(current["id"])
        chain.append(current)
        current = _source_summary(conn, current["translation_of"])
    return chain


def _bounds(row: dict) -> tuple[float, float] | None:
    if row.get("value") is not None:
        return (row["value"], row["value"])
    if row.get("value_low") is not None and row.get("value_high") is not None:
        return (row["value_low"], row["value_high"])
    return None


def gap_percent(a: dict, b: dict) -> float | int | None:
    """How far apart two figures are, in percent (as ``kb check`` measures it), or None.

    >>> gap_percent({"value": 5e9, "unit": "USD"}, {"value": 4e9, "unit": "USD"})
    20
    >>> gap_percent({"value": 5e9, "unit": "USD"}, {"value": None, "unit": None}) is None
    True
    """
    x, y = _bounds(a), _bounds(b)
    if x is None or y is None or a.get("unit") != b.get("unit"):
        return None
    percent = round(gap(x, y) * 100, 1)
    return int(percent) if percent.is_integer() else percent


def _claim_brief(conn: sqlite3.Connection, claim_id: str) -> dict | None:
    claim = _one(
        conn,
        "select id, statement, figure, status, kind, claimant, stated, period, value, value_low, value_high, unit,"
        " entity_id, metric from claims where id = ?",
        (claim_id,),
    )
    if claim:
        claim["sources"] = _rows(
            conn,
            "select distinct s.id, s.title, s.publisher, e.stance from evidence e join sources s on s.id = e.source_id"
            " where e.claim_id = ? order by e.position",
            (claim_id,),
        )
    return claim


def claim_page(conn: sqlite3.Connection, claim_id: str) -> dict | None:
    """Everything the claim page shows, or None when there is no such claim."""
    claim = _one(conn, "select * from claims where id = ?", (claim_id,))
    if claim is None:
        return None
    claim["tags"] = _json_list(claim.get("tags"))
    entity = _one(conn, "select id, name from entities where id = ?", (claim["entity_id"],))
    evidence = _rows(conn, "select * from evidence where claim_id = ? order by position", (claim_id,))
    for item in evidence:
        item["source"] = _source_summary(conn, item["source_id"])
        item["via_source"] = _source_summary(conn, item["via"])
        # The relay chain: the source, the outlet it relays (via), then translation_of to the original.
        start = item["via"] or item["source_id"]
        chain = source_chain(conn, start)
        item["chain"] = ([item["source"]] if item["via"] else []) + chain
        item["origin"] = chain[-1] if chain else item["source"]
    links = _rows(
        conn,
        "select * from claim_links where from_claim = ? or to_claim = ? order by relation, origin, id",
        (claim_id, claim_id),
    )
    contradictions, derivations, derived_into, history, supports = [], [], [], [], []
    for link in links:
        outgoing = link["from_claim"] == claim_id
        other = _claim_brief(conn, link["to_claim"] if outgoing else link["from_claim"])
        if other is None:
            continue
        entry = {**link, "other": other, "outgoing": outgoing}
        if link["relation"] == "contradicts":
            entry["gap_percent"] = gap_percent(claim, other)
            contradictions.append(entry)
        elif link["relation"] == "derived_from":
            (derivations if outgoing else derived_into).append(entry)
        elif link["relation"] in ("supersedes", "resolves"):
            entry["label"] = {
                ("supersedes", True): "Replaces the older figure",
                ("supersedes", False): "Replaced by a newer figure",
                ("resolves", True): "Settles the earlier forecast",
                ("resolves", False): "Settled by",
            }[link["relation"], outgoing]
            history.append(entry)
        else:
            entry["label"] = "Supports" if outgoing else "Supported by"
            supports.append(entry)
    findings = _rows(
        conn,
        "select * from findings where claim_id = ? or other_claim_id = ? order by acknowledged, severity, code, id",
        (claim_id, claim_id),
    )
    track = None
    if claim.get("claimant") and "track_record" in _tables(conn):
        track = _one(conn, "select * from track_record where claimant = ?", (claim["claimant"],))
    return {
        "claim": claim,
        "entity": entity,
        "readable_value": readable(claim.get("value"), claim.get("unit")),
        "evidence": evidence,
        "contradictions": contradictions,
        "derivations": derivations,
        "derived_into": derived_into,
        "history": history,
        "supports": supports,
        "findings": findings,
        "track_record": track,
        "peers": (peers := peer_figures(conn, claim)),
        "peers_total": peer_count(conn, claim) if len(peers) >= PEERS else len(peers),
        "citations": citation_formats(conn, claim_id),
    }


def _outlet(conn: sqlite3.Connection, claim: dict) -> str:
    """Who carries a figure: the publisher of the original report behind its first item of
    evidence, else its claimant."""
    row = conn.execute(
        "select coalesce(o.publisher, s.publisher) from evidence e join sources s on s.id = e.source_id"
        " left join sources o on o.id = e.origin_id where e.claim_id = ? and e.stance != 'refutes'"
        " order by e.position limit 1",
        (claim["id"],),
    ).fetchone()
    return (row[0] if row and row[0] else None) or claim.get("claimant") or "unknown"


# the condition of the partial index idx_claims_figures (kb.database.schema.FIGURE), term for
# term, so that SQLite can use it
_FIGURE = "c.metric = ? and (c.value is not null or c.value_low is not null) and c.period_start is not null"


def _figures_of(metric: str, entity_id: str | None) -> tuple[str, list]:
    """The condition (on ``claims c``) and parameters of a metric's figures, of one entity
    (``""``: of no entity; None: of every entity)."""
    if entity_id == "":
        return _FIGURE + " and c.entity_id is null", [metric]
    return (_FIGURE + " and c.entity_id = ?", [metric, entity_id]) if entity_id else (_FIGURE, [metric])


def figures(
    conn: sqlite3.Connection,
    metric: str,
    entity_id: str | None = None,
    near: str | None = None,
    limit: int = 0,
    keep: str | None = None,
    with_sources: bool = True,
) -> list[dict]:
    """Every claim with a figure for a metric (and entity), oldest period first; with
    ``near`` (a date) and ``limit``, only the ``limit`` whose periods start nearest to it,
    claim ``keep`` always among them (however many tie with it). Each has its ``outlet``
    and, ``with_sources``, the ``sources`` of its evidence (the chart alone needs none)."""
    where, params = _figures_of(metric, entity_id)
    if near and limit:  # the ids first, once: every query below then looks up at most `limit` rows
        nearest = conn.execute(
            f"select c.id from claims c where {where}"
            " order by c.id = ? desc, abs(julianday(c.period_start) - julianday(?)), c.id limit ?",
            (*params, keep, near, limit),
        ).fetchall()
        # by these ids alone, which the primary key finds: with the condition kept, SQLite
        # walked the entity's figures in the index again (1.4–1.6 ms against 0.6–0.85 at 800)
        where = f"c.id in ({', '.join('?' for _ in nearest) or 'null'})"
        params = [row[0] for row in nearest]
    rows = _rows(
        conn,
        "select c.id, c.statement, c.figure, c.kind, c.status, c.claimant, c.stated, c.period, c.period_start,"
        " c.period_end, c.value, c.value_low, c.value_high, c.unit, c.entity_id, n.name as entity_name, c.approximate"
        f" from claims c left join entities n on n.id = c.entity_id where {where}"
        " order by c.entity_id, c.period_start, c.stated_start, c.id",
        tuple(params),
    )
    # Each figure's outlet and sources in one set-based query over the listed ids, not two
    # per figure (a subject's revenue at 100k claims has thousands of figures: 5,000 queries
    # took 300 ms); the outlet is the publisher of the original report behind the first item
    # of evidence that does not refute it, as _outlet says. Titles and publishers come from
    # the build's table of sources in memory: joining sources twice per item of evidence was
    # 1.8 of a claim page's 2.3 ms of evidence at 100k claims.
    named = per_build(_source_names)(conn)
    first_outlet: dict[str, str] = {}
    sources: dict[str, dict[str, dict]] = {}
    refuting = "" if with_sources else " and stance != 'refutes'"
    for start in range(0, len(rows), 500):  # under SQLite's limit on parameters
        chunk = [row["id"] for row in rows[start : start + 500]]
        for claim_id, stance, source_id, origin_id in conn.execute(
            "select claim_id, stance, source_id, origin_id from evidence"
            f" where claim_id in ({', '.join('?' for _ in chunk)}){refuting} order by claim_id, position",
            chunk,
        ):
            if source_id not in named:  # (every one is: the build checks its foreign keys)
                continue
            title, publisher = named[source_id]
            if stance != "refutes":
                origin_publisher = named[origin_id][1] if origin_id in named else None
                first_outlet.setdefault(claim_id, publisher if origin_publisher is None else origin_publisher)
            if with_sources:
                sources.setdefault(claim_id, {}).setdefault(
                    source_id, {"id": source_id, "title": title, "publisher": publisher}
                )
    for row in rows:
        row["outlet"] = first_outlet.get(row["id"]) or row.get("claimant") or "unknown"
        if with_sources:
            row["sources"] = list(sources.get(row["id"], {}).values())
    return rows


def _source_names(conn: sqlite3.Connection) -> dict[str, tuple[str | None, str | None]]:
    """Each source's title and publisher by id (10,000 sources at 100k claims: 2.9 MiB),
    read once per build (:func:`per_build`)."""
    return {
        source_id: (title, publisher)
        for source_id, title, publisher in conn.execute("select id, title, publisher from sources")
    }


# A claim page charts at most this many figures of its entity and metric: those whose periods
# are nearest its own (one subject's revenue at 100k claims has thousands; drawing them all
# took 160 ms a page). The metric page has the full table.
PEERS = 120


def peer_figures(conn: sqlite3.Connection, claim: dict) -> list[dict]:
    """The figures of the same entity and metric (this claim among them), for its chart: the
    PEERS nearest in time when there are more."""
    if not claim.get("metric") or not claim.get("entity_id") or _bounds(claim) is None:
        return []
    rows = figures(
        conn,
        claim["metric"],
        claim["entity_id"],
        near=claim.get("period_start"),
        limit=PEERS,
        keep=claim["id"],
        with_sources=False,
    )
    return rows if len(rows) > 1 else []


def peer_count(conn: sqlite3.Connection, claim: dict) -> int:
    """How many figures the entity has for the claim's metric (the chart may show fewer)."""
    where, params = _figures_of(claim["metric"], claim["entity_id"])
    return conn.execute(f"select count(*) from claims c where {where}", params).fetchone()[0]


def citation_formats(conn: sqlite3.Connection, claim_id: str) -> list[dict]:
    """CSL-JSON, BibTeX… of a claim, when the database carries them.

    CITATIONS: the place for the output of ``kb cite`` (kb/cite.py, built by another issue).
    Whenever the build writes a ``citations`` table with a ``claim_id`` column, every other
    text column of the claim's rows is shown as a ready-to-copy block named after the column
    (or after a ``format`` column with a ``text`` column, if it has those). Nothing else here
    formats citations: the site shows what ``kb cite`` writes.
    """
    if "citations" not in _tables(conn):
        return []
    columns = [row[1] for row in conn.execute("pragma table_info(citations)")]
    if "claim_id" not in columns:
        return []
    rows = _rows(conn, "select * from citations where claim_id = ?", (claim_id,))
    blocks = []
    for row in rows:
        if "format" in row and "text" in row:
            blocks.append({"format": str(row["format"]), "text": str(row["text"])})
            continue
        for key, value in row.items():
            if key not in ("claim_id", "id") and isinstance(value, str) and value:
                blocks.append({"format": key, "text": value})
    return blocks


# ---------------------------------------------------------------------------------- source


# A source page lists at most this many of the evidence items resting on it (the most cited
# source of a 100k-claim knowledge base carries thousands); the evidence table has them all.
SOURCE_CLAIMS = 300


def source_page(conn: sqlite3.Connection, source_id: str) -> dict | None:
    """Everything the source page shows, or None when there is no such source."""
    source = _one(conn, "select * from sources where id = ?", (source_id,))
    if source is None:
        return None
    source["authors"] = _json_list(source.get("authors"))
    source["tags"] = _json_list(source.get("tags"))
    outgoing = _rows(
        conn,
        "select l.relation, s.id, s.title, s.publisher, s.language, s.published from source_links l"
        " join sources s on s.id = l.target_id where l.source_id = ? order by l.relation, s.id",
        (source_id,),
    )
    incoming = _rows(
        conn,
        "select l.relation, s.id, s.title, s.publisher, s.language, s.published from source_links l"
        " join sources s on s.id = l.source_id where l.target_id = ? order by l.relation, s.id",
        (source_id,),
    )
    relayed_by = _rows(
        conn,
        "select distinct s.id, s.title, s.publisher from evidence e join sources s on s.id = e.source_id"
        " where e.via = ? order by s.id",
        (source_id,),
    )
    relays = _rows(
        conn,
        "select distinct s.id, s.title, s.publisher from evidence e join sources s on s.id = e.via"
        " where e.source_id = ? order by s.id",
        (source_id,),
    )
    claims = _rows(
        conn,
        """
select e.claim_id, e.stance, e.quote, e.locator, e.stated_as, e.source_id, e.via,
  c.statement, c.figure, c.status, c.kind
from evidence e join claims c on c.id = e.claim_id
where e.source_id = ? or e.via = ?
order by case e.stance when 'supports' then 0 when 'refutes' then 1 else 2 end, c.id, e.position
limit ?""",
        (source_id, source_id, SOURCE_CLAIMS),
    )
    stances = dict(
        conn.execute(
            "select stance, count(*) from evidence where source_id = ? or via = ? group by stance",
            (source_id, source_id),
        )
    )
    return {
        "source": source,
        "translates": [row for row in outgoing if row["relation"] == "translation_of"],
        "cites": [row for row in outgoing if row["relation"] == "cites"],
        "translated_by": [row for row in incoming if row["relation"] == "translation_of"],
        "cited_by": [row for row in incoming if row["relation"] == "cites"],
        "relays": relays,
        "relayed_by": relayed_by,
        "chain": source_chain(conn, source_id),
        "claims": claims,
        "claims_total": sum(stances.values()),
        "stances": stances,
        "findings": _rows(conn, "select * from findings where source_id = ? order by code, id", (source_id,)),
    }


# --------------------------------------------------------------------------------- metrics


def metric_index(conn: sqlite3.Connection) -> list[dict]:
    """Every metric with figures: how many, about how many entities, which units."""
    rows = _rows(
        conn,
        """
select metric, count(*) as figures, count(distinct entity_id) as entities,
  group_concat(distinct unit) as units, min(period_start) as first, max(period_end) as last
from claims where metric is not null and (value is not null or value_low is not null)
group by metric order by figures desc, metric""",
    )
    described = {}
    if "metrics" in _tables(conn):
        columns = {row[1] for row in conn.execute("pragma table_info(metrics)")}
        if "description" in columns:
            described = dict(conn.execute("select id, description from metrics").fetchall())
    for row in rows:
        row["description"] = described.get(row["metric"])
        row["top_entities"] = _rows(
            conn,
            "select c.entity_id as id, coalesce(n.name, c.entity_id) as name, count(*) as figures from claims c"
            " left join entities n on n.id = c.entity_id where c.metric = ? and c.entity_id is not null"
            " and (c.value is not null or c.value_low is not null)"
            " group by c.entity_id order by figures desc, c.entity_id limit 5",
            (row["metric"],),
        )
    return rows


# A metric's page charted and tabled every figure (25,000 for revenue at 100k claims: 4.5 s a
# page). It shows the most recent figures of each subject, the subjects with most figures
# first, says how many there are, and links to Datasette's claims table for all of them.
METRIC_FIGURES = 300  # of the one subject of a page (?subject=)
OVERVIEW_SUBJECTS = 12  # sections of the page of every subject
OVERVIEW_FIGURES = 60  # figures in each of those sections


def _latest(conn: sqlite3.Connection, metric: str, entity_id: str, limit: int) -> list[dict]:
    """The ``limit`` most recent figures of a metric for one entity (``""``: no entity)."""
    where, params = _figures_of(metric, entity_id)
    latest = conn.execute(f"select max(c.period_start) from claims c where {where}", params).fetchone()[0]
    return figures(conn, metric, entity_id, near=latest, limit=limit) if latest else []


def metric_page(conn: sqlite3.Connection, metric: str, entity_id: str | None = None) -> dict | None:
    """The figures of a metric by entity, for the chart and the table; None for an unknown metric."""
    if not conn.execute("select 1 from claims where metric = ? limit 1", (metric,)).fetchone():
        return None
    names = dict(conn.execute("select id, name from entities").fetchall())
    counts = dict(
        conn.execute(
            f"select coalesce(c.entity_id, ''), count(*) from claims c where {_FIGURE} group by c.entity_id", (metric,)
        ).fetchall()
    )
    entities = [
        {"id": key, "name": names.get(key, key), "figures": count}
        for key, count in sorted(counts.items(), key=lambda item: (-item[1], names.get(item[0], item[0])))
        if key
    ]
    if entity_id:
        shown, limit = [entity_id] if counts.get(entity_id) else [], METRIC_FIGURES
    else:
        shown = sorted(counts, key=lambda key: (-counts[key], key))[:OVERVIEW_SUBJECTS]
        limit = OVERVIEW_FIGURES
    sections = [
        {
            "entity_id": key,
            "name": names.get(key, key or "no subject"),
            "figures": _latest(conn, metric, key, limit),
            "total": counts[key],
        }
        for key in shown
    ]
    return {
        "metric": metric,
        "entity": {"id": entity_id, "name": names.get(entity_id, entity_id)} if entity_id else None,
        "entities": entities,
        "sections": sections,
        "count": counts.get(entity_id, 0) if entity_id else sum(counts.values()),
        "more_subjects": len(counts) - len(shown),
    }


def resolve_entity(conn: sqlite3.Connection, text: str) -> str | None:
    """An entity id from its id, its name or one of its aliases (any case), or None."""
    folded = text.strip().casefold()
    for id_, name, aliases in conn.execute("select id, name, aliases from entities order by id"):
        if folded in {id_.casefold(), (name or "").casefold()} | {str(a).casefold() for a in _json_list(aliases)}:
            return id_
    return None


def find_node(conn: sqlite3.Connection, node_id: str) -> str | None:
    """``claim:ID``, ``source:ID`` or ``entity:ID`` for an id, or None (claims first, then
    sources, then entities)."""
    for kind, table in (("claim", "claims"), ("source", "sources"), ("entity", "entities")):
        if conn.execute(f"select 1 from {table} where id = ?", (node_id,)).fetchone():
            return f"{kind}:{node_id}"
    return None
