r"""Numerics of mean-field signal propagation: fixed points, χ's, depth scales, grids.

Every function of q (and c) is compiled from :mod:`dyncheck.theory.meanfield`:
each expectation from its derivation (a closed form through
:func:`dyncheck.numerics.codegen.generate`, an unevaluated one through
:func:`dyncheck.numerics.gaussian.compile_expectation`; for grids, piecewise
Chebyshev tables of :mod:`dyncheck.numerics.chebyshev` over the range of q and c
the grid needs), and each composite formula (the maps, their residuals and
slopes, χ₁, χ_c, the depth scales, the critical line, the Jacobian spectrum)
from :data:`dyncheck.theory.meanfield.FORMULAS`, with its expectations bound to
those functions (:meth:`MeanFieldFunctions.formula`).

Fixed points (vectorized over arrays of σ_w², σ_b²):

* q* solves F(q) = σ_w² E[φ(√q z)²] + σ_b² − q = 0: the smallest q where F
  crosses from + to − is the fixed point that attracts the variance from
  below (the q-map's slope there is < 1).  lo = σ_b² (F(σ_b²) = σ_w² E[φ²] ≥ 0);
  hi grows tenfold until F(hi) < 0 or hi reaches :data:`Q_MAX`; F is scanned on
  [lo, hi] at the points of one geometric grid shared by all (σ_w², σ_b²),
  q_j = 10^(j/:data:`SCAN_PER_DECADE`), for its first sign change, which
  Newton's method then refines inside its bracket from the secant's root
  (bisection in log q when a step leaves it).  Where F stays positive up to
  Q_MAX, no fixed point exists below it and the point is reported as such.  For
  σ_b² = 0 and φ(0) = 0, q = 0 is a fixed point; it is q* when F < 0 just above
  :data:`Q_MIN` (no positive fixed point attracts).  :func:`fixed_points` lists
  every fixed point in [Q_MIN, Q_MAX], stable and unstable.
* c* solves G(c) = (σ_w² E[φ(√q* u)φ(√q* v)] + σ_b²)/q* − c = 0 on [0, 1).
  By Mehler's expansion the kernel is a power series in c with non-negative
  coefficients, so G is convex on [0, 1] with G(0) ≥ 0, G(1) = 0 and
  G′(1) = χ₁ − 1.  In the chaotic phase (χ₁ > 1) the root c* < 1 is unique
  and Newton's method from c = 0 climbs to it monotonically; G′ = χ_c(c) − 1
  by Price's theorem.  In the ordered phase c* = 1.

Neither solver stops silently: points that do not converge raise
:class:`FixedPointError`.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from dyncheck.numerics.backend import ArrayBackend, child_seed
from dyncheck.numerics.chebyshev import tabulate
from dyncheck.numerics.codegen import generate
from dyncheck.numerics.gaussian import compile_derivation, compile_expectation
from dyncheck.numerics.networks import ENSEMBLES, DrawnWeights, Network, compiled_activation
from dyncheck.numerics.sweep import sweep, task_seeds
from dyncheck.numerics.solvers import NEWTON_MAX_ITERATIONS, NEWTON_RESIDUAL_RTOL, NEWTON_STEP_RTOL, NonConvergence, bracketed_newton
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.theory.activations import derivative
from dyncheck.theory.errors import UsageError
from dyncheck.theory.gaussian import Derivation
from dyncheck.theory.meanfield import EXPECTATIONS, FORMULAS, SLOPE, WEIGHT_VARIANCE, MeanField, weight_variance
from dyncheck.theory.symbols import C, DEPTH, Q, RHO, SIGMA_B2, SIGMA_W2, X, Z

__all__ = [
    "phase_diagram",
    "PHASES",
    "FixedPoint",
    "fixed_points",
    "Q_MAX",
    "Q_MIN",
    "FixedPointError",
    "MeanFieldFunctions",
    "MeanFieldState",
    "iterate_maps",
    "jacobian_spectrum_moments",
    "mean_field_state",
    "solve_c_star",
    "solve_q_star",
    "NetworkSimulation",
    "critical_curve",
    "critical_sigma_w2",
    "functions_for",
    "jacobian_singular_values",
    "plot_jacobian_spectra",
    "plot_phase_diagram",
    "plot_trajectories",
    "random_networks",
    "simulate_network",
]

#: Range of q where the quadrature is validated to ≤ 1e-12 (numerics.gaussian);
#: fixed points outside it are reported, not extrapolated.
Q_MIN, Q_MAX = 1e-6, 1e4
#: Points a decade of the grid on which F is scanned for sign changes.  A scan misses two roots
#: closer than a grid step (a factor 10^(1/16) ≈ 1.15 in q): F's sign is the same on both sides.
SCAN_PER_DECADE = 16
#: |χ₁ − 1| below which a point is called critical (the table's ``critical_chi_1``).
CRITICAL_TOLERANCE = tolerance("critical_chi_1")
#: Degree of the two-parameter tables.  Their error is measured on the scale of
#: the kernel's diagonal (|K(q, c)| ≤ K(q, 1), Cauchy–Schwarz).  For tanh on
#: q ∈ [1e-3, 10] × c ∈ [0, 1], the kernel needs 3 cells (5126 quadratures) at
#: degree 32, against 22 cells (11052) at degree 16 and 2 (4804) at 40; the slope
#: kernel 4 cells (7176); verified to ≤ 5e-14.
TABLE_DEGREE_2D = 32
TABLE_RTOL_2D = tolerance("chebyshev_cell_tail_2d")

#: Largest size of the weights the simulator keeps for its backward pass; beyond
#: it they are drawn again from their streams (twice the sampling, and QR, work).
KEPT_WEIGHTS_BYTES = 2**30

#: Phase labels, by code.
PHASES = ("ordered", "critical", "chaotic", "no fixed point", "undefined")
ORDERED, CRITICAL, CHAOTIC, NO_FIXED_POINT, UNDEFINED = range(5)
#: Status of a point where every q is a fixed point (an affine q-map with slope 1
#: and no bias: ReLU at (2, 0)); its phase is critical.
MARGINAL = -2


#: A fixed-point iteration did not converge (never reported as a number): the solvers' error.
FixedPointError = NonConvergence


@dataclass(eq=False)  # hashed by identity: tables are cached per instance
class MeanFieldFunctions:
    """Vectorized q ↦ E[φ²], E[φ′²], E[φ″φ], E[φ′⁴] and (q, c) ↦ E[φφ], E[φ′φ′] for one activation.

    ``numeric`` names the functions evaluated by quadrature (no closed form);
    :meth:`tabulated` replaces them by Chebyshev tables.
    """

    theory: MeanField
    second_moment: object = field(init=False)
    slope_moment: object = field(init=False)
    curvature_moment: object = field(init=False)
    numeric: set = field(init=False, default_factory=set)
    _compiled: dict = field(init=False, default_factory=dict)

    def __post_init__(self):
        t = self.theory
        self.second_moment = self._one(t.second_moment, "second_moment")
        self.slope_moment = self._one(t.slope_moment, "slope_moment")
        self.curvature_moment = self._curvature()
        # the kernels are compiled on first use (their derivations take the longest)

    def _one(self, derivation: Derivation, name: str):
        if not derivation.closed:
            self.numeric.add(name)
        return compile_derivation(derivation, (Q,))

    def _curvature(self):
        derivation = self.theory.curvature_moment
        if derivation.closed or not derivation.expectation.integrand.has(sp.DiracDelta):
            return self._one(derivation, "curvature_moment")
        # E[φ″φ] = E[z φ(√q z) φ′(√q z)]/√q − E[φ′²] (Gaussian integration by parts):
        # the form without deltas when φ′ jumps.
        self.numeric.add("curvature_moment")
        t = self.theory
        first = compile_expectation((Z * t.phi * t.phi_prime).subs(X, sp.sqrt(Q) * Z), (Q,), Z)
        slope = self.slope_moment
        return lambda q: first(q) / np.sqrt(q) - slope(q)

    @functools.cached_property
    def slope_fourth_moment(self):
        return self._one(self.theory.slope_fourth_moment, "slope_fourth_moment")

    @functools.cached_property
    def kernel(self):
        return self._two(self.theory.kernel, "kernel")

    @functools.cached_property
    def slope_kernel(self):
        return self._two(self.theory.slope_kernel, "slope_kernel")

    def compile_kernels(self) -> MeanFieldFunctions:
        """Derive and compile the kernels now (otherwise done on their first use)."""
        self.kernel, self.slope_kernel  # noqa: B018 (cached properties)
        return self

    def _two(self, derivation: Derivation, name: str):
        if not derivation.closed:
            self.numeric.add(name)
        return compile_derivation(derivation, (Q, RHO))

    def formula(self, name: str):
        """:data:`~dyncheck.theory.meanfield.FORMULAS` ``[name]`` compiled, its expectations bound to these functions.

        Its arguments are those of q, c, σ_w², σ_b², L, v_W that it has, in this order
        (:data:`FORMULA_ARGUMENTS`): ``formula("chi_1")(q, sw2)``.
        """
        if name not in self._compiled:
            compiled, expectations = _compiled_formula(name)
            bound = [getattr(self, f) for f in expectations]
            self._compiled[name] = lambda *args: compiled(*args, *bound)
        return self._compiled[name]

    def phi_prime_squared_at_zero(self) -> float:
        """lim_{q→0} E[φ′(√q z)²] = (φ′(0⁺)² + φ′(0⁻)²)/2."""
        d = self.theory.phi_prime
        right, left = (sp.limit(d, X, 0, side) for side in ("+", "-"))
        return float((right**2 + left**2) / 2)

    def tabulated(self, q_range: tuple[float, float], kernels: bool = False) -> MeanFieldFunctions:
        """A copy whose numeric functions of q (and, with ``kernels``, of (q, c ∈ [0, 1])) are tables over ``q_range``."""
        names = ["second_moment", "slope_moment", "curvature_moment"] + (list(_KERNELS) if kernels else [])
        if kernels:
            self.compile_kernels()  # classifies them as numeric or not
        out = copy.copy(self)
        out._compiled = {}  # the formulas are compiled again, bound to the tables
        for name in names:
            if name in self.numeric:
                setattr(out, name, _table(self, name, (float(q_range[0]), float(q_range[1]))))
        return out


#: The arguments of a compiled formula, in their order (those it has).
FORMULA_ARGUMENTS = (Q, C, SIGMA_W2, SIGMA_B2, DEPTH, WEIGHT_VARIANCE, SLOPE)


@functools.lru_cache(maxsize=None)
def _compiled_formula(name: str):
    """FORMULAS[name] generated once for every activation: its expectations are arguments after the formula's
    own (the callables of a :class:`MeanFieldFunctions`, closed forms, quadrature or tables, at each call)."""
    expr = FORMULAS[name]
    expectations = [f for f, function in EXPECTATIONS.items() if expr.has(function)]
    args = [s for s in FORMULA_ARGUMENTS if s in expr.free_symbols] + [EXPECTATIONS[f] for f in expectations]
    return generate(expr, args), expectations

#: Each kernel, and the function of q on its diagonal (E[φφ] at c = 1 is E[φ²]).
_KERNELS = {"kernel": "second_moment", "slope_kernel": "slope_moment"}


@functools.lru_cache(maxsize=48)
def _table(functions: MeanFieldFunctions, name: str, q_range: tuple[float, float]):
    """The Chebyshev table of ``functions.<name>`` over ``q_range`` (× c ∈ [0, 1] for a kernel),
    kept in the disk cache under the activation and the expectation's name."""
    coordinate = "log" if q_range[1] / q_range[0] >= 100 else "linear"
    key = ("meanfield", sp.srepr(functions.theory.phi), name)
    if name in _KERNELS:
        diagonal = getattr(functions, _KERNELS[name])
        return tabulate(
            getattr(functions, name),
            [q_range, (0.0, 1.0)],
            [coordinate, "angle"],
            rtol=TABLE_RTOL_2D,
            degree=TABLE_DEGREE_2D,
            magnitude=lambda q, c: diagonal(q),
            key=key,
        )
    return tabulate(getattr(functions, name), [q_range], [coordinate], key=key)


@functools.lru_cache(maxsize=64)
def functions_for(theory: MeanField) -> MeanFieldFunctions:
    """The (cached) :class:`MeanFieldFunctions` of a theory."""
    return MeanFieldFunctions(theory)


# ---------------------------------------------------------------------------
# Fixed points


def _check_parameters(sw2, sb2):
    sw2, sb2 = np.broadcast_arrays(np.asarray(sw2, float), np.asarray(sb2, float))
    if not (np.all(np.isfinite(sw2)) and np.all(np.isfinite(sb2))):
        raise UsageError("σ_w² and σ_b² must be finite numbers")
    if np.any(sw2 <= 0):
        raise UsageError(f"σ_w² must be positive, got {sw2[sw2 <= 0].ravel()[0]:g}")
    if np.any(sb2 < 0):
        raise UsageError(f"σ_b² must be non-negative, got {sb2[sb2 < 0].ravel()[0]:g}")
    return sw2.astype(float), sb2.astype(float)


def solve_q_star(functions: MeanFieldFunctions, sw2, sb2):
    """q* and a phase code per point (``NO_FIXED_POINT``, ``MARGINAL`` or −1 for a found q*).

    Returns ``(q_star, status)``; q* is NaN where it does not exist.
    """
    sw2, sb2 = _check_parameters(sw2, sb2)
    theory = functions.theory
    q_star = np.full(sw2.shape, np.nan)
    status = np.full(sw2.shape, -1)
    if theory.is_homogeneous:
        # q' = σ_w² v q + σ_b²: q* = σ_b²/(1 − σ_w² v) (theory.fixed_point) when the slope σ_w² v < 1
        gain = np.broadcast_to(functions.formula("q_map_slope")(1.0, sw2), sw2.shape)
        below = gain < 1 - CRITICAL_TOLERANCE
        q_star[below] = functions.formula("affine_fixed_point")(1.0, sw2[below], sb2[below])
        marginal = ~below & (np.abs(gain - 1) <= CRITICAL_TOLERANCE) & (sb2 == 0)
        status[marginal] = MARGINAL
        status[~below & ~marginal] = NO_FIXED_POINT
        return q_star, status
    residual, residual_slope = functions.formula("fixed_point_residual"), functions.formula("fixed_point_residual_slope")

    def F(q, idx=()):
        return residual(q, sw2[idx], sb2[idx])

    phi_zero = float(theory.phi.subs(X, 0)) if theory.phi.subs(X, 0).is_number else math.nan
    if np.any(sb2 >= Q_MAX):
        raise UsageError(f"σ_b² = {sb2.max():g} puts q* (≥ σ_b²) above {Q_MAX:g}, outside the validated range")
    lo = np.maximum(sb2, Q_MIN)
    f_lo = F(lo, ...)
    low_root = f_lo < 0  # q* < Q_MIN: zero if σ_b² = 0 and φ(0) = 0, else unresolved
    zero = low_root & (sb2 == 0) & (phi_zero == 0)
    if np.any(low_root & ~zero):
        raise UsageError(f"q* lies below {Q_MIN:g}, outside the validated range (σ_b² too small)")
    q_star[zero] = 0.0
    hi = np.maximum(2 * lo, sw2 + sb2)
    todo = ~zero
    while True:
        f_hi = np.where(todo, F(np.minimum(hi, Q_MAX), ...), -1.0)
        grow = todo & (f_hi >= 0) & (hi < Q_MAX)
        if not grow.any():
            break
        hi = np.where(grow, hi * 10, hi)
    hi = np.minimum(hi, Q_MAX)
    if todo.any():
        idx = np.nonzero(todo)
        lo_b, hi_b, f_lo_b, f_hi_b, found = _first_sign_change(residual, sw2[idx], sb2[idx], lo[idx], hi[idx], f_lo[idx], f_hi[idx])
        status[tuple(a[~found] for a in idx)] = NO_FIXED_POINT
        keep = tuple(a[found] for a in idx)
        if keep[0].size:
            a, b, fa, fb = lo_b[found], hi_b[found], f_lo_b[found], f_hi_b[found]
            q_star[keep] = bracketed_newton(
                lambda q, i: F(q, tuple(k[i] for k in keep)),
                lambda q, i: residual_slope(q, sw2[keep][i]),
                a,
                b,
                log_scale=True,
                what="q*",
                start=a - fa * (b - a) / (fb - fa),  # the secant's root: Newton then takes a few steps
            )
    return q_star, status


#: Points a chunk of the sign-change scan (bounds its arrays to a few MB).
SCAN_CHUNK = 8192


def _first_sign_change(residual, sw2, sb2, lo, hi, f_lo, f_hi):
    """The bracket of the first sign change of F from + to − on each point's [lo, hi], scanned on
    the shared geometric grid q_j = 10^(j/:data:`SCAN_PER_DECADE`) inside it (with lo and hi themselves).

    One grid for every point: the expectations in F are evaluated at its q_j once a chunk, and the
    scan is σ_w² V(q_j) + σ_b² − q_j, arithmetic broadcast over the points.  F(lo) ≥ 0 is given;
    so is F(hi), which is < 0 unless hi = :data:`Q_MAX` and F stays positive up to it.
    Returns ``(a, b, F(a), F(b), found)``.
    """
    first = math.floor(SCAN_PER_DECADE * math.log10(lo.min()))
    last = math.ceil(SCAN_PER_DECADE * math.log10(hi.max()))
    grid = 10.0 ** (np.arange(first, last + 1) / SCAN_PER_DECADE)
    a, b, fa, fb = lo.copy(), hi.copy(), f_lo.copy(), f_hi.copy()
    found = f_hi < 0
    for start in range(0, lo.size, SCAN_CHUNK):
        part = slice(start, start + SCAN_CHUNK)
        values = residual(grid[None, :], sw2[part, None], sb2[part, None])
        inside = (grid > lo[part, None]) & (grid < hi[part, None])
        negative = inside & (values < 0)
        crosses = negative.any(axis=1)
        j = np.argmax(negative, axis=1)
        rows = np.arange(values.shape[0])
        # where F < 0 first on the grid: the bracket ends there, and starts at the grid point before (if inside)
        end, f_end = np.where(crosses, grid[j], b[part]), np.where(crosses, values[rows, j], fb[part])
        # the last grid point below the bracket's end, if inside: F ≥ 0 there
        below = np.where(crosses, j, np.searchsorted(grid, hi[part], side="left")) - 1
        previous_inside = (below >= 0) & (grid[np.maximum(below, 0)] > lo[part])
        b[part], fb[part] = end, f_end
        a[part] = np.where(previous_inside, grid[np.maximum(below, 0)], lo[part])
        fa[part] = np.where(previous_inside, values[rows, np.maximum(below, 0)], f_lo[part])
        found[part] |= crosses
    return a, b, fa, fb, found


def _slope_moment_at_zero(functions: MeanFieldFunctions) -> float:
    """E[φ′²] at q = 0: (φ′(0⁺)² + φ′(0⁻)²)/2; a homogeneous map's, which does not depend on q, at q = 1."""
    if functions.theory.is_homogeneous:
        return float(functions.slope_moment(1.0))
    return functions.phi_prime_squared_at_zero()


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point q of the variance map, the map's slope σ_w² dV/dq there, and its stability (slope < 1)."""

    q: float
    slope: float
    stable: bool


def fixed_points(theory: MeanField, sw2: float, sb2: float) -> list[FixedPoint]:
    """Every fixed point of the variance map in [max(σ_b², Q_MIN), Q_MAX] (and q = 0 where it is one),
    stable and unstable, from the sign changes of F on a grid of :data:`SCAN_PER_DECADE` points a decade."""
    functions = functions_for(theory)
    sw2_a, sb2_a = _check_parameters(sw2, sb2)
    sw2, sb2 = float(sw2_a), float(sb2_a)
    residual, residual_slope = functions.formula("fixed_point_residual"), functions.formula("fixed_point_residual_slope")
    out = []
    phi_zero = theory.phi.subs(X, 0)
    if sb2 == 0 and phi_zero.is_number and phi_zero == 0:
        slope = sw2 * _slope_moment_at_zero(functions)
        out.append(FixedPoint(0.0, float(slope), bool(slope < 1)))
    lo = max(sb2, Q_MIN)
    if lo >= Q_MAX:
        return out  # every fixed point lies above σ_b², beyond the validated range
    grid = np.geomspace(lo, Q_MAX, int(SCAN_PER_DECADE * np.log10(Q_MAX / lo)) + 2)
    values = residual(grid, sw2, sb2)
    for k in np.nonzero(np.sign(values[:-1]) != np.sign(values[1:]))[0]:
        sign = 1.0 if values[k] > 0 else -1.0  # Newton needs f(lo) ≥ 0 > f(hi): F or −F
        q = float(grid[k]) if values[k] == 0 else float(
            bracketed_newton(
                lambda q, i: sign * residual(q, sw2, sb2),
                lambda q, i: sign * residual_slope(q, sw2),
                np.array([grid[k]]),
                np.array([grid[k + 1]]),
                log_scale=True,
                what="fixed point",
            )[0]
        )
        slope = float(np.broadcast_to(functions.formula("q_map_slope")(np.array([q]), sw2), (1,))[0])  # a constant comes back as a scalar
        out.append(FixedPoint(q, slope, slope < 1))
    return out


def solve_c_star(functions: MeanFieldFunctions, q_star, sw2, sb2):
    """c* ∈ [0, 1) at each chaotic point (Newton from c = 0 on the convex G; see the module docstring)."""
    residual, residual_slope = functions.formula("correlation_residual"), functions.formula("correlation_residual_slope")
    q_star, sw2, sb2 = np.broadcast_arrays(*(np.asarray(a, float) for a in (q_star, sw2, sb2)))
    c = np.zeros(q_star.shape)
    active = np.nonzero(np.ones(q_star.shape, bool))  # the points still iterating: most take 5–8 steps, those near χ₁ = 1 twenty
    for _ in range(NEWTON_MAX_ITERATIONS):
        if active[0].size == 0:
            return c
        q, ca, w = q_star[active], c[active], sw2[active]
        g = residual(q, ca, w, sb2[active])
        new = np.clip(ca - g / residual_slope(q, ca, w), 0.0, 1.0)
        at_root = np.abs(g) <= NEWTON_RESIDUAL_RTOL
        c[active] = np.where(at_root, ca, new)
        done = at_root | (np.abs(new - ca) <= NEWTON_STEP_RTOL * new)
        active = tuple(a[~done] for a in active)
    raise FixedPointError(f"c*: {active[0].size} point(s) did not converge in {NEWTON_MAX_ITERATIONS} Newton iterations")


@dataclass(frozen=True)
class MeanFieldState:
    """Fixed points, slopes and depth scales at each (σ_w², σ_b²) (arrays of one shape).

    ``phase`` holds indices into :data:`PHASES`.  Where q* does not exist, every
    other quantity is NaN.  At a marginal point (every q is a fixed point, ReLU
    at (2, 0)) q* is NaN and the slopes, which do not depend on q, are given.
    """

    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    q_star: np.ndarray
    c_star: np.ndarray
    chi_1: np.ndarray
    chi_c: np.ndarray
    xi_q: np.ndarray
    xi_c: np.ndarray
    phase: np.ndarray

    def phase_names(self) -> np.ndarray:
        return np.asarray(PHASES, dtype=object)[self.phase]


def _depth_scale(functions: MeanFieldFunctions, chi):
    """ξ = −1/ln χ, +∞ at χ = 1 (where −1/ln χ is −1/0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chi == 1, np.inf, functions.formula("depth_scale")(chi))


def mean_field_state(theory: MeanField, sw2, sb2, *, tabulate_over_grid: bool | None = None) -> MeanFieldState:
    """Everything at each (σ_w², σ_b²): q*, c*, χ₁, χ_c, ξ_q, ξ_c and the phase.

    With ``tabulate_over_grid`` (the default for more than 2000 points) the
    numeric functions are replaced by Chebyshev tables over the range of q*
    the points need; otherwise every value is a direct quadrature.
    """
    functions = functions_for(theory)
    sw2, sb2 = _check_parameters(sw2, sb2)
    shape = sw2.shape
    sw2, sb2 = sw2.ravel(), sb2.ravel()
    many = sw2.size > 2000 if tabulate_over_grid is None else tabulate_over_grid
    if many and functions.numeric:
        functions = functions.tabulated((Q_MIN, Q_MAX))
    q_star, status = solve_q_star(functions, sw2, sb2)
    exists = np.isfinite(q_star)
    positive = exists & (q_star > 0)
    chi_1 = np.full(sw2.shape, np.nan)
    slope = np.full(sw2.shape, np.nan)
    chi_1[positive] = functions.formula("chi_1")(q_star[positive], sw2[positive])
    slope[positive] = functions.formula("q_map_slope")(q_star[positive], sw2[positive])
    at_zero = (exists & (q_star == 0)) | (status == MARGINAL)
    if at_zero.any():
        # q* = 0: E[φ′²] → (φ′(0⁺)² + φ′(0⁻)²)/2; a marginal (homogeneous) map has constant slopes
        s0 = _slope_moment_at_zero(functions)
        chi_1[at_zero] = sw2[at_zero] * s0
        slope[at_zero] = sw2[at_zero] * s0
    phase = np.where(chi_1 < 1 - CRITICAL_TOLERANCE, ORDERED, np.where(chi_1 > 1 + CRITICAL_TOLERANCE, CHAOTIC, CRITICAL))
    phase = np.where(np.isfinite(chi_1), phase, UNDEFINED)  # a moment diverges or q* is unresolved: never a phase
    phase = np.where(status == NO_FIXED_POINT, NO_FIXED_POINT, phase)
    c_star = np.where(np.isnan(chi_1), np.nan, 1.0)
    chi_c = chi_1.copy()
    chaotic = (phase == CHAOTIC) & positive
    if chaotic.any():
        f = functions
        if many:
            qc = q_star[chaotic]
            lo = 10.0 ** math.floor(math.log10(max(qc.min(), Q_MIN)))
            hi = 10.0 ** math.ceil(math.log10(qc.max() * (1 + 1e-12)))
            f = functions_for(theory).tabulated((lo, hi), kernels=True)
        c_star[chaotic] = solve_c_star(f, q_star[chaotic], sw2[chaotic], sb2[chaotic])
        chi_c[chaotic] = f.formula("chi_c")(q_star[chaotic], c_star[chaotic], sw2[chaotic])
    state = MeanFieldState(
        sw2.reshape(shape),
        sb2.reshape(shape),
        q_star.reshape(shape),
        c_star.reshape(shape),
        chi_1.reshape(shape),
        chi_c.reshape(shape),
        _depth_scale(functions, slope).reshape(shape),
        _depth_scale(functions, chi_c).reshape(shape),
        phase.reshape(shape),
    )
    return state


def phase_diagram(theory: MeanField, sw2_axis, sb2_axis, *, rows_per_task: int = 64, jobs: int | None = 1, scheduler=None, progress=False) -> MeanFieldState:
    """:func:`mean_field_state` on the grid ``sw2_axis`` × ``sb2_axis``.

    With ``jobs`` > 1 or a Dask ``scheduler`` the grid is cut into blocks of ``rows_per_task``
    values of σ_w², each a task of the sweep engine (:func:`dyncheck.numerics.sweep.sweep`) that
    derives the theory (from the disk cache) and computes its block; otherwise one call in this
    process.  A block's tables span the q* of its own points, so the two agree to the tables'
    accuracy (≤ 1e-13 relative), not bit for bit.
    """
    sw2_axis, sb2_axis = np.asarray(sw2_axis, float), np.asarray(sb2_axis, float)
    if (jobs or 1) == 1 and scheduler is None:
        return mean_field_state(theory, *np.meshgrid(sw2_axis, sb2_axis, indexing="ij"))
    rows = max(1, min(rows_per_task, sw2_axis.size))
    starts = list(range(0, sw2_axis.size, rows))
    task = functools.partial(_state_block, phi=theory.phi, name=theory.name, sw2_axis=sw2_axis, sb2_axis=sb2_axis, rows=rows)
    result = sweep(task, [{"first": first} for first in starts], 1, jobs=jobs, scheduler=scheduler, progress=progress, description="phase diagram")
    fields = {name: np.concatenate(list(result.values[name][:, 0]))[: sw2_axis.size] for name in result.values}
    sw2, sb2 = np.meshgrid(sw2_axis, sb2_axis, indexing="ij")
    return MeanFieldState(sw2, sb2, **fields)


def _state_block(point, seed, *, phi, name, sw2_axis, sb2_axis, rows) -> dict:
    """The fields of :class:`MeanFieldState` on ``rows`` values of σ_w² from ``point["first"]`` (the last block
    repeats its last row to keep the shape of every block)."""
    from dyncheck.theory.meanfield import mean_field

    index = np.minimum(np.arange(point["first"], point["first"] + rows), sw2_axis.size - 1)
    state = mean_field_state(mean_field(phi, name), *np.meshgrid(sw2_axis[index], sb2_axis, indexing="ij"), tabulate_over_grid=True)
    return {f: getattr(state, f) for f in ("q_star", "c_star", "chi_1", "chi_c", "xi_q", "xi_c", "phase")}


def iterate_maps(theory: MeanField, sw2: float, sb2: float, q0: float, c0: float, depth: int):
    """q_l and c_l for l = 0 … depth from inputs of variance q0 and correlation c0.

    Both inputs have variance q_l at every layer; the correlation map is the
    general one, c_{l+1} = (σ_w² E[φ(√q_l u)φ(√q_l v)] + σ_b²)/q_{l+1}.
    """
    functions = functions_for(theory)
    sw2_, sb2_ = _check_parameters(sw2, sb2)
    if not (q0 > 0 and -1 <= c0 <= 1):
        raise UsageError("the input variance must be positive and the correlation in [−1, 1]")
    q = np.empty(depth + 1)
    c = np.empty(depth + 1)
    q[0], c[0] = q0, c0
    q_map, c_map = functions.formula("q_map"), functions.formula("c_map_general")
    for layer in range(depth):
        q[layer + 1] = float(q_map(q[layer], sw2_, sb2_))
        if not np.isfinite(q[layer + 1]):
            raise UsageError(f"the variance diverges at layer {layer + 1}")
        c[layer + 1] = float(c_map(q[layer], c[layer], sw2_, sb2_))
    return q, c


# ---------------------------------------------------------------------------
# Finite random networks


@dataclass(frozen=True)
class NetworkSimulation:
    """Measurements on finite random networks, one row per seed.

    ``q[s, l]`` = |h^l|²/N averaged over the two inputs, ``c[s, l]`` their
    correlation, ``gradient[s, l]`` = |∂(u·h^L)/∂h^l|²/N for Gaussian probes u
    at the output, one for each input (the backward variance q̃_l), and
    ``jacobian_msv[s]`` = ‖∂h^L/∂h^0‖_F²/N, the mean squared singular value of
    the input–output Jacobian: Hutchinson's estimator E_u‖uᵀJ‖² = ‖J‖_F², which is
    ``gradient[s, 0]`` (both inputs have the variance q⁰, so their Jacobians have
    one law).
    """

    q: np.ndarray
    c: np.ndarray
    jacobian_msv: np.ndarray
    gradient: np.ndarray
    width: int
    depth: int
    weights: str
    backend: str
    device: str

    @staticmethod
    def mean_and_error(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean over seeds and its standard error."""
        return values.mean(axis=0), values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])


#: The streams of one network's seed: child_seed(seed, key) — its weights (one stream a layer below it),
#: its biases, its two inputs and its output probes.
_WEIGHTS, _BIASES, _INPUTS, _PROBES = range(4)


def random_networks(phi: sp.Expr, sw2: float, sb2: float, xp: ArrayBackend, network_seeds, *, ensemble: str, width: int, depth: int) -> Network:
    r"""Random networks h^{l+1} = W^{l+1} φ(h^l) + b^{l+1}, l = 0 … L − 1, one for each of ``network_seeds``, on the substrate.

    W_ij ~ N(0, σ_w²/N) (``ensemble="gaussian"``) or W = σ_w Q with Q Haar-orthogonal
    (``"orthogonal"``), b_i ~ N(0, σ_b²): Poole et al. (2016).  As a
    :class:`~dyncheck.numerics.networks.Network` (standard parameterisation) the input is
    a₀ = φ(h⁰), the L − 1 first layers are dense and the last is linear, so that its
    pre-activations z_l are h^{l+1} and its output is h^L.

    Network k draws from its seed (a :class:`numpy.random.SeedSequence`) alone, so it is the
    same network in any batch, on any worker.  Its layer l's weights come from a stream of
    their own and are drawn when asked for (:class:`~dyncheck.numerics.networks.DrawnWeights`):
    kept when the batch's weights fit in :data:`KEPT_WEIGHTS_BYTES`, drawn again for a backward
    pass otherwise (memory O(batch·N²), not O(batch·L·N²): 4 networks of width 4096 and depth
    100 would keep 54 GB).
    """
    if ensemble not in ENSEMBLES:
        raise UsageError(f"unknown weight ensemble {ensemble!r}; choose {' or '.join(ENSEMBLES)}")
    batch = len(network_seeds)
    keep = batch * depth * width * width * 8 <= KEPT_WEIGHTS_BYTES

    def draw(layer):
        return xp.weights(ensemble, width, sw2, [xp.generator(child_seed(s, _WEIGHTS, layer)) for s in network_seeds])

    biases = xp.stack([xp.normal(depth, width, rng=xp.generator(child_seed(s, _BIASES))) for s in network_seeds]) * math.sqrt(sb2)
    return Network(DrawnWeights(draw, depth, keep), [biases[:, layer] for layer in range(depth)], phi, sw2, sb2, "standard", ("dense",) * (depth - 1) + ("linear",))


def simulate_network(
    theory: MeanField,
    sw2: float,
    sb2: float,
    *,
    width: int,
    depth: int,
    q0: float,
    c0: float,
    seeds: int,
    weights: str = "gaussian",
    backend: str = "numpy",
    device: str = "cpu",
    seed: int = 0,
    jobs: int | None = 1,
    scheduler=None,
    store=None,
    progress=False,
) -> NetworkSimulation:
    r"""Propagate two inputs through ``seeds`` independent random networks (:func:`random_networks`), and
    a Gaussian probe back from the output of each.

    The inputs h⁰ have i.i.d. entries of variance q0 and correlation c0.  Network r draws from
    child r of ``SeedSequence(seed)``.  With ``jobs`` 1 or None and no ``scheduler`` or ``store`` all
    networks run here as one batch (float64): one forward pass (q_l, c_l and the slopes φ′(h^l))
    and one backward pass (:meth:`~dyncheck.numerics.networks.Network.backward`).  Otherwise each
    network is a task of :func:`dyncheck.numerics.sweep.sweep` (local processes, Dask, a store to
    resume from): the same networks, the same results bit for bit whichever executor runs them,
    and the batch's to rounding.
    """
    _check_parameters(sw2, sb2)
    if width < 2 or depth < 1 or seeds < 2:
        raise UsageError("need width ≥ 2, depth ≥ 1 and at least 2 seeds (for standard errors)")
    if weights not in ENSEMBLES:
        raise UsageError(f"unknown weight ensemble {weights!r}; choose {' or '.join(ENSEMBLES)}")
    ArrayBackend(backend, device, 0)  # checked here, before any work
    task = functools.partial(
        _simulated_networks, phi=theory.phi, sw2=sw2, sb2=sb2, width=width, depth=depth, q0=q0, c0=c0, weights=weights, backend=backend, device=device
    )
    if (jobs or 1) == 1 and scheduler is None and store is None:
        values = task({}, task_seeds(seed, 1, seeds))
    else:
        result = sweep(task, [{}], seeds, seed=seed, jobs=jobs, scheduler=scheduler, store=store, progress=progress, description="simulate meanfield")
        values = {name: value[0, :, 0] for name, value in result.values.items()}
    return NetworkSimulation(values["q"], values["c"], values["gradient"][:, 0], values["gradient"], width, depth, weights, backend, device)


def _simulated_networks(point, network_seeds, *, phi, sw2, sb2, width, depth, q0, c0, weights, backend, device) -> dict:
    """q_l, c_l and the gradient variances (networks × (L + 1)) of the networks of ``network_seeds`` (one seed: a sweep's task)."""
    if isinstance(network_seeds, np.random.SeedSequence):
        network_seeds = [network_seeds]
    xp = ArrayBackend(backend, device, 0)
    network = random_networks(phi, sw2, sb2, xp, network_seeds, ensemble=weights, width=width, depth=depth)
    z = xp.stack([xp.normal(2, width, rng=xp.generator(child_seed(s, _INPUTS))) for s in network_seeds])
    first, second = z[:, :1], z[:, 1:]
    h0 = math.sqrt(q0) * xp.concatenate([first, c0 * first + math.sqrt(max(1 - c0 * c0, 0.0)) * second], axis=1)
    slope0 = xp.apply(compiled_activation(derivative(phi, X), backend), h0)
    forward = network.forward(xp.apply(compiled_activation(phi, backend), h0), slopes=True)
    layers = [h0, *forward[1]]  # h^0 … h^L
    norms = np.stack([xp.numpy((h * h).sum(-1)) / width for h in layers], axis=-1)  # (networks, 2, L + 1)
    overlaps = np.stack([xp.numpy((h[:, 0] * h[:, 1]).sum(-1)) / width for h in layers], axis=-1)
    # ∂(u·h^L)/∂h^l = φ′(h^l) ⊙ ∂(u·h^L)/∂a_l below the output: a_l = φ(h^l)
    probes = xp.stack([xp.normal(2, width, rng=xp.generator(child_seed(s, _PROBES))) for s in network_seeds])
    cotangents = network.backward(None, probes, forward=forward)
    slopes = [slope0, *forward[2][:-1], None]
    gradient = np.stack([xp.numpy(((g if d is None else d * g) ** 2).sum(-1).mean(-1)) / width for g, d in zip(cotangents, slopes)], axis=-1)
    return {"q": norms.mean(1), "c": overlaps / np.sqrt(norms[:, 0] * norms[:, 1]), "gradient": gradient}


def jacobian_singular_values(
    theory: MeanField, sw2: float, sb2: float, q0: float, *, width: int, depth: int, weights: str = "gaussian", seed: int = 0
) -> np.ndarray:
    """Squared singular values of the input–output Jacobian ∂h^L/∂h^0 of one random network (numpy): the
    product of the substrate's layer Jacobians D_l W_l, times φ′(h⁰) for a₀ = φ(h⁰)."""
    _check_parameters(sw2, sb2)
    xp, network_seed = ArrayBackend("numpy", "cpu", 0), np.random.SeedSequence(seed)
    network = random_networks(theory.phi, sw2, sb2, xp, [network_seed], ensemble=weights, width=width, depth=depth)
    h0 = math.sqrt(q0) * xp.normal(1, 1, width, rng=xp.generator(child_seed(network_seed, _INPUTS)))
    layers = network.layer_jacobians(xp.apply(compiled_activation(theory.phi), h0))
    jacobian = layers[0][0, 0] * xp.apply(compiled_activation(theory.phi_prime), h0)[0, 0]
    for layer in layers[1:]:
        jacobian = layer[0, 0] @ jacobian
    return np.linalg.svd(jacobian, compute_uv=False) ** 2


#: Variances at which the Jacobian spectrum's moments are compared when there is no single fixed point q*.
_Q_PROBES = (0.01, 0.5, 1.0, 7.0, 100.0)


def jacobian_spectrum_moments(theory: MeanField, sw2: float, sb2: float, depth: int, ensemble: str = "gaussian"):
    """(mean, variance) of the squared singular values of the depth-L Jacobian at q*.

    :meth:`theory.meanfield.MeanField.jacobian_spectrum` evaluated at the
    fixed point, its expectations E[φ′²] and E[φ′⁴] replaced by their values.
    """
    v_w = float(weight_variance(ensemble))
    state = mean_field_state(theory, sw2, sb2)
    functions = functions_for(theory)

    def moments(q):
        q = np.asarray(q, float)
        return np.ravel(functions.formula("jacobian_mean")(q, sw2, depth)), np.ravel(functions.formula("jacobian_variance")(q, sw2, depth, v_w))

    if np.isfinite(state.q_star):
        mean, variance = moments([float(state.q_star)])
        return float(mean[0]), float(variance[0])
    # No single q*: where E[φ′²] and E[φ′⁴] do not depend on q (ReLU at its critical point (2, 0), where every q is
    # fixed; Pennington, Schoenholz & Ganguli 2017) the moments are the same at every q, and are returned.
    mean, variance = moments(_Q_PROBES)
    if np.all(np.isfinite(mean)) and np.all(np.isfinite(variance)) and np.ptp(mean) <= 1e-12 * np.abs(mean).max() and np.ptp(variance) <= 1e-12 * max(np.abs(variance).max(), 1e-300):
        return float(mean[0]), float(variance[0])
    raise UsageError(f"no fixed point q* at σ_w² = {sw2:g}, σ_b² = {sb2:g}, and the spectrum's moments depend on q: the spectrum is taken at q*")


# ---------------------------------------------------------------------------
# Plots


def plot_phase_diagram(state: MeanFieldState, theory: MeanField, path, critical_line=None):
    """χ₁ and ξ_c over the (σ_w², σ_b²) grid, with the critical line; written to ``path``.

    χ₁'s colours diverge at 1; ξ_c's scale is logarithmic and clipped at its 99th percentile (ξ_c → ∞ on the
    critical line, and one pixel there would otherwise set the scale).  Every line and hatch is in the legend."""
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from dyncheck.numerics.figures import colorbar, figure, robust_norm

    extent = [state.sigma_w2.min(), state.sigma_w2.max(), state.sigma_b2.min(), state.sigma_b2.max()]
    with figure(path, figsize=(11, 4.4)) as fig:
        axes = fig.subplots(1, 2)
        chi = np.ma.masked_invalid(state.chi_1.T)
        low, high = max(chi.min(), 1e-3), max(chi.max(), 1 + 1e-3)
        image = axes[0].imshow(chi, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r", norm=TwoSlopeNorm(1.0, low, high))
        bar = colorbar(fig, image, axes[0], r"$\chi_1$")
        bar.ax.set_yscale("linear")  # TwoSlopeNorm's two halves: ticks on both sides of 1, however short the upper one
        upper = np.linspace(1, high, 4) if high - 1 > 0.1 * (1 - low) else [1.0]  # no crowded ticks above 1 when nothing is chaotic
        bar.set_ticks(np.unique(np.round(np.concatenate([np.linspace(low, 1, 5), upper]), 3)))
        xi = np.where(np.isposinf(state.xi_c), np.finfo(float).max, state.xi_c).T  # ξ_c = ∞ (χ_c = 1): the top colour
        norm, clipped = robust_norm(xi, log=True)
        image = axes[1].imshow(np.ma.masked_invalid(xi), origin="lower", extent=extent, aspect="auto", cmap="viridis", norm=norm)
        colorbar(fig, image, axes[1], r"$\xi_c$ (layers)", clipped)
        none = state.phase == NO_FIXED_POINT
        legend = [Line2D([], [], color="k", lw=1.2, label=r"$\chi_1 = 1$ on the grid")]
        if critical_line is not None and len(critical_line[0]):
            legend.append(Line2D([], [], color="w", ls="--", lw=1.2, label="critical line, parametric in q*"))
        if none.any():
            legend.append(Patch(facecolor="0.6", hatch="//", label=f"no fixed point q* ≤ {Q_MAX:g}"))
        for ax, title in zip(axes, (r"$\chi_1$: ordered < 1 < chaotic", r"correlation depth scale $\xi_c$")):
            ax.contour(state.sigma_w2[:, 0], state.sigma_b2[0], state.chi_1.T, levels=[1.0], colors="k", linewidths=1.2)
            if critical_line is not None:
                ax.plot(*critical_line, "w--", linewidth=1.2)
            if none.any():
                ax.contourf(state.sigma_w2[:, 0], state.sigma_b2[0], none.T.astype(float), levels=[0.5, 1.5], colors="0.6", hatches=["//"])
            ax.set(xlabel=r"$\sigma_w^2$", ylabel=r"$\sigma_b^2$", title=title)
            ax.grid(False)
        axes[0].legend(handles=legend, loc="upper left", facecolor="0.75")
        fig.suptitle(f"mean-field phase diagram of {theory.name}")


def plot_trajectories(theory: MeanField, sw2: float, sb2: float, sim: NetworkSimulation, q0: float, c0: float, path):
    """q_l and c_l from the maps (lines, drawn on top) and from the simulated networks (points ± s.e.); the
    gradient variance q̃_l/q̃_L against the maps' ∏_{k=l}^{L−1} χ₁(q_k) — the layers' own slopes, which fit the
    first layers too, before q_l reaches q* — and against χ₁(q*)^{L−l}, the law at the fixed point."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    q_theory, c_theory = iterate_maps(theory, sw2, sb2, q0, c0, sim.depth)
    layers = np.arange(sim.depth + 1)
    with figure(path, figsize=(13, 3.9)) as fig:
        axes = fig.subplots(1, 3)
        for ax, theory_values, measured, label in ((axes[0], q_theory, sim.q, "$q_l$"), (axes[1], c_theory, sim.c, "$c_l$")):
            mean, error = sim.mean_and_error(measured)
            ax.errorbar(layers, mean, yerr=error, fmt="o", ms=3, zorder=DATA, label=f"N = {sim.width}, {measured.shape[0]} seeds")
            ax.plot(layers, theory_values, "k-", lw=1.2, zorder=THEORY, label="mean-field map")
            ax.set(xlabel="layer $l$", ylabel=label)
            ax.legend()
        mean, error = sim.mean_and_error(sim.gradient)
        axes[2].errorbar(layers, mean / mean[-1], yerr=error / mean[-1], fmt="o", ms=3, zorder=DATA, label="simulation")
        chi = np.broadcast_to(np.ravel(functions_for(theory).formula("chi_1")(np.asarray(q_theory, float), sw2)), layers.shape)
        along = np.append(np.cumprod(chi[: sim.depth][::-1])[::-1], 1.0)  # ∏_{k=l}^{L−1} χ₁(q_k), 1 at l = L
        axes[2].plot(layers, along, "k-", lw=1.2, zorder=THEORY, label=r"$\prod_{k=l}^{L-1} \chi_1(q_k)$ along the map")
        axes[2].plot(layers, chi[-1] ** (sim.depth - layers), color="0.5", ls="--", lw=1, zorder=THEORY, label=r"$\chi_1(q^*)^{L-l}$")
        axes[2].set(yscale="log", xlabel="layer $l$", ylabel=r"gradient variance $\tilde q_l / \tilde q_L$")
        axes[2].legend()
        fig.suptitle(rf"{theory.name}: $\sigma_w^2$ = {sw2:g}, $\sigma_b^2$ = {sb2:g}, $q_0$ = {q0:g} ({sim.weights} weights, {sim.backend} on {sim.device})")


def plot_jacobian_spectra(spectra: dict[str, np.ndarray], predicted: dict[str, tuple[float, float]], title: str, path):
    """Histograms of the squared singular values of the Jacobian, one per weight ensemble,
    with the measured and the predicted (:func:`jacobian_spectrum_moments`) mean and variance."""
    from dyncheck.numerics.figures import figure

    with figure(path, figsize=(8, 5)) as fig:
        ax = fig.subplots()
        for label, values in spectra.items():
            mean, variance = predicted[label]
            # an SVD of an n × n matrix in double precision resolves singular values down to ~n·u·σ_max, so squared ones
            # down to (n·u)²σ²_max; below that (dead ReLU units make exact zeros) they are rounding: counted, not drawn
            resolved = values > (values.size * np.finfo(float).eps) ** 2 * values.max()
            hidden = int(values.size - resolved.sum())
            ax.hist(
                np.log10(values[resolved]),
                bins=60,
                histtype="step",
                lw=1.4,
                density=True,
                label=f"{label}: mean {values.mean():.3g} (theory {mean:.3g}), var {values.var():.3g} (theory {variance:.3g})"
                + (f"; {hidden} below double precision's floor not drawn" if hidden else ""),
            )
        ax.set(xlabel=r"$\log_{10}\sigma^2$ (squared singular values of $J$)", ylabel="density", title=title)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), title="one network's measured moments against the infinite-width theory")


# ---------------------------------------------------------------------------
# The critical line


def _line_functions(theory: MeanField):
    """σ_w²(q) and σ_b²(q) along the critical line (theory's ``critical_sigma_w2``, ``critical_sigma_b2``)."""
    functions = functions_for(theory)
    sw2, sb2 = functions.formula("critical_sigma_w2"), functions.formula("critical_sigma_b2")
    return (lambda q: np.broadcast_to(np.asarray(sw2(q), float), np.shape(q))), (lambda q: np.asarray(sb2(q), float))


def critical_curve(theory: MeanField, points: int = 200, sb2_max: float = 1.0):
    """The critical line as arrays (σ_w², σ_b², q) for q from Q_MIN up to σ_b² = ``sb2_max``.

    See :class:`theory.meanfield.CriticalLine`; points with σ_b² < 0 are dropped.
    """
    line = theory.critical_line()
    if line.is_point:
        return np.array([float(line.sigma_w2)]), np.array([0.0]), np.array([np.nan])
    sw2, sb2 = _line_functions(theory)
    q = np.geomspace(Q_MIN, Q_MAX, 4 * points)
    b = sb2(q)
    keep = (b >= 0) & (b <= sb2_max)
    if not keep.any():
        raise UsageError(f"the critical line of {theory.name} has no point with 0 ≤ σ_b² ≤ {sb2_max:g}")
    q = np.geomspace(q[keep].min(), q[keep].max(), points)
    b = sb2(q)
    keep = b >= 0
    return sw2(q)[keep], b[keep], q[keep]


def critical_sigma_w2(theory: MeanField, sb2: float) -> tuple[float, float]:
    """(σ_w², q*) on the critical line at bias variance ``sb2`` (root of σ_b²(q) = sb2 in log q)."""
    _check_parameters(1.0, sb2)
    line = theory.critical_line()
    if line.is_point:
        if sb2 != 0:
            raise UsageError(f"the critical line of {theory.name} is the single point σ_w² = {line.sigma_w2}, σ_b² = 0")
        return float(line.sigma_w2), math.nan
    sw2, sb2_of = _line_functions(theory)
    if sb2 == 0 and theory.phi.subs(X, 0) == 0:
        return 1 / functions_for(theory).phi_prime_squared_at_zero(), 0.0
    from scipy.optimize import brentq

    grid = np.geomspace(Q_MIN, Q_MAX, 400)
    values = sb2_of(grid) - sb2
    crossing = np.nonzero(np.sign(values[:-1]) != np.sign(values[1:]))[0]
    if crossing.size == 0:
        raise UsageError(f"no point of the critical line of {theory.name} has σ_b² = {sb2:g} (q* in [{Q_MIN:g}, {Q_MAX:g}])")
    i = crossing[0]
    q = brentq(lambda t: float(sb2_of(np.array([math.exp(t)]))[0]) - sb2, math.log(grid[i]), math.log(grid[i + 1]), xtol=1e-15)
    q = math.exp(q)
    return float(sw2(np.array([q]))[0]), q
