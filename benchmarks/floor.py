"""The floor a build is measured against: the least work that turns the files into a table.

    python benchmarks/floor.py ROOT DATABASE

One process: ``os.scandir`` walk, read, split the frontmatter, PyYAML's C ``CSafeLoader``
(libyaml), and one raw ``executemany`` into one table in one transaction, streamed in
batches of 10,000 files. No validation, no graph, no checks, no Markdown, no search index:
what any loader of these files must at least do (../shared/notes/performance.md, table 2).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from datetime import date, datetime

import yaml

if not yaml.__with_libyaml__:
    sys.exit("floor.py needs PyYAML built with libyaml (CSafeLoader)")


def walk(folder: str):
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.name.endswith(".md"):
                    yield entry.path


def _default(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def main(root: str, database: str) -> int:
    if os.path.exists(database):
        os.unlink(database)
    conn = sqlite3.connect(database)
    conn.execute("create table files (path text primary key, id text, frontmatter text, body text)")
    batch, count = [], 0
    with conn:
        for folder in ("claims", "sources"):
            for path in walk(os.path.join(root, folder)):
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
                end = text.find("\n---", 4)
                data = yaml.load(text[4:end], Loader=yaml.CSafeLoader) or {}
                batch.append((path, data.get("id"), json.dumps(data, default=_default), text[end + 4 :]))
                if len(batch) >= 10_000:
                    conn.executemany("insert into files values (?, ?, ?, ?)", batch)
                    count += len(batch)
                    batch = []
        conn.executemany("insert into files values (?, ?, ?, ?)", batch)
        count += len(batch)
    conn.close()
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
