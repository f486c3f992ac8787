"""`kb build`, `kb show`, `kb rule`, `kb schema`, `kb new`, `kb --version`."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from kb import __version__
from kb.cli import main
from kb.rules import RULES


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_version():
    assert run("--version").output == f"kb, version {__version__}\n"


def test_build(minimal):
    result = run("build", "--root", str(minimal.root), "-o", str(minimal.root / "out.db"))
    assert result.exit_code == 0
    assert result.output.endswith("out.db: 1 claims, 1 sources, 1 findings (0 errors).\n")
    assert (minimal.root / "out.db").is_file()


def test_show_claim(minimal):
    result = run("show", "--root", str(minimal.root), "openai-2024-net-loss")
    assert result.output.splitlines()[:14] == [
        "claim openai-2024-net-loss  (claims/openai/openai-2024-net-loss.md)",
        "  OpenAI could lose $5 billion in 2024.",
        "",
        "  kind                projection",
        "  status              supported",
        "  independent origins 1",
        "  subject             OpenAI",
        "  metric              net_loss",
        "  value               5 billion USD",
        "  period              2024",
        "  claimant            The Outlet",
        "  stated              2024-07-24",
        "",
        "Evidence:",
    ]
    assert "Cite as: [@claim:openai-2024-net-loss]" in result.output


def test_show_unknown(minimal):
    result = run("show", "--root", str(minimal.root), "openai-2024-net-los")
    assert (result.exit_code, result.stderr) == (
        2,
        "kb: error: no claim or source `openai-2024-net-los` (did you mean `openai-2024-net-loss`?)\n",
    )


def test_rule_docs():
    output = run("rule", "KB301").output
    assert output.startswith("# numeric-conflict (KB301)\n\nDefault severity: warning\n")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## How to fix"):
        assert section in output
    assert run("rule", "numeric-conflict").output == output
    assert len(run("rule", "--all").output.splitlines()) == len(RULES)
    assert run("rule", "KB999").exit_code == 2


def test_schema():
    claim = json.loads(run("schema", "claim").output)
    assert claim["additionalProperties"] is False
    assert "description" in claim["properties"]["value"]
    assert set(claim["required"]) == {"id", "statement", "kind"}
    either = json.loads(run("schema").output)  # all: a claim or a source
    assert either["anyOf"] == [{"$ref": "#/$defs/Claim"}, {"$ref": "#/$defs/Source"}]


def test_new_writes_valid_skeletons(kb):
    assert run("new", "--root", str(kb.root), "claim", "openai-2025-revenue", "--subject", "OpenAI").output == (
        "Wrote claims/openai/openai-2025-revenue.md\n"
    )
    assert run("new", "--root", str(kb.root), "source", "reuters-2025-x", "--publisher", "Reuters").exit_code == 0
    codes = sorted(f.code for f in kb.analyse().findings)
    assert codes == ["KB103", "KB201"]  # valid, just not yet linked
    assert run("new", "--root", str(kb.root), "claim", "openai-2025-revenue", "--subject", "OpenAI").exit_code == 2
    assert run("new", "--root", str(kb.root), "claim", "Bad_Id").exit_code == 2


def test_check_and_build_restore_the_garbage_collector_thresholds(minimal):
    import gc

    before = gc.get_threshold()
    for args in (["check", "--exit-zero"], ["build", "--allow-errors"]):
        result = CliRunner().invoke(main, [*args, "--root", str(minimal.root)])
        assert result.exit_code == 0, result.output
        assert gc.get_threshold() == before


def _command(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The `kb` console command (kb.cli:run, which ends the process at once), in a child."""
    code = "import sys; from kb.cli import run; sys.argv[0] = 'kb'; run()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_the_console_command_flushes_its_output_and_keeps_exit_codes(minimal):
    every_rule = _command("rule", "--all")
    assert every_rule.returncode == 0
    assert every_rule.stdout == run("rule", "--all").output  # all of it, flushed before the exit
    assert _command("check", "--root", str(minimal.root)).returncode == 0
    (minimal.root / "claims" / "broken.md").write_text("---\nid: [\n---\n", encoding="utf-8")
    failed = _command("check", "--root", str(minimal.root))
    assert failed.returncode == 1 and "KB003" in failed.stdout
    unknown = _command("show", "--root", str(minimal.root), "no-such-id")
    assert unknown.returncode == run("show", "--root", str(minimal.root), "no-such-id").exit_code != 0
    assert unknown.stderr
    usage = _command("check", "--no-such-option")
    assert usage.returncode == 2 and "No such option" in usage.stderr
