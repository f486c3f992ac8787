"""The pipeline up to the findings: settings → files → models → graph → checks → status.

Usage (the README's "Library" section has more)::

    result = analyse(Path("."))
    result.status["openai-2024-net-loss-projected"]   # 'supported'
    [f for f in result.findings if f.fails]            # unacknowledged errors
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kb.checks import CheckContext, acknowledgements, finish, raw_findings, with_severities
from kb.checks.numbers import LISTED
from kb.findings import Finding
from kb.graph import add_detected_contradiction, build_graph, compute_status, independent_origins
from kb.load import Corpus, load_corpus
from kb.progress import Progress, quiet
from kb.settings import Settings, load_settings

if TYPE_CHECKING:  # (networkx is imported where a graph is made: an update after a note edit makes none)
    import networkx as nx

__all__ = ["Analysis", "analyse", "analyse_settings", "detected_contradictions"]

_DETECTED = {"KB301", "KB304"}


@dataclass
class Analysis:
    settings: Settings
    corpus: Corpus
    graph: nx.MultiDiGraph
    findings: list[Finding]
    today: date
    status: dict[str, str] = field(default_factory=dict)
    origins: dict[str, int] = field(default_factory=dict)
    # values derived from the whole analysis once, by the modules that read it (kb.cite's
    # superseders, say), instead of once per claim
    derived: dict = field(default_factory=dict, repr=False, compare=False)
    # the findings before acknowledgements and severities, with ``incremental`` (kb.incremental
    # keeps them per file)
    raw: list[Finding] = field(default_factory=list, repr=False, compare=False)


def analyse(
    root: Path, *, today: date | None = None, require_snapshots: bool = False, progress: Progress | None = None
) -> Analysis:
    """Load, check and annotate the knowledge base at ``root``."""
    return analyse_settings(load_settings(root), today=today, require_snapshots=require_snapshots, progress=progress)


def analyse_settings(
    settings: Settings,
    *,
    today: date | None = None,
    require_snapshots: bool = False,
    progress: Progress | None = None,
    cache: bool | None = None,
    render: bool = False,
    annotate: bool = True,
    incremental: bool = False,
    keep_hashes: bool = True,
) -> Analysis:
    """``cache=False`` (or ``KB_NO_CACHE=1``) reads and parses every file again; ``render``
    renders the Markdown bodies as well (what a build writes; in parallel, and cached).
    ``annotate=False`` stops at the findings (``kb check``): no detected contradiction edges,
    ``status`` and ``origins`` left empty (1.5 s of a check at 100k claims). ``incremental``:
    keep what :mod:`kb.incremental`'s state is made of (``raw``, ``corpus.loaded``, and
    ``corpus.hashes`` unless not ``keep_hashes``: 20 MB at 100k claims that a build takes
    from the cache's manifest instead)."""
    progress = progress or quiet()
    # 1. read every file and validate it (KB001-KB007 collected, nothing raised)
    with progress.stage("load"):
        corpus = load_corpus(
            settings, cache=cache, progress=progress, render=render, incremental=incremental, keep_hashes=keep_hashes
        )
    # 2. the graph of declared relations
    with progress.stage("graph"):
        graph = build_graph(corpus)
    # 3. the checks, with severities and acknowledgements applied
    day = today or settings.today or date.today()
    with progress.stage("checks"):
        ctx = CheckContext(corpus, graph, day, require_snapshots)
        # the severities first (kb.incremental keeps them so): finishing then copies only the
        # acknowledged findings, and kept raw findings are the reported ones, not a second
        # copy of each (40,000 findings at 100k claims: 15 MB at the build's peak)
        raw = with_severities(raw_findings(ctx), settings)
        findings = finish(raw, settings, acknowledgements(corpus))
        # the checks' indexes (groups of figures, quotes by source…) are done with: freed
        # before the detected edges and the statuses are made, which reuse their memory
        del ctx
    if not annotate:
        return Analysis(settings, corpus, graph, findings, day, raw=raw if incremental else [])
    # 4. contradictions the checks detected become edges, so that they count for status; an
    #    acknowledged one has been judged by the editors (e.g. "different spans, not a
    #    disagreement") and stays a finding only
    with progress.stage("status", total=len(corpus.claims)):
        _add_detected(graph, findings)
        # 5. computed attributes of every claim
        result = Analysis(settings, corpus, graph, findings, day, raw=raw if incremental else [])
        for id_ in corpus.claims:
            result.status[id_] = compute_status(graph, id_)
            result.origins[id_] = independent_origins(graph, id_)
            progress.advance()
    return result


def _add_detected(graph: nx.MultiDiGraph, findings: list[Finding]) -> None:
    for claim, other, note in detected_contradictions(findings):
        add_detected_contradiction(graph, claim, other, note)


def detected_contradictions(findings: list[Finding]) -> list[tuple[str, str, str]]:
    """(claim, other claim, note) for each contradiction the checks detected: one edge from
    the claim a KB301 / KB304 is reported on to each other claim its message names, and one
    more to any other claim no edge reaches yet: every claim of a detected conflict is
    contested, with edges linear in the findings (a group of 2,000 disagreeing figures has
    2,000,000 pairs). In the findings' order; the claims of a finding are of one group of
    figures, so a group's edges depend on its own findings only (kb.database.records)."""
    edges = []
    linked: set[str] = set()
    for finding in findings:
        if finding.code not in _DETECTED or not finding.claim_id or finding.acknowledged:
            continue
        others = finding.other_claim_ids or ((finding.other_claim_id,) if finding.other_claim_id else ())
        for index, other in enumerate(others):
            if index < LISTED or other not in linked or finding.claim_id not in linked:
                edges.append((finding.claim_id, other, finding.message))
                linked |= {finding.claim_id, other}
    return edges
