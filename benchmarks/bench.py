"""`make bench`: kb against the floor and against markdown-to-sqlite, in the same run.

    python benchmarks/bench.py [--sizes 10000,20000] [--repeat 3] [--no-peer] [--no-datasette]
                               [--out benchmarks/RESULTS.md] [--keep DIR]

For each size, a synthetic knowledge base is generated (benchmarks/generate.py: Zipf
subjects and metrics, Chinese quotes, via chains, contradictions, derivations, Markdown
bodies) and every command runs in a fresh process, as a user runs it, timed by wall clock
with its peak RSS (``wait4``: the largest process of the run):

* **floor** (benchmarks/floor.py): walk + read + PyYAML CSafeLoader + one raw executemany,
  one process, no validation;
* **markdown-to-sqlite** 1.0, the loader a user would otherwise reach for, on the same
  files (claims and sources tables; no validation, graph or search);
* ``kb build`` from clean (no database, no cache), then with nothing changed (no-op), then
  after one claim's note is edited, then after one claim's figure is edited; ``kb check``
  from clean, unchanged, after a note edit and after a figure edit;
  with the stage timings kb records (``KB_TIMINGS``), medians over ``--repeat`` runs;
* ``kb check`` on the shipped corpus, wall time including interpreter start;
* Datasette over the largest database: a claim page, the claims table filtered by metric,
  and the ranked ``search_claims`` query (a common word and a Chinese one), sequential
  requests on loopback, p50 and p90.

Results are printed and written to ``--out`` (benchmarks/RESULTS.md) with the machine and
the versions. Nothing is asserted: these machines are noisy (±20%), so timings are
measured here, not gated in tests. Temporary folders are removed unless ``--keep``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

BIN = Path(sys.executable).parent
KB = [str(BIN / "kb")]


def run(command: list[str], cwd: Path, env: dict | None = None) -> str:
    """The stdout of a fresh process (exit 0 or 1: kb exits 1 on findings)."""
    environment = {**os.environ, "KB_PROGRESS": "0", **(env or {})}
    done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def measured(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MiB, stdout) of ``command`` in a fresh process, run under a
    small wrapper whose RUSAGE_CHILDREN is this command's alone (ru_maxrss: the largest
    process of the run, parse workers included)."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)\n"
        "w = time.perf_counter() - t\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "print(json.dumps([w, r, p.returncode, p.stdout[-2000:], p.stderr[-3000:]]))\n"
    )
    out = run([sys.executable, "-c", wrapper, *command], cwd, env)
    wall, rss, code, stdout, stderr = json.loads(out.strip().splitlines()[-1])
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({code}):\n{stderr}")
    return wall, rss, stdout


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def drop(root: Path) -> None:
    shutil.rmtree(root / ".kb-cache", ignore_errors=True)
    for name in ("kb.db", "floor.db", "peer.db"):
        with contextlib.suppress(FileNotFoundError):
            (root / name).unlink()


def edit_one(root: Path, run_number: int) -> Path:
    """Edit one claim file (its notes: a different line each run), as a user saving a file."""
    path = min((root / "claims").rglob("*-0001000.md"))
    text = path.read_text(encoding="utf-8")
    kept = [line for line in text.split("\n") if not line.startswith("Edited in run ")]
    path.write_text("\n".join(kept).rstrip("\n") + f"\nEdited in run {run_number}.\n", encoding="utf-8")
    return path


def edit_figure(root: Path, run_number: int) -> Path:
    """Edit one claim's figure (its frontmatter: a full analysis, or a re-check of what the
    edit reaches), a different figure each run."""
    for path in sorted((root / "claims").rglob("*-00020[0-9][0-9].md")):
        lines = path.read_text(encoding="utf-8").split("\n")
        for index, line in enumerate(lines):
            if line.startswith('value: "') and line.endswith(' billion"'):
                lines[index] = f'value: "{1 + run_number}.{run_number + 7} billion"'
                path.write_text("\n".join(lines), encoding="utf-8")
                return path
    raise SystemExit(f"no claim with a figure in billions to edit under {root}")


def timings(root: Path, command: list[str], env: dict | None = None) -> tuple[float, int, dict]:
    out = root / ".bench-timings.json"
    wall, rss, _ = measured(command, root, {**(env or {}), "KB_TIMINGS": str(out)})
    stages = json.loads(out.read_text())["timings"] if out.exists() else {}
    out.unlink(missing_ok=True)
    return wall, rss, stages


def bench_size(size: int, repeat: int, peer: bool, keep: Path | None, checks: bool = True) -> dict:
    base = keep or Path(tempfile.mkdtemp(prefix="kb-bench-"))
    root = base / f"kb-{size}"
    print(f"\n== {size:,} claims: generating in {root}", flush=True)
    counts = generate(root, size)
    files = counts["claims"] + counts["sources"]
    result: dict = {"size": size, "files": files, "counts": counts, "runs": {}}
    runs = result["runs"]

    def record(name: str, wall: float, rss: int, stages: dict | None = None) -> None:
        entry = runs.setdefault(name, {"wall": [], "rss": [], "stages": []})
        entry["wall"].append(wall)
        entry["rss"].append(rss)
        if stages:
            entry["stages"].append(stages)
        print(f"  {name:<22} {wall:8.2f} s {rss:6d} MiB", flush=True)

    # warm the page cache once (every measured command then reads warm files, as on a laptop)
    run([sys.executable, str(HERE / "floor.py"), str(root), str(root / "floor.db")], root)
    for _ in range(repeat):
        wall, rss, _ = measured([sys.executable, str(HERE / "floor.py"), str(root), str(root / "floor.db")], root)
        record("floor", wall, rss)
    if peer:
        peer_script = (
            "import sys, glob\n"
            "from markdown_to_sqlite.cli import cli\n"
            "for table in ('claims', 'sources'):\n"
            "    paths = sorted(glob.glob(f'{table}/**/*.md', recursive=True))\n"
            "    try:\n"
            "        cli.main(['peer.db', table, *paths], standalone_mode=False)\n"
            "    except SystemExit:\n"
            "        pass\n"
        )
        for _ in range(1 if size >= 50_000 else repeat):
            with contextlib.suppress(FileNotFoundError):
                (root / "peer.db").unlink()
            wall, rss, _ = measured([sys.executable, "-c", peer_script], root)
            record("markdown-to-sqlite", wall, rss)
    build = [*KB, "build", "--allow-errors"]
    check = [*KB, "check", "--exit-zero", "--format", "json", "-o", str(root / ".bench-findings.json")]
    for number in range(1 if size >= 50_000 else repeat):  # a 100k run takes minutes: once
        drop(root)
        record("build (clean)", *timings(root, build))
        record("build (no-op)", *timings(root, build))
        edit_one(root, number)
        record("build (one edit)", *timings(root, build))
        edit_figure(root, number)
        record("build (one figure edit)", *timings(root, build))
        if not checks:
            continue
        drop(root)
        record("check (clean)", *timings(root, check))
        record("check (unchanged)", *timings(root, check))
        edit_one(root, number + 100)
        record("check (one edit)", *timings(root, check))
        edit_figure(root, number + 100)
        record("check (one figure edit)", *timings(root, check))
    run(build, root)  # the database the Datasette step serves
    with sqlite3.connect(root / "kb.db") as conn:
        result["database_mib"] = (root / "kb.db").stat().st_size / 2**20
        result["db_claims"] = conn.execute("select count(*) from claims").fetchone()[0]
    result["root"] = root
    result["base"] = base
    return result


def bench_corpus(repeat: int) -> dict:
    """`kb check` on the shipped corpus: wall time including interpreter start."""
    runs: dict = {}
    command = [*KB, "check", "--exit-zero", "--format", "json", "-o", os.devnull]
    run(command, ROOT)  # the cache is filled
    for name, extra in (("check (cached)", []), ("check (--no-cache)", ["--no-cache"])):
        walls = [measured([*command, *extra], ROOT)[0] for _ in range(max(5, repeat))]
        runs[name] = walls
        print(f"  shipped corpus {name:<20} median {median(walls):.3f} s (min {min(walls):.3f})", flush=True)
    return runs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_datasette(root: Path, requests: int = 200) -> dict:
    """p50/p90 of sequential requests to a Datasette serving the database as `kb serve` does."""
    sys.path.insert(0, str(ROOT))
    from kb.serve import datasette_arguments, metadata
    from kb.settings import load_settings

    settings = load_settings(root)
    port = _free_port()
    meta = root / ".bench-metadata.json"
    meta.write_text(json.dumps(metadata(settings)), encoding="utf-8")
    command = [str(BIN / "datasette"), *datasette_arguments(settings, meta, "127.0.0.1", port, public=False)]
    server = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = settings.database_path.stem
    with sqlite3.connect(root / "kb.db") as conn:
        claim = conn.execute("select id from claims order by rowid limit 1 offset 5000").fetchone()[0]
        metric = conn.execute("select metric from claims group by metric order by count(*) desc").fetchone()[0]
    pages = {
        "claim page": f"/{db}/claims/{claim}",
        "claims?metric= (filtered)": f"/{db}/claims?metric={metric}",
        "claims?metric= .json": f"/{db}/claims.json?metric={metric}",
        "search_claims common word": f"/{db}/search_claims?q=revenue",
        "search_claims 亏损": f"/{db}/search_claims?q={urllib.parse.quote('亏损')}",
        "search_quotes 亏损": f"/{db}/search_quotes?q={urllib.parse.quote('亏损')}",
        "claims?_search= common word": f"/{db}/claims?_search=revenue",
    }
    results = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"datasette did not start: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.2)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for name, path in pages.items():
            latencies = []
            for number in range(requests + 10):
                start = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise SystemExit(f"{path}: HTTP {response.status}")
                if number >= 10:  # 10 warm-up requests
                    latencies.append(time.perf_counter() - start)
            cuts = statistics.quantiles(latencies, n=10)
            results[name] = (statistics.median(latencies) * 1000, cuts[8] * 1000)
            print(f"  datasette {name:<28} p50 {results[name][0]:7.1f} ms  p90 {results[name][1]:7.1f} ms", flush=True)
        connection.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        meta.unlink(missing_ok=True)
    return results


def versions() -> dict:
    import yaml

    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in ("kb", "PyYAML", "pydantic", "networkx", "sqlite-utils", "datasette", "markdown-to-sqlite"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    out["libyaml"] = "yes" if yaml.__with_libyaml__ else "no"
    return out


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.0f} GiB"
    return f"{model}, {os.cpu_count()} cores, {memory}, {platform.system()} {platform.release()}"


def report(sizes: list[dict], corpus: dict, datasette: dict | None, repeat: int, requests: int) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (benchmarks/bench.py) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Machine: {machine()}. Load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + ".",
        "",
        f"Wall seconds, medians of {repeat} fresh processes (one run of everything at 50k claims and over);",
        "peak RSS of the largest process. The page cache is warm (the floor reads every file first).",
        "",
    ]
    header = "| | " + " | ".join(f"{r['size']:,} claims" for r in sizes) + " |"
    lines += [header, "|---|" + "---:|" * len(sizes)]
    names = [
        "floor",
        "markdown-to-sqlite",
        "build (clean)",
        "build (no-op)",
        "build (one edit)",
        "build (one figure edit)",
        "check (clean)",
        "check (unchanged)",
        "check (one edit)",
        "check (one figure edit)",
    ]
    for name in names:
        cells = []
        for r in sizes:
            entry = r["runs"].get(name)
            cells.append(f"{median(entry['wall']):.2f} s, {max(entry['rss'])} MiB" if entry else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Ratios (the issue's targets in brackets):", ""]
    for r in sizes:
        runs = r["runs"]
        floor = median(runs["floor"]["wall"])
        clean = median(runs["build (clean)"]["wall"])
        parts = [f"clean build / floor = **{clean / floor:.2f}×** [≤ 0.7]"]
        if "markdown-to-sqlite" in runs:
            parts.append(
                f"markdown-to-sqlite / clean build = **{median(runs['markdown-to-sqlite']['wall']) / clean:.1f}×** [≥ 12]"
            )
        parts.append(f"one edit / clean build = **{median(runs['build (one edit)']['wall']) / clean:.0%}** [≤ 10%]")
        if "build (one figure edit)" in runs:
            figure = median(runs["build (one figure edit)"]["wall"]) / clean
            parts.append(f"one figure edit / clean build = **{figure:.0%}** [≤ 10%]")
        parts.append(f"no-op build **{median(runs['build (no-op)']['wall']):.2f} s** [≤ 0.5 s at 20k, ≤ 1 s at 100k]")
        if "check (one edit)" in runs:
            parts.append(f"check after one edit **{median(runs['check (one edit)']['wall']):.2f} s** [≤ 2 s at 100k]")
        if "check (one figure edit)" in runs:
            figure = median(runs["check (one figure edit)"]["wall"])
            parts.append(f"check after one figure edit **{figure:.2f} s** [≤ 2 s at 100k]")
        parts.append(f"peak RSS of a clean build **{max(runs['build (clean)']['rss'])} MiB** [≤ 1024 at 100k]")
        lines.append(
            f"- {r['size']:,} claims ({r['files']:,} files, database {r['database_mib']:.0f} MiB): " + "; ".join(parts)
        )
    lines += [
        "",
        "Stages of each run (median seconds; kb's own timers, KB_TIMINGS; stages nest: `load` holds walk,",
        "read, parse, render and cache; `indexes and search` holds the index and FTS steps):",
        "",
    ]
    for r in sizes:
        lines += [f"### {r['size']:,} claims", ""]
        staged = [n for n in names if r["runs"].get(n, {}).get("stages")]
        keys: list[str] = []
        for n in staged:
            for stages in r["runs"][n]["stages"]:
                keys += [k for k in stages if k not in keys]
        lines += ["| stage | " + " | ".join(staged) + " |", "|---|" + "---:|" * len(staged)]
        for key in keys:
            cells = []
            for n in staged:
                values = [s[key] for s in r["runs"][n]["stages"] if key in s]
                cells.append(f"{median(values):.3f}" if values else "")
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## `kb check` on the shipped corpus (wall, interpreter start included)", ""]
    for name, walls in corpus.items():
        lines.append(f"- {name}: median {median(walls):.3f} s, min {min(walls):.3f} s [target ≤ 0.4 s]")
    if datasette:
        lines += [
            "",
            f"## Datasette over {sizes[-1]['size']:,} claims (sequential, loopback, {requests} requests each)",
            "",
        ]
        lines += ["| request | p50 ms | p90 ms |", "|---|---:|---:|"]
        for name, (p50, p90) in datasette.items():
            lines.append(f"| {name} | {p50:.1f} | {p90:.1f} |")
        lines += ["", "Targets: claim page p50 ≤ 15 ms, filtered by metric ≤ 100 ms, ranked search ≤ 50 ms."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="kb against the floor and markdown-to-sqlite")
    parser.add_argument("--sizes", default=os.environ.get("SIZES", "10000,20000"))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("REPEAT", "3")))
    parser.add_argument("--no-peer", dest="peer", action="store_false")
    parser.add_argument("--no-datasette", dest="datasette", action="store_false")
    parser.add_argument("--requests", type=int, default=200, help="requests per Datasette page")
    parser.add_argument("--no-checks", dest="checks", action="store_false", help="only the builds (a quicker 100k run)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    if args.peer:
        try:
            metadata.version("markdown-to-sqlite")
        except metadata.PackageNotFoundError:
            sys.exit("markdown-to-sqlite is not installed: pip install -c constraints.txt -e '.[bench]' (or --no-peer)")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = []
    try:
        for size in sizes:
            results.append(bench_size(size, args.repeat, args.peer, args.keep, args.checks))
        print("\n== the shipped corpus", flush=True)
        corpus = bench_corpus(args.repeat)
        datasette = None
        if args.datasette:
            print(f"\n== Datasette over {sizes[-1]:,} claims", flush=True)
            datasette = bench_datasette(results[-1]["root"], args.requests)
        text = report(results, corpus, datasette, args.repeat, args.requests)
        args.out.write_text(text, encoding="utf-8")
        print("\n" + text)
    finally:
        if args.keep is None:
            for r in results:
                shutil.rmtree(r["base"], ignore_errors=True)


if __name__ == "__main__":
    main()
