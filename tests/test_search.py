"""Search that works for Chinese: folding, index text, query expressions, snippets, and the
canned queries over a real index (one script finds the other; 1- and 2-character words)."""

from __future__ import annotations

import html
import re
import sqlite3

import nh3
import pytest
from datasette.app import Datasette
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.database import build_database
from kb.database.search import INDEXES, TOKENIZE, register_functions
from kb.search import fold, index_text, match_expression, snippet, terms
from kb.serve import PUBLIC_SETTINGS, metadata

# Text drawn from what quotes contain: ideographs in both scripts, Latin, digits, punctuation, markup.
ALPHABET = st.sampled_from(
    list("亏损虧損台臺湾灣营收營收美元亿億的了 OpenAIlossesrevenue0123456789.,，。、“”\"'<>&;/=()[]*:-_\\\n\t")
)
TEXT = st.text(ALPHABET, max_size=80) | st.text(max_size=40)


def test_fold_is_one_character_for_one_and_idempotent():
    assert fold("虧損臺灣營收億") == "亏损台湾营收亿"
    assert fold("亏损") == "亏损"
    assert fold("ＯｐｅｎＡＩ　２０２４") == "OpenAI 2024"


def test_query_terms_and_expression():
    assert terms("OpenAI 虧損 50億") == [("word", "OpenAI"), ("cjk", "亏损"), ("word", "50"), ("cjk", "亿")]
    assert match_expression("亏损") == match_expression("虧損") == '"亏 损"'
    assert match_expression("") == match_expression("   ") == '"kbnomatchforthisterm"'
    assert match_expression('a" OR b NEAR(c) *') == '"a""" "OR" "b" "NEAR(c)" "*"'


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_any_query_is_valid_fts5(query):
    conn = sqlite3.connect(":memory:")
    conn.execute(f"create virtual table t using fts5(a, content='', tokenize='{TOKENIZE}')")
    conn.execute("insert into t (rowid, a) values (1, ?)", [index_text("OpenAI 亏损 50 亿美元")])
    conn.execute("select rowid from t where t match ?", [match_expression(query)]).fetchall()


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT, TEXT)
def test_a_word_is_found_in_either_script(before, after, word):
    """Whatever surrounds it, a query is found in a text that contains it, in the other script too."""
    conn = sqlite3.connect(":memory:")
    conn.execute(f"create virtual table w using fts5(a, tokenize='{TOKENIZE}')")
    conn.execute("create virtual table v using fts5vocab(w, 'row')")
    conn.execute("insert into w (rowid, a) values (1, ?)", [index_text(word)])
    if not conn.execute("select count(*) from v").fetchone()[0]:
        return  # nothing FTS5 would index: nothing to find
    conn.execute(f"create virtual table t using fts5(a, content='', tokenize='{TOKENIZE}')")
    text = f"{before} {word} {after}"
    conn.execute("insert into t (rowid, a) values (1, ?)", [index_text(text)])
    for query in (word, fold(word)):
        assert conn.execute("select rowid from t where t match ?", [match_expression(query)]).fetchall() == [(1,)]


MARK = re.compile(r"</?mark>")


@settings(max_examples=500, deadline=None)
@given(TEXT, TEXT)
def test_snippet_is_escaped_text_and_marks_only(text, query):
    out = snippet(text, query)
    assert "<" not in MARK.sub("", out) and ">" not in MARK.sub("", out)
    assert out.count("<mark>") == out.count("</mark>")
    plain = html.unescape(MARK.sub("", out)).strip("…")
    assert plain in text


def test_snippet_marks_the_word_in_its_own_script_and_stems():
    assert snippet("每月虧損超過 10 億美元", "亏损") == "每月<mark>虧損</mark>超過 10 億美元"
    assert "<mark>losses</mark>" in snippet("It could offset its losses.", "loss")
    assert "<mark>" not in snippet("OpenAI正與MGX", "MGXX")
    assert snippet("OpenAI正與MGX", "openai") == "<mark>OpenAI</mark>正與MGX"
    long = "x " * 200 + "亏损" + " y" * 200
    out = snippet(long, "亏损")
    assert out.startswith("…") and out.endswith("…") and "<mark>亏损</mark>" in out and len(out) < 200


def test_snippet_marks_words_only_where_they_begin():
    assert snippet("Glosses and losses", "loss") == "Glosses and <mark>losses</mark>"
    assert snippet("ｌｏｓｓ, xｌｏｓｓ", "loss") == "<mark>ｌｏｓｓ</mark>, xｌｏｓｓ"
    assert snippet("亏损loss", "loss") == "亏损<mark>loss</mark>"  # after an ideograph: a word begins


# the word pattern as it was first written (the look-behind first): the one kb uses now begins
# with the word's first letter, so that re can skip to it, and must find the same matches
def _reference_pattern(query: str) -> re.Pattern[str] | None:
    from kb.search import _LETTER, _SUFFIXES, cjk_variants

    alternatives = []
    for kind, text in terms(query):
        if kind == "cjk":
            alternatives.append("".join(f"[{re.escape(cjk_variants(c))}]" for c in text))
            continue
        stem = text
        for suffix in _SUFFIXES:
            if stem.lower().endswith(suffix) and len(stem) - len(suffix) >= 3:
                stem = stem[: -len(suffix)]
                break
        letters = "".join(f"[{re.escape(c)}{re.escape(chr(ord(c) + 0xFEE0))}]" if "!" <= c <= "~" else c for c in stem)
        alternatives.append(rf"(?<!{_LETTER}){letters}{_LETTER}*")
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)
    return re.compile("|".join(alternatives), re.IGNORECASE)


WORDISH = st.text(st.sampled_from(list("lossrevenuLOSSＬｏｓｓxé亏损虧 .-_1")), max_size=40)


@settings(max_examples=500, deadline=None)
@given(WORDISH | TEXT, WORDISH | TEXT)
def test_snippet_patterns_match_where_the_reference_does(text, query):
    from kb.search import _pattern

    ours, reference = _pattern(query), _reference_pattern(query)
    assert (ours is None) == (reference is None)
    if ours is not None:
        assert [m.span() for m in ours.finditer(text)] == [m.span() for m in reference.finditer(text)]


def test_sql_functions(tmp_path):
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    assert conn.execute("select kb_match('虧損'), kb_snippet('虧損 <b>', '亏损')").fetchone() == (
        '"亏 损"',
        "<mark>虧損</mark> &lt;b&gt;",
    )


@pytest.fixture
def corpus(kb):
    kb.source()
    kb.write(
        "sources/other/tw.md",
        "---\nid: tw\ntitle: 臺灣報導：OpenAI 虧損\ntype: article\npublisher: 臺灣日報\nlanguage: zh-Hant\n---\n",
    )
    kb.claim(
        extra=(
            "  - source: tw\n    quote: 每月虧損超過 10 億美元\n"
            "  - source: outlet-report\n    quote: 亏损 50 亿美元，营收 37 亿美元\n    stance: mentions\n"
        )
    )
    kb.claim(
        "cursor-revenue",
        folder="cursor",
        text=(
            "---\nid: cursor-revenue\nstatement: Cursor's revenue grew; losses too.\nkind: opinion\n"
            "evidence: [{source: outlet-report, quote: 收入增长}]\n---\nNo 亏 here but 收入.\n"
        ),
    )
    analysis = kb.analyse()
    return analysis.settings, build_database(analysis)


async def test_canned_search_finds_two_characters_in_both_scripts(corpus):
    settings_, path = corpus
    ds = Datasette([], immutables=[str(path)], metadata=metadata(settings_), settings=PUBLIC_SETTINGS)
    found = {}
    for q in ("亏损", "虧損", "亏", "收入", "lose", "臺灣", "台湾"):
        response = await ds.client.get("/kb/search_quotes.json", params={"q": q, "_shape": "array"})
        assert response.status_code == 200, response.text
        found[q] = sorted(row["snippet"] for row in response.json())
    assert (
        found["亏损"]
        == found["虧損"]
        == ["<mark>亏损</mark> 50 亿美元，营收 37 亿美元", "每月<mark>虧損</mark>超過 10 億美元"]
    )
    assert len(found["亏"]) == 2 and found["收入"] == ["<mark>收入</mark>增长"]
    assert found["lose"] == ["<mark>lose</mark> 5 billion"]
    assert found["臺灣"] == found["台湾"] == []  # a title is not a quote
    rows = (await ds.client.get("/kb/search_sources.json", params={"q": "台湾", "_shape": "array"})).json()
    assert [row["id"] for row in rows] == ["tw"]
    rows = (await ds.client.get("/kb/search_claims.json", params={"q": "losses", "_shape": "array"})).json()
    assert [row["id"] for row in rows] == ["cursor-revenue"]
    rows = (await ds.client.get("/kb/search_claims.json", params={"q": "", "_shape": "array"})).json()
    assert rows == []


async def test_search_is_ranked_by_bm25(kb):
    kb.source()
    kb.claim("a", folder="x", text="---\nid: a\nstatement: Revenue.\nkind: opinion\n---\nloss\n")
    kb.claim("b", folder="x", text="---\nid: b\nstatement: The loss, the loss.\nkind: opinion\n---\n")
    kb.claim("c", folder="x", text="---\nid: c\nstatement: Nothing.\nkind: opinion\n---\n")
    analysis = kb.analyse()
    ds = Datasette([], immutables=[str(build_database(analysis))], metadata=metadata(analysis.settings))
    rows = (await ds.client.get("/kb/search_claims.json", params={"q": "loss", "_shape": "array"})).json()
    assert [row["id"] for row in rows] == ["b", "a"]  # the statement weighs more than the notes


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_snippets_skip_the_sanitiser_only_when_it_would_keep_them(text, query):
    # render_cell shows what kb_snippet writes as it is (no nh3 call); that is safe only if
    # such text is markup-free but for <mark>: nh3 keeps it as it is, entities aside.
    from kb.site.hardening import _ESCAPED_WITH_MARKS

    out = snippet(text, query)
    assert _ESCAPED_WITH_MARKS.fullmatch(out)
    # the HTML parser's own normalisation of text aside (CR to LF, NUL dropped)
    parsed = html.unescape(out).replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")
    assert html.unescape(nh3.clean(out, tags={"mark"}, attributes={})) == parsed


@pytest.mark.parametrize(
    "value", ["<b>x</b>", "<mark onclick=alert(1)>x</mark>", "<img src=x onerror=alert(1)>", "a & b", "<mark", "&#x;"]
)
def test_anything_else_named_snippet_goes_through_the_sanitiser(value):
    from kb.site.hardening import _ESCAPED_WITH_MARKS

    assert _ESCAPED_WITH_MARKS.fullmatch("&lt;script&gt; <mark>a</mark> &amp; &#x27;")
    assert not _ESCAPED_WITH_MARKS.fullmatch(value)


async def test_snippet_html_is_rendered_but_only_marks(corpus):
    settings_, path = corpus
    ds = Datasette([], immutables=[str(path)], metadata=metadata(settings_))
    page = (await ds.client.get("/kb/search_quotes", params={"q": "虧損"})).text
    assert "每月<mark>虧損</mark>超過" in page
    # a column named snippet from arbitrary SQL keeps <mark> and loses everything else
    sql = "select '<img src=x onerror=alert(1)><mark>hi</mark><script>alert(2)</script>' as snippet"
    page = (await ds.client.get("/kb", params={"sql": sql})).text
    assert "<mark>hi</mark>" in page and "<img" not in page and "<script>alert(2)" not in page


def test_index_tables_cover_every_row(corpus):
    _, path = corpus
    conn = sqlite3.connect(path)
    for index, (table, _) in INDEXES.items():
        assert (
            conn.execute(f"select count(*) from [{index}]").fetchone()
            == conn.execute(f"select count(*) from [{table}]").fetchone()
        )


def test_ascii_text_is_indexed_as_it_is():
    """index_text returns ASCII text unchanged (its fast path): folding maps only non-ASCII
    characters, and no ASCII character is CJK."""
    from kb import search

    assert min(search._table()) >= 128
    for text in ("OpenAI could lose $5 billion in 2024.", "a-b_c [x](y) 'q' \"z\"", "\t\n ~"):
        assert search.index_text(text) == search.CJK.sub(r" \g<0> ", search.fold(text)) == text
    assert search.index_text("OpenAI 虧損50亿") == "OpenAI  亏  损 50 亿 "


# every script the table treats apart: ASCII, full-width forms, the ideographic space, kana,
# bopomofo, traditional and simplified Han, compatibility ideographs, extension B (astral)
_MIXED = st.text(
    alphabet=st.sampled_from(
        "aZ9 .,-\n\t"
        "ＯｐｅｎＡＩ２０２４\u3000"
        "かなカナㄅㄆ"
        "虧損億美元亏损亿美元經濟学習"
        "\uf900\uf9ff\ufa2d"
        "\U00020000\U0002a6d6\U0002f800é€—"
    ),
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(_MIXED | TEXT)
def test_index_text_in_one_translate_is_folding_then_spacing(text):
    """The one-pass table gives what folding, then a space either side of each CJK
    character, gives: for text with supplementary characters or without."""
    from kb import search

    assert search.index_text(text) == search.CJK.sub(r" \g<0> ", search.fold(text))
