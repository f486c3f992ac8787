"""A public instance (`kb serve --public`, a real process) refuses the probes of
notes/reliability.md §3 item 11 with a 4xx, and its memory stays flat; a bounded loopback load
test answers every request. ``KB_LOAD_REQUESTS`` sets the load test's size (``make bench``: 2000).
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from urllib.parse import quote

import pytest
from live import kb_serve

PROBES = {
    # arbitrary SQL: writes, PRAGMA, extensions, memory, CPU
    "insert": "/kb.json?sql=" + quote("insert into claims (id) values ('x')"),
    "drop": "/kb.json?sql=" + quote("drop table claims"),
    "attach": "/kb.json?sql=" + quote("attach database '/tmp/x.db' as x"),
    "pragma": "/kb.json?sql=" + quote("pragma writable_schema = on"),
    "load_extension": "/kb.json?sql=" + quote("select load_extension('/tmp/x.so')"),
    "zeroblob": "/kb.json?sql=" + quote("select length(hex(zeroblob(200000000)))"),
    "randomblob": "/kb.json?sql=" + quote("select length(randomblob(400000000))"),
    "printf": "/kb.json?sql=" + quote("select length(printf('%.*c', 500000000, 'x'))"),
    "recursive_cte": "/kb.json?sql="
    + quote("with recursive r(i) as (select 1 union all select i + 1 from r) select count(*) from r"),
    # table options that are SQL or unbounded
    "_where": "/kb/claims.json?_where=" + quote("1=1) or (select length(randomblob(400000000))"),
    "_facet": "/kb/claims.json?_facet=path",
    "_facet_array": "/kb/claims.json?_facet_array=tags",
    "_size": "/kb/claims.json?_size=100000",
    "_stream": "/kb/claims.csv?_stream=on&_size=max",
    "_trace": "/kb/claims?_trace=1",
    "download": "/kb.db",
    # open redirects
    "backslash": "/%5Cexample.com/",
    "raw_backslash": "/\\example.com/",
    "double_slash": "//example.com/",
    "double_slash_encoded": "/%2F%2Fexample.com/",
}


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    root = tmp_path_factory.mktemp("public")
    (root / "kb.toml").write_text('today = "2026-11-23"\n', encoding="utf-8")
    for i in range(200):
        folder = root / "claims" / "c"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"c{i}.md").write_text(
            f"---\nid: c{i}\nstatement: OpenAI figure {i}, 亏损 {i} 亿美元.\nkind: opinion\ntags: [t{i % 7}]\n---\n",
            encoding="utf-8",
        )
    with kb_serve(root, public=True) as server:
        yield server


def test_probes_are_refused_and_memory_stays_flat(public):
    for _ in range(3):  # warm up: connections, caches
        public.get("/kb/claims.json")
    before = public.rss_mib()
    answers = {}
    for name, path in PROBES.items():
        status, headers, _ = public.get(path)
        answers[name] = status
        assert "location" not in {key.lower() for key in headers}, name
    after = public.rss_mib()
    assert {name: status for name, status in answers.items() if not 400 <= status < 500} == {}
    assert after - before < 50, f"RSS grew from {before:.0f} to {after:.0f} MiB"
    # still serving, and what the public may do works
    assert public.get("/kb/search_quotes.json?q=%E8%99%A7%E6%90%8D&_shape=array")[0] == 200
    assert public.get("/kb/claims.json?_size=max")[0] == 200  # bounded by max_returned_rows
    assert public.get("/kb/claims.csv")[0] == 200
    assert public.get("/robots.txt")[0] == 200
    # ?sql= on a canned query is ignored: the canned SQL runs
    body = json.loads(public.get("/kb/search_claims.json?q=OpenAI&_shape=array&sql=" + quote("select 1 as x"))[2])
    assert body and "x" not in body[0] and "snippet" in body[0]


def test_settings_are_the_public_ones(public):
    from kb.serve import PUBLIC_SETTINGS

    settings = json.loads(public.get("/-/settings.json")[2])
    for key, value in PUBLIC_SETTINGS.items():
        assert settings[key] == value, key


PATHS = [
    "/",
    "/kb/claims",
    "/kb/claims.json?_shape=array",
    "/kb/claims/c7",
    "/kb/search_claims?q=OpenAI",
    "/kb/search_quotes.json?q=%E4%BA%8F%E6%8D%9F",
    "/kb/claims.json?_search=OpenAI",
]


def load(server, requests: int, concurrency: int, max_seconds: float) -> tuple[list[float], list[str]]:
    """``requests`` GETs over ``PATHS`` from ``concurrency`` threads, stopped at ``max_seconds``."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.monotonic() + max_seconds

    def worker():
        while time.monotonic() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            path = PATHS[index % len(PATHS)]
            start = time.perf_counter()
            try:
                status, _, _ = server.get(path, timeout=10)
            except OSError as exc:
                status = repr(exc)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors.append(f"{path}: {status}")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def test_bounded_load(public):
    requests = int(os.environ.get("KB_LOAD_REQUESTS", "300"))
    latencies, errors = load(public, requests=requests, concurrency=8, max_seconds=120)
    assert not errors, errors[:10]
    assert len(latencies) == requests, f"only {len(latencies)} of {requests} within the time bound"
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"\nload: {requests} requests, concurrency 8: p50 {cuts[49] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
