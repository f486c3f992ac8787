"""A metric over time, drawn as SVG on the server.

Why SVG from Python rather than a JavaScript charting library: the output is deterministic
(tested like any string), needs no script (so it works under a strict Content-Security-Policy
and with JavaScript off), loads nothing from anywhere, and prints. Every text is escaped.

x is the period a figure is about (a line spans the whole period, the mark sits in its
middle, nudged sideways when several outlets report the same period), y the value in the
metric's unit. A range is a bar from its low to its high bound. Each outlet has its own
colour and shape; facts and estimates are filled, projections and predictions hollow with a
dashed outline. The highlighted claim gets a black ring.
"""

from __future__ import annotations

import math
from datetime import date
from html import escape

from kb.values import format_amount

__all__ = ["PALETTE", "SHAPES", "figure_chart", "kind_swatches", "legend", "nice_ticks", "outlet_styles"]

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#4d7c0f", "#57534e")
SHAPES = ("circle", "square", "triangle", "diamond", "down", "cross")
HOLLOW_KINDS = {"projection", "prediction"}

WIDTH, HEIGHT = 860, 360
LEFT, RIGHT, TOP, BOTTOM = 92, 20, 20, 46


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: from the last multiple of the step at or below
    low to the first at or above high.

    >>> nice_ticks(0, 10e9)
    [0.0, 2000000000.0, 4000000000.0, 6000000000.0, 8000000000.0, 10000000000.0]
    >>> nice_ticks(5, 5)
    [4.0, 5.0, 6.0]
    >>> nice_ticks(0, 85e9)[-1]  # the top tick is never below the highest figure
    100000000000.0
    >>> nice_ticks(0, 3e-5)
    [0.0, 1e-05, 2e-05, 3e-05]
    """
    if high <= low:  # one value: a step around it
        step = 10 ** math.floor(math.log10(abs(low))) if low else 1.0
        return [float(low - step), float(low), float(low + step)]
    raw = (high - low) / count
    if not raw > 1e-300:  # two values a hair apart (subnormal): the two
        return [float(low), float(high)]
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = float(f"{step:.12g}")  # 10 × 1e-06 is 9.999999999999999e-06
    # multiples of the step, counted (a sum of steps can stall or drift) and checked against
    # low and high themselves (a rounded quotient can be one off either way)
    first, last = math.floor(low / step), math.ceil(high / step)
    first += (first + 1) * step <= low
    first -= first * step > low
    last -= (last - 1) * step >= high
    last += last * step < high
    # 12 significant digits: 3 × 0.1 is 0.3, and a price of 2e-5 USD keeps its magnitude
    return [float(f"{index * step:.12g}") for index in range(first, last + 1)]


def _day(text: str) -> int:
    return date.fromisoformat(text).toordinal()


def _shape(kind: str, x: float, y: float, size: float, attrs: str) -> str:
    s = size
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{s:.1f}" {attrs}/>'
    if kind == "square":
        return f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" height="{2 * s:.1f}" {attrs}/>'
    if kind == "triangle":
        points = f"{x:.1f},{y - s * 1.2:.1f} {x + s * 1.1:.1f},{y + s * 0.8:.1f} {x - s * 1.1:.1f},{y + s * 0.8:.1f}"
    elif kind == "down":
        points = f"{x:.1f},{y + s * 1.2:.1f} {x + s * 1.1:.1f},{y - s * 0.8:.1f} {x - s * 1.1:.1f},{y - s * 0.8:.1f}"
    elif kind == "diamond":
        points = (
            f"{x:.1f},{y - s * 1.3:.1f} {x + s * 1.3:.1f},{y:.1f} {x:.1f},{y + s * 1.3:.1f} {x - s * 1.3:.1f},{y:.1f}"
        )
    else:  # cross
        w = s * 0.45
        points = " ".join(
            f"{x + dx:.1f},{y + dy:.1f}"
            for dx, dy in (
                (-w, -s),
                (w, -s),
                (w, -w),
                (s, -w),
                (s, w),
                (w, w),
                (w, s),
                (-w, s),
                (-w, w),
                (-s, w),
                (-s, -w),
                (-w, -w),
            )
        )
    return f'<polygon points="{points}" {attrs}/>'


def outlet_styles(points: list[dict]) -> dict[str, tuple[str, str]]:
    """Outlet → (colour, shape), most frequent outlet first, stable for equal counts."""
    counts: dict[str, int] = {}
    for point in points:
        counts[point["outlet"]] = counts.get(point["outlet"], 0) + 1
    ordered = sorted(counts, key=lambda name: (-counts[name], name))
    return {name: (PALETTE[i % len(PALETTE)], SHAPES[i % len(SHAPES)]) for i, name in enumerate(ordered)}


def _time_ticks(first: int, last: int) -> list[tuple[int, str]]:
    start, end = date.fromordinal(first), date.fromordinal(last)
    years = end.year - start.year
    ticks = []
    if years >= 2:
        step = 1 if years <= 8 else math.ceil(years / 8)
        for year in range(start.year, end.year + 2, step):
            ticks.append((date(year, 1, 1).toordinal(), str(year)))
    else:
        for year in range(start.year, end.year + 2):
            for month in (1, 4, 7, 10):
                label = str(year) if month == 1 else f"Q{(month + 2) // 3}"
                ticks.append((date(year, month, 1).toordinal(), label))
    return [(day, label) for day, label in ticks if first <= day <= last]


def figure_chart(
    points: list[dict], *, highlight: str | None = None, href=None, title: str = "", width: int = WIDTH
) -> str:
    """An SVG chart of figures (dicts with id, statement, figure, kind, outlet, period_start,
    period_end, value or value_low/value_high, unit). ``href(id)`` gives each mark its link.
    Returns '' when there is nothing to draw. Only the most common unit is drawn (the table
    beneath lists every figure)."""
    units: dict[str | None, int] = {}
    for point in points:
        units[point.get("unit")] = units.get(point.get("unit"), 0) + 1
    if not points:
        return ""
    unit = max(units, key=lambda u: (units[u], u or ""))
    drawn = [p for p in points if p.get("unit") == unit and p.get("period_start") and p.get("period_end")]
    if not drawn:
        return ""
    height = HEIGHT
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    lows = [p["value"] if p.get("value") is not None else p["value_low"] for p in drawn]
    highs = [p["value"] if p.get("value") is not None else p["value_high"] for p in drawn]
    y_ticks = nice_ticks(min(0.0, *lows), max(0.0, *highs))
    y_min, y_max = y_ticks[0], y_ticks[-1]
    first = min(_day(p["period_start"]) for p in drawn)
    last = max(_day(p["period_end"]) + 1 for p in drawn)
    pad = max(20, (last - first) // 20)
    first, last = first - pad, last + pad

    def sx(day: float) -> float:
        return LEFT + (day - first) / (last - first) * plot_w

    def sy(value: float) -> float:
        return TOP + (y_max - value) / (y_max - y_min) * plot_h if y_max != y_min else TOP + plot_h / 2

    styles = outlet_styles(drawn)
    out = [
        f'<svg class="kb-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{escape(title or "figures over time")}">',
        f"<title>{escape(title)}</title>" if title else "",
        '<g class="axis">',
    ]
    for value in y_ticks:
        y = sy(value)
        out.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        out.append(
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#4b5563">'
            f"{escape(format_amount(value))}</text>"
        )
    for day, label in _time_ticks(first, last):
        x = sx(day)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#f3f4f6"/>')
        out.append(
            f'<text x="{x:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" font-size="12" fill="#4b5563">'
            f"{escape(label)}</text>"
        )
    out.append(
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{sy(0) if y_min <= 0 <= y_max else TOP + plot_h:.1f}"'
        f' y2="{sy(0) if y_min <= 0 <= y_max else TOP + plot_h:.1f}" stroke="#9ca3af"/>'
    )
    out.append(
        f'<text x="14" y="{TOP + plot_h / 2:.1f}" font-size="12" fill="#374151" text-anchor="middle"'
        f' transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{escape(unit or "value")}</text>'
    )
    out.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{height - 6}" font-size="12" fill="#374151" text-anchor="middle">'
        "period the figure is about</text>"
    )
    out.append("</g>")
    # Several figures for the same period: nudge them apart so each stays visible.
    slots: dict[tuple[str, str], list[dict]] = {}
    for point in drawn:
        slots.setdefault((point["period_start"], point["period_end"]), []).append(point)
    out.append('<g class="marks">')
    for (start, end), group in sorted(slots.items()):
        x0, x1 = sx(_day(start)), sx(_day(end) + 1)
        middle = (x0 + x1) / 2
        step = min(14.0, max(6.0, (x1 - x0) / (len(group) + 1)))
        for index, point in enumerate(group):
            x = middle + (index - (len(group) - 1) / 2) * step
            colour, shape = styles[point["outlet"]]
            hollow = point.get("kind") in HOLLOW_KINDS
            is_focus = point["id"] == highlight
            fill = "#ffffff" if hollow else colour
            dash = ' stroke-dasharray="3 2"' if hollow else ""
            label = (
                f"{point.get('statement', '')} — {point.get('figure') or ''} ({point['outlet']}, {point.get('kind')})"
            )
            link = href(point["id"]) if href else None
            out.append(f'<a href="{escape(link)}">' if link else "<g>")
            out.append(f"<title>{escape(label)}</title>")
            cls = "mark focus" if is_focus else "mark"
            out.append(f'<g class="{cls}" data-claim="{escape(point["id"])}">')
            if point.get("value") is not None:
                y = sy(point["value"])
                out.append(
                    f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}"'
                    f' stroke-opacity="0.35" stroke-width="3"{dash}/>'
                )
            else:
                y_low, y_high = sy(point["value_low"]), sy(point["value_high"])
                out.append(
                    f'<rect x="{x - 4:.1f}" y="{y_high:.1f}" width="8" height="{max(2.0, y_low - y_high):.1f}"'
                    f' fill="{fill}" fill-opacity="{0.9 if not hollow else 1}" stroke="{colour}"'
                    f' stroke-width="2"{dash}/>'
                )
                y = (y_low + y_high) / 2
            size = 7.0 if is_focus else 5.5
            if is_focus:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="12" fill="none" stroke="#111827" stroke-width="2"/>')
            out.append(_shape(shape, x, y, size, f'fill="{fill}" stroke="{colour}" stroke-width="2"{dash}'))
            out.append("</g>")
            out.append("</a>" if link else "</g>")
    out.append("</g></svg>")
    return "".join(out)


def legend(points: list[dict]) -> list[dict]:
    """The outlets of a chart with their colour and shape, as small SVG swatches for HTML."""
    items = []
    for name, (colour, shape) in outlet_styles(points).items():
        swatch = (
            '<svg class="kb-swatch" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 20" width="16" height="16">'
            + _shape(shape, 10, 10, 6, f'fill="{colour}" stroke="{colour}" stroke-width="1.5"')
            + "</svg>"
        )
        items.append({"outlet": name, "swatch": swatch})
    return items


def kind_swatches() -> dict[str, str]:
    """Filled (reported as happened, or estimated) versus hollow (a forecast)."""
    filled = '<circle cx="10" cy="10" r="6" fill="#374151" stroke="#374151" stroke-width="2"/>'
    hollow = '<circle cx="10" cy="10" r="6" fill="#ffffff" stroke="#374151" stroke-width="2" stroke-dasharray="3 2"/>'
    wrap = (
        '<svg class="kb-swatch" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 20" width="16" height="16">{}</svg>'
    )
    return {"filled": wrap.format(filled), "hollow": wrap.format(hollow)}
