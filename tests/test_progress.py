"""kb.progress: stage timings always, a progress line only on a terminal."""

from __future__ import annotations

import io
import json

from click.testing import CliRunner

from kb.cli import main
from kb.progress import Progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_stage_and_the_line_is_erased_at_the_end(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("KB_PROGRESS", raising=False)
    terminal = FakeTerminal()
    progress = Progress(terminal)
    with progress.stage("parse", total=2000):
        progress.advance(2000)
    shown = terminal.getvalue()
    assert "\r\x1b[2Kkb: parse 0/2,000" in shown
    assert shown.endswith("\r\x1b[2K")  # nothing left on the line
    assert set(progress.timings) == {"parse"} and progress.counts == {"parse": 2000}


def test_nothing_is_printed_in_ci_or_off_a_terminal(monkeypatch):
    monkeypatch.delenv("KB_PROGRESS", raising=False)
    monkeypatch.setenv("CI", "true")
    terminal = FakeTerminal()
    with Progress(terminal).stage("parse"):
        pass
    monkeypatch.delenv("CI")
    pipe = io.StringIO()  # not a TTY
    with Progress(pipe).stage("parse"):
        pass
    assert terminal.getvalue() == pipe.getvalue() == ""


def test_kb_progress_forces_it_either_way(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("KB_PROGRESS", "1")
    pipe = io.StringIO()
    with Progress(pipe).stage("graph"):
        pass
    assert "kb: graph" in pipe.getvalue()
    monkeypatch.setenv("KB_PROGRESS", "0")
    terminal = FakeTerminal()
    with Progress(terminal).stage("graph"):
        pass
    assert terminal.getvalue() == ""


def test_nested_stages_are_timed_separately_and_repeated_ones_add_up():
    progress = Progress(enabled=False)
    for _ in range(2):
        with progress.stage("export"), progress.stage("insert claims"):
            pass
    progress.record("parse", 1.5)
    progress.record("parse", 0.5)
    assert set(progress.timings) == {"export", "insert claims", "parse"}
    assert progress.timings["parse"] == 2.0
    assert progress.timings["export"] >= progress.timings["insert claims"]


def test_kb_timings_writes_the_stages_of_check_and_build(minimal, tmp_path, monkeypatch):
    timings = tmp_path / "timings.json"
    monkeypatch.setenv("KB_TIMINGS", str(timings))
    runner = CliRunner()
    result = runner.invoke(main, ["check", "--root", str(minimal.root)])
    assert result.exit_code == 0, result.output
    stages = set(json.loads(timings.read_text())["timings"])
    assert {"load", "graph", "checks"} <= stages and "status" not in stages  # a check stops at the findings
    result = runner.invoke(main, ["build", "--root", str(minimal.root), "-o", str(tmp_path / "kb.db")])
    assert result.exit_code == 0, result.output
    stages = set(json.loads(timings.read_text())["timings"])
    assert {"load", "checks", "insert claims", "indexes and search", "integrity", "vacuum", "swap"} <= stages
    assert "\x1b" not in result.output  # CliRunner is not a terminal: no progress line
