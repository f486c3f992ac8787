"""Fuzzing over structured inputs: YAML values of every type and size in every field of
claims, evidence and sources; formulas; periods and dates; whole pairs of claims through
check and build. An escape is any exception other than the named kb errors: loading and
checking never raise on file content, the parsers raise only ValueError (FormulaError for
formulas), and a build either writes a database or raises BuildError.

The number of examples comes from the Hypothesis profile (tests/conftest.py): `dev` locally,
`ci` (1,000 per property, about 4,400 in all) when CI is set:

    CI=true .venv/bin/python -m pytest tests/test_fuzz_structured.py -q
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.analyse import analyse
from kb.database import BuildError, build_database
from kb.findings import printable
from kb.formula import FormulaError, evaluate, names
from kb.models import Claim, Evidence, Source
from kb.values import format_amount, parse_amount, parse_partial_date, parse_period, parse_value

EXAMPLES = settings.default.max_examples

# Scalars as YAML writes them, including the spellings that broke kb before.
HOSTILE_SCALARS = [
    "0x" + "f" * 300,
    "0o17",
    "017",
    "-0",
    ".inf",
    "-.Inf",
    ".NaN",
    "1e400",
    "1e-400",
    "1e101",
    "100000000000000000000",
    "123456789012345678901",
    "9" * 120,
    '"1,5 billion"',
    '"5,,0"',
    '"1.500.000"',
    '"$1.30"',
    '"50亿"',
    "NO",
    "on",
    "~",
    "null",
    "''",
    '""',
    "2024-02-30",
    "2024-Q5",
    "2024-H3",
    "2025/2024",
    "0000",
    "99999",
    "!!int abc",
    "!!float",
    "!!str 5",
    "!!binary aGk=",
    "!shout x",
    "&a x",
    "*a",
    "[",
    "{",
    "'unterminated",
    '"\\e[2J"',
    "[1, 2, 3]",
    "[1, .nan]",
    "{a: 1}",
    "[[[[[[[[[[]]]]]]]]]]",
    "'" + "x" * 20_000 + "'",
    '"\\u202e"',
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet="0123456789-/QHe.,_ $", max_size=16),
    st.dates().map(lambda d: d.isoformat()),
)
yaml_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def dump(value: object) -> str:
    """A value as one YAML flow scalar or collection (kb's reader sees what an author wrote)."""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True).removesuffix("\n...\n").strip()
    )


field_text = st.one_of(yaml_values.map(dump), st.sampled_from(HOSTILE_SCALARS))

BASE_CLAIM = {
    "statement": "A figure.",
    "kind": "fact",
    "subject": "OpenAI",
    "metric": "net_loss",
    "value": "5 billion",
    "unit": "USD",
    "period": "2024",
    "stated": "2025-03",
}
CLAIM_FIELDS = sorted(set(Claim.model_fields) - {"id"})
EVIDENCE_FIELDS = sorted(Evidence.model_fields)
SOURCE_FIELDS = sorted(set(Source.model_fields) - {"id"})


def claim_file(id_: str, fields: dict[str, str], evidence: dict[str, str] | None = None) -> str:
    lines = ["---", f"id: {id_}"] + [f"{name}: {text}" for name, text in fields.items()]
    if evidence is not None:
        lines.append("evidence:")
        lines += [("  - " if i == 0 else "    ") + f"{name}: {text}" for i, (name, text) in enumerate(evidence.items())]
    return "\n".join(lines) + "\n---\nBody.\n"


def knowledge_base(root: Path, claims: dict[str, str], sources: dict[str, str]) -> None:
    (root / "claims").mkdir()
    (root / "sources").mkdir()
    (root / "kb.toml").write_text('today = "2026-11-23"\n', encoding="utf-8")
    for id_, text in claims.items():
        (root / "claims" / f"{id_}.md").write_text(text, encoding="utf-8")
    for id_, text in sources.items():
        (root / "sources" / f"{id_}.md").write_text(text, encoding="utf-8")


SOURCE = "---\nid: src\ntitle: A report\ntype: article\n{extra}---\n"


def assert_located(analysis) -> None:
    for finding in analysis.findings:
        assert finding.line >= 1 and finding.column >= 1, finding
        assert printable(finding.message) == finding.message, finding  # no control character left
        json.dumps([finding.message])  # every finding can be written out


@settings(max_examples=EXAMPLES)
@given(
    field=st.sampled_from(CLAIM_FIELDS),
    text=field_text,
    evidence_field=st.sampled_from(EVIDENCE_FIELDS),
    evidence_text=field_text,
)
def test_any_value_in_any_claim_or_evidence_field(field, text, evidence_field, evidence_text):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        evidence = (
            {"source": "src", evidence_field: evidence_text}
            if evidence_field != "source"
            else {"source": evidence_text}
        )
        knowledge_base(
            root, {"c": claim_file("c", {**BASE_CLAIM, field: text}, evidence)}, {"src": SOURCE.format(extra="")}
        )
        assert_located(analyse(root))


@settings(max_examples=EXAMPLES)
@given(field=st.sampled_from(SOURCE_FIELDS), text=field_text)
def test_any_value_in_any_source_field(field, text):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        claim = claim_file("c", BASE_CLAIM, {"source": "src"})
        knowledge_base(root, {"c": claim}, {"src": SOURCE.format(extra=f"{field}: {text}\n")})
        assert_located(analyse(root))


amounts = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(HOSTILE_SCALARS),
    st.tuples(
        st.decimals(allow_nan=False, allow_infinity=False, places=3),
        st.sampled_from(["", " billion", "M", "亿", " bn", "%"]),
    ).map(lambda t: f'"{t[0]}{t[1]}"'),
    st.tuples(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=999)).map(
        lambda t: f'"{t[0]:,}.{t[1]}"'
    ),
)
periods = st.one_of(
    st.from_regex(r"\A[0-9]{4}(-(Q[0-9]|H[0-9]|[0-9]{2}(-[0-9]{2})?))?(/[0-9]{4}(-[0-9]{2})?)?\Z"),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.sampled_from(HOSTILE_SCALARS),
)


@settings(max_examples=max(EXAMPLES // 5, 20))
@given(
    first=st.fixed_dictionaries({"value": amounts, "period": periods, "stated": periods}),
    second=st.fixed_dictionaries(
        {"value": amounts, "period": periods, "kind": st.sampled_from(["fact", "estimate", "projection"])}
    ),
    formula=st.sampled_from(["a", "a / 12", "a * 2 - a", "(a + a) / (a - a)", "~a", "a ** 2", "-" * 300 + "a"]),
    relation=st.sampled_from(
        ["", "contradicts: [a]\n", "supersedes: a\n", "supports: [a]\n", "resolves: {claim: a, outcome: correct}\n"]
    ),
)
def test_pairs_of_claims_through_check_and_build(first, second, formula, relation):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        a = claim_file("a", {**BASE_CLAIM, **first}, {"source": "src"})
        b = claim_file("b", {**BASE_CLAIM, **second}, {"source": "src"}).replace(
            "\n---\nBody",
            f"\nderived_from: {{formula: '{formula}', inputs: {{a: a}}}}\n{relation}---\nBody".replace("\n\n", "\n"),
        )
        knowledge_base(root, {"a": a, "b": b}, {"src": SOURCE.format(extra="")})
        analysis = analyse(root)
        assert_located(analysis)
        try:
            path = build_database(analysis, allow_errors=True)
        except BuildError:
            return
        with sqlite3.connect(path) as db:
            assert db.execute("pragma integrity_check").fetchone() == ("ok",)
            stored = {row[0] for row in db.execute("select id from claims")}
        assert stored == set(analysis.corpus.claims)


formula_text = st.text(alphabet="ab()+-*/~.e0123456789 _%<>=!&|^@[]{},:;'\"", max_size=120)


@settings(max_examples=EXAMPLES)
@given(
    formula=st.one_of(
        formula_text, st.sampled_from(["~" * 340 + "a", "(" * 250 + "a", "a" + "+a" * 249, "1e999*a", "9" * 400])
    ),
    low=st.floats(allow_nan=False, allow_infinity=False),
    width=st.floats(min_value=0, max_value=1e300),
)
def test_formulas_raise_only_formula_errors(formula, low, width):
    try:
        names(formula)
        evaluate(formula, {"a": (low, low + width), "b": (1.0, 2.0)})
    except FormulaError:
        pass


@settings(max_examples=EXAMPLES)
@given(
    raw=st.one_of(
        periods, amounts, st.integers(), st.floats(), st.booleans(), st.none(), st.lists(st.integers(), max_size=3)
    )
)
def test_parsers_raise_only_value_errors_and_amounts_format_back(raw):
    for parser in (parse_period, parse_partial_date, parse_value):
        try:
            parser(raw)
        except ValueError:
            pass
    try:
        number = parse_amount(raw.strip('"') if isinstance(raw, str) else raw)
    except ValueError:
        return
    back = parse_amount(format_amount(number))
    assert abs(back - number) <= 5e-4 * abs(number), (raw, number, format_amount(number))
