"""`--require-snapshots`: quotes are verified where the snapshot archive is configured and
present; a configured folder that is absent (a clone without ../shared) passes, saying so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (ROOT / ".." / "shared" / "seeds").resolve()
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed archive ../shared/seeds is absent")


def check(root: Path, *args: str):
    return CliRunner().invoke(main, ["check", "--root", str(root), "--strict", "--require-snapshots", *args])


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The shipped knowledge base as a fresh clone has it: no ../shared next to it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("claims", "sources"):
        shutil.copytree(ROOT / name, repo / name)
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    return repo


def test_clone_without_the_archive_passes_saying_so(clone):
    result = check(clone)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "KB203" in line]
    assert len(notes) == 1
    assert notes[0].startswith("pyproject.toml:")
    assert "KB203 [info] snapshot folder ../shared/seeds not found: " in notes[0]
    assert notes[0].endswith(" quotes not verified")
    count = int(notes[0].split("not found: ")[1].split()[0])
    assert count > 100


@needs_seeds
def test_with_the_archive_every_quote_is_verified_and_a_wrong_one_fails(clone):
    shutil.copytree(SEEDS, clone.parent / "shared" / "seeds")
    result = check(clone)
    assert result.exit_code == 0, result.output
    assert "KB203" not in result.output
    claim = next(p for p in sorted((clone / "claims").rglob("*.md")) if "quote: " in p.read_text(encoding="utf-8"))
    text = claim.read_text(encoding="utf-8")
    start = text.index("quote: ") + len("quote: ")
    claim.write_text(text[:start] + '"words no seed contains" #' + text[start:], encoding="utf-8")
    result = check(clone)
    assert result.exit_code == 1
    assert "KB203 [error] quote not found in the snapshot" in result.output


def test_present_folder_missing_file_is_an_error(kb):
    (kb.root / "seeds").mkdir()
    kb.settings('snapshots = ["seeds"]\n')
    kb.source(extra="snapshot: gone.txt\n")
    kb.claim()
    result = check(kb.root, "--exit-zero")
    assert "KB203 [error] snapshot `gone.txt` not found in the snapshot folders (seeds)" in result.output
    assert check(kb.root).exit_code == 1


def test_without_require_a_missing_folder_is_the_same_one_line(kb):
    kb.settings('snapshots = ["nowhere"]\n')
    kb.source(extra="snapshot: a.txt\n")
    kb.claim()
    result = CliRunner().invoke(main, ["check", "--root", str(kb.root)])
    [line] = [line for line in result.output.splitlines() if "KB203" in line]
    assert line == "kb.toml:2:1: KB203 [info] snapshot folder nowhere not found: 1 quote not verified"
