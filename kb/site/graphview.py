"""The graph around a claim, source or entity, read from the database and drawn as SVG.

The neighbourhood is read from the tables the build wrote (the site has the database, not
the Markdown files): evidence (claim → source, with its stance), via (the source → the outlet
it relays), cites and translation_of (source → source), contradicts, supports, derived_from,
supersedes and resolves (claim → claim) and about (claim → entity).

Layout: concentric rings around the focus, by distance. The first ring is ordered by kind,
metric and period, so claims about one metric sit together; each node of the second ring is
placed at the mean angle of its neighbours in the first, which keeps edges short. No
randomness: the same database draws the same picture. Drawn on the server, as for the charts:
no script, nothing fetched.
"""

from __future__ import annotations

import math
import sqlite3
from html import escape

import networkx as nx

__all__ = ["EDGE_STYLES", "STATUS_COLOURS", "graph_svg", "layout", "neighbourhood", "read_graph"]

STATUS_COLOURS = {
    "supported": "#16a34a",
    "contested": "#f59e0b",
    "refuted": "#dc2626",
    "superseded": "#9ca3af",
    "unsupported": "#d1d5db",
}
SOURCE_COLOURS = {"translation": "#93c5fd", "default": "#2563eb"}
ENTITY_COLOUR = "#7c3aed"
# relation -> (colour, dash, width, label)
EDGE_STYLES = {
    "supports-evidence": ("#16a34a", "", 1.4, "evidence that supports"),
    "refutes-evidence": ("#dc2626", "", 1.8, "evidence that refutes"),
    "mentions-evidence": ("#9ca3af", "2 3", 1.2, "evidence that mentions"),
    "via": ("#7c3aed", "5 3", 1.4, "relays (via)"),
    "cites": ("#64748b", "4 3", 1.2, "cites"),
    "translation_of": ("#0891b2", "", 1.6, "translation of"),
    "contradicts": ("#dc2626", "6 3", 2.4, "contradicts"),
    "supports": ("#16a34a", "6 3", 1.6, "claim supports claim"),
    "derived_from": ("#b45309", "", 1.6, "derived from"),
    "supersedes": ("#374151", "", 1.6, "supersedes"),
    "resolves": ("#0f766e", "", 1.8, "resolves"),
    "about": ("#e5e7eb", "", 1.0, "about (entity)"),
}
MAX_NODES = 320
MAX_FIRST_RING = 220


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def read_graph(conn: sqlite3.Connection) -> nx.MultiDiGraph:
    """The whole claim-source-entity graph of the database."""
    graph = nx.MultiDiGraph()
    for id_, statement, figure, status, kind, metric, period, entity_id in conn.execute(
        "select id, statement, figure, status, kind, metric, period_start, entity_id from claims"
    ):
        graph.add_node(
            f"claim:{id_}",
            kind="claim",
            id=id_,
            label=statement,
            figure=figure,
            status=status,
            claim_kind=kind,
            sort=(metric or "~", period or "", id_),
        )
        if entity_id:
            graph.add_edge(f"claim:{id_}", f"entity:{entity_id}", relation="about")
    for id_, title, type_, publisher in conn.execute("select id, title, type, publisher from sources"):
        graph.add_node(
            f"source:{id_}", kind="source", id=id_, label=title, publisher=publisher, type=type_, sort=("", "", id_)
        )
    for id_, name in conn.execute("select id, name from entities"):
        graph.add_node(f"entity:{id_}", kind="entity", id=id_, label=name, sort=("", "", id_))
    for claim_id, source_id, via, stance in conn.execute(
        "select claim_id, source_id, via, stance from evidence order by claim_id, position"
    ):
        graph.add_edge(f"claim:{claim_id}", f"source:{source_id}", relation=f"{stance}-evidence")
        if via:
            graph.add_edge(f"source:{source_id}", f"source:{via}", relation="via")
    for source_id, target_id, relation in conn.execute("select source_id, target_id, relation from source_links"):
        graph.add_edge(f"source:{source_id}", f"source:{target_id}", relation=relation)
    for start, end, relation, origin in conn.execute(
        "select from_claim, to_claim, relation, origin from claim_links order by id"
    ):
        graph.add_edge(f"claim:{start}", f"claim:{end}", relation=relation, origin=origin)
    # the about edges point at entities the entities table lists; drop any dangling node
    graph.remove_nodes_from([n for n, data in list(graph.nodes(data=True)) if "kind" not in data])
    return graph


def neighbourhood(graph: nx.MultiDiGraph, focus: str, max_nodes: int = MAX_NODES) -> tuple[nx.MultiDiGraph, dict]:
    """The nodes within two steps of ``focus`` (at most ``max_nodes``: the second ring is cut
    first, keeping its best-connected nodes) and every edge between them; and each node's ring."""
    undirected = graph.to_undirected(as_view=True)
    rings = {focus: 0}
    first = sorted(set(undirected.neighbors(focus)) - {focus}, key=lambda n: graph.nodes[n]["sort"])
    for node in first[: min(max_nodes - 1, MAX_FIRST_RING)]:
        rings[node] = 1
    candidates: dict[str, int] = {}
    for node in first:
        if node not in rings:
            continue
        for other in undirected.neighbors(node):
            if other not in rings:
                candidates[other] = candidates.get(other, 0) + 1
    room = max_nodes - len(rings)
    for node in sorted(candidates, key=lambda n: (-candidates[n], n))[: max(room, 0)]:
        rings[node] = 2
    return graph.subgraph(rings).copy(), rings


def layout(sub: nx.MultiDiGraph, rings: dict, spacing: float = 18.0) -> tuple[dict, float]:
    """Positions (x, y) around (0, 0), and the radius of the outer ring."""
    positions = {}
    angles: dict[str, float] = {}
    radius = 0.0
    by_ring: dict[int, list[str]] = {}
    for node, ring in rings.items():
        by_ring.setdefault(ring, []).append(node)
    undirected = sub.to_undirected(as_view=True)
    for ring in sorted(by_ring):
        nodes = by_ring[ring]
        if ring == 0:
            positions[nodes[0]] = (0.0, 0.0)
            continue
        if ring == 1:
            kind_order = {"claim": 0, "source": 1, "entity": 2}
            nodes.sort(key=lambda n: (kind_order[sub.nodes[n]["kind"]], sub.nodes[n]["sort"]))
            wanted = {n: i / len(nodes) * 2 * math.pi for i, n in enumerate(nodes)}
        else:

            def mean_angle(node: str) -> float:
                inner = [angles[m] for m in undirected.neighbors(node) if m in angles]
                if not inner:
                    return 0.0
                return math.atan2(sum(math.sin(a) for a in inner), sum(math.cos(a) for a in inner)) % (2 * math.pi)

            nodes.sort(key=lambda n: (mean_angle(n), sub.nodes[n]["sort"]))
            # spread evenly but keep each near its wanted angle: even slots in that order, rotated
            # so the first sits at its wanted angle
            offset = mean_angle(nodes[0]) if nodes else 0.0
            wanted = {n: offset + i / len(nodes) * 2 * math.pi for i, n in enumerate(nodes)}
        needed = len(nodes) * spacing / (2 * math.pi)
        radius = max(radius + 150.0, needed, 150.0 * ring)
        for node, angle in wanted.items():
            angles[node] = angle % (2 * math.pi)
            positions[node] = (radius * math.cos(angle - math.pi / 2), radius * math.sin(angle - math.pi / 2))
    return positions, radius


def _node_style(data: dict) -> tuple[str, str]:
    if data["kind"] == "claim":
        return STATUS_COLOURS.get(data.get("status"), "#d1d5db"), "circle"
    if data["kind"] == "source":
        return SOURCE_COLOURS.get(data.get("type"), SOURCE_COLOURS["default"]), "square"
    return ENTITY_COLOUR, "hexagon"


def _node_label(data: dict, limit: int) -> str:
    if data["kind"] == "claim":
        return _short(data.get("figure") or data["label"], limit)
    if data["kind"] == "source":
        return _short(data.get("publisher") or data["label"], limit)
    return _short(data["label"], limit)


def graph_svg(sub: nx.MultiDiGraph, rings: dict, focus: str, href) -> str:
    """The neighbourhood as SVG; ``href(kind, id)`` gives each node's link."""
    positions, radius = layout(sub, rings)
    margin = 240.0
    half = radius + margin
    size = 2 * half
    # the picture is shown about 900 pixels wide: scale marks and text with the drawing
    k = max(1.0, half / 450.0)
    counts = {ring: sum(1 for r in rings.values() if r == ring) for ring in (1, 2)}
    ring_one = counts[1]
    label_all = len(rings) <= 48
    out = [
        f'<svg class="kb-graph" xmlns="http://www.w3.org/2000/svg" viewBox="{-half:.0f} {-half:.0f} {size:.0f} {size:.0f}"'
        f' role="img" aria-label="graph around {escape(sub.nodes[focus]["id"])}">',
        '<g class="edges">',
    ]
    for start, end, data in sorted(sub.edges(data=True), key=lambda e: (e[2]["relation"] == "about", e[0], e[1])):
        if start == end:
            continue
        colour, dash, width, label = EDGE_STYLES.get(data["relation"], ("#9ca3af", "", 1.0, data["relation"]))
        (x1, y1), (x2, y2) = positions[start], positions[end]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        origin = f" ({data['origin']})" if data.get("origin") == "detected" else ""
        out.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}"'
            f' stroke-width="{width * k:.1f}"{dash_attr} data-relation="{escape(data["relation"])}">'
            f"<title>{escape(sub.nodes[start]['id'])} — {escape(label)}{origin} → {escape(sub.nodes[end]['id'])}</title>"
            "</line>"
        )
    out.append('</g><g class="nodes">')
    for node in sorted(rings, key=lambda n: -rings[n]):
        data = sub.nodes[node]
        x, y = positions[node]
        colour, shape = _node_style(data)
        ring = rings[node]
        size = k * (16.0 if ring == 0 else (9.0 if data["kind"] != "claim" or ring_one < 60 else 6.0))
        link = href(data["kind"], data["id"])
        tooltip = f"{data['kind']}: {data['label']}"
        if data["kind"] == "claim":
            tooltip += f" — {data.get('figure') or ''} [{data.get('status')}]"
        out.append(f'<a href="{escape(link)}" class="node node-{data["kind"]}" data-node="{escape(node)}">')
        out.append(f"<title>{escape(tooltip)}</title>")
        stroke = (
            f' stroke="#111827" stroke-width="{3 * k:.1f}"'
            if ring == 0
            else f' stroke="#ffffff" stroke-width="{1.5 * k:.1f}"'
        )
        if shape == "circle":
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}" fill="{colour}"{stroke}/>')
        elif shape == "square":
            out.append(
                f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size:.1f}" height="{2 * size:.1f}"'
                f' rx="3" fill="{colour}"{stroke}/>'
            )
        else:
            points = " ".join(
                f"{x + size * 1.15 * math.cos(math.pi / 3 * k):.1f},{y + size * 1.15 * math.sin(math.pi / 3 * k):.1f}"
                for k in range(6)
            )
            out.append(f'<polygon points="{points}" fill="{colour}"{stroke}/>')
        if ring == 0 or label_all or (ring > 0 and counts[ring] <= 60) or data["kind"] == "entity":
            limit = 48 if ring == 0 else 26
            text = escape(_node_label(data, limit))
            if ring == 0:
                out.append(
                    f'<text x="{x:.1f}" y="{y + size + 18 * k:.1f}" text-anchor="middle" font-size="{15 * k:.1f}"'
                    f' font-weight="600" fill="#111827" class="halo">{text}</text>'
                )
            else:
                angle = math.atan2(y, x)
                lx, ly = x + math.cos(angle) * (size + 5 * k), y + math.sin(angle) * (size + 5 * k) + 4 * k
                anchor = "start" if math.cos(angle) >= 0 else "end"
                out.append(
                    f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" font-size="{11 * k:.1f}" fill="#374151"'
                    f' class="halo">{text}</text>'
                )
        out.append("</a>")
    out.append("</g></svg>")
    return "".join(out)


def legend() -> dict:
    """What the colours and lines mean, for the page beside the graph."""
    return {
        "statuses": [{"name": name, "colour": colour} for name, colour in STATUS_COLOURS.items()],
        "edges": [
            {"relation": key, "colour": colour, "dash": dash, "width": width, "label": label}
            for key, (colour, dash, width, label) in EDGE_STYLES.items()
        ],
    }
