"""What every check receives: the corpus, its graph, the settings and the options of the run."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from kb.graph import claim_entities
from kb.load import Corpus
from kb.progress import Progress, quiet
from kb.settings import Settings

if TYPE_CHECKING:  # networkx (0.15 s to import) is imported where a graph is made
    import networkx as nx

__all__ = ["CheckContext", "normalise_text", "settings_file"]


def normalise_text(text: str) -> str:
    """NFKC, without whitespace: how quotes are compared with snapshots.

    >>> normalise_text("亏损，50 亿\\n美元") == normalise_text("亏损,50亿美元")
    True
    """
    return "".join(unicodedata.normalize("NFKC", text).split())


def settings_file(root) -> str | None:
    """The settings file of the knowledge base at ``root``, relative to it (where
    settings-level findings go): ``kb.toml``, else ``pyproject.toml``, else None."""
    return next((name for name in ("kb.toml", "pyproject.toml") if (root / name).is_file()), None)


@dataclass
class CheckContext:
    corpus: Corpus
    graph: nx.MultiDiGraph
    today: date
    require_snapshots: bool = False
    entities: dict[str, str] | None = None  # claim id -> entity id, filled on first use
    figures: dict[tuple, list] | None = None  # (entity, metric) -> comparable claims, filled on first use
    progress: Progress = field(default_factory=quiet)
    cache: dict[str, object] = field(default_factory=dict)  # indexes built once per run by the checks
    # "claim"/"source" -> every id of that kind in the knowledge base, in corpus order, when the
    # corpus is only a part of it (kb.incremental): the ids "did you mean" chooses from
    ids: dict[str, list[str]] | None = None
    # the paths whose findings are wanted (None: all); the others are in the corpus only for
    # what they tell the wanted ones, and a check may skip costly detail for them
    scope: set[str] | None = None
    _snapshots: dict[str, str | None] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.corpus.settings

    def entity_of(self, claim_id: str) -> str | None:
        """The entity a claim is about (mapped once per run for all claims)."""
        if self.entities is None:
            self.entities = claim_entities(self.graph)
        return self.entities.get(claim_id)

    def metric_key(self, record) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        """(canonical metric, sorted qualifiers): what two figures must share to be compared."""
        claim = record.model
        return self.settings.metric_name(claim.metric), tuple(sorted(claim.qualifiers.items()))

    def wanted(self, record) -> bool:
        """Whether the findings of ``record`` are wanted (see ``scope``)."""
        return self.scope is None or record.path in self.scope

    def known_ids(self, kind: str):
        """Every id of ``kind`` ("claim" or "source") in the knowledge base."""
        if self.ids is not None:
            return self.ids[kind]
        return self.corpus.sources if kind == "source" else self.corpus.claims

    def snapshot_text(self, name: str) -> str | None:
        """The normalised text of a snapshot file, or None when no folder holds it."""
        if name not in self._snapshots:
            self._snapshots[name] = None
            for folder in self.settings.snapshot_dirs:
                try:
                    path = (folder / name).resolve()
                    if path.parent == folder.resolve() and path.is_file():
                        self._snapshots[name] = normalise_text(path.read_text(encoding="utf-8", errors="replace"))
                        break
                except (OSError, ValueError):
                    continue
        return self._snapshots[name]
