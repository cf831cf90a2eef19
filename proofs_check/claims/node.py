r"""Neural ODEs and neural delay equations: what flows can represent, critical points, the memory threshold.

Sources: Dupont, Doucet & Teh 2019 (augmented neural ODEs); Kuehn & Kuntz, "Embedding capabilities of
neural ODEs" (arXiv 2308.01213), "Analysis of the geometric structure of neural networks and neural ODEs
via Morse functions" (arXiv 2405.09351) and "The influence of the memory capacity of neural DDEs on the
universal approximation property" (arXiv 2505.07244); Győri & Ladas 1991 and Hayes 1950 for the delay
equation x′ = −a x(t − τ).

Routes: symbolic derivations of :mod:`theory.node` (the variational equation by the chain rule, the
thresholds from the characteristic equation, the isotonic projection solved exactly); numerics of
:mod:`numerics.node` (RK4 flows with their divergence, central differences, certified gradient bounds by
interval arithmetic, Newton searches, isotonic regression on refined grids, the method of steps in
double precision); Lambert W and the closed-form delayed exponential in mpmath; the method of steps in
exact rational arithmetic with Bernstein certificates of sign.  Negative controls: 1 + Λ for e^Λ (its
flow map would have φ_T(1) < φ_T(−1)); a widening MLP with a critical point; an augmented neural ODE
with a critical point; non-generic weights (an MLP, the embedding of x⁴) with a degenerate critical point; half the monotone
bound as an achievable error; the embedding field reading z for x; π/2 as the sign threshold; 1 as the
memory threshold; 1/e as the stability threshold.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

from dyncheck.numerics.networks import Network
from dyncheck.numerics.node import (
    AffineNeuralODE,
    ScalarField,
    critical_points_1d,
    flow_derivative_by_differences,
    flow_with_divergence,
    isotonic_bound,
    linear_delay_solution,
    mlp_gradient_lower_bound,
    newton_critical_points,
    second_derivative_1d,
    sign_change_time,
)
from dyncheck.numerics.solvers import fixed_step
from dyncheck.proofs_check.claim import Claim, Profile, needs_torch, timed
from dyncheck.proofs_check.tolerances import relative_difference, tolerance
from dyncheck.proofs_check.verdicts import AGREE, DISAGREE, EXACT, UNDECIDED, Evidence
from dyncheck.theory.activations import activation
from dyncheck.theory.node import (
    characteristic_roots,
    closed_form_flow,
    delayed_exponential,
    digits_for,
    liouville_residuals,
    method_of_steps,
    sign_on_piece,
    sign_threshold,
    stability_threshold,
    variational_equation,
)
from dyncheck.theory.symbols import DIVERGENCE_INTEGRAL, STATE, TIME, X

__all__ = [
    "AugmentedEmbedding",
    "CLAIMS",
    "DelaySignThreshold",
    "DelayStabilityThreshold",
    "FlowDerivative",
    "GenericMorse",
    "MemoryOrientation",
    "MonotoneObstruction",
    "NoCriticalPoints",
    "augmented_embedding_ode",
    "augmented_random_ode",
    "degenerate_embedding_ode",
    "degenerate_mlp",
    "non_augmented_ode",
    "non_increasing_mlp",
    "widening_mlp",
    "widening_random_mlp",
]

_TANH = activation("tanh").expr()
#: The augmented coordinate of the embedding and the target as an undefined function.
_AUGMENTED = sp.Symbol("z", real=True)
_TARGET = sp.Function("g")
#: Seeds of the random networks and fields each route judges.
SEEDS = (0, 1, 2, 3)
#: The box [−BOX, BOX]^d of the critical-point claims.
BOX = 3.0
#: Delays the threshold routes integrate over: [0, HORIZON_DELAYS τ].
HORIZON_DELAYS = 60


# ----------------------------------------------------------------------------------- 1. flows


def _liouville_fields() -> list[tuple[str, ScalarField, float]]:
    """Random tanh fields (gain 2, width 8) over T = 3, and the contraction f(y) = −3y over T = 1."""
    contraction = Network([np.array([[-3.0]])], [np.zeros(1)], _TANH, 1.0, 0.0, "standard", ("linear",))
    return [(f"tanh field, seed {s}", ScalarField.random(8, seed=s), 3.0) for s in SEEDS[:3]] + [("f(y) = −3y", ScalarField(contraction), 1.0)]


@dataclass(frozen=True)
class FlowDerivative(Claim):
    """∂φ_T/∂x = ``candidate``(Λ), Λ = ∫₀ᵀ f′(φ_t(x)) dt, for every 1-D field."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._differences, candidate), timed(self._increment, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        lhs, rhs = variational_equation()
        ode, start = liouville_residuals(candidate)
        details = {"variational_equation": f"{lhs} = {rhs}", "ode_residual": str(ode), "initial_residual": str(start)}
        instances = {}
        for field in (sp.Rational(-3, 2) * STATE + sp.Rational(1, 2), STATE * (1 - STATE)):
            flow = closed_form_flow(field)
            instances[str(field)] = str(sp.simplify(flow.derivative - candidate.subs(DIVERGENCE_INTEGRAL, flow.divergence_integral)))
        details["closed_form_fields"] = instances
        if ode == 0 and start == 0 and all(v == "0" for v in instances.values()):
            return Evidence("symbolic", EXACT, "v = ∂φ/∂x solves v̇ = f′(φ)v, v(0) = 1 (chain rule); F(Λ) solves it for every field iff F′ = F, F(0) = 1, which holds; also exact for the flows of −3y/2 + 1/2 and y(1 − y)", details)
        return Evidence("symbolic", DISAGREE, f"F′(Λ) − F(Λ) = {ode}, F(0) − 1 = {start}: not the solution of the variational equation", details)

    def _differences(self, candidate) -> Evidence:
        law = sp.lambdify(DIVERGENCE_INTEGRAL, candidate, "numpy")
        worst, details = 0.0, {}
        for name, (ends, divergence, differences, truncation, _, _) in _liouville_flows().items():
            # the error in units of the tolerance: relative, plus the stencil's rounding floor and its estimated truncation
            allowed = tolerance("flow_derivative_relative") * np.abs(differences) + tolerance("flow_derivative_floor") * (1 + np.abs(ends)) + 2 * truncation
            error = float(np.max(np.abs(law(divergence) - differences) / allowed))
            details[name] = {"Lambda_range": [float(divergence.min()), float(divergence.max())], "error_in_tolerances": error}
            worst = max(worst, error)
        outcome = AGREE if worst <= 1 else DISAGREE
        return Evidence("variational-vs-differences", outcome, f"F(Λ) by RK4 on (y, Λ) against fourth-order differences of φ_T at 41 points, 4 fields: worst error {worst:.1e} of the tolerance (1e-6 relative + 1e-10(1 + |φ_T|) + twice Richardson's truncation estimate)", details)

    def _increment(self, candidate) -> Evidence:
        """φ_T(1) − φ_T(−1) = ∫_{−1}^{1} F(Λ(x)) dx: the claimed map's increment against the flow's."""
        from scipy.integrate import simpson

        law = sp.lambdify(DIVERGENCE_INTEGRAL, candidate, "numpy")
        worst, details = 0.0, {}
        for name, (_, _, _, _, ends, divergence) in _liouville_flows().items():
            claimed, actual = float(simpson(law(divergence), x=_INCREMENT_GRID)), float(ends[-1] - ends[0])
            details[name] = {"claimed_increment": claimed, "flow_increment": actual}
            worst = max(worst, relative_difference(claimed, actual))
        reversed_ = [name for name, d in details.items() if d["claimed_increment"] < 0]
        bound = tolerance("flow_derivative_relative")
        if worst <= bound:
            return Evidence("increment", AGREE, f"∫_{{−1}}^{{1}} F(Λ) dx = φ_T(1) − φ_T(−1) > 0 for 4 fields (worst relative error {worst:.1e})", details)
        what = f"; it claims φ_T(1) < φ_T(−1) for {', '.join(reversed_)}" if reversed_ else ""
        return Evidence("increment", DISAGREE, f"the claimed map's increment misses the flow's by {worst:.2g} (relative){what}", details)


#: The points of the differences route, and of the increment route (Simpson's error h⁴ ~ 1e-10 of the increment).
_DIFFERENCE_GRID = np.linspace(-2, 2, 41)
_INCREMENT_GRID = np.linspace(-1, 1, 401)


@functools.cache
def _liouville_flows() -> dict:
    """For each field: (φ_T, Λ, differences, their truncation) on the differences' grid and (φ_T, Λ) on the
    increment's — the same for every candidate, so computed once."""
    out = {}
    for name, field, horizon in _liouville_fields():
        ends, divergence = flow_with_divergence(field, _DIFFERENCE_GRID, horizon)
        differences, truncation = flow_derivative_by_differences(field, _DIFFERENCE_GRID, horizon)
        out[name] = (ends, divergence, differences, truncation, *flow_with_divergence(field, _INCREMENT_GRID, horizon))
    return out


# ------------------------------------------------------------------------- 2. critical points


def non_increasing_mlp(seed: int) -> Network:
    """A tanh MLP 3 → 3 → 2 → 1 with N(0, 1/fan-in) weights (full rank almost surely) and N(0, ¼) biases."""
    rng = np.random.default_rng(seed)
    shapes = ((3, 3), (2, 3), (1, 2))
    return Network([rng.normal(0, 1 / math.sqrt(s[1]), s) for s in shapes], [rng.normal(0, 0.5, s[0]) for s in shapes], _TANH, 1.0, 1.0, "standard")


def widening_mlp(seed: int) -> Network:
    """The widening 1 → 2 → 1 MLP f(x) = tanh(x + 1) − tanh(x − 1), with a critical point (a maximum) at 0."""
    return Network([np.array([[1.0], [1.0]]), np.array([[1.0, -1.0]])], [np.array([1.0, -1.0]), np.zeros(1)], _TANH, 1.0, 1.0, "standard")


def non_augmented_ode(seed: int) -> AffineNeuralODE:
    """x ↦ uᵀφ_1(Wx + b), W of full rank 2 × 3 (the phase space ℝ² no larger than the input ℝ³), a tanh field."""
    return AffineNeuralODE.random(3, 2, seed=seed, steps=50)


def augmented_embedding_ode(seed: int, power: int = 2) -> AffineNeuralODE:
    """The augmented neural ODE of x^power (phase space ℝ² for the input ℝ): (ẋ, ż) = (0, x^power), output z(1)."""
    def field(h):
        return np.stack([np.zeros_like(h[..., 0]), h[..., 0] ** power], axis=-1)

    def jacobian(h):
        out = np.zeros(h.shape + (2,))
        out[..., 1, 0] = power * h[..., 0] ** (power - 1)
        return out

    return AffineNeuralODE(np.array([[1.0], [0.0]]), np.zeros(2), np.array([0.0, 1.0]), field, jacobian, math.inf, steps=50)


def _gradient_of(model):
    if isinstance(model, Network):
        return lambda x: model.backward(x, np.ones(x.shape[:-1] + (1,)))[0]
    return model.gradient


def _dimension(model) -> int:
    return model.weights[0].shape[1] if isinstance(model, Network) else model.input_weight.shape[1]


@dataclass(frozen=True)
class NoCriticalPoints(Claim):
    """The networks ``candidate``(seed) have no critical point: ∇f ≠ 0 on [−3, 3]^d (MLPs) or everywhere (neural ODEs)."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._certificate, candidate), timed(self._search, candidate)]

    def _certificate(self, candidate) -> Evidence:
        bounds, sampled = {}, {}
        for seed in SEEDS:
            model = candidate(seed)
            d = _dimension(model)
            bound = mlp_gradient_lower_bound(model, -BOX, BOX, subdivisions=8 if d > 1 else 64) if isinstance(model, Network) else model.gradient_lower_bound()
            x = np.random.default_rng(100 + seed).uniform(-BOX, BOX, (2048 if isinstance(model, Network) else 512, d))
            bounds[seed], sampled[seed] = bound, float(np.linalg.norm(_gradient_of(model)(x), axis=1).min())
        details = {"certified_lower_bound": bounds, "sampled_min_gradient_norm": sampled}
        if any(sampled[s] < bounds[s] * (1 - tolerance("critical_gradient")) for s in SEEDS):
            return Evidence("certified-bound", DISAGREE, "a sampled ‖∇f‖ undercuts the certified bound: the bound is wrong", details)
        if min(bounds.values()) > 0:
            how = f"‖w_L‖ ∏ s(diag(m_l) W_l), m_l the least σ′ by interval arithmetic on 8^d sub-boxes of [−{BOX:g}, {BOX:g}]^d" if isinstance(candidate(SEEDS[0]), Network) else "s_min(Wᵀ)‖u‖e^{−TL} everywhere (Grönwall on the variational equation)"
            return Evidence("certified-bound", AGREE, f"‖∇f‖ ≥ {min(bounds.values()):.2e} > 0 for {len(SEEDS)} draws, certified by {how}; sampled minima {min(sampled.values()):.2e}", details)
        return Evidence("certified-bound", UNDECIDED, "no certificate: a layer (or the input map) widens, so its transpose has a kernel and the bound is 0", details)

    def _search(self, candidate) -> Evidence:
        found, smallest = {}, math.inf
        for seed in SEEDS:
            model = candidate(seed)
            d = _dimension(model)
            per_axis = 5 if d > 1 else 61
            if not isinstance(model, Network):
                per_axis = 3 if d > 1 else 13
            axes = np.meshgrid(*[np.linspace(-BOX + 0.1, BOX - 0.1, per_axis)] * d, indexing="ij")
            starts = np.stack(axes, -1).reshape(-1, d)
            points, least = newton_critical_points(_gradient_of(model), starts, -BOX, BOX, iterations=15, tolerance=tolerance("critical_gradient"))
            smallest = min(smallest, least)
            if len(points):
                found[seed] = points.tolist()
        details = {"critical_points": found, "smallest_gradient_norm_met": smallest}
        if found:
            seed, points = next(iter(found.items()))
            return Evidence("newton-search", DISAGREE, f"Newton finds ∇f = 0 at {np.round(points[0], 6).tolist()} (draw {seed})", details)
        return Evidence("newton-search", AGREE, f"Newton from a grid of starts in [−{BOX:g}, {BOX:g}]^d finds no critical point for {len(SEEDS)} draws (least ‖∇f‖ met {smallest:.2e})", details)


def widening_random_mlp(seed: int) -> Network:
    """A tanh MLP 1 → 6 → 1 without bottleneck (it widens), weights N(0, 4) and read-out N(0, 1)."""
    rng = np.random.default_rng(seed)
    return Network([rng.normal(0, 2, (6, 1)), rng.normal(0, 1, (1, 6))], [rng.normal(0, 2, 6), rng.normal(0, 1, 1)], _TANH, 1.0, 1.0, "standard")


def degenerate_mlp(seed: int) -> Network:
    """A widening 1 → 4 → 1 MLP on a null set of weights: f = [tanh(x + 1) − tanh(x − 1)] + γ[tanh(x + 2) − tanh(x − 2)]
    with γ = −tanh″(1)/tanh″(2), so that the maximum at 0 has f″(0) = 0 (f′ ~ x³ changes sign there)."""
    def second(z):
        return -2 * math.tanh(z) / math.cosh(z) ** 2

    gamma = -second(1.0) / second(2.0)
    return Network([np.ones((4, 1)), np.array([[1.0, -1.0, gamma, -gamma]])], [np.array([1.0, -1.0, 2.0, -2.0]), np.zeros(1)], _TANH, 1.0, 1.0, "standard")


def augmented_random_ode(seed: int) -> AffineNeuralODE:
    """An augmented neural ODE x ↦ uᵀφ_1(Wx + b), W ∈ ℝ^{2×1} of full rank, a tanh field of gain 2."""
    return AffineNeuralODE.random(1, 2, seed=seed, gain=2.0, steps=25)


def degenerate_embedding_ode(seed: int) -> AffineNeuralODE:
    """The augmented embedding of x⁴, a non-generic field: its minimum at 0 has f″(0) = 0."""
    return augmented_embedding_ode(seed, power=4)


@functools.cache
def _critical_points(family, seed: int) -> tuple[np.ndarray, callable, float, float]:
    """(critical points of family(seed) on [−R, R], f′, max|f″| there, R): R = 6 for an MLP, 3 for a neural ODE
    (cached: every route of a claim judges the same points)."""
    model = family(seed)
    gradient = _gradient_of(model)
    reach = 6.0 if isinstance(model, Network) else BOX

    def derivative(x):
        return gradient(np.asarray(x, float)[:, None])[:, 0]

    points = critical_points_1d(derivative, -reach, reach, points=2001)
    scale = float(np.abs(second_derivative_1d(derivative, np.linspace(-reach, reach, 241))).max())
    return points, derivative, scale, reach


@dataclass(frozen=True)
class GenericMorse(Claim):
    """Every critical point of the one-input networks ``candidate``(seed) is non-degenerate (f″ ≠ 0)."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        second = self._autograd if isinstance(candidate(SEEDS[0]), Network) else self._second_differences
        return [timed(self._differences, candidate), timed(second, candidate)]

    @staticmethod
    def _judge(route: str, curvatures: dict, how: str) -> Evidence:
        count = sum(len(v) for v in curvatures.values())
        details = {"relative_curvatures": curvatures, "critical_points": count}
        if count == 0:
            return Evidence(route, UNDECIDED, "no critical point in any draw: nothing to judge", details)
        least = min(min(v) for v in curvatures.values() if v)
        bound = tolerance("degenerate_curvature_relative")
        if least <= bound:
            return Evidence(route, DISAGREE, f"a degenerate critical point: |f″|/max|f″| = {least:.1e} ≤ {bound:.0e} ({how})", details)
        return Evidence(route, AGREE, f"{count} critical points over {len(curvatures)} draws, all non-degenerate: |f″|/max|f″| ≥ {least:.2e} ({how})", details)

    def _differences(self, candidate) -> Evidence:
        curvatures = {}
        for seed in SEEDS:
            points, derivative, scale, _ = _critical_points(candidate, seed)
            curvatures[seed] = [float(abs(c) / scale) for c in second_derivative_1d(derivative, points)] if len(points) else []
        return self._judge("finite-differences", curvatures, "f″ by central differences of f′ (backpropagation or the variational equation)")

    def _second_differences(self, candidate) -> Evidence:
        """f″ ≈ [f(x + h) − 2f(x) + f(x − h)]/h², h = 1e-3: forward evaluations only (truncation h²f⁗/12, rounding 4ε|f|/h²)."""
        curvatures = {}
        for seed in SEEDS:
            model = candidate(seed)
            points, _, _, reach = _critical_points(candidate, seed)

            def second(x):
                x = np.asarray(x, float)[:, None]
                return (model(x + 1e-3) - 2 * model(x) + model(x - 1e-3)) / 1e-6

            scale = float(np.abs(second(np.linspace(-reach, reach, 241))).max())
            curvatures[seed] = [float(abs(v) / scale) for v in second(points)] if len(points) else []
        return self._judge("second-differences", curvatures, "f″ by second differences of f")

    @needs_torch("autograd")
    def _autograd(self, torch, candidate) -> Evidence:
        from dyncheck.numerics.networks import torch_function

        curvatures = {}
        for seed in SEEDS:
            points, _, _, reach = _critical_points(candidate, seed)
            f, params = torch_function(candidate(seed))

            def second(x):
                """f″ at each point (the points are independent, so the derivatives of the sum are the pointwise ones)."""
                x = torch.as_tensor(x, dtype=torch.float64).reshape(-1, 1).requires_grad_()
                (slope,) = torch.autograd.grad(f(params, x).sum(), x, create_graph=True)
                return torch.autograd.grad(slope.sum(), x)[0][:, 0]

            scale = float(second(np.linspace(-reach, reach, 241)).abs().max())
            curvatures[seed] = [float(abs(v)) / scale for v in second(points)] if len(points) else []
        return self._judge("autograd", curvatures, "f″ by torch autograd")


# --------------------------------------------------------------------- 3. the monotone obstruction

#: Targets and domains of the obstruction claim.
OBSTRUCTION_TARGETS = (("x**2", -1.0, 1.0), ("Abs(x)", -1.0, 2.0), ("x**3 - x", -1.5, 1.5))


@functools.cache
def _bound(target: str, low: float, high: float):
    from dyncheck.proofs_check.parser import parse_expression

    return isotonic_bound(parse_expression(target), low, high)


@dataclass(frozen=True)
class MonotoneObstruction(Claim):
    """inf ‖f − g‖_{L²[A, B]} over non-augmented scalar neural ODEs with affine input and read-out = ``candidate``[g]."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._exact, candidate), timed(self._grid, candidate)]

    def _exact(self, candidate) -> Evidence:
        details, wrong = {}, []
        for target, low, high in OBSTRUCTION_TARGETS:
            bound = _bound(target, low, high)
            if bound.exact is None:
                return Evidence("exact-projection", UNDECIDED, f"no exact projection of {target}: {bound.why_not_exact}", details)
            blocks = [[str(v) for v in block] for block in bound.exact_blocks]
            details[target] = {"domain": [low, high], "derived": str(bound.exact), "claimed": str(candidate[target]), "pooled_blocks": blocks, "direction": bound.direction}
            if sp.simplify(bound.exact - candidate[target]) != 0:
                wrong.append(f"{target}: derived {bound.exact}, claimed {candidate[target]}")
        if wrong:
            return Evidence("exact-projection", DISAGREE, "; ".join(wrong), details)
        return Evidence("exact-projection", EXACT, "the L² projections onto monotone functions, solved exactly (block ends by resultants, monotone by exact roots of g′, optimal at 50 digits), give the claimed distances for x², |x|, x³ − x", details)

    def _grid(self, candidate) -> Evidence:
        details, worst = {}, 0.0
        for target, low, high in OBSTRUCTION_TARGETS:
            bound = _bound(target, low, high)
            claimed = float(candidate[target])
            errors = [relative_difference(v, claimed) for v in bound.grid_bounds.values()]
            details[target] = {"grid_distances": {str(k): v for k, v in bound.grid_bounds.items()}, "claimed": claimed, "relative_errors": errors}
            worst = max(worst, errors[-1])
        bound = tolerance("isotonic_grid_relative")
        if worst <= bound:
            return Evidence("isotonic-regression", AGREE, f"pool-adjacent-violators on 2^10 … 2^18 cells converges to the claimed distances (worst relative error {worst:.1e} at 2^18)", details)
        return Evidence("isotonic-regression", DISAGREE, f"isotonic regression on 2^18 cells is {worst:.2g} (relative) from a claimed distance", details)


# ------------------------------------------------------------------------- 4. the embedding

#: Targets embedded by the augmented field (continuous; |x| is not differentiable).
EMBEDDING_TARGETS = ("x**2", "sin(3*x)", "Abs(x)", "x**3 - x")


@dataclass(frozen=True)
class AugmentedEmbedding(Claim):
    """With z(0) = 0, the augmented field ``candidate`` = (F_x, F_z)(x, z) gives z(1) = g(x) for every continuous g.

    The construction needs only a continuous g: x is constant along each trajectory and the field does not
    depend on z, so the solution exists and is unique.  Kuehn & Kuntz state universal embedding for C^k maps
    by fields of matching regularity; the claim checks the construction itself, on continuous targets
    including the non-differentiable |x|."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._integration, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        """x(t) = x, z(t) = t g(x) solves the system iff F_x vanishes there and F_z equals g(x) there (then it is
        the solution: the field is Lipschitz in z); it gives z(1) = g(x)."""
        field_x, field_z = candidate
        path = {_AUGMENTED: TIME * _TARGET(X)}
        residual_x = sp.simplify(field_x.subs(path))
        residual_z = sp.simplify(_TARGET(X) - field_z.subs(path))
        details = {"residual_x": str(residual_x), "residual_z": str(residual_z)}
        if residual_x == 0 and residual_z == 0:
            return Evidence("symbolic", EXACT, "(x, t·g(x)) solves ẋ = F_x, ż = F_z for an undefined g: z(1) = g(x)", details)
        return Evidence("symbolic", DISAGREE, f"(x, t·g(x)) leaves the residuals {residual_x}, {residual_z}", details)

    def _integration(self, candidate) -> Evidence:
        from dyncheck.proofs_check.parser import parse_expression

        x = np.linspace(-2, 2, 401)
        worst, details = 0.0, {}
        for text in EMBEDDING_TARGETS:
            target = parse_expression(text)
            g = sp.lambdify(X, target, "numpy")
            fields = [sp.lambdify((X, _AUGMENTED), component.replace(_TARGET, sp.Lambda(X, target)), "numpy") for component in candidate]

            def velocity(state):
                return np.stack([np.broadcast_to(f(state[0], state[1]), x.shape) for f in fields]), None

            end = fixed_step(velocity, np.stack([x, np.zeros_like(x)]), 0.01, 100)
            error = float(np.max(np.abs(end[1] - g(x))))
            details[text] = {"max_abs_error": error, "x_drift": float(np.max(np.abs(end[0] - x)))}
            worst = max(worst, error, details[text]["x_drift"])
        bound = tolerance("embedding_absolute")
        if worst <= bound:
            return Evidence("integration", AGREE, f"RK4 on x ∈ [−2, 2]: z(1) = g(x) to {worst:.1e} for {', '.join(EMBEDDING_TARGETS)} (x² has a critical point at 0, as no non-augmented neural ODE can)", details)
        return Evidence("integration", DISAGREE, f"RK4: z(1) misses g(x) by {worst:.2g}", details)


# ----------------------------------------------------------------------- 5. the delay equation


def _bracket(candidate: sp.Expr) -> tuple[float, float]:
    c, delta = float(candidate), tolerance("threshold_bracket")
    return c * (1 - delta), c * (1 + delta)


def _exact_first_sign_change(a_tau: float) -> tuple[int | None, bool]:
    """(index of the first delay interval where x changes sign, certified) for x′ = −a x(t − 1), x ≡ 1 on [−1, 0],
    in exact rational arithmetic at the rational nearest aτ (denominator ≤ 10⁶); None if positive on [0, 60τ]."""
    gain = Fraction(a_tau).limit_denominator(10**6)
    for k, piece in enumerate(method_of_steps(gain, Fraction(1), [Fraction(1)], HORIZON_DELAYS)):
        sign = sign_on_piece(piece, Fraction(1))
        if sign != 1:
            return k, sign == -1
    return None, True


@dataclass(frozen=True)
class DelaySignThreshold(Claim):
    """x′ = −a x(t − τ) has a real characteristic root, and its solutions from a positive constant history keep
    their sign, iff aτ ≤ ``candidate``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._lambert, candidate), timed(self._exact_steps, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        derived = sign_threshold()
        if sp.simplify(derived - candidate) == 0:
            return Evidence("symbolic", EXACT, f"λe^{{λτ}} = −a has its minimum −1/(eτ) at λ = −1/τ: real roots iff aτ ≤ {derived}", {"derived": str(derived)})
        return Evidence("symbolic", DISAGREE, f"derived aτ ≤ {derived}, not {candidate}", {"derived": str(derived)})

    def _lambert(self, candidate) -> Evidence:
        low, high = _bracket(candidate)
        real = {}
        for a_tau in (low, high):
            roots = characteristic_roots(a_tau, (0, -1))
            real[a_tau] = any(abs(mpmath.im(r)) == 0 for r in roots)
        details = {"a_tau": [low, high], "real_root": [real[low], real[high]], "W0_below": str(characteristic_roots(low, (0,))[0])}
        if real[low] and not real[high]:
            return Evidence("lambert-w", AGREE, f"λτ = W_k(−aτ): a real root at aτ = {low:.4g}, none on any branch at {high:.4g}", details)
        return Evidence("lambert-w", DISAGREE, f"real roots at aτ = {low:.4g}: {real[low]}, at {high:.4g}: {real[high]} — the threshold is elsewhere", details)

    def _exact_steps(self, candidate) -> Evidence:
        low, high = _bracket(candidate)
        below, certified_below = _exact_first_sign_change(low)
        above, certified_above = _exact_first_sign_change(high)
        details = {"a_tau": [low, high], "first_sign_change_interval": [below, above], "horizon_delays": HORIZON_DELAYS}
        if below is None and above is not None and certified_above:
            return Evidence("exact-method-of-steps", AGREE, f"exact rational method of steps, Bernstein-certified: x > 0 on [0, {HORIZON_DELAYS}τ] at aτ = {low:.4g}; x < 0 in [{above}τ, {above + 1}τ] at aτ = {high:.4g}", details)
        if below is not None and certified_below:
            return Evidence("exact-method-of-steps", DISAGREE, f"at aτ = {low:.4g}, below the claimed threshold, x changes sign in [{below}τ, {below + 1}τ] (exact)", details)
        if above is None:
            return Evidence("exact-method-of-steps", DISAGREE, f"at aτ = {high:.4g}, above the claimed threshold, x stays positive on [0, {HORIZON_DELAYS}τ] (exact)", details)
        return Evidence("exact-method-of-steps", UNDECIDED, "a Bernstein certificate was not reached at the subdivision depth", details)


@dataclass(frozen=True)
class MemoryOrientation(Claim):
    """The time-T map x₀ ↦ x(T) of x′ = −a x(t − τ) (Lipschitz constant K = a) reverses orientation for some T iff
    the memory capacity Kτ exceeds ``candidate``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._solver, candidate), timed(self._series, candidate)]

    @staticmethod
    def _judge(route: str, changes: dict, how: str) -> Evidence:
        (low, below), (high, above) = changes.items()
        details = {"a_tau": [low, high], "first_reversal_time": [below, above], "horizon_delays": HORIZON_DELAYS}
        if below is None and above is not None:
            return Evidence(route, AGREE, f"{how}: x(T)/x₀ > 0 for T ≤ {HORIZON_DELAYS}τ at Kτ = {low:.4g}; < 0 from T = {above:.2f}τ at Kτ = {high:.4g}", details)
        if below is not None:
            return Evidence(route, DISAGREE, f"{how}: at Kτ = {low:.4g}, below the claimed threshold, the map reverses orientation at T = {below:.2f}τ", details)
        return Evidence(route, DISAGREE, f"{how}: at Kτ = {high:.4g}, above the claimed threshold, x(T)/x₀ > 0 for all T ≤ {HORIZON_DELAYS}τ", details)

    def _solver(self, candidate) -> Evidence:
        changes = {}
        for a_tau in _bracket(candidate):
            solution = linear_delay_solution(a_tau, 1.0, HORIZON_DELAYS, steps_per_delay=32)
            changes[a_tau] = sign_change_time(solution.times, solution.states[:, 0])
        return self._judge("rk4-method-of-steps", changes, "RK4 method of steps (h = τ/32, double precision)")

    def _series(self, candidate) -> Evidence:
        changes = {}
        times = np.arange(1, 8 * HORIZON_DELAYS + 1) / 8
        for a_tau in _bracket(candidate):
            digits = digits_for(a_tau, HORIZON_DELAYS + 1)
            values = np.array([float(delayed_exponential(a_tau, 1.0, t, digits)) for t in times])
            changes[a_tau] = sign_change_time(times, values)
        return self._judge("delayed-exponential", changes, "closed-form series in mpmath (8 points a delay)")


@dataclass(frozen=True)
class DelayStabilityThreshold(Claim):
    """x′ = −a x(t − τ) is asymptotically stable iff aτ < ``candidate``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._lambert, candidate), timed(self._simulation, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        derived = stability_threshold()
        if sp.simplify(derived - candidate) == 0:
            return Evidence("symbolic", EXACT, f"λ = iω: a cos ωτ = 0 and ω = a sin ωτ, so the first crossing is at ωτ = π/2, aτ = {derived}", {"derived": str(derived)})
        return Evidence("symbolic", DISAGREE, f"derived aτ = {derived} for the crossing, not {candidate}", {"derived": str(derived)})

    def _lambert(self, candidate) -> Evidence:
        low, high = _bracket(candidate)
        rightmost = {a: float(max(mpmath.re(r) for r in characteristic_roots(a))) for a in (low, high)}
        details = {"a_tau": [low, high], "rightmost_real_part_times_tau": [rightmost[low], rightmost[high]]}
        if rightmost[low] < 0 < rightmost[high]:
            return Evidence("lambert-w", AGREE, f"max_k Re W_k(−aτ) = {rightmost[low]:.2e} at aτ = {low:.4g}, {rightmost[high]:.2e} at {high:.4g}", details)
        return Evidence("lambert-w", DISAGREE, f"max_k Re W_k(−aτ) = {rightmost[low]:.2e} at aτ = {low:.4g} and {rightmost[high]:.2e} at {high:.4g}: no crossing between", details)

    def _simulation(self, candidate) -> Evidence:
        """The envelope max|x| over the last 100τ of 400τ against that over [100τ, 200τ]: growing iff unstable."""
        growth = {}
        for a_tau in _bracket(candidate):
            solution = linear_delay_solution(a_tau, 1.0, 400, steps_per_delay=16)
            x, t = np.abs(solution.states[:, 0]), solution.times
            growth[a_tau] = float(x[t >= 300].max() / x[(t >= 100) & (t < 200)].max())
        (low, g_low), (high, g_high) = growth.items()
        details = {"a_tau": [low, high], "envelope_growth_over_200_delays": [g_low, g_high]}
        if g_low < 1 < g_high:
            return Evidence("simulation", AGREE, f"RK4 method of steps over 400τ: the envelope shrinks ×{g_low:.3g} at aτ = {low:.4g} and grows ×{g_high:.3g} at {high:.4g}", details)
        return Evidence("simulation", DISAGREE, f"RK4 over 400τ: envelope ×{g_low:.3g} at aτ = {low:.4g}, ×{g_high:.3g} at {high:.4g}: no change of stability between", details)


CLAIMS = [
    FlowDerivative(
        "node.flow_derivative",
        "Liouville's formula; Dupont, Doucet & Teh (2019), NeurIPS: flows of neural ODEs are homeomorphisms",
        r"\partial_x \varphi_T(x) = \exp \int_0^T f'(\varphi_t(x))\, dt > 0 \text{ for } \dot y = f(y),\ y \in \mathbb R",
        literature=sp.exp(DIVERGENCE_INTEGRAL),
        wrong=1 + DIVERGENCE_INTEGRAL,
    ),
    NoCriticalPoints(
        "node.mlp_no_critical_points",
        "Kuehn & Kuntz, arXiv 2405.09351: no critical points if the hidden widths are non-increasing",
        r"f = w_L^\top \sigma(W_{L-1} \cdots \sigma(W_1 x + b_1) \cdots),\ n_0 \ge n_1 \ge \dots,\ \operatorname{rank} W_l = n_l,\ \sigma' > 0 \Rightarrow \nabla f \ne 0",
        literature=non_increasing_mlp,
        wrong=widening_mlp,
    ),
    NoCriticalPoints(
        "node.ode_no_critical_points",
        "Kuehn & Kuntz, arXiv 2405.09351: no critical points if the phase space is no larger than the input",
        r"f(x) = u^\top \varphi_T(Wx + b),\ W \in \mathbb R^{n \times d},\ n \le d,\ \operatorname{rank} W = n \Rightarrow \nabla f = W^\top D\varphi_T^\top u \ne 0",
        literature=non_augmented_ode,
        wrong=augmented_embedding_ode,
    ),
    GenericMorse(
        "node.generic_morse",
        "Kuehn & Kuntz, arXiv 2405.09351: without a bottleneck, critical points are non-degenerate outside a null set of weights",
        r"f = w_2^\top \tanh(W_1 x + b_1) + b_2,\ W_1 \in \mathbb R^{6 \times 1} \text{ generic}: \nabla f(x^*) = 0 \Rightarrow f''(x^*) \ne 0",
        literature=widening_random_mlp,
        wrong=degenerate_mlp,
    ),
    GenericMorse(
        "node.generic_morse_ode",
        "Kuehn & Kuntz, arXiv 2405.09351: with full-rank affine maps, critical points of augmented neural ODEs are non-degenerate outside a null set",
        r"f(x) = u^\top \varphi_1(Wx + b),\ W \in \mathbb R^{2 \times 1} \text{ of rank 1, a generic tanh field}: f'(x^*) = 0 \Rightarrow f''(x^*) \ne 0",
        literature=augmented_random_ode,
        wrong=degenerate_embedding_ode,
    ),
    MonotoneObstruction(
        "node.monotone_obstruction",
        "Dupont, Doucet & Teh (2019); Kuehn & Kuntz, arXiv 2405.09351: a non-augmented scalar neural ODE with affine read-out is monotone",
        r"\inf_{f} \|f - g\|_{L^2[A,B]} = \min(\|g - P_\uparrow g\|, \|g - P_\downarrow g\|):\ x^2 \text{ on } [-1,1]: \tfrac{3\sqrt5}{20},\ |x| \text{ on } [-1,2]: \sqrt{2 - \tfrac{4\sqrt2}{3}},\ x^3 - x \text{ on } [-\tfrac32,\tfrac32]: \tfrac{4}{\sqrt{105}}",
        literature={"x**2": 3 * sp.sqrt(5) / 20, "Abs(x)": sp.sqrt(2 - 4 * sp.sqrt(2) / 3), "x**3 - x": 4 / sp.sqrt(105)},
        wrong={"x**2": 3 * sp.sqrt(5) / 40, "Abs(x)": sp.sqrt(2 - 4 * sp.sqrt(2) / 3) / 2, "x**3 - x": 2 / sp.sqrt(105)},
    ),
    AugmentedEmbedding(
        "node.augmented_embedding",
        "Kuehn & Kuntz, arXiv 2308.01213 and 2405.09351: universal embedding by augmented neural ODEs",
        r"(\dot x, \dot z) = (0, g(x)),\ z(0) = 0 \Rightarrow z(1) = g(x) \text{ for continuous } g",
        literature=(sp.Integer(0), _TARGET(X)),
        wrong=(sp.Integer(0), _TARGET(_AUGMENTED)),
    ),
    DelaySignThreshold(
        "node.dde_sign_threshold",
        "Győri & Ladas (1991), Thm 2.2.3; Kuehn & Kuntz, arXiv 2505.07244: x′ = −a x(t − τ) oscillates iff aτ > 1/e",
        r"\lambda = -a e^{-\lambda\tau} \text{ has a real root, and } x(t) > 0 \text{ for } x|_{[-\tau,0]} \equiv 1,\ \text{iff } a\tau \le 1/e",
        literature=sp.exp(-1),
        wrong=sp.pi / 2,
    ),
    MemoryOrientation(
        "node.dde_memory_orientation",
        "Kuehn & Kuntz, arXiv 2505.07244: memory capacity Kτ; an ODE flow never reverses orientation",
        r"x_0 \mapsto x(T) \text{ of } x' = -a x(t - \tau) \text{ reverses orientation for some } T \iff K\tau = a\tau > 1/e",
        literature=sp.exp(-1),
        wrong=sp.Integer(1),
    ),
    DelayStabilityThreshold(
        "node.dde_stability_threshold",
        "Hayes (1950), J. London Math. Soc. 25: x′ = −a x(t − τ) is asymptotically stable iff aτ < π/2",
        r"\max_k \operatorname{Re} W_k(-a\tau) < 0 \iff a\tau < \pi/2",
        literature=sp.pi / 2,
        wrong=sp.exp(-1),
    ),
]
