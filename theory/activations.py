"""Activation functions as SymPy expressions in one variable ``x``.

Every entry has one shape (:class:`Activation`): a name, an expression in
:data:`X`, its parameters with defaults, and a one-line description.  Kinked
activations are written with ``Heaviside`` so that their derivatives (needed
by Price's theorem and by χ₁) are steps and Dirac deltas; variants are
parameters of one family, not copies (``relu`` is ``ab_relu(0, 1)``, ``abs``
is ``ab_relu(-1, 1)``, ``leaky_relu`` is ``ab_relu(alpha, 1)``), as in
neural-tangents' ``ABRelu``.

Kink locations are derived from the expression (:func:`kinks`), never typed
in, so the quadrature in :mod:`numerics.gaussian` splits at exactly the points
where the integrand is not smooth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import sympy as sp

from dyncheck.theory.symbols import X

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "activation",
    "ab_relu",
    "registered_name",
    "derivative",
    "kinks",
    "smooth_scale_points",
]

_H = sp.Heaviside


def ab_relu(a, b) -> sp.Expr:
    """The two-slope ReLU: ``a·x`` for x < 0 and ``b·x`` for x > 0."""
    return a * X + (b - a) * X * _H(X)


def _hard_tanh() -> sp.Expr:
    return -1 + (X + 1) * _H(X + 1) - (X - 1) * _H(X - 1)


def _elu(alpha) -> sp.Expr:
    return X * _H(X) + alpha * (sp.exp(X) - 1) * (1 - _H(X))


# SELU constants (Klambauer et al. 2017, eq. 14), to the precision published.
_SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 32)
_SELU_LAMBDA = sp.Float("1.0507009873554804934193349852946", 32)


@dataclass(frozen=True)
class Activation:
    """One activation function.

    ``build`` maps the parameter values to a SymPy expression in :data:`X`;
    ``defaults`` gives every parameter's default.  :meth:`expr` returns the
    expression for given parameters.
    """

    name: str
    description: str
    build: Callable[..., sp.Expr] = field(repr=False)
    defaults: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"activation name {self.name!r} is not an identifier")
        # The expression must be a function of x alone once parameters are fixed.
        free = self.expr().free_symbols - {X}
        if free:
            raise ValueError(f"activation {self.name!r} has free symbols {free}")

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(self.defaults)

    def expr(self, *args, **kwargs) -> sp.Expr:
        """The expression in :data:`X`, with parameters given positionally or by name."""
        if len(args) > len(self.defaults):
            raise TypeError(
                f"{self.name} takes {len(self.defaults)} parameter(s) "
                f"({', '.join(self.defaults) or 'none'}), got {len(args)}"
            )
        values = dict(self.defaults)
        for key, arg in zip(self.defaults, args):
            values[key] = arg
        unknown = set(kwargs) - set(self.defaults)
        if unknown:
            raise TypeError(f"{self.name} has no parameter(s) {sorted(unknown)}")
        values.update(kwargs)
        return self.build(**values)

    def __call__(self, argument: sp.Expr, *params) -> sp.Expr:
        """The activation applied to ``argument`` (any SymPy expression)."""
        return self.expr(*params).subs(X, argument)


_ENTRIES = [
    Activation("relu", "max(x, 0)", lambda: ab_relu(0, 1)),
    Activation(
        "leaky_relu",
        "x for x > 0, alpha·x for x < 0",
        lambda alpha: ab_relu(alpha, 1),
        {"alpha": sp.Rational(1, 100)},
    ),
    Activation("abs", "|x|", lambda: ab_relu(-1, 1)),
    Activation("step", "Heaviside step H(x)", lambda: _H(X)),
    Activation("sign", "sign(x) = 2H(x) − 1", lambda: 2 * _H(X) - 1),
    Activation("hard_tanh", "clip(x, −1, 1)", _hard_tanh),
    Activation("linear", "x", lambda: X),
    Activation("erf", "error function erf(x)", lambda: sp.erf(X)),
    Activation("tanh", "hyperbolic tangent", lambda: sp.tanh(X)),
    Activation("sigmoid", "logistic 1/(1 + e^{−x})", lambda: 1 / (1 + sp.exp(-X))),
    Activation("softplus", "log(1 + e^x)", lambda: sp.log(1 + sp.exp(X))),
    Activation(
        "gelu",
        "x·Φ(x) = x(1 + erf(x/√2))/2 (exact GELU)",
        lambda: X * (1 + sp.erf(X / sp.sqrt(2))) / 2,
    ),
    Activation("silu", "x·sigmoid(x) (also called swish)", lambda: X / (1 + sp.exp(-X))),
    Activation(
        "elu",
        "x for x > 0, alpha(e^x − 1) for x < 0",
        _elu,
        {"alpha": sp.Integer(1)},
    ),
    Activation(
        "selu",
        "lambda·elu(x; alpha) with Klambauer et al.'s constants",
        lambda: _SELU_LAMBDA * _elu(_SELU_ALPHA),
    ),
    Activation("sin", "sin(x)", lambda: sp.sin(X)),
    Activation("cos", "cos(x)", lambda: sp.cos(X)),
    Activation("gaussian", "exp(−x²/2)", lambda: sp.exp(-(X**2) / 2)),
    Activation("monomial", "x^n, n a non-negative integer", lambda n: X**n, {"n": sp.Integer(2)}),
]

#: Aliases a researcher may type: alias -> registered name.
ALIASES = MappingProxyType({"swish": "silu", "hardtanh": "hard_tanh", "identity": "linear"})

#: The registry, by name.
ACTIVATIONS: Mapping[str, Activation] = MappingProxyType({a.name: a for a in _ENTRIES})


def activation(name: str) -> Activation:
    """Look up an activation by name or alias; a clear ``KeyError`` otherwise."""
    key = ALIASES.get(name, name)
    try:
        return ACTIVATIONS[key]
    except KeyError:
        known = ", ".join(sorted([*ACTIVATIONS, *ALIASES]))
        raise KeyError(f"unknown activation {name!r}; known: {known}") from None


def registered_name(expr: sp.Expr) -> str:
    """The registered name of an activation's expression (``relu`` for x·H(x), with default parameters), or the
    expression printed when it is not one of them."""
    return next((name for name, entry in ACTIVATIONS.items() if entry.expr() == expr), str(expr))


def _linear_root(arg: sp.Expr, var: sp.Symbol) -> sp.Expr:
    try:
        poly = sp.Poly(arg, var)
    except sp.PolynomialError:
        raise ValueError(f"kink argument {arg} is not linear in {var}") from None
    if poly.degree() != 1:
        raise ValueError(f"kink argument {arg} is not linear in {var}")
    a, b = poly.all_coeffs()
    return -b / a


def kinks(expr: sp.Expr, var: sp.Symbol = X) -> tuple[sp.Expr, ...]:
    """Points where ``expr`` is not smooth in ``var``: zeros of the arguments of
    ``Heaviside``, ``DiracDelta``, ``Abs``, ``sign``, ``Max``, ``Min`` and
    ``Piecewise`` conditions, after rewriting them as steps.

    Raises ``ValueError`` if a step's argument is not linear in ``var``.
    """
    rewritten = expr.rewrite(sp.Heaviside)
    roots = set()
    for step in rewritten.atoms(sp.Heaviside, sp.DiracDelta):
        arg = step.args[0]
        if arg.has(var):
            roots.add(_linear_root(arg, var))
    return tuple(sorted(roots, key=sp.default_sort_key))


def _reduce_deltas(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """Apply F(t)·δ⁽ᵏ⁾(t) = Σⱼ (−1)ʲ C(k, j) F⁽ʲ⁾(0) δ⁽ᵏ⁻ʲ⁾(t) to every term with one delta
    of a linear argument t = αx + β.  Terms whose F⁽ʲ⁾(0) involves a step at its jump
    (H(x)·δ(x): not defined as a distribution) are left as they are."""
    terms = []
    for term in sp.Add.make_args(sp.expand(expr)):
        deltas = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.DiracDelta) and f.args[0].has(var)]
        if len(deltas) != 1:
            terms.append(term)
            continue
        (delta,) = deltas
        arg, order = delta.args[0], int(delta.args[1]) if len(delta.args) > 1 else 0
        try:
            alpha, beta = sp.Poly(arg, var).all_coeffs()
        except (sp.PolynomialError, ValueError):
            terms.append(term)
            continue
        t = sp.Dummy("t", real=True)
        rest = (term / delta).subs(var, (t - beta) / alpha)
        values = [sp.diff(rest, t, j).subs(t, 0) for j in range(order + 1)]
        if any(v.has(sp.Heaviside, sp.DiracDelta, sp.nan, sp.zoo) for v in values):
            terms.append(term)
            continue
        terms += [(-1) ** j * sp.binomial(order, j) * values[j] * sp.DiracDelta(arg, order - j) for j in range(order + 1)]
    return sp.Add(*terms)


def derivative(expr: sp.Expr, var: sp.Symbol = X, order: int = 1) -> sp.Expr:
    """The ``order``-th derivative of ``expr`` in ``var`` as a distribution.

    Steps differentiate to Dirac deltas; a smooth factor multiplying a delta is
    replaced by its values at the delta's point, so relu′ = H(x) (not
    H(x) + x·δ(x)) and relu″ = δ(x).  χ₁ = σ_w² E[φ′(√q z)²] needs this: the
    square of x·δ(x) is not a distribution, though x·δ(x) = 0 is.
    """
    out = expr
    for _ in range(order):
        out = _reduce_deltas(sp.diff(out, var), var)
    return out


def smooth_scale_points(expr: sp.Expr, var: sp.Symbol) -> tuple[tuple[sp.Expr, sp.Expr], ...]:
    """(centre, scale) of every nonlinear function applied to a polynomial in ``var``.

    For ``tanh(a·var + b)`` the integrand changes over a length ``1/|a|``
    around ``−b/a``; for ``exp(a·var² + b·var + c)`` over ``|a|^{-1/2}``
    around ``−b/(2a)``; for a polynomial aₙvarⁿ + aₙ₋₁varⁿ⁻¹ + … of any degree
    n, over ``|aₙ|^{-1/n}`` around the mean of its roots, ``−aₙ₋₁/(n·aₙ)``
    (``exp(−a·var⁴)``: a^{-1/4} around 0).  Quadrature maps are anchored there
    (see :mod:`numerics.gaussian`).  Arguments that are not polynomial are
    skipped (their scale is left to the Gaussian's).
    """
    found = set()
    for call in expr.atoms(sp.Function):
        if isinstance(call, (sp.Heaviside, sp.DiracDelta)) or not call.args:
            continue
        arg = call.args[0]
        if not arg.has(var):
            continue
        try:
            poly = sp.Poly(arg, var)
        except sp.PolynomialError:
            continue
        n = poly.degree()
        if n >= 1:
            a, b = poly.all_coeffs()[:2]
            found.add((-b / (n * a), sp.Abs(a) ** sp.Rational(-1, n)))
    return tuple(sorted(found, key=sp.default_sort_key))
