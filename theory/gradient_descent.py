r"""Gradient descent as a dynamical system: when is a minimum stable for an optimizer?

Near a minimum the loss is L ≈ ½ θᵀHθ, and on each eigen-direction of H (curvature λ > 0) an
optimizer with step η is a linear map s ↦ M s of its state s = (θ, buffers).  The minimum is
stable — every start converges to it — iff M's spectral radius is below 1, i.e. iff the
characteristic polynomial p(μ) = det(μI − M) has every root inside the unit circle.  For the
optimizers below p depends on η and λ only through x = ηλ, so each has a threshold: the minimum is
stable iff 0 < ηλ < x*(β) for every eigenvalue λ, i.e. iff η < x*(β)/λ_max (Cohen, Kaur, Li,
Kolter & Talwalkar 2021, "Gradient descent on neural networks typically occurs at the edge of
stability"; for momentum, Goh 2017 and Cohen et al. 2022 for the adaptive case).

The update rules are written once, in the conventions users run (:data:`OPTIMIZERS`), as
functions that act alike on SymPy symbols and on numpy arrays:

* ``gd`` — θ ← θ − η g;
* ``heavy-ball`` — ``torch.optim.SGD(momentum=β)``: v ← βv + g, θ ← θ − ηv;
* ``nesterov`` — ``torch.optim.SGD(momentum=β, nesterov=True)``: v ← βv + g, θ ← θ − η(g + βv);
* ``adam`` — Adam late in training, its second-moment preconditioner P frozen and its bias
  corrections spent: m ← βm + (1 − β)g, θ ← θ − η P m; λ is then the preconditioned curvature
  (an eigenvalue of P H).  ``torch.optim.SGD(momentum=β, dampening=β)`` runs the same map.

:func:`derive_threshold` derives x*(β) and proves it: M is the Jacobian of the update at g = λθ;
x* is the positive root in x of the period-doubling boundary (−1)ⁿ p(−1) = 0; the Jury conditions
(for degree n ≤ 2: p(1) > 0, (−1)ⁿ p(−1) > 0 and, for n = 2, |p(0)| < 1) are affine in x, so
they hold on all of 0 < x < x* once they hold, not both as equalities, at its two ends — each a
rational function of β, checked on β ∈ [0, 1) by SymPy's univariate inequality solver.  Past x*,
(−1)ⁿ p(−1) < 0 puts a real root below −1: the map diverges.  A polynomial of higher degree, or
a condition not affine in x, leaves the threshold unproved (reported so, never assumed).

Where GD ends when many minima fit, and how fast it learns:

* :func:`least_squares_limit` — underdetermined least squares, X⁺y + (I − X⁺X)w₀;
* :func:`hard_margin_svm` — the direction GD takes on separable logistic regression (Soudry,
  Hoffer, Nacson, Gunasekar & Srebro 2018), as an exact KKT point;
* :func:`mode_strength`, :func:`balanced_mode_residual` — a two-layer linear network's modes learn
  along τu̇ = 2u(s − u) (Saxe, McClelland & Ganguli 2014).

How GD stays at the edge of stability: :func:`self_stabilisation_map` is the two-dimensional map of
Damian, Nichani & Lee (2023) for the displacement along the top eigenvector and the sharpness excess,
:func:`cubic_step_residuals` derives it from one GD step on a cubic Taylor model, and
:func:`cycle_mean_square` gives the cycle average of the displacement that it implies.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from dyncheck.theory.symbols import (
    CURVATURE,
    DISPLACEMENT,
    INITIAL_STRENGTH,
    MOMENTUM,
    MULTIPLIER,
    SCALED_STEP,
    SHARPENING_RATE,
    SHARPNESS_EXCESS,
    SINGULAR_VALUE,
    STABILISATION_STRENGTH,
    STEP_SIZE,
    TIME,
    TIME_CONSTANT,
)

__all__ = [
    "MOMENTUM_DOMAIN",
    "OPTIMIZERS",
    "Optimizer",
    "Threshold",
    "adam",
    "balanced_mode_residual",
    "cubic_step_residuals",
    "cycle_mean_square",
    "derive_threshold",
    "gd",
    "hard_margin_svm",
    "heavy_ball",
    "least_squares_limit",
    "least_squares_limit_residuals",
    "linearised_map",
    "mode_strength",
    "nesterov",
    "readable",
    "self_stabilisation_map",
]

#: The momenta of the claims: β ∈ [0, 1).
MOMENTUM_DOMAIN = sp.Interval.Ropen(0, 1)


def gd(theta, state, gradient, eta, beta):
    """θ ← θ − η g (no state)."""
    return theta - eta * gradient, state


def heavy_ball(theta, state, gradient, eta, beta):
    """``torch.optim.SGD(momentum=β)``: v ← βv + g, θ ← θ − ηv."""
    (v,) = state
    v = beta * v + gradient
    return theta - eta * v, (v,)


def nesterov(theta, state, gradient, eta, beta):
    """``torch.optim.SGD(momentum=β, nesterov=True)``: v ← βv + g, θ ← θ − η(g + βv)."""
    (v,) = state
    v = beta * v + gradient
    return theta - eta * (gradient + beta * v), (v,)


def adam(theta, state, gradient, eta, beta):
    """Adam with its preconditioner frozen (folded into g and η): m ← βm + (1 − β)g, θ ← θ − η m."""
    (m,) = state
    m = beta * m + (1 - beta) * gradient
    return theta - eta * m, (m,)


@dataclass(frozen=True)
class Optimizer:
    """An update rule ``step(θ, state, g, η, β) → (θ, state)``, its state's size, and where its convention is from."""

    name: str
    step: Callable
    buffers: int
    convention: str


OPTIMIZERS = {
    o.name: o
    for o in (
        Optimizer("gd", gd, 0, "θ ← θ − ηg"),
        Optimizer("heavy-ball", heavy_ball, 1, "torch.optim.SGD(momentum=β): v ← βv + g, θ ← θ − ηv"),
        Optimizer("nesterov", nesterov, 1, "torch.optim.SGD(momentum=β, nesterov=True): v ← βv + g, θ ← θ − η(g + βv)"),
        Optimizer("adam", adam, 1, "Adam, preconditioner frozen: m ← βm + (1 − β)g, θ ← θ − ηm (= SGD(momentum=β, dampening=β))"),
    )
}


def linearised_map(name: str) -> sp.Matrix:
    """M(η, λ, β): the Jacobian of the update on (θ, buffers) at g = λθ, the loss ½λθ² (exactly linear there)."""
    optimizer = OPTIMIZERS[name]
    theta = sp.Symbol("theta")
    buffers = sp.symbols(f"v0:{optimizer.buffers}")
    new_theta, new_buffers = optimizer.step(theta, tuple(buffers), CURVATURE * theta, STEP_SIZE, MOMENTUM)
    return sp.Matrix([new_theta, *new_buffers]).jacobian([theta, *buffers])


@dataclass(frozen=True)
class Threshold:
    """x*(β) with ηλ < x* ⇔ stable, the polynomial it comes from, and the proof's steps.

    ``proved`` is True only when every Jury condition was shown positive on 0 < x < x* for all
    β ∈ [0, 1) and (−1)ⁿ p(−1) negative beyond; ``reason`` says what failed otherwise."""

    optimizer: str
    bound: sp.Expr | None
    polynomial: sp.Expr
    proved: bool
    reason: str
    conditions: tuple = field(default_factory=tuple)


def _nonnegative_on_domain(expr: sp.Expr) -> bool:
    """expr(β) ≥ 0 for every β ∈ [0, 1): the set where it is negative, found by SymPy, misses the domain."""
    expr = sp.cancel(sp.together(expr))
    if not expr.has(MOMENTUM):
        return bool(expr >= 0)
    negative = sp.solve_univariate_inequality(expr < 0, MOMENTUM, relational=False, domain=MOMENTUM_DOMAIN)
    return negative.is_empty is True


def _vanishes_somewhere(first: sp.Expr, second: sp.Expr) -> bool:
    """Both vanish at one β ∈ [0, 1) (or everywhere): then the condition may be 0 on the whole interval."""
    first, second = (sp.cancel(sp.together(e)) for e in (first, second))
    if first == 0 and second == 0:
        return True
    zeros = [sp.solveset(sp.numer(e), MOMENTUM, MOMENTUM_DOMAIN) if e.has(MOMENTUM) else (MOMENTUM_DOMAIN if e == 0 else sp.S.EmptySet) for e in (first, second)]
    return not sp.Intersection(*zeros).is_empty


def readable(threshold: sp.Expr) -> sp.Expr:
    """``threshold`` as one writes it: a factored numerator over a denominator whose constant term is positive,
    2(β + 1)/(1 − β) rather than −2(β + 1)/(β − 1) (unevaluated: for printing and LaTeX)."""
    numerator, denominator = sp.fraction(sp.cancel(threshold))
    if denominator.subs(MOMENTUM, 0) < 0:
        numerator, denominator = -numerator, -denominator
    if denominator == 1:
        return sp.factor(numerator)
    return sp.Mul(sp.factor(numerator), sp.Pow(sp.factor(denominator), -1), evaluate=False)


def derive_threshold(name: str) -> Threshold:
    """Derive and prove the stability threshold x*(β) of optimizer ``name`` (the module docstring's argument)."""
    x = SCALED_STEP
    matrix = linearised_map(name).subs(STEP_SIZE, x / CURVATURE)
    polynomial = sp.expand(sp.simplify((MULTIPLIER * sp.eye(matrix.rows) - matrix).det()))
    if polynomial.has(CURVATURE):
        return Threshold(name, None, polynomial, False, "the characteristic polynomial depends on η and λ apart, not on ηλ alone")
    poly = sp.Poly(polynomial, MULTIPLIER)
    degree = poly.degree()
    if degree > 2:
        return Threshold(name, None, polynomial, False, f"degree {degree}: the Jury table is not set up beyond 2")
    at = lambda mu: sp.expand(polynomial.subs(MULTIPLIER, mu))  # noqa: E731
    boundary = sp.expand((-1) ** degree * at(-1))
    conditions = [("p(1) > 0", at(1)), ("(-1)^n p(-1) > 0", boundary)]
    if degree == 2:
        a0 = at(0)
        conditions += [("1 - p(0) > 0", 1 - a0), ("1 + p(0) > 0", 1 + a0)]
    roots = [sp.factor(sp.simplify(r)) for r in sp.solve(boundary, x)]
    roots = [r for r in roots if _nonnegative_on_domain(r) and not _vanishes_somewhere(r, r)]
    if len(roots) != 1:
        return Threshold(name, None, polynomial, False, f"the boundary (-1)^n p(-1) = 0 has {len(roots)} roots in ηλ positive for every β ∈ [0, 1)")
    bound = roots[0]
    checked = []
    for label, condition in conditions:
        if sp.Poly(condition, x).degree() > 1:
            return Threshold(name, bound, polynomial, False, f"{label} is not affine in ηλ")
        low, high = sp.limit(condition, x, 0, "+"), sp.simplify(condition.subs(x, bound))
        holds = _nonnegative_on_domain(low) and _nonnegative_on_domain(high) and not _vanishes_somewhere(low, high)
        checked.append((label, str(low), str(high), holds))
        if not holds:
            return Threshold(name, bound, polynomial, False, f"{label} fails inside 0 < ηλ < x* for some β ∈ [0, 1)", tuple(checked))
    slope = sp.simplify(sp.diff(boundary, x))
    if not _nonnegative_on_domain(-slope) or _vanishes_somewhere(slope, slope):
        return Threshold(name, bound, polynomial, False, "(-1)^n p(-1) does not fall past x*: divergence beyond it is not shown", tuple(checked))
    return Threshold(name, bound, polynomial, True, "every Jury condition holds on 0 < ηλ < x*, and a real root passes −1 beyond it", tuple(checked))


# ---------------------------------------------------------------------------
# Implicit bias of GD on underdetermined least squares


def least_squares_limit(features: sp.Matrix, targets: sp.Matrix, start: sp.Matrix) -> sp.Matrix:
    """X⁺y + (I − X⁺X) w₀: where GD on (1/2N)‖Xw − y‖² from w₀ ends when X has full row rank (exact, rational).

    Each step adds −(η/N) Xᵀ(Xw − y), a vector of the row space of X, so w₀ + row(X) holds every
    iterate; with η < 2/λ_max(XᵀX/N) they converge to the one interpolant in that affine subspace.
    """
    pseudoinverse = features.pinv()
    return pseudoinverse * targets + (sp.eye(features.cols) - pseudoinverse * features) * start


def least_squares_limit_residuals(features: sp.Matrix, targets: sp.Matrix, limit: Callable) -> tuple[sp.Matrix, sp.Matrix]:
    """For a candidate ``limit(X, y, w₀)`` and symbolic w₀: (X w∞ − y, the part of w∞ − w₀ off the row space of X).

    Both vanish iff w∞ is the interpolant in w₀ + row(X) — the GD limit, as the step's updates never leave the
    row space.  The part off the row space is read against a basis of the null space of X (exact for a
    rational X; no pseudoinverse involved)."""
    start = sp.Matrix(sp.symbols(f"w0_0:{features.cols}", real=True))
    end = sp.Matrix(limit(features, targets, start))
    off_rows = sp.Matrix.hstack(*features.nullspace()).T * (end - start)
    return sp.simplify(features * end - targets), sp.simplify(off_rows)


# ---------------------------------------------------------------------------
# Deep linear networks (Saxe, McClelland & Ganguli 2014)


def mode_strength(rate: sp.Expr = 2) -> sp.Expr:
    """u(t) solving τ u̇ = ``rate`` · u (s − u), u(0) = u₀, by SymPy's ODE solver: the strength of one mode of a
    two-layer linear network learning a mode of singular value s (Saxe et al. 2014 have rate 2:
    u(t) = s u₀ e^{2st/τ} / (s + u₀(e^{2st/τ} − 1)), a sigmoid in t, learned in time ~ (τ/2s) ln(s/u₀))."""
    strength = sp.Function("u")
    equation = sp.Eq(TIME_CONSTANT * strength(TIME).diff(TIME), rate * strength(TIME) * (SINGULAR_VALUE - strength(TIME)))
    # a Bernoulli equation (the logistic one): naming the method spares dsolve trying every other first (2.5 s → 0.2 s)
    solution = sp.dsolve(equation, strength(TIME), ics={strength(0): INITIAL_STRENGTH}, hint="Bernoulli")
    return sp.simplify(solution.rhs)


def balanced_mode_residual(rate: sp.Expr = 2) -> tuple[sp.Expr, sp.Expr]:
    """(d(a² − b²)/dt, d(ab)/dt − rate·u(s − u)/τ at a = b = √u) for the gradient flow τȧ = b(s − ab), τḃ = a(s − ab)
    of L = ½(s − ab)², one mode of a two-layer linear network on whitened inputs (Saxe et al. 2014, eq. 6).

    Both vanish for rate 2: a balanced mode (a = b) stays balanced, and its strength u = ab obeys
    τu̇ = 2u(s − u)."""
    a, b, u = sp.symbols("a b u", positive=True)
    loss = (SINGULAR_VALUE - a * b) ** 2 / 2
    a_dot, b_dot = -sp.diff(loss, a) / TIME_CONSTANT, -sp.diff(loss, b) / TIME_CONSTANT
    balance = sp.simplify(2 * a * a_dot - 2 * b * b_dot)
    strength = (a_dot * b + a * b_dot).subs({a: sp.sqrt(u), b: sp.sqrt(u)})
    return balance, sp.simplify(strength - rate * u * (SINGULAR_VALUE - u) / TIME_CONSTANT)


# ---------------------------------------------------------------------------
# Self-stabilisation at the edge of stability (Damian, Nichani & Lee 2023)


def self_stabilisation_map(prefactor: sp.Expr = sp.Rational(1, 2)) -> sp.Tuple:
    """(x_{t+1}, y_{t+1}) of the reduced dynamics of GD at the edge of stability (Damian, Nichani & Lee, ICLR 2023, §4):

        x_{t+1} = −(1 + η y_t) x_t,        y_{t+1} = y_t + η (α − ``prefactor`` · β x_t²),

    x = u·(θ − θ*) the displacement along the top Hessian eigenvector u at a reference θ* of sharpness S(θ*) = 2/η,
    y = ∇S·(θ − θ*) the sharpness excess (S(θ) ≈ 2/η + y), α = −∇L·∇S the progressive-sharpening rate and
    β = ‖∇S‖² the self-stabilisation strength, all at θ*.  The paper's prefactor is ½: the cubic term of the loss,
    ½∇³L[δ, δ], pushes θ along −∇S by ½x²∇S.  While x is small y climbs at ηα (progressive sharpening); once
    y > 0, |x| grows by |1 + ηy| a step (blow-up); x² then pulls y down (self-stabilisation), and for y < 0 x decays."""
    x, y, eta, alpha, beta = DISPLACEMENT, SHARPNESS_EXCESS, STEP_SIZE, SHARPENING_RATE, STABILISATION_STRENGTH
    return sp.Tuple(-(1 + eta * y) * x, y + eta * (alpha - prefactor * beta * x**2))


def cubic_step_residuals(prefactor: sp.Expr = sp.Rational(1, 2)) -> tuple[sp.Expr, sp.Expr]:
    """The leading-order gap between one GD step on a cubic Taylor model of the loss and :func:`self_stabilisation_map`.

    In an orthonormal frame (u, s, w) at θ* — u the top eigenvector, s = ∇S/‖∇S‖, w standing for every other
    direction — the model is L(θ* + δ) = L* + g·δ + ½δᵀHδ + ⅙∇³L[δ, δ, δ], with

    * H = diag(2/η, 0, h): S(θ*) = 2/η, and the direction of ∇S flat (H∇S = 0);
    * g = (0, −α/√β, g_w): no force along u (u·∇L = 0), α = −∇L·∇S;
    * ∇³L[u, u, ·] = ∇S = (0, √β, 0) (the derivative of S = uᵀHu along δ is ∇³L[u, u, δ]): ∇S ⟂ u;
    * ∇³L[s, s, u] = ∇³L[s, s, s] = 0: the flat direction stays flat to first order as θ moves; the other
      entries of ∇³L and h, g_w are free symbols.

    These are what a *fixed* reference θ* needs; the paper measures from a moving one, the projected-GD
    trajectory, which carries the general case.  On the scale x, y ~ ε, α, g_w ~ ε², w ~ ε² the step's
    projections x' = u·δ', y' = ∇S·δ' (δ' = δ − η∇L) are returned minus the map, divided by ε² — the order of
    the map's own corrections ηxy, ηα, ηβx² — and taken at ε = 0: both vanish identically for
    ``prefactor`` ½, and the map is GD's leading-order dynamics, corrections O(ε³)."""
    eps, h, g_w = sp.symbols("epsilon h g_w", real=True)
    big_x, big_z, big_w = sp.symbols("X Z W", real=True)
    eta, alpha, beta = STEP_SIZE, SHARPENING_RATE, STABILISATION_STRENGTH
    root = sp.sqrt(beta)
    delta = sp.Matrix([eps * big_x, eps * big_z / root, eps**2 * big_w])
    free = {key: sp.Symbol("T_" + "".join("usw"[i] for i in key), real=True) for key in itertools.combinations_with_replacement(range(3), 3)}
    free.update({(0, 0, 0): 0, (0, 0, 1): root, (0, 0, 2): 0, (0, 1, 1): 0, (1, 1, 1): 0})
    third = [[[free[tuple(sorted((i, j, k)))] for k in range(3)] for j in range(3)] for i in range(3)]
    hessian = sp.diag(2 / eta, 0, h)
    gradient0 = sp.Matrix([0, -eps**2 * alpha / root, eps**2 * g_w])
    gradient = gradient0 + hessian * delta + sp.Matrix([sum(third[i][j][k] * delta[j] * delta[k] for j in range(3) for k in range(3)) / 2 for i in range(3)])
    step = delta - eta * gradient
    x, y = delta[0], root * delta[1]
    claimed = self_stabilisation_map(prefactor).subs({DISPLACEMENT: x, SHARPNESS_EXCESS: y, SHARPENING_RATE: eps**2 * alpha}, simultaneous=True)
    gaps = (step[0] - claimed[0], root * step[1] - claimed[1])
    return tuple(sp.simplify(sp.expand(gap / eps**2).subs(eps, 0)) for gap in gaps)


def cycle_mean_square(prefactor: sp.Expr = sp.Rational(1, 2)) -> sp.Expr:
    """The average of x_t² over any stretch t₀ ≤ t < t₁ of the map that returns y to its start (y_{t₁} = y_{t₀}).

    Summing y_{t+1} − y_t = η(α − cβx_t²) over the stretch telescopes: η(t₁ − t₀)(α − cβ⟨x²⟩) = y_{t₁} − y_{t₀} = 0,
    so ⟨x²⟩ = α/(cβ) — 2α/β for the paper's c = ½, whatever the orbit.  Along an orbit on which y stays bounded
    the average over t steps differs from it by (y_t − y₀)/(ηcβt) → 0.  Solved here from the summed identity."""
    steps, mean_square = sp.symbols("T m", positive=True)
    x_next, y_next = self_stabilisation_map(prefactor)
    increment = (y_next - SHARPNESS_EXCESS).subs(DISPLACEMENT**2, mean_square)  # y_{t+1} − y_t, linear in x_t²
    (solution,) = sp.solve(sp.Eq(steps * increment, 0), mean_square)
    return sp.simplify(solution)


# ---------------------------------------------------------------------------
# Implicit bias of GD on separable logistic regression (Soudry, Hoffer, Nacson, Gunasekar & Srebro 2018)


def hard_margin_svm(points: sp.Matrix) -> tuple[sp.Matrix, dict[int, sp.Expr]]:
    """(ŵ, {support vector: multiplier}): ŵ = argmin ‖w‖² s.t. z_iᵀw ≥ 1 for the rows z_i = y_i x_i (no bias), exactly.

    The objective is strictly convex, so the KKT point is the optimum: ŵ = Σ_{i∈S} α_i z_i with α ≥ 0 solving
    z_iᵀŵ = 1 on S, and z_jᵀŵ ≥ 1 off it.  Supports are tried smallest first (rational arithmetic throughout).
    """
    rows = points.rows
    for size in range(1, rows + 1):
        for support in itertools.combinations(range(rows), size):
            chosen = points.extract(list(support), list(range(points.cols)))
            gram = chosen * chosen.T
            if gram.det() == 0:
                continue
            alpha = gram.inv() * sp.ones(size, 1)
            if any(a < 0 for a in alpha):
                continue
            w = chosen.T * alpha
            if all(m >= 1 for m in points * w):
                return w, dict(zip(support, alpha))
    raise ValueError("the points are not separable through the origin")
