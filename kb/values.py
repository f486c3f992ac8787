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
import functools
import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, InvalidOperation

from kb.frontmatter import UnreadableNumber
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
_NUMBER = re.compile(r"^([-+]?)\s*([0-9][0-9,_.]*[0-9]|[0-9]|\.[0-9]+)(?:[eE]([-+]?[0-9]+))?\s*(.*?)\s*(%?)$")
_NOT_DECIMAL = re.compile(r"^[-+]?0([xXoObB])[0-9a-fA-F_]+$")
_BASES = {"x": "hexadecimal", "o": "octal", "b": "binary"}

# What a stored figure may be. A SQLite REAL is a double: beyond about 1e308 it is infinite,
# below about 1e-308 it loses digits and then becomes 0, and an integer beyond 2**53 keeps
# only some of its digits. No figure in any unit comes near a googol, so kb keeps a wide
# margin on both sides (products and ratios in the checks stay finite), stores whole numbers
# below 2**53 as INTEGER, and refuses a figure a REAL cannot hold instead of
# silently changing its digits (a number is kept when the double's shortest form reads back
# as the number written: always up to 15 significant digits).
MAX_MAGNITUDE = 1e100
MIN_MAGNITUDE = 1e-100
_EXACT = 2**53
_LARGEST, _SMALLEST = Decimal("1e100"), Decimal("1e-100")
_DECIMALS = Context(prec=200, Emax=10_000, Emin=-10_000)


def _shown(raw: object) -> str:
    text = str(raw) if not isinstance(raw, str) else raw
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _stored(number: Decimal, raw: object, exact: bool = True) -> int | float:
    """The number as kb stores it, or ValueError when that would change it.

    ``exact`` is False for a float YAML already read as a double (nothing more to lose).
    """
    if not number.is_finite():
        raise ValueError("the number must be finite")
    if not number:
        return 0
    magnitude = abs(number)
    if magnitude > _LARGEST:
        raise ValueError(f"{_shown(raw)} is too large: a figure is at most 1e100 in absolute value")
    if magnitude < _SMALLEST:
        raise ValueError(f"{_shown(raw)} is too small: a non-zero figure is at least 1e-100 in absolute value")
    as_float = float(number)
    if exact and Decimal(repr(as_float)) != number:
        raise ValueError(
            f"{_shown(raw)} has more significant digits than a stored number keeps (15 to 17): "
            f"round it, e.g. {as_float:.15g}"
        )
    if number == number.to_integral_value() and magnitude < _EXACT:
        return int(number)
    return as_float


def _not_unreadable(raw: object) -> None:
    if isinstance(raw, UnreadableNumber):
        raise ValueError(raw.reason)


def _digits(digits: str, raw: object) -> Decimal:
    """The digits of a number as written: thousands separators only between groups of three
    (``1,500``, ``12,345,678``, ``1_000``), one kind of separator, a decimal point."""
    integer, dot, fraction = digits.partition(".")
    hint = (
        f"misplaced thousands separator in {_shown(raw)}: a separator (`,` or `_`) sits between groups "
        "of three digits, e.g. 1,500 or 12,345,678"
    )
    if "." in fraction or "," in fraction or "_" in fraction:
        raise ValueError(hint + " (kb reads `.` as the decimal point only)")
    separators = {c for c in integer if c in ",_"}
    if len(separators) > 1:
        raise ValueError(hint + ", with one kind of separator")
    if separators:
        separator = separators.pop()
        groups = integer.split(separator)
        if separator == "," and len(groups) == 2 and not dot and all(groups) and len(groups[1]) != 3:
            raise ValueError(
                f"{_shown(raw)}: a decimal comma? kb reads numbers in English notation: write "
                f"{groups[0]}.{groups[1]} (a comma is only a thousands separator between groups of three digits, 1,500)"
            )
        if not (1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])):
            raise ValueError(hint)
        integer = integer.replace(separator, "")
    try:
        return Decimal(integer + dot + fraction)
    except InvalidOperation:
        raise ValueError(f"cannot read {_shown(raw)} as a number") from None


def parse_amount(raw: object) -> int | float:
    """A number, or a string with optional currency sign, separators and magnitude word."""
    _not_unreadable(raw)
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f"expected a number or a string such as '5 billion', got {type(raw).__name__}")
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError("the number must be finite")
        return _stored(Decimal(str(raw)), raw, exact=False)
    if isinstance(raw, int):
        if abs(raw) > 10**101:  # before converting: a number of a thousand digits is slow to convert
            raise ValueError("the number is too large: a figure is at most 1e100 in absolute value")
        return _stored(Decimal(raw), raw)
    text = raw.strip()
    if match := _NOT_DECIMAL.match(text):
        raise ValueError(f"{_shown(raw)} is written in {_BASES[match[1].lower()]}: write figures in decimal")
    sign = ""
    if text[:1] and text[:1] in "+-":
        sign, text = text[0], text[1:].lstrip()
    text = _CURRENCY.sub("", text)
    match = _NUMBER.match(sign + text)
    if not match:
        raise ValueError(f"cannot read {raw!r} as a number (write e.g. 5e9, '5 billion' or '$1.30')")
    sign, digits, exponent, word, _percent = match.groups()
    if len(digits) > 40 or len(exponent or "") > 4:
        raise ValueError(f"{_shown(raw)} is out of range")
    number = _digits(digits, raw)
    power = int(exponent or 0)
    if word:
        key = word.lower().rstrip(".") if word not in _MAGNITUDES else word
        if key not in _MAGNITUDES:
            raise ValueError(f"unknown magnitude word {word!r} in {raw!r}{did_you_mean(key, _MAGNITUDES)}")
        power += _MAGNITUDES[key]
    if abs(power) > 120:
        raise ValueError(f"{_shown(raw)} is out of range")
    result = number.scaleb(power, context=_DECIMALS)
    try:
        return _stored(-result if sign == "-" else result, raw)
    except ValueError as exc:
        if "too large" in str(exc) or "too small" in str(exc):
            raise ValueError(f"{_shown(raw)} is out of range: {exc}") from None
        raise


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
    _not_unreadable(raw)
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
    _not_unreadable(raw)
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


_WORDS = ((12, "trillion"), (9, "billion"), (6, "million"))


def format_amount(number: float) -> str:
    """A number as a person writes it: magnitude words from a million, four significant
    digits below 1, scientific notation beyond 1e18 and below 1e-6. A value that rounds up to
    the next word takes it, so 999.9999 million is "1 billion", never "1,000 million"; reading the text back
    with :func:`parse_amount` gives the number within 0.05%.

    >>> format_amount(5e9), format_amount(283_000_000), format_amount(1.3), format_amount(2500)
    ('5 billion', '283 million', '1.3', '2,500')
    >>> format_amount(0.00002), format_amount(999.9999e6), format_amount(2.5e-9)
    ('0.00002', '1 billion', '2.5e-09')
    """
    if not number:
        return "0"
    sign, magnitude = ("-" if number < 0 else ""), abs(number)
    if not math.isfinite(magnitude) or magnitude >= 1e18 or magnitude < 1e-6:
        return f"{number:.4g}"
    for index, (power, word) in enumerate(_WORDS):
        if magnitude >= 10**power:
            scaled = round(magnitude / 10**power, 3)
            if scaled >= 1000 and index:  # 999.9999 million rounds to the next word
                scaled, word = round(scaled / 1000, 3), _WORDS[index - 1][1]
            return sign + _strip(f"{scaled:,.3f}") + f" {word}"
    if magnitude >= 1:
        rounded = round(magnitude, 4)
        if rounded >= 999_999.99995:
            return f"{sign}1 million"
        return sign + (f"{int(rounded):,}" if float(rounded).is_integer() else _strip(f"{rounded:,.4f}"))
    decimals = 3 - math.floor(math.log10(magnitude))
    return sign + _strip(f"{magnitude:.{decimals}f}")


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_quantity(quantity: Quantity, unit: str | None = None) -> str:
    """A point value or a range, with its unit.

    >>> format_quantity(parse_value(["3.5 billion", "4.5 billion"]), "USD")
    '3.5 billion–4.5 billion USD'
    """
    # a claim's figure is written into several columns and citation forms: formatted once
    return _formatted(quantity.value, quantity.low, quantity.high, unit)


# typed: 1 and 1.0 may be written differently; small: the hits are the columns of one claim
@functools.lru_cache(maxsize=1 << 10, typed=True)
def _formatted(value, low, high, unit: str | None) -> str:
    quantity = Quantity(value, low, high)
    text = (
        format_amount(quantity.value)
        if quantity.value is not None
        else f"{format_amount(quantity.low)}–{format_amount(quantity.high)}"
    )
    return f"{text} {unit}" if unit else text
