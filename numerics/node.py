r"""Neural ODEs and neural delay equations on arrays (the theory: :mod:`dyncheck.theory.node`).

* **Flows.** :class:`ScalarField` is a one-dimensional field f(y) given by a network of the substrate
  (:class:`~dyncheck.numerics.networks.Network`, one input, one output); :func:`flow_with_divergence`
  integrates ẏ = f(y) together with Λ̇ = f′(y), so that ∂φ_T/∂x = e^Λ by Liouville, and
  :func:`flow_derivative_by_differences` is the independent route of fourth-order central differences of φ_T.
* **Critical points.** :func:`mlp_gradient_lower_bound` certifies ‖∇f‖ > 0 on a box for an MLP with
  non-increasing widths, full-rank weights and an activation with σ′ > 0:
  ∇f = W₁ᵀD₁W₂ᵀD₂ ⋯ w_L, so ‖∇f‖ ≥ ‖w_L‖ ∏ s_min(W_l) min σ′(z_l), with the pre-activations z_l
  bounded by interval arithmetic.  :class:`AffineNeuralODE` is x ↦ uᵀφ_T(Wx + b) + c with a network
  field, its gradient Wᵀ Dφ_Tᵀ u by the variational equation, and the global certificate
  ‖∇f‖ ≥ s_min(Wᵀ)‖u‖e^{−TL} (Dφ_T⁻¹ has norm ≤ e^{TL} by Grönwall; s_min(Wᵀ) = 0 when the phase
  space is larger than the input).  :func:`newton_critical_points` searches for ∇f = 0 from a grid.
* **The monotone obstruction.** :func:`isotonic_bound`: the L² distance from a target to the monotone
  functions on [A, B] by isotonic regression (:func:`scipy.optimize.isotonic_regression`, pool adjacent
  violators) on refined grids, with its convergence, and exactly (:func:`theory.node.isotonic_projection`)
  when the target is a continuous piecewise polynomial.  :func:`train_neural_ode` trains non-augmented
  and augmented neural ODEs in torch: the core's RK4 (:func:`~dyncheck.numerics.solvers.fixed_step`)
  differentiated by autograd, i.e. the discrete adjoint (backpropagation through the steps: the exact
  gradient of the map that is evaluated, which is what a bound on that map needs), not torchdiffeq's
  continuous adjoint, whose gradient is that of the flow only up to the solver's tolerance.
* **Delay equations.** :func:`linear_delay_solution` solves x′ = −a x(t − τ) by
  :func:`~dyncheck.numerics.solvers.delay_fixed_step` on numpy or torch; :func:`reversing_gain` finds the
  a at which x₀ ↦ x(T) is x₀ ↦ −x₀ (exact solution, mpmath).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from dyncheck.numerics.networks import Network
from dyncheck.numerics.solvers import DelaySolution, bracketed_newton, delay_fixed_step, fixed_step
from dyncheck.theory.activations import activation, registered_name
from dyncheck.theory.errors import UsageError, check_evaluable
from dyncheck.theory.node import PolynomialPieces, delayed_exponential, digits_for, isotonic_projection, polynomial_pieces
from dyncheck.theory.symbols import STATE, X
from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

__all__ = [
    "AffineNeuralODE",
    "EXACT_DEGREE",
    "ExpressionField",
    "GRID_CELLS",
    "IsotonicBound",
    "NeuralODEFit",
    "ScalarField",
    "compiled_user_expression",
    "critical_points_1d",
    "flow_derivative_by_differences",
    "flow_with_divergence",
    "grid_isotonic",
    "isotonic_bound",
    "linear_delay_solution",
    "mlp_gradient_lower_bound",
    "newton_critical_points",
    "plot_delay_solutions",
    "plot_flow",
    "plot_isotonic",
    "reversing_gain",
    "second_derivative_1d",
    "sign_change_time",
    "train_neural_ode",
]

#: Activations whose σ′ is positive and quasi-concave (its minimum on an interval is at an end), the
#: hypothesis of the certified bound: tanh, the logistic sigmoid, erf (σ′ unimodal at 0), softplus (σ′ increasing).
_QUASI_CONCAVE_SLOPE = ("tanh", "sigmoid", "erf", "softplus")
#: Grids of the isotonic regression: 2^10 … 2^18 cells, each 4 times finer.
GRID_CELLS = (1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18)
#: The exact route's largest degree and its CPU budget (resultants of high degree take minutes).
EXACT_DEGREE = 12
_EXACT_BUDGET_S = 20.0


# ---------------------------------------------------------------------------------- expressions


@functools.lru_cache(maxsize=64)
def compiled_user_expression(expr: sp.Expr, variable: sp.Symbol, what: str):
    """A numpy function of ``variable`` for a user's expression (the project's code generator: erf, erfc and the
    rest as generated code), refused with one line when it cannot be evaluated on arrays: an undefined value
    (zoo, nan, oo: a division by zero, say) or an unevaluated expectation.  Cached: a target is evaluated on
    every grid of the isotonic bound and of training, compiled once."""
    from dyncheck.numerics.codegen import generate

    check_evaluable(expr, what)
    compiled = generate(expr, [variable], "numpy")

    def evaluate(values):
        values = np.asarray(values, float)
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(compiled(values), float), values.shape)

    return evaluate


# ------------------------------------------------------------------------------------- flows


@dataclass(frozen=True)
class ScalarField:
    """f(y) = network(y) for a network of one input and one output; f′ by its forward tangent."""

    network: Network

    @classmethod
    def random(cls, width: int = 8, seed: int = 0, gain: float = 2.0, phi: str = "tanh") -> ScalarField:
        """A tanh layer of ``width`` with N(0, gain²) weights and biases and a read-out of variance gain²/width."""
        return cls(Network.random(activation(phi).expr(), 1, width, 1, gain**2, gain**2, seed, "standard"))

    def __call__(self, y):
        return self.network(y[..., None])

    def slope(self, y):
        return self.network.jvp(y[..., None], np.ones(np.shape(y) + (1,)))[..., 0]


@dataclass(frozen=True)
class ExpressionField:
    """f(y) given as a SymPy expression in ``y`` (parsed by the whitelist parser), f′ derived by SymPy; both compiled."""

    expr: sp.Expr

    @functools.cached_property
    def _compiled(self):
        slope = sp.diff(self.expr, STATE)
        if slope.has(sp.DiracDelta):
            raise UsageError(f"the field {self.expr} jumps: its derivative is not a function (Liouville's formula needs f′)")
        return compiled_user_expression(self.expr, STATE, "field"), compiled_user_expression(slope, STATE, "field's derivative")

    def __call__(self, y):
        return self._compiled[0](y)

    def slope(self, y):
        return self._compiled[1](y)


def flow_with_divergence(field, x, horizon: float, steps: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(φ_T(x), Λ_T(x) = ∫₀ᵀ f′(φ_t(x)) dt) by RK4 on the pair (y, Λ), for an array of starts x and a
    :class:`ScalarField` or :class:`ExpressionField`."""
    x = np.asarray(x, float)

    def velocity(state):
        return np.stack([field(state[0]), field.slope(state[0])]), None

    end = fixed_step(velocity, np.stack([x, np.zeros_like(x)]), horizon / steps, steps)
    return end[0], end[1]


def flow_derivative_by_differences(field, x, horizon: float, steps: int = 400, spacing: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """∂φ_T/∂x by the fourth-order central difference D(h) = [−φ(x + 2h) + 8φ(x + h) − 8φ(x − h) + φ(x − 2h)] / 12h,
    and its error estimate: (D(h/2), |D(h) − D(h/2)|/15), Richardson's for a fourth-order rule (the truncation
    h⁴φ⁽⁵⁾/30 grows where the map is steep); rounding adds ≈ 3ε|φ|/h."""
    x = np.asarray(x, float)
    shifts = np.array([2, 1, 0.5, -0.5, -1, -2]) * spacing  # ±h serve both stencils: six flows, not eight
    ends = flow_with_divergence(field, (x.ravel()[None, :] + shifts[:, None]).ravel(), horizon, steps)[0].reshape(6, -1)
    coarse = (-ends[0] + 8 * ends[1] - 8 * ends[4] + ends[5]) / (12 * spacing)
    fine = (-ends[1] + 8 * ends[2] - 8 * ends[3] + ends[4]) / (6 * spacing)
    return fine.reshape(x.shape), (np.abs(coarse - fine) / 15).reshape(x.shape)


# ----------------------------------------------------------------------------- critical points


def _intervals(network: Network, low: np.ndarray, high: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bounds [z_lo, z_hi] of every layer's pre-activations over each box [low_k, high_k] (rows of ``low``,
    ``high``), by interval arithmetic (σ increasing)."""
    phi = network._phi()
    out = []
    for layer, (w, b) in enumerate(zip(network.weights, network.biases)):
        weight_scale, bias_scale = network.scales(layer)
        w, b = weight_scale * np.asarray(w), bias_scale * np.asarray(b)
        positive, negative = np.clip(w, 0, None).T, np.clip(w, None, 0).T
        z_lo = low @ positive + high @ negative + b
        z_hi = high @ positive + low @ negative + b
        out.append((z_lo, z_hi))
        low, high = np.asarray(network._apply(phi, z_lo)), np.asarray(network._apply(phi, z_hi))
    return out


def mlp_gradient_lower_bound(network: Network, low: float, high: float, subdivisions: int = 1) -> float:
    """A certified lower bound on ‖∇f(x)‖ over the box [low, high]^d, the least over ``subdivisions``^d sub-boxes.

    ∇f = (W₁ᵀD₁)(W₂ᵀD₂)⋯(W_{L−1}ᵀD_{L−1}) w_L with D_l = diag σ′(z_l) ≥ diag(m_l), m_l the least σ′ of each unit
    over the sub-box (interval arithmetic), and ‖W_lᵀD_l v‖ = ‖W_lᵀ diag(m_l) · diag(D_l/m_l) v‖ ≥ s(diag(m_l)W_l)‖v‖,
    s the n_l-th singular value (0 when the layer widens, n_l > n_{l−1}: then W_lᵀ has a kernel).  So
    ‖∇f‖ ≥ ‖w_L‖ ∏_l s(diag(m_l) W_l).  For dense layers, a linear read-out of one output and an activation
    with σ′ > 0 quasi-concave (:data:`_QUASI_CONCAVE_SLOPE`); each factor is computed to a relative ~1e-14
    (rounding is not tracked further, so the bound is certified as a positive number, not to the last digit)."""
    name = registered_name(network.phi)
    if name not in _QUASI_CONCAVE_SLOPE:
        raise UsageError(f"the certified gradient bound needs σ′ > 0 with its minimum at an interval's end ({', '.join(_QUASI_CONCAVE_SLOPE)}), not {network.phi}")
    if set(network.kinds[:-1]) != {"dense"} or network.kinds[-1] != "linear" or network.weights[-1].shape[0] != 1:
        raise UsageError("the certified gradient bound is for dense layers and a linear read-out to one output")
    d = network.weights[0].shape[1]
    edges = np.linspace(low, high, subdivisions + 1)
    corners = np.stack(np.meshgrid(*[np.arange(subdivisions)] * d, indexing="ij"), -1).reshape(-1, d)
    slope = network._phi(1)
    bound = np.full(len(corners), float(np.linalg.norm(network.scales(len(network.weights) - 1)[0] * np.asarray(network.weights[-1]))))
    for layer, (z_lo, z_hi) in enumerate(_intervals(network, edges[corners], edges[corners + 1])[:-1]):
        w = network.scales(layer)[0] * np.asarray(network.weights[layer])
        rows, columns = w.shape
        if rows > columns:
            return 0.0
        least_slope = np.minimum(network._apply(slope, z_lo), network._apply(slope, z_hi))
        bound *= np.linalg.svd(least_slope[:, :, None] * w, compute_uv=False)[:, -1]
    return float(bound.min())


def newton_critical_points(gradient, starts: np.ndarray, low: float, high: float, *, iterations: int = 60, tolerance: float = 1e-10) -> tuple[np.ndarray, float]:
    """Points of [low, high]^d where ``gradient`` (m, d) → (m, d) vanishes, by Newton's method from every start
    at once (Hessian by central differences of the gradient, steps kept in the box); returns the distinct
    points found and the smallest ‖∇f‖ met at any iterate."""
    x = np.array(starts, float)
    m, d = x.shape
    smallest = math.inf
    for _ in range(iterations):
        g = gradient(x)
        norms = np.linalg.norm(g, axis=1)
        smallest = min(smallest, float(norms.min()))
        spacing = 1e-5 * (1 + np.abs(x))
        shifted = np.concatenate([x[:, None, :] + np.eye(d) * spacing[:, None, :], x[:, None, :] - np.eye(d) * spacing[:, None, :]], axis=1)
        columns = gradient(shifted.reshape(-1, d)).reshape(m, 2 * d, d)
        hessian = (columns[:, :d] - columns[:, d:]) / (2 * spacing[:, :, None])
        hessian = (hessian + hessian.swapaxes(1, 2)) / 2
        delta = (np.linalg.pinv(hessian, rcond=1e-12) @ g[..., None])[..., 0]  # a singular Hessian gets its pseudo-inverse
        x = np.clip(x - np.clip(delta, -(high - low) / 4, (high - low) / 4), low, high)
    g = gradient(x)
    norms = np.linalg.norm(g, axis=1)
    smallest = min(smallest, float(norms.min()))
    found = x[norms <= tolerance]
    distinct: list[np.ndarray] = []
    for point in found:
        if all(np.linalg.norm(point - other) > 1e-6 for other in distinct):
            distinct.append(point)
    return np.array(distinct).reshape(-1, d), smallest


def critical_points_1d(derivative, low: float, high: float, points: int = 20001) -> np.ndarray:
    """Zeros of a scalar ``derivative`` on [low, high]: its exact zeros and sign changes on a grid, each sign change
    refined by the core's bracketed Newton (:func:`~dyncheck.numerics.solvers.bracketed_newton`, f″ by differences)."""
    x = np.linspace(low, high, points)
    values = derivative(x)
    roots = x[values == 0]
    change = values[:-1] * values[1:] < 0
    lo, hi = x[:-1][change], x[1:][change]
    if lo.size == 0:
        return np.sort(roots)
    sign = np.where(values[:-1][change] > 0, 1.0, -1.0)  # orient each bracket: f(lo) ≥ 0 > f(hi)

    def oriented(z, index):
        return sign[index] * derivative(z)

    def slope(z, index):
        return sign[index] * second_derivative_1d(derivative, z)

    refined = bracketed_newton(oriented, slope, lo, hi, log_scale=False, what="a critical point")
    return np.sort(np.concatenate([roots, refined]))


def second_derivative_1d(derivative, x: np.ndarray) -> np.ndarray:
    """f″(x) by central differences of f′ (step 1e-5(1 + |x|): error about 1e-9 of f″'s scale)."""
    spacing = 1e-5 * (1 + np.abs(x))
    return (derivative(x + spacing) - derivative(x - spacing)) / (2 * spacing)


@dataclass(frozen=True)
class AffineNeuralODE:
    """x ↦ uᵀφ_T(Wx + b) + c for the field f(h) = A₂ tanh(A₁h + b₁) + b₂ on ℝⁿ (or any ``field`` with its
    Jacobian and a Lipschitz constant), integrated by RK4."""

    input_weight: np.ndarray  # W (n, d)
    input_bias: np.ndarray  # b (n,)
    readout: np.ndarray  # u (n,)
    field: object  # h (…, n) → f(h)
    field_jacobian: object  # h (…, n) → Df(h) (…, n, n)
    lipschitz: float  # sup ‖Df‖₂ (math.inf if unbounded)
    horizon: float = 1.0
    steps: int = 200

    @classmethod
    def random(cls, d: int, n: int, hidden: int = 8, seed: int = 0, gain: float = 1.0, horizon: float = 1.0, steps: int = 200) -> AffineNeuralODE:
        """W, u ~ N(0, 1), b ~ N(0, ¼); the field's weights N(0, gain²/fan-in), its biases N(0, ¼) (seeded)."""
        rng = np.random.default_rng(seed)
        inner, outer = rng.normal(0, gain / math.sqrt(n), (hidden, n)), rng.normal(0, gain / math.sqrt(hidden), (n, hidden))
        inner_bias, outer_bias = rng.normal(0, 0.5, hidden), rng.normal(0, 0.5, n)

        def field(h):
            return np.tanh(h @ inner.T + inner_bias) @ outer.T + outer_bias

        def jacobian(h):
            slopes = 1 - np.tanh(h @ inner.T + inner_bias) ** 2
            return (outer[None] * slopes[..., None, :]) @ inner

        lipschitz = float(np.linalg.norm(outer, 2) * np.linalg.norm(inner, 2))
        return cls(rng.normal(0, 1, (n, d)), rng.normal(0, 0.5, n), rng.normal(0, 1, n), field, jacobian, lipschitz, horizon, steps)

    def _flow(self, x, tangent: bool):
        h0 = np.asarray(x, float) @ self.input_weight.T + self.input_bias
        n = h0.shape[-1]
        if not tangent:
            return fixed_step(lambda h: (self.field(h), None), h0, self.horizon / self.steps, self.steps), None
        m = h0.shape[0]

        def velocity(state):
            h, v = state[:, :n], state[:, n:].reshape(m, n, n)
            return np.concatenate([self.field(h), (self.field_jacobian(h) @ v).reshape(m, n * n)], axis=1), None

        end = fixed_step(velocity, np.concatenate([h0, np.tile(np.eye(n).ravel(), (m, 1))], axis=1), self.horizon / self.steps, self.steps)
        return end[:, :n], end[:, n:].reshape(m, n, n)

    def __call__(self, x) -> np.ndarray:
        return self._flow(x, False)[0] @ self.readout

    def gradient(self, x) -> np.ndarray:
        """∇f(x) = Wᵀ Dφ_T(Wx + b)ᵀ u, Dφ_T by the variational equation V̇ = Df(h)V, V(0) = I."""
        _, v = self._flow(x, True)
        return (v.swapaxes(1, 2) @ self.readout) @ self.input_weight

    def gradient_lower_bound(self) -> float:
        """‖∇f(x)‖ ≥ s_min(Wᵀ)‖u‖e^{−TL} for every x (0 when n > d: Wᵀ then has a kernel)."""
        n, d = self.input_weight.shape
        s_min = np.linalg.svd(self.input_weight, compute_uv=False)[-1] if n <= d else 0.0
        return float(s_min * np.linalg.norm(self.readout) * math.exp(-self.horizon * self.lipschitz))


# ------------------------------------------------------------------------ monotone obstruction


def grid_isotonic(values: np.ndarray, width: float) -> tuple[float, np.ndarray, list[tuple[int, int]]]:
    """(‖g − P↑g‖ on the grid, P↑g, pooled blocks as index ranges [i, j]) for the cell values of g
    (the midpoint rule with cells of ``width``)."""
    from scipy.optimize import isotonic_regression

    fit = isotonic_regression(values).x
    blocks, i = [], 0
    while i < len(fit):
        j = i
        while j + 1 < len(fit) and fit[j + 1] == fit[i]:
            j += 1
        if j > i and np.any(values[i : j + 1] != fit[i : j + 1]):  # pooled, not merely equal values
            blocks.append((i, j))
        i = j + 1
    return float(np.sqrt(width * np.sum((values - fit) ** 2))), fit, blocks


@dataclass(frozen=True)
class IsotonicBound:
    """The L²([A, B]) distance from a target to the monotone functions: the lower bound on the error of a
    non-augmented scalar neural ODE with affine input and read-out."""

    target: sp.Expr
    domain: tuple[float, float]
    bound: float
    direction: str  # "non-decreasing" or "non-increasing": the nearer cone
    exact: sp.Expr | None  # the bound in closed form, when derivable
    exact_blocks: tuple | None  # the best monotone fit's pooled blocks (a, b, level), exact, when derivable
    grid_bounds: dict  # cells -> grid distance to the nearer cone
    grid_error: float  # |last − previous| grid distance
    fit_x: np.ndarray = field(repr=False)
    fit: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    why_not_exact: str | None = None


def _target_values(target: sp.Expr, low: float, high: float, cells: int) -> tuple[np.ndarray, np.ndarray]:
    if target.free_symbols - {X}:
        raise UsageError(f"the target may use only x, not {', '.join(sorted(map(str, target.free_symbols - {X})))}")
    width = (high - low) / cells
    x = low + width * (np.arange(cells) + 0.5)
    values = np.array(compiled_user_expression(target, X, "target")(x))
    if not np.isfinite(values).all():
        raise UsageError(f"the target {target} is not finite (or not real) on [{low:g}, {high:g}]")
    with np.errstate(all="ignore"):
        if not np.isfinite(np.sum(values**2) * width):
            raise UsageError(f"the target {target} overflows double precision on [{low:g}, {high:g}] (|g| reaches {np.abs(values).max():.3g})")
    return x, values


def _exact_pieces(target: sp.Expr, low: float, high: float) -> tuple[PolynomialPieces | None, str | None]:
    """(the pieces, None) when the exact route applies — a continuous piecewise polynomial of degree ≤
    :data:`EXACT_DEGREE`, decimal numbers read as the fractions they are — else (None, why not)."""
    pieces = polynomial_pieces(sp.nsimplify(target, rational=True), low, high)
    if pieces is None:
        return None, "the target is not a piecewise polynomial in x"
    if not pieces.continuous:
        return None, "the target is not continuous on the domain"
    degree = max(sp.Poly(p, X).degree() if p.has(X) else 0 for p in pieces.polynomials)
    if degree > EXACT_DEGREE:
        return None, f"the target's degree {degree} is above {EXACT_DEGREE}, where closed forms stop being readable"
    return pieces, None


def isotonic_bound(target: sp.Expr, low: float, high: float, cells: tuple[int, ...] = GRID_CELLS) -> IsotonicBound:
    """min(‖g − P↑g‖, ‖g − P↓g‖) on [low, high]: on grids of ``cells`` cells, and exactly for a continuous
    piecewise-polynomial g (the block structure taken from the finest grid, the blocks solved exactly)."""
    if not (math.isfinite(low) and math.isfinite(high)) or not high > low:
        raise UsageError(f"the domain [{low:g}, {high:g}] must be a finite interval with A < B")
    if high - low < 1e-9 * max(abs(low), abs(high)) or high - low < 1e-200:
        raise UsageError(f"the domain [{low:g}, {high:g}] is too narrow to divide into 2^18 cells in double precision")
    grid, norms, last = {}, [], None
    for n in cells:
        x, values = _target_values(target, low, high, n)
        width = (high - low) / n
        up, fit_up, blocks_up = grid_isotonic(values, width)
        down, fit_down, blocks_down = grid_isotonic(-values, width)
        grid[n] = min(up, down)
        norms.append(float(np.sqrt(width * np.sum(values**2))))
        last = (x, values, width, up, fit_up, blocks_up, down, -fit_down, blocks_down)
    x, values, width, up, fit_up, blocks_up, down, fit_down, blocks_down = last
    bounds = list(grid.values())
    changes = np.abs(np.diff(bounds))
    scale = max(norms[-1], 1e-300)
    for sequence in (bounds, norms):  # the distance and ‖g‖ itself: a target outside L² diverges in one of them
        steps = np.abs(np.diff(sequence))
        if len(steps) > 1 and steps[-1] > 1e-12 * scale and steps[-1] > steps[-2] / 2:
            raise UsageError(
                f"the grid values do not converge ({', '.join(f'{v:.6g}' for v in sequence)} on 2^10 … 2^18 cells): "
                f"is the target square-integrable on [{low:g}, {high:g}]?"
            )
    increasing = up <= down
    (pieces, why), exact, projection = _exact_pieces(target, low, high), None, None
    if pieces is not None:
        negated = PolynomialPieces(pieces.breaks, tuple(sp.expand(-p) for p in pieces.polynomials))  # P↓g = −P↑(−g)
        try:
            with time_limit(_EXACT_BUDGET_S):
                solved = {
                    direction: isotonic_projection(signed, [(x[i] - width / 2, x[j] + width / 2) for i, j in blocks], 10 * width)
                    for direction, signed, blocks in ((True, pieces, blocks_up), (False, negated, blocks_down))
                }
        except SymbolicTimeout:
            solved, why = None, f"the exact projection ran out of its {_EXACT_BUDGET_S:g} s of CPU time"
        if solved is not None and any(v is None for v in solved.values()):
            why = "the pooled blocks' equations had no root near the grid's blocks (or failed the checks)"
        elif solved is not None:
            chosen = float(solved[True].distance) <= float(solved[False].distance)  # a tie is called non-decreasing
            value = float(solved[chosen].distance)
            # a guard on the exact route: it must agree with the converged grid distance
            if abs(value - bounds[-1]) > 1e-6 * scale + 10 * (changes[-1] if len(changes) else 0):
                why = f"the exact projection ({value:.12g}) disagrees with the grid's {bounds[-1]:.12g}"
            else:
                increasing, projection, exact = chosen, solved[chosen], solved[chosen].distance
    sign = 1 if increasing else -1
    return IsotonicBound(
        target, (low, high), float(exact) if exact is not None else bounds[-1], "non-decreasing" if increasing else "non-increasing", exact,
        None if projection is None else tuple((a, b, sign * c) for a, b, c in projection.blocks),
        grid, float(changes[-1]) if len(changes) else math.nan, x, fit_up if increasing else fit_down, values, why,
    )


# ------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class NeuralODEFit:
    """A trained neural ODE x ↦ uᵀφ_T((wx + b, 0_p)) + c: its losses, its L² error on a fine grid, whether that map
    is monotone, and the grid's isotonic distance (a bound on the same grid for any monotone map)."""

    augment: int
    losses: np.ndarray
    error: float  # ‖f − g‖ on [A, B] (midpoint rule, the evaluation grid)
    monotone: bool
    grid_bound: float
    x: np.ndarray = field(repr=False)
    prediction: np.ndarray = field(repr=False)
    seconds: float = 0.0


def train_neural_ode(
    target: sp.Expr,
    low: float,
    high: float,
    *,
    augment: int = 0,
    width: int = 32,
    horizon: float = 1.0,
    steps: int = 10,
    iterations: int = 1500,
    points: int = 256,
    learning_rate: float = 1e-2,
    seed: int = 0,
    device: str = "cpu",
    evaluation_cells: int = 4096,
    progress=None,
) -> NeuralODEFit:
    """Fit g on [low, high] by a neural ODE with phase space ℝ^{1+augment}: h(0) = (wx + b, 0, …, 0),
    ḣ = A₂ tanh(A₁h + b₁) + b₂, output uᵀh(T) + c; RK4 with ``steps`` steps, full-batch Adam on the mean
    squared error at ``points`` midpoints, gradients by autograd through the steps (float64)."""
    import time

    import torch

    start = time.perf_counter()
    x_eval, g_eval = _target_values(target, low, high, evaluation_cells)
    x_train, g_train = _target_values(target, low, high, points)
    generator = torch.Generator().manual_seed(seed)
    n = 1 + augment

    def parameter(*shape, scale):
        return (scale * torch.randn(*shape, generator=generator, dtype=torch.float64)).to(device).requires_grad_()

    params = {
        "w": parameter(1, scale=1.0), "b": parameter(1, scale=0.1),
        "A1": parameter(width, n, scale=1 / math.sqrt(n)), "b1": parameter(width, scale=0.5),
        "A2": parameter(n, width, scale=1 / math.sqrt(width)), "b2": parameter(n, scale=0.1),
        "u": parameter(n, scale=1 / math.sqrt(n)), "c": parameter(1, scale=0.1),
    }

    def model(x):
        h = torch.zeros(x.shape[0], n, dtype=torch.float64, device=device)
        h = torch.cat([(params["w"] * x + params["b"])[:, None], h[:, 1:]], dim=1)
        end = fixed_step(lambda s: (torch.tanh(s @ params["A1"].T + params["b1"]) @ params["A2"].T + params["b2"], None), h, horizon / steps, steps)
        return end @ params["u"] + params["c"]

    xt = torch.as_tensor(x_train, device=device)
    gt = torch.as_tensor(g_train, device=device)
    optimiser = torch.optim.Adam(list(params.values()), lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, iterations)
    losses = np.empty(iterations)
    # small matrices: one thread (a pool's start-up costs more than their work: 30× on a busy 2-core machine)
    threads = torch.get_num_threads()
    if width * n <= 4096:
        torch.set_num_threads(1)
    try:
        for k in range(iterations):
            optimiser.zero_grad()
            loss = torch.mean((model(xt) - gt) ** 2)
            loss.backward()
            optimiser.step()
            scheduler.step()
            losses[k] = float(loss.detach())
            if progress is not None and ((k + 1) % max(1, iterations // 100) == 0 or k + 1 == iterations):
                progress(k + 1, iterations)
        with torch.no_grad():
            prediction = model(torch.as_tensor(x_eval, device=device)).cpu().numpy()
    finally:
        torch.set_num_threads(threads)
    cell = (high - low) / evaluation_cells
    error = float(np.sqrt(cell * np.sum((prediction - g_eval) ** 2)))
    steps_between = np.diff(prediction)
    monotone = bool((steps_between >= 0).all() or (steps_between <= 0).all())
    grid_bound = min(grid_isotonic(g_eval, cell)[0], grid_isotonic(-g_eval, cell)[0])
    return NeuralODEFit(augment, losses, error, monotone, grid_bound, x_eval, prediction, time.perf_counter() - start)


# ------------------------------------------------------------------------------ delay equations


def linear_delay_solution(a: float, tau: float, t_end: float, *, history=None, steps_per_delay: int = 64, backend: str = "numpy", device: str = "cpu", method: str = "rk4") -> DelaySolution:
    """x′(t) = −a x(t − τ) on [0, t_end] from ``history`` (a numpy function of t on [−τ, 0]; default x ≡ 1)."""
    if not tau > 0:
        raise UsageError(f"the delay τ must be positive, not {tau:g}")
    if backend == "torch":
        import torch

        def start(t):
            value = 1.0 if history is None else history(t)
            return torch.as_tensor(np.atleast_1d(np.asarray(value, float)), dtype=torch.float64, device=device)
    else:

        def start(t):
            return np.atleast_1d(np.asarray(1.0 if history is None else history(t), float))

    return delay_fixed_step(lambda t, y, delayed: -a * delayed, start, tau, t_end, steps_per_delay, method=method)


def sign_change_time(times: np.ndarray, values: np.ndarray) -> float | None:
    """The first time the sampled solution changes sign (linear interpolation), or None."""
    signs = np.sign(values)
    reference = signs[np.nonzero(signs)[0][0]] if signs.any() else 0
    crossed = np.nonzero(signs == -reference)[0]
    if reference == 0 or crossed.size == 0:
        return None
    k = crossed[0]
    return float(times[k - 1] + (times[k] - times[k - 1]) * values[k - 1] / (values[k - 1] - values[k]))


def reversing_gain(tau: float, horizon: float, digits: int = 30) -> float | None:
    """The smallest a > 0 (up to aτ = 20) at which the constant-history solution has x(T) = −x(0): the time-T map
    x₀ ↦ −x₀ at T = ``horizon``, which no ODE flow realises.  Scanned over 2000 gains by the method of steps
    in double precision (vectorized over the gains; no cancellation in its local variables), then refined
    by a secant on the closed form :func:`theory.node.delayed_exponential` in mpmath; None if no gain does."""
    from dyncheck.theory.node import evaluate_piece, method_of_steps

    if not tau > 0 or not horizon > 0:
        raise UsageError("the delay τ and the time T must be positive")
    segment = int(horizon // tau)
    gains = np.linspace(1e-3, 20, 2000) / tau
    if segment == 0:
        values = 1 - gains * horizon  # x(t) = 1 − a t on [0, τ]
    else:
        pieces = method_of_steps(gains, tau, [np.ones_like(gains)], segment + 1)
        values = evaluate_piece(pieces[segment], horizon - segment * tau)
    crossing = np.nonzero(values <= -1)[0]
    if crossing.size == 0:
        return None
    k = crossing[0]
    if k == 0:
        return float(gains[0])

    def excess(a):
        return delayed_exponential(a, tau, horizon, digits_for(float(a), horizon + tau) + digits) + 1

    with mpmath.workdps(digits):
        return float(mpmath.findroot(excess, (gains[k - 1], gains[k]), solver="anderson"))


# ------------------------------------------------------------------------------------- plots


def plot_flow(field, low: float, high: float, horizon: float, path: str, title: str, starts: int = 25) -> None:
    """Trajectories φ_t(x) of a 1-D field (left) and the time-T map with ∂φ_T/∂x = e^Λ (right)."""
    from dyncheck.numerics.figures import figure

    x = np.linspace(low, high, starts)
    times = np.linspace(0, horizon, 101)
    paths = [x]
    for k in range(1, len(times)):
        paths.append(flow_with_divergence(field, paths[-1], horizon / 100, 8)[0])
    fine = np.linspace(low, high, 400)
    end, divergence = flow_with_divergence(field, fine, horizon)
    with figure(path, figsize=(9, 3.8)) as fig:
        left, right = fig.subplots(1, 2)
        left.plot(times, np.array(paths), lw=0.8, color="tab:blue")
        left.set(xlabel="$t$", ylabel=r"$\varphi_t(x)$", title=f"{starts} trajectories: they never cross")
        right.plot(fine, end, color="tab:blue", label=r"$\varphi_T(x)$ (left axis)")
        twin = right.twinx()
        twin.grid(False)
        twin.semilogy(fine, np.exp(divergence), color="tab:orange", lw=1.0, label=r"$\partial\varphi_T/\partial x = e^{\Lambda} > 0$ (right axis)")
        right.set(xlabel="$x$", ylabel=r"$\varphi_T(x)$", title=f"the time-{horizon:g} map is increasing")
        twin.set_ylabel(r"$\partial\varphi_T/\partial x$ (log scale)")
        handles = right.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        right.legend(handles=handles, loc="upper left")
        fig.suptitle(title)


def plot_isotonic(bound: IsotonicBound, path: str, fits: list[NeuralODEFit] = ()) -> None:
    """The target, its best monotone fit (the bound's witness) and any trained fits."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    step = max(1, len(bound.fit_x) // 2000)
    with figure(path, figsize=(6.4, 4.2)) as fig:
        ax = fig.subplots()
        ax.plot(bound.fit_x[::step], bound.values[::step], color="black", lw=1.5, zorder=DATA, label=f"target $g$: {bound.target}")
        for fit in fits:
            kind = "non-augmented" if fit.augment == 0 else f"augmented (+{fit.augment})"
            ax.plot(fit.x, fit.prediction, lw=1, zorder=DATA, label=f"{kind} neural ODE $f$: " + r"$\|f - g\|$" + f" = {fit.error:.3g}")
        ax.plot(bound.fit_x[::step], bound.fit[::step], color="tab:green", lw=1.4, ls="--", zorder=THEORY,
                label=f"best {bound.direction} fit $m$: " + r"$\|g - m\|$" + f" = {bound.bound:.4g} (the bound)")
        ax.set(xlabel="$x$", ylabel="value")
        ax.set_title("the monotone obstruction: no non-augmented neural ODE gets below the bound")
        ax.legend()


def plot_delay_solutions(tau: float, t_end: float, gains: list[float], path: str, asked: tuple | None = None) -> None:
    """Constant-history solutions of x′ = −a x(t − τ) at the ``gains``, labelled by aτ against 1/e, and the
    ``asked`` solution (times, values, label) drawn over them."""
    from dyncheck.numerics.figures import THEORY, figure

    with figure(path, figsize=(6.4, 4.2)) as fig:
        ax = fig.subplots()
        for a in gains:
            solution = linear_delay_solution(a, tau, t_end)
            label = f"$a\\tau$ = {a * tau:.3g}" + (r" $\leq 1/e$: keeps its sign" if a * tau <= math.exp(-1) else r" $> 1/e$: oscillates")
            ax.plot(solution.times, solution.states[:, 0], lw=1, label=label)
        if asked is not None:
            ax.plot(asked[0], asked[1], color="black", lw=1.6, ls="--", zorder=THEORY, label=asked[2])
        ax.axhline(0, color="grey", lw=0.6)
        ax.set(xlabel="$t$", ylabel="$x(t)$")
        ax.set_title(f"$x'(t) = -a\\,x(t - \\tau)$, $\\tau$ = {tau:g}, $x \\equiv 1$ on $[-\\tau, 0]$:\nsign threshold " + r"$a\tau = 1/e$, stability $a\tau < \pi/2$")
        ax.legend()
