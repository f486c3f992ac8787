"""Pydantic's validation errors in kb's words: the one renderer used for claim and source
files (KB004, :mod:`kb.load`) and for the settings (:mod:`kb.settings`).

Each error becomes a :class:`Problem`: where (the location without pydantic's internal
``function-…`` steps), what kind (an unknown key, a missing one, a wrong value), and the
sentence, with the offending input described and, for an unknown key, the nearest name
that the enclosing model (however deeply nested) accepts.

>>> from pydantic import BaseModel, ValidationError
>>> class Inner(BaseModel, extra="forbid"):
...     unit: str
>>> class Outer(BaseModel):
...     metrics: dict[str, Inner]
>>> try:
...     Outer.model_validate({"metrics": {"net_loss": {"unit": "USD", "unitt": 1}}})
... except ValidationError as exc:
...     [(p.kind, p.path, p.hint) for p in problems(exc, Outer)]
[('unknown', 'metrics.net_loss.unitt', ' (did you mean `unit`?)')]
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from kb.suggest import did_you_mean

__all__ = ["Problem", "describe_input", "field_path", "problems"]

# Friendlier words for the fields whose format is a regular expression.
PATTERN_MESSAGES = {
    "url": "must be an http:// or https:// address without spaces",
    "metric": "must be snake_case: lower-case words joined by underscores (net_loss)",
    "language": "must be a BCP 47 language tag (en, zh-Hans, zh-Hant)",
    "snapshot": "must be a plain file name, without folders",
}


@dataclass(frozen=True)
class Problem:
    kind: Literal["unknown", "missing", "invalid"]
    loc: tuple
    path: str  # the location as text: ``evidence[1].quote`` (files) or ``metrics.net_loss.unit`` (settings)
    detail: str  # for "invalid": what is wrong with the value, with the input described
    hint: str  # for "unknown": `` (did you mean `x`?)`` or ""


def problems(exc: ValidationError, model: type[BaseModel], *, dotted: bool = False) -> list[Problem]:
    """The errors of validating ``model``, in kb's words (``dotted``: list indexes as ``.1``)."""
    return [_problem(error, model, dotted) for error in exc.errors()]


def _problem(error: dict, model: type[BaseModel], dotted: bool) -> Problem:
    loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    kind = error["type"]
    if kind == "extra_forbidden":
        owner = _owner(model, loc)
        hint = did_you_mean(str(loc[-1]), owner.model_fields) if loc else ""
        return Problem("unknown", loc, field_path(loc, dotted), "", hint)
    if kind == "missing":
        return Problem("missing", loc, field_path(loc, dotted), "", "")
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc and "value" in message:
        loc = ("value",)
    if kind == "string_pattern_mismatch":
        message = PATTERN_MESSAGES.get(str(loc[-1]) if loc else "", message)
    if (kind.endswith("_type") or kind in ("literal_error", "string_pattern_mismatch")) and "input" in error:
        message = f"{message}, got {describe_input(error['input'])}"
    return Problem("invalid", loc, field_path(loc, dotted), message, "")


def field_path(loc: tuple, dotted: bool = False) -> str:
    """``("evidence", 1, "quote")`` as ``evidence[1].quote`` (or ``evidence.1.quote``)."""
    text = ""
    for part in loc:
        if isinstance(part, int) and not dotted:
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def describe_input(value: object) -> str:
    """The offending input in a few words, never a huge or raw value."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    return {list: "a list", dict: "a mapping", type(None): "nothing"}.get(type(value), type(value).__name__)


def _owner(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The model that holds the last key of ``loc``: ``evidence[0].x`` -> Evidence."""
    current: object = model
    for part in loc[:-1]:
        current = _unwrap(current)
        if _is_model(current):
            field = current.model_fields.get(part) if isinstance(part, str) else None  # type: ignore[union-attr]
            if field is None:
                break
            current = field.annotation
        elif get_origin(current) in (list, tuple, set, frozenset):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            break
    current = _unwrap(current)
    return current if _is_model(current) else model  # type: ignore[return-value]


def _unwrap(annotation: object) -> object:
    """``Annotated[X, …]`` -> X; ``X | None`` -> X (the first model or container in a union)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            inner = _unwrap(arg)
            if _is_model(inner) or get_origin(inner) in (list, dict, tuple, set, frozenset):
                return inner
    return annotation


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
