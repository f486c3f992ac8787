"""kb.cite, kb.exports, `kb cite` and `kb export`: keys, URLs, CSL-JSON, BibTeX, the graph exports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from kb import cite, exports
from kb.analyse import analyse
from kb.cli import main

ROOT = Path(__file__).resolve().parent.parent
LOSS = "openai-2024-net-loss-projected"


@pytest.fixture(scope="module")
def corpus():
    return analyse(ROOT)


def pandoc() -> str:
    pypandoc = pytest.importorskip("pypandoc")
    return pypandoc.get_pandoc_path()


def test_claim_csl_item_has_printed_form_status_figure_and_custom_fields(corpus):
    item = cite.claim_csl(corpus, LOSS)
    assert item["id"] == item["citation-key"] == f"claim:{LOSS}"
    assert item["type"] == "entry" and item["author"] == [{"literal": "The Information"}]
    assert item["container-title"] == "The economics of generative AI"
    assert item["URL"] == f"http://127.0.0.1:8001/c/{LOSS}"
    assert item["issued"] == {"date-parts": [[2024, 7, 24]]}
    assert item["status"] == corpus.status[LOSS] == "supported"
    assert "about 5 billion USD, 2024" in item["note"]
    custom = item["custom"]
    assert custom["value"] == 5_000_000_000 and custom["unit"] == "USD" and custom["approximate"] is True
    assert custom["evidence"][0] == "src:netease-2024-07-25-openai-could-lose-5-billion"
    assert len(custom["evidence"]) == len(set(custom["evidence"]))


def test_every_item_has_an_author_or_container_title(corpus):
    for item in exports.csl_items(corpus):
        assert item.get("author") or item.get("container-title"), item["id"]
        assert set(item) <= {*cite.CSL_VARIABLES, "custom"}, item["id"]


def test_superseded_claim_names_its_successor(corpus):
    superseded = next(i for i, s in corpus.status.items() if s == "superseded")
    successor = cite.superseded_by(corpus, superseded)
    assert corpus.corpus.claims[successor].model.supersedes == superseded
    assert f"superseded by claim:{successor}" in cite.claim_csl(corpus, superseded)["note"]


def test_keys_resolve_and_suggest(corpus):
    assert cite.resolve_key(corpus, LOSS) == f"claim:{LOSS}"
    assert cite.resolve_key(corpus, f"claim:{LOSS}") == f"claim:{LOSS}"
    source = "netease-2024-07-25-openai-could-lose-5-billion"
    assert cite.resolve_key(corpus, source) == cite.resolve_key(corpus, f"source:{source}") == f"src:{source}"
    assert cite.resolve_key(corpus, f"claim:{source}") is None
    assert cite.key_hint(corpus, "claim:openai-2024-net-loss-projectd") == f" (did you mean `claim:{LOSS}`?)"


def test_bibtex_escapes_and_carries_status(corpus):
    entry = cite.bibtex_entry(corpus, f"claim:{LOSS}")
    assert entry.startswith(f"@misc{{claim:{LOSS},")
    assert r"\$5 billion" in entry and "supported; about 5 billion USD, 2024" in entry
    assert "author = {{The Information}}" in entry


def test_markdown_footnote_quotes_the_evidence_and_the_relayed_outlet(corpus):
    text = cite.claim_footnote(corpus, LOSS)
    first, _, footnote = text.partition("\n\n")
    assert first == f"[@claim:{LOSS}][^{LOSS}]"
    assert footnote.startswith(f"[^{LOSS}]: OpenAI could lose")
    assert "“OpenAI今年可能亏损高达50亿美元”" in footnote and "relaying The Information" in footnote


def test_cli_cite_formats_and_unknown_id():
    runner = CliRunner()
    result = runner.invoke(
        main, ["cite", "--root", str(ROOT), LOSS, "src:netease-2024-07-25-openai-could-lose-5-billion"]
    )
    assert result.exit_code == 0
    assert result.output == f"[@claim:{LOSS}; @src:netease-2024-07-25-openai-could-lose-5-billion]\n"
    result = runner.invoke(main, ["cite", "--root", str(ROOT), LOSS, "-f", "csl-json"])
    assert json.loads(result.output)[0]["id"] == f"claim:{LOSS}"
    result = runner.invoke(main, ["cite", "--root", str(ROOT), "claim:openai-2024-net-los"])
    assert result.exit_code == 1
    assert (
        "no claim or source `claim:openai-2024-net-los` (did you mean `claim:openai-2024-net-loss`?)" in result.output
    )
    assert "Traceback" not in result.output


def test_json_export_round_trips(corpus):
    text = exports.graph_json(corpus)
    graph = exports.graph_from_json(text)
    assert set(graph.nodes) == set(corpus.graph.nodes)
    assert graph.number_of_edges() == corpus.graph.number_of_edges()
    for node, data in corpus.graph.nodes(data=True):
        if "record" in data:
            assert graph.nodes[node]["model"] == data["record"].model
    original = sorted(json.dumps({"u": u, "v": v, **d}, sort_keys=True) for u, v, d in corpus.graph.edges(data=True))
    loaded = sorted(json.dumps({"u": u, "v": v, **d}, sort_keys=True) for u, v, d in graph.edges(data=True))
    assert original == loaded
    assert graph.nodes[f"claim:{LOSS}"]["status"] == "supported"
    with pytest.raises(ValueError):
        exports.graph_from_json('{"format": "other"}')


def test_graphml_loads_in_networkx_with_scalar_attributes(corpus, tmp_path):
    path = tmp_path / "kb.graphml"
    path.write_text(exports.graphml(corpus), encoding="utf-8")
    graph = nx.read_graphml(path)
    assert graph.number_of_nodes() == corpus.graph.number_of_nodes()
    assert graph.number_of_edges() == corpus.graph.number_of_edges()
    node = graph.nodes[f"claim:{LOSS}"]
    assert node["value"] == 5e9 and node["status"] == "supported" and node["label"] == LOSS
    for _, data in graph.nodes(data=True):
        assert all(isinstance(v, (str, int, float, bool)) for v in data.values())


def test_claimreview_for_claims_with_a_verdict(corpus):
    document = json.loads(exports.claimreview(corpus))
    reviews = document["@graph"]
    with_verdict = [i for i, r in corpus.corpus.claims.items() if r.model.verdict]
    assert document["@context"] == "https://schema.org"
    assert sorted(r["identifier"] for r in reviews) == sorted(f"claim:{i}" for i in with_verdict)
    review = next(r for r in reviews if r["reviewRating"]["alternateName"] == "inaccurate")
    assert review["@type"] == "ClaimReview" and review["reviewRating"]["ratingValue"] == 1
    assert review["itemReviewed"]["@type"] == "Claim" and review["claimReviewed"]


@pytest.mark.parametrize("fmt", ["csl-json", "bibtex"])
def test_pandoc_citeproc_accepts_the_export_without_warnings(fmt, tmp_path):
    result = CliRunner().invoke(main, ["export", fmt, "--root", str(ROOT), "-o", str(tmp_path / f"kb.{fmt}")])
    assert result.exit_code == 0, result.output
    bibliography = tmp_path / ("kb.json" if fmt == "csl-json" else "kb.bib")
    (tmp_path / f"kb.{fmt}").rename(bibliography)
    draft = tmp_path / "draft.md"
    draft.write_text('---\nnocite: "@*"\n---\nA loss [@claim:openai-2024-net-loss-projected].\n', encoding="utf-8")
    run = subprocess.run(
        [pandoc(), str(draft), "--citeproc", "--bibliography", str(bibliography), "--fail-if-warnings", "-t", "html"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert run.stdout.count('class="csl-entry"') == len(exports.csl_items(analyse(ROOT)))


def test_build_writes_exports_next_to_the_database(tmp_path):
    database = tmp_path / "out.db"
    result = CliRunner().invoke(
        main, ["build", "--root", str(ROOT), "-o", str(database), "--export", "csl-json", "--export", "graphml"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out.csl.json").read_text(encoding="utf-8"))[0]["id"].startswith("claim:")
    assert nx.read_graphml(tmp_path / "out.graphml").number_of_nodes() > 600
    import sqlite3

    with sqlite3.connect(database) as db:
        key, url, csl = db.execute(
            "select citation_key, page_url, csl_json from claims where id = ?", (LOSS,)
        ).fetchone()
        source_key = db.execute("select citation_key from sources limit 1").fetchone()[0]
    assert key == f"claim:{LOSS}" and url.endswith(f"/c/{LOSS}") and json.loads(csl)["status"] == "supported"
    assert source_key.startswith("src:")


def test_export_to_an_unwritable_place_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["export", "bibtex", "--root", str(ROOT), "-o", str(tmp_path / "no" / "kb.bib")])
    assert result.exit_code == 2
    assert result.output.startswith(f"kb: error: cannot write {tmp_path / 'no' / 'kb.bib'}: No such file or directory")
    assert "Traceback" not in result.output


def test_cite_text_and_markdown_from_the_cli():
    runner = CliRunner()
    text = runner.invoke(main, ["cite", "--root", str(ROOT), LOSS, "-f", "text"]).output
    assert text.startswith("The Information (2024-07-24). OpenAI could lose as much as $5 billion in 2024")
    assert "[Claim, supported; about 5 billion USD, 2024; 1 independent origin]" in text
    markdown = runner.invoke(main, ["cite", "--root", str(ROOT), LOSS, "-f", "markdown"]).output
    assert markdown == cite.claim_footnote(analyse(ROOT), LOSS)
    bib = runner.invoke(
        main, ["cite", "--root", str(ROOT), f"src:{'netease-2024-07-25-openai-could-lose-5-billion'}", "-f", "bibtex"]
    )
    assert bib.output.startswith("@article{src:netease-2024-07-25-openai-could-lose-5-billion,")
