r"""Numeric Gaussian expectations, generated from the SymPy integrand.

Three independent routes to :math:`\mathbb E[f]` over standard normal variables
(one, or a pair with correlation ρ):

* :func:`compile_expectation` — double precision, vectorized over arrays of
  parameters.  The integrand is split at its kinks, at the centres of its
  nonlinearities and at the Gaussian's centre (:mod:`theory.activations`), and
  each smooth piece is integrated with Gauss–Legendre panels in the variable
  ``t`` of the map ``z = a ± c·sinh(t)`` anchored at the piece's end ``a``.
  The map puts nodes on every length scale from ``c`` (the smallest feature:
  ``1/√q`` for ``tanh(√q z)``) to the Gaussian's, so tanh at q = 10⁴ is as
  accurate as at q = 10⁻⁶ (≤ 1e-13 relative; tests pin this against mpmath).
  Periodic integrands (sin/cos of √q z) are held to this accuracy only for
  q ≤ 1 (2e-9 at q = 10): the map resolves saturating features, not many periods;
  integrands that decay faster than the Gaussian (exp(−a z⁴)) reach ~2e-10.
  Each piece gets as many panels as its own length in t needs.
  A bivariate expectation is iterated: outer over ``u = z₁``, inner over
  ``z₂`` with ``v = ρ z₁ + √(1−ρ²) z₂``, the inner pieces anchored where ``v``
  meets the kinks and centres of the integrand; a factor of the integrand in
  ``u`` alone is evaluated once per outer node.  Large calls are split into
  chunks that run on every core (numpy releases the GIL in array operations).
  Where many points share every parameter but the correlation (a table's column
  of ρ at one q) and the integrand is a product f(u)·g(v) without kinks, they
  are integrated at once in polar coordinates: with u = r cos α and
  v = r cos(α − θ), ρ = cos θ, the α-average of f·g is a cross-correlation,
  Σₖ f̂ₖ(r) ĝₖ(r) cos kθ, whose cosine coefficients come from one DCT per
  radius, on a grid in α doubled until their tail is below rounding; the radius
  is integrated with the sinh-mapped panels.  One such solve gives E[f(u)g(v)]
  at every ρ of the group (for tanh's kernels at 32 q's × 32 correlations,
  6–12× less time than the iterated rule).
* :func:`expectation_mp` — mpmath's tanh–sinh quadrature at ≥ 30 digits with
  the same break points; the reference for checks.
* :func:`expectation_mc` — Monte Carlo sampling with its standard error.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp
from scipy.fft import dct

from dyncheck.numerics.codegen import generate
from dyncheck.numerics.threads import on_every_core
from dyncheck.theory.activations import kinks, smooth_scale_points
from dyncheck.theory.gaussian import GaussianExpectation

__all__ = [
    "CUTOFF",
    "CompiledExpectation",
    "MonteCarloEstimate",
    "closed_form_rejection",
    "compile_derivation",
    "compile_expectation",
    "evaluate_mp",
    "expectation_mc",
    "expectation_mp",
    "normal_rule",
    "replicate_means",
]

#: |z| beyond which the standard normal density (< 1e-55) is neglected.
CUTOFF = 16.0
#: Gauss–Legendre nodes per panel, and the longest panel in t.  With 16 nodes
#: and panels of length ≤ 1.2 the rule reaches ≤ 2e-15 for tanh, gelu, softplus,
#: erf, sigmoid, silu, elu, relu, hard_tanh and the Gaussian at q ∈ [1e-6, 1e4]
#: (12 nodes need panels ≤ 0.8 for 1e-14: 15 nodes per unit of t against 13.3).
PANEL_NODES = 16
PANEL_LENGTH = 1.2
#: Finite range of the high-precision route: the neglected mass is < 1e-43.
MP_CUTOFF = 14
#: Smallest feature scale resolved; a correlation closer to ±1 than this is
#: treated as a kink of the inner integral.
MIN_SCALE = 1e-14
#: Points per chunk of the bivariate rule: bounds its temporaries to a few
#: hundred MB for the largest rules (~250 × 250 nodes a point).
BIVARIATE_CHUNK = 128
#: Points per chunk of the one-variable rule (≤ ~1000 nodes a point: ≤ 64 MB a temporary).
UNIVARIATE_CHUNK = 8192
#: Points sharing every parameter but the correlation from which the polar rule is used (a group of 8 costs
#: what about 2–4 points cost with the iterated rule); smaller groups take the iterated rule.
POLAR_MIN_GROUP = 8
#: The polar rule's grids in α: M + 1 points on [0, π] (a DCT-I), M doubled from the first to the last; a radius
#: whose coefficients have not converged on the last grid (a feature much sharper than the Gaussian's scale)
#: sends its group to the iterated rule.
POLAR_FIRST_GRID, POLAR_LAST_GRID = 32, 4096
#: The longest panel in t of the polar rule's radius: its weight r e^{−r²/2} (times the integrand's growth) puts
#: more mass in the tail than the Gaussian's, and panels of 1.2 leave 3e-14 on E[u²v²] (0.8: 2e-16).
POLAR_PANEL_LENGTH = 0.8
#: Points of a radius's first α-grid across the narrowest feature it crosses (width scale/r in α).
POLAR_NODES_PER_SCALE = 2
#: A radius's α-grid is fine enough when the upper half of its cosine coefficients is within this many
#: ulp of the largest (rounding), or when their sum bounds its contribution's error below one ulp of the
#: group's scale (the radius's weight is small).
POLAR_ROUNDING_ULP = 4


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(PANEL_NODES)
_SQRT_2PI = math.sqrt(2 * math.pi)
_EPS = np.finfo(float).eps


def _as_expectation(expr, variables=None, rho=None) -> GaussianExpectation:
    if isinstance(expr, GaussianExpectation):
        return expr
    if variables is None:
        raise ValueError("give the variables of the expectation")
    variables = tuple(variables) if isinstance(variables, tuple | list) else (variables,)
    return GaussianExpectation(expr, variables, sp.S.Zero if rho is None else rho)


def _anchor_points(integrand: sp.Expr, var: sp.Symbol):
    """Symbolic (anchors, scales) in ``var``: kinks, nonlinearity centres and scales.

    The anchors are distinct; the Gaussian's centre is not among them.
    """
    anchors = list(kinks(integrand, var))
    scales = []
    for centre, scale in smooth_scale_points(integrand, var):
        anchors.append(centre)
        scales.append(scale)
    return list(dict.fromkeys(anchors)), scales


def _pieces(anchors: np.ndarray, scale: np.ndarray):
    """The pieces z = a ± c·sinh(t), t ∈ [0, T], that cover [−CUTOFF, CUTOFF].

    ``anchors`` has shape (..., k) and ``scale`` shape (...).  Each gap between
    sorted anchors is covered by two pieces that meet at its midpoint, and the
    two outer pieces run to ±CUTOFF.  Returns ``start, direction, c, T``, each
    of shape (..., 2k) (``c`` of shape (..., 1)).
    """
    # A centre −b/a or scale 1/|a| of a nonlinearity whose slope a vanishes is
    # infinite (or 0/0): the nonlinearity is constant there, and 0 is as good an anchor.
    a = np.sort(np.clip(np.nan_to_num(anchors, nan=0.0), -CUTOFF, CUTOFF), axis=-1)
    lower = np.full(a.shape[:-1] + (1,), -CUTOFF)
    upper = np.full(a.shape[:-1] + (1,), CUTOFF)
    mids = (a[..., 1:] + a[..., :-1]) / 2
    start = np.concatenate([a, a], axis=-1)
    direction = np.concatenate([-np.ones(a.shape), np.ones(a.shape)], axis=-1)
    length = np.concatenate([a - np.concatenate([lower, mids], axis=-1), np.concatenate([mids, upper], axis=-1) - a], axis=-1)
    c = np.clip(np.nan_to_num(scale, nan=1.0), MIN_SCALE, 1.0)[..., None]
    return start, direction, c, np.arcsinh(length / c)


def _panel_counts(t_max: np.ndarray, length: float = PANEL_LENGTH) -> np.ndarray:
    """Gauss–Legendre panels of at most ``length`` each piece of length ``t_max`` in t needs (none for an empty piece)."""
    return np.ceil(t_max / length).astype(int)


@functools.lru_cache(maxsize=64)
def _panel_rule(panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``panels`` equal Gauss–Legendre panels on [0, 1]."""
    edges = np.linspace(0.0, 1.0, panels + 1)
    half = (edges[1:] - edges[:-1])[:, None] / 2
    return ((edges[1:] + edges[:-1])[:, None] / 2 + half * _GL_NODES).ravel(), (half * _GL_WEIGHTS).ravel()


def _sinh_rule(start, direction, c, t_max, panels: tuple[int, ...]):
    """Nodes and weights on the pieces of :func:`_pieces`, ``panels[k]`` Gauss–Legendre panels on piece k.

    Returns ``z, w`` of shape (..., nodes).
    """
    nodes, weights = [], []
    for k, count in enumerate(panels):
        if count == 0:
            continue
        tau, omega = _panel_rule(count)
        t = t_max[..., k, None] * tau
        nodes.append(start[..., k, None] + (direction[..., k] * c[..., 0])[..., None] * np.sinh(t))
        weights.append((t_max[..., k] * c[..., 0])[..., None] * omega * np.cosh(t))
    return np.concatenate(nodes, axis=-1), np.concatenate(weights, axis=-1)


def _gaussian_sum(values, z, w):
    """Σ values·w·φ(z) over the last axis: the quadrature of E[f] on nodes ``z`` with weights ``w``."""
    return np.sum(values * w * np.exp(-z * z / 2), axis=-1) / _SQRT_2PI


def _grouped(panels: np.ndarray, evaluate):
    """``evaluate(index, counts)`` on the points that share each row of per-piece panel counts.

    ``panels`` has shape (..., pieces); the result has shape ``panels.shape[:-1]``.
    Points are grouped so that each is integrated with the panels it needs,
    not with the largest count in the batch.
    """
    if panels.ndim == 1:
        return evaluate((), tuple(panels))
    shape = panels.shape[:-1]
    rows, group = np.unique(panels.reshape(-1, panels.shape[-1]), axis=0, return_inverse=True)
    out = np.empty(shape)
    for g, counts in enumerate(rows):
        index = np.unravel_index(np.nonzero(group.ravel() == g)[0], shape)
        out[index] = evaluate(index, tuple(counts))
    return out


def _correlations(rho: np.ndarray) -> np.ndarray:
    """``rho``, checked to lie in [−1, 1] (``ValueError`` otherwise)."""
    if np.any(np.abs(rho) > 1):
        raise ValueError("a correlation must lie in [−1, 1]")
    return rho


def _broadcast_params(params: Sequence) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*[np.asarray(p, dtype=float) for p in params])) if params else []


@dataclass
class CompiledExpectation:
    """A Gaussian expectation compiled to a vectorized double-precision rule.

    Call it with one array per parameter (broadcast together); it returns an
    array of expectations of the broadcast shape.
    """

    expectation: GaussianExpectation
    parameters: tuple[sp.Symbol, ...]

    def __post_init__(self):
        e = self.expectation
        if e.integrand.has(sp.DiracDelta):
            raise ValueError("Dirac deltas have no numeric quadrature; derive the expectation symbolically")
        missing = e.free_symbols - set(self.parameters)
        if missing:
            names = ", ".join(sorted(str(s) for s in missing))
            raise ValueError(f"values are needed for the parameter(s) {names}")
        params = self.parameters
        if not e.bivariate:
            (z,) = e.variables
            anchors, scales = _anchor_points(e.integrand, z)
            self._integrand = generate(e.integrand, (z, *params))
            self._anchors = [generate(x, params) for x in dict.fromkeys([sp.S.Zero, *anchors])]
            self._scales = [generate(x, params) for x in scales]
            return
        u, v = e.variables
        z1, z2 = sp.Dummy("z1", real=True), sp.Dummy("z2", real=True)
        s = sp.sqrt(1 - e.rho**2)
        anchors_u, scales_u = _anchor_points(e.integrand, u)
        anchors_v, scales_v = _anchor_points(e.integrand, v)
        for anchor in anchors_u:
            if anchor.has(v):
                raise ValueError(f"kink {anchor} in u depends on v: not supported")
        for anchor in anchors_v:
            if anchor.has(u):
                raise ValueError(f"kink {anchor} in v depends on u: not supported")
        kinks_v = kinks(e.integrand, v)
        # f(u)·g(v): f is evaluated once per outer node, outside the inner sum
        outer, inner = e.integrand.as_independent(v, as_Add=False)
        if outer.has(v) or inner.has(u):
            outer, inner = sp.S.One, e.integrand
        self._outer_factor = generate(outer.subs(u, z1), (z1, *params))
        self._integrand = generate(inner.subs({u: z1, v: e.rho * z1 + s * z2}, simultaneous=True), (z1, z2, *params))
        self._rho = generate(e.rho, params)
        self._anchors_u = [generate(x, params) for x in anchors_u]
        self._scales_u = [generate(x, params) for x in scales_u]
        self._anchors_v = [generate(x, params) for x in anchors_v]
        # seen from z1, a v-feature at a sits at a/ρ; one at v = 0 is the Gaussian's centre
        self._outer_anchors_v = [generate(x, params) for x in anchors_v if x != 0]
        self._scales_v = [generate(x, params) for x in scales_v]
        self._kinks_v = [generate(x, params) for x in kinks_v]
        self._polar = None
        if not (outer.has(v) or inner.has(u) or kinks(e.integrand, u) or kinks_v):
            x = sp.Dummy("x", real=True)
            shared = outer.free_symbols | inner.free_symbols  # the parameters a group shares
            f, g = outer.subs(u, x), inner.subs(v, x)
            # g is None for a symmetric integrand f(u)f(v) (a kernel): f's coefficients serve twice
            self._polar = (generate(f, (x, *params)), None if f == g else generate(g, (x, *params)),
                           [k for k, p in enumerate(params) if p in shared])

    # -- one variable ------------------------------------------------------
    def _evaluate_1d(self, params):
        shape = np.broadcast(*params).shape if params else ()
        anchors = np.stack([np.broadcast_to(np.asarray(f(*params), float), shape) for f in self._anchors], axis=-1)
        scale = np.ones(shape)
        for f in self._scales:
            scale = np.minimum(scale, np.broadcast_to(np.asarray(f(*params), float), shape))
        pieces = _pieces(anchors, scale)

        def evaluate(index, panels):
            z, w = _sinh_rule(*(x[index] for x in pieces), panels)
            return _gaussian_sum(self._integrand(z, *(p[index][..., None] for p in params)), z, w)

        return _grouped(_panel_counts(pieces[3]), evaluate)

    # -- two variables -----------------------------------------------------
    def _evaluate_2d(self, params, size: int):
        shape = (size,)

        def bcast(f):
            return np.broadcast_to(np.asarray(f(*params), float), shape)

        rho = _correlations(bcast(self._rho))
        s = np.sqrt(np.maximum(1 - rho**2, 0.0))
        s_safe = np.maximum(s, MIN_SCALE)
        scale_u = np.ones(shape)
        for f in self._scales_u:
            scale_u = np.minimum(scale_u, bcast(f))
        # The inner integral smooths v-features over s; seen from z1 they sit at
        # v/ρ with width ≈ √(scale² + s²)/|ρ|, and kinks with width s/|ρ|.
        abs_rho = np.maximum(np.abs(rho), MIN_SCALE)
        outer_anchors = [np.zeros(shape)] + [bcast(f) for f in self._anchors_u]
        for f in self._outer_anchors_v:
            outer_anchors.append(bcast(f) / np.where(rho == 0, np.inf, rho))
        for f in self._scales_v:
            scale_u = np.minimum(scale_u, np.sqrt(bcast(f) ** 2 + s**2) / abs_rho)
        if self._kinks_v:
            scale_u = np.minimum(scale_u, np.maximum(s, MIN_SCALE) / abs_rho)
        outer = _pieces(np.stack(outer_anchors, axis=-1), scale_u)
        scale_v = np.ones(shape)
        for f in self._scales_v:
            scale_v = np.minimum(scale_v, bcast(f) / s_safe)
        anchors_v = [bcast(f) for f in self._anchors_v]

        def evaluate(index, panels):
            z1, w1 = _sinh_rule(*(x[index] for x in outer), panels)  # (m, n1)
            mean = rho[index][:, None] * z1
            inner_anchors = [np.zeros(z1.shape)]
            inner_anchors += [(a[index][:, None] - mean) / s_safe[index][:, None] for a in anchors_v]
            inner_scale = np.broadcast_to(scale_v[index][:, None], z1.shape)
            inner = _pieces(np.stack(inner_anchors, axis=-1), inner_scale)

            def evaluate_inner(rows, inner_panels):
                z2, w2 = _sinh_rule(*(x[rows] for x in inner), inner_panels)  # (m', n1, n2)
                extra = [p[index][rows][:, None, None] for p in params]
                inner_mean = _gaussian_sum(self._integrand(z1[rows][..., None], z2, *extra), z2, w2)
                outer_factor = self._outer_factor(z1[rows], *(x[..., 0] for x in extra))
                return _gaussian_sum(outer_factor * inner_mean, z1[rows], w1[rows])

            return _grouped(_panel_counts(inner[3]).max(axis=-2), evaluate_inner)

        return _grouped(_panel_counts(outer[3]), evaluate)

    # -- two variables, many correlations at one point: polar coordinates ---
    def _polar_group(self, values: Sequence[float], thetas: np.ndarray) -> np.ndarray | None:
        """E[f(u)g(v)] at the parameter ``values`` for every angle θ = arccos ρ in ``thetas``; None if some
        radius needs a finer α-grid than :data:`POLAR_LAST_GRID` (a feature too sharp for this rule)."""
        f, g, _ = self._polar
        params = [np.float64(x) for x in values]

        def scalar(h):
            return abs(float(h(*params)))

        # the radius rule: sinh-mapped pieces on [0, CUTOFF] anchored at 0 and at the distances of the
        # features of f and g from the origin (a circle of radius r meets a feature at |a| from r = |a| on)
        distances = [scalar(h) for h in (*self._anchors_u, *self._anchors_v)]
        anchors = np.array([0.0, *distances, *(-d for d in distances)])
        scale = min([1.0] + [scalar(h) for h in (*self._scales_u, *self._scales_v)])
        start, direction, c, t_max = _pieces(anchors, np.float64(scale))
        t_max = np.where((start < 0) | ((start == 0) & (direction < 0)), 0.0, t_max)  # the half-line r ≥ 0
        r, w = _sinh_rule(start, direction, c, t_max, tuple(_panel_counts(t_max, POLAR_PANEL_LENGTH)))
        w = w * r * np.exp(-r * r / 2)  # the polar density r e^{−r²/2} dr dα / 2π

        def coefficients(h, x):
            return dct(np.broadcast_to(np.asarray(h(x, *params), float), x.shape), type=1, axis=1) / (x.shape[1] - 1)

        # A radius's first grid resolves the features it crosses (width ≥ scale/r in α) before its
        # coefficients' tail is trusted: a coarser grid could step over a narrow feature and read smooth.
        first = np.maximum(POLAR_FIRST_GRID, 2 ** np.ceil(np.log2(np.maximum(np.pi * r / scale * POLAR_NODES_PER_SCALE, 1))))
        if np.any(first > POLAR_LAST_GRID):
            return None
        correlation = np.zeros(POLAR_LAST_GRID + 1)  # Σ_r w_r × the cosine coefficients of the α-average of f·g
        todo, grid, group_scale, used = np.arange(r.size), POLAR_FIRST_GRID, 0.0, 1
        while todo.size:
            if grid > POLAR_LAST_GRID:
                return None
            active = todo[first[todo] <= grid]
            if active.size:
                x = r[active, None] * np.cos(np.linspace(0.0, np.pi, grid + 1))
                a = coefficients(f, x)
                b = a if g is None else coefficients(g, x)
                size_a, size_b = np.abs(a).max(axis=1), np.abs(b).max(axis=1)
                tail_a, tail_b = np.abs(a[:, grid // 2 :]).max(axis=1), np.abs(b[:, grid // 2 :]).max(axis=1)
                new = first[active] == grid
                group_scale += float(np.sum(w[active[new]] * size_a[new] * size_b[new]))  # the scale seen so far
                rounding = (tail_a <= POLAR_ROUNDING_ULP * _EPS * size_a) & (tail_b <= POLAR_ROUNDING_ULP * _EPS * size_b)
                negligible = w[active] * (tail_a * size_b + tail_b * size_a) <= _EPS * group_scale / r.size
                done = rounding | negligible
                product = a[done] * b[done] / 2  # mean over α of f(r cos α) g(r cos(α − θ)) = Σ_k this_k cos kθ,
                product[:, [0, -1]] /= 2  # with the DCT-I's halved end terms
                correlation[: grid + 1] += w[active[done]] @ product
                used = grid + 1 if done.any() else used
                todo = np.setdiff1d(todo, active[done], assume_unique=True)
            grid *= 2
        return np.cos(np.outer(thetas, np.arange(used))) @ correlation[:used]

    def _evaluate_polar(self, flat: list[np.ndarray], out: np.ndarray) -> np.ndarray:
        """Fill ``out`` where points sharing their parameters (but ρ) come in groups of at least
        :data:`POLAR_MIN_GROUP`; returns the mask of the points filled."""
        shared = self._polar[2]
        filled = np.zeros(out.size, bool)
        group = np.zeros(out.size, int)
        if shared:
            group = np.unique(np.stack([flat[k] for k in shared], axis=1), axis=0, return_inverse=True)[1].reshape(-1)
        order = np.argsort(group, kind="stable")  # the members of each group, one slice each
        counts = np.bincount(group)
        ends = np.cumsum(counts)
        rho = _correlations(np.broadcast_to(np.asarray(self._rho(*flat), float), out.shape))

        def evaluate(g):
            members = order[ends[g] - counts[g] : ends[g]]
            values = [flat[k][members[0]] for k in range(len(flat))]
            result = self._polar_group(values, np.arccos(rho[members]))
            if result is not None:
                out[members] = result
                filled[members] = True

        on_every_core(evaluate, np.nonzero(counts >= POLAR_MIN_GROUP)[0])
        return filled

    def __call__(self, *params) -> np.ndarray:
        if len(params) != len(self.parameters):
            raise TypeError(f"expected {len(self.parameters)} parameter array(s), got {len(params)}")
        params = _broadcast_params(params)
        shape = np.broadcast(*params).shape if params else ()
        bivariate = self.expectation.bivariate
        if not bivariate and math.prod(shape) <= UNIVARIATE_CHUNK:
            return self._evaluate_1d(params)
        step = BIVARIATE_CHUNK if bivariate else UNIVARIATE_CHUNK
        flat = [p.reshape(-1) for p in params]
        out = np.empty(math.prod(shape))
        rest = np.arange(out.size)
        if bivariate and self._polar is not None and out.size >= POLAR_MIN_GROUP:
            with np.errstate(over="ignore"):
                rest = np.nonzero(~self._evaluate_polar(flat, out))[0]

        def evaluate(i):
            index = rest[i : i + step]
            chunk = [f[index] for f in flat]
            with np.errstate(over="ignore"):  # an expectation too large for double precision is inf, for the caller to see
                out[index] = self._evaluate_2d(chunk, index.size) if bivariate else self._evaluate_1d(chunk)

        on_every_core(evaluate, range(0, rest.size, step))
        return out.reshape(shape)


def compile_expectation(expr, parameters: Sequence[sp.Symbol] = (), variables=None, rho=None) -> CompiledExpectation:
    """Compile ``E[expr]`` (or a :class:`GaussianExpectation`) for arrays of ``parameters``."""
    return CompiledExpectation(_as_expectation(expr, variables, rho), tuple(parameters))


#: Parameter values at which a closed form is checked against quadrature before it is used: a variance q > 0 takes
#: the first row, a correlation ρ the second, each point a column (ρ away from ±1, where both are exact anyway).
_CHECK_POINTS = {"positive": (0.6, 1.7, 3.1), "correlation": (0.35, -0.55, 0.8)}


def _check_point_values(parameters: Sequence[sp.Symbol]) -> list[np.ndarray]:
    return [np.array(_CHECK_POINTS["positive" if p.is_positive else "correlation"]) for p in parameters]


@functools.lru_cache(maxsize=256)
def closed_form_rejection(derivation, parameters: tuple[sp.Symbol, ...]) -> str | None:
    """Why the closed form of ``derivation`` is not used in double precision, or None when it is: it must contain no
    special function numpy lacks (Meijer G, hypergeometric, Dirac delta), the code generator must compile it, and
    its values must agree with quadrature to ``closed_form_check_relative`` at three parameter points."""
    from dyncheck.proofs_check.tolerances import tolerance

    if not derivation.closed:
        return "no closed form"
    value = derivation.value
    if value.has(sp.DiracDelta, sp.meijerg, sp.hyper):
        return "the closed form holds a Meijer G, hypergeometric or Dirac delta term numpy cannot evaluate"
    points = _check_point_values(parameters)
    try:
        with np.errstate(all="ignore"):
            closed = np.asarray(generate(value, parameters)(*points), float)
    except Exception as error:  # noqa: BLE001 — any failure of generated code (NameError: polar_lift, …) rejects the form
        return f"the generated code for it fails ({type(error).__name__}: {str(error)[:80]})"
    if derivation.expectation.integrand.has(sp.DiracDelta):
        return None  # no pointwise quadrature to compare with; the closed form is the only value
    quadrature = np.asarray(compile_expectation(derivation.expectation, parameters)(*points), float)
    limit = tolerance("closed_form_check_relative")
    scale = np.maximum(np.abs(quadrature), tolerance("double_quadrature_absolute"))
    if not np.all(np.isfinite(closed)) or np.any(np.abs(closed - quadrature) > limit * scale):
        worst = int(np.nanargmax(np.where(np.isfinite(closed), np.abs(closed - quadrature) / scale, np.inf)))
        return f"its generated values disagree with quadrature ({closed[worst]:.6g} against {quadrature[worst]:.6g} at {', '.join(f'{p} = {v[worst]:g}' for p, v in zip(parameters, points))})"
    return None


def compile_derivation(derivation, parameters: Sequence[sp.Symbol]) -> Callable:
    """A vectorized callable of ``parameters`` for a :class:`~theory.gaussian.Derivation`: its closed form when
    :func:`closed_form_rejection` accepts it, otherwise quadrature."""
    parameters = tuple(parameters)
    if closed_form_rejection(derivation, parameters) is None:
        return generate(derivation.value, parameters)
    if derivation.expectation.integrand.has(sp.DiracDelta):
        raise ValueError(f"{derivation.expectation} has a Dirac delta and no usable closed form; it has no pointwise value")
    return compile_expectation(derivation.expectation, parameters)


# ---------------------------------------------------------------------------
# High precision


def _mp_points(exprs, values) -> list:
    out = []
    for x in exprs:
        val = sp.N(x.subs(values), mpmath.mp.dps + 5)
        if val.is_real is False or not val.is_number:
            continue
        out.append(mpmath.mpf(str(val)) if val.is_finite else None)
    return [p for p in out if p is not None]


def _mp_breaks(points) -> list:
    """Break points of the high-precision rule on [−c, c], with c large enough for the working
    precision (at least :data:`MP_CUTOFF`): the mass beyond c, φ(c)/c, is below 10^-(dps+3)."""
    cutoff = max(MP_CUTOFF, math.ceil(math.sqrt(2 * (mpmath.mp.dps + 3) * math.log(10))))
    inside = sorted({p for p in points if -cutoff < p < cutoff})
    return [-cutoff, *inside, cutoff]


#: Where :func:`expectation_mp` checks that an integrand has decayed (``require_decay``): the
#: density there is ~1e-348, so anything but a growth like exp(z²/2) is negligible.
DECAY_POINT = 40


def expectation_mp(expr, values: Mapping[sp.Symbol, object], variables=None, rho=None, dps: int = 40, error=False, require_decay=False):
    """E[expr] at ``dps`` digits by mpmath's tanh–sinh quadrature, split at the
    integrand's kinks and centres.  ``values`` maps every parameter to a number.

    With ``error=True`` returns ``(value, error_estimate)``.  With ``require_decay=True`` a
    ``ValueError`` is raised unless integrand × density has fallen below ``10^-dps`` at
    ``|z| =`` :data:`DECAY_POINT` (quadrature cannot tell a divergent integral from a large one).
    """
    e = _as_expectation(expr, variables, rho)
    values = {k: sp.Float(str(v), dps + 10) if not isinstance(v, sp.Basic) else v for k, v in values.items()}
    with mpmath.workdps(dps):
        integrand = e.integrand.subs(values)
        if integrand.free_symbols - set(e.variables):
            raise ValueError(f"values are missing for {integrand.free_symbols - set(e.variables)}")
        if not e.bivariate:
            (z,) = e.variables
            f = generate(integrand, (z,), "mpmath")
            if require_decay:
                _check_decay([f(x) for x in (DECAY_POINT, -DECAY_POINT)], dps)
            anchors, _ = _anchor_points(integrand, z)
            points = sorted(set(_mp_points([sp.S.Zero, *anchors], {})))
            value, err = mpmath.quad(lambda x: f(x) * mpmath.npdf(x), _mp_breaks(points), error=True)
            return (value, err) if error else value
        u, v = e.variables
        rho_val = mpmath.mpf(str(sp.N(e.rho.subs(values), dps + 5)))
        s = mpmath.sqrt(1 - rho_val**2)
        f = generate(integrand, (u, v), "mpmath")
        if require_decay:
            c = DECAY_POINT
            _check_decay([f(a, rho_val * a + s * b) for a, b in ((c, 0), (-c, 0), (0, c), (0, -c))], dps)
        anchors_u, _ = _anchor_points(integrand, u)
        anchors_v, _ = _anchor_points(integrand, v)
        pts_u = _mp_points([sp.S.Zero, *anchors_u], {})
        pts_v = _mp_points(anchors_v, {})
        if rho_val != 0:
            pts_u += [p / rho_val for p in pts_v]
        pts_u = sorted(set(pts_u))
        errors = []

        def inner(z1):
            if s == 0:
                return f(z1, rho_val * z1)
            pts = sorted({(p - rho_val * z1) / s for p in pts_v} | {mpmath.mpf(0)})
            val, err = mpmath.quad(lambda z2: f(z1, rho_val * z1 + s * z2) * mpmath.npdf(z2), _mp_breaks(pts), error=True)
            errors.append(err)
            return val

        value, err = mpmath.quad(lambda z1: inner(z1) * mpmath.npdf(z1), _mp_breaks(pts_u), error=True)
        total_err = err + (max(errors) if errors else 0)
        return (value, total_err) if error else value


def _check_decay(values, dps: int) -> None:
    density = mpmath.npdf(DECAY_POINT)
    if any(not mpmath.isfinite(x) or abs(x) * density > mpmath.mpf(10) ** (-dps) for x in values):
        raise ValueError(f"the integrand does not decay like a Gaussian tail (checked at |z| = {DECAY_POINT}): it may diverge")


# ---------------------------------------------------------------------------
# Monte Carlo


@dataclass(frozen=True)
class MonteCarloEstimate:
    """Sample mean, its standard error, the sample size and the seed."""

    mean: float
    standard_error: float
    samples: int
    seed: int


def _draws(e: GaussianExpectation, values, shape, rng: np.random.Generator) -> np.ndarray:
    integrand = e.integrand.subs(values)
    if e.bivariate:
        u, v = e.variables
        rho_val = float(e.rho.subs(values))
        z1, z2 = rng.standard_normal((2, *shape))
        draws = generate(integrand, (u, v))(z1, rho_val * z1 + math.sqrt(max(1 - rho_val**2, 0.0)) * z2)
    else:
        (z,) = e.variables
        draws = generate(integrand, (z,))(rng.standard_normal(shape))
    return np.broadcast_to(np.asarray(draws, float), shape)


def expectation_mc(
    expr, values: Mapping[sp.Symbol, float], samples: int, seed: int, variables=None, rho=None
) -> MonteCarloEstimate:
    """E[expr] by plain Monte Carlo with ``samples`` draws from ``seed``."""
    e = _as_expectation(expr, variables, rho)
    draws = _draws(e, values, (samples,), np.random.default_rng(seed))
    return MonteCarloEstimate(float(draws.mean()), float(draws.std(ddof=1) / math.sqrt(samples)), samples, seed)


def replicate_means(
    expr, values: Mapping[sp.Symbol, float], samples: int, replicates: int, seed: int, variables=None, rho=None
) -> np.ndarray:
    """``replicates`` independent Monte Carlo means of ``samples`` draws each (for rate tests)."""
    e = _as_expectation(expr, variables, rho)
    return _draws(e, values, (replicates, samples), np.random.default_rng(seed)).mean(axis=1)


def evaluate_mp(expr: sp.Expr, values: Mapping[sp.Symbol, object], dps: int = 40) -> mpmath.mpc:
    """``expr`` at ``values`` with ``dps`` digits; every unevaluated
    :class:`GaussianExpectation` inside it goes through :func:`expectation_mp`.

    Returns an mpmath number (complex where the expression is not real there).
    """
    exact = {k: sp.Float(str(v), dps + 10) if not isinstance(v, sp.Basic) else v for k, v in values.items()}
    replacements = {}
    for node in expr.atoms(GaussianExpectation):
        inner_values = {k: v for k, v in exact.items() if k in node.free_symbols}
        with mpmath.workdps(dps):
            value = expectation_mp(node, inner_values, dps=dps)
        replacements[node] = sp.Float(mpmath.nstr(value, dps + 5, strip_zeros=False), dps + 5)
    result = sp.N(expr.xreplace(replacements).subs(exact), dps)
    if result.free_symbols:
        missing = ", ".join(sorted(str(s) for s in result.free_symbols))
        raise ValueError(f"values are needed for {missing}")
    if result.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return mpmath.mpc(mpmath.nan)
    real, imag = result.as_real_imag()
    with mpmath.workdps(dps):
        return mpmath.mpc(mpmath.mpf(str(sp.N(real, dps))), mpmath.mpf(str(sp.N(imag, dps))))


def normal_rule(nodes: int, dimension: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(points, weights) of the tensor Gauss–Hermite rule of ``nodes`` points an axis for z ~ N(0, I_d): points of shape
    (nodes^d, d), weights summing to 1.  Exact for polynomials of degree < 2·``nodes`` in each coordinate."""
    points, weights = np.polynomial.hermite_e.hermegauss(nodes)  # ∫ f e^{−z²/2} dz: weights sum to √(2π)
    weights = weights / weights.sum()
    grid = np.stack(np.meshgrid(*[points] * dimension, indexing="ij"), axis=-1).reshape(-1, dimension)
    return grid, np.prod(np.stack(np.meshgrid(*[weights] * dimension, indexing="ij"), axis=-1).reshape(-1, dimension), axis=-1)
