"""kb.draft_numbers: the strict figure reader, on real sentences of the seeds and with hypothesis."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.draft_numbers import chinese_number, find_figures


def one(text):
    figures = find_figures(text)
    assert len(figures) == 1, figures
    figure = figures[0]
    return figure.low, figure.high, figure.unit, figure.per, figure.approximate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OpenAI could lose $5 billion this year.", (5e9, 5e9, "USD", None, False)),
        ("It booked 5B in revenue.", (5e9, 5e9, None, None, False)),
        ("a loss of US$5bn in 2024", (5e9, 5e9, "USD", None, False)),
        ("revenue of $5bn-$6bn", (5e9, 6e9, "USD", None, False)),
        ("it could lose about 5 billion dollars", (5e9, 5e9, "USD", None, True)),
        ("OpenAI今年可能亏损高达 50 亿美元", (5e9, 5e9, "USD", None, True)),
        ("亏损五十亿美元", (5e9, 5e9, "USD", None, False)),
        ("市场规模 1.3 万亿", (1.3e12, 1.3e12, None, None, False)),
        ("revenue grew 164% last year", (164, 164, "percent", None, False)),
        ("增长了百分之四十", (40, 40, "percent", None, False)),
        ("Microsoft charges OpenAI about $1.30 an hour per A100", (1.3, 1.3, "USD", "hour", True)),
        ("a subscription costs $20 a month", (20, 20, "USD", "month", False)),
        ("up to $2,000 per month for new models", (2000, 2000, "USD", "month", True)),
        ("between $3.5 billion and $4.5 billion", (3.5e9, 4.5e9, "USD", None, False)),
        ("$3.5 to $4.5 billion", (3.5e9, 4.5e9, "USD", None, False)),
        ("Anthropic的年化收入可能在4亿至6亿美元之间", (4e8, 6e8, "USD", None, False)),
        ("市值 2640 亿美元的 AMD", (2.64e11, 2.64e11, "USD", None, False)),
        ("每月 20 美元", (20, 20, "USD", "month", False)),
        ("AMD is worth $83.3M", (83.3e6, 83.3e6, "USD", None, False)),
        ("USD 5 billion of debt", (5e9, 5e9, "USD", None, False)),
        ("nearly $1 trillion of capex", (1e12, 1e12, "USD", None, True)),
        ("40 percent of projects", (40, 40, "percent", None, False)),
    ],
)
def test_real_phrasings(text, expected):
    assert one(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        "In 2024, 3 people met.",
        "Figure 3 shows 12 states.",
        "a 5m walk",
        "from 2023 to 2024",
        "pages 10-20",
        "v1.3",
        "about €5 billion",
    ],
)
def test_bare_numbers_are_not_figures(text):
    assert find_figures(text) == []


def test_several_figures_and_spans():
    text = "raised $6.6 billion at a $157 billion valuation, and $5 billion and 2024"
    figures = find_figures(text)
    assert [text[f.start : f.end] for f in figures] == ["$6.6 billion", "$157 billion", "$5 billion"]
    assert [f.low for f in figures] == [6.6e9, 157e9, 5e9]


def test_chinese_numerals():
    assert [int(chinese_number(t)) for t in ("五十", "十五", "一百零五", "两千", "九千九百九十九")] == [
        50,
        15,
        105,
        2000,
        9999,
    ]


_WORDS = {"million": 6, "billion": 9, "trillion": 12}


@given(
    st.integers(min_value=1, max_value=999),
    st.integers(min_value=0, max_value=99),
    st.sampled_from(sorted(_WORDS)),
    st.sampled_from(["$", "US$", ""]),
    st.sampled_from(["", " dollars"]),
)
def test_english_amounts_round_trip(whole, cents, word, currency, tail):
    number = f"{whole}.{cents:02d}" if cents else str(whole)
    text = f"The company said {currency}{number} {word}{tail} was spent in 2025."
    figures = find_figures(text)
    assert len(figures) == 1
    assert figures[0].low == pytest.approx(float(number) * 10 ** _WORDS[word])
    assert figures[0].unit == ("USD" if currency or tail else None)
    assert text[figures[0].start : figures[0].end].startswith(currency + number)


@given(st.integers(min_value=1, max_value=9999), st.sampled_from(["万", "亿", "億", "万亿"]))
def test_chinese_amounts_round_trip(number, word):
    power = {"万": 4, "亿": 8, "億": 8, "万亿": 12}[word]
    figures = find_figures(f"据报道，该公司亏损 {number}{word}美元。")
    assert len(figures) == 1
    assert figures[0].low == number * 10**power and figures[0].unit == "USD"


@given(st.text(max_size=200))
def test_never_raises_and_spans_are_ordered(text):
    figures = find_figures(text)
    assert all(0 <= f.start < f.end <= len(text) and f.low <= f.high for f in figures)
    assert all(a.end <= b.start for a, b in itertools.pairwise(figures))
