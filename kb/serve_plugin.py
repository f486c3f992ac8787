"""kb's Datasette plugin: safe HTML bodies, short citation URLs, a length limit.

Registered through the ``datasette`` entry point, the same mechanism any plugin uses.
"""

from __future__ import annotations

import sqlite3

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

MAX_VALUE_BYTES = 1_000_000


@hookimpl
def render_cell(value, column, table, database, datasette):
    # body_html is rendered and sanitised by nh3 at build time (kb.render): safe to show as HTML.
    if column == "body_html" and isinstance(value, str):
        return Markup(value)
    return None


@hookimpl
def prepare_connection(conn):
    # The SQL time limit does not cap memory: refuse huge strings and blobs outright.
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)


def _claim_redirect(request, datasette):
    claim_id = request.url_vars["id"]
    database = next(iter(datasette.databases.keys() - {"_internal", "_memory"}), "kb")
    return Response.redirect(datasette.urls.row(database, "claims", claim_id))


@hookimpl
def register_routes():
    # /c/ID: a short, stable URL to cite a claim by.
    return [(r"^/c/(?P<id>[a-z0-9]+(?:-[a-z0-9]+)*)$", _claim_redirect)]
