"""Numbers that cannot be stored faithfully, separators, formatting and formula bounds.

Each case here was a crash or a silent wrong reading before (issue 7): an integer beyond
int64 crashed ``kb build``, a 300-digit hex number crashed the checks, ``"1,5 billion"`` was
read as 15 billion, 0.00002 was printed as "0", a formula of 340 ``~`` overflowed the stack.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.database import build_database
from kb.formula import FormulaError, evaluate, names
from kb.values import MAX_MAGNITUDE, format_amount, parse_amount

CLAIM = "---\nid: {id}\nstatement: s\nkind: fact\nsubject: OpenAI\nmetric: revenue\nvalue: {value}\nunit: USD\nperiod: {period}\nstated: {stated}\n---\n"


def claim(kb, id_, value="5", period="2024", stated="2025-03"):
    kb.claim(id_, folder="x", text=CLAIM.format(id=id_, value=value, period=period, stated=stated))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("100000000000000000000000000000000000000001", "more significant digits"),
        ("123456789012345678901", "more significant digits"),
        ("0x" + "f" * 300, "hexadecimal"),
        ("0x1F", "hexadecimal"),
        ("0o17", "octal"),
        ("-0o17", "octal"),  # not a YAML number: a string, then not a figure
        (".inf", "finite"),
        ("-.Inf", "finite"),
        (".NaN", "finite"),
        ("1e400", "too large"),
        ("1e-400", "too small"),
        ("1e101", "too large"),
        ('"1e400"', "out of range"),
        ('"inf"', "cannot read"),
        ('"NaN"', "cannot read"),
        ("[1, 100000000000000000000000000001]", "more significant digits"),
        ("[0x10, 5]", "hexadecimal"),
        ("[1, .nan]", "finite"),
        ("9" * 120, "more than 100"),
        ("9" * 5000, "more than 100"),
        ("0x" + "f" * 5000, "hexadecimal"),
        ('"1,5 billion"', "decimal comma"),
        ('"5,,0"', "thousands separator"),
        ('"1,5000"', "thousands separator"),
        ('"12,34,567"', "thousands separator"),
        ('"1.500.000"', "thousands separator"),
        ('"1_0"', "thousands separator"),
        ('"1,500_000"', "thousands separator"),
    ],
)
def test_unstorable_or_misread_values_are_located_kb004(kb, value, words):
    kb.source()
    claim(kb, "odd", value)
    result = kb.analyse()
    found = [f for f in result.findings if f.code == "KB004"]
    assert len(found) == 1, [str(f) for f in result.findings]
    assert words in found[0].message
    assert (found[0].line, found[0].column) == (7, 8)
    assert "odd" not in result.corpus.claims  # left out, like any file that fails
    build_database(result, allow_errors=True)  # never a crash


@pytest.mark.parametrize("field", ["period", "stated"])
@pytest.mark.parametrize("value", ["0x7E8", "0o3750", "1e400", "9" * 200, ".inf"])
def test_numbers_in_date_fields_are_located(kb, field, value):
    claim(kb, "odd", **{field: value})
    [found] = [f for f in kb.analyse().findings if f.code == "KB004"]
    assert found.line == (9 if field == "period" else 10) and found.column == len(field) + 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,500", 1500),
        ("12,345,678", 12_345_678),
        ("1,234.5", 1234.5),
        ("1_000_000", 1_000_000),
        (10**20, 1e20),  # beyond int64, but a REAL holds it exactly
        ("9,007,199,254,740,992,000", 9.007199254740992e18),
        (2**53, 2**53),
    ],
)
def test_faithful_values_are_read(raw, expected):
    result = parse_amount(raw)
    assert result == expected
    assert not isinstance(result, int) or -(2**63) <= result < 2**63


def test_huge_integer_becomes_a_real(kb):
    kb.source()
    claim(kb, "big", "100000000000000000000")
    result = kb.analyse()
    assert not [f for f in result.findings if f.code == "KB004"]
    assert isinstance(result.corpus.claims["big"].model.value.value, float)
    build_database(result, allow_errors=True)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.00002, "0.00002"),
        (0.000012346, "0.00001235"),
        (2.5e-9, "2.5e-09"),
        (999.9999e6, "1 billion"),
        (999.9994e6, "999.999 million"),
        (999_999.9999, "999,999.9999"),
        (999_999.99999, "1 million"),
        (-999.9999e9, "-1 trillion"),
        (0, "0"),
        (1.3, "1.3"),
        (2500, "2,500"),
        (5e9, "5 billion"),
        (1e21, "1e+21"),
    ],
)
def test_format_amount_keeps_significant_digits_and_crosses_magnitudes(number, text):
    assert format_amount(number) == text


@given(
    st.one_of(
        st.floats(min_value=-MAX_MAGNITUDE, max_value=MAX_MAGNITUDE, allow_nan=False, allow_infinity=False),
        st.integers(min_value=-(10**18), max_value=10**18),
    ).filter(lambda x: x == 0 or abs(x) >= 1e-100)
)
def test_format_then_parse_stays_within_rounding(number):
    back = parse_amount(format_amount(number))
    assert math.isclose(back, number, rel_tol=5e-4, abs_tol=0), (number, format_amount(number), back)


@pytest.mark.parametrize("number", [1e42, 0.03125, 1e-100, 9.999999e17, -0.000999999])
def test_fuzz_escapes_format_back(number):
    """Escapes the structured fuzzer found on main (tests/test_fuzz_structured.py): 1e42 was
    printed as a 40-digit number of trillions kb could not read back; 0.03125 as "0.0312"."""
    assert math.isclose(parse_amount(format_amount(number)), number, rel_tol=5e-4)


@pytest.mark.parametrize(
    "formula",
    [
        "~" * 340 + "a",
        "-" * 499 + "a",
        "(" * 240 + "a" + ")" * 240,
        "not " * 120 + "a",
        "a" + "**a" * 160,
        "a if a else " * 40 + "a",
    ],
)
def test_deep_formulas_are_formula_errors(formula):
    with pytest.raises(FormulaError):
        names(formula)
    with pytest.raises(FormulaError):
        evaluate(formula, {"a": (1, 2)})


def test_long_chains_are_evaluated():
    assert evaluate("+".join(["a"] * 240), {"a": (1, 1)}) == (240, 240)
    assert evaluate("a" + " * 1" * 120, {"a": (2, 2)}) == (2, 2)


def test_deep_formula_is_a_located_kb303(kb):
    claim(kb, "a", "5")
    kb.write(
        "claims/x/d.md",
        "---\nid: d\nstatement: s\nkind: fact\nmetric: revenue\nvalue: 5\nunit: USD\n"
        "derived_from:\n  formula: '" + "~" * 340 + "a'\n  inputs: {a: a}\n---\n",
    )
    found = [f for f in kb.analyse().findings if f.code == "KB303"]
    assert len(found) == 1 and "`~` is not allowed" in found[0].message
    assert (found[0].line, found[0].column) == (9, 12)
