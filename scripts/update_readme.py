"""Regenerate the command reference in README.md from the commands' --help.

python scripts/update_readme.py          # rewrite README.md
python scripts/update_readme.py --check  # exit 1 when README.md is stale (tests/test_docs.py)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from click.testing import CliRunner

from kb.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- BEGIN CLI REFERENCE"
END = "<!-- END CLI REFERENCE -->"


def cli_reference() -> str:
    runner = CliRunner()
    parts = []
    for name in [None, *sorted(main.commands)]:
        args = [name, "--help"] if name else ["--help"]
        output = runner.invoke(main, args, prog_name="kb", terminal_width=100).output
        title = f"kb {name}" if name else "kb"
        parts.append(f"### `{title}`\n\n```\n{output.rstrip()}\n```\n")
    return "\n".join(parts)


def updated(text: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r"[^\n]*\n.*?" + re.escape(END), re.S)
    header = pattern.search(text).group(0).split("\n", 1)[0]
    return pattern.sub(lambda _: f"{header}\n{cli_reference()}{END}", text)


if __name__ == "__main__":
    current = README.read_text(encoding="utf-8")
    new = updated(current)
    if "--check" in sys.argv:
        sys.exit(0 if new == current else 1)
    README.write_text(new, encoding="utf-8")
