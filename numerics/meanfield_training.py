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

Gaussian inputs (:class:`~dyncheck.theory.meanfield_training.TwoLayerModel`, Mei, Montanari & Nguyen 2018):

* :func:`two_layer_risk` — R = R_# + 2Σ_iβ_iV(w_i) + Σ_{ij}β_iβ_jU(w_i, w_j) for weighted particles (β_i = 1/N: the
  network's risk R_N; quadrature weights: the risk R(ρ) of the measure they represent), V and U compiled from the
  closed forms.
* :func:`distributional_dynamics` — the PDE ∂_tρ = cξ∇·(ρ∇Ψ), Ψ = V + ∫U dρ (c = 2), solved by its characteristics
  ẇ = −cξ∇Ψ(w; ρ_t) from the Gauss–Hermite nodes of ρ_0 = N(0, s²I_d), with their weights: the push-forward of a
  quadrature rule of ρ_0 is one of ρ_t, so ∫f dρ_t is integrated with the rule's accuracy on f∘Φ_t (spectral in
  the nodes for smooth flows; the error is measured against a rule with more nodes).
* :func:`particle_sgd` — the real network trained by one-sample SGD on fresh Gaussian inputs, w_i ← w_i +
  2s(y − ŷ)σ′(⟨w_i, x⟩)x/(αN), s = εξ, in the mean-field (α = 1/N) or the NTK (α = 1/√N) scaling — the network's own
  gradient: no closed form of the theory enters it (only the exact risk it is scored by).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.codegen import generate
from dyncheck.numerics.gaussian import normal_rule
from dyncheck.numerics.solvers import fixed_step
from dyncheck.numerics.sweep import sweep, task_seeds
from dyncheck.theory.errors import UsageError
from dyncheck.theory.meanfield_training import KURAMOTO_COUPLING, PINNING_STRENGTH, CircleModel, TwoLayerModel, linear_in_harmonics
from dyncheck.theory.symbols import DELTA_ANGLE, LEARNING_RATE_SCALE, TEACHER_SCALE, U, Z

__all__ = [
    "INITIALISATIONS",
    "CircleTraining",
    "Diverged",
    "SCALINGS",
    "TwoLayerDynamics",
    "autograd_velocity",
    "cone_optimum",
    "distributional_dynamics",
    "kuramoto_velocity",
    "mean_field_velocity",
    "network_velocity",
    "particle_sgd",
    "particle_sgd_ensemble",
    "plot_two_layer",
    "quadrature_points",
    "relu_teacher_problem",
    "train",
    "train_relu_network",
    "two_layer_risk",
]


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


# -------------------------------------------------------------------------------- Gaussian inputs

#: The output scale α of ŷ = αΣσ(⟨w_i, x⟩) by name, as a function of N.
SCALINGS = {"mean-field": lambda n: 1.0 / n, "ntk": lambda n: 1.0 / math.sqrt(n)}


@functools.lru_cache(maxsize=16)
def _compiled_two_layer(model: TwoLayerModel):
    """σ, σ′, U, ∇₁U, V and ∇V of ``model`` compiled by the core's code generator (numpy), each taking the
    components of w (and w′) as separate broadcasting arrays; a gradient returns a tuple of d components."""
    w, wp = list(model.first), list(model.second)
    return {
        "U": generate(model.U, w + wp),
        "grad_U": generate(sp.Tuple(*[sp.diff(model.U, c) for c in w]), w + wp),
        "V": generate(model.V, w),
        "grad_V": generate(sp.Tuple(*[sp.diff(model.V, c) for c in w]), w),
    }


def _components(particles: np.ndarray) -> list[np.ndarray]:
    return [particles[..., k] for k in range(particles.shape[-1])]


#: Pair evaluations of U held at once by :func:`two_layer_risk` (32 MiB of float64).
_PAIR_BLOCK = 1 << 22


def two_layer_risk(model: TwoLayerModel, particles: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """R_# + 2Σβ_iV(w_i) + Σβ_iβ_jU(w_i, w_j) for ``particles`` (…, N, d) with ``weights`` β (N; default 1/N), one
    value per leading index: the exact risk E[(y − Σβ_iσ(⟨w_i, x⟩))²] of the network with output weights β.  O(N²)
    evaluations of U a system, in blocks of rows."""
    f = _compiled_two_layer(model)
    n = particles.shape[-2]
    beta = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, float)
    single = np.broadcast_to(f["V"](*_components(particles)), particles.shape[:-1])
    total = float(model.baseline) + 2 * single @ beta
    rows = max(1, _PAIR_BLOCK // max(1, n * int(np.prod(particles.shape[:-2]))))  # U on row blocks: bounded memory
    for start in range(0, n, rows):
        block = particles[..., start : start + rows, None, :]
        pairs = np.broadcast_to(f["U"](*_components(block), *_components(particles[..., None, :, :])), block.shape[:-2] + (n,))
        total = total + np.einsum("...ij,i,j->...", pairs, beta[start : start + rows], beta)
    return total


def mean_field_velocity(model: TwoLayerModel, particles: np.ndarray, weights: np.ndarray | None = None, *, xi: float = 1.0, coefficient: float = 2.0) -> np.ndarray:
    """ẇ_i = −cξ[∇V(w_i) + Σ_j β_j∇₁U(w_i, w_j)] (c = ``coefficient``; the PDE's is 2): the characteristics of
    ∂_tρ = cξ∇·(ρ∇Ψ) through weighted particles, and the N-particle gradient flow at β_j = 1/N."""
    f = _compiled_two_layer(model)
    n = particles.shape[-2]
    beta = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, float)
    grad_v = f["grad_V"](*_components(particles))
    grad_u = f["grad_U"](*_components(particles[..., :, None, :]), *_components(particles[..., None, :, :]))
    shape = particles.shape[:-1]
    drift = [np.broadcast_to(gv, shape) + np.broadcast_to(gu, shape + (n,)) @ beta for gv, gu in zip(grad_v, grad_u)]
    return -coefficient * xi * np.stack(drift, axis=-1)


@dataclass(frozen=True)
class TwoLayerDynamics:
    """Risk at the output times (times × systems), the particles there (times × systems × N × d) and their weights."""

    times: np.ndarray
    risk: np.ndarray
    particles: np.ndarray
    weights: np.ndarray


def _check_run(time: float, step: float, spread: float) -> int:
    if not (time > 0 and step > 0 and spread > 0):
        raise UsageError("the time, the step and the initial spread must be positive")
    steps = int(round(time / step))
    if steps < 1 or steps > 10_000_000:
        raise UsageError(f"time/step = {time / step:.3g} steps; between 1 and 1e7 are allowed")
    return steps


def distributional_dynamics(model: TwoLayerModel, *, spread: float = 1.0, nodes: int = 48, time: float = 4.0, step: float = 0.02, xi: float = 1.0, coefficient: float = 2.0, samples: int = 41) -> TwoLayerDynamics:
    """ρ_t of ∂_tρ = cξ∇·(ρ∇Ψ) from ρ_0 = N(0, ``spread``² I_d), by RK4 on the characteristics of the tensor
    Gauss–Hermite rule of ``nodes`` points an axis (nodes^d particles, weights fixed), and R(ρ_t) along the way at
    ``samples`` times.  The rule integrates polynomials of degree < 2·nodes against ρ_0 exactly."""
    steps = _check_run(time, step, spread)
    if nodes < 2 or nodes ** model.dimension > 20_000:
        raise UsageError(f"between 2 and {int(20_000 ** (1 / model.dimension))} Gauss–Hermite nodes an axis in d = {model.dimension}")
    points, beta = normal_rule(nodes, model.dimension)
    grid = points * spread
    every = max(1, steps // (samples - 1))
    times, kept, risks = [], [], []

    def observe(k, w, aux):
        if k % every == 0 or k == steps:
            times.append(k * step)
            kept.append(np.array(w)[None])
            risks.append(two_layer_risk(model, w, beta)[None])

    fixed_step(lambda w: (mean_field_velocity(model, w, beta, xi=xi, coefficient=coefficient), None), grid, step, steps, observe=observe)
    return TwoLayerDynamics(np.array(times), _finite_risk(np.array(risks), times, "the distributional dynamics"), np.array(kept), beta)


class Diverged(UsageError):
    """A run's risk left double precision (an activation that grows too fast for the step or the horizon)."""


def _finite_risk(risk: np.ndarray, times, what: str) -> np.ndarray:
    bad = ~np.isfinite(np.reshape(risk, (len(times), -1))).all(axis=1)
    if bad.any():
        raise Diverged(f"{what} diverged: the risk is not finite from t = {times[int(np.argmax(bad))]:.3g} (an activation that grows too fast for this step and horizon)")
    return risk


#: SGD steps whose inputs are drawn at once (from numpy's generator, so that both backends see the same x).
_INPUT_CHUNK = 1024


def _replicate_seeds(seed, replicates: int) -> list[np.random.SeedSequence]:
    if isinstance(seed, (int, np.integer)):
        return np.random.SeedSequence(int(seed)).spawn(replicates)
    seeds = list(seed)
    if len(seeds) != replicates:
        raise ValueError(f"{len(seeds)} seeds for {replicates} replicates")
    return seeds


def particle_sgd(
    model: TwoLayerModel, particles: int, *, replicates: int = 1, spread: float = 1.0, time: float = 4.0, step: float = 1e-3, xi: float = 1.0,
    scaling: str = "mean-field", seed=0, samples: int = 41, backend: str = "numpy", device: str = "cpu", score: bool = True, progress=None,
) -> TwoLayerDynamics:
    """``replicates`` networks ŷ = αΣ_iσ(⟨w_i, x⟩) of ``particles`` neurons, w_i(0) ~ N(0, ``spread``² I_d) i.i.d., trained by
    one-sample SGD with step s = εξ (ε = ``step``; time t = kε) on fresh x ~ N(0, I_d), y the teacher's:
    w_i ← w_i + 2s(y − ŷ)σ′(⟨w_i, x⟩)x/(αN) — MMN's update at α = 1/N, and at α = 1/√N (``scaling`` "ntk") the same
    function-space speed (Δŷ = 2s(y − ŷ)·(1/N)Σσ′²|x|² in both).  The exact risk E[(y − ŷ)²] at ``samples`` times.

    Replicate b draws its initial weights and its inputs from its own :class:`numpy.random.SeedSequence` (``seed``: an
    integer, whose ``spawn(replicates)`` they are, or the sequences themselves), so a network is the same whether it
    runs in a batch or alone (a sweep's task), on numpy or on torch (any device; the draws are numpy's).
    ``score`` False leaves the risk (O(N²) a system and output time) empty."""
    from dyncheck.numerics.backend import ArrayBackend, child_seed

    steps = _check_run(time, step, spread)
    if particles < 1 or replicates < 1:
        raise UsageError("a network needs at least one neuron (N ≥ 1) and one replicate")
    if scaling not in SCALINGS:
        raise UsageError(f"the scaling is one of {', '.join(SCALINGS)}")
    xp = ArrayBackend(backend, device, 0)
    lift = (lambda a: a) if xp.name == "numpy" else (lambda a: xp.torch.as_tensor(a, dtype=xp.torch.float64, device=device))
    sigma = generate(model.activation, [Z], backend)
    slope = generate(sp.diff(model.activation, Z), [Z], backend)
    alpha = SCALINGS[scaling](particles)
    gain = 2 * step * xi / (alpha * particles)
    coefficients = lift(np.array([float(c) for c, _ in model.teacher]))
    teachers = lift(np.array([[float(x) for x in w] for _, w in model.teacher]).T)  # (d, k)
    seeds = _replicate_seeds(seed, replicates)
    starts = [np.random.default_rng(child_seed(q, 0)) for q in seeds]
    streams = [np.random.default_rng(child_seed(q, 1)) for q in seeds]
    w = lift(np.stack([g.normal(0.0, spread, (particles, model.dimension)) for g in starts]))
    every = max(1, steps // (samples - 1))
    times, kept = [], []
    for k in range(steps + 1):
        if k % every == 0 or k == steps:
            times.append(k * step)
            kept.append(xp.numpy(w).copy())
            if progress is not None:
                progress(k, steps)
        if k == steps:
            break
        if k % _INPUT_CHUNK == 0:
            count = min(_INPUT_CHUNK, steps - k)
            inputs = lift(np.stack([g.standard_normal((count, model.dimension)) for g in streams], axis=1))
        x = inputs[k % _INPUT_CHUNK]
        y = sigma(x @ teachers) @ coefficients
        pre = (w * x[:, None, :]).sum(-1)
        residual = y - alpha * sigma(pre).sum(1)
        w = w + (gain * residual[:, None] * slope(pre))[..., None] * x[:, None, :]
    output = np.full(particles, alpha)
    kept_w = np.array(kept)
    with np.errstate(all="ignore"):
        risk = np.array([two_layer_risk(model, v, output) for v in kept_w]) if score else np.empty((len(times), 0))
    if score:
        _finite_risk(risk, times, "SGD")
    return TwoLayerDynamics(np.array(times), risk, kept_w, output)


def _two_layer_task(point: dict, seed: np.random.SeedSequence, *, model: TwoLayerModel, options: dict) -> dict:
    """One network of ``point["particles"]`` neurons (a sweep's task): its risk and its weights at the output times."""
    run = particle_sgd(model, int(point["particles"]), replicates=1, seed=[seed], **options)
    return {"times": run.times, "risk": run.risk[:, 0], "particles": run.particles[:, 0]}


def particle_sgd_ensemble(
    model: TwoLayerModel, sizes, replicates: int, *, seed: int = 0, jobs: int | None = 1, scheduler=None, store=None, progress=False, step_of=None, **options,
) -> dict[int, TwoLayerDynamics]:
    """:func:`particle_sgd` for ``replicates`` networks of each size in ``sizes``.  Size i gets the integer seed s_i of
    ``SeedSequence(seed).spawn(len(sizes))[i]`` and its network r the child r of ``SeedSequence(s_i).spawn(replicates)``,
    so a network is the same in a batch here (``jobs`` 1, no ``scheduler`` or ``store``: one batch a size) and as a
    task of :func:`dyncheck.numerics.sweep.sweep` (one sweep a size: local processes, Dask, a store to resume from,
    under ``store``/N=…) — bit for bit.  ``options`` go to :func:`particle_sgd`; ``step_of(N)``, if given, is each
    size's SGD step (ε = 0.1/N keeps every size in MMN's N^{-1/2} regime)."""
    from pathlib import Path

    sizes = [int(n) for n in sizes]
    size_seeds = [int(q.generate_state(1)[0]) for q in np.random.SeedSequence(seed).spawn(len(sizes))]
    runs = {}
    for n, size_seed in zip(sizes, size_seeds):
        these = dict(options, **({"step": step_of(n)} if step_of is not None else {}))
        if (jobs or 1) == 1 and scheduler is None and store is None:
            runs[n] = particle_sgd(model, n, replicates=replicates, seed=task_seeds(size_seed, 1, replicates), progress=progress or None, **these)
            continue
        task = functools.partial(_two_layer_task, model=model, options=these)
        folder = None if store is None else Path(store) / f"N={n}"
        result = sweep(task, [{"particles": n}], replicates, seed=size_seed, jobs=jobs, scheduler=scheduler, store=folder, progress=bool(progress), description=f"simulate two-layer, N = {n}")
        weights = np.moveaxis(result.values["particles"][0], 0, 1)  # (times, replicates, N, d)
        runs[n] = TwoLayerDynamics(result.values["times"][0, 0], result.values["risk"][0].T, weights, np.full(n, SCALINGS[options.get("scaling", "mean-field")](n)))
    return runs


def _pde_density(pde: TwoLayerDynamics, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(w, ρ_t(w)) of the first weight at output ``index``: in d = 1 the push-forward density ρ_0(z)/Φ_t′(z) at the
    nodes' images (the flow map of a scalar ODE is increasing; Φ_t′ by differences across the nodes), in d > 1 a
    weighted histogram of the nodes' first components."""
    start, now = pde.particles[0, 0], pde.particles[index, 0]
    if start.shape[-1] == 1:
        z, w = start[:, 0], now[:, 0]
        spread = float(np.sqrt(pde.weights @ z**2))
        keep = pde.weights > 1e-12 * pde.weights.max()  # the outermost Gauss–Hermite nodes carry no visible mass
        density = np.exp(-0.5 * (z / spread) ** 2) / (spread * math.sqrt(2 * math.pi)) / np.gradient(w, z)
        return w[keep], density[keep]
    counts, edges = np.histogram(now[:, 0], bins=40, weights=pde.weights, density=True)
    return (edges[1:] + edges[:-1]) / 2, counts


def plot_two_layer(sgd: TwoLayerDynamics, pde: TwoLayerDynamics, path: str, title: str, fluctuations: dict | None = None) -> None:
    """Risk against time (each SGD network, their mean, the PDE's R(ρ_t)) and the first weight's density at three
    times (the SGD networks' neurons pooled, against the PDE's ρ_t); with ``fluctuations`` ({N: standard deviation
    of R_N(T) over the networks}, two sizes or more) a third panel, that deviation against N on log axes beside N^{-1/2}."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    panels = 3 if fluctuations and len(fluctuations) > 1 else 2
    with figure(path, figsize=(5.25 * panels, 4.2)) as fig:
        left, right, *rest = fig.subplots(1, panels)
        if rest:
            sizes = np.array(sorted(fluctuations), float)
            spread = np.array([fluctuations[int(n)] for n in sizes])
            slope = float(np.polyfit(np.log(sizes), np.log(spread), 1)[0])
            rest[0].loglog(sizes, spread, "o", color="tab:blue", zorder=DATA, label=f"SGD networks: $\\propto N^{{{slope:.2f}}}$")
            rest[0].loglog(sizes, spread[0] * (sizes / sizes[0]) ** -0.5, color="black", ls="--", zorder=THEORY, label=r"$N^{-1/2}$ (Mei, Montanari & Nguyen)")
            rest[0].set(xlabel="neurons $N$", ylabel=f"sd of $R_N(t = {sgd.times[-1]:.3g})$ over the networks", title="fluctuations of the risk")
            rest[0].legend()
        left.plot(sgd.times, sgd.risk, color="tab:blue", lw=0.5, alpha=0.35, zorder=DATA)
        left.plot(sgd.times, sgd.risk.mean(axis=1), color="tab:blue", lw=1.5, zorder=DATA, label="SGD networks (thin) and their mean")
        left.plot(pde.times, pde.risk[:, 0], color="black", lw=1.2, ls="--", zorder=THEORY, label=r"PDE: $R(\rho_t)$")
        left.set(xlabel=r"$t = k\varepsilon$", ylabel=r"risk $\mathbb{E}[(y - \hat y)^2]$ (log scale)", yscale="log", title="risk")
        left.legend()
        for colour, fraction in zip(("tab:green", "tab:orange", "tab:red"), (0.0, 0.25, 1.0)):
            k = int(round(fraction * (sgd.times.size - 1)))
            j = int(np.argmin(np.abs(pde.times - sgd.times[k])))
            right.hist(sgd.particles[k][..., 0].ravel(), bins=60, density=True, color=colour, alpha=0.3, zorder=DATA, label=f"SGD neurons, $t$ = {sgd.times[k]:.3g}")
            w, density = _pde_density(pde, j)
            right.plot(w, density, color=colour, lw=1.4, zorder=THEORY)
        right.plot([], [], color="grey", lw=1.4, label=r"PDE density $\rho_t$ (lines)")
        low, high = np.percentile(sgd.particles[..., 0], [0.5, 99.5])
        right.set(xlabel="first weight $w_1$", ylabel="density", xlim=(low - 0.2 * (high - low), high + 0.2 * (high - low)), title=r"neurons against $\rho_t$")
        right.legend()
        fig.suptitle(title)


# ------------------------------------------------------------------ 2-homogeneous ReLU networks (Chizat & Bach 2018)

#: Initialisations of :func:`train_relu_network`: output weights of either sign (every direction of θ = (a, w)), or
#: positive only (the half-space a > 0).
INITIALISATIONS = ("spread", "half-space")


def relu_teacher_problem(samples: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Inputs x_i = (cos φ_i, sin φ_i, 1) at ``samples`` equally spaced angles (the 1 is a bias, keeping the model
    2-homogeneous in (a, w)) and the teacher y = relu(⟨w₁, x⟩) − relu(⟨w₂, x⟩), w₁ = (1, 1/2, −3/10),
    w₂ = (−4/5, 9/10, 1/5): one neuron of each sign."""
    angles = 2 * np.pi * (np.arange(samples) + 0.5) / samples
    x = np.stack([np.cos(angles), np.sin(angles), np.ones(samples)], axis=1)
    return x, np.maximum(x @ np.array([1.0, 0.5, -0.3]), 0) - np.maximum(x @ np.array([-0.8, 0.9, 0.2]), 0)


def train_relu_network(
    x: np.ndarray, y: np.ndarray, width: int, *, initialisation: str = "spread", steps: int = 4000, learning_rate: float = 0.5, spread: float = 0.3,
    seed: int = 0, gradient: str = "backprop", samples: int = 11,
) -> np.ndarray:
    """Full-batch gradient descent on L = ½ mean_i (ŷ(x_i) − y_i)², ŷ = (1/N)Σ_j a_j relu(⟨w_j, x⟩) (mean-field scaling, each
    neuron's step N·``learning_rate``), from w_j ~ N(0, ``spread``² I) and balanced a_j = ±|w_j| (signs at random:
    "spread"; all +: "half-space").  ``gradient``: "backprop" (written out in numpy) or "autograd" (torch, float64).
    The loss at ``samples`` evenly spaced steps, the last after ``steps``."""
    if initialisation not in INITIALISATIONS:
        raise UsageError(f"the initialisation is one of {', '.join(INITIALISATIONS)}")
    if width < 1 or steps < 1 or not learning_rate > 0:
        raise UsageError("the width, the steps and the learning rate must be positive")
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, spread, (width, x.shape[1]))
    a = np.linalg.norm(w, axis=1) * (rng.choice([-1.0, 1.0], width) if initialisation == "spread" else 1.0)
    keep = set(np.linspace(0, steps, samples).round().astype(int).tolist())
    losses = []
    if gradient == "autograd":
        import torch

        xt, yt = torch.as_tensor(x), torch.as_tensor(y)
        a, w = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
        for k in range(steps + 1):
            loss = 0.5 * ((torch.relu(xt @ w.T) @ a / width - yt) ** 2).mean()
            if k in keep:
                losses.append(float(loss.detach()))
            if k == steps:
                break
            grad_a, grad_w = torch.autograd.grad(loss, (a, w))
            with torch.no_grad():
                a -= learning_rate * width * grad_a
                w -= learning_rate * width * grad_w
        return np.array(losses)
    if gradient != "backprop":
        raise UsageError("the gradient is 'backprop' or 'autograd'")
    for k in range(steps + 1):
        pre = x @ w.T  # samples × width
        hidden = np.maximum(pre, 0)
        residual = hidden @ a / width - y
        if k in keep:
            losses.append(0.5 * float(np.mean(residual**2)))
        if k == steps:
            break
        # N ∂L/∂a_j = mean_i r_i relu(⟨w_j, x_i⟩), N ∂L/∂w_j = mean_i r_i a_j H(⟨w_j, x_i⟩) x_i
        grad_a = hidden.T @ residual / len(y)
        grad_w = ((residual[:, None] * (pre > 0)) * a[None, :]).T @ x / len(y)
        a = a - learning_rate * grad_a
        w = w - learning_rate * grad_w
    return np.array(losses)


def cone_optimum(x: np.ndarray, y: np.ndarray, *, signs: str = "both", directions: int = 4096) -> float:
    """min over c ≥ 0 of ½ mean_i (Σ_j c_j s_j relu(⟨u_j, x_i⟩) − y_i)² on a dictionary of ``directions`` unit vectors u_j
    (a Fibonacci lattice on the sphere S², x ∈ R³), s_j = ±1 (``signs`` "both") or +1 ("positive"): by NNLS.  The
    best loss of the networks ŷ = ∫ a relu(⟨w, x⟩)dρ whose a have the given signs (only the direction of w matters,
    the scale goes into c): each dictionary's optimum is some network's loss, so it bounds the infimum from above,
    and converges to it as the dictionary refines (0.23963 at 4096 directions, 0.23966 at 1024, for the positive cone)."""
    from scipy.optimize import nnls

    if x.shape[1] != 3:
        raise UsageError("the dictionary lies on the sphere S²: inputs of three coordinates")
    index = np.arange(directions) + 0.5
    polar, azimuth = np.arccos(1 - 2 * index / directions), np.pi * (1 + 5**0.5) * index
    units = np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1)
    features = np.maximum(x @ units.T, 0)
    if signs == "both":
        features = np.hstack([features, -features])
    elif signs != "positive":
        raise UsageError("the signs are 'both' or 'positive'")
    _, norm = nnls(features, y, maxiter=50 * features.shape[1])
    return 0.5 * norm**2 / len(y)
