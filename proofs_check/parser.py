"""User expressions → SymPy, through an ``ast`` whitelist.

User text is data, never code: it is parsed with :func:`ast.parse` and the
tree is walked node by node; only numbers, names, arithmetic, comparisons and
calls of the functions in :data:`FUNCTIONS` (plus the registered activations
and ``E(...)``) are accepted, and SymPy objects are built directly.  There is
no ``eval``, ``exec`` or ``sympify`` of user text anywhere.

Every rejection is a :class:`ParseError` with a one-line message.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping

import sympy as sp

from dyncheck.theory.errors import UsageError
from dyncheck.theory.activations import ACTIVATIONS, ALIASES
from dyncheck.theory.symbols import X
from dyncheck.theory.gaussian import GaussianExpectation

__all__ = ["ParseError", "parse_expression", "parse_assumption", "FUNCTIONS", "CONSTANTS", "Assumption"]

MAX_LENGTH = 2000
MAX_NODES = 400
MAX_DEPTH = 40
MAX_EXPONENT = 64
MAX_NAME = 32
#: Largest |log10| of a number that an expression may compute while it is parsed: bounds the
#: value of nested powers such as ((3**64)**64)**64, which are evaluated exactly.
MAX_MAGNITUDE_DIGITS = 1000
#: Largest |value| of an activation's numeric parameter (a slope, a degree's bound is MAX_EXPONENT).
MAX_PARAMETER = 10**6


class ParseError(UsageError):
    """The input is not an expression dyncheck accepts; the message says why."""


#: name -> (SymPy constructor, number of arguments)
FUNCTIONS: Mapping[str, tuple] = {
    "exp": (sp.exp, 1),
    "log": (sp.log, 1),
    "sqrt": (sp.sqrt, 1),
    "sin": (sp.sin, 1),
    "cos": (sp.cos, 1),
    "tan": (sp.tan, 1),
    "sinh": (sp.sinh, 1),
    "cosh": (sp.cosh, 1),
    "asin": (sp.asin, 1),
    "arcsin": (sp.asin, 1),
    "acos": (sp.acos, 1),
    "arccos": (sp.acos, 1),
    "atan": (sp.atan, 1),
    "arctan": (sp.atan, 1),
    "atanh": (sp.atanh, 1),
    "erfc": (sp.erfc, 1),
    "Abs": (sp.Abs, 1),
    "heaviside": (sp.Heaviside, 1),
    "Heaviside": (sp.Heaviside, 1),
    "sign": (sp.sign, 1),
    "max": (sp.Max, 2),
    "min": (sp.Min, 2),
}

CONSTANTS: Mapping[str, sp.Expr] = {"pi": sp.pi, "oo": sp.oo}

#: Names refused because they are ambiguous: ``e`` reads as Euler's number to some and as a
#: parameter to others (write ``exp(1)`` for the number).
AMBIGUOUS: Mapping[str, str] = {"e": "'e' is ambiguous: write exp(1) for Euler's number, or give the parameter another name"}

_RESERVED = set(FUNCTIONS) | set(CONSTANTS) | set(ACTIVATIONS) | set(ALIASES) | set(AMBIGUOUS) | {"E"}

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


class _Builder:
    def __init__(self, symbols: Mapping[str, sp.Symbol]):
        self.symbols = dict(symbols)
        self.bound: set[str] = set()

    def symbol(self, name: str) -> sp.Symbol:
        if len(name) > MAX_NAME or not name.isidentifier() or name.startswith("_"):
            raise ParseError(f"invalid name {name!r}")
        if name in AMBIGUOUS:
            raise ParseError(AMBIGUOUS[name])
        if name not in self.symbols:
            self.symbols[name] = sp.Symbol(name, real=True)
        return self.symbols[name]

    def build(self, node: ast.AST) -> sp.Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise ParseError(f"{type(node).__name__.lower()} is not allowed in an expression")
        return method(node)

    def _Constant(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParseError(f"constant {value!r} is not a number")
        if isinstance(value, int):
            if abs(value) > 10**30:
                raise ParseError("integer constant too large")
            return sp.Integer(value)
        return sp.Rational(repr(value)) if abs(value) < 1e30 else _raise("float constant too large")

    def _Name(self, node):
        name = node.id
        if name in AMBIGUOUS:
            raise ParseError(AMBIGUOUS[name])
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in _RESERVED:
            raise ParseError(f"{name!r} is a function; call it with arguments")
        return self.symbol(name)

    def _UnaryOp(self, node):
        operand = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise ParseError(f"operator {type(node.op).__name__} is not allowed")

    def _BinOp(self, node):
        left, right = self.build(node.left), self.build(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ParseError(f"operator {type(node.op).__name__} is not allowed")
        return op(left, right)

    def _Tuple(self, node):
        raise ParseError("a tuple is allowed only as the variables of E(expr, (u, v), rho)")

    def _Call(self, node):
        if not isinstance(node.func, ast.Name):
            raise ParseError("only named functions may be called")
        if node.keywords:
            raise ParseError("keyword arguments are not allowed")
        name = node.func.id
        if name == "E":
            return self._expectation(node)
        if name in FUNCTIONS:
            ctor, arity = FUNCTIONS[name]
            if len(node.args) != arity:
                raise ParseError(f"{name} takes {arity} argument(s), got {len(node.args)}")
            return ctor(*[self.build(a) for a in node.args])
        key = ALIASES.get(name, name)
        if key in ACTIVATIONS:
            act = ACTIVATIONS[key]
            if not node.args:
                raise ParseError(f"{name} needs an argument")
            args = [self.build(a) for a in node.args]
            for parameter in args[1:]:
                _check_parameter(key, parameter)
            try:
                return _bounded(act(args[0], *args[1:]))
            except TypeError as error:
                raise ParseError(str(error)) from None
        raise ParseError(f"unknown function {name!r}")

    def _expectation(self, node):
        args = node.args
        if len(args) not in (2, 3):
            raise ParseError("E takes (expr, z) or (expr, (u, v), rho)")
        var_node = args[1]
        if isinstance(var_node, ast.Tuple):
            if len(args) != 3 or len(var_node.elts) != 2:
                raise ParseError("a bivariate expectation is E(expr, (u, v), rho)")
            names = [v.id if isinstance(v, ast.Name) else None for v in var_node.elts]
        else:
            if len(args) != 2:
                raise ParseError("a one-variable expectation is E(expr, z)")
            names = [var_node.id if isinstance(var_node, ast.Name) else None]
        if None in names or len(set(names)) != len(names):
            raise ParseError("the variables of E must be distinct names")
        for n in names:
            self.symbol(n)  # validates the name
        # The variables are bound: fresh real symbols, whatever a parameter of the same name assumes.
        variables = tuple(sp.Symbol(n, real=True) for n in names)
        outer = {n: self.symbols.get(n) for n in names}
        self.symbols.update(zip(names, variables))
        try:
            integrand = self.build(args[0])
        finally:
            for n, symbol in outer.items():
                if symbol is None:
                    self.symbols.pop(n, None)
                else:
                    self.symbols[n] = symbol
        if integrand.atoms(GaussianExpectation):
            raise ParseError("an expectation inside an expectation is not supported; write the inner one out")
        rho = self.build(args[2]) if len(args) == 3 else sp.S.Zero
        if rho.has(*variables):
            raise ParseError("the correlation may not depend on the integration variables")
        return GaussianExpectation(integrand, variables, rho)


def _raise(message):
    raise ParseError(message)


def _log10_magnitude(number: sp.Expr) -> float:
    """|log10 |number||, +inf when it cannot be bounded cheaply."""
    if number.is_zero:
        return 0.0
    try:
        value = sp.log(sp.Abs(number), 10).evalf(15, maxn=60)
        return abs(float(value)) if value.is_real and value.is_finite else math.inf
    except (TypeError, ValueError, ArithmeticError):
        return math.inf


def _bounded(result: sp.Expr) -> sp.Expr:
    """``result``, or ParseError when it holds a power whose exponent or value is beyond the limits."""
    for power in result.atoms(sp.Pow):
        exponent = power.exp
        if exponent.is_number and (not exponent.is_finite or abs(exponent) > MAX_EXPONENT) and not power.base.is_number:
            raise ParseError(f"exponent {exponent} is too large (limit {MAX_EXPONENT})")
    if result.is_number and _log10_magnitude(result) > MAX_MAGNITUDE_DIGITS:
        raise ParseError(f"a number in the expression exceeds 10^{MAX_MAGNITUDE_DIGITS} in magnitude")
    return result


def _power(base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
    """base**exponent, refused before it is computed when its exponent or its value is too large."""
    if exponent.is_number:
        if not exponent.is_finite:
            raise ParseError(f"exponent {exponent} is not finite")
        if not base.is_number and abs(exponent) > MAX_EXPONENT:
            raise ParseError(f"exponent {exponent} is too large (limit {MAX_EXPONENT})")
        if base.is_number and not base.is_zero:
            if _log10_magnitude(base) * float(abs(sp.N(exponent, 15))) > MAX_MAGNITUDE_DIGITS:
                raise ParseError(f"the power ({base})**({exponent}) exceeds 10^{MAX_MAGNITUDE_DIGITS} in magnitude")
    return _bounded(base**exponent)


def _check_parameter(activation: str, value: sp.Expr) -> None:
    """An activation's parameter: a finite real number of modest size (a degree: a small integer)."""
    if not value.is_number:
        return
    if not (value.is_real and value.is_finite) or abs(value) > MAX_PARAMETER:
        raise ParseError(f"parameter {value} of {activation} must be a real number with |value| ≤ {MAX_PARAMETER:g}")
    if activation == "monomial" and not (value.is_Integer and 0 <= value <= MAX_EXPONENT):
        raise ParseError(f"the degree of monomial must be an integer in 0 … {MAX_EXPONENT}, not {value}")


def _tree(text: str) -> ast.AST:
    if not isinstance(text, str):
        raise ParseError("the expression must be text")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ParseError(f"syntax error: {error.msg}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ParseError(f"expression has more than {MAX_NODES} parts")

    def depth(node, level=0):
        if level > MAX_DEPTH:
            raise ParseError(f"expression nested deeper than {MAX_DEPTH}")
        for child in ast.iter_child_nodes(node):
            depth(child, level + 1)

    depth(tree)
    return tree.body


def parse_expression(text: str, symbols: Mapping[str, sp.Symbol] | None = None) -> sp.Expr:
    """Parse ``text`` into a SymPy expression.

    ``symbols`` maps names to the symbols to use (with their assumptions);
    other names become real symbols.  The name ``x`` is the activation
    argument :data:`theory.activations.X` unless ``symbols`` says otherwise.
    """
    table = {"x": X, **(symbols or {})}
    return _Builder(table).build(_tree(text))


class Assumption:
    """``lower < name < upper``: bounds are exact real SymPy numbers (``exp(1000)`` stays exact), either
    may be absent, each open or closed."""

    def __init__(self, name: str, lower=None, upper=None, lower_open=True, upper_open=True):
        self.name, self.lower, self.upper = name, lower, upper
        self.lower_open, self.upper_open = lower_open, upper_open

    def merge(self, other: Assumption) -> Assumption:
        lower, lower_open = self.lower, self.lower_open
        if other.lower is not None and (lower is None or bool(other.lower >= lower)):
            lower, lower_open = other.lower, other.lower_open if other.lower != lower else (lower_open or other.lower_open)
        upper, upper_open = self.upper, self.upper_open
        if other.upper is not None and (upper is None or bool(other.upper <= upper)):
            upper, upper_open = other.upper, other.upper_open if other.upper != upper else (upper_open or other.upper_open)
        return Assumption(self.name, lower, upper, lower_open, upper_open)

    @property
    def empty(self) -> bool:
        if self.lower is None or self.upper is None:
            return False
        if bool(self.lower > self.upper):
            return True
        return bool(sp.Eq(self.lower, self.upper)) and (self.lower_open or self.upper_open)

    def interval(self) -> sp.Interval:
        """The domain as a SymPy set."""
        lo = sp.S.NegativeInfinity if self.lower is None else self.lower
        hi = sp.S.Infinity if self.upper is None else self.upper
        return sp.Interval(lo, hi, self.lower is None or self.lower_open, self.upper is None or self.upper_open)

    def contains(self, value: sp.Expr) -> bool:
        if self.lower is not None and not bool(value > self.lower if self.lower_open else value >= self.lower):
            return False
        return self.upper is None or bool(value < self.upper if self.upper_open else value <= self.upper)

    def symbol(self) -> sp.Symbol:
        kwargs = {"real": True}
        if self.lower is not None and (self.lower > 0 or (self.lower == 0 and self.lower_open)):
            kwargs = {"positive": True}
        elif self.lower is not None and self.lower >= 0:
            kwargs = {"nonnegative": True}
        elif self.upper is not None and (self.upper < 0 or (self.upper == 0 and self.upper_open)):
            kwargs = {"negative": True}
        elif self.upper is not None and self.upper <= 0:
            kwargs = {"nonpositive": True}
        return sp.Symbol(self.name, **kwargs)

    def __repr__(self):
        lo = "" if self.lower is None else f"{self.lower} {'<' if self.lower_open else '<='} "
        hi = "" if self.upper is None else f" {'<' if self.upper_open else '<='} {self.upper}"
        return f"{lo}{self.name}{hi}"


def parse_assumption(text: str) -> Assumption:
    """Parse ``"q > 0"``, ``"-1 < rho < 1"``, ``"a >= 0.5"`` into an :class:`Assumption`.

    Bounds are kept exact (``0.1`` is 1/10, ``exp(1000)`` stays symbolic); ``oo`` is no bound.
    """
    node = _tree(text)
    if not isinstance(node, ast.Compare):
        raise ParseError(f"assumption {text!r} is not a comparison such as 'q > 0' or '-1 < rho < 1'")
    operands = [node.left, *node.comparators]
    names = [i for i, o in enumerate(operands) if isinstance(o, ast.Name) and o.id not in CONSTANTS]
    if len(names) != 1:
        raise ParseError(f"assumption {text!r} must bound exactly one name")
    index = names[0]
    name = operands[index].id
    if name in _RESERVED:
        raise ParseError(f"{name!r} is a function name, not a parameter")
    _Builder({}).symbol(name)  # validates the name
    result = Assumption(name)
    for i, op in enumerate(node.ops):
        left, right = operands[i], operands[i + 1]
        if i + 1 != index and i != index:
            raise ParseError(f"assumption {text!r} compares two numbers")
        number_node = right if i == index else left
        number = _Builder({}).build(number_node)
        if not number.is_number or number.is_extended_real is not True:
            raise ParseError(f"bound {ast.unparse(number_node)!r} is not a real number")
        name_on_left = i == index
        if isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
            strict = isinstance(op, ast.Lt | ast.Gt)
            upper = isinstance(op, ast.Lt | ast.LtE) == name_on_left
            if number.is_infinite:
                if (number > 0) != upper:
                    raise ParseError(f"assumption {text!r} describes an empty set")
                continue  # q < oo: no bound
            bound = Assumption(name, upper=number, upper_open=strict) if upper else Assumption(name, lower=number, lower_open=strict)
        else:
            raise ParseError(f"comparison {type(op).__name__} is not allowed in an assumption (use <, <=, >, >=)")
        result = result.merge(bound)
    if result.empty:
        raise ParseError(f"assumption {text!r} describes an empty set")
    return result
