"""A strict reader of the figures in English and Chinese prose: money, magnitudes, percentages.

No maintained library reads "US$5bn", "5B" or "五十亿美元" as money (quantulum3 reads "US$5bn"
as dollar·bit·newton and "5B" as bytes), so kb has its own, deliberately narrow: a figure is
a number *with* a currency, a magnitude word or a percent sign. Bare numbers (years, counts,
"Figure 3") are never figures, so that a draft's dates do not raise findings.

Understood: ``$5 billion``, ``5B``, ``US$5bn``, ``$83.3M``, ``USD 5 billion``, ``5 billion
dollars``, ``$5bn-$6bn``, ``$3.5 to $4.5 billion``, ``between $400 million and $600
million``, ``about 5 billion dollars`` (approximate), ``164%``, ``40 percent``, ``$1.30 an
hour``, ``$20 a month``, ``$2,000 per month``; ``50 亿美元``, ``50億美元``, ``五十亿美元``,
``1.3 万亿``, ``4亿至6亿美元``, ``百分之四十``, ``每月 20 美元``, ``约 50 亿美元``.

>>> [(f.text, f.low, f.unit, f.per) for f in find_figures("It lost US$5bn, about $1.30 an hour.")]
[('US$5bn', 5000000000, 'USD', None), ('$1.30 an hour', 1.3, 'USD', 'hour')]
>>> [(f.text, f.low, f.high, f.unit) for f in find_figures("亏损4亿至6亿美元，增长百分之四十")]
[('4亿至6亿美元', 400000000, 600000000, 'USD'), ('百分之四十', 40, 40, 'percent')]
>>> find_figures("In 2024, 3 people met.")
[]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Figure", "chinese_number", "find_figures"]


@dataclass(frozen=True)
class Figure:
    """A figure found in a text: ``[low, high]`` in base units (a point has low == high),
    ``unit`` ``USD``, ``percent`` or None (a plain magnitude), ``per`` hour, day, week, month,
    year or None, and the character span ``[start, end)`` in the text."""

    text: str
    start: int
    end: int
    low: int | float
    high: int | float
    unit: str | None
    per: str | None = None
    approximate: bool = False

    @property
    def is_range(self) -> bool:
        return self.low != self.high


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)


# ----------------------------------------------------------------------------- English
_MAG_WORDS = {
    "thousand": 3,
    "k": 3,
    "million": 6,
    "millions": 6,
    "mn": 6,
    "mln": 6,
    "m": 6,
    "mm": 6,
    "billion": 9,
    "billions": 9,
    "bn": 9,
    "b": 9,
    "trillion": 12,
    "trillions": 12,
    "tn": 12,
    "t": 12,
}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
# A magnitude: a word after a space, or a letter abbreviation glued to the number ("5B", "$5bn").
_MAG = r"(?:\s*(?:thousand|millions?|billions?|trillions?)\b|(?:bn|mn|mln|tn|mm|[kKmMbBtT])(?![A-Za-z]))"
_CUR = r"(?:US\$|USD\s?|\$)"
_PER = r"(?:\s*(?:/|\ba\b|\ban\b|\bper\b|\beach\b)\s*(hour|hr|day|week|month|mo|year|yr|annum)\b)"
_DOLLARS = r"(?:\s*(?:US\s)?(?:dollars|USD)\b)"
_PCT = r"(?:\s*%|\s*(?:percent|per\s?cent)\b)"
_SIDE = rf"(?P<curI>{_CUR})?(?P<numI>{_NUM})(?P<magI>{_MAG})?"
_RANGE_SEP = r"\s*(?:-|–|—|to)\s*"
_EN = re.compile(
    r"(?<![\w.$])(?:(?P<between>between)\s+)?"
    + _SIDE.replace("I>", "1>")
    + rf"(?:(?:{_RANGE_SEP}|\s+and\s+)"
    + _SIDE.replace("I>", "2>")
    + ")?"
    + rf"(?P<tail>{_DOLLARS}|{_PCT})?(?:{_PER})?(?![\w])",
    re.IGNORECASE,
)
_EN_SINGLE = re.compile(
    _SIDE.replace("I>", "1>")
    + rf"(?P<num2>)?(?P<cur2>)?(?P<mag2>)?(?P<between>)?(?P<tail>{_DOLLARS}|{_PCT})?(?:{_PER})?(?![\w])",
    re.IGNORECASE,
)
_APPROX_EN = re.compile(
    r"(?:\b(?:about|around|roughly|nearly|almost|approximately|approx\.|some|over|more than|less than|"
    r"under|up to|as much as|as many as|close to|upwards of|at least|an estimated|estimated)\s+|~\s*)$",
    re.IGNORECASE,
)
_APPROX_ZH = re.compile(r"(?:约|大约|近|将近|接近|超过|逾|高达|至少|上|约合|大約|將近|超過|至少)\s*$")
_PER_NORMAL = {"hr": "hour", "mo": "month", "yr": "year", "annum": "year"}

# ----------------------------------------------------------------------------- Chinese
_ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_NUMERAL = "零〇一二两兩三四五六七八九十百千"
_ZH_MAG = {
    "万": 4,
    "萬": 4,
    "亿": 8,
    "億": 8,
    "万亿": 12,
    "萬億": 12,
    "兆": 12,
    "千万": 7,
    "千萬": 7,
    "百万": 6,
    "百萬": 6,
}
_ZH_MAG_RE = r"(?:万亿|萬億|千万|千萬|百万|百萬|万|萬|亿|億|兆)"
_ZH_NUM = rf"(?:{_NUM}|[{_ZH_NUMERAL}]+)"
_ZH_CUR = r"(?:美元|美金|USD)"
_ZH_PER = r"(?:每(小时|小時|天|日|周|週|月|年)|/(小时|小時|天|月|年)|一个月|一個月)"
_ZH_PER_NORMAL = {
    "小时": "hour",
    "小時": "hour",
    "天": "day",
    "日": "day",
    "周": "week",
    "週": "week",
    "月": "month",
    "年": "year",
    "一个月": "month",
    "一個月": "month",
}
_ZH = re.compile(
    rf"(?P<zcur0>US\$|\$)?(?P<n1>{_ZH_NUM})\s*(?P<m1>{_ZH_MAG_RE})?"
    rf"(?:\s*(?:至|到|-|–|~|～)\s*(?P<n2>{_ZH_NUM})\s*(?P<m2>{_ZH_MAG_RE})?)?"
    rf"\s*(?P<zcur>{_ZH_CUR})?(?P<zper>{_ZH_PER})?"
)
_ZH_PCT = re.compile(rf"百分之(?P<p1>{_ZH_NUM})(?:(?:至|到)(?:百分之)?(?P<p2>{_ZH_NUM}))?")
_ZH_PER_BEFORE = re.compile(rf"{_ZH_PER}\s*$")


def chinese_number(text: str) -> Decimal:
    """A number in Chinese numerals below 10,000 (五十 = 50, 三千五百 = 3500), or in digits.

    >>> [int(chinese_number(t)) for t in ("五十", "十", "一百二十", "三千五百", "两", "2640")]
    [50, 10, 120, 3500, 2, 2640]
    """
    if re.fullmatch(_NUM, text):
        return Decimal(text.replace(",", ""))
    total, current = 0, 0
    for char in text:
        if char in _ZH_DIGITS:
            current = current * 10 + _ZH_DIGITS[char] if current and char in "零〇" else _ZH_DIGITS[char]
        elif char in _ZH_UNITS:
            total += (current or 1) * _ZH_UNITS[char]
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return Decimal(total + current)


def _en_side(match: re.Match, i: int) -> tuple[Decimal, int] | None:
    raw = match.group(f"num{i}")
    if raw is None:
        return None
    power = 0
    mag = match.group(f"mag{i}")
    if mag:
        word = mag.strip().lower()
        if len(mag.strip()) == 1 and mag.strip() in "mt" and not match.group(f"cur{i}") and not match.group("cur1"):
            return None  # "5m" (metres), "5t" (tonnes) without a currency sign are not figures
        power = _MAG_WORDS[word]
    return Decimal(raw.replace(",", "")).scaleb(power), power


def _english(text: str) -> list[Figure]:
    figures = []
    for match in _EN.finditer(text):
        # "X and Y" is a range only after "between"
        separator = text[match.end("mag1") if match.group("mag1") else match.end("num1") :]
        invalid = not match.group("between") and re.match(r"\s+and\s+", separator)
        if match.group("num2") and (invalid or _descending(match)):
            single = _EN_SINGLE.match(text, match.start("cur1") if match.group("cur1") else match.start("num1"))
            if single is None:
                continue
            match = single
        first, second = _en_side(match, 1), _en_side(match, 2) if match.group("num2") else None
        if first is None or (match.group("num2") and second is None):
            continue
        tail = (match.group("tail") or "").strip().lower()
        percent = tail.startswith("%") or tail.startswith("per")
        currency = bool(match.group("cur1") or match.group("cur2") or (tail and not percent))
        magnitude = bool(match.group("mag1") or match.group("mag2"))
        if not (currency or percent or magnitude):
            continue
        low = first[0]
        if second is not None:
            high, high_power = second
            if not match.group("mag1") and match.group("mag2"):
                low = low.scaleb(high_power)  # "$3.5 to $4.5 billion": the magnitude applies to both
            if low > high:
                continue  # "5-3 billion" is not a range kb understands
        else:
            high = low
        start = match.start("cur1") if match.group("cur1") else match.start("num1")
        if start and text[start - 1] in "€£¥₹":
            continue  # another currency: not comparable with kb's USD figures
        figures.append(
            Figure(
                text[start : match.end()],
                start,
                match.end(),
                _number(low),
                _number(high),
                "percent" if percent else "USD" if currency else None,
                _per_of(match),
                bool(_APPROX_EN.search(text[max(0, start - 30) : start].removesuffix("between "))),
            )
        )
    return figures


def _descending(match: re.Match) -> bool:
    first, second = _en_side(match, 1), _en_side(match, 2)
    if first is None or second is None:
        return True
    low = first[0] if match.group("mag1") or not match.group("mag2") else first[0].scaleb(second[1])
    return low > second[0]


def _per_of(match: re.Match) -> str | None:
    # the last group of _EN is the unit of time after the figure
    per = match.groups()[-1]
    return _PER_NORMAL.get(per.lower(), per.lower()) if per else None


def _chinese(text: str) -> list[Figure]:
    figures = []
    for match in _ZH_PCT.finditer(text):
        low = chinese_number(match["p1"])
        high = chinese_number(match["p2"]) if match["p2"] else low
        figures.append(Figure(match[0], match.start(), match.end(), _number(low), _number(high), "percent"))
    for match in _ZH.finditer(text):
        if not (match["m1"] or match["m2"]) and not match["zcur"]:
            continue  # a Chinese figure has a magnitude (万, 亿) or a currency (美元)
        if match.start() > 0 and text[match.start() - 1] in "百分之" and not match["zcur0"]:
            continue
        try:
            low = chinese_number(match["n1"])
            high = chinese_number(match["n2"]) if match["n2"] else None
        except ValueError:
            continue
        power2 = _ZH_MAG.get(match["m2"] or match["m1"] or "", 0)
        power1 = _ZH_MAG[match["m1"]] if match["m1"] else power2
        low = low.scaleb(power1)
        high = high.scaleb(power2) if high is not None else low
        if low > high:
            continue
        per_word = match["zper"]
        per = None
        if per_word:
            per = _ZH_PER_NORMAL.get(per_word.lstrip("每/"), _ZH_PER_NORMAL.get(per_word))
        elif before := _ZH_PER_BEFORE.search(text[max(0, match.start() - 6) : match.start()]):
            word = before.group(0).strip()
            per = _ZH_PER_NORMAL.get(word.lstrip("每/"), _ZH_PER_NORMAL.get(word))
        currency = bool(match["zcur"] or match["zcur0"])
        approximate = bool(_APPROX_ZH.search(text[max(0, match.start() - 4) : match.start()]))
        figures.append(
            Figure(
                match[0].rstrip(),
                match.start(),
                match.start() + len(match[0].rstrip()),
                _number(low),
                _number(high),
                "USD" if currency else None,
                per,
                approximate,
            )
        )
    return figures


def find_figures(text: str) -> list[Figure]:
    """The figures in a text, in order, without overlaps (the longer reading wins)."""
    found = sorted(_english(text) + _chinese(text), key=lambda f: (f.start, -(f.end - f.start)))
    result: list[Figure] = []
    for figure in found:
        if result and figure.start < result[-1].end:
            continue
        result.append(figure)
    return result
