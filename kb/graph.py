"""The knowledge graph: claims, sources and entities in one networkx MultiDiGraph.

Nodes are keyed ``claim:ID``, ``source:ID`` and ``entity:ID`` and carry ``kind`` (and
``record`` for claims and sources). Every edge has a ``relation``:

- claim → source ``evidence`` (stance, quote, locator, via, index)
- source → source ``via`` (the evidence source relays the via source, for one claim),
  ``cites``, ``translation_of``
- claim → claim ``contradicts`` (origin ``declared`` or ``detected``, note), ``supports``,
  ``derived_from`` (input name), ``supersedes``, ``resolves`` (outcome)
- claim → entity ``about``

Edges to ids that do not exist are not added (rules KB101/KB102 report them).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from sys import intern
from typing import TYPE_CHECKING

from kb.load import Corpus

if TYPE_CHECKING:  # networkx (0.15 s to import) is imported where a graph is made
    import networkx as nx

__all__ = [
    "add_detected_contradiction",
    "all_edges",
    "build_graph",
    "claim_entities",
    "claim_node",
    "compute_status",
    "entity_id",
    "entity_index",
    "entity_node",
    "evidence_origin",
    "independent_origins",
    "out_edges",
    "source_node",
    "subject_entity",
]


# Node names are interned: networkx keeps the name it is given for each end of every edge
# (in the successors of one and the predecessors of the other), so a name built anew per call
# was two more strings per edge (50 MB at 100k claims).
def claim_node(id_: str) -> str:
    return intern(f"claim:{id_}")


def source_node(id_: str) -> str:
    return intern(f"source:{id_}")


def entity_node(id_: str) -> str:
    return intern(f"entity:{id_}")


@lru_cache(maxsize=1 << 14)  # a subject is named by many claims (100,000 slugs: 0.3 s)
def entity_id(name: str) -> str:
    """A slug for an entity name, the same for every spelling with the same case folding
    (claims group by ``subject.casefold()``: kb.incremental keys a claim's group without
    knowing which spelling came first).

    >>> entity_id("OpenAI"), entity_id("Scale AI"), entity_id("Anysphere (Cursor)")
    ('openai', 'scale-ai', 'anysphere-cursor')
    >>> entity_id("Яндекс") == entity_id("ЯНДЕКС"), entity_id("Straße") == entity_id("STRASSE")
    (True, True)
    """
    folded = name.casefold()
    ascii_name = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")
    return slug or "entity-" + "-".join(f"{ord(c):x}" for c in folded[:8])


def entity_index(corpus: Corpus) -> dict[str, tuple[str, str, list[str]]]:
    """Lower-cased name or alias -> (entity id, canonical name, aliases)."""
    index: dict[str, tuple[str, str, list[str]]] = {}
    for key, entity in corpus.settings.entities.items():
        entry = (key, entity.name, list(entity.aliases))
        for spelling in (key, entity.name, *entity.aliases):
            index[spelling.casefold()] = entry
    return index


def import_networkx() -> None:
    """Import networkx (0.18 s: its package imports every algorithm), which :func:`build_graph`
    does when first called: for a caller with time to spare before it (kb.checking)."""
    import networkx  # noqa: F401


def build_graph(corpus: Corpus) -> nx.MultiDiGraph:
    """The graph of everything that loaded; declared relations only."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    for id_, record in corpus.sources.items():
        graph.add_node(source_node(id_), kind="source", record=record)
    for id_, record in corpus.claims.items():
        graph.add_node(claim_node(id_), kind="claim", record=record)
    _add_entities(graph, corpus)
    for id_, record in corpus.sources.items():
        _add_source_edges(graph, id_, record.model)
    for id_, record in corpus.claims.items():
        _add_claim_edges(graph, id_, record.model)
    return graph


def _add_entities(graph: nx.MultiDiGraph, corpus: Corpus) -> None:
    import networkx as nx

    index = entity_index(corpus)
    for key, entity in corpus.settings.entities.items():
        graph.add_node(entity_node(key), kind="entity", name=entity.name, aliases=list(entity.aliases))
    # Every claim's edge to its entity shares one attribute dict (read only, like every edge's:
    # nothing changes an edge's attributes once the graph is built), where add_edge would
    # make one each: about 20 MB at 100k claims (1,033 → 1,014 MiB), at the build's peak of memory. The edge is what
    # add_edge makes (key 0: a claim has one subject), written into networkx's adjacency.
    about = {"relation": "about"}
    succ, pred = graph._succ, graph._pred
    for id_, record in corpus.claims.items():
        subject = record.model.subject
        if not subject:
            continue
        key, name, aliases = index.get(subject.casefold(), (entity_id(subject), subject, []))
        node = entity_node(key)  # key: subject_entity(index, subject), the same for every claim
        if node not in graph:
            graph.add_node(node, kind="entity", name=name, aliases=aliases)
            index[subject.casefold()] = (key, name, aliases)
        claim = claim_node(id_)
        succ[claim][node] = pred[node][claim] = {0: about}
    nx._clear_cache(graph)


def subject_entity(index: dict[str, tuple[str, str, list[str]]], subject: str) -> str:
    """The entity id a claim's ``subject`` names (``index``: :func:`entity_index`); the one
    :func:`build_graph` links the claim to, without a graph (kb.incremental)."""
    found = index.get(subject.casefold())
    return found[0] if found else entity_id(subject)


def _link(graph: nx.MultiDiGraph, start: str, end: str, relation: str, **attrs: object) -> None:
    if start in graph and end in graph:
        graph.add_edge(start, end, relation=relation, **attrs)


def _add_source_edges(graph: nx.MultiDiGraph, id_: str, source) -> None:
    node = source_node(id_)
    for cited in source.cites:
        _link(graph, node, source_node(cited), "cites")
    if source.translation_of:
        _link(graph, node, source_node(source.translation_of), "translation_of")


def _add_claim_edges(graph: nx.MultiDiGraph, id_: str, claim) -> None:
    node = claim_node(id_)
    for index, item in enumerate(claim.evidence):
        via = item.via if item.via and source_node(item.via) in graph else None  # unknown: KB101
        _link(
            graph,
            node,
            source_node(item.source),
            "evidence",
            index=index,
            stance=item.stance,
            quote=item.quote,
            locator=item.locator,
            via=via,
        )
        if item.via:
            _link(graph, source_node(item.source), source_node(item.via), "via", claim=id_, index=index)
    for item in claim.contradicts:
        _link(graph, node, claim_node(item.claim), "contradicts", origin="declared", note=item.note)
    for other in claim.supports:
        _link(graph, node, claim_node(other), "supports", origin="declared")
    if claim.derived_from:
        for name, other in claim.derived_from.inputs.items():
            _link(graph, node, claim_node(other), "derived_from", origin="declared", input=name)
    if claim.supersedes:
        _link(graph, node, claim_node(claim.supersedes), "supersedes", origin="declared")
    if claim.resolves:
        _link(
            graph, node, claim_node(claim.resolves.claim), "resolves", origin="declared", outcome=claim.resolves.outcome
        )


def claim_entities(graph: nx.MultiDiGraph) -> dict[str, str]:
    """Claim id -> the entity id it is about (claims without a subject are absent). Read
    from the entities' predecessors: a view over every edge of the graph took 0.8 s at 100k."""
    found: dict[str, str] = {}
    for node, kind in graph.nodes(data="kind"):
        if kind == "entity":
            entity = node.removeprefix("entity:")
            for claim, keyed in graph._pred[node].items():
                if any(data["relation"] == "about" for data in keyed.values()):
                    found[claim.removeprefix("claim:")] = entity
    return found


def add_detected_contradiction(graph: nx.MultiDiGraph, later: str, earlier: str, note: str) -> None:
    """Record a contradiction found by the checks, from the later claim to the earlier."""
    _link(graph, claim_node(later), claim_node(earlier), "contradicts", origin="detected", note=note)


# ----------------------------------------------------------------- computed attributes
def evidence_origin(graph: nx.MultiDiGraph, source_id: str, via: str | None) -> str:
    """The original report behind an evidence item: its via (else its source), then
    ``translation_of`` followed to the root. ``cites`` is not followed."""
    # Roots are cached on the graph (translation_of edges never change after build_graph):
    # without it a chain of 5,000 translations cost 12.5 million steps in `kb build`.
    cache: dict[str, str] = graph.graph.setdefault("kb_translation_roots", {})
    current = via or source_id
    path, seen = [current], {current}
    while current not in cache:
        node = source_node(current)
        nxt = (
            [v for _, v, rel in graph.out_edges(node, data="relation") if rel == "translation_of"]
            if node in graph
            else []
        )
        if not nxt:
            cache[current] = current
            break
        current = nxt[0].removeprefix("source:")
        if current in seen:  # a cycle: KB104 reports it (not cached: the answer depends on the start)
            return current
        seen.add(current)
        path.append(current)
    root = cache[current]
    for visited in path:
        cache[visited] = root
    return root


def out_edges(graph: nx.MultiDiGraph, node: str):
    """(target, data) of every edge out of ``node``. networkx's adjacency dictionaries read
    directly: an edge view per call cost more than the status itself (62,000 views at 20k
    claims)."""
    for target, keyed in graph._succ[node].items():
        for data in keyed.values():
            yield target, data


def all_edges(graph: nx.MultiDiGraph):
    """(start, end, data) of every edge, in networkx's order, from the adjacency dictionaries
    (``graph.edges(data=True)`` costs a view's generator per edge: 1.4 s for a million)."""
    for start, targets in graph._succ.items():
        for end, keyed in targets.items():
            for data in keyed.values():
                yield start, end, data


def _in_relations(graph: nx.MultiDiGraph, node: str) -> list[str]:
    return [data["relation"] for keyed in graph._pred[node].values() for data in keyed.values()]


def independent_origins(graph: nx.MultiDiGraph, claim_id: str) -> int:
    """How many distinct original reports stand behind a claim's supporting evidence."""
    origins = {
        evidence_origin(graph, target.removeprefix("source:"), data.get("via"))
        for target, data in out_edges(graph, claim_node(claim_id))
        if data["relation"] == "evidence" and data["stance"] == "supports"
    }
    return len(origins)


def compute_status(graph: nx.MultiDiGraph, claim_id: str) -> str:
    """superseded, refuted, contested, supported or unsupported: the first that applies."""
    node = claim_node(claim_id)
    incoming = _in_relations(graph, node)
    outgoing = [(node, target, data) for target, data in out_edges(graph, node)]
    if "supersedes" in incoming:
        return "superseded"
    stances = [data["stance"] for _, _, data in outgoing if data["relation"] == "evidence"]
    claim = graph.nodes[node]["record"].model
    if (claim.verdict and claim.verdict.rating == "inaccurate") or ("refutes" in stances and "supports" not in stances):
        return "refuted"
    contradicted = "contradicts" in incoming or any(data["relation"] == "contradicts" for _, _, data in outgoing)
    if "refutes" in stances or contradicted:
        return "contested"
    if "supports" in stances:
        return "supported"
    return "unsupported"
