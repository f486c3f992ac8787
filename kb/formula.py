"""Safe evaluation of ``derived_from`` formulas, with interval arithmetic.

A formula is parsed with :mod:`ast` and only numbers, input names, parentheses, unary
minus and ``+ - * /`` are accepted: nothing is ever passed to ``eval``. Each input is an
interval (a point value is a zero-width one; a range is its bounds), so a formula over
ranges gives the range of possible results.

>>> evaluate("a + b", {"a": (1, 1), "b": (2, 3)})
(3.0, 4.0)
>>> evaluate("(a - b) / 12", {"a": (120, 120), "b": (0, 24)})
(8.0, 10.0)
>>> evaluate("__import__('os')", {})
Traceback (most recent call last):
...
kb.formula.FormulaError: function calls are not allowed in a formula
"""

from __future__ import annotations

import ast
import math

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "FormulaError", "check", "evaluate", "names"]

Interval = tuple[float, float]
MAX_LENGTH = 500
MAX_DEPTH = 250  # a chain of sums is as deep as it is long: 500 characters give at most 250 terms


class FormulaError(ValueError):
    """The formula cannot be evaluated; the message says why."""


_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.USub: "-", ast.UAdd: "+"}
_SYMBOLS = {
    ast.Invert: "~",
    ast.Not: "not",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}


def _describe(node: ast.AST) -> str:
    """A short name for a construct that is not allowed (never ``ast.unparse``: it recurses)."""
    op = getattr(node, "op", None)
    if op is not None and type(op) in _SYMBOLS:
        return f"`{_SYMBOLS[type(op)]}`"
    if isinstance(node, ast.Constant):
        return f"the constant `{str(node.value)[:20]}`"
    return {
        ast.Compare: "a comparison",
        ast.BoolOp: "`and` / `or`",
        ast.IfExp: "`if`/`else`",
        ast.Attribute: "attribute access",
        ast.Subscript: "indexing",
        ast.Lambda: "lambda",
    }.get(type(node), f"a {type(node).__name__.lower()} expression")


def _parse(formula: str) -> ast.Expression:
    """Parse and vet a formula: only numbers, names, + - * / and parentheses. The tree is
    walked with an explicit stack, so no input can exhaust Python's recursion limit."""
    if len(formula) > MAX_LENGTH:
        raise FormulaError(f"formula is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"formula is not an arithmetic expression: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):  # the parser's own limits
        raise FormulaError("formula is nested too deeply") from None
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormulaError(f"formula is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise FormulaError(f"{_describe(node)} is not allowed in a formula (use numbers and names)")
        elif isinstance(node, ast.Name):
            pass
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.Call):
            raise FormulaError("function calls are not allowed in a formula")
        else:
            raise FormulaError(
                f"{_describe(node)} is not allowed in a formula (use numbers, names, + - * / and parentheses)"
            )
    return tree


def check(formula: str) -> None:
    """Raise FormulaError when the formula is not a well-formed arithmetic expression."""
    _parse(formula)


def names(formula: str) -> set[str]:
    """The input names a formula uses.

    >>> sorted(names("a / 12 + b"))
    ['a', 'b']
    """
    return {node.id for node in ast.walk(_parse(formula)) if isinstance(node, ast.Name)}


def evaluate(formula: str, inputs: dict[str, Interval]) -> Interval:
    """The interval of values the formula takes over the input intervals."""
    floats = {name: (float(low), float(high)) for name, (low, high) in inputs.items()}
    try:
        low, high = _eval(_parse(formula).body, floats)
    except (OverflowError, ZeroDivisionError) as exc:
        raise FormulaError(f"formula cannot be computed: {exc}") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise FormulaError("formula gives a result too large to compute")
    return low, high


def _eval(root: ast.AST, inputs: dict[str, Interval]) -> Interval:
    """Post-order evaluation with an explicit stack (the tree was vetted by ``_parse``)."""
    results: list[Interval] = []
    stack: list[tuple[ast.AST, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if isinstance(node, ast.Constant):
            results.append((float(node.value), float(node.value)))
        elif isinstance(node, ast.Name):
            if node.id not in inputs:
                raise FormulaError(f"formula uses `{node.id}`, which is not among the inputs")
            results.append(inputs[node.id])
        elif not ready:
            stack.append((node, True))
            if isinstance(node, ast.BinOp):
                stack += [(node.right, False), (node.left, False)]
            else:
                stack.append((node.operand, False))  # type: ignore[attr-defined]
        elif isinstance(node, ast.UnaryOp):
            low, high = results.pop()
            results.append((-high, -low) if isinstance(node.op, ast.USub) else (low, high))
        else:
            right, left = results.pop(), results.pop()
            results.append(_combine(node.op, left, right))  # type: ignore[attr-defined]
    return results[0]


def _combine(op: ast.operator, a: Interval, b: Interval) -> Interval:
    if isinstance(op, ast.Add):
        return (a[0] + b[0], a[1] + b[1])
    if isinstance(op, ast.Sub):
        return (a[0] - b[1], a[1] - b[0])
    if isinstance(op, ast.Div):
        if b[0] <= 0 <= b[1]:
            raise FormulaError("formula divides by a value that can be zero")
        b = (1 / b[1], 1 / b[0])
    products = [x * y for x in a for y in b]
    return (min(products), max(products))
