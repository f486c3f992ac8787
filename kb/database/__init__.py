"""The SQLite database: ``build`` (lock, atomic swap, staleness), ``schema`` (tables,
indexes, full-text search, views, verification) and ``rows`` (the row of every table)."""

from kb.database.build import BuildError, build_database, is_stale
from kb.database.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "BuildError", "build_database", "is_stale"]
