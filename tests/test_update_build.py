"""A build after edits of notes, or of claims' frontmatter, updates the previous database
(kb.database.update), and its database answers every query as a clean build's does; any
other edit is a full build.

Random note edits (claims and sources, added, changed, emptied, with Markdown, Chinese and
characters the search folds) and random frontmatter edits of claims (figures, periods,
statements, evidence, relations, kinds, metrics, acknowledgements, verdicts) are compared
with a clean build of the same files: every row of every table, and what each full-text
table finds (and ranks) for the words involved.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kb.cli import main
from kb.settings import load_settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import generate

STEPS = int(os.environ.get("KB_TEST_STEPS", "8"))
SEARCHED = {
    "claims_fts": "claims",
    "claims_search": "claims",
    "evidence_fts": "evidence",
    "evidence_search": "evidence",
    "sources_fts": "sources",
    "sources_search": "sources",
}
NOTES = [
    "A new note.",
    "**Bold** words, a [link](https://example.com) and `code`.",
    "关于亏损的说明：收入增长。",
    "Zürich café naïve revenue losses",
    "# Heading\n\n- one\n- two\n\n> quoted revenue",
    "",
]


def build(root: Path, *extra: str, timings: Path | None = None) -> str:
    env = {"KB_TIMINGS": str(timings)} if timings else {}
    result = CliRunner().invoke(
        main, ["build", "--allow-errors", "--root", str(root), *extra], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def stages(timings: Path) -> dict:
    return json.loads(timings.read_text())["timings"]


def rows(path: Path) -> dict[str, list]:
    """Every row of every table but the full-text ones (and their shadow tables)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        names = [row[0] for row in conn.execute("select name from sqlite_master where type = 'table' order by name")]
        virtual = [name for name in names if name in SEARCHED]
        out = {}
        for name in names:
            if any(name == v or name.startswith(v + "_") for v in virtual):
                continue
            cursor = conn.execute(f'select * from "{name}"')
            columns = [d[0] for d in cursor.description]
            found = [dict(zip(columns, row, strict=True)) for row in cursor]
            for row in found:
                row.pop("built_at", None)
                row.pop("input_hash", None)  # (compared on its own: the clean build is elsewhere)
            if name == "sqlite_stat1":  # (the full-text tables' own segments differ: not their answers)
                found = [row for row in found if not any(row["tbl"].startswith(v + "_") for v in virtual)]
            out[name] = sorted(found, key=repr)
    return out


def found(path: Path, words: list[str]) -> dict:
    """What each full-text table finds for each word: the ids, in rank order, with bm25."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for index in ("claims_fts", "evidence_fts", "sources_fts"):  # each external-content index agrees with its table
            conn.execute(f"insert into {index}({index}) values ('integrity-check')")
        out = {}
        for index, table in SEARCHED.items():
            for word in words:
                query = (
                    f"select t.id, round(bm25({index}), 6) from {index} join {table} t on t.rowid = {index}.rowid "
                    f"where {index} match ? order by bm25({index}), t.id"
                )
                out[index, word] = conn.execute(query, [f'"{word}"']).fetchall()
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("generated") / "kb"
    generate(root, 200, seed=5)
    return root


def _edit_note(rng: random.Random, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    head, _, _ = text.partition("\n---\n")
    path.write_text(head + "\n---\n" + rng.choice(NOTES) + "\n", encoding="utf-8")


@pytest.mark.parametrize("seed", range(3))
def test_a_build_after_note_edits_equals_a_clean_build(generated, tmp_path, seed):
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    build(root)
    rng = random.Random(seed)
    files = sorted((root / "claims").rglob("*.md")) + sorted((root / "sources").rglob("*.md"))
    timings = tmp_path / "timings.json"
    for step in range(STEPS):
        for path in rng.sample(files, rng.randint(1, 3)):
            _edit_note(rng, path)
        build(root, timings=timings)
        assert "update" in stages(timings) and "load" not in stages(timings), f"step {step}: not a notes build"
        clean = tmp_path / f"clean-{step}.db"
        build(root, "--no-cache", "-o", str(clean))
        assert rows(root / "kb.db") == rows(clean), f"step {step}"
        words = ["note", "bold", "revenue", "亏损", "zurich", "cafe", "heading", "quoted", "losses", "example"]
        assert found(root / "kb.db", words) == found(clean, words), f"step {step}"
        # and it is current: a build now has nothing to do
        assert "is up to date" in build(root)


def _rewrite(path: Path, change) -> None:
    """Change the frontmatter of a file as data (``change(data)``), its note kept."""
    text = path.read_text(encoding="utf-8")
    head, _, body = text.removeprefix("---\n").partition("\n---\n")
    data = yaml.safe_load(head)
    change(data)
    path.write_text("---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n" + body)


def _ids(root: Path, folder: str) -> list[str]:
    return [path.stem for path in sorted((root / folder).rglob("*.md"))]


def _claim_edits(rng: random.Random, root: Path):
    """The frontmatter edits of claims a build takes without a full analysis."""
    claims, sources = _ids(root, "claims"), _ids(root, "sources")

    def evidence(data):
        return rng.choice(data["evidence"]) if data.get("evidence") else {}

    return [
        lambda data: data.update(value=f"{rng.uniform(0.5, 500):.4g} billion"),
        lambda data: data.update(period=rng.choice(["2023", "2024-H1", "2024-Q3", "2025-06"])),
        lambda data: data.update(statement=f"Edited: revenue losses widened {rng.random():.3f}."),
        lambda data: evidence(data).update(stance=rng.choice(["supports", "refutes", "mentions"])),
        lambda data: evidence(data).update(quote=rng.choice(["亏损扩大了", "A quote on revenue", "Zürich café"])),
        lambda data: data.update(evidence=data.get("evidence", [])[1:] or data.get("evidence")),
        lambda data: data.setdefault("evidence", []).append({"source": rng.choice(sources), "quote": "Added."}),
        lambda data: data.setdefault("contradicts", []).append({"claim": rng.choice(claims), "note": "Disputed."}),
        lambda data: data.update(supersedes=rng.choice(claims)),
        lambda data: data.update(supports=[rng.choice([*claims, "no-such-claim"])]),
        lambda data: data.update(kind=rng.choice(["fact", "estimate", "projection", "prediction", "opinion"])),
        lambda data: data.update(metric=rng.choice(["revenue", "net_loss", "valuation", "an_undeclared_metric"])),
        lambda data: data.update(claimant=rng.choice(["Analyst 1", "The Information", "Someone new"])),
        lambda data: data.update(tags=["edited", "亏损"]),
        lambda data: data.update(acknowledge={rng.choice(["KB301", "KB304", "KB401", "KB306"]): "Seen."}),
        lambda data: data.update(verdict={"rating": rng.choice(["accurate", "inaccurate", "mixed"])}),
        lambda data: data.pop("value", None),
        lambda data: data.update(unit=rng.choice(["USD", "EUR", "percent", "USD/year"])),
        lambda data: data.update(qualifiers=rng.choice([{"segment": "cloud"}, {"basis": "gaap"}])),
        lambda data: data.update(stated=rng.choice(["2022-05-01", "2025-11-30", "2026-10"])),
        lambda data: data.update(approximate=rng.random() < 0.5),
        lambda data: data.update(resolves={"claim": rng.choice(claims), "outcome": "correct"}),
        lambda data: data.update(
            derived_from={
                "formula": rng.choice(["a + b", "a - b", "a * 2"]),
                "inputs": dict(zip("ab", rng.sample(claims, 2), strict=True)),
            }
        ),
    ]


@pytest.mark.parametrize("seed", range(int(os.environ.get("KB_TEST_SEEDS", "4"))))
@pytest.mark.parametrize("saved", [True, False])
def test_a_build_after_claim_edits_equals_a_clean_build(generated, tmp_path, seed, saved, monkeypatch):
    """``saved``: each update saves the state of its re-check (else, as after a small edit
    of a large knowledge base, each re-check starts from the full build's state, and takes
    again every claim edited since)."""
    from kb import incremental

    # every region re-checked, however large (on 200 claims most would be over the share
    # past which a full build is quicker): which rows the region reaches is what is under test
    monkeypatch.setattr(incremental, "MAX_SHARE", 1.0)
    monkeypatch.setattr(incremental, "_worth_saving", lambda parsed, files: saved)
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    build(root)
    rng = random.Random(100 + seed)
    edits = _claim_edits(rng, root)
    claims = sorted((root / "claims").rglob("*.md"))
    files = claims + sorted((root / "sources").rglob("*.md"))
    timings = tmp_path / "timings.json"
    updated = 0
    for step in range(STEPS):
        for path in rng.sample(claims, rng.randint(1, 3)):
            for edit in rng.sample(edits, rng.randint(1, 2)):
                _rewrite(path, edit)
        if rng.random() < 0.5:
            _edit_note(rng, rng.choice(files))
        if rng.random() < 0.3:  # a check in between leaves a state of files the database does not have
            CliRunner().invoke(main, ["check", "--exit-zero", "--root", str(root)], catch_exceptions=False)
            for path in rng.sample(claims, 1):
                _rewrite(path, rng.choice(edits))
        build(root, timings=timings)
        updated += "update" in stages(timings) and "load" not in stages(timings)
        clean = tmp_path / f"clean-{step}.db"
        build(root, "--no-cache", "-o", str(clean))
        assert rows(root / "kb.db") == rows(clean), f"step {step}"
        words = ["edited", "revenue", "亏损", "zurich", "quote", "added", "note", "losses"]
        assert found(root / "kb.db", words) == found(clean, words), f"step {step}"
        assert "is up to date" in build(root)
    # (not all: an edit may leave a file that no longer loads, a check between edits a state
    # of a version the database never had)
    assert updated >= STEPS // 4


def _update_equals_a_clean_build(root: Path, tmp_path: Path) -> dict:
    timings = tmp_path / "timings.json"
    build(root, timings=timings)
    clean = tmp_path / "clean.db"
    build(root, "--no-cache", "-o", str(clean))
    assert rows(root / "kb.db") == rows(clean)
    words = ["revenue", "亏损", "edited"]
    assert found(root / "kb.db", words) == found(clean, words)
    return stages(timings)


def _check_state(root: Path):
    """The stored check state, its entries' keys as sets (their order is a set's)."""
    from kb import cache as kbcache

    state = kbcache.load_signed(root, kbcache.CHECK_STATE)
    assert state is not None
    entries = {
        path: entry._replace(reads=frozenset(entry.reads), writes=frozenset(entry.writes))
        for path, entry in state.entries.items()
    }
    return state._replace(entries=entries, raw=state.raw.value, findings=state.findings.value)


def test_a_large_build_saves_the_check_state_while_it_writes_the_database(generated, tmp_path, monkeypatch):
    """Past BACKGROUND_STATE_FILES files, a forked child saves the state a re-check starts
    from while the database is written: the state a build saves after the database is in
    place, which the next check and the next build after an edit start from."""
    import threading

    from kb import cache as kbcache
    from kb import incremental
    from kb.database import update

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    monkeypatch.setattr(incremental, "MAX_SHARE", 1.0)  # (on 200 claims most regions are over it)
    monkeypatch.setattr(update, "UPDATE_SHARE", 1.0)
    started: list[str] = []
    real = kbcache.in_background
    monkeypatch.setattr(kbcache, "in_background", lambda f, *a, **k: started.append(f.__name__) or real(f, *a, **k))
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    monkeypatch.setattr(update, "BACKGROUND_STATE_FILES", 10**9)
    build(root)
    assert "_check_state_alone" not in started
    after = _check_state(root)
    shutil.rmtree(root / ".kb-cache")
    (root / "kb.db").unlink()
    monkeypatch.setattr(update, "BACKGROUND_STATE_FILES", 1)
    build(root)
    assert "_check_state_alone" in started
    assert _check_state(root) == after
    path = sorted((root / "claims").rglob("*.md"))[3]
    _rewrite(path, lambda data: data.update(statement="Edited after a build that saved its check state in a child."))
    assert "update" in _update_equals_a_clean_build(root, tmp_path)  # (an update re-checks from the state)
    _rewrite(path, lambda data: data.update(statement="Edited again, for a check."))
    timings = tmp_path / "timings.json"
    check = CliRunner().invoke(main, ["check", "--exit-zero", "--root", str(root)], env={"KB_TIMINGS": str(timings)})
    assert "recheck" in stages(timings) and "load" not in stages(timings)
    full = CliRunner().invoke(main, ["check", "--exit-zero", "--no-cache", "--root", str(root)])
    assert check.output == full.output
    # a refused build (errors) saves it too: the `kb check` its message asks for starts from it
    saved = _check_state(root)
    shutil.rmtree(root / ".kb-cache")
    started.clear()
    refused = CliRunner().invoke(main, ["build", "--root", str(root)])
    assert refused.exit_code == 1 and "not built" in refused.output
    assert "_check_state_alone" in started and _check_state(root) == saved


def test_an_interrupted_build_stops_its_check_state_instead_of_waiting_for_it(generated, tmp_path, monkeypatch):
    """Ctrl-C while the database is written, or once it is published: the child saving the
    check state is stopped (at 100k files it would be waited for 9 s) and leaves nothing
    behind."""
    import threading
    import time

    from kb import cache as kbcache
    from kb import cli, incremental
    from kb.database import update

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    monkeypatch.setattr(update, "BACKGROUND_STATE_FILES", 1)
    real_state_of = incremental.state_of

    def slow_state_of(*args):  # (in the child, which has this module as it was at the fork)
        time.sleep(120)
        return real_state_of(*args)

    monkeypatch.setattr(incremental, "state_of", slow_state_of)
    children: list[int] = []
    real = kbcache.in_background

    def spy(function, *args, **kwargs):
        started = real(function, *args, **kwargs)
        if function is update._check_state_alone and started:
            children.append(kbcache._WRITERS[-1].child)
        return started

    monkeypatch.setattr(kbcache, "in_background", spy)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    from kb.database import build as kb_build

    # while the database is written (the child starts once the rows are in), once it is published
    for module, where in ((kb_build, "index_and_search"), (cli, "_write_exports")):
        with monkeypatch.context() as patched:
            patched.setattr(module, where, interrupted)
            root = tmp_path / where
            shutil.copytree(generated, root)
            children.clear()
            result = CliRunner().invoke(main, ["build", "--allow-errors", "--root", str(root)])
            assert result.exit_code == 1 and "Aborted!" in result.output
            assert len(children) == 1
            assert not any(writer.args[1] is update._check_state_alone for writer in kbcache._WRITERS)
            with pytest.raises(ChildProcessError):  # stopped and reaped
                os.waitpid(children[0], os.WNOHANG)
            assert not (root / ".kb-cache" / kbcache.CHECK_STATE).exists()
            assert not list((root / ".kb-cache").glob(".*.tmp"))
            assert (root / "kb.db").exists() == (where == "_write_exports")


def test_subjects_spelled_in_other_cases_are_one_group(generated, tmp_path, monkeypatch):
    """Found by review: "Яндекс" and "ЯНДЕКС" are one entity (as "OpenAI" and "openai" are),
    whose figures are compared, also when one of them is edited."""
    from kb import incremental

    monkeypatch.setattr(incremental, "MAX_SHARE", 1.0)
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    first, second = sorted((root / "claims").rglob("*.md"))[:2]
    figure = {"kind": "fact", "metric": "revenue", "value": "10 billion", "unit": "USD", "period": "2024"}

    def spelled(subject: str):
        def change(data: dict) -> None:
            for name in ("qualifiers", "approximate"):
                data.pop(name, None)
            data.update(subject=subject, **figure)

        return change

    _rewrite(first, spelled("Яндекс"))
    _rewrite(second, spelled("ЯНДЕКС"))
    build(root)
    ids = [first.stem, second.stem]
    for path, value in ((first, "14 billion"), (second, "20 billion")):
        _rewrite(path, lambda data, value=value: data.update(value=value))
        assert "update" in _update_equals_a_clean_build(root, tmp_path)
        with contextlib.closing(sqlite3.connect(root / "kb.db")) as conn:
            query = "select count(distinct entity_id) from claims where id in (?, ?)"
            assert conn.execute(query, ids).fetchone() == (1,)
            query = "select count(*) from findings where code = 'KB301' and claim_id in (?, ?)"
            assert conn.execute(query, ids).fetchone()[0] > 0  # the two figures are compared


def test_a_duplicated_id_is_a_full_build(generated, tmp_path, monkeypatch):
    """Found by review: where a duplicated id first appears orders the corpus (the first
    claim that supersedes another is the one its citation names)."""
    from kb import incremental

    monkeypatch.setattr(incremental, "MAX_SHARE", 1.0)
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    claims = sorted((root / "claims").rglob("*.md"))
    target, superseder, copied = claims[5], claims[-1], claims[-2]
    _rewrite(superseder, lambda data: data.update(supersedes=target.stem))
    _rewrite(copied, lambda data: data.update(supersedes=target.stem))
    (root / "claims" / "aaa").mkdir()
    shutil.copy(copied, root / "claims" / "aaa" / "a-copy.md")  # the same id, first in reading order
    build(root)
    _rewrite(superseder, lambda data: data.update(claimant="Someone else"))
    stage = _update_equals_a_clean_build(root, tmp_path)
    assert "load" in stage and "update" not in stage


def _frontmatter(rng, root):  # a source's: what reads it is not tracked row by row
    path = sorted((root / "sources").rglob("*.md"))[0]
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: Edited ", 1), encoding="utf-8")


def _subject(rng, root):  # a claim's subject: entity names and counts
    _rewrite(sorted((root / "claims").rglob("*.md"))[0], lambda data: data.update(subject="A New Company"))


def _claim_id(rng, root):
    _rewrite(sorted((root / "claims").rglob("*.md"))[0], lambda data: data.update(id="a-renamed-claim"))


def _added(rng, root):
    source = sorted((root / "claims").rglob("*.md"))[1]
    text = source.read_text(encoding="utf-8").replace(f"id: {source.stem}", "id: a-new-claim", 1)
    (source.parent / "a-new-claim.md").write_text(text, encoding="utf-8")


def _removed(rng, root):
    sorted((root / "sources").rglob("*.md"))[2].unlink()


def _broken(rng, root):
    path = sorted((root / "claims").rglob("*.md"))[3]
    path.write_text("---\nid: [\n---\nA note.\n", encoding="utf-8")


def _note_and_frontmatter(rng, root):
    _edit_note(rng, sorted((root / "claims").rglob("*.md"))[4])
    _frontmatter(rng, root)


def _settings(rng, root):
    settings = root / "kb.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    _edit_note(rng, sorted((root / "claims").rglob("*.md"))[5])


def _other_build_since(rng, root):
    _frontmatter(rng, root)
    build(root, "--no-cache")  # (stores no state: the database is no longer the one described)
    _edit_note(rng, sorted((root / "claims").rglob("*.md"))[6])


@pytest.mark.parametrize(
    "change",
    [
        _frontmatter,
        _subject,
        _claim_id,
        _added,
        _removed,
        _broken,
        _note_and_frontmatter,
        _settings,
        _other_build_since,
    ],
)
def test_anything_else_is_a_full_build(generated, tmp_path, change):
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    build(root)
    change(random.Random(0), root)
    timings = tmp_path / "timings.json"
    build(root, timings=timings)
    assert "load" in stages(timings) and "update" not in stages(timings)
    clean = tmp_path / "clean.db"
    build(root, "--no-cache", "-o", str(clean))
    assert rows(root / "kb.db") == rows(clean)


def test_a_note_edit_of_a_file_left_out_is_a_full_build(generated, tmp_path):
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    _broken(None, root)
    output = build(root)
    assert "left out" in output
    path = sorted((root / "claims").rglob("*.md"))[3]
    path.write_text(path.read_text(encoding="utf-8") + "More.\n", encoding="utf-8")
    timings = tmp_path / "timings.json"
    assert build(root, timings=timings) == output  # the same report, the file still named
    assert "load" in stages(timings)
    _edit_note(random.Random(1), sorted((root / "claims").rglob("*.md"))[0])
    assert build(root, timings=timings) == output  # a notes build names it too
    assert "update" in stages(timings)


def test_a_notes_build_with_errors_is_refused_as_a_full_build_is(generated, tmp_path):
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    build(root)
    _edit_note(random.Random(2), sorted((root / "claims").rglob("*.md"))[0])
    before = (root / "kb.db").read_bytes()
    with contextlib.closing(sqlite3.connect(root / "kb.db")) as conn:
        errors = conn.execute("select count(*) from findings where severity = 'error' and not acknowledged")
        assert errors.fetchone()[0] > 0  # (the generated knowledge base has some)
    result = CliRunner().invoke(main, ["build", "--root", str(root)])
    assert result.exit_code == 1 and "not built" in result.output + result.stderr
    assert (root / "kb.db").read_bytes() == before  # refused: nothing written


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX kill")
@pytest.mark.parametrize("stage", ["lock", "rows", "integrity", "fsync", "replace"])
def test_a_notes_build_killed_leaves_a_whole_database(generated, tmp_path, stage):
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    build(root)
    before = rows(root / "kb.db")
    path = sorted((root / "claims").rglob("*.md"))[0]
    _edit_note(random.Random(3), path)
    code = "import sys; from kb.cli import main; main(sys.argv[1:])"
    env = {**os.environ, "KB_TEST_KILL_AT": stage}
    done = subprocess.run(
        [sys.executable, "-c", code, "build", "--allow-errors", "--root", str(root)], env=env, capture_output=True
    )
    assert done.returncode == -9
    after = rows(root / "kb.db")
    assert after == before or stage == "replace"  # before the replace: the previous database, whole
    timings = tmp_path / "timings.json"
    build(root, timings=timings)  # the next build finishes the job (and sweeps the temporary file)
    assert not list(root.glob(".kb.db.*.tmp"))
    clean = tmp_path / "clean.db"
    build(root, "--no-cache", "-o", str(clean))
    assert rows(root / "kb.db") == rows(clean)


def test_another_renderer_of_notes_is_a_full_build(generated, tmp_path, monkeypatch):
    from kb import render

    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    build(root)
    monkeypatch.setattr(render, "RENDERER", render.RENDERER + " (upgraded)")
    _edit_note(random.Random(4), sorted((root / "claims").rglob("*.md"))[0])
    timings = tmp_path / "timings.json"
    build(root, timings=timings)
    assert "load" in stages(timings) and "update" not in stages(timings)


def _without_today(root: Path) -> None:
    settings = root / "kb.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text("\n".join(line for line in text.split("\n") if not line.startswith("today")), encoding="utf-8")


def test_a_notes_build_across_midnight_is_of_one_day(generated, tmp_path, monkeypatch):
    """The date is read once: the database says the day its findings are of."""
    from datetime import date

    from kb import inputs as kb_inputs
    from kb.database import update as notes

    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    _without_today(root)
    build(root, "--today", "2026-12-07")  # what a build on the 7th leaves

    class Clock(date):
        calls = 0

        @classmethod
        def today(cls):
            cls.calls += 1
            return date(2026, 12, 7) if cls.calls == 1 else date(2026, 12, 8)

    monkeypatch.setattr(notes, "date", Clock)
    monkeypatch.setattr(kb_inputs, "date", Clock)
    _edit_note(random.Random(5), sorted((root / "claims").rglob("*.md"))[0])
    settings = load_settings(root)
    assert notes.update_database(settings, settings.database_path, allow_errors=True) is not None
    monkeypatch.undo()
    assert "is up to date" in build(root, "--today", "2026-12-07")  # of the day it was checked for


@pytest.mark.parametrize("damage", ["row", "page"])
def test_a_database_changed_by_hand_gets_a_full_build(generated, tmp_path, damage):
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    build(root)
    path = sorted((root / "claims").rglob("*.md"))[0]
    conn = sqlite3.connect(root / "kb.db")
    if damage == "row":  # the claim whose note is edited is gone
        conn.execute("pragma foreign_keys = off")
        conn.execute("delete from claims where path = ?", [path.relative_to(root).as_posix()])
        conn.commit()
        conn.close()
    else:  # a page of the evidence table overwritten (the kb_build row still reads)
        page_size = conn.execute("pragma page_size").fetchone()[0]
        root_page = conn.execute("select rootpage from sqlite_master where name = 'evidence'").fetchone()[0]
        conn.close()
        with open(root / "kb.db", "r+b") as handle:
            handle.seek((root_page - 1) * page_size)
            handle.write(b"\xff" * page_size)
    _edit_note(random.Random(6), path)
    timings = tmp_path / "timings.json"
    build(root, timings=timings)  # not an error: a whole new database
    assert "load" in stages(timings)
    clean = tmp_path / "clean.db"
    build(root, "--no-cache", "-o", str(clean))
    assert rows(root / "kb.db") == rows(clean)


def test_an_edited_claim_of_the_shipped_corpus_is_an_update(tmp_path):
    """A claim cites a seed article that hundreds of claims cite: its re-check reads a third
    of the shipped corpus, which an update takes (kb.database.update.UPDATE_SHARE)."""
    repo = Path(__file__).resolve().parent.parent
    root = tmp_path / "kb"
    root.mkdir()
    shutil.copytree(repo / "claims", root / "claims")
    shutil.copytree(repo / "sources", root / "sources")
    (root / "kb.toml").write_text('today = "2026-11-23"\n', encoding="utf-8")
    build(root)
    path = root / "claims" / "claude-code" / "claude-code-subscription-prices.md"
    _rewrite(path, lambda data: data.update(statement="Edited: " + data["statement"], value=[25, 200]))
    stage = _update_equals_a_clean_build(root, tmp_path)
    assert "update" in stage and "load" not in stage


WORDS = ["revenue", "亏损", "loss", "openai", "note"]


def _built_here(generated, tmp_path, monkeypatch) -> tuple[dict, dict]:
    """The rows and search answers of a clean build that makes its rows in this process."""
    from kb.database import rows_child

    with monkeypatch.context() as patched:
        patched.setattr(rows_child, "FORK_ROWS_AT", 10**9)
        patched.setattr("kb.database.build.FORK_ROWS_AT", 10**9)
        here = tmp_path / "here.db"
        build(generated, "--no-cache", "-o", str(here))
    return rows(here), found(here, WORDS), _rowids(here)


def _rowids(path: Path) -> dict[str, list]:
    """Each table's rows in rowid order (a table page's order when none is asked for)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {
            table: conn.execute(f"select * from {table} order by rowid").fetchall()
            for table in ("claims", "sources", "evidence", "claim_links", "findings")
        }


def _forking_rows(monkeypatch) -> tuple[list, list]:
    """Every build forks a rows' child from now on: (the batches it sent, as the number of
    rows in each, pids forked)."""
    import threading

    from kb.database import build as kb_build
    from kb.database import rows_child

    monkeypatch.setattr(kb_build, "FORK_ROWS_AT", 0)
    monkeypatch.setattr(rows_child, "BATCH", 7)  # (a few claims each: batches come between chunks)
    monkeypatch.setattr(kb_build, "OWN_CHUNK", 5)
    monkeypatch.setenv("KB_JOBS", "2")
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    sent: list = []
    real = rows_child.RowsChild.next

    def spy(self):
        batch = real(self)
        if batch is not None:
            sent.append(len(batch[1]))
        return batch

    monkeypatch.setattr(rows_child.RowsChild, "next", spy)
    pids: list[int] = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: pids.append(real_fork()) or pids[-1])
    return sent, pids


def test_rows_made_by_a_forked_child_are_those_made_here(generated, tmp_path, monkeypatch):
    """kb.database.rows_child: a large build's rows, made by a child and inserted here."""
    here = _built_here(generated, tmp_path, monkeypatch)
    sent, _ = _forking_rows(monkeypatch)
    child = tmp_path / "child.db"
    build(generated, "--no-cache", "-o", str(child))
    assert len(sent) > 1 and sum(sent) == len(here[0]["claims"])
    assert (rows(child), found(child, WORDS), _rowids(child)) == here


def test_a_rows_child_that_dies_leaves_its_rows_to_the_build(generated, tmp_path, monkeypatch):
    """The child sends a batch and dies: the database is written again from the start, its rows
    made here (none twice, none missing)."""
    from kb.database import rows_child

    here = _built_here(generated, tmp_path, monkeypatch)
    sent, _ = _forking_rows(monkeypatch)
    real_send = rows_child._send

    def dies(out, analysis):  # (in the child: this module as it was at the fork)
        class OneBatch:
            def write(self, data):
                out.write(data)
                out.flush()
                os._exit(3)

        real_send(OneBatch(), analysis)

    monkeypatch.setattr(rows_child, "_send", dies)
    died = tmp_path / "died.db"
    build(generated, "--no-cache", "-o", str(died))
    assert sent == [7]  # one batch came, then the child was gone
    assert (rows(died), found(died, WORDS), _rowids(died)) == here


def test_an_interrupted_build_leaves_no_rows_child(generated, tmp_path, monkeypatch):
    from kb.database import build as kb_build

    _, pids = _forking_rows(monkeypatch)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(kb_build, "insert_tuples", interrupted)
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    result = CliRunner().invoke(main, ["build", "--allow-errors", "--no-cache", "--root", str(root)])
    assert result.exit_code == 1 and "Aborted!" in result.output
    assert pids and all(pid for pid in pids)  # (this process's side of each fork)
    for pid in pids:
        with pytest.raises(ChildProcessError):  # killed and reaped
            os.waitpid(pid, os.WNOHANG)
    assert not (root / "kb.db").exists() and not list(root.glob(".kb.db.*.tmp"))
