r"""Kuramoto populations: the Ott–Antonsen reduction, the self-consistency equation, critical couplings.

Model (Kuramoto 1975; Strogatz 2000), all-to-all with the 1/N normalisation:

.. math::  \dot\theta_i = \omega_i + \frac KN \sum_j \sin(\theta_j - \theta_i)
           = \omega_i + K r \sin(\psi - \theta_i), \qquad r e^{i\psi} = \frac1N \sum_j e^{i\theta_j},

with natural frequencies ω_i drawn from a symmetric unimodal density g.

* Ott–Antonsen (2008): for the Lorentzian g(ω) = (γ/π)/(ω² + γ²) the order
  parameter obeys ṙ = (K/2 − γ) r − (K/2) r³ on the OA manifold;
  :func:`ott_antonsen_solution` is its closed-form solution (a Bernoulli
  equation, linear in u = r⁻²), r(t) = r∞ / √(1 + (r∞²/r₀² − 1) e^{−(K − 2γ) t})
  with r∞ = √(1 − 2γ/K) for K > 2γ.
* Self-consistency of the locked and drifting oscillators (Kuramoto 1975):
  r = K r ∫_{−π/2}^{π/2} cos²θ g(K r sin θ) dθ (:func:`self_consistency`).  Its
  slope in r at r = 0 is K g(0) π/2, so the incoherent state loses stability at
  K_c = 2/(π g(0)) (:func:`critical_coupling`): 2γ for the Lorentzian,
  σ√(8/π) for a Gaussian of standard deviation σ.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "GAMMA",
    "OMEGA",
    "R0",
    "SIGMA",
    "K",
    "R",
    "T",
    "critical_coupling",
    "gaussian",
    "lorentzian",
    "ott_antonsen_rate",
    "ott_antonsen_solution",
    "self_consistency",
]

K, GAMMA, SIGMA = sp.symbols("K gamma sigma", positive=True)
R, R0, T = sp.symbols("r r_0 t", positive=True)
OMEGA, THETA = sp.symbols("omega theta", real=True)


def lorentzian(width: sp.Expr = GAMMA) -> sp.Expr:
    """g(ω) = (γ/π)/(ω² + γ²), centred at 0, half-width γ."""
    return width / sp.pi / (OMEGA**2 + width**2)


def gaussian(deviation: sp.Expr = SIGMA) -> sp.Expr:
    """g(ω) = e^{−ω²/2σ²}/(σ√(2π))."""
    return sp.exp(-(OMEGA**2) / (2 * deviation**2)) / (deviation * sp.sqrt(2 * sp.pi))


def ott_antonsen_rate(width: sp.Expr = GAMMA) -> sp.Expr:
    """ṙ on the Ott–Antonsen manifold for the Lorentzian of half-width γ: (K/2 − γ) r − (K/2) r³."""
    return (K / 2 - width) * R - K / 2 * R**3


def ott_antonsen_solution(width: sp.Expr = GAMMA) -> sp.Expr:
    """r(t) from r(0) = r₀ > 0, for K > 2γ."""
    r_inf2 = 1 - 2 * width / K
    return sp.sqrt(r_inf2) / sp.sqrt(1 + (r_inf2 / R0**2 - 1) * sp.exp(-(K - 2 * width) * T))


def self_consistency(g: sp.Expr) -> sp.Expr:
    """K r ∫_{−π/2}^{π/2} cos²θ g(K r sin θ) dθ, unevaluated: a steady state's r equals it."""
    return K * R * sp.Integral(sp.cos(THETA) ** 2 * g.subs(OMEGA, K * R * sp.sin(THETA)), (THETA, -sp.pi / 2, sp.pi / 2))


def critical_coupling(g: sp.Expr) -> sp.Expr:
    """K_c = 2/(π g(0)), derived: the coupling at which the self-consistency's slope at r = 0 reaches 1."""
    slope = sp.simplify(sp.diff(self_consistency(g), R).subs(R, 0).doit())
    (root,) = sp.solve(sp.Eq(slope, 1), K)
    return sp.simplify(root)
