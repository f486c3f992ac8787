"""The reader's pages, wired into Datasette: template variables for the home, claim and source
pages, routes for /metrics, /graph and /c, and readable figures in table cells.

The data comes from :mod:`kb.site.pages` (plain functions of a connection, tested without
Datasette); the pictures from :mod:`kb.site.charts` and :mod:`kb.site.graphview`. Templates
live in ``templates/kb/``; ``templates/index.html`` switches to them, and the claim and source
routes (:func:`row_page`) render them, only for a database ``kb build`` wrote, so any other
database keeps Datasette's own pages.
"""

from __future__ import annotations

import sqlite3
import time

from datasette import __version__ as datasette_version
from datasette import hookimpl
from datasette.utils import path_with_format, tilde_decode
from datasette.utils.asgi import Forbidden, NotFound, Response
from markupsafe import Markup

from kb.site import charts, graphview, pages
from kb.site.hardening import trusted_cell

VALUE_COLUMNS = ("value", "value_low", "value_high")
FIGURE_TABLES = ("claims", "metric_timeline", None)  # None: a canned query's results


def _plain(fn):
    """``fn`` run on Datasette's connection with sqlite3's own row and text types.

    Datasette gives each connection ``sqlite3.Row`` rows and a Python ``text_factory`` that
    decodes every text value with ``errors="replace"``: a Python call per value (the claim
    page's data, a chart of a few hundred rows, took 6.4 ms with them on a plain connection
    and 5.2 without, measured at 100k claims). kb's pages build
    their own dicts and read a database kb wrote, whose text is UTF-8; should a value not
    decode, the call is made again with Datasette's factories."""

    def run(conn):
        row_factory, text_factory = conn.row_factory, conn.text_factory
        conn.row_factory, conn.text_factory = None, str
        try:
            return fn(conn)
        except sqlite3.OperationalError as error:
            if "decode" not in str(error):
                raise
        finally:
            conn.row_factory, conn.text_factory = row_factory, text_factory
        return fn(conn)

    return run


async def query(db, fn):
    """``fn(conn)`` in Datasette's thread for ``db``, as :func:`_plain` runs it."""
    return await db.execute_fn(_plain(fn))


async def kb_database(datasette, name: str | None = None):
    """The database ``kb build`` wrote: the one named, or the first that has kb's tables."""
    names = [name] if name else [n for n in datasette.databases if n not in ("_internal", "_memory")]
    for candidate in names:
        db = datasette.databases.get(candidate)
        if db is not None and await query(db, pages.is_kb_database):
            return db
    return None


def site_info(datasette) -> dict:
    """Title, description, licence and source link, as kb serve's metadata gives them."""
    meta = datasette.metadata
    return {
        "title": meta("title") or "Knowledge base",
        "description": meta("description"),
        "license": meta("license"),
        "license_url": meta("license_url"),
        "source": meta("source"),
        "source_url": meta("source_url"),
    }


def citation_url(datasette, request, claim_id: str) -> str:
    config = datasette.plugin_config("kb") or {}
    base = config.get("base_url")
    path = f"/c/{claim_id}"
    if base:
        return base.rstrip("/") + path
    return datasette.absolute_url(request, datasette.urls.path(path)) if request else path


def _hrefs(datasette, database: str):
    urls = datasette.urls
    # Plain strings, each table's prefix built once: Datasette's PrefixedUrlString answers
    # every attribute through dir(), and urls.row() rebuilds the database and table part for
    # every link (a chart has a few hundred: 15 ms, then 3 ms of a claim page). Row ids are
    # slugs, which urls.row() does not encode either.
    rows = {kind: f"{urls.table(database, table)}/" for kind, table in (("claim", "claims"), ("source", "sources"))}
    graph = str(urls.path("/graph/"))

    def node(kind: str, id_: str) -> str:
        prefix = rows.get(kind)
        return prefix + id_ if prefix is not None else graph + id_

    return node


# The tables whose text kb's pages show (the statements, the quotes, the sources' titles), and
# so what a reader must be allowed to see. (Each view-table check costs 0.6 ms, Datasette
# copying the metadata: the tables of links, findings and entities, which name claims and
# sources by id, are not asked for; a reader denied only one of them still sees kb's pages.)
READ_TABLES = ("claims", "sources", "evidence")


async def may_read(datasette, request, db, checked: str | None = None) -> bool:
    """Whether the reader may see every table of :data:`READ_TABLES` in ``db``, as Datasette
    decides for its own pages of each (view-table, else view-database, else view-instance):
    kb's pages show what those tables hold, so they answer to the same ``allow`` blocks. The
    database's and the instance's answer is asked once for all the tables; ``checked``: a
    table the caller has checked already."""
    actor = request.actor if request is not None else None
    above = None  # view-database, else view-instance: for the tables with no answer of their own
    for table in READ_TABLES:
        if table == checked:
            continue
        allowed = await datasette.permission_allowed(actor, "view-table", (db.name, table), default=None)
        if allowed is None:
            if above is None:
                try:
                    await datasette.ensure_permissions(actor, [("view-database", db.name), "view-instance"])
                    above = True
                except Forbidden:
                    above = False
            allowed = above
        if not allowed:
            return False
    return True


async def _readable_kb(datasette, request):
    """The kb database for one of kb's own pages: 404 without one, 403 when the reader may
    not see the tables they show (:func:`may_read`)."""
    db = await kb_database(datasette)
    if db is None:
        raise NotFound("No knowledge base database is served")
    if not await may_read(datasette, request, db):
        raise Forbidden("You do not have permission to view this knowledge base")
    return db


@hookimpl(specname="extra_template_vars")
def kb_template_vars(template, database, table, view_name, request, datasette):
    if view_name == "index":
        return _home_vars(datasette, request)
    return {"kb_site": site_info(datasette)}


def _home_vars(datasette, request):
    async def inner():
        db = await kb_database(datasette)
        if db is None or not await may_read(datasette, request, db):
            return {}  # Datasette's own index, which lists what the reader may see
        data = await query(db, pages.per_build(pages.home_page))
        return {"kb_page": data, "kb_db": db.name, "kb_site": site_info(datasette)}

    return inner


async def _row_vars(datasette, db, table: str, row_id: str, request) -> dict | None:
    """The claim or source page's template and data, or None when there is no such row."""
    hrefs = _hrefs(datasette, db.name)
    if table == "claims":
        data = await query(db, lambda conn: pages.claim_page(conn, row_id))
        if data is None:
            return None
        data["chart"] = Markup(
            charts.figure_chart(
                data["peers"],
                highlight=row_id,
                href=lambda i: hrefs("claim", i),
                title=f"{data['claim']['metric']} of {data['entity']['name'] if data['entity'] else ''}",
            )
        )
        data["legend"] = [{**item, "swatch": Markup(item["swatch"])} for item in charts.legend(data["peers"])]
        data["kind_swatches"] = {k: Markup(v) for k, v in charts.kind_swatches().items()}
        data["cite_key"] = f"[@claim:{row_id}]"
        data["cite_url"] = citation_url(datasette, request, row_id)
        template = "kb/claim.html"
    else:
        data = await query(db, lambda conn: pages.source_page(conn, row_id))
        if data is None:
            return None
        template = "kb/source.html"
    return {"kb_template": template, "kb_page": data, "kb_db": db.name, "kb_site": site_info(datasette)}


async def row_page(request, datasette):
    """/DB/claims/ID and /DB/sources/ID as HTML: the claim and source pages.

    A route of its own in front of Datasette's row view (the URL stays the same, the JSON at
    ``.json`` stays Datasette's), because that view prepares everything its own row page
    shows (every cell rendered, counts of the rows linking to it) before the template is
    chosen: 4–5 of a claim page's 21 ms at 100k claims went there (in process). The same checks are
    made (view-instance, view-database, view-table) and the same headers sent (caching as
    ``?_ttl=`` or ``default_cache_ttl`` say, CORS, the JSON alternate); anything that is not
    a kb database's existing claim or source, and any method but GET and HEAD, is Datasette's
    row view as before. (``RowView`` is imported here: plugins are loaded while ``datasette.views`` is
    still being imported.)"""
    from datasette.views.row import RowView

    view = RowView(datasette)
    table = request.url_vars["table"]
    try:
        db = datasette.get_database(route=tilde_decode(request.url_vars["database"]))
    except KeyError:
        db = None
    if request.method in ("GET", "HEAD") and db is not None and await kb_database(datasette, db.name) is not None:
        visible, private = await datasette.check_visibility(
            request.actor,
            permissions=[("view-table", (db.name, table)), ("view-database", db.name), "view-instance"],
        )
        if not visible or not await may_read(datasette, request, db, table):  # (the page shows more tables)
            raise Forbidden("You do not have permission to view this table")
        start = time.perf_counter()
        context = await _row_vars(datasette, db, table, tilde_decode(request.url_vars["pks"]), request)
        if context is not None:
            json_url = datasette.absolute_url(
                request, datasette.urls.path(path_with_format(request=request, format="json"))
            )
            context |= {
                "database": db.name,
                "table": table,
                "private": private,
                "alternate_url_json": json_url,
                "datasette_version": datasette_version,
                "query_ms": (time.perf_counter() - start) * 1000,
                # the table's metadata, as Datasette's row page gives it (the footer's licence)
                "metadata": ((datasette.metadata("databases") or {}).get(db.name, {}).get("tables", {}).get(table, {})),
            }
            html = await datasette.render_template(context["kb_template"], context, request=request, view_name="row")
            response = Response.html(
                html, headers={"Link": f'{json_url}; rel="alternate"; type="application/json+datasette"'}
            )
            if request.method == "HEAD":
                response.body = b""  # (as Datasette's views answer HEAD: the GET, without its body)
            ttl = request.args.get("_ttl")
            return view.set_response_headers(
                response, ttl if ttl and ttl.isdigit() else datasette.setting("default_cache_ttl")
            )
    request.url_vars.setdefault("format", None)  # (the group Datasette's own route has)
    return await view.dispatch_request(request)


async def _render(datasette, request, template: str, context: dict) -> Response:
    html = await datasette.render_template(template, context, request=request)
    return Response.html(html)


async def metrics_index(request, datasette):
    db = await _readable_kb(datasette, request)
    rows = await query(db, pages.per_build(pages.metric_index))
    return await _render(datasette, request, "kb/metrics.html", {"kb_metrics": rows, "kb_db": db.name})


async def metric_view(request, datasette):
    db = await _readable_kb(datasette, request)
    metric = request.url_vars["metric"]
    subject = (request.args.get("subject") or "").strip()
    entity_id = None
    if subject:
        entity_id = await query(db, lambda conn: pages.resolve_entity(conn, subject))
        if entity_id is None:
            raise NotFound(f"No entity {subject!r}")
    data = await query(db, lambda conn: pages.metric_page(conn, metric, entity_id))
    if data is None:
        raise NotFound(f"No metric {metric!r}")
    hrefs = _hrefs(datasette, db.name)
    for section in data["sections"]:
        section["chart"] = Markup(
            charts.figure_chart(
                section["figures"], href=lambda i: hrefs("claim", i), title=f"{metric} of {section['name']}"
            )
        )
        section["legend"] = [{**item, "swatch": Markup(item["swatch"])} for item in charts.legend(section["figures"])]
    context = {
        "kb_page": data,
        "kb_db": db.name,
        "kb_kind_swatches": {k: Markup(v) for k, v in charts.kind_swatches().items()},
    }
    return await _render(datasette, request, "kb/metric.html", context)


async def graph_view(request, datasette):
    db = await _readable_kb(datasette, request)
    node_id = request.url_vars["id"]

    def build(conn):
        focus = pages.find_node(conn, node_id)
        if focus is None:
            return None
        graph = graphview.read_graph(conn)
        sub, rings = graphview.neighbourhood(graph, focus)
        return focus, sub, rings

    found = await query(db, build)
    if found is None:
        raise NotFound(f"No claim, source or entity {node_id!r}")
    focus, sub, rings = found
    hrefs = _hrefs(datasette, db.name)
    nodes = sorted(
        (
            {**sub.nodes[n], "node": n, "ring": rings[n], "href": hrefs(sub.nodes[n]["kind"], sub.nodes[n]["id"])}
            for n in rings
        ),
        key=lambda d: (d["ring"], d["kind"], d["sort"]),
    )
    relations: dict[str, int] = {}
    for _, _, relation in sub.edges(data="relation"):
        relations[relation] = relations.get(relation, 0) + 1
    focus_data = sub.nodes[focus]
    if focus_data["kind"] == "entity":
        page_url = datasette.urls.table(db.name, "claims") + f"?entity_id={focus_data['id']}"
    else:
        page_url = hrefs(focus_data["kind"], focus_data["id"])
    context = {
        "kb_db": db.name,
        "kb_focus": {**focus_data, "node": focus, "page_url": page_url},
        "kb_svg": Markup(graphview.graph_svg(sub, rings, focus, hrefs)),
        "kb_nodes": nodes,
        "kb_relations": relations,
        "kb_legend": graphview.legend(),
    }
    return await _render(datasette, request, "kb/graph.html", context)


async def short_url(request, datasette):
    """/c/ID: the claim or source page; 404 for an id that is neither."""
    item_id = request.url_vars["id"]
    db = await _readable_kb(datasette, request)
    found = await query(db, lambda conn: pages.find_node(conn, item_id))
    if found is None or found.startswith("entity:"):
        raise NotFound(f"No claim or source {item_id!r}")
    table = "claims" if found.startswith("claim:") else "sources"
    return Response.redirect(datasette.urls.row(db.name, table, item_id))


ID = r"[a-z0-9]+(?:-[a-z0-9]+)*"
ROUTES = [
    (r"^/(?P<database>[^/.]+)/(?P<table>claims|sources)/(?P<pks>[^/.]+)$", row_page),
    (rf"^/c/(?P<id>{ID})$", short_url),
    (r"^/metrics/?$", metrics_index),
    (r"^/metrics/(?P<metric>[a-z0-9_]+)$", metric_view),
    (rf"^/graph/(?P<id>{ID})$", graph_view),
]


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """kb's table cells: HTML kb vouches for (:func:`kb.site.hardening.trusted_cell`), and
    readable figures. One hook implementation for both, since Datasette calls each for every
    cell of a page."""
    trusted = trusted_cell(value, column, table, database)
    return trusted if trusted is not None else readable_figure_cell(row, value, column, table)


def readable_figure_cell(row, value, column, table):
    """Figures in base units (264000000000.0) shown as a reader writes them (264 billion USD);
    the exact number stays in the cell's title and in the JSON."""
    if column not in VALUE_COLUMNS or table not in FIGURE_TABLES or not isinstance(value, int | float):
        return None
    try:
        unit = row["unit"]
    except (KeyError, IndexError, TypeError):
        unit = None
    text = pages.readable(value, unit if isinstance(unit, str) else None)
    return Markup('<span class="kb-number" title="{}">{}</span>').format(repr(value), text)


__all__ = [
    "ROUTES",
    "kb_database",
    "kb_template_vars",
    "may_read",
    "query",
    "readable_figure_cell",
    "render_cell",
    "site_info",
]
