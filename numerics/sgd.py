r"""SGD near an interpolation minimum, in numbers: the three stability factors of general per-sample Hessians, the
Lyapunov exponent by Benettin's QR method, and SGD itself run beside the minimum; and the weak errors of the
stochastic modified equations.

:class:`CurvatureFamily` holds the per-sample Hessians H_i at a minimum (checked symmetric and positive
semi-definite) restricted to the normal space N = range(Σ H_i) of the solution manifold.  On it, with
A_ξ = I − ηH_ξ (:mod:`dyncheck.theory.sgd` has the conventions and the sources):

* :func:`gd_factor` — the spectral radius of I − ηH̄;
* :func:`mean_square_factor` — the spectral radius of the second-moment map M ↦ E_ξ[A_ξ M A_ξ], i.e. of
  E_ξ[A_ξ ⊗ A_ξ], by enumerating the batches: E‖x_k − x*‖² stays bounded iff it is ≤ 1 (the exact criterion;
  Wu, Ma & E's λ_max((I − ηH̄)² + η²cΣ) ≤ 1 is :func:`wu_ma_e_factor`, sufficient, and equal in one dimension);
* :func:`lyapunov_exponent` — the top Lyapunov exponent of the i.i.d. product, by QR re-orthonormalisation of
  independent replicates, with a 95 % interval from their spread; :func:`exact_lyapunov_exponent` where the
  H_i commute.

:func:`least_squares_sgd_rate` and :func:`network_sgd_rate` are the independent route: SGD run from beside the
minimum with gradients of the per-sample losses (no Hessian), its log-distance rate measured with the same kind
of interval.

:func:`exact_moments` evaluates the exact moments of SGD and of a stochastic modified equation on the test model
of :mod:`dyncheck.theory.sgd` in mpmath at any precision, :func:`observed_orders` reads the weak order off step
halvings, and :func:`test_model_sgd` runs SGD itself (:func:`sgd_second_moment`: its mean and standard error).

Learning-rate schedules on the SME of a quadratic: :func:`schedule_moment` integrates ṁ = −2aνm + ν²ηΣ for any
schedule ν(t), :func:`best_piecewise_schedule` searches the piecewise-constant ones (a brute force against which
a claimed optimum is judged), and :func:`test_model_sgd` runs SGD under a schedule.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dyncheck.theory.errors import UsageError
from dyncheck.theory.sgd import WITHOUT_REPLACEMENT
from dyncheck.theory.symbols import BATCH_SIZE, SAMPLE_COUNT

__all__ = [
    "ENUMERATED_BATCHES",
    "CurvatureFamily",
    "GrowthRate",
    "StabilityCurve",
    "exact_lyapunov_exponent",
    "gd_factor",
    "interpolating_network",
    "least_squares_sgd_rate",
    "lyapunov_exponent",
    "mean_square_factor",
    "network_family",
    "network_sgd_rate",
    "plot_stability",
    "plot_weak_errors",
    "sample_paths",
    "stability_boundaries",
    "exact_moments",
    "observed_orders",
    "best_piecewise_schedule",
    "piecewise_schedule",
    "plot_schedules",
    "schedule_from",
    "schedule_moment",
    "schedule_moments",
    "SCHEMES",
    "sgd_second_moment",
    "sme_paths",
    "sme_weak_errors",
    "test_model_sgd",
    "whole_steps",
    "wu_ma_e_factor",
]

#: The most batches enumerated exactly (C(n, B)); larger families are sampled batch by batch.
ENUMERATED_BATCHES = 20_000


class CurvatureFamily:
    """Per-sample Hessians H_i (array n × d × d) at an interpolation minimum, on the normal space N = range(Σ H_i).

    Raises :class:`UsageError` for a wrong shape, non-finite entries, an asymmetric H_i, or one with an eigenvalue
    below −``tolerance`` · max‖H_i‖ (not a minimum of every ℓ_i).  ``basis`` (d × m) spans N; ``hessians`` are the
    m × m restrictions Bᵀ H_i B."""

    def __init__(self, hessians, *, tolerance: float = 1e-10):
        stack = np.asarray(hessians, dtype=float)
        if stack.ndim != 3 or stack.shape[1] != stack.shape[2] or stack.shape[0] < 1 or stack.shape[1] < 1:
            raise UsageError(f"per-sample Hessians must be an array n × d × d with n, d ≥ 1, not of shape {stack.shape}")
        if not np.all(np.isfinite(stack)):
            raise UsageError("the per-sample Hessians have non-finite entries")
        scale = max(float(np.abs(stack).max()), np.finfo(float).tiny)
        asymmetric = np.abs(stack - stack.transpose(0, 2, 1)).max(axis=(1, 2))
        if asymmetric.max() > tolerance * scale:
            raise UsageError(f"per-sample Hessian {int(asymmetric.argmax())} is not symmetric (|H − Hᵀ| = {asymmetric.max():.3g})")
        lowest = np.linalg.eigvalsh(stack).min(axis=1)
        if lowest.min() < -tolerance * scale:
            raise UsageError(f"per-sample Hessian {int(lowest.argmin())} has the eigenvalue {lowest.min():.3g} < 0: not a minimum of every sample's loss")
        values, vectors = np.linalg.eigh(stack.sum(axis=0))
        self.basis = vectors[:, values > tolerance * max(values.max(), scale)]
        if self.basis.shape[1] == 0:
            raise UsageError("every per-sample Hessian vanishes: no normal direction")
        self.full = stack
        self.hessians = self.basis.T @ stack @ self.basis  # Bᵀ H_i B, by matrix products (a three-operand einsum is O(d⁴))

    @classmethod
    def from_curvatures(cls, curvatures) -> CurvatureFamily:
        """One-dimensional samples: H_i = (h_i)."""
        return cls(np.asarray(curvatures, dtype=float).reshape(-1, 1, 1))

    @property
    def samples(self) -> int:
        return self.hessians.shape[0]

    @property
    def dimension(self) -> int:
        """dim N."""
        return self.hessians.shape[1]

    @property
    def mean(self) -> np.ndarray:
        return self.hessians.mean(axis=0)

    @property
    def spread(self) -> np.ndarray:
        """Σ = (1/n) Σ H_i² − H̄²: the covariance of the per-sample Hessians (λ_max(Σ)^{1/2} is the non-uniformity)."""
        return np.einsum("nab,nbc->ac", self.hessians, self.hessians) / self.samples - self.mean @ self.mean

    def check_batch(self, batch: int) -> None:
        if not 1 <= batch <= self.samples:
            raise UsageError(f"the batch size must be between 1 and the number of samples {self.samples}, not {batch}")

    def batch_hessians(self, batch: int) -> np.ndarray:
        """H_ξ of every batch ξ of ``batch`` samples (C(n, B) × m × m), each batch equally likely."""
        self.check_batch(batch)
        count = math.comb(self.samples, batch)
        if count > ENUMERATED_BATCHES:
            raise UsageError(f"C({self.samples}, {batch}) = {count} batches is more than the {ENUMERATED_BATCHES} enumerated exactly")
        from itertools import combinations

        chosen = np.array(list(combinations(range(self.samples), batch)))
        return self.hessians[chosen].mean(axis=1)

    def common_eigenbasis(self, tolerance: float = 1e-10) -> np.ndarray | None:
        """An orthonormal basis diagonalising every H_i, or None.  Commuting symmetric matrices share the eigenbasis
        of a generic combination Σ c_i H_i (c_i drawn in [1, 2]); the H_i commute iff each is diagonal in it to
        ``tolerance`` (O(n·m³) time, O(n·m²) memory; a combination with a repeated eigenvalue can miss a commuting
        family, which then takes the general route)."""
        mixture = np.einsum("n,nab->ab", np.random.default_rng(0).uniform(1, 2, self.samples), self.hessians)
        _, basis = np.linalg.eigh(mixture)
        rotated = basis.T @ self.hessians @ basis
        off = rotated - np.einsum("nii->ni", rotated)[..., None] * np.eye(self.dimension)
        return basis if np.abs(off).max() <= tolerance * max(1.0, np.abs(rotated).max()) else None


def _maps(family: CurvatureFamily, eta: float, batch: int) -> np.ndarray:
    _check_step(eta, family)
    return np.eye(family.dimension) - eta * family.batch_hessians(batch)


def _check_step(eta: float, family: CurvatureFamily | None = None) -> None:
    """η > 0 and finite; with a family, η times its largest curvature squared stays finite (the second moments)."""
    if not (np.isfinite(eta) and eta > 0):
        raise UsageError(f"the step size must be a positive number, not {eta}")
    if family is not None:
        scale = eta * float(np.abs(family.hessians).max())
        if not np.isfinite(scale * scale):
            raise UsageError(f"η times the largest curvature is {scale:.3g}: its square overflows double precision")


def gd_factor(family: CurvatureFamily, eta: float) -> float:
    """ρ(I − ηH̄) on N: full-batch GD converges to the minimum iff it is < 1."""
    _check_step(eta, family)
    return float(np.abs(np.linalg.eigvalsh(np.eye(family.dimension) - eta * family.mean)).max())


def mean_square_factor(family: CurvatureFamily, eta: float, batch: int) -> float:
    """ρ(E_ξ[A_ξ ⊗ A_ξ]): the growth factor per step of E‖x_k − x*‖² (bounded iff ≤ 1), batches enumerated."""
    maps = _maps(family, eta, batch)
    second = np.einsum("kab,kcd->acbd", maps, maps).reshape(family.dimension**2, -1) / maps.shape[0]
    return float(np.abs(np.linalg.eigvals(second)).max())


def wu_ma_e_factor(family: CurvatureFamily, eta: float, batch: int) -> float:
    """λ_max((I − ηH̄)² + η² c Σ), Σ = (1/n) Σ H_i² − H̄², c = (n − B)/(B(n − 1)): Wu, Ma & E's sufficient condition
    for mean-square stability is that it be ≤ 1 (it bounds E‖A_ξ x‖² ≤ factor · ‖x‖² for every x)."""
    family.check_batch(batch)
    _check_step(eta, family)
    n, mean = family.samples, family.mean
    c = float(WITHOUT_REPLACEMENT.subs({SAMPLE_COUNT: n, BATCH_SIZE: batch})) if n > 1 else 0.0
    step = np.eye(family.dimension) - eta * mean
    return float(np.linalg.eigvalsh(step @ step + eta**2 * c * family.spread).max())


def exact_lyapunov_exponent(family: CurvatureFamily, eta: float, batch: int) -> float | None:
    """The top Lyapunov exponent where the H_i commute: in their common eigenbasis each direction j grows at
    E_ξ log|1 − η h_ξj|, the top exponent the largest (−inf where a batch lands on the minimum); None otherwise."""
    common = family.common_eigenbasis()
    if common is None:
        return None
    diagonal = np.diagonal(common.T @ _maps(family, eta, batch) @ common, axis1=1, axis2=2)
    with np.errstate(divide="ignore"):
        return float(np.log(np.abs(diagonal)).mean(axis=0).max())


@dataclass(frozen=True)
class GrowthRate:
    """An exponential growth rate per step, the mean over independent replicates, with a 95 % interval from their
    spread (Student t) — the replicates are independent, so the interval is honest for any mixing."""

    value: float
    half_width: float
    steps: int
    replicates: int
    samples: np.ndarray

    @property
    def interval(self) -> tuple[float, float]:
        return self.value - self.half_width, self.value + self.half_width

    @property
    def sign(self) -> int:
        """+1 or −1 when the interval excludes 0, else 0 (undecided)."""
        low, high = self.interval
        return 1 if low > 0 else (-1 if high < 0 else 0)


def _rate(per_replicate: np.ndarray, steps: int) -> GrowthRate:
    from scipy import stats

    values = per_replicate / steps
    spread = float(values.std(ddof=1)) if values.size > 1 else math.inf
    half = float(stats.t.ppf(0.975, values.size - 1) * spread / math.sqrt(values.size)) if values.size > 1 else math.inf
    return GrowthRate(float(values.mean()), half, steps, values.size, values)


def _batches(rng: np.random.Generator, count: int, samples: int, batch: int) -> np.ndarray:
    """``count`` batches of ``batch`` of ``samples`` indices, each drawn without replacement (count × batch)."""
    return rng.random((count, samples)).argsort(axis=1)[:, :batch]


def _batch_sampler(family: CurvatureFamily, eta: float, batch: int, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
    """A function of a replicate count returning that many i.i.d. maps A_ξ (replicates × m × m)."""
    family.check_batch(batch)
    _check_step(eta, family)
    if math.comb(family.samples, batch) <= ENUMERATED_BATCHES:
        maps = _maps(family, eta, batch)
        return lambda count: maps[rng.integers(maps.shape[0], size=count)]
    identity = np.eye(family.dimension)

    def draw(count):
        chosen = _batches(rng, count, family.samples, batch)
        return identity - eta * family.hessians[chosen].mean(axis=1)

    return draw


def lyapunov_exponent(family: CurvatureFamily, eta: float, batch: int, *, steps: int = 4000, replicates: int = 32, burn_in: int = 200, seed: int = 0) -> GrowthRate:
    """The top Lyapunov exponent of x ← A_ξ x (Benettin's method): each replicate carries an orthonormal frame Q,
    multiplies it by a fresh A_ξ and re-orthonormalises by QR, A Q = Q′R, adding log|R₁₁| — the growth of the
    frame's first vector, which aligns with the fastest-growing direction — over ``steps`` steps after
    ``burn_in``.  Its bias is O(1/steps) (the initial alignment), its spread over replicates gives the interval."""
    _check_step(eta)
    rng = np.random.default_rng(seed)
    draw = _batch_sampler(family, eta, batch, rng)
    frames, _ = np.linalg.qr(rng.standard_normal((replicates, family.dimension, family.dimension)))
    total = np.zeros(replicates)
    for step in range(burn_in + steps):
        frames, upper = np.linalg.qr(draw(replicates) @ frames)
        if step >= burn_in:
            with np.errstate(divide="ignore"):
                total += np.log(np.abs(upper[:, 0, 0]))
    return _rate(total, steps)


def least_squares_sgd_rate(features, eta: float, batch: int, *, steps: int = 4000, replicates: int = 32, burn_in: int = 200, seed: int = 0) -> GrowthRate:
    """SGD on ½(a_iᵀx − y_i)² (rows a_i of ``features``, consistent targets y) run from beside a solution, with the
    per-sample gradients a_i(a_iᵀx − y_i): the growth rate of the residual ‖Ax − y‖, the distance to the solution
    set as N sees it.  SGD is affine here, so the deviation is rescaled to unit residual each step and the logs
    summed; its component along the solution set, which SGD leaves alone, is dropped so it cannot swamp the rest."""
    _check_step(eta)
    a = np.asarray(features, float)
    n, d = a.shape
    if not 1 <= batch <= n:
        raise UsageError(f"the batch size must be between 1 and the number of samples {n}, not {batch}")
    rng = np.random.default_rng(seed)
    solution = rng.standard_normal(d)
    targets = a @ solution
    rows_space = np.linalg.pinv(a) @ a  # the projector on N = row(A): SGD never moves along the solution set's tangent
    x = solution + rng.standard_normal((replicates, d)) @ rows_space
    total = np.zeros(replicates)
    for step in range(burn_in + steps):
        chosen = _batches(rng, replicates, n, batch)
        rows = a[chosen]  # replicates × B × d
        residuals = np.einsum("rbd,rd->rb", rows, x) - targets[chosen]
        x = x - eta * np.einsum("rbd,rb->rd", rows, residuals) / batch
        distance = np.linalg.norm(x @ a.T - targets, axis=1)
        if step >= burn_in:
            with np.errstate(divide="ignore"):
                total += np.log(distance)
        x = solution + ((x - solution) @ rows_space) / np.maximum(distance, np.finfo(float).tiny)[:, None]
    return _rate(total, steps)


def interpolating_network(samples: int = 4, width: int = 3, dimension: int = 2, seed: int = 0) -> tuple[Callable, np.ndarray, np.ndarray, np.ndarray]:
    """(f, θ*, x, y): a network of the core's substrate — one hidden tanh layer of ``width``, a linear read-out,
    standard parameterisation (σ_w² = σ_b² = 1) — as a torch function of its flat parameters
    (:func:`~dyncheck.numerics.networks.torch_flat_function`), with more parameters than ``samples``, and θ* fitting
    Gaussian inputs x to Gaussian targets y exactly: Levenberg–Marquardt steps θ ← θ − Jᵀ(JJᵀ + μI)⁻¹r from the
    network's draw (J the n × P Jacobian by autograd; μ shrinks tenfold after a step that lowers ‖r‖, grows tenfold
    otherwise) until ‖r‖ < 1e-14 — Gauss–Newton's minimum-norm step in the end."""
    import torch
    from torch.func import jacrev

    from dyncheck.numerics.networks import Network, torch_flat_function
    from dyncheck.theory.activations import activation

    network = Network.random(activation("tanh").expr(), dimension, width, 1, 1.0, 1.0, seed=seed, parameterisation="standard")
    f, theta = torch_flat_function(network)
    if theta.numel() <= samples:
        raise UsageError(f"{theta.numel()} parameters cannot interpolate {samples} samples with room to spare")
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.standard_normal((samples, dimension)))
    y = torch.as_tensor(rng.standard_normal(samples))
    damping, residual = 1.0, f(theta, x) - y
    for _ in range(500):
        if float(residual.norm()) < 1e-14:
            return f, theta.numpy(), x.numpy(), y.numpy()
        jacobian = jacrev(f)(theta, x)
        trial = theta - jacobian.T @ torch.linalg.solve(jacobian @ jacobian.T + damping * torch.eye(samples, dtype=theta.dtype), residual)
        moved = f(trial, x) - y
        if moved.norm() < residual.norm():
            theta, residual, damping = trial, moved, damping / 10
        else:
            damping *= 10
    raise RuntimeError("Levenberg–Marquardt did not reach an interpolating point in 500 steps")


def network_family(f: Callable, point, x, y) -> CurvatureFamily:
    """The per-sample Hessians ∇²_θ ½(f(θ, x_i) − y_i)² at ``point`` by autograd (``torch.func.hessian``)."""
    import torch
    from torch.func import hessian

    theta = torch.as_tensor(np.asarray(point, float))
    inputs, targets = torch.as_tensor(np.asarray(x, float)), torch.as_tensor(np.asarray(y, float))
    per_sample = [hessian(lambda p, i=i: 0.5 * ((f(p, inputs[i : i + 1]) - targets[i : i + 1]) ** 2).sum())(theta).numpy() for i in range(len(targets))]
    return CurvatureFamily(np.stack(per_sample))


def network_sgd_rate(f: Callable, point, x, y, eta: float, batch: int, *, steps: int = 2000, replicates: int = 16, burn_in: int = 200, size: float = 1e-7, seed: int = 0) -> GrowthRate:
    """SGD on ½(f(θ, x_i) − y_i)² with torch autograd gradients, from θ* + a deviation of norm ``size``: the growth
    rate of the residual ‖f(θ, x) − y‖.  The map is nonlinear, so each step the deviation from θ* is projected on
    the normal space N = row(J(θ*)) — its tangent part is a move along the solutions, to first order — and rescaled
    back to ``size`` (Benettin's renormalisation of a finite perturbation), the logs of the residual's growth summed
    after ``burn_in`` steps; at ``size`` 1e-7 the nonlinear terms change a step's growth by ~1e-7.  The replicates
    run together (``torch.func.vmap`` over their parameters and batches)."""
    import torch
    from torch.func import jacrev, vmap

    _check_step(eta)
    samples = len(y)
    if not 1 <= batch <= samples:
        raise UsageError(f"the batch size must be between 1 and the number of samples {samples}, not {batch}")
    rng = np.random.default_rng(seed)
    base = torch.as_tensor(np.asarray(point, float))
    inputs, targets = torch.as_tensor(np.asarray(x, float)), torch.as_tensor(np.asarray(y, float))
    jacobian = jacrev(f)(base, inputs)
    normal = torch.linalg.pinv(jacobian) @ jacobian  # the projector on N = row(J) at θ*, symmetric
    each = vmap(f, in_dims=(0, 0))

    def residual_norms(theta):
        return (each(theta, inputs.expand(replicates, *inputs.shape)) - targets).norm(dim=1)

    deviation = torch.as_tensor(rng.standard_normal((replicates, base.numel()))) @ normal
    deviation *= size / deviation.norm(dim=1, keepdim=True)
    theta = base + deviation
    before = residual_norms(theta)
    total = torch.zeros(replicates, dtype=base.dtype)
    for step in range(burn_in + steps):
        chosen = torch.as_tensor(_batches(rng, replicates, samples, batch))
        theta.requires_grad_(True)
        loss = 0.5 * ((each(theta, inputs[chosen]) - targets[chosen]) ** 2).sum() / batch
        (gradient,) = torch.autograd.grad(loss, theta)
        with torch.no_grad():
            moved = theta - eta * gradient
            after = residual_norms(moved)
            if step >= burn_in:
                total += torch.log(after / before)
            deviation = (moved - base) @ normal
            scale = size / deviation.norm(dim=1)
            theta = base + deviation * scale[:, None]
            before = after * scale
    return _rate(total.numpy(), steps)


def sample_paths(family: CurvatureFamily, eta: float, batch: int, steps: int, paths: int = 8, seed: int = 0) -> np.ndarray:
    """log‖x_k − x*‖ along ``paths`` runs of the linearised SGD from unit deviations (paths × steps + 1); the
    deviation is rescaled each step and the logs summed, so a path runs as far as ``steps`` without overflow."""
    rng = np.random.default_rng(seed)
    draw = _batch_sampler(family, eta, batch, rng)
    x = rng.standard_normal((paths, family.dimension))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    logs = np.zeros((paths, steps + 1))
    for step in range(steps):
        x = np.einsum("rab,rb->ra", draw(paths), x)
        norms = np.linalg.norm(x, axis=1)
        with np.errstate(divide="ignore"):
            logs[:, step + 1] = logs[:, step] + np.log(norms)
        x /= np.maximum(norms, np.finfo(float).tiny)[:, None]
    return logs


@dataclass(frozen=True)
class StabilityCurve:
    """The three criteria along a grid of step sizes, and where each first fails."""

    etas: np.ndarray
    lyapunov: np.ndarray
    lyapunov_half_width: np.ndarray
    mean_square: np.ndarray
    gd: np.ndarray

    @staticmethod
    def _first(fails: np.ndarray, etas: np.ndarray) -> float | None:
        index = np.flatnonzero(fails)
        return float(etas[index[0]]) if index.size else None

    @property
    def boundaries(self) -> dict[str, float | None]:
        """The smallest grid η at which each criterion says "diverges" (None: none on the grid)."""
        return {
            "gd": self._first(self.gd >= 1, self.etas),
            "mean_square": self._first(self.mean_square > 1, self.etas),
            "almost_sure": self._first(self.lyapunov - self.lyapunov_half_width > 0, self.etas),
        }


def stability_boundaries(family: CurvatureFamily, batch: int, etas, *, steps: int = 1000, replicates: int = 16, seed: int = 0) -> StabilityCurve:
    """GD's factor, the mean-square factor and the Lyapunov exponent (exact for commuting Hessians, else Benettin's
    with its interval) at each step size of ``etas``."""
    etas = np.asarray(etas, float)
    lyapunov, half = np.empty(etas.size), np.zeros(etas.size)
    for i, eta in enumerate(etas):
        exact = exact_lyapunov_exponent(family, eta, batch)
        if exact is None:
            found = lyapunov_exponent(family, eta, batch, steps=steps, replicates=replicates, seed=seed)
            lyapunov[i], half[i] = found.value, found.half_width
        else:
            lyapunov[i] = exact
    return StabilityCurve(
        etas, lyapunov, half,
        np.array([mean_square_factor(family, eta, batch) for eta in etas]),
        np.array([gd_factor(family, eta) for eta in etas]),
    )


def plot_stability(curve: StabilityCurve, paths: np.ndarray, eta: float, path, title: str) -> None:
    """Left: the Lyapunov exponent against η with the three stability boundaries (GD, mean-square, almost-sure);
    right: sample paths of log‖x_k − x*‖ at ``eta``."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    with figure(path, figsize=(10.5, 4.0)) as fig:
        left, right = fig.subplots(1, 2)
        finite = np.isfinite(curve.lyapunov)
        left.plot(curve.etas[finite], curve.lyapunov[finite], color="k", zorder=DATA, label=r"top Lyapunov exponent $\lambda$ (Benettin)")
        if np.any(curve.lyapunov_half_width > 0):
            left.fill_between(curve.etas, curve.lyapunov - curve.lyapunov_half_width, curve.lyapunov + curve.lyapunov_half_width, color="0.8", zorder=DATA, label="95 % interval")
        left.axhline(0, color="0.5", lw=0.8)
        styles = {"gd": (r"GD: $\rho(I - \eta\bar H) = 1$", "tab:blue", "--"), "mean_square": ("mean-square factor = 1", "tab:orange", ":"), "almost_sure": (r"almost-sure: $\lambda = 0$", "tab:green", "-.")}
        for key, where in curve.boundaries.items():
            if where is not None:
                label, color, dashes = styles[key]
                left.axvline(where, color=color, ls=dashes, lw=1.6, zorder=THEORY, label=f"{label} ($\\eta$ ≈ {where:.3g})")
        left.axvline(eta, color="tab:red", lw=0.8, label=f"$\\eta$ = {eta:g} (right panel)")
        left.set(xlabel=r"step size $\eta$", ylabel=r"$\lambda$ per step", title=r"stability boundaries ($\lambda \to -\infty$ where a sample's $I - \eta H_i$ is singular)")
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2)  # below: the curve fills the panel
        steps = np.arange(paths.shape[1])
        for run in paths:
            right.plot(steps, np.where(np.isfinite(run), run, np.nan), lw=0.8, zorder=DATA)
        right.set(xlabel="step $k$", ylabel=r"$\log\|x_k - x^*\|$", title=f"{len(paths)} runs of linearised SGD at $\\eta$ = {eta:g}")
        fig.suptitle(title)


# ---------------------------------------------------------------------------
# Stochastic modified equations (Li, Tai & E 2017, 2019)


def _model_values(curvature: float, multiplicative: float, additive: float, start: float, horizon: float) -> dict:
    from dyncheck.theory.symbols import ADDITIVE_NOISE, CURVATURE, MULTIPLICATIVE_NOISE, START, TIME

    if not (curvature > 0 and multiplicative >= 0 and additive >= 0 and horizon > 0 and all(map(math.isfinite, (curvature, multiplicative, additive, start, horizon)))):
        raise UsageError("the test model needs a curvature > 0, noise variances ≥ 0, a finite start and a horizon T > 0")
    return {CURVATURE: curvature, MULTIPLICATIVE_NOISE: multiplicative, ADDITIVE_NOISE: additive, START: start, TIME: horizon}


def whole_steps(eta: float, horizon: float) -> int:
    """T/η, refused unless it is a whole number (a run must end at t = T)."""
    _check_step(eta)
    ratio = horizon / eta
    if not np.isfinite(ratio) or ratio > 1e12:
        raise UsageError(f"T/η = {ratio:.3g} steps is too many")
    steps = round(ratio)
    if steps < 1 or abs(steps * eta - horizon) > 1e-9 * horizon:
        raise UsageError(f"the horizon T = {horizon:g} is not a whole number of steps of η = {eta:g}")
    return steps


def exact_moments(etas, correction, moment: int, *, curvature: float = 1.0, multiplicative: float = 1.0, additive: float = 0.5, start: float = 1.0, horizon: float = 1.0, dps: int = 30) -> tuple[list, list]:
    """(E x_k^j, E X_T^j) at each η of ``etas`` (k = T/η, j = ``moment``) on the test model ∇f_γ(x) = a(1 + γ)x + ζ
    (``curvature`` a, noise variances ``multiplicative`` σ_m² and ``additive`` σ_a², x₀ = ``start``): the closed
    forms of :func:`dyncheck.theory.sgd.sgd_moments` and :func:`~dyncheck.theory.sgd.sme_moments` (drift correction
    ``correction``: 0 for SME-1, ¼ for SME-2), generated for mpmath and evaluated at ``dps`` digits."""
    import mpmath
    import sympy as sp

    from dyncheck.numerics.codegen import generate
    from dyncheck.theory.sgd import sgd_moments, sme_moments
    from dyncheck.theory.symbols import STEP_SIZE

    if moment not in (1, 2):
        raise UsageError(f"the moments of the test model close for x and x²: moment 1 or 2, not {moment}")
    values = _model_values(curvature, multiplicative, additive, start, horizon)
    step = sp.Symbol("k", integer=True, nonnegative=True)
    sgd_side = generate(sgd_moments()[moment - 1].subs(values), (STEP_SIZE, step), "mpmath")
    sme_side = generate(sme_moments(sp.nsimplify(correction))[moment - 1].subs(values), (STEP_SIZE,), "mpmath")
    with mpmath.workdps(dps):
        steps = [whole_steps(float(eta), horizon) for eta in etas]
        return [sgd_side(mpmath.mpf(str(eta)), k) for eta, k in zip(etas, steps)], [sme_side(mpmath.mpf(str(eta))) for eta in etas]


def sme_weak_errors(etas, correction, moment: int, **model) -> list:
    """|E x_k^j − E X_T^j| at each η of ``etas`` (:func:`exact_moments`'s arguments): at 30 digits the errors reach
    1e-8 at small η, far below double precision's cancellation floor."""
    import mpmath

    with mpmath.workdps(model.get("dps", 30)):
        sgd_values, sme_values = exact_moments(etas, correction, moment, **model)
        return [abs(a - b) for a, b in zip(sgd_values, sme_values)]


#: The SDE integrators of :func:`sme_paths`: the step of :mod:`dyncheck.theory.sgd` and the increments it needs.
SCHEMES = ("euler-maruyama", "weak-2")


def sme_paths(correction, eta: float, *, scheme: str = "weak-2", substeps: int = 2, runs: int = 100_000, seed: int = 0, curvature: float = 1.0, multiplicative: float = 1.0, additive: float = 0.5, start: float = 1.0, horizon: float = 1.0) -> np.ndarray:
    """X_T of ``runs`` paths of the SME with drift correction ``correction`` (0: SME-1, ¼: SME-2) on the test model,
    integrated with h = η/``substeps``: ``euler-maruyama`` (:func:`~dyncheck.theory.sgd.euler_maruyama_step`,
    Gaussian increments; weak order 1) or ``weak-2`` (:func:`~dyncheck.theory.sgd.weak_two_step`, three-point
    increments ±√(3h); weak order 2) — each step SymPy's expression compiled for numpy."""
    import sympy as sp

    from dyncheck.numerics.codegen import generate
    from dyncheck.theory.sgd import BROWNIAN_INCREMENT, SDE_STEP, euler_maruyama_step, weak_two_step

    if scheme not in SCHEMES:
        raise UsageError(f"unknown scheme {scheme!r}; choose {' or '.join(SCHEMES)}")
    values = _model_values(curvature, multiplicative, additive, start, horizon)
    values[sp.Symbol("eta", positive=True)] = eta
    if substeps < 1:
        raise UsageError("at least one integrator step a step of SGD")
    steps = whole_steps(eta, horizon) * substeps
    h = eta / substeps
    rule = (weak_two_step if scheme == "weak-2" else euler_maruyama_step)(sp.nsimplify(correction))
    step = generate(rule.subs(values), (sp.Symbol("x", real=True), SDE_STEP, BROWNIAN_INCREMENT))
    rng = np.random.default_rng(seed)
    x = np.full(runs, float(start))
    for _ in range(steps):
        if scheme == "weak-2":
            u = rng.random(runs)
            w = math.sqrt(3 * h) * ((u < 1 / 6).astype(float) - (u > 5 / 6))  # ±√(3h) with probability ⅙ each
        else:
            w = math.sqrt(h) * rng.standard_normal(runs)
        x = step(x, h, w)
    return x


def observed_orders(etas, errors) -> list[float]:
    """log(e_i/e_{i+1}) / log(η_i/η_{i+1}) for consecutive step sizes: the weak order the errors show."""
    return [float(math.log(errors[i] / errors[i + 1]) / math.log(etas[i] / etas[i + 1])) for i in range(len(etas) - 1)]


def test_model_sgd(eta: float, *, schedule: Callable[[float], float] | None = None, curvature: float = 1.0, multiplicative: float = 1.0, additive: float = 0.5, start: float = 1.0, horizon: float = 1.0, runs: int = 1_000_000, seed: int = 0) -> np.ndarray:
    """x_K² of ``runs`` independent SGD runs x ← x − ην(kη)(a(1 + γ)x + ζ) on the test model, K = T/η, γ = ±σ_m and
    ζ = ±σ_a with equal probability (mean 0, the model's variances; γ is drawn only when σ_m² > 0), ν the
    ``schedule`` (1 without one).  The same ``seed`` gives every schedule the same noise."""
    _model_values(curvature, multiplicative, additive, start, horizon)
    steps = whole_steps(eta, horizon)
    rng = np.random.default_rng(seed)
    x = np.full(runs, float(start))
    for k in range(steps):
        gamma = math.sqrt(multiplicative) * (2 * rng.integers(0, 2, runs) - 1) if multiplicative > 0 else 0.0
        zeta = math.sqrt(additive) * (2 * rng.integers(0, 2, runs) - 1)
        x -= eta * (1.0 if schedule is None else schedule(k * eta)) * (curvature * (1 + gamma) * x + zeta)
    return x**2


def sgd_second_moment(eta: float, *, runs: int = 1_000_000, **model) -> tuple[float, float]:
    """(mean, standard error) of x_K² over :func:`test_model_sgd`'s runs (no schedule)."""
    squares = test_model_sgd(eta, runs=runs, **model)
    return float(squares.mean()), float(squares.std(ddof=1) / math.sqrt(runs))


def plot_weak_errors(etas, errors: dict[str, list], path, title: str) -> None:
    """Each weak error against η on log axes, with reference slopes 1 and 2, each drawn through the smallest-η
    error of the series whose fitted slope is closest to it."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    etas = np.asarray(etas, float)
    positive = {name: np.asarray(values, float) for name, values in errors.items() if np.all(np.asarray(values) > 0)}
    fitted = {name: float(np.polyfit(np.log(etas), np.log(values), 1)[0]) for name, values in positive.items()}
    smallest = int(np.argmin(etas))
    with figure(path, figsize=(6.4, 4.4)) as fig:
        ax = fig.subplots()
        for name, values in errors.items():
            ax.loglog(etas, np.maximum(values, 1e-300), marker="o", zorder=DATA, label=name + (f" (slope {fitted[name]:.2f})" if name in fitted else ""))
        for slope, style in ((1, ":"), (2, "--")):
            if fitted:
                nearest = min(fitted, key=lambda name: abs(fitted[name] - slope))
                anchor = positive[nearest][smallest]
                ax.loglog(etas, anchor * (etas / etas[smallest]) ** slope, color="0.2", ls=style, lw=1.0, zorder=THEORY, label=f"order {slope}: " + r"$\propto \eta^{" + str(slope) + "}$")
        ax.set(xlabel=r"step size $\eta$", ylabel=r"weak error $|\mathbb{E}\,g(x_k) - \mathbb{E}\,g(X_T)|$")
        ax.set_title(title)
        ax.legend(loc="lower right")


# ---------------------------------------------------------------------------
# Learning-rate schedules on the SME of a quadratic (Li, Tai & E 2017, 2019)


def schedule_from(candidate, values: dict) -> tuple[Callable[[float], float], float]:
    """(ν(t), t_s) of a schedule given as (switching time, ν(t) after it) in SymPy — the full rate before, as in
    :data:`dyncheck.theory.sgd.COMMON_SCHEDULES` — at the parameter ``values``."""
    import sympy as sp

    from dyncheck.theory.symbols import SWITCHING_TIME, TIME

    switching = float(sp.sympify(candidate[0]).subs(values))
    annealing = sp.lambdify(TIME, sp.sympify(candidate[1]).subs(values).subs(SWITCHING_TIME, switching), "math")
    return (lambda t: 1.0 if t < switching else float(annealing(t))), switching


@functools.cache
def _schedule_functions() -> tuple[Callable, Callable]:
    """theory's ṁ(ν, m), and its constant-ν step m′ = decay(ν)·m + rest(ν) as (decay, rest, ∂decay/∂ν, ∂rest/∂ν),
    compiled; the arguments end with (a, ηΣ)."""
    import sympy as sp

    from dyncheck.numerics.codegen import generate
    from dyncheck.theory.sgd import SDE_STEP, constant_schedule_step, schedule_moment_rate
    from dyncheck.theory.symbols import ADDITIVE_NOISE, CURVATURE, SCHEDULE, SECOND_MOMENT, STEP_SIZE

    scale = sp.Symbol("noise_scale", positive=True)  # ηΣ enters only as the product η·σ_a²
    to_scale = {STEP_SIZE: scale, ADDITIVE_NOISE: 1}
    rate = generate(schedule_moment_rate().subs(to_scale), (SCHEDULE, SECOND_MOMENT, CURVATURE, scale))
    step = constant_schedule_step().subs(to_scale)
    decay, rest = sp.diff(step, SECOND_MOMENT), step.subs(SECOND_MOMENT, 0)  # the step is affine in m: decay·m + rest
    parts = sp.Tuple(decay, rest, sp.diff(decay, SCHEDULE), sp.diff(rest, SCHEDULE))
    return rate, generate(parts, (SCHEDULE, SDE_STEP, CURVATURE, scale))


def piecewise_schedule(values, horizon: float) -> Callable[[float], float]:
    """ν(t) taking ``values[i]`` on the i-th of len(values) equal pieces of [0, T] (the last one from its start on)."""
    values = np.asarray(values, float)
    width = horizon / values.size
    return lambda t: float(values[min(int(t / width), values.size - 1)])


def schedule_moments(schedule: Callable[[float], float], times, *, curvature: float, noise_scale: float, start: float, breaks=()) -> np.ndarray:
    """m(t) at ``times`` (ascending, ≥ 0) for :func:`dyncheck.theory.sgd.schedule_moment_rate`, ṁ = −2aν(t)m +
    ν(t)²ηΣ, m(0) = x₀² (``noise_scale`` ηΣ): DOP853 (:func:`dyncheck.numerics.solvers.adaptive`) between ``breaks``
    (where ν has a kink), so every piece is smooth."""
    from dyncheck.numerics.solvers import adaptive

    rate, _ = _schedule_functions()
    times = np.asarray(times, float)
    end = float(times[-1])
    points = [0.0, *sorted(b for b in breaks if 0 < b < end), end]
    values, moment = np.full(times.size, float(start) ** 2), float(start) ** 2
    for low, high in zip(points[:-1], points[1:]):
        inside = (times > low) & (times < high)
        path = adaptive(lambda t, m: rate(schedule(t), m, curvature, noise_scale), (low, high), [moment], t_eval=np.append(times[inside], high), rtol=1e-11, atol=1e-14)
        values[inside] = path.y[0, :-1]
        moment = float(path.y[0, -1])
        values[times == high] = moment
    return values


def schedule_moment(schedule: Callable[[float], float], *, curvature: float, noise_scale: float, start: float, horizon: float, breaks=()) -> float:
    """m(T) of :func:`schedule_moments`."""
    return float(schedule_moments(schedule, [horizon], curvature=curvature, noise_scale=noise_scale, start=start, breaks=breaks)[-1])


def best_piecewise_schedule(*, curvature: float, noise_scale: float, start: float, horizon: float, pieces: int = 40) -> tuple[np.ndarray, float]:
    """(ν_1 … ν_K, m(T)): the best schedule constant on each of ``pieces`` equal intervals, ν_i ∈ [0, 1], by L-BFGS-B
    from ν = 1 on :func:`dyncheck.theory.sgd.constant_schedule_step` (each piece solved exactly), with the exact
    gradient: the chain rule backwards through the pieces, ∂m′/∂ν and ∂m′/∂m differentiated by SymPy."""
    from scipy.optimize import minimize

    if pieces < 1:
        raise UsageError("a piecewise schedule needs at least one piece")
    _, step = _schedule_functions()
    h = horizon / pieces

    def terminal(nu):
        decay, rest, d_decay, d_rest = (np.broadcast_to(np.asarray(part, float), nu.shape) for part in step(nu, h, curvature, noise_scale))
        moments = [float(start) ** 2]
        for i in range(pieces):
            moments.append(decay[i] * moments[-1] + rest[i])
        gradient, carry = np.empty(pieces), 1.0  # carry = ∂m(T)/∂m_{i+1}
        for i in reversed(range(pieces)):
            gradient[i] = carry * (d_decay[i] * moments[i] + d_rest[i])
            carry *= decay[i]
        return moments[-1], gradient

    found = minimize(terminal, np.ones(pieces), jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * pieces, options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 10_000})
    return found.x, float(found.fun)


def plot_schedules(schedules: dict[str, Callable[[float], float]], moments: dict[str, np.ndarray], times: np.ndarray, path, title: str) -> None:
    """Left: each schedule ν(t); right: its second moment m(t) on a log axis."""
    from dyncheck.numerics.figures import figure

    with figure(path, figsize=(10.5, 4.0)) as fig:
        left, right = fig.subplots(1, 2)
        for name, schedule in schedules.items():
            left.plot(times, [schedule(t) for t in times], label=name)
            right.semilogy(times, moments[name], label=name)
        left.set(xlabel=r"time $t = k\eta$", ylabel=r"$\nu(t)$: the learning rate over $\eta$", title="schedules")
        right.set(xlabel=r"time $t = k\eta$", ylabel=r"$m(t) = \mathbb{E}\,x^2$ (log scale)", title="second moment under each schedule (SME)")
        left.legend()
        right.legend()
        fig.suptitle(title)
