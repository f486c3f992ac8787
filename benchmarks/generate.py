"""A realistic synthetic knowledge base, for `make bench` and for anyone measuring kb.

    python benchmarks/generate.py DIR --claims 20000 [--seed 42]

Shaped like the shipped corpus, at any size (check cost depends on group sizes, so the
shape matters as much as the count):

* subjects follow a Zipf law (a few companies carry most claims, as OpenAI, Anthropic and
  Nvidia do in the corpus; a long tail has one or two), metrics too (revenue, losses,
  valuations, capex… and a tail of rare ones), over a declared metric vocabulary (kb.toml)
  with units, aliases and a few undeclared names (KB306);
* several reports of the same figure (subject, metric, period) from different outlets,
  most agreeing within rounding, 8% conflicting, 2% off by 10× (KB301), some in another
  unit (KB302);
* kinds as in the corpus: facts, estimates, projections and predictions (some overdue,
  some resolved by a later fact: KB401), opinions without a figure;
* evidence: 1–3 items, a quarter with Chinese quotes (`stated_as` like "50 亿美元"), some
  relayed `via` another source, some refuting; sources cite earlier sources and translate
  others (via chains);
* declared contradictions (about 4% of claims), derivations (`derived_from` with a
  formula: 2%), supersessions, verdicts, qualifiers, tags;
* Markdown bodies (headings, emphasis, lists, links, blockquotes) of one to four paragraphs;
* nested folders: claims/<subject>/<year>/, sources/<publisher>/<year>/.

Deterministic for a seed: the same files, byte for byte. Nothing here imports kb.
"""

from __future__ import annotations

import argparse
import random
import shutil
import zlib
from pathlib import Path

__all__ = ["generate"]

METRICS = [  # (name, unit, typical base value)
    ("revenue", "USD", 3e9),
    ("net_loss", "USD", 2e9),
    ("valuation", "USD", 8e10),
    ("annualized_revenue", "USD/year", 5e9),
    ("capex", "USD", 2e10),
    ("funding_raised", "USD", 6e9),
    ("compute_spend", "USD", 4e9),
    ("inference_cost", "USD", 2e9),
    ("operating_loss", "USD", 1.5e9),
    ("monthly_revenue", "USD/month", 3e8),
    ("users", "count", 4e8),
    ("paying_subscribers", "count", 2e7),
    ("gpu_count", "count", 2e5),
    ("gross_margin", "percent", 40),
    ("revenue_growth", "percent", 120),
    ("price_per_million_tokens", "USD", 10),
    ("data_center_power", "GW", 1.5),
    ("employees", "count", 3000),
    ("cash", "USD", 1e10),
    ("debt", "USD", 1.2e10),
]
RARE_METRICS = [f"rare_metric_{i}" for i in range(80)]  # the corpus has 72 metrics used once
UNDECLARED = ["burn_rate", "token_volume", "churn"]  # KB306: not in the vocabulary

COMPANIES = [
    "OpenAI",
    "Anthropic",
    "Nvidia",
    "Microsoft",
    "Google",
    "Meta",
    "Amazon",
    "xAI",
    "Mistral",
    "CoreWeave",
    "Oracle",
    "Cursor",
    "Perplexity",
    "Inflection",
    "Character.AI",
    "Stability",
    "Cohere",
    "AMD",
    "Intel",
    "SoftBank",
    "Crusoe",
    "Lambda",
    "Scale",
    "Databricks",
    "Snowflake",
    "Apple",
    "Tesla",
    "Baidu",
    "Alibaba",
    "Tencent",
    "ByteDance",
    "Zhipu",
    "Moonshot",
    "DeepSeek",
    "MiniMax",
]
OUTLETS = [
    ("The Information", "en"),
    ("Reuters", "en"),
    ("Bloomberg", "en"),
    ("The New York Times", "en"),
    ("CNBC", "en"),
    ("Financial Times", "en"),
    ("The Wall Street Journal", "en"),
    ("36氪", "zh-Hans"),
    ("财新", "zh-Hans"),
    ("虎嗅", "zh-Hans"),
    ("Where's Your Ed At", "en"),
    ("Handelsblatt", "de"),
]
SOURCE_TYPES = ["article"] * 6 + ["report", "newsletter", "blog", "filing", "interview", "social"]
WORDS = [
    "revenue",
    "loss",
    "compute",
    "inference",
    "training",
    "margin",
    "valuation",
    "funding",
    "investors",
    "subscribers",
    "growth",
    "cloud",
    "capacity",
    "contract",
    "chips",
    "datacenter",
    "power",
    "demand",
    "pricing",
    "tokens",
    "enterprise",
    "consumer",
    "market",
    "bubble",
    "forecast",
    "quarter",
    "analysts",
    "capex",
    "depreciation",
    "debt",
    "runway",
    "burn",
]
CHINESE = ["亏损", "收入", "估值", "融资", "算力", "推理成本", "年化收入", "数据中心", "订阅用户", "资本支出"]
UNITS_ZH = {"USD": "亿美元", "USD/year": "亿美元", "USD/month": "亿美元"}


def _zipf(rng: random.Random, n: int, s: float = 1.1) -> int:
    """An index in [0, n) drawn from a Zipf law with exponent s (0 the most frequent)."""
    weights = _zipf.cache.get((n, s))  # type: ignore[attr-defined]
    if weights is None:
        weights = [1 / (k + 1) ** s for k in range(n)]
        total, acc = sum(weights), 0.0
        cumulative = []
        for w in weights:
            acc += w / total
            cumulative.append(acc)
        weights = _zipf.cache[(n, s)] = cumulative  # type: ignore[attr-defined]
    x = rng.random()
    lo, hi = 0, n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if weights[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


_zipf.cache = {}  # type: ignore[attr-defined]


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isascii() and ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in out.split("-") if part) or "x"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _vocabulary() -> list[str]:
    """About 3,600 words ranked for a Zipf law, as prose has them: common function words first,
    the domain words (revenue, loss…) spread over ranks 30–600, then pseudo-words. With the
    32 domain words alone every note held most of them, and a search for `revenue` matched
    nearly every claim, which real notes do not."""
    common = [
        "the",
        "of",
        "and",
        "to",
        "in",
        "a",
        "is",
        "that",
        "for",
        "on",
        "it",
        "with",
        "as",
        "was",
        "by",
        "at",
        "from",
        "this",
        "be",
        "are",
        "an",
        "or",
    ]
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "fi", "gu", "he", "ju"]
    pseudo = [a + b + c for a in syllables for b in syllables for c in syllables]  # 3,375
    pseudo += [a + b for a in syllables for b in syllables]  # 225
    words = common + pseudo
    for rank, word in zip(range(30, 600, 18), WORDS, strict=False):
        words.insert(rank, word)
    return words


VOCABULARY = _vocabulary()


def _sentence(rng: random.Random, words: int) -> str:
    chosen = [VOCABULARY[_zipf(rng, len(VOCABULARY), 1.07)] for _ in range(words)]
    return " ".join(chosen).capitalize() + "."


def _body(rng: random.Random, i: int, refs: list[str]) -> str:
    paragraphs = []
    for p in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.15:
            paragraphs.append(f"## Note {p + 1}\n\n{_sentence(rng, 12)}")
        elif kind < 0.30:
            paragraphs.append("\n".join(f"- {_sentence(rng, 6)}" for _ in range(rng.randint(2, 4))))
        elif kind < 0.40:
            paragraphs.append(f"> {_sentence(rng, 14)}")
        else:
            text = _sentence(rng, rng.randint(15, 40))
            if refs and rng.random() < 0.3:
                text += f" See [the related claim](/c/{rng.choice(refs)}) and **the caveats** in *the source*."
            paragraphs.append(text)
    return "\n\n".join(paragraphs) + "\n"


def _kb_toml(today: str) -> str:
    lines = [f'title = "Synthetic knowledge base"\ntoday = "{today}"\n']
    for name, unit, _ in METRICS:
        lines.append(f'[metrics.{name}]\ndescription = "{name.replace("_", " ")}"\nunit = "{unit}"')
        if name == "capex":
            lines.append('aliases = ["ai_capex"]')
    for name in RARE_METRICS:
        lines.append(f'[metrics.{name}]\ndescription = "a rarely reported quantity"\nunit = "USD"')
    return "\n".join(lines) + "\n"


def generate(root: Path, claims: int, seed: int = 42, today: str = "2026-11-23") -> dict:
    """Write a knowledge base of ``claims`` claims and ``claims // 10`` sources into ``root``
    (made empty first); return counts of what was written."""
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / "kb.toml").write_text(_kb_toml(today), encoding="utf-8")
    n_subjects = max(50, claims // 25)  # the corpus: 638 claims about ~90 subjects
    subjects = COMPANIES + [f"Startup {k:05d}" for k in range(n_subjects - len(COMPANIES))]

    # -- sources: a tenth as many as claims, citing and translating earlier ones ------------
    n_sources = max(10, claims // 10)
    source_ids: list[str] = []
    source_lang: dict[str, str] = {}
    for s in range(n_sources):
        outlet, lang = OUTLETS[_zipf(rng, len(OUTLETS), 0.8)]
        day = s * (3 * 365) // n_sources  # published in id order: a source cites earlier ones
        year, month, mday = 2023 + day // 365, 1 + (day % 365) // 31, 1 + (day % 365) % 31 % 28
        sid = f"{_slug(outlet)}-{year}-{s:06d}"
        fields = [
            f"id: {sid}",
            f"title: {_quote(_sentence(rng, 8) if lang != 'zh-Hans' else '关于' + rng.choice(CHINESE) + '的报道')}",
            f"type: {rng.choice(SOURCE_TYPES)}",
            f"publisher: {_quote(outlet)}",
            f"language: {lang}",
            f"published: {year}-{min(month, 12):02d}-{mday:02d}",
        ]
        if rng.random() < 0.7:
            fields.append(f"url: https://example.com/{_slug(outlet)}/{s}")
        if rng.random() < 0.4:
            fields.append(f"authors: [{_quote(f'Reporter {s % 997}')}]")
        if source_ids and rng.random() < 0.45:
            cited = sorted({source_ids[rng.randrange(len(source_ids))] for _ in range(rng.randint(1, 3))})
            fields.append(f"cites: [{', '.join(cited)}]")
        if source_ids and lang == "zh-Hans" and rng.random() < 0.2:
            fields.append(f"translation_of: {source_ids[rng.randrange(len(source_ids))]}")
        folder = root / "sources" / _slug(outlet) / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{sid}.md").write_text("---\n" + "\n".join(fields) + "\n---\n" + _body(rng, s, []), encoding="utf-8")
        source_ids.append(sid)
        source_lang[sid] = lang

    # -- claims -------------------------------------------------------------------------
    source_index = {sid: k for k, sid in enumerate(source_ids)}
    metric_names = [m[0] for m in METRICS]
    units = {m[0]: m[1] for m in METRICS}
    bases = {m[0]: m[2] for m in METRICS}
    claim_ids: list[str] = []
    projections: list[tuple[str, str, str, str]] = []  # (id, subject, metric, period)
    groups: dict[tuple, list[str]] = {}
    values: dict[str, tuple[float, str]] = {}  # claim id -> (value, metric), inputs for derivations
    counts = {"claims": 0, "sources": n_sources, "contradictions": 0, "derived": 0, "chinese_quotes": 0}
    for c in range(claims):
        subject = subjects[_zipf(rng, len(subjects), 1.05)]
        draw = rng.random()
        kind = (
            "fact"
            if draw < 0.55
            else "estimate"
            if draw < 0.70
            else "projection"
            if draw < 0.82
            else "prediction"
            if draw < 0.90
            else "opinion"
        )
        year = 2022 + _zipf(rng, 5, 0.5)
        period = rng.choice([f"{year}", f"{year}-H{1 + c % 2}", f"{year}-Q{1 + c % 4}", f"{year}-{1 + c % 12:02d}"])
        cid = f"{_slug(subject)}-{year}-{c:07d}"
        fields = [f"id: {cid}"]
        statement = f"{subject} {_sentence(rng, rng.randint(6, 14)).lower()}"
        fields.append(f"statement: {_quote(statement)}")
        fields.append(f"kind: {kind}")
        fields.append(f"subject: {_quote(subject)}")
        metric, derived = None, ""
        if kind != "opinion":
            r = rng.random()
            metric = (
                metric_names[_zipf(rng, len(metric_names), 1.0)]
                if r < 0.93
                else RARE_METRICS[rng.randrange(len(RARE_METRICS))]
                if r < 0.99
                else rng.choice(UNDECLARED)
            )
            unit = units.get(metric, "USD")
            key = (subject, metric, period)
            base = bases.get(metric, 1e9) * (0.5 + (zlib.crc32(repr(key).encode()) % 1000) / 400)  # stable per group
            r = rng.random()
            value = base * (10 if r < 0.02 else 1.5 if r < 0.10 else rng.uniform(0.99, 1.01))
            if rng.random() < 0.01 and unit == "USD":
                unit = "EUR"  # KB302
            if len(claim_ids) > 2 and rng.random() < 0.02:  # derived: a + b, right four times in five
                a, b = (
                    rng.choice([k for k in values if units.get(values[k][1]) == unit] or [claim_ids[0]]) for _ in "ab"
                )
                if a in values and b in values:
                    value = (values[a][0] + values[b][0]) * (1 if rng.random() < 0.8 else 1.3)
                    derived = f"derived_from:\n  formula: a + b\n  inputs: {{a: {a}, b: {b}}}"
            written = f"{value:.6g}" if value < 1e6 else f'"{value / 1e9:.6g} billion"'
            fields += [f"metric: {metric}", f"value: {written}", f"unit: {unit}", f'period: "{period}"']
            if rng.random() < 0.3:
                fields.append("approximate: true")
            if rng.random() < 0.08:
                fields.append(f"qualifiers: {{segment: {rng.choice(['inference', 'training', 'consumer'])}}}")
            groups.setdefault(key, []).append(cid)
            if len(values) < 5000 or rng.random() < 0.05:
                values[cid] = (float(written.strip('"').split()[0]) * (1e9 if "billion" in written else 1), metric)
            if kind in ("projection", "prediction"):
                projections.append((cid, subject, metric, period))
        claimant = OUTLETS[_zipf(rng, len(OUTLETS), 0.8)][0] if rng.random() < 0.7 else f"Analyst {c % 301}"
        fields.append(f"claimant: {_quote(claimant)}")
        stated = year + 1 if kind in ("fact", "estimate", "opinion") else year - 1  # facts after their period
        fields.append(f"stated: {stated}-{1 + c % 12:02d}-{1 + c % 28:02d}")
        evidence = []
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            sid = source_ids[_zipf(rng, len(source_ids), 0.6) if rng.random() < 0.5 else rng.randrange(n_sources)]
            item = [f"  - source: {sid}"]
            if rng.random() < 0.05:
                item.append("    stance: refutes")
            if source_lang[sid] == "zh-Hans" or rng.random() < 0.25:
                word = rng.choice(CHINESE)
                item.append(f"    quote: {_quote(f'据报道,{subject}{word}约为{rng.randint(2, 900)}亿美元')}")
                if metric and units.get(metric, "").startswith("USD") and rng.random() < 0.5:
                    stated_as = f"{rng.randint(2, 900)} {UNITS_ZH.get(units[metric], '')}"
                    item.append(f"    stated_as: {_quote(stated_as)}")
                counts["chinese_quotes"] += 1
            else:
                item.append(f"    quote: {_quote(_sentence(rng, rng.randint(8, 20)))}")
            item.append(f"    locator: {_quote(f'paragraph {rng.randint(1, 40)}')}")
            if rng.random() < 0.25 and (position := source_index[sid]) > 0:  # relayed from an earlier one
                item.append(f"    via: {source_ids[rng.randrange(position)]}")
            evidence += item
        if kind == "opinion" and rng.random() < 0.3:
            evidence = []  # opinions are often unsourced (KB201 is a warning)
        if evidence:
            fields.append("evidence:")
            fields += evidence
        if claim_ids and rng.random() < 0.04:
            other = claim_ids[rng.randrange(len(claim_ids))]
            fields.append(f"contradicts: [{other}]")
            counts["contradictions"] += 1
        if derived:
            fields.append(derived)
            counts["derived"] += 1
        if kind == "fact" and projections and rng.random() < 0.05:
            target = projections[rng.randrange(len(projections))][0]
            fields.append(f"resolves: {{claim: {target}, outcome: {rng.choice(['correct', 'incorrect', 'partly'])}}}")
        if claim_ids and rng.random() < 0.02:
            fields.append(f"supersedes: {claim_ids[-1]}")
        if rng.random() < 0.03:
            fields.append("verdict: {rating: misleading, rationale: The figure is a run rate presented as revenue.}")
        if rng.random() < 0.6:
            fields.append(f"tags: [{', '.join(sorted({rng.choice(WORDS) for _ in range(rng.randint(1, 4))}))}]")
        folder = root / "claims" / _slug(subject) / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        refs = claim_ids[-50:]
        (folder / f"{cid}.md").write_text(
            "---\n" + "\n".join(fields) + "\n---\n" + _body(rng, c, refs), encoding="utf-8"
        )
        claim_ids.append(cid)
        counts["claims"] += 1
    counts["largest_group"] = max(len(v) for v in groups.values()) if groups else 0
    counts["subjects"] = len({k[0] for k in groups})
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--claims", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(generate(args.directory, args.claims, args.seed))


if __name__ == "__main__":
    main()
