"""Settings: ``[tool.kb]`` in pyproject.toml, or ``kb.toml`` at the knowledge base root.

When ``kb.toml`` exists it is used instead of pyproject.toml. ``KB_SNAPSHOTS`` (folders
separated by ``os.pathsep``) overrides ``snapshots``. Every key has a default, so an empty
folder with a ``claims/`` directory is a valid knowledge base.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from kb.settings_file import InputPaths, SettingsError, find_root, read_table
from kb.validation import problems

__all__ = [
    "Entity",
    "MetricSettings",
    "Relation",
    "Settings",
    "SettingsError",
    "SiteSettings",
    "find_root",
    "load_settings",
]

SEVERITIES = ("error", "warning", "info", "off")


class _Config(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


MetricName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$", max_length=80)]


class MetricSettings(_Config):
    description: str | None = Field(None, description="What the metric measures, shown with its figures.")
    unit: str | None = Field(None, description="The metric's unit; a claim in another unit is KB302.")
    tolerance: Annotated[float, Field(ge=0, le=10)] = Field(
        0.05, description="Relative tolerance when comparing two figures of this metric."
    )
    aliases: list[MetricName] = Field(
        default_factory=list, description="Other names that resolve to this metric everywhere (checks, database)."
    )


class Relation(_Config):
    left: str = Field(description="Metric on the left: left = factor × right.")
    right: str = Field(description="Metric on the right.")
    factor: float = Field(description="left = factor × right, for claims of the same subject and period.")


class Entity(_Config):
    name: str = Field(description="The entity's canonical name.")
    aliases: list[str] = Field(default_factory=list, description="Other spellings that resolve to it.")


class SiteSettings(_Config):
    """What the published site says about itself: ``[tool.kb.site]``. Neutral defaults, so a
    user's own knowledge base is never titled after the shipped corpus."""

    robots: Literal["allow", "disallow"] = Field(
        "allow",
        description="robots.txt of the site: allow (pages may be indexed, not query strings or JSON) or disallow.",
    )

    title: str | None = Field(None, description="The site's title; else [tool.kb] title; else 'Knowledge base'.")
    description: str | None = Field(None, description="One paragraph on what the knowledge base holds (plain text).")
    license: str | None = Field(None, description="Licence of the content, e.g. CC BY 4.0.")
    license_url: str | None = Field(None, description="Link to the licence text.")
    source_url: str | None = Field(None, description="Where the Markdown files live, e.g. the repository.")


class Settings(_Config, InputPaths):
    root: Path = Field(Path("."), description="The knowledge base root (set by the loader).")
    claims: str = Field("claims", description="Folder of claim files, relative to the root.")
    sources: str = Field("sources", description="Folder of source files, relative to the root.")
    database: str = Field("kb.db", description="The SQLite database `kb build` writes.")
    snapshots: list[str] = Field(default_factory=list, description="Archive folders for quote checks.")
    today: date | None = Field(None, description="Fixed date for time rules; else the current date.")
    base_url: str | None = Field(None, description="Base URL of the published site, for citation URLs.")
    title: str | None = Field(None, description="The knowledge base's name, the container title of its citations.")
    rules: dict[str, Literal[SEVERITIES]] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="Rule code or name -> error, warning, info or off."
    )
    metrics: dict[str, MetricSettings] = Field(default_factory=dict, description="Per-metric unit and tolerance.")
    relations: list[Relation] = Field(
        default_factory=list, description="Metric relations, e.g. annualized = 12 × monthly."
    )
    entities: dict[str, Entity] = Field(default_factory=dict, description="Entities by id, with aliases.")
    site: SiteSettings = Field(default_factory=SiteSettings, description="Title, description and licence of the site.")
    acknowledge: dict[str, Annotated[str, Field(min_length=1, max_length=10_000)]] = Field(
        default_factory=dict,
        description="Rule code or name -> the reason every finding of that rule is accepted, for a whole class of "
        "findings the editors have looked at (still reported as acknowledged, with the reason).",
    )

    site: SiteSettings = Field(default_factory=SiteSettings, description="What the published site says and allows.")

    _aliases: dict[str, str] | None = PrivateAttr(None)
    _settings_digest: str | None = PrivateAttr(None)  # kb.settings_file.settings_digest, when loaded from files

    @property
    def settings_digest(self) -> str | None:
        """The digest of the settings files these settings were read from (None: built in code)."""
        return self._settings_digest

    def metric_name(self, name: str | None) -> str | None:
        """The canonical name of a metric: an alias resolves to the metric that declares it."""
        if name is None or name in self.metrics:
            return name
        return self._metric_aliases().get(name, name)

    def metric_settings(self, name: str | None) -> MetricSettings | None:
        """The settings of a metric (by its name or an alias), or None when it is not declared."""
        return self.metrics.get(self.metric_name(name) or "")

    def _metric_aliases(self) -> dict[str, str]:
        # Computed once per Settings (frozen, so it cannot go stale); checks call it per claim.
        if self._aliases is None:
            self._aliases = {alias: key for key, config in self.metrics.items() for alias in config.aliases}
        return self._aliases


def load_settings(root: Path) -> Settings:
    """Read the settings of the knowledge base at ``root``."""
    table, origin, digest = read_table(root)
    try:
        settings = Settings.model_validate({**table, "root": root}, strict=False)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, origin)) from None
    settings._settings_digest = digest
    from kb.rules import lookup

    for table_name in ("rules", "acknowledge"):
        prefix = f"[tool.kb.{table_name}]" if origin == "pyproject.toml" else f"{origin}: [{table_name}]"
        for key in getattr(settings, table_name):
            if lookup(key) is None:
                raise SettingsError(f"{prefix}: unknown rule `{key}` (see `kb rule --all`)")
    _check_metric_aliases(settings, origin)
    return settings


def _check_metric_aliases(settings: Settings, origin: str) -> None:
    """An alias names one metric, and is not itself a declared metric."""
    prefix = "[tool.kb.metrics." if origin == "pyproject.toml" else f"{origin}: [metrics."
    owner: dict[str, str] = {}
    for key, config in settings.metrics.items():
        for alias in config.aliases:
            if alias in settings.metrics:
                raise SettingsError(f"{prefix}{key}]: alias `{alias}` is itself a declared metric")
            if alias in owner and owner[alias] != key:
                raise SettingsError(f"{prefix}{key}]: alias `{alias}` is already an alias of `{owner[alias]}`")
            owner[alias] = key


def _describe(exc: ValidationError, origin: str) -> str:
    """One line per error, in the words files get (:mod:`kb.validation`)."""
    prefix = "[tool.kb]." if origin == "pyproject.toml" else ""
    lines = []
    for problem in problems(exc, Settings, dotted=True):
        if problem.kind == "unknown":
            message = "unknown setting" + problem.hint
        elif problem.kind == "missing":
            message = "missing required setting"
        else:
            message = problem.detail
        lines.append(f"{origin}: {prefix}{problem.path}: {message}")
    return "\n".join(lines)
