r"""Infinite-width kernels of fully-connected networks: the NNGP and the NTK, NTK parameterisation.

Conventions — those of neural-tangents'
``stax.serial(Dense(n, W_std=σ_w, b_std=σ_b), φ, …, Dense(n, …), φ, Dense(1, W_std=σ_w, b_std=σ_b))``
with ``parameterization='ntk'`` (Jacot, Gabriel & Hongler 2018; Lee et al. 2019):
weights and biases are N(0, 1) and

.. math::  z^1 = \frac{\sigma_w}{\sqrt d} W^1 x + \sigma_b b^1, \qquad
           z^{l+1} = \frac{\sigma_w}{\sqrt{n}} W^{l+1} \varphi(z^l) + \sigma_b b^{l+1}.

As every width n → ∞ the outputs are Gaussian with covariance (NNGP) K and the
gradient inner product ⟨∂f(x)/∂θ, ∂f(x')/∂θ⟩ tends to the NTK Θ:

.. math::  K^1 = \sigma_w^2\, x\cdot x'/d + \sigma_b^2, \qquad
           K^{l+1} = \sigma_w^2\, T(\Sigma^l) + \sigma_b^2, \qquad
           \Theta^1 = K^1, \qquad
           \Theta^{l+1} = K^{l+1} + \sigma_w^2\, \dot T(\Sigma^l)\, \Theta^l,

with Σ^l = [[K^l(x, x), K^l(x, x')], [K^l(x, x'), K^l(x', x')]] and the layer maps
T(Σ) = E[φ(u)φ(v)], Ṫ(Σ) = E[φ′(u)φ′(v)] for (u, v) ~ N(0, Σ).  A network of
``depth`` L has L nonlinearities; its output is K^{L+1}, Θ^{L+1}.

:func:`layer_maps` derives T and Ṫ with the Gaussian engine
(:func:`theory.gaussian.expect`), through u = √q₁ U, v = √q₂ V with
corr(U, V) = ρ = k/√(q₁q₂): closed forms where it finds them (relu and its
two-slope family, erf, gelu, monomials, steps, sin/cos, the Gaussian bump, …), an
unevaluated expectation otherwise (tanh, sigmoid, softplus, …).

On the diagonal the NNGP map is the mean-field q-map (Poole et al. 2016):
σ_w² T(q, q, 1) + σ_b² = σ_w² E[φ(√q z)²] + σ_b² (:func:`diagonal_map`), and the
NTK's gain per layer is χ₁: σ_w² Ṫ(q, q, 1) = σ_w² E[φ′(√q z)²]
(:func:`diagonal_gain`).  For an input at the variance fixed point q* the NTK
recursion on the diagonal is therefore Θ^{l+1} = q* + χ₁ Θ^l, Θ^1 = q*, solved by

.. math::  \Theta^{L+1}(x, x) = q^* \frac{1 - \chi_1^{L+1}}{1 - \chi_1}
           \quad (\chi_1 \ne 1;\ q^*(L + 1) \text{ at } \chi_1 = 1)

(:func:`ntk_diagonal`, derived by :func:`ntk_diagonal_by_recurrence`): the NTK
converges to q*/(1 − χ₁) with depth in the ordered phase, grows linearly on the
edge of chaos and like χ₁^L in the chaotic phase (Hayou, Doucet & Rousseau
2019, *Mean-field behaviour of neural tangent kernel for deep neural networks*;
Xiao, Pennington & Schoenholz 2020, *Disentangling trainability and
generalization in deep neural networks*).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from dyncheck.theory.activations import derivative
from dyncheck.theory.gaussian import Derivation, expect
from dyncheck.theory.meanfield import mean_field
from dyncheck.theory.symbols import CHI_1, DEPTH, Q, Q1, Q2, Q_STAR, RHO, SIGMA_B2, SIGMA_W2, U, V, X

__all__ = [
    "DERIVATIVE_CONVENTIONS",
    "FORMULAS",
    "INNER_PRODUCT",
    "LAYER_MAP",
    "NNGP",
    "NNGP_NEXT",
    "NTK",
    "SLOPE_MAP",
    "LayerMaps",
    "diagonal_gain",
    "diagonal_map",
    "layer_maps",
    "ntk_diagonal",
    "ntk_diagonal_by_recurrence",
]


#: Seconds allowed to each expectation; the unevaluated form is kept when it runs out.
TIME_LIMIT_S = 10.0

#: One entry of the kernels at a layer: K^l(x, x′), Θ^l(x, x′), K^{l+1}(x, x′); the values
#: T(Σ^l) and Ṫ(Σ^l) of the layer maps there; and x·x′/d for the first layer.
NNGP, NTK, NNGP_NEXT = sp.symbols("K Theta K_next", real=True)
LAYER_MAP, SLOPE_MAP = sp.symbols("T Tdot", real=True)
INNER_PRODUCT = sp.Symbol("s", real=True)

#: The NNGP and NTK recursion of a fully-connected network (NTK parameterisation; Neal 1996,
#: Lee et al. 2018, Jacot et al. 2018), entry by entry, written once:
#: ``input_nngp`` K¹ = σ_w² x·x′/d + σ_b² (Θ¹ = K¹); ``nngp_step`` K^{l+1} = σ_w² T(Σ^l) + σ_b²;
#: ``ntk_step`` Θ^{l+1} = K^{l+1} + σ_w² Ṫ(Σ^l) Θ^l.
FORMULAS = {
    "input_nngp": SIGMA_W2 * INNER_PRODUCT + SIGMA_B2,
    "nngp_step": SIGMA_W2 * LAYER_MAP + SIGMA_B2,
    "ntk_step": NNGP_NEXT + SIGMA_W2 * SLOPE_MAP * NTK,
}


@dataclass(frozen=True)
class LayerMaps:
    """T = E[φ(u)φ(v)] and Ṫ = E[φ′(u)φ′(v)] as expressions in (q₁, q₂, ρ), with their derivations."""

    phi: sp.Expr
    nngp: Derivation
    ntk: Derivation
    derivative_convention: str = "distributional"

    @property
    def closed(self) -> bool:
        """Whether both maps are in closed form."""
        return self.nngp.closed and self.ntk.closed

    def values(self) -> tuple[sp.Expr, sp.Expr]:
        """(T, Ṫ) as expressions in Q1, Q2 and RHO."""
        return self.nngp.value, self.ntk.value


def _pair(f: sp.Expr) -> sp.Expr:
    return f.subs(X, sp.sqrt(Q1) * U) * f.subs(X, sp.sqrt(Q2) * V)


#: How φ′ is taken in Ṫ: ``distributional`` — with the Dirac deltas of φ's jumps (sign: φ′ = 2δ, and Θ(x, x) = +∞,
#: literally); ``almost-everywhere`` — the deltas dropped (φ′ = 0 for sign and step), neural-tangents' convention.
DERIVATIVE_CONVENTIONS = ("distributional", "almost-everywhere")


@functools.lru_cache(maxsize=64)
def layer_maps(phi: sp.Expr, *, time_limit_s: float = TIME_LIMIT_S, derivative_convention: str = "distributional") -> LayerMaps:
    """Derive T and Ṫ of activation ``phi`` (an expression in :data:`theory.activations.X`), φ′ taken by
    ``derivative_convention`` (:data:`DERIVATIVE_CONVENTIONS`); once per process."""
    if derivative_convention not in DERIVATIVE_CONVENTIONS:
        raise ValueError(f"unknown derivative convention {derivative_convention!r}; known: {DERIVATIVE_CONVENTIONS}")
    slope = derivative(phi)
    if derivative_convention == "almost-everywhere":
        slope = slope.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    nngp = expect(_pair(phi), (U, V), RHO, time_limit_s=time_limit_s)
    ntk = expect(_pair(slope), (U, V), RHO, time_limit_s=time_limit_s)
    return LayerMaps(phi, nngp, ntk, derivative_convention)


def _on_diagonal(derivation: Derivation) -> sp.Expr:
    return derivation.value.subs({Q1: Q, Q2: Q}).subs(RHO, 1)


def diagonal_map(maps: LayerMaps) -> tuple[sp.Expr, sp.Expr]:
    """(σ_w² T(q, q, ρ = 1) + σ_b², the q-map of :mod:`dyncheck.theory.meanfield`): the NNGP map on the
    diagonal and the mean-field q-map."""
    on_diagonal = FORMULAS["nngp_step"].subs(LAYER_MAP, _on_diagonal(maps.nngp))
    return on_diagonal, mean_field(maps.phi).q_map


def diagonal_gain(maps: LayerMaps) -> tuple[sp.Expr, sp.Expr]:
    """(σ_w² Ṫ(q, q, ρ = 1), χ₁ of :mod:`dyncheck.theory.meanfield`): the NTK's gain per layer on the
    diagonal (the coefficient of Θ^l in ``ntk_step``) and the mean-field χ₁."""
    on_diagonal = FORMULAS["ntk_step"].subs(SLOPE_MAP, _on_diagonal(maps.ntk)).coeff(NTK)
    return on_diagonal, mean_field(maps.phi).chi_1


def ntk_diagonal(q_star, chi_1, depth):
    """Θ^{L+1}(x, x) = q*(1 − χ₁^{L+1})/(1 − χ₁) for an input with K^1(x, x) = q* and ``depth`` = L
    nonlinearities (χ₁ ≠ 1; sympy expressions or numpy arrays)."""
    return q_star * (1 - chi_1 ** (depth + 1)) / (1 - chi_1)


def ntk_diagonal_by_recurrence(chi_1: sp.Expr = CHI_1) -> sp.Expr:
    """Θ^{L+1} in (Q_STAR, ``chi_1``, DEPTH) from Θ^{l+1} = q* + χ₁Θ^l, Θ^1 = q*, solved by sympy.rsolve."""
    n, theta = sp.Symbol("n", integer=True, nonnegative=True), sp.Function("Theta")
    solution = sp.rsolve(theta(n + 1) - chi_1 * theta(n) - Q_STAR, theta(n), {theta(0): Q_STAR})
    if solution is None:
        raise ValueError(f"rsolve found no solution of the diagonal NTK recurrence at χ₁ = {chi_1}")
    return solution.subs(n, DEPTH)
