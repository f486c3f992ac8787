"""Loading files into models: schema errors located at the field, ids, duplicates."""

from __future__ import annotations

import platform

import pytest

from kb.load import load_corpus, release_free_memory
from kb.settings import load_settings


def findings(kb):
    corpus = load_corpus(load_settings(kb.root))
    return corpus, [(f.path, f.line, f.column, f.code, f.message) for f in corpus.findings]


def test_clean_files_load(minimal):
    corpus, found = findings(minimal)
    assert found == []
    claim = corpus.claims["openai-2024-net-loss"].model
    assert claim.value.value == 5_000_000_000 and claim.period.text == "2024" and claim.stated.text == "2024-07-24"
    assert corpus.sources["outlet-report"].model.published.text == "2024-07-24"


def test_misspelt_field_points_at_its_line(kb):
    kb.source()
    kb.claim(extra="vaule: 3\n")
    _, found = findings(kb)
    assert found == [
        ("claims/openai/openai-2024-net-loss.md", 15, 1, "KB004", "unknown field `vaule` (did you mean `value`?)")
    ]


def test_nested_unknown_field_and_wrong_types(kb):
    kb.source()
    text = (kb.root / "claims").joinpath("x.md")
    kb.write(
        "claims/openai/x.md",
        "---\nid: x\nstatement: s\nkind: guess\napproximate: 'yes'\nvalue: 5 bilion\n"
        "metric: net_loss\nunit: USD\nstated: 2024-02-30\nevidence:\n  - source: outlet-report\n    qoute: a\n---\n",
    )
    _, found = findings(kb)
    assert found == [
        (
            "claims/openai/x.md",
            4,
            7,
            "KB004",
            "`kind`: Input should be 'fact', 'estimate', 'projection', 'prediction' or 'opinion', got the text 'guess'",
        ),
        ("claims/openai/x.md", 5, 14, "KB004", "`approximate`: Input should be a valid boolean, got the text 'yes'"),
        (
            "claims/openai/x.md",
            6,
            8,
            "KB004",
            "`value`: unknown magnitude word 'bilion' in '5 bilion' (did you mean `billion`?)",
        ),
        (
            "claims/openai/x.md",
            9,
            9,
            "KB004",
            "`stated`: '2024-02-30' is not a real date: day is out of range for month",
        ),
        ("claims/openai/x.md", 12, 5, "KB004", "unknown field `evidence[0].qoute` (did you mean `quote`?)"),
    ]
    assert not text.exists()


def test_strict_types(kb):
    kb.source()
    kb.write("claims/a/x.md", "---\nid: x\nstatement: 5\nkind: fact\ntags: NO\n---\n")
    _, found = findings(kb)
    assert [(f[1], f[4]) for f in found] == [
        (3, "`statement`: Input should be a valid string, got the number 5"),
        (5, "`tags`: Input should be a valid list, got the text 'NO'"),
    ]


def test_missing_fields_and_value_without_unit(kb):
    kb.write("claims/a/x.md", "---\nid: x\nkind: fact\nvalue: 5\nmetric: revenue\n---\n")
    _, found = findings(kb)
    assert [(f[1], f[4]) for f in found] == [(1, "missing required field `statement`")]
    kb.write("claims/a/x.md", "---\nid: x\nstatement: s\nkind: fact\nvalue: 5\nmetric: revenue\n---\n")
    _, found = findings(kb)
    assert [(f[1], f[4]) for f in found] == [(5, "`value`: a claim with a value needs a `unit`")]


def test_ids(kb):
    kb.source()
    kb.claim("Bad_Id", folder="a")
    kb.claim("right-name", folder="a", text="---\nid: wrong-name\nstatement: s\nkind: fact\n---\n")
    kb.claim("outlet-report", folder="a", text="---\nid: outlet-report\nstatement: s\nkind: fact\n---\n")
    _corpus, found = findings(kb)
    assert [(f[0], f[3]) for f in found] == [
        ("claims/a/Bad_Id.md", "KB007"),
        ("claims/a/right-name.md", "KB006"),
        ("sources/outlet/outlet-report.md", "KB005"),
    ]
    assert "also used by claims/a/outlet-report.md" in found[2][4]


def test_unreadable_and_hidden_files(kb):
    (kb.root / "claims" / "bin.md").write_bytes(b"---\nid: bin\x00\n---\n")
    (kb.root / "claims" / ".draft.md").write_text("not even frontmatter")
    _, found = findings(kb)
    assert found == [("claims/bin.md", 2, 1, "KB001", "file contains a NUL byte: is it a binary file?")]


def test_symlink_outside_is_refused(kb, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "secret.md"
    outside.write_text("---\nid: secret\n---\n")
    (kb.root / "claims" / "secret.md").symlink_to(outside)
    _, found = findings(kb)
    assert [f[3:] for f in found] == [("KB001", "symbolic link points outside the knowledge base")]


def test_loaded_models_keep_pydantic_s_api(kb):
    """Loaded models share their fields-set (memory), and still serve every pydantic call."""
    kb.source()
    kb.claim()
    kb.claim(
        "openai-2024-net-loss-2",
        text=(kb.root / "claims/openai/openai-2024-net-loss.md")
        .read_text()
        .replace("openai-2024-net-loss", "openai-2024-net-loss-2"),
    )
    corpus = load_corpus(load_settings(kb.root))
    first, second = (record.model for record in corpus.claims.values())
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__  # shared
    unset = first.model_dump(exclude_unset=True)
    assert "verdict" not in unset and unset["statement"] == first.statement
    assert '"statement"' in first.model_dump_json(exclude_unset=True)
    copy = first.model_copy(update={"statement": "Changed."})
    assert copy.statement == "Changed." and first.statement != "Changed."
    assert "statement" in second.__pydantic_fields_set__ and "verdict" not in second.__pydantic_fields_set__


def _resident_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim")
def test_release_free_memory_gives_the_freed_heap_back():
    # What a large load leaves: many buffers freed between objects that stay (so that the
    # heap cannot shrink from its top), which glibc keeps resident until trimmed.
    kept, freed = [], []
    for _ in range(5_000):
        freed.append(bytearray(20_000))
        kept.append(bytearray(600))
    del freed
    before = _resident_bytes()
    release_free_memory()
    assert before - _resident_bytes() > 50 * 2**20
    assert len(kept) == 5_000


def test_a_large_load_releases_free_memory(kb, monkeypatch):
    calls = []
    monkeypatch.setattr("kb.load.release_free_memory", lambda: calls.append(1))
    kb.source()
    kb.claim()
    load_corpus(load_settings(kb.root))
    assert calls == []  # a small knowledge base: not worth importing ctypes
    monkeypatch.setattr("kb.load.TRIM_FILES", 2)
    load_corpus(load_settings(kb.root))
    assert calls == [1]


def test_values_many_files_repeat_are_one_object_each(kb, monkeypatch):
    # kb.load._share_values: equal dates, periods and the source ids evidence names, shared
    monkeypatch.setattr("kb.cache.PARALLEL_THRESHOLD", 2)  # through the workers, as a large load
    kb.source()
    kb.source("relay", extra="cites: [outlet-report]\n")
    kb.claim("a", extra="    via: relay\n")
    kb.claim("b", extra="  - source: relay\n")
    corpus = load_corpus(load_settings(kb.root), cache=False)
    a, b = corpus.claims["a"].model, corpus.claims["b"].model
    outlet, relay = (next(key for key in corpus.sources if key == id_) for id_ in ("outlet-report", "relay"))
    assert a.stated is b.stated is corpus.sources["outlet-report"].model.published
    assert a.period is b.period and str(a.period) == "2024"
    assert a.evidence[0].source is b.evidence[0].source is outlet
    assert a.evidence[0].via is b.evidence[1].source is relay
    # the same values as a file validated alone
    for record in corpus.claims.values():
        assert record.model == type(record.model).model_validate(record.model.model_dump())
