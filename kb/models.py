"""The pydantic models of the frontmatter: Claim, Evidence, Source.

Strict (no silent coercion: a quoted ``"2024"`` is not a number, ``NO`` is not a boolean)
and closed (an unknown field is an error). The conversions the format promises (magnitude
words, partial dates, periods written as ``2024``) are explicit validators from
:mod:`kb.values`. Every field has a description: ``kb schema`` prints them as JSON Schema.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from kb import values

__all__ = [
    "CLAIM_KINDS",
    "ID_PATTERN",
    "Claim",
    "Contradiction",
    "DerivedFrom",
    "Evidence",
    "Resolution",
    "Source",
    "Verdict",
]

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ID_MAX_LENGTH = 100
CLAIM_KINDS = ("fact", "estimate", "projection", "prediction", "opinion")
SOURCE_TYPES = (
    "article",
    "report",
    "newsletter",
    "blog",
    "filing",
    "dataset",
    "interview",
    "social",
    "comment",
    "translation",
)
RATINGS = ("accurate", "mostly-accurate", "mixed", "misleading", "inaccurate", "unverifiable")
OUTCOMES = ("correct", "incorrect", "partly", "ambiguous")
STANCES = ("supports", "refutes", "mentions")


_PARTIAL_DATE_SCHEMA = {
    "anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"}],
    "description": "A partial date: YYYY, YYYY-MM or YYYY-MM-DD.",
}
PartialDateField = Annotated[
    values.PartialDate,
    PlainValidator(values.parse_partial_date),
    PlainSerializer(str),
    WithJsonSchema(_PARTIAL_DATE_SCHEMA),
]
PeriodField = Annotated[
    values.Period,
    PlainValidator(values.parse_period),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "description": "2024, 2024-H1, 2024-Q3, 2025-07, 2025-07-30, or START/END.",
            "examples": ["2024", "2024-H1", "2024-Q3", "2025-07", "2024-10/2025-09"],
        }
    ),
]
_AMOUNT_SCHEMA = {"anyOf": [{"type": "number"}, {"type": "string"}]}
QuantityField = Annotated[
    values.Quantity,
    PlainValidator(values.parse_value),
    PlainSerializer(lambda q: q.value if q.value is not None else [q.low, q.high]),
    WithJsonSchema(
        {
            "anyOf": [
                *_AMOUNT_SCHEMA["anyOf"],
                {"type": "array", "items": _AMOUNT_SCHEMA, "minItems": 2, "maxItems": 2},
            ],
            "description": "5e9, 5000000000, '5 billion', '$1.30', '83.3M', or a range [low, high].",
            "examples": ["5 billion", 5000000000, "$1.30", ["3.5 billion", "4.5 billion"]],
        }
    ),
]
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
Name = Annotated[str, Field(min_length=1, max_length=300)]
Ref = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH + 20)]
Tags = Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(max_length=50)]
Qualifiers = Annotated[
    dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$", max_length=60)],
        Annotated[str, Field(min_length=1, max_length=300)],
    ],
    Field(
        description="What narrows the metric, Wikidata-style: customer: OpenAI, segment: inference, basis: gaap, "
        "region: US. Part of the comparison key: two figures are compared only when their qualifiers agree.",
        max_length=20,
    ),
]
Acknowledge = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=60)], Text],
    Field(
        description="Findings the editors have looked at and accept: rule code or name -> the reason, "
        "which is required and shown with the finding.",
        max_length=30,
    ),
]


# The one set per distinct combination of fields set (see kb.load._share_fields_sets),
# bounded so that a long-lived process cannot grow it without end.
FIELDS_SETS: dict[frozenset, set] = {}
MAX_FIELDS_SETS = 10_000


def shared_fields_set(fields: set) -> set:
    """The shared set equal to ``fields`` (``fields`` itself the first time)."""
    if len(FIELDS_SETS) >= MAX_FIELDS_SETS:
        return fields
    return FIELDS_SETS.setdefault(frozenset(fields), fields)


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)

    def __setstate__(self, state: dict) -> None:
        # Unpickled (from the cache or a parsing worker): share the fields set again, as the
        # parse did; pickle keeps one copy per shard or chunk, which is a set per model at
        # 100k files (700 bytes each, 80 MB).
        fields = state.get("__pydantic_fields_set__")
        if isinstance(fields, set):
            state["__pydantic_fields_set__"] = shared_fields_set(fields)
        super().__setstate__(state)


class Evidence(_Strict):
    """One passage of a source that supports, refutes or mentions a claim."""

    source: Ref = Field(description="Id of the source.")
    stance: Literal[STANCES] = Field("supports", description="supports (default), refutes or mentions.")  # type: ignore[valid-type]
    quote: Text | None = Field(None, description="Verbatim excerpt of the source, in its own language.")
    locator: Name | None = Field(None, description="Where in the source: paragraph, page, section, line.")
    stated_as: Name | None = Field(None, description="The figure exactly as the source writes it, e.g. '50 亿美元'.")
    via: Ref | None = Field(None, description="Id of the source this one relays the figure from.")
    note: Text | None = Field(None, description="A remark on this evidence item.")

    @field_validator("quote")
    @classmethod
    def _quote_not_blank(cls, quote: str | None) -> str | None:
        return _not_blank(quote)


def _not_blank(text: str | None) -> str | None:
    if text is not None and not text.strip():
        raise ValueError("must not be blank")
    return text


class Contradiction(_Strict):
    """A declared contradiction with another claim."""

    claim: Ref = Field(description="Id of the contradicted claim.")
    note: Text | None = Field(None, description="How the two claims disagree.")


class DerivedFrom(_Strict):
    """The value is computed from other claims' values."""

    formula: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="An arithmetic expression over the input names: + - * / and parentheses, e.g. 'a / 12'."
    )
    inputs: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], Ref] = Field(
        description="Input name -> claim id.", min_length=1, max_length=50
    )


class Resolution(_Strict):
    """This fact settles an earlier projection or prediction."""

    claim: Ref = Field(description="Id of the projection or prediction it settles.")
    outcome: Literal[OUTCOMES] = Field(description="correct, incorrect, partly or ambiguous.")  # type: ignore[valid-type]


class Verdict(_Strict):
    """An editorial rating on the ClaimReview scale."""

    rating: Literal[RATINGS] = Field(  # type: ignore[valid-type]
        description="accurate, mostly-accurate, mixed, misleading, inaccurate or unverifiable."
    )
    rationale: Text | None = Field(None, description="Why the editors rate it so.")
    reviewed: PartialDateField | None = Field(None, description="When the editors reviewed it.")


class Claim(_Strict):
    """One claim: a statement, who made it, the figure it carries, and its evidence."""

    id: str = Field(description="Stable identifier, equal to the file name; the citation key [@claim:ID].")
    statement: Text = Field(description="The claim as one English sentence.")
    kind: Literal[CLAIM_KINDS] = Field(  # type: ignore[valid-type]
        description="fact, estimate, projection, prediction or opinion."
    )
    subject: Name | None = Field(None, description="The entity the claim is about; aliases resolve to one entity.")
    metric: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$", max_length=80)] | None = Field(
        None, description="What is measured, snake_case: net_loss, revenue, annualized_revenue, valuation…"
    )
    value: QuantityField | None = Field(None, description="The figure, stored in base units.")
    unit: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        None, description="USD, USD/month, USD/hour, percent, count…; required with a value."
    )
    period: PeriodField | None = Field(None, description="The time the figure is about.")
    approximate: bool = Field(False, description='The source says "about", "nearly", "over".')
    claimant: Name | None = Field(None, description="Who asserts it: a person or an organisation.")
    stated: PartialDateField | None = Field(None, description="When it was asserted.")
    evidence: Annotated[list[Evidence], Field(max_length=200)] = Field(
        default_factory=list, description="What supports or refutes it."
    )
    contradicts: Annotated[list[Contradiction], Field(max_length=200)] = Field(
        default_factory=list, description="Declared contradictions: claim ids, or {claim, note}."
    )
    supports: Annotated[list[Ref], Field(max_length=200)] = Field(
        default_factory=list, description="Claims that this claim, if true, supports."
    )
    derived_from: DerivedFrom | None = Field(None, description="The value is computed from other claims.")
    supersedes: Ref | None = Field(None, description="Id of an older claim for the same thing.")
    resolves: Resolution | None = Field(None, description="An earlier projection or prediction this settles.")
    verdict: Verdict | None = Field(None, description="Optional editorial rating.")
    qualifiers: Qualifiers = Field(default_factory=dict)
    tags: Tags = Field(default_factory=list, description="Free tags.")
    acknowledge: Acknowledge = Field(default_factory=dict)

    @field_validator("contradicts", mode="before")
    @classmethod
    def _contradiction_shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, list):
            return [{"claim": item} if isinstance(item, str) else item for item in raw]
        return raw

    def figure(self) -> str | None:
        """The figure as a reader writes it: 'about 5 billion USD', '3.5 billion–4.5 billion USD'."""
        if self.value is None:
            return None
        return ("about " if self.approximate else "") + values.format_quantity(self.value, self.unit)

    @model_validator(mode="after")
    def _figure_needs_metric_and_unit(self) -> Claim:
        if self.value is not None and self.metric is None:
            raise ValueError("a claim with a value needs a `metric`")
        if self.value is not None and self.unit is None:
            raise ValueError("a claim with a value needs a `unit`")
        return self


class Source(_Strict):
    """A source: an article, report, post or dataset that claims cite as evidence."""

    id: str = Field(description="Stable identifier, equal to the file name.")
    title: Text = Field(description="The title, in the source's language.")
    type: Literal[SOURCE_TYPES] = Field(  # type: ignore[valid-type]
        description="article, report, newsletter, blog, filing, dataset, interview, social, comment or translation."
    )
    publisher: Name | None = Field(None, description="Who published it.")
    authors: Annotated[list[Name], Field(max_length=100)] = Field(default_factory=list, description="Authors.")
    url: Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000)] | None = Field(
        None, description="Where it is published (http or https)."
    )
    language: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")] | None = Field(
        None, description="BCP 47 language tag: en, zh-Hans, zh-Hant…"
    )
    published: PartialDateField | None = Field(None, description="When it was published.")
    translation_of: Ref | None = Field(None, description="Id of the source this one translates.")
    cites: Annotated[list[Ref], Field(max_length=200)] = Field(
        default_factory=list, description="Sources this one relies on."
    )
    snapshot: Annotated[str, Field(pattern=r"^[^/\\\x00-\x1f]+$", max_length=255)] | None = Field(
        None, description="File name of its archived text, looked up in the configured snapshot folders."
    )
    tags: Tags = Field(default_factory=list, description="Free tags.")
    acknowledge: Acknowledge = Field(default_factory=dict)

    @field_validator("snapshot")
    @classmethod
    def _plain_file_name(cls, name: str | None) -> str | None:
        if name is not None and (name in (".", "..") or name.startswith(".")):
            raise ValueError("a snapshot is a plain file name inside a snapshot folder")
        return name
