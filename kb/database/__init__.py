"""The SQLite database: ``build`` (lock, atomic swap, staleness), ``schema`` (tables,
indexes, full-text search, views, verification) and ``rows`` (the row of every table)."""

from kb.database.build import STAGES, BuildError, UnpublishedErrors, build_database, is_stale, left_out, up_to_date
from kb.database.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "STAGES",
    "BuildError",
    "UnpublishedErrors",
    "build_database",
    "is_stale",
    "left_out",
    "up_to_date",
]
