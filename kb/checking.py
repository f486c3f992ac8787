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
from typing import TYPE_CHECKING

from kb.cache import cache_enabled, load_findings, save_findings
from kb.progress import Progress, quiet

if TYPE_CHECKING:
    from kb.findings import Finding
    from kb.settings import Settings

__all__ = ["check_findings"]


def check_findings(
    settings: Settings,
    today: date | None = None,
    require_snapshots: bool = False,
    progress: Progress | None = None,
    cache: bool | None = None,
) -> list[Finding]:
    """The findings of the whole knowledge base, as a full check gives them. ``cache=False``
    (or ``KB_NO_CACHE=1``) analyses everything and stores nothing."""
    from kb.inputs import QUICK_READS, current_files, fingerprint, known_fingerprint

    progress = progress or quiet()
    if not cache_enabled(cache):
        return _analysis(settings, today, require_snapshots, progress, cache=False).findings
    options = f"snapshots={require_snapshots}"
    with progress.stage("fingerprint"):
        hashes, digest = current_files(settings, max_reads=QUICK_READS)
        current = known_fingerprint(settings, today, hashes, digest)
        findings = None if current is None else load_findings(settings.root, f"{current} {options}")
    if findings is not None:
        return findings
    from kb.incremental import base_key, recheck, save_state, state_of  # the checks, networkx, the models

    if hashes is not None:
        with progress.stage("recheck"):
            result = recheck(settings, today, require_snapshots, hashes)
        if result is not None:
            findings, state = result
            with progress.stage("state"):
                if state is not None:
                    save_state(settings.root, state)
                if current is not None:
                    save_findings(settings.root, f"{current} {options}", findings)
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


def _analysis(settings, today, require_snapshots, progress, **options):
    from kb.analyse import analyse_settings

    return analyse_settings(
        settings, today=today, require_snapshots=require_snapshots, progress=progress, annotate=False, **options
    )
