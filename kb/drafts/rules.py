"""The rules KB501-KB505 over a read draft (see :mod:`kb.drafts`)."""

from __future__ import annotations

from pathlib import Path

from kb import cite
from kb.checks import severities
from kb.checks.numbers import gap, metric_tolerance, widen
from kb.draft_numbers import Figure, find_figures
from kb.drafts.index import DraftIndex, unit_kind
from kb.drafts.read import (
    Citation,
    Suppression,
    Unit,
    blank,
    find_citations,
    footnote_references,
    prose,
    read_units,
    sentences,
)
from kb.findings import SEVERITY_ORDER, Finding
from kb.units import normal_unit

__all__ = ["check_drafts", "check_text"]


def _agrees(index: DraftIndex, claim_id: str, figure: Figure) -> bool | None:
    """True / False when the figure can be compared with the claim, None when not."""
    claim = index.claims[claim_id]
    if claim.bounds is None or not claim.unit:
        return None
    kind = unit_kind(claim.unit)
    if figure.unit is not None and figure.unit != kind:
        return None
    tol = tolerance_of(index, claim.metric)
    bounds = (figure.low, figure.high)
    if figure.approximate:
        bounds = (bounds[0] - abs(bounds[0]) * tol, bounds[1] + abs(bounds[1]) * tol)
    claim_per = claim.unit.split("/")[1] if "/" in claim.unit else None
    convert = False
    if figure.per and figure.per != claim_per:
        if claim_per is None:
            return None  # "$20 a month" beside a claim with no time unit: not comparable
        draft_unit, factor = normal_unit(f"{claim.unit.split('/')[0]}/{figure.per}")
        if draft_unit != normal_unit(claim.unit)[0]:
            return None
        bounds = (bounds[0] * factor, bounds[1] * factor)
        convert = True
    claimed = widen(claim.bounds, claim.unit, claim.approximate, tol, convert)
    return gap(bounds, claimed) <= tol  # type: ignore[arg-type]


def tolerance_of(index: DraftIndex, metric: str | None) -> float:
    return metric_tolerance(index.settings, metric)


def check_text(index: DraftIndex, source: str, path: str) -> list[Finding]:
    """The findings of one draft, before severities are applied."""
    units, suppressions, bad = read_units(source)
    findings: list[Finding] = []
    for unit in units:
        text = prose(unit)
        citations = find_citations(text)
        noted = footnote_references(unit)  # a footnote carries a citation
        figure_text = text
        for citation in citations:
            figure_text = blank(figure_text, citation.start, citation.end)
        figures = find_figures(figure_text)
        for citation in citations:
            findings.extend(_citation_findings(index, unit, citation, path))
        for start, end in sentences(text, citations):
            inside = [c for c in citations if start <= c.start < end]
            numbers = [f for f in figures if start <= f.start < end]
            if not inside and not any(start <= n < end for n in noted):
                findings.extend(_uncited(index, unit, text[start:end], numbers, path))
                continue
            for position, citation in enumerate(inside):
                parsed = cite.parse_key(citation.key)
                if not parsed or parsed[0] != "claim" or parsed[1] not in index.claims:
                    continue
                previous = inside[position - 1].end if position else start
                following = inside[position + 1].start if position + 1 < len(inside) else end
                segment = [f for f in numbers if previous <= f.start < citation.start]
                nearest = segment[-1:] if segment else []
                if not segment and position + 1 == len(inside):  # figures after the last citation are its
                    segment = [f for f in numbers if citation.end <= f.start < following]
                    nearest = segment[:1]
                finding = _mismatch(index, unit, parsed[1], segment, nearest, path)
                if finding:
                    findings.append(finding)
    for line, column, why in bad:
        findings.append(Finding("KB901", f"suppression comment {why}", path, line, column))
    return _suppress(findings, suppressions, path)


def _citation_findings(index: DraftIndex, unit: Unit, citation: Citation, path: str) -> list[Finding]:
    parsed = cite.parse_key(citation.key)
    if parsed is None:
        return []  # not kb's: a Zotero key, a Quarto cross-reference
    kind, id_ = parsed
    line, column = unit.position(citation.start)
    if id_ not in (index.claims if kind == "claim" else index.sources):
        what = "claim" if kind == "claim" else "source"
        return [Finding("KB501", f"unknown {what} `{citation.key}`{index.key_hint(citation.key)}", path, line, column)]
    if kind != "claim":
        return []
    claim = index.claims[id_]
    if claim.status == "contested":
        others = claim.contradicted_by[:3]
        message = f"cites contested claim `{citation.key}`" + (
            f" (contradicted by {', '.join(f'`claim:{o}`' for o in others)})" if others else " (refuting evidence)"
        )
        return [Finding("KB502", message, path, line, column, claim_id=id_)]
    if claim.status == "superseded":
        newer = claim.superseded_by
        message = f"cites superseded claim `{citation.key}`: cite `claim:{newer}` instead"
        return [Finding("KB503", message, path, line, column, claim_id=id_, other_claim_id=newer)]
    if claim.status == "refuted":
        why = f"verdict {claim.verdict}" if claim.verdict else "only refuting evidence"
        return [Finding("KB503", f"cites refuted claim `{citation.key}` ({why})", path, line, column, claim_id=id_)]
    return []


def _mismatch(index, unit, claim_id, segment, nearest, path) -> Finding | None:
    results = [(figure, _agrees(index, claim_id, figure)) for figure in segment]
    comparable = [(f, ok) for f, ok in results if ok is not None]
    if not comparable or any(ok for _, ok in comparable):
        return None
    figure = next((f for f in nearest if _agrees(index, claim_id, f) is not None), comparable[-1][0])
    claim = index.claims[claim_id]
    tol = tolerance_of(index, claim.metric)
    line, column = unit.position(figure.start)
    message = (
        f"“{figure.text}” beside [@claim:{claim_id}] disagrees with its value {claim.figure} (tolerance {tol:.0%})"
    )
    return Finding("KB504", message, path, line, column, claim_id=claim_id)


def _uncited(index: DraftIndex, unit: Unit, sentence: str, figures: list[Figure], path: str) -> list[Finding]:
    found = []
    lowered = sentence.casefold()
    for figure in figures:
        if figure.is_range or figure.per:
            continue
        kinds = [figure.unit] if figure.unit else ["USD", "plain"]
        candidates = [i for kind in kinds for i in index.by_value.get((kind, float(figure.low)), [])]
        named = [i for i in candidates if any(name in lowered for name in index.claims[i].names)]
        if not named:
            continue
        # a claim whose period the sentence mentions ("in 2024") comes first
        named.sort(key=lambda i: ((index.claims[i].period or "")[:4] not in sentence, i))
        line, column = unit.position(figure.start)
        more = f" (or {', '.join(f'`claim:{i}`' for i in named[1:3])})" if len(named) > 1 else ""
        message = f"“{figure.text}” has no citation: it is the value of `claim:{named[0]}`{more}; cite it"
        found.append(Finding("KB505", message, path, line, column, claim_id=named[0]))
    return found


def _suppress(findings: list[Finding], suppressions: list[Suppression], path: str) -> list[Finding]:
    result = []
    for finding in findings:
        for suppression in suppressions:
            first, last = suppression.lines
            if finding.code in suppression.codes and first < finding.line <= max(last, first + 1):
                suppression.used = True
                finding = finding.with_(acknowledged=True, acknowledgement=suppression.reason)
                break
        result.append(finding)
    for suppression in suppressions:
        if not suppression.used:
            codes = ", ".join(sorted(suppression.codes))
            result.append(
                Finding(
                    "KB901",
                    f"suppression of {codes} matches no finding: remove it",
                    path,
                    suppression.line,
                    suppression.column,
                )
            )
    return result


def check_drafts(index: DraftIndex, paths: list[Path], display: list[str]) -> list[Finding]:
    """Every finding of the drafts at ``paths`` (shown as ``display``), with the configured
    severities, sorted as ``kb check`` sorts. ``index``: :meth:`DraftIndex.build` of an
    analysis, or :meth:`DraftIndex.from_database` when the database is current."""
    levels = severities(index.settings)
    findings = []
    for path, shown in zip(paths, display, strict=True):
        try:
            source = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            findings.append(Finding("KB001", f"cannot read the draft: {exc}", shown))
            continue
        findings.extend(check_text(index, source.replace("\r\n", "\n"), shown))
    result = [f.with_(severity=levels[f.code]) for f in findings if levels[f.code] != "off"]
    result.sort(key=lambda f: (*f.sort_key(), SEVERITY_ORDER[f.severity]))
    return result
