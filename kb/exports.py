"""Exports of an analysed knowledge base to the formats other tools read.

- ``csl-json``: every claim and source as CSL-JSON (pandoc, Quarto, Zotero);
- ``bibtex``: the same as BibTeX (LaTeX, mkdocs-bibtex, sphinxcontrib-bibtex);
- ``json``: the whole graph, round-trippable (:func:`graph_from_json` reads it back);
- ``graphml``: the graph with scalar attributes only (Gephi, networkx, yEd);
- ``claimreview``: schema.org ClaimReview JSON-LD for the claims with a verdict.

Every export is deterministic: the same knowledge base gives the same bytes. (Not to be
confused with :mod:`kb.database`, which writes the SQLite database.)
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import networkx as nx

from kb import __version__, cite
from kb.analyse import Analysis
from kb.models import Claim, Source

__all__ = [
    "EXPORTS",
    "SUFFIXES",
    "bibtex",
    "claimreview",
    "csl_json",
    "export",
    "graph_from_json",
    "graph_json",
    "graphml",
]

GRAPH_FORMAT = "kb-graph/1"


def _claim_ids(analysis: Analysis) -> list[str]:
    return sorted(analysis.corpus.claims)


def _source_ids(analysis: Analysis) -> list[str]:
    return sorted(analysis.corpus.sources)


def csl_items(analysis: Analysis) -> list[dict]:
    return [cite.claim_csl(analysis, id_) for id_ in _claim_ids(analysis)] + [
        cite.source_csl(analysis, id_) for id_ in _source_ids(analysis)
    ]


def csl_json(analysis: Analysis) -> str:
    return json.dumps(csl_items(analysis), ensure_ascii=False, indent=2) + "\n"


def bibtex(analysis: Analysis) -> str:
    keys = [cite.claim_key(i) for i in _claim_ids(analysis)] + [cite.source_key(i) for i in _source_ids(analysis)]
    header = f"% kb {__version__}: every claim and source of {cite.kb_title(analysis)}\n\n"
    return header + "\n".join(cite.bibtex_entry(analysis, key) for key in keys)  # type: ignore[misc]


# ----------------------------------------------------------------------------- json
def _node_data(analysis: Analysis, node: str, data: dict) -> dict:
    out = {key: value for key, value in data.items() if key != "record"}
    if "record" in data:
        record = data["record"]
        out["data"] = record.model.model_dump(mode="json")
        out["path"] = record.path
        if record.kind == "claim":
            out["status"] = analysis.status[record.id]
            out["independent_origins"] = analysis.origins[record.id]
    return out


def graph_json(analysis: Analysis) -> str:
    """The whole graph as JSON: nodes with their frontmatter data, edges with their attributes."""
    graph = analysis.graph
    nodes = [{"id": node, **_node_data(analysis, node, graph.nodes[node])} for node in sorted(graph.nodes)]
    edges = sorted(
        ({"source": u, "target": v, **data} for u, v, data in graph.edges(data=True)),
        key=lambda e: json.dumps(e, sort_keys=True, ensure_ascii=False),
    )
    document = {
        "format": GRAPH_FORMAT,
        "kb_version": __version__,
        "title": cite.kb_title(analysis),
        "directed": True,
        "multigraph": True,
        "nodes": nodes,
        "edges": edges,
    }
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def graph_from_json(text: str) -> nx.MultiDiGraph:
    """Read :func:`graph_json` back: the same nodes and edges, claims and sources as models
    (attribute ``model``) validated again, so the data is what the files said."""
    document = json.loads(text)
    if document.get("format") != GRAPH_FORMAT:
        raise ValueError(f"not a {GRAPH_FORMAT} document")
    graph = nx.MultiDiGraph()
    for node in document["nodes"]:
        attrs = {key: value for key, value in node.items() if key not in ("id", "data")}
        if "data" in node:
            model = Claim if node["kind"] == "claim" else Source
            attrs["model"] = model.model_validate_json(json.dumps(node["data"]))
        graph.add_node(node["id"], **attrs)
    for edge in document["edges"]:
        attrs = {key: value for key, value in edge.items() if key not in ("source", "target")}
        graph.add_edge(edge["source"], edge["target"], **attrs)
    return graph


# ----------------------------------------------------------------------------- graphml
def _scalar(value: object) -> str | int | float | bool | None:
    """GraphML holds scalars only: lists and mappings become JSON text, None is left out."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float)):
        return float(value)  # one type per attribute key (GraphML declares it once)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def graphml(analysis: Analysis) -> str:
    """The graph as GraphML with scalar attributes: a ``label`` on every node, the claims'
    figure, status and origins, the sources' title and publisher, each edge's relation."""
    graph = analysis.graph
    out = nx.MultiDiGraph()
    for node in sorted(graph.nodes):
        data = _node_data(analysis, node, graph.nodes[node])
        fields = data.pop("data", {})
        attrs: dict = {"kind": data["kind"]}
        if data["kind"] == "claim":
            attrs["label"] = node.removeprefix("claim:")
            for key in ("statement", "kind", "subject", "metric", "unit", "period", "claimant", "stated", "tags"):
                attrs["claim_kind" if key == "kind" else key] = fields.get(key)
            value = fields.get("value")
            if isinstance(value, list):
                attrs["value_low"], attrs["value_high"] = value
            else:
                attrs["value"] = value
            attrs["figure"] = analysis.corpus.claims[attrs["label"]].model.figure()
            attrs["status"] = data["status"]
            attrs["independent_origins"] = data["independent_origins"]
            attrs["verdict"] = (fields.get("verdict") or {}).get("rating")
            attrs["url"] = cite.page_url(analysis, attrs["label"])
        elif data["kind"] == "source":
            attrs["label"] = node.removeprefix("source:")
            for key in ("title", "type", "publisher", "url", "language", "published", "authors"):
                attrs[key] = fields.get(key) or None
        else:
            attrs["label"] = data.get("name", node)
            attrs["aliases"] = data.get("aliases") or None
        out.add_node(node, **{k: _scalar(v) for k, v in attrs.items() if _scalar(v) is not None})
    for u, v, key, data in sorted(graph.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2])):
        out.add_edge(u, v, key=key, **{k: _scalar(val) for k, val in data.items() if _scalar(val) is not None})
    buffer = io.BytesIO()
    nx.write_graphml(out, buffer, encoding="utf-8", prettyprint=True)
    return buffer.getvalue().decode("utf-8")


# ----------------------------------------------------------------------------- ClaimReview
# The ClaimReview scale as numbers (1 worst, 5 best); "unverifiable" has no number.
_RATINGS = {"accurate": 5, "mostly-accurate": 4, "mixed": 3, "misleading": 2, "inaccurate": 1}


def claimreview(analysis: Analysis) -> str:
    """schema.org ClaimReview JSON-LD (one ``@graph``) for every claim with a verdict."""
    title = cite.kb_title(analysis)
    reviewer: dict = {"@type": "Organization", "name": title}
    if analysis.settings.base_url:
        reviewer["url"] = analysis.settings.base_url
    people = {name for record in analysis.corpus.sources.values() for name in record.model.authors}
    reviews = []
    for id_ in _claim_ids(analysis):
        claim = analysis.corpus.claims[id_].model
        if not claim.verdict:
            continue
        rating: dict = {"@type": "Rating", "alternateName": claim.verdict.rating}
        if claim.verdict.rating in _RATINGS:
            rating.update(ratingValue=_RATINGS[claim.verdict.rating], bestRating=5, worstRating=1)
        item: dict = {"@type": "Claim", "name": claim.statement}
        if claim.claimant:
            kind = "Person" if claim.claimant in people else "Organization"
            item["author"] = {"@type": kind, "name": claim.claimant}
        if claim.stated:
            item["datePublished"] = str(claim.stated)
        appearances = []
        for line in cite.evidence_lines(analysis, id_):
            if line.url and line.url not in [a["url"] for a in appearances]:
                appearances.append({"@type": "CreativeWork", "url": line.url, "headline": line.source_title})
        if appearances:
            item["appearance"] = appearances
        review: dict = {
            "@type": "ClaimReview",
            "@id": cite.page_url(analysis, id_) or cite.claim_key(id_),
            "identifier": cite.claim_key(id_),
            "claimReviewed": claim.statement,
            "author": reviewer,
            "reviewRating": rating,
            "itemReviewed": item,
        }
        if url := cite.page_url(analysis, id_):
            review["url"] = url
        if claim.verdict.reviewed:
            review["datePublished"] = str(claim.verdict.reviewed)
        if claim.verdict.rationale:
            review["reviewBody"] = claim.verdict.rationale
        reviews.append(review)
    return json.dumps({"@context": "https://schema.org", "@graph": reviews}, ensure_ascii=False, indent=2) + "\n"


EXPORTS: dict[str, Callable[[Analysis], str]] = {
    "csl-json": csl_json,
    "bibtex": bibtex,
    "json": graph_json,
    "graphml": graphml,
    "claimreview": claimreview,
}
SUFFIXES = {
    "csl-json": ".csl.json",
    "bibtex": ".bib",
    "json": ".graph.json",
    "graphml": ".graphml",
    "claimreview": ".claimreview.jsonld",
}


def export(analysis: Analysis, fmt: str) -> str:
    """The knowledge base in one of :data:`EXPORTS`."""
    return EXPORTS[fmt](analysis)
