"""A small knowledge base that exercises every part of the claim and source pages, and helpers
to serve a database with kb's metadata (imported by the site tests)."""

from __future__ import annotations

from pathlib import Path

from datasette.app import Datasette

from kb.database import build_database
from kb.serve import COMMON_SETTINGS, PUBLIC_SETTINGS, metadata

FILES = {
    "sources/info/the-info-report.md": """---
id: the-info-report
title: Why OpenAI could lose $5 billion
type: article
publisher: The Information
language: en
published: 2024-07-24
url: https://example.org/openai-loss
---
The original report.
""",
    "sources/netease/netease-relay.md": """---
id: netease-relay
title: 为什么OpenAI今年可能会亏损50亿美元?
type: article
publisher: NetEase
language: zh-Hans
published: 2024-07-25
cites: [the-info-report]
---
""",
    "sources/blog/blog-post.md": """---
id: blog-post
title: The subprime AI crisis
type: blog
publisher: Where's Your Ed At
language: en
published: 2024-09-16
---
""",
    "sources/blog/blog-post-zh.md": """---
id: blog-post-zh
title: 次贷人工智能危机
type: translation
publisher: Block unicorn
language: zh-Hant
published: 2024-09-20
translation_of: blog-post
---
""",
    "claims/openai/openai-2024-loss-projected.md": """---
id: openai-2024-loss-projected
statement: OpenAI could lose $5 billion in 2024.
kind: projection
subject: OpenAI
metric: net_loss
value: 5 billion
unit: USD
period: 2024
claimant: The Information
stated: 2024-07-24
evidence:
  - source: netease-relay
    via: the-info-report
    quote: "OpenAI今年可能亏损高达50亿美元"
    locator: line 6
    stated_as: 50亿美元
  - source: blog-post-zh
    stance: supports
    quote: "它預計將在2024年虧損50億美元"
    locator: line 15
    stated_as: 50億美元
contradicts:
  - claim: openai-2024-loss-low
    note: The blog's figure is lower.
tags: [losses, openai]
---
Notes with **bold** text.
""",
    "claims/openai/openai-2024-loss-low.md": """---
id: openai-2024-loss-low
statement: OpenAI will lose only $4 billion in 2024.
kind: projection
subject: Open AI
metric: net_loss
value: 4 billion
unit: USD
period: 2024
claimant: A Blogger
stated: 2024-08-01
evidence:
  - source: blog-post
    stance: refutes
    quote: "lose 5 billion"
acknowledge:
  KB401: The outcome is in openai-2024-loss.
---
""",
    "claims/openai/openai-2024-loss.md": """---
id: openai-2024-loss
statement: OpenAI lost $5 billion in 2024.
kind: fact
subject: OpenAI
metric: net_loss
value: 5 billion
unit: USD
period: 2024
claimant: Edward Zitron
stated: 2025-09
evidence:
  - source: blog-post
    quote: "lost 5 billion"
resolves:
  claim: openai-2024-loss-projected
  outcome: correct
---
""",
    "claims/openai/openai-2024-monthly-loss.md": """---
id: openai-2024-monthly-loss
statement: OpenAI lost about $417 million a month in 2024.
kind: estimate
subject: OpenAI
metric: monthly_loss
value: 416666666.67
unit: USD/month
period: 2024
approximate: true
claimant: kb editors
stated: 2026-01
derived_from:
  formula: "loss / 12"
  inputs:
    loss: openai-2024-loss
evidence:
  - source: blog-post
    quote: "lost 5 billion"
---
""",
}


def write_kb(root: Path) -> Path:
    (root / "kb.toml").write_text(
        'today = "2026-11-23"\nbase_url = "https://kb.example.org"\n'
        '[site]\ntitle = "Test KB"\ndescription = "A knowledge base for the site tests."\nlicense = "CC0"\n'
        '[entities.openai]\nname = "OpenAI"\naliases = ["Open AI"]\n',
        encoding="utf-8",
    )
    for relative, text in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def build(root: Path):
    from kb.analyse import analyse

    analysis = analyse(root)
    return analysis.settings, build_database(analysis)


def datasette(settings, path, public: bool = False) -> Datasette:
    options = PUBLIC_SETTINGS if public else COMMON_SETTINGS
    return Datasette([], immutables=[str(path)], metadata=metadata(settings), settings=options)
