"""Evidence rules: claims without evidence, single origins, quotes absent from snapshots."""

from __future__ import annotations

from collections.abc import Iterator

from kb.checks.context import CheckContext, normalise_text
from kb.findings import Finding
from kb.graph import evidence_origin

__all__ = ["check_no_evidence", "check_quotes", "check_single_origin"]


def check_no_evidence(ctx: CheckContext) -> Iterator[Finding]:
    """KB201: a claim with no evidence that is not derived from other claims."""
    for record in ctx.corpus.claims.values():
        claim = record.model
        if not claim.evidence and claim.derived_from is None:
            line, column = record.position("id")
            yield Finding(
                "KB201", f"claim `{record.id}` has no evidence", record.path, line, column, claim_id=record.id
            )


def check_single_origin(ctx: CheckContext) -> Iterator[Finding]:
    """KB202: several supporting sources, one independent origin."""
    for record in ctx.corpus.claims.values():
        supporting = [e for e in record.model.evidence if e.stance == "supports" and e.source in ctx.corpus.sources]
        sources = {e.source for e in supporting}
        origins = {evidence_origin(ctx.graph, e.source, e.via) for e in supporting}
        if len(sources) > 1 and len(origins) == 1:
            line, column = record.key_position("evidence")
            message = f"{len(sources)} supporting sources all trace back to one origin, `{origins.pop()}`"
            yield Finding("KB202", message, record.path, line, column, claim_id=record.id)


def check_quotes(ctx: CheckContext) -> Iterator[Finding]:
    """KB203: a quote absent from its source's snapshot."""
    missing_reported: set[str] = set()
    for record in ctx.corpus.claims.values():
        for index, item in enumerate(record.model.evidence):
            source = ctx.corpus.sources.get(item.source)
            if not item.quote or source is None or not source.model.snapshot:
                continue
            name = source.model.snapshot
            text = ctx.snapshot_text(name)
            if text is None:
                if name not in missing_reported:
                    missing_reported.add(name)
                    yield _missing_snapshot(ctx, source, name)
                continue
            if normalise_text(item.quote) not in text:
                line, column = record.position("evidence", index, "quote")
                message = f"quote not found in the snapshot `{name}` of `{item.source}`"
                yield Finding("KB203", message, record.path, line, column, claim_id=record.id, key=item.quote)


def _missing_snapshot(ctx: CheckContext, source, name: str) -> Finding:
    folders = ", ".join(str(p) for p in ctx.settings.snapshots) or "none configured"
    severity = "error" if ctx.require_snapshots else "info"
    line, column = source.position("snapshot")
    message = (
        f"snapshot `{name}` not found in the snapshot folders ({folders}): quotes citing `{source.id}` are not verified"
    )
    return Finding("KB203", message, source.path, line, column, source_id=source.id, severity=severity)
