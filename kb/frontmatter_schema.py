"""The JSON Schema (draft 2020-12) of claim and source frontmatter, as ``kb schema`` prints it.

Generated from the pydantic models (so it cannot drift from what ``kb check`` accepts), with
what pydantic leaves out: ``$schema``, ``$id``, titles and descriptions, and the id grammar
(KB007), which the loader checks apart to give it its own rule code. Point an editor's YAML
extension at it for completion and inline errors.

>>> document = json_schema("claim")
>>> document["$schema"], document["properties"]["id"]["pattern"]
('https://json-schema.org/draft/2020-12/schema', '^[a-z0-9]+(?:-[a-z0-9]+)*$')
"""

from __future__ import annotations

from typing import Literal

from pydantic.json_schema import models_json_schema

from kb import __version__
from kb.models import ID_MAX_LENGTH, ID_PATTERN, Claim, Source

__all__ = ["json_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_ABOUT = {
    "claim": ("kb claim", "The YAML frontmatter of a claim file (claims/**/*.md) of a kb knowledge base."),
    "source": ("kb source", "The YAML frontmatter of a source file (sources/**/*.md) of a kb knowledge base."),
    "all": ("kb claim or source", "The YAML frontmatter of a claim or a source file of a kb knowledge base."),
}
_ID = {
    "pattern": ID_PATTERN.pattern,
    "maxLength": ID_MAX_LENGTH,
    "description": "Lower-case letters, digits and single hyphens, at most 100 characters; the file name without .md.",
}


def json_schema(kind: Literal["claim", "source", "all"]) -> dict:
    """The schema of one kind of file, or of either (``all``)."""
    title, description = _ABOUT[kind]
    head = {
        "$schema": DIALECT,
        "$id": f"urn:kb:schema:{kind}:{__version__}",
        "title": title,
        "description": description,
    }
    if kind == "all":
        _, combined = models_json_schema([(Claim, "validation"), (Source, "validation")])
        definitions = combined["$defs"]
        for name in ("Claim", "Source"):
            definitions[name]["properties"]["id"].update(_ID)
        return {**head, "anyOf": [{"$ref": "#/$defs/Claim"}, {"$ref": "#/$defs/Source"}], "$defs": definitions}
    root = (Claim if kind == "claim" else Source).model_json_schema()
    root["properties"]["id"].update(_ID)
    root.pop("title", None)
    root.pop("description", None)
    return {**head, **root}
