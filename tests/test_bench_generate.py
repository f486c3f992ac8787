"""The benchmark's generator (benchmarks/generate.py) writes a valid, realistic, deterministic
knowledge base: what `make bench` measures is what users' knowledge bases look like."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from kb.analyse import analyse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from generate import generate


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    generate(tmp_path / "a", 300, seed=1)
    generate(tmp_path / "b", 300, seed=1)
    generate(tmp_path / "c", 300, seed=2)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


def test_generated_knowledge_base_loads_and_has_the_shapes_checks_depend_on(tmp_path):
    counts = generate(tmp_path, 600, seed=3)
    analysis = analyse(tmp_path)
    assert len(analysis.corpus.claims) == counts["claims"] == 600
    assert len(analysis.corpus.sources) == counts["sources"] == 60
    # every file parses and validates: the only load-stage findings would be KB0xx
    assert [f for f in analysis.findings if f.code < "KB100"] == []
    codes = Counter(f.code for f in analysis.findings)
    for code in ("KB301", "KB401", "KB306"):  # conflicting figures, overdue projections, unknown metrics
        assert codes[code] > 0, code
    claims = [record.model for record in analysis.corpus.claims.values()]
    subjects = Counter(claim.subject for claim in claims)
    top = subjects.most_common(1)[0][1]
    assert top >= 5 * (600 / len(subjects))  # Zipf: the biggest subject is far above the mean
    quotes = [item.quote for claim in claims for item in claim.evidence if item.quote]
    assert any("亏损" in quote or "收入" in quote or "估值" in quote for quote in quotes)
    assert any(item.via for claim in claims for item in claim.evidence)
    assert any(claim.contradicts for claim in claims) and any(claim.derived_from for claim in claims)
    nested = {Path(record.path).parent for record in analysis.corpus.claims.values()}
    assert all(len(Path(folder).parts) == 3 for folder in nested)  # claims/<subject>/<year>
