"""Reference rules: unknown sources and claims, unused sources, cycles, self-references."""

from __future__ import annotations

from collections.abc import Iterator

from kb.checks.context import CheckContext
from kb.findings import Finding
from kb.load import Record
from kb.suggest import Suggester

__all__ = [
    "check_circular_sourcing",
    "check_self_reference",
    "check_unknown_claims",
    "check_unknown_sources",
    "check_unused_sources",
    "circular_findings",
    "claim_references",
    "cycle_edges",
    "source_references",
]


def _subject(record: Record) -> dict:
    return {"claim_id": record.id} if record.kind == "claim" else {"source_id": record.id}


def _hint(ctx: CheckContext, name: str, kind: str) -> str:
    """ " (did you mean `x`?)" for an unknown source or claim id; one index of the ids per run."""
    key = f"suggest {kind}"
    suggester = ctx.cache.get(key)
    if suggester is None:
        suggester = ctx.cache[key] = Suggester(ctx.known_ids(kind), 0.7)
    return suggester.hint(name)  # type: ignore[attr-defined]


def source_references(record: Record) -> Iterator[tuple[str, tuple, str]]:
    """(referenced source id, field path, what) for every source reference in a file."""
    model = record.model
    if record.kind == "claim":
        for index, item in enumerate(model.evidence):
            yield item.source, ("evidence", index, "source"), "evidence source"
            if item.via:
                yield item.via, ("evidence", index, "via"), "via"
    else:
        for index, cited in enumerate(model.cites):
            yield cited, ("cites", index), "cites"
        if model.translation_of:
            yield model.translation_of, ("translation_of",), "translation_of"


def claim_references(record: Record) -> Iterator[tuple[str, tuple, str]]:
    claim = record.model
    for index, item in enumerate(claim.contradicts):
        yield item.claim, ("contradicts", index), "contradicts"
    for index, other in enumerate(claim.supports):
        yield other, ("supports", index), "supports"
    if claim.derived_from:
        for name, other in claim.derived_from.inputs.items():
            yield other, ("derived_from", "inputs", name), "derived_from"
    if claim.supersedes:
        yield claim.supersedes, ("supersedes",), "supersedes"
    if claim.resolves:
        yield claim.resolves.claim, ("resolves", "claim"), "resolves"


def check_unknown_sources(ctx: CheckContext) -> Iterator[Finding]:
    """KB101: evidence, via, cites or translation_of naming no source."""
    sources, broken = ctx.corpus.sources, ctx.corpus.broken_ids
    for record in [*ctx.corpus.claims.values(), *sources.values()]:
        for target, path, what in source_references(record):
            if target not in sources and target not in broken:
                line, column = record.position(*path)
                hint = _hint(ctx, target, "source") if ctx.wanted(record) else ""
                message = f"{what} `{target}` names no source{hint}"
                yield Finding("KB101", message, record.path, line, column, **_subject(record))


def check_unknown_claims(ctx: CheckContext) -> Iterator[Finding]:
    """KB102: a relation naming no claim."""
    claims, broken = ctx.corpus.claims, ctx.corpus.broken_ids
    for record in claims.values():
        for target, path, what in claim_references(record):
            if target not in claims and target not in broken:
                line, column = record.position(*path)
                hint = _hint(ctx, target, "claim") if ctx.wanted(record) else ""
                message = f"{what} `{target}` names no claim{hint}"
                yield Finding("KB102", message, record.path, line, column, claim_id=record.id)


def check_self_reference(ctx: CheckContext) -> Iterator[Finding]:
    """KB105: a claim or source referring to itself."""
    for record in [*ctx.corpus.claims.values(), *ctx.corpus.sources.values()]:
        references = claim_references(record) if record.kind == "claim" else source_references(record)
        for target, path, what in references:
            if target == record.id:
                line, column = record.position(*path)
                yield Finding("KB105", f"{what} refers to itself", record.path, line, column, **_subject(record))
        if record.kind == "claim":
            for index, item in enumerate(record.model.evidence):
                if item.via and item.via == item.source:
                    line, column = record.position("evidence", index, "via")
                    message = f"evidence source `{item.source}` is said to relay itself (`via` names the same source)"
                    yield Finding("KB105", message, record.path, line, column, claim_id=record.id)


def check_unused_sources(ctx: CheckContext) -> Iterator[Finding]:
    """KB103: a source no claim or source refers to."""
    records = [*ctx.corpus.claims.values(), *ctx.corpus.sources.values()]
    used = {target for record in records for target, _, _ in source_references(record) if target != record.id}
    used |= ctx.corpus.broken_references  # files that failed to load still count as users
    for id_, record in ctx.corpus.sources.items():
        if id_ not in used:
            line, column = record.position("id")
            yield Finding(
                "KB103", f"source `{id_}` is not cited by any claim or source", record.path, line, column, source_id=id_
            )


def check_circular_sourcing(ctx: CheckContext) -> Iterator[Finding]:
    """KB104: cycles in cites / translation_of / via, and in derived_from.

    One finding per strongly connected component (not per cycle, which can be exponentially
    many), showing one cycle through it. A cycle that goes through a `via` is reported at
    that evidence item's `via`, the field an editor can change.
    """
    corpus = ctx.corpus
    edges = [edge for records in (corpus.sources, corpus.claims) for r in records.values() for edge in cycle_edges(r)]

    def locate(kind: str, id_: str, path: tuple) -> tuple[str, int, int]:
        record = (corpus.claims if kind == "claim" else corpus.sources)[id_]
        return (record.path, *record.position(*path))

    yield from circular_findings(edges, corpus.sources.__contains__, corpus.claims.__contains__, locate)


# (family, start id, end id, relation, claim id of a via, evidence index of a via)
CycleEdge = tuple[str, str, str, str, str | None, int | None]


def cycle_edges(record: Record) -> tuple[CycleEdge, ...]:
    """The edges a file declares that KB104 follows, whether their ends exist or not."""
    model = record.model
    if record.kind == "source":
        edges = [("sourcing", record.id, cited, "cites", None, None) for cited in model.cites]
        if model.translation_of:
            edges.append(("sourcing", record.id, model.translation_of, "translation_of", None, None))
        return tuple(edges)
    edges = [
        ("sourcing", item.source, item.via, "via", record.id, index)
        for index, item in enumerate(model.evidence)
        if item.via
    ]
    if model.derived_from:
        edges += [
            ("derivation", record.id, other, "derived_from", None, None) for other in model.derived_from.inputs.values()
        ]
    return tuple(edges)


def circular_findings(edges, is_source, is_claim, locate) -> Iterator[Finding]:
    """KB104 for the cycles among ``edges`` (:func:`cycle_edges`) whose ends exist
    (``is_source``, ``is_claim``); ``locate(kind, id, field path)`` gives (path, line, column).
    The edges are taken in sorted order, so that the cycle shown and the claim a `via` cycle
    is reported on do not depend on the order the files were read in."""
    import networkx as nx

    exists = {"sourcing": is_source, "derivation": is_claim}
    subgraphs = {"sourcing": nx.DiGraph(), "derivation": nx.DiGraph()}
    for family, start, end, relation, claim, index in sorted(edges, key=lambda e: (*e[:4], e[4] or "", e[5] or 0)):
        if start != end and exists[family](start) and exists[family](end):
            subgraphs[family].add_edge(start, end, relation=relation, claim=claim, index=index)
    for what, sub in subgraphs.items():
        for component in nx.strongly_connected_components(sub):
            if len(component) < 2:
                continue
            start = min(component)
            cycle = nx.find_cycle(sub.subgraph(component), source=start)
            ids = [u for u, _ in cycle]
            chain = " -> ".join(f"`{i}`" for i in [*ids, ids[0]])
            message = f"circular {what}: {chain}"
            if len(component) > len(ids):
                message += f" ({len(component)} {'sources' if what == 'sourcing' else 'claims'} in one cycle group)"
            via = next((sub[u][v] for u, v in cycle if sub[u][v]["relation"] == "via"), None)
            if via is not None:
                path, line, column = locate("claim", via["claim"], ("evidence", via["index"], "via"))
                yield Finding("KB104", message, path, line, column, claim_id=via["claim"])
                continue
            kind = "source" if what == "sourcing" else "claim"
            path, line, column = locate(kind, ids[0], ("id",))
            subject = {"claim_id": ids[0]} if kind == "claim" else {"source_id": ids[0]}
            yield Finding("KB104", message, path, line, column, **subject)
