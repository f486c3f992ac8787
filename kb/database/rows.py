"""The rows of every table, from an analysed knowledge base: plain dicts, deterministic ids."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import Counter
from collections.abc import Container, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from kb import __version__, cite
from kb.analyse import Analysis
from kb.database.schema import SCHEMA_VERSION
from kb.graph import all_edges, claim_entities, evidence_origin, out_edges
from kb.inputs import fingerprint
from kb.render import render_markdown

__all__ = ["rows"]


def rows(analysis: Analysis) -> Iterator[tuple[str, Iterable[dict]]]:
    """(table, its rows) in the order they are inserted. The rows of the large tables are
    generated as they are written, never held all at once (100,000 claim rows with their
    citation columns are hundreds of MiB)."""
    entities = claim_entities(analysis.graph)
    yield "entities", _entity_rows(analysis, entities)
    yield "metrics", _metric_rows(analysis)
    yield "sources", (_source_row(analysis, record) for record in analysis.corpus.sources.values())
    yield "claims", (claim_row(analysis, record, entities) for record in analysis.corpus.claims.values())
    yield "evidence", evidence_rows(analysis, analysis.corpus.claims.values())
    yield "claim_links", claim_link_rows(analysis.graph)
    yield "source_links", _source_link_rows(analysis)
    yield "findings", finding_rows(analysis.findings, analysis.corpus.claims, analysis.corpus.sources)
    yield "kb_build", [_build_row(analysis)]


def _json(value: list | None) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


def _entity_rows(analysis: Analysis, entities: dict[str, str]) -> list[dict]:
    """``entities``: :func:`kb.graph.claim_entities` (an edge view per entity took 1.8 s at
    100k claims)."""
    counts = Counter(entities.values())
    rows = []
    for node, data in analysis.graph.nodes(data=True):
        if data["kind"] == "entity":
            id_ = node.removeprefix("entity:")
            rows.append({"id": id_, "name": data["name"], "aliases": _json(data["aliases"]), "claims": counts[id_]})
    return sorted(rows, key=lambda row: row["id"])


def _metric_rows(analysis: Analysis) -> list[dict]:
    settings = analysis.settings
    counts: dict[str, int] = {}
    for record in analysis.corpus.claims.values():
        if record.model.metric:
            name = settings.metric_name(record.model.metric)
            counts[name] = counts.get(name, 0) + 1
    return metric_rows(settings, counts)


def metric_rows(settings, counts: dict[str, int]) -> list[dict]:
    """Every declared metric, and every metric a claim uses that is not declared (KB306 names
    those): a claim's ``metric`` always has its row. Aliases count for their metric
    (``counts``: claims by canonical metric name)."""
    rows = []
    for name in sorted({*settings.metrics, *counts}):
        config = settings.metrics.get(name)
        rows.append(
            {
                "id": name,
                "description": config.description if config else None,
                "unit": config.unit if config else None,
                "tolerance": config.tolerance if config else None,
                "aliases": _json(config.aliases) if config else None,
                "declared": int(config is not None),
                "claims": counts.get(name, 0),
            }
        )
    return rows


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
        "body_html": (record.body_html or render_markdown(body)) if body else None,
        "path": record.path,
        **_citation(analysis, cite.source_key(source.id)),
    }


def _citation(analysis: Analysis, key: str) -> dict:
    kind, id_ = cite.parse_key(key)  # type: ignore[misc]
    text = cite.claim_text(analysis, id_) if kind == "claim" else cite.source_text(analysis, id_)
    return {
        "citation_key": key,
        "page_url": cite.page_url(analysis, id_),
        "citation": text,
        "csl_json": json.dumps(cite.csl_item(analysis, key), ensure_ascii=False),
    }


def _known(analysis: Analysis, source_id: str) -> str | None:
    return source_id if source_id in analysis.corpus.sources else None


def claim_row(analysis: Analysis, record, entities: dict[str, str]) -> dict:
    claim = record.model
    body = record.document.body.strip()
    quantity, verdict = claim.value, claim.verdict
    return {
        "id": claim.id,
        "statement": claim.statement,
        "kind": claim.kind,
        # What a reader sees is the canonical name (an entity's, a metric's); the file's own
        # spelling is kept beside it (`*_as_written`), so an alias can still be searched for.
        "subject": _entity_name(analysis, entities.get(claim.id)) or claim.subject,
        "subject_as_written": claim.subject,
        "entity_id": entities.get(claim.id),
        "metric": analysis.settings.metric_name(claim.metric),
        "metric_as_written": claim.metric,
        "qualifiers": json.dumps(claim.qualifiers, ensure_ascii=False, sort_keys=True) if claim.qualifiers else None,
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
        "body_html": (record.body_html or render_markdown(body)) if body else None,
        "path": record.path,
        **_citation(analysis, cite.claim_key(claim.id)),
    }


def _entity_name(analysis: Analysis, entity: str | None) -> str | None:
    node = analysis.graph.nodes.get(f"entity:{entity}") if entity else None
    return node["name"] if node else None


def evidence_rows(analysis: Analysis, records: Iterable) -> Iterator[dict]:
    """The evidence rows of the claims ``records``."""
    sources = analysis.corpus.sources
    for record in records:
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


def claim_link_rows(graph, starts: Iterable[str] | None = None) -> Iterator[dict]:
    """The ``claim_links`` rows of the edges between claims, out of the nodes ``starts`` (by
    default every node); a relation repeated with the same ends, origin and input is one row."""
    seen = set()
    between_claims = [  # in the graph's order (the sort below is stable), claim to claim only
        (start, end, data)
        for start in (graph if starts is None else starts)
        if start.startswith("claim:")
        for end, data in out_edges(graph, start)
        if end.startswith("claim:")
    ]
    for start, end, data in sorted(between_claims, key=lambda e: (e[0], e[1], e[2]["relation"])):
        row = _link_row(
            start.removeprefix("claim:"),
            end.removeprefix("claim:"),
            data["relation"],
            data.get("origin", "declared"),
            data.get("note"),
            data.get("outcome"),
            data.get("input"),
        )
        if row["id"] not in seen:
            seen.add(row["id"])
            yield row


def detected_link_rows(detected: Iterable[tuple[str, str, str]]) -> Iterator[dict]:
    """The rows :func:`claim_link_rows` gives the edges of
    :func:`kb.analyse.detected_contradictions` (in their order, so that of two edges between
    the same claims the first one's note is kept, as in the graph)."""
    seen = set()
    for claim, other, note in detected:
        row = _link_row(claim, other, "contradicts", "detected", note, None, None)
        if row["id"] not in seen:
            seen.add(row["id"])
            yield row


def _link_row(start: str, end: str, relation: str, origin: str, note, outcome, input_) -> dict:
    row = {
        "from_claim": start,
        "to_claim": end,
        "relation": relation,
        "origin": origin,
        "note": note,
        "outcome": outcome,
        "input": input_,
    }
    row["id"] = _link_id(start, end, relation, origin, input_)
    return row


def _source_link_rows(analysis: Analysis) -> Iterator[dict]:
    seen = set()
    for start, end, data in all_edges(analysis.graph):
        rel = data["relation"]
        if rel in ("cites", "translation_of") and (start, end, rel) not in seen:
            seen.add((start, end, rel))
            yield {
                "source_id": start.removeprefix("source:"),
                "target_id": end.removeprefix("source:"),
                "relation": rel,
            }


def finding_rows(findings: Iterable, claims: Container[str], sources: Container[str]) -> Iterator[dict]:
    """The ``findings`` rows (``claims``, ``sources``: the ids the database holds; a finding
    about another id names none, as the foreign keys require)."""
    seen = set()
    for finding in findings:
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
        "input_hash": fingerprint(analysis.settings, analysis.today, analysis.corpus.files_digest),
        "today": analysis.today.isoformat(),
        "claims": len(analysis.corpus.claims),
        "sources": len(analysis.corpus.sources),
        "findings": len(analysis.findings),
    }
