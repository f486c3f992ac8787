"""`kb check`, `kb rule` and `kb show` import only what they use: no database, no web stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlite_utils", "datasette", "markdown_it", "kb.database", "kb.render", "kb.cite", "kb.exports")

SCRIPT = """
import json, sys
from kb.cli import main
try:
    main(sys.argv[1:], prog_name="kb")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["check"], ["rule", "KB301"], ["show", "openai-2024-net-loss"]])
def test_read_only_commands_import_no_database_or_web_stack(minimal, args):
    if args[0] in ("check", "show"):
        args = [*args, "--root", str(minimal.root)]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=120, check=False
    )
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert "kb.cli" in modules and "kb.rules" in modules
    assert [name for name in HEAVY if name in modules] == []


def _modules(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=120, check=False
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_a_build_with_nothing_to_do_reads_the_settings_without_pydantic(minimal):
    """A no-op `kb build` compares fingerprints with the stdlib reading of the settings: no
    pydantic, no PyYAML, no networkx; a build that has work to do reads them in full."""
    root = str(minimal.root)
    first = _modules("build", "--allow-errors", "--root", root)
    assert "pydantic" in first and "kb.settings" in first  # the first build: everything
    again = _modules("build", "--allow-errors", "--root", root)
    # kb.database is its lazy package (kb.database.state reads the kb_build row with sqlite3)
    heavy = [name for name in ("pydantic", "yaml", "networkx", "kb.settings", *HEAVY) if name != "kb.database"]
    assert [name for name in heavy if name in again] == []
    assert "kb.database.state" in again


def test_the_quick_settings_name_the_inputs_the_full_ones_do(kb, monkeypatch):
    """kb.settings_file reads the paths and the date as kb.settings does, or gives up."""
    from datetime import date

    from kb.cli import _same_inputs
    from kb.settings import load_settings
    from kb.settings_file import quick_settings

    cases = {
        "": True,
        'claims = "notes"\nsources = "refs"\ndatabase = "out/x.db"\nsnapshots = ["a", "b"]\n': True,
        'today = "2030-01-02"\n': True,
        "today = 2030-01-02\n": True,
        'today = "2030-01-02T00:00:00"\n': False,  # pydantic's to say
        "claims = 3\n": False,
        'snapshots = "a"\n': False,
    }
    for toml, quick_reads_it in cases.items():
        (kb.root / "kb.toml").write_text(toml, encoding="utf-8")
        quick = quick_settings(kb.root)
        assert (quick is not None) == quick_reads_it, toml
        if quick is not None:
            assert _same_inputs(quick, load_settings(kb.root)), toml
    monkeypatch.setenv("KB_SNAPSHOTS", "x:y")
    (kb.root / "kb.toml").write_text('snapshots = ["a"]\ntoday = 2030-01-02\n', encoding="utf-8")
    quick = quick_settings(kb.root)
    assert quick.snapshots == ["x", "y"] and quick.today == date(2030, 1, 2)
    assert _same_inputs(quick, load_settings(kb.root))


def test_a_check_with_nothing_changed_imports_no_checks(minimal):
    """The stored report answers: no networkx, no models, no YAML reader, no re-check."""
    args = ["check", "--root", str(minimal.root)]
    assert "networkx" in _modules(*args)  # the first check: everything
    second = _modules(*args)
    assert [name for name in ("networkx", "kb.models", "yaml", "kb.incremental", "kb.checks") if name in second] == []


def test_a_check_after_an_edit_of_a_note_imports_no_networkx(minimal):
    """A file whose frontmatter did not change is not re-checked: the re-check builds no
    graph, so networkx (0.15 s) is not imported; an edit of a figure builds the region's."""
    for n in range(8):  # (a re-check takes up to a quarter of the files)
        minimal.claim(f"claim-{n}", folder=f"t{n}")
    args = ["check", "--root", str(minimal.root)]
    _modules(*args)
    path = minimal.root / "claims/t0/claim-0.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nA note added below.\n", encoding="utf-8")
    after_note = _modules(*args)
    assert "kb.incremental" in after_note and "networkx" not in after_note
    path.write_text(path.read_text(encoding="utf-8").replace("value: 5 billion", "value: 7 billion"), encoding="utf-8")
    assert "networkx" in _modules(*args)


def test_an_update_build_imports_no_sqlite_utils(minimal):
    """A build that only rewrites the rows an edit reaches (kb.database.update) works through
    sqlite3: sqlite-utils (0.06-0.09 s to import) is for full builds; after an edit of a
    note it makes no graph, so imports no networkx (0.15 s) either."""
    minimal.claim("claim-0", folder="t0")
    args = ["build", "--allow-errors", "--root", str(minimal.root)]
    assert "sqlite_utils" in _modules(*args)
    path = minimal.root / "claims/t0/claim-0.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nA note added below.\n", encoding="utf-8")
    updated = _modules(*args)
    assert "kb.database.update" in updated and "sqlite_utils" not in updated and "networkx" not in updated
