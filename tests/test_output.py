"""What `kb check` prints: acknowledged findings, SARIF suppressions and fingerprints, the
report file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kb.analyse import analyse
from kb.cli import main
from kb.findings import Finding
from kb.report import FORMATS, _as_dict, _sarif, render, render_bytes
from kb.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
ACK = "acknowledge: {KB401: no report of the outcome yet}\n"


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def acknowledged_and_open(kb):
    """One acknowledged KB401 and one open KB401."""
    kb.source()
    kb.claim(extra=ACK)
    kb.claim("openai-2024-net-loss-two")


def test_acknowledged_findings_are_counted_not_shown(kb):
    acknowledged_and_open(kb)
    for fmt in ("concise", "full"):
        lines = run("check", "--root", str(kb.root), "--format", fmt).output.splitlines()
        assert not any("acknowledged:" in line for line in lines)
        assert lines[0].startswith("claims/openai/openai-2024-net-loss-two.md:")
        assert lines[-1] == "Found 1 finding (1 warning); 1 acknowledged finding hidden (--show-acknowledged)."
    github = run("check", "--root", str(kb.root), "--format", "github").output.splitlines()
    assert len(github) == 1 and github[0].startswith("::warning file=claims/openai/openai-2024-net-loss-two.md,")


def test_show_acknowledged_brings_them_back(kb):
    acknowledged_and_open(kb)
    lines = run("check", "--root", str(kb.root), "--show-acknowledged").output.splitlines()
    assert lines[1].endswith("[acknowledged: no report of the outcome yet]")
    assert lines[-1] == "Found 2 findings (1 warning, 1 acknowledged)."
    github = run("check", "--root", str(kb.root), "--format", "github", "--show-acknowledged").output.splitlines()
    assert [line.split(" ", 1)[0] for line in github] == ["::warning", "::notice"]


def test_only_acknowledged_findings_pass(kb):
    kb.source()
    kb.claim(extra=ACK)
    result = run("check", "--root", str(kb.root), "--strict")
    assert result.output == "All checks passed; 1 acknowledged finding hidden (--show-acknowledged).\n"
    assert result.exit_code == 0


def test_step_summary_counts_hidden(kb, tmp_path, monkeypatch):
    acknowledged_and_open(kb)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run("check", "--root", str(kb.root), "--format", "github")
    text = summary.read_text()
    assert "1 acknowledged finding hidden" in text and "no report of the outcome yet" not in text


def test_json_and_sarif_keep_acknowledged_findings(kb):
    acknowledged_and_open(kb)
    findings = json.loads(run("check", "--root", str(kb.root), "--format", "json").output)
    assert [(f["acknowledged"], f["acknowledgement"]) for f in findings] == [
        (False, None),
        (True, "no report of the outcome yet"),
    ]
    sarif = json.loads(run("check", "--root", str(kb.root), "--format", "sarif").output)
    results = sarif["runs"][0]["results"]
    assert [r.get("suppressions") for r in results] == [
        None,
        [{"kind": "inSource", "status": "accepted", "justification": "no report of the outcome yet"}],
    ]


def two_bad_quotes(kb, shift: str = "") -> list:
    (kb.root / "seeds").mkdir(exist_ok=True)
    (kb.root / "seeds" / "report.txt").write_text("OpenAI could lose 5 billion", encoding="utf-8")
    kb.settings('snapshots = ["seeds"]\n')
    kb.source(extra="snapshot: report.txt\n")
    text = (
        "---\nid: two-quotes\n" + shift + "statement: Two quotes.\nkind: fact\nsubject: OpenAI\nclaimant: X\n"
        "stated: 2024\nevidence:\n  - source: outlet-report\n    quote: not in it\n"
        "  - source: outlet-report\n    quote: not there either\n---\n"
    )
    kb.claim("two-quotes", text=text)
    sarif = json.loads(render(analyse(kb.root).findings, "sarif", kb.root))
    return [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "KB203"]


def test_sarif_fingerprints_are_unique_and_stable(kb):
    results = two_bad_quotes(kb)
    assert len(results) == 2
    prints = [r["partialFingerprints"]["kbFinding/v1"] for r in results]
    assert len(set(prints)) == 2
    moved = two_bad_quotes(kb, shift="tags: [a]\n")  # a line added above: same fingerprints
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in moved] != [
        r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results
    ]
    assert [r["partialFingerprints"]["kbFinding/v1"] for r in moved] == prints


def test_fingerprints_unique_on_the_corpus_and_fixtures():
    for root in [ROOT, *sorted((ROOT / "tests" / "fixtures" / "rules").iterdir())]:
        sarif = json.loads(render(analyse(root).findings, "sarif", root))
        prints = [r["partialFingerprints"]["kbFinding/v1"] for r in sarif["runs"][0]["results"]]
        assert len(prints) == len(set(prints)), root


def test_output_file_in_a_missing_folder_is_created(minimal, tmp_path):
    out = tmp_path / "missing" / "dir" / "x.sarif"
    result = run("check", "--root", str(minimal.root), "--format", "sarif", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_unwritable_output_file_is_one_line_exit_2(minimal, tmp_path):
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(main, ["check", "--root", str(minimal.root), "-o", str(tmp_path / "file" / "x.txt")])
    assert result.exit_code == 2
    assert result.stderr.startswith("kb: error: cannot write the report to ")
    assert "internal error" not in result.stderr and len(result.stderr.splitlines()) == 1


# --- the JSON and SARIF reports: json.dumps(..., indent=2)'s text, written by orjson ------

_texts = st.one_of(st.none(), st.text(max_size=30))
_findings = st.builds(
    Finding,
    code=st.sampled_from(sorted(RULES)),
    message=st.text(max_size=60),
    path=st.text(min_size=1, max_size=20),
    line=st.integers(min_value=0, max_value=10**6),
    column=st.integers(min_value=0, max_value=10**4),
    claim_id=_texts,
    source_id=_texts,
    severity=st.sampled_from(["error", "warning", "info"]),
    acknowledged=st.booleans(),
    acknowledgement=_texts,
    related=st.lists(
        st.tuples(st.text(min_size=1, max_size=10), st.integers(1, 99), st.integers(1, 99), st.text(max_size=10)),
        max_size=2,
    ).map(tuple),
    other_claim_id=_texts,
    other_claim_ids=st.lists(st.text(max_size=10), max_size=3).map(tuple),
)


@given(st.lists(_findings, max_size=4))
def test_json_and_sarif_reports_are_what_json_dumps_writes(findings):
    assert render(findings, "json") == json.dumps([_as_dict(f) for f in findings], ensure_ascii=False, indent=2) + "\n"
    assert render(findings, "sarif") == json.dumps(_sarif(findings), ensure_ascii=False, indent=2) + "\n"
    # what -o writes: the same text, in UTF-8 ("full" reads each finding's file: these paths
    # are made up; test_a_report_written_to_a_file_is_the_one_printed has it on real files)
    for fmt in (f for f in FORMATS if f != "full"):
        assert render_bytes(findings, fmt) == render(findings, fmt).encode("utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_report_written_to_a_file_is_the_one_printed(kb, tmp_path, fmt):
    acknowledged_and_open(kb)
    out = tmp_path / f"report.{fmt}"
    printed = run("check", "--root", str(kb.root), "--exit-zero", "--format", fmt)
    written = run("check", "--root", str(kb.root), "--exit-zero", "--format", fmt, "-o", str(out))
    assert printed.exit_code == written.exit_code == 0 and written.stdout == ""
    assert out.read_bytes() == printed.stdout.encode("utf-8") and printed.stdout


def test_json_report_of_the_corpus_is_what_json_dumps_writes():
    findings = analyse(ROOT).findings
    assert findings
    assert render(findings, "json") == json.dumps([_as_dict(f) for f in findings], ensure_ascii=False, indent=2) + "\n"
    assert render(findings, "sarif") == json.dumps(_sarif(findings), ensure_ascii=False, indent=2) + "\n"
