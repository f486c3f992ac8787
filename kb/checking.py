"""What ``kb check`` reports, as cheaply as it can be known: the stored report when nothing
changed; else a re-check of what the changes reach (:mod:`kb.incremental`); else a full
analysis, which leaves the state the next re-check starts from.

Usage::

    findings = check_findings(load_settings(Path(".")))

Importing this module imports no check, no graph and no model: a check with nothing changed
needs none of them (``tests/test_startup.py``).
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from kb.cache import cache_enabled, in_background, load_findings, save_findings
from kb.progress import Progress, quiet

if TYPE_CHECKING:
    from kb.findings import Finding
    from kb.inputs import Forked
    from kb.settings import Settings
    from kb.settings_file import QuickSettings

__all__ = ["check_findings", "start_walk"]


def check_findings(
    settings: Settings,
    today: date | None = None,
    require_snapshots: bool = False,
    progress: Progress | None = None,
    cache: bool | None = None,
    walk: Forked | None = None,
) -> list[Finding]:
    """The findings of the whole knowledge base, as a full check gives them. ``cache=False``
    (or ``KB_NO_CACHE=1``) analyses everything and stores nothing. ``walk``: what
    :func:`start_walk` started for these settings' folders (closed here)."""
    from kb.inputs import fingerprint, known_fingerprint

    progress = progress or quiet()
    if not cache_enabled(cache):
        if walk is not None:
            walk.close()
        return _analysis(settings, today, require_snapshots, progress, cache=False).findings
    options = f"snapshots={require_snapshots}"
    walk = walk or start_walk(settings)
    state = current = None
    try:
        if walk.forked:
            # a large state, loaded while a child walks: a re-check from it gives the findings
            # even with nothing changed, as quickly as the stored report would (so neither
            # the report nor the fingerprint it is stored under is needed)
            with progress.stage("load state"):
                state = _load_state(settings, today, require_snapshots)
            if state is not None:
                with progress.stage("prepare"):
                    _prepare(state, walk.ready)
            with progress.stage("walk"):
                hashes = walk.result()[0]
        else:
            with progress.stage("fingerprint"):
                hashes, digest = walk.result()
                current = known_fingerprint(settings, today, hashes, digest)
                findings = None if current is None else load_findings(settings.root, f"{current} {options}")
            if findings is not None:
                return findings
            if hashes is not None:
                state = _load_state(settings, today, require_snapshots)
    finally:
        walk.close()
    from kb.incremental import base_key, recheck, save_state, state_of  # the checks, networkx, the models

    if hashes is not None and state is not None:
        with progress.stage("recheck"):
            result = recheck(settings, today, require_snapshots, hashes, state)
        if result is not None:
            findings, saved = result.findings, result.state
            key = None if current is None else f"{current} {options}"
            if saved is not None or key is not None:
                with progress.stage("state"):
                    in_background(_store, settings.root, saved, key, findings)
            _keep(state, saved, hashes)
            return findings
    analysis = _analysis(settings, today, require_snapshots, progress, incremental=True)
    findings, parsed = analysis.findings, analysis.corpus.files_digest
    with progress.stage("state"):
        save_findings(settings.root, f"{fingerprint(settings, today, parsed)} {options}", findings)
        # the state needs the records, not the graph: cleared, not just dropped (networkx's
        # cached views hold the graph in a cycle that the young-generation collector never
        # frees): its 115 MB at 100k files hold the state instead of adding to the peak
        analysis.graph.clear()
        state = state_of(analysis, analysis.corpus.hashes or {}, base_key(settings, today, require_snapshots))
        del analysis
        save_state(settings.root, state)
    return findings


# A stored state this large (about 15,000 files) takes long enough to load that a child
# process walks the knowledge base meanwhile: at 100k files each takes 0.7-1.1 s (a check
# after an edit went from 3.8 to 2.9 s with it, measured then). Only the walk can tell
# whether anything changed, so the state is loaded also when nothing did, and the findings
# are then re-checked from it (at 100k about 0.3 s, where reading the stored report took
# 0.2 s, cProfile): so a check after an edit, the common case while writing, computes no
# digest of the files (0.1 s) and stores no report (0.2 s waited for at exit).
PRELOAD_BYTES = 8 << 20


def start_walk(settings: Settings | QuickSettings) -> Forked:
    """The walk of :func:`kb.inputs.current_files`, for :func:`check_findings`: started now in a
    forked child (:class:`kb.inputs.Forked`) when there is a large state to load meanwhile
    and two cores to do both, else done when its result is asked for. ``kb check`` starts it
    before it reads the full settings (pydantic: 0.2 s), which then take no time of their own."""
    from kb.cache import CHECK_STATE, jobs
    from kb.inputs import QUICK_READS, Forked, current_files

    try:
        large = (settings.root / ".kb-cache" / CHECK_STATE).stat().st_size >= PRELOAD_BYTES
    except OSError:
        large = False
    fork = large and jobs() > 1
    # forked, the walk is not split in two again (this process, loading the state, has the
    # other core), and its digest is not needed (the findings are re-checked from the state)
    # (forked, it leaves the manifest as it is: a writer it started would hold the pipe that
    # brings its result back open until done, and this process would wait for it)
    walk = partial(current_files, settings, max_reads=QUICK_READS, split=not fork, digest=not fork, refresh=not fork)
    return Forked(walk, fork=fork)


# What the last re-check loaded and made, kept until the next one: freeing the millions of
# objects of a state costs 0.2 s at 100k files (a tenth of a re-check), and ``kb`` ends
# without freeing anything (kb.cli.run).
_kept: list = []


def _keep(*values) -> None:
    _kept[:] = values


def _store(root, state, key, findings) -> None:
    """Save the state (when there is one) and the findings (when their key is known)."""
    from kb.incremental import save_state

    if state is not None:
        save_state(root, state)
    if key is not None:
        save_findings(root, key, findings)


def _prepare(state, walked) -> None:
    """While the walk is not done (``walked()`` false), what a re-check of an edited
    frontmatter needs, begun before it is asked for: the state's raw findings unpickled
    (0.2 s at 100k files) and networkx imported for the region's graph (0.18 s). The state
    loads in about half the time the walk takes (0.5-0.7 s against 1.2-1.4 s at 100k files),
    and this process waited for the walk with nothing to do: a check after a figure edit went
    from 3.3-3.9 s to 3.1-3.25 s, alternating runs. The finished findings (what a re-check of
    nothing needs, a note edited) are not unpickled too: the walk had always ended before
    that step did, and the check waited for it (2.7-3.5 s). Each step is done whole, once
    begun."""
    from kb.graph import import_networkx

    for step in (lambda: state.raw.value, import_networkx):
        if walked():
            return
        step()


def _load_state(settings, today, require_snapshots):
    from kb.incremental import load_state  # the checks, networkx, the models

    return load_state(settings, today, require_snapshots)


def _analysis(settings, today, require_snapshots, progress, **options):
    from kb.analyse import analyse_settings

    return analyse_settings(
        settings, today=today, require_snapshots=require_snapshots, progress=progress, annotate=False, **options
    )
