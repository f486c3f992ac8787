"""Amounts, ranges, periods and partial dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.values import format_amount, parse_amount, parse_partial_date, parse_period, parse_value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (5e9, 5_000_000_000),
        (5000000000, 5_000_000_000),
        ("5 billion", 5_000_000_000),
        ("$1.30", 1.3),
        ("83.3M", 83_300_000),
        ("2.83亿", 283_000_000),
        ("50亿", 5_000_000_000),
        ("1,500", 1500),
        ("US$ 20", 20),
        ("-4 bn", -4_000_000_000),
        ("164%", 164),
        ("$2.5 trillion", 2.5e12),
        ("12k", 12_000),
        ("0.5", 0.5),
    ],
)
def test_amounts(raw, expected):
    assert parse_amount(raw) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("5 bilion", "did you mean `billion`"),
        ("five", "cannot read"),
        (True, "got bool"),
        ("1e999 billion", "out of range"),
        ("9" * 50, "out of range"),
        (float("inf"), "finite"),
    ],
)
def test_bad_amounts(raw, words):
    with pytest.raises(ValueError, match=words):
        parse_amount(raw)


def test_ranges():
    q = parse_value(["3.5 billion", 4.5e9])
    assert (q.value, q.low, q.high, q.is_range) == (None, 3.5e9, 4.5e9, True)
    assert parse_value("5 billion").bounds == (5e9, 5e9)
    with pytest.raises(ValueError, match="two values"):
        parse_value([1, 2, 3])


@pytest.mark.parametrize(
    ("raw", "start", "end"),
    [
        (2024, "2024-01-01", "2024-12-31"),
        ("2024-H2", "2024-07-01", "2024-12-31"),
        ("2024-Q1", "2024-01-01", "2024-03-31"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2025-07-30", "2025-07-30", "2025-07-30"),
        ("2024-10/2025-09", "2024-10-01", "2025-09-30"),
        ("2025/2024", "2025-01-01", "2024-12-31"),
    ],
)
def test_periods(raw, start, end):
    period = parse_period(raw)
    assert (period.start.isoformat(), period.end.isoformat(), period.text) == (start, end, str(raw))


@pytest.mark.parametrize("raw", ["2024-H3", "2024-Q5", "2024-13", "24", "last year", "2024-02-30", 2024.5, True])
def test_bad_periods(raw):
    with pytest.raises(ValueError):
        parse_period(raw)


def test_partial_dates():
    assert parse_partial_date("2024-07").end == date(2024, 7, 31)
    assert parse_partial_date(2025).start == date(2025, 1, 1)
    with pytest.raises(ValueError, match="not a real date"):
        parse_partial_date("2024-02-30")


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integers_round_trip(number):
    assert parse_amount(str(number)) == number
    assert parse_amount(f"{number:,}") == number


@given(
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False),
    st.sampled_from([("million", 6), ("billion", 9), ("M", 6), ("bn", 9)]),
)
def test_magnitudes(number, word):
    name, power = word
    assert parse_amount(f"{number} {name}") == pytest.approx(float(number) * 10**power)


@given(st.text(max_size=30))
def test_parsers_only_raise_value_error(text):
    for parser in (parse_amount, parse_period, parse_partial_date):
        try:
            parser(text)
        except ValueError:
            pass


def test_format_amount():
    assert [format_amount(x) for x in (5e9, 3.5e9, 283e6, 1.3, 20)] == [
        "5 billion",
        "3.5 billion",
        "283 million",
        "1.3",
        "20",
    ]
