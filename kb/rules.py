"""The rule registry: every finding's code, kebab-case name, default severity and documentation.

One table maps codes to rules, as in ruff. ``kb rule CODE`` prints a rule's documentation;
settings may name a rule by code or by name.

>>> RULES["KB004"].name, RULES["KB004"].severity
('schema-violation', 'error')
>>> lookup("numeric-conflict").code
'KB301'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RULES", "Rule", "lookup", "render_rule"]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    summary: str
    why: str
    example: str
    fix: str


_R = Rule
_RULE_LIST = [
    _R(
        "KB001",
        "unreadable-file",
        "error",
        "A file cannot be read as text: it is not UTF-8, contains NUL bytes, is over the size limit (1 MiB, "
        "64 KiB of frontmatter) or cannot be opened.",
        "kb cannot check what it cannot read, and a binary or huge file in claims/ is almost always a mistake.",
        "claims/openai/loss.md saved as UTF-16 by an editor.",
        "Save the file as UTF-8 without NUL bytes; split very long bodies into notes elsewhere.",
    ),
    _R(
        "KB002",
        "invalid-frontmatter",
        "error",
        "The file has no frontmatter block (a first line `---`), the block is never closed, or it is not a "
        "mapping of fields.",
        "Every claim and source carries its data in YAML frontmatter; without it there is nothing to check.",
        "A claim file that starts with a heading instead of `---`.",
        "Start the file with `---`, the YAML fields, and a closing `---` line, then the Markdown body.",
    ),
    _R(
        "KB003",
        "yaml-syntax",
        "error",
        "The frontmatter is not valid YAML, or uses a feature kb refuses: duplicate keys, anchors and aliases, "
        "custom tags, a second document, nesting deeper than 32 levels.",
        "Duplicate keys silently lose data in most YAML readers; aliases allow 'billion laughs' bombs; tags "
        "run code in unsafe loaders. A knowledge base is data, so kb reads a safe subset and says where it stops.",
        "value: 5 billion\nvalue: 6 billion   # duplicate key",
        "Fix the syntax at the line and column given; write each key once; repeat values instead of aliasing them.",
    ),
    _R(
        "KB004",
        "schema-violation",
        "error",
        "A field is missing, unknown, or has the wrong type or form: a bad enum value, date, period or value, a "
        "value without metric or unit.",
        "Strict fields make the data queryable: `kind` must be one of five words, a period must be a period, a "
        "misspelt key would otherwise be silently ignored.",
        "vaule: 5 billion   # unknown field `vaule` (did you mean `value`?)",
        "Follow the message: correct the key's spelling, the value's form, or add the missing field.",
    ),
    _R(
        "KB005",
        "duplicate-id",
        "error",
        "Two files (claims or sources, which share one namespace) have the same id.",
        "Ids are citation keys and database keys: one id must name one thing.",
        "claims/openai/loss.md and claims/industry/loss.md both have id `loss`.",
        "Rename one of them (file name and id together).",
    ),
    _R(
        "KB006",
        "id-filename-mismatch",
        "error",
        "The `id` field differs from the file name without `.md`.",
        "Readers find a claim by its file name and cite it by its id; when they differ, links and citations break.",
        "claims/openai/openai-2024-loss.md with `id: openai-loss-2024`.",
        "Rename the file or change the id so that they match.",
    ),
    _R(
        "KB007",
        "invalid-id",
        "error",
        "An id is not lower-case letters, digits and single hyphens, or is longer than 100 characters.",
        "Ids appear in file names, URLs, Datasette paths and pandoc citation keys (`[@claim:ID]`); other "
        "characters break one of those.",
        "id: OpenAI_Loss_2024",
        "Use lower-case words joined by single hyphens: `openai-2024-net-loss`.",
    ),
    _R(
        "KB101",
        "unknown-source",
        "error",
        "An evidence item, a `via`, a `cites` or a `translation_of` names a source that does not exist.",
        "A dangling reference means the evidence cannot be traced to anything.",
        "evidence: [{source: the-informaton-2024}]   # typo",
        "Correct the id (the message suggests the closest one) or add the missing source file.",
    ),
    _R(
        "KB102",
        "unknown-claim",
        "error",
        "A relation (contradicts, supports, derived_from, supersedes, resolves) names a claim that does not exist.",
        "The relation is lost and the checks that depend on it cannot run.",
        "supersedes: openai-2024-loss-old   # no such claim",
        "Correct the id or add the claim.",
    ),
    _R(
        "KB103",
        "unused-source",
        "warning",
        "No claim and no other source refers to this source.",
        "An unused source is usually a claim that was never written, or a leftover after a rename.",
        "sources/reuters/reuters-2024-x.md that no evidence item names.",
        "Cite it from the claims it supports, or delete it.",
    ),
    _R(
        "KB104",
        "circular-sourcing",
        "error",
        "Sources cite, translate or relay each other in a cycle, or claims derive from each other in a cycle.",
        "Origins are found by following these links to the original report; a cycle has no original, and a "
        "derivation cycle cannot be computed.",
        "a cites b, b cites a.",
        "Break the cycle: decide which source reported first, and remove the link that points the wrong way.",
    ),
    _R(
        "KB105",
        "self-reference",
        "error",
        "A claim or source refers to itself (contradicts itself, cites itself, derives from itself), or an "
        "evidence item says its source relays itself (`via` equal to `source`).",
        "A self-reference is always a copy-paste slip and makes status and origins meaningless.",
        "id: x\ncontradicts: [x]",
        "Point the relation at the intended other claim or source.",
    ),
    _R(
        "KB201",
        "no-evidence",
        "warning",
        "A claim has no evidence item and is not derived from other claims.",
        "A claim without evidence cannot be traced; it shows as `unsupported`.",
        "A claim file with no `evidence:` list.",
        "Add the source passage that carries it, with a verbatim quote.",
    ),
    _R(
        "KB202",
        "single-origin",
        "info",
        "A claim has several supporting sources that all trace back to one original report.",
        "Five articles relaying one report of The Information are one piece of evidence, not five.",
        "Three articles, each `via: the-information-2024-07-24-…`.",
        "Nothing to fix when it is true: it tells readers the figure has one origin. Look for an independent source.",
    ),
    _R(
        "KB203",
        "quote-not-found",
        "error",
        "An evidence quote does not occur in the source's snapshot (compared after Unicode NFKC normalisation, "
        "ignoring whitespace).",
        "Quotes are the proof; a quote that is not in the source is a paraphrase or a typo, not evidence.",
        'quote: "亏损50亿美元" when the snapshot says 亏损高达50亿美元.',
        "Copy the passage exactly from the snapshot. A snapshot missing from a snapshot folder is an info "
        "finding, an error with `kb check --require-snapshots`; when no configured snapshot folder exists (a "
        "clone without the archive), quotes are not verified and one info finding on the settings counts them.",
    ),
    _R(
        "KB204",
        "anachronism",
        "warning",
        "A source cites a source published after it; a claim states as fact a flow (revenue, loss, cost in USD) "
        "for a period that was not over when it was stated, or a level or an event (a valuation, a price, a "
        "funding round) for a period that had not begun.",
        "Both are signs of a wrong date or a wrong kind: a figure for the current year is a projection.",
        "kind: fact, period: 2024, stated: 2024-07-25.",
        "Correct the date, or make the claim a projection or an estimate.",
    ),
    _R(
        "KB301",
        "numeric-conflict",
        "warning",
        "Two claims about the same subject and metric, for overlapping periods, have values further apart than "
        "the metric's tolerance, and no relation (contradicts, supersedes, resolves, derived_from) between them.",
        "Conflicting figures are the most common error in relayed numbers; a reader must see both.",
        "openai-2024-loss-a: 5 billion; openai-2024-loss-b: 3 billion, same period.",
        "Declare `contradicts` on the later claim, or `supersedes`, or correct the figure.",
    ),
    _R(
        "KB302",
        "unit-mismatch",
        "error",
        "A claim's unit differs from its metric's configured unit and cannot be converted, or two claims a "
        "metric relation links (annualized = 12 × monthly) are in units of different kinds (USD against percent).",
        "A figure in the wrong unit compares wrongly with every other figure of its metric.",
        "metric: monthly_revenue with unit: USD when the metric's unit is USD/month.",
        "Use the metric's unit, or a different metric.",
    ),
    _R(
        "KB303",
        "arithmetic-mismatch",
        "error",
        "A `derived_from` formula, or a configured metric relation (annualized = 12 × monthly), does not give "
        "the claim's value within the tolerance.",
        "Seeds that fail their own arithmetic are exactly what readers need to see.",
        "derived_from: {formula: a + b, inputs: …} where a + b = 8.5 billion but value: 7 billion.",
        "Correct the input or the value; when the source itself is wrong, keep it and acknowledge the finding "
        "with the reason.",
    ),
    _R(
        "KB304",
        "magnitude-outlier",
        "warning",
        "A value is about 10× or more off the other values for the same subject, metric and period.",
        "A factor of ten is the typical slip of translation (万/亿, million/billion) or of units.",
        "83 million in one claim, 830 million in another, same subject and period.",
        "Check the original; record the garbled figure as stated and acknowledge the finding with the reason.",
    ),
    _R(
        "KB305",
        "invalid-range",
        "error",
        "A value range has low > high, or a period interval ends before it starts.",
        "An inverted range matches nothing and breaks every comparison.",
        "value: [5 billion, 4 billion]",
        "Swap the bounds (or the start and end of the period).",
    ),
    _R(
        "KB306",
        "unknown-metric",
        "warning",
        "A claim's metric is neither a metric declared in `[tool.kb.metrics.NAME]` nor one of their `aliases`. "
        "Only checked when the settings declare a vocabulary (at least one metric).",
        "Figures are compared, charted and counted by metric: a synonym (`funding_raised_total` beside "
        "`total_funding_raised`) or a misspelling splits one quantity into two pages that never meet.",
        "metric: totl_funding_raised   # not declared (did you mean `total_funding_raised`?)",
        "Use the declared name the message suggests, add the spelling to that metric's `aliases`, or declare "
        "the new metric with a `description` (and its `unit`).",
    ),
    _R(
        "KB401",
        "overdue-prediction",
        "warning",
        "A projection or prediction whose period has ended, and no claim resolves it.",
        "The knowledge base keeps a track record per claimant; an overdue forecast is an unscored one.",
        "kind: projection, period: 2024, and no claim with `resolves: {claim: …}`.",
        "Add the fact that settles it, with `resolves: {claim: ID, outcome: correct|incorrect|partly|ambiguous}`, "
        "or acknowledge that no outcome is known yet.",
    ),
    _R(
        "KB501",
        "draft-unknown-claim",
        "error",
        "A draft cites `[@claim:ID]` for a claim that does not exist.",
        "The citation would render as an unresolved key.",
        "[@claim:openai-2024-los]",
        "Correct the key (the message suggests the closest one).",
    ),
    _R(
        "KB502",
        "draft-cites-contested",
        "warning",
        "A draft cites a contested claim.",
        "Readers should be told the figure is disputed.",
        "[@claim:x] where x has a contradiction.",
        "Say in the text that the figure is contested, or cite the better-supported claim.",
    ),
    _R(
        "KB503",
        "draft-cites-refuted",
        "error",
        "A draft cites a refuted claim (verdict inaccurate, or only refuting evidence) or a superseded one "
        "(the message names the claim that supersedes it).",
        "Citing a refuted figure as support spreads it.",
        "[@claim:x] where x has a verdict of inaccurate.",
        "Cite the correcting claim instead.",
    ),
    _R(
        "KB504",
        "draft-number-mismatch",
        "error",
        "A number beside a citation disagrees with the cited claim's value.",
        "Numbers drift when copied by hand.",
        '"$6 billion [@claim:openai-2024-net-loss-projected]" where the claim says 5 billion.',
        "Use the claim's figure. Figures are read strictly (a currency, a magnitude word or a percent "
        "sign): '$5bn', 'US$5 billion', '50 亿美元', '五十亿美元', '164%', '$1.30 an hour'; per hour, month or year "
        "converted where the draft says so; the metric's tolerance applies.",
    ),
    _R(
        "KB505",
        "draft-uncited-figure",
        "info",
        "A figure in a sentence with no citation equals a claim's value exactly, in the claim's unit, and the "
        "sentence names the claim's subject: the message names the claim to cite.",
        "An uncited figure that the knowledge base holds is a citation the writer forgot; matching the subject "
        "as well as the number keeps the rule from flooding a draft with every '$5 billion' of the corpus.",
        "OpenAI could lose $5 billion this year.   # no [@claim:openai-2024-net-loss-projected]",
        "Cite the claim the message names, or suppress with `<!-- kb: ignore KB505 reason -->`.",
    ),
    _R(
        "KB901",
        "unused-acknowledgement",
        "warning",
        "An `acknowledge` entry names a rule that reports nothing on this claim or source, or no known rule; in a "
        "draft, a `<!-- kb: ignore CODE reason -->` comment that suppresses nothing, names no rule or gives no reason.",
        "Stale acknowledgements hide future findings and mislead readers about what was reviewed.",
        "acknowledge: {KB303: 'seed arithmetic'} on a claim whose arithmetic now holds.",
        "Remove the entry, or correct the rule code it names.",
    ),
]

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULE_LIST}
_BY_NAME = {rule.name: rule for rule in _RULE_LIST}


def lookup(code_or_name: str) -> Rule | None:
    """The rule with this code (any case) or kebab-case name, or None."""
    return RULES.get(code_or_name.upper()) or _BY_NAME.get(code_or_name.lower())


def render_rule(rule: Rule) -> str:
    """The documentation of a rule, as ``kb rule CODE`` prints it."""
    return (
        f"# {rule.name} ({rule.code})\n\n"
        f"Default severity: {rule.severity}\n\n"
        f"## What it does\n{rule.summary}\n\n"
        f"## Why is this bad?\n{rule.why}\n\n"
        f"## Example\n```yaml\n{rule.example}\n```\n\n"
        f"## How to fix\n{rule.fix}\n"
    )
