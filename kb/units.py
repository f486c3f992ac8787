"""Units and what they say about a figure: which units convert into which, and whether a
metric is a *level* (a valuation, a price, a run rate: comparable over overlapping periods)
or a *flow* (revenue, loss, cost in ``USD``: comparable only over the same period).

>>> normal_unit("USD/year")
('USD/month', 0.08333333333333333)
>>> is_level("valuation", "USD"), is_level("net_loss", "USD")
(True, False)
"""

from __future__ import annotations

__all__ = ["is_level", "normal_unit"]

_CONVERSIONS = {"USD/year": ("USD/month", 1 / 12), "USD/yr": ("USD/month", 1 / 12), "USD/week": ("USD/month", 52 / 12)}
_LEVEL_UNITS = {"percent", "count", "multiple"}
_LEVEL_WORDS = ("valuation", "market_cap", "annualized", "price", "users", "employees", "share", "margin", "run_rate")


def normal_unit(unit: str) -> tuple[str, float]:
    """The unit values are compared in, and the factor to get there."""
    return _CONVERSIONS.get(unit, (unit, 1.0))


def is_level(metric: str, unit: str) -> bool:
    """True for a level (any rate unit, percent, count, multiple, or a level-like metric name)."""
    return "/" in unit or unit in _LEVEL_UNITS or any(word in metric for word in _LEVEL_WORDS)
