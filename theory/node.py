r"""Neural ODEs and neural delay equations: what their flows can represent, and the memory threshold.

**Flows of one-dimensional fields are increasing.**  For ẏ = f(y), y(0) = x, the derivative
v = ∂φ_t/∂x solves the variational equation v̇ = f′(φ_t(x)) v, v(0) = 1, so

.. math::  \partial_x \varphi_T(x) = \exp \int_0^T f'(\varphi_t(x))\, dt > 0

(Liouville's formula in one dimension).  :func:`closed_form_flow` derives φ_t by ``dsolve`` for a
field with a closed-form flow and the divergence integral Λ = ∫₀ᵀ f′(φ_t) dt by ``integrate``.  A
non-augmented scalar neural ODE with affine input and read-out, x ↦ u φ_T(w x + b) + c, is therefore
monotone in x (Dupont, Doucet & Teh 2019; Kuehn & Kuntz, arXiv 2405.09351): a linear read-out fits
g(x) = −x exactly (u = −1), so the obstruction is not −x but every target that is not monotone.

**The monotone obstruction as a number.**  Its best L²([A, B]) error on a target g is at least the
distance from g to the monotone functions, min(‖g − P↑g‖, ‖g − P↓g‖), P↑ the L² projection onto
non-decreasing functions (isotonic regression; Brunk 1958, Barlow et al. 1972).  The projection is
continuous for continuous g and, on [A, B], equals g where it is not pooled and the block mean
c = (1/(b − a))∫_a^b g on each pooled block [a, b], whose ends satisfy g(a) = c (an end inside the
domain) and g(b) = c.  :func:`isotonic_projection` solves these block equations exactly (polynomial
resultants and real algebraic roots) for continuous piecewise-polynomial targets, given the block
structure a fine-grid solution finds, and proves the result: monotone, by the real roots of g′ on
each free segment (exact), and optimal, by the cone's optimality condition ∫_a^s (g − c) ≥ 0 on every
block (at 50 digits).

**The delay equation x′(t) = −a x(t − τ).**  Its characteristic equation λ = −a e^{−λτ} has the roots
λτ = W_k(−aτ) (Lambert W).  A real root exists iff aτ ≤ 1/e (:func:`sign_threshold`: λe^{λτ} = −a
has its minimum −1/(eτ) at λ = −1/τ), and then the solution from a positive constant history never
changes sign; beyond it every solution oscillates (Győri & Ladas 1991, Thm 2.2.3).  The zero solution
is asymptotically stable iff aτ < π/2 (:func:`stability_threshold`: the roots cross the imaginary
axis at λ = ±iω with ωτ = π/2, ω = a; Hayes 1950) — a *different* threshold.  With K = a the field's
Lipschitz constant, aτ is Kuehn & Kuntz's memory capacity Kτ (arXiv 2505.07244), and 1/e is where
x₀ ↦ x(T) can first reverse orientation, which no ODE flow can.  :func:`method_of_steps` is the exact
solution (a polynomial on each interval [kτ, (k + 1)τ], for a polynomial history) and
:func:`delayed_exponential` the closed form of the constant-history solution,
x(t) = Σ_{k=0}^{⌊t/τ⌋+1} (−a)^k (t − (k − 1)τ)^k / k! (Khusainov & Shuklin 2003), evaluated in mpmath
because its alternating terms cancel in double precision once at grows.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import sympy as sp

from dyncheck.theory.errors import UsageError
from dyncheck.theory.symbols import DELAY, DIVERGENCE_INTEGRAL, HISTORY_TIME, STATE, TIME, X
from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

__all__ = [
    "ClosedFormFlow",
    "IsotonicProjection",
    "PolynomialPieces",
    "characteristic_roots",
    "closed_form_flow",
    "delayed_exponential",
    "digits_for",
    "evaluate_piece",
    "history_coefficients",
    "isotonic_projection",
    "liouville_residuals",
    "method_of_steps",
    "polynomial_pieces",
    "sign_on_piece",
    "sign_threshold",
    "stability_threshold",
    "variational_equation",
]

#: CPU seconds allowed to dsolve / integrate / simplify on one field.
_SYMBOLIC_BUDGET_S = 20.0
#: Digits of the optimality check of an isotonic projection.
_CHECK_DIGITS = 50


# ----------------------------------------------------------------------------------- flows


@dataclass(frozen=True)
class ClosedFormFlow:
    """The flow φ_t(x) of ẏ = f(y) in closed form, ∂φ_t/∂x, and Λ_t(x) = ∫₀ᵗ f′(φ_s(x)) ds."""

    field: sp.Expr  # in the state symbol y
    flow: sp.Expr  # in TIME and X
    derivative: sp.Expr
    divergence_integral: sp.Expr


def variational_equation() -> tuple[sp.Expr, sp.Expr]:
    """∂_t ∂_x φ and ∂_x f(φ) for ẏ = f(y) with f and φ undefined functions: the chain rule gives
    ∂_t v = f′(φ) v for v = ∂_x φ (the second entry is f′(φ)·v, with v appearing as ∂_x φ)."""
    phi, f = sp.Function("phi"), sp.Function("f")
    flow = phi(TIME, X)
    return sp.diff(flow, TIME, X), sp.diff(f(flow), X)


def liouville_residuals(candidate: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(F′(Λ) − F(Λ), F(0) − 1) for a candidate v = F(Λ), Λ(t) = ∫₀ᵗ f′(φ_s) ds.

    v = F(Λ(t)) solves the variational equation v̇ = Λ̇ v, v(0) = 1 for every field iff both vanish
    (d/dt F(Λ) = F′(Λ)Λ̇; the solution of the linear equation is unique), which is Liouville's formula."""
    return sp.simplify(sp.diff(candidate, DIVERGENCE_INTEGRAL) - candidate), sp.simplify(candidate.subs(DIVERGENCE_INTEGRAL, 0) - 1)


@functools.lru_cache(maxsize=16)
def closed_form_flow(field: sp.Expr) -> ClosedFormFlow:
    """φ_t by ``dsolve`` with φ_0 = x, ∂φ_t/∂x, and Λ_t by ``integrate`` (under a CPU budget).

    ``field`` is an expression in the symbol ``y``.  Raises :class:`UsageError` when SymPy finds no
    single closed-form flow (or its budget runs out).
    """
    y = sp.Function("y")
    s = sp.Symbol("s", positive=True)
    try:
        with time_limit(_SYMBOLIC_BUDGET_S):
            solution = sp.dsolve(sp.Eq(y(TIME).diff(TIME), field.subs(STATE, y(TIME))), y(TIME), ics={y(0): X})
            if isinstance(solution, list):
                raise UsageError(f"the field {field} has {len(solution)} branches of flow, not one closed form")
            flow = solution.rhs
            # dsolve may pick a branch valid on part of the line only (√(x²) for x, say): check the solution
            if sp.simplify(flow.subs(TIME, 0) - X) != 0 or sp.simplify(sp.diff(flow, TIME) - field.subs(STATE, flow)) != 0:
                raise UsageError(f"dsolve's flow of {field} solves the equation on part of the line only")
            slope = sp.diff(field, STATE)
            divergence = sp.integrate(slope.subs(STATE, flow.subs(TIME, s)), (s, 0, TIME))
    except SymbolicTimeout:
        raise UsageError(f"no closed-form flow of {field} within {_SYMBOLIC_BUDGET_S:g} s of CPU time") from None
    if divergence.has(sp.Integral):
        raise UsageError(f"the divergence integral of {field} along its flow has no closed form")
    return ClosedFormFlow(field, flow, sp.diff(flow, X), divergence)


# ------------------------------------------------------------------------- isotonic projection


@dataclass(frozen=True)
class PolynomialPieces:
    """A target on [A, B] as polynomials in x between breaks A = b₀ < b₁ < … < b_n = B."""

    breaks: tuple
    polynomials: tuple

    def piece_of(self, point: float) -> int:
        """The index of the piece containing ``point`` (the left one at a break)."""
        for i, right in enumerate(self.breaks[1:]):
            if point <= float(right):
                return i
        return len(self.polynomials) - 1

    def antiderivative(self, i: int, at: sp.Expr) -> sp.Expr:
        """∫_A^at g, for ``at`` in piece i."""
        total = sp.Integer(0)
        for j in range(i):
            total += sp.integrate(self.polynomials[j], (X, self.breaks[j], self.breaks[j + 1]))
        return total + sp.integrate(self.polynomials[i], (X, self.breaks[i], at))

    @property
    def continuous(self) -> bool:
        return all(sp.simplify(p.subs(X, b) - q.subs(X, b)) == 0 for p, q, b in zip(self.polynomials, self.polynomials[1:], self.breaks[1:-1]))


def polynomial_pieces(target: sp.Expr, low: sp.Expr, high: sp.Expr) -> PolynomialPieces | None:
    """``target`` on [low, high] as polynomial pieces (Abs, Max, Min, Heaviside and Piecewise are split
    at their breaks), or None when a piece is not a polynomial in x."""
    low, high = sp.nsimplify(low, rational=True), sp.nsimplify(high, rational=True)
    expr = sp.piecewise_fold(target.rewrite(sp.Piecewise))
    if not isinstance(expr, sp.Piecewise):
        return PolynomialPieces((low, high), (sp.expand(expr),)) if expr.is_polynomial(X) else None
    domain, taken, parts = sp.Interval(low, high), sp.EmptySet, []
    for piece, condition in expr.args:
        region = sp.Intersection(condition.as_set() if condition is not sp.true else sp.Reals, domain) - taken
        taken = taken | region
        intervals = region.args if isinstance(region, sp.Union) else (region,)
        for interval in intervals:
            if interval.is_empty or interval.measure == 0:
                continue
            if not isinstance(interval, sp.Interval) or not piece.is_polynomial(X):
                return None
            parts.append((interval.start, interval.end, sp.expand(piece)))
    parts.sort(key=lambda part: float(part[0]))
    breaks = (parts[0][0],) + tuple(part[1] for part in parts)
    return PolynomialPieces(breaks, tuple(part[2] for part in parts))


@dataclass(frozen=True)
class IsotonicProjection:
    """P↑g on [A, B]: pooled blocks (a, b, c) with g elsewhere, and ‖g − P↑g‖² as an exact expression."""

    blocks: tuple  # ((a, b, c), …), exact
    distance_squared: sp.Expr
    pieces: PolynomialPieces

    @property
    def distance(self) -> sp.Expr:
        return sp.sqrt(self.distance_squared)


def _real_roots_in(poly: sp.Expr, variable: sp.Symbol, low, high) -> list:
    """The real roots of ``poly`` in [low, high], with a slack of 1e-12 of the interval's length."""
    roots = sp.Poly(poly, variable).real_roots() if sp.Poly(poly, variable).degree() > 0 else []
    slack = 1e-12 * (float(high) - float(low))
    return [r for r in roots if float(low) - slack <= float(r) <= float(high) + slack]


def _nearest(roots: list, guess: float, spacing: float):
    """The root nearest ``guess``, provided it is within ``spacing`` and no other root is."""
    near = sorted(roots, key=lambda r: abs(float(r) - guess))
    if not near or abs(float(near[0]) - guess) > spacing or (len(near) > 1 and abs(float(near[1]) - guess) <= spacing and float(near[1]) != float(near[0])):
        return None
    return near[0]


def _solve_block(pieces: PolynomialPieces, guess: tuple[float, float], spacing: float):
    """The exact block (a, b, c) near ``guess`` = (a₀, b₀) from its equations, or None."""
    low, high = pieces.breaks[0], pieces.breaks[-1]
    a0, b0 = guess
    at_low, at_high = abs(a0 - float(low)) <= spacing / 2, abs(b0 - float(high)) <= spacing / 2
    a, b = sp.symbols("a b", real=True)
    ia, ib = pieces.piece_of(a0), pieces.piece_of(b0)
    g_a, g_b = pieces.polynomials[ia].subs(X, a), pieces.polynomials[ib].subs(X, b)
    if at_low and at_high:
        total = pieces.antiderivative(len(pieces.polynomials) - 1, high)
        return low, high, total / (high - low)
    integral = pieces.antiderivative(ib, b) - pieces.antiderivative(ia, a)
    if at_low:
        equation = sp.expand(integral.subs(a, low) - g_b * (b - low))
        root = _nearest(_real_roots_in(equation, b, pieces.breaks[ib], pieces.breaks[ib + 1]), b0, spacing)
        return None if root is None else (low, root, g_b.subs(b, root))
    if at_high:
        equation = sp.expand(integral.subs(b, high) - g_a * (high - a))
        root = _nearest(_real_roots_in(equation, a, pieces.breaks[ia], pieces.breaks[ia + 1]), a0, spacing)
        return None if root is None else (root, high, g_a.subs(a, root))
    level = sp.expand(g_a - g_b)
    if ia == ib:
        level = sp.cancel(level / (a - b))
    mean = sp.expand(integral - g_a * (b - a))
    roots_a = _real_roots_in(sp.resultant(level, mean, b), a, pieces.breaks[ia], pieces.breaks[ia + 1])
    roots_b = _real_roots_in(sp.resultant(level, mean, a), b, pieces.breaks[ib], pieces.breaks[ib + 1])
    root_a, root_b = _nearest(roots_a, a0, spacing), _nearest(roots_b, b0, spacing)
    if root_a is None or root_b is None:
        return None
    with mpmath.workdps(_CHECK_DIGITS):
        values = {a: root_a.evalf(_CHECK_DIGITS), b: root_b.evalf(_CHECK_DIGITS)}
        scale = 1 + abs(g_a.evalf(_CHECK_DIGITS, subs=values)) * (1 + abs(values[b] - values[a]))  # the terms' size
        if abs(level.evalf(_CHECK_DIGITS, subs=values)) > 1e-40 * scale or abs(mean.evalf(_CHECK_DIGITS, subs=values)) > 1e-40 * scale:
            return None
    return root_a, root_b, g_a.subs(a, root_a)


def _monotone_on(poly: sp.Expr, low, high) -> bool:
    """poly′ ≥ 0 on [low, high], exactly: its sign between consecutive real roots of poly′."""
    slope = sp.diff(poly, X)
    if slope.is_number:
        return bool(slope >= 0)
    cuts = [low] + sorted(_real_roots_in(slope, X, low, high), key=float) + [high]
    return all(sp.sign(slope.subs(X, (p + q) / 2).evalf(_CHECK_DIGITS)) >= 0 for p, q in zip(cuts, cuts[1:]) if float(q) > float(p))


def _optimal_block(pieces: PolynomialPieces, block) -> bool:
    """∫_a^s (g − c) ≥ 0 for s in [a, b] (the projection's optimality on a pooled block), at 50 digits:
    at the ends of every piece inside the block and at the real roots of g − c, where the partial
    integral has its extremes."""
    with mpmath.workdps(_CHECK_DIGITS):
        a, b, c = (mpmath.mpf(str(sp.sympify(v).evalf(_CHECK_DIGITS))) for v in block)
        breaks = [mpmath.mpf(str(v.evalf(_CHECK_DIGITS))) for v in pieces.breaks]
        excess = [[mpmath.mpf(str(k.evalf(_CHECK_DIGITS))) for k in sp.Poly(poly, X).all_coeffs()] for poly in pieces.polynomials]
        for coefficients in excess:
            coefficients[-1] -= c

        def integrand(u):
            i = next((j for j in range(len(excess)) if u <= breaks[j + 1]), len(excess) - 1)
            return mpmath.polyval(excess[i], u)

        candidates = []
        for i, coefficients in enumerate(excess):
            lo, hi = max(a, breaks[i]), min(b, breaks[i + 1])
            if lo >= hi:
                continue
            candidates += [lo, hi]
            if len(coefficients) > 1 and any(coefficients[:-1]):
                roots = mpmath.polyroots(coefficients, maxsteps=400, extraprec=400) if len(coefficients) > 2 else [-coefficients[1] / coefficients[0]]
                candidates += [mpmath.re(r) for r in roots if abs(mpmath.im(r)) < 1e-30 and lo < mpmath.re(r) < hi]
        size = (1 + max(abs(mpmath.polyval(e, v)) for e in excess for v in (a, b))) * (b - a)  # the partial integrals' scale
        floor = -mpmath.mpf(10) ** (10 - _CHECK_DIGITS) * size
        for s in candidates:
            if s > a and mpmath.quad(integrand, [a] + [v for v in breaks if a < v < s] + [s]) < floor:
                return False
    return True


def isotonic_projection(pieces: PolynomialPieces, blocks: list[tuple[float, float]], spacing: float) -> IsotonicProjection | None:
    """P↑g exactly, for a continuous piecewise-polynomial target and the approximate pooled ``blocks``
    (from a grid of the given ``spacing``); None when the block equations have no root near the guesses,
    or the result fails its monotonicity or optimality check."""
    if not pieces.continuous:
        return None
    exact = []
    for guess in blocks:
        block = _solve_block(pieces, guess, spacing)
        if block is None:
            return None
        exact.append(tuple(sp.sympify(v) for v in block))
    # the free segments between blocks must be non-decreasing, the blocks' levels rising, each block optimal
    edges = [pieces.breaks[0]] + [v for a, b, _ in exact for v in (a, b)] + [pieces.breaks[-1]]
    for lo, hi in zip(edges[::2], edges[1::2]):
        for i, poly in enumerate(pieces.polynomials):
            left, right = sp.Max(lo, pieces.breaks[i]), sp.Min(hi, pieces.breaks[i + 1])
            if float(right) > float(left) and not _monotone_on(poly, left, right):
                return None
    if not all(_optimal_block(pieces, block) for block in exact):
        return None
    total = sp.Integer(0)
    for a, b, c in exact:
        ia, ib = pieces.piece_of(float(a)), pieces.piece_of(float(b))
        for i in range(ia, ib + 1):
            lo = a if i == ia else pieces.breaks[i]
            hi = b if i == ib else pieces.breaks[i + 1]
            total += sp.integrate((pieces.polynomials[i] - c) ** 2, (X, lo, hi))
    try:
        with time_limit(_SYMBOLIC_BUDGET_S):
            total = total if total.is_Rational else sp.radsimp(sp.simplify(total))
    except SymbolicTimeout:
        pass  # the unsimplified expression is exact too
    return IsotonicProjection(tuple(exact), total, pieces)


# ------------------------------------------------------------------------------ delay equation


def sign_threshold() -> sp.Expr:
    """The largest aτ at which λ = −a e^{−λτ} has a real root, derived: min_λ λe^{λτ} = −1/(eτ)."""
    lam = sp.Symbol("lambda", real=True)
    product = lam * sp.exp(lam * DELAY)
    (critical,) = sp.solve(sp.diff(product, lam), lam)
    return sp.simplify(-product.subs(lam, critical) * DELAY)


def stability_threshold() -> sp.Expr:
    """aτ at which the rightmost roots of λ = −a e^{−λτ} cross the imaginary axis, derived.

    With λ = iω (ω > 0): the real part gives a cos ωτ = 0, so the first crossing has ωτ = π/2, and
    the imaginary part gives ω = a sin ωτ, so aτ = ωτ / sin ωτ."""
    phase = sp.Symbol("u", positive=True)  # ωτ
    crossing = min(sp.solve(sp.cos(phase), phase))
    return sp.simplify(crossing / sp.sin(crossing))


def characteristic_roots(a_tau: float, branches=range(-3, 3), digits: int = 30) -> list:
    """λτ = W_k(−aτ) for the Lambert-W ``branches`` k, as mpmath complex numbers (the principal branch
    k = 0 has the largest real part for real −aτ: Shinozaki & Mori 2006)."""
    with mpmath.workdps(digits):
        return [mpmath.lambertw(-mpmath.mpf(a_tau), k) for k in branches]


def history_coefficients(history: sp.Expr, delay: sp.Expr) -> list:
    """The history h(t) on [−τ, 0] as ascending coefficients in the local variable v = t + τ ∈ [0, τ]
    (exact SymPy numbers; ``history`` a polynomial in :data:`HISTORY_TIME`)."""
    v = sp.Symbol("v", real=True)
    local = sp.expand(history.subs(HISTORY_TIME, v - delay))
    if not local.is_polynomial(v) or local.free_symbols - {v}:
        raise UsageError(f"the exact method of steps needs a polynomial history in t, not {history}")
    return sp.Poly(local, v).all_coeffs()[::-1] if local != 0 else [sp.Integer(0)]


def method_of_steps(gain, delay, history: list, segments: int) -> list[list]:
    """x on [kτ, (k + 1)τ], k = 0 … segments − 1, of x′(t) = −a x(t − τ), as ascending coefficients in the
    local variable u = t − kτ ∈ [0, τ]: x_k(u) = x_{k−1}(τ) − a ∫_0^u x_{k−1}(v) dv, with x_{−1} the
    ``history`` (:func:`history_coefficients`).

    Generic over the number type: exact for SymPy rationals or :class:`fractions.Fraction`, at working
    precision for mpmath numbers.  In these local variables the terms do not cancel (each x_k(u) is a
    sum of terms of one sign per power of a bounded u), unlike the global series of
    :func:`delayed_exponential`."""
    previous, pieces = list(history), []
    for _ in range(segments):
        end = sum(c * delay**j for j, c in enumerate(previous))
        current = [end] + [-gain * c / (j + 1) for j, c in enumerate(previous)]
        pieces.append(current)
        previous = current
    return pieces


def evaluate_piece(coefficients: list, u):
    """Σ c_j u^j by Horner's rule (any number type)."""
    value = 0
    for c in reversed(coefficients):
        value = value * u + c
    return value


def sign_on_piece(coefficients: list, delay, depth: int = 12) -> int | None:
    """+1 if Σ c_j u^j > 0 on all of [0, τ], −1 if it is negative somewhere there, None if undecided.

    Certified in exact arithmetic (rational coefficients): positivity by the Bernstein coefficients
    b_i = Σ_{j≤i} C(i, j)/C(n, j) c_j τ^j on [0, τ] and on de Casteljau halves down to ``depth``
    (all b_i > 0 ⇒ positive); negativity by a point with a negative value (an end or a midpoint)."""
    n = len(coefficients) - 1

    def bernstein(c, low, width):
        # the Taylor coefficients at ``low`` scaled to the interval's width, then the Bernstein basis
        shifted = [sum(math.comb(k, j) * c[k] * low ** (k - j) for k in range(j, n + 1)) * width**j for j in range(n + 1)]
        return [sum(math.comb(i, j) * shifted[j] / math.comb(n, j) for j in range(i + 1)) for i in range(n + 1)]

    stack = [(0 * delay, delay, 0)]
    while stack:
        low, width, level = stack.pop()
        b = bernstein(coefficients, low, width)
        if min(b[0], b[-1]) < 0:
            return -1
        middle = evaluate_piece(coefficients, low + width / 2)
        if middle < 0:
            return -1
        if all(v > 0 for v in b):
            continue
        if level >= depth:
            return None
        stack += [(low, width / 2, level + 1), (low + width / 2, width / 2, level + 1)]
    return 1


def delayed_exponential(a: float, tau: float, t: float, digits: int = 40) -> mpmath.mpf:
    """x(t) of x′ = −a x(t − τ) with x ≡ 1 on [−τ, 0]: Σ_{k=0}^{⌊t/τ⌋+1} (−a)^k (t − (k − 1)τ)^k / k!,
    at ``digits`` (the terms reach e^{at} before they cancel; ``digits`` must cover that)."""
    if tau <= 0:
        raise UsageError("the delay τ must be positive")
    with mpmath.workdps(digits):
        a, tau, t = mpmath.mpf(a), mpmath.mpf(tau), mpmath.mpf(t)
        terms = int(mpmath.floor(t / tau)) + 1
        return +mpmath.fsum((-a) ** k * (t - (k - 1) * tau) ** k / mpmath.factorial(k) for k in range(terms + 1))


def digits_for(a: float, t: float) -> int:
    """Digits :func:`delayed_exponential` needs for 20 correct ones: its largest term is about e^{a(t+τ)}."""
    return 30 + int(math.ceil(abs(a) * abs(t) / math.log(10)))
