"""Full-text search that works for Chinese: script folding, index text, query expressions, snippets.

SQLite's FTS5 tokenizers cannot split Chinese into words (``unicode61`` keeps a run of
ideographs as one token; ``trigram`` needs 3 characters, so 亏损 finds nothing), and Python
cannot register an FTS5 tokenizer of its own. So the text is tokenised here, in the same
way at build time and at query time:

- **Folding** (:func:`fold`): traditional characters become simplified ones, one character
  for one character, from OpenCC's own ``t2s`` data (虧損 and 亏损 index alike); full-width
  letters and digits become ASCII. Case and accents are left to FTS5 (``unicode61
  remove_diacritics 2``).
- **Index text** (:func:`index_text`): every CJK character is a token of its own (spaces
  around it); Latin words stay words (FTS5 stems them with ``porter``).
- **Query** (:func:`match_expression`): a run of CJK characters becomes an FTS5 *phrase* of
  its characters (``"亏 损"``), which matches exactly where the characters are adjacent, so
  words of any length (1, 2, 3… characters) are found; every Latin word becomes a quoted
  term. Terms are ANDed. Nothing the user types reaches FTS5 as syntax.

FTS5's bm25 scores a phrase by the rows that contain the phrase, so ranking is by the word
searched, not by its characters. Snippets (:func:`snippet`) are cut from the original text
(the verbatim quote, in its own script) and are HTML: the text is escaped and only ``<mark>``
is added. The database side (tables, SQL functions) is :mod:`kb.database.search`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import cache, lru_cache

import opencc

__all__ = ["cjk_variants", "fold", "index_text", "match_expression", "snippet", "terms"]

# Han ideographs (unified, extension A, compatibility, extensions B–F and the supplement),
# kana and bopomofo: scripts written without spaces between words.
_CJK_RANGES = (
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3100, 0x312F),  # bopomofo
    (0x31F0, 0x31FF),  # katakana phonetic extensions
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
)
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))
_CJK_CLASS = "".join(f"{chr(low)}-{chr(high)}" for low, high in _CJK_RANGES)
CJK = re.compile(f"[{_CJK_CLASS}]")
_LETTER = f"(?:(?![{_CJK_CLASS}])[^\\W_])"  # a letter or digit of a script written with spaces
_TERM = re.compile(f"([{_CJK_CLASS}]+)|({_LETTER}+)")
_CHUNK = re.compile(f"[{_CJK_CLASS}]+|[^\\s{_CJK_CLASS}]+")
_CONTROL = re.compile("[\x00-\x1f\x7f]")  # SQLite would end the string at a NUL
_MATCH_NOTHING = '"kbnomatchforthisterm"'


@cache
def _table() -> dict[int, str]:
    """The folding table, from OpenCC's t2s conversion of every Han character on its own.

    Each character is converted alone (one per line), so the mapping is one character for
    one character and does not depend on the neighbouring text: a query folds exactly like
    the document. Built once per process (about 50 ms).
    """
    converter = opencc.OpenCC("t2s")
    points = [point for low, high in _HAN_RANGES for point in range(low, high + 1)]
    converted = converter.convert("\n".join(map(chr, points))).split("\n")
    table: dict[int, str] = {}
    if len(converted) == len(points):
        for point, target in zip(points, converted, strict=True):
            if len(target) == 1 and target != chr(point):
                table[point] = target
    for point in range(0xFF01, 0xFF5F):  # full-width ASCII: ＯｐｅｎＡＩ２０２４ → OpenAI2024
        table[point] = unicodedata.normalize("NFKC", chr(point))
    table[0x3000] = " "  # ideographic space
    return table


@cache
def _variants() -> dict[str, str]:
    """Folded character -> every character that folds to it (itself included)."""
    variants: dict[str, set[str]] = {}
    for point, target in _table().items():
        variants.setdefault(target, {target}).add(chr(point))
    return {target: "".join(sorted(chars)) for target, chars in variants.items()}


def fold(text: str) -> str:
    """Fold traditional to simplified characters and full-width to ASCII; same length.

    >>> fold("虧損 ＯｐｅｎＡＩ")
    '亏损 OpenAI'
    """
    return text.translate(_table())


def cjk_variants(char: str) -> str:
    """Every spelling of one character that folds like it (虧 and 亏 for either)."""
    folded = fold(char)
    return _variants().get(folded, folded)


def index_text(text: str | None) -> str:
    """The text as the search index stores it: folded, each CJK character a token.

    >>> index_text("OpenAI 虧損50亿")
    'OpenAI  亏  损 50 亿 '
    """
    if not text:
        return ""
    if text.isascii():  # nothing to fold and no CJK character: most English text (7 µs -> 0.1 µs)
        return text
    if _ASTRAL.search(text) is None:  # one translate: folded, each CJK character spaced (10x)
        return text.translate(_spaced())
    return CJK.sub(r" \g<0> ", fold(text))


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@cache
def _spaced() -> dict[int, str]:
    """:func:`fold`'s table and the spacing of every CJK character of the Basic Multilingual
    Plane in one translation table (29,000 entries, built in 10 ms): :func:`index_text` of
    text without supplementary characters (the CJK extensions B-F are the rest) in one pass,
    where a regular expression substituted each character (a search index at 100k claims
    spent 1.5 s on it)."""
    table: dict[int, str] = {}
    for low, high in _CJK_RANGES:
        if high <= 0xFFFF:
            table.update((point, f" {chr(point)} ") for point in range(low, high + 1))
    for point, target in _table().items():
        table[point] = f" {target} " if CJK.match(target) else target
    return table


def terms(query: str | None) -> list[tuple[str, str]]:
    """The query's terms, folded: ``("cjk", "亏损")`` runs and ``("word", "loss")`` words."""
    if not query:
        return []
    found = []
    for cjk, word in _TERM.findall(fold(query)):
        found.append(("cjk", cjk) if cjk else ("word", word))
    return found


def match_expression(query: str | None) -> str:
    r"""An FTS5 MATCH expression for what a reader typed; never an FTS5 syntax error.

    A run of CJK characters is a phrase of its characters; every other stretch without
    spaces is quoted whole (inner quotes doubled), so FTS5's own tokenizer splits it exactly
    as it split the document.

    >>> match_expression("OpenAI 虧損")
    '"OpenAI" "亏 损"'
    >>> print(match_expression('x"); drop --'))
    "x"");" "drop" "--"
    """
    parts = []
    for chunk in _CHUNK.findall(_CONTROL.sub(" ", fold(query or ""))):
        if CJK.match(chunk):
            parts.append('"' + " ".join(chunk) + '"')
        else:
            parts.append('"' + chunk.replace('"', '""') + '"')
    return " ".join(parts) if parts else _MATCH_NOTHING


_SUFFIXES = ("ing", "es", "ed", "s", "ly")


def _word_pattern(word: str) -> str:
    # FTS5 matches words by their porter stem; the snippet marks the words that begin like the
    # query word without its common suffix (losses -> loss…). Cosmetic: ranking is FTS5's.
    stem = word
    for suffix in _SUFFIXES:
        if stem.lower().endswith(suffix) and len(stem) - len(suffix) >= 3:
            stem = stem[: -len(suffix)]
            break
    letters = [f"[{re.escape(c)}{re.escape(chr(ord(c) + 0xFEE0))}]" if "!" <= c <= "~" else c for c in stem]
    # the first letter, then "not after a letter" (a look-behind over it and the letter before):
    # a pattern that begins with a letter lets re skip to where it occurs; one that began with
    # the look-behind tried it at every character (2.4 -> 0.8 ms for a page's 100 snippets)
    first = letters[0]
    return rf"{first}(?<!{_LETTER}{first}){''.join(letters[1:])}{_LETTER}*"


@lru_cache(maxsize=256)
def _pattern(query: str) -> re.Pattern[str] | None:
    alternatives = []
    for kind, text in terms(query):
        if kind == "cjk":
            alternatives.append("".join(f"[{re.escape(cjk_variants(c))}]" for c in text))
        else:
            alternatives.append(_word_pattern(text))
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)  # the longest alternative wins where they overlap
    return re.compile("|".join(alternatives), re.IGNORECASE)


def snippet(text: str | None, query: str | None, width: int = 160) -> str:
    """HTML: up to ``width`` characters of ``text`` around its first match, matches in ``<mark>``.

    The text is cut from the original (its own script), escaped, and only ``<mark>`` and
    ``</mark>`` are added, so no markup from the text survives.

    >>> snippet("OpenAI 虧損 <b>50</b> 亿", "亏损")
    'OpenAI <mark>虧損</mark> &lt;b&gt;50&lt;/b&gt; 亿'
    """
    if not text:
        return ""
    pattern = _pattern(query or "")
    first = pattern.search(text) if pattern else None
    start = 0
    if first and first.start() > width // 3:
        start = first.start() - width // 3
    end = min(len(text), start + width)
    window = text[start:end]
    pieces = ["…" if start else ""]
    position = 0
    for match in pattern.finditer(window) if pattern else ():
        if match.end() == match.start():
            continue
        pieces += [html.escape(window[position : match.start()]), "<mark>", html.escape(match.group()), "</mark>"]
        position = match.end()
    pieces += [html.escape(window[position:]), "…" if end < len(text) else ""]
    return "".join(pieces)
