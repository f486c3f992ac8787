"""The indexed checks give the findings of the brute-force ones they replaced.

Each reference function below is the old code (a scan of every claim or every pair), kept
here as the specification; hypothesis compares both on random small knowledge bases.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.checks import CHECKS, CheckContext, numbers, references, time
from kb.checks.numbers import _comparable_pairs
from kb.graph import build_graph
from kb.load import load_corpus
from kb.settings import load_settings
from kb.suggest import EXACT_UP_TO, Suggester, did_you_mean

PERIODS = ["2024", "2024-Q1", "2024-Q2", "2024-H1", "2024-03", "2023/2024", "2025", "2024-06/2025-05"]
VALUES = ["100", "104", "110", "150", "1000", "-100", "0", "[90, 120]", "[100, 99]", "1 billion"]


def _old_apart_pairs(metric, records, bounds, tol):
    for i, j in _comparable_pairs(metric, records):
        (a_low, a_high), (b_low, b_high) = bounds[i], bounds[j]
        if a_low <= b_high and b_low <= a_high:
            continue
        near_low, near_high = (a_high, b_low) if a_high < b_low else (b_high, a_low)
        scale = max(abs(near_low), abs(near_high))
        if scale and (near_high - near_low) / scale > tol:
            yield i, j


def _old_candidate_outcomes(ctx, record):
    claim = record.model
    entity = ctx.entity_of(record.id)
    return sorted(
        other.id
        for other in ctx.corpus.claims.values()
        if other.model.kind in ("fact", "estimate")
        and claim.metric
        and ctx.metric_key(other) == ctx.metric_key(record)
        and other.model.period
        and other.model.period.overlaps(claim.period)
        and ctx.entity_of(other.id) == entity
    )


def _old_hint(ctx, name, kind):
    return did_you_mean(name, ctx.corpus.sources if kind == "source" else ctx.corpus.claims, cutoff=0.7)


claims = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["fact", "estimate", "projection", "prediction", "opinion"]),
            "subject": st.sampled_from(["Acme", "Acme", "Acme", "acme", "Other", None]),
            "metric": st.sampled_from(["revenue", "valuation", "valuation", None]),
            "unit": st.sampled_from(["USD", "USD", "USD/month", "USD/year", "percent"]),
            "value": st.sampled_from(VALUES),
            "approximate": st.booleans(),
            "period": st.sampled_from(PERIODS),
            "stated": st.sampled_from(["2023-01", "2024-06", "2025-02", None]),
            "contradicts": st.lists(st.integers(0, 14), max_size=2),
            "resolves": st.one_of(st.none(), st.integers(0, 14)),
            "source": st.sampled_from(["s0", "s1", "s2", "sx", "s11"]),
        }
    ),
    min_size=3,
    max_size=15,
)


def _write(root: Path, items: list[dict], tolerance: float) -> None:
    (root / "kb.toml").write_text(
        f'today = "2026-11-23"\n[metrics.valuation]\ntolerance = {tolerance}\n[metrics.revenue]\n', encoding="utf-8"
    )
    (root / "sources").mkdir()
    (root / "claims").mkdir()
    for i in range(3):
        (root / "sources" / f"s{i}.md").write_text(f"---\nid: s{i}\ntitle: T\ntype: article\n---\n", encoding="utf-8")
    for i, item in enumerate(items):
        lines = [f"id: c{i}", "statement: s", f"kind: {item['kind']}", f"period: {item['period']}"]
        lines += [f"subject: {item['subject']}"] if item["subject"] else []
        if item["metric"]:
            lines += [f"metric: {item['metric']}", f"value: {item['value']}", f"unit: {item['unit']}"]
            lines += ["approximate: true"] if item["approximate"] else []
        lines += [f"stated: {item['stated']}"] if item["stated"] else []
        lines += ["contradicts: [" + ", ".join(f"c{j}" for j in item["contradicts"]) + "]"]
        lines += [f"resolves: {{claim: c{item['resolves']}, outcome: correct}}"] if item["resolves"] is not None else []
        lines += ["evidence:", f"  - source: {item['source']}"]
        text = "---\n" + "\n".join(lines) + "\n---\n"
        (root / "claims" / f"c{i}.md").write_text(text, encoding="utf-8")


def _findings(root: Path) -> list:
    corpus = load_corpus(load_settings(root))
    ctx = CheckContext(corpus, build_graph(corpus), date(2026, 11, 23))
    return sorted((f for check in CHECKS for f in check(ctx)), key=lambda f: (*f.sort_key(), f.other_claim_ids))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=claims, tolerance=st.sampled_from([0.0, 0.05, 0.5, 1.0, 1.5]))
def test_indexed_checks_match_the_brute_force(items, tolerance):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _write(root, items, tolerance)
        new = _findings(root)
        saved = numbers._apart_pairs, time._candidate_outcomes, references._hint
        try:
            numbers._apart_pairs, time._candidate_outcomes, references._hint = (
                _old_apart_pairs,
                _old_candidate_outcomes,
                _old_hint,
            )
            old = _findings(root)
        finally:
            numbers._apart_pairs, time._candidate_outcomes, references._hint = saved
    assert new == old


def test_suggester_is_difflib_up_to_its_threshold_and_finds_a_typo_beyond():
    few = [f"claim-{i}" for i in range(EXACT_UP_TO)]
    for name in ("claim-12x", "clam-3", "zzz", "claim-499"):
        assert Suggester(few, 0.7).hint(name) == did_you_mean(name, few, cutoff=0.7)
    many = [f"openai-{year}-{metric}" for year in range(1900, 2100) for metric in ("revenue", "net-loss", "valuation")]
    assert Suggester(many, 0.7).hint("openai-2024-net-los") == " (did you mean `openai-2024-net-loss`?)"
    assert Suggester(many, 0.7).hint("anthropic-2024-revenue") == did_you_mean("anthropic-2024-revenue", many, 0.7)
