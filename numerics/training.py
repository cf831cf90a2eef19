r"""Gradient descent on finite networks, side by side with their linearization.

The data are generated (:func:`sphere_data`): inputs on the sphere of radius
√d, so that every input has x·x/d = 1, and targets chosen by the caller.

:func:`train` runs full-batch gradient descent (or minibatch SGD) on
L(θ) = ½‖f(X; θ) − y‖² and, on the same steps and minibatches, the
linearized model f^lin(θ) = f(θ₀) + J₀(θ − θ₀) (Lee et al. 2019).  The
linearized model is linear in θ, so its gradient-descent step is exact in
function space: f^lin_{t+1}(Z) = f^lin_t(Z) − η Θ₀(Z, X_B)(f^lin_t(X_B) − y_B),
with Θ₀ = J₀J₀ᵀ the network's own empirical NTK at initialisation.

``centred=True`` trains g(x; θ) = f(x; θ) − f(x; θ₀) (Chizat, Oyallon &
Bach 2019): the same gradients and NTK, with g₀ = 0, so the residual starts
at −y for every network and the infinite-width prediction
r_t = (I − ηΘ)^t r₀ is deterministic.

:func:`ntk_velocity` is the first–second derivative correlation that drives
the NTK during training: along gradient flow θ̇ = −J₀ᵀr₀,
Θ̇_ij = −Σ_k (T_ijk + T_jik) r_k with T_ijk = Σ_{μν} ∂_μ f_i ∂²_{μν} f_j ∂_ν f_k
(Dyer & Gur-Ari 2019; Shem-Ur & Oz 2024, whose weak correlations are these).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from dyncheck.numerics.networks import (
    Network,
    autograd_gradient,
    autograd_ntk,
    torch_function,
    torch_ntk,
)
from dyncheck.numerics.sweep import grid_of, sweep

__all__ = [
    "ENGINES",
    "TrainingRun",
    "WidthSweep",
    "autograd_ntk_velocity",
    "natural_step",
    "ntk_velocity",
    "plot_width_sweep",
    "sphere_data",
    "train",
    "width_sweep",
]

#: How gradients and Θ₀ are computed: the hand-written backpropagation of :class:`Network`, or torch autograd.
ENGINES = {
    "backprop": (Network.gradient, Network.ntk),
    "autograd": (autograd_gradient, autograd_ntk),
}


def sphere_data(count: int, dimension: int, seed: int = 0) -> np.ndarray:
    """``count`` inputs uniform on the sphere of radius √dimension (x·x/d = 1)."""
    x = np.random.default_rng(seed).standard_normal((count, dimension))
    return x / np.linalg.norm(x, axis=1, keepdims=True) * np.sqrt(dimension)


@dataclass(frozen=True)
class TrainingRun:
    """Losses ½‖f_t(X) − y‖² of the network and its linearization, and both models' outputs on Z = [X; X_test]."""

    losses: np.ndarray  # (steps + 1,)
    linear_losses: np.ndarray  # (steps + 1,)
    outputs: np.ndarray  # (steps + 1, len(Z))
    linear_outputs: np.ndarray  # (steps + 1, len(Z))

    @property
    def linearization_gap(self) -> float:
        """sup_t ‖f_t(Z) − f^lin_t(Z)‖ / √|Z|: the RMS deviation from the linear model, at its worst step."""
        return float(np.sqrt(np.mean((self.outputs - self.linear_outputs) ** 2, axis=1)).max())


def natural_step(gram: np.ndarray) -> float:
    """1/λ_max of an NTK Gram matrix Θ(X, X): the GD step that moves every eigenmode of the linearized model
    stably, in either parameterisation (the mean-field network's is n times the NTK network's)."""
    return 1 / np.linalg.eigvalsh(gram)[-1]


def train(
    network: Network,
    x: np.ndarray,
    y: np.ndarray,
    lr: float,
    steps: int,
    *,
    x_test: np.ndarray | None = None,
    batch_size: int | None = None,
    centred: bool = False,
    seed: int = 0,
    engine: str = "backprop",
) -> TrainingRun:
    """Train a copy of ``network`` by GD (``batch_size`` None) or SGD, with its linearization on the same batches.

    ``engine`` computes the gradients and Θ₀: ``"backprop"`` (numpy) or ``"autograd"`` (torch).
    """
    gradient, ntk = ENGINES[engine]
    network = network.copy()
    z = x if x_test is None else np.concatenate([x, x_test])
    n = x.shape[0]
    theta0 = ntk(network, z)[:, :n]
    initial = network(z)
    offset = initial if centred else np.zeros(z.shape[0])
    outputs, linear = [initial - offset], [initial - offset]
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        batch = np.arange(n) if batch_size is None else rng.choice(n, batch_size, replace=False)
        residual = outputs[-1][batch] - y[batch]
        network.descend(gradient(network, x[batch], residual), lr)
        linear.append(linear[-1] - lr * theta0[:, batch] @ (linear[-1][batch] - y[batch]))
        outputs.append(network(z) - offset)
    outputs, linear = np.array(outputs), np.array(linear)
    return TrainingRun(
        0.5 * np.sum((outputs[:, :n] - y) ** 2, axis=1),
        0.5 * np.sum((linear[:, :n] - y) ** 2, axis=1),
        outputs,
        linear,
    )


def ntk_velocity(network: Network, x: np.ndarray, y: np.ndarray, lr: float = 1.0, *, step: float = 1e-4) -> float:
    r"""‖Θ̇‖_F / ‖Θ‖_F at θ₀ along gradient flow θ̇ = −lr·∇L on L = ½‖f(X) − y‖², by a central difference in θ:
    the NTK's relative change per unit of time of gradient descent with step ``lr``.

    The direction is −∇L = −J₀ᵀ(f₀ − y); the difference step is ``step``
    times the parameters' RMS over the direction's RMS, so that the O(step²)
    error is relative to the NTK itself (≲ 1e-6 relative at the default, against the exact jvp).
    """
    gradient = network.gradient(x, network(x) - y)
    flat = np.concatenate([g.ravel() for part in gradient for g in part])
    params = np.concatenate([p.ravel() for p in (*network.weights, *network.biases)])
    epsilon = step * np.sqrt(np.mean(params**2) / np.mean(flat**2))
    ahead, behind = network.copy(), network.copy()
    ahead.descend(gradient, epsilon)
    behind.descend(gradient, -epsilon)
    velocity = (ahead.ntk(x) - behind.ntk(x)) / (2 * epsilon)
    return float(lr * np.linalg.norm(velocity) / np.linalg.norm(network.ntk(x)))


def autograd_ntk_velocity(network: Network, x: np.ndarray, y: np.ndarray, lr: float = 1.0) -> float:
    """:func:`ntk_velocity` exactly: the directional derivative of θ ↦ Θ(θ) along −lr·∇L by torch.func.jvp
    (forward over reverse mode), with the gradient from torch autograd."""
    import torch
    from torch.func import jvp

    f, params = torch_function(network)
    inputs = torch.from_numpy(np.asarray(x, float))
    grad_w, grad_b = autograd_gradient(network, x, network(x) - y)
    direction = {f"w{i}": -lr * torch.from_numpy(g) for i, g in enumerate(grad_w)}
    direction.update({f"b{i}": -lr * torch.from_numpy(g) for i, g in enumerate(grad_b)})
    ntk, velocity = jvp(lambda p: torch_ntk(f, p, inputs), (params,), (direction,))
    return float(torch.linalg.norm(velocity) / torch.linalg.norm(ntk))


@dataclass
class WidthSweep:
    """Per parameterisation and width: replicate linearization gaps, final losses, and (NTK only) the relative
    distance ‖Θ₀ − Θ∞‖_F/‖Θ∞‖_F of the empirical NTK at initialisation from the analytic one."""

    widths: list[int]
    gaps: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    losses: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    kernel_errors: dict[int, np.ndarray] = field(default_factory=dict)


def width_sweep(
    phi,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    analytic_ntk: np.ndarray,
    widths,
    replicates: int,
    steps: int,
    *,
    depth: int,
    sw2: float,
    sb2: float,
    parameterisations=("ntk", "mean-field"),
    batch_size: int | None = None,
    seed: int = 0,
    jobs: int | None = 1,
    scheduler=None,
    store=None,
    progress=True,
) -> WidthSweep:
    """Train ``replicates`` networks of activation ``phi`` per parameterisation and width, each with the step
    1/λ_max of its own Θ₀, beside their linearization on [x; x_test]: one task of the sweep engine
    (:func:`dyncheck.numerics.sweep.sweep`; ``jobs``, ``scheduler`` and ``store`` are its executors and
    its resumable store), whose spawned seed draws the network and the minibatches."""
    grid = grid_of(parameterisation=list(parameterisations), width=[int(w) for w in widths])
    task = functools.partial(
        _train_beside_linearization, phi=phi, x=x, y=y, x_test=x_test, analytic_ntk=analytic_ntk,
        steps=steps, depth=depth, sw2=sw2, sb2=sb2, batch_size=batch_size,
    )
    result = sweep(task, grid, replicates, seed=seed, jobs=jobs, scheduler=scheduler, store=store, progress=progress, description="train linearized")
    out = WidthSweep([int(w) for w in widths])
    for i, point in enumerate(result.grid):
        p, w = point["parameterisation"], point["width"]
        out.gaps.setdefault(p, {})[w] = result.values["gap"][i]
        out.losses.setdefault(p, {})[w] = result.values["loss"][i]
        if p == "ntk":
            out.kernel_errors[w] = result.values["kernel_error"][i]
    return out


def _train_beside_linearization(point, seed, *, phi, x, y, x_test, analytic_ntk, steps, depth, sw2, sb2, batch_size) -> dict:
    """One network of the width sweep: its linearization gap, final loss and (NTK) ‖Θ₀ − Θ∞‖/‖Θ∞‖."""
    network_seed, batch_seed = seed.spawn(2)
    network = Network.random(phi, x.shape[1], point["width"], depth, sw2, sb2, network_seed, point["parameterisation"])
    theta = network.ntk(np.concatenate([x, x_test]))
    run = train(network, x, y, natural_step(theta[: len(x), : len(x)]), steps, x_test=x_test, batch_size=batch_size, seed=batch_seed)
    error = np.linalg.norm(theta - analytic_ntk) / np.linalg.norm(analytic_ntk) if point["parameterisation"] == "ntk" else np.nan
    return {"gap": run.linearization_gap, "loss": run.losses[-1], "kernel_error": error}


def plot_width_sweep(sweep: WidthSweep, exponents: dict[str, float], title: str, path: str) -> None:
    """Two log–log panels against width: the empirical NTK's distance from the analytic one, and
    sup_t ‖f_t − f^lin_t‖ per parameterisation; replicate means with standard errors and fitted exponents,
    the reference power laws drawn over them."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    widths = np.array(sweep.widths, float)

    def band(ax, values: dict[int, np.ndarray], label: str, marker: str):
        mean = np.array([values[w].mean() for w in sweep.widths])
        error = np.array([values[w].std(ddof=1) / np.sqrt(values[w].size) for w in sweep.widths])
        ax.errorbar(widths, mean, yerr=error, fmt=marker + "-", ms=5, capsize=2, zorder=DATA, label=label)
        return mean

    with figure(path, figsize=(10, 4.2)) as fig:
        left, right = fig.subplots(1, 2)
        if sweep.kernel_errors:
            mean = band(left, sweep.kernel_errors, rf"measured ($\propto n^{{{exponents.get('kernel', np.nan):.2f}}}$) ± s.e.", "o")
            left.plot(widths, mean[0] * (widths / widths[0]) ** -0.5, "k:", zorder=THEORY, label=r"$n^{-1/2}$")
        left.set(xscale="log", yscale="log", xlabel="width $n$", ylabel=r"$\|\Theta_0 - \Theta_\infty\|_F \,/\, \|\Theta_\infty\|_F$",
                 title="empirical NTK → analytic NTK")
        left.legend()
        for parameterisation, marker in zip(sweep.gaps, "os"):
            label = rf"{parameterisation} ($\propto n^{{{exponents.get(parameterisation, np.nan):.2f}}}$) ± s.e."
            mean = band(right, sweep.gaps[parameterisation], label, marker)
        reference = np.array([sweep.gaps["ntk"][w].mean() for w in sweep.widths])[0] if "ntk" in sweep.gaps else mean[0]
        right.plot(widths, reference * (widths / widths[0]) ** -0.5, "k:", zorder=THEORY, label=r"$n^{-1/2}$ (Lee et al.'s bound)")
        right.plot(widths, reference * (widths / widths[0]) ** -1.0, "k--", lw=1, zorder=THEORY, label=r"$n^{-1}$")
        right.set(xscale="log", yscale="log", xlabel="width $n$", ylabel=r"$\sup_t \|f_t - f^{\mathrm{lin}}_t\|$ (RMS over inputs)",
                  title="distance from the linearized model")
        right.legend()
        fig.suptitle(title)
