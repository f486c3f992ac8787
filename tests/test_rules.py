"""Rule fixtures: one small knowledge base per rule under tests/fixtures/rules/<CODE>/.

In a fixture, every line where the rule must fire carries the marker ``expect: CODE``
(in a YAML comment, ``# expect: KB301``, or in the Markdown body); the rule must fire on
exactly those lines and nowhere else in the fixture. ``expected.txt`` is the golden
``kb check`` report of the fixture (all rules, concise format); regenerate the golden files
with ``KB_UPDATE_GOLDEN=1 pytest tests/test_rules.py``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from kb.analyse import analyse
from kb.report import render
from kb.rules import RULES

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
MARKER = re.compile(rb"expect: (KB\d{3})")
TODAY = date(2026, 11, 23)
CHECK_CODES = [code for code in RULES if not code.startswith("KB5")]  # KB5xx: `kb check-draft`


def markers(root: Path) -> set[tuple[str, str, int]]:
    found = set()
    for path in sorted(root.rglob("*.md")):
        for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
            for code in MARKER.findall(line):
                found.add((code.decode(), path.relative_to(root).as_posix(), number))
    return found


@pytest.mark.parametrize("code", CHECK_CODES)
def test_fixture_exists(code):
    assert (FIXTURES / code).is_dir(), f"rule {code} has no fixture in {FIXTURES / code}"
    assert any(c == code for c, _, _ in markers(FIXTURES / code)), f"fixture {code} marks no line where it fires"


def fixture_dirs():
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir()) if FIXTURES.is_dir() else []


@pytest.mark.parametrize("fixture", fixture_dirs(), ids=lambda p: p.name)
def test_rule_fires_exactly_on_marked_lines(fixture):
    result = analyse(fixture, today=TODAY)
    fired = {(f.code, f.path, f.line) for f in result.findings if f.code == fixture.name}
    expected = {m for m in markers(fixture) if m[0] == fixture.name}
    assert fired == expected


@pytest.mark.parametrize("fixture", fixture_dirs(), ids=lambda p: p.name)
def test_golden_report(fixture):
    report = render(analyse(fixture, today=TODAY).findings, "concise", fixture)
    golden = fixture / "expected.txt"
    if os.environ.get("KB_UPDATE_GOLDEN"):
        golden.write_text(report, encoding="utf-8")
    assert report == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("fixture", fixture_dirs(), ids=lambda p: p.name)
def test_sarif_is_valid(fixture):
    sarif = json.loads(render(analyse(fixture, today=TODAY).findings, "sarif", fixture))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {fixture.name}
