"""The SQLite database: ``build`` (lock, atomic swap), ``state`` (is it current?),
``schema`` (tables, indexes, full-text search, views, verification) and ``rows`` (the row of
every table).

The names below are imported on first use (PEP 562), so ``import kb.database.state`` does
not bring in sqlite-utils and the rest of the build.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kb.database.build import STAGES, build_database, left_out
    from kb.database.errors import BuildError, UnpublishedErrors
    from kb.database.state import is_stale, up_to_date

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

_HOMES = {
    "BuildError": "kb.database.errors",
    "UnpublishedErrors": "kb.database.errors",
    "is_stale": "kb.database.state",
    "up_to_date": "kb.database.state",
    "SCHEMA_VERSION": "kb",
}


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module 'kb.database' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES.get(name, "kb.database.build")), name)
    globals()[name] = value
    return value
