"""Checks on inputs the rule fixtures do not cover: extremes, cycles, outliers, edge cases."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.database import build_database

FIGURE = "---\nid: {id}\nstatement: s\nkind: fact\n{subject}metric: revenue\nvalue: {value}\nunit: USD\nperiod: 2024\nstated: 2025-03\n{extra}---\n"


def figure(kb, id_, value, subject="subject: OpenAI\n", extra=""):
    kb.claim(id_, folder="x", text=FIGURE.format(id=id_, value=value, subject=subject, extra=extra))


def codes(kb):
    return sorted(
        (f.code, f.claim_id or f.source_id) for f in kb.analyse().findings if f.code not in ("KB201", "KB103")
    )


def test_huge_values_build_and_overflowing_formulas_are_findings(kb):
    figure(kb, "big", "1e20")
    figure(
        kb,
        "cube",
        "1e20",
        extra="derived_from: {formula: 'a * a * a * a * a * a * a * a * a * a * a * a * a * a * a * a', inputs: {a: big}}\n",
    )
    result = kb.analyse()
    assert [(f.code, f.claim_id) for f in result.findings if f.code == "KB303"] == [("KB303", "cube")]
    assert "too large" in next(f.message for f in result.findings if f.code == "KB303")
    build_database(result, allow_errors=True)  # 1e20 is stored as a REAL, not an overflowing INTEGER


def test_unused_formula_input(kb):
    figure(kb, "a", "5")
    figure(kb, "b", "5", extra="derived_from: {formula: 'x', inputs: {x: a, y: a}}\n")
    [message] = [f.message for f in kb.analyse().findings if f.code == "KB303"]
    assert message == "derived_from: input `y` not used in `x`"


def test_a_citation_clique_is_one_finding_and_fast(kb):
    ids = [f"s{i}" for i in range(12)]
    for id_ in ids:
        kb.source(id_, extra="cites: [" + ", ".join(i for i in ids if i != id_) + "]\n")
    found = [f for f in kb.analyse().findings if f.code == "KB104"]  # listing every cycle would never end
    assert len(found) == 1 and "(12 sources in one cycle group)" in found[0].message


def test_outlier_is_reported_on_the_odd_figure(kb):
    for id_, value in (("p1", "83 million"), ("p2", "84 million"), ("p3", "83.5 million"), ("odd", "830 million")):
        figure(kb, id_, value)
    result = kb.analyse()
    assert [(f.code, f.claim_id) for f in result.findings if f.code in ("KB301", "KB304")] == [("KB304", "odd")]
    assert {id_: result.status[id_] for id_ in ("p1", "p2", "p3", "odd")} == dict.fromkeys(
        ("p1", "p2", "p3", "odd"), "contested"
    )


def test_acknowledged_conflict_is_not_a_contradiction(kb):
    figure(kb, "a", "5 billion")
    figure(kb, "b", "3 billion", extra="acknowledge: {KB301: 'different scopes, not a disagreement'}\n")
    result = kb.analyse()
    assert [(f.code, f.acknowledged) for f in result.findings if f.code == "KB301"] == [("KB301", True)]
    assert result.status == {"a": "unsupported", "b": "unsupported"}


def test_figures_without_subject_are_not_compared(kb):
    figure(kb, "a", "5 billion", subject="")
    figure(kb, "b", "3 billion", subject="")
    assert [c for c, _ in codes(kb)] == []


def test_blank_quote_and_odd_line_separator(kb):
    kb.source()
    kb.claim(
        "q",
        folder="x",
        text="---\nid: q\nstatement: s\nkind: fact\nevidence: [{source: outlet-report, quote: '  '}]\n---\n",
    )
    kb.claim("r", folder="x", text="---\nid: r\nstatement: s\u2028t\nkind: fact\n---\n")
    found = [(f.code, f.path, f.line, f.message) for f in kb.analyse().findings if f.code.startswith("KB00")]
    assert found == [
        ("KB004", "claims/x/q.md", 5, "`evidence[0].quote`: must not be blank"),
        ("KB003", "claims/x/r.md", 3, "frontmatter contains the line separator U+2028: use a plain newline"),
    ]


def test_duplicate_id_keeps_the_file_named_after_it(kb):
    kb.claim("a", folder="x", text="---\nid: b\nstatement: first\nkind: fact\n---\n")
    kb.claim("b", folder="x", text="---\nid: b\nstatement: second\nkind: fact\n---\n")
    result = kb.analyse()
    assert result.corpus.claims["b"].path == "claims/x/b.md"
    assert sorted((f.code, f.path) for f in result.findings if f.code in ("KB005", "KB006")) == [
        ("KB005", "claims/x/a.md"),
        ("KB006", "claims/x/a.md"),
    ]


def test_missing_claims_folder_is_a_usage_error(tmp_path):
    (tmp_path / "kb.toml").write_text('claims = "claimz"\n')
    result = CliRunner().invoke(main, ["check", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "no claims folder" in result.stderr
    assert CliRunner().invoke(main, ["check", "--root", str(tmp_path / "nope")]).exit_code == 2


def test_new_refuses_folders_outside(kb):
    result = CliRunner().invoke(main, ["new", "--root", str(kb.root), "claim", "x", "--folder", "../../escape"])
    assert result.exit_code == 2 and "plain folder name" in result.stderr


def test_settings_acknowledge_covers_a_whole_rule_and_a_file_reason_wins(kb):
    kb.settings('[acknowledge]\nKB401 = "No seed reports the outcome"\n')
    base = "---\nid: {id}\nstatement: s\nkind: prediction\nperiod: 2024\n{extra}---\n"
    kb.claim("p1", folder="x", text=base.format(id="p1", extra=""))
    kb.claim("p2", folder="x", text=base.format(id="p2", extra="acknowledge: {KB401: own reason}\n"))
    found = {f.claim_id: f for f in kb.analyse().findings if f.code == "KB401"}
    assert {k: (f.acknowledged, f.acknowledgement) for k, f in found.items()} == {
        "p1": (True, "No seed reports the outcome"),
        "p2": (True, "own reason"),
    }


def test_settings_acknowledge_that_matches_nothing_is_kb901(kb):
    kb.settings('[acknowledge]\nKB304 = "unused"\n')
    figure(kb, "a", "5")
    [finding] = [f for f in kb.analyse().findings if f.code == "KB901"]
    assert finding.path == "kb.toml" and "KB304" in finding.message


def test_metric_alias_and_qualifiers_decide_what_is_compared(kb):
    kb.settings('[metrics.revenue]\ndescription = "Revenue"\naliases = ["sales"]\n')
    figure(kb, "a", "5 billion")
    figure(kb, "b", "3 billion", extra="qualifiers: {segment: consumer}\n")
    kb.claim(
        "c",
        folder="x",
        text=FIGURE.format(id="c", value="2 billion", subject="subject: OpenAI\n", extra="").replace(
            "metric: revenue", "metric: sales"
        ),
    )
    pairs = sorted((f.claim_id, f.other_claim_id) for f in kb.analyse().findings if f.code == "KB301")
    assert pairs == [("c", "a")]  # the alias is compared with `revenue`; the qualified figure with neither


def test_metric_alias_errors_are_located_settings_errors(kb):
    from kb.settings import SettingsError, load_settings

    kb.settings('[metrics.revenue]\naliases = ["sales"]\n[metrics.sales]\ndescription = "x"\n')
    with pytest.raises(SettingsError, match=r"alias `sales` is itself a declared metric"):
        load_settings(kb.root)


def dated(kb, id_, value, stated, extra=""):
    text = FIGURE.format(id=id_, value=value, subject="subject: OpenAI\n", extra=extra).replace(
        "stated: 2025-03", f"stated: {stated}"
    )
    kb.claim(id_, folder="x", text=text)


def test_kb304_makes_every_peer_contested_whatever_the_ids(kb):
    # the peers sort before and after the outlier: none is special
    for id_, value in (("a-peer", "83 million"), ("m-odd", "830 million"), ("z-peer", "84 million")):
        figure(kb, id_, value)
    result = kb.analyse()
    [finding] = [f for f in result.findings if f.code == "KB304"]
    assert finding.claim_id == "m-odd" and finding.other_claim_ids == ("a-peer", "z-peer")
    assert {id_: result.status[id_] for id_ in ("a-peer", "m-odd", "z-peer")} == dict.fromkeys(
        ("a-peer", "m-odd", "z-peer"), "contested"
    )


def test_kb301_once_per_claim_listing_the_others(kb):
    dated(kb, "first", "5 billion", "2024-01")
    dated(kb, "second", "3 billion", "2024-02")
    dated(kb, "third", "4 billion", "2024-03")
    result = kb.analyse()
    found = {f.claim_id: f for f in result.findings if f.code == "KB301"}
    assert sorted(found) == ["second", "third"]  # each on the later claim, once
    assert found["second"].other_claim_ids == ("first",)
    assert found["third"].other_claim_ids == ("first", "second")
    assert (
        "5 billion USD in `first`" in found["third"].message and "3 billion USD in `second`" in found["third"].message
    )
    assert {result.status[i] for i in ("first", "second", "third")} == {"contested"}


def test_kb301_lists_five_and_counts_the_rest(kb):
    for month in range(1, 10):
        dated(kb, f"f{month}", f"{9 + month} billion", f"2024-{month:02d}")  # 10 to 18 billion
    [last] = [f for f in kb.analyse().findings if f.code == "KB301" and f.claim_id == "f9"]
    assert len(last.other_claim_ids) == 8  # 17 billion is 6% from 18 billion: all conflict
    assert last.message.count("` (") == 5 and "and 3 more" in last.message
    assert len(last.related) == 5


def test_kb301_declared_relation_and_acknowledgement(kb):
    dated(kb, "first", "5 billion", "2024-01")
    dated(kb, "second", "3 billion", "2024-02")
    dated(kb, "third", "4 billion", "2024-03", extra="contradicts: [first]\n")
    dated(kb, "fourth", "2 billion", "2024-04", extra="acknowledge: {KB301: 'another scope'}\n")
    result = kb.analyse()
    found = {f.claim_id: f for f in result.findings if f.code == "KB301"}
    assert found["third"].other_claim_ids == ("second",)  # the declared relation silences `first`
    assert found["fourth"].acknowledged and found["fourth"].other_claim_ids == ("first", "second", "third")
    detected = {
        (u, v)
        for u, v, d in result.graph.edges(data=True)
        if d["relation"] == "contradicts" and d["origin"] == "detected"
    }
    assert detected == {("claim:second", "claim:first"), ("claim:third", "claim:second")}  # not the acknowledged one


def test_kb301_findings_grow_linearly_with_the_group(kb):
    # 2,000 estimates from 1 to 2 billion: most of the 2,000,000 pairs are over 5% apart
    for index in range(2000):
        dated(kb, f"e{index:04d}", f"{1 + index * 0.0005:.4f} billion", f"2024-{1 + index % 12:02d}")
    result = kb.analyse()
    conflicts = [f for f in result.findings if f.code in ("KB301", "KB304")]
    assert 1000 < len(conflicts) <= 2000  # once per claim, not once per pair (about 2,000,000)
    assert sum(len(f.related) for f in conflicts) <= 5 * len(conflicts)
    detected = sum(1 for *_, d in result.graph.edges(data=True) if d.get("origin") == "detected")
    assert detected <= 6 * 2000
    assert {result.status[i] for i in result.corpus.claims} == {"contested"}
