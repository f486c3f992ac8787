"""The checks of ``kb check``: pure functions over the graph that yield findings.

Each family of rules lives in its own module; :data:`CHECKS` lists every check function.
:func:`run_checks` runs them, applies the configured severities and the files'
acknowledgements, and adds KB901 for acknowledgements that matched nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kb.checks.context import CheckContext, settings_file
from kb.checks.evidence import check_no_evidence, check_quotes, check_single_origin
from kb.checks.numbers import (
    check_arithmetic,
    check_metric_vocabulary,
    check_numeric_conflicts,
    check_ranges,
    check_units,
)
from kb.checks.references import (
    check_circular_sourcing,
    check_self_reference,
    check_unknown_claims,
    check_unknown_sources,
    check_unused_sources,
)
from kb.checks.time import check_anachronisms, check_overdue_predictions
from kb.findings import SEVERITY_ORDER, Finding
from kb.rules import RULES, lookup
from kb.suggest import did_you_mean

__all__ = [
    "CHECKS",
    "CheckContext",
    "acknowledgements",
    "finish",
    "raw_findings",
    "run_checks",
    "severities",
    "with_severities",
]

Check = Callable[[CheckContext], Iterator[Finding]]

CHECKS: list[Check] = [
    check_unknown_sources,
    check_unknown_claims,
    check_unused_sources,
    check_circular_sourcing,
    check_self_reference,
    check_no_evidence,
    check_single_origin,
    check_quotes,
    check_anachronisms,
    check_ranges,
    check_units,
    check_metric_vocabulary,
    check_arithmetic,
    check_numeric_conflicts,
    check_overdue_predictions,
]


def severities(settings) -> dict[str, str]:
    """Rule code -> severity: the defaults, then the settings (validated when loaded); also
    used by ``kb check-draft``."""
    levels = {code: rule.severity for code, rule in RULES.items()}
    for key, level in settings.rules.items():
        levels[lookup(key).code] = level  # type: ignore[union-attr]
    return levels


def run_checks(ctx: CheckContext) -> list[Finding]:
    """All findings of the knowledge base: loading, checks and acknowledgements, sorted."""
    return finish(raw_findings(ctx), ctx.settings, acknowledgements(ctx.corpus))


def raw_findings(ctx: CheckContext, checks: list[Check] | None = None) -> list[Finding]:
    """The findings of loading and of ``checks`` (default: all), before acknowledgements and
    severities (what :mod:`kb.incremental` keeps per file)."""
    raw = list(ctx.corpus.findings)
    for found in _each_check(ctx, CHECKS if checks is None else checks):
        raw.extend(found)
    return raw


# On a large knowledge base and two cores, a forked child runs these checks while this process
# runs the others: the checks were 8-11 s of a 100k clean build or check, all in one process
# while the other core had nothing to do. Chosen by what each took at 100k claims
# (benchmarks/generate.py): KB301's groups 3.5-3.8 s and the overdue projections 1.0-1.2 s,
# against 5-6 s for the thirteen others. The two sides do not halve the time: each is slower
# beside the other (both write the pages they share after the fork, the child builds the
# indexes an earlier check had built for it), and the checks went from 8.8-9.8 s to 6.5-8.1 s
# (three rounds, alternating; with circular sourcing in the child too, 7.4-7.8 s). The checks
# are pure (what they memoise in the context is only for themselves), so a child's findings are
# those this process would find; a child that cannot be forked (another thread runs: `kb
# serve`) or fails leaves its checks to this process.
IN_CHILD = frozenset({"check_numeric_conflicts", "check_overdue_predictions"})
FORK_CHECKS_AT = 20_000  # claims and sources: below, a fork and the findings' way back cost more


def _each_check(ctx: CheckContext, checks: list[Check]) -> list[list[Finding]]:
    """Each check's findings, in the order of ``checks`` (see :data:`IN_CHILD`)."""
    from kb.cache import jobs

    theirs = [check for check in checks if check.__name__ in IN_CHILD]
    size = len(ctx.corpus.claims) + len(ctx.corpus.sources)
    if not theirs or len(theirs) == len(checks) or size < FORK_CHECKS_AT or jobs() < 2:
        return _run_checks(ctx, checks)
    from kb.inputs import Forked

    child = Forked(_run_checks, ctx, theirs)
    try:
        mine = {check: list(check(ctx)) for check in checks if check not in theirs}
        found = dict(zip(theirs, child.result(), strict=True))
    finally:
        child.close()
    return [mine[check] if check in mine else found[check] for check in checks]


def _run_checks(ctx: CheckContext, checks: list[Check]) -> list[list[Finding]]:
    return [list(check(ctx)) for check in checks]


# id -> (path, kind, ((key, reason, line, column), ...)): every file's `acknowledge` field,
# with where each key stands (KB901 reports an unused one there)
Acknowledgements = dict[str, tuple[str, str, tuple[tuple[str, str, int, int], ...]]]


def acknowledgements(corpus) -> Acknowledgements:
    """The ``acknowledge`` fields of every claim and source that has one."""
    found: Acknowledgements = {}
    for records in (corpus.claims, corpus.sources):
        for id_, record in records.items():
            if record.model.acknowledge:
                found[id_] = (record.path, record.kind, record_acknowledgements(record))
    return found


def record_acknowledgements(record) -> tuple[tuple[str, str, int, int], ...]:
    return tuple(
        (key, text, *record.key_position("acknowledge", key)) for key, text in record.model.acknowledge.items()
    )


def finish(raw: list[Finding], settings, acks: Acknowledgements) -> list[Finding]:
    """Apply the acknowledgements (adding KB901 for unused ones) and the configured
    severities to raw findings, and sort them."""
    levels, configured = _levels(settings)
    findings = _acknowledge(settings, acks, raw)
    result = [_severity(finding, levels, configured) for finding in findings if levels[finding.code] != "off"]
    result.sort(key=lambda f: (*f.sort_key(), SEVERITY_ORDER[f.severity]))
    for finding in result:  # each computes its id once: the stored findings keep it
        finding.id  # noqa: B018
    return result


def with_severities(raw: list[Finding], settings) -> list[Finding]:
    """Raw findings with the severities :func:`finish` gives them (one for an unconfigured
    rule that is off stays as it is; finish leaves it out): what kb.incremental keeps, so
    that finishing them again copies none of them."""
    levels, configured = _levels(settings)
    return [finding if levels[finding.code] == "off" else _severity(finding, levels, configured) for finding in raw]


def _levels(settings) -> tuple[dict, set]:
    """(each rule's severity, the rules whose severity the settings configure)."""
    return severities(settings), {lookup(key).code for key in settings.rules}  # type: ignore[union-attr]


def _severity(finding: Finding, levels: dict, configured: set) -> Finding:
    """The finding with its rule's severity: a check may preset one (a missing snapshot is
    info unless required); a severity the user configured for the rule wins over it."""
    level = levels[finding.code]
    if finding.severity == level or (finding.severity and finding.code not in configured):
        return finding
    return _with_severity(finding, level)


def _rule_hint(key: str) -> str:
    names = [*RULES, *(rule.name for rule in RULES.values())]
    return did_you_mean(key, names, cutoff=0.7)


def _with_severity(finding: Finding, level: str) -> Finding:
    """``finding.with_(severity=level)``, without dataclasses.replace running __init__ again
    (a third of a re-check's merge at 100k claims: a severity needs no escaping)."""
    copy = object.__new__(Finding)
    copy.__dict__.update(finding.__dict__)
    object.__setattr__(copy, "severity", level)
    return copy


def _owner(acks: Acknowledgements, finding: Finding) -> str | None:
    """The id of the claim (else the source) a finding is about, when it acknowledges anything."""
    for id_, kind in ((finding.claim_id, "claim"), (finding.source_id, "source")):
        if id_ and (entry := acks.get(id_)) is not None and entry[1] == kind:
            return id_
    return None


def _acknowledge(settings, acks: Acknowledgements, findings: list[Finding]) -> list[Finding]:
    """Apply the files' ``acknowledge`` fields, then the settings' ``[tool.kb.acknowledge]``
    (a reason for a whole rule; a file's own reason wins), and add KB901 for the unused ones."""
    used: set[tuple[str, str]] = set()
    by_rule = {lookup(key).code: text for key, text in settings.acknowledge.items()}  # type: ignore[union-attr]
    used_rules: set[str] = set()
    result = []
    for finding in findings:
        owner_id = _owner(acks, finding)
        reason = None
        if owner_id is not None:
            for key, text, _, _ in acks[owner_id][2]:
                rule = lookup(key)
                if rule and rule.code == finding.code:
                    reason = text
                    used.add((owner_id, key))
        if reason is None and finding.code in by_rule and finding.code != "KB901":
            reason = by_rule[finding.code]
            used_rules.add(finding.code)
        result.append(finding.with_(acknowledged=True, acknowledgement=reason) if reason else finding)
    for code in sorted(set(by_rule) - used_rules):
        result.append(
            Finding(
                "KB901",
                f"[acknowledge] `{code}` matches no finding: remove it",
                settings_file(settings.root) or "pyproject.toml",
            )
        )
    for id_, (path, kind, keys) in acks.items():
        for key, _, line, column in keys:
            if (id_, key) in used:
                continue
            rule = lookup(key)
            what = "matches no finding" if rule else "names no known rule" + _rule_hint(key)
            subject = {"claim_id": id_} if kind == "claim" else {"source_id": id_}
            result.append(
                Finding("KB901", f"acknowledgement of `{key}` {what}: remove it", path, line, column, **subject)
            )
    return result
