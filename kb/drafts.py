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

import bisect
import contextlib
import json
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from kb import cite
from kb.analyse import Analysis
from kb.checks import severities
from kb.checks.numbers import gap, metric_tolerance, widen
from kb.draft_numbers import Figure, find_figures
from kb.findings import SEVERITY_ORDER, Finding
from kb.graph import claim_entities
from kb.rules import lookup
from kb.settings import Settings
from kb.suggest import did_you_mean
from kb.units import normal_unit

__all__ = ["ClaimFacts", "DraftIndex", "check_drafts", "check_text", "find_citations"]

_KEY = r"[\w](?:[\w]|[:.#$%&\-+?<>~/](?=[\w]))*"
_CITATION = re.compile(rf"(?<![\w.@])-?@(?:\{{(?P<braced>[^{{}}\s]+)\}}|(?P<key>{_KEY}))")
_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_SUPPRESSION = re.compile(
    r"^\s*kb:\s*ignore\s+(?P<codes>[A-Za-z0-9-]+(?:\s*,\s*[A-Za-z0-9-]+)*)\s*(?P<reason>.*?)\s*$", re.S
)
_LINK_DESTINATION = re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)|\]\[[^\]]*\]")
_URL = re.compile(r"<?https?://[^\s>)]+>?")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\]:?")
_SENTENCE_END = re.compile(r"(?<!\b[A-Z])(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bNo)[.!?](?=[\s)\]\"”’]|$)|[。！？；]")


@dataclass(frozen=True)
class Citation:
    key: str
    start: int  # offset of the `@` in the unit text
    end: int


@dataclass
class _Unit:
    """The text of one inline block with, for each character, its source line and column."""

    text: str
    lines: list[int]  # 1-based line of each character offset
    columns: list[int]  # 1-based column
    block: tuple[int, int]  # 0-based [first, last) lines of the block

    def position(self, offset: int) -> tuple[int, int]:
        offset = min(offset, len(self.lines) - 1)
        return self.lines[offset], self.columns[offset]


@dataclass
class _Suppression:
    codes: set[str]
    reason: str
    lines: tuple[int, int]  # 0-based [first, last) lines covered
    line: int
    column: int
    used: bool = False


def _blank(text: str, start: int, end: int) -> str:
    """The text with [start, end) replaced by spaces (newlines kept), offsets unchanged."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _mask_code_spans(text: str) -> str:
    """Blank CommonMark code spans: a run of N backticks up to the next run of exactly N."""
    out = text
    runs = [(m.start(), m.end()) for m in re.finditer(r"(?<!\\)`+", text)]
    used = set()
    for index, (start, end) in enumerate(runs):
        if index in used:
            continue
        width = end - start
        for other in range(index + 1, len(runs)):
            if runs[other][1] - runs[other][0] == width:
                out = _blank(out, start, runs[other][1])
                used.update(range(index, other + 1))
                break
    return out


def find_citations(text: str) -> list[Citation]:
    """pandoc citation keys in a text (already stripped of code and comments).

    >>> [c.key for c in find_citations("A [@claim:a-b; @src:c], @claim:d--e, x@y.com, [-@claim:f].")]
    ['claim:a-b', 'src:c', 'claim:d', 'claim:f']
    """
    return [
        Citation(m.group("braced") or m.group("key"), m.start() + m.group(0).index("@"), m.end())
        for m in _CITATION.finditer(text)
    ]


def _sentences(text: str, citations: list[Citation]) -> list[tuple[int, int]]:
    """Sentence spans; a sentence made only of citations joins the one before."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    merged: list[tuple[int, int]] = []
    for span in spans:
        rest = text[span[0] : span[1]]
        for citation in citations:
            if span[0] <= citation.start < span[1]:
                rest = rest.replace(text[citation.start : citation.end], "")
        if merged and not re.search(r"\w", re.sub(r"[\[\];@-]", "", rest)):
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    return merged


def _parser() -> MarkdownIt:
    # Block structure only: the inline rules (70% of the parse time) are not needed, since
    # citations and figures are found in each block's source text.
    parser = MarkdownIt("commonmark").enable("table").use(footnote_plugin)
    parser.core.ruler.disable(["inline", "text_join", "footnote_tail"], ignoreInvalid=True)
    return parser


def _frontmatter_end(lines: list[str]) -> int:
    """Lines of a leading YAML metadata block (pandoc, Quarto), 0 when there is none."""
    if lines and lines[0].rstrip() == "---":
        for index in range(1, len(lines)):
            if lines[index].rstrip() in ("---", "..."):
                return index + 1
    return 0


def _units(source: str) -> tuple[list[_Unit], list[_Suppression], list[tuple[int, int, str]]]:
    """The prose units of a draft, its suppression comments, and bad ones (line, column, why)."""
    lines = source.split("\n")
    skip = _frontmatter_end(lines)
    body = "\n" * skip + "\n".join(lines[skip:])
    tokens = _parser().parse(body)
    blocks = sorted({tuple(t.map) for t in tokens if t.map and t.nesting >= 0 and t.type != "inline"})
    units: list[_Unit] = []
    comments: list[tuple[str, int, int, tuple[int, int]]] = []  # text, line, column, scope
    cell_cursor: dict[int, int] = {}
    in_cell = False
    for token in tokens:
        if token.type in ("th_open", "td_open"):
            in_cell = True
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        if token.type == "html_block" and token.map:
            first, last = token.map
            scope = _next_block(blocks, last)
            for match in _COMMENT.finditer(token.content):
                line = first + token.content[: match.start()].count("\n")
                column = lines[line].find("<!--") + 1
                comments.append((match.group(1), line + 1, column, scope))
            continue
        if token.type != "inline" or not token.map:
            continue
        first, last = token.map
        text_parts, line_of, column_of = [], [], []
        for index, content_line in enumerate(token.content.split("\n")):
            number = first + index
            if number >= len(lines):
                break
            source_line = lines[number]
            if in_cell:
                start = source_line.find(content_line, cell_cursor.get(number, 0))
                cell_cursor[number] = start + len(content_line) if start >= 0 else cell_cursor.get(number, 0)
            else:
                stripped, wanted = source_line.rstrip(), content_line.rstrip()
                start = len(stripped) - len(wanted) if stripped.endswith(wanted) else source_line.find(content_line)
            start = max(start, 0)
            if index:
                text_parts.append("\n")
                line_of.append(number + 1)
                column_of.append(start + len(content_line) + 1)
            text_parts.append(content_line)
            line_of.extend([number + 1] * len(content_line))
            column_of.extend(range(start + 1, start + len(content_line) + 1))
        text = "".join(text_parts)
        line_of.append(line_of[-1] if line_of else first + 1)
        column_of.append(column_of[-1] + 1 if column_of else 1)
        block = (first, last)
        for match in _COMMENT.finditer(text):
            line, column = line_of[match.start()], column_of[match.start()]
            comments.append((match.group(1), line, column, block))
        units.append(_Unit(text, line_of, column_of, block))
    suppressions, bad = [], []
    for text, line, column, scope in comments:
        match = _SUPPRESSION.match(text)
        if not text.strip().startswith("kb:"):
            continue
        if not match:
            bad.append((line, column, "is not `<!-- kb: ignore CODE reason -->`"))
            continue
        codes, unknown = set(), []
        for name in re.split(r"\s*,\s*", match["codes"]):
            rule = lookup(name)
            (codes.add(rule.code) if rule else unknown.append(name))
        if unknown:
            bad.append((line, column, f"names no known rule: {', '.join(unknown)}"))
        elif not match["reason"]:
            bad.append((line, column, "gives no reason: write `<!-- kb: ignore CODE why it is fine -->`"))
        else:
            suppressions.append(_Suppression(codes, match["reason"], scope, line, column))
    return units, suppressions, bad


def _next_block(blocks: list[tuple[int, int]], after: int) -> tuple[int, int]:
    """The widest block that starts first at or after line ``after`` (0-based)."""
    index = bisect.bisect_left(blocks, (after, -1))
    if index == len(blocks):
        return (after, after)
    start, widest = blocks[index]
    while index + 1 < len(blocks) and blocks[index + 1][0] == start:  # sorted: same start, wider end
        index += 1
        widest = blocks[index][1]
    return (start, widest)


# ----------------------------------------------------------------------------- the index
@dataclass(frozen=True)
class ClaimFacts:
    """What the draft rules need of one claim (from an analysis or from the database)."""

    id: str
    status: str
    bounds: tuple[float, float] | None
    point: float | None
    unit: str | None
    metric: str | None
    approximate: bool
    figure: str | None
    period: str | None
    names: tuple[str, ...]
    superseded_by: str | None
    contradicted_by: tuple[str, ...]
    verdict: str | None


@dataclass
class DraftIndex:
    """What the rules need from the knowledge base, computed once for many drafts: the claims'
    facts, the source ids, and the claims indexed by (kind of unit, value) for KB505."""

    settings: Settings
    claims: dict[str, ClaimFacts]
    sources: set[str]
    by_value: dict[tuple[str, float], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_value: dict[tuple[str, float], list[str]] = defaultdict(list)
        for facts in self.claims.values():
            if facts.point is not None and facts.unit:
                by_value[(_unit_kind(facts.unit), float(facts.point))].append(facts.id)
        self.by_value = {key: sorted(ids) for key, ids in by_value.items()}

    @classmethod
    def build(cls, analysis: Analysis) -> DraftIndex:
        entities = claim_entities(analysis.graph)
        graph = analysis.graph
        claims = {}
        for id_, record in analysis.corpus.claims.items():
            claim = record.model
            names = {claim.subject} if claim.subject else set()
            node = graph.nodes.get(f"entity:{entities.get(id_)}")
            if node:
                names.update([node["name"], *node["aliases"]])
            others = {v for _, v, r in graph.out_edges(f"claim:{id_}", data="relation") if r == "contradicts"}
            others |= {u for u, _, r in graph.in_edges(f"claim:{id_}", data="relation") if r == "contradicts"}
            claims[id_] = ClaimFacts(
                id_,
                analysis.status[id_],
                claim.value.bounds if claim.value else None,
                claim.value.value if claim.value else None,
                claim.unit,
                claim.metric,
                claim.approximate,
                claim.figure(),
                str(claim.period) if claim.period else None,
                _names(names),
                cite.superseded_by(analysis, id_),
                tuple(sorted(o.removeprefix("claim:") for o in others)),
                claim.verdict.rating if claim.verdict else None,
            )
        return cls(analysis.settings, claims, set(analysis.corpus.sources))

    @classmethod
    def from_database(cls, settings: Settings) -> DraftIndex | None:
        """The index from the built database when it is current (no analysis run), else None."""
        from kb.database import is_stale

        if is_stale(settings):
            return None
        try:
            with contextlib.closing(sqlite3.connect(f"file:{settings.database_path}?mode=ro", uri=True)) as db:
                entities = {row[0]: row[1:] for row in db.execute("select id, name, aliases from entities")}
                links: dict[str, set[str]] = defaultdict(set)
                newer: dict[str, str] = {}
                for start, end, relation in db.execute("select from_claim, to_claim, relation from claim_links"):
                    if relation == "contradicts":
                        links[start].add(end)
                        links[end].add(start)
                    elif relation == "supersedes":
                        newer[end] = start
                columns = (
                    "id, status, value, value_low, value_high, unit, metric, approximate, figure, period, subject, "
                    "entity_id, verdict"
                )
                claims = {}
                for row in db.execute(f"select {columns} from claims"):
                    (
                        id_,
                        status,
                        value,
                        low,
                        high,
                        unit,
                        metric,
                        approximate,
                        figure,
                        period,
                        subject,
                        entity,
                        verdict,
                    ) = row
                    names = {subject} if subject else set()
                    if entity in entities:
                        name, aliases = entities[entity]
                        names.update([name, *json.loads(aliases or "[]")])
                    bounds = (value, value) if value is not None else (low, high) if low is not None else None
                    claims[id_] = ClaimFacts(
                        id_,
                        status,
                        bounds,
                        value,
                        unit,
                        metric,
                        bool(approximate),
                        figure,
                        period,
                        _names(names),
                        newer.get(id_),
                        tuple(sorted(links.get(id_, ()))),
                        verdict,
                    )
                sources = {row[0] for row in db.execute("select id from sources")}
        except (sqlite3.Error, ValueError):
            return None
        return cls(settings, claims, sources)

    def key_hint(self, key: str) -> str:
        parsed = cite.parse_key(key)
        if parsed and parsed[0] == "claim":
            return did_you_mean(key, [cite.claim_key(i) for i in self.claims])
        return did_you_mean(key, [cite.source_key(i) for i in self.sources])


def _names(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(n.casefold() for n in names if n and len(n) > 1))


def _unit_kind(unit: str | None) -> str:
    base = (unit or "").split("/")[0]
    return base if base in ("USD", "percent") else "plain"


# ----------------------------------------------------------------------------- the rules
def _agrees(index: DraftIndex, claim_id: str, figure: Figure) -> bool | None:
    """True / False when the figure can be compared with the claim, None when not."""
    claim = index.claims[claim_id]
    if claim.bounds is None or not claim.unit:
        return None
    kind = _unit_kind(claim.unit)
    if figure.unit is not None and figure.unit != kind:
        return None
    tol = tolerance_of(index, claim.metric)
    bounds = (figure.low, figure.high)
    if figure.approximate:
        bounds = (bounds[0] - abs(bounds[0]) * tol, bounds[1] + abs(bounds[1]) * tol)
    claim_per = claim.unit.split("/")[1] if "/" in claim.unit else None
    convert = False
    if figure.per and figure.per != claim_per:
        if claim_per is None:
            return None  # "$20 a month" beside a claim with no time unit: not comparable
        draft_unit, factor = normal_unit(f"{claim.unit.split('/')[0]}/{figure.per}")
        if draft_unit != normal_unit(claim.unit)[0]:
            return None
        bounds = (bounds[0] * factor, bounds[1] * factor)
        convert = True
    claimed = widen(claim.bounds, claim.unit, claim.approximate, tol, convert)
    return gap(bounds, claimed) <= tol  # type: ignore[arg-type]


def tolerance_of(index: DraftIndex, metric: str | None) -> float:
    return metric_tolerance(index.settings, metric)


def check_text(index: DraftIndex, source: str, path: str) -> list[Finding]:
    """The findings of one draft, before severities are applied."""
    units, suppressions, bad = _units(source)
    findings: list[Finding] = []
    for unit in units:
        text = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), unit.text)
        text = _mask_code_spans(text)
        for pattern in (_LINK_DESTINATION, _URL, _FOOTNOTE_REF):
            for match in pattern.finditer(text):
                keep = 1 if pattern is _LINK_DESTINATION else 0  # keep the `]`
                text = _blank(text, match.start() + keep, match.end())
        citations = find_citations(text)
        noted = [m.start() for m in _FOOTNOTE_REF.finditer(unit.text)]  # a footnote carries a citation
        figure_text = text
        for citation in citations:
            figure_text = _blank(figure_text, citation.start, citation.end)
        figures = find_figures(figure_text)
        for citation in citations:
            findings.extend(_citation_findings(index, unit, citation, path))
        for start, end in _sentences(text, citations):
            inside = [c for c in citations if start <= c.start < end]
            numbers = [f for f in figures if start <= f.start < end]
            if not inside and not any(start <= n < end for n in noted):
                findings.extend(_uncited(index, unit, text[start:end], numbers, path))
                continue
            for position, citation in enumerate(inside):
                parsed = cite.parse_key(citation.key)
                if not parsed or parsed[0] != "claim" or parsed[1] not in index.claims:
                    continue
                previous = inside[position - 1].end if position else start
                following = inside[position + 1].start if position + 1 < len(inside) else end
                segment = [f for f in numbers if previous <= f.start < citation.start]
                nearest = segment[-1:] if segment else []
                if not segment and position + 1 == len(inside):  # figures after the last citation are its
                    segment = [f for f in numbers if citation.end <= f.start < following]
                    nearest = segment[:1]
                finding = _mismatch(index, unit, parsed[1], segment, nearest, path)
                if finding:
                    findings.append(finding)
    for line, column, why in bad:
        findings.append(Finding("KB901", f"suppression comment {why}", path, line, column))
    return _suppress(findings, suppressions, path)


def _citation_findings(index: DraftIndex, unit: _Unit, citation: Citation, path: str) -> list[Finding]:
    parsed = cite.parse_key(citation.key)
    if parsed is None:
        return []  # not kb's: a Zotero key, a Quarto cross-reference
    kind, id_ = parsed
    line, column = unit.position(citation.start)
    if id_ not in (index.claims if kind == "claim" else index.sources):
        what = "claim" if kind == "claim" else "source"
        return [Finding("KB501", f"unknown {what} `{citation.key}`{index.key_hint(citation.key)}", path, line, column)]
    if kind != "claim":
        return []
    claim = index.claims[id_]
    if claim.status == "contested":
        others = claim.contradicted_by[:3]
        message = f"cites contested claim `{citation.key}`" + (
            f" (contradicted by {', '.join(f'`claim:{o}`' for o in others)})" if others else " (refuting evidence)"
        )
        return [Finding("KB502", message, path, line, column, claim_id=id_)]
    if claim.status == "superseded":
        newer = claim.superseded_by
        message = f"cites superseded claim `{citation.key}`: cite `claim:{newer}` instead"
        return [Finding("KB503", message, path, line, column, claim_id=id_, other_claim_id=newer)]
    if claim.status == "refuted":
        why = f"verdict {claim.verdict}" if claim.verdict else "only refuting evidence"
        return [Finding("KB503", f"cites refuted claim `{citation.key}` ({why})", path, line, column, claim_id=id_)]
    return []


def _mismatch(index, unit, claim_id, segment, nearest, path) -> Finding | None:
    results = [(figure, _agrees(index, claim_id, figure)) for figure in segment]
    comparable = [(f, ok) for f, ok in results if ok is not None]
    if not comparable or any(ok for _, ok in comparable):
        return None
    figure = next((f for f in nearest if _agrees(index, claim_id, f) is not None), comparable[-1][0])
    claim = index.claims[claim_id]
    tol = tolerance_of(index, claim.metric)
    line, column = unit.position(figure.start)
    message = (
        f"“{figure.text}” beside [@claim:{claim_id}] disagrees with its value {claim.figure} (tolerance {tol:.0%})"
    )
    return Finding("KB504", message, path, line, column, claim_id=claim_id)


def _uncited(index: DraftIndex, unit: _Unit, sentence: str, figures: list[Figure], path: str) -> list[Finding]:
    found = []
    lowered = sentence.casefold()
    for figure in figures:
        if figure.is_range or figure.per:
            continue
        kinds = [figure.unit] if figure.unit else ["USD", "plain"]
        candidates = [i for kind in kinds for i in index.by_value.get((kind, float(figure.low)), [])]
        named = [i for i in candidates if any(name in lowered for name in index.claims[i].names)]
        if not named:
            continue
        # a claim whose period the sentence mentions ("in 2024") comes first
        named.sort(key=lambda i: ((index.claims[i].period or "")[:4] not in sentence, i))
        line, column = unit.position(figure.start)
        more = f" (or {', '.join(f'`claim:{i}`' for i in named[1:3])})" if len(named) > 1 else ""
        message = f"“{figure.text}” has no citation: it is the value of `claim:{named[0]}`{more}; cite it"
        found.append(Finding("KB505", message, path, line, column, claim_id=named[0]))
    return found


def _suppress(findings: list[Finding], suppressions: list[_Suppression], path: str) -> list[Finding]:
    result = []
    for finding in findings:
        for suppression in suppressions:
            first, last = suppression.lines
            if finding.code in suppression.codes and first < finding.line <= max(last, first + 1):
                suppression.used = True
                finding = finding.with_(acknowledged=True, acknowledgement=suppression.reason)
                break
        result.append(finding)
    for suppression in suppressions:
        if not suppression.used:
            codes = ", ".join(sorted(suppression.codes))
            result.append(
                Finding(
                    "KB901",
                    f"suppression of {codes} matches no finding: remove it",
                    path,
                    suppression.line,
                    suppression.column,
                )
            )
    return result


def check_drafts(index: DraftIndex, paths: list[Path], display: list[str]) -> list[Finding]:
    """Every finding of the drafts at ``paths`` (shown as ``display``), with the configured
    severities, sorted as ``kb check`` sorts. ``index``: :meth:`DraftIndex.build` of an
    analysis, or :meth:`DraftIndex.from_database` when the database is current."""
    levels = severities(index.settings)
    findings = []
    for path, shown in zip(paths, display, strict=True):
        try:
            source = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            findings.append(Finding("KB001", f"cannot read the draft: {exc}", shown))
            continue
        findings.extend(check_text(index, source.replace("\r\n", "\n"), shown))
    result = [f.with_(severity=levels[f.code]) for f in findings if levels[f.code] != "off"]
    result.sort(key=lambda f: (*f.sort_key(), SEVERITY_ORDER[f.severity]))
    return result
