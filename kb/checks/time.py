"""Time rules: anachronisms (KB204) and overdue predictions (KB401).

Both depend on dates: KB401 on "today", which is ``--today``, else ``today`` in the
settings, else the current date, so that a test or a golden file can fix it.
"""

from __future__ import annotations

from collections.abc import Iterator

from kb.checks.context import CheckContext
from kb.findings import Finding
from kb.units import is_level, normal_unit

__all__ = ["awaits_outcome", "check_anachronisms", "check_overdue_predictions", "settles"]


def settles(claim) -> bool:
    """Whether a claim may settle a projection of its entity, metric and qualifiers (KB401's
    candidates: a fact or an estimate with a period)."""
    return claim.kind in ("fact", "estimate") and claim.period is not None


def awaits_outcome(claim) -> bool:
    """Whether KB401 looks for a claim's candidate outcomes (a projection or a prediction of
    a metric)."""
    return claim.kind in ("projection", "prediction") and bool(claim.metric)


def check_anachronisms(ctx: CheckContext) -> Iterator[Finding]:
    """KB204: a source citing a later source; a fact stated before its figure could be known."""
    sources = ctx.corpus.sources
    for record in sources.values():
        published = record.model.published
        for index, cited in enumerate(record.model.cites):
            other = sources.get(cited)
            if published and other and other.model.published and other.model.published.start > published.end:
                line, column = record.position("cites", index)
                message = f"cites `{cited}`, published {other.model.published}, after this source ({published})"
                yield Finding("KB204", message, record.path, line, column, source_id=record.id)
    for record in ctx.corpus.claims.values():
        claim = record.model
        if claim.kind != "fact" or not claim.period or not claim.stated:
            continue
        # A flow (revenue, loss, cost) is known only once its period is over; a level (a valuation,
        # a price, a count) or an event can be stated during its period, but not before it starts.
        flow = bool(claim.metric and claim.unit) and not is_level(claim.metric, normal_unit(claim.unit)[0])
        if (claim.period.end if flow else claim.period.start) > claim.stated.end:
            line, column = record.position("period")
            when = "was not over" if flow else "had not begun"
            message = f"a fact about {claim.period}, which {when} when it was stated ({claim.stated}): a projection or an estimate?"
            yield Finding("KB204", message, record.path, line, column, claim_id=record.id)


def check_overdue_predictions(ctx: CheckContext) -> Iterator[Finding]:
    """KB401: a projection or prediction whose period has ended, and nothing resolves it."""
    claims = ctx.corpus.claims
    resolved = {r.model.resolves.claim for r in claims.values() if r.model.resolves}
    for record in claims.values():
        claim = record.model
        if claim.kind not in ("projection", "prediction") or claim.period is None or record.id in resolved:
            continue
        if claim.period.end >= ctx.today:
            continue
        message = f"{claim.kind} for {claim.period}: the period has ended (today is {ctx.today.isoformat()}) and no claim resolves it"
        candidates = _candidate_outcomes(ctx, record)
        if candidates:
            message += "; " + ", ".join(f"`{c}`" for c in candidates[:3]) + " may settle it (add `resolves`)"
        line, column = record.position("period")
        yield Finding("KB401", message, record.path, line, column, claim_id=record.id)


def _candidate_outcomes(ctx: CheckContext, record) -> list[str]:
    """The ids of the facts and estimates that may settle a projection, sorted: same entity,
    metric and qualifiers, an overlapping period. Looked up in an index built once per run
    (entity, metric key -> period -> sorted ids), not by scanning every claim."""
    claim = record.model
    if not awaits_outcome(claim):
        return []
    periods = _outcome_index(ctx).get((ctx.entity_of(record.id), ctx.metric_key(record)), {})
    start, end = claim.period.start, claim.period.end
    found = [ids for (low, high), ids in periods.items() if low <= end and start <= high]
    return sorted(id_ for ids in found for id_ in ids)


def _outcome_index(ctx: CheckContext) -> dict[tuple, dict]:
    index = ctx.cache.get("outcomes")
    if index is None:
        index = {}
        for other in ctx.corpus.claims.values():
            if settles(other.model):
                key = (ctx.entity_of(other.id), ctx.metric_key(other))
                period = other.model.period
                index.setdefault(key, {}).setdefault((period.start, period.end), []).append(other.id)
        ctx.cache["outcomes"] = index
    return index
