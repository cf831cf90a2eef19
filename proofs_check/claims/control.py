r"""Training as optimal control: the maximum principle is backpropagation; Riccati is PMP for LQ.

Routes: an exact symbolic route through :mod:`theory.control` (generic,
undefined layers and costs unrolled over several layers, and concrete tanh
layers with symbolic weights), and double-precision routes through
:mod:`numerics.control` on random networks and LQ problems — torch's
reverse-mode autograd, the complex step, a direct linear solve — each never
the recursion it checks.  Negative controls: the costate started with the
wrong sign, the 1/S lost, the Riccati update with the wrong sign.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.control import (
    ResidualNetwork,
    adjoint_ode_costate,
    autograd_gradients,
    complex_step_gradient,
    direct_lq_controls,
    euler_adjoint_costates,
    mean_field_lq_direct,
    mean_field_lq_pmp,
    msa_train,
    pmp_costates,
    pmp_lq_controls,
    sin_problem,
)
from dyncheck.numerics.gaussian import normal_rule
from dyncheck.proofs_check.claim import Claim, Profile, needs_torch, timed
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.proofs_check.verdicts import AGREE, DISAGREE, EXACT, Evidence, judge_width_exponent, width_exponent
from dyncheck.theory.control import (
    CONTROL_COST,
    DRIFT,
    LITERATURE,
    MEAN_RESIDUAL,
    Convention,
    bellman_riccati_residual,
    concrete_costate_residuals,
    costate_residuals,
    euler_adjoint_residuals,
    euler_costate_error_order,
    gradient_residuals,
    lq_residuals,
    mean_field_lq_control,
    riccati,
)
from dyncheck.theory.symbols import HORIZON, TIME

__all__ = [
    "CLAIMS",
    "CostateIsBackprop",
    "MeanFieldEmpiricalRate",
    "MeanFieldLQOptimum",
    "EulerAdjointIsCostate",
    "EulerCostateOrder",
    "ExtendedMSADescends",
    "GradientIsHamiltonianSlope",
    "RiccatiEqualsPMP",
]

#: The random problem of the numeric routes: 12 residual tanh layers of width 6, 16 samples.
LAYERS, WIDTH, SAMPLES = 12, 6, 16


def _symbolic(route: str, residuals, what: str) -> Evidence:
    flat = list(sp.flatten(residuals))
    nonzero = [r for r in flat if r != 0]
    if not nonzero:
        return Evidence(route, EXACT, f"{what}: all {len(flat)} residuals simplify to 0")
    return Evidence(route, DISAGREE, f"{what}: {len(nonzero)} of {len(flat)} residuals do not vanish", {"first": str(nonzero[0])[:400]})


def _problem(seed: int = 7):
    rng = np.random.default_rng(seed)
    network = ResidualNetwork.random(LAYERS, WIDTH, regularisation=1e-2, scale=1.5, seed=seed)
    return network, rng.standard_normal((SAMPLES, WIDTH)), rng.standard_normal((SAMPLES, WIDTH))


def _torch_problem(network, x0, y):
    import torch

    as_tensor = torch.from_numpy
    return ResidualNetwork(as_tensor(network.weights), as_tensor(network.biases), network.step, network.regularisation), as_tensor(x0), as_tensor(y)


def _relative(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


def _judge(route: str, difference: float, what: str, details: dict) -> Evidence:
    limit = tolerance("derivative_relative")
    details.update({"max_relative_difference": difference, "tolerance": limit})
    outcome = AGREE if difference <= limit else DISAGREE
    return Evidence(route, outcome, f"{what}: max relative difference {difference:.1e}", details)


@dataclass(frozen=True)
class CostateIsBackprop(Claim):
    """p_t = −∂J/∂x_t for the costate started as ``candidate`` (a :class:`Convention`)."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [
            timed(lambda: _symbolic("symbolic-generic", costate_residuals(3, 2, candidate), "generic f_t, Φ, T = 3, n = 2")),
            timed(self._layers, candidate),
            timed(self._autograd, candidate),
        ]

    def _layers(self, convention) -> Evidence:
        residuals = [concrete_costate_residuals(kind, 2, 2, convention) for kind in ("dense", "residual")]
        return _symbolic("symbolic-tanh-layers", residuals, "dense and residual tanh layers, symbolic W and b, T = 2")

    @needs_torch("autograd")
    def _autograd(self, torch, convention) -> Evidence:
        network, x0, y = _torch_problem(*_problem())
        _, costates, _ = pmp_costates(network, x0, y, torch, convention)
        adjoints, _, _ = autograd_gradients(network, x0, y)
        difference = max(_relative(p.numpy(), a.numpy()) for p, a in zip(costates, adjoints))
        return _judge("autograd", difference, f"costates vs −∂J/∂x_t by torch autograd, {LAYERS} layers", {"layers": LAYERS, "width": WIDTH, "samples": SAMPLES})


@dataclass(frozen=True)
class GradientIsHamiltonianSlope(Claim):
    """∇_{θ_t} J = −Σ_s ∂H_t/∂θ with the costate started as ``candidate``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [
            timed(lambda: _symbolic("symbolic-generic", gradient_residuals(2, 2, 2, candidate), "generic f_t, Φ, L_t; T = 2, n = 2, S = 2")),
            timed(self._autograd, candidate),
            timed(self._complex_step, candidate),
        ]

    @needs_torch("autograd")
    def _autograd(self, torch, convention) -> Evidence:
        network, x0, y = _torch_problem(*_problem())
        _, _, (grad_w, grad_b) = pmp_costates(network, x0, y, torch, convention)
        _, auto_w, auto_b = autograd_gradients(network, x0, y)
        difference = max(_relative(grad_w.numpy(), auto_w.numpy()), _relative(grad_b.numpy(), auto_b.numpy()))
        return _judge("autograd", difference, "−Σ_s ∂H_t/∂θ vs torch autograd", {"layers": LAYERS})

    def _complex_step(self, convention) -> Evidence:
        network, x0, y = _problem()
        _, _, (grad_w, grad_b) = pmp_costates(network, x0, y, np, convention)
        rng = np.random.default_rng(3)
        checked = []
        for _ in range(6):
            which, grad = ("weights", grad_w) if rng.random() < 0.7 else ("biases", grad_b)
            index = tuple(int(rng.integers(0, size)) for size in grad.shape)
            exact = complex_step_gradient(network, x0, y, which, index)
            checked.append((which, index, exact, float(grad[index])))
        difference = max(abs(g - e) / abs(e) for _, _, e, g in checked)
        return _judge("complex-step", difference, f"{len(checked)} coordinates by the complex step", {"coordinates": [c[:2] for c in checked]})


@dataclass(frozen=True)
class EulerAdjointIsCostate(Claim):
    """The Euler step of the adjoint ODE, Jacobian at x_{t + candidate}, gives the Euler network's costates."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [
            timed(lambda: _symbolic("symbolic-generic", euler_adjoint_residuals(3, 2, candidate), "generic vector field g, T = 3, n = 2")),
            timed(self._vjp, candidate),
        ]

    @needs_torch("vector-field-vjp")
    def _vjp(self, torch, evaluation) -> Evidence:
        network, x0, y = _torch_problem(*_problem())
        _, costates, _ = pmp_costates(network, x0, y, torch)
        adjoint = euler_adjoint_costates(network, x0, y, evaluation)
        difference = max(_relative(a.numpy(), p.numpy()) for a, p in zip(adjoint, costates))
        return _judge("vector-field-vjp", difference, f"adjoint steps by torch.func.vjp of g_t vs the PMP costates, h = {network.step}", {"h": network.step})


@dataclass(frozen=True)
class EulerCostateOrder(Claim):
    """The Euler network's costate converges to the adjoint ODE's at order ``candidate`` in h."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._series, candidate), timed(self._convergence, candidate)]

    def _series(self, order) -> Evidence:
        found, leading = euler_costate_error_order()
        outcome = EXACT if found == order else DISAGREE
        return Evidence("symbolic-series", outcome, f"linear field: ln(p_0/p(0)) = {leading} + O(h^{found + 1}): order {found}", {"leading": str(leading)})

    def _convergence(self, order) -> Evidence:
        rng = np.random.default_rng(3)
        n = 4
        weight, bias = rng.standard_normal((n, n)) * 1.2 / np.sqrt(n), rng.standard_normal(n) * 0.3
        x0, y = rng.standard_normal((8, n)), rng.standard_normal((8, n))
        reference = adjoint_ode_costate(weight, bias, x0, y)
        layers = (64, 128, 256, 512)
        errors = []
        for count in layers:
            network = ResidualNetwork(np.repeat(weight[None], count, 0), np.repeat(bias[None], count, 0), 1.0 / count)
            _, costates, _ = pmp_costates(network, x0, y)
            errors.append(float(np.max(np.abs(costates[0] - reference)) / np.max(np.abs(reference))))
        observed = float(np.log2(errors[-2] / errors[-1]))
        limit = tolerance("convergence_order")
        details = {"layers": list(layers), "errors": errors, "observed_order": observed, "tolerance": limit}
        outcome = AGREE if abs(observed - order) <= limit else DISAGREE
        return Evidence("convergence", outcome, f"tanh field, h = 1/64 … 1/512: observed order {observed:.3f}", details)


def _teacher_problem(seed: int = 0):
    """Regression onto a random residual tanh teacher (10 layers, width 4, 64 samples); zero-initialised student."""
    rng = np.random.default_rng(seed)
    teacher = ResidualNetwork.random(10, 4, scale=2.0, seed=5)
    x0 = rng.standard_normal((64, 4))
    y = teacher.states(x0)[-1]
    return ResidualNetwork(np.zeros((10, 4, 4)), np.zeros((10, 4)), 0.25), x0, y


#: Residual step of the sin toy in the descent claim.  At the reference code's δ = 0.25 plain MSA
#: (ρ = 0) also descends at every one of 12 iterations on this toy, so the route could not tell the
#: claim from its control; at δ = 1 plain MSA's loss rises (4.68 → 4.34 after rising) while E-MSA
#: with ρ = 20 falls at every iteration (4.68 → 0.51).
SIN_TOY_STEP = 1.0


@dataclass(frozen=True)
class ExtendedMSADescends(Claim):
    """E-MSA with penalty ρ = ``candidate`` decreases the training loss at every iteration."""

    iterations: int = 12

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._sin_toy, candidate), timed(self._teacher, candidate)]

    @needs_torch("sin-toy")  # the layer maximisation differentiates with torch
    def _sin_toy(self, torch, rho) -> Evidence:
        return self._route("sin-toy", rho)

    @needs_torch("teacher")
    def _teacher(self, torch, rho) -> Evidence:
        return self._route("teacher", rho)

    def _route(self, problem: str, rho) -> Evidence:
        network, x0, y = sin_problem(step=SIN_TOY_STEP) if problem == "sin-toy" else _teacher_problem()
        losses = msa_train(network, x0, y, rho=float(rho), iterations=self.iterations)
        growth = np.diff(losses) / losses[:-1]
        limit = tolerance("monotone_loss_relative")
        details = {"rho": float(rho), "losses": losses.tolist(), "tolerance": limit}
        if np.any(growth > limit):
            k = int(np.argmax(growth > limit))
            return Evidence(problem, DISAGREE, f"ρ = {rho:g}: the loss rises at iteration {k + 1}, {losses[k]:.4g} → {losses[k + 1]:.4g}", details)
        return Evidence(problem, AGREE, f"ρ = {rho:g}: the loss falls at every one of {self.iterations} iterations, {losses[0]:.4g} → {losses[-1]:.4g}", details)


def _wrong_riccati(a, b, q, r, q_final, horizon, inverse=lambda m: m.inv()):
    """The Riccati update with the sign of its correction term flipped (a common slip)."""
    p = [None] * (horizon + 1)
    k = [None] * horizon
    p[horizon] = q_final
    for t in reversed(range(horizon)):
        k[t] = inverse(r + b.T @ p[t + 1] @ b) @ b.T @ p[t + 1] @ a
        p[t] = q + a.T @ p[t + 1] @ a + a.T @ p[t + 1] @ b @ k[t]
    return p, k


@dataclass(frozen=True)
class RiccatiEqualsPMP(Claim):
    """For linear–quadratic control the feedback of the Riccati recursion ``candidate`` is the PMP control."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [
            timed(lambda: _symbolic("symbolic-bellman", [bellman_riccati_residual(candidate)], "scalar system: one Bellman step from V = ½Px², any P")),
            timed(lambda: _symbolic("symbolic-scalar", list(lq_residuals(3, candidate)), "scalar system, T = 3: u_t + K_t x_t and p_t + P_t x_t")),
            timed(self._matrices, candidate),
        ]

    def _matrices(self, recursion) -> Evidence:
        rng = np.random.default_rng(11)
        n, m, horizon = 4, 2, 8
        a, b = rng.standard_normal((n, n)) / np.sqrt(n) * 1.3, rng.standard_normal((n, m))
        q, r, q_final = np.eye(n), 0.5 * np.eye(m), 2 * np.eye(n)
        x0 = rng.standard_normal(n)
        _, gains = recursion(a, b, q, r, q_final, horizon, np.linalg.inv)
        x, controls = x0, []
        for t in range(horizon):
            controls.append(-gains[t] @ x)
            x = a @ x + b @ controls[-1]
        controls = np.array(controls)
        pmp = pmp_lq_controls(a, b, q, r, q_final, horizon, x0)
        direct = direct_lq_controls(a, b, q, r, q_final, horizon, x0)
        difference = max(_relative(controls, pmp), _relative(controls, direct))
        return _judge("matrices", difference, f"Riccati feedback vs the PMP boundary problem and the direct minimiser, n = {n}, T = {horizon}", {"n": n, "m": m, "horizon": horizon})


# ---------------------------------------------------------------------------------- mean-field LQ control

#: The mean-field LQ problem of E, Han & Li (2019) judged here: ẋ = a x + θ(t) on [0, T], control cost λ, and
#: μ: x_0 ~ N(1, 1/4), y = 2x_0 + 0.3ε — so m = E[e^{aT}x_0 − y] = e^{aT} − 2.
MF_DRIFT, MF_COST, MF_HORIZON, MF_MEAN, MF_SPREAD, MF_SLOPE, MF_NOISE = -0.5, 0.1, 1.0, 1.0, 0.5, 2.0, 0.3
#: The empirical problems' sizes and replicates, and the controls' pieces (their own discretisation cancels
#: against the population solution on the same grid).
MF_SIZES, MF_REPLICATES, MF_INTERVALS = (64, 256, 1024, 4096), 32, 50


def _mean_field_population(rule: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """μ as a tensor Gauss–Hermite rule in (x_0, ε): exact for the quadratic cost of this linear problem."""
    points, weights = normal_rule(rule, 2)
    x0 = MF_MEAN + MF_SPREAD * points[:, 0]
    return x0, MF_SLOPE * x0 + MF_NOISE * points[:, 1], weights


def _mean_field_values() -> dict:
    return {DRIFT: MF_DRIFT, CONTROL_COST: MF_COST, HORIZON: MF_HORIZON, MEAN_RESIDUAL: math.exp(MF_DRIFT * MF_HORIZON) * MF_MEAN - MF_SLOPE * MF_MEAN}


@dataclass(frozen=True)
class MeanFieldLQOptimum(Claim):
    """The population-optimal shared control of the mean-field LQ problem is θ*(t) = ``candidate`` (in a, λ, T, m, t)."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._numeric, candidate, "direct"), timed(self._numeric, candidate, "pmp")]

    def _symbolic(self, candidate) -> Evidence:
        derived = mean_field_lq_control()
        details = {"derived": str(derived)}
        if sp.simplify(derived - candidate) == 0:
            return Evidence("symbolic-pmp", EXACT, f"the mean-field PMP (costate by dsolve, argmax E_μ[H], consistency of the common shift) gives θ*(t) = {derived}", details)
        return Evidence("symbolic-pmp", DISAGREE, f"the mean-field PMP gives θ*(t) = {derived}, not {candidate}", details)

    def _numeric(self, candidate, method: str) -> Evidence:
        """The population problem on 400 pieces (μ by its Gauss–Hermite rule), by least squares or by successive
        approximations of the mean-field PMP, against the candidate at the pieces' midpoints (error O(h²))."""
        intervals = 400
        solve = mean_field_lq_direct if method == "direct" else mean_field_lq_pmp
        x0, y, weights = _mean_field_population()
        control = solve(MF_DRIFT, MF_COST, MF_HORIZON, x0, y, weights=weights, intervals=intervals)
        midpoints = (np.arange(intervals) + 0.5) * MF_HORIZON / intervals
        claimed = sp.lambdify(TIME, candidate.subs(_mean_field_values()), "numpy")(midpoints)
        gap = float(np.abs(control - claimed).max() / np.abs(claimed).max())
        limit = tolerance("mean_field_control_relative")
        route = {"direct": "least-squares", "pmp": "successive-approximations"}[method]
        details = {"intervals": intervals, "relative_gap": gap, "tolerance": limit, "theta_0": float(control[0]), "claimed_0": float(claimed[0])}
        what = f"the population problem on {intervals} pieces by {route.replace('-', ' ')}: max relative gap to the candidate {gap:.1e}"
        return Evidence(route, AGREE if gap <= limit else DISAGREE, what, details)


@functools.cache
def _empirical_gaps(method: str) -> dict[int, np.ndarray]:
    """sup_k |θ^N_k − θ^μ_k| over ``MF_REPLICATES`` draws of N samples, each size, by ``method``: the empirical
    problem's control against the population one on the same pieces."""
    solve = mean_field_lq_direct if method == "direct" else mean_field_lq_pmp
    x0, y, weights = _mean_field_population()
    population = solve(MF_DRIFT, MF_COST, MF_HORIZON, x0, y, weights=weights, intervals=MF_INTERVALS)
    gaps = {}
    for i, n in enumerate(MF_SIZES):
        rng = np.random.default_rng(900 + i)
        values = []
        for _ in range(MF_REPLICATES):
            sample = MF_MEAN + MF_SPREAD * rng.standard_normal(n)
            target = MF_SLOPE * sample + MF_NOISE * rng.standard_normal(n)
            values.append(float(np.abs(solve(MF_DRIFT, MF_COST, MF_HORIZON, sample, target, intervals=MF_INTERVALS) - population).max()))
        gaps[n] = np.array(values)
    return gaps


@dataclass(frozen=True)
class MeanFieldEmpiricalRate(Claim):
    """The empirical (N-sample) optimal control's distance to the population one falls like N^``candidate``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._judge, candidate, "direct"), timed(self._judge, candidate, "pmp")]

    @staticmethod
    def _judge(candidate, method: str) -> Evidence:
        slope, error, details = width_exponent(_empirical_gaps(method))
        details.update({"replicates": MF_REPLICATES, "intervals": MF_INTERVALS})
        route = {"direct": "least-squares", "pmp": "successive-approximations"}[method]
        return judge_width_exponent(route, slope, error, float(candidate), details, bound=False, what=f"sup_t |θ^N(t) − θ*(t)| over N = {MF_SIZES[0]}…{MF_SIZES[-1]}")


def _mean_field_g():
    s = sp.Symbol("s", real=True)
    return sp.integrate(sp.exp(2 * DRIFT * (HORIZON - s)), (s, 0, HORIZON), conds="none")


CLAIMS = [
    CostateIsBackprop(
        "control.costate_is_backprop",
        "Li, Chen, Tai & E (2018); Liu & Theodorou (2019): the costate of the discrete maximum principle is minus the backpropagated adjoint",
        r"p_T = -\nabla\Phi(x_T)/S,\ p_t = \nabla_x H_t \;\Rightarrow\; p_t = -\partial J/\partial x_t",
        literature=LITERATURE,
        wrong=Convention(terminal_sign=+1),
    ),
    GradientIsHamiltonianSlope(
        "control.gradient_is_hamiltonian_slope",
        "Li, Chen, Tai & E (2018): gradient descent is ascent on the summed Hamiltonian",
        r"\nabla_{\theta_t} J = -\sum_s \nabla_\theta H_t(x_{s,t}, p_{s,t+1}, \theta_t)",
        literature=LITERATURE,
        wrong=Convention(sample_power=0),
    ),
    EulerAdjointIsCostate(
        "control.euler_adjoint_is_costate",
        "Chen et al. (2018), neural ODEs; Sanz-Serna (2016): the Euler adjoint step paired with forward Euler is the network's costate",
        r"p_t = p_{t+1} + h\,\partial_x g(x_t)^\top p_{t+1} \text{ is the costate of } x_{t+1} = x_t + h\,g(x_t)",
        literature=0,
        wrong=1,
    ),
    EulerCostateOrder(
        "control.euler_costate_first_order",
        "Chen et al. (2018): the residual network is the Euler scheme of a neural ODE; its costates approach the adjoint ODE's at first order in h",
        r"\|p_0^{(h)} - p(0)\| = O(h)",
        literature=1,
        wrong=2,
    ),
    ExtendedMSADescends(
        "control.emsa_monotone_descent",
        "Li, Chen, Tai & E (2018), Theorem 2 and §5: the extended MSA decreases the loss for ρ large enough; plain MSA (ρ = 0) need not",
        r"\rho \text{ large} \Rightarrow J(\theta^{k+1}) \le J(\theta^k) \text{ for E-MSA}",
        literature=20.0,
        wrong=0.0,
    ),
    RiccatiEqualsPMP(
        "control.riccati_equals_pmp",
        "Dynamic programming (Bellman/HJB → Riccati) and Pontryagin's principle agree for linear–quadratic control (review by Liu & Theodorou)",
        r"u_t^{\mathrm{PMP}} = -K_t x_t,\ K_t = (R + B^\top P_{t+1} B)^{-1} B^\top P_{t+1} A,\ p_t = -P_t x_t",
        literature=riccati,
        wrong=_wrong_riccati,
    ),
    MeanFieldLQOptimum(
        "control.mean_field_lq_optimum",
        "E, Han & Li (2019), Res. Math. Sci. 6: the mean-field maximum principle; here ẋ = a x + θ, Φ = ½(x_T − y)², L = (λ/2)θ²",
        r"\theta^*(t) = -\frac{m\, e^{a(T - t)}}{\lambda + G},\ G = \int_0^T e^{2a(T-s)}ds,\ m = \mathbb E_\mu[e^{aT}x_0 - y]",
        literature=-MEAN_RESIDUAL * sp.exp(DRIFT * (HORIZON - TIME)) / (CONTROL_COST + _mean_field_g()),
        wrong=-MEAN_RESIDUAL * sp.exp(DRIFT * (HORIZON - TIME)) / CONTROL_COST,
    ),
    MeanFieldEmpiricalRate(
        "control.mean_field_empirical_rate",
        "E, Han & Li (2019), Theorem 6: the empirical problem's solution is within O(N^{-1/2}) of the population one",
        r"\sup_t |\theta^N(t) - \theta^*(t)| \propto N^{-1/2}",
        literature=-0.5,
        wrong=-1.0,
    ),
]
