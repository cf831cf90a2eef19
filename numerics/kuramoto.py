r"""Simulation of Kuramoto populations (the model and conventions of :mod:`theory.kuramoto`).

All-to-all coupling costs O(N) a step through the order parameter,
θ̇_i = ω_i + K Im(z e^{−iθ_i}) with z = (1/N) Σ_j e^{iθ_j}, integrated by the
classical fourth-order Runge–Kutta method with a fixed step.  Frequencies can
be deterministic quantiles of g (ω_i = G⁻¹((i + ½)/N)), which removes the
sampling noise of the frequencies and leaves only the finite-N fluctuations.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

__all__ = ["lorentzian_quantiles", "gaussian_quantiles", "simulate_all_to_all"]


def _levels(n: int) -> np.ndarray:
    if n < 2:
        raise ValueError("a population needs at least 2 oscillators")
    return (np.arange(n) + 0.5) / n


def lorentzian_quantiles(n: int, width: float) -> np.ndarray:
    """ω_i = γ tan(π(u_i − ½)), u_i = (i + ½)/N: the quantiles of the Lorentzian of half-width γ."""
    return width * np.tan(np.pi * (_levels(n) - 0.5))


def gaussian_quantiles(n: int, deviation: float) -> np.ndarray:
    """ω_i = σ Φ⁻¹(u_i): the quantiles of the Gaussian of standard deviation σ."""
    return deviation * ndtri(_levels(n))


def simulate_all_to_all(omega: np.ndarray, coupling: float, t_end: float, step: float, *, theta0=None, seed: int = 0):
    """Times and |z(t)| for θ̇ = ω + K Im(z e^{−iθ}), by RK4 with ``step``; phases uniform at random by default."""
    if coupling < 0:
        raise ValueError("the coupling K must be non-negative")
    if not (step > 0 and t_end > 0):
        raise ValueError("the step and the final time must be positive")
    theta = np.random.default_rng(seed).uniform(0, 2 * np.pi, omega.size) if theta0 is None else np.array(theta0, float)

    def velocity(phases):
        z = np.exp(1j * phases).mean()
        return omega + coupling * np.imag(z * np.exp(-1j * phases))

    steps = int(round(t_end / step))
    r = np.empty(steps + 1)
    r[0] = abs(np.exp(1j * theta).mean())
    for k in range(steps):
        k1 = velocity(theta)
        k2 = velocity(theta + step / 2 * k1)
        k3 = velocity(theta + step / 2 * k2)
        k4 = velocity(theta + step * k3)
        theta = theta + step / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        r[k + 1] = abs(np.exp(1j * theta).mean())
    return np.linspace(0.0, steps * step, steps + 1), r
