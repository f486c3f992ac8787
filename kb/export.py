"""Write the analysed knowledge base to SQLite: ``kb build``.

A full rebuild into a temporary file next to the database, checked (``integrity_check``,
``foreign_key_check``), fsynced and swapped in with ``os.replace``: a failed or interrupted
build leaves the previous database exactly as it was. A lock file serialises concurrent
builds; stale temporary files of interrupted builds are swept by the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import sqlite_utils

from kb import __version__
from kb.analyse import Analysis
from kb.graph import claim_entities, evidence_origin
from kb.load import collect_files
from kb.render import render_markdown
from kb.settings import Settings

__all__ = ["SCHEMA_VERSION", "BuildError", "build_database", "input_fingerprint", "is_stale"]

SCHEMA_VERSION = 1


class BuildError(Exception):
    """The database could not be written; the previous one is untouched."""


def input_fingerprint(settings: Settings, today: date | None = None) -> str:
    """A hash of everything a build depends on: the files, the settings, the kb version,
    the snapshot folders (names, sizes, times of their files) and the date the time rules use."""
    day = today or settings.today or date.today()
    digest = hashlib.sha256(f"kb {__version__} schema {SCHEMA_VERSION} today {day}\n".encode())
    for folder in settings.snapshot_dirs:
        digest.update(f"snapshots {folder.resolve()}\n".encode())
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                with contextlib.suppress(OSError):
                    info = path.stat()
                    digest.update(f"{path.name} {info.st_size} {info.st_mtime_ns}\n".encode())
    for name in ("kb.toml", "pyproject.toml"):
        path = settings.root / name
        if path.is_file():
            digest.update(path.read_bytes())
    for _, path in collect_files(settings):
        digest.update(path.relative_to(settings.root).as_posix().encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def is_stale(settings: Settings) -> bool:
    """True when the database is missing or was built from other inputs."""
    path = settings.database_path
    if not path.is_file():
        return True
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("select input_hash from kb_build").fetchone()
    except sqlite3.Error:
        return True
    return row is None or row[0] != input_fingerprint(settings)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock_path = path.with_name(f".{path.name}.lock")
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"another build of {path.name} is running (lock {lock_path.name})") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_database(analysis: Analysis, path: Path | None = None) -> Path:
    """Write the database atomically; return its path. Raises BuildError."""
    target = (path or analysis.settings.database_path).resolve()
    if not target.parent.is_dir():
        raise BuildError(f"folder {target.parent} does not exist")
    try:
        with _locked(target):
            for stale in target.parent.glob(f".{target.name}.*.tmp"):
                stale.unlink(missing_ok=True)
            temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            try:
                _write(analysis, temp)
                _swap(temp, target)
            finally:
                temp.unlink(missing_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot write {target}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise BuildError(f"cannot write {target}: {exc}") from None
    return target


def _swap(temp: Path, target: Path) -> None:
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _write(analysis: Analysis, temp: Path) -> None:
    db = sqlite_utils.Database(temp, recreate=True)
    try:
        db.execute("pragma journal_mode = off")
        db.execute("pragma synchronous = off")
        _create_tables(db)
        with db.conn:
            for table, rows in _rows(analysis):
                db[table].insert_all(rows)
        _index_and_search(db)
        _create_views(db)
        _verify(db)
        db.execute("pragma journal_mode = delete")
        db.vacuum()
    finally:
        db.close()


def _create_tables(db: sqlite_utils.Database) -> None:
    db["entities"].create({"id": str, "name": str, "aliases": str, "claims": int}, pk="id")
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
        },
        pk="id",
        not_null={"title", "type", "path"},
        foreign_keys=[("translation_of", "sources", "id"), ("origin_id", "sources", "id")],
    )
    db["claims"].create(
        {
            "id": str,
            "statement": str,
            "kind": str,
            "subject": str,
            "entity_id": str,
            "metric": str,
            "value": float,
            "value_low": float,
            "value_high": float,
            "unit": str,
            "figure": str,
            "period": str,
            "period_start": str,
            "period_end": str,
            "approximate": int,
            "claimant": str,
            "stated": str,
            "stated_start": str,
            "status": str,
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
        },
        pk="id",
        not_null={"statement", "kind", "status", "path"},
        foreign_keys=[("entity_id", "entities", "id"), ("supersedes", "claims", "id")],
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


def _rows(analysis: Analysis) -> Iterator[tuple[str, list[dict]]]:
    yield "entities", _entity_rows(analysis)
    yield "sources", [_source_row(analysis, record) for record in analysis.corpus.sources.values()]
    entities = claim_entities(analysis.graph)
    yield "claims", [_claim_row(analysis, record, entities) for record in analysis.corpus.claims.values()]
    yield "evidence", list(_evidence_rows(analysis))
    yield "claim_links", list(_claim_link_rows(analysis))
    yield "source_links", list(_source_link_rows(analysis))
    yield "findings", list(_finding_rows(analysis))
    yield "kb_build", [_build_row(analysis)]


def _json(value: list | None) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


def _entity_rows(analysis: Analysis) -> list[dict]:
    graph = analysis.graph
    rows = []
    for node, data in graph.nodes(data=True):
        if data["kind"] == "entity":
            claims = sum(1 for _, _, rel in graph.in_edges(node, data="relation") if rel == "about")
            rows.append(
                {
                    "id": node.removeprefix("entity:"),
                    "name": data["name"],
                    "aliases": _json(data["aliases"]),
                    "claims": claims,
                }
            )
    return sorted(rows, key=lambda row: row["id"])


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _source_row(analysis: Analysis, record) -> dict:
    source = record.model
    body = record.document.body.strip()
    return {
        "id": source.id,
        "title": source.title,
        "type": source.type,
        "publisher": source.publisher,
        "authors": _json(source.authors),
        "url": source.url,
        "language": source.language,
        "published": _text(source.published),
        "published_start": source.published.start.isoformat() if source.published else None,
        "translation_of": source.translation_of if source.translation_of in analysis.corpus.sources else None,
        "snapshot": source.snapshot,
        "origin_id": _known(analysis, evidence_origin(analysis.graph, source.id, None)),
        "tags": _json(source.tags),
        "body": body or None,
        "body_html": render_markdown(body) if body else None,
        "path": record.path,
    }


def _known(analysis: Analysis, source_id: str) -> str | None:
    return source_id if source_id in analysis.corpus.sources else None


def _claim_row(analysis: Analysis, record, entities: dict[str, str]) -> dict:
    claim = record.model
    body = record.document.body.strip()
    quantity, verdict = claim.value, claim.verdict
    return {
        "id": claim.id,
        "statement": claim.statement,
        "kind": claim.kind,
        "subject": claim.subject,
        "entity_id": entities.get(claim.id),
        "metric": claim.metric,
        "value": quantity.value if quantity else None,
        "value_low": quantity.low if quantity else None,
        "value_high": quantity.high if quantity else None,
        "unit": claim.unit,
        "figure": claim.figure(),
        "period": _text(claim.period),
        "period_start": claim.period.start.isoformat() if claim.period else None,
        "period_end": claim.period.end.isoformat() if claim.period else None,
        "approximate": int(claim.approximate),
        "claimant": claim.claimant,
        "stated": _text(claim.stated),
        "stated_start": claim.stated.start.isoformat() if claim.stated else None,
        "status": analysis.status[claim.id],
        "independent_origins": analysis.origins[claim.id],
        "evidence_count": len(claim.evidence),
        "verdict": verdict.rating if verdict else None,
        "verdict_rationale": verdict.rationale if verdict else None,
        "verdict_reviewed": _text(verdict.reviewed) if verdict else None,
        "supersedes": claim.supersedes if claim.supersedes in analysis.corpus.claims else None,
        "derived_formula": claim.derived_from.formula if claim.derived_from else None,
        "tags": _json(claim.tags),
        "body": body or None,
        "body_html": render_markdown(body) if body else None,
        "path": record.path,
    }


def _evidence_rows(analysis: Analysis) -> Iterator[dict]:
    sources = analysis.corpus.sources
    for record in analysis.corpus.claims.values():
        for index, item in enumerate(record.model.evidence):
            if item.source not in sources:
                continue  # KB101 reports it
            via = item.via if item.via in sources else None
            origin = evidence_origin(analysis.graph, item.source, via)
            yield {
                "id": f"{record.id}-e{index + 1}",
                "claim_id": record.id,
                "position": index + 1,
                "source_id": item.source,
                "via": via,
                "stance": item.stance,
                "quote": item.quote,
                "locator": item.locator,
                "stated_as": item.stated_as,
                "note": item.note,
                "origin_id": origin,
            }


def _link_id(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def _claim_link_rows(analysis: Analysis) -> Iterator[dict]:
    seen = set()
    for start, end, data in sorted(analysis.graph.edges(data=True), key=lambda e: (e[0], e[1], e[2]["relation"])):
        if not (start.startswith("claim:") and end.startswith("claim:")):
            continue
        row = {
            "from_claim": start.removeprefix("claim:"),
            "to_claim": end.removeprefix("claim:"),
            "relation": data["relation"],
            "origin": data.get("origin", "declared"),
            "note": data.get("note"),
            "outcome": data.get("outcome"),
            "input": data.get("input"),
        }
        row["id"] = _link_id(row["from_claim"], row["to_claim"], row["relation"], row["origin"], row["input"])
        if row["id"] not in seen:
            seen.add(row["id"])
            yield row


def _source_link_rows(analysis: Analysis) -> Iterator[dict]:
    seen = set()
    for start, end, rel in analysis.graph.edges(data="relation"):
        if rel in ("cites", "translation_of") and (start, end, rel) not in seen:
            seen.add((start, end, rel))
            yield {
                "source_id": start.removeprefix("source:"),
                "target_id": end.removeprefix("source:"),
                "relation": rel,
            }


def _finding_rows(analysis: Analysis) -> Iterator[dict]:
    claims, sources = analysis.corpus.claims, analysis.corpus.sources
    seen = set()
    for finding in analysis.findings:
        if finding.id in seen:
            continue
        seen.add(finding.id)
        yield {
            "id": finding.id,
            "code": finding.code,
            "name": finding.name,
            "severity": finding.severity,
            "acknowledged": int(finding.acknowledged),
            "acknowledgement": finding.acknowledgement,
            "message": finding.message,
            "path": finding.path,
            "line": finding.line,
            "column": finding.column,
            "claim_id": finding.claim_id if finding.claim_id in claims else None,
            "source_id": finding.source_id if finding.source_id in sources else None,
            "other_claim_id": finding.other_claim_id if finding.other_claim_id in claims else None,
        }


def _git_commit(root: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _build_row(analysis: Analysis) -> dict:
    return {
        "kb_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(analysis.settings.root),
        "input_hash": input_fingerprint(analysis.settings, analysis.today),
        "today": analysis.today.isoformat(),
        "claims": len(analysis.corpus.claims),
        "sources": len(analysis.corpus.sources),
        "findings": len(analysis.findings),
    }


def _index_and_search(db: sqlite_utils.Database) -> None:
    for table, columns in (
        ("claims", ["subject"]),
        ("claims", ["metric", "period_start"]),
        ("claims", ["status"]),
        ("claims", ["kind"]),
        ("claims", ["claimant"]),
        ("findings", ["code"]),
    ):
        db[table].create_index(columns, if_not_exists=True)
    db.index_foreign_keys()
    # The database is rebuilt whole, so no triggers keep the indexes in sync with edits.
    # English statements: porter stemming. Quotes and source titles are mostly Chinese, which the
    # default tokenizer cannot split into words: trigram (queries need at least 3 characters).
    db["claims"].enable_fts(["statement", "body"], tokenize="porter")
    db["evidence"].enable_fts(["quote", "stated_as"], tokenize="trigram")
    db["sources"].enable_fts(["title", "body"], tokenize="trigram")
    db.analyze()


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


def _create_views(db: sqlite_utils.Database) -> None:
    for name, sql in _VIEWS.items():
        db.create_view(name, sql.strip(), replace=True)


def _verify(db: sqlite_utils.Database) -> None:
    problems = [row[0] for row in db.execute("pragma integrity_check").fetchall() if row[0] != "ok"]
    broken = db.execute("pragma foreign_key_check").fetchall()
    if problems or broken:
        raise BuildError(f"the new database failed its checks: {problems[:3]} {broken[:3]}")
