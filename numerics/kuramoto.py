r"""Simulation of Kuramoto populations (the model and conventions of :mod:`theory.kuramoto`).

θ̇_i = ω_i + K Im(e^{−iθ_i} h_i), where the local field h_i is the order
parameter z = (1/N) Σ_j e^{iθ_j} all to all — O(N) a step — and
h_i = (1/N_i) Σ_j A_ij e^{iθ_j} on a graph, one sparse product, O(E) a step,
with N_i = N (``population``) or N_i = deg(i) (``degree``).

* Integrators (:mod:`dyncheck.numerics.solvers`): fixed-step classical Runge–Kutta (``rk4``),
  Heun (``heun``) or Euler, on numpy or torch (CPU or CUDA, torch sparse CSR for graphs);
  adaptive Dormand–Prince (DOP853) for one system.
  A fixed step resolves the coupling, not the drift of fast oscillators:
  RK4 integrates the constant ω exactly, so a tail oscillator with ω h ≫ 1
  only sees its (small, averaging-out) coupling term aliased.
* Ensembles: the state is an N × B array, one column per system, so seeds and
  couplings run as one batch.  Frequencies are deterministic quantiles of g
  (ω_i = G⁻¹((i + ½)/N), no sampling noise) or random draws.
* Graphs: Erdős–Rényi and W-random graphs sampled in O(E) (geometric skips
  over the pairs, then thinning by W/max W), and the k-nearest-neighbour ring.
* Theory, numerically: the steady-state r∞(K) of the self-consistency for any
  density g given in SymPy (generated code, Gauss–Legendre, bisection), and
  the finite-N locking threshold K_L.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sps
import sympy as sp
from scipy.optimize import minimize_scalar
from scipy.sparse.csgraph import connected_components

from dyncheck.numerics.backend import ArrayBackend, child_seed
from dyncheck.numerics.codegen import generate
from dyncheck.numerics.sweep import sweep, task_seeds
from dyncheck.numerics.solvers import ADAPTIVE_ATOL, ADAPTIVE_RTOL, FIXED_STEP_METHODS, adaptive, fixed_step
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.theory.errors import UsageError
from dyncheck.theory.kuramoto import DENSITIES as DENSITY_EXPRESSIONS
from dyncheck.theory.kuramoto import FORMULAS, QUANTILES, WIDTHS, self_consistency
from dyncheck.theory.symbols import KR, LEVEL, MEAN_LOCKED_COSINE, OMEGA, K, R

__all__ = [
    "ContinuumTheory",
    "DENSITIES",
    "GRAPHON_GRID",
    "NYSTROM_SIZES",
    "Trajectory",
    "continuum_theory",
    "density_expression",
    "erdos_renyi",
    "frequencies",
    "graphon_steady_state",
    "graphon_top_eigenvalue",
    "locking_threshold",
    "plot_bifurcation",
    "plot_order_parameter",
    "quantile_function",
    "ring_lattice",
    "simulate",
    "simulate_adaptive",
    "simulate_populations",
    "sparse_exponent_scale",
    "steady_state_order",
    "top_eigenvalue",
    "uniform_steady_state",
    "w_random_graph",
    "wrapped_cauchy_phases",
]

#: The frequency densities by name (:data:`dyncheck.theory.kuramoto.DENSITIES`).
DENSITIES = tuple(DENSITY_EXPRESSIONS)


def _check_density(name: str, scale: float) -> None:
    if name not in DENSITIES:
        raise UsageError(f"unknown frequency density {name!r}; choose {', '.join(DENSITIES)}")
    if not scale > 0:
        raise UsageError("the width of the frequency density must be positive")


@functools.cache
def quantile_function(name: str) -> Callable[[np.ndarray, float], np.ndarray]:
    """G⁻¹(p, width) of density ``name``: :data:`dyncheck.theory.kuramoto.QUANTILES` compiled."""
    return generate(QUANTILES[name], (LEVEL, WIDTHS[name]))


def density_expression(name: str, scale: float) -> sp.Expr:
    """g(ω) of ``name`` (see :data:`DENSITIES`) as a SymPy expression in :data:`dyncheck.theory.symbols.OMEGA`."""
    _check_density(name, scale)
    return DENSITY_EXPRESSIONS[name](sp.Float(scale))


def frequencies(name: str, n: int, scale: float, *, systems: int = 1, quantiles: bool = True, seed: int = 0) -> np.ndarray:
    """N × B natural frequencies from density ``name`` of width ``scale``.

    ``quantiles``: ω_i = G⁻¹((i + ½)/N) in every column, then shuffled per
    column (the order matters on a graph, not all to all); otherwise i.i.d. draws.
    """
    _check_density(name, scale)
    if n < 2:
        raise UsageError("a population needs at least 2 oscillators")
    return quantile_function(name)(_levels(n, systems, quantiles, seed), scale)


def _levels(n: int, systems: int, quantiles: bool, seed: int) -> np.ndarray:
    """N × B levels in (0, 1) for inverse CDFs: (i + ½)/N shuffled in each column, or uniform draws."""
    rng = np.random.default_rng(seed)
    if quantiles:
        return rng.permuted(np.broadcast_to(((np.arange(n) + 0.5) / n)[:, None], (n, systems)), axis=0)
    return rng.uniform(size=(n, systems))


def wrapped_cauchy_phases(n: int, order: float, *, systems: int = 1, quantiles: bool = True, seed: int = 0) -> np.ndarray:
    """N × B phases on the Ott–Antonsen manifold with z = ``order``: wrapped-Cauchy quantiles (shuffled) or draws.

    The wrapped Cauchy density (1 − ρ²)/(2π(1 + ρ² − 2ρ cos θ)) is the Poisson
    kernel 1/2π [1 + 2 Σ ρⁿ cos nθ], i.e. the OA ansatz with a = ρ for every ω.
    """
    if not 0 <= order < 1:
        raise UsageError("the initial order parameter must lie in [0, 1)")
    levels = _levels(n, systems, quantiles, seed)
    return 2 * np.arctan((1 + order) / (1 - order) * np.tan(np.pi * (levels - 0.5)))  # the inverse CDF


# ----------------------------------------------------------------------------------------- graphs


def _symmetric(rows: np.ndarray, cols: np.ndarray, n: int) -> sps.csr_matrix:
    data = np.ones(2 * rows.size)
    matrix = sps.coo_matrix((data, (np.concatenate([rows, cols]), np.concatenate([cols, rows]))), shape=(n, n))
    return matrix.tocsr()


def _pairs_with_probability(n: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each pair i < j independently with probability p, in O(p n²): geometric gaps over the n² ordered pairs."""
    if p <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    total = n * n
    expected = p * total
    found = []
    position = -1
    while position < total:
        gaps = rng.geometric(p, size=int(expected + 5 * math.sqrt(expected) + 16))
        steps = position + np.cumsum(gaps)
        found.append(steps[steps < total])
        position = int(steps[-1])
    index = np.concatenate(found)
    rows, cols = np.divmod(index, n)
    keep = rows < cols
    return rows[keep], cols[keep]


def erdos_renyi(n: int, p: float, *, seed: int = 0) -> sps.csr_matrix:
    """Adjacency of G(n, p): each of the n(n − 1)/2 edges independently, sampled in O(E)."""
    if n < 2:
        raise UsageError("a population needs at least 2 oscillators")
    if not 0 < p <= 1:
        raise UsageError("the edge probability p must lie in (0, 1]")
    return _symmetric(*_pairs_with_probability(n, p, np.random.default_rng(seed)), n)


def w_random_graph(graphon: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int, *, bound: float = 1.0, edge_scale: float = 1.0, seed: int = 0) -> sps.csr_matrix:
    """A W-random graph: i ~ j with probability p W(x_i, x_j), x_i = (i + ½)/n, p = ``edge_scale`` (Lovász & Szegedy
    2006; sparse W-random graphs with p = p_n → 0, Bollobás, Janson & Riordan 2007).  Entries are 0 or 1: dividing by
    p gives the rescaled adjacency whose operator tends to W's when n p_n → ∞.

    Candidates are drawn from G(n, p · ``bound``) and kept with probability
    W/bound, so the cost is O(p · bound · n²), O(E) when ``bound`` = max W.
    """
    if n < 2:
        raise UsageError("a population needs at least 2 oscillators")
    if not 0 < edge_scale <= 1:
        raise UsageError("the edge probability's scale p_n must lie in (0, 1]")
    rng = np.random.default_rng(seed)
    rows, cols = _pairs_with_probability(n, edge_scale * bound, rng)
    x = (np.arange(n) + 0.5) / n
    weight = np.asarray(graphon(x[rows], x[cols]), float)
    if np.any(weight < 0) or np.any(weight > bound * (1 + 1e-12)):
        raise UsageError(f"the graphon must take values in [0, bound = {bound:g}]")
    keep = rng.uniform(size=rows.size) * bound < weight
    return _symmetric(rows[keep], cols[keep], n)


def sparse_exponent_scale(n: int, exponent: float) -> float:
    """The edge-probability scale p_n = n^{−α} of sparse W-random graphs, α = ``exponent`` ∈ [0, 1]: mean degree
    ∝ n^{1−α} → ∞ for α < 1 (the regime of the sparse Vlasov limit), bounded at α = 1."""
    if not 0 <= exponent <= 1:
        raise UsageError("the sparsity exponent α (p_n = n^−α) must lie in [0, 1]")
    return float(n) ** -exponent


def ring_lattice(n: int, neighbours: int) -> sps.csr_matrix:
    """Adjacency of the ring of n nodes, each joined to its ``neighbours`` nearest on either side."""
    if not 1 <= neighbours < n / 2:
        raise UsageError("the ring needs 1 ≤ k < n/2 neighbours on either side")
    rows = np.repeat(np.arange(n), neighbours)
    cols = (rows + np.tile(np.arange(1, neighbours + 1), n)) % n
    return _symmetric(rows, cols, n)


def top_eigenvalue(adjacency: sps.spmatrix) -> float:
    """Largest eigenvalue of a symmetric adjacency (Lanczos)."""
    from scipy.sparse.linalg import eigsh

    return float(eigsh(adjacency.astype(float), k=1, which="LA", return_eigenvectors=False)[0])


#: Nyström grids of :func:`graphon_top_eigenvalue`: the midpoints of n equal cells, n = 256 … 2048.
NYSTROM_SIZES = (256, 512, 1024, 2048)


def graphon_top_eigenvalue(graphon: Callable[[np.ndarray, np.ndarray], np.ndarray], sizes: tuple[int, ...] = NYSTROM_SIZES) -> tuple[float, dict[int, float]]:
    """μ_max of (Wf)(x) = ∫₀¹ W(x, y) f(y) dy by the Nyström method: the largest eigenvalue of W(x_i, x_j)/n at the
    midpoints x_i = (i + ½)/n, for each n of ``sizes`` (its error is O(n⁻²) for a smooth W, O(n⁻¹) at a kink);
    returns (the finest value, every value by n).  W must be finite with values in [0, 1] on the grids."""
    values = {}
    for n in sizes:
        x = (np.arange(n) + 0.5) / n
        with np.errstate(all="ignore"):
            matrix = np.broadcast_to(np.asarray(graphon(x[:, None], x[None, :]), float), (n, n))
        if not np.isfinite(matrix).all() or matrix.min() < 0 or matrix.max() > 1:
            raise UsageError("a graphon's values are probabilities: W(x, y) must lie in [0, 1] on [0, 1]²")
        values[n] = float(np.linalg.eigvalsh(matrix / n)[-1])
    return values[sizes[-1]], values


@functools.lru_cache(maxsize=32)
def _locked_order(g: sp.Expr):
    """(s, derivative) ↦ I(s) = ∫_{−π/2}^{π/2} cos²θ g(s sin θ) dθ — the self-consistency's right side
    (:func:`dyncheck.theory.kuramoto.self_consistency`) over K r at K r = s — and, with ``derivative``, I′(s)
    under the integral sign, one value per field strength s ≥ 0.  One adaptive Gauss–Kronrod integration
    (:func:`scipy.integrate.quad_vec`, to 1e-14 relative) serves every s at once: a symmetric g makes the integrands
    even in θ, so they are twice those over [0, π/2], whose peak at θ = 0 (strong fields squeeze g(s sin θ) into a
    width ~ scale/s there) is an end point that quad_vec refines.  Φ(s) = s I(s) is the order a population
    contributes in a local field of strength s."""
    from scipy.integrate import quad_vec

    strength = sp.Symbol("s", nonnegative=True)
    (integral,) = self_consistency(g).atoms(sp.Integral)
    ((theta, lower, upper),) = integral.limits
    kernel = integral.function.subs(K * R, strength)
    if kernel.has(K, R):
        raise ValueError(f"the self-consistency integrand depends on K and r other than through K r: {kernel}")
    if sp.simplify(kernel - kernel.subs(theta, -theta)) != 0 or lower != -upper:
        raise ValueError("the self-consistency integrand must be even over a symmetric range (g symmetric)")
    value_only = generate(kernel, (theta, strength))
    with_slope = generate(sp.Tuple(kernel, sp.diff(kernel, strength)), (theta, strength))

    def order(s: np.ndarray, derivative: bool = False):
        s = np.asarray(s, float)
        if derivative:
            def integrand(t):
                value, slope = with_slope(t, s)
                return np.concatenate([np.broadcast_to(value, s.shape).ravel(), np.broadcast_to(slope, s.shape).ravel()])
        else:
            def integrand(t):
                return np.broadcast_to(value_only(t, s), s.shape).ravel()
        total, _ = quad_vec(integrand, 0.0, float(upper), epsabs=1e-300, epsrel=1e-14, norm="max")
        total = 2 * total
        return (total[: s.size].reshape(s.shape), total[s.size :].reshape(s.shape)) if derivative else total.reshape(s.shape)

    return order


#: Midpoint grids of :func:`graphon_steady_state` (its error is O(n⁻²) for a smooth W).
GRAPHON_GRID = 1024


def graphon_steady_state(graphon: Callable[[np.ndarray, np.ndarray], np.ndarray], g: sp.Expr, couplings, *, size: int = GRAPHON_GRID) -> np.ndarray:
    r"""r∞(K) of a population on a graphon W, population normalisation: r = ∫₀¹ r(x) dx, where the local orders solve

    .. math::  r(x) = Φ\Big(K \int_0^1 W(x, y)\, r(y)\, dy\Big), \qquad Φ(s) = s\int_{−π/2}^{π/2} \cos^2θ\, g(s \sin θ)\, dθ,

    the stationary, partially locked solutions of the graphon's Vlasov equation (Chiba & Medvedev 2019) with every
    local order parameter at the same phase (W ≥ 0), locked oscillators at sin θ = ω/(K|h(x)|) and the drifting ones
    contributing nothing (g symmetric).  Nyström on the ``size`` midpoints x_i = (i + ½)/n; Newton's method from
    r ≡ 1 at the largest K, then from each solution at the next smaller K (which lies below it): for a concave Φ
    (g unimodal) and W ≥ 0 it descends monotonically onto the largest solution.  Below
    K_c = 2/(π g(0) μ_max), Φ(s) ≤ Φ′(0)s forces r = 0 (pair r with W's Perron eigenfunction), so 0 is returned.
    ``g``: a symmetric, unimodal SymPy density in ω (smooth: the uniform density's kink is not integrated here)."""
    couplings = np.atleast_1d(np.asarray(couplings, float))
    x = (np.arange(size) + 0.5) / size
    with np.errstate(all="ignore"):
        operator = np.broadcast_to(np.asarray(graphon(x[:, None], x[None, :]), float), (size, size)) / size
    if not np.isfinite(operator).all() or operator.min() < 0:
        raise UsageError("a graphon's values are probabilities: W(x, y) must lie in [0, 1] on [0, 1]²")
    locked = _locked_order(g)

    def response(s):  # Φ(s) = s I(s) and Φ′(s) = I(s) + s I′(s)
        value, slope = locked(s, derivative=True)
        return s * value, value + s * slope

    top = float(np.linalg.eigvalsh(operator)[-1])
    onset_slope = locked(np.zeros(1))  # Φ′(0) = I(0) = π g(0)/2
    out = np.zeros_like(couplings)
    r = np.ones(size)
    for index in np.argsort(-couplings):  # the solution at a larger K lies above: each Newton starts from the last
        k = couplings[index]
        if k * onset_slope[0] * top <= 1:
            break
        for _ in range(100):
            field = k * operator @ r
            value, slope = response(field)
            residual = r - value
            if np.max(np.abs(residual)) <= 1e-14:
                break
            r = r - np.linalg.solve(np.eye(size) - slope[:, None] * k * operator, residual)
        else:
            raise RuntimeError(f"Newton's method for the graphon's steady state did not converge at K = {k:g}")
        out[index] = r.mean()
    return out


# ------------------------------------------------------------------------------------- simulation


@dataclass
class Trajectory:
    """r(t) of B systems (B × len(times)), their final phases (N × B) and how they were run."""

    times: np.ndarray
    r: np.ndarray
    theta: np.ndarray
    backend: str
    device: str

    def stationary(self, after: float) -> tuple[np.ndarray, np.ndarray]:
        """Time average of r over t ≥ ``after`` per system, and the spread of r(t) there (its standard deviation)."""
        window = self.r[:, self.times >= after]
        if window.shape[1] == 0:
            raise UsageError("no recorded time lies in the averaging window")
        return window.mean(axis=1), window.std(axis=1)


class _Field:
    """The local field h = (h_cos, h_sin) for phases given by their cosines and sines (N × B)."""

    def __init__(self, xp: ArrayBackend, n: int, graph, normalisation: str):
        self.xp = xp
        if normalisation not in ("population", "degree"):
            raise UsageError("the normalisation is 'population' (K/N) or 'degree' (K/deg i)")
        self.matrix, self.scale = None, 1.0
        if graph is None:
            if normalisation == "degree":
                self.scale = n / (n - 1)  # all to all, deg = N − 1, and the self term sin 0 vanishes from Σ_j
            return
        graph = sps.csr_matrix(graph, dtype=float)
        if graph.shape != (n, n):
            raise UsageError(f"the adjacency is {graph.shape[0]}×{graph.shape[1]} but there are {n} oscillators")
        if normalisation == "degree":
            components, _ = connected_components(graph, directed=False)
            if components > 1:
                raise UsageError(f"degree normalisation needs a connected graph; this one has {components} components")
            scale = 1.0 / np.asarray(graph.sum(axis=1)).ravel()
        else:
            scale = np.full(n, 1.0 / n)
        graph = sps.diags(scale) @ graph
        if xp.name == "numpy":
            self.matrix = sps.csr_matrix(graph)
        else:
            torch = xp.torch
            graph = sps.csr_matrix(graph)
            with warnings.catch_warnings():  # "sparse CSR support is in beta": it is the fast path on CPU and CUDA
                warnings.simplefilter("ignore", UserWarning)
                self.matrix = torch.sparse_csr_tensor(
                    torch.as_tensor(graph.indptr, dtype=torch.int64),
                    torch.as_tensor(graph.indices, dtype=torch.int64),
                    torch.as_tensor(graph.data, dtype=torch.float64),
                    size=graph.shape,
                    device=xp.device,
                    check_invariants=False,  # built from a valid scipy CSR
                )

    def __call__(self, cos, sin):
        if self.matrix is None:
            return self.scale * cos.mean(0)[None, :], self.scale * sin.mean(0)[None, :]
        b = cos.shape[1]
        both = self.matrix @ (np.hstack([cos, sin]) if self.xp.name == "numpy" else self.xp.torch.cat([cos, sin], 1))
        return both[:, :b], both[:, b:]

    def velocity(self, omega, coupling, cos, sin):
        """θ̇ = ω + K Im(e^{−iθ} h) = ω + K (h_sin cos θ − h_cos sin θ)."""
        h_cos, h_sin = self(cos, sin)
        return omega + coupling * (h_sin * cos - h_cos * sin)


def _order(cos, sin):
    return (cos.mean(0) ** 2 + sin.mean(0) ** 2) ** 0.5


def _systems(omega, coupling, theta0, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies (N × B), one checked coupling per system, and initial phases (uniform per ``seed`` unless given)."""
    omega = np.asarray(omega, float)
    omega = omega[:, None] if omega.ndim == 1 else omega
    n, systems = omega.shape
    if n < 2:
        raise UsageError("a population needs at least 2 oscillators")
    couplings = np.broadcast_to(np.asarray(coupling, float), (systems,)) if np.ndim(coupling) else np.full(systems, float(coupling))
    if couplings.shape != (systems,):
        raise UsageError(f"give one coupling or one per system ({systems})")
    if np.any(couplings < 0) or not np.all(np.isfinite(couplings)):
        raise UsageError("the coupling K must be finite and non-negative")
    if theta0 is None:
        theta0 = np.random.default_rng(seed).uniform(0, 2 * np.pi, (n, systems))
    return omega, couplings, np.asarray(theta0, float).reshape(n, -1) * np.ones((1, systems))


def simulate(
    omega: np.ndarray,
    coupling: float | np.ndarray,
    t_end: float,
    step: float,
    *,
    graph: sps.spmatrix | None = None,
    normalisation: str = "population",
    method: str = "rk4",
    theta0: np.ndarray | None = None,
    seed: int = 0,
    backend: str = "numpy",
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> Trajectory:
    """Integrate B systems θ̇ = ω + K_b Im(e^{−iθ} h) from t = 0 to ``t_end`` with a fixed ``step``.

    ``omega``: N × B frequencies (or N, one system); ``coupling``: K, one per
    system or shared; phases start uniform at random (per ``seed``) unless
    ``theta0`` is given.  ``progress(done, total)`` is called about 100 times.
    """
    omega, couplings, theta0 = _systems(omega, coupling, theta0, seed)
    n, systems = omega.shape
    if not (step > 0 and t_end > 0):
        raise UsageError("the step and the final time must be positive")
    if method not in FIXED_STEP_METHODS:
        raise UsageError(f"the fixed-step method is one of {', '.join(FIXED_STEP_METHODS)}")

    xp = ArrayBackend(backend, device, seed)
    field = _Field(xp, n, graph, normalisation)
    if xp.name == "numpy":
        lift, cos_, sin_ = (lambda a: np.ascontiguousarray(a)), np.cos, np.sin
    else:
        torch = xp.torch
        lift = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64, device=device)
        cos_, sin_ = torch.cos, torch.sin
    omega_, k_, theta = lift(omega), lift(couplings[None, :]), lift(theta0)

    def velocity(phases):
        c, s = cos_(phases), sin_(phases)
        return field.velocity(omega_, k_, c, s), (c, s)

    steps = round(t_end / step)
    r = np.empty((systems, steps + 1))

    def record(k, phases, trig):
        c, s = trig if trig is not None else (cos_(phases), sin_(phases))
        r[:, k] = xp.numpy(_order(c, s))

    theta = fixed_step(velocity, theta, step, steps, method=method, observe=record, progress=progress)
    return Trajectory(np.linspace(0.0, steps * step, steps + 1), r, xp.numpy(theta), xp.name, device)


def simulate_adaptive(
    omega: np.ndarray,
    coupling: float | np.ndarray,
    t_end: float,
    *,
    graph: sps.spmatrix | None = None,
    normalisation: str = "population",
    theta0: np.ndarray | None = None,
    seed: int = 0,
    samples: int = 1001,
    rtol: float = ADAPTIVE_RTOL,
    atol: float = ADAPTIVE_ATOL,
) -> Trajectory:
    """Systems integrated one by one by adaptive Dormand–Prince (DOP853) to ``rtol``/``atol``.

    Arguments as :func:`simulate`; r is kept at ``samples`` equally spaced
    times, and ``theta`` holds the phases of the first system at those times (N × samples).
    """
    omega, couplings, theta0 = _systems(omega, coupling, theta0, seed)
    n, systems = omega.shape
    field = _Field(ArrayBackend("numpy", "cpu", seed), n, graph, normalisation)
    times = np.linspace(0.0, t_end, samples)
    r, first = np.empty((systems, samples)), None
    for b in range(systems):

        def velocity(_t, phases, b=b):
            return field.velocity(omega[:, b : b + 1], couplings[b], np.cos(phases)[:, None], np.sin(phases)[:, None])[:, 0]

        solution = adaptive(velocity, (0.0, t_end), theta0[:, b], t_eval=times, rtol=rtol, atol=atol)
        r[b] = np.abs(np.exp(1j * solution.y).mean(axis=0))
        first = solution.y if first is None else first
    return Trajectory(times, r, first, "numpy", "cpu")


def simulate_populations(
    density: str,
    n: int,
    scale: float,
    couplings,
    replicates: int,
    t_end: float,
    step: float,
    *,
    graph: sps.spmatrix | None = None,
    normalisation: str = "population",
    method: str = "rk4",
    quantiles: bool = True,
    seed: int = 0,
    backend: str = "numpy",
    device: str = "cpu",
    jobs: int | None = 1,
    scheduler=None,
    store=None,
    progress: Callable[[int, int], None] | bool = False,
) -> Trajectory:
    """``replicates`` populations of ``n`` oscillators at each of ``couplings``: r(t) of every system, coupling-major.

    System (i, r) — coupling i, replicate r — draws its frequencies (:func:`frequencies` of
    ``density``, width ``scale``) and its uniform initial phases from child i·R + r of
    ``SeedSequence(seed)`` alone, so it is the same system in any batch.  ``method`` is a
    fixed-step method of :func:`simulate` or ``dop853`` (:func:`simulate_adaptive`, r at the
    steps' times).  With ``jobs`` 1 or None and no ``scheduler`` or ``store`` all systems run here
    as one batch (``progress(done, total)`` over the steps); otherwise each system is a task of
    :func:`dyncheck.numerics.sweep.sweep` (local processes, Dask, a store to resume from), with the
    same results bit for bit whichever executor runs them, and the batch's to rounding.  ``theta``
    of the result is empty: the systems' phases stay where they ran.
    """
    _check_density(density, scale)
    couplings = np.asarray(couplings, float).ravel()
    if method != "dop853" and method not in FIXED_STEP_METHODS:
        raise UsageError(f"the method is dop853 or one of {', '.join(FIXED_STEP_METHODS)}")
    if method == "dop853" and backend != "numpy":
        raise UsageError("the adaptive integrator (dop853) runs on numpy")
    if not (step > 0 and t_end > 0):
        raise UsageError("the step and the final time must be positive")
    task = functools.partial(
        _populations, density=density, n=n, scale=scale, t_end=t_end, step=step, graph=graph, normalisation=normalisation,
        method=method, quantiles=quantiles, backend=backend, device=device,
    )
    grid = [{"coupling": float(k)} for k in couplings]
    if (jobs or 1) == 1 and scheduler is None and store is None:
        every = {"coupling": np.repeat(couplings, replicates)}
        r = task(every, task_seeds(seed, len(grid), replicates), progress=progress or None)["r"]
    else:
        result = sweep(task, grid, replicates, seed=seed, jobs=jobs, scheduler=scheduler, store=store, progress=progress, description="simulate kuramoto")
        r = result.values["r"].reshape(len(grid) * replicates, -1)
    steps = round(t_end / step)
    return Trajectory(np.linspace(0.0, t_end if method == "dop853" else steps * step, steps + 1), r, np.empty((n, 0)), backend, device)


def _populations(point, system_seeds, *, density, n, scale, t_end, step, graph, normalisation, method, quantiles, backend, device, progress=None) -> dict:
    """r(t) of the systems of ``system_seeds`` (one seed: a sweep's task) at ``point["coupling"]``."""
    if isinstance(system_seeds, np.random.SeedSequence):
        system_seeds = [system_seeds]
    omega = np.column_stack([frequencies(density, n, scale, quantiles=quantiles, seed=child_seed(s, 0))[:, 0] for s in system_seeds])
    theta0 = np.column_stack([np.random.default_rng(child_seed(s, 1)).uniform(0, 2 * np.pi, n) for s in system_seeds])
    coupling = np.broadcast_to(np.asarray(point["coupling"], float), (len(system_seeds),))
    options = dict(graph=graph, normalisation=normalisation, theta0=theta0)
    if method == "dop853":
        trajectory = simulate_adaptive(omega, coupling, t_end, samples=round(t_end / step) + 1, **options)
    else:
        trajectory = simulate(omega, coupling, t_end, step, method=method, backend=backend, device=device, progress=progress, **options)
    return {"r": trajectory.r}


# ----------------------------------------------------------------------------- theory, numerically


#: K·I(0) within this of 1 is K = K_c to rounding (the table's ``kuramoto_critical_slope``).
CRITICAL_SLOPE_ROUNDING = tolerance("kuramoto_critical_slope")


def steady_state_order(g: sp.Expr, couplings: np.ndarray, *, iterations: int = 56) -> np.ndarray:
    """r∞(K): the largest root of 1 = K ∫_{−π/2}^{π/2} cos²θ g(K r sin θ) dθ in (0, 1], 0 below K_c.

    ``g`` is a SymPy density in ω (smooth and unimodal: the right side falls in
    r, so bisection brackets the root); the integral is :func:`_locked_order`'s
    I(K r), one adaptive integration for every K of a bisection step.
    Near K_c the root is ill-conditioned, r ∝ √(K − K_c): an error ε in the
    integral moves r by ~ ε/r.
    """
    locked = _locked_order(g)
    couplings = np.atleast_1d(np.asarray(couplings, float))

    def slope(k, r):  # the self-consistency over r: K I(K r)
        return k * locked(k * r)

    lo, hi = np.zeros_like(couplings), np.ones_like(couplings)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        above = slope(couplings, mid) > 1
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    # at K_c to rounding (the table's kuramoto_critical_slope) r∞ is 0, not the ~1e-8 that rounding alone puts there
    return np.where(slope(couplings, np.zeros_like(couplings)) > 1 + CRITICAL_SLOPE_ROUNDING, (lo + hi) / 2, 0.0)


def uniform_steady_state(couplings: np.ndarray, half_width: float) -> np.ndarray:
    """r∞(K) for the uniform g on [−Δ, Δ]: 0 below K_c = 4Δ/π, else the fully locked branch of
    :func:`theory.kuramoto.uniform_locked_branch` (K(θ₀) falls monotonically on (0, π/2]: one root)."""
    from scipy.optimize import brentq

    from dyncheck.theory.kuramoto import uniform_locked_branch
    from dyncheck.theory.symbols import DELTA

    coupling, order, theta0 = uniform_locked_branch()
    k_of = sp.lambdify(theta0, coupling.subs(DELTA, half_width))
    r_of = sp.lambdify(theta0, order)
    out = []
    for k in np.atleast_1d(np.asarray(couplings, float)):
        if k < k_of(np.pi / 2):
            out.append(0.0)
        else:
            out.append(float(r_of(brentq(lambda t, k=k: k_of(t) - k, 1e-9, np.pi / 2, xtol=1e-15))))
    return np.array(out)


@functools.cache
def _locking_functions():
    """theory's locked cosine √(1 − (ω/u)²) and coupling u/S(u), compiled once."""
    return generate(FORMULAS["locked_cosine"], (OMEGA, KR)), generate(FORMULAS["locking_coupling"], (KR, MEAN_LOCKED_COSINE))


def locking_threshold(omega: np.ndarray) -> float:
    """K_L = min_{u ≥ max|ω_i|} u/S(u), S(u) = mean √(1 − (ω_i/u)²), for the centred frequencies (:func:`theory.kuramoto.locking_coupling`)."""
    omega = np.asarray(omega, float).ravel()
    omega = omega - omega.mean()
    top = np.abs(omega).max()

    locked_cosine, coupling_of = _locking_functions()

    def coupling(u):
        return coupling_of(u, locked_cosine(omega, u).mean())

    best = minimize_scalar(coupling, bounds=(top, 2 * top), method="bounded", options={"xatol": 1e-13 * top})
    return float(min(best.fun, coupling(top)))


@dataclass(frozen=True)
class ContinuumTheory:
    """The continuum theory of a population on a graph: its density g, K_c = 2/(π g(0) μ_max) and r∞(K).

    ``top_eigenvalue`` is μ_max of the graph's operator (1 for the complete graph and for the degree
    normalisation, p for Erdős–Rényi, 2ρ for the ring graphon of range ρ); ``r_inf`` maps couplings to
    r∞ of the complete graph at the effective coupling μ_max K (Chiba & Medvedev 2019) — right for these graphs,
    whose top eigenfunction is constant — or, given a ``graphon`` W(x, y) (vectorised), to
    :func:`graphon_steady_state` of W.
    """

    density_name: str
    density: sp.Expr
    scale: float
    critical_coupling: float
    top_eigenvalue: float
    graph: str
    graphon: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def r_inf(self, couplings) -> np.ndarray:
        if self.graphon is not None:
            if self.density_name == "uniform":
                raise UsageError("r∞ on a graphon is computed for smooth densities; the uniform density's is not")
            return graphon_steady_state(self.graphon, self.density, couplings)
        effective = self.top_eigenvalue * np.atleast_1d(np.asarray(couplings, float))
        if self.density_name == "uniform":
            return uniform_steady_state(effective, self.scale)
        return steady_state_order(self.density, effective)


def continuum_theory(
    density: str | sp.Expr, scale: float, graph: str = "complete", *, edge_probability: float | None = None, ring_range: float | None = None, normalisation: str = "population"
) -> ContinuumTheory:
    """:class:`ContinuumTheory` of the ``density`` of width ``scale`` on ``graph`` (complete, erdos-renyi, ring);
    ``density`` is a registered name, or an expression in ω checked by :func:`dyncheck.theory.kuramoto.checked_density`
    (its ``scale`` is then not used: NaN).

    K_c from :func:`dyncheck.theory.kuramoto.critical_coupling` divided by μ_max
    (:func:`dyncheck.theory.kuramoto.graph_critical_coupling`), μ_max of the ring graphon by
    :func:`dyncheck.theory.kuramoto.circulant_eigenvalue`.
    """
    from dyncheck.theory.kuramoto import circulant_eigenvalue, graph_critical_coupling

    if isinstance(density, sp.Expr):
        from dyncheck.theory.kuramoto import checked_density

        expression, density, scale = checked_density(density), "expression", math.nan
    else:
        expression = density_expression(density, scale)
    if graph == "erdos-renyi":
        if edge_probability is None or not 0 < edge_probability <= 1:
            raise UsageError("the Erdős–Rényi graph needs an edge probability in (0, 1]")
        eigenvalue, what = sp.Float(edge_probability), f"W ≡ p = {edge_probability:g}"
    elif graph == "ring":
        if ring_range is None or not 0 < ring_range < 0.5:
            raise UsageError("the ring needs a range ρ in (0, 1/2)")
        s = sp.Symbol("s", real=True)
        eigenvalue, what = circulant_eigenvalue(sp.Integer(1), s, 0, sp.Float(ring_range)), f"ring graphon of range ρ = {ring_range:g}: μ_max = 2ρ"
    elif graph == "complete":
        eigenvalue, what = sp.Integer(1), "complete graph"
    else:
        raise UsageError(f"unknown graph {graph!r}; choose complete, erdos-renyi or ring")
    if normalisation not in ("population", "degree"):
        raise UsageError(f"unknown normalisation {normalisation!r}; choose population or degree")
    if normalisation == "degree":
        eigenvalue, what = sp.Integer(1), what + "; degree normalisation: (D⁻¹W)1 = 1"
    k_c = float(graph_critical_coupling(expression, eigenvalue))
    return ContinuumTheory(density, expression, float(scale), k_c, float(eigenvalue), what)


def plot_bifurcation(couplings, measured: dict, theory_couplings, theory_r, title: str, path: str, *, critical: float | None = None) -> None:
    """The time-averaged order parameter ⟨r⟩ over [T/2, T] measured — ``measured[label] = (mean, standard error)`` at
    ``couplings`` — under the theory's r∞(K) (drawn on top), with K_c marked."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    with figure(path, figsize=(6.4, 4.2)) as fig:
        ax = fig.subplots()
        for label, (r, e) in measured.items():
            ax.errorbar(couplings, r, yerr=e, fmt="o", ms=4, capsize=2, zorder=DATA, label=f"{label}: " + r"$\langle r \rangle$ over $[T/2, T]$ ± s.e.")
        ax.plot(theory_couplings, theory_r, color="black", lw=1.4, zorder=THEORY, label=r"theory: $r_\infty(K)$ from the self-consistency")
        if critical is not None:
            ax.axvline(critical, color="grey", ls=":", label=f"$K_c$ = {critical:.4g}")
        ax.set(xlabel="coupling $K$", ylabel=r"order parameter: $\langle r \rangle$ (points), $r_\infty$ (line)", ylim=(-0.02, 1.02))
        ax.set_title(title)
        ax.legend()


def plot_order_parameter(trajectory: Trajectory, r_inf: float, title: str, path: str) -> None:
    """r(t) of every system against the theory's r∞ (drawn on top)."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    with figure(path, figsize=(6.4, 4.0)) as fig:
        ax = fig.subplots()
        for row in trajectory.r:
            ax.plot(trajectory.times, row, lw=0.8, alpha=0.7, zorder=DATA)
        ax.axhline(r_inf, color="black", ls="--", zorder=THEORY, label=rf"theory: $r_\infty$ = {r_inf:.4f}")
        ax.set(xlabel="$t$", ylabel="$r(t)$", ylim=(0, 1))
        ax.set_title(title)
        ax.legend()