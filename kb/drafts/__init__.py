"""``kb check-draft``: the KB5xx rules over Markdown and Quarto drafts that cite claims.

How a draft is read:

- Markdown is parsed with markdown-it-py (CommonMark, tables, footnotes). Prose is the text
  of its inline blocks (paragraphs, headings, list items, table cells, block quotes,
  footnotes), located back in the source lines, so every position is the exact line and
  column. Code blocks, code spans, HTML comments, link destinations, URLs and the YAML
  metadata block are never read.
- Citations follow pandoc's key grammar: ``@key`` or ``@{key}``, internal punctuation single
  characters from ``:.#$%&-+?<>~/``; ``claim:ID`` and ``src:ID`` are kb's.
- The *citing sentence* of a citation is the sentence that holds it. The figures compared
  with a cited claim are those between the previous citation of the sentence (or its start)
  and the citation (figures come before their citation, as pandoc's style has it); the last
  citation of a sentence also takes the figures after it, when none precede it.

Rules:

- KB501 an unknown ``claim:`` or ``src:`` key, with the nearest known one;
- KB502 a contested claim (warning); KB503 a refuted or superseded claim (naming the claim
  that supersedes it);
- KB504 the figures of the citing segment that are in the claim's unit (USD, percent, a
  plain magnitude) and none of which agrees with the claim's value, after converting per
  hour / month / year where the draft says so, with the metric's tolerance (an approximate
  figure or claim is widened by it). Reported at the figure nearest the citation.
- KB505 (info) a figure in a sentence with no citation (nor a footnote reference) that equals a claim's value exactly,
  in the claim's unit, *and* whose sentence names the claim's subject (or an alias of its
  entity): precise enough to name the claim to cite without flooding a draft with every
  "$5 billion" of the corpus. Claims are indexed by value, so the cost does not grow with
  the size of the corpus.

Suppression: ``<!-- kb: ignore KB502 reason -->`` (codes or names, comma-separated, a reason
required). Inside a block it covers that block; on a line of its own, the next block. A
suppressed finding is kept as acknowledged (as in ``kb check``); a suppression that matches
nothing, or has no reason, is KB901.
"""

from __future__ import annotations

from kb.drafts.index import ClaimFacts, DraftIndex
from kb.drafts.read import find_citations
from kb.drafts.rules import check_drafts, check_text

__all__ = ["ClaimFacts", "DraftIndex", "check_drafts", "check_text", "find_citations"]
