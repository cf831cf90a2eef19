r"""Mean-field limits of training: the distributional dynamics of two-layer networks, and circle features as
Kuramoto models.

Sources: Mei, Montanari & Nguyen (2018), PNAS 115 E7665 (the risk's V and U, and the particle flow
θ̇_i = −2ξ[∇V(θ_i) + (1/N)Σ_j∇_1U(θ_i, θ_j)]); Kuramoto (1975); Daido (1992) for higher harmonics.

Routes: the particle flow derived symbolically from V and U (:mod:`theory.meanfield_training`) against the
Kuramoto form; the network's own gradient, by the uniform quadrature rule in numpy and by autograd in torch,
against the Kuramoto velocity compiled from the derivation; and the network trained by gradient flow, beside
the Kuramoto ODE.  Negative controls: the attractive sign of the coupling (K = +2ξ), and collapse of the
features (r∞ = 1, what an attractive coupling gives) for the steady order.

Gaussian inputs (erf features, teacher erf(2x), ρ_0 = N(0, 1/4)): the PDE ∂_tρ = 2ξ∇·(ρ∇Ψ) solved on the
characteristics of a Gauss–Hermite rule (its error measured against a finer rule and step) against the real
network trained by one-sample SGD, whose expected step is checked against −2ξ∇Ψ by Monte Carlo over x; the
N^{-1/2} fluctuations of R_N by SGD and by the N-particle gradient flow.  Negative controls: the PDE without its
factor 2, fluctuations ∝ N⁻¹, and the NTK scaling (output 1/√N) where the mean-field one is claimed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp


from dyncheck.numerics.meanfield_training import (
    autograd_velocity,
    cone_optimum,
    distributional_dynamics,
    kuramoto_velocity,
    mean_field_velocity,
    network_velocity,
    particle_sgd,
    relu_teacher_problem,
    train,
    train_relu_network,
    two_layer_risk,
)
from dyncheck.numerics.solvers import fixed_step
from dyncheck.proofs_check.claim import Claim, Profile, needs_torch, timed
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.proofs_check.verdicts import AGREE, DISAGREE, EXACT, INCONCLUSIVE, Evidence, judge_monte_carlo, judge_width_exponent, replicate_statistics, standard_error, width_exponent, z_score
from dyncheck.theory.meanfield_training import balance_rate, circle_model, cosine_risk, kuramoto_form, particle_velocity, two_layer_model
from dyncheck.theory.symbols import LEARNING_RATE_SCALE, PSI, TEACHER_ANGLE, TEACHER_SCALE, R, U, Z

__all__ = ["CLAIMS", "CircleKuramotoForm", "CosineSteadyOrder", "DistributionalDynamics", "FEATURES", "GlobalConvergence", "MeanFieldScaling", "RiskFluctuations", "TWO_LAYER_TEACHER"]

#: The features the Kuramoto form is judged on: the cosine, a second harmonic, and sin u + cos³u.
FEATURES = (sp.sqrt(2) * sp.cos(U), sp.sqrt(2) * sp.cos(U) + sp.cos(2 * U), sp.sin(U) + sp.cos(U) ** 3)
#: Teacher scale and angle, ξ, particles and replicates of the numeric routes.
SCALE, ANGLE, XI = 0.6, 0.3, 1.0
PARTICLES, REPLICATES = 64, 3
#: Teacher scales of the steady-order claim — below 1 (r∞ = c) and above (r∞ = 1) — particles and horizon.
STEADY_SCALES = (0.3, 0.7, 1.5)
STEADY_PARTICLES, STEADY_TIME = 64, 30.0


def _numeric_coupling(candidate: sp.Expr) -> float:
    return float(candidate.subs(LEARNING_RATE_SCALE, XI))


@dataclass(frozen=True)
class CircleKuramotoForm(Claim):
    """Gradient flow of ŷ = (1/N)Σφ(x − θ_i) on y = cφ(x − θ*) is θ̇_i = (K/N)Σ_jΓ(θ_j − θ_i) − 2ξcΓ(θ_i − θ*),
    Γ = −C′, with K = ``candidate``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._quadrature, candidate), timed(self._autograd, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        residuals = {}
        for phi in FEATURES:
            model = circle_model(phi)
            derived, angles = particle_velocity(model, 2)
            residual = sp.expand(sp.expand_trig(derived - kuramoto_form(model, angles, candidate)))  # sines and cosines of the angles: cancels exactly
            residuals[str(phi)] = str(residual if residual == 0 else sp.factor(residual))
        details = {"residuals": residuals, "autocorrelations": {str(phi): str(circle_model(phi).autocorrelation) for phi in FEATURES}}
        if all(r == "0" for r in residuals.values()):
            return Evidence("symbolic", EXACT, "the particle flow derived from V = −cC(θ − θ*) and U = C(θ − θ′) is the Kuramoto form, for 3 particles and 3 features", details)
        return Evidence("symbolic", DISAGREE, "the derived particle flow differs from the Kuramoto form: " + "; ".join(f"{k}: {v}" for k, v in residuals.items() if v != "0"), details)

    @staticmethod
    def _judge(route: str, differences: dict, how: str) -> Evidence:
        worst = max(differences.values())
        bound = tolerance("kuramoto_form_relative")
        details = {"relative_differences": differences, "particles": PARTICLES, "replicates": REPLICATES}
        if worst <= bound:
            return Evidence(route, AGREE, f"{how}: the network's velocity is the Kuramoto form's to {worst:.1e} (relative) for 3 features", details)
        return Evidence(route, DISAGREE, f"{how}: the network's velocity and the Kuramoto form's differ by {worst:.2g} (relative)", details)

    def _quadrature(self, candidate) -> Evidence:
        differences = {}
        theta = np.random.default_rng(7).uniform(0, 2 * np.pi, (REPLICATES, PARTICLES))
        for phi in FEATURES:
            model = circle_model(phi)
            network = network_velocity(model, theta, SCALE, ANGLE, XI)
            form = kuramoto_velocity(model, theta, SCALE, ANGLE, XI, _numeric_coupling(candidate))
            differences[str(phi)] = float(np.abs(network - form).max() / np.abs(network).max())
        return self._judge("numpy-quadrature", differences, "numpy, the uniform rule in x (exact for these features)")

    @needs_torch("torch-autograd")
    def _autograd(self, torch, candidate) -> Evidence:
        differences = {}
        theta = torch.as_tensor(np.random.default_rng(8).uniform(0, 2 * np.pi, (REPLICATES, PARTICLES)), dtype=torch.float64)
        for phi in FEATURES:
            model = circle_model(phi)
            network = autograd_velocity(model, theta, SCALE, ANGLE, XI)
            form = kuramoto_velocity(model, theta, SCALE, ANGLE, XI, _numeric_coupling(candidate))
            differences[str(phi)] = float((network - form).abs().max() / network.abs().max())
        return self._judge("torch-autograd", differences, "torch, R_N differentiated by autograd")


@functools.cache
def _final_order(velocity: str, scale: float) -> np.ndarray:
    """r(T) of :data:`REPLICATES` cosine networks trained from uniform angles (the same for every candidate: run once)."""
    run = train(circle_model(FEATURES[0]), STEADY_PARTICLES, scale, teacher_angle=ANGLE, time=STEADY_TIME, step=0.05, xi=XI, velocity=velocity, seed=11, replicates=REPLICATES)
    return run.order[-1]


@dataclass(frozen=True)
class CosineSteadyOrder(Claim):
    """For φ = √2 cos the risk's minimiser over the features' distribution has order r = ``candidate``(c), and
    gradient flow from uniform angles reaches it."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._network, candidate), timed(self._kuramoto, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        risk, distance = cosine_risk()
        if sp.simplify(risk - distance) != 0:
            return Evidence("symbolic", DISAGREE, f"the risk {risk} is not |c e^(iθ*) − Z|²")
        r = R
        wrong = {}
        for scale in STEADY_SCALES:
            c = sp.nsimplify(scale)
            # −2cr cos(ψ − θ*) ≥ −2cr, with equality at ψ = θ*: the risk is (c − r)² there, on r ∈ [0, 1] (Z in the disc)
            along = sp.trigsimp(sp.expand(distance.subs({PSI: TEACHER_ANGLE, TEACHER_SCALE: c})))
            candidates = [sp.Integer(0), sp.Integer(1)] + [v for v in sp.solve(sp.diff(along, r), r) if 0 <= v <= 1]
            minimiser = min(candidates, key=lambda v: along.subs(r, v))
            claimed = candidate.subs(TEACHER_SCALE, c)
            if sp.simplify(minimiser - claimed) != 0:
                wrong[str(c)] = f"minimiser r = {minimiser}, claimed {claimed}"
        details = {"risk": str(risk), "wrong": wrong}
        if wrong:
            return Evidence("symbolic", DISAGREE, "; ".join(f"c = {k}: {v}" for k, v in wrong.items()), details)
        return Evidence("symbolic", EXACT, "E_x[(y − ŷ)²] = |c e^(iθ*) − Z|², minimal over the unit disc at Z = min(c, 1) e^(iθ*), for c = 3/10, 7/10, 3/2", details)

    def _simulated(self, route: str, velocity: str, candidate) -> Evidence:
        reached, worst = {}, 0.0
        for scale in STEADY_SCALES:
            final = _final_order(velocity, scale)
            claimed = float(candidate.subs(TEACHER_SCALE, scale))
            reached[scale] = final.tolist()
            worst = max(worst, float(np.abs(final - claimed).max()))
        details = {"final_order": reached, "particles": STEADY_PARTICLES, "replicates": REPLICATES, "time": STEADY_TIME}
        bound = tolerance("steady_order_absolute")
        if worst <= bound:
            return Evidence(route, AGREE, f"{STEADY_PARTICLES} features × {REPLICATES} draws, t = {STEADY_TIME:g}: r(t) reaches the claimed r∞ to {worst:.1e} for c = 0.3, 0.7, 1.5", details)
        return Evidence(route, DISAGREE, f"r(30) misses the claimed r∞ by {worst:.2g}", details)

    def _network(self, candidate) -> Evidence:
        return self._simulated("network-gradient-flow", "network", candidate)

    def _kuramoto(self, candidate) -> Evidence:
        return self._simulated("kuramoto-ode", "kuramoto", candidate)



# ---------------------------------------------------------------------------- Gaussian inputs

#: The teacher y = erf(2x) of the Gaussian-input claims (x ~ N(0, 1)), the initial spread (ρ_0 = N(0, 1/4)), the
#: horizon, ξ, and the SGD step ε = SGD_STEP_SCALE/N (MMN's bound needs ε ≪ 1/N for the N^{-1/2} regime).
TWO_LAYER_TEACHER = ((1, (2,)),)
SPREAD, HORIZON, SGD_STEP_SCALE = 0.5, 2.0, 0.1
#: Network sizes and replicates of the fluctuation routes, the size of the z-tests.
NETWORK_SIZES, NETWORK_REPLICATES = (8, 32, 128), 64


def _two_layer():
    return two_layer_model(sp.erf(Z), TWO_LAYER_TEACHER)


@functools.cache
def _pde_risk(coefficient: float) -> tuple[float, float]:
    """R(ρ_T) of the PDE with ``coefficient`` in place of 2, and the solver's own error: the gap to a rule with
    4/3 the nodes at half the step."""
    coarse = distributional_dynamics(_two_layer(), spread=SPREAD, nodes=48, time=HORIZON, step=0.02, coefficient=coefficient, samples=2)
    fine = distributional_dynamics(_two_layer(), spread=SPREAD, nodes=64, time=HORIZON, step=0.01, coefficient=coefficient, samples=2)
    return float(coarse.risk[-1, 0]), abs(float(coarse.risk[-1, 0] - fine.risk[-1, 0]))


@functools.cache
def _sgd(scaling: str, n: int):
    """``NETWORK_REPLICATES`` networks of ``n`` neurons trained by one-sample SGD to the horizon (ε = 0.1/N)."""
    return particle_sgd(_two_layer(), n, replicates=NETWORK_REPLICATES, spread=SPREAD, time=HORIZON, step=SGD_STEP_SCALE / n, scaling=scaling, seed=n, samples=2)


@functools.cache
def _gradient_flow(n: int) -> np.ndarray:
    """R_N(T) of ``NETWORK_REPLICATES`` N-particle gradient flows (population gradient, RK4) from i.i.d. N(0, 1/4)."""
    model = _two_layer()
    start = np.random.default_rng(500 + n).normal(0.0, SPREAD, (NETWORK_REPLICATES, n, 1))
    final = fixed_step(lambda w: (mean_field_velocity(model, w), None), start, 0.05, int(round(HORIZON / 0.05)))
    return two_layer_risk(model, final)


def _risk_z_test(route: str, scaling: str, coefficient: float) -> Evidence:
    """Mean R_N(T) of SGD networks of the largest size against R(ρ_T) of the PDE with ``coefficient``: undecided
    when the PDE solver's own error is not below a tenth of the standard error."""
    n = NETWORK_SIZES[-1]
    risk = _sgd(scaling, n).risk[-1]
    target, solver_error = _pde_risk(coefficient)
    error, z = standard_error(risk), z_score(risk, target)
    details = {"N": n, "replicates": risk.size, "scaling": scaling, "coefficient": coefficient, "pde_risk": target, "pde_solver_error": solver_error, "sgd_mean": float(risk.mean()), "standard_error": error, "z": z}
    if solver_error > 0.1 * error:
        return Evidence(route, INCONCLUSIVE, f"the PDE solver's error {solver_error:.1e} does not resolve the standard error {error:.1e}", details)
    what = f"{risk.size} {scaling} networks of N = {n} after SGD to t = {HORIZON:g}: R_N = {risk.mean():.5f}, {z:.1f} standard errors from the PDE's R(ρ_t) = {target:.5f} (solver error {solver_error:.0e})"
    return Evidence(route, AGREE if z <= tolerance("monte_carlo_z") else DISAGREE, what, details)


#: A configuration of particles at which the expected SGD step is estimated, and the particle whose step is judged.
_CONFIGURATION = np.array([[-1.2], [-0.4], [0.1], [0.5], [0.9], [1.6], [2.3], [3.0]])


@functools.cache
def _sgd_increments(samples: int, replicates: int, seed: int) -> np.ndarray:
    """Means over ``samples`` fresh x of the network's own SGD increment of particle 0 divided by the step s,
    2(y − ŷ)σ′(w_0 x)x with ŷ = (1/N)Σσ(w_i x): one per replicate."""
    from scipy.special import erf

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((replicates, samples))
    y = erf(2 * x)
    y_hat = erf(_CONFIGURATION[:, 0, None, None] * x[None]).mean(axis=0)
    slope = 2 / math.sqrt(math.pi) * np.exp(-((_CONFIGURATION[0, 0] * x) ** 2))
    return (2 * (y - y_hat) * slope * x).mean(axis=1)


@dataclass(frozen=True)
class DistributionalDynamics(Claim):
    """One-sample SGD with step εξ follows ∂_tρ = cξ∇·(ρ∇Ψ), Ψ = V + ∫U dρ, with c = ``candidate``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._expected_step, candidate, profile), timed(self._risk, candidate)]

    def _expected_step(self, candidate, profile: Profile) -> Evidence:
        """E_x[network's SGD step]/s at a fixed configuration = the PDE's velocity −c∇Ψ(w_0; ρ^N)/ξ from the closed forms."""
        target = float(mean_field_velocity(_two_layer(), _CONFIGURATION, coefficient=float(candidate))[0, 0])
        sizes = profile.monte_carlo_sizes[:4]
        estimates = {m: _sgd_increments(m, profile.monte_carlo_replicates, m) for m in sizes}
        z, slope, details = replicate_statistics(estimates, target)
        details.update({"configuration": _CONFIGURATION[:, 0].tolist(), "velocity_closed_form": target, "coefficient": float(candidate)})
        return judge_monte_carlo(
            "expected-sgd-step", z, slope, details,
            distance="the mean SGD step is {z:.1f} standard errors from −cξ∇Ψ",
            decay="the Monte Carlo gap shrinks like M^{slope:.2f}, not M^-0.5",
            summary="E_x[2(y − ŷ)σ′(w·x)x] by " + f"{sizes[0]}…{sizes[-1]}" + " draws against −cξ∇Ψ: |z| = {z:.2f}; gap ∝ M^{slope:.2f}",
        )

    def _risk(self, candidate) -> Evidence:
        return _risk_z_test("particle-sgd", "mean-field", float(candidate))


def _risk_gaps(risks: dict, claimed: float, route: str, bound: bool) -> Evidence:
    """The exponent of |R_N(T) − R(ρ_T)| (``risks`` by N) in N against ``claimed`` (at most it, with ``bound``)."""
    target, solver_error = _pde_risk(2.0)
    slope, error, details = width_exponent({n: np.abs(r - target) for n, r in risks.items()})
    details.update({"pde_risk": target, "pde_solver_error": solver_error, "replicates": NETWORK_REPLICATES})
    return judge_width_exponent(route, slope, error, claimed, details, bound=bound, what=f"|R_N(t) − R(ρ_t)| at t = {HORIZON:g} over N = {NETWORK_SIZES}")


@dataclass(frozen=True)
class RiskFluctuations(Claim):
    """The risk of N-particle networks fluctuates about R(ρ_t) with standard deviation ∝ N^``candidate``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        sgd = {n: _sgd("mean-field", n).risk[-1] for n in NETWORK_SIZES}
        flow = {n: _gradient_flow(n) for n in NETWORK_SIZES}
        return [timed(_risk_gaps, sgd, float(candidate), "particle-sgd", False), timed(_risk_gaps, flow, float(candidate), "gradient-flow", False)]


@dataclass(frozen=True)
class MeanFieldScaling(Claim):
    """Under the output scale of ``candidate`` ("mean-field": 1/N) every feature moves O(1) and R_N(t) → R(ρ_t) at
    least like N^{-1/2}."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        risks = {n: _sgd(candidate, n).risk[-1] for n in NETWORK_SIZES}
        return [timed(self._displacement, candidate), timed(_risk_gaps, risks, -0.5, "risk-convergence", True)]

    @staticmethod
    def _displacement(candidate) -> Evidence:
        moved = {n: np.abs(_sgd(candidate, n).particles[-1] - _sgd(candidate, n).particles[0]).mean(axis=(1, 2)) for n in NETWORK_SIZES}
        slope, error, details = width_exponent(moved)
        details["scaling"] = candidate
        return judge_width_exponent("feature-displacement", slope, error, 0.0, details, bound=False, what=f"mean |w_i(t) − w_i(0)| at t = {HORIZON:g}")



# ---------------------------------------------------------------- global convergence (Chizat & Bach 2018)

#: Widths, steps and learning rate of the ReLU-teacher runs (mean-field scaling, full batch).
RELU_WIDTHS, RELU_STEPS, RELU_RATE = (64, 256), 1500, 0.5


@functools.cache
def _relu_losses(initialisation: str, gradient: str) -> dict[int, np.ndarray]:
    x, y = relu_teacher_problem()
    return {n: train_relu_network(x, y, n, initialisation=initialisation, steps=RELU_STEPS, learning_rate=RELU_RATE, seed=n, gradient=gradient) for n in RELU_WIDTHS}


@dataclass(frozen=True)
class GlobalConvergence(Claim):
    """Gradient descent on a wide two-layer ReLU network (2-homogeneous in θ = (a, w)), from the initialisation
    ``candidate``, reaches the global minimum — zero loss on a realisable teacher.

    Chizat & Bach (2018), the 2-homogeneous case of their global-convergence theorem.  Hypotheses: θ ↦ a relu(⟨w, x⟩)
    is 2-homogeneous (a bias enters as a constant input); the loss is convex and smooth in ŷ (the square loss);
    the initial measure's support covers every direction of the parameter sphere (Gaussian w and a = ±|w|, both
    signs); and the Wasserstein gradient flow converges (here: the loss settles).  Conclusion: its limit is a
    global minimiser.  Initialised on the half-space a > 0 the support misses half the directions, and since
    a² − |w|² is conserved (:func:`dyncheck.theory.meanfield_training.balance_rate`) no a ever turns negative."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._trained, candidate, "backprop"), timed(self._autograd, candidate), timed(self._reachable, candidate)]

    @staticmethod
    def _trained(candidate, gradient: str) -> Evidence:
        losses = _relu_losses(candidate, gradient)
        final = {n: float(v[-1]) for n, v in losses.items()}
        limit = tolerance("global_minimum_loss")
        details = {"initialisation": candidate, "final_loss": final, "initial_loss": {n: float(v[0]) for n, v in losses.items()}, "steps": RELU_STEPS, "tolerance": limit}
        route = {"backprop": "gd-backprop", "autograd": "gd-autograd"}[gradient]
        what = f"{candidate} initialisation, widths {RELU_WIDTHS}, {RELU_STEPS} full-batch steps: final loss " + ", ".join(f"{v:.1e}" for v in final.values())
        return Evidence(route, AGREE if max(final.values()) <= limit else DISAGREE, what, details)

    @needs_torch("gd-autograd")
    def _autograd(self, torch, candidate) -> Evidence:
        return self._trained(candidate, "autograd")

    @staticmethod
    def _reachable(candidate) -> Evidence:
        """a² − |w|² conserved (symbolic), so the flow stays among networks whose a have the initial signs; the best
        loss among those (NNLS over 4096 directions) is 0 only if both signs are present."""
        rate = balance_rate()
        if rate != 0:
            return Evidence("conservation-and-cone", DISAGREE, f"d/dt(a² − |w|²) = {rate}, not 0: the balance is not conserved")
        x, y = relu_teacher_problem()
        best = cone_optimum(x, y, signs="both" if candidate == "spread" else "positive")
        limit = tolerance("global_minimum_loss")
        details = {"balance_rate": "0", "cone_optimum": best, "tolerance": limit}
        signs = "a of both signs" if candidate == "spread" else "a > 0 only"
        what = f"d/dt(a² − |w|²) = 0 (derived), so the flow keeps {signs}; the best loss of such networks (NNLS, 4096 directions) is {best:.4g}"
        return Evidence("conservation-and-cone", AGREE if best <= limit else DISAGREE, what, details)

CLAIMS = [
    CircleKuramotoForm(
        "meanfield_training.circle_kuramoto_form",
        "Mei, Montanari & Nguyen (2018), PNAS 115; Kuramoto (1975): circle features under gradient flow are repulsive Kuramoto oscillators",
        r"\dot\theta_i = \frac{K}{N}\sum_j \Gamma(\theta_j - \theta_i) - 2\xi c\,\Gamma(\theta_i - \theta^*),\ \Gamma = -C',\ C(\Delta) = E[\varphi(u)\varphi(u + \Delta)],\ K = -2\xi",
        literature=-2 * LEARNING_RATE_SCALE,
        wrong=2 * LEARNING_RATE_SCALE,
    ),
    CosineSteadyOrder(
        "meanfield_training.cosine_steady_order",
        "Mei, Montanari & Nguyen (2018): the risk of φ = √2 cos features is |c e^{iθ*} − Z|²; its minimiser has r = min(c, 1)",
        r"\varphi = \sqrt2\cos:\ R(\rho) = |c e^{i\theta^*} - Z|^2,\ Z = \int e^{i\theta} d\rho,\ r_\infty = \min(c, 1)",
        literature=sp.Min(TEACHER_SCALE, 1),
        wrong=sp.Integer(1),
    ),
    DistributionalDynamics(
        "meanfield_training.distributional_dynamics",
        "Mei, Montanari & Nguyen (2018), PNAS 115 E7665: SGD on a two-layer network follows ∂_tρ = 2ξ∇·(ρ∇Ψ), Ψ = V + ∫U dρ",
        r"\partial_t\rho_t = 2\xi(t)\,\nabla_\theta\cdot\big(\rho_t\nabla_\theta\Psi(\theta; \rho_t)\big),\ \Psi = V(\theta) + \int U(\theta, \theta')\,d\rho_t(\theta')",
        literature=2,
        wrong=1,
    ),
    RiskFluctuations(
        "meanfield_training.risk_fluctuations",
        "Mei, Montanari & Nguyen (2018): |R_N(θ^k) − R(ρ_{kε})| ≲ √(1/N ∨ ε): fluctuations of order N^{-1/2}",
        r"\operatorname{sd} R_N(\theta(t)) \propto N^{-1/2}",
        literature=-0.5,
        wrong=-1.0,
    ),
    MeanFieldScaling(
        "meanfield_training.mean_field_scaling",
        "Mei, Montanari & Nguyen (2018); Chizat & Bach (2018): with output scale 1/N the features move O(1) (not lazily) and follow ρ_t",
        r"\hat y = \tfrac1N\sum_i \sigma_*(x; \theta_i):\ |\theta_i(t) - \theta_i(0)| = O(1),\ R_N(t) \to R(\rho_t)",
        literature="mean-field",
        wrong="ntk",
    ),
    GlobalConvergence(
        "meanfield_training.global_convergence_relu",
        "Chizat & Bach (2018), NeurIPS: gradient flow of wide 2-homogeneous networks from an initialisation covering every direction reaches a global minimum",
        r"\rho_0 \text{ covers } S^{d},\ \rho_t \to \rho_\infty \Rightarrow R(\rho_\infty) = \min R = 0 \text{ (realisable teacher)}",
        literature="spread",
        wrong="half-space",
    ),
]
