"""The hostile inputs, one table: each case is a file (or a link, FIFO, sparse file) put into
a knowledge base, the code kb must report on it, and the line (and column where it means
something). ``code=None`` means the file is valid and must give no error (a BOM, CRLF, a
symbolic link to a file inside the knowledge base): hostile suites must not only reject.

Every case gets its own file name (= its id), so that many cases share one knowledge base and
one ``kb check`` / ``kb build`` run; ``test_hostile.py`` runs them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SOURCE_ID = "hostile-source"
SOURCE = f"---\nid: {SOURCE_ID}\ntitle: A report\ntype: article\npublisher: The Outlet\npublished: 2024-07-24\n---\n"

# The base claim, one field a line: a case replaces a field in place, so its line is known.
FIELDS = [
    ("id", None),  # filled with the case name
    ("statement", "A figure."),
    ("kind", "fact"),
    ("subject", "OpenAI"),
    ("metric", "net_loss"),
    ("value", "5 billion"),
    ("unit", "USD"),
    ("period", "2024"),
    ("stated", "2025-03"),
    ("evidence", f"\n  - source: {SOURCE_ID}"),
]
LINE = {name: index + 2 for index, (name, _) in enumerate(FIELDS)}  # line 1 is `---`


def claim_text(id_: str, extra: str = "", body: str = "Notes.\n", **fields: str | None) -> str:
    """The base claim with some fields replaced (``None`` removes a field, keeping lines)."""
    lines = ["---"]
    for name, default in FIELDS:
        value = fields.get(name, default if name != "id" else id_)
        lines.append(f"{name}: {value}" if value is not None else "tags: []")
    return "\n".join(lines) + "\n" + extra + "---\n" + body


Maker = Callable[[Path, str], None]  # (the file's path, the case name) -> creates it


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    code: str | None  # expected code in this file, or None: no error at all
    line: int | None = None
    column: int | None = None
    content: bytes | str | None = None  # the file's content (``{id}`` is the case name)
    make: Maker | None = None  # or: how to make it
    folder: str = "claims"  # claims or sources
    message: str | None = None  # a word the message must contain
    at: str | None = None  # the path the finding names, when it is not the file's (a folder link)

    @property
    def relative(self) -> str:
        return f"{self.folder}/hostile/{self.name}.md"

    @property
    def reported(self) -> str:
        return self.at or self.relative


def write(root: Path, case: Case) -> None:
    path = root / case.relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if case.make is not None:
        case.make(path, case.name)
        return
    content = case.content
    if isinstance(content, str):
        content = content.replace("{id}", case.name).encode("utf-8")
    path.write_bytes(content or b"")


def c(name: str, category: str, code: str | None, line: int | None = None, column: int | None = None, **kw) -> Case:
    """A claim case whose content is the base claim with ``fields`` replaced."""
    extra = kw.pop("extra", "")
    body = kw.pop("body", "Notes.\n")
    message = kw.pop("message", None)
    return Case(name, category, code, line, column, claim_text(name, extra, body, **kw), message=message)


def raw(name: str, category: str, code: str | None, line: int | None, content: bytes | str, **kw) -> Case:
    return Case(name, category, code, line, content=content, **kw)


def made(name: str, category: str, code: str | None, line: int | None, make: Maker, **kw) -> Case:
    return Case(name, category, code, line, make=make, **kw)


# ------------------------------------------------------------------------------ makers
def _fifo(path: Path, name: str) -> None:
    os.mkfifo(path)


def _sparse(size: int) -> Maker:
    def make(path: Path, name: str) -> None:
        with open(path, "wb") as handle:
            handle.write(claim_text(name).encode())
            handle.truncate(size)

    return make


def _link_to(target: Callable[[Path], Path], text: bool = True) -> Maker:
    def make(path: Path, name: str) -> None:
        destination = target(path)
        if text:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(claim_text(name), encoding="utf-8")
        path.symlink_to(destination)

    return make


def _root(path: Path) -> Path:
    return path.parents[2]


def _outside(path: Path) -> Path:
    return _root(path).parent / f"{_root(path).name}-outside" / path.name


def _loop(path: Path, name: str) -> None:
    other = path.with_name(f"{name}-other.lnk")
    other.symlink_to(path)
    path.symlink_to(other)


def _folder_link(outside: bool) -> Maker:
    def make(path: Path, name: str) -> None:
        folder = path.with_suffix("")  # the link is claims/hostile/NAME, a folder link
        target = _root(path) / "elsewhere" / name if not outside else _outside(path).with_suffix("")
        target.mkdir(parents=True, exist_ok=True)
        (target / "hidden-claim.md").write_text(claim_text("hidden-claim"), encoding="utf-8")
        folder.symlink_to(target, target_is_directory=True)

    return make


def _nested_block(depth: int) -> str:
    return "".join(f"{' ' * i}k{i}:\n" for i in range(depth)) + " " * depth + "x\n"


PYTHON_OBJECT = "!!python/object/apply:os.system ['echo owned > /tmp/kb-hostile-owned']"

# ------------------------------------------------------------------------------ the table
V = LINE["value"]
P = LINE["period"]
S = LINE["stated"]

CASES: list[Case] = [
    # --- encoding and framing
    raw("enc-bom", "encoding", None, None, b"\xef\xbb\xbf" + claim_text("enc-bom").encode()),
    raw("enc-utf16", "encoding", "KB001", 1, claim_text("enc-utf16").encode("utf-16")),
    raw("enc-nul", "encoding", "KB001", 4, claim_text("enc-nul").encode().replace(b"kind: fact", b"kind: f\x00act")),
    raw(
        "enc-bad-utf8",
        "encoding",
        "KB001",
        3,
        claim_text("enc-bad-utf8").encode().replace(b"A figure", b"A \xff\xfe figure"),
    ),
    raw("enc-crlf", "encoding", None, None, claim_text("enc-crlf").replace("\n", "\r\n")),
    raw("enc-lone-cr", "encoding", None, None, claim_text("enc-lone-cr").replace("\n", "\r")),
    raw("enc-zero-width-id", "encoding", "KB007", 2, claim_text("x").replace("id: x", "id: enc-zero\u200bwidth-id")),
    raw("enc-bell", "encoding", "KB003", 3, claim_text("enc-bell").replace("A figure", "A \x07figure")),
    raw(
        "enc-line-separator",
        "encoding",
        "KB003",
        3,
        claim_text("enc-line-separator").replace("A figure", "A\u2028figure"),
    ),
    raw("frame-none", "framing", "KB002", 1, "id: frame-none\nstatement: x\n"),
    raw("frame-unterminated", "framing", "KB002", 1, claim_text("frame-unterminated").replace("---\nNotes", "Notes")),
    raw("frame-double-fence", "framing", "KB002", 1, "---\n---\n" + claim_text("frame-double-fence")),
    raw("frame-second-document", "framing", "KB003", 3, "---\nid: {id}\n--- !!str second\n---\n"),
    raw("frame-list", "framing", "KB002", 2, "---\n- a\n- b\n---\n"),
    raw("frame-scalar", "framing", "KB002", 2, "---\njust text\n---\n"),
    raw("frame-empty-file", "framing", "KB002", 1, b""),
    raw("frame-empty-block", "framing", "KB002", 1, "---\n---\nbody\n"),
    raw("frame-whitespace", "framing", "KB002", 1, "   \n\n\t\n"),
    raw(
        "frame-tab-indent", "framing", "KB003", None, claim_text("frame-tab-indent").replace("  - source", "\t- source")
    ),
    # --- YAML dangers
    raw(
        "yaml-billion-laughs",
        "yaml",
        "KB003",
        2,
        "---\na: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{b}: &{b} [{', '.join([f'*{p}'] * 9)}]\n" for p, b in zip("abcdefgh", "bcdefghi", strict=True))
        + "---\n",
    ),
    raw("yaml-self-alias", "yaml", "KB003", 2, "---\ntags: &x [*x]\n---\n"),
    raw("yaml-anchor", "yaml", "KB003", 3, claim_text("yaml-anchor").replace("statement: A", "statement: &s A")),
    raw("yaml-alias-value", "yaml", "KB003", 4, claim_text("yaml-alias-value").replace("kind: fact", "kind: *s")),
    raw(
        "yaml-custom-tag",
        "yaml",
        "KB003",
        3,
        claim_text("yaml-custom-tag").replace("statement: A", "statement: !shout A"),
    ),
    raw(
        "yaml-python-object",
        "yaml",
        "KB003",
        3,
        claim_text("yaml-python-object").replace("statement: A figure.", f"statement: {PYTHON_OBJECT}"),
    ),
    raw(
        "yaml-python-name",
        "yaml",
        "KB003",
        4,
        claim_text("yaml-python-name").replace("kind: fact", "kind: !!python/name:os.system ''"),
    ),
    raw(
        "yaml-binary-tag",
        "yaml",
        "KB003",
        3,
        claim_text("yaml-binary-tag").replace("statement: A figure.", "statement: !!binary aGVsbG8="),
    ),
    raw(
        "yaml-timestamp-tag",
        "yaml",
        "KB003",
        S,
        claim_text("yaml-timestamp-tag").replace("stated: 2025-03", "stated: !!timestamp 2024-02-30"),
    ),
    raw(
        "yaml-bad-int-tag",
        "yaml",
        "KB003",
        V,
        claim_text("yaml-bad-int-tag").replace("value: 5 billion", "value: !!int abc"),
    ),
    raw(
        "yaml-empty-int-tag",
        "yaml",
        "KB003",
        V,
        claim_text("yaml-empty-int-tag").replace("value: 5 billion", "value: !!int"),
    ),
    c("yaml-flow-500", "yaml", "KB003", LINE["statement"], statement="[" * 500 + "]" * 500),
    c("yaml-flow-5k", "yaml", "KB003", LINE["statement"], statement="[" * 5000),
    c("yaml-flow-50k", "yaml", "KB001", 1, statement="[" * 50_000 + "]" * 50_000, message="over the limit"),
    c("yaml-flow-map-5k", "yaml", "KB003", LINE["statement"], statement="{a: " * 5000),
    raw("yaml-block-100", "yaml", "KB003", 34, "---\n" + _nested_block(100) + "---\n", message="deeper"),
    raw("yaml-block-seq-5k", "yaml", "KB003", 3, "---\ntags:\n" + "- " * 5000 + "x\n---\n", message="deeper"),
    raw(
        "yaml-block-seq-50k", "yaml", "KB001", 1, "---\ntags:\n" + "- " * 50_000 + "x\n---\n", message="over the limit"
    ),
    c("yaml-merge-key", "yaml", "KB004", 13, extra="<<: {tags: [a]}\n", message="unknown field"),
    c("yaml-merge-alias", "yaml", "KB003", 13, extra="base: &b {a: 1}\n<<: *b\n"),
    c("yaml-unhashable-key", "yaml", "KB003", 13, extra="? [a, b]\n: c\n"),
    c("yaml-mapping-key", "yaml", "KB003", 13, extra="{a: 1}: c\n"),
    c("yaml-number-key", "yaml", "KB003", 13, extra="12: c\n"),
    c("yaml-null-key", "yaml", "KB003", 13, extra="~: c\n"),
    c("yaml-duplicate-key", "yaml", "KB003", 13, 1, extra="kind: estimate\n", message="first defined on line 4"),
    c("yaml-duplicate-nested", "yaml", "KB003", 13, evidence=f"\n  - source: {SOURCE_ID}\n    source: other"),
    c("yaml-key-1mb", "yaml", "KB001", 1, extra="k" * 1_000_000 + ": v\n"),
    c("yaml-key-60k", "yaml", "KB003", 13, extra="k" * 60_000 + ": v\n"),  # YAML keys are at most 1024 characters
    c("yaml-tags-list-big", "yaml", "KB004", 13, extra="tags: [" + ", ".join(["a"] * 10_000) + "]\n"),
    c("yaml-1-1-booleans", "yaml", "KB004", LINE["kind"], statement="NO", kind="on", message="kind"),
    # --- numbers
    c("num-int-1e20", "numbers", None, value="100000000000000000000"),
    c("num-int-digits", "numbers", "KB004", V, 8, value="123456789012345678901", message="significant digits"),
    c("num-hex-300", "numbers", "KB004", V, 8, value="0x" + "f" * 300, message="hexadecimal"),
    c("num-hex", "numbers", "KB004", V, 8, value="0x1F", message="hexadecimal"),
    c("num-octal", "numbers", "KB004", V, 8, value="0o17", message="octal"),
    c("num-octal-string", "numbers", "KB004", V, 8, value='"0o17"', message="octal"),
    c("num-inf", "numbers", "KB004", V, 8, value=".inf", message="finite"),
    c("num-minus-inf", "numbers", "KB004", V, 8, value="-.Inf", message="finite"),
    c("num-nan", "numbers", "KB004", V, 8, value=".NaN", message="finite"),
    c("num-inf-text", "numbers", "KB004", V, 8, value='"Infinity"'),
    c("num-float-overflow", "numbers", "KB004", V, 8, value="1e400", message="too large"),
    c("num-float-underflow", "numbers", "KB004", V, 8, value="1e-400", message="too small"),
    c("num-googol", "numbers", "KB004", V, 8, value="1e101", message="too large"),
    c("num-word-overflow", "numbers", "KB004", V, 8, value='"1e999 billion"', message="out of range"),
    c("num-5000-digits", "numbers", "KB004", V, 8, value="9" * 5000, message="more than 100"),
    c("num-5000-digits-text", "numbers", "KB004", V, 8, value='"' + "9" * 5000 + '"', message="out of range"),
    c("num-decimal-comma", "numbers", "KB004", V, 8, value='"1,5 billion"', message="decimal comma"),
    c("num-double-separator", "numbers", "KB004", V, 8, value='"5,,0"', message="thousands separator"),
    c("num-german-grouping", "numbers", "KB004", V, 8, value='"1.500.000"', message="thousands separator"),
    c("num-indian-grouping", "numbers", "KB004", V, 8, value='"12,34,567"', message="thousands separator"),
    c("num-space-grouping", "numbers", "KB004", V, 8, value='"1 500 000"'),
    c("num-range-nan", "numbers", "KB004", V, 8, value="[1, .nan]", message="finite"),
    c("num-range-huge", "numbers", "KB004", V, 8, value="[1, 123456789012345678901]", message="significant digits"),
    c("num-range-three", "numbers", "KB004", V, 8, value="[1, 2, 3]"),
    c("num-boolean", "numbers", "KB004", V, 8, value="true"),
    c("num-mapping", "numbers", "KB004", V, 8, value="{a: 1}"),
    c("num-underscore", "numbers", None, value="1_000_000"),
    c("num-grouped", "numbers", None, value='"12,345,678"'),
    # --- dates and periods
    c("date-feb-30", "dates", "KB004", P, 9, period="2024-02-30"),
    c("date-month-13", "dates", "KB004", P, 9, period="2024-13"),
    c("date-q5", "dates", "KB004", P, 9, period="2024-Q5"),
    c("date-h3", "dates", "KB004", P, 9, period="2024-H3"),
    c("date-reversed", "dates", "KB305", P, period="2025/2024"),
    c("date-year-0", "dates", "KB004", P, 9, period="0000"),
    c("date-year-99999", "dates", "KB004", P, 9, period="99999"),
    c("date-open-end", "dates", "KB004", P, 9, period="2024/"),
    c("date-stated-feb-30", "dates", "KB004", S, 9, stated="2024-02-30"),
    c("date-stated-float", "dates", "KB004", S, 9, stated="2024.5"),
    c("date-stated-hex", "dates", "KB004", S, 9, stated="0x7E8", message="hexadecimal"),
    c("date-period-inf", "dates", "KB004", P, 9, period=".inf"),
    # --- ids
    raw("Id-Upper", "ids", "KB007", 2, claim_text("Id-Upper")),
    raw("模型-id", "ids", "KB007", 2, claim_text("模型-id")),
    raw("id with spaces", "ids", "KB007", 2, claim_text("x").replace("id: x", "id: id with spaces")),
    raw("i" * 101, "ids", "KB007", 2, claim_text("i" * 101)),
    raw("id-escape", "ids", "KB007", 2, claim_text("x").replace("id: x", 'id: "id-\\e[2J\\e]0;owned\\a\\u202e"')),
    raw("id-traversal", "ids", "KB007", 2, claim_text("x").replace("id: x", "id: ../../etc/passwd")),
    raw("id-missing", "ids", "KB004", 1, claim_text("x").replace("id: x\n", "tags: []\n")),
    raw("id-number", "ids", "KB004", 2, claim_text("x").replace("id: x", "id: 2024")),
    raw("id-mismatch", "ids", "KB006", 2, claim_text("x").replace("id: x", "id: another-name")),
    raw("id-trailing-hyphen-", "ids", "KB007", 2, claim_text("id-trailing-hyphen-")),
    raw("id--double", "ids", "KB007", 2, claim_text("id--double")),
    raw("id-duplicate", "ids", "KB005", 2, claim_text("enc-crlf")),
    # --- paths and links
    made("link-inside", "links", None, None, _link_to(lambda p: _root(p) / "elsewhere" / p.name)),
    made("link-outside", "links", "KB001", 1, _link_to(_outside), message="outside"),
    made("link-loop", "links", "KB001", 1, _loop),
    made("link-dangling", "links", "KB001", 1, _link_to(lambda p: p.with_name("nowhere"), text=False)),
    made(
        "link-folder-outside",
        "links",
        "KB001",
        1,
        _folder_link(True),
        at="claims/hostile/link-folder-outside",
        message="folder",
    ),
    made(
        "link-folder-inside",
        "links",
        "KB001",
        1,
        _folder_link(False),
        at="claims/hostile/link-folder-inside",
        message="folder",
    ),
    made("fifo", "links", "KB001", 1, _fifo, message="not a regular file"),
    made("sparse-2gb", "sizes", "KB001", 1, _sparse(2 * 1024**3), message="over the limit"),
    c("evidence-traversal", "links", "KB101", 12, evidence="\n  - source: ../../etc/shadow"),
    raw(
        "snapshot-traversal",
        "links",
        "KB004",
        7,
        SOURCE.replace(SOURCE_ID, "snapshot-traversal").replace(
            "2024-07-24\n", "2024-07-24\nsnapshot: ../../etc/passwd\n"
        ),
        folder="sources",
    ),
    # --- sizes
    c("size-file-over-1mib", "sizes", "KB001", 1, body="x" * (1024 * 1024 + 10), message="over the limit"),
    c("size-frontmatter-over-64k", "sizes", "KB001", 1, statement="s" * 70_000, message="over the limit"),
    c("size-statement-10001", "sizes", "KB004", LINE["statement"], 12, statement="s" * 10_001),
    c("size-body-brackets", "sizes", None, body="[" * (1024 * 1024 - 400)),
    c(
        "size-evidence-201",
        "sizes",
        "KB004",
        LINE["evidence"] + 1,
        evidence="".join(f"\n  - source: {SOURCE_ID}" for _ in range(201)),
    ),
    # --- formulas
]

_FORMULA = "derived_from:\n  formula: '{formula}'\n  inputs: {{a: num-int-1e20}}\n"
FORMULA_LINE = 14
for _name, _formula, _code, _word in [
    ("formula-340-tilde", "~" * 340 + "a", "KB303", "`~`"),
    ("formula-deep-minus", "-" * 400 + "a", "KB303", "nested"),
    ("formula-deep-parens", "(" * 240 + "a" + ")" * 240, "KB303", "parentheses"),
    ("formula-divide-zero", "a / (a - a)", "KB303", "zero"),
    ("formula-overflow", " * ".join(["a"] * 20), "KB303", "too large"),
    ("formula-unknown-name", "a + b", "KB303", "`b`"),
    ("formula-import", "__import__(''os'').system(''true'')", "KB303", "function calls"),
    ("formula-power", "a ** 2", "KB303", "`**`"),
    ("formula-lambda", "(lambda: 1)()", "KB303", "function calls"),
    ("formula-attribute", "a.real", "KB303", "attribute"),
    ("formula-too-long", "a + " * 130 + "a", "KB004", "500"),
    ("formula-syntax", "a +", "KB303", "not an arithmetic"),
]:
    CASES.append(c(_name, "formulas", _code, FORMULA_LINE, extra=_FORMULA.format(formula=_formula), message=_word))
CASES.append(
    c(
        "formula-not-text",
        "formulas",
        "KB004",
        FORMULA_LINE,
        extra="derived_from:\n  formula: 5\n  inputs: {a: num-int-1e20}\n",
    )
)
CASES.append(
    c(
        "formula-bad-input-name",
        "formulas",
        "KB004",
        15,
        extra="derived_from:\n  formula: 'a'\n  inputs: {1a: num-int-1e20}\n",
    )
)


def source_file(root: Path) -> None:
    path = root / "sources" / "outlet" / f"{SOURCE_ID}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SOURCE, encoding="utf-8")


# --------------------------------------------------------------------------- scale cases
def clique(root: Path, size: int = 200) -> None:
    """``size`` sources that all cite each other, and one claim citing them all."""
    ids = [f"clique-{i:03d}" for i in range(size)]
    for id_ in ids:
        cites = ", ".join(other for other in ids if other != id_)
        text = SOURCE.replace(SOURCE_ID, id_).replace("2024-07-24\n", f"2024-07-24\ncites: [{cites}]\n")
        (root / "sources" / "clique").mkdir(parents=True, exist_ok=True)
        (root / "sources" / "clique" / f"{id_}.md").write_text(text, encoding="utf-8")
    evidence = "".join(f"\n  - source: {id_}" for id_ in ids[:150])
    (root / "claims" / "clique").mkdir(parents=True, exist_ok=True)
    (root / "claims" / "clique" / "clique-claim.md").write_text(
        claim_text("clique-claim", evidence=evidence), encoding="utf-8"
    )


def translation_chain(root: Path, length: int = 5000) -> None:
    """A chain of ``length`` translations, the last relayed by a claim's via, the first
    translating a source that does not exist (KB101 on line 7 of chain-0000)."""
    folder = root / "sources" / "chain"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(length):
        parent = f"chain-{i - 1:04d}" if i else "chain-missing"
        text = SOURCE.replace(SOURCE_ID, f"chain-{i:04d}").replace(
            "published: 2024-07-24\n", f"published: 2024-07-24\ntranslation_of: {parent}\n"
        )
        (folder / f"chain-{i:04d}.md").write_text(text, encoding="utf-8")
    (root / "claims" / "chain").mkdir(parents=True, exist_ok=True)
    evidence = f"\n  - source: chain-{length - 1:04d}\n    via: chain-{length // 2:04d}"
    (root / "claims" / "chain" / "chain-claim.md").write_text(
        claim_text("chain-claim", evidence=evidence), encoding="utf-8"
    )


def derivation_chain(root: Path, length: int = 1000) -> None:
    """Claims each derived from the previous one, the first derived from the last (a cycle)."""
    folder = root / "claims" / "derived"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(length):
        previous = f"derived-{(i - 1) % length:04d}"
        extra = f"derived_from:\n  formula: 'a'\n  inputs: {{a: {previous}}}\n"
        (folder / f"derived-{i:04d}.md").write_text(claim_text(f"derived-{i:04d}", extra=extra), encoding="utf-8")


SCALE_CASES = {
    # name: (maker, expected code, file, line)
    "scale-clique-200": (clique, "KB104", "sources/clique/clique-000.md", 2),
    "scale-translation-chain-5000": (translation_chain, "KB101", "sources/chain/chain-0000.md", 7),
    "scale-derived-chain-1000": (derivation_chain, "KB104", "claims/derived/derived-0000.md", 2),
}
