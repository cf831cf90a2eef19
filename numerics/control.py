r"""Numerics of the optimal-control view of training: costates, gradients, LQ control.

Residual tanh networks x_{t+1} = x_t + δ tanh(W_t x_t + b_t) (``step=None``:
the dense layer x_{t+1} = tanh(W_t x_t + b_t)), S samples as the rows of x,
terminal cost Φ(x_T, y) = ½‖x_T − y‖² and regulariser L_t = (λ/2)‖θ_t‖².  With
the convention of :mod:`theory.control` (H_t = p·f_t − L_t/S, p_T = −∇Φ/S):

* :func:`pmp_costates` runs the costate recursion p_t = ∇_x H_t and returns the
  states, the costates and ∇_θ J = −Σ_s ∇_θ H_t, written once for numpy and
  torch arrays (CPU or CUDA);
* :func:`autograd_gradients` is the independent route: torch's reverse-mode
  derivatives of J with respect to each x_t and θ_t;
* :func:`complex_step_gradient` a third: ∂J/∂θ_k = Im J(θ + i h e_k)/h, exact
  to rounding (no subtraction), one coordinate per call;
* :func:`euler_adjoint_costates` the continuous-time view: the Euler step of
  the adjoint ODE of the neural ODE whose forward Euler scheme the network is.

Linear–quadratic control (:func:`riccati_gains`, :func:`pmp_lq_controls`,
:func:`direct_lq_controls`): the feedback of dynamic programming, the
maximum principle's two-point boundary problem solved as one linear system,
and the minimiser of the cost over the whole control sequence.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from dyncheck.numerics.codegen import generate
from dyncheck.numerics.networks import Network
from dyncheck.theory.activations import activation
from dyncheck.theory.errors import UsageError
from dyncheck.theory.symbols import COSTATE_GAP, HAMILTONIAN, MSA_PENALTY, STATE_GAP
from dyncheck.theory.control import AUGMENTED_HAMILTONIAN, LITERATURE, Convention, pmp_boundary_residuals, riccati

__all__ = [
    "ResidualNetwork",
    "adjoint_ode_costate",
    "autograd_gradients",
    "complex_step_gradient",
    "direct_lq_controls",
    "euler_adjoint_costates",
    "mean_field_lq_direct",
    "mean_field_lq_pmp",
    "pmp_costates",
    "pmp_lq_controls",
    "riccati_gains",
    "accuracy",
    "digits_problem",
    "gradient_train",
    "msa_train",
    "plot_training",
    "sin_problem",
]


_TANH = activation("tanh").expr()


@dataclass
class ResidualNetwork:
    """Weights W (T, n, n) and biases b (T, n) of a residual (``step``) or dense (``step=None``) tanh network."""

    weights: object
    biases: object
    step: float | None = 0.25
    regularisation: float = 0.0

    @classmethod
    def random(cls, layers: int, width: int, *, step=0.25, regularisation=0.0, scale=1.0, seed=0):
        rng = np.random.default_rng(seed)
        return cls(
            rng.standard_normal((layers, width, width)) * scale / np.sqrt(width),
            rng.standard_normal((layers, width)) * 0.1,
            step,
            regularisation,
        )

    @property
    def layers(self) -> int:
        return self.weights.shape[0]

    def as_network(self) -> Network:
        """The same layers as a :class:`dyncheck.numerics.networks.Network` whose weights are views of these
        (standard parameterisation: W and b act as stored; residual layers of step δ, or dense ones)."""
        kind = "dense" if self.step is None else "residual"
        return Network(
            [self.weights[t] for t in range(self.layers)], [self.biases[t] for t in range(self.layers)], _TANH, 1.0, 1.0,
            "standard", (kind,) * self.layers, 1.0 if self.step is None else self.step,
        )

    def states(self, x0) -> list:
        """x_0 … x_T for the rows of x0 (numpy or torch, as the weights)."""
        return self.as_network().forward(x0)[0]

    def objective(self, x0, y):
        """J = (1/S) Σ_s ½‖x_{s,T} − y_s‖² + Σ_t (λ/2)‖θ_t‖² (analytic: no conjugates, for the complex step)."""
        x = self.states(x0)[-1]
        fit = ((x - y) ** 2).sum() / (2 * x0.shape[0])
        return fit + self.regularisation / 2 * ((self.weights**2).sum() + (self.biases**2).sum())


def pmp_costates(network: ResidualNetwork, x0, y, xp=np, convention: Convention = LITERATURE):
    """States x_0 … x_T, costates p_0 … p_T and (∇_W J, ∇_b J) by the discrete maximum principle.

    p_T = −(x_T − y)/S (``convention`` may state it otherwise, for negative
    controls); p_t = ∇_x H_t = (∂f_t/∂x)ᵀ p_{t+1}, the vector–Jacobian products of the
    network substrate started from p_T; ∇_θ J = −Σ_s ∂H_t/∂θ + λθ, with
    Σ_s ∂(p_{t+1}·f_t)/∂θ_t its parameter products.  ``xp`` is ``numpy`` or ``torch``
    (arrays of that library).
    """
    substrate = network.as_network()
    states, costates, slope_w, slope_b = substrate.pullback(x0, lambda end: convention.terminal(end - y, x0.shape[0]))
    grad_w = [-g + network.regularisation * w for g, w in zip(slope_w, substrate.weights)]
    grad_b = [-g + network.regularisation * b for g, b in zip(slope_b, substrate.biases)]
    return states, costates, (xp.stack(grad_w), xp.stack(grad_b))


def autograd_gradients(network: ResidualNetwork, x0, y):
    """(−∂J/∂x_t for t = 0 … T, ∇_W J, ∇_b J) by torch reverse-mode differentiation (torch arrays)."""
    weights = network.weights.detach().clone().requires_grad_(True)
    biases = network.biases.detach().clone().requires_grad_(True)
    copy = ResidualNetwork(weights, biases, network.step, network.regularisation)
    states = copy.states(x0.detach().clone().requires_grad_(True))
    for x in states[1:]:
        x.retain_grad()
    fit = ((states[-1] - y) ** 2).sum() / (2 * x0.shape[0])
    objective = fit + copy.regularisation / 2 * ((weights**2).sum() + (biases**2).sum())
    objective.backward()
    return [-s.grad for s in states], weights.grad, biases.grad


def euler_adjoint_costates(network: ResidualNetwork, x0, y, evaluation: int = 0):
    """Costates by the Euler step of the adjoint ODE ṗ = −(∂g/∂x)ᵀ p (torch arrays).

    The residual network is forward Euler with step h = ``network.step`` for
    the vector field g_t(x) = tanh(W_t x + b_t); each step backwards is
    p_t = p_{t+1} + h (∂g_t/∂x)ᵀ p_{t+1}, the vector–Jacobian product taken by
    ``torch.func.vjp`` of g_t alone at x_{t + evaluation} (0: the discrete
    costate, see :func:`theory.control.euler_adjoint_residuals`).
    """
    import torch
    from torch.func import vjp

    if network.step is None:
        raise ValueError("the adjoint ODE needs a residual (Euler) network")
    states = network.states(x0)
    costates = [None] * (network.layers + 1)
    costates[-1] = LITERATURE.terminal(states[-1] - y, x0.shape[0])
    for t in reversed(range(network.layers)):

        def field(x, t=t):
            return torch.tanh(x @ network.weights[t].T + network.biases[t])

        _, pullback = vjp(field, states[t + evaluation])
        (slope,) = pullback(costates[t + 1])
        costates[t] = costates[t + 1] + network.step * slope
    return costates


def adjoint_ode_costate(weight, bias, x0, y, horizon: float = 1.0):
    """p(0) of the neural ODE ẋ = g(x) = tanh(W x + b) on [0, horizon] with p(T) = −(x(T) − y)/S (numpy, rows = samples).

    The state runs forward and then, with the adjoint ṗ = −(∂g/∂x)ᵀ p, backwards
    (:func:`dyncheck.numerics.solvers.adaptive`, DOP853): the continuous-time limit of the
    costates of the Euler network with W_t = W, b_t = b, h = T/L.  g and its vector–Jacobian
    product are one dense layer of the network substrate.
    """
    from dyncheck.numerics.solvers import adaptive

    samples, n = x0.shape
    field = Network([weight], [bias], _TANH, 1.0, 1.0, "standard", ("dense",))

    def forward(_, flat):
        return field.forward(flat.reshape(samples, n))[0][-1].ravel()

    x_end = adaptive(forward, (0.0, horizon), x0.ravel()).y[:, -1].reshape(samples, n)
    p_end = -(x_end - y) / samples

    def backward(_, flat):
        x, p = flat[: samples * n].reshape(samples, n), flat[samples * n :].reshape(samples, n)
        passed = field.forward(x, slopes=True)
        return np.concatenate([passed[0][-1].ravel(), -field.backward(x, p, forward=passed)[0].ravel()])

    start = adaptive(backward, (horizon, 0.0), np.concatenate([x_end.ravel(), p_end.ravel()]))
    return start.y[samples * n :, -1].reshape(samples, n)


def complex_step_gradient(network: ResidualNetwork, x0, y, which: str, index: tuple, step: float = 1e-30) -> float:
    """∂J/∂θ at one coordinate (``which`` = "weights" or "biases") by the complex step (numpy)."""
    weights = network.weights.astype(complex)
    biases = network.biases.astype(complex)
    (weights if which == "weights" else biases)[index] += 1j * step
    perturbed = ResidualNetwork(weights, biases, network.step, network.regularisation)
    return float(np.imag(perturbed.objective(x0.astype(complex), y)) / step)


# ---------------------------------------------------------------------------
# Linear–quadratic control


def riccati_gains(a, b, q, r, q_final, horizon: int):
    """Feedback gains K_0 … K_{T−1} and cost-to-go matrices P_0 … P_T (:func:`theory.control.riccati` on numpy arrays)."""
    p, k = riccati(a, b, q, r, q_final, horizon, np.linalg.inv)
    return k, p


def pmp_lq_controls(a, b, q, r, q_final, horizon: int, x0):
    """Controls u_0 … u_{T−1} solving the maximum principle's two-point boundary problem.

    The residuals are :func:`dyncheck.theory.control.pmp_boundary_residuals`, affine in the
    unknowns v = (x_1 … x_T, u_0 … u_{T−1}, p_1 … p_T): F(v) = M v + c.  They are evaluated at
    v = 0 and at every unit vector at once (a batch of T(2n + m) + 1 rows), which gives M and c;
    then M v = −c is solved densely.
    """
    n, m = b.shape
    size = horizon * (2 * n + m)
    probes = np.vstack([np.zeros(size), np.eye(size)])
    states = np.split(probes[:, : horizon * n], horizon, axis=1)
    controls = np.split(probes[:, horizon * n : horizon * (n + m)], horizon, axis=1)
    costates = np.split(probes[:, horizon * (n + m) :], horizon, axis=1)
    start = np.broadcast_to(np.asarray(x0, float), (size + 1, n))
    residuals = np.hstack(pmp_boundary_residuals(a, b, q, r, q_final, start, states, controls, costates))
    constant = residuals[0]
    solution = np.linalg.solve((residuals[1:] - constant).T, -constant)
    return solution[horizon * n : horizon * (n + m)].reshape(horizon, m)


def direct_lq_controls(a, b, q, r, q_final, horizon: int, x0):
    """The minimiser of ½Σ(xᵀQx + uᵀRu) + ½x_TᵀQ_T x_T over the whole control sequence.

    With x = F x_0 + G u (stacked), the cost is ½uᵀ(GᵀQ̄G + R̄)u + uᵀGᵀQ̄F x_0 + const:
    one normal equation, no recursion in time.
    """
    n, m = b.shape
    f = np.zeros(((horizon + 1) * n, n))
    g = np.zeros(((horizon + 1) * n, horizon * m))
    f[:n] = np.eye(n)
    for t in range(1, horizon + 1):
        f[t * n : (t + 1) * n] = a @ f[(t - 1) * n : t * n]
        g[t * n : (t + 1) * n] = a @ g[(t - 1) * n : t * n]
        g[t * n : (t + 1) * n, (t - 1) * m : t * m] = b
    weights = np.kron(np.eye(horizon + 1), q)
    weights[horizon * n :, horizon * n :] = q_final
    hessian = g.T @ weights @ g + np.kron(np.eye(horizon), r)
    controls = np.linalg.solve(hessian, -g.T @ weights @ f @ x0)
    return controls.reshape(horizon, m)


# ---------------------------------------------------------------------------
# Mean-field linear–quadratic control (E, Han & Li 2019)


def _mean_field_lq_grid(drift: float, horizon: float, intervals: int) -> tuple[float, np.ndarray]:
    """(h, w): the interval length and w_k = ∫ over interval k of e^{a(T − s)}ds, the effect of a unit control on
    it on x_T (exactly: x_T = e^{aT}x_0 + Σ_k w_k θ_k for piecewise-constant θ)."""
    if not (horizon > 0 and intervals >= 1):
        raise UsageError("the horizon must be positive and the control have at least one interval")
    h = horizon / intervals
    starts = np.arange(intervals) * h
    factor = h if drift == 0 else np.expm1(drift * h) / drift
    return h, np.exp(drift * (horizon - starts - h)) * factor


def _checked_samples(x0, y, weights):
    x0, y = np.asarray(x0, float), np.asarray(y, float)
    weights = np.full(x0.size, 1.0 / x0.size) if weights is None else np.asarray(weights, float)
    if x0.shape != y.shape or x0.shape != weights.shape or x0.ndim != 1 or x0.size < 1:
        raise UsageError("give one y and one weight for every x_0 (1-D arrays of equal length)")
    if np.any(weights < 0) or abs(weights.sum() - 1) > 1e-12:
        raise UsageError("the samples' weights must be non-negative and sum to 1")
    return x0, y, weights


def mean_field_lq_direct(drift: float, control_cost: float, horizon: float, x0, y, *, weights=None, intervals: int = 200) -> np.ndarray:
    """The piecewise-constant control θ_0 … θ_{K−1} (K = ``intervals``) minimising Σ_i β_i ½(x_T,i − y_i)² + (λ/2)∫θ²
    for ẋ = a x + θ, every sample (x_0,i, y_i) with weight β_i (default 1/N: the empirical problem; a quadrature
    rule of μ: the population one) — by weighted least squares on the stacked residuals, no maximum principle."""
    x0, y, weights = _checked_samples(x0, y, weights)
    h, w = _mean_field_lq_grid(drift, horizon, intervals)
    roots = np.sqrt(weights)[:, None]
    design = np.vstack([roots * w[None, :], math.sqrt(control_cost * h) * np.eye(intervals)])
    target = np.concatenate([-roots[:, 0] * (np.exp(drift * horizon) * x0 - y), np.zeros(intervals)])
    return np.linalg.lstsq(design, target, rcond=None)[0]


def mean_field_lq_pmp(drift: float, control_cost: float, horizon: float, x0, y, *, weights=None, intervals: int = 200, tolerance: float = 1e-13, iterations: int = 10_000) -> np.ndarray:
    """The same control from the mean-field maximum principle, by damped successive approximations (Li, Chen, Tai &
    E 2018): states forward (the exact flow over each interval), costates p_t = −(x_T − y)e^{a(T − t)} backward,
    and θ_k ← θ_k + β(θ̂_k − θ_k) with θ̂_k the maximiser of ∫_k E_β[H]dt, θ̂_k = ∫_k E_β[p]dt/(λh); β halves
    whenever the residual ‖θ̂ − θ‖ grows.  A RuntimeError if it has not converged to ``tolerance``."""
    x0, y, weights = _checked_samples(x0, y, weights)
    h, w = _mean_field_lq_grid(drift, horizon, intervals)
    theta, damping, last = np.zeros(intervals), 1.0, math.inf
    for _ in range(iterations):
        x = x0.copy()
        for k in range(intervals):  # forward: x ← e^{ah}x + θ_k(e^{ah} − 1)/a over each interval
            x = math.exp(drift * h) * x + theta[k] * (h if drift == 0 else math.expm1(drift * h) / drift)
        terminal = -(x - y)  # p_T = −∇Φ
        best = (weights @ terminal) * w / (control_cost * h)  # ∫_k e^{a(T − t)}dt = w_k: the costate's integral
        residual = float(np.abs(best - theta).max())
        if residual <= tolerance * max(1.0, float(np.abs(best).max())):
            return best
        if residual > last:
            damping /= 2
        last = residual
        theta = theta + damping * (best - theta)
    raise RuntimeError(f"successive approximations did not converge in {iterations} iterations (residual {last:.2e})")


# ---------------------------------------------------------------------------
# Training by the method of successive approximations


def sin_problem(layers: int = 20, width: int = 5, points: int = 100, step: float = 0.25):
    """The toy problem of Li et al. (2018): fit sin on [−π, π] with a residual tanh network, zero init.

    Each input x is copied into the ``width`` state components and each target
    is sin(x) in every component (Φ = ½‖x_T − y‖²).
    """
    x = np.linspace(-np.pi, np.pi, points)[:, None]
    network = ResidualNetwork(np.zeros((layers, width, width)), np.zeros((layers, width)), step, 0.0)
    return network, np.repeat(x, width, axis=1), np.repeat(np.sin(x), width, axis=1)


def digits_problem(layers: int = 20, step: float = 0.25):
    """scikit-learn's handwritten digits (1797 images of 8 × 8, shipped with the package, no download).

    The state is the 64 pixels scaled to [0, 1]; the target puts a one in the
    component of the class (0 … 9) and zeros elsewhere, so Φ = ½‖x_T − y‖²;
    the predicted class is the largest of the first ten components
    (:func:`accuracy`).  Zero-initialised residual tanh network of width 64.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ValueError("the digits problem needs scikit-learn: pip install 'dyncheck[datasets]'") from None
    digits = load_digits()
    x0 = digits.data / 16.0
    y = np.zeros_like(x0)
    y[np.arange(len(y)), digits.target] = 1.0
    width = x0.shape[1]
    return ResidualNetwork(np.zeros((layers, width, width)), np.zeros((layers, width)), step, 0.0), x0, y


def accuracy(network: ResidualNetwork, x0, y) -> float:
    """Fraction of samples whose largest of the first ten final components is their class (:func:`digits_problem`)."""
    x = network.states(x0)[-1]
    return float(np.mean(np.argmax(x[:, :10], axis=1) == np.argmax(y[:, :10], axis=1)))


def _layer_parameters(network: ResidualNetwork, t: int) -> np.ndarray:
    return np.concatenate([network.weights[t].ravel(), network.biases[t]])


@functools.cache
def _augmented_hamiltonian_function():
    """:data:`dyncheck.theory.control.AUGMENTED_HAMILTONIAN` compiled for torch, of (H, e_x, e_p, ρ)."""
    return generate(AUGMENTED_HAMILTONIAN, (HAMILTONIAN, STATE_GAP, COSTATE_GAP, MSA_PENALTY), "torch")


def _augmented_hamiltonian(theta, x, x_next, p, p_next, step, regularisation, rho):
    """−(1/S) Σ_s H̃_t and its gradient in θ_t = (W_t, b_t), by torch (float64).

    H̃ = H − ½ρ‖x′ − f(x, θ)‖² − ½ρ‖p̂ − ∇_x H‖² (:data:`~dyncheck.theory.control.AUGMENTED_HAMILTONIAN`)
    with H = p̂′·f(x, θ) − L(θ) and the per-sample costates p̂ = S p (Li, Chen, Tai & E 2018, eq. 13):
    f is the substrate's forward pass through the layer of residual ``step`` (None: dense) and
    weights θ, and ∇_x H its backward pass from p̂′; torch differentiates both in θ.
    """
    import torch

    n = x.shape[1]
    theta = torch.from_numpy(theta).requires_grad_(True)
    one = ResidualNetwork(theta[: n * n].reshape(1, n, n), theta[n * n :].reshape(1, n), step).as_network()
    forward = one.forward(x, slopes=True)
    f, slope = forward[0][-1], one.backward(x, p_next, forward=forward)[0]
    hamiltonian = (p_next * f).sum(1) - regularisation / 2 * (theta**2).sum()
    value = -_augmented_hamiltonian_function()(hamiltonian, ((x_next - f) ** 2).sum(1), ((p - slope) ** 2).sum(1), rho).mean()
    value.backward()
    return float(value.detach()), theta.grad.numpy()


def msa_train(network: ResidualNetwork, x0, y, *, rho: float, iterations: int, inner_iterations: int = 10, progress=None):
    """Train by the (extended) method of successive approximations; returns the loss after each iteration.

    Each iteration runs the states forward and the costates back
    (:func:`pmp_costates`), then maximises the augmented Hamiltonian H̃ of every
    layer over its (W_t, b_t) by L-BFGS (``inner_iterations`` steps), all layers
    from the same states and costates (Li et al. 2018, Algorithm 2).  ``rho = 0``
    is plain MSA.  ``network`` is updated in place; ``progress(k, loss)`` is
    called after each iteration.
    """
    import torch
    from scipy.optimize import minimize

    samples = x0.shape[0]
    losses = [float(network.objective(x0, y))]
    for k in range(iterations):
        states, costates, _ = pmp_costates(network, x0, y)
        tensors = [torch.from_numpy(s) for s in states]
        scaled = [torch.from_numpy(samples * p) for p in costates]  # per-sample costates p̂
        updated = []
        for t in range(network.layers):
            args = (tensors[t], tensors[t + 1], scaled[t], scaled[t + 1], network.step, network.regularisation, rho)
            result = minimize(
                _augmented_hamiltonian,
                _layer_parameters(network, t),
                args=args,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": inner_iterations},
            )
            updated.append(result.x)
        n = network.weights.shape[1]
        for t, theta in enumerate(updated):
            network.weights[t] = theta[: n * n].reshape(n, n)
            network.biases[t] = theta[n * n :]
        losses.append(float(network.objective(x0, y)))
        if progress:
            progress(k + 1, losses[-1])
    return np.array(losses)


def gradient_train(network: ResidualNetwork, x0, y, *, method: str, learning_rate: float, iterations: int, progress=None):
    """Full-batch gradient descent (``gd``) or Adam (``adam``) on the PMP gradients; the loss after each step."""
    if method not in ("gd", "adam"):
        raise ValueError(f"unknown method {method!r}; choose gd or adam")
    parameters = [network.weights, network.biases]
    first = [np.zeros_like(p) for p in parameters]
    second = [np.zeros_like(p) for p in parameters]
    beta1, beta2, eps = 0.9, 0.999, 1e-8  # Kingma & Ba (2015) defaults
    losses = [float(network.objective(x0, y))]
    for k in range(1, iterations + 1):
        _, _, gradients = pmp_costates(network, x0, y)
        for p, g, m, v in zip(parameters, gradients, first, second):
            if method == "gd":
                p -= learning_rate * g
                continue
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            p -= learning_rate * (m / (1 - beta1**k)) / (np.sqrt(v / (1 - beta2**k)) + eps)
        losses.append(float(network.objective(x0, y)))
        if progress:
            progress(k, losses[-1])
    return np.array(losses)


def plot_training(runs: dict, title: str, path):
    """Loss against iteration and against wall-clock seconds, one line per method; both axes logarithmic (the methods'
    costs a step differ by orders of magnitude), distinct line styles and markers so that coinciding curves stay visible."""
    from dyncheck.numerics.figures import figure

    styles = ("-", "--", "-.", ":")
    markers = ("o", "s", "^", "D", "v")
    with figure(path, figsize=(11, 4)) as fig:
        axes = fig.subplots(1, 2)
        for k, (label, run) in enumerate(runs.items()):
            style = {"ls": styles[k % len(styles)], "marker": markers[k % len(markers)], "markevery": 0.1, "ms": 4, "label": label}
            axes[0].plot(np.arange(len(run["loss"])), run["loss"], **style)
            seconds = np.asarray(run["seconds"], float)
            keep = seconds > 0  # the start, at 0 s, has no place on a log axis
            axes[1].plot(seconds[keep], np.asarray(run["loss"])[keep], **style)
        axes[0].set_xscale("symlog", linthresh=1)
        axes[1].set_xscale("log")
        for ax, xlabel in zip(axes, ("iteration", "wall-clock seconds")):
            ax.set(yscale="log", xlabel=xlabel, ylabel="training loss $J$")
            ax.legend()
        fig.suptitle(title)