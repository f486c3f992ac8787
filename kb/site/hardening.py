"""Hardening of the served site, a Datasette plugin of its own (entry point ``kb_hardening``).

- Every response: ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy``; every HTML
  response: a Content-Security-Policy with no inline script and no remote origin
  (:data:`CSP`) and ``X-Frame-Options: DENY``. Datasette 0.65's own pages carry a few fixed
  inline scripts (closing menus, the facet flag of table pages, the SQL editor); their
  SHA-256 hashes are allowed, computed from Datasette's installed templates, so they still
  run and nothing else inline does. Styles may be inline (Datasette's pages and the chart
  library write some): CSS cannot run script, and with ``img-src``/``font-src``/``connect-src``
  limited to this origin it cannot send anything anywhere either.
- Paths with a backslash, or starting with ``//``, are refused (400): Datasette 0.65.5
  still answers ``/\\example.com/`` with ``Location: /\\example.com``, which browsers follow
  off-site.
- Public instances (arbitrary SQL off): ``?_trace=`` is refused; SQLite's heap is capped.
- Every connection: SQLite limits (a value at most 1 MB, SQL text at most 100 KB, no
  ATTACH), so a query cannot build a huge string or blob (the time limit does not cap
  memory); and the search functions ``kb_match`` / ``kb_snippet`` (:mod:`kb.database.search`).
- Table cells (:func:`trusted_cell`): ``body_html`` (sanitised by nh3 at build time) is shown
  as HTML only in the claims and sources tables of the knowledge base, never for a column of
  that name coming from a query or another table; a ``snippet`` column of a query is shown
  with ``<mark>`` and nothing else (nh3 removes any other markup). The kb plugin's one
  ``render_cell`` hook calls it (:func:`kb.site.views.render_cell`): Datasette calls every
  implementation for every cell, and a second one cost 5–10 ms of a table page of 50 claims.
- ``/robots.txt``: from ``[tool.kb.site] robots``: ``allow`` (default: pages may be indexed,
  but not query strings, JSON or ``/-/`` pages, which are crawler traps) or ``disallow``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from functools import cache
from importlib import resources
from urllib.parse import parse_qsl

import nh3
from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from kb.database.search import register_functions

__all__ = ["CSP", "MAX_SQL_BYTES", "MAX_VALUE_BYTES", "PUBLIC_HEAP_BYTES", "TRUSTED_HTML_TABLES", "robots_txt"]

MAX_VALUE_BYTES = 1_000_000
MAX_SQL_BYTES = 100_000
PUBLIC_HEAP_BYTES = 256 * 1024 * 1024
TRUSTED_HTML_TABLES = frozenset({"claims", "sources"})
_TRUSTED_TEMPLATES = ("_close_open_menus.html", "_codemirror_foot.html")
_TRUSTED_SNIPPETS = ("DATASETTE_ALLOW_FACET = true;", "DATASETTE_ALLOW_FACET = false;")


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


@cache
def inline_script_hashes() -> tuple[str, ...]:
    """CSP hashes of the inline scripts of Datasette's own templates (fixed text, no variables)."""
    scripts = list(_TRUSTED_SNIPPETS)
    templates = resources.files("datasette").joinpath("templates")
    for name in _TRUSTED_TEMPLATES:
        text = templates.joinpath(name).read_text(encoding="utf-8")
        scripts += re.findall(r"<script>(.*?)</script>", text, flags=re.DOTALL)
    return tuple(sorted({_sha256(script) for script in scripts}))


@cache
def csp() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(inline_script_hashes()),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


CSP = csp()
_EVERY_RESPONSE = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # as Datasette sends on its own pages,
]
_HTML_RESPONSE = [(b"content-security-policy", CSP.encode("ascii")), (b"x-frame-options", b"DENY")]


def _public(datasette) -> bool:
    return not datasette.setting("default_allow_sql")


def refused(path: str, raw_path: bytes, query: bytes, public: bool) -> str | None:
    """Why a request is refused, or None.

    >>> refused("/\\\\example.com/", b"", b"", False)
    'backslash in the path'
    >>> refused("//example.com/", b"//example.com/", b"", False)
    'path starts with //'
    >>> refused("/kb/claims", b"/kb/claims", b"_trace=1", True) is not None
    True
    >>> refused("/kb/claims", b"/kb/claims", b"_trace=1", False) is None
    True
    """
    raw = raw_path.lower()
    if "\\" in path or b"\\" in raw or b"%5c" in raw:
        return "backslash in the path"
    if path.startswith("//") or raw.startswith(b"//") or raw.startswith(b"/%2f"):
        return "path starts with //"
    if public and any(key == "_trace" for key, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)):
        return "_trace is off on a public instance"
    return None


async def _refuse(send, reason: str) -> None:
    body = f"400 Bad Request: {reason}\n".encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers + _EVERY_RESPONSE})
    await send({"type": "http.response.body", "body": body})


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def hardened(scope, receive, send):
            if scope.get("type") != "http":
                return await app(scope, receive, send)
            reason = refused(
                scope.get("path", ""), scope.get("raw_path") or b"", scope.get("query_string", b""), _public(datasette)
            )
            if reason:
                return await _refuse(send, reason)

            async def send_with_headers(message):
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers") or [])
                    present = {name.lower() for name, _ in headers}
                    html = any(
                        name.lower() == b"content-type" and value.lower().startswith(b"text/html")
                        for name, value in headers
                    )
                    for name, value in _EVERY_RESPONSE + (_HTML_RESPONSE if html else []):
                        if name not in present:
                            headers.append((name, value))
                    message = {**message, "headers": headers}
                await send(message)

            return await app(scope, receive, send_with_headers)

        return hardened

    return wrap


@hookimpl
def prepare_connection(conn, database, datasette):
    # The SQL time limit does not cap memory: refuse huge strings and blobs outright.
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    if _public(datasette):
        # Process-wide: every SQLite allocation of the server together stays under it.
        conn.execute(f"pragma hard_heap_limit = {PUBLIC_HEAP_BYTES}")
    register_functions(conn)


# Text with no tag but <mark> and </mark> and no & but an entity: what kb.search.snippet writes.
_ESCAPED_WITH_MARKS = re.compile(r"(?:[^<>&]|&(?:amp|lt|gt|quot|#x27|#39|#\d{1,7}|#x[0-9a-fA-F]{1,6});|</?mark>)*")


def trusted_cell(value, column, table, database):
    """The cell as HTML when kb vouches for it (see the module's docstring), else None."""
    if not isinstance(value, str):
        return None
    if column == "body_html" and table in TRUSTED_HTML_TABLES and database not in ("_internal", "_memory"):
        # rendered and sanitised by nh3 at build time (kb.render)
        return Markup(value)
    if column == "snippet" and table is None:
        # kb_snippet() escapes the text and adds <mark>; a query could return anything under
        # this name, so keep <mark> and nothing else. What kb_snippet writes (no markup but
        # <mark>, no & but an entity) is shown as it is: nh3 took 3 ms of a search page.
        if _ESCAPED_WITH_MARKS.fullmatch(value):
            return Markup(value)
        return Markup(nh3.clean(value, tags={"mark"}, attributes={}))
    return None


def robots_txt(setting: str) -> str:
    """The robots.txt for ``[tool.kb.site] robots`` (RFC 9309 wildcards)."""
    if setting == "disallow":
        return "User-agent: *\nDisallow: /\n"
    return "User-agent: *\nAllow: /\nDisallow: /-/\nDisallow: /*?\nDisallow: /*.json\nDisallow: /*.csv\n"


def _robots(datasette):
    config = datasette.plugin_config("kb") or {}
    return Response.text(robots_txt(config.get("robots", "allow")), headers={"cache-control": "max-age=3600"})


@hookimpl
def register_routes():
    return [(r"^/robots\.txt$", _robots)]
