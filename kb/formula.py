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

__all__ = ["FormulaError", "evaluate", "names"]

Interval = tuple[float, float]
MAX_LENGTH = 500


class FormulaError(ValueError):
    """The formula cannot be evaluated; the message says why."""


def _parse(formula: str) -> ast.Expression:
    if len(formula) > MAX_LENGTH:
        raise FormulaError(f"formula is longer than {MAX_LENGTH} characters")
    try:
        return ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"formula is not an arithmetic expression: {exc.msg}") from None


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
        low, high = _eval(_parse(formula).body, floats, depth=0)
    except (OverflowError, ZeroDivisionError) as exc:
        raise FormulaError(f"formula cannot be computed: {exc}") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise FormulaError("formula gives a result too large to compute")
    return low, high


def _eval(node: ast.AST, inputs: dict[str, Interval], depth: int) -> Interval:
    if depth > 50:
        raise FormulaError("formula is nested too deeply")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return (float(node.value), float(node.value))
    if isinstance(node, ast.Name):
        if node.id not in inputs:
            raise FormulaError(f"formula uses `{node.id}`, which is not among the inputs")
        return inputs[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        low, high = _eval(node.operand, inputs, depth + 1)
        return (-high, -low) if isinstance(node.op, ast.USub) else (low, high)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        left = _eval(node.left, inputs, depth + 1)
        right = _eval(node.right, inputs, depth + 1)
        return _combine(node.op, left, right)
    if isinstance(node, ast.Call):
        raise FormulaError("function calls are not allowed in a formula")
    raise FormulaError(
        f"`{ast.unparse(node)}` is not allowed in a formula (use numbers, names, + - * / and parentheses)"
    )


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
