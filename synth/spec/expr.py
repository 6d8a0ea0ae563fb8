"""Derived fields' expressions: a small arithmetic language read with Python's parser and
evaluated on numpy arrays, never with eval. Allowed: numbers and strings, field names (a
nested field as `location.lat`), + - * / // % **, comparisons, and / or / not, `a if c else b`,
the functions abs, min, max, round, sqrt, log, exp, floor, ceil, and a list of expressions
(`[x1, y1, x1 + w, y1 + h]`: a list-valued field)."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from synth.errors import ConfigError

_BIN: dict[type, Callable] = {ast.Add: operator.add, ast.Sub: operator.sub,
                              ast.Mult: operator.mul, ast.Div: operator.truediv,
                              ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
                              ast.Pow: operator.pow}
_CMP: dict[type, Callable] = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
                              ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}
_FUNCS: dict[str, Callable] = {"abs": np.abs, "min": np.minimum, "max": np.maximum,
                               "round": np.round, "sqrt": np.sqrt, "log": np.log,
                               "exp": np.exp, "floor": np.floor, "ceil": np.ceil}


def parse(expr: str, where: str) -> ast.Expression:
    """The checked syntax tree of `expr`; errors name the field (`where`)."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"spec field {where}: expr {expr!r} is not an expression "
                          f"({exc.msg})") from None
    for node in ast.walk(tree):
        _check(node, expr, where)
    return tree


def _check(node: ast.AST, expr: str, where: str) -> None:
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp,
               ast.Call, ast.Name, ast.Attribute, ast.Constant, ast.Load, ast.USub, ast.UAdd,
               ast.List,
               ast.Not, ast.And, ast.Or, *_BIN, *_CMP)
    if not isinstance(node, allowed):
        raise ConfigError(f"spec field {where}: expr {expr!r} uses {type(node).__name__}, "
                          "which derived fields do not allow")
    if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name)
                                       or node.func.id not in _FUNCS or node.keywords):
        raise ConfigError(f"spec field {where}: expr {expr!r} calls something other than "
                          f"{', '.join(_FUNCS)}")
    if isinstance(node, ast.Attribute) and not _dotted(node):
        raise ConfigError(f"spec field {where}: expr {expr!r}: only field.subfield names may "
                          "use a dot")
    if isinstance(node, ast.Constant) and not isinstance(node.value, int | float | str):
        raise ConfigError(f"spec field {where}: expr {expr!r} holds {node.value!r}")


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def names(tree: ast.Expression) -> set[str]:
    """The field names an expression reads (dotted for nested fields)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name) and not _is_call_name(tree, node):
            name = _dotted(node)
            if name is not None:
                out.add(name)
    # a dotted name also walks its prefix (location.lat -> location): keep the longest
    return {n for n in out if not any(o.startswith(n + ".") for o in out)}


def _is_call_name(tree: ast.Expression, node: ast.AST) -> bool:
    return any(isinstance(c, ast.Call) and c.func is node for c in ast.walk(tree))


def is_test(tree: ast.Expression) -> bool:
    """Whether an expression gives true/false (a comparison, and / or / not)."""
    body = tree.body
    return isinstance(body, ast.Compare | ast.BoolOp) or (
        isinstance(body, ast.UnaryOp) and isinstance(body.op, ast.Not))


def evaluate(tree: ast.Expression, env: dict[str, np.ndarray]) -> Any:
    return _eval(tree.body, env)


def _eval(node: ast.AST, env: dict[str, np.ndarray]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name | ast.Attribute):
        return env[_dotted(node)]  # type: ignore[index]
    if isinstance(node, ast.BinOp):
        with np.errstate(all="ignore"):
            return _BIN[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return np.logical_not(value)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Compare):
        left, out = _eval(node.left, env), True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, env)
            out = np.logical_and(out, _CMP[type(op)](left, right))
            left = right
        return out
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, env) for v in node.values]
        fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = values[0]
        for v in values[1:]:
            out = fn(out, v)
        return out
    if isinstance(node, ast.List):
        return [_eval(e, env) for e in node.elts]
    if isinstance(node, ast.IfExp):
        return np.where(_eval(node.test, env), _eval(node.body, env), _eval(node.orelse, env))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    with np.errstate(all="ignore"):
        return _FUNCS[node.func.id](*[_eval(a, env) for a in node.args])
