"""Evidence rules: claims without evidence, single origins, quotes absent from snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kb.checks.context import CheckContext, normalise_text, settings_file
from kb.findings import Finding
from kb.graph import evidence_origin

__all__ = ["check_no_evidence", "check_quotes", "check_single_origin", "has_archive", "no_archive", "quoted"]


def check_no_evidence(ctx: CheckContext) -> Iterator[Finding]:
    """KB201: a claim with no evidence that is not derived from other claims."""
    for record in ctx.corpus.claims.values():
        claim = record.model
        if not claim.evidence and claim.derived_from is None:
            line, column = record.position("id")
            yield Finding(
                "KB201", f"claim `{record.id}` has no evidence", record.path, line, column, claim_id=record.id
            )


def check_single_origin(ctx: CheckContext) -> Iterator[Finding]:
    """KB202: several supporting sources, one independent origin."""
    for record in ctx.corpus.claims.values():
        supporting = [e for e in record.model.evidence if e.stance == "supports" and e.source in ctx.corpus.sources]
        sources = {e.source for e in supporting}
        origins = {evidence_origin(ctx.graph, e.source, e.via) for e in supporting}
        if len(sources) > 1 and len(origins) == 1:
            line, column = record.key_position("evidence")
            message = f"{len(sources)} supporting sources all trace back to one origin, `{origins.pop()}`"
            yield Finding("KB202", message, record.path, line, column, claim_id=record.id)


def check_quotes(ctx: CheckContext) -> Iterator[Finding]:
    """KB203: a quote absent from its source's snapshot.

    Snapshots are required (``--require-snapshots``) where the archive is: when none of the
    configured snapshot folders exists (a clone without ../shared), the quotes cannot be
    verified and one info finding on the settings says so and how many; when a folder exists,
    a snapshot missing from it is reported once on each source that names it and is quoted (an
    error under ``--require-snapshots``).
    """
    archive = has_archive(ctx.settings)
    missing_reported: set[str] = set()  # source ids
    unverified = 0
    for record in ctx.corpus.claims.values():
        for index, item, source, text in quoted(ctx, record, archive):
            if text is None:
                unverified += 1
                if archive and source.id not in missing_reported:
                    missing_reported.add(source.id)
                    yield _missing_snapshot(ctx, source, source.model.snapshot)
                continue
            if normalise_text(item.quote) not in text:
                line, column = record.position("evidence", index, "quote")
                message = f"quote not found in the snapshot `{source.model.snapshot}` of `{item.source}`"
                yield Finding("KB203", message, record.path, line, column, claim_id=record.id, key=item.quote)
    if unverified and not archive:
        yield no_archive(ctx.settings, unverified)


def has_archive(settings) -> bool:
    """Whether any of the configured snapshot folders exists."""
    return any(folder.is_dir() for folder in settings.snapshot_dirs)


def quoted(ctx: CheckContext, record, archive: bool):
    """(index, evidence item, source record, normalised snapshot text or None) for each quote
    of a claim whose source names a snapshot (the text is None without an ``archive``)."""
    for index, item in enumerate(record.model.evidence):
        source = ctx.corpus.sources.get(item.source)
        if not item.quote or source is None or not source.model.snapshot:
            continue
        yield index, item, source, ctx.snapshot_text(source.model.snapshot) if archive else None


def no_archive(settings, unverified: int) -> Finding:
    """The settings-level KB203: ``unverified`` quotes, and no snapshot folder to verify them in."""
    folders = ", ".join(settings.snapshots)
    what = f"snapshot folder {folders} not found" if folders else "no snapshot folder configured"
    quotes = "quote" if unverified == 1 else "quotes"
    path, line = _settings_place(settings.root)
    return Finding("KB203", f"{what}: {unverified} {quotes} not verified", path, line, 1, severity="info")


def _settings_place(root: Path) -> tuple[str, int]:
    """The settings file and the line of its ``snapshots`` key (else line 1)."""
    name = settings_file(root) or "pyproject.toml"
    try:
        lines = (root / name).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return name, 1
    number = next((n for n, text in enumerate(lines, 1) if text.lstrip().startswith("snapshots")), 1)
    return name, number


def _missing_snapshot(ctx: CheckContext, source, name: str) -> Finding:
    present = [
        str(p) for p, folder in zip(ctx.settings.snapshots, ctx.settings.snapshot_dirs, strict=True) if folder.is_dir()
    ]
    severity = "error" if ctx.require_snapshots else "info"
    line, column = source.position("snapshot")
    message = (
        f"snapshot `{name}` not found in the snapshot folders ({', '.join(present)}): "
        f"quotes citing `{source.id}` are not verified"
    )
    return Finding("KB203", message, source.path, line, column, source_id=source.id, severity=severity)
