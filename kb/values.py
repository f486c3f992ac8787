"""The conversions the file format promises: amounts, ranges, periods and partial dates.

Each parser takes what YAML gave (a number or a string) and returns a small value object,
or raises ``ValueError`` with a message fit for a user.

>>> parse_amount("5 billion"), parse_amount("$1.30"), parse_amount("83.3M"), parse_amount(5e9)
(5000000000, 1.3, 83300000, 5000000000)
>>> parse_value([3.5e9, "4.5 billion"])
Quantity(value=None, low=3500000000, high=4500000000)
>>> p = parse_period("2024-H1"); (p.start.isoformat(), p.end.isoformat())
('2024-01-01', '2024-06-30')
>>> p = parse_period("2024-10/2025-Q1"); (p.start.isoformat(), p.end.isoformat())
('2024-10-01', '2025-03-31')
>>> parse_partial_date(2024).text
'2024'
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from kb.suggest import did_you_mean

__all__ = [
    "PartialDate",
    "Period",
    "Quantity",
    "format_amount",
    "format_quantity",
    "parse_amount",
    "parse_partial_date",
    "parse_period",
    "parse_value",
]

_MAGNITUDES = {
    "k": 3,
    "thousand": 3,
    "万": 4,
    "m": 6,
    "mn": 6,
    "mm": 6,
    "million": 6,
    "millions": 6,
    "亿": 8,
    "b": 9,
    "bn": 9,
    "billion": 9,
    "billions": 9,
    "t": 12,
    "tn": 12,
    "trillion": 12,
    "trillions": 12,
}
_CURRENCY = re.compile(r"^(?:US\$|\$|€|£|¥|USD\s*)")
_NUMBER = re.compile(r"^([-+]?)\s*([0-9][0-9,_]*(?:\.[0-9]+)?|\.[0-9]+)(?:[eE]([-+]?[0-9]+))?\s*(.*?)\s*(%?)$")


def _number(value: Decimal) -> int | float:
    """An int when the decimal is whole and exactly representable as a float (below 2**53,
    so that SQLite and JSON keep it), else a float."""
    if value == value.to_integral_value() and abs(value) < 2**53:
        return int(value)
    return float(value)


def parse_amount(raw: object) -> int | float:
    """A number, or a string with optional currency sign, separators and magnitude word."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f"expected a number or a string such as '5 billion', got {type(raw).__name__}")
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise ValueError("the number must be finite")
        return _number(Decimal(str(raw))) if isinstance(raw, float) else raw
    text = raw.strip()
    sign = ""
    if text[:1] and text[:1] in "+-":
        sign, text = text[0], text[1:].lstrip()
    text = _CURRENCY.sub("", text)
    match = _NUMBER.match(sign + text)
    if not match:
        raise ValueError(f"cannot read {raw!r} as a number (write e.g. 5e9, '5 billion' or '$1.30')")
    sign, digits, exponent, word, _percent = match.groups()
    try:
        number = Decimal(digits.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"cannot read {raw!r} as a number") from None
    power = int(exponent or 0)
    if word:
        key = word.lower().rstrip(".") if word not in _MAGNITUDES else word
        if key not in _MAGNITUDES:
            raise ValueError(f"unknown magnitude word {word!r} in {raw!r}{did_you_mean(key, _MAGNITUDES)}")
        power += _MAGNITUDES[key]
    if abs(power) > 30 or len(digits) > 40:
        raise ValueError(f"{raw!r} is out of range")
    result = number.scaleb(power)
    return _number(-result if sign == "-" else result)


@dataclass(frozen=True)
class Quantity:
    """A point value, or a range with ``low`` and ``high`` (``value`` is then None)."""

    value: int | float | None = None
    low: int | float | None = None
    high: int | float | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """The interval the quantity covers (a point is a zero-width interval)."""
        if self.value is not None:
            return (self.value, self.value)
        return (self.low, self.high)  # type: ignore[return-value]

    @property
    def is_range(self) -> bool:
        return self.value is None


def parse_value(raw: object) -> Quantity:
    """A claim's ``value``: a number, a number with a magnitude word, or ``[low, high]``."""
    if isinstance(raw, list):
        if len(raw) != 2:
            raise ValueError(f"a range is a list of two values [low, high], got {len(raw)}")
        return Quantity(low=parse_amount(raw[0]), high=parse_amount(raw[1]))
    return Quantity(value=parse_amount(raw))


# ---------------------------------------------------------------------------- dates
_PARTIAL = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


@dataclass(frozen=True)
class PartialDate:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, with the first and last day it covers."""

    text: str
    start: date
    end: date

    def __str__(self) -> str:
        return self.text


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_partial_date(raw: object) -> PartialDate:
    """A partial date; an integer is read as a year (YAML gives ``2024`` as a number)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ValueError(f"expected a date YYYY, YYYY-MM or YYYY-MM-DD, got {type(raw).__name__}")
    text = str(raw).strip()
    match = _PARTIAL.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a date YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if day is not None:
            start = end = date(year, month, day)  # type: ignore[arg-type]
        elif month is not None:
            start, end = date(year, month, 1), _month_end(year, month)  # type: ignore[arg-type]
        else:
            start, end = date(year, 1, 1), date(year, 12, 31)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date: {exc}") from None
    return PartialDate(text, start, end)


_HALF = re.compile(r"^([0-9]{4})-H([12])$")
_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")


@dataclass(frozen=True)
class Period:
    """The time a figure is about: ``text`` as written, ``start`` and inclusive ``end``."""

    text: str
    start: date
    end: date

    def __str__(self) -> str:
        return self.text

    def overlaps(self, other: Period) -> bool:
        return self.start <= other.end and other.start <= self.end


def _single_period(text: str) -> tuple[date, date]:
    if match := _HALF.match(text):
        year, half = int(match[1]), int(match[2])
        return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))
    if match := _QUARTER.match(text):
        year, quarter = int(match[1]), int(match[2])
        return date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter)
    try:
        parsed = parse_partial_date(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a period: write 2024, 2024-H1, 2024-Q3, 2025-07, 2025-07-30 or START/END"
        ) from None
    return parsed.start, parsed.end


def parse_period(raw: object) -> Period:
    """A period; ``START/END`` runs from the start of START to the end of END.

    An interval whose end comes before its start is returned as written: rule KB305
    reports it, with its own code.
    """
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ValueError(f"expected a period such as 2024 or 2024-Q3, got {type(raw).__name__}")
    text = str(raw).strip()
    if "/" in text:
        first, _, last = text.partition("/")
        start, _ = _single_period(first.strip())
        _, end = _single_period(last.strip())
        return Period(text, start, end)
    start, end = _single_period(text)
    return Period(text, start, end)


_WORDS = ((12, "trillion"), (9, "billion"), (6, "million"), (3, "thousand"))


def format_amount(number: float) -> str:
    """A number as a person writes it.

    >>> format_amount(5e9), format_amount(283_000_000), format_amount(1.3), format_amount(2500)
    ('5 billion', '283 million', '1.3', '2,500')
    """
    for power, word in _WORDS[:3]:
        scaled = number / 10**power
        if abs(scaled) >= 1:
            return f"{scaled:,.3f}".rstrip("0").rstrip(".") + f" {word}"
    if float(number).is_integer():
        return f"{int(number):,}"
    return f"{number:,.4f}".rstrip("0").rstrip(".")


def format_quantity(quantity: Quantity, unit: str | None = None) -> str:
    """A point value or a range, with its unit.

    >>> format_quantity(parse_value(["3.5 billion", "4.5 billion"]), "USD")
    '3.5 billion–4.5 billion USD'
    """
    text = (
        format_amount(quantity.value)
        if quantity.value is not None
        else f"{format_amount(quantity.low)}–{format_amount(quantity.high)}"
    )
    return f"{text} {unit}" if unit else text
