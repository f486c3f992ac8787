"""Files a knowledge base should never hang, crash or silently drop on (issue 7): FIFOs,
symbolic links to folders, huge sparse files, invalid ids, control characters in ids,
pathological Markdown bodies."""

from __future__ import annotations

import os
import resource
import signal
import time

import pytest

from kb.database import build_database
from kb.findings import printable
from kb.inputs import fingerprint, signature
from kb.render import render_markdown
from kb.report import render


@pytest.fixture
def alarm():
    """Fail instead of hanging forever."""

    def expired(signum, frame):
        raise TimeoutError("hung")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_fifo_is_a_located_kb001_and_nothing_hangs(minimal, alarm):
    os.mkfifo(minimal.root / "claims" / "openai" / "pipe.md")
    result = minimal.analyse()
    [found] = [f for f in result.findings if f.code == "KB001"]
    assert found.path == "claims/openai/pipe.md" and "not a regular file" in found.message
    fingerprint(result.settings)
    signature(result.settings)
    build_database(result, allow_errors=True)


def test_a_symlinked_folder_is_named_not_skipped(minimal, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "lost.md").write_text("---\nid: lost\n---\n", encoding="utf-8")
    (minimal.root / "claims" / "linked").symlink_to(outside, target_is_directory=True)
    inside = minimal.root / "claims" / "inside-link"
    inside.symlink_to(minimal.root / "claims" / "openai", target_is_directory=True)
    found = sorted((f.path, f.message) for f in minimal.analyse().findings if f.code == "KB001")
    assert [path for path, _ in found] == ["claims/inside-link", "claims/linked"]
    assert all("symbolic link to a folder" in message for _, message in found)
    assert str(outside) in found[1][1]


def test_a_2gb_sparse_file_is_refused_from_stat(minimal):
    with open(minimal.root / "claims" / "openai" / "huge.md", "wb") as handle:
        handle.write(b"---\nid: huge\n")
        handle.truncate(2 * 1024**3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = minimal.analyse()
    [found] = [f for f in result.findings if f.code == "KB001"]
    assert "over the limit" in found.message and found.path == "claims/openai/huge.md"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB
    assert time.perf_counter() - started < 10


def test_an_invalid_id_is_left_out_of_the_corpus(minimal):
    minimal.claim(
        "Bad-ID",
        text=minimal.root.joinpath("claims/openai/openai-2024-net-loss.md")
        .read_text()
        .replace("id: openai-2024-net-loss", "id: Bad-ID"),
    )
    result = minimal.analyse()
    assert [f.code for f in result.findings if f.path.endswith("Bad-ID.md")] == ["KB007"]
    assert "Bad-ID" not in result.corpus.claims
    build_database(result, allow_errors=True)


def test_control_characters_are_escaped_in_every_human_format(minimal):
    text = (minimal.root / "claims/openai/openai-2024-net-loss.md").read_text()
    minimal.claim("evil", text=text.replace("id: openai-2024-net-loss", 'id: "a\\e[2J\\u202e\\x9b"'))
    findings = minimal.analyse().findings
    [found] = [f for f in findings if f.code == "KB007"]
    for fmt in ("concise", "full", "github", "json", "sarif"):
        output = render(findings, fmt, minimal.root)
        assert "\x1b" not in output and "\u202e" not in output and "\x9b" not in output, fmt
    assert "\\x1b[2J" in found.message and "\\u202e" in found.message


def test_printable():
    assert printable("plain 中文 text") == "plain 中文 text"
    assert printable("a\x1b[31mb\nc\u200b") == "a\\x1b[31mb\\nc\\u200b"


@pytest.mark.parametrize("pattern", ["[", "![", "[a](", "_a", "&#"])
def test_pathological_bodies_render_fast(pattern):
    body = pattern * (1024 * 1024 // len(pattern))
    started = time.perf_counter()
    html = render_markdown(body)
    assert time.perf_counter() - started < 2
    assert html.startswith("<pre")


def test_ordinary_bodies_still_render():
    assert render_markdown("Some *notes* with a [link](https://a.example).\n").startswith("<p>Some <em>notes</em>")
