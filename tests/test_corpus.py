"""The shipped corpus: size, traceability of every figure, and coverage of the seeds.

The seeds live outside the repository (../shared/seeds); the tests that read them are
skipped where they are absent, as on a user's fresh clone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from kb.analyse import analyse

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (ROOT / ".." / "shared" / "seeds").resolve()
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed archive ../shared/seeds is absent")


@pytest.fixture(scope="module")
def corpus():
    return analyse(ROOT)


def test_size_and_no_unacknowledged_problem(corpus):
    assert len(corpus.corpus.claims) >= 350
    assert [f for f in corpus.findings if f.severity in ("error", "warning") and not f.acknowledged] == []


def test_every_seed_is_a_source_with_its_snapshot(corpus):
    snapshots = sorted(r.model.snapshot for r in corpus.corpus.sources.values() if r.model.snapshot)
    assert snapshots == [
        "000_f1292bb583ed9820.txt",
        "001_a3c929409d3f2659.txt",
        "002_28ec2610cf7082fa.txt",
        "003_f1f0e44a5d1f62d6.txt",
        "004_c7c54397cef341a0.txt",
    ]


def test_every_figure_is_quoted_or_derived(corpus):
    """A figure comes from a verbatim quote, or is an editorial derivation from quoted ones."""
    orphans = []
    for record in corpus.corpus.claims.values():
        claim = record.model
        if claim.value is None:
            continue
        quoted = any(item.quote for item in claim.evidence)
        editorial = claim.derived_from is not None and claim.claimant == "kb editors"
        if not (quoted or editorial or claim.derived_from):
            orphans.append(record.id)
    assert orphans == []


def test_relayed_figures_name_their_outlet(corpus):
    """Seed 002 relays The Information: all its evidence is `via` that report."""
    items = [
        item
        for r in corpus.corpus.claims.values()
        for item in r.model.evidence
        if item.source == "netease-2024-07-25-openai-could-lose-5-billion"
    ]
    assert len(items) >= 15
    assert {item.via for item in items} == {"the-information-2024-07-24-why-openai-could-lose-5-billion"}


def _cited_lines(corpus) -> dict[str, set[int]]:
    by_snapshot = {r.id: r.model.snapshot for r in corpus.corpus.sources.values() if r.model.snapshot}
    cited: dict[str, set[int]] = defaultdict(set)
    for record in corpus.corpus.claims.values():
        for item in record.model.evidence:
            if item.source in by_snapshot and item.locator:
                match = re.fullmatch(r"lines? (\d+)(?:-(\d+))?", item.locator)
                assert match, f"{record.path}: locator {item.locator!r} is not `line N`"
                cited[by_snapshot[item.source]].update(range(int(match[1]), int(match[2] or match[1]) + 1))
    return cited


def _ledger_lines() -> dict[str, set[int]]:
    noted: dict[str, set[int]] = defaultdict(set)
    files = {"000": "seeds-000-001", "001": "seeds-000-001", "002": "seed-002", "003": "seed-003", "004": "seed-004"}
    for seed, prefix in files.items():
        for ledger in (ROOT / "docs" / "coverage").glob(f"{prefix}*.md"):
            text = ledger.read_text(encoding="utf-8")
            if prefix == "seeds-000-001":  # one ledger, one section per seed
                parts = re.split(r"^## .*?(\d{3})", text, flags=re.M)
                text = "".join(parts[i + 1] for i in range(1, len(parts) - 1, 2) if parts[i] == seed)
            for match in re.finditer(r"^- lines? (\d+)(?:-(\d+))?", text, flags=re.M):
                noted[seed].update(range(int(match[1]), int(match[2] or match[1]) + 1))
    return noted


@needs_seeds
def test_quotes_are_on_the_lines_their_locators_name(corpus):
    by_snapshot = {r.id: r.model.snapshot for r in corpus.corpus.sources.values() if r.model.snapshot}
    texts = {name: (SEEDS / name).read_text(encoding="utf-8").split("\n") for name in set(by_snapshot.values())}
    squash = lambda s: "".join(s.split())  # noqa: E731
    wrong = []
    for record in corpus.corpus.claims.values():
        for item in record.model.evidence:
            if item.source in by_snapshot and item.quote and item.locator:
                number = int(re.match(r"lines? (\d+)", item.locator)[1])
                lines = texts[by_snapshot[item.source]][number - 1 : number + 1]
                if not any(squash(item.quote) in squash(line) for line in lines):
                    wrong.append((record.id, item.locator))
    assert wrong == []


@needs_seeds
def test_every_seed_line_with_a_figure_was_looked_at(corpus):
    """Every line of a seed that holds a digit is the locator of some evidence item, or is
    listed in docs/coverage/ with the reason it yields no claim."""
    cited, noted = _cited_lines(corpus), _ledger_lines()
    missing = {}
    for path in sorted(SEEDS.glob("00*.txt")):
        lines = path.read_text(encoding="utf-8").split("\n")
        figures = {n for n, line in enumerate(lines, start=1) if re.search(r"\d", line)}
        left = sorted(figures - cited[path.name] - noted[path.name[:3]])
        if left:
            missing[path.name] = left
    assert missing == {}
