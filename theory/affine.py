r"""Networks as pointwise affine maps (Drgoňa, Tuor, Vasisht, Skomski & Vrabie, "Spectral analysis and
stability of deep neural dynamics", arXiv 2011.13492 v1, 2020; journal version "Dissipative deep neural
dynamical systems", IEEE Open Journal of Control Systems 1, 100–112, 2022).

Every activation is affine through its value at the origin,

.. math::  \sigma(z) = \Lambda(z)\, z + \sigma(0), \qquad
           \Lambda(z) = \frac{\sigma(z) - \sigma(0)}{z}, \quad \Lambda(0) = \sigma'(0),

(at a kink at 0, Λ(0) is the mean of the one-sided slopes: Heaviside(0) = ½; any finite value
reconstructs σ(0) there).  A dense layer a ↦ σ(W a + b) is then a ↦ Λ W a + (Λ b + σ(0)) with
Λ = diag Λ(zᵢ), and composing the layers writes the network as f(x) = A*(x) x + b*(x):

.. math::  A^*(x) = \Lambda_{L-1} W_{L-1} \cdots \Lambda_0 W_0, \qquad
           b^*_{l+1} = \Lambda_l (W_l b^*_l + b_l) + \sigma(0), \; b^*_0 = 0.

A*(x) is not the Jacobian J(x) = Σ'_{L−1} W_{L−1} ⋯ Σ'_0 W_0 (Σ′ = diag σ′(zᵢ)): the two agree only where
σ′(z) = Λ(z), which for the piecewise-linear activations through the origin (the ReLU family) holds
inside the open activation regions and fails for tanh, whose tanh(z)/z exceeds sech²(z) at every z ≠ 0.

:func:`slope_quotient` gives Λ in a form for floating point: near 0 the quotient loses digits to
cancellation when σ(0) ≠ 0 (sigmoid, cos) or when σ itself is computed with a cancellation
(elu's eˣ − 1), so on |z| < r each side of the origin is replaced by its Taylor polynomial, whose
truncation error is checked against the 40-digit quotient at ±r.  :func:`composition_residual`
composes a small network with symbolic weights, biases, inputs and slopes and shows that A*x + b* − f(x)
depends on the units' residuals Λ(z)z + σ(0) − σ(z) (:func:`unit_residual`) alone.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import mpmath
import sympy as sp

from dyncheck.theory.activations import derivative, kinks, registered_name
from dyncheck.theory.errors import UsageError
from dyncheck.theory.timelimit import SymbolicTimeout, time_limit
from dyncheck.theory.symbols import X

__all__ = ["SLOPE_RULES", "LinearPiece", "SlopeQuotient", "linear_pieces", "composition_residual", "residual_at_points", "slope_expression", "slope_quotient", "unit_residual"]

#: The slope rules a decomposition may use: the slope quotient of Drgoňa et al., and σ′ (which makes A* the
#: Jacobian — the negative control of the exact decomposition).
SLOPE_RULES = ("quotient", "derivative")

#: Degree of the Taylor polynomials of Λ near 0, and the largest radius r they serve.
TAYLOR_DEGREE = 24
_LARGEST_RADIUS = sp.Integer(1)
#: The polynomial must match the 40-digit quotient at ±r to this relative error (far below double precision).
_TRUNCATION_TOLERANCE = 1e-18


def _one_sided(phi: sp.Expr, side: int) -> sp.Expr:
    """σ on a small one-sided neighbourhood of 0 (``side`` = ±1): each step replaced by its constant value there."""
    steps = {}
    for step in phi.atoms(sp.Heaviside):
        argument = step.args[0]
        slope, offset = sp.Poly(argument, X).all_coeffs() if argument.has(X) else (sp.S.Zero, argument)
        value = offset if offset != 0 else side * slope
        steps[step] = sp.S.One if value > 0 else sp.S.Zero
    return phi.xreplace(steps)


@dataclass(frozen=True)
class SlopeQuotient:
    r"""Λ(z) = (σ(z) − σ(0))/z of one activation, in pieces for floating point.

    ``quotient`` is the quotient itself (used on |z| ≥ ``radius``); ``left`` and ``right`` are its Taylor
    polynomials of degree :data:`TAYLOR_DEGREE` on −r < z < 0 and 0 < z < r (equal unless σ has a kink at
    0), with 30-digit coefficients; ``at_zero`` is Λ(0) (σ′(0), or the mean of the one-sided slopes at a
    kink); ``cancellation`` bounds the relative rounding error the quotient can gain from its subtraction at
    |z| ≥ r, in units of the unit roundoff: max over ±r of (|σ(0)| + |σ(±r)|)/|σ(±r) − σ(0)|.

    The radius is the largest of 1, ½, ¼, … (and at most half the distance to the nearest other kink) at which
    both polynomials match the 40-digit quotient at ±r to 1e-18: the polynomials serve where the quotient
    would cancel, and the quotient where the series would need more terms.
    """

    phi: sp.Expr
    value_at_zero: sp.Expr
    quotient: sp.Expr
    left: sp.Expr
    right: sp.Expr
    at_zero: sp.Expr
    radius: sp.Rational
    cancellation: float


def _taylor_quotient(branch: sp.Expr, value_at_zero: sp.Expr) -> sp.Expr:
    """The Taylor polynomial of (branch(z) − σ(0))/z at 0, from 60-digit derivatives of the branch (step-free, analytic at 0)."""
    function = sp.lambdify(X, branch, "mpmath")
    with mpmath.workdps(60):
        coefficients = mpmath.taylor(function, 0, TAYLOR_DEGREE + 1)
        largest = max(abs(c) for c in coefficients)
        # a derivative that is exactly 0 (cos′(0)) comes back from numerical differentiation as ~1e-60: it is 0
        return sp.Add(*(sp.Float(c, 30) * X**k for k, c in enumerate(coefficients[1:]) if abs(c) > largest * mpmath.mpf(10) ** -45))


@functools.lru_cache(maxsize=64)
def slope_quotient(phi: sp.Expr) -> SlopeQuotient:
    """Λ of ``phi`` (an expression in x) with its near-zero polynomials; a :class:`UsageError` if σ jumps at 0
    (Λ is then unbounded near 0 and the decomposition has no slope there) or the polynomials do not converge."""
    name, phi = registered_name(phi), sp.sympify(phi).rewrite(sp.Heaviside)
    value = phi.subs(X, 0)
    branches = {side: _one_sided(phi, side) for side in (-1, 1)}
    if any(branch.subs(X, 0) != value for branch in branches.values()):
        raise UsageError(f"the activation {name} jumps at 0: its slope quotient (σ(z) − σ(0))/z is unbounded there")
    polynomials = {side: _taylor_quotient(branch, value) for side, branch in branches.items()}
    exact = {side: sp.lambdify(X, (branch - value) / X, "mpmath") for side, branch in branches.items()}
    evaluate = {side: sp.lambdify(X, polynomial, "mpmath") for side, polynomial in polynomials.items()}
    radius = min([_LARGEST_RADIUS, *(abs(k) / 2 for k in kinks(phi) if k != 0)])
    with mpmath.workdps(40):
        for _ in range(12):
            points = {side: side * mpmath.mpf(sp.Float(radius, 40)) for side in (-1, 1)}
            misses = [abs(evaluate[s](points[s]) - exact[s](points[s])) / max(abs(exact[s](points[s])), mpmath.mpf(10) ** -30) for s in (-1, 1)]
            if max(misses) <= _TRUNCATION_TOLERANCE:
                break
            radius /= 2
        else:
            raise UsageError(f"the Taylor polynomial of the slope quotient of {name} does not converge near 0")
        value_mp = sp.lambdify(X, branches[1], "mpmath")(mpmath.mpf(0))
        at_r = [sp.lambdify(X, branches[s], "mpmath")(points[s]) for s in (-1, 1)]
        cancellation = max(float((abs(value_mp) + abs(v)) / abs(v - value_mp)) if v != value_mp else 1.0 for v in at_r)
    quotient = sp.expand((phi - value) / X)
    if any(power.base == X and power.exp.is_negative for power in quotient.atoms(sp.Pow)):
        quotient = (phi - value) / X  # expanded, its terms would cancel each other: one quotient
    at_zero = (polynomials[-1].subs(X, 0) + polynomials[1].subs(X, 0)) / 2
    return SlopeQuotient(phi, value, quotient, polynomials[-1], polynomials[1], at_zero, sp.nsimplify(radius), cancellation)


def slope_expression(phi: sp.Expr, rule: str) -> sp.Expr:
    """The diagonal slope of a layer as an expression in x: (σ(x) − σ(0))/x (``quotient``) or σ′(x) (``derivative``)."""
    if rule == "quotient":
        return (phi - phi.subs(X, 0)) / X
    if rule == "derivative":
        return derivative(phi, X, 1)
    raise ValueError(f"unknown slope rule {rule!r}; known: {SLOPE_RULES}")


def unit_residual(phi: sp.Expr, rule: str, *, seconds: float = 10.0) -> sp.Expr:
    """Λ(x)·x + σ(0) − σ(x) for the slope ``rule`` (:data:`SLOPE_RULES`), cancelled (0 when the rule is exact)."""
    residual = slope_expression(phi, rule) * X + phi.subs(X, 0) - phi
    try:
        with time_limit(seconds):
            return sp.cancel(sp.expand(residual))
    except SymbolicTimeout:
        return residual


def composition_residual(widths: tuple[int, ...] = (2, 3, 2)) -> sp.Matrix:
    r"""A*(x) x + b*(x) − f(x) for dense layers of these widths with symbolic weights, biases and input, every
    unit written σ(zᵢ) = λᵢ zᵢ + s₀ + eᵢ with its own slope λᵢ, the activation's value at 0 s₀ and its unit
    residual eᵢ; A* and b* composed from the λᵢ as the module docstring says.

    Expanded, the residual is a linear combination of the eᵢ alone (it is 0 at e = 0 for every weight, bias,
    input and slope): the decomposition is exact for a network exactly when :func:`unit_residual` is 0.
    """
    x = sp.Matrix(sp.symbols(f"x_0:{widths[0]}", real=True))
    s0 = sp.Symbol("s_0", real=True)
    post, matrix, offset = x, sp.eye(widths[0]), sp.zeros(widths[0], 1)
    for layer, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        w = sp.Matrix(n_out, n_in, lambda i, j: sp.Symbol(f"w{layer}_{i}{j}", real=True))
        b = sp.Matrix(sp.symbols(f"b{layer}_0:{n_out}", real=True))
        slopes = sp.symbols(f"lambda{layer}_0:{n_out}", real=True)
        errors = sp.symbols(f"e{layer}_0:{n_out}", real=True)
        z = w * post + b
        lam = sp.diag(*slopes)
        matrix, offset = lam * w * matrix, lam * (w * offset + b) + s0 * sp.ones(n_out, 1)
        post = sp.Matrix([slopes[i] * z[i] + s0 + errors[i] for i in range(n_out)])
    return (matrix * x + offset - post).applyfunc(sp.expand)


def residual_at_points(residual: sp.Expr, points: int = 8, seed: int = 0, digits: int = 40) -> float:
    """The largest |residual| of :func:`unit_residual` at random rational x in [−3, 3] (never 0), at ``digits``
    digits: a nonzero value is a counterexample, where a residual SymPy could not cancel may still be 0."""
    generator = random.Random(seed)
    values = [sp.Rational(generator.choice((-1, 1)) * generator.randint(1, 300), 100) for _ in range(points)]
    return max(abs(float(residual.xreplace({X: v}).evalf(digits))) for v in values)


@dataclass(frozen=True)
class LinearPiece:
    """σ(z) = slope·z + intercept on lower ≤ z ≤ upper (±oo at the ends)."""

    lower: sp.Expr
    upper: sp.Expr
    slope: sp.Expr
    intercept: sp.Expr


@functools.lru_cache(maxsize=64)
def linear_pieces(phi: sp.Expr) -> tuple[LinearPiece, ...] | None:
    """The pieces of a continuous piecewise-linear activation (the ReLU family, hard tanh, the identity), split at
    its kinks; None when some piece is not affine (tanh, GELU, ELU's exponential side, …) or σ jumps at a kink."""
    phi = sp.sympify(phi).rewrite(sp.Heaviside)
    points = [-sp.oo, *kinks(phi), sp.oo]
    pieces = []
    for lower, upper in zip(points, points[1:]):
        inside = (lower + upper) / 2 if lower.is_finite and upper.is_finite else (upper - 1 if lower == -sp.oo and upper.is_finite else lower + 1 if upper == sp.oo and lower.is_finite else sp.S.Zero)
        steps = {step: sp.S.One if step.args[0].subs(X, inside) > 0 else sp.S.Zero for step in phi.atoms(sp.Heaviside)}
        branch = sp.expand(phi.xreplace(steps))
        if not branch.is_polynomial(X) or sp.degree(branch, X) > 1:
            return None
        slope = branch.coeff(X, 1)
        pieces.append(LinearPiece(lower, upper, slope, sp.expand(branch - slope * X)))
    for left, right in zip(pieces, pieces[1:]):
        if sp.simplify(left.slope * left.upper + left.intercept - right.slope * right.lower - right.intercept) != 0:
            return None
    return tuple(pieces)
