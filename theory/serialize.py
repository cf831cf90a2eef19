"""SymPy expressions as JSON trees, read back through a whitelist: data, never code.

The derivation cache (:mod:`theory.cache`) stores closed forms on disk.  A
pickle, or ``sympify`` of ``srepr`` text, would run code from a planted file;
a JSON tree of node names from :data:`NODES` cannot.  :func:`to_tree` refuses
anything it cannot represent (a dummy symbol, an unknown function), and
:func:`from_tree` refuses anything that is not a tree it wrote.

Shapes: a number is ``["Integer", "12"]``, ``["Rational", "1", "3"]`` or
``["Float", "<mpmath hex>", precision]``; a symbol ``["Symbol", name,
{assumption: bool}]``; a constant ``["pi"]``; every other node
``[name, child, …]``.
"""

from __future__ import annotations

import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.logic import boolalg

__all__ = ["SerializationError", "from_tree", "to_tree", "NODES"]

#: Nodes that take their children as arguments, by the name stored.
NODES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        sp.Add, sp.Mul, sp.Pow, sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.sinh, sp.cosh, sp.tanh,
        sp.asin, sp.acos, sp.atan, sp.asinh, sp.acosh, sp.atanh, sp.erf, sp.erfc, sp.Heaviside,
        sp.DiracDelta, sp.Abs, sp.sign, sp.Max, sp.Min, sp.Piecewise, ExprCondPair, sp.Tuple,
        sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan, sp.LessThan, sp.Equality,
        sp.Unequality, boolalg.And, boolalg.Or, boolalg.Not, sp.re, sp.im, sp.arg,
        sp.periodic_argument, sp.polar_lift, sp.factorial2, sp.factorial, sp.gamma,
    )
}
#: Constants, by the name stored.
CONSTANTS: dict[str, sp.Basic] = {
    "pi": sp.pi, "E": sp.E, "I": sp.I, "oo": sp.oo, "-oo": sp.S.NegativeInfinity, "zoo": sp.zoo,
    "nan": sp.nan, "true": sp.true, "false": sp.false,
}
_CONSTANT_NAMES = {v: k for k, v in CONSTANTS.items()}
#: Assumptions a stored symbol may carry.
_ASSUMPTIONS = ("real", "positive", "negative", "nonnegative", "nonpositive", "integer", "nonzero")
#: Deepest tree read back (a stored closed form is far shallower).
MAX_DEPTH = 200


class SerializationError(ValueError):
    """An expression that cannot be stored, or a stored tree that is not valid."""


def to_tree(expr: sp.Basic) -> list:
    """``expr`` as a JSON-compatible tree (see the module docstring)."""
    if isinstance(expr, sp.Basic) and not isinstance(expr, sp.Rational | sp.Float) and expr in _CONSTANT_NAMES:
        return [_CONSTANT_NAMES[expr]]
    if isinstance(expr, sp.Integer):
        return ["Integer", str(int(expr))]
    if isinstance(expr, sp.Rational):
        return ["Rational", str(expr.p), str(expr.q)]
    if isinstance(expr, sp.Float):
        return ["Float", _float_text(expr), expr._prec]
    if isinstance(expr, sp.Dummy):
        raise SerializationError(f"the dummy symbol {expr} has no stable name")
    if isinstance(expr, sp.Symbol):
        return ["Symbol", expr.name, {k: v for k in _ASSUMPTIONS if (v := expr._assumptions_orig.get(k)) is not None}]
    name = type(expr).__name__
    if name == "GaussianExpectation":
        return [name, *(to_tree(a) for a in expr.args)]
    if NODES.get(name) is not type(expr):
        raise SerializationError(f"{name} cannot be stored")
    return [name, *(to_tree(a) for a in expr.args)]


def _float_text(value: sp.Float) -> str:
    sign, mantissa, exponent, _ = value._mpf_
    return f"{'-' if sign else ''}{mantissa:x}p{exponent}"


def _float_from(text: str, precision: int) -> sp.Float:
    negative = text.startswith("-")
    mantissa, _, exponent = text.lstrip("-").partition("p")
    man, exp = int(mantissa, 16), int(exponent)
    return sp.Float._new((int(negative), man, exp, man.bit_length()) if man else (0, 0, 0, 0), precision)


def from_tree(tree, depth: int = 0) -> sp.Basic:
    """The expression that :func:`to_tree` wrote; :class:`SerializationError` for anything else."""
    if depth > MAX_DEPTH:
        raise SerializationError("the stored tree is too deep")
    if not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
        raise SerializationError("a stored node is not a list that starts with its name")
    name, args = tree[0], tree[1:]
    try:
        if name in CONSTANTS and not args:
            return CONSTANTS[name]
        if name == "Integer" and len(args) == 1 and isinstance(args[0], str) and len(args[0]) < 4000:
            return sp.Integer(int(args[0]))
        if name == "Rational" and len(args) == 2 and all(isinstance(a, str) and len(a) < 4000 for a in args):
            return sp.Rational(int(args[0]), int(args[1]))
        if name == "Float" and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], int) and 1 <= args[1] <= 10**5:
            return _float_from(args[0], args[1])
        if name == "Symbol" and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], dict):
            if not args[0].isidentifier() or set(args[1]) - set(_ASSUMPTIONS) or not all(isinstance(v, bool) for v in args[1].values()):
                raise SerializationError(f"invalid stored symbol {args[0]!r}")
            return sp.Symbol(args[0], **args[1])
        children = [from_tree(a, depth + 1) for a in args]
        if name == "GaussianExpectation":
            from dyncheck.theory.gaussian import GaussianExpectation

            return GaussianExpectation(children[0], tuple(children[1]), children[2])
        if name in NODES:
            return NODES[name](*children)
    except SerializationError:
        raise
    except (TypeError, ValueError, IndexError, AttributeError) as error:
        raise SerializationError(f"invalid stored {name}: {error}") from None
    raise SerializationError(f"{name!r} is not a node that can be read back")
