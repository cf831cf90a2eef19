r"""Gradient descent as a dynamical system: stability thresholds of GD, momentum and frozen-Adam.

Routes: the exact symbolic derivation of :mod:`theory.gradient_descent` (the characteristic
polynomial of the linearised update and the Jury conditions, proved for every β ∈ [0, 1)); the
same update rules iterated in double precision and in 30-digit mpmath at (1 ± ε) times the
candidate threshold; and the real ``torch.optim.SGD``, whose divergence threshold is located by a
grid refined around it, without looking at the candidate.  Negative controls: the descent lemma's
1/λ as the GD threshold, 2/η for heavy-ball (momentum ignored), the other momentum convention's
threshold for Nesterov and for frozen-preconditioner Adam, and the least-squares Hessian without
its 1/N.

Beyond thresholds: the edge of stability and progressive sharpening (two GD runs, two Hessian
routes), self-stabilisation (a cubic Taylor step derived by SymPy; full GD on a toy network against
the reduced map, at three scales; the map's cycle average), implicit bias and deep linear modes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.gradient_descent import (
    divergence_bracket,
    edge_of_stability,
    edge_of_stability_problem,
    growth,
    deep_linear_flow,
    edge_descent,
    edge_frame,
    gd_run,
    gradient_flow_sharpness,
    least_squares_descent,
    least_squares_growth,
    logistic_descent,
    mp_least_squares_growth,
    logistic_flow_directions,
    mp_growth,
    pulled_linear_network,
    self_stabilisation_orbit,
    torch_gd_dense_sharpness,
    torch_growth,
    whole_cycles,
)
from dyncheck.proofs_check.claim import Claim, Profile, needs_torch, timed
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.proofs_check.verdicts import AGREE, DISAGREE, EXACT, UNDECIDED, Evidence
from dyncheck.theory.gradient_descent import (
    balanced_mode_residual,
    cubic_step_residuals,
    cycle_mean_square,
    derive_threshold,
    hard_margin_svm,
    least_squares_limit,
    least_squares_limit_residuals,
    mode_strength,
)
from dyncheck.theory.symbols import INITIAL_STRENGTH, MOMENTUM, SHARPENING_RATE, SINGULAR_VALUE, STABILISATION_STRENGTH, TIME, TIME_CONSTANT

__all__ = [
    "CLAIMS",
    "DeepLinearModes",
    "EdgeOfStability",
    "LeastSquaresImplicitBias",
    "LeastSquaresThreshold",
    "LogisticDirectionRate",
    "LogisticMaxMargin",
    "SelfStabilisationCycleAverage",
    "SelfStabilisationMap",
    "SharpeningPastTheEdge",
    "StabilityThreshold",
]

#: Momenta at which the iterated routes run: none, moderate, and heavy (where the conventions differ most).
MOMENTA = (0.0, 0.5, 0.9)
#: Momenta of the torch.optim route, whose runs cost the most: at β = 0 every optimizer is GD, which
#: ``gradient_descent.gd_threshold`` checks there.
TORCH_MOMENTA = (0.5, 0.9)
#: Steps of every iterated run (the tolerance's reason says what they resolve).
STEPS = 4000


def _at(candidate, beta: float) -> sp.Expr:
    """The candidate threshold at β, exactly (β a decimal of :data:`MOMENTA`, read as the rational it names)."""
    return sp.sympify(candidate).subs(MOMENTUM, sp.Rational(str(beta)))


def _symbolic_threshold(optimizer: str, candidate) -> Evidence:
    derived = derive_threshold(optimizer)
    details = {"derived": str(derived.bound), "polynomial": str(derived.polynomial), "conditions": [list(c) for c in derived.conditions]}
    if not derived.proved:
        return Evidence("symbolic-jury", UNDECIDED, f"the threshold is not proved: {derived.reason}", details)
    difference = sp.simplify(sp.sympify(candidate) - derived.bound)
    if difference == 0:
        return Evidence("symbolic-jury", EXACT, f"stable ⇔ 0 < ηλ < {derived.bound} for all β ∈ [0, 1): {derived.reason}", details)
    details["difference"] = str(difference)
    return Evidence("symbolic-jury", DISAGREE, f"the derived threshold is ηλ < {derived.bound}, not {candidate}", details)


def _straddles(route: str, measure, candidate, what: str) -> Evidence:
    """Converges at x*(1 − ε) and diverges at x*(1 + ε), x* the candidate, at every momentum of :data:`MOMENTA`."""
    epsilon = tolerance("stability_bracket_relative")
    failures, details = [], {"epsilon": epsilon, "steps": STEPS}
    margin = sp.Rational(str(epsilon))
    for beta in MOMENTA:
        x = _at(candidate, beta)
        below, above = measure([x * (1 - margin), x * (1 + margin)], beta)
        details[f"beta={beta:g}"] = {"threshold": float(x), "growth_below": float(below), "growth_above": float(above)}
        if not (below <= 1 < above):
            failures.append(f"β = {beta:g}: max|θ| = {float(below):.3g} below and {float(above):.3g} above ηλ = {float(x):.6g}")
    if failures:
        return Evidence(route, DISAGREE, f"{what}: the candidate is not where runs start to diverge ({failures[0]})", details)
    return Evidence(route, AGREE, f"{what}: converges at (1 − {epsilon:g})x*, diverges at (1 + {epsilon:g})x*, β ∈ {set(MOMENTA)}", details)


@functools.lru_cache(maxsize=16)
def _torch_bracket(optimizer: str, beta: float) -> tuple[float, float] | None:
    """Where torch.optim.SGD's runs start to diverge, ηλ ∈ [0.01, 1000]: a grid of 512 (spacing 2.3 %) at STEPS/10
    steps (they resolve 0.3 %), then 512 between its last stable and first divergent points at STEPS.  The
    candidate plays no part, so the formula and its control are judged on the same bracket."""
    return divergence_bracket(lambda xs, final: torch_growth(optimizer, xs, beta, STEPS if final else STEPS // 10) > 1, 1e-2, 1e3, points=512, rounds=2)


@dataclass(frozen=True)
class StabilityThreshold(Claim):
    """An optimizer on a quadratic converges from every start iff ηλ < ``candidate`` (an expression in β) for every curvature λ."""

    optimizer: str = "gd"

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        name = self.optimizer
        return [
            timed(_symbolic_threshold, name, candidate),
            timed(_straddles, "double-iteration", lambda xs, beta: growth(name, [float(x) for x in xs], beta, STEPS), candidate, "the update rule in float64"),
            timed(_straddles, "mpmath-iteration", lambda xs, beta: mp_growth(name, [str(sp.N(x, 40)) for x in xs], str(beta), STEPS), candidate, "the update rule at 30 digits"),
            timed(self._torch, candidate),
        ]

    @needs_torch("torch-optim")
    def _torch(self, torch, candidate) -> Evidence:
        epsilon = tolerance("stability_bracket_relative")
        details, failures = {"epsilon": epsilon, "steps": STEPS}, []
        for beta in (0.0,) if self.optimizer == "gd" else TORCH_MOMENTA:
            bracket = _torch_bracket(self.optimizer, beta)
            x = float(_at(candidate, beta))
            if bracket is None:
                return Evidence("torch-optim", UNDECIDED, f"β = {beta:g}: torch.optim.SGD's runs are not stable-then-divergent on ηλ ∈ [0.01, 1000]", details)
            details[f"beta={beta:g}"] = {"stable": bracket[0], "divergent": bracket[1], "candidate": x}
            if not bracket[0] * (1 - epsilon) <= x <= bracket[1] * (1 + epsilon):
                failures.append(f"β = {beta:g}: diverges between ηλ = {bracket[0]:.6g} and {bracket[1]:.6g}, not at {x:.6g}")
        if failures:
            return Evidence("torch-optim", DISAGREE, f"torch.optim.SGD ({failures[0]})", details)
        return Evidence("torch-optim", AGREE, f"torch.optim.SGD starts to diverge within {epsilon:g} of the candidate ({', '.join(k for k in details if k.startswith('beta'))})", details)


# ---------------------------------------------------------------------------
# Least squares: the Hessian whose λ_max sets the step


#: The least-squares problem of the claim: N = 6 samples of 3 features, small integers (exact in SymPy).
FEATURES = ((1, 2, 0), (0, 1, 3), (2, -1, 1), (1, 1, 1), (-1, 0, 2), (3, 1, -2))
TARGETS = (1, -2, 0, 3, 1, -1)


def _hessian_of_mean_loss() -> sp.Matrix:
    x = sp.Matrix(FEATURES)
    w = sp.Matrix(sp.symbols(f"w0:{x.cols}"))
    residual = x * w - sp.Matrix(TARGETS)
    loss = (residual.T * residual)[0, 0] / (2 * x.rows)
    return sp.hessian(loss, list(w))


@dataclass(frozen=True)
class LeastSquaresThreshold(Claim):
    """GD on L(w) = (1/2N)‖Xw − y‖² converges from every start iff η < 2/λ_max(H), H = ``candidate(X)``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._iteration, candidate), timed(self._mp_iteration, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        gd = derive_threshold("gd")
        hessian = _hessian_of_mean_loss()
        claimed = sp.Matrix(candidate(sp.Matrix(FEATURES)))
        if not gd.proved:
            return Evidence("symbolic", UNDECIDED, f"the GD threshold is not proved: {gd.reason}")
        if sp.simplify(claimed - hessian) == sp.zeros(*hessian.shape):
            return Evidence("symbolic", EXACT, f"∇²L = the candidate H exactly, and GD is stable ⇔ ηλ < {gd.bound} on every eigenvalue λ of H", {"hessian": str(hessian)})
        return Evidence("symbolic", DISAGREE, "∇²L of (1/2N)‖Xw − y‖² is not the candidate H", {"hessian": str(hessian), "candidate": str(claimed)})

    def _iteration(self, candidate) -> Evidence:
        epsilon = tolerance("stability_bracket_relative")
        x, y = np.array(FEATURES, float), np.array(TARGETS, float)
        threshold = 2 / float(np.linalg.eigvalsh(np.asarray(candidate(x), float)).max())
        below, above = least_squares_growth(x, y, [threshold * (1 - epsilon), threshold * (1 + epsilon)], STEPS)
        details = {"eta_threshold": threshold, "epsilon": epsilon, "error_below": float(below), "error_above": float(above), "steps": STEPS}
        what = f"GD on (1/2N)‖Xw − y‖², N = {len(TARGETS)}, from w = 0: relative error {below:.2g} at (1 − ε)·2/λ_max, {above:.2g} at (1 + ε)"
        return Evidence("double-iteration", AGREE if below < 1 < above else DISAGREE, what, details)

    def _mp_iteration(self, candidate) -> Evidence:
        """The same at 30 digits, 2000 steps: the top mode grows or shrinks by e^{±4} (|1 − ηλ_max| = 1 ± 2ε)."""
        epsilon = tolerance("stability_bracket_relative")
        threshold = 2 / float(np.linalg.eigvalsh(np.asarray(candidate(np.array(FEATURES, float)), float)).max())
        below, above = (float(v) for v in mp_least_squares_growth(FEATURES, TARGETS, [repr(threshold * (1 - epsilon)), repr(threshold * (1 + epsilon))], 2000))
        details = {"eta_threshold": threshold, "epsilon": epsilon, "error_below": below, "error_above": above, "steps": 2000, "digits": 30}
        what = f"the same GD at 30 digits: relative error {below:.2g} at (1 − ε)·2/λ_max, {above:.2g} at (1 + ε)"
        return Evidence("mpmath-iteration", AGREE if below < 1 < above else DISAGREE, what, details)


# ---------------------------------------------------------------------------
# The edge of stability


#: The run of the edge-of-stability claim: step size, steps, sharpness interval (the problem is
#: :func:`numerics.gradient_descent.edge_of_stability`'s default: tanh, width 16, depth 2, 128 random labels;
#: the sharpness starts at 2.2 and reaches 2/η = 10 by step ~250).
EOS_ETA, EOS_STEPS, EOS_EVERY = 0.2, 800, 40
#: Steps of the torch route at which the dense Hessian is taken (the second half of the run).
EOS_CHECKPOINTS = (500, 650, 800)


@functools.lru_cache(maxsize=1)
def _eos_substrate_run():
    return edge_of_stability([EOS_ETA], steps=EOS_STEPS, every=EOS_EVERY)[0]


@functools.lru_cache(maxsize=1)
def _eos_torch_run() -> dict:
    return torch_gd_dense_sharpness(*edge_of_stability_problem(), EOS_ETA, EOS_STEPS, EOS_CHECKPOINTS)


#: Time of the sharpening claim, in the flow's units: η·steps of GD at EOS_ETA = 0.2 for 400 steps.
SHARPENING_TIME = 80.0


@functools.lru_cache(maxsize=1)
def _flow_and_small_step_sharpness() -> tuple[float, float]:
    """Sharpness at t = SHARPENING_TIME along gradient flow and along GD at η/10 (edge 20/η, never reached), same start."""
    network, x, y = edge_of_stability_problem()
    flow = gradient_flow_sharpness(network.copy(), x, y, [SHARPENING_TIME])[SHARPENING_TIME]
    small = EOS_ETA / 10
    run = gd_run(network, x, y, small, round(SHARPENING_TIME / small), every=round(SHARPENING_TIME / small))
    return flow, float(run.sharpness[-1])


@dataclass(frozen=True)
class SharpeningPastTheEdge(Claim):
    """Without GD's step, training sharpens past 2/η: along gradient flow (and GD at a far smaller step) from the same
    start, the sharpness at time η·T is above the 2/η at which GD with step η hovers — iff ``candidate`` is True."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._flow, candidate), timed(self._small_step, candidate)]

    # both measure the sharpness by Lanczos on Hessian–vector products, which torch's autograd computes
    @needs_torch("gradient-flow")
    def _flow(self, torch, candidate) -> Evidence:
        return self._judge("gradient-flow", _flow_and_small_step_sharpness()[0], candidate, "gradient flow (DOP853, the substrate's ∇L)", None)

    @needs_torch("small-step-gd")
    def _small_step(self, torch, candidate) -> Evidence:
        return self._judge("small-step-gd", _flow_and_small_step_sharpness()[1], candidate, f"GD at η/10 = {EOS_ETA / 10:g}", EOS_ETA / 10)

    def _judge(self, route: str, value: float, candidate: bool, what: str, own_step: float | None) -> Evidence:
        """Past GD's edge 2/η (as ``candidate`` says) — and, for GD at a smaller step, still below its own edge."""
        edge, band = 2 / EOS_ETA, tolerance("edge_of_stability_band")
        past = value > edge * (1 + band)
        details = {"sharpness": value, "edge_2_over_eta": edge, "time": SHARPENING_TIME, "band": band}
        summary = f"{what}: sharpness {value:.4g} at t = {SHARPENING_TIME:g}, {'past' if past else 'not past'} GD's edge 2/η = {edge:g} (+{band:.0%})"
        if own_step is not None:
            details["own_edge"] = 2 / own_step
            summary += f", below its own 2/η = {2 / own_step:g}" if value < 2 / own_step else f", yet not below its own 2/η = {2 / own_step:g}"
            if value >= 2 / own_step:
                return Evidence(route, DISAGREE, summary + ": it is at its own edge, not on the flow", details)
        return Evidence(route, AGREE if past == bool(candidate) else DISAGREE, summary, details)


def _hovers(route: str, level: float, initial: float | None, late: np.ndarray, what: str, details: dict) -> Evidence:
    band = tolerance("edge_of_stability_band")
    mean = float(np.mean(late))
    details.update({"level": level, "late_mean": mean, "late_min": float(np.min(late)), "late_max": float(np.max(late)), "band": band})
    sharpened = initial is None or initial < level * (1 - band)
    if abs(mean / level - 1) <= band and sharpened:
        return Evidence(route, AGREE, f"{what}: late sharpness {mean:.4g} (range {np.min(late):.4g}–{np.max(late):.4g}) within {band:.0%} of {level:.4g}", details)
    if not sharpened:
        return Evidence(route, DISAGREE, f"{what}: the sharpness starts at {initial:.4g}, not below the level {level:.4g}: no progressive sharpening to it", details)
    return Evidence(route, DISAGREE, f"{what}: late sharpness {mean:.4g}, not within {band:.0%} of {level:.4g}", details)


@dataclass(frozen=True)
class EdgeOfStability(Claim):
    """Full-batch GD at step η sharpens progressively and then hovers at sharpness ``candidate``/η while the loss falls."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._substrate, candidate), timed(self._torch, candidate)]

    @needs_torch("substrate-lanczos")  # Lanczos on Hessian–vector products by torch's autograd
    def _substrate(self, torch, candidate) -> Evidence:
        run = _eos_substrate_run()
        late = run.late_sharpness(EOS_STEPS // 2)
        details = {"eta": EOS_ETA, "steps": EOS_STEPS, "initial_sharpness": float(run.sharpness[0]), "loss_start": float(run.loss[0]), "loss_end": float(run.loss[-1])}
        if not run.loss[-1] < run.loss[EOS_STEPS // 2] < run.loss[0]:
            return Evidence("substrate-lanczos", DISAGREE, "the loss does not fall over the run", details)
        what = f"GD (the substrate's backward pass), η = {EOS_ETA:g}, Lanczos on HVPs every {EOS_EVERY} steps"
        return _hovers("substrate-lanczos", float(candidate) / EOS_ETA, float(run.sharpness[0]), late, what, details)

    @needs_torch("torch-dense")
    def _torch(self, torch, candidate) -> Evidence:
        found = _eos_torch_run()
        what = f"torch.optim.SGD, η = {EOS_ETA:g}, λ_max of the dense Hessian at steps {list(found)}"
        return _hovers("torch-dense", float(candidate) / EOS_ETA, None, np.array(list(found.values())), what, {"sharpness": {str(k): v for k, v in found.items()}})


# ---------------------------------------------------------------------------
# Self-stabilisation (Damian, Nichani & Lee 2023)


#: The expansion scales ε of the pulled linear network (pull strength ε², so α = 4ε², β = 16, η = ½), and the run:
#: from x₀ = 0.05 √(α/β), y₀ = −√α for CYCLE_TIME in the map's natural time 1/(η√α) steps — one whole cycle:
#: progressive sharpening from y₀ < 0, blow-up once y > 0, self-stabilisation, decay.
SELF_STABILISATION_SCALES, START_X, START_Y, CYCLE_TIME = (0.04, 0.02, 0.01), 0.05, -1.0, 8.0
#: The cycle-average runs: one scale, about seven cycles; the reduced map's own run takes the parameters
#: (η, α, β) of the network at that scale, without torch.
AVERAGE_SCALE, AVERAGE_TIME = 0.02, 80.0
REDUCED_MAP = (0.5, 4 * AVERAGE_SCALE**2, 16.0)


@functools.lru_cache(maxsize=None)
def _edge_run(scale: float, time: float):
    """(frame, x_t, y_t): GD on the pulled linear network at ``scale``, from the claims' start, for ``time`` natural units."""
    loss, point = pulled_linear_network(scale**2)
    frame = edge_frame(loss, point)
    steps = round(time / (frame.eta * np.sqrt(frame.alpha)))
    return (frame, *edge_descent(loss, frame, START_X * np.sqrt(frame.alpha / frame.beta), START_Y * np.sqrt(frame.alpha), steps))


def _largest_relative_gap(measured: tuple, reduced: tuple) -> float:
    return max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(measured, reduced))


@dataclass(frozen=True)
class SelfStabilisationMap(Claim):
    """Near a point at the edge (S = 2/η), GD's displacement x along u and sharpness excess y follow
    x' = −(1 + ηy)x, y' = y + η(α − ``candidate`` · βx²) to leading order."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._descent, candidate)]

    def _symbolic(self, prefactor) -> Evidence:
        gaps = cubic_step_residuals(prefactor)
        details = {"displacement_gap": str(gaps[0]), "excess_gap": str(gaps[1])}
        if gaps == (0, 0):
            return Evidence("symbolic", EXACT, "one GD step on the cubic Taylor model (u·∇L = 0, ∇S ⟂ u, ∇S flat to first order) is the map up to O(ε³)", details)
        return Evidence("symbolic", DISAGREE, f"one GD step on the cubic Taylor model differs from the map at O(ε²) by ({gaps[0]}, {gaps[1]})", details)

    @needs_torch("descent")
    def _descent(self, torch, prefactor) -> Evidence:
        gaps = []
        for scale in SELF_STABILISATION_SCALES:
            frame, x, y = _edge_run(scale, CYCLE_TIME)
            gaps.append(_largest_relative_gap((x, y), self_stabilisation_orbit(x[0], y[0], frame.eta, frame.alpha, frame.beta, x.size, prefactor=prefactor)))
        slope = float(np.polyfit(np.log(SELF_STABILISATION_SCALES), np.log(gaps), 1)[0])
        floor = 1 - tolerance("leading_order_slope")
        details = {"scales": list(SELF_STABILISATION_SCALES), "relative_gaps": gaps, "slope": slope, "least_slope": floor, "alignment_u_grad_S": frame.alignment}
        what = (f"full GD (torch autograd; α, β, u, ∇S by autograd) on the pulled linear network at ε = {', '.join(map(str, SELF_STABILISATION_SCALES))} "
                f"over one cycle: the map's relative gap {', '.join(f'{g:.3g}' for g in gaps)}, falling like ε^{slope:.2f}")
        if slope >= floor:
            return Evidence("descent", AGREE, what + f" (leading order: ≥ {floor:g})", details)
        return Evidence("descent", DISAGREE, what + f": not GD's leading order (a slope ≥ {floor:g} is)", details)


@dataclass(frozen=True)
class SelfStabilisationCycleAverage(Claim):
    """Over whole cycles of self-stabilisation the squared displacement along u averages ``candidate(α, β)``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._reduced, candidate), timed(self._descent, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        coefficient = sp.Symbol("c")
        (derived,) = sp.solve(cubic_step_residuals(coefficient)[1], coefficient)
        average = cycle_mean_square(derived)
        gap = sp.simplify(candidate - average)
        details = {"coefficient": str(derived), "cycle_average": str(average), "gap": str(gap)}
        if gap == 0:
            return Evidence("symbolic", EXACT, f"the cubic Taylor step gives the coefficient {derived} of βx², and the map summed over a stretch that returns y telescopes to ⟨x²⟩ = {average}", details)
        return Evidence("symbolic", DISAGREE, f"the map telescopes to ⟨x²⟩ = {average}, not {candidate}", details)

    def _judge(self, route: str, candidate, alpha: float, beta: float, x: np.ndarray, y: np.ndarray, what: str) -> Evidence:
        claimed = float(candidate.subs({SHARPENING_RATE: alpha, STABILISATION_STRENGTH: beta}))
        cycles = whole_cycles(y)
        if cycles is None:
            return Evidence(route, UNDECIDED, f"{what}: fewer than two upward crossings of y = 0, no whole cycle", {})
        start, end = cycles
        mean = float(np.mean(x[start:end] ** 2))
        gap, limit = abs(mean / claimed - 1), tolerance("cycle_average_relative")
        details = {"alpha": alpha, "beta": beta, "steps": [start, end], "mean_square": mean, "claimed": claimed, "relative_gap": gap, "tolerance": limit}
        summary = f"{what}, steps {start}–{end}: ⟨x²⟩ = {mean:.5g} against {claimed:.5g} ({gap:.2%})"
        return Evidence(route, AGREE if gap <= limit else DISAGREE, summary, details)

    def _reduced(self, candidate) -> Evidence:
        eta, alpha, beta = REDUCED_MAP
        steps = round(AVERAGE_TIME / (eta * np.sqrt(alpha)))
        x, y = self_stabilisation_orbit(START_X * np.sqrt(alpha / beta), START_Y * np.sqrt(alpha), eta, alpha, beta, steps)
        return self._judge("reduced-map", candidate, alpha, beta, x, y, f"the reduced map iterated in double precision (generated code; η = {eta:g}, α = {alpha:g}, β = {beta:g})")

    @needs_torch("descent")
    def _descent(self, torch, candidate) -> Evidence:
        frame, x, y = _edge_run(AVERAGE_SCALE, AVERAGE_TIME)
        return self._judge("descent", candidate, frame.alpha, frame.beta, x, y, f"full GD on the pulled linear network (ε = {AVERAGE_SCALE:g})")


# ---------------------------------------------------------------------------
# Implicit bias: underdetermined least squares


#: An underdetermined problem: 3 samples of 5 features (full row rank), small integers.
WIDE_FEATURES = ((1, 2, 0, 1, -1), (0, 1, 3, 1, 2), (2, -1, 1, 0, 1))
WIDE_TARGETS = (1, -2, 3)


@dataclass(frozen=True)
class LeastSquaresImplicitBias(Claim):
    """GD on underdetermined (1/2N)‖Xw − y‖² from w₀ (η < 2/λ_max) ends at ``candidate(X, y, w₀)``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._descent, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        fit, off_rows = least_squares_limit_residuals(sp.Matrix(WIDE_FEATURES), sp.Matrix(WIDE_TARGETS), candidate)
        details = {"fit_residual": str(fit.T), "off_row_space": str(off_rows.T)[:400]}
        if fit.is_zero_matrix and off_rows.is_zero_matrix:
            return Evidence("symbolic", EXACT, "for symbolic w₀ the candidate interpolates and differs from w₀ by a vector of the row space of X: the GD limit", details)
        what = "does not interpolate" if not fit.is_zero_matrix else "leaves w₀ + row(X), where every GD iterate stays"
        return Evidence("symbolic", DISAGREE, f"the candidate {what}", details)

    def _descent(self, candidate) -> Evidence:
        x, y = np.array(WIDE_FEATURES, float), np.array(WIDE_TARGETS, float)
        starts = np.random.default_rng(5).standard_normal((4, x.shape[1]))
        eta = 1 / float(np.linalg.eigvalsh(x.T @ x / x.shape[0]).max())
        ends = least_squares_descent(x, y, starts, eta, 2000)
        exact = [sp.Matrix(WIDE_FEATURES), sp.Matrix(WIDE_TARGETS)]
        claimed = np.array([[float(v) for v in candidate(*exact, sp.Matrix([sp.Rational(s) for s in start]))] for start in starts])
        gap = float(np.max(np.linalg.norm(ends - claimed, axis=1) / np.linalg.norm(ends, axis=1)))
        limit = tolerance("gd_limit_relative")
        details = {"starts": starts.shape[0], "eta": eta, "steps": 2000, "max_relative_gap": gap, "tolerance": limit}
        what = f"float64 GD from {starts.shape[0]} random w₀, η = 1/λ_max, 2000 steps: ends {gap:.1e} (relative) from the candidate"
        return Evidence("double-descent", AGREE if gap <= limit else DISAGREE, what, details)


# ---------------------------------------------------------------------------
# Deep linear networks


#: The modes of the deep-linear claim: singular values, initial strength, and the times (in τ) they are compared at.
MODES, INITIAL, FLOW_TIMES = (3.0, 2.0, 1.0), 1e-3, np.linspace(0.0, 6.0, 61)


@functools.lru_cache(maxsize=1)
def _deep_linear_strengths() -> np.ndarray:
    return deep_linear_flow(MODES, INITIAL, FLOW_TIMES)


@dataclass(frozen=True)
class DeepLinearModes(Claim):
    """A balanced, aligned mode of a two-layer linear network obeys τu̇ = ``candidate`` · u(s − u), whose solution is sigmoidal."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._flow, candidate)]

    def _symbolic(self, rate) -> Evidence:
        balance, strength = balanced_mode_residual(rate)
        details = {"balance_rate": str(balance), "strength_residual": str(strength)}
        if balance == 0 and strength == 0:
            return Evidence("symbolic", EXACT, f"the gradient flow keeps a = b, and u = ab obeys τu̇ = {rate}u(s − u) exactly", details)
        return Evidence("symbolic", DISAGREE, f"d(ab)/dt − {rate}u(s − u)/τ = {strength} at a = b = √u", details)

    def _flow(self, rate) -> Evidence:
        strengths = _deep_linear_strengths()
        solution = sp.lambdify((TIME, SINGULAR_VALUE, INITIAL_STRENGTH, TIME_CONSTANT), mode_strength(rate))
        predicted = np.array([solution(FLOW_TIMES, s, INITIAL, 1.0) for s in MODES])
        gap = float(np.max(np.abs(strengths - predicted) / predicted))
        limit = tolerance("flow_relative")
        details = {"singular_values": list(MODES), "u0": INITIAL, "t_max": float(FLOW_TIMES[-1]), "max_relative_gap": gap, "tolerance": limit}
        what = f"gradient flow of a 3-mode two-layer linear network (the substrate, DOP853): {gap:.1e} from the closed form u(t) of rate {rate}"
        return Evidence("flow", AGREE if gap <= limit else DISAGREE, what, details)


# ---------------------------------------------------------------------------
# Separable logistic regression


#: Rows z_i = y_i x_i of a separable problem.  The support vectors (1, 0) and (1/2, 1) have unequal multipliers
#: (3/4, 1/2), so the bounded correction w̃ of w(t) = ŵ log t + w̃ + … has a component across ŵ and the angle to
#: ŵ decays exactly like 1/log t (with equal multipliers w̃ ∥ ŵ and it would decay faster, hiding the law); the
#: other points have margin ≥ 2, so their pull dies like 1/t.
SEPARABLE = ((1, 0), (sp.Rational(1, 2), 1), (2, 1), (1, 2))
#: Log-times s = log t at which the flow's direction is read.
LOG_TIMES = (40.0, 80.0)


@functools.lru_cache(maxsize=1)
def _logistic_directions() -> np.ndarray:
    return logistic_flow_directions(np.array(SEPARABLE, float), LOG_TIMES)


@dataclass(frozen=True)
class LogisticMaxMargin(Claim):
    """Gradient flow/descent on separable logistic regression converges in direction to ``candidate(Z)``, the angle decaying like 1/log t."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._flow, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        points = sp.Matrix(SEPARABLE)
        svm, multipliers = hard_margin_svm(points)
        claimed = sp.Matrix(candidate(points))
        details = {"svm": str(list(svm)), "multipliers": {str(k): str(v) for k, v in multipliers.items()}, "candidate": str(list(claimed))}
        parallel = sp.simplify(claimed[0] * svm[1] - claimed[1] * svm[0]) == 0 and sp.simplify((claimed.T * svm)[0]) > 0
        if parallel:
            # exact, but it identifies the limit only: that GD goes there, and at which rate, is the flow route's to
            # show (numerically) — so this route agrees and does not prove the claim
            return Evidence("symbolic-kkt", AGREE, f"the candidate points along the hard-margin SVM ŵ = {list(svm)} (exact KKT point, supports {sorted(multipliers)})", details)
        return Evidence("symbolic-kkt", DISAGREE, f"the hard-margin SVM is ŵ = {list(svm)}, not along the candidate", details)

    def _flow(self, candidate) -> Evidence:
        claimed = np.array([float(v) for v in candidate(sp.Matrix(SEPARABLE))])
        claimed /= np.linalg.norm(claimed)
        angles = np.arccos(np.clip(_logistic_directions() @ claimed, -1.0, 1.0))
        expected = LOG_TIMES[0] / LOG_TIMES[1]
        ratio = float(angles[1] / angles[0]) if angles[0] > 0 else float("nan")
        limit = tolerance("log_rate_ratio")
        details = {"log_times": list(LOG_TIMES), "angles": angles.tolist(), "ratio": ratio, "expected_ratio": expected, "tolerance": limit}
        what = f"gradient flow in log-time (DOP853) to t = e^{LOG_TIMES[1]:g}: angle to the candidate {angles[0]:.2e} → {angles[1]:.2e}, ratio {ratio:.3f}"
        agree = abs(ratio / expected - 1) <= limit
        return Evidence("log-time-flow", AGREE if agree else DISAGREE, what + (f" = log t₁/log t₂ = {expected:g} (the 1/log t law)" if agree else f", not {expected:g}: no 1/log t approach"), details)


#: Steps of explicit GD (η = 0.5) at which the rate claim reads its direction: t = e^10 and e^12.
GD_STEPS, GD_ETA = (22026, 162754), 0.5


@functools.lru_cache(maxsize=1)
def _logistic_gd_directions() -> np.ndarray:
    iterates = logistic_descent(np.array(SEPARABLE, float), GD_ETA, GD_STEPS)
    return iterates / np.linalg.norm(iterates, axis=1, keepdims=True)


@dataclass(frozen=True)
class LogisticDirectionRate(Claim):
    """On separable data the angle between GD's iterate and the max-margin direction decays like ``candidate(t)``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        flow_times = tuple(float(np.exp(s)) for s in LOG_TIMES)
        return [
            timed(self._ratio, "log-time-flow", _logistic_directions(), flow_times, candidate, "gradient flow in log-time (DOP853)"),
            timed(self._ratio, "explicit-gd", _logistic_gd_directions(), tuple(float(t) for t in GD_STEPS), candidate, f"explicit GD, η = {GD_ETA:g}"),
        ]

    def _ratio(self, route, directions, times, candidate, what) -> Evidence:
        svm = np.array([float(v) for v in hard_margin_svm(sp.Matrix(SEPARABLE))[0]])
        angles = np.arccos(np.clip(directions @ (svm / np.linalg.norm(svm)), -1.0, 1.0))
        rate = sp.lambdify(TIME, sp.sympify(candidate), "mpmath")
        predicted = float(rate(times[1]) / rate(times[0]))
        measured = float(angles[1] / angles[0])
        limit = tolerance("log_rate_ratio")
        details = {"times": list(times), "angles": angles.tolist(), "measured_ratio": measured, "predicted_ratio": predicted, "tolerance": limit}
        summary = f"{what}: θ(t₂)/θ(t₁) = {measured:.4f} from t = {times[0]:.3g} to {times[1]:.3g}; the candidate rate predicts {predicted:.4g}"
        return Evidence(route, AGREE if abs(measured / predicted - 1) <= limit else DISAGREE, summary, details)


def _svm_direction(points):
    return hard_margin_svm(points)[0]


def _least_squares_direction(points):
    """The least-squares fit of z_iᵀw = 1: a tempting limit (it is GD's on the squared loss), not the logistic one."""
    return points.pinv() * sp.ones(points.rows, 1)


def _minimum_norm(x, y, start):
    return x.pinv() * y


def _mean_hessian(x):
    return x.T @ x / x.shape[0]


def _sum_hessian(x):
    return x.T @ x


CLAIMS = [
    StabilityThreshold(
        "gradient_descent.gd_threshold",
        "Cohen, Kaur, Li, Kolter & Talwalkar (2021): GD on a quadratic converges iff ηλ < 2 for every Hessian eigenvalue λ",
        r"\theta \leftarrow \theta - \eta\nabla L \text{ stable} \iff 0 < \eta\lambda_{\max} < 2",
        literature=sp.Integer(2),
        wrong=sp.Integer(1),
        optimizer="gd",
    ),
    StabilityThreshold(
        "gradient_descent.heavy_ball_threshold",
        "Goh (2017), Why momentum really works; Cohen et al. (2021), §A: heavy-ball momentum (torch.optim.SGD's convention) is stable iff ηλ < 2 + 2β",
        r"v \leftarrow \beta v + \nabla L,\ \theta \leftarrow \theta - \eta v \text{ stable} \iff \eta\lambda_{\max} < 2 + 2\beta",
        literature=2 + 2 * MOMENTUM,
        wrong=sp.Integer(2),
        optimizer="heavy-ball",
    ),
    StabilityThreshold(
        "gradient_descent.nesterov_threshold",
        "Nesterov momentum in torch.optim.SGD's convention is stable iff ηλ < (2 + 2β)/(1 + 2β) (the z = −1 boundary of its characteristic polynomial)",
        r"v \leftarrow \beta v + \nabla L,\ \theta \leftarrow \theta - \eta(\nabla L + \beta v) \text{ stable} \iff \eta\lambda_{\max} < \frac{2 + 2\beta}{1 + 2\beta}",
        literature=(2 + 2 * MOMENTUM) / (1 + 2 * MOMENTUM),
        wrong=2 + 2 * MOMENTUM,
        optimizer="nesterov",
    ),
    StabilityThreshold(
        "gradient_descent.adam_threshold",
        "Cohen et al. (2022), Adaptive gradient methods at the edge of stability: Adam with a frozen preconditioner P is stable iff ηλ(PH) < (2 + 2β₁)/(1 − β₁)",
        r"m \leftarrow \beta_1 m + (1 - \beta_1)\nabla L,\ \theta \leftarrow \theta - \eta P m \text{ stable} \iff \eta\lambda_{\max}(PH) < \frac{2 + 2\beta_1}{1 - \beta_1}",
        literature=(2 + 2 * MOMENTUM) / (1 - MOMENTUM),
        wrong=2 + 2 * MOMENTUM,
        optimizer="adam",
    ),
    EdgeOfStability(
        "gradient_descent.edge_of_stability",
        "Cohen, Kaur, Li, Kolter & Talwalkar (2021): full-batch GD sharpens progressively, then hovers at the edge of stability, sharpness ≈ 2/η, while the loss keeps falling",
        r"\lambda_{\max}(\nabla^2 L(\theta_t)) \to 2/\eta \text{ and hovers there}",
        literature=2.0,
        wrong=1.0,
    ),
    LeastSquaresThreshold(
        "gradient_descent.least_squares_threshold",
        "Overdetermined least squares L = (1/2N)‖Xw − y‖² has Hessian XᵀX/N: GD converges iff η < 2/λ_max(XᵀX/N)",
        r"\eta < 2/\lambda_{\max}(X^\top X/N)",
        literature=_mean_hessian,
        wrong=_sum_hessian,
    ),
    LeastSquaresImplicitBias(
        "gradient_descent.least_squares_implicit_bias",
        "GD on underdetermined least squares from w₀ converges to X⁺y + (I − X⁺X)w₀: from 0, the minimum-norm interpolant (e.g. Gunasekar et al. 2018)",
        r"w_\infty = X^+ y + (I - X^+ X) w_0",
        literature=least_squares_limit,
        wrong=_minimum_norm,
    ),
    DeepLinearModes(
        "gradient_descent.deep_linear_modes",
        "Saxe, McClelland & Ganguli (2014): each mode of a two-layer linear network learns along τu̇ = 2u(s − u), u(t) = s u₀e^{2st/τ}/(s + u₀(e^{2st/τ} − 1))",
        r"\tau \dot u = 2u(s - u)",
        literature=2,
        wrong=1,
    ),
    SharpeningPastTheEdge(
        "gradient_descent.sharpening_past_the_edge",
        "Cohen et al. (2021), §3: progressive sharpening is the flow's own; gradient flow from the same start sharpens past the 2/η at which GD with step η stops",
        r"\lambda_{\max}(\theta^{\mathrm{GF}}(\eta T)) > 2/\eta \approx \lambda_{\max}(\theta^{\mathrm{GD}}_T)",
        literature=True,
        wrong=False,
    ),
    SelfStabilisationMap(
        "gradient_descent.self_stabilisation_map",
        "Damian, Nichani & Lee (2023), Self-stabilization, §4: at the edge, GD's displacement x along the top eigenvector and the sharpness excess y follow x' = −(1 + ηy)x, y' = y + η(α − βx²/2), α = −∇L·∇S, β = ‖∇S‖²",
        r"x_{t+1} = -(1 + \eta y_t)\,x_t,\quad y_{t+1} = y_t + \eta\big(\alpha - \tfrac{1}{2}\beta x_t^2\big)",
        literature=sp.Rational(1, 2),
        wrong=sp.Integer(1),
    ),
    SelfStabilisationCycleAverage(
        "gradient_descent.self_stabilisation_cycle_average",
        "Damian, Nichani & Lee (2023), §4: over a cycle of self-stabilisation the squared displacement along the top eigenvector averages 2α/β, where progressive sharpening and the cubic term balance",
        r"\langle x^2 \rangle_{\text{cycle}} = 2\alpha/\beta",
        literature=2 * SHARPENING_RATE / STABILISATION_STRENGTH,
        wrong=SHARPENING_RATE / STABILISATION_STRENGTH,
    ),
    LogisticMaxMargin(
        "gradient_descent.logistic_max_margin",
        "Soudry, Hoffer, Nacson, Gunasekar & Srebro (2018): on separable data, GD on the logistic loss converges in direction to the hard-margin SVM solution, the angle decaying like 1/log t",
        r"\frac{w(t)}{\|w(t)\|} \to \frac{\hat w}{\|\hat w\|},\ \hat w = \arg\min \{\|w\| : y_i x_i^\top w \ge 1\},\ \angle = O(1/\log t)",
        literature=_svm_direction,
        wrong=_least_squares_direction,
    ),
    LogisticDirectionRate(
        "gradient_descent.logistic_direction_rate",
        "Soudry et al. (2018), Theorem 3: the direction of GD's iterate on separable logistic regression approaches the max-margin direction only like 1/log t",
        r"\angle\big(w(t), \hat w\big) = \Theta(1/\log t)",
        literature=1 / sp.log(TIME),
        wrong=1 / TIME,
    ),
]
