"""Render findings: ``concise``, ``full``, ``json``, ``github`` and ``sarif`` (2.1.0).

The formats follow ruff and flake8 (``path:line:col: CODE message``), GitHub workflow
commands, and GitHub's minimum for SARIF uploads.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from kb import __version__
from kb.findings import Finding, printable
from kb.rules import RULES

__all__ = ["FORMATS", "render", "render_bytes", "render_step_summary", "summary"]

FORMATS = ("concise", "full", "json", "github", "sarif")
_INFO_URI = "https://github.com/kb-project/kb#rules"


def render(findings: list[Finding], fmt: str, root: Path | None = None, show_acknowledged: bool = False) -> str:
    """The findings in the given format, ending with a newline (or empty).

    The machine formats (json, sarif) always carry every finding, acknowledged ones marked
    (SARIF: as ``suppressions``); the human formats (concise, full, github) show an
    acknowledged finding only with ``show_acknowledged`` and otherwise count it in the summary,
    as ruff counts what ``# noqa`` hides.
    """
    if fmt == "json":
        return _dumps([_as_dict(f) for f in findings])
    if fmt == "sarif":
        return _dumps(_sarif(findings))
    shown = findings if show_acknowledged else [f for f in findings if not f.acknowledged]
    if fmt == "github":
        return "".join(_github(f) + "\n" for f in shown)
    lines = []
    for finding in shown:
        lines.append(_concise(finding))
        if fmt == "full":
            lines.extend(_excerpt(finding, root))
    lines.append(summary(findings, show_acknowledged))
    return "\n".join(lines) + "\n"


def render_bytes(findings: list[Finding], fmt: str, root: Path | None = None, show_acknowledged: bool = False) -> bytes:
    """:func:`render`'s text in UTF-8, for a file (``-o``). The machine formats are written as
    orjson gives them: the JSON of the 40,000 findings of a 100k knowledge base is 30 MB,
    which decoding to text and encoding again to write it took 0.13 s of a re-check."""
    if fmt == "json":
        return _dumps_bytes([_as_dict(f) for f in findings])
    if fmt == "sarif":
        return _dumps_bytes(_sarif(findings))
    return render(findings, fmt, root, show_acknowledged).encode("utf-8")


def _dumps(value: object) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)`` and a newline, the same text
    (tests/test_output.py compares them), written by orjson: the standard library leaves its C
    encoder when asked to indent, and took 0.6 s for the 40,000 findings of a 100k knowledge
    base, half of a re-check after one edit; orjson takes 0.1 s."""
    return _dumps_bytes(value).decode()


def _dumps_bytes(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def _concise(finding: Finding) -> str:
    text = f"{printable(finding.path)}:{finding.line}:{finding.column}: {finding.code} [{finding.severity}] {finding.message}"
    if finding.acknowledged:
        text += f" [acknowledged: {finding.acknowledgement}]"
    return text


def summary(findings: list[Finding], show_acknowledged: bool = True) -> str:
    """One closing line, as ruff prints it; without ``show_acknowledged``, the acknowledged
    findings are counted as hidden.

    >>> summary([])
    'All checks passed.'
    >>> summary([Finding("KB401", "overdue", "a.md", acknowledged=True)], show_acknowledged=False)
    'All checks passed; 1 acknowledged finding hidden (--show-acknowledged).'
    """
    if not findings:
        return "All checks passed."
    if not show_acknowledged:
        hidden = sum(f.acknowledged for f in findings)
        if hidden:
            rest = summary([f for f in findings if not f.acknowledged]).removesuffix(".")
            noun = "finding" if hidden == 1 else "findings"
            return f"{rest}; {hidden} acknowledged {noun} hidden (--show-acknowledged)."
    counts = Counter(f.severity for f in findings if not f.acknowledged)
    parts = [
        f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
        for s in ("error", "warning", "info")
        if counts[s]
    ]
    acknowledged = sum(f.acknowledged for f in findings)
    if acknowledged:
        parts.append(f"{acknowledged} acknowledged")
    noun = "finding" if len(findings) == 1 else "findings"
    return f"Found {len(findings)} {noun} ({', '.join(parts)})."


def _excerpt(finding: Finding, root: Path | None) -> list[str]:
    try:
        text = ((root or Path(".")) / finding.path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    width = len(str(min(len(text), finding.line + 1)))
    for number in range(max(1, finding.line - 1), min(len(text), finding.line + 1) + 1):
        out.append(f"  {number:>{width}} | {text[number - 1]}")
        if number == finding.line:
            out.append(f"  {'':>{width}} | {' ' * (finding.column - 1)}^")
    rule = RULES[finding.code]
    out.append(f"  = help: {rule.fix}  (kb rule {finding.code})")
    out.append("")
    return out


def _as_dict(finding: Finding) -> dict:
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity,
        "acknowledged": finding.acknowledged,
        "acknowledgement": finding.acknowledgement,
        "message": finding.message,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "claim_id": finding.claim_id,
        "source_id": finding.source_id,
        "other_claim_id": finding.other_claim_id,
        "other_claim_ids": finding.other_claim_ids,  # (a tuple: a list in JSON)
        "id": finding.id,
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(finding: Finding) -> str:
    level = {"error": "error", "warning": "warning"}.get(finding.severity, "notice")
    message = finding.message
    if finding.acknowledged:
        level, message = "notice", f"{message} [acknowledged: {finding.acknowledgement}]"
    props = ",".join(
        f"{key}={_escape_property(str(value))}"
        for key, value in (
            ("file", printable(finding.path)),
            ("line", finding.line),
            ("col", finding.column),
            ("title", f"{finding.code} {finding.name}"),
        )
    )
    return f"::{level} {props}::{_escape_data(message)}"


def _sarif(findings: list[Finding]) -> dict:
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary.split(". ")[0].rstrip(".") + "."},
            "fullDescription": {"text": rule.summary},
            "help": {"text": f"{rule.why}\n\nHow to fix: {rule.fix}"},
            "helpUri": _INFO_URI,
            "defaultConfiguration": {"level": _sarif_level(rule.severity)},
        }
        for rule in RULES.values()
    ]
    index = {code: i for i, code in enumerate(RULES)}
    results = []
    seen: Counter[str] = Counter()
    for finding in findings:
        # Findings that nothing tells apart (the same quote cited twice) get an occurrence
        # number, in file order, as GitHub numbers equal line hashes: fingerprints are unique.
        fingerprint = finding.fingerprint
        seen[fingerprint] += 1
        if seen[fingerprint] > 1:
            fingerprint = f"{fingerprint}:{seen[fingerprint]}"
        result = {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": _sarif_level(finding.severity),
            "message": {"text": finding.message},
            "locations": [_location(finding.path, finding.line, finding.column)],
            "partialFingerprints": {"kbFinding/v1": fingerprint},
        }
        if finding.related:
            result["relatedLocations"] = [
                {**_location(path, line, column), "id": i, "message": {"text": text}}
                for i, (path, line, column, text) in enumerate(finding.related)
            ]
        if finding.acknowledged:
            # the reason stands in the file itself (`acknowledge:`), and the editors accepted it
            result["suppressions"] = [
                {"kind": "inSource", "status": "accepted", "justification": finding.acknowledgement or ""}
            ]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "kb", "version": __version__, "informationUri": _INFO_URI, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _sarif_level(severity: str) -> str:
    return {"error": "error", "warning": "warning"}.get(severity, "note")


def _location(path: str, line: int, column: int) -> dict:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": line, "startColumn": column},
        }
    }


def render_step_summary(findings: list[Finding], show_acknowledged: bool = False) -> str:
    """A Markdown table of the findings, for ``$GITHUB_STEP_SUMMARY``."""
    shown = findings if show_acknowledged else [f for f in findings if not f.acknowledged]
    lines = ["## kb check", "", summary(findings, show_acknowledged), ""]
    if shown:
        lines += ["| file | line | rule | severity | message |", "|---|---:|---|---|---|"]
        for f in shown:
            message = f.message.replace("|", "\\|") + (" *(acknowledged)*" if f.acknowledged else "")
            lines.append(f"| `{printable(f.path)}` | {f.line} | {f.code} {f.name} | {f.severity} | {message} |")
    return "\n".join(lines) + "\n"
