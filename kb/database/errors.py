"""Why a build wrote nothing: importable without the database stack (the CLI catches these
on every build, including one that finds the database up to date)."""

from __future__ import annotations

from kb.findings import Finding

__all__ = ["BuildError", "UnpublishedErrors"]


class BuildError(Exception):
    """The database could not be written; the previous one is untouched."""


class UnpublishedErrors(BuildError):
    """The knowledge base has unacknowledged errors, so nothing was written.

    ``errors`` are the failing findings, ``files`` the files they are in (sorted).
    """

    def __init__(self, errors: list[Finding]):
        self.errors = errors
        self.files = sorted({f.path for f in errors})
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        files = f"{len(self.files)} file{'s' if len(self.files) != 1 else ''}"
        super().__init__(f"{count} in {files}: {', '.join(self.files)}")
