"""``kb-pandoc``: a pandoc filter that resolves ``[@claim:ID]`` and ``[@src:ID]`` from the knowledge base.

    pandoc draft.md --filter kb-pandoc --citeproc -o draft.html     # the filter before --citeproc

- The CSL items of every cited kb key are put into the ``references`` metadata (pandoc's
  inline bibliography), so no bibliography file is needed; other keys and other
  ``references`` or ``bibliography`` entries are left alone.
- Metadata ``kb-evidence: true`` adds after each claim citation a footnote with its evidence:
  the quotes, each with a citation of its source (which citeproc then formats) and the
  outlet it relays.
- A contested, refuted or superseded claim is marked after its citation
  (``<span class="kb-status kb-refuted">``) and reported on stderr as ``[kb] KB503 …``, as
  is an unknown key (pandoc then warns that the citation is not found, which fails
  ``--fail-if-warnings``). ``kb-mark-status: false`` turns the marks off.
- The knowledge base is found as ``kb`` finds it: metadata ``kb-root`` (relative to the
  current folder), else ``KB_ROOT``, else the nearest folder upward of the current one.

Works the same in Quarto (``filters: [kb-pandoc]`` in the document or ``_quarto.yml``;
Quarto runs user filters before citeproc).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import panflute as pf

from kb import cite
from kb.analyse import Analysis, analyse_settings
from kb.settings import SettingsError, find_root, load_settings

__all__ = ["main", "meta_value"]

_MARKS = {"contested": "contested", "refuted": "refuted", "superseded": "superseded"}


def meta_value(value: object) -> pf.MetaValue:
    """A Python value as pandoc metadata (strings stay strings: no Markdown is parsed)."""
    if isinstance(value, bool):
        return pf.MetaBool(value)
    if isinstance(value, dict):
        return pf.MetaMap(**{key: meta_value(item) for key, item in value.items()})
    if isinstance(value, list):
        return pf.MetaList(*[meta_value(item) for item in value])
    return pf.MetaString(str(value))


def _reference(item: dict) -> dict:
    """A CSL item for pandoc metadata: dates as EDTF strings (numbers would be read as text)."""
    out = {key: value for key, value in item.items() if key not in ("custom", "citation-key")}
    for key in ("issued", "accessed"):
        if key in out:
            out[key] = "-".join(f"{part:02d}" if i else str(part) for i, part in enumerate(out[key]["date-parts"][0]))
    return out


def _words(text: str) -> list[pf.Inline]:
    inlines: list[pf.Inline] = []
    for index, word in enumerate(text.split()):
        if index:
            inlines.append(pf.Space())
        inlines.append(pf.Str(word))
    return inlines


def _warn(message: str) -> None:
    print(f"[kb] {message}", file=sys.stderr)


def _root(doc: pf.Doc) -> Path:
    configured = doc.get_metadata("kb-root", None)
    if configured:
        return Path(str(configured)).resolve()
    if os.environ.get("KB_ROOT"):
        return Path(os.environ["KB_ROOT"]).resolve()
    return find_root(Path.cwd())


def _collect(elem: pf.Element, doc: pf.Doc) -> None:
    if isinstance(elem, pf.Cite):
        doc.kb_keys.extend(citation.id for citation in elem.citations)


def prepare(doc: pf.Doc) -> None:
    doc.kb_keys = []
    doc.walk(_collect)
    wanted = [key for key in dict.fromkeys(doc.kb_keys) if cite.parse_key(key)]
    doc.kb = None
    doc.kb_evidence = bool(doc.get_metadata("kb-evidence", False))
    doc.kb_mark = bool(doc.get_metadata("kb-mark-status", True))
    doc.kb_noted = set()
    if not wanted:
        return
    try:
        settings = load_settings(_root(doc))
        analysis: Analysis = analyse_settings(settings)
    except (SettingsError, OSError) as exc:
        _warn(f"cannot read the knowledge base: {exc}")
        return
    if not analysis.corpus.claims and not analysis.corpus.sources:
        _warn(f"no knowledge base at {settings.root} (set `kb-root` in the metadata, or KB_ROOT)")
        return
    doc.kb = analysis
    keys = list(wanted)
    if doc.kb_evidence:  # the sources of the evidence footnotes are cited too
        for key in wanted:
            parsed = cite.parse_key(key)
            if parsed and parsed[0] == "claim" and parsed[1] in analysis.corpus.claims:
                keys += [cite.source_key(line.source_id) for line in cite.evidence_lines(analysis, parsed[1])]
                keys += [cite.source_key(line.via) for line in cite.evidence_lines(analysis, parsed[1]) if line.via]
    items = []
    for key in dict.fromkeys(keys):
        item = cite.csl_item(analysis, key)
        if item is None:
            _warn(f"KB501 unknown key `{key}`{cite.key_hint(analysis, key)}")
            continue
        items.append(_reference(item))
    existing = doc.metadata.content.get("references")
    references = list(existing.content) if isinstance(existing, pf.MetaList) else []
    known = {pf.stringify(ref.content.get("id")) for ref in references if isinstance(ref, pf.MetaMap)}
    references += [meta_value(item) for item in items if item["id"] not in known]
    doc.metadata["references"] = pf.MetaList(*references)


def _inside_note(elem: pf.Element) -> bool:
    parent = elem.parent
    while parent is not None:
        if isinstance(parent, pf.Note):
            return True
        parent = parent.parent
    return False


def _evidence_note(analysis: Analysis, claim_id: str) -> pf.Note:
    claim = analysis.corpus.claims[claim_id].model
    status = analysis.status[claim_id]
    head = _words(f"{claim.statement.rstrip('.')} ({status}; {claim.figure() or 'no figure'}).")
    blocks = [pf.Para(*head)]
    for line in cite.evidence_lines(analysis, claim_id):
        inlines: list[pf.Inline] = []
        if line.stance != "supports":
            inlines += [pf.Strong(pf.Str(line.stance.capitalize() + ":")), pf.Space()]
        if line.quote:
            inlines += [*_words(f"“{line.quote}”"), pf.Space()]
        suffix = _words(f", {line.locator}") if line.locator else []
        citation = pf.Citation(cite.source_key(line.source_id), mode="NormalCitation", suffix=suffix)
        inlines.append(pf.Cite(pf.Str(f"[@{cite.source_key(line.source_id)}]"), citations=[citation]))
        if line.via:
            via = pf.Citation(cite.source_key(line.via), mode="NormalCitation")
            inlines += [pf.Str(","), pf.Space(), pf.Str("relaying"), pf.Space()]
            inlines.append(pf.Cite(pf.Str(f"[@{cite.source_key(line.via)}]"), citations=[via]))
        inlines.append(pf.Str("."))
        blocks.append(pf.Para(*inlines))
    return pf.Note(*blocks)


def action(elem: pf.Element, doc: pf.Doc):
    if not isinstance(elem, pf.Cite) or doc.kb is None:
        return None
    analysis: Analysis = doc.kb
    after: list[pf.Inline] = []
    for citation in elem.citations:
        parsed = cite.parse_key(citation.id)
        if not parsed or parsed[0] != "claim" or parsed[1] not in analysis.corpus.claims:
            continue
        claim_id = parsed[1]
        status = analysis.status[claim_id]
        if status in _MARKS:
            newer = cite.superseded_by(analysis, claim_id)
            label = f"superseded by {newer}" if newer else status
            if citation.id not in doc.kb_noted:
                code = "KB502" if status == "contested" else "KB503"
                _warn(f"{code} cites {label} claim `{citation.id}`")
            if doc.kb_mark:
                span = pf.Span(pf.Str(f"[{label}]"), classes=["kb-status", f"kb-{status}"])
                after += [pf.Space(), span]
        if doc.kb_evidence and not _inside_note(elem) and citation.id not in doc.kb_noted:
            after.append(_evidence_note(analysis, claim_id))
        doc.kb_noted.add(citation.id)
    return [elem, *after] if after else None


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    """The console script ``kb-pandoc``: reads pandoc's JSON on stdin, writes it to stdout."""
    return pf.run_filter(action, prepare=prepare, doc=doc)


if __name__ == "__main__":
    main()
