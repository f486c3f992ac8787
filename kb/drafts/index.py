"""What the draft rules need from the knowledge base, from an analysis or a current database."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from kb import cite
from kb.analyse import Analysis
from kb.graph import claim_entities
from kb.settings import Settings
from kb.suggest import did_you_mean

__all__ = ["ClaimFacts", "DraftIndex", "unit_kind"]


@dataclass(frozen=True)
class ClaimFacts:
    """What the draft rules need of one claim (from an analysis or from the database)."""

    id: str
    status: str
    bounds: tuple[float, float] | None
    point: float | None
    unit: str | None
    metric: str | None
    approximate: bool
    figure: str | None
    period: str | None
    names: tuple[str, ...]
    superseded_by: str | None
    contradicted_by: tuple[str, ...]
    verdict: str | None


@dataclass
class DraftIndex:
    """What the rules need from the knowledge base, computed once for many drafts: the claims'
    facts, the source ids, and the claims indexed by (kind of unit, value) for KB505."""

    settings: Settings
    claims: dict[str, ClaimFacts]
    sources: set[str]
    by_value: dict[tuple[str, float], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_value: dict[tuple[str, float], list[str]] = defaultdict(list)
        for facts in self.claims.values():
            if facts.point is not None and facts.unit:
                by_value[(unit_kind(facts.unit), float(facts.point))].append(facts.id)
        self.by_value = {key: sorted(ids) for key, ids in by_value.items()}

    @classmethod
    def build(cls, analysis: Analysis) -> DraftIndex:
        entities = claim_entities(analysis.graph)
        graph = analysis.graph
        claims = {}
        for id_, record in analysis.corpus.claims.items():
            claim = record.model
            names = {claim.subject} if claim.subject else set()
            node = graph.nodes.get(f"entity:{entities.get(id_)}")
            if node:
                names.update([node["name"], *node["aliases"]])
            others = {v for _, v, r in graph.out_edges(f"claim:{id_}", data="relation") if r == "contradicts"}
            others |= {u for u, _, r in graph.in_edges(f"claim:{id_}", data="relation") if r == "contradicts"}
            claims[id_] = ClaimFacts(
                id_,
                analysis.status[id_],
                claim.value.bounds if claim.value else None,
                claim.value.value if claim.value else None,
                claim.unit,
                claim.metric,
                claim.approximate,
                claim.figure(),
                str(claim.period) if claim.period else None,
                _names(names),
                cite.superseded_by(analysis, id_),
                tuple(sorted(o.removeprefix("claim:") for o in others)),
                claim.verdict.rating if claim.verdict else None,
            )
        return cls(analysis.settings, claims, set(analysis.corpus.sources))

    @classmethod
    def from_database(cls, settings: Settings) -> DraftIndex | None:
        """The index from the built database when it is current (no analysis run), else None."""
        from kb.database import is_stale

        if is_stale(settings):
            return None
        try:
            with contextlib.closing(sqlite3.connect(f"file:{settings.database_path}?mode=ro", uri=True)) as db:
                entities = {row[0]: row[1:] for row in db.execute("select id, name, aliases from entities")}
                links: dict[str, set[str]] = defaultdict(set)
                newer: dict[str, str] = {}
                for start, end, relation in db.execute("select from_claim, to_claim, relation from claim_links"):
                    if relation == "contradicts":
                        links[start].add(end)
                        links[end].add(start)
                    elif relation == "supersedes":
                        newer[end] = start
                columns = (
                    "id, status, value, value_low, value_high, unit, metric, approximate, figure, period, subject, "
                    "entity_id, verdict"
                )
                claims = {}
                for row in db.execute(f"select {columns} from claims"):
                    (
                        id_,
                        status,
                        value,
                        low,
                        high,
                        unit,
                        metric,
                        approximate,
                        figure,
                        period,
                        subject,
                        entity,
                        verdict,
                    ) = row
                    names = {subject} if subject else set()
                    if entity in entities:
                        name, aliases = entities[entity]
                        names.update([name, *json.loads(aliases or "[]")])
                    bounds = (value, value) if value is not None else (low, high) if low is not None else None
                    claims[id_] = ClaimFacts(
                        id_,
                        status,
                        bounds,
                        value,
                        unit,
                        metric,
                        bool(approximate),
                        figure,
                        period,
                        _names(names),
                        newer.get(id_),
                        tuple(sorted(links.get(id_, ()))),
                        verdict,
                    )
                sources = {row[0] for row in db.execute("select id from sources")}
        except (sqlite3.Error, ValueError):
            return None
        return cls(settings, claims, sources)

    def key_hint(self, key: str) -> str:
        parsed = cite.parse_key(key)
        if parsed and parsed[0] == "claim":
            return did_you_mean(key, [cite.claim_key(i) for i in self.claims])
        return did_you_mean(key, [cite.source_key(i) for i in self.sources])


def _names(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(n.casefold() for n in names if n and len(n) > 1))


def unit_kind(unit: str | None) -> str:
    base = (unit or "").split("/")[0]
    return base if base in ("USD", "percent") else "plain"
