r"""Gradient descent run as the dynamical system it is: divergence thresholds measured three ways.

On the loss ½ Σ_k λ_k θ_k² with step η every coordinate is its own system at x_k = ηλ_k, so one
vector of coordinates runs a whole grid of x at once:

* :func:`growth` iterates the update rules of :mod:`dyncheck.theory.gradient_descent` (the same
  functions SymPy linearises) on numpy arrays in double precision, or on mpmath numbers at any
  precision (:func:`mp_growth`);
* :func:`torch_growth` runs the real optimizers, ``torch.optim.SGD`` with the arguments of each
  convention (momentum, ``nesterov=True``, ``dampening=β`` for the frozen-preconditioner Adam),
  on float64 tensors — an implementation independent of dyncheck's;
* :func:`divergence_bracket` finds where a run stops converging: a grid of x, refined around the
  first divergent point, safe against overflow (a non-finite value counts as divergent), and
  refusing to answer when the grid is not stable-then-divergent.

Beyond quadratics: the sharpness of a network's loss (:class:`LossHessian`, :func:`sharpness`, certified
by a residual bound), full-batch GD at the edge of stability (:func:`gd_run`, :func:`edge_of_stability`),
gradient flows by the core's DOP853 (:func:`gradient_flow_sharpness`, :func:`deep_linear_flow`,
:func:`logistic_flow_directions`), and the implicit-bias problems (least squares, separable logistic
regression).

A run starts at θ = 1 with empty buffers and counts as divergent when max |θ| over its last
:data:`WINDOW` steps exceeds 1.  Near the threshold x* the spectral radius is 1 ± c|x − x*| with
c ≥ 2/x* for these maps, so ``steps`` iterations resolve relative distances ≳ ln(K)/(c x* steps),
K the transient growth of a non-normal map (≤ 10 here): 3 × 10⁻⁴ at 4000 steps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.sweep import sweep

from dyncheck.numerics.codegen import generate
from dyncheck.theory.errors import UsageError
from dyncheck.theory.gradient_descent import OPTIMIZERS, self_stabilisation_map
from dyncheck.theory.symbols import DISPLACEMENT, SHARPENING_RATE, SHARPNESS_EXCESS, STABILISATION_STRENGTH, STEP_SIZE

__all__ = [
    "DIVERGED",
    "EdgeFrame",
    "REDUCTIONS",
    "WINDOW",
    "LossHessian",
    "Sharpness",
    "TrainingRun",
    "deep_linear_flow",
    "divergence_bracket",
    "edge_descent",
    "edge_frame",
    "edge_of_stability",
    "edge_of_stability_problem",
    "gd_run",
    "gradient_flow_sharpness",
    "growth",
    "least_squares_descent",
    "logistic_descent",
    "logistic_flow_directions",
    "least_squares_growth",
    "mp_least_squares_growth",
    "mp_growth",
    "plot_edge_of_stability",
    "plot_implicit_bias",
    "power_iteration",
    "pulled_linear_network",
    "random_labels",
    "self_stabilisation_orbit",
    "separable_points",
    "sharpness",
    "svm_direction",
    "torch_gd_dense_sharpness",
    "torch_growth",
    "whole_cycles",
]

#: Steps at the end of a run over which max |θ| is taken (an oscillating mode passes near 0).
WINDOW = 32


def _checked(name: str, beta: float) -> None:
    if name not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {name!r}; choose {', '.join(OPTIMIZERS)}")
    if not 0 <= beta < 1:
        raise UsageError("the momentum β must lie in [0, 1)")


def growth(name: str, x, beta: float, steps: int) -> np.ndarray:
    """max |θ| over the last :data:`WINDOW` of ``steps`` steps from θ = 1, for every ηλ in ``x`` (numpy, float64)."""
    _checked(name, beta)
    optimizer = OPTIMIZERS[name]
    x = np.asarray(x, float)
    theta, state = np.ones_like(x), tuple(np.zeros_like(x) for _ in range(optimizer.buffers))
    largest = np.zeros_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            theta, state = optimizer.step(theta, state, x * theta, 1.0, beta)
            if step >= steps - WINDOW:
                largest = np.fmax(largest, np.abs(theta))
    return np.where(np.isfinite(theta), largest, np.inf)  # an overflow ends as inf or NaN, and NaN stays


def mp_growth(name: str, x, beta, steps: int, dps: int = 30) -> list:
    """As :func:`growth`, in mpmath at ``dps`` digits (``x`` and ``beta`` exact: strings or rationals)."""
    import mpmath

    optimizer = OPTIMIZERS[name]
    with mpmath.workdps(dps):
        beta = mpmath.mpf(beta)
        out = []
        for value in x:
            value = mpmath.mpf(value)
            theta, state, largest = mpmath.mpf(1), tuple(mpmath.mpf(0) for _ in range(optimizer.buffers)), mpmath.mpf(0)
            for step in range(steps):
                theta, state = optimizer.step(theta, state, value * theta, 1, beta)
                if step >= steps - WINDOW:
                    largest = max(largest, abs(theta))
            out.append(largest)
    return out


def torch_growth(name: str, x, beta: float, steps: int) -> np.ndarray:
    """As :func:`growth`, by ``torch.optim.SGD`` on ½ Σ x_k θ_k² with lr 1 (float64 CPU tensors)."""
    import torch

    _checked(name, beta)
    arguments = {
        "gd": {},
        "heavy-ball": {"momentum": beta},
        "nesterov": {"momentum": beta, "nesterov": True},
        "adam": {"momentum": beta, "dampening": beta},
    }[name]
    if name == "nesterov" and beta == 0:
        arguments = {}  # torch refuses Nesterov without momentum; at β = 0 it is plain GD
    curvature = torch.as_tensor(np.asarray(x, float))
    theta = torch.ones_like(curvature, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=1.0, **arguments)
    largest = torch.zeros_like(curvature)
    for step in range(steps):
        optimizer.zero_grad(set_to_none=False)
        with torch.no_grad():
            theta.grad = curvature * theta.detach()  # ∇ of ½ Σ x_k θ_k², set directly: no graph a step
        optimizer.step()
        if step >= steps - WINDOW:
            with torch.no_grad():
                largest = torch.fmax(largest, theta.detach().abs())
    return np.where(np.isfinite(theta.detach().numpy()), largest.numpy(), np.inf)


def least_squares_descent(features: np.ndarray, targets: np.ndarray, starts: np.ndarray, eta, steps: int) -> np.ndarray:
    """Full-batch GD w ← w − (η/N)Xᵀ(Xw − y) on L(w) = (1/2N)‖Xw − y‖² from each row of ``starts`` (vectorized; ``eta``
    a number, or one a row as a column), after ``steps`` steps."""
    x, y, w = np.asarray(features, float), np.asarray(targets, float), np.array(starts, float)
    for _ in range(steps):
        w -= eta * ((w @ x.T - y) @ x) / x.shape[0]
    return w


def least_squares_growth(features: np.ndarray, targets: np.ndarray, etas, steps: int) -> np.ndarray:
    """Full-batch GD on L(w) = (1/2N)‖Xw − y‖² from w = 0, one run per η (vectorized): max over the last
    :data:`WINDOW` steps of ‖w − w*‖/‖w*‖, w* the least-squares solution."""
    x, y = np.asarray(features, float), np.asarray(targets, float)
    solution = np.linalg.lstsq(x, y, rcond=None)[0]
    etas = np.asarray(etas, float)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        w = least_squares_descent(x, y, np.zeros((etas.shape[0], x.shape[1])), etas, max(steps - WINDOW, 0))
        largest = np.zeros(etas.shape[0])
        for _ in range(min(steps, WINDOW)):
            w = least_squares_descent(x, y, w, etas, 1)
            largest = np.fmax(largest, np.linalg.norm(w - solution, axis=1) / np.linalg.norm(solution))
    return np.where(np.isfinite(w).all(axis=1), largest, np.inf)


def mp_least_squares_growth(features, targets, etas, steps: int, dps: int = 30) -> list:
    """As :func:`least_squares_growth` in mpmath at ``dps`` digits (exact integer data; ``etas`` strings or mpf)."""
    import mpmath

    with mpmath.workdps(dps):
        x, y = mpmath.matrix([[mpmath.mpf(v) for v in row] for row in features]), mpmath.matrix([mpmath.mpf(v) for v in targets])
        n = x.rows
        solution = mpmath.lu_solve(x.T * x, x.T * y)
        scale = mpmath.norm(solution)
        out = []
        for eta in etas:
            eta, w, largest = mpmath.mpf(eta), mpmath.matrix(x.cols, 1), mpmath.mpf(0)
            for step in range(steps):
                w = w - (eta / n) * (x.T * (x * w - y))
                if step >= steps - WINDOW:
                    largest = max(largest, mpmath.norm(w - solution) / scale)
            out.append(largest)
    return out


def divergence_bracket(diverges: Callable[[np.ndarray, bool], np.ndarray], lo: float, hi: float, *, points: int = 64, rounds: int = 3) -> tuple[float, float] | None:
    """(x_stable, x_divergent): neighbours on a grid over [lo, hi] (geometric, then linear refinements between
    the last stable and the first divergent point) where ``diverges(grid, final)`` (a vectorized test; ``final``
    on the last round, which must resolve its grid's spacing — earlier rounds may run shorter) turns True.

    None when the grid is not stable-then-divergent (divergent at ``lo``, stable at ``hi``, or stable
    again beyond a divergent point): no threshold to report."""
    grid = np.geomspace(lo, hi, points)
    for round_ in range(rounds):
        divergent = np.asarray(diverges(grid, round_ == rounds - 1), bool)
        if divergent[0] or not divergent[-1]:
            return None
        first = int(np.argmax(divergent))
        if not divergent[first:].all():
            return None
        stable, unstable = grid[first - 1], grid[first]
        grid = np.linspace(stable, unstable, points)
    return float(stable), float(unstable)


# ---------------------------------------------------------------------------
# Sharpness: the largest eigenvalue of the training loss's Hessian


#: The factor c of the squared-error loss L = c Σ (f − y)² over its K entries (samples × outputs), by the
#: name of the reduction: ``half-mean`` is the ½-mean loss of the edge-of-stability papers, ``mean`` is
#: ``torch.nn.MSELoss()`` — its Hessian, and so its sharpness, is 2× the ½-mean's — ``sum`` and ``half-sum``.
REDUCTIONS = {
    "sum": lambda k: 1.0,
    "half-sum": lambda k: 0.5,
    "mean": lambda k: 1.0 / k,
    "half-mean": lambda k: 0.5 / k,
}


class LossHessian:
    """The Hessian of L(θ) = c Σ (f_θ(x) − y)² in all the parameters of a network (:class:`~dyncheck.numerics.networks.Network`),
    at its present parameters, as exact Hessian–vector products on flat vectors (float64): reverse over reverse —
    the gradient's graph is built once, and each product is one more backward pass through it.  :meth:`dense`
    gives the whole matrix (``torch.func.hessian``) for small networks."""

    def __init__(self, network, x, y, reduction: str = "half-mean"):
        import torch

        from dyncheck.numerics.networks import torch_flat_function

        if reduction not in REDUCTIONS:
            raise UsageError(f"unknown loss reduction {reduction!r}; choose {', '.join(REDUCTIONS)}")
        f, point = torch_flat_function(network)
        inputs, targets = (torch.as_tensor(np.asarray(a, float)) for a in (x, y))
        scale = REDUCTIONS[reduction](targets.numel())

        def loss(flat):
            return scale * ((f(flat, inputs) - targets) ** 2).sum()

        self.size = point.numel()
        self.reduction = reduction
        self._point = point.clone().requires_grad_(True)
        self._loss, self._torch = loss, torch
        (self._gradient,) = torch.autograd.grad(loss(self._point), self._point, create_graph=True)

    def __matmul__(self, vector: np.ndarray) -> np.ndarray:
        """H v, exact to rounding."""
        tangent = self._torch.as_tensor(np.asarray(vector, float).reshape(-1))
        (product,) = self._torch.autograd.grad(self._gradient, self._point, grad_outputs=tangent, retain_graph=True)
        return product.numpy()

    def dense(self) -> np.ndarray:
        """The whole Hessian (size × size): ``torch.func.hessian``, for checks on small networks."""
        from torch.func import hessian

        return hessian(self._loss)(self._point.detach()).numpy()


@dataclass(frozen=True)
class Sharpness:
    """λ_max of a Hessian with its error bar: some eigenvalue of H lies within ``residual`` = ‖Hv − λv‖ of ``value``
    (v the unit Ritz vector; H symmetric), and ``products`` Hessian–vector products were spent."""

    value: float
    residual: float
    products: int
    vector: np.ndarray | None = None


def sharpness(hessian: LossHessian, *, tolerance: float = 1e-10, seed: int = 0, start: np.ndarray | None = None) -> Sharpness:
    """The largest *algebraic* eigenvalue of ``hessian`` by implicitly restarted Lanczos (ARPACK ``eigsh``,
    which="LA") on exact Hessian–vector products — λ_max, not the eigenvalue of largest modulus, which an
    indefinite Hessian away from a minimum need not share — with its residual bound.  ``start``: the first
    Lanczos vector (a previous top eigenvector, along a training run), else a Gaussian draw of ``seed``."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    products = [0]

    def product(v):
        products[0] += 1
        return hessian @ v

    start = np.random.default_rng(seed).standard_normal(hessian.size) if start is None else np.asarray(start, float)
    values, vectors = eigsh(LinearOperator((hessian.size,) * 2, matvec=product, dtype=float), k=1, which="LA", tol=tolerance, v0=start)
    vector = vectors[:, 0] / np.linalg.norm(vectors[:, 0])
    residual = float(np.linalg.norm(hessian @ vector - values[0] * vector))
    return Sharpness(float(values[0]), residual, products[0] + 1, vector)


def power_iteration(hessian: LossHessian, iterations: int, *, seed: int = 0) -> Sharpness:
    """Plain power iteration, the Rayleigh quotient after ``iterations`` products: it converges to the eigenvalue of
    largest *modulus*, negative on an indefinite Hessian dominated by negative curvature (a baseline, not λ_max)."""
    vector = np.random.default_rng(seed).standard_normal(hessian.size)
    for _ in range(iterations):
        image = hessian @ vector
        vector = image / np.linalg.norm(image)
    image = hessian @ vector
    value = float(vector @ image)
    return Sharpness(value, float(np.linalg.norm(image - value * vector)), iterations + 1, vector)


# ---------------------------------------------------------------------------
# The edge of stability (Cohen, Kaur, Li, Kolter & Talwalkar 2021)


#: A run whose loss grows past this multiple of its initial loss has diverged (a catapult, Lewkowycz et al. 2020,
#: rises by far less before it comes back down).
DIVERGED = 1e6


@dataclass(frozen=True)
class TrainingRun:
    """Full-batch GD on the ½-mean squared error: the loss at every step, the sharpness every ``every`` steps."""

    eta: float
    loss: np.ndarray
    sharpness_steps: np.ndarray
    sharpness: np.ndarray
    residuals: np.ndarray

    def late_sharpness(self, after: int) -> np.ndarray:
        """The sharpness measured at steps ≥ ``after``."""
        return self.sharpness[self.sharpness_steps >= after]


def random_labels(samples: int = 128, dimension: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inputs (samples × dimension) and independent ±1 labels: a fit that needs the network to bend,
    which is what makes it sharpen (Cohen et al. 2021 see the same on CIFAR subsets)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, dimension)), np.sign(rng.standard_normal(samples))


def gd_run(network, x, y, eta: float, steps: int, *, every: int = 40, progress: Callable[[int, int], None] | None = None) -> TrainingRun:
    """``steps`` of θ ← θ − η∇L on L = (1/2N)Σ(f(x_i) − y_i)² (the network substrate's backward pass, in place), with
    the sharpness (:func:`sharpness` on exact HVPs, each warm-started from the last top eigenvector) every ``every`` steps."""
    if not eta > 0 or steps < 1 or every < 1:
        raise UsageError("need η > 0, at least one step and a positive sharpness interval")
    n = x.shape[0]
    loss, measured_at, values, residuals, start = np.empty(steps + 1), [], [], [], None
    for step in range(steps + 1):
        residual = network(x) - y
        loss[step] = 0.5 * np.mean(residual**2)
        if not np.isfinite(loss[step]) or loss[step] > DIVERGED * loss[0]:
            raise UsageError(f"GD diverged at step {step} (η = {eta:g}): the loss grew {loss[step] / loss[0]:.3g}-fold; try a smaller η")
        if step % every == 0 or step == steps:
            found = sharpness(LossHessian(network, x, y, "half-mean"), tolerance=1e-8, start=start)
            measured_at.append(step)
            values.append(found.value)
            residuals.append(found.residual)
            start = found.vector
            if progress:
                progress(step, steps)
        if step < steps:
            network.descend(network.gradient(x, residual / n), eta)
    return TrainingRun(eta, loss, np.array(measured_at), np.array(values), np.array(residuals))


def gradient_flow_sharpness(network, x, y, times) -> dict[float, float]:
    """λ_max of the ½-mean loss's Hessian along the gradient flow θ̇ = −∇L from ``network``'s parameters, at ``times``:
    the step-size-free limit of GD, integrated by :func:`dyncheck.numerics.solvers.adaptive` (DOP853) with the
    substrate's backward pass for ∇L, the sharpness by :func:`sharpness`."""
    from dyncheck.numerics.solvers import adaptive

    def velocity(_, flat):
        moved = network.with_flat_parameters(flat)
        return -moved.with_parameters(*moved.gradient(x, (moved(x) - y) / x.shape[0])).flat_parameters()

    path = adaptive(velocity, (0.0, float(max(times))), network.flat_parameters(), t_eval=np.asarray(sorted(times), float))
    return {float(t): sharpness(LossHessian(network.with_flat_parameters(path.y[:, j]), x, y, "half-mean"), tolerance=1e-8).value for j, t in enumerate(path.t)}


def torch_gd_dense_sharpness(network, x, y, eta: float, steps: int, checkpoints) -> dict[int, float]:
    """An independent route to :func:`gd_run`: ``torch.optim.SGD(lr=η)`` on the ½-mean squared error by torch autograd
    (:func:`~dyncheck.numerics.networks.torch_function`, not the substrate's backward pass), and at each step of
    ``checkpoints`` λ_max of the dense Hessian (``torch.func.hessian`` and ``eigvalsh``, not Lanczos)."""
    import torch

    from dyncheck.numerics.networks import torch_function

    f, params = torch_function(network)
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    inputs, targets = torch.as_tensor(np.asarray(x, float)), torch.as_tensor(np.asarray(y, float))
    optimizer = torch.optim.SGD(list(leaves.values()), lr=eta)
    layers, found = range(len(network.weights)), {}
    for step in range(steps + 1):
        if step in checkpoints:
            at = network.with_parameters([leaves[f"w{i}"].detach().numpy().copy() for i in layers], [leaves[f"b{i}"].detach().numpy().copy() for i in layers])
            found[step] = float(np.linalg.eigvalsh(LossHessian(at, x, y, "half-mean").dense()).max())
        if step < steps:
            optimizer.zero_grad()
            (0.5 * ((f(leaves, inputs) - targets) ** 2).mean()).backward()
            optimizer.step()
    return found


def edge_of_stability(etas, *, steps: int = 800, every: int = 40, width: int = 16, depth: int = 2, samples: int = 128, seed: int = 0, phi: str = "tanh", jobs: int | None = 1, scheduler=None, progress=False) -> list[TrainingRun]:
    """:func:`gd_run` at each step size of ``etas`` from one start: a tanh network (standard parameterisation,
    σ_w² = 1, no bias) of ``depth`` hidden layers of ``width`` on :func:`random_labels`.  One η a task of
    :func:`dyncheck.numerics.sweep.sweep` (in this process for ``jobs`` 1 and no ``scheduler``)."""
    task = functools.partial(_edge_of_stability_task, steps=steps, every=every, width=width, depth=depth, samples=samples, seed=seed, phi=phi)
    result = sweep(task, [{"eta": float(eta)} for eta in etas], 1, seed=seed, jobs=jobs or 1, scheduler=scheduler, progress=progress, description="edge of stability")
    values = result.values
    return [
        TrainingRun(float(eta), values["loss"][i, 0], values["sharpness_steps"][i, 0], values["sharpness"][i, 0], values["residuals"][i, 0])
        for i, eta in enumerate(etas)
    ]


def edge_of_stability_problem(*, width: int = 16, depth: int = 2, samples: int = 128, seed: int = 0, phi: str = "tanh"):
    """(network, x, y): :func:`random_labels` in 8 dimensions (``seed``) and a network of ``depth`` hidden layers of
    ``width`` (φ = ``phi``, standard parameterisation, σ_w² = 1, no bias; ``seed + 1``) — the start of every
    edge-of-stability run, and of the claims that compare other dynamics with it."""
    from dyncheck.numerics.networks import Network
    from dyncheck.theory.activations import activation

    x, y = random_labels(samples, 8, seed)
    return Network.random(activation(phi).expr(), x.shape[1], width, depth, 1.0, 0.0, seed=seed + 1, parameterisation="standard"), x, y


def _edge_of_stability_task(point, _seed, *, steps, every, width, depth, samples, seed, phi) -> dict:
    network, x, y = edge_of_stability_problem(width=width, depth=depth, samples=samples, seed=seed, phi=phi)
    run = gd_run(network, x, y, point["eta"], steps, every=every)
    return {"loss": run.loss, "sharpness_steps": run.sharpness_steps, "sharpness": run.sharpness, "residuals": run.residuals}


def plot_edge_of_stability(runs: list[TrainingRun], path, title: str) -> None:
    """Sharpness against step beside each run's 2/η, and the loss (log scale): the figure of Cohen et al. (2021); with
    three runs or more, a third panel: the late-time sharpness (second half: mean and range) against 2/η."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    sweep = len(runs) >= 3
    with figure(path, figsize=(13.0 if sweep else 9.0, 3.8)) as fig:
        panels = fig.subplots(1, 3 if sweep else 2)
        sharp, loss = panels[0], panels[1]
        if sweep:
            edges = np.array([2 / run.eta for run in runs])
            late = [run.late_sharpness(run.loss.size // 2) for run in runs]
            means = np.array([v.mean() for v in late])
            spread = np.array([[m - v.min() for m, v in zip(means, late)], [v.max() - m for m, v in zip(means, late)]])
            panels[2].errorbar(edges, means, yerr=spread, fmt="o", capsize=3, zorder=DATA, label="late sharpness (mean, range)")
            panels[2].plot([0, edges.max() * 1.1], [0, edges.max() * 1.1], "k--", lw=1, zorder=THEORY, label=r"$2/\eta$")
            panels[2].set(xlabel=r"$2/\eta$", ylabel="sharpness over the second half")
            panels[2].legend()
        for run in runs:
            line = sharp.plot(run.sharpness_steps, run.sharpness, zorder=DATA, label=rf"$\eta$ = {run.eta:g}")[0]
            sharp.axhline(2 / run.eta, color=line.get_color(), ls="--", lw=1, zorder=THEORY)
            loss.semilogy(np.arange(run.loss.size), run.loss, lw=0.9, color=line.get_color(), label=rf"$\eta$ = {run.eta:g}")
        sharp.plot([], [], "k--", lw=1, label=r"$2/\eta$ of each run")
        sharp.set(xlabel="step", ylabel=r"sharpness $\lambda_{\max}$")
        sharp.legend()
        loss.set(xlabel="step", ylabel="½-mean squared error")
        loss.legend()
        fig.suptitle(title)


# ---------------------------------------------------------------------------
# Deep linear networks: gradient flow on the substrate, by the core's integrator


# ---------------------------------------------------------------------------
# Self-stabilisation (Damian, Nichani & Lee 2023)


@dataclass(frozen=True)
class EdgeFrame:
    """The reduced dynamics' frame at a reference θ*: the sharpness S = λ_max(∇²L(θ*)), its unit eigenvector u,
    ∇S = ∇³L[u, u, ·] (the gradient of uᵀ∇²L(θ)u with u held: S is a simple eigenvalue), the progressive-sharpening
    rate α = −∇L·∇S and the self-stabilisation strength β = ‖∇S‖².  GD with η = 2/S is at its edge at θ*."""

    point: np.ndarray
    sharpness: float
    top: np.ndarray
    sharpness_gradient: np.ndarray
    alpha: float
    beta: float

    @property
    def eta(self) -> float:
        return 2.0 / self.sharpness

    @property
    def alignment(self) -> float:
        """|u·∇S|/‖∇S‖: 0 where the reduced map's hypothesis ∇S ⟂ u holds."""
        return float(abs(self.top @ self.sharpness_gradient) / np.sqrt(self.beta))

    def coordinates(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) = (u·(θ − θ*), ∇S·(θ − θ*)) of each row of ``thetas``."""
        displacement = np.asarray(thetas) - self.point
        return displacement @ self.top, displacement @ self.sharpness_gradient

    def beside(self, x: float, y: float) -> np.ndarray:
        """The point θ* + x u + y ∇S/β, whose coordinates are (x, y) (u ⟂ ∇S)."""
        return self.point + x * self.top + y * self.sharpness_gradient / self.beta


def edge_frame(loss: Callable, point) -> EdgeFrame:
    """:class:`EdgeFrame` of the torch function ``loss`` (float64 flat parameters → scalar) at ``point``, by autograd:
    the dense Hessian (``torch.func.hessian``, for small models) and ``eigh`` give S and u, one more backward pass
    through the Hessian–vector product gives ∇(uᵀ∇²L u)."""
    import torch
    from torch.func import hessian

    theta = torch.as_tensor(np.asarray(point, float)).clone().requires_grad_(True)
    values, vectors = torch.linalg.eigh(hessian(loss)(theta.detach()))
    if values.numel() > 1 and values[-1] - values[-2] <= 1e-9 * abs(values[-1]):
        raise UsageError(f"the top Hessian eigenvalue {values[-1].item():.6g} is not simple: S has no gradient there")
    top = vectors[:, -1]
    (gradient,) = torch.autograd.grad(loss(theta), theta, create_graph=True)
    (curvature,) = torch.autograd.grad(gradient @ top, theta, create_graph=True)
    (sharpness_gradient,) = torch.autograd.grad(curvature @ top, theta)
    g, s = gradient.detach().numpy(), sharpness_gradient.numpy()
    return EdgeFrame(np.asarray(point, float).copy(), float(values[-1]), top.numpy().copy(), s, float(-g @ s), float(s @ s))


def edge_descent(loss: Callable, frame: EdgeFrame, x: float, y: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Full GD θ ← θ − η∇L at ``frame``'s η = 2/S(θ*) for ``steps`` steps by torch autograd, from
    :meth:`EdgeFrame.beside` (x, y): the coordinates (x_t, y_t) of every iterate, t = 0 … steps − 1."""
    import torch

    theta = torch.as_tensor(frame.beside(x, y)).requires_grad_(True)
    path = np.empty((steps, theta.numel()))
    for step in range(steps):
        path[step] = theta.detach().numpy()
        (gradient,) = torch.autograd.grad(loss(theta), theta)
        with torch.no_grad():
            theta -= frame.eta * gradient
    return frame.coordinates(path)


@functools.cache
def _reduced_map(prefactor: float) -> Callable:
    arguments = (DISPLACEMENT, SHARPNESS_EXCESS, STEP_SIZE, SHARPENING_RATE, STABILISATION_STRENGTH)
    return generate(self_stabilisation_map(prefactor), arguments, "operators")


def self_stabilisation_orbit(x: float, y: float, eta: float, alpha: float, beta: float, steps: int, *, prefactor=0.5) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` points (x_t, y_t) of :func:`dyncheck.theory.gradient_descent.self_stabilisation_map` (with
    ``prefactor``; the paper's is ½) from (x, y), the map compiled to plain arithmetic (floats or mpmath numbers)."""
    step = _reduced_map(sp.nsimplify(prefactor))
    xs, ys = [x], [y]
    for _ in range(steps - 1):
        x, y = step(x, y, eta, alpha, beta)
        xs.append(x)
        ys.append(y)
    return np.array(xs), np.array(ys)


def whole_cycles(y: np.ndarray) -> tuple[int, int] | None:
    """(t₀, t₁): the first and last upward crossings of 0 by the sharpness excess y (y_{t−1} < 0 ≤ y_t), which bound
    whole cycles of self-stabilisation; None with fewer than two."""
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0)) + 1
    return (int(up[0]), int(up[-1])) if up.size >= 2 else None


def pulled_linear_network(strength: float, *, width: int = 4, norm: float = 2.0, seed: int = 0) -> tuple[Callable, np.ndarray]:
    """(loss, θ*): a two-layer linear network f(1) = bᵀa of ``width`` hidden units (θ = (a, b)), driven to the output 0
    on the input 1, its second layer pulled by a constant force p: L(a, b) = ½(bᵀa)² − pᵀb.

    θ* = (0, b*), b* Gaussian (``seed``) rescaled to ``norm``; p = ``strength`` · (b*/‖b*‖ + o), o Gaussian ⟂ b* of
    norm ½ (so the pull also turns b, and u with it).  At θ*: ∇²L = b*b*ᵀ ⊕ 0, so S = ‖b*‖² with u = (b*/‖b*‖, 0);
    ∇S = (0, 2b*) lies in the flat second layer, ⟂ u; ∇L = (0, −p), so α = 2 ``strength`` ‖b*‖ and β = 4‖b*‖².  The
    other hypotheses of :func:`dyncheck.theory.gradient_descent.cubic_step_residuals` hold too (∇³L[s, s, ·] = 0), so
    the reduced map is GD's leading order here, its corrections relatively O(√α): a toy to test it on."""
    import torch

    if width < 2 or not (np.isfinite(strength) and np.isfinite(norm) and norm > 0):
        raise UsageError("need at least 2 hidden units, a finite pull and a positive ‖b*‖")
    rng = np.random.default_rng(seed)
    second = rng.standard_normal(width)
    second *= norm / np.linalg.norm(second)
    across = rng.standard_normal(width)
    across -= (across @ second) / norm**2 * second
    force = torch.as_tensor(strength * (second / norm + 0.5 * across / np.linalg.norm(across)))

    def loss(theta):
        a, b = theta[:width], theta[width:]
        return 0.5 * (b @ a) ** 2 - force @ b

    return loss, np.concatenate([np.zeros(width), second])


def deep_linear_flow(singular_values, initial: float, times, *, time_constant: float = 1.0, seed: int = 0) -> np.ndarray:
    """Mode strengths u_α(t) = u_αᵀ W₂W₁ v_α (modes × times) of a two-layer linear network under the gradient flow
    τẆ = −∇L, L = (1/2n) Σ_i ‖y_i − W₂W₁x_i‖² (Saxe, McClelland & Ganguli 2014).

    Whitened inputs x_i = √n e_i (Σ_xx = I) and targets y_i = Σ_yx x_i with Σ_yx = U diag(s) Vᵀ (U, V random
    orthogonal, ``seed``); as many hidden units as modes; the balanced, aligned start W₁ = √u₀ Vᵀ, W₂ = √u₀ U.  The
    network is the substrate's (two linear layers, biases held at 0: its backward pass gives ∇L), integrated by
    :func:`dyncheck.numerics.solvers.adaptive` (DOP853 at the tolerance table's ``ode_relative``).
    """
    from dyncheck.numerics.networks import Network
    from dyncheck.numerics.solvers import adaptive
    from dyncheck.theory.symbols import X

    s = np.asarray(singular_values, float)
    k = s.size
    rng = np.random.default_rng(seed)
    u, v = (np.linalg.qr(rng.standard_normal((k, k)))[0] for _ in range(2))
    inputs = np.sqrt(k) * np.eye(k)
    targets = inputs @ (u * s @ v.T).T
    zeros = [np.zeros(k), np.zeros(k)]

    def velocity(_, flat):
        first, second = flat[: k * k].reshape(k, k), flat[k * k :].reshape(k, k)
        network = Network([first, second], zeros, X, 1.0, 0.0, "standard", ("linear", "linear"))
        grad_w, _ = network.parameter_vjp(inputs, (network.forward(inputs)[0][-1] - targets) / k)
        return -np.concatenate([g.ravel() for g in grad_w]) / time_constant

    start = np.concatenate([(np.sqrt(initial) * v.T).ravel(), (np.sqrt(initial) * u).ravel()])
    path = adaptive(velocity, (0.0, float(np.max(times))), start, t_eval=np.asarray(times, float)).y
    strengths = np.empty((k, path.shape[1]))
    for j in range(path.shape[1]):
        product = path[k * k :, j].reshape(k, k) @ path[: k * k, j].reshape(k, k)
        strengths[:, j] = np.einsum("ia,ij,ja->a", u, product, v)
    return strengths


# ---------------------------------------------------------------------------
# Separable logistic regression: gradient flow in log-time


def logistic_flow_directions(points, log_times) -> np.ndarray:
    """w(t)/‖w(t)‖ at t = e^s for s in ``log_times`` (rows), along the gradient flow ẇ = −∇L of the logistic loss
    L(w) = Σ_i log(1 + e^{−z_iᵀw}) (rows z_i = y_i x_i) from w(1) = 0.

    In s = log t the flow is dw/ds = e^s Σ_i σ(−z_iᵀw) z_i, smooth as w grows like ŵ s (Soudry et al. 2018), so
    DOP853 (:func:`dyncheck.numerics.solvers.adaptive`) reaches t = e^80 in a few hundred steps; e^s σ(−m) is
    computed as exp(s + log σ(−m)), without overflow."""
    from scipy.special import log_expit

    from dyncheck.numerics.solvers import adaptive

    z = np.asarray(points, float)

    def velocity(s, w):
        return (np.exp(s + log_expit(-(z @ w)))[:, None] * z).sum(axis=0)

    path = adaptive(velocity, (0.0, float(max(log_times))), np.zeros(z.shape[1]), t_eval=np.asarray(sorted(log_times), float)).y.T
    return path / np.linalg.norm(path, axis=1, keepdims=True)


def logistic_descent(points, eta: float, checkpoints) -> np.ndarray:
    """Explicit GD w ← w − η∇L on L(w) = Σ_i log(1 + e^{−z_iᵀw}) from w = 0: the iterates at the steps of ``checkpoints``
    (rows)."""
    from scipy.special import expit

    z = np.asarray(points, float)
    marks = sorted(int(c) for c in checkpoints)
    w, out = np.zeros(z.shape[1]), []
    for step in range(1, marks[-1] + 1):
        w = w + eta * (expit(-(z @ w))[:, None] * z).sum(axis=0)
        if step == marks[len(out)]:
            out.append(w.copy())
    return np.array(out)


def svm_direction(points) -> np.ndarray:
    """The unit hard-margin SVM direction ŵ/‖ŵ‖ (no bias) by its dual, max Σα − ½‖Σα_i z_i‖² over α ≥ 0 (L-BFGS-B):
    the numeric counterpart of :func:`dyncheck.theory.gradient_descent.hard_margin_svm` for data too large to enumerate."""
    from scipy.optimize import minimize

    z = np.asarray(points, float)
    gram = z @ z.T

    def negative_dual(alpha):
        return 0.5 * alpha @ gram @ alpha - alpha.sum(), gram @ alpha - 1.0

    result = minimize(negative_dual, np.full(z.shape[0], 1e-3), jac=True, method="L-BFGS-B", bounds=[(0, None)] * z.shape[0], options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    w = z.T @ result.x
    if not np.all(z @ w > 1 - 1e-6):
        raise UsageError("the data are not separable through the origin")
    return w / np.linalg.norm(w)


def separable_points(samples: int, dimension: int, margin: float, seed: int = 0) -> np.ndarray:
    """Rows z_i = y_i x_i of ``samples`` Gaussian points labelled by a random teacher direction, those within ``margin``
    of its hyperplane redrawn: separable through the origin."""
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal(dimension)
    teacher /= np.linalg.norm(teacher)
    rows = []
    while len(rows) < samples:
        x = rng.standard_normal(dimension)
        if abs(x @ teacher) >= margin:
            rows.append(np.sign(x @ teacher) * x)
    return np.array(rows)


def plot_implicit_bias(steps, distances: dict[str, np.ndarray], path, title: str, ylabel: str, reference: tuple | None = None) -> None:
    """Distance (or angle: ``ylabel`` says which) to each candidate limit against the step, log–log, and a
    ``reference`` law (steps, values, label) drawn over them."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    with figure(path, figsize=(6.4, 4.0)) as fig:
        ax = fig.subplots()
        for label, values in distances.items():
            ax.loglog(steps, np.maximum(values, 1e-300), marker="o", ms=3, zorder=DATA, label=label)
        if reference is not None:
            ax.loglog(reference[0], reference[1], color="black", ls="--", lw=1.0, zorder=THEORY, label=reference[2])
        ax.set(xlabel="step $t$", ylabel=ylabel)
        ax.set_title(title)
        ax.legend()
