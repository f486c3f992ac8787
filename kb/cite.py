"""How to cite a claim or a source: keys, URLs, text forms, CSL-JSON and BibTeX items.

The one module that knows it; the CLI (``kb cite``, ``kb export``), the database build,
the draft checker and the pandoc filter all call these pure functions over an
:class:`~kb.analyse.Analysis`.

- Keys: ``claim:ID`` for a claim, ``src:ID`` for a source (pandoc: ``[@claim:ID]``,
  ``[@src:ID]``). Ids are ``[a-z0-9]+(-[a-z0-9]+)*``, so a key is always a valid pandoc,
  BibTeX and Quarto citation key, and the prefixes keep them apart from Zotero keys.
- URL: ``base_url`` + ``/c/ID`` (the site's short citation URL), when ``base_url`` is set.
- CSL-JSON: a claim is type ``entry`` ("an entry in a database") with genre ``Claim``; its
  author is the claimant and its container title the knowledge base, so that every item has
  a printed form (pandoc warns "no printed form" otherwise). CSL-JSON allows no extra
  top-level fields: kb's own (status, figure, evidence) go under ``custom``, and a readable
  summary goes into ``note`` and ``status``, which styles print.
- BibTeX: ``@misc`` for claims (status and figure in ``note``), sources by type.

>>> claim_key("openai-2024-net-loss"), source_key("reuters-x"), parse_key("src:reuters-x")
('claim:openai-2024-net-loss', 'src:reuters-x', ('source', 'reuters-x'))
>>> parse_key("fig-1") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.analyse import Analysis
from kb.graph import out_edges
from kb.values import PartialDate

__all__ = [
    "CITE_FORMATS",
    "CLAIM_PREFIX",
    "SOURCE_PREFIX",
    "EvidenceLine",
    "all_keys",
    "bibtex_entry",
    "cite_as",
    "claim_csl",
    "claim_footnote",
    "claim_key",
    "claim_text",
    "csl_item",
    "evidence_lines",
    "kb_title",
    "key_hint",
    "page_url",
    "parse_key",
    "resolve_key",
    "source_csl",
    "source_key",
    "source_text",
    "superseded_by",
]

CLAIM_PREFIX = "claim:"
SOURCE_PREFIX = "src:"
DEFAULT_TITLE = "kb knowledge base"

# The source types of the file format -> CSL item types (and BibTeX entry types).
_CSL_TYPES = {
    "article": "article-newspaper",
    "report": "report",
    "newsletter": "post-weblog",
    "blog": "post-weblog",
    "filing": "report",
    "dataset": "dataset",
    "interview": "interview",
    "social": "post",
    "comment": "post",
    "translation": "article",
}
# The CSL 1.0.2 variables kb writes (CSL-JSON allows no others at the top level: kb's own go in `custom`).
CSL_VARIABLES = {
    "id",
    "citation-key",
    "type",
    "genre",
    "title",
    "author",
    "container-title",
    "publisher",
    "status",
    "note",
    "issued",
    "URL",
    "language",
}
_BIBTEX_TYPES = {"article": "article", "report": "techreport", "filing": "techreport", "dataset": "misc"}


def claim_key(id_: str) -> str:
    return CLAIM_PREFIX + id_


def source_key(id_: str) -> str:
    return SOURCE_PREFIX + id_


def parse_key(key: str) -> tuple[str, str] | None:
    """``("claim", ID)`` or ``("source", ID)`` for a kb citation key, else None.

    ``source:ID`` (the graph's node key) is accepted as well as ``src:ID``."""
    for prefix, kind in ((CLAIM_PREFIX, "claim"), (SOURCE_PREFIX, "source"), ("source:", "source")):
        if key.startswith(prefix) and len(key) > len(prefix):
            return kind, key[len(prefix) :]
    return None


def kb_title(analysis: Analysis) -> str:
    """The knowledge base's name: the ``title`` setting, else a neutral default."""
    return analysis.settings.title or DEFAULT_TITLE


def page_url(analysis: Analysis, id_: str) -> str | None:
    """The published page of a claim or source (the site's ``/c/ID``), when ``base_url`` is set."""
    base = analysis.settings.base_url
    return f"{base.rstrip('/')}/c/{id_}" if base else None


def _date_parts(value: PartialDate | None) -> dict | None:
    if value is None:
        return None
    return {"date-parts": [[int(part) for part in value.text.split("-")]]}


@dataclass(frozen=True)
class EvidenceLine:
    """One evidence item of a claim, with what a reader needs to find it."""

    source_id: str
    stance: str
    quote: str | None
    locator: str | None
    via: str | None
    source_title: str | None
    publisher: str | None
    url: str | None
    via_publisher: str | None


def evidence_lines(analysis: Analysis, claim_id: str) -> list[EvidenceLine]:
    sources = analysis.corpus.sources
    lines = []
    for item in analysis.corpus.claims[claim_id].model.evidence:
        source = sources.get(item.source)
        via = sources.get(item.via) if item.via else None
        lines.append(
            EvidenceLine(
                item.source,
                item.stance,
                item.quote,
                item.locator,
                item.via,
                source.model.title if source else None,
                source.model.publisher if source else None,
                source.model.url if source else None,
                (via.model.publisher or via.model.title) if via else None,
            )
        )
    return lines


def _claim_summary(analysis: Analysis, claim_id: str) -> str:
    """'supported; 5 billion USD, 2024; 2 independent origins'. The last one is kept: a
    claim's row asks for it twice in a row (its citation and its CSL-JSON)."""
    last = analysis.derived.get("summary")
    if last is not None and last[0] == claim_id:
        return last[1]
    summary = _summary(analysis, claim_id)
    analysis.derived["summary"] = (claim_id, summary)
    return summary


def _summary(analysis: Analysis, claim_id: str) -> str:
    claim = analysis.corpus.claims[claim_id].model
    parts = [analysis.status[claim_id]]
    superseder = superseded_by(analysis, claim_id)
    if superseder:
        parts[0] += f" by claim:{superseder}"
    if claim.figure():
        parts.append(claim.figure() + (f", {claim.period}" if claim.period else ""))
    elif claim.period:
        parts.append(str(claim.period))
    if claim.verdict:
        parts.append(f"verdict {claim.verdict.rating}")
    origins = analysis.origins.get(claim_id, 0)
    parts.append(f"{origins} independent origin{'s' if origins != 1 else ''}")
    return "; ".join(parts)


def superseded_by(analysis: Analysis, claim_id: str) -> str | None:
    """The id of the claim that supersedes this one, if any (the first of its in-edges).
    The superseded claims are found in one pass over the graph per analysis."""
    superseders = analysis.derived.get("superseders")
    if superseders is None:
        # out of each claim in the graph's order, which is the order of each end's in-edges
        # (an edge view over the whole graph took 0.5 s at 100k claims)
        superseders = {}
        for node, kind in analysis.graph.nodes(data="kind"):
            if kind == "claim":
                for end, data in out_edges(analysis.graph, node):
                    if data["relation"] == "supersedes":
                        superseders.setdefault(end, node.removeprefix("claim:"))
        analysis.derived["superseders"] = superseders
    return superseders.get(f"claim:{claim_id}")


def claim_csl(analysis: Analysis, claim_id: str) -> dict:
    """The CSL-JSON item of a claim."""
    claim = analysis.corpus.claims[claim_id].model
    status = analysis.status[claim_id]
    title = kb_title(analysis)
    item: dict = {
        "id": claim_key(claim_id),
        "citation-key": claim_key(claim_id),
        "type": "entry",
        "genre": f"Claim, {claim.kind}",
        "title": claim.statement,
        "author": [{"literal": claim.claimant or title}],
        "container-title": title,
        "status": status,
        "note": _claim_summary(analysis, claim_id),
    }
    if issued := _date_parts(claim.stated):
        item["issued"] = issued
    if url := page_url(analysis, claim_id):
        item["URL"] = url
    item["custom"] = {
        "kb-kind": "claim",
        "kb-id": claim_id,
        "status": status,
        "kind": claim.kind,
        "subject": claim.subject,
        "metric": claim.metric,
        "value": claim.value.value if claim.value else None,
        "value-low": claim.value.low if claim.value else None,
        "value-high": claim.value.high if claim.value else None,
        "unit": claim.unit,
        "figure": claim.figure(),
        "period": str(claim.period) if claim.period else None,
        "approximate": claim.approximate,
        "independent-origins": analysis.origins.get(claim_id, 0),
        "verdict": claim.verdict.rating if claim.verdict else None,
        "superseded-by": superseded_by(analysis, claim_id),
        "evidence": list(dict.fromkeys(source_key(item.source) for item in claim.evidence)),
    }
    item["custom"] = {key: value for key, value in item["custom"].items() if value is not None}
    return item


def source_csl(analysis: Analysis, source_id: str) -> dict:
    """The CSL-JSON item of a source, with its real CSL type."""
    source = analysis.corpus.sources[source_id].model
    item: dict = {
        "id": source_key(source_id),
        "citation-key": source_key(source_id),
        "type": _CSL_TYPES[source.type],
        "title": source.title,
    }
    if source.authors:
        item["author"] = [{"literal": name} for name in source.authors]
    # an author or a container title is always present: pandoc warns "no printed form" otherwise
    item["container-title"] = source.publisher or kb_title(analysis)
    if source.publisher:
        item["publisher"] = source.publisher
    if issued := _date_parts(source.published):
        item["issued"] = issued
    if source.url:
        item["URL"] = source.url
    if source.language:
        item["language"] = source.language
    custom = {"kb-kind": "source", "kb-id": source_id, "source-type": source.type}
    if url := page_url(analysis, source_id):
        custom["kb-url"] = url
    if source.translation_of:
        custom["translation-of"] = source_key(source.translation_of)
    item["custom"] = custom
    return item


def csl_item(analysis: Analysis, key: str) -> dict | None:
    """The CSL-JSON item for a kb key (``claim:ID`` or ``src:ID``), or None when unknown."""
    parsed = parse_key(key)
    if parsed is None:
        return None
    kind, id_ = parsed
    if kind == "claim" and id_ in analysis.corpus.claims:
        return claim_csl(analysis, id_)
    if kind == "source" and id_ in analysis.corpus.sources:
        return source_csl(analysis, id_)
    return None


# ----------------------------------------------------------------------------- BibTeX
_BIBTEX_SPECIAL = re.compile(r"([&%$#_{}])")


def _bib_escape(text: str) -> str:
    text = text.replace("\\", r"\textbackslash{}").replace("~", r"\textasciitilde{}").replace("^", r"\^{}")
    return _BIBTEX_SPECIAL.sub(r"\\\1", text).replace(r"\textbackslash\{\}", r"\textbackslash{}")


def _bib_url(text: str) -> str:
    return text.replace("{", "%7B").replace("}", "%7D")


def bibtex_entry(analysis: Analysis, key: str) -> str | None:
    """The BibTeX entry for a kb key, or None when unknown."""
    item = csl_item(analysis, key)
    if item is None:
        return None
    custom = item["custom"]
    fields: list[tuple[str, str]] = [("title", "{" + _bib_escape(item["title"]) + "}")]
    # corporate and single-string names are kept whole with double braces
    authors = [entry["literal"] for entry in item.get("author", [])]
    if authors:
        fields.append(("author", " and ".join("{" + _bib_escape(a) + "}" for a in authors)))
    if custom["kb-kind"] == "claim":
        entry_type = "misc"
        fields.append(("howpublished", _bib_escape(item["container-title"])))
        fields.append(("note", _bib_escape(f"Claim ({custom['kind']}): {item['note']}")))
        fields.append(("keywords", _bib_escape(f"kb, claim, {custom['status']}")))
    else:
        entry_type = _BIBTEX_TYPES.get(custom["source-type"], "misc")
        if entry_type == "article":
            fields.append(("journal", _bib_escape(item["container-title"])))
        elif entry_type == "techreport":
            fields.append(("institution", _bib_escape(item["container-title"])))
        else:
            fields.append(("howpublished", _bib_escape(item["container-title"])))
        if "language" in item:
            fields.append(("langid", item["language"]))
    if "issued" in item:
        parts = item["issued"]["date-parts"][0]
        fields.append(("year", str(parts[0])))
        fields.append(("date", "-".join(f"{p:02d}" if i else str(p) for i, p in enumerate(parts))))
    if "URL" in item:
        fields.append(("url", _bib_url(item["URL"])))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{entry_type}{{{key},\n{body}\n}}\n"


# ----------------------------------------------------------------------------- text forms
def _year(value: PartialDate | None) -> str:
    return value.text if value else "n.d."


def claim_text(analysis: Analysis, claim_id: str) -> str:
    """A formatted reference for a preview or a plain-text document (final documents use
    ``pandoc --citeproc`` with a CSL style).

    'Edward Zitron (2025-08-07). OpenAI … [Claim, supported; …]. kb knowledge base. URL'
    """
    claim = analysis.corpus.claims[claim_id].model
    title = kb_title(analysis)
    text = (
        f"{claim.claimant or title} ({_year(claim.stated)}). {claim.statement.rstrip('.')}. "
        f"[Claim, {_claim_summary(analysis, claim_id)}]. {title}."
    )
    url = page_url(analysis, claim_id)
    return text + (f" {url}" if url else f" {claim_key(claim_id)}")


def source_text(analysis: Analysis, source_id: str) -> str:
    source = analysis.corpus.sources[source_id].model
    who = ", ".join(source.authors) or source.publisher or kb_title(analysis)
    text = f"{who} ({_year(source.published)}). {source.title.rstrip('.')}."
    if source.publisher and source.authors:
        text += f" {source.publisher}."
    url = source.url or page_url(analysis, source_id)
    return text + (f" {url}" if url else "")


def _source_label(line: EvidenceLine) -> str:
    label = line.publisher or line.source_id
    if line.source_title:
        label += f", “{line.source_title}”"
    if line.url:
        label = f"[{label}]({line.url})"
    if line.locator:
        label += f", {line.locator}"
    return label


def claim_footnote(analysis: Analysis, claim_id: str, label: str | None = None) -> str:
    """A Markdown citation with a footnote of the evidence: each quote, its source, and the
    outlet it relays. Works in any renderer with footnotes; with the kb-pandoc filter the
    ``[@claim:ID]`` also resolves to a bibliography entry."""
    label = label or claim_id
    claim = analysis.corpus.claims[claim_id].model
    parts = [f"{claim.statement.rstrip('.')} ({_claim_summary(analysis, claim_id)})."]
    for line in evidence_lines(analysis, claim_id):
        stance = "" if line.stance == "supports" else f"{line.stance.capitalize()}: "
        quote = f"“{line.quote}” " if line.quote else ""
        via = f", relaying {line.via_publisher}" if line.via_publisher else ""
        parts.append(f"{stance}{quote}({_source_label(line)}{via}).")
    if url := page_url(analysis, claim_id):
        parts.append(f"<{url}>")
    return f"[@{claim_key(claim_id)}][^{label}]\n\n[^{label}]: " + " ".join(parts) + "\n"


def all_keys(analysis: Analysis) -> list[str]:
    return [claim_key(i) for i in analysis.corpus.claims] + [source_key(i) for i in analysis.corpus.sources]


def resolve_key(analysis: Analysis, text: str) -> str | None:
    """The kb key a user means: ``claim:ID``, ``src:ID`` (or ``source:ID``), or a bare id
    (a claim's, else a source's). None when nothing of that name exists."""
    parsed = parse_key(text)
    if parsed:
        kind, id_ = parsed
        records = analysis.corpus.claims if kind == "claim" else analysis.corpus.sources
        return (claim_key(id_) if kind == "claim" else source_key(id_)) if id_ in records else None
    if text in analysis.corpus.claims:
        return claim_key(text)
    if text in analysis.corpus.sources:
        return source_key(text)
    return None


def key_hint(analysis: Analysis, text: str) -> str:
    """`` (did you mean `claim:x`?)`` for an unknown key, or an empty string."""
    from kb.suggest import did_you_mean

    parsed = parse_key(text)
    if parsed and parsed[0] == "claim":
        return did_you_mean(text, [claim_key(i) for i in analysis.corpus.claims])
    if parsed:
        return did_you_mean(text, [source_key(i) for i in analysis.corpus.sources])
    return did_you_mean(text, [*analysis.corpus.claims, *analysis.corpus.sources])


def cite_as(analysis: Analysis, keys: list[str], fmt: str) -> str:
    """What ``kb cite`` prints for resolved keys, in one of :data:`CITE_FORMATS`."""
    import json

    if fmt == "pandoc":
        return "[" + "; ".join(f"@{key}" for key in keys) + "]\n"
    if fmt == "csl-json":
        return json.dumps([csl_item(analysis, key) for key in keys], ensure_ascii=False, indent=2) + "\n"
    if fmt == "bibtex":
        return "\n".join(bibtex_entry(analysis, key) for key in keys)  # type: ignore[misc]
    out = []
    for key in keys:
        kind, id_ = parse_key(key)  # type: ignore[misc]
        if fmt == "text":
            out.append((claim_text if kind == "claim" else source_text)(analysis, id_) + "\n")
        elif kind == "claim":
            out.append(claim_footnote(analysis, id_))
        else:
            out.append(f"[@{key}]\n")
    return "\n".join(out) if fmt == "markdown" else "".join(out)


CITE_FORMATS = ("pandoc", "markdown", "text", "csl-json", "bibtex")
