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
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import sympy as sp

from dyncheck.theory.symbols import BATCH_SIZE, NON_UNIFORMITY, SAMPLE_COUNT, SHARPNESS, STEP_SIZE

__all__ = [
    "WITHOUT_REPLACEMENT",
    "batch_means",
    "commuting_lyapunov_exponent",
    "lyapunov_exponent",
    "lyapunov_sign",
    "mean_square_factor",
    "mean_square_identity_gap",
    "mean_square_necessary_bounds",
    "second_moment_by_inclusion",
    "second_moment_factor",
]

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

