r"""Two-layer networks of circle features trained by gradient descent, beside their Kuramoto form
(the theory: :mod:`dyncheck.theory.meanfield_training`).

* :func:`network_velocity` — the network's own gradient flow θ̇_i = −Nξ ∇_{θ_i} R_N = −2ξ E_x[(y − ŷ(x)) φ′(x − θ_i)], with the expectation over x ~ U[0, 2π) taken by the uniform rule on M points, which is
  exact for trigonometric polynomials of degree < M: no formula of the theory enters it (numpy, or torch
  with the gradient by autograd: :func:`autograd_velocity`).
* :func:`kuramoto_velocity` — θ̇_i = (K/N) Σ_j Γ(θ_j − θ_i) − K_p Γ(θ_i − θ*) with Γ = −C′ from the theory's
  derivation, K = −2ξ, K_p = 2ξc; through Daido's order parameters Z_k = (1/N)Σ_j e^{ikθ_j} (O(N) a harmonic)
  when Γ is a sine polynomial, pairwise otherwise.
* :func:`train` — either velocity integrated by the core's RK4 (:func:`~dyncheck.numerics.solvers.fixed_step`)
  from angles drawn uniformly; the order parameter r e^{iψ} = (1/N) Σ e^{iθ_j} along the way.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.codegen import generate
from dyncheck.numerics.solvers import fixed_step
from dyncheck.theory.meanfield_training import KURAMOTO_COUPLING, PINNING_STRENGTH, CircleModel, linear_in_harmonics
from dyncheck.theory.symbols import DELTA_ANGLE, LEARNING_RATE_SCALE, TEACHER_SCALE, U

__all__ = ["CircleTraining", "autograd_velocity", "kuramoto_velocity", "network_velocity", "quadrature_points", "train"]


@functools.lru_cache(maxsize=64)
def quadrature_points(model: CircleModel) -> int:
    """M for the uniform rule: above twice the degree of φ (the integrand (y − ŷ)φ′ has at most that degree)."""
    degree = 0
    for term in linear_in_harmonics(model.phi).atoms(sp.sin, sp.cos):  # a sum of sin(ku), cos(ku)
        degree = max(degree, abs(int(sp.Poly(term.args[0], U).coeff_monomial(U))))
    return 4 * max(degree, 1) + 1


@functools.lru_cache(maxsize=64)
def _compiled_feature(model: CircleModel, backend: str):
    """φ and φ′ compiled by the core's code generator for ``backend`` (numpy or torch)."""
    return generate(model.phi, [U], backend), generate(sp.diff(model.phi, U), [U], backend)


def network_velocity(model: CircleModel, theta: np.ndarray, teacher_scale: float, teacher_angle: float, xi: float = 1.0) -> np.ndarray:
    """−Nξ ∇_{θ_i} R_N of the network ŷ(x) = (1/N)Σφ(x − θ_i) against y = cφ(x − θ*), by the uniform rule in x."""
    phi, slope = _compiled_feature(model, "numpy")
    m = quadrature_points(model)
    x = 2 * np.pi * np.arange(m) / m
    residual = teacher_scale * phi(x - teacher_angle) - phi(x[None, :] - theta[..., :, None]).mean(axis=-2)
    # ∂ŷ/∂θ_i = −φ′(x − θ_i)/N, so −Nξ ∂R_N/∂θ_i = −Nξ E[2(ŷ − y)(−φ′/N)] = −2ξ E[(y − ŷ) φ′(x − θ_i)]
    return -2 * xi * (residual[..., None, :] * slope(x[None, :] - theta[..., :, None])).mean(axis=-1)


def autograd_velocity(model: CircleModel, theta, teacher_scale: float, teacher_angle: float, xi: float = 1.0):
    """The same velocity with R_N built in torch and differentiated by autograd (float64, any device)."""
    import torch

    phi, _ = _compiled_feature(model, "torch")
    m = quadrature_points(model)
    theta = theta.detach().clone().requires_grad_()
    x = 2 * math.pi * torch.arange(m, dtype=theta.dtype, device=theta.device) / m
    prediction = phi(x[None, :] - theta[..., :, None]).mean(dim=-2)
    risk = ((teacher_scale * phi(x - teacher_angle) - prediction) ** 2).mean(dim=-1).sum()
    (gradient,) = torch.autograd.grad(risk, theta)
    return -theta.shape[-1] * xi * gradient


@functools.lru_cache(maxsize=64)
def _constants(xi: float, teacher_scale: float) -> tuple[float, float]:
    """The theory's K and K_p at ξ and c, as numbers (once a pair, not at every step)."""
    values = {LEARNING_RATE_SCALE: xi, TEACHER_SCALE: teacher_scale}
    return float(KURAMOTO_COUPLING.subs(values)), float(PINNING_STRENGTH.subs(values))


@functools.lru_cache(maxsize=64)
def _compiled_coupling(model: CircleModel, backend: str):
    """Γ compiled by the core's code generator for ``backend`` (numpy or torch)."""
    return generate(model.coupling_function, [DELTA_ANGLE], backend)


def kuramoto_velocity(model: CircleModel, theta, teacher_scale: float, teacher_angle: float, xi: float = 1.0, coupling_constant: float | None = None):
    """(K/N) Σ_j Γ(θ_j − θ_i) − K_p Γ(θ_i − θ*), K and K_p the theory's (K = −2ξ unless ``coupling_constant``
    is given, K_p = 2ξc), Γ = −C′ from the theory (numpy or torch)."""
    coupling = _compiled_coupling(model, "numpy" if isinstance(theta, np.ndarray) else "torch")
    k, pinning = _constants(float(xi), float(teacher_scale))
    k = k if coupling_constant is None else coupling_constant
    if model.harmonics:
        # Daido's order parameters Z_k = (1/N)Σ_j e^{ikθ_j}: (1/N)Σ_j sin k(θ_j − θ_i) = Im(Z_k e^{−ikθ_i}), O(N) a harmonic
        interaction = 0
        for harmonic, weight in model.harmonics:
            cos, sin = _cos_sin(harmonic * theta)
            interaction = interaction + float(weight) * (sin.mean(axis=-1, keepdims=True) * cos - cos.mean(axis=-1, keepdims=True) * sin)
    else:
        interaction = coupling(theta[..., None, :] - theta[..., :, None]).mean(axis=-1)  # [i, j] = θ_j − θ_i
    return k * interaction - pinning * coupling(theta - teacher_angle)


def _cos_sin(angles):
    if isinstance(angles, np.ndarray):
        return np.cos(angles), np.sin(angles)
    import torch

    return torch.cos(angles), torch.sin(angles)


@dataclass(frozen=True)
class CircleTraining:
    """Angles θ_i(t) on the output grid and the order parameter r(t) e^{iψ(t)}."""

    times: np.ndarray
    angles: np.ndarray  # (times, …, N)

    @property
    def order(self) -> np.ndarray:
        return np.abs(np.exp(1j * self.angles).mean(axis=-1))

    @property
    def phase(self) -> np.ndarray:
        return np.angle(np.exp(1j * self.angles).mean(axis=-1))


def train(model: CircleModel, particles: int, teacher_scale: float, *, teacher_angle: float = 0.0, time: float = 20.0, step: float = 0.01, xi: float = 1.0, velocity: str = "network", seed: int = 0, replicates: int = 1, samples: int = 101) -> CircleTraining:
    """Gradient flow of ``replicates`` networks of ``particles`` features from angles uniform on the circle, by RK4;
    ``velocity`` is "network" (:func:`network_velocity`) or "kuramoto" (:func:`kuramoto_velocity`)."""
    field = {"network": network_velocity, "kuramoto": kuramoto_velocity}[velocity]
    theta0 = np.random.default_rng(seed).uniform(0, 2 * np.pi, (replicates, particles))
    steps = int(round(time / step))
    every = max(1, steps // (samples - 1))
    kept_times, kept = [], []

    def observe(k, theta, aux):
        if k % every == 0 or k == steps:
            kept_times.append(k * step)
            kept.append(np.array(theta))

    fixed_step(lambda theta: (field(model, theta, teacher_scale, teacher_angle, xi), None), theta0, step, steps, observe=observe)
    return CircleTraining(np.array(kept_times), np.array(kept))
