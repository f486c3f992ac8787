"""Benchmarks: `make bench`. Timings are printed, never asserted (these machines are noisy).

Measures, for the shipped corpus and for synthetic knowledge bases of 1,000 and 10,000
claims: loading (read, parse, validate), the full analysis (graph and every check), the
SQLite build, and the peak resident memory of the process.

    python benchmarks/bench.py [--sizes 1000,10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kb.analyse import analyse
from kb.database import build_database
from kb.load import load_corpus
from kb.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
SUBJECTS = [f"Company {i}" for i in range(500)]
METRICS = [("net_loss", "USD"), ("revenue", "USD"), ("valuation", "USD"), ("monthly_revenue", "USD/month")]


def synthesize(root: Path, claims: int, seed: int = 7) -> None:
    """A knowledge base of `claims` claims citing claims // 5 sources.

    Like a real corpus: several reports of the same figure for each subject, metric and
    quarter, most agreeing within rounding, some conflicting (8%) or 10× off (2%), and one
    claim in ten declaring a contradiction.
    """
    rng = random.Random(seed)
    (root / "kb.toml").write_text('today = "2026-11-23"\n', encoding="utf-8")
    sources = max(1, claims // 5)
    for i in range(sources):
        folder = root / "sources" / f"pub{i % 50}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"src-{i}.md").write_text(
            f"---\nid: src-{i}\ntitle: Report {i}\ntype: article\npublisher: Publisher {i % 50}\n"
            f"published: 2024-{1 + i % 12:02d}\n---\nA synthetic source.\n",
            encoding="utf-8",
        )
    for i in range(claims):
        subject = SUBJECTS[(i // 40) % len(SUBJECTS)]
        metric, unit = METRICS[(i // 10) % len(METRICS)]
        folder = root / "claims" / subject.lower().replace(" ", "-")
        folder.mkdir(parents=True, exist_ok=True)
        base = (1 + (i // 10) % 9) * 10**9
        draw = rng.random()
        value = round(base * (10 if draw < 0.02 else 1.5 if draw < 0.10 else rng.uniform(0.98, 1.02)))
        contradicts = f"contradicts: [c-{i - 1}]\n" if i and i % 10 == 0 else ""
        (folder / f"c-{i}.md").write_text(
            f"---\nid: c-{i}\nstatement: {subject} figure number {i}.\nkind: fact\nsubject: {subject}\n"
            f"metric: {metric}\nvalue: {value}\nunit: {unit}\nperiod: {2020 + (i // 10) % 5}-Q{1 + (i // 50) % 4}\n"
            f"claimant: Publisher {i % 50}\nstated: 2025-06-01\n{contradicts}"
            f'evidence:\n  - source: src-{i % sources}\n    quote: "figure {i}"\n    locator: p. {i % 30}\n'
            f"---\nNotes on claim {i}: context and caveats, a paragraph of Markdown.\n",
            encoding="utf-8",
        )


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(name: str, root: Path, repeat: int) -> None:
    settings = load_settings(root)
    load_time, corpus = timed(lambda: load_corpus(settings), repeat)
    check_time, analysis = timed(lambda: analyse(root), repeat)
    with tempfile.TemporaryDirectory() as folder:
        build_time, _ = timed(lambda: build_database(analysis, Path(folder) / "bench.db"), repeat)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {name} | {len(corpus.claims):,} | {load_time:.3f} | {check_time:.3f} | {build_time:.3f} | {rss:,.0f} |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| knowledge base | claims | load s | load + check s | SQLite build s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    measure("shipped corpus", ROOT, args.repeat)
    for size in (int(s) for s in args.sizes.split(",") if s):
        with tempfile.TemporaryDirectory() as folder:
            synthesize(Path(folder), size)
            measure(f"synthetic {size:,}", Path(folder), 1 if size >= 10_000 else args.repeat)
    print("\nMedian of the repeats; `load + check` is the whole of `kb check` but start-up (~0.2 s of imports).")


if __name__ == "__main__":
    main()
