"""Re-check the part of a knowledge base an edit can reach, instead of all of it.

A full ``kb check`` leaves behind, in ``.kb-cache/check-state`` (signed like the rest of the
cache, :mod:`kb.cache`), for every file: its hash, the digest of its frontmatter, its raw
findings (before acknowledgements; with their severities), and what its findings depend on, as
*keys* it reads and writes:

* ``i<id>``: the file that holds an id (existence, kind, every field another file reads:
  values, dates, snapshot, translation_of). Written by the holder; read by every file that
  refers to the id (KB101, KB102, KB202, KB203, KB204, KB303) or holds it too (KB005), and by
  a claim for every source on the translation chains of its evidence (KB202's origins).
* ``r<id>``: a reference to an id. Written by the files that refer to it, failed ones
  included; read by the holder (KB103 unused sources, KB401's "resolved", KB203 per source).
* ``g…``: a group of comparable figures (entity, metric, qualifiers: KB301, KB304), also read
  across a metric relation (KB303, KB302); ``o…``: the facts that may settle a projection
  (KB401); ``u…``: the figures of a metric without a configured unit (KB302).
* ``h``: the set of ids, read by a file with an unknown reference ("did you mean").

After an edit the changed files are parsed again. A file whose frontmatter is the same
(same digest, same path) has the same model and positions: nothing else needs checking. For
the others, the region is every file that reads a key a changed file writes (before or after
the edit); it is checked again together with every file it reads, parsed from disk (each
file's bytes must still have the hash the walk saw, else the whole check runs). Findings of
files outside the region are kept. KB104 (cycles) and the settings-level KB203 (quotes not
verified) are taken over the whole knowledge base from per-file edges and counts.
Acknowledgements and severities are applied to the merged findings, as for a full check.

What invalidates the state entirely: another kb version or format, other settings files,
snapshots, date or options (:func:`base_key`), overlapping claims and sources folders, and a
region over :data:`MAX_SHARE` of the files (a full check is then as quick). The tests
compare the result with a full check after edits, renames, deletions, broken files,
duplicate ids, new cycles and chains.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from sys import intern
from typing import NamedTuple

from kb.cache import CHECK_STATE
from kb.checks import (
    CHECKS,
    Acknowledgements,
    CheckContext,
    finish,
    raw_findings,
    record_acknowledgements,
    with_severities,
)
from kb.checks.evidence import has_archive, no_archive, quoted
from kb.checks.numbers import has_figure, unit_group
from kb.checks.references import (
    check_circular_sourcing,
    circular_findings,
    claim_references,
    cycle_edges,
    source_references,
)
from kb.checks.time import awaits_outcome, settles
from kb.findings import Finding
from kb.frontmatter import FrontmatterError
from kb.graph import build_graph, entity_index, subject_entity
from kb.load import Corpus, Loaded, assemble, load_file, parse_file, read_bytes
from kb.settings import Settings

__all__ = [
    "MAX_SHARE",
    "Rechecked",
    "State",
    "base_key",
    "load_state",
    "recheck",
    "save_state",
    "state_of",
]

FORMAT = 3  # 2: State.findings; 3: State.raw and State.findings Packed
MAX_SHARE = 0.25  # a region over this share of the files: the whole check instead


class Entry(NamedTuple):
    """What the state keeps of one file."""

    kind: str
    id: str | None
    ok: bool  # it loaded as a record
    named: bool  # its file name is its id (kb.load.assemble prefers it for a duplicate id)
    head: bytes | None  # Document.head (None: it did not load)
    reads: tuple[str, ...]  # (tuples: a third quicker to unpickle than frozensets)
    writes: tuple[str, ...]
    edges: tuple  # kb.checks.references.cycle_edges
    unverified: int  # quotes whose snapshot could not be read (the settings-level KB203)
    acks: tuple  # kb.checks.record_acknowledgements

    def __reduce__(self):
        # unpickled by tuple.__new__ in C, not by the class's Python __new__: a third less
        # time to load the 110,000 entries of a 100k knowledge base
        return tuple.__new__, (Entry, tuple(self))


class Rechecked(NamedTuple):
    """What :func:`recheck` found."""

    findings: list[Finding]  # of the whole knowledge base, as a full check reports them
    state: State | None  # to save for the next re-check (None: not worth saving)
    # the files whose frontmatter changed or whose records kept or lost an id (relative paths)
    touched: frozenset[str]
    region: frozenset[str]  # the files re-checked: every file that reads what those wrote
    # the region's files and every file they read, loaded, and their graph of declared
    # relations (None when no frontmatter changed)
    corpus: Corpus | None
    graph: object | None
    entries: dict[str, Entry]  # every file's entry after the re-check


class Packed:
    """A part of the state pickled on its own inside it, and unpickled only when a re-check
    asks for it (:attr:`value`): a re-check of files whose frontmatter changed reads the raw
    findings, one of nothing (a note edited, nothing changed) the finished ones, never both.
    At 100k files each is 40,000 findings: 0.35 s and 0.2-0.26 s of a state's 0.6-1 s of
    loading. Pickled again as the bytes it came as, when nothing asked for it. The bytes are
    inside the signed state (kb.cache): unpickled as that is."""

    __slots__ = ("_data", "_value")

    def __init__(self, value=None, data: bytes | None = None):
        self._value, self._data = value, data

    @property
    def value(self):
        if self._data is not None:
            from kb.cache import _unpickle

            self._value, self._data = _unpickle(self._data), None
        return self._value

    def __reduce__(self):
        import pickle

        data = self._data if self._data is not None else pickle.dumps(self._value, protocol=pickle.HIGHEST_PROTOCOL)
        return _packed, (data,)


def _packed(data: bytes) -> Packed:
    return Packed(data=data)


class State(NamedTuple):
    base: str
    files: dict[str, str | None]  # relative path -> sha256 (None: not a readable file)
    entries: dict[str, Entry]
    # relative path -> its findings before acknowledgements (severities applied:
    # kb.checks.with_severities), without KB104 (a dict[str, list[Finding]], Packed)
    raw: Packed
    cycles: list[Finding]  # KB104
    # the findings of the whole knowledge base as a check reports them (the raw ones above,
    # finished; a list[Finding], Packed): what a re-check of nothing returns, without
    # finishing 40,000 findings again (0.2 s at 100k files)
    findings: Packed


def base_key(settings: Settings, today: date | None, require_snapshots: bool) -> str:
    """What every finding depends on besides the claim and source files: the fingerprint of
    no files (settings files, snapshots, versions, the date) and the options."""
    from kb.inputs import fingerprint

    return f"{FORMAT} {fingerprint(settings, today, '')} snapshots={require_snapshots}"


# ----------------------------------------------------------------------------- keys
def _group(prefix: str, entity, metric_key) -> str:
    return prefix + repr((entity, metric_key))


def _keys(record, settings: Settings, entities, sources: dict, known) -> tuple[tuple, tuple]:
    """(keys read, keys written) by a file that loaded (see the module's docstring);
    ``sources``: source id -> record, for the translation chains; ``known(id, kind)``: whether
    a reference to an id of that kind is known (held by such a record, or by a file that
    failed): an unknown one reads the set of ids, for its "did you mean"."""
    model, own = record.model, record.id
    reads, writes = {"i" + own, "r" + own}, {"i" + own}
    references = [(target, "source") for target, _, _ in source_references(record)]
    if record.kind == "claim":
        references += [(target, "claim") for target, _, _ in claim_references(record)]
    for target, kind in references:
        reads.add("i" + target)
        writes.add("r" + target)
        if not known(target, kind):
            reads.add("h")
    if record.kind == "source":
        return _interned(reads), _interned(writes)
    for item in model.evidence:  # the translation chains KB202 follows
        for start in (item.source, item.via):
            seen = set()
            while start and start not in seen:
                seen.add(start)
                reads.add("i" + start)
                holder = sources.get(start)
                start = holder.model.translation_of if holder is not None else None
    entity = subject_entity(entities, model.subject) if model.subject else None
    metric = settings.metric_name(model.metric)
    metric_key = (metric, tuple(sorted(model.qualifiers.items())))
    if has_figure(model) and entity is not None:
        group = _group("g", entity, metric_key)
        reads.add(group)
        writes.add(group)
        for relation in settings.relations:
            left, right = settings.metric_name(relation.left), settings.metric_name(relation.right)
            for mine, other in ((left, right), (right, left)):
                if metric == mine:
                    reads.add(_group("g", entity, (other, metric_key[1])))
    if settles(model):
        writes.add(_group("o", entity, metric_key))
    if awaits_outcome(model):
        reads.add(_group("o", entity, metric_key))
    if (units := unit_group(settings, model)) is not None:
        reads.add("u" + units)
        writes.add("u" + units)
    return _interned(reads), _interned(writes)


def _interned(keys: set[str]) -> tuple[str, ...]:
    """The keys as one shared string each (a source's or a group's key is read by thousands of
    files: pickled once, not once per file)."""
    return tuple(map(intern, keys))


def _named(id_: str | None, path: str) -> bool:
    """Whether the file at ``path`` (always ``*.md``) is named after ``id_``."""
    return id_ is not None and path.rsplit("/", 1)[-1][:-3] == id_


def _entry(
    kind: str, path: str, loaded: Loaded, ctx: CheckContext, entities, known, archive: bool, keeper: bool
) -> Entry:
    record = loaded.record
    if record is None or not keeper:
        return _unkept(kind, path, loaded)
    reads, writes = _keys(record, ctx.settings, entities, ctx.corpus.sources, known)
    unverified = sum(1 for *_, text in quoted(ctx, record, archive) if text is None) if kind == "claim" else 0
    acks = record_acknowledgements(record) if record.model.acknowledge else ()
    named = _named(record.id, path)
    return Entry(
        kind, record.id, True, named, record.document.head, reads, writes, cycle_edges(record), unverified, acks
    )


# ---------------------------------------------------------------------------- state
def state_of(analysis, files: dict[str, str | None], base: str) -> State:
    """The state of a full analysis (``analysis.raw`` and ``analysis.corpus.loaded``)."""
    corpus = analysis.corpus
    ctx = CheckContext(corpus, analysis.graph, analysis.today, False)  # (the graph is not read)
    archive = has_archive(corpus.settings)
    entities = entity_index(corpus)
    held = _known(corpus)
    entries = {}
    for kind, path, loaded in corpus.loaded:
        keeper = loaded.record is not None and corpus.record(loaded.record.id) is loaded.record
        entries[path] = _entry(kind, path, loaded, ctx, entities, held, archive, keeper)
    raw: dict[str, list[Finding]] = {path: [] for path in entries}
    cycles = []
    for finding in with_severities(analysis.raw, corpus.settings):
        finding.id  # noqa: B018  (computed once, kept: the findings a re-check copies carry it)
        if finding.code == "KB104":
            cycles.append(finding)
        elif finding.path in raw:
            raw[finding.path].append(finding)
    return State(base, dict(files), entries, Packed(raw), cycles, Packed(analysis.findings))


def save_state(root: Path, state: State) -> None:
    from kb.cache import save_signed

    save_signed(root, CHECK_STATE, state)


def load_state(settings: Settings, today: date | None, require_snapshots: bool) -> State | None:
    """The state stored for these settings, date and options (None: none usable)."""
    from kb.cache import load_signed

    state = load_signed(settings.root, CHECK_STATE)
    return state if isinstance(state, State) and state.base == base_key(settings, today, require_snapshots) else None


# --------------------------------------------------------------------------- recheck
def _order(relative: str, kind: str) -> tuple:
    return kind != "claim", relative.split("/")


def recheck(
    settings: Settings,
    today: date | None,
    require_snapshots: bool,
    hashes: dict[str, str | None],
    state: State,
    written: Iterable[str] = (),
    share: float | None = None,
) -> Rechecked | None:
    """The findings of the whole knowledge base, by re-checking what changed since the last
    full check (``hashes``: every file's sha256 now, :func:`kb.inputs.current_hashes`), the
    state to save for the next time, and what was re-checked (:class:`Rechecked`); None
    when a full check is needed (too much changed). ``state``: what :func:`load_state` gave.
    ``written``: keys to take as written too, when something changed (what versions of the
    changed files that the state does not know wrote: :mod:`kb.database.update`). ``share``:
    the share of the files past which a full check is wanted (default :data:`MAX_SHARE`)."""
    claims_dir, sources_dir = settings.claims_dir.resolve(), settings.sources_dir.resolve()
    if claims_dir.is_relative_to(sources_dir) or sources_dir.is_relative_to(claims_dir):
        return None  # a file in both folders is read twice: one entry per path cannot say so
    day = today or settings.today or date.today()
    root = settings.root
    # a path without a hash (a symbolic link, a file over the size limit, not a regular file)
    # is read again each time, as a full check would: its hash cannot tell an edit
    stored = state.files.get
    changed = {path for path, digest in hashes.items() if digest is None or stored(path) != digest}
    changed |= state.files.keys() - hashes.keys()
    limit = (MAX_SHARE if share is None else share) * max(len(hashes), 1)
    if len(changed) > limit:
        return None
    entries = dict(state.entries)
    kinds = {path: entries[path].kind if path in entries else _kind(settings, root / path) for path in changed}
    fresh: dict[str, Loaded] = {}  # changed files that exist, parsed now
    for path in sorted(changed):
        if path in hashes:
            loaded, digest = _read(kinds[path], root, path)
            if hashes[path] is not None and digest != hashes[path]:
                return None  # changed again since the walk
            fresh[path] = loaded
    # a file whose frontmatter is the same as before: same model, positions and findings
    touched = {
        path
        for path in changed
        if not (
            path in fresh
            and path in entries
            and fresh[path].record is not None
            and entries[path].head is not None
            and fresh[path].record.document.head == entries[path].head
        )
    }
    files = dict(state.files)
    for path in changed - touched:
        files[path] = hashes[path]
    if not touched:  # nothing to check again: the state's own findings
        finished = state.findings.value
        if finished is None:  # (signed, but not readable by this kb: a full check)
            return None
        saved = state._replace(files=files) if _worth_saving(len(changed), len(files)) else None
        return Rechecked(list(finished), saved, frozenset(), frozenset(), None, None, entries)
    if state.raw.value is None:
        return None
    # what the changed files wrote before and write now (the new keys: from a first parse)
    written = set(written)
    for path in touched:
        if path in entries:
            written |= set(entries[path].writes)
        if path in fresh:
            entries[path] = _rough_entry(kinds[path], path, fresh[path], settings)  # in place: same order
            written |= set(entries[path].writes)
        else:
            entries.pop(path, None)
    if touched - state.entries.keys():  # new files: into reading order
        entries = {path: entries[path] for path in sorted(entries, key=lambda p: _order(p, entries[p].kind))}
    if touched - (hashes.keys() & state.entries.keys()) or any(
        _identity(entries[path]) != _identity(state.entries[path]) for path in touched
    ):
        written.add("h")  # the set of ids may have changed: "did you mean" may answer otherwise
    # a file that keeps an id now and did not, or the reverse, without being edited (another
    # file with its id came, went, broke or was renamed) is re-checked as if edited: what it
    # wrote as the keeper, or writes now, reaches other files
    held = {
        entry.id for path in touched for entry in (state.entries.get(path), entries.get(path)) if entry and entry.id
    }
    if held:
        before = _keepers({path: entry for path, entry in state.entries.items() if entry.id in held})
        after = _keepers({path: entry for path, entry in entries.items() if entry.id in held})
        moved = {
            pair[1]
            for id_ in held
            if before.get(id_) != after.get(id_)
            for pair in (before.get(id_), after.get(id_))
            if pair
        }
        for path in sorted(moved - touched):
            if path not in entries:
                continue
            loaded, digest = _read(entries[path].kind, root, path)
            if hashes.get(path) is not None and digest != hashes.get(path):
                return None
            written |= set(entries[path].writes)
            fresh[path] = loaded
            entries[path] = _rough_entry(entries[path].kind, path, loaded, settings)
            written |= set(entries[path].writes)
            touched.add(path)
    # the region: every file that reads what the changed files wrote; and what it reads
    region = {path for path, entry in entries.items() if not written.isdisjoint(entry.reads)}
    region |= touched & entries.keys()
    wanted = {key for path in region for key in entries[path].reads}
    needed = region | {path for path, entry in entries.items() if not wanted.isdisjoint(entry.writes)}
    if len(needed) > limit:
        return None
    loaded_now = dict(fresh)
    if not _parse_into(loaded_now, sorted(needed - loaded_now.keys()), entries, root, hashes):
        return None
    # translation chains may lead to sources not read yet (an edit can lengthen one)
    while True:
        held = {loaded_now[path].id for path in needed}
        targets = {
            record.model.translation_of
            for path in needed
            if (record := loaded_now[path].record) is not None
            and record.kind == "source"
            and record.model.translation_of
            and record.model.translation_of not in held
        }
        more = {path for path, entry in entries.items() if entry.id in targets} - needed if targets else set()
        if not more:
            break
        needed |= more
        if not _parse_into(loaded_now, sorted(more), entries, root, hashes):
            return None
    ids = _Ids(entries)
    ordered = sorted(needed, key=lambda path: _order(path, entries[path].kind))
    corpus = assemble(settings, [(entries[p].kind, root / p, loaded_now[p]) for p in ordered], keep_loaded=True)
    corpus.broken_ids, corpus.broken_references = _broken(entries)
    graph = build_graph(corpus)
    ctx = CheckContext(corpus, graph, day, require_snapshots, ids=ids, scope=region)  # type: ignore[arg-type]
    checks = [check for check in CHECKS if check is not check_circular_sourcing]
    found: dict[str, list[Finding]] = {path: [] for path in region}
    for finding in with_severities(raw_findings(ctx, checks), settings):
        if finding.path in found:
            found[finding.path].append(finding)
    # the entries of the region, with the keys its files read and write now
    archive = has_archive(settings)
    entities = entity_index(corpus)
    known = _known(corpus)
    for kind, path, loaded in corpus.loaded:
        if path in region:
            keeper = loaded.record is not None and corpus.record(loaded.record.id) is loaded.record
            entries[path] = _entry(kind, path, loaded, ctx, entities, known, archive, keeper)
    for path in touched:
        if path in hashes:
            files[path] = hashes[path]
        else:
            files.pop(path, None)
            entries.pop(path, None)
    cycles = state.cycles
    reporters = {finding.path for finding in cycles}
    if any(_edges(entries, p) != _edges(state.entries, p) for p in touched) or ("h" in written or reporters & touched):
        try:
            cycles = _cycles(entries, corpus, root, hashes)
        except _Changed:
            return None
    findings, saved = _merge(settings, state, entries, files, found, cycles, len(needed))
    return Rechecked(findings, saved, frozenset(touched), frozenset(region), corpus, graph, entries)


def _edges(entries: dict[str, Entry], path: str) -> tuple:
    return entries[path].edges if path in entries else ()


def _known(corpus: Corpus):
    """``known(id, kind)`` for :func:`_keys`: held by a record of that kind, or broken."""

    def known(id_: str, kind: str) -> bool:
        return id_ in corpus.broken_ids or id_ in (corpus.claims if kind == "claim" else corpus.sources)

    return known


def _kind(settings: Settings, path: Path) -> str:
    return "claim" if path.is_relative_to(settings.claims_dir) else "source"


def _raw(kind: str, root: Path, relative: str) -> tuple[bytes, str] | Loaded:
    """A file's bytes and their sha256, or, for one that cannot be read as a file, what
    loading it reports (KB001, never cached)."""
    path = root / relative
    try:
        raw = read_bytes(path, root)
    except (FrontmatterError, OSError, RuntimeError):  # RuntimeError: a symbolic link loop
        return load_file(kind, path, root)  # type: ignore[arg-type]
    return raw, hashlib.sha256(raw).hexdigest()


def _read(kind: str, root: Path, relative: str) -> tuple[Loaded, str | None]:
    """The file parsed, and the sha256 of the bytes parsed (None: not readable as a file)."""
    read = _raw(kind, root, relative)
    if isinstance(read, Loaded):
        return read, None
    return parse_file(kind, root / relative, relative, read[0]), read[1]  # type: ignore[arg-type]


def _parse_into(loaded: dict, paths: list[str], entries: dict, root: Path, hashes: dict) -> bool:
    """Parse ``paths`` into ``loaded`` (in worker processes when many); False when a file's
    bytes are no longer those the walk hashed."""
    from kb.cache import parse_many

    items = []
    for path in paths:
        kind = entries[path].kind
        read = _raw(kind, root, path)
        if isinstance(read, Loaded):
            if hashes.get(path) is not None:
                return False
            loaded[path] = read
        elif read[1] != hashes.get(path):
            return False
        else:
            items.append((kind, str(root / path), path, read[0]))
    for item, result in zip(items, parse_many(items), strict=True):
        loaded[item[2]] = result
    return True


def _unkept(kind: str, path: str, loaded: Loaded) -> Entry:
    """The entry of a file that failed, or of a duplicate left out: its id and the ids it
    refers to (a failed file's references still count as uses, KB103)."""
    own = {"i" + loaded.id} if loaded.id else set()
    refs = {"r" + target for target in loaded.references}
    head = loaded.record.document.head if loaded.record is not None else None
    named = _named(loaded.id, path)
    return Entry(kind, loaded.id, loaded.record is not None, named, head, tuple(own), tuple(own | refs), (), 0, ())


def _rough_entry(kind: str, path: str, loaded: Loaded, settings: Settings) -> Entry:
    """An entry for a file just parsed, before its region is known: the keys it writes
    (what it reads is found again once the region is loaded)."""
    record = loaded.record
    if record is None:
        return _unkept(kind, path, loaded)
    reads, writes = _keys(record, settings, entity_index(Corpus(settings)), {}, lambda *_: True)
    named = _named(record.id, path)
    return Entry(kind, record.id, True, named, record.document.head, reads, writes, cycle_edges(record), 0, ())


def _identity(entry: Entry) -> tuple:
    """What decides which file keeps an id (kb.load.assemble)."""
    return entry.kind, entry.id, entry.ok, entry.named


class _Ids:
    """:func:`_known_ids`, computed when first asked for (a file with an unknown reference)."""

    def __init__(self, entries: dict[str, Entry]):
        self.entries, self.ids = entries, None

    def __getitem__(self, kind: str) -> list[str]:
        if self.ids is None:
            self.ids = _known_ids(self.entries)
        return self.ids[kind]


def _keepers(entries: dict[str, Entry]) -> dict[str, tuple[str, str]]:
    """id -> (kind, path) of the file that keeps it in the corpus (kb.load.assemble's rule:
    the first that loaded, one whose name matches first), in the corpus's order (the first
    appearance of each id); ``entries`` are in reading order."""
    best: dict[str, tuple] = {}
    for path, entry in entries.items():
        if entry.id:
            rank = (not entry.ok, not entry.named)
            if entry.id not in best or rank < best[entry.id][0]:
                best[entry.id] = (rank, entry.kind, path)
    return {id_: (kind, path) for id_, (rank, kind, path) in best.items() if not rank[0]}


def _known_ids(entries: dict[str, Entry]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {"claim": [], "source": []}
    for id_, (kind, _) in _keepers(entries).items():
        ids[kind].append(id_)
    return ids


def _broken(entries: dict[str, Entry]) -> tuple[set[str], set[str]]:
    """(ids no file holding them loaded, ids files that failed refer to)."""
    loaded = {entry.id for entry in entries.values() if entry.ok and entry.id}
    broken_ids = {entry.id for entry in entries.values() if entry.id and not entry.ok} - loaded
    references = {key[1:] for entry in entries.values() if not entry.ok for key in entry.writes if key.startswith("r")}
    return broken_ids, references


class _Changed(Exception):
    """A file is not what the walk saw (edited since), or does not load as it did."""


def _cycles(entries: dict[str, Entry], corpus: Corpus, root: Path, hashes: dict) -> list[Finding]:
    """KB104 over the edges of every file that keeps its id (a reporting file outside the
    region is read again: :class:`_Changed` when it is not as the walk saw it)."""
    keepers = _keepers(entries)
    edges = [
        edge
        for path, entry in entries.items()
        if keepers.get(entry.id or "", ("", ""))[1] == path
        for edge in entry.edges
    ]

    def is_kind(kind: str):
        return lambda id_: keepers.get(id_, ("", ""))[0] == kind

    def locate(kind: str, id_: str, path: tuple) -> tuple[str, int, int]:
        record = corpus.record(id_)
        if record is None:
            relative = keepers[id_][1]
            loaded, digest = _read(kind, root, relative)
            record = loaded.record
            if record is None or (hashes.get(relative) is not None and digest != hashes.get(relative)):
                raise _Changed(relative)
        return (record.path, *record.position(*path))  # type: ignore[union-attr]

    return list(circular_findings(edges, is_kind("source"), is_kind("claim"), locate))


# The state is saved again only when redoing this re-check next time would cost more than
# saving it (1.3-2 s at 100k files): until then each re-check starts from the last state saved.
SAVE_AFTER = 2000  # files parsed


def _merge(settings, state: State, entries, files, found, cycles, parsed: int):
    """The findings of the whole knowledge base from the kept and the new raw findings, and
    the new state when it is worth saving (:data:`SAVE_AFTER`)."""
    kept = state.raw.value
    raw_by_path = {path: (found[path] if path in found else kept.get(path, [])) for path in entries}
    raw = [finding for findings in raw_by_path.values() for finding in findings]
    raw += cycles
    unverified = sum(entry.unverified for entry in entries.values())
    if unverified and not has_archive(settings):
        raw.append(no_archive(settings, unverified))
    acks: Acknowledgements = {}
    acknowledging = {entry.id for entry in entries.values() if entry.acks}
    if acknowledging:  # only the files that hold those ids decide who keeps them
        keepers = _keepers({path: entry for path, entry in entries.items() if entry.id in acknowledging})
        for id_, (kind, path) in keepers.items():
            if entries[path].acks:
                acks[id_] = (path, kind, entries[path].acks)
    findings = finish(raw, settings, acks)
    return findings, State(state.base, files, entries, Packed(raw_by_path), cycles, Packed(findings)) if _worth_saving(
        parsed, len(files)
    ) else None


def _worth_saving(parsed: int, files: int) -> bool:
    """Whether a re-check that parsed ``parsed`` of ``files`` files leaves a state to save."""
    return parsed >= min(SAVE_AFTER, files // 20 + 1)
