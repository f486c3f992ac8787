"""Findings: what the loader and the checks report, located in a file."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cached_property

from kb.rules import RULES

__all__ = ["SEVERITY_ORDER", "Finding", "printable"]

# Control characters (C0, C1, DEL), format characters (bidi overrides, zero-width) and line or
# paragraph separators: a terminal acts on them (an id with ESC [2J clears the screen; U+202E
# reverses the text around it), so every message shows them as escapes instead.
_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def printable(text: str) -> str:
    r"""``text`` with every control, format or separator character escaped as Python writes it.

    >>> printable("id `a\x1b[2Jb`\u202e 中文")
    'id `a\\x1b[2Jb`\\u202e 中文'
    """
    if text.isprintable():
        return text
    return "".join(repr(char)[1:-1] if unicodedata.category(char) in _UNSAFE else char for char in text)


SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    """One problem, with its rule code, place and the claim or source it is about.

    ``severity`` and ``acknowledged`` are filled in by :func:`kb.checks.run_checks` from
    the settings and the files' ``acknowledge`` fields; ``related`` names other places
    involved (the other claim of a contradiction), as ``(path, line, column, message)``.
    ``other_claim_ids`` are all the other claims of a finding about several (a conflict or an
    outlier against a group; ``other_claim_id`` is the first of them); ``key`` is what tells
    the finding from others of its rule about the same file (a field path, a quote), so that
    fingerprints differ.
    """

    code: str
    message: str
    path: str
    line: int = 1
    column: int = 1
    claim_id: str | None = None
    source_id: str | None = None
    severity: str = ""
    acknowledged: bool = False
    acknowledgement: str | None = None
    related: tuple[tuple[str, int, int, str], ...] = field(default=())
    other_claim_id: str | None = None
    other_claim_ids: tuple[str, ...] = ()
    key: str = ""

    def __post_init__(self) -> None:
        # one place for every output (terminal, JSON, SARIF, the findings table)
        # (valid ids are printable, so only an invalid one, never a key, changes)
        for name in ("message", "acknowledgement", "claim_id", "source_id", "other_claim_id"):
            value = getattr(self, name)
            if value is not None and not value.isprintable():
                object.__setattr__(self, name, printable(value))

    @property
    def name(self) -> str:
        return RULES[self.code].name

    @cached_property
    def id(self) -> str:
        """A deterministic id: the same finding in the same place always has the same id
        (kept once computed, and stored with the finding: a report of 40,000 findings spent
        a third of its time on their hashes)."""
        key = "\x1f".join(map(str, (self.code, self.path, self.line, self.column, self.message)))
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]

    @property
    def fingerprint(self) -> str:
        """Stable across edits elsewhere in the file and across days: the rule, the file, what
        it is about (the claims, the field or quote), and the message without its numbers
        (lines, dates, percentages). :func:`kb.report.render` makes equal ones unique."""
        message = re.sub(r"[0-9]+", "#", self.message)
        others = ",".join(self.other_claim_ids or ((self.other_claim_id,) if self.other_claim_id else ()))
        parts = (self.code, self.path, self.claim_id, self.source_id, others, self.key, message)
        key = "\x1f".join(map(str, parts))
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]

    @property
    def fails(self) -> bool:
        """True when it makes ``kb check`` fail (an unacknowledged error)."""
        return self.severity == "error" and not self.acknowledged

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.code, self.message)

    def with_(self, **changes: object) -> Finding:
        return replace(self, **changes)
