"""Keep the README, --help and the rule documentation honest."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from kb.rules import RULES
from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SPEC_CODES = [
    "KB001",
    "KB002",
    "KB003",
    "KB004",
    "KB005",
    "KB006",
    "KB007",
    "KB101",
    "KB102",
    "KB103",
    "KB104",
    "KB105",
    "KB201",
    "KB202",
    "KB203",
    "KB204",
    "KB301",
    "KB302",
    "KB303",
    "KB304",
    "KB305",
    "KB306",
    "KB401",
    "KB501",
    "KB502",
    "KB503",
    "KB504",
    "KB505",
    "KB901",
]


def test_cli_reference_is_current():
    updater = runpy.run_path(str(ROOT / "scripts" / "update_readme.py"))
    assert updater["updated"](README) == README, "README is stale: run `make docs`"


def test_two_commands_are_documented():
    assert "make serve" in README and "make test" in README


def test_every_spec_rule_exists_with_documentation():
    assert sorted(RULES) == SPEC_CODES
    for rule in RULES.values():
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert rule.severity in ("error", "warning", "info")
        assert all(len(text) > 20 for text in (rule.summary, rule.why, rule.fix)) and rule.example


@pytest.mark.parametrize("code", [c for c in SPEC_CODES if not c.startswith("KB50")])
def test_every_rule_is_in_the_readme(code):
    rule = RULES[code]
    assert f"| {code} | {rule.name} | {rule.severity} |" in README


@pytest.mark.parametrize("key", [k for k in Settings.model_fields if k != "root"])
def test_every_setting_is_in_the_readme(key):
    assert f"\n{key} = " in README or f"[tool.kb.{key}" in README or f"[[tool.kb.{key}" in README


def test_corpus_guide_and_changelog_exist():
    assert (ROOT / "docs" / "corpus-guide.md").is_file()
    assert (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").startswith("# Changelog")


def test_readme_counts_the_rules_that_exist():
    import re

    [count] = re.findall(r"\*\*A linter for claims:\*\* (\d+) documented rules", README)
    assert int(count) == len(RULES)
    drafts = [code for code in RULES if code.startswith("KB5")]
    assert f"{len(RULES) - len(drafts)} for `kb check`, {len(drafts)} for drafts" in README
