"""A build with unacknowledged errors publishes nothing, unless --allow-errors (SPEC: kb build)."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.database import UnpublishedErrors, build_database, left_out

BROKEN = "---\nid: broken\nstatement: s\nkind: factt\n---\n"


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def in_root(minimal, monkeypatch):
    monkeypatch.chdir(minimal.root)


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_library_refuses_to_publish_errors(minimal):
    minimal.claim("broken", folder="x", text=BROKEN)
    analysis = minimal.analyse()
    with pytest.raises(UnpublishedErrors) as caught:
        build_database(analysis)
    assert caught.value.files == ["claims/x/broken.md"]
    assert [f.code for f in caught.value.errors] == ["KB004"]
    assert not (minimal.root / "kb.db").exists()
    assert left_out(analysis) == ["claims/x/broken.md"]
    # allowed: published, without the file that did not load
    path = build_database(analysis, allow_errors=True)
    assert path.is_file()


def test_build_with_errors_exits_1_and_writes_no_database(minimal):
    minimal.claim("broken", folder="x", text=BROKEN)
    result = run("build", "--root", str(minimal.root))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("claims/x/broken.md:4:7: KB004 [error] ")
    assert lines[1:] == ["kb: not built: 1 error in 1 file; no database was written (fix it, or pass --allow-errors)"]
    assert sorted(p.name for p in minimal.root.iterdir() if p.name != ".kb-cache") == ["claims", "kb.toml", "sources"]


def test_build_with_errors_leaves_the_old_database_byte_for_byte(minimal):
    assert run("build", "--root", str(minimal.root)).exit_code == 0
    database = minimal.root / "kb.db"
    before, stat = digest(database), database.stat()
    minimal.claim(
        text=(minimal.root / "claims/openai/openai-2024-net-loss.md").read_text().replace("projection", "projectoin")
    )
    result = run("build", "--root", str(minimal.root))
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "kb: not built: 1 error in 1 file; kb.db is unchanged (fix it, or pass --allow-errors)"
    )
    assert digest(database) == before and database.stat().st_mtime_ns == stat.st_mtime_ns


def test_allow_errors_publishes_and_names_every_file_left_out(minimal):
    minimal.claim("broken", folder="x", text=BROKEN)
    minimal.claim("broken-too", folder="x", text=BROKEN.replace("id: broken", "id: broken-too"))
    result = run("build", "--root", str(minimal.root), "--allow-errors")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "Built kb.db: 1 claims, 1 sources, 3 findings (2 errors).",
        "kb: left out claims/x/broken-too.md (KB004 schema-violation)",
        "kb: left out claims/x/broken.md (KB004 schema-violation)",
        "kb: published with errors: run `kb check` to see them",
    ]
    assert (minimal.root / "kb.db").is_file()


def test_acknowledged_and_warning_findings_do_not_stop_a_build(minimal):
    result = run("build", "--root", str(minimal.root))  # KB401 (a warning) only
    assert result.exit_code == 0 and result.output.startswith("Built kb.db: 1 claims")
