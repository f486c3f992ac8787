"""The reader's pages, wired into Datasette: template variables for the home, claim and source
pages, routes for /metrics, /graph and /c, and readable figures in table cells.

The data comes from :mod:`kb.site.pages` (plain functions of a connection, tested without
Datasette); the pictures from :mod:`kb.site.charts` and :mod:`kb.site.graphview`. Templates
live in ``templates/kb/``; ``templates/index.html`` and ``templates/row.html`` switch to them
only for a database ``kb build`` wrote, so any other database keeps Datasette's own pages.
"""

from __future__ import annotations

from datasette import hookimpl
from datasette.utils import tilde_decode
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup

from kb.site import charts, graphview, pages

VALUE_COLUMNS = ("value", "value_low", "value_high")
FIGURE_TABLES = ("claims", "metric_timeline", None)  # None: a canned query's results


async def kb_database(datasette, name: str | None = None):
    """The database ``kb build`` wrote: the one named, or the first that has kb's tables."""
    names = [name] if name else [n for n in datasette.databases if n not in ("_internal", "_memory")]
    for candidate in names:
        db = datasette.databases.get(candidate)
        if db is not None and await db.execute_fn(pages.is_kb_database):
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


@hookimpl(specname="extra_template_vars")
def kb_template_vars(template, database, table, view_name, request, datasette):
    if view_name == "index":
        return _home_vars(datasette)
    if view_name == "row" and table in ("claims", "sources") and request is not None:
        return _row_vars(datasette, database, table, request)
    return {"kb_site": site_info(datasette)}


def _home_vars(datasette):
    async def inner():
        db = await kb_database(datasette)
        if db is None:
            return {}
        data = await db.execute_fn(pages.per_build(pages.home_page))
        return {"kb_page": data, "kb_db": db.name, "kb_site": site_info(datasette)}

    return inner


def _row_vars(datasette, database, table, request):
    async def inner():
        db = await kb_database(datasette, database)
        if db is None:
            return {}
        row_id = tilde_decode(request.url_vars.get("pks", ""))
        hrefs = _hrefs(datasette, db.name)
        if table == "claims":
            data = await db.execute_fn(lambda conn: pages.claim_page(conn, row_id))
            if data is None:
                return {}
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
            data = await db.execute_fn(lambda conn: pages.source_page(conn, row_id))
            if data is None:
                return {}
            template = "kb/source.html"
        return {"kb_template": template, "kb_page": data, "kb_db": db.name, "kb_site": site_info(datasette)}

    return inner


async def _render(datasette, request, template: str, context: dict) -> Response:
    html = await datasette.render_template(template, context, request=request)
    return Response.html(html)


async def metrics_index(request, datasette):
    db = await kb_database(datasette)
    if db is None:
        raise NotFound("No knowledge base database is served")
    rows = await db.execute_fn(pages.per_build(pages.metric_index))
    return await _render(datasette, request, "kb/metrics.html", {"kb_metrics": rows, "kb_db": db.name})


async def metric_view(request, datasette):
    db = await kb_database(datasette)
    if db is None:
        raise NotFound("No knowledge base database is served")
    metric = request.url_vars["metric"]
    subject = (request.args.get("subject") or "").strip()
    entity_id = None
    if subject:
        entity_id = await db.execute_fn(lambda conn: pages.resolve_entity(conn, subject))
        if entity_id is None:
            raise NotFound(f"No entity {subject!r}")
    data = await db.execute_fn(lambda conn: pages.metric_page(conn, metric, entity_id))
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
    db = await kb_database(datasette)
    if db is None:
        raise NotFound("No knowledge base database is served")
    node_id = request.url_vars["id"]

    def build(conn):
        focus = pages.find_node(conn, node_id)
        if focus is None:
            return None
        graph = graphview.read_graph(conn)
        sub, rings = graphview.neighbourhood(graph, focus)
        return focus, sub, rings

    found = await db.execute_fn(build)
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
    db = await kb_database(datasette)
    if db is None:
        raise NotFound("No knowledge base database is served")
    found = await db.execute_fn(lambda conn: pages.find_node(conn, item_id))
    if found is None or found.startswith("entity:"):
        raise NotFound(f"No claim or source {item_id!r}")
    table = "claims" if found.startswith("claim:") else "sources"
    return Response.redirect(datasette.urls.row(db.name, table, item_id))


ID = r"[a-z0-9]+(?:-[a-z0-9]+)*"
ROUTES = [
    (rf"^/c/(?P<id>{ID})$", short_url),
    (r"^/metrics/?$", metrics_index),
    (r"^/metrics/(?P<metric>[a-z0-9_]+)$", metric_view),
    (rf"^/graph/(?P<id>{ID})$", graph_view),
]


@hookimpl(specname="render_cell")
def readable_figure_cell(row, value, column, table, database, datasette):
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


__all__ = ["ROUTES", "kb_database", "kb_template_vars", "readable_figure_cell", "site_info"]
