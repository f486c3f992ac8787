"""The checks of ``kb check``: pure functions over the graph that yield findings.

Each family of rules lives in its own module; :data:`CHECKS` lists every check function.
:func:`run_checks` runs them, applies the configured severities and the files'
acknowledgements, and adds KB901 for acknowledgements that matched nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kb.checks.context import CheckContext
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

__all__ = ["CHECKS", "CheckContext", "run_checks", "severities"]

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


def _severities(ctx: CheckContext) -> dict[str, str]:
    return severities(ctx.settings)


def severities(settings) -> dict[str, str]:
    """Rule code -> severity: the defaults, then the settings (validated when loaded); also
    used by ``kb check-draft``."""
    levels = {code: rule.severity for code, rule in RULES.items()}
    for key, level in settings.rules.items():
        levels[lookup(key).code] = level  # type: ignore[union-attr]
    return levels


def run_checks(ctx: CheckContext) -> list[Finding]:
    """All findings of the knowledge base: loading, checks and acknowledgements, sorted."""
    raw = list(ctx.corpus.findings)
    for check in CHECKS:
        raw.extend(check(ctx))
    levels = _severities(ctx)
    configured = {lookup(key).code for key in ctx.settings.rules}  # type: ignore[union-attr]
    findings = _acknowledge(ctx, raw)
    result = []
    for finding in findings:
        level = levels[finding.code]
        if level == "off":
            continue
        # A check may preset a severity (a missing snapshot is info unless required); a
        # severity the user configured for the rule wins over it.
        keep = finding.severity and finding.code not in configured
        result.append(finding if keep else finding.with_(severity=level))
    result.sort(key=lambda f: (*f.sort_key(), SEVERITY_ORDER[f.severity]))
    return result


def _rule_hint(key: str) -> str:
    names = [*RULES, *(rule.name for rule in RULES.values())]
    return did_you_mean(key, names, cutoff=0.7)


def _acknowledge(ctx: CheckContext, findings: list[Finding]) -> list[Finding]:
    """Apply the files' ``acknowledge`` fields, then the settings' ``[tool.kb.acknowledge]``
    (a reason for a whole rule; a file's own reason wins), and add KB901 for the unused ones."""
    used: set[tuple[str, str]] = set()
    by_rule = {lookup(key).code: text for key, text in ctx.settings.acknowledge.items()}  # type: ignore[union-attr]
    used_rules: set[str] = set()
    result = []
    for finding in findings:
        owner = finding.claim_id and ctx.corpus.claims.get(finding.claim_id)
        owner = owner or (finding.source_id and ctx.corpus.sources.get(finding.source_id))
        reason = None
        if owner:
            for key, text in owner.model.acknowledge.items():
                rule = lookup(key)
                if rule and rule.code == finding.code:
                    reason = text
                    used.add((owner.id, key))
        if reason is None and finding.code in by_rule and finding.code != "KB901":
            reason = by_rule[finding.code]
            used_rules.add(finding.code)
        result.append(finding.with_(acknowledged=True, acknowledgement=reason) if reason else finding)
    for code in sorted(set(by_rule) - used_rules):
        result.append(
            Finding(
                "KB901", f"[acknowledge] `{code}` matches no finding: remove it", ctx.settings_file or "pyproject.toml"
            )
        )
    for records in (ctx.corpus.claims, ctx.corpus.sources):
        for id_, record in records.items():
            for key in record.model.acknowledge:
                if (id_, key) in used:
                    continue
                rule = lookup(key)
                what = "matches no finding" if rule else "names no known rule" + _rule_hint(key)
                line, column = record.key_position("acknowledge", key)
                subject = {"claim_id": id_} if record.kind == "claim" else {"source_id": id_}
                result.append(
                    Finding(
                        "KB901", f"acknowledgement of `{key}` {what}: remove it", record.path, line, column, **subject
                    )
                )
    return result
