"""`kb check` through click's CliRunner, with exact output and exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner

from kb.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_clean_knowledge_base(kb):
    kb.source()
    kb.claim(extra="acknowledge: {KB401: no report of the outcome yet}\n")
    result = run("check", "--root", str(kb.root), "--show-acknowledged")
    assert result.output == (
        "claims/openai/openai-2024-net-loss.md:9:9: KB401 [warning] projection for 2024: the period has ended (today is 2026-11-23) "
        "and no claim resolves it [acknowledged: no report of the outcome yet]\n"
        "Found 1 finding (1 acknowledged).\n"
    )
    assert result.exit_code == 0
    assert run("check", "--root", str(kb.root), "--strict").exit_code == 0


def test_misspelt_field_exits_1(kb):
    kb.source()
    kb.claim(extra="vaule: 3\n")
    result = run("check", "--root", str(kb.root))
    assert result.output == (
        "claims/openai/openai-2024-net-loss.md:15:1: KB004 [error] unknown field `vaule` (did you mean `value`?)\n"
        "Found 1 finding (1 error).\n"
    )  # no KB103 for the source: the claim that fails to load still cites it
    assert result.exit_code == 1


def test_warnings_fail_only_with_strict(minimal):
    assert run("check", "--root", str(minimal.root)).exit_code == 0
    assert run("check", "--root", str(minimal.root), "--strict").exit_code == 1
    assert run("check", "--root", str(minimal.root), "--strict", "--exit-zero").exit_code == 0
    assert run("check", "--root", str(minimal.root), "--today", "2024-12-01").output == "All checks passed.\n"


def test_json_format(minimal):
    result = run("check", "--root", str(minimal.root), "--format", "json")
    [finding] = json.loads(result.output)
    assert {
        k: finding[k]
        for k in ("code", "name", "severity", "acknowledged", "path", "line", "column", "claim_id", "source_id")
    } == {
        "code": "KB401",
        "name": "overdue-prediction",
        "severity": "warning",
        "acknowledged": False,
        "path": "claims/openai/openai-2024-net-loss.md",
        "line": 9,
        "column": 9,
        "claim_id": "openai-2024-net-loss",
        "source_id": None,
    }


def test_github_format(minimal):
    result = run("check", "--root", str(minimal.root), "--format", "github")
    assert result.output == (
        "::warning file=claims/openai/openai-2024-net-loss.md,line=9,col=9,title=KB401 overdue-prediction"
        "::projection for 2024: the period has ended (today is 2026-11-23) and no claim resolves it\n"
    )


def test_full_format_shows_the_line(kb):
    kb.source()
    kb.claim(extra="vaule: 3\n")
    output = run("check", "--root", str(kb.root), "--format", "full", str(kb.root / "claims")).output
    assert output.splitlines()[:5] == [
        "claims/openai/openai-2024-net-loss.md:15:1: KB004 [error] unknown field `vaule` (did you mean `value`?)",
        '  14 |     quote: "lose 5 billion"',
        "  15 | vaule: 3",
        "     | ^",
        "  16 | ---",
    ]


def test_paths_limit_the_report(kb):
    kb.source()
    kb.source("unused-report")
    kb.claim(extra="vaule: 3\n")
    result = run("check", "--root", str(kb.root), str(kb.root / "sources"))
    assert result.output.splitlines()[-1] == "Found 1 finding (1 warning)."
    assert result.exit_code == 0


def test_output_file(minimal, tmp_path):
    out = tmp_path / "report.sarif"
    result = run("check", "--root", str(minimal.root), "--format", "sarif", "-o", str(out))
    assert result.output == ""
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_bad_settings_exit_2(kb):
    kb.settings("claim = 'x'\n")
    result = CliRunner().invoke(main, ["check", "--root", str(kb.root)])
    assert result.exit_code == 2
    assert result.stderr == "kb: error: kb.toml: claim: unknown setting (did you mean `claims`?)\n"


def test_unknown_rule_in_settings_exit_2(kb):
    kb.settings("[rules]\nKB999 = 'off'\n")
    result = CliRunner().invoke(main, ["check", "--root", str(kb.root)])
    assert (result.exit_code, result.stderr) == (
        2,
        "kb: error: kb.toml: [rules]: unknown rule `KB999` (see `kb rule --all`)\n",
    )


def test_severity_override_by_name(minimal):
    minimal.settings("[rules]\noverdue-prediction = 'off'\n")
    assert run("check", "--root", str(minimal.root), "--strict").output == "All checks passed.\n"
    minimal.settings("[rules]\nKB401 = 'error'\n")
    assert run("check", "--root", str(minimal.root)).exit_code == 1


def test_unused_acknowledgement(kb):
    kb.source()
    kb.claim(extra="acknowledge: {KB401: fine, KB303: stale, KB777: unknown}\n")
    lines = run("check", "--root", str(kb.root)).output.splitlines()
    assert lines[0:2] == [
        "claims/openai/openai-2024-net-loss.md:15:28: KB901 [warning] acknowledgement of `KB303` matches no finding: remove it",
        "claims/openai/openai-2024-net-loss.md:15:42: KB901 [warning] acknowledgement of `KB777` names no known rule: remove it",
    ]


def test_github_step_summary(minimal, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run("check", "--root", str(minimal.root), "--format", "github")
    assert summary.read_text().splitlines() == [
        "## kb check",
        "",
        "Found 1 finding (1 warning).",
        "",
        "| file | line | rule | severity | message |",
        "|---|---:|---|---|---|",
        "| `claims/openai/openai-2024-net-loss.md` | 9 | KB401 overdue-prediction | warning | "
        "projection for 2024: the period has ended (today is 2026-11-23) and no claim resolves it |",
    ]


def test_pre_commit_hook_runs_kb_check():
    from pathlib import Path

    import yaml

    hooks = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())
    assert [h["entry"] for h in hooks] == ["kb check", "kb check --strict", "kb check-draft"]
    assert all(h["pass_filenames"] is False for h in hooks[:2])  # graph rules need the whole KB
    drafts = hooks[2]  # the draft hook checks the changed drafts it is given
    assert drafts.get("pass_filenames", True) is True and drafts["files"] == r"\.(md|qmd)$"


def test_nested_setting_gets_its_own_suggestion(kb):
    # the settings and the files share one renderer of validation errors (kb.validation)
    kb.settings("[metrics.net_loss]\nunitt = 'USD'\ntolerance = [1]\n")
    result = CliRunner().invoke(main, ["check", "--root", str(kb.root)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "kb: error: kb.toml: metrics.net_loss.tolerance: Input should be a valid number, got a list",
        "kb.toml: metrics.net_loss.unitt: unknown setting (did you mean `unit`?)",
    ]
