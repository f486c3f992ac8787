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
