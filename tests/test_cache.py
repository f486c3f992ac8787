"""The cache (kb.cache) is never stale: after every kind of change, a build and a check
that use it equal a clean build and check (--no-cache), table by table and byte by byte.

What is guaranteed: a file is re-read when its size, mtime, ctime or inode differ from the
manifest, or when it was modified within 2 s of the manifest's writing (racy guard). An
edit that puts size and mtime back with ``os.utime`` still changes ctime, which a user
cannot set: it is seen (tested below with the racy guard off).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import kb.cache
import kb.inputs
from kb import cache as kbcache
from kb import inputs as kb_inputs
from kb import load as kbload
from kb.analyse import analyse
from kb.cli import main
from kb.database import build_database, is_stale
from kb.database import state as kb_state
from kb.load import load_corpus
from kb.settings import load_settings


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.output


def tables(path: Path) -> dict[str, list]:
    with sqlite3.connect(path) as conn:
        names = [row[0] for row in conn.execute("select name from sqlite_master where type = 'table' order by name")]
        out = {}
        for name in names:
            cursor = conn.execute(f'select * from "{name}"')
            columns = [d[0] for d in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor]
            for row in rows:
                row.pop("built_at", None)
            out[name] = sorted(rows, key=repr)
    return out


def assert_fresh(root: Path, *extra: str) -> None:
    """A cached build + check equal a clean one."""
    cached_db, clean_db = root / "kb.db", root / "clean.db"
    common = ["--root", str(root), *extra]
    run("build", "--allow-errors", "-o", str(cached_db), *common)
    run("build", "--allow-errors", "--no-cache", "-o", str(clean_db), *common)
    assert tables(cached_db) == tables(clean_db)
    for fmt in ("concise", "json", "sarif"):
        cached = run("check", "--exit-zero", "--format", fmt, *common)
        clean = run("check", "--exit-zero", "--format", fmt, "--no-cache", *common)
        assert cached == clean


@pytest.fixture
def base(kb):
    kb.settings('snapshots = ["archive"]\n')
    (kb.root / "archive").mkdir()
    (kb.root / "archive" / "outlet-report.html").write_text("<p>lose 5 billion</p>", encoding="utf-8")
    kb.source(extra="snapshot: outlet-report.html\n")  # its quotes are verified (KB203)
    kb.source("other-report", folder="other")
    for i in range(6):
        kb.claim(f"claim-{i}", folder=f"t{i % 2}")
    kb.claim("broken", text="---\nid: broken\nstatement: [unclosed\n---\n")
    kb.claim("wrong-name", text=(kb.root / "claims/t0/claim-0.md").read_text().replace("claim-0", "not-it"))
    return kb


def _edit(kb):
    path = kb.root / "claims/t0/claim-0.md"
    path.write_text(path.read_text().replace("5 billion", "7.5 billion"))


def _rename(kb):
    os.rename(kb.root / "claims/t1/claim-1.md", kb.root / "claims/t1/claim-1-renamed.md")


def _delete(kb):
    (kb.root / "sources/other/other-report.md").unlink()


def _add(kb):
    kb.claim("claim-new", folder="t9")


def _touch(kb):
    os.utime(kb.root / "claims/t0/claim-2.md")


def _same_size_and_mtime(kb):
    path = kb.root / "claims/t0/claim-2.md"
    info = path.stat()
    path.write_text(path.read_text().replace("5 billion", "6 billion"))
    assert path.stat().st_size == info.st_size
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def _settings(kb):
    kb.settings('snapshots = ["archive"]\n[rules]\nKB401 = "error"\n')


def _pyproject(kb):
    (kb.root / "pyproject.toml").write_text('[tool.kb]\ntoday = "2030-01-01"\n', encoding="utf-8")


def _snapshot(kb):
    (kb.root / "archive" / "outlet-report.html").write_text("<p>something else entirely</p>", encoding="utf-8")


def _snapshot_same_size_and_mtime(kb):
    path = kb.root / "archive" / "outlet-report.html"
    info = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("lose 5", "lose 6"), encoding="utf-8")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def _empty_archive(kb):
    kb.settings('snapshots = ["more"]\n')
    assert_fresh(kb.root)
    (kb.root / "more").mkdir()  # an empty folder: nothing else changes


def _corrupt(kb):
    for entries in (kb.root / ".kb-cache").glob("entries-*"):
        entries.write_bytes(entries.read_bytes()[:-100] + b"x" * 100)
    (kb.root / ".kb-cache" / "manifest").write_bytes(b"garbage")
    _edit(kb)


def _truncate(kb):
    for path in (kb.root / ".kb-cache").glob("*"):
        if path.name != ".gitignore":
            path.write_bytes(path.read_bytes()[:50])
    _edit(kb)


CHANGES = [
    _edit,
    _rename,
    _delete,
    _add,
    _touch,
    _same_size_and_mtime,
    _settings,
    _pyproject,
    _snapshot,
    _snapshot_same_size_and_mtime,
    _empty_archive,
    _corrupt,
    _truncate,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_cached_build_and_check_equal_a_clean_one(base, change, monkeypatch):
    assert_fresh(base.root)
    if change is _same_size_and_mtime:
        monkeypatch.setattr(kb.cache, "RACY_NS", 0)  # only ctime can tell now
    change(base)
    assert_fresh(base.root)


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_the_manifest_digest_stands_for_the_files_only_when_they_all_match(base, change, monkeypatch):
    """The no-op answer (current_fingerprint) takes the manifest's files digest when every
    file matches it: with the racy guard off, so that only the stats can tell, it equals the
    fingerprint of the files read afresh, before and after each change."""
    monkeypatch.setattr(kb.cache, "RACY_NS", -(10**19))  # nothing is racy: the stats alone decide

    def afresh() -> str:
        settings = load_settings(base.root)
        return kb_inputs.fingerprint(
            settings, None, kb_inputs.files_digest(kb_inputs.current_hashes(settings, use_cache=False))
        )

    run("build", "--allow-errors", "--root", str(base.root))
    settings = load_settings(base.root)
    hashes, digest = kb_inputs._current(settings, None, None)
    assert digest is not None and digest == kb_inputs.files_digest(hashes)  # the shortcut was taken
    assert kb_inputs.current_fingerprint(settings) == afresh()
    change(base)
    assert kb_inputs.current_fingerprint(load_settings(base.root)) == afresh()
    assert_fresh(base.root)


def test_overlapping_folders_never_hide_an_edit(kb, monkeypatch):
    """With the sources folder inside the claims folder its files are walked twice: the
    manifest shortcut must still see an edit elsewhere (a count of matches did not)."""
    monkeypatch.setattr(kbcache, "RACY_NS", -(10**19))  # nothing is racy: the stats alone decide
    kb.settings('claims = "."\n')
    kb.source()
    kb.claim("claim-0", folder="t0")
    run("build", "--allow-errors", "--root", str(kb.root))
    settings = load_settings(kb.root)
    before = kb_inputs.current_fingerprint(settings)
    assert kb_inputs._current(settings, None, None)[1] is not None  # nothing changed: the shortcut
    path = kb.root / "claims/t0/claim-0.md"
    path.write_text(path.read_text().replace("5 billion", "7.5 billion"))
    fresh = kb_inputs.fingerprint(
        settings, None, kb_inputs.files_digest(kb_inputs.current_hashes(settings, use_cache=False))
    )
    assert kb_inputs.current_fingerprint(settings) == fresh != before


def test_the_forked_stat_walk_equals_the_serial_one(base, monkeypatch):
    """Past FORK_THRESHOLD files a child process walks every other folder: the same answer,
    with files known, edited, unreadable as files (a linked folder) and new."""
    import threading

    monkeypatch.setenv("KB_JOBS", "2")
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    run("build", "--allow-errors", "--root", str(base.root))
    _edit(base)
    _add(base)
    (base.root / "claims" / "linked").symlink_to(base.root / "sources", target_is_directory=True)
    settings = load_settings(base.root)
    monkeypatch.setattr(kb_inputs, "FORK_THRESHOLD", 10**9)
    serial = kb_inputs._current(settings, None, None)
    monkeypatch.setattr(kb_inputs, "FORK_THRESHOLD", 0)
    forked = []
    real = kb_inputs._in_two
    monkeypatch.setattr(kb_inputs, "_in_two", lambda *args, **kw: forked.append(kw["weights"]) or real(*args, **kw))
    assert kb_inputs._current(settings, None, None) == serial and forked
    assert serial[0]["claims/linked"] is None and "claims/t9/claim-new.md" in serial[0]


def test_the_walk_is_split_by_the_files_each_folder_held(monkeypatch):
    """Each walk task weighs what the manifest holds under its folder (right in it, for a
    shallow one), and the heaviest go first, each to the lighter half: one large topic does
    not leave one process walking twice what the other does."""
    monkeypatch.setattr(kb_inputs, "SAMPLE", 1)
    root = Path("/kb")
    manifest = dict.fromkeys(
        [f"claims/big/b{i // 10}/c{i}.md" for i in range(60)]
        + [f"claims/small{n}/c{i}.md" for n in range(6) for i in range(10)]
        + [f"claims/c{i}.md" for i in range(3)]
        + [f"sources/s{i}.md" for i in range(4)]
    )
    tasks = [("/kb/claims", False), ("/kb/sources", False), ("/kb/claims/big", True)]
    tasks += [(f"/kb/claims/small{n}", True) for n in range(6)]
    weights = kb_inputs._weights(tasks, root, manifest)
    assert weights == [4, 5, 61] + [11] * 6
    mine, theirs = kb_inputs._halves(tasks, weights)
    # big (61) against the six small folders (66), the shallow tasks to whichever is lighter
    assert mine == [("/kb/claims/big", True), ("/kb/sources", False), ("/kb/claims", False)]
    assert theirs == [(f"/kb/claims/small{n}", True) for n in range(6)]
    assert kb_inputs._halves(tasks, None) == (tasks[0::2], tasks[1::2])


def _fails_in_a_child(tasks, parent):
    if os.getpid() != parent:
        raise RuntimeError("the child fails")
    return ([task for task in tasks],)


def test_a_failed_child_s_part_is_done_by_the_parent(monkeypatch):
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    # the parent's part, then the child's (every other task), redone here
    assert kb_inputs._in_two(_fails_in_a_child, list(range(5)), os.getpid()) == ([0, 2, 4, 1, 3],)


def test_a_forked_function_closed_before_its_result_leaves_no_child(monkeypatch):
    import threading
    import time

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    slow = kb_inputs.Forked(time.sleep, 60)
    assert slow.forked
    child = slow.child
    slow.close()
    with pytest.raises(ChildProcessError):  # killed and reaped
        os.waitpid(child, os.WNOHANG)
    quick = kb_inputs.Forked(os.getpid)
    assert quick.result() != os.getpid()  # it ran in the child


def test_a_forked_function_is_ready_once_its_result_is_sent(monkeypatch):
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    read, write = os.pipe()
    try:
        waiting = kb_inputs.Forked(os.read, read, 1)  # the child waits for a byte from here
        try:
            assert waiting.forked
            time.sleep(0.2)
            assert not waiting.ready()
            os.write(write, b"x")
            deadline = time.monotonic() + 30
            while not waiting.ready() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert waiting.ready() and waiting.result() == b"x"
        finally:
            waiting.close()
    finally:
        os.close(read)
        os.close(write)
    here = kb_inputs.Forked(os.getpid, fork=False)
    assert here.ready() and here.result() == os.getpid()  # nothing to wait for: run when asked


def test_a_process_forked_from_kb_leaves_kb_s_children_alone(monkeypatch):
    """A process forked from one that uses kb (a test's, a library caller's) has copies of
    its background writers: it neither waits for their children (not its own: an internal
    error) nor kills them."""
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    slow = kb_inputs.Forked(time.sleep, 30)
    assert slow.forked and slow.ours
    monkeypatch.setattr(kbcache, "_WRITERS", [slow])  # as in_background registers a writer
    try:
        pid = os.fork()
        if pid == 0:  # never returns into pytest
            code = 1
            try:
                kbcache.wait_for_writers()
                slow.close()
                code = 0 if not slow.ours else 2
            finally:
                os._exit(code)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert os.waitpid(slow.child, os.WNOHANG) == (0, 0)  # still running, still this process's
    finally:
        slow.close()


def test_build_after_check_renders_the_bodies_check_cached_unrendered(base):
    """`kb check` caches files without their rendered bodies (it does not render): the build
    that follows renders them, and equals a clean build."""
    (base.root / "claims/t0/claim-0.md").write_text(
        (base.root / "claims/t0/claim-0.md").read_text() + "\n**Bold** and a [link](https://example.com).\n"
    )
    run("check", "--exit-zero", "--root", str(base.root))
    stored = kbcache.Cache(base.root).entries.values()
    assert {loaded.record.body_html for loaded in stored if loaded.record} == {None}
    assert_fresh(base.root)
    html = {row["id"]: row["body_html"] for row in tables(base.root / "kb.db")["claims"]}
    assert "<strong>Bold</strong>" in html["claim-0"]
    # the build put the HTML in the cache: the next check and build use it
    assert all(loaded.record.body_html for loaded in kbcache.Cache(base.root).entries.values() if loaded.record)


def test_one_edit_rewrites_only_the_shards_of_its_old_and_new_entry(base):
    run("check", "--exit-zero", "--root", str(base.root))
    folder = base.root / ".kb-cache"
    before = {path.name: path.stat().st_mtime_ns for path in folder.glob("entries-*")}
    assert len(before) > 2

    def shard() -> str:
        digest = kb.inputs.current_hashes(load_settings(base.root))["claims/t0/claim-0.md"]
        [key] = [key for key in kbcache.Cache(base.root).entries if key.endswith(digest)]
        return f"entries-{kbcache.shard_of(key):02x}"

    old = shard()
    _edit(base)
    run("check", "--exit-zero", "--root", str(base.root))
    after = {path.name: path.stat().st_mtime_ns for path in folder.glob("entries-*")}
    assert {name for name in after if after[name] != before.get(name)} == {old, shard()}
    assert_fresh(base.root)


def test_date_change(base):
    assert_fresh(base.root, "--today", "2026-11-23")
    assert_fresh(base.root, "--today", "2031-05-01")


def test_cache_signed_with_another_key_is_ignored(base, tmp_path, monkeypatch):
    assert_fresh(base.root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))
    _edit(base)
    assert_fresh(base.root)


def test_kb_version_change(base, monkeypatch):
    assert_fresh(base.root)
    for module in (kb.cache, kb.inputs):
        monkeypatch.setattr(module, "__version__", "99.0")
    _edit(base)
    assert_fresh(base.root)


def test_a_foreign_cache_is_never_unpickled(base, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    assert_fresh(base.root)
    folder = base.root / ".kb-cache"
    header = kb.cache._header()
    names = [path.name for path in folder.glob("entries-*")]
    assert names
    for name in (*names, "manifest", "findings"):
        (folder / name).write_bytes(header + b"\0" * 32 + pickle.dumps(Evil()))
    assert_fresh(base.root)
    assert not marker.exists()


def test_no_op_build_writes_nothing(base):
    first = run("build", "--allow-errors", "--root", str(base.root))
    assert first.startswith("Built ")
    before = (base.root / "kb.db").stat().st_mtime_ns
    again = run("build", "--allow-errors", "--root", str(base.root))
    assert "is up to date: 7 claims, 2 sources" in again
    assert (base.root / "kb.db").stat().st_mtime_ns == before
    (base.root / "kb.db").unlink()
    assert run("build", "--allow-errors", "--root", str(base.root)).startswith("Built ")
    assert run("build", "--allow-errors", "--root", str(base.root), "--today", "2030-01-01").startswith("Built ")


def test_no_op_build_with_errors_refuses_without_allow_errors(base):
    run("build", "--allow-errors", "--root", str(base.root))
    result = CliRunner().invoke(main, ["build", "--root", str(base.root)])
    assert result.exit_code == 1
    assert "not built" in result.output


def test_exports_after_a_no_op_build(base):
    run("build", "--allow-errors", "--root", str(base.root))
    out = run("build", "--allow-errors", "--root", str(base.root), "--export", "json")
    assert "is up to date" in out
    exported = (base.root / "kb.graph.json").read_text()
    (base.root / "kb.graph.json").unlink()
    run("build", "--allow-errors", "--no-cache", "--root", str(base.root), "--export", "json")
    assert (base.root / "kb.graph.json").read_text() == exported


def test_input_hash_is_of_the_bytes_parsed(base):
    """A file edited after it was read but before the database is written: stale."""
    analysis = analyse(base.root)
    _edit(base)
    build_database(analysis, allow_errors=True)
    assert is_stale(load_settings(base.root))
    again = analyse(base.root)
    build_database(again, allow_errors=True)
    assert not is_stale(load_settings(base.root))


def test_cache_folder_is_ignored_by_git(base):
    run("check", "--exit-zero", "--root", str(base.root))
    assert (base.root / ".kb-cache" / ".gitignore").read_text() == "*\n"


def _many(kb, count: int) -> None:
    kb.source()
    for i in range(count):
        extra = "  - source: nowhere\n" if i % 37 == 0 else ""
        kb.claim(f"claim-{i}", folder=f"f{i % 7}", extra=extra)
        if i % 53 == 0:
            kb.claim(f"bad-{i}", folder="bad", text=f"---\nid: bad-{i}\nvalue: [\n---\n")


def _loaded(kb_root: Path, render: bool = False):
    corpus = load_corpus(load_settings(kb_root), cache=False, render=render)
    return corpus.findings, list(corpus.claims.items()), list(corpus.sources.items()), corpus.files_digest


def test_unpickled_records_share_their_fields_sets_and_path_tuples(kb, monkeypatch):
    """Records from the cache, or from parsing workers (pickled in chunks), share one set of
    fields set per combination and one tuple of field paths per document shape, as records
    parsed in this process do."""
    _many(kb, 120)
    monkeypatch.setattr(kbcache, "PARALLEL_THRESHOLD", 20)
    monkeypatch.setattr(kbcache, "CHUNK", 8)
    monkeypatch.setenv("KB_JOBS", "2")
    for _ in ("from workers", "from the cache"):
        corpus = load_corpus(load_settings(kb.root))
        claims = [corpus.claims[f"claim-{i}"] for i in range(1, 36) if i % 37]
        assert len({id(record.model.__pydantic_fields_set__) for record in claims}) == 1
        assert len({id(record.model.evidence[0].__pydantic_fields_set__) for record in claims}) == 1
        assert len({id(record.document._paths) for record in claims}) == 1


def test_parallel_equals_serial(kb, monkeypatch):
    _many(kb, 400)
    monkeypatch.setattr(kbcache, "PARALLEL_THRESHOLD", 50)
    monkeypatch.setattr(kbcache, "CHUNK", 16)
    monkeypatch.setenv("KB_JOBS", "1")
    serial = _loaded(kb.root)
    monkeypatch.setenv("KB_JOBS", "2")
    parallel = _loaded(kb.root)
    assert parallel == serial
    rendered = _loaded(kb.root, render=True)
    assert rendered[1][0][1].body_html == "<p>Notes on the claim.</p>\n"
    monkeypatch.setenv("KB_JOBS", "1")
    assert _loaded(kb.root, render=True) == rendered


def test_cached_bodies_are_rendered_in_parallel_like_serially(kb, monkeypatch):
    _many(kb, 300)
    monkeypatch.setattr(kbcache, "PARALLEL_THRESHOLD", 50)
    monkeypatch.setattr(kbcache, "CHUNK", 16)
    settings = load_settings(kb.root)
    load_corpus(settings)  # fills the cache, bodies unrendered
    monkeypatch.setenv("KB_JOBS", "2")
    parallel = load_corpus(settings, render=True)
    serial = load_corpus(settings, cache=False, render=True)
    assert [r.body_html for r in parallel.claims.values()] == [r.body_html for r in serial.claims.values()]
    assert all(r.body_html for r in parallel.claims.values())


def test_a_dying_worker_falls_back_to_serial(kb, monkeypatch):
    _many(kb, 200)
    cache_module = kbcache
    monkeypatch.setattr(cache_module, "PARALLEL_THRESHOLD", 50)
    monkeypatch.setattr(cache_module, "CHUNK", 16)
    monkeypatch.setenv("KB_JOBS", "1")
    serial = _loaded(kb.root)
    monkeypatch.setenv("KB_JOBS", "2")
    parent = os.getpid()
    real = kbload.parse_file
    calls_here = []

    def dying(*args, **kwargs):
        # kb.cache._parse_one imports kb.load.parse_file in the worker: the worker dies on
        # its first file (os._exit: no exception, no clean-up), the parent carries on
        if os.getpid() != parent:
            os._exit(3)
        calls_here.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(kbload, "parse_file", dying)
    assert _loaded(kb.root) == serial
    assert len(calls_here) == 200 + 4 + 1  # every file was parsed again here, after the pool broke


def test_a_clean_build_or_check_does_not_hash_every_file_before_reading_it(kb, monkeypatch):
    """Without a manifest, "is anything changed?" stops after QUICK_READS files instead of
    hashing the whole tree only to learn that everything must be read."""
    _many(kb, 60)
    monkeypatch.setattr(kb_inputs, "QUICK_READS", 5)
    monkeypatch.setattr(kb_state, "QUICK_READS", 5)
    monkeypatch.setattr(kbcache, "RACY_NS", 0)  # the files were all written within the last 2 s
    hashed = []
    real = kb_inputs._hash_file
    monkeypatch.setattr(kb_inputs, "_hash_file", lambda digest, path: hashed.append(path) or real(digest, path))
    run("check", "--exit-zero", "--root", str(kb.root))
    run("build", "--allow-errors", "--root", str(kb.root))
    assert len([p for p in hashed if p.suffix == ".md"]) <= 2 * 5
    out = run("build", "--allow-errors", "--root", str(kb.root))
    assert "is up to date" in out  # with the manifest written, nothing is read at all


def test_the_single_entries_file_of_cache_format_1_is_removed(base):
    folder = base.root / ".kb-cache"
    folder.mkdir()
    (folder / "entries").write_bytes(b"kb-cache\0" + b"x" * 1000)  # what an older kb left
    run("check", "--exit-zero", "--root", str(base.root))
    assert not (folder / "entries").exists() and list(folder.glob("entries-*"))


def test_a_background_write_is_there_for_the_next_read_and_never_overwrites_a_later_one(tmp_path, monkeypatch):
    import threading
    import time

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads

    def slow_save(root, name, value):
        time.sleep(0.3)
        kbcache.save_signed(root, name, value)

    kbcache.in_background(slow_save, tmp_path, "x", 1)
    assert kbcache._WRITERS  # a child writes it
    assert kbcache.load_signed(tmp_path, "x") == 1  # the read waited for it
    kbcache.in_background(slow_save, tmp_path, "x", 2)
    kbcache.save_signed(tmp_path, "x", 3)  # waits for the child's write first: the last one wins
    assert kbcache.load_signed(tmp_path, "x") == 3
    assert not kbcache._WRITERS


def test_a_settings_file_edited_during_a_build_or_check_leaves_it_stale(base):
    """What the fingerprint holds of the settings is what was read, not what is on disk
    when the build ends: a kb.toml edited meanwhile makes the next build and check run."""
    from kb.analyse import analyse_settings
    from kb.checking import check_findings
    from kb.database import build_database
    from kb.database.state import up_to_date
    from kb.settings_file import quick_settings

    settings = load_settings(base.root)
    settings_path = base.root / "kb.toml"
    settings_path.write_text(settings_path.read_text() + '\n[rules]\nKB103 = "error"\n')  # after it was read
    build_database(analyse_settings(settings, render=True), allow_errors=True)
    check_findings(settings)
    assert up_to_date(quick_settings(base.root)) is None  # the build must run again
    assert "is up to date" not in run("build", "--allow-errors", "--root", str(base.root))
    assert "is up to date" in run("build", "--allow-errors", "--root", str(base.root))
    stored = check_findings(load_settings(base.root))
    assert stored == check_findings(load_settings(base.root), cache=False)  # the new rule's severity


def test_the_cache_written_by_a_child_is_there_for_the_next_command(base, monkeypatch):
    """Past PARALLEL_THRESHOLD files parsed, a forked child writes the cache while the build
    goes on: the next build (and check) finds it whole."""
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    monkeypatch.setattr(kbcache, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setenv("KB_JOBS", "1")  # (parsing in this process: only the write is forked)
    written = []
    real = kbcache.in_background
    monkeypatch.setattr(kbcache, "in_background", lambda *args, **kw: written.append(1) or real(*args, **kw))
    run("build", "--allow-errors", "--root", str(base.root))
    assert written
    assert "is up to date" in run("build", "--allow-errors", "--root", str(base.root))
    assert all(loaded.record or loaded.findings for loaded in kbcache.Cache(base.root).entries.values())
    assert len(kbcache.Cache(base.root).manifest) == len(list(base.root.rglob("*.md")))


def test_a_write_done_here_leaves_ctrl_c_as_it_was(tmp_path, monkeypatch):
    """Where no child can be forked the write runs in this process: Ctrl-C still interrupts
    it afterwards (a server started later would inherit an ignored SIGINT)."""
    import signal
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 2)  # a thread runs: no fork
    before = signal.getsignal(signal.SIGINT)
    kbcache.in_background(kbcache.save_signed, tmp_path, "x", 1)
    assert kbcache.load_signed(tmp_path, "x") == 1
    assert signal.getsignal(signal.SIGINT) == before


@pytest.mark.parametrize("field", [None, 0, 1, 2, 3, "racy"])
def test_the_walk_s_comparison_is_kb_cache_unchanged(tmp_path, field):
    """kb.inputs._compare writes kb.cache.unchanged out in its loop: a file is known exactly
    when ``unchanged`` says so, whichever of size, mtime, ctime, inode or the racy guard differs."""
    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "a.md").write_text("---\nid: a\n---\n", encoding="utf-8")
    (folder / "b.md").write_text("---\nid: b\n---\n", encoding="utf-8")
    manifest, racy = {}, time.time_ns() + 10**10
    for name in ("a.md", "b.md"):
        info = os.lstat(folder / name)
        manifest[f"claims/{name}"] = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, "h")
    if field == "racy":
        racy = 0
    elif field is not None:
        row = list(manifest["claims/a.md"])
        row[field] += 1
        manifest["claims/a.md"] = tuple(row)
    known, unknown, missing = kb_inputs._compare([(str(folder), True)], tmp_path, manifest, racy)
    expected = {
        relative for relative in manifest if kb.cache.unchanged(manifest[relative], os.lstat(tmp_path / relative), racy)
    }
    assert set(known) == expected and {relative for relative, _ in unknown} == set(manifest) - expected
    assert missing == [] and len(expected) == (2 if field is None else 1 if field != "racy" else 0)


def test_the_walk_s_comparison_finds_the_files_collect_files_lists(kb):
    """kb.inputs._compare writes kb.inputs._scan_entries out in its loop: it must find the
    same paths, whatever the folder holds (hidden files and folders, other extensions, deep
    folders, a linked folder, a linked file)."""
    kb.source()
    kb.claim()
    kb.write("claims/.hidden.md", "---\nid: x\n---\n")
    kb.write("claims/t/.dot/y.md", "---\nid: y\n---\n")
    kb.write("claims/t/notes.txt", "not a claim")
    kb.write("claims/deep/b/c/z.md", "---\nid: z\n---\n")
    (kb.root / "claims" / "linked").symlink_to(kb.root / "sources", target_is_directory=True)
    (kb.root / "claims" / "t" / "l.md").symlink_to(kb.root / "claims" / "deep" / "b" / "c" / "z.md")
    settings = load_settings(kb.root)
    known, unknown, missing = kb_inputs._compare(kb_inputs._tasks(settings), kb.root, {}, 0)
    found = [*known, *(relative for relative, _ in unknown), *missing]
    expected = [relative for relative, _ in kb_inputs._walk(settings)]
    assert sorted(found) == sorted(expected) and len(expected) == 5
    assert sorted(missing) == ["claims/linked", "claims/t/l.md"]


def test_a_walk_leaves_the_manifest_up_to_date(base, monkeypatch):
    """Files the manifest does not know as they are (edited, new, gone) are read once: the
    walk writes their rows (kb.inputs._current, refresh), so the next walk trusts them and
    takes the manifest's digest, where an update build's edits were read by every later
    no-op build. Each answer is the files as they are."""
    monkeypatch.setattr(kb.cache, "RACY_NS", 0)  # trusted once older than the manifest
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    run("build", "--allow-errors", "--root", str(base.root))
    reads: list[str] = []
    real = kb_inputs._hash_file
    monkeypatch.setattr(kb_inputs, "_hash_file", lambda digest, path: reads.append(path.name) or real(digest, path))
    settings = load_settings(base.root)

    def walk() -> tuple[dict, str | None]:
        hashes, digest = kb_inputs._current(settings, None, None)
        # the rows are written by a child that a read of another stored value does not wait for
        assert not kbcache._WRITERS
        kbcache.load_signed(base.root, kbcache.CHECK_STATE)
        kbcache.wait_for_writers()
        assert not kbcache._MANIFEST_WRITERS
        files = sorted(p.relative_to(base.root).as_posix() for p in base.root.glob("*/**/*.md"))
        assert sorted(hashes) == files  # as they are
        assert all(hashes[f] == hashlib.sha256((base.root / f).read_bytes()).hexdigest() for f in files)
        return hashes, digest

    _edit(base)
    _add(base)
    (base.root / "claims/t1/claim-1.md").unlink()
    time.sleep(0.01)
    hashes, digest = walk()
    assert sorted(reads) == ["claim-0.md", "claim-new.md"] and digest == kb_inputs.files_digest(hashes)
    reads.clear()
    time.sleep(0.01)
    assert walk() == (hashes, digest) and reads == []  # the manifest's digest, nothing read
    # edited again with the same size and modification time: the change time tells
    path = base.root / "claims/t0/claim-0.md"
    before = path.stat()
    path.write_text(path.read_text().replace("7.5 billion", "9.5 billion"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert walk()[0] != hashes and reads == ["claim-0.md"]
