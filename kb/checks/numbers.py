"""Numeric rules: conflicts (KB301), units (KB302), arithmetic (KB303), outliers (KB304),
invalid ranges (KB305), the metric vocabulary (KB306).

Figures are compared like with like, after normalisation:

- the same entity (aliases resolved), metric (a metric alias declared in
  ``[tool.kb.metrics.NAME] aliases`` resolves to NAME) and qualifiers (``customer: OpenAI``
  is not compared with a figure without that qualifier);
- comparable kinds: a fact or an estimate against a fact or an estimate, a projection
  against a projection (a projection against the later fact is a resolution, KB401);
- comparable periods: for a *level* (a valuation, a price, an annualized revenue, a user
  count: any rate unit such as ``USD/month``, or ``percent``, ``count``, ``multiple``) any
  two overlapping periods; for a *flow* (revenue, loss, cost in ``USD``) the same period,
  since a year's revenue is not comparable with a quarter's;
- convertible units (``USD/year`` is a twelfth of ``USD/month``); values as intervals
  (a range is its bounds; an approximate figure is widened by the tolerance);
- a relative tolerance per metric (``[tool.kb.metrics.NAME] tolerance``, default 5%).

Two claims already related (contradicts, supersedes, resolves, derived_from, supports) are
never reported: the relation says the editors have seen it. A finding about two claims is
reported on the one stated later (then by id).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import combinations

from kb.checks.context import CheckContext
from kb.findings import Finding
from kb.formula import FormulaError, evaluate, names
from kb.graph import all_edges, claim_node
from kb.load import Record
from kb.suggest import closest
from kb.units import is_level, normal_unit
from kb.values import format_amount, format_quantity

__all__ = [
    "DEFAULT_TOLERANCE",
    "OUTLIER_RATIO",
    "check_arithmetic",
    "check_metric_vocabulary",
    "check_numeric_conflicts",
    "check_ranges",
    "check_units",
    "has_figure",
    "metric_tolerance",
    "unit_group",
    "widen",
]

DEFAULT_TOLERANCE = 0.05
OUTLIER_RATIO = 8.0  # "about 10× or more": 8× already is not rounding
_RELATIONS = {"contradicts", "supersedes", "resolves", "derived_from", "supports"}


def tolerance(ctx: CheckContext, metric: str | None) -> float:
    return metric_tolerance(ctx.settings, metric)


def metric_tolerance(settings, metric: str | None) -> float:
    """The metric's relative tolerance (``[tool.kb.metrics.NAME] tolerance``, aliases resolved), else the default."""
    config = settings.metric_settings(metric)
    return config.tolerance if config else DEFAULT_TOLERANCE


def related(ctx: CheckContext, a: str, b: str) -> bool:
    """True when the two claims are linked by any declared or detected relation."""
    graph = ctx.graph
    for start, end in ((claim_node(a), claim_node(b)), (claim_node(b), claim_node(a))):
        if graph.has_edge(start, end) and any(d["relation"] in _RELATIONS for d in graph[start][end].values()):
            return True
    return False


def later_first(a: Record, b: Record) -> tuple[Record, Record]:
    """(the claim stated later, the other): findings about a pair go on the later one."""

    return (a, b) if _stated_key(a) >= _stated_key(b) else (b, a)


def interval(record: Record, tol: float, convert: bool = True) -> tuple[float, float]:
    """The claim's value as an interval, in its comparison unit (unless ``convert`` is off),
    widened by the tolerance when the claim is approximate."""
    claim = record.model
    return widen(claim.value.bounds, claim.unit, claim.approximate, tol, convert)


def widen(bounds, unit: str, approximate: bool, tol: float, convert: bool = True) -> tuple[float, float]:
    """Bounds in the comparison unit of ``unit`` (unless ``convert`` is off), widened by the
    tolerance when approximate; also used by ``kb check-draft``."""
    factor = normal_unit(unit)[1] if convert else 1.0
    low, high = (bound * factor for bound in bounds)
    if approximate:
        low, high = low - abs(low) * tol, high + abs(high) * tol
    return low, high


def gap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The relative distance between two intervals: 0 when they overlap, else the distance
    between their nearest bounds relative to the larger of those two bounds.

    >>> gap((1, 2), (2, 3)), round(gap((4_400, 44_000), (400_000, 4_000_000)), 2), gap((95, 95), (100, 100))
    (0.0, 0.89, 0.05)
    """
    if a[0] <= b[1] and b[0] <= a[1]:
        return 0.0
    low, high = (a, b) if a[1] < b[0] else (b, a)
    near_low, near_high = low[1], high[0]
    scale = max(abs(near_low), abs(near_high))
    return (near_high - near_low) / scale if scale else 0.0


def ratio(a: tuple[float, float], b: tuple[float, float]) -> float:
    mid_a, mid_b = abs(sum(a) / 2), abs(sum(b) / 2)
    if not mid_a or not mid_b or (sum(a) > 0) != (sum(b) > 0):
        return 1.0
    return max(mid_a, mid_b) / min(mid_a, mid_b)


def _kind_group(kind: str) -> str:
    return "forecast" if kind in ("projection", "prediction") else "actual" if kind in ("fact", "estimate") else kind


def _comparable_pairs(metric: str, records: list[Record]) -> Iterator[tuple[int, int]]:
    """The pairs of claims whose figures can be compared (see the module docstring), as
    indexes into ``records``.

    Claims are bucketed by kind group, unit and, for flows, the exact period; levels are
    swept in order of period start, so the work grows with the pairs that overlap, not with
    the square of the group.
    """
    buckets: dict[tuple, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        claim = record.model
        if claim.kind == "opinion":
            continue
        unit = normal_unit(claim.unit)[0]
        level = is_level(metric, unit)
        period = None if level else (claim.period.start, claim.period.end)
        buckets[(_kind_group(claim.kind), unit, level, period)].append(index)
    for (_, _, level, _), items in buckets.items():
        if not level:
            yield from combinations(items, 2)
            continue
        items.sort(key=lambda i: (records[i].model.period.start, records[i].id))
        for position, first in enumerate(items):
            end = records[first].model.period.end
            for second in items[position + 1 :]:
                if records[second].model.period.start > end:
                    break
                yield first, second


def _apart(low: tuple[float, float], high: tuple[float, float], tol: float) -> bool:
    """True when the interval ``high`` lies above ``low`` by more than the tolerance
    (:func:`gap` > ``tol``)."""
    near_low, near_high = low[1], high[0]
    return near_high > near_low and (near_high - near_low) / max(abs(near_low), abs(near_high)) > tol


def _apart_pairs(metric: str, records: list[Record], bounds: list[tuple[float, float]], tol: float):
    """The comparable pairs (:func:`_comparable_pairs`) whose intervals are more than ``tol``
    apart, as indexes into ``records``, in no particular order.

    Output-sensitive: figures are grouped by bucket and exact period, each group sorted by its
    lower bounds; for each figure a binary search finds where the figures far enough above it
    begin (for tol < 1, once a higher figure is far enough, every higher one is). The work is
    n log n plus the pairs returned, not the square of a group of agreeing figures.
    """
    if not tol < 1:  # a wider tolerance is not monotone in the distance: compare every pair
        for i, j in _comparable_pairs(metric, records):
            if _apart(bounds[i], bounds[j], tol) or _apart(bounds[j], bounds[i], tol):
                yield i, j
        return
    for (_, _, level), periods in _period_groups(metric, records).items():
        order = sorted(periods)
        ranked = {p: sorted(periods[p], key=lambda i: bounds[i][0]) for p in order}
        lows = {p: [bounds[i][0] for i in ranked[p]] for p in order}
        for position, first in enumerate(order):
            yield from _above(ranked[first], ranked[first], lows[first], bounds, tol)
            if not level:
                continue  # flows: only the same period compares
            for second in order[position + 1 :]:
                if second[0] > first[1]:
                    break
                yield from _above(ranked[first], ranked[second], lows[second], bounds, tol)
                yield from _above(ranked[second], ranked[first], lows[first], bounds, tol)


def _period_groups(metric: str, records: list[Record]) -> dict[tuple, dict[tuple, list[int]]]:
    """(bucket of _comparable_pairs, level) -> (period start, end) -> indexes."""
    groups: dict[tuple, dict[tuple, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, record in enumerate(records):
        claim = record.model
        if claim.kind == "opinion":
            continue
        unit = normal_unit(claim.unit)[0]
        level = is_level(metric, unit)
        groups[(_kind_group(claim.kind), unit, level)][(claim.period.start, claim.period.end)].append(index)
    return {key: dict(periods) for key, periods in groups.items()}


_SLACK = 1e-9  # the binary search starts a little early; each pair is then tested exactly


def _above(items: list[int], ranked: list[int], lows: list[float], bounds, tol: float):
    """(i, j) for each i of ``items`` and each j of ``ranked`` (sorted by lower bound) that
    lies above i by more than ``tol``."""
    for i in items:
        high = bounds[i][1]
        start = bisect_right(lows, high)
        start = bisect_left(lows, True, start, key=lambda low: (low - high) / max(abs(low), abs(high)) > tol - _SLACK)
        for j in ranked[start:]:
            if _apart(bounds[i], bounds[j], tol):
                yield i, j


def _figures(ctx: CheckContext) -> dict[tuple, list[Record]]:
    """(entity, canonical metric, qualifiers) -> the claims with a comparable figure; computed
    once per run."""
    if ctx.figures is None:
        ctx.figures = _group_figures(ctx)
    return ctx.figures


def _group_figures(ctx: CheckContext) -> dict[tuple, list[Record]]:
    groups: dict[tuple, list[Record]] = defaultdict(list)
    for record in ctx.corpus.claims.values():
        if has_figure(record.model):
            entity = ctx.entity_of(record.id)
            if entity is not None:  # "same subject": no subject, no comparison
                groups[(entity, *ctx.metric_key(record))].append(record)
    return groups


def has_figure(claim) -> bool:
    """Whether a claim has a figure KB301, KB304 and the metric relations compare (with its
    entity, metric and qualifiers; kb.incremental keys its group by the same test)."""
    return (
        claim.value is not None
        and bool(claim.metric)
        and bool(claim.unit)
        and claim.period is not None
        and claim.value.bounds[0] <= claim.value.bounds[1]
    )


def unit_group(settings, claim) -> str | None:
    """The metric among whose figures KB302 looks for the usual unit (one with no unit
    configured), for a claim with a figure in it; else None."""
    if not claim.unit or not claim.metric or claim.value is None:
        return None
    metric = settings.metric_name(claim.metric)
    config = settings.metric_settings(metric)
    return None if config and config.unit else metric


def check_numeric_conflicts(ctx: CheckContext) -> Iterator[Finding]:
    """KB301 and KB304: figures for the same thing that disagree, or are 10× apart.

    Each is reported once per claim against the figures it disagrees with, not once per pair
    (1,000 estimates of one figure would otherwise give half a million findings). A KB301 is
    reported on the later claim of each pair, listing the earlier ones; a KB304 once on the
    outlier itself: of two claims, the one further from the median of all the figures for
    that subject and metric (the later one when that does not tell them apart), listing its
    peers. Messages and related locations name the first :data:`LISTED` others; the finding's
    ``other_claim_ids`` has them all.
    """
    declared = _related_pairs(ctx)
    for (_, metric, _), records in _figures(ctx).items():
        tol = tolerance(ctx, metric)
        center = _median_magnitude(records)
        # Only the pairs more than the tolerance apart are visited (_apart_pairs), and what the
        # pair loop needs is computed once per claim.
        ids = [record.id for record in records]
        keys = [_stated_key(record) for record in records]
        bounds = [interval(record, tol) for record in records]
        mids = [(low + high) / 2 for low, high in bounds]
        conflicts: dict[int, list[int]] = defaultdict(list)
        outliers: dict[int, list[int]] = defaultdict(list)
        for i, j in _apart_pairs(metric, records, bounds, tol):
            if declared and (ids[i], ids[j]) in declared:
                continue
            mid_a, mid_b = mids[i], mids[j]
            if (
                mid_a
                and mid_b
                and (mid_a > 0) == (mid_b > 0)
                and max(abs(mid_a), abs(mid_b)) >= OUTLIER_RATIO * min(abs(mid_a), abs(mid_b))
            ):
                odd = _outlier(records[i], records[j], bounds[i], bounds[j], center)[0]
                odd_index, peer_index = (i, j) if odd is records[i] else (j, i)
                outliers[odd_index].append(peer_index)
            elif keys[i] >= keys[j]:
                conflicts[i].append(j)
            else:
                conflicts[j].append(i)
        by_key = keys.__getitem__
        conflicts = {ids[h]: [records[o] for o in sorted(others, key=by_key)] for h, others in conflicts.items()}
        outliers = {ids[h]: [records[o] for o in sorted(others, key=by_key)] for h, others in outliers.items()}
        bounds = dict(zip(ids, bounds, strict=True))
        for here_id, others in conflicts.items():
            here = ctx.corpus.claims[here_id]
            over = f"over the {tol:.0%} tolerance; declare `contradicts` or `supersedes`"
            if len(others) == 1:
                apart = gap(bounds[here_id], bounds[others[0].id])
                message = f"{_what(metric, here, others[0])}: {apart:.0%} apart, {over}"
            else:
                listed = _listed(others, {o.id: f", {gap(bounds[here_id], bounds[o.id]):.0%}" for o in others[:LISTED]})
                message = f"{_here(metric, here)}, apart from {len(others)} other figures ({listed}), {over}"
            yield _group_finding("KB301", message, here, others)
        for odd_id, peers in outliers.items():
            odd = ctx.corpus.claims[odd_id]
            factor = ratio(bounds[odd_id], bounds[peers[0].id])
            if len(peers) == 1:
                message = f"{_what(metric, odd, peers[0])}: {factor:.0f}× apart, a unit or translation slip?"
            else:
                listed = _listed(peers, {})
                message = (
                    f"{_here(metric, odd)}, about {factor:.0f}× off {len(peers)} other figures ({listed}): "
                    "a unit or translation slip?"
                )
            yield _group_finding("KB304", message, odd, peers)


LISTED = 5  # others named in a KB301 / KB304 message; the rest are counted


def _listed(others: list[Record], details: dict[str, str]) -> str:
    """The first :data:`LISTED` other figures (with their ``details``), then how many more."""
    items = [
        f"{o.model.figure()} in `{o.id}` ({o.model.claimant or 'no claimant'}{details.get(o.id, '')})"
        for o in others[:LISTED]
    ]
    more = f" and {len(others) - LISTED} more" if len(others) > LISTED else ""
    return "; ".join(items) + more


def _here(metric: str, here: Record) -> str:
    return f"{metric} for {here.model.period}: {here.model.figure()} here"


def _stated_key(record: Record) -> tuple:
    stated = record.model.stated
    return (stated.start if stated else None) is not None, stated.start if stated else None, record.id


def _related_pairs(ctx: CheckContext) -> set[tuple[str, str]]:
    """Every (a, b) pair of claims linked by a declared relation, both ways round."""
    pairs = set()
    for start, end, data in all_edges(ctx.graph):
        if data["relation"] in _RELATIONS and start.startswith("claim:") and end.startswith("claim:"):
            a, b = start.removeprefix("claim:"), end.removeprefix("claim:")
            pairs |= {(a, b), (b, a)}
    return pairs


def _what(metric: str, here: Record, other: Record) -> str:
    return f"{_here(metric, here)}, {other.model.figure()} in `{other.id}` ({other.model.claimant or 'no claimant'})"


def _group_finding(code: str, message: str, here: Record, others: list[Record]) -> Finding:
    line, column = here.position("value")
    related_places = tuple(
        (other.path, *other.position("value"), f"the other figure, {other.model.figure()}") for other in others[:LISTED]
    )
    ids = tuple(other.id for other in others)
    return Finding(
        code,
        message,
        here.path,
        line,
        column,
        claim_id=here.id,
        other_claim_id=ids[0],
        other_claim_ids=ids,
        related=related_places,
    )


def _median_magnitude(records: list[Record]) -> float:
    """The median of the absolute midpoints of a group's figures (in comparison units)."""
    mids = sorted(abs(sum(interval(r, 0.0)) / 2) for r in records)
    middle = len(mids) // 2
    return mids[middle] if len(mids) % 2 else (mids[middle - 1] + mids[middle]) / 2


def _outlier(a: Record, b: Record, ia: tuple, ib: tuple, center: float) -> tuple[Record, Record]:
    """(the outlier, its peer): the one further from the group's median, in ratio."""

    def distance(bounds: tuple) -> float:
        mid = abs(sum(bounds) / 2)
        return max(mid, center) / min(mid, center) if mid and center else float("inf")

    da, db = distance(ia), distance(ib)
    if abs(da - db) <= 1e-9 * max(da, db, 1):
        return later_first(a, b)
    return (a, b) if da > db else (b, a)


def check_ranges(ctx: CheckContext) -> Iterator[Finding]:
    """KB305: a range with low > high, a period that ends before it starts."""
    for record in ctx.corpus.claims.values():
        claim = record.model
        if claim.value is not None and claim.value.is_range and claim.value.low > claim.value.high:
            line, column = record.position("value")
            message = f"range [{format_amount(claim.value.low)}, {format_amount(claim.value.high)}] has low > high"
            yield Finding("KB305", message, record.path, line, column, claim_id=record.id)
        if claim.period is not None and claim.period.start > claim.period.end:
            line, column = record.position("period")
            yield Finding(
                "KB305", f"period `{claim.period}` ends before it starts", record.path, line, column, claim_id=record.id
            )


def check_units(ctx: CheckContext) -> Iterator[Finding]:
    """KB302: a claim's unit that differs from its metric's unit and cannot be converted.

    Where no unit is configured for the metric, the metric's unit is the one most of its
    figures use (all subjects and qualifiers together; on a tie, the unit of the earliest
    stated figure): a ``percent`` figure among ``USD`` peers is a different quantity under
    the same name, or a slip.
    """
    unconfigured: dict[str, list[Record]] = defaultdict(list)
    for record in ctx.corpus.claims.values():
        claim = record.model
        if (group := unit_group(ctx.settings, claim)) is not None:
            unconfigured[group].append(record)
            continue
        if not claim.unit or not claim.metric:
            continue
        metric = ctx.settings.metric_name(claim.metric)
        config = ctx.settings.metric_settings(metric)
        if not config or not config.unit:  # (a claim without a value)
            continue
        if normal_unit(claim.unit)[0] != normal_unit(config.unit)[0]:
            line, column = record.position("unit")
            message = f"unit `{claim.unit}` cannot be converted to `{config.unit}`, the unit of metric `{metric}`"
            yield Finding("KB302", message, record.path, line, column, claim_id=record.id)
    for metric, records in unconfigured.items():
        yield from _minority_units(metric, records)


def _minority_units(metric: str, records: list[Record]) -> Iterator[Finding]:
    families = Counter(normal_unit(r.model.unit)[0] for r in records)
    if len(families) < 2:
        return

    def when(record: Record) -> tuple:
        stated = record.model.stated
        return stated is None, stated.start if stated else None, record.id

    top = max(families.values())
    usual = normal_unit(min(records, key=when).model.unit)[0]
    if families[usual] != top:
        usual = sorted(unit for unit, count in families.items() if count == top)[0]
    for record in sorted(records, key=lambda r: r.id):
        if normal_unit(record.model.unit)[0] == usual:
            continue
        line, column = record.position("unit")
        message = (
            f"unit `{record.model.unit}` cannot be converted to `{usual}`, the unit of {families[usual]} of the "
            f"{len(records)} figures of metric `{metric}`: another quantity under the same name, or a unit slip? "
            "(rename the metric, or declare its unit in [tool.kb.metrics])"
        )
        yield Finding("KB302", message, record.path, line, column, claim_id=record.id)


def check_metric_vocabulary(ctx: CheckContext) -> Iterator[Finding]:
    """KB306: a metric outside the declared vocabulary, when ``[tool.kb.metrics]`` declares one."""
    declared = ctx.settings.metrics
    if not declared:
        return
    names = sorted({*declared, *(alias for config in declared.values() for alias in config.aliases)})
    for record in ctx.corpus.claims.values():
        metric = record.model.metric
        if not metric or ctx.settings.metric_name(metric) in declared:
            continue
        hint = closest(metric, names)
        suggestion = f" (did you mean `{ctx.settings.metric_name(hint)}`?)" if hint else ""
        message = f"metric `{metric}` is not in the declared vocabulary{suggestion}: declare it in [tool.kb.metrics]"
        line, column = record.position("metric")
        yield Finding("KB306", message, record.path, line, column, claim_id=record.id)


def check_arithmetic(ctx: CheckContext) -> Iterator[Finding]:
    """KB303: derived_from formulas and metric relations that do not hold."""
    yield from _derivations(ctx)
    yield from _metric_relations(ctx)


def _derivations(ctx: CheckContext) -> Iterator[Finding]:
    claims = ctx.corpus.claims
    for record in claims.values():
        claim = record.model
        if claim.derived_from is None or claim.value is None or record.id in claim.derived_from.inputs.values():
            continue  # a claim derived from itself is KB105
        inputs, missing = {}, []
        for name, other in claim.derived_from.inputs.items():
            if other not in claims:
                break  # KB102 reports it
            if claims[other].model.value is None:
                missing.append(f"`{name}` (`{other}`)")
                continue
            inputs[name] = claims[other].model.value.bounds
        else:
            line, column = record.position("derived_from", "formula")
            if missing:
                yield Finding(
                    "KB303",
                    f"derived_from inputs without a value: {', '.join(missing)}",
                    record.path,
                    line,
                    column,
                    claim_id=record.id,
                )
                continue
            try:
                computed = evaluate(claim.derived_from.formula, inputs)
                unused = sorted(set(claim.derived_from.inputs) - names(claim.derived_from.formula))
                if unused:
                    raise FormulaError(
                        f"input {', '.join(f'`{n}`' for n in unused)} not used in `{claim.derived_from.formula}`"
                    )
            except FormulaError as exc:
                yield Finding("KB303", f"derived_from: {exc}", record.path, line, column, claim_id=record.id)
                continue
            tol = tolerance(ctx, claim.metric)
            stated = claim.value.bounds
            if gap(computed, stated) > tol:
                result = (
                    format_amount(computed[0])
                    if computed[0] == computed[1]
                    else f"{format_amount(computed[0])}–{format_amount(computed[1])}"
                )
                message = (
                    f"derived_from `{claim.derived_from.formula}` gives {result}, but the value is "
                    f"{format_quantity(claim.value)} ({gap(computed, stated):.0%} apart, over the {tol:.0%} tolerance)"
                )
                if ratio(computed, stated) >= OUTLIER_RATIO:
                    message += f"; {ratio(computed, stated):.0f}× off: a magnitude slip (万/亿, million/billion)?"
                line, column = record.position("value")
                yield Finding("KB303", message, record.path, line, column, claim_id=record.id)


def _metric_relations(ctx: CheckContext) -> Iterator[Finding]:
    groups = _figures(ctx)
    for relation in ctx.settings.relations:
        left_metric, right_metric = ctx.settings.metric_name(relation.left), ctx.settings.metric_name(relation.right)
        for (entity, metric, qualifiers), lefts in groups.items():
            if metric != left_metric:
                continue
            for left in lefts:
                for right in groups.get((entity, right_metric, qualifiers), []):
                    yield from _relation_pair(ctx, relation, left, right)


def _relation_pair(ctx: CheckContext, relation, left: Record, right: Record) -> Iterator[Finding]:
    x, y = left.model, right.model
    same_period = (x.period.start, x.period.end) == (y.period.start, y.period.end)
    if not same_period or _kind_group(x.kind) != _kind_group(y.kind) or related(ctx, left.id, right.id):
        return
    if x.unit.split("/")[0] != y.unit.split("/")[0]:
        here, other = later_first(left, right)
        message = (
            f"{relation.left} = {relation.factor:g} × {relation.right}: `{left.id}` is in {x.unit}, "
            f"`{right.id}` in {y.unit}, which cannot be related"
        )
        line, column = here.position("unit")
        yield Finding("KB302", message, here.path, line, column, claim_id=here.id, other_claim_id=other.id)
        return
    tol = tolerance(ctx, x.metric)
    # A relation holds between the figures as written (annualized USD/year = 12 × USD/month).
    expected = tuple(bound * relation.factor for bound in interval(right, tol, convert=False))
    if gap(interval(left, tol, convert=False), expected) <= tol:  # type: ignore[arg-type]
        return
    here, other = later_first(left, right)
    message = (
        f"{relation.left} = {relation.factor:g} × {relation.right} does not hold for {x.period}: "
        f"{left.model.figure()} (`{left.id}`) vs {right.model.figure()} (`{right.id}`)"
    )
    line, column = here.position("value")
    yield Finding("KB303", message, here.path, line, column, claim_id=here.id, other_claim_id=other.id)
