"""The rows a build after frontmatter edits writes, from a re-check instead of an analysis.

When claim files changed their frontmatter (a figure, a period, a quote, a relation) but
kept their path, id and subject, and no source changed its frontmatter, the database a full
build would write differs from the current one in rows that :func:`kb.incremental.recheck`
already reaches:

- the ``claims`` rows of its region (every file that reads what the edited files wrote:
  their group of comparable figures, the claims they refer to and that refer to them): a
  claim's status, independent origins and citation read its own evidence, its sources and
  the claims related to it, and each of those is a key the incremental check tracks;
- the ``evidence`` rows and the declared ``claim_links`` of the edited claims;
- the detected contradictions (``claim_links`` of origin ``detected``) from claims of the
  region: they come from the findings of each group of comparable figures, all of whose
  claims are in the region when its findings may have changed;
- the ``findings``, taken whole from the re-check;
- tables computed from those (``metrics`` counts, ``track_record``) and ``kb_build``.

This module computes those rows (:func:`record_rows`); :mod:`kb.database.update` compares
them with the database's and writes the difference. The region's rows are computed on the
re-check's corpus (the region and every file it reads) and graph, with the detected
contradictions that reach the region added; entity names come from the database
(a subject's name is the spelling of the first claim that uses it, in the whole knowledge
base). Sources, entities and source links cannot change without a source edit or a subject
edit, which are full builds; so is a duplicated id (where it first appears orders the
corpus). ``tests/test_update_build.py`` compares every row with a clean build after random
edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kb.analyse import Analysis, detected_contradictions
from kb.graph import (
    add_detected_contradiction,
    claim_entities,
    claim_node,
    compute_status,
    independent_origins,
)
from kb.incremental import Rechecked

__all__ = ["RecordRows", "record_rows"]


@dataclass
class RecordRows:
    """The rows of one build after frontmatter edits, by table."""

    claims: dict[str, dict]  # claim id -> its row, for every claim of the region
    evidence: dict[str, list[dict]]  # edited claim id -> its evidence rows
    declared: dict[str, list[dict]]  # edited claim id -> its declared claim_links rows
    detected: list[dict]  # the detected contradictions from a claim of the region
    findings: list[dict]  # every finding row
    reported: int  # the findings reported (kb_build.findings counts them before duplicates go)


def record_rows(rechecked: Rechecked, today: date, edited: set[str], entity_names: dict[str, str], held) -> RecordRows:
    """The rows that may differ after the re-check ``rechecked`` of edited claims (``edited``:
    their ids); ``entity_names``: the database's (the same before and after: subjects are
    unchanged); ``held(table, ids)``: which of ``ids`` the database's ``claims`` or ``sources``
    holds (the same before and after: no id changed)."""
    from kb.database import rows as table_rows

    corpus, graph = rechecked.corpus, rechecked.graph
    assert corpus is not None and graph is not None  # (a frontmatter edit: something was re-checked)
    findings = rechecked.findings
    detected = detected_contradictions(findings)
    region = [
        record
        for kind, path, loaded in corpus.loaded
        if kind == "claim"
        and path in rechecked.region
        and (record := loaded.record) is not None
        and corpus.claims.get(record.id) is record
    ]
    ids = {record.id for record in region}
    for claim, other, note in detected:
        if claim in ids or other in ids:  # an end outside the re-check's corpus: a bare node
            for end in (claim, other):
                if claim_node(end) not in graph:
                    graph.add_node(claim_node(end), kind="claim")
            add_detected_contradiction(graph, claim, other, note)
    for node, kind in graph.nodes(data="kind"):
        if kind == "entity" and (name := entity_names.get(node.removeprefix("entity:"))) is not None:
            graph.nodes[node]["name"] = name
    analysis = Analysis(corpus.settings, corpus, graph, findings, today)
    for id_ in ids:
        analysis.status[id_] = compute_status(graph, id_)
        analysis.origins[id_] = independent_origins(graph, id_)
    entities = claim_entities(graph)
    claims = {record.id: table_rows.claim_row(analysis, record, entities) for record in region}
    evidence = {id_: [] for id_ in edited}
    for row in table_rows.evidence_rows(analysis, [corpus.claims[id_] for id_ in edited]):
        evidence[row["claim_id"]].append(row)
    declared: dict[str, list[dict]] = {id_: [] for id_ in edited}
    for row in table_rows.claim_link_rows(graph, [claim_node(id_) for id_ in sorted(edited)]):
        if row["origin"] == "declared":
            declared[row["from_claim"]].append(row)
    claim_ids = {id_ for finding in findings for id_ in (finding.claim_id, finding.other_claim_id) if id_}
    return RecordRows(
        claims=claims,
        evidence=evidence,
        declared=declared,
        # a group's detected contradictions depend on its findings only, and every claim of
        # a group whose findings changed is in the region (all read the group's key)
        detected=list(table_rows.detected_link_rows(edge for edge in detected if edge[0] in ids)),
        findings=list(
            table_rows.finding_rows(
                findings,
                held("claims", claim_ids),
                held("sources", {finding.source_id for finding in findings if finding.source_id}),
            )
        ),
        reported=len(findings),
    )
