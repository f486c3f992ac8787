"""A re-check after edits (kb.incremental) gives exactly the findings of a full check.

A generated knowledge base is checked once; then random edits of every kind that reaches
other files (figures, subjects, metrics, periods, kinds, references, translation chains,
cycles, duplicates, broken files, renames, deletions, acknowledgements, snapshots) are made
one after the other, and after each the `kb check` output is compared with that of
`kb check --no-cache`. No full check may have run (the timings show no "load"), so that a silent fall-back to a full check cannot pass for it.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb import checking, incremental
from kb.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import generate

# more with KB_TEST_SEEDS=40 KB_TEST_STEPS=25 (1,000 edits, 4.5 minutes: all equal)
SEEDS = int(os.environ.get("KB_TEST_SEEDS", "6"))
STEPS = int(os.environ.get("KB_TEST_STEPS", "12"))

SETTINGS_EXTRA = """
[[relations]]
left = "annualized_revenue"
right = "monthly_revenue"
factor = 12

[metrics.homemade]
description = "a metric without a unit"
"""


def check(root: Path, *extra: str, timings: Path | None = None) -> str:
    env = {"KB_TIMINGS": str(timings)} if timings else {}
    result = CliRunner().invoke(
        main, ["check", "--exit-zero", "--format", "json", "--root", str(root), *extra], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def claims(root: Path) -> list[Path]:
    return sorted((root / "claims").rglob("*.md"))


def sources(root: Path) -> list[Path]:
    return sorted((root / "sources").rglob("*.md"))


def _field(path: Path, name: str, value: str) -> None:
    text = path.read_text(encoding="utf-8")
    head, sep, body = text[4:].partition("\n---\n")
    if re.search(rf"^{name}:.*$", head, flags=re.M):
        head = re.sub(rf"^{name}:.*$", lambda _: f"{name}: {value}", head, count=1, flags=re.M)
    else:
        head += f"\n{name}: {value}"
    path.write_text("---\n" + head + sep + body, encoding="utf-8")


def _id(path: Path) -> str:
    return path.stem


def edit_value(rng, root):
    _field(rng.choice(claims(root)), "value", f'"{rng.choice([1.2, 5, 40, 700])} {rng.choice(["million", "billion"])}"')


def edit_subject(rng, root):
    _field(rng.choice(claims(root)), "subject", rng.choice(['"OpenAI"', '"Anthropic"', '"Nvidia"', '"Baidu"']))


def edit_metric(rng, root):
    _field(rng.choice(claims(root)), "metric", rng.choice(["revenue", "monthly_revenue", "homemade", "net_loss"]))


def edit_unit(rng, root):
    _field(rng.choice(claims(root)), "unit", rng.choice(["USD", "percent", "USD/month", "count"]))


def edit_period(rng, root):
    _field(rng.choice(claims(root)), "period", rng.choice(['"2024"', '"2024-Q1"', '"2023"', '"2025-H2"']))


def edit_kind(rng, root):
    _field(rng.choice(claims(root)), "kind", rng.choice(["projection", "fact", "estimate", "prediction"]))


def delete_claim(rng, root):
    rng.choice(claims(root)).unlink()


def delete_source(rng, root):
    rng.choice(sources(root)).unlink()


def rename_claim(rng, root):
    path = rng.choice(claims(root))
    path.rename(path.with_name(f"renamed-{rng.randrange(10**6)}.md"))


def copy_claim(rng, root):
    path = rng.choice(claims(root))
    new_id = f"copy-{rng.randrange(10**6)}"
    target = path.with_name(f"{new_id}.md")
    target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    if rng.random() < 0.7:
        _field(target, "id", new_id)  # else: a duplicate id (KB005, KB006)


def break_file(rng, root):
    path = rng.choice(claims(root) + sources(root))
    path.write_text(path.read_text(encoding="utf-8").replace("\n---\n", "\nbad: [unclosed\n---\n", 1), encoding="utf-8")


def unknown_reference(rng, root):
    target = _id(rng.choice(sources(root)))
    _field(rng.choice(claims(root)), "supersedes", target[:-1] + "x")


def claim_reference(rng, root):
    a, b = rng.choice(claims(root)), rng.choice(claims(root))
    relation = rng.choice(["supersedes", "supports", "resolves", "contradicts", "derived_from"])
    value = {
        "supersedes": _id(b),
        "supports": f"[{_id(b)}]",
        "resolves": f"{{claim: {_id(b)}, outcome: correct}}",
        "contradicts": f"[{{claim: {_id(b)}}}]",
        "derived_from": f'{{formula: "x * 2", inputs: {{x: {_id(b)}}}}}',
    }[relation]
    _field(a, relation, value)


def translation(rng, root):
    a, b = rng.choice(sources(root)), rng.choice(sources(root))
    _field(a, rng.choice(["translation_of", "cites"]), _id(b) if rng.random() < 0.5 else f"[{_id(b)}]")


def cycle(rng, root):
    a, b = rng.sample(sources(root), 2)
    _field(a, "cites", f"[{_id(b)}]")
    _field(b, "cites", f"[{_id(a)}]")


def acknowledge(rng, root):
    code = rng.choice(["KB301", "KB304", "KB202", "KB103", "KB999"])
    _field(rng.choice(claims(root) + sources(root)), "acknowledge", f'{{{code}: "seen"}}')


def snapshot(rng, root):
    _field(rng.choice(sources(root)), "snapshot", rng.choice(["page.html", "absent.html"]))


def body_only(rng, root):
    path = rng.choice(claims(root) + sources(root))
    path.write_text(path.read_text(encoding="utf-8") + f"\nMore notes {rng.random()}.\n", encoding="utf-8")


EDITS = [
    edit_value,
    edit_subject,
    edit_metric,
    edit_unit,
    edit_period,
    edit_kind,
    delete_claim,
    delete_source,
    rename_claim,
    copy_claim,
    break_file,
    unknown_reference,
    claim_reference,
    translation,
    cycle,
    acknowledge,
    snapshot,
    body_only,
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("generated") / "kb"
    generate(root, 300, seed=11)
    settings = root / "kb.toml"
    settings.write_text(
        'snapshots = ["archive"]\n' + settings.read_text(encoding="utf-8") + SETTINGS_EXTRA, encoding="utf-8"
    )
    (root / "archive").mkdir()
    (root / "archive" / "page.html").write_text("<p>nothing quoted here</p>", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("seed", "preload"), [*((seed, False) for seed in range(SEEDS)), *((seed, True) for seed in range(100, 102))]
)
def test_a_recheck_after_edits_equals_a_full_check(generated, tmp_path, seed, preload, monkeypatch):
    """``preload``: a forked child walks the files while the check loads the state, as it
    does for a large knowledge base."""
    import shutil
    import threading

    # every region re-checked, however large (on 300 claims most would be over the share
    # past which a full check is quicker): the region's bounds are what is under test
    monkeypatch.setattr(incremental, "MAX_SHARE", 1.0)
    if preload:
        monkeypatch.setattr(checking, "PRELOAD_BYTES", 0)
        monkeypatch.setenv("KB_JOBS", "2")
        monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    rng = random.Random(seed)
    check(root)  # the full check that leaves the state
    timings = tmp_path / "timings.json"
    full = []
    for step in range(STEPS):
        edit = rng.choice(EDITS)
        edit(rng, root)
        got = check(root, timings=timings)
        stages = json.loads(timings.read_text())["timings"]
        assert got == check(root, "--no-cache"), f"step {step}: {edit.__name__}"
        assert ("load state" in stages) == preload
        # preloaded, the state is the answer even when nothing changed: no stored report
        assert ("recheck" in stages) if preload else ("fingerprint" in stages)
        if "load" in stages:  # (an edit that changed nothing needs neither: the stored findings)
            full.append(edit.__name__)
    assert full == []
    assert check(root, timings=timings) == got  # nothing changed since
    assert ("recheck" in json.loads(timings.read_text())["timings"]) == preload


def _packed_parts(monkeypatch) -> list:
    """The Packed parts of every state loaded from now on (kb.incremental._packed is what
    unpickles them)."""
    made: list = []
    real = incremental._packed
    monkeypatch.setattr(incremental, "_packed", lambda data: made.append(real(data)) or made[-1])
    return made


def _unpickled(parts: list) -> list[str]:
    """Which parts a re-check asked for: dict (the raw findings), list (the finished ones)."""
    return sorted(type(part._value).__name__ for part in parts if part._data is None)


def test_a_packed_part_is_unpickled_when_asked_for_and_saved_again_as_it_came():
    import pickle

    part = pickle.loads(pickle.dumps(incremental.Packed({"claims/a.md": ["finding"]})))
    again = pickle.loads(pickle.dumps(part))  # (a state saved again without asking for it)
    assert part._data is not None and again._data == part._data
    assert again.value == {"claims/a.md": ["finding"]} and again._data is None
    assert pickle.loads(pickle.dumps(again)).value == again.value


def test_checks_run_by_a_forked_child_find_what_one_process_finds(generated, monkeypatch):
    """kb.checks.IN_CHILD: on a large knowledge base a child runs some of the checks."""
    import threading

    import kb.checks
    from kb.inputs import Forked

    serial = check(generated, "--no-cache")
    monkeypatch.setattr(kb.checks, "FORK_CHECKS_AT", 0)
    monkeypatch.setenv("KB_JOBS", "2")
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # other tests may have left threads
    sent: list = []
    real = Forked.result
    monkeypatch.setattr(Forked, "result", lambda self: sent.append((self.forked, real(self))) or sent[-1][1])
    assert check(generated, "--no-cache") == serial
    [(forked, per_check)] = [item for item in sent if isinstance(item[1], list)]
    assert forked and len(per_check) == len(kb.checks.IN_CHILD)
    assert {finding.code for found in per_check for finding in found} >= {"KB301", "KB401"}


def test_while_the_walk_runs_the_check_unpickles_the_raw_findings_first():
    """kb.checking._prepare: what a re-check of an edited frontmatter needs, only while the
    walk is not done, and never the finished findings."""
    import pickle
    from types import SimpleNamespace

    def state():
        return pickle.loads(
            pickle.dumps(SimpleNamespace(raw=incremental.Packed({"a.md": []}), findings=incremental.Packed([])))
        )

    walking = state()
    checking._prepare(walking, lambda: False)
    assert walking.raw._data is None and walking.raw.value == {"a.md": []}
    assert walking.findings._data is not None
    walked = state()
    checking._prepare(walked, lambda: True)
    assert walked.raw._data is not None and walked.findings._data is not None
    answers = iter([False, True])  # done once the first step is
    once = state()
    checking._prepare(once, lambda: next(answers))
    assert once.raw._data is None and next(answers, "asked twice") == "asked twice"


def test_a_body_only_edit_reads_no_other_file(generated, tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    check(root)
    parsed = []
    original = incremental._parse_into
    monkeypatch.setattr(
        incremental, "_parse_into", lambda loaded, paths, *a: parsed.extend(paths) or original(loaded, paths, *a)
    )
    finished = []  # the state's own findings are returned, not finished again (0.2 s at 100k)
    original_finish = incremental.finish
    monkeypatch.setattr(incremental, "finish", lambda *a, **k: finished.append(1) or original_finish(*a, **k))
    parts = _packed_parts(monkeypatch)
    path = claims(root)[0]
    path.write_text(path.read_text(encoding="utf-8") + "\nA new paragraph.\n", encoding="utf-8")
    timings = tmp_path / "timings.json"
    got = check(root, timings=timings)
    assert finished == [] and parsed == []
    assert len(parts) == 2 and _unpickled(parts) == ["list"]  # the raw findings stay packed (0.35 s at 100k)
    assert got == check(root, "--no-cache")
    stages = json.loads(timings.read_text())["timings"]
    assert "recheck" in stages and "load" not in stages  # re-checked, not analysed again


def test_a_changed_figure_rechecks_its_group_only(generated, tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    check(root)
    parsed: list[str] = []
    original = incremental._parse_into
    monkeypatch.setattr(
        incremental, "_parse_into", lambda loaded, paths, *a: parsed.extend(paths) or original(loaded, paths, *a)
    )
    parts = _packed_parts(monkeypatch)
    path = next(p for p in claims(root) if "\nvalue:" in p.read_text(encoding="utf-8"))
    _field(path, "value", '"123 billion"')
    assert check(root) == check(root, "--no-cache")
    assert 0 < len(parsed) < len(claims(root)) + len(sources(root))
    assert len(parts) == 2 and _unpickled(parts) == ["dict"]  # the finished findings stay packed (0.2 s at 100k)


def test_other_settings_run_a_full_check(generated, tmp_path):
    import shutil

    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    check(root)
    with open(root / "kb.toml", "a", encoding="utf-8") as settings:
        settings.write('\n[rules]\nKB401 = "error"\n')
    _field(claims(root)[0], "value", '"1 million"')
    timings = tmp_path / "timings.json"
    assert check(root, timings=timings) == check(root, "--no-cache")
    assert "load" in json.loads(timings.read_text())["timings"]


def _keeper_deleted(kb):
    (kb.root / "claims/a/dup.md").unlink()


def _keeper_displaced(kb):
    kb.write("claims/0/dup.md", CLAIM_CITING.format(id="dup", source="s3"))


def _source_id_taken_by_a_claim(kb):
    kb.write("claims/0/s1.md", CLAIM_CITING.format(id="s1", source="s2"))


def _keeper_breaks(kb):
    path = kb.root / "claims/a/dup.md"
    path.write_text(path.read_text(encoding="utf-8").replace("kind: fact", "kind: [", 1), encoding="utf-8")


def _symlink_target_edited(kb):
    target = kb.root / "elsewhere/target.md"
    target.write_text(target.read_text(encoding="utf-8").replace("source: s1", "source: s9"), encoding="utf-8")


CLAIM_CITING = """---
id: {id}
statement: "A claim citing {source}."
kind: fact
subject: OpenAI
metric: revenue
value: 3 billion
unit: USD
period: 2024
stated: 2024-07-24
evidence:
  - source: {source}
---
"""


@pytest.mark.parametrize(
    "change",
    [_keeper_deleted, _keeper_displaced, _source_id_taken_by_a_claim, _keeper_breaks, _symlink_target_edited],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_file_that_keeps_an_id_or_leads_elsewhere_is_rechecked(kb, tmp_path, monkeypatch, change):
    """Found by review: a file can start or stop keeping a duplicate id without being edited
    (what it writes then changes), and a symbolic link's target can change under a path
    whose hash the walk cannot take."""
    monkeypatch.setattr(incremental, "MAX_SHARE", 1.0)
    for source in ("s1", "s2", "s3"):
        kb.source(source)
    kb.write("claims/a/dup.md", CLAIM_CITING.format(id="dup", source="s1"))
    kb.write("claims/b/dup.md", CLAIM_CITING.format(id="dup", source="s2"))
    kb.write("elsewhere/target.md", CLAIM_CITING.format(id="link", source="s1"))
    (kb.root / "claims/c").mkdir()
    (kb.root / "claims/c/link.md").symlink_to(kb.root / "elsewhere/target.md")
    check(kb.root)
    change(kb)
    timings = tmp_path / "timings.json"
    assert check(kb.root, timings=timings) == check(kb.root, "--no-cache")
    assert "load" not in json.loads(timings.read_text())["timings"]
    assert check(kb.root) == check(kb.root, "--no-cache")  # and the state it left


def test_subjects_spelled_in_other_cases_are_rechecked_as_one_group(generated, tmp_path, monkeypatch):
    """Found by review: "Яндекс" and "ЯНДЕКС" are one entity, so one group of figures (its
    key was the spelling's slug: the other claim of the pair was not checked again)."""
    import shutil

    monkeypatch.setattr(incremental, "MAX_SHARE", 1.0)
    root = tmp_path / "kb"
    shutil.copytree(generated, root)
    pair = claims(root)[:2]
    for path, subject in zip(pair, ("Яндекс", "ЯНДЕКС"), strict=True):
        for name, value in (("subject", subject), ("kind", "fact"), ("metric", "revenue"), ("unit", "USD")):
            _field(path, name, value)
        _field(path, "period", '"2024"')
        _field(path, "value", '"10 billion"')
    check(root)
    _field(pair[0], "value", '"14 billion"')
    got = check(root)
    assert got == check(root, "--no-cache")
    assert sum(f["code"] == "KB301" and f["claim_id"] in {p.stem for p in pair} for f in json.loads(got)) > 0
