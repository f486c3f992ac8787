"""`kb schema`: a real JSON Schema (draft 2020-12) of claim and source frontmatter."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.frontmatter import decode, read_frontmatter

ROOT = Path(__file__).resolve().parent.parent


def schema(kind: str) -> dict:
    result = CliRunner().invoke(main, ["schema", kind])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def frontmatter(path: Path) -> dict:
    return read_frontmatter(decode(path.read_bytes())).data


@pytest.mark.parametrize("kind", ["claim", "source", "all"])
def test_is_a_valid_2020_12_schema(kind):
    document = schema(kind)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"].startswith("urn:kb:schema:")
    assert document["title"] and document["description"]
    jsonschema.Draft202012Validator.check_schema(document)  # against the meta-schema


@pytest.mark.parametrize("kind", ["claim", "source"])
def test_every_field_has_a_description_and_the_id_its_pattern(kind):
    document = schema(kind)
    assert document["properties"]["id"]["pattern"] == "^[a-z0-9]+(?:-[a-z0-9]+)*$"
    assert document["properties"]["id"]["maxLength"] == 100
    assert [name for name, field in document["properties"].items() if not field.get("description")] == []


def test_corpus_files_validate_and_bad_ones_do_not():
    claims, sources = (jsonschema.Draft202012Validator(schema(kind)) for kind in ("claim", "source"))
    both = jsonschema.Draft202012Validator(schema("all"))
    claim = frontmatter(ROOT / "claims" / "openai" / "openai-2024-net-loss-projected.md")
    source = frontmatter(next((ROOT / "sources").rglob("*.md")))
    claims.validate(claim)
    sources.validate(source)
    both.validate(claim)
    both.validate(source)
    assert not claims.is_valid({**claim, "id": "Bad_Id"})
    assert not claims.is_valid({**claim, "perod": "2024"})
    assert not both.is_valid({"id": "x"})


def test_rule_suggests_the_nearest_name():
    result = CliRunner().invoke(main, ["rule", "numeric-conflcit"])
    assert result.exit_code == 2
    assert result.stderr == (
        "kb: error: unknown rule `numeric-conflcit` (did you mean `numeric-conflict`?); see `kb rule --all`\n"
    )
