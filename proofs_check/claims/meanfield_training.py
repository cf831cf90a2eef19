r"""Mean-field limits of training: two-layer networks of circle features are Kuramoto models.

Sources: Mei, Montanari & Nguyen (2018), PNAS 115 E7665 (the risk's V and U, and the particle flow
θ̇_i = −2ξ[∇V(θ_i) + (1/N)Σ_j∇_1U(θ_i, θ_j)]); Kuramoto (1975); Daido (1992) for higher harmonics.

Routes: the particle flow derived symbolically from V and U (:mod:`theory.meanfield_training`) against the
Kuramoto form; the network's own gradient, by the uniform quadrature rule in numpy and by autograd in torch,
against the Kuramoto velocity compiled from the derivation; and the network trained by gradient flow, beside
the Kuramoto ODE.  Negative controls: the attractive sign of the coupling (K = +2ξ), and collapse of the
features (r∞ = 1, what an attractive coupling gives) for the steady order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.meanfield_training import autograd_velocity, kuramoto_velocity, network_velocity, train
from dyncheck.proofs_check.claim import Claim, Profile, needs_torch, timed
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.proofs_check.verdicts import AGREE, DISAGREE, EXACT, Evidence
from dyncheck.theory.meanfield_training import circle_model, cosine_risk, kuramoto_form, particle_velocity
from dyncheck.theory.symbols import LEARNING_RATE_SCALE, PSI, TEACHER_ANGLE, TEACHER_SCALE, R, U

__all__ = ["CLAIMS", "CircleKuramotoForm", "CosineSteadyOrder", "FEATURES"]

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
]
