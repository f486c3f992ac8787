"""kb's Datasette plugin (a package: templates/ and static/ beside this file): safe HTML bodies, short citation URLs, a length limit.

Registered through the ``datasette`` entry point, the same mechanism any plugin uses.
"""

from __future__ import annotations

from importlib import resources

import yaml
from datasette import hookimpl
from datasette.utils.asgi import Response

# Headers, refused paths, SQLite limits, the search functions, robots.txt: a plugin of its own,
# kb.site.hardening (entry point kb_hardening); which cells may be HTML is its trusted_cell,
# which the one render_cell hook of kb.site.views calls.
from kb.site.hardening import MAX_VALUE_BYTES  # noqa: F401

# The reader's pages (home, claim, source, metrics, graph, /c/ID) and readable figures in tables.
from kb.site.views import ROUTES as PAGE_ROUTES
from kb.site.views import kb_template_vars, render_cell  # noqa: F401 (hook implementations)


@hookimpl
def startup(datasette):
    # Suggested facets run a GROUP BY over every candidate column of every table page (about
    # 1 s a page at 100k claims); metadata.yaml names the facets worth having. `kb serve`
    # passes the setting; this covers a plain `datasette kb.db` too. (Datasette 0.65 has no
    # public way for a plugin to change a setting.)
    datasette._settings["suggest_facets"] = False


# SQLite reads a database it maps into memory without a system call (and a copy) per page: a
# facet of `claims?_search=` over a common word seeks 25,000 rows of 3 KB, 45 ms read page by
# page, 24 ms mapped, at 100k claims. The size is a ceiling (SQLite caps it at its compiled
# maximum, 2 GB); the mapping is the OS page cache, not the process's heap (so not counted by
# the public instance's heap limit). Safe under `kb serve`'s swaps: a build never writes the
# served file, it renames a new one over it, and a connection keeps the file it opened.
MMAP_BYTES = 1 << 31


@hookimpl
def prepare_connection(conn):
    conn.execute(f"pragma mmap_size = {MMAP_BYTES}")


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/-/kb.css")]


def _row_labels() -> str:
    """CSS labels for the cells of a row page: Datasette 0.65 gives them only a class."""
    text = resources.files("kb.site").joinpath("metadata.yaml").read_text(encoding="utf-8")
    tables = yaml.safe_load(text)["databases"]["kb"]["tables"]
    columns = sorted({column for table in tables.values() for column in table.get("columns", {})})
    return "\n".join(f'body.row .rows-and-columns td.col-{c}:before {{ content: "{c}"; }}' for c in columns)


def _stylesheet():
    # Served by a route of our own: Datasette's static-plugins folder detection does not see
    # the package of an editable install. Nothing is loaded from a CDN.
    css = resources.files("kb.site").joinpath("static/kb.css").read_text(encoding="utf-8") + "\n" + _row_labels() + "\n"
    return Response(css, content_type="text/css; charset=utf-8", headers={"cache-control": "max-age=300"})


@hookimpl
def register_routes():
    # /c/ID (a short, stable URL to cite a claim or source by), /metrics, /graph: kb.site.views.
    return [
        *PAGE_ROUTES,
        (r"^/-/kb\.css$", _stylesheet),
    ]
