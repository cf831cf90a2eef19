r"""SGD near an interpolation minimum, the random linear map it is there: three notions of stability.

At a minimum x* of an interpolating problem L = (1/n) Σ ℓ_i, every ℓ_i minimal at x* (so each per-sample
Hessian H_i is positive semi-definite), SGD with step η and a batch ξ of B samples drawn without replacement,
afresh each step, is to first order

    x_{k+1} − x* = (I − ηH_ξ)(x_k − x*),        H_ξ = (1/B) Σ_{i∈ξ} H_i.

Along the manifold of solutions every H_i vanishes; on its normal space N three criteria ask three questions:

* GD's (full batch): the spectral radius of I − ηH̄ below 1, H̄ = (1/n) Σ H_i, i.e. ηλ_max(H̄) < 2;
* mean-square (Wu, Ma & E, NeurIPS 2018, "How SGD selects the global minima in over-parameterized
  learning"): E‖x_k − x*‖² stays bounded.  In one dimension E(1 − ηh_ξ)² = (1 − ηa)² + η² c(n, B) s², a = h̄
  the sharpness, s² = (1/n) Σ h_i² − a² the non-uniformity squared and c = (n − B)/(B(n − 1)) the variance of
  a mean of B of n values drawn without replacement, per unit population variance — an iff;
* almost-sure (Chemnitz & Engel, JMLR 2025, "Characterizing dynamical stability of stochastic gradient
  descent in overparameterized learning"): the top Lyapunov exponent λ = lim (1/k) log‖A_{ξ_k}⋯A_{ξ_1}|_N‖
  below 0.  In one dimension log|x_k − x*| = Σ log|1 − ηh_ξ|, so by the strong law of large numbers
  λ = E log|1 − ηh_ξ|; for commuting H_i, the largest such mean over their common eigen-directions.

By Jensen's inequality E log|1 − ηh| ≤ ½ log E(1 − ηh)²: mean-square stability implies almost-sure stability,
not conversely, and GD's criterion is neither sufficient nor necessary for either.  Everything here is exact
(SymPy numbers or symbols in, SymPy expressions out); :mod:`dyncheck.numerics.sgd` handles general Hessians.

Away from the minimum, over times t = kη, SGD is close in law to a stochastic modified equation (Li, Tai & E,
ICML 2017 and JMLR 2019, "Stochastic modified equations and dynamics of stochastic gradient algorithms"):

    SME-1: dX = −∇f(X) dt + √(ηΣ(X)) dW,        SME-2: dX = −∇(f + (η/4)‖∇f‖²)(X) dt + √(ηΣ(X)) dW,

Σ the covariance of the per-sample gradient; E g(x_k) − E g(X_{kη}) = O(η) for SME-1 and O(η²) for SME-2 (weak
orders 1 and 2).  On the test model ∇f_γ(x) = a(1 + γ)x + ζ (:func:`sgd_moment_recursion`) both sides' first two
moments close: :func:`sgd_moments` solves SGD's recursions, :func:`sme_moments` the SME's moment equations (Itô's
generator), and :func:`weak_error_order` expands their difference at t = T in η.

On the SME of f = ½ax² with gradient-noise variance Σ, a schedule ν(t) ∈ [0, 1] multiplying η moves the second
moment by ṁ = −2aνm + ν²ηΣ (Li, Tai & E 2017, §4: the learning rate as a control).  :func:`optimal_schedule`
minimises m(T) by Pontryagin's principle — full rate until m falls to ηΣ/a, then ν = 1/(1 + a(t − t_s)) — and
:func:`schedule_hjb_residuals` proves it optimal: its value function solves the Hamilton–Jacobi–Bellman equation.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from dyncheck.theory.symbols import (
    ADDITIVE_NOISE,
    BATCH_SIZE,
    CURVATURE,
    HORIZON,
    MULTIPLICATIVE_NOISE,
    NON_UNIFORMITY,
    SAMPLE_COUNT,
    SCHEDULE,
    SECOND_MOMENT,
    SHARPNESS,
    START,
    STEP_SIZE,
    SWITCHING_TIME,
    TIME,
)
from dyncheck.theory.timelimit import time_limit

__all__ = [
    "WITHOUT_REPLACEMENT",
    "batch_means",
    "commuting_lyapunov_exponent",
    "lyapunov_exponent",
    "lyapunov_sign",
    "mean_square_factor",
    "mean_square_identity_gap",
    "COMMON_SCHEDULES",
    "OptimalSchedule",
    "mean_square_necessary_bounds",
    "optimal_schedule",
    "schedule_hjb_residuals",
    "second_moment_by_inclusion",
    "second_moment_factor",
    "euler_maruyama_step",
    "sgd_moment_recursion",
    "sgd_moments",
    "constant_schedule_step",
    "schedule_moment_rate",
    "sme_coefficients",
    "sme_moments",
    "weak_error_order",
    "weak_two_step",
]

#: The symbols of one integrator step: the step h of the SDE's time and the Brownian increment w over it.
SDE_STEP, BROWNIAN_INCREMENT = sp.symbols("h w", real=True)

#: CPU seconds allowed to the series of a weak error (a few seconds are typical).
SERIES_TIME_LIMIT = 60.0

#: The variance of the mean of B of n values drawn without replacement, per unit population variance (the finite
#: population correction): Var(h_ξ) = c(n, B) s².
WITHOUT_REPLACEMENT = (SAMPLE_COUNT - BATCH_SIZE) / (BATCH_SIZE * (SAMPLE_COUNT - 1))


def batch_means(values: Sequence, batch: int) -> list:
    """The mean of every batch of ``batch`` of ``values`` (all C(n, B) of them, each equally likely), exactly."""
    if not 1 <= batch <= len(values):
        raise ValueError(f"a batch of {batch} from {len(values)} samples")
    return [sp.Add(*chosen) / batch for chosen in itertools.combinations([sp.sympify(v) for v in values], batch)]


def lyapunov_exponent(curvatures: Sequence, eta, batch: int) -> sp.Expr:
    """λ = E log|1 − ηh_ξ| over the batches ξ of the one-dimensional curvatures: the almost-sure growth rate of SGD's
    distance to the minimum (−∞ when some batch lands exactly on it)."""
    factors = [sp.Abs(1 - sp.sympify(eta) * h) for h in batch_means(curvatures, batch)]
    if any(f == 0 for f in factors):
        return sp.S.NegativeInfinity
    return sp.expand_log(sp.logcombine(sp.Add(*[sp.log(f) for f in factors]) / len(factors), force=True), force=True)  # the factors are > 0


def commuting_lyapunov_exponent(diagonals: Sequence[Sequence], eta, batch: int) -> sp.Expr:
    """The top Lyapunov exponent of commuting per-sample Hessians, given in their common eigenbasis: row i holds the
    eigenvalues of H_i; the exponent of each direction is that of its column, and the top one their maximum."""
    columns = list(zip(*diagonals))
    return sp.Max(*[lyapunov_exponent(column, eta, batch) for column in columns])


def lyapunov_sign(curvatures: Sequence, eta, batch: int) -> int:
    """The sign of :func:`lyapunov_exponent`, decided in exact arithmetic: λ < 0 iff Π_ξ |1 − ηh_ξ| < 1."""
    product = sp.Mul(*[sp.Abs(1 - sp.sympify(eta) * h) for h in batch_means(curvatures, batch)])
    return -1 if product < 1 else (0 if product == 1 else 1)


def second_moment_factor(curvatures: Sequence, eta, batch: int) -> sp.Expr:
    """E(1 − ηh_ξ)² over the batches, by enumerating them: the factor by which one SGD step multiplies E(x − x*)²."""
    means = batch_means(curvatures, batch)
    return sp.expand(sp.Add(*[(1 - sp.sympify(eta) * h) ** 2 for h in means]) / len(means))


def mean_square_factor(variance_factor: sp.Expr = WITHOUT_REPLACEMENT) -> sp.Expr:
    """Wu, Ma & E's one-step factor (1 − ηa)² + η² c s² in the sharpness a and non-uniformity s, with the batch's
    variance factor c = ``variance_factor`` (in n and B); mean-square stable iff it is ≤ 1 (in one dimension)."""
    return (1 - STEP_SIZE * SHARPNESS) ** 2 + STEP_SIZE**2 * variance_factor * NON_UNIFORMITY**2


def mean_square_identity_gap(samples: int, batch: int, variance_factor: sp.Expr = WITHOUT_REPLACEMENT) -> sp.Expr:
    """:func:`second_moment_factor` of symbolic curvatures h_1 … h_n minus :func:`mean_square_factor` at their
    sharpness and non-uniformity: identically 0 when ``variance_factor`` is the batch's true one."""
    h = sp.symbols(f"h1:{samples + 1}", real=True)
    a = sp.Add(*h) / samples
    s2 = sp.Add(*[v**2 for v in h]) / samples - a**2
    closed = mean_square_factor(variance_factor).subs({SAMPLE_COUNT: samples, BATCH_SIZE: batch}).subs(NON_UNIFORMITY**2, s2).subs(SHARPNESS, a)
    return sp.expand(second_moment_factor(h, STEP_SIZE, batch) - closed)


def second_moment_by_inclusion() -> sp.Expr:
    """E h_ξ² for a batch of B of n samples drawn without replacement, in the sharpness a and non-uniformity s, for
    symbolic n and B: a sample is in the batch with probability C(n−1, B−1)/C(n, B) and a pair of distinct samples
    with C(n−2, B−2)/C(n, B) (SymPy simplifies both), so

        E h_ξ² = (1/B²) [P₁ Σ h_i² + P₂ Σ_{i≠j} h_i h_j],   Σ h_i² = n(s² + a²),   Σ_{i≠j} h_i h_j = n²a² − n(s² + a²).

    It equals a² + (n − B)/(B(n − 1)) s², which makes E(1 − ηh_ξ)² = 1 − 2ηa + η² E h_ξ² Wu, Ma & E's factor."""
    n, b, a, s = SAMPLE_COUNT, BATCH_SIZE, SHARPNESS, NON_UNIFORMITY
    one = sp.combsimp(sp.binomial(n - 1, b - 1) / sp.binomial(n, b))
    pair = sp.combsimp(sp.binomial(n - 2, b - 2) / sp.binomial(n, b))
    squares = n * (s**2 + a**2)
    return sp.factor(sp.simplify((one * squares + pair * (n**2 * a**2 - squares)) / b**2))


def mean_square_necessary_bounds(variance_factor: sp.Expr = WITHOUT_REPLACEMENT) -> tuple[sp.Expr, sp.Expr]:
    """(largest a, largest s) that mean-square stability allows: both terms of :func:`mean_square_factor` are ≥ 0,
    so each is ≤ 1 — 0 ≤ a ≤ 2/η and 0 ≤ s ≤ 1/(η√c) (Wu, Ma & E 2018, with c = (n − B)/(B(n − 1)):
    s ≤ √(B(n − 1)/(n − B))/η).  Solved here from the two terms."""
    factor = mean_square_factor(variance_factor)
    sharpness_term, spread_term = factor.subs(NON_UNIFORMITY, 0), factor.subs(SHARPNESS, 1 / STEP_SIZE)
    largest_a = max(sp.solve(sp.Eq(sharpness_term, 1), SHARPNESS), key=lambda r: r.subs(STEP_SIZE, 1))
    (largest_s,) = [r for r in sp.solve(sp.Eq(spread_term, 1), NON_UNIFORMITY) if r.subs(STEP_SIZE, 1).subs({SAMPLE_COUNT: 5, BATCH_SIZE: 2}) > 0]
    return sp.simplify(largest_a), sp.simplify(largest_s)



# ---------------------------------------------------------------------------
# Stochastic modified equations (Li, Tai & E 2017, 2019)

_X = sp.Symbol("x", real=True)
_STEP = sp.Symbol("k", integer=True, nonnegative=True)


def _moments_of(polynomial: sp.Expr, moments: Sequence[sp.Expr]) -> sp.Expr:
    """E p(x) for a polynomial p of degree ≤ 2 in x, from E x = moments[0], E x² = moments[1]."""
    p = sp.Poly(sp.expand(polynomial), _X)
    if p.degree() > 2:
        raise ValueError(f"the moments do not close: degree {p.degree()}")
    values = [sp.S.One, *moments]
    return sp.expand(sum(c * values[power] for (power,), c in p.terms()))


def sgd_moment_recursion() -> tuple[sp.Expr, sp.Expr]:
    """(E x_{k+1}, E x_{k+1}²) in E x_k, E x_k² (symbols m1, m2) for SGD x ← x − η∇f_γ(x) on the test model
    ∇f_γ(x) = a(1 + γ)x + ζ: f = ½ax², γ and ζ independent of each other and of x, mean 0, variances σ_m², σ_a², so
    Σ(x) = a²σ_m²x² + σ_a².  The noise is averaged out term by term."""
    gamma, zeta = sp.symbols("gamma zeta", real=True)
    step = _X - STEP_SIZE * (CURVATURE * (1 + gamma) * _X + zeta)
    noise = {gamma: (0, MULTIPLICATIVE_NOISE), zeta: (0, ADDITIVE_NOISE)}

    def average(expr):
        p = sp.Poly(sp.expand(expr), gamma, zeta)
        moments = {0: 1, 1: 0, 2: None}
        total = 0
        for (i, j), c in p.terms():
            mi = noise[gamma][1] if i == 2 else moments[i]
            mj = noise[zeta][1] if j == 2 else moments[j]
            total += c * mi * mj
        return sp.expand(total)

    m1, m2 = sp.symbols("m1 m2", real=True)
    return _moments_of(average(step), (m1, m2)), _moments_of(average(step**2), (m1, m2))


@functools.cache
def sgd_moments() -> tuple[sp.Expr, sp.Expr]:
    """(E x_k, E x_k²) from x₀, solving :func:`sgd_moment_recursion` with SymPy's ``rsolve`` (k symbolic)."""
    first, second = sgd_moment_recursion()
    m1, m2 = sp.symbols("m1 m2", real=True)
    u, v = sp.Function("u"), sp.Function("v")
    mean = sp.rsolve(u(_STEP + 1) - first.subs(m1, u(_STEP)), u(_STEP), {u(0): START})
    square = sp.rsolve(v(_STEP + 1) - second.subs({m1: mean, m2: v(_STEP)}), v(_STEP), {v(0): START**2})
    return sp.simplify(mean), sp.simplify(square)


def sme_coefficients(correction: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(drift, diffusion) of the SME dX = −∇(f + ``correction`` · η‖∇f‖²)(X) dt + √(ηΣ(X)) dW on the test model, as
    expressions in x: −(a + 2·correction·ηa²)x and √(η(a²σ_m²x² + σ_a²))."""
    gradient = CURVATURE * _X
    drift = -sp.diff(CURVATURE * _X**2 / 2 + correction * STEP_SIZE * gradient**2, _X)
    return sp.expand(drift), sp.sqrt(STEP_SIZE * (CURVATURE**2 * MULTIPLICATIVE_NOISE * _X**2 + ADDITIVE_NOISE))


def euler_maruyama_step(correction: sp.Expr) -> sp.Expr:
    """x + b(x)h + σ(x)w: the Euler–Maruyama step of the SME (weak order 1 in h with Gaussian or ±√h increments w)."""
    drift, diffusion = sme_coefficients(correction)
    return _X + drift * SDE_STEP + diffusion * BROWNIAN_INCREMENT


def weak_two_step(correction: sp.Expr) -> sp.Expr:
    """The simplified weak order-2.0 Taylor step of the SME (Kloeden & Platen 1992, §14.2):

        x + bh + σw + ½σσ′(w² − h) + ½(b′σ + bσ′ + ½σ²σ″)wh + ½(bb′ + ½σ²b″)h²,

    b the drift and σ the diffusion, their derivatives in x taken by SymPy; weak order 2 with increments w of
    mean 0, E w² = h, E w³ = 0, E w⁴ = 3h² and E w⁵ = 0 (the three-point ±√(3h) with probability ⅙ each, 0 else)."""
    b, sigma = sme_coefficients(correction)
    h, w = SDE_STEP, BROWNIAN_INCREMENT
    d = lambda f, k=1: sp.diff(f, _X, k)  # noqa: E731
    return (
        _X + b * h + sigma * w
        + sigma * d(sigma) * (w**2 - h) / 2
        + (d(b) * sigma + b * d(sigma) + sigma**2 * d(sigma, 2) / 2) * w * h / 2
        + (b * d(b) + sigma**2 * d(b, 2) / 2) * h**2 / 2
    )


@functools.cache
def sme_moments(correction: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(E X_t, E X_t²) of dX = −∇(f + ``correction`` · η‖∇f‖²)(X) dt + √(ηΣ(X)) dW from x₀ on the test model —
    ``correction`` 0 is SME-1, ¼ SME-2 — from Itô's generator 𝓛g = b g′ + ½ηΣ g″ (d E g(X)/dt = E 𝓛g(X)),
    closed on g = x, x², solved by ``dsolve``."""
    drift, diffusion = sme_coefficients(correction)
    M1, M2 = sp.Function("M1"), sp.Function("M2")

    def generator(g):
        return drift * sp.diff(g, _X) + diffusion**2 * sp.diff(g, _X, 2) / 2

    rate1 = _moments_of(generator(_X), (M1(TIME), M2(TIME)))
    mean = sp.dsolve(sp.Eq(M1(TIME).diff(TIME), rate1), M1(TIME), ics={M1(0): START}).rhs
    rate2 = _moments_of(generator(_X**2), (mean, M2(TIME)))
    square = sp.dsolve(sp.Eq(M2(TIME).diff(TIME), rate2), M2(TIME), ics={M2(0): START**2}).rhs
    return sp.simplify(mean), sp.simplify(square)


@functools.cache
def weak_error_order(correction: sp.Expr, moment: int, *, terms: int = 4) -> tuple[int | None, sp.Expr]:
    """(p, c): E x_k^j − E X_{kη}^j (j = ``moment``, 1 or 2) at kη = T is c η^p + O(η^{p+1}), the series in η of the
    closed forms at fixed T; (None, 0) if no term below η^``terms`` survives.  Under :data:`SERIES_TIME_LIMIT`
    (raises :class:`~dyncheck.theory.timelimit.SymbolicTimeout` past it).  The three are cached per process
    (SymPy expressions are immutable)."""
    sgd_side = sgd_moments()[moment - 1].subs(_STEP, TIME / STEP_SIZE)
    sme_side = sme_moments(correction)[moment - 1]
    with time_limit(SERIES_TIME_LIMIT):
        series = sp.series(sgd_side - sme_side, STEP_SIZE, 0, terms).removeO()
        for power in range(terms):
            coefficient = sp.simplify(series.coeff(STEP_SIZE, power))
            if coefficient != 0:
                return power, coefficient
    return None, sp.S.Zero


# ---------------------------------------------------------------------------
# Optimal learning-rate schedules (Li, Tai & E 2017, 2019)


@dataclass(frozen=True)
class OptimalSchedule:
    """The schedule minimising m(T) for ṁ = −2aνm + ν²ηΣ, ν ∈ [0, 1], m(0) = x₀² (symbols of
    :mod:`~dyncheck.theory.symbols`; ηΣ is η·σ_a²): ``feedback`` ν*(m) = am/(ηΣ) minimises the Hamiltonian where it
    is ≤ 1, so the rate is full (ν = 1) until m reaches ``switching_moment`` ηΣ/a at ``switching_time`` t_s, then
    ``annealing`` ν(t); ``terminal`` is m(T) for T ≥ t_s.  From x₀² ≤ ηΣ/a the feedback is interior at once, and
    the same ν(t) holds with the switching time ``early_switching_time`` ≤ 0, in the past."""

    hamiltonian: sp.Expr
    feedback: sp.Expr
    switching_moment: sp.Expr
    switching_time: sp.Expr
    annealing: sp.Expr
    annealing_moment: sp.Expr
    terminal: sp.Expr
    early_switching_time: sp.Expr


#: Schedules users reach for, as (switching time, ν(t) after it; the full rate before): the constant rate and two
#: decays from t = 0.
COMMON_SCHEDULES = {"constant": (sp.oo, sp.S.One), "1/(1 + at)": (sp.S.Zero, 1 / (1 + CURVATURE * TIME)), "1/√(1 + t)": (sp.S.Zero, 1 / sp.sqrt(1 + TIME))}


def _noise_scale() -> sp.Expr:
    return STEP_SIZE * ADDITIVE_NOISE


def schedule_moment_rate(schedule: sp.Expr = SCHEDULE, moment: sp.Expr = SECOND_MOMENT) -> sp.Expr:
    """ṁ = −2aνm + ν²ηΣ: the second moment of the SME of ½ax² (gradient-noise variance Σ = σ_a²) under the
    schedule ν multiplying η — the quadratic case of :func:`sme_moments` with the step ην."""
    return -2 * CURVATURE * schedule * moment + schedule**2 * _noise_scale()


@functools.cache
def constant_schedule_step() -> sp.Expr:
    """m(t + h) from m(t) = m under a constant ν over a time h (symbol :data:`SDE_STEP`), by ``dsolve`` of
    :func:`schedule_moment_rate`: e^{−2aνh}m + (νηΣ/2a)(1 − e^{−2aνh}) — a piece of a piecewise-constant schedule."""
    moment = sp.Function("m")
    solution = sp.dsolve(sp.Eq(moment(TIME).diff(TIME), schedule_moment_rate(SCHEDULE, moment(TIME))), moment(TIME), ics={moment(0): SECOND_MOMENT}).rhs
    return sp.simplify(solution.subs(TIME, SDE_STEP))


@functools.cache
def optimal_schedule() -> OptimalSchedule:
    """Derived by Pontryagin's principle: H = p ṁ with p(T) = 1 and ṗ = −∂H/∂m = 2aνp > 0, so ν minimises ṁ itself, a
    convex quadratic in ν: ν* = am/(ηΣ) (``solve`` of ∂H/∂ν = 0), clipped to 1.  With ν = 1, m falls from x₀² along
    ``dsolve``'s solution until it reaches ηΣ/a (where ν* = 1) at t_s (``solve``); after, the closed loop
    ṁ = −2aν*m + ν*²ηΣ is ``dsolve``d from m(t_s) = ηΣ/a and ν(t) = ν*(m(t)).  From x₀² ≤ ηΣ/a the closed loop runs
    from m(0) = x₀², and t_s ≤ 0 is solved from ν(0) = ν*(x₀²)."""
    a, m, t = CURVATURE, SECOND_MOMENT, TIME
    costate = sp.Symbol("p_m", positive=True)
    hamiltonian = costate * schedule_moment_rate(SCHEDULE, m)
    (feedback,) = sp.solve(sp.diff(hamiltonian, SCHEDULE), SCHEDULE)
    (switching_moment,) = sp.solve(sp.Eq(feedback, 1), m)
    moment = sp.Function("m")
    full_rate = sp.dsolve(sp.Eq(moment(t).diff(t), schedule_moment_rate(1, moment(t))), moment(t), ics={moment(0): START**2}).rhs
    decay = sp.Symbol("E", positive=True)  # e^{−2at}: m(t) is affine in it, so t_s is one logarithm
    (reached,) = sp.solve(sp.Eq(full_rate.subs(sp.exp(-2 * a * t), decay), switching_moment), decay)
    switching_time = sp.log(sp.factor(1 / reached)) / (2 * a)
    closed = sp.dsolve(sp.Eq(moment(t).diff(t), schedule_moment_rate(feedback.subs(m, moment(t)), moment(t))), moment(t), ics={moment(SWITCHING_TIME): switching_moment}).rhs
    annealing = sp.simplify(feedback.subs(m, closed))
    (early,) = sp.solve(sp.Eq(annealing.subs(t, 0), feedback.subs(m, START**2)), SWITCHING_TIME)
    return OptimalSchedule(hamiltonian, feedback, switching_moment, switching_time, annealing, sp.simplify(closed), sp.simplify(closed.subs(t, HORIZON)), sp.simplify(early))


def schedule_hjb_residuals() -> list[sp.Expr]:
    """Residuals that vanish iff the feedback ν = min(1, am/(ηΣ)) is optimal (the verification theorem): its value
    V(t, m) — the m(T) it reaches from m at t — solves V_t + min_ν V_m ṁ = 0 with V(T, m) = m, region by region,
    and is C¹ across the switching curve m = ηΣ/a.

    * below the curve (annealing to the end): V = 1/(1/m + a²(T − t)/(ηΣ)); V_m > 0, so the Hamiltonian's
      minimiser over ν is am/(ηΣ), the feedback;
    * above it, reaching the curve at t + τ(m) ≤ T, τ(m) = log((2am − ηΣ)/(ηΣ))/(2a): V = (ηΣ/a)/(1 + a(T − t − τ));
    * above it, not reaching the curve: V = ηΣ/(2a) + (m − ηΣ/(2a))e^{−2a(T − t)};
    above the curve the unclipped minimiser am/(ηΣ) exceeds 1, so ν = 1 (the Hamiltonian is convex in ν)."""
    a, m, t, scale = CURVATURE, SECOND_MOMENT, TIME, _noise_scale()
    below = 1 / (1 / m + a**2 * (HORIZON - t) / scale)
    reach = sp.log((2 * a * m - scale) / scale) / (2 * a)
    above = (scale / a) / (1 + a * (HORIZON - t - reach))
    short = scale / (2 * a) + (m - scale / (2 * a)) * sp.exp(-2 * a * (HORIZON - t))
    schedule = optimal_schedule()

    def hjb(value, control):
        return sp.simplify(sp.diff(value, t) + sp.diff(value, m) * schedule_moment_rate(control, m))

    boundary = {m: scale / a}
    return [
        hjb(below, schedule.feedback),
        sp.simplify(below.subs(t, HORIZON) - m),
        hjb(above, 1),
        hjb(short, 1),
        sp.simplify(short.subs(t, HORIZON) - m),
        sp.simplify((below - above).subs(boundary)),
        sp.simplify((sp.diff(below, m) - sp.diff(above, m)).subs(boundary)),
    ]
