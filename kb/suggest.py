""" "Did you mean …?": the one place that suggests a name for a misspelt one.

Used for unknown fields, settings, rules, magnitude words, ids and references.

>>> did_you_mean("statment", ["statement", "kind"])
' (did you mean `statement`?)'
>>> did_you_mean("zzz", ["statement"])
''
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate nearest to ``name``, or None when none is near enough."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return match[0] if match else None


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """`` (did you mean `x`?)`` for the nearest candidate, or an empty string."""
    match = closest(name, candidates, cutoff)
    return f" (did you mean `{match}`?)" if match else ""
