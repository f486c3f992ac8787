"""The graph: nodes, edges, entities with aliases, status and independent origins."""

from __future__ import annotations

EVIDENCE = """evidence:
  - source: relay-a
    quote: "x"
    via: original
  - source: relay-b
    via: original
  - source: translation
"""


def test_nodes_and_edges(minimal):
    graph = minimal.analyse().graph
    assert graph.nodes["claim:openai-2024-net-loss"]["kind"] == "claim"
    assert graph.nodes["source:outlet-report"]["kind"] == "source"
    assert graph.nodes["entity:openai"] == {"kind": "entity", "name": "OpenAI", "aliases": []}
    relations = sorted((u, v, d["relation"]) for u, v, d in graph.edges(data=True))
    assert relations == [
        ("claim:openai-2024-net-loss", "entity:openai", "about"),
        ("claim:openai-2024-net-loss", "source:outlet-report", "evidence"),
    ]


def test_aliases_resolve_to_one_entity(kb):
    kb.settings('[entities.anthropic]\nname = "Anthropic"\naliases = ["Anthopic", "Anterior"]\n')
    kb.source()
    kb.claim(
        "a", text="---\nid: a\nstatement: s\nkind: fact\nsubject: Anthopic\nevidence: [{source: outlet-report}]\n---\n"
    )
    kb.claim(
        "b", text="---\nid: b\nstatement: s\nkind: fact\nsubject: anthropic\nevidence: [{source: outlet-report}]\n---\n"
    )
    graph = kb.analyse().graph
    assert sorted(u for u, v, r in graph.edges(data="relation") if v == "entity:anthropic") == ["claim:a", "claim:b"]
    assert [n for n in graph if n.startswith("entity:")] == ["entity:anthropic"]
    # the edges to an entity are what add_edge would make (key 0, both adjacencies), and
    # share one attribute dict (kb.graph._add_entities: memory at 100k claims)
    made = type(graph)()
    made.add_edge("claim:a", "entity:anthropic", relation="about")
    assert graph.succ["claim:a"]["entity:anthropic"] == made.succ["claim:a"]["entity:anthropic"]
    assert graph.pred["entity:anthropic"]["claim:a"] == made.pred["entity:anthropic"]["claim:a"]
    assert graph.in_degree("entity:anthropic") == 2 and graph.has_edge("claim:a", "entity:anthropic", key=0)
    assert graph.get_edge_data("claim:a", "entity:anthropic") == {0: {"relation": "about"}}
    assert graph.edges["claim:a", "entity:anthropic", 0] is graph.edges["claim:b", "entity:anthropic", 0]
    assert "entity:anthropic" in graph.successors("claim:b") and "claim:b" in graph.predecessors("entity:anthropic")


def test_independent_origins_follow_via_and_translations(kb):
    kb.source()
    kb.source("original")
    kb.source("relay-a", extra="cites: [original]\n")
    kb.source("relay-b")
    kb.source("translation", extra="translation_of: original\n")
    kb.claim("c", extra=EVIDENCE.replace("evidence:\n", ""), folder="x")
    result = kb.analyse()
    assert result.origins["c"] == 2  # outlet-report and `original` (via twice, and the translation)
    kb.claim(
        "c",
        text=kb.root.joinpath("claims/x/c.md")
        .read_text()
        .replace('  - source: outlet-report\n    quote: "lose 5 billion"\n', ""),
        folder="x",
    )
    result = kb.analyse()
    assert result.origins["c"] == 1
    assert sorted(f.code for f in result.findings if f.claim_id == "c") == ["KB202", "KB401"]


def test_status_order(kb):
    kb.source()
    base = "---\nid: {id}\nstatement: s\nkind: fact\n{extra}---\n"
    cases = {
        "plain": "",
        "backed": "evidence: [{source: outlet-report}]\n",
        "refuted-only": "evidence: [{source: outlet-report, stance: refutes}]\n",
        "both": "evidence: [{source: outlet-report}, {source: outlet-report, stance: refutes}]\n",
        "rated": "evidence: [{source: outlet-report}]\nverdict: {rating: inaccurate}\n",
        "old": "evidence: [{source: outlet-report}]\n",
        "new": "evidence: [{source: outlet-report}]\nsupersedes: old\ncontradicts: [backed]\n",
        "mentioned": "evidence: [{source: outlet-report, stance: mentions}]\n",
    }
    for id_, extra in cases.items():
        kb.claim(id_, text=base.format(id=id_, extra=extra), folder="x")
    status = kb.analyse().status
    assert status == {
        "backed": "contested",
        "both": "contested",
        "mentioned": "unsupported",
        "new": "contested",
        "old": "superseded",
        "plain": "unsupported",
        "rated": "refuted",
        "refuted-only": "refuted",
    }


def test_detected_contradictions_are_edges(kb):
    kb.source()
    kb.claim("a", folder="x")
    kb.claim("b", folder="x", extra="").write_text(
        kb.root.joinpath("claims/x/a.md")
        .read_text()
        .replace("id: a", "id: b")
        .replace("5 billion", "3 billion")
        .replace("2024-07-24", "2024-08-01")
    )
    result = kb.analyse()
    edges = [(u, v, d["origin"]) for u, v, d in result.graph.edges(data=True) if d["relation"] == "contradicts"]
    assert edges == [("claim:b", "claim:a", "detected")]
    assert result.status["a"] == result.status["b"] == "contested"
