r"""Networks as pointwise affine maps, and x_{k+1} = f(x_k) as a dynamical system (Drgoňa, Tuor, Vasisht,
Skomski & Vrabie, arXiv 2011.13492; IEEE OJ-CSYS 2022).  The theory is :mod:`dyncheck.theory.affine`.

* :func:`A_star`, :func:`b_star`, :func:`pointwise_affine` — f(x) = A*(x) x + b*(x) for any network of the
  substrate (:class:`~dyncheck.numerics.networks.Network`), composed layer by layer from the slope quotient
  Λ(z) = (σ(z) − σ(0))/z (:func:`slope_function`, free of cancellation near 0); :func:`jacobian` is the
  input–output Jacobian, a different matrix (equal to A* only inside the regions of the ReLU family).
* :data:`WEIGHT_FAMILIES` — weight parameterisations that promise bounds on eigenvalues or singular values
  (Perron–Frobenius, SVD with exactly orthogonal Householder factors, spectral-norm scaling by the true
  2-norm, Gershgorin discs; after the constrained linear maps of pnnl/neuromancer's ``slim``), with the
  promise each makes (:func:`promise_violation`) and broken variants (signed Perron–Frobenius, SVD factors
  that are not orthogonal, Gershgorin radii of signed sums) where the promise fails.
* :func:`activation_regions` — the exact activation regions of a network with a piecewise-linear activation
  (the polyhedral partition of the input space, by a depth-first search with one linear programme a branch),
  each with its affine map; :func:`region_fixed_points` solves each region's fixed point and keeps it only if
  it lies in its region; :func:`newton_fixed_points` finds fixed points of any network from a grid of starts.
* :func:`contraction_bound`, :func:`jsr_bounds`, :func:`diverging_orbit`, :func:`global_stability` — global
  stability stated correctly: ∏‖W_l‖₂·∏Lip(σ) < 1 makes f a contraction; a joint spectral radius below 1
  of the regions' matrices makes a continuous piecewise-affine f incrementally stable (f(x) − f(y) =
  M(x − y) with M in the convex hull of the region matrices); a spectral radius of A*(x) below 1 at every x
  proves nothing (:func:`switching_counterexample` diverges although it holds).

Everything here is numpy in float64 (the maps are small; the 40-digit routes of the claims use mpmath).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.backend import haar_orthogonal
from dyncheck.numerics.codegen import generate
from dyncheck.numerics.networks import Network, compiled_activation
from dyncheck.theory.activations import ACTIVATIONS, ALIASES, activation, derivative, registered_name
from dyncheck.theory.affine import linear_pieces, slope_quotient
from dyncheck.theory.errors import UsageError
from dyncheck.theory.symbols import X

__all__ = [
    "A_star",
    "BROKEN_FAMILIES",
    "FixedPoint",
    "Region",
    "WEIGHT_FAMILIES",
    "WeightFamily",
    "activation_regions",
    "b_star",
    "basins",
    "classify",
    "constrained_weight",
    "contraction_bound",
    "diverging_orbit",
    "ENUMERATION_LIMIT",
    "enumeration_cost",
    "from_torch",
    "global_stability",
    "iterate",
    "jacobian",
    "jsr_bounds",
    "lipschitz_constant",
    "mp_orbit",
    "mp_pointwise_affine",
    "network_from_json",
    "network_from_layers",
    "newton_fixed_points",
    "plot_parameterisation_spectra",
    "plot_phase_portrait",
    "plot_spectrum",
    "pointwise_affine",
    "promise_violation",
    "random_dynamics",
    "region_bound",
    "region_fixed_points",
    "slope_bound",
    "slope_function",
    "spectral_radius",
    "spectral_radius_bound",
    "switching_counterexample",
]


# ---------------------------------------------------------------------------
# The slope quotient and the decomposition


@functools.lru_cache(maxsize=64)
def slope_function(phi: sp.Expr, rule: str = "quotient") -> Callable[[np.ndarray], np.ndarray]:
    """z ↦ Λ(z), elementwise: the slope quotient (``quotient``, exact to rounding at every z: Taylor polynomials
    on |z| < r, the quotient beyond, Λ(0) at 0) or σ′ (``derivative``, the Jacobian's slope)."""
    if rule == "derivative":
        return compiled_activation(derivative(phi, X, 1))
    if rule != "quotient":
        raise ValueError(f"unknown slope rule {rule!r}")
    pieces = slope_quotient(phi)
    radius, at_zero = float(pieces.radius), float(pieces.at_zero)
    phi_of, value0 = compiled_activation(phi), _value_at_zero(phi)
    # the Taylor pieces by Horner's rule from their coefficients (numbers: nothing for a code generator to do)
    left, right = (functools.partial(np.polyval, [float(c) for c in sp.Poly(e, X).all_coeffs()]) for e in (pieces.left, pieces.right))

    def slope(z):
        z = np.asarray(z, float)
        near = np.abs(z) < radius
        away = np.where(near, radius, z)  # the quotient never sees |z| < r (no 0/0 in the branch not taken)
        # the quotient from the compiled σ: SymPy's own form of e.g. the sigmoid's quotient, expm1(z)/(2z(eᶻ + 1)),
        # is inf/inf beyond z ≈ 710
        value = (np.broadcast_to(phi_of(away), z.shape) - value0) / away
        value = np.where(near & (z > 0), np.broadcast_to(right(z), z.shape), value)
        value = np.where(near & (z < 0), np.broadcast_to(left(z), z.shape), value)
        return np.where(z == 0, at_zero, value)

    return slope


def _value_at_zero(phi: sp.Expr) -> float:
    return float(phi.subs(X, 0))


def pointwise_affine(network: Network, x, *, rule: str = "quotient") -> tuple[np.ndarray, np.ndarray]:
    """(A*(x), b*(x)) at the samples ``x`` (…, samples, d): shapes (…, samples, n_out, d) and (…, samples, n_out).

    Composed layer by layer (module docstring of :mod:`dyncheck.theory.affine`): a dense layer maps
    (A, b) to (Λ s_w W A, Λ(s_w W b + s_b b_l) + σ(0)), a residual layer adds δ times that to (A, b), a
    linear layer is (s_w W A, s_w W b + s_b b_l).  ``rule="derivative"`` puts σ′ for Λ: its A is the Jacobian.
    """
    x = np.asarray(x, float)
    slope = slope_function(network.phi, rule)
    value0 = _value_at_zero(network.phi)
    _, pres = network.forward(x)
    d = x.shape[-1]
    matrix = np.broadcast_to(np.eye(d), x.shape[:-1] + (d, d))
    offset = np.zeros(x.shape)
    for layer, kind in enumerate(network.kinds):
        weight_scale, bias_scale = network.scales(layer)
        w = weight_scale * np.asarray(network.weights[layer])
        carried = w[..., None, :, :] @ matrix
        shifted = offset @ w.swapaxes(-1, -2) + bias_scale * np.asarray(network.biases[layer])[..., None, :]
        if kind == "linear":
            matrix, offset = carried, shifted
            continue
        lam = slope(pres[layer])
        layer_matrix, layer_offset = lam[..., None] * carried, lam * shifted + value0
        if kind == "residual":
            matrix, offset = matrix + network.residual_step * layer_matrix, offset + network.residual_step * layer_offset
        else:
            matrix, offset = layer_matrix, layer_offset
    return matrix, offset


def A_star(network: Network, x) -> np.ndarray:  # noqa: N802 — the paper's name
    """A*(x): the state-dependent matrix of f(x) = A*(x) x + b*(x) (not the Jacobian; see :func:`jacobian`)."""
    return pointwise_affine(network, x)[0]


def b_star(network: Network, x) -> np.ndarray:
    """b*(x): the state-dependent offset of f(x) = A*(x) x + b*(x)."""
    return pointwise_affine(network, x)[1]


def jacobian(network: Network, x) -> np.ndarray:
    """∂f/∂x at the samples ``x``: the product of the layer Jacobians D_l s_w W_l (+ I for residual layers)."""
    layers = network.layer_jacobians(np.asarray(x, float))
    product = layers[0]
    for layer in layers[1:]:
        product = layer @ product
    return product


def spectral_radius(matrices) -> np.ndarray:
    """max |λ| of each square matrix of a stack."""
    return np.abs(np.linalg.eigvals(matrices)).max(axis=-1)


# ---------------------------------------------------------------------------
# Slopes and Lipschitz constants of activations


def _sup_abs(phi: sp.Expr, expr: sp.Expr) -> float:
    """sup over z of |expr(z)|: exact on the pieces of a piecewise-linear σ; otherwise the largest of a grid on
    [−60, 60] (and ±1e6 for the tails), refined by a bounded scalar search around the grid's maximum."""
    from scipy.optimize import minimize_scalar

    f = slope_function(phi) if expr is None else compiled_activation(expr)
    grid = np.concatenate([np.linspace(-60.0, 60.0, 120_001), [-1e6, 1e6]])
    with np.errstate(invalid="ignore", over="ignore"):  # a form like e⁻ˣ/(1 + e⁻ˣ)² is inf/inf far out: ignored (nan) there
        values = np.abs(np.broadcast_to(f(grid), grid.shape))
    best = int(np.nanargmax(values))
    if best >= grid.size - 2 or not np.isfinite(values[best]):  # largest far out: the supremum may be a limit at ±∞, or ∞
        from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

        quantity = (phi - phi.subs(X, 0)) / X if expr is None else expr
        try:
            with time_limit(10):
                limits = [sp.limit(sp.Abs(quantity), X, end) for end in (-sp.oo, sp.oo)]
        except (SymbolicTimeout, NotImplementedError, ValueError, TypeError):
            return math.inf  # undecided: no finite bound is claimed
        return math.inf if any(not v.is_finite for v in limits) else float(max(values[best], *(float(v) for v in limits)))
    step = grid[1] - grid[0]
    refined = minimize_scalar(lambda z: -abs(float(np.asarray(f(np.array([z]))).ravel()[0])), bounds=(grid[best] - step, grid[best] + step), method="bounded", options={"xatol": 1e-12})
    return float(max(values[best], -refined.fun))


@functools.lru_cache(maxsize=64)
def lipschitz_constant(phi: sp.Expr) -> float:
    """Lip(σ) = sup|σ′|: exact for piecewise-linear σ (the largest |slope| of a piece), else :func:`_sup_abs` of σ′."""
    pieces = linear_pieces(phi)
    if pieces is not None:
        return float(max(abs(p.slope) for p in pieces))
    return _sup_abs(phi, derivative(phi, X, 1))


@functools.lru_cache(maxsize=64)
def slope_bound(phi: sp.Expr) -> float:
    """sup|Λ| = sup|σ(z) − σ(0)|/|z| (≤ Lip(σ)): exact for piecewise-linear σ, else :func:`_sup_abs` of Λ."""
    pieces = linear_pieces(phi)
    if pieces is not None and _value_at_zero(phi) == 0:
        # on a piece σ = s z + c, Λ = s + c/z is monotone: its extremes are at the piece's ends — σ(k)/k at a kink k ≠ 0,
        # the slope s where the piece reaches 0 or ±∞
        ends = [abs(p.slope) for p in pieces if p.lower <= 0 <= p.upper or not (p.lower.is_finite and p.upper.is_finite)]
        kinks = {end for p in pieces for end in (p.lower, p.upper) if end.is_finite and end != 0}
        return float(max(ends + [abs(phi.subs(X, k) / k) for k in kinks]))
    return _sup_abs(phi, None)


def _layer_norms(network: Network) -> list[float]:
    return [network.scales(layer)[0] * float(np.linalg.norm(np.asarray(w), 2)) for layer, w in enumerate(network.weights)]


def _product_bound(network: Network, factor: float) -> float:
    bound = 1.0
    for norm, kind in zip(_layer_norms(network), network.kinds):
        if kind == "linear":
            bound *= norm
        elif kind == "dense":
            bound *= norm * factor
        else:
            bound *= 1 + network.residual_step * norm * factor
    return bound


def contraction_bound(network: Network) -> float:
    """∏‖s_w W_l‖₂ · ∏Lip(σ) (a residual layer contributes 1 + δ‖s_w W‖₂ Lip(σ)): a Lipschitz constant of f in
    the 2-norm.  Below 1, f is a contraction: one fixed point, which attracts every orbit geometrically."""
    return _product_bound(network, lipschitz_constant(network.phi))


def spectral_radius_bound(network: Network) -> float:
    """∏‖s_w W_l‖₂ · ∏sup|Λ|: a bound on ‖A*(x)‖₂, hence on ρ(A*(x)), at every x (dense and linear layers)."""
    return _product_bound(network, slope_bound(network.phi))


# ---------------------------------------------------------------------------
# Weight parameterisations that promise spectra


def _householder_orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """An exactly orthogonal n × n matrix as a product of n Householder reflections I − 2vvᵀ/‖v‖² (neuromancer's
    ``slim`` builds its SVD factors so); orthogonal to rounding whatever the vectors."""
    q = np.eye(n)
    for v in rng.standard_normal((n, n)):
        q = q - 2.0 * np.outer(q @ v, v) / (v @ v)
    return q


def _gaussian(rng, n_out, n_in, low, high):
    return rng.standard_normal((n_out, n_in)) * high / math.sqrt(n_in)


def _orthogonal(rng, n_out, n_in, low, high):
    q = haar_orthogonal(rng.standard_normal((max(n_out, n_in), min(n_out, n_in))))
    return high * (q if n_out >= n_in else q.T)


def _spectral(rng, n_out, n_in, low, high):
    w = rng.standard_normal((n_out, n_in))
    return high * w / np.linalg.norm(w, 2)


def _singular_values(rng, n_out, n_in, low, high, u, v):
    s = rng.uniform(low, high, min(n_out, n_in))
    return (u[:, : s.size] * s) @ v[:, : s.size].T


def _svd(rng, n_out, n_in, low, high):
    return _singular_values(rng, n_out, n_in, low, high, _householder_orthogonal(rng, n_out), _householder_orthogonal(rng, n_in))


def _inexact_svd(rng, n_out, n_in, low, high):
    """SVD factors with unit columns that are not orthogonal (a penalty left unsatisfied)."""
    u, v = rng.standard_normal((n_out, n_out)), rng.standard_normal((n_in, n_in))
    return _singular_values(rng, n_out, n_in, low, high, u / np.linalg.norm(u, axis=0), v / np.linalg.norm(v, axis=0))


def _perron_frobenius(rng, n_out, n_in, low, high, signed=False):
    logits = rng.standard_normal((n_out, n_in))
    rows = np.exp(logits - logits.max(axis=1, keepdims=True))
    rows /= rows.sum(axis=1, keepdims=True)
    if signed:  # signs that keep each row's sum: a signed matrix with the same row sums
        signs = rng.choice((-1.0, 1.0), (n_out, n_in))
        rows = rows * signs * 3.0
        rows /= rows.sum(axis=1, keepdims=True)
    return rows * rng.uniform(low, high, (n_out, 1))


def _gershgorin(rng, n_out, n_in, low, high, signed=False):
    if n_out != n_in:
        raise UsageError("Gershgorin weights are square (their promise is on eigenvalues)")
    centres = rng.uniform(low, high, n_out)
    radii = np.minimum(centres - low, high - centres) * rng.uniform(0.5, 1.0, n_out)
    off = rng.standard_normal((n_out, n_out))
    np.fill_diagonal(off, 0.0)
    norm = (off.sum(axis=1) if signed else np.abs(off).sum(axis=1))[:, None]
    return np.diag(centres) + off * radii[:, None] / norm


@dataclass(frozen=True)
class WeightFamily:
    """A weight parameterisation: ``build(rng, n_out, n_in, low, high)`` and the promise it makes, in words."""

    name: str
    build: Callable
    promise: str
    source: str


WEIGHT_FAMILIES = {
    f.name: f
    for f in (
        WeightFamily("gaussian", _gaussian, "none (i.i.d. N(0, high²/n_in); the circular law puts ρ near high for large n)", "Drgoňa et al. 2022"),
        WeightFamily("orthogonal", _orthogonal, "every eigenvalue (square W) and singular value equals high", "Saxe et al. 2014"),
        WeightFamily("spectral", _spectral, "‖W‖₂ = high (scaled by the true 2-norm), so ρ(W) ≤ high", "Miyato et al. 2018"),
        WeightFamily("svd", _svd, "singular values in [low, high] with exactly orthogonal factors, so low ≤ |λ| ≤ high", "Zhang et al. 2018; neuromancer slim SVDLinear"),
        WeightFamily("perron-frobenius", _perron_frobenius, "W ≥ 0 with row sums in [low, high], so the Perron root ρ(W) ∈ [low, high]", "Tuor et al. 2020; neuromancer slim PerronFrobeniusLinear"),
        WeightFamily("gershgorin", _gershgorin, "centres W_ii in [low, high] and radii Σ_{j≠i}|W_ij| ≤ min(W_ii − low, high − W_ii), so every eigenvalue lies in D((low + high)/2, (high − low)/2) and |λ| ≤ max(|low|, |high|)", "Gershgorin 1931; neuromancer slim GershgorinLinear"),
    )
}

#: Variants whose promise fails, the negative controls of the spectra claims.
BROKEN_FAMILIES = {
    "perron-frobenius": WeightFamily("signed-perron-frobenius", functools.partial(_perron_frobenius, signed=True), "row sums in [low, high] but signed entries", "negative control"),
    "svd": WeightFamily("inexact-svd", _inexact_svd, "singular values in [low, high] between factors with unit, non-orthogonal columns", "negative control"),
    "gershgorin": WeightFamily("signed-gershgorin", functools.partial(_gershgorin, signed=True), "radii from signed row sums Σ_{j≠i} W_ij", "negative control"),
}


def constrained_weight(family: str, rng: np.random.Generator, n_out: int, n_in: int, low: float, high: float) -> np.ndarray:
    """One weight matrix of a family of :data:`WEIGHT_FAMILIES` (or :data:`BROKEN_FAMILIES` by its own name)."""
    families = {**WEIGHT_FAMILIES, **{f.name: f for f in BROKEN_FAMILIES.values()}}
    if family not in families:
        raise UsageError(f"unknown weight parameterisation {family!r}; known: {', '.join(WEIGHT_FAMILIES)}")
    return families[family].build(rng, n_out, n_in, low, high)


def promise_violation(family: str, eigenvalues: np.ndarray, singular_values: np.ndarray, low: float, high: float, weight: np.ndarray) -> float:
    """How far a matrix breaks the promise of ``family`` (0 when it keeps it), in the units of its bound:
    orthogonal/svd |λ| and σ outside [low, high]; spectral σ_max above high; Perron–Frobenius ρ outside
    [low, high]; Gershgorin eigenvalues outside the disc D((low + high)/2, (high − low)/2) its discs were built in."""
    moduli = np.abs(eigenvalues)
    if family in ("orthogonal",):
        return float(max(np.abs(moduli - high).max(), np.abs(singular_values - high).max()))
    if family == "svd":
        return float(max(0.0, low - moduli.min(), moduli.max() - high, low - singular_values.min(), singular_values.max() - high))
    if family == "spectral":
        return float(max(0.0, singular_values.max() - high, moduli.max() - high))
    if family == "perron-frobenius":
        return float(max(0.0, low - moduli.max(), moduli.max() - high))
    if family == "gershgorin":  # every disc D(c, r) with r ≤ min(c − low, high − c) lies in D((low + high)/2, (high − low)/2)
        return float(max(0.0, (np.abs(eigenvalues - (low + high) / 2) - (high - low) / 2).max()))
    return 0.0


# ---------------------------------------------------------------------------
# Networks from data: JSON layers, torch modules, random draws


_TORCH_ACTIVATIONS = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "ELU": "elu", "SiLU": "silu", "GELU": "gelu", "Softplus": "softplus", "LeakyReLU": "leaky_relu", "Hardtanh": "hard_tanh", "SELU": "selu", "Identity": "linear"}


def _numbers_only(value, what: str) -> None:
    """Refuse JSON leaves that are not numbers (a string "0.5" or true would be read as one by numpy)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            raise UsageError(f"{what} must hold numbers only, not {type(item).__name__} {str(item)[:20]!r}")


def _finite_array(value, what: str, ndim: int) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        _numbers_only(value, what)
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{what} must be a {'matrix' if ndim == 2 else 'vector'} of numbers, each finite in double precision") from None
    if array.ndim != ndim or 0 in array.shape:
        raise UsageError(f"{what} must be a non-empty {'matrix (a list of rows)' if ndim == 2 else 'vector'}, not of shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise UsageError(f"{what} has entries that are not finite numbers")
    return array


def _activation_of(spec) -> sp.Expr | None:
    if isinstance(spec, sp.Expr):
        return spec
    if spec is None or spec in ("linear", "identity", "none"):
        return None
    if not isinstance(spec, str):
        raise UsageError(f"an activation is a name, not {spec!r}")
    key = ALIASES.get(spec, spec)
    if key not in ACTIVATIONS:
        raise UsageError(f"unknown activation {spec!r}; known: {', '.join(sorted([*ACTIVATIONS, *ALIASES]))}")
    return activation(key).expr()


def network_from_layers(layers: list) -> Network:
    """A network of the substrate from ``[{"weight": [[…]], "bias": […] or null, "activation": name or null}, …]``:
    weights as they act (the standard parameterisation); a layer with an activation is dense, one without
    linear.  The non-linear layers must share one activation (the substrate's networks have one φ).  Each
    entry is checked: numbers only, finite, shapes that chain, a known activation."""
    if not isinstance(layers, list) or not layers:
        raise UsageError('a network is a non-empty list of layers {"weight": [[…]], "bias": […] or null, "activation": …}')
    weights, biases, phis = [], [], []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict) or "weight" not in layer:
            raise UsageError(f'layer {i} must be an object with a "weight" matrix')
        unknown = set(layer) - {"weight", "bias", "activation"}
        if unknown:
            raise UsageError(f"layer {i} has unknown keys {sorted(unknown)}; a layer has weight, bias and activation")
        w = _finite_array(layer["weight"], f"layer {i}'s weight", 2)
        if weights and w.shape[1] != weights[-1].shape[0]:
            raise UsageError(f"layer {i}'s weight takes {w.shape[1]} inputs but layer {i - 1} gives {weights[-1].shape[0]}: the shapes do not chain")
        bias = layer.get("bias")
        b = np.zeros(w.shape[0]) if bias is None else _finite_array(bias, f"layer {i}'s bias", 1)
        if b.shape != (w.shape[0],):
            raise UsageError(f"layer {i}'s bias has {b.size} entries for {w.shape[0]} outputs")
        weights.append(w)
        biases.append(b)
        phis.append(_activation_of(layer.get("activation")))
    nonlinear = {phi for phi in phis if phi is not None}
    if len(nonlinear) > 1:
        raise UsageError(f"the layers use {len(nonlinear)} different activations ({', '.join(sorted(map(registered_name, nonlinear)))}); a network here has one activation for all its non-linear layers")
    phi = nonlinear.pop() if nonlinear else X
    kinds = tuple("linear" if p is None else "dense" for p in phis)
    return Network(weights, biases, phi, 1.0, 1.0, "standard", kinds)


def _no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise UsageError(f"a JSON object repeats the key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def network_from_json(path: str) -> Network:
    """:func:`network_from_layers` of a JSON file ``{"layers": […]}`` (data only: a pickle or other binary is refused;
    at most 64 MiB; no repeated keys; no keys but ``layers`` and ``description``)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read((64 << 20) + 1)
    except OSError as error:
        raise UsageError(f"cannot read the network {path}: {error.strerror or error}") from None
    if len(raw) > 64 << 20:
        raise UsageError(f"{path} is larger than 64 MiB: too large for a network read as JSON")
    if raw[:1] in (b"\x80",) or raw[:2] == b"PK":
        raise UsageError(f"{path} is a pickle or an archive, not a JSON network: a model file here is data, never code")
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # JSONDecodeError, a 5000-digit integer, deep nesting
        raise UsageError(f"{path} is not JSON a network can be read from ({type(error).__name__}: {str(error)[:80]})") from None
    if not isinstance(data, dict) or "layers" not in data:
        raise UsageError(f'{path} must hold an object {{"layers": [...]}}')
    unknown = set(data) - {"layers", "description"}
    if unknown:
        raise UsageError(f"{path} has unknown keys {sorted(unknown)}; a network file has layers (and a description)")
    return network_from_layers(data["layers"])


def from_torch(module) -> Network:
    """A network of the substrate from a ``torch.nn.Sequential`` of ``Linear`` and activation modules (ReLU,
    LeakyReLU, Tanh, Sigmoid, ELU, SELU, SiLU, GELU (exact), Softplus (β = 1), Hardtanh (−1, 1), Identity),
    checked as :func:`network_from_layers` checks a file."""
    import torch

    if not isinstance(module, torch.nn.Sequential):
        raise UsageError(f"a torch network here is a torch.nn.Sequential of Linear and activation modules, not {type(module).__name__}")
    layers: list[dict] = []
    for part in module:
        name = type(part).__name__
        if isinstance(part, torch.nn.Linear):
            layers.append({"weight": part.weight.detach().double().cpu().numpy(), "bias": None if part.bias is None else part.bias.detach().double().cpu().numpy(), "activation": None})
            continue
        if name not in _TORCH_ACTIVATIONS:
            raise UsageError(f"unsupported module {name}; a Sequential here holds Linear and {', '.join(_TORCH_ACTIVATIONS)}")
        if not layers or layers[-1]["activation"] is not None:
            raise UsageError(f"{name} must follow a Linear module")
        phi = _activation_of(_TORCH_ACTIVATIONS[name])
        if name == "LeakyReLU":
            phi = activation("leaky_relu").expr(sp.nsimplify(part.negative_slope))
        elif name == "ELU":
            phi = activation("elu").expr(sp.nsimplify(part.alpha))
        elif name == "GELU" and part.approximate != "none":
            raise UsageError("GELU(approximate='tanh') is not the exact GELU x·Φ(x) of this library")
        elif name == "Softplus" and (part.beta != 1 or part.threshold < 20):
            raise UsageError("Softplus with β ≠ 1 (or a threshold below 20) is not log(1 + eˣ)")
        elif name == "Hardtanh" and (part.min_val, part.max_val) != (-1.0, 1.0):
            raise UsageError("Hardtanh other than clip(x, −1, 1) is not supported")
        layers[-1]["activation"] = phi
    return network_from_layers(layers)


def random_dynamics(phi: sp.Expr, dim: int, width: int, depth: int, family: str = "gaussian", *, seed=0, low: float = 0.0, high: float = 1.0, bias_scale: float = 0.1, readout: bool = True) -> Network:
    """A map of ℝ^dim to itself: ``depth`` dense layers of ``width`` and a linear read-out to ``dim`` (or, without
    ``readout``, the last hidden layer of width ``dim``), weights of a family of :data:`WEIGHT_FAMILIES` with
    bounds [low, high], biases N(0, bias_scale²)."""
    rng = np.random.default_rng(seed)
    sizes = [dim] + [width] * (depth - (0 if readout else 1)) + [dim]
    weights = [constrained_weight(family, rng, m, n, low, high) for n, m in itertools.pairwise(sizes)]
    biases = [bias_scale * rng.standard_normal(m) for m in sizes[1:]]
    kinds = ("dense",) * (len(weights) - 1) + ("linear" if readout else "dense",)
    return Network(weights, biases, phi, 1.0, 1.0, "standard", kinds)


def switching_counterexample() -> Network:
    r"""A ReLU network of ℝ² without biases whose A*(x) has spectral radius below 1 at every x (at most 0.92,
    on every activation region and on the kinks between them) and whose orbits nonetheless diverge, about
    6 % a step: f(x) = L x + Σ_j a_j |n_j·x| with |t| = relu(t) + relu(−t), normals n_j at 0°, 60° and 120°.
    The six sector matrices are each stable; the orbit switches between them so that their product grows."""
    angles = np.arange(3) * np.pi / 3
    normals = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    linear_part = np.array([[-0.4, -1.35], [0.3, -0.15]])
    kinks = np.array([[0.1, 0.05], [0.4, -0.7], [-0.5, 0.2]])  # a_j, one column of the read-out a normal
    hidden = np.concatenate([np.eye(2), -np.eye(2), normals, -normals])  # relu(±x), relu(±n_j·x)
    readout = np.concatenate([linear_part, -linear_part, kinks.T, kinks.T], axis=1)
    return Network([hidden, readout], [np.zeros(10), np.zeros(2)], activation("relu").expr(), 1.0, 1.0, "standard", ("dense", "linear"))


# ---------------------------------------------------------------------------
# Activation regions of piecewise-linear networks


@dataclass(frozen=True)
class Region:
    """An activation region {x : G x ≤ h} (a polyhedron with interior) and the affine map f(x) = matrix x + offset
    on it; ``pattern`` names each unit's piece, layer by layer; ``centre`` is a point deep inside it."""

    pattern: tuple
    constraints: np.ndarray
    bounds: np.ndarray
    matrix: np.ndarray
    offset: np.ndarray
    centre: np.ndarray

    def contains(self, x: np.ndarray, tolerance: float = 1e-9) -> bool:
        scale = 1.0 + np.abs(self.constraints).sum(axis=1) * (1.0 + np.abs(x).max()) + np.abs(self.bounds)
        return bool(np.all(self.constraints @ x - self.bounds <= tolerance * scale))


def region_bound(network: Network) -> int:
    """An upper bound on the number of activation regions: per layer, the regions of an arrangement of
    (pieces − 1)·width hyperplanes in the input dimension d, Σ_{i ≤ d} C(n, i), multiplied over layers."""
    pieces = linear_pieces(network.phi)
    if pieces is None:
        raise UsageError(f"the activation {registered_name(network.phi)} is not piecewise linear: its regions are not polyhedra (use Newton's fixed points)")
    d = network.weights[0].shape[-1]
    bound = 1
    for w, kind in zip(network.weights, network.kinds):
        if kind == "linear":
            continue
        hyperplanes = (len(pieces) - 1) * w.shape[-2]
        bound *= sum(math.comb(hyperplanes, i) for i in range(min(d, hyperplanes) + 1))
    return bound


def enumeration_cost(network: Network) -> int:
    """The linear programmes an enumeration may solve: :func:`region_bound` × the number of non-linear units
    (each region is reached through one branch a unit; ~1 ms a programme)."""
    units = sum(np.shape(w)[-2] for w, kind in zip(network.weights, network.kinds) if kind != "linear")
    return region_bound(network) * max(units, 1)


#: The most linear programmes :func:`activation_regions` runs unless told otherwise (about a minute).
ENUMERATION_LIMIT = 50_000


def _interior(constraints: np.ndarray, bounds: np.ndarray, d: int) -> tuple[float, np.ndarray]:
    """The largest ball {‖y − c‖ ≤ t} (t ≤ 1) inside {G x ≤ h}, by one linear programme: (t, c)."""
    from scipy.optimize import linprog

    if constraints.shape[0] == 0:
        return 1.0, np.zeros(d)
    norms = np.linalg.norm(constraints, axis=1)
    a_ub = np.hstack([constraints, norms[:, None]])
    cost = np.zeros(d + 1)
    cost[-1] = -1.0
    result = linprog(cost, A_ub=a_ub, b_ub=bounds, bounds=[(None, None)] * d + [(None, 1.0)], method="highs")
    if result.status != 0:
        return -1.0, np.zeros(d)
    return float(result.x[-1]), result.x[:d]


def activation_regions(network: Network, *, limit: int = ENUMERATION_LIMIT) -> list[Region]:
    """Every activation region of a network with a piecewise-linear activation, exactly: a depth-first search over
    the units, layer by layer, each branch a piece of the activation kept only while its polyhedron has
    interior (a ball of radius > 1e-9, by a linear programme).  A :class:`UsageError` before the work when
    :func:`enumeration_cost` exceeds ``limit``."""
    pieces = linear_pieces(network.phi)
    if pieces is None:
        raise UsageError(f"the activation {registered_name(network.phi)} is not piecewise linear: its regions are not polyhedra")
    cost = enumeration_cost(network)
    if cost > limit:
        raise UsageError(f"up to {cost:.3g} linear programmes (the regions' bound × the units; limit {limit:.3g}): too many to enumerate; use fewer or narrower layers")
    d = network.weights[0].shape[-1]
    piece_data = [(float(p.lower), float(p.upper), float(p.slope), float(p.intercept)) for p in pieces]
    regions: list[Region] = []
    # a state: (layer, unit, the layer's input as matrix·x + offset, its pre-activations, the pieces chosen in
    # this layer as (slopes, intercepts), the constraints G x ≤ h, the pattern so far)
    stack = [(0, 0, np.eye(d), np.zeros(d), None, None, (), (), np.zeros((0, d)), np.zeros(0), ())]
    while stack:
        layer, unit, matrix, offset, pre_matrix, pre_offset, slopes, intercepts, constraints, bounds, pattern = stack.pop()
        if layer == len(network.kinds):
            _, centre = _interior(constraints, bounds, d)
            regions.append(Region(pattern, constraints, bounds, matrix, offset, centre))
            continue
        kind = network.kinds[layer]
        if unit == 0 and pre_matrix is None:  # the layer's pre-activations as affine maps of x on this region
            weight_scale, bias_scale = network.scales(layer)
            w = weight_scale * np.asarray(network.weights[layer])
            pre_matrix, pre_offset = w @ matrix, w @ offset + bias_scale * np.asarray(network.biases[layer])
            if kind == "linear":
                stack.append((layer + 1, 0, pre_matrix, pre_offset, None, None, (), (), constraints, bounds, pattern))
                continue
        if unit == pre_matrix.shape[0]:
            post_matrix = np.asarray(slopes)[:, None] * pre_matrix
            post_offset = np.asarray(slopes) * pre_offset + np.asarray(intercepts)
            if kind == "residual":
                post_matrix, post_offset = matrix + network.residual_step * post_matrix, offset + network.residual_step * post_offset
            stack.append((layer + 1, 0, post_matrix, post_offset, None, None, (), (), constraints, bounds, pattern))
            continue
        g, g0 = pre_matrix[unit], pre_offset[unit]
        for index, (lower, upper, slope, intercept) in reversed(list(enumerate(piece_data))):
            rows, values = [constraints], [bounds]
            if math.isfinite(lower):  # lower ≤ g·x + g0
                rows.append(-g[None]), values.append([g0 - lower])
            if math.isfinite(upper):  # g·x + g0 ≤ upper
                rows.append(g[None]), values.append([upper - g0])
            new_constraints, new_bounds = np.vstack(rows), np.concatenate(values)
            radius, _ = _interior(new_constraints, new_bounds, d)
            if radius > 1e-9:
                stack.append((layer, unit + 1, matrix, offset, pre_matrix, pre_offset, (*slopes, slope), (*intercepts, intercept), new_constraints, new_bounds, (*pattern, index)))
    return regions


# ---------------------------------------------------------------------------
# Fixed points and their types


@dataclass(frozen=True)
class FixedPoint:
    """x* = f(x*), its linearisation's eigenvalues (the Jacobian's, or the region matrix's), type and stability
    (None: undecided — a modulus 1, a fixed point on a kink whose adjacent regions do not decide, or a set of
    fixed points that is not isolated, ``type`` ``non-isolated`` with ``x`` one of its points)."""

    x: np.ndarray
    eigenvalues: np.ndarray
    type: str
    stable: bool | None

    def to_json(self) -> dict:
        return {
            "x": self.x.tolist(),
            "eigenvalues": [[float(e.real), float(e.imag)] for e in self.eigenvalues],
            "type": self.type,
            "stable": self.stable,
        }


def classify(eigenvalues: np.ndarray) -> tuple[str, bool | None]:
    """The type of a fixed point of a map from its linearisation's eigenvalues: ``saddle`` (moduli on both sides of
    1), ``focus`` (a complex pair), ``node``; ``non-hyperbolic`` when a modulus is 1 to 1e-9 (the linearisation
    does not decide: stability None).  Stable when every modulus is below 1."""
    moduli = np.abs(eigenvalues)
    if np.any(np.abs(moduli - 1.0) <= 1e-9):
        return "non-hyperbolic", None
    if moduli.min() < 1.0 < moduli.max():
        kind = "saddle"
    elif np.any(np.abs(np.imag(eigenvalues)) > 1e-12 * (1.0 + moduli)):
        kind = "focus"
    else:
        kind = "node"
    return kind, bool(moduli.max() < 1.0)


def _require_square(network: Network) -> int:
    d_in, d_out = network.weights[0].shape[-1], network.weights[-1].shape[-2]
    if d_in != d_out:
        raise UsageError(f"the network maps ℝ^{d_in} to ℝ^{d_out}: x_(k+1) = f(x_k) needs as many outputs as inputs")
    return d_in


def _fixed_point(x: np.ndarray, matrix: np.ndarray) -> FixedPoint:
    eigenvalues = np.linalg.eigvals(matrix)
    kind, stable = classify(eigenvalues)
    return FixedPoint(x, eigenvalues, kind, stable)


def _on_kink(x: np.ndarray, adjacent: list[Region]) -> FixedPoint:
    """A fixed point where regions meet: near it f(x) − x* = M(x − x*) with M in the convex hull of the adjacent
    regions' matrices, so a joint spectral radius below 1 of those makes it stable; otherwise undecided (the
    switching counterexample's origin is unstable although every adjacent matrix is stable)."""
    matrices = np.stack([r.matrix for r in adjacent])
    upper = jsr_bounds(matrices)[1]
    eigenvalues = np.concatenate([np.linalg.eigvals(m) for m in matrices])
    return FixedPoint(x, eigenvalues, "kink", True if upper < 1 else None)


def _fixed_set_point(region: Region) -> np.ndarray | None:
    """A point of {x ∈ region : (I − A)x = c} for a region whose I − A is singular, by a linear programme; None if empty."""
    from scipy.optimize import linprog

    d = region.matrix.shape[0]
    result = linprog(np.zeros(d), A_ub=region.constraints if region.constraints.size else None, b_ub=region.bounds if region.constraints.size else None, A_eq=np.eye(d) - region.matrix, b_eq=region.offset, bounds=[(None, None)] * d, method="highs")
    return result.x if result.status == 0 else None


def region_fixed_points(network: Network, regions: list[Region] | None = None, *, check_region: bool = True) -> list[FixedPoint]:
    """The fixed points of a piecewise-linear network: each region's (I − A_r) x = c_r, kept only when x lies in its
    region (``check_region=False`` keeps the virtual ones too — the negative control), classified by A_r; a point
    where regions meet is a ``kink`` (:func:`_on_kink`); a region whose I − A_r is singular and whose affine map
    fixes points inside it contributes a ``non-isolated`` set (one of its points, stability None)."""
    _require_square(network)
    regions = activation_regions(network) if regions is None else regions
    found: list[FixedPoint] = []
    for region in regions:
        system = np.eye(region.matrix.shape[0]) - region.matrix
        if np.linalg.cond(system) > 1e12:
            x = _fixed_set_point(region) if check_region else None
            if x is not None:
                found.append(FixedPoint(x, np.linalg.eigvals(region.matrix), "non-isolated", None))
            continue
        x = np.linalg.solve(system, region.offset)
        if check_region and not region.contains(x):
            continue
        if any(p.type != "non-isolated" and np.allclose(x, p.x, rtol=1e-9, atol=1e-9) for p in found):
            continue
        adjacent = [r for r in regions if r.contains(x)] if check_region else [region]
        found.append(_fixed_point(x, region.matrix) if len(adjacent) <= 1 else _on_kink(x, adjacent))
    return found


def iterate(network: Network, starts: np.ndarray, steps: int) -> np.ndarray:
    """x_k for k = 0 … steps from each start (samples, d): shape (steps + 1, samples, d); an orbit past 1e150
    is held there (as inf would poison the comparison)."""
    x = np.asarray(starts, float)
    out = [x]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            x = network.forward(x)[0][-1]
            x = np.where(np.isfinite(x), np.clip(x, -1e150, 1e150), 1e150)
            out.append(x)
    return np.stack(out)


def newton_fixed_points(network: Network, box: float = 3.0, starts_per_axis: int = 9, *, iterations: int = 100, seed: int = 0) -> list[FixedPoint]:
    """Fixed points of any network by Newton's method x ← x − (J(x) − I)⁻¹(f(x) − x) from a grid of starts on
    [−box, box]^d (a random sample of as many starts beyond d = 3), kept when the last step and |f(x) − x| are
    both ≤ 1e-11(1 + |x|) (slow convergence to a non-hyperbolic point leaves a step, and is not accepted early),
    merged within 1e-7, classified by the Jacobian (not by A*)."""
    d = _require_square(network)
    if d <= 3:
        axis = np.linspace(-box, box, starts_per_axis)
        x = np.stack(np.meshgrid(*[axis] * d, indexing="ij"), axis=-1).reshape(-1, d)
    else:
        x = np.random.default_rng(seed).uniform(-box, box, (starts_per_axis**3, d))
    eye = np.eye(d)
    step = np.full_like(x, np.inf)
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            residual = network.forward(x)[0][-1] - x
            system = jacobian(network, x) - eye
            ok = np.all(np.isfinite(system), axis=(-2, -1)) & np.all(np.isfinite(residual), axis=-1)
            ok[ok] = np.linalg.cond(system[ok]) < 1e14  # scale-free: near a non-hyperbolic point J − I is small but the step is not
            step = np.full_like(x, np.inf)
            step[ok] = np.linalg.solve(system[ok], residual[ok][..., None])[..., 0]
            x = np.where(np.isfinite(step), x - step, x)
        residual = np.abs(network.forward(x)[0][-1] - x).max(axis=-1)
    scale = 1e-11 * (1 + np.abs(x).max(axis=-1))
    found: list[FixedPoint] = []
    for point in x[(residual <= scale) & (np.abs(step).max(axis=-1) <= scale)]:
        if not any(np.linalg.norm(point - p.x) <= 1e-7 * (1 + np.linalg.norm(point)) for p in found):
            found.append(_fixed_point(point, jacobian(network, point[None])[0]))
    return found


def basins(network: Network, fixed_points: list[FixedPoint], box: float, resolution: int, steps: int = 400) -> np.ndarray:
    """For a network of ℝ², the index of the fixed point each start of a resolution² grid on [−box, box]² reaches
    within ``steps`` (to 1e-6 of its scale); −1 for an orbit that leaves 1e6(1 + box), −2 for any other (a cycle,
    a slow orbit)."""
    if _require_square(network) != 2:
        raise UsageError("basins are drawn for maps of the plane (d = 2)")
    axis = np.linspace(-box, box, resolution)
    starts = np.stack(np.meshgrid(axis, axis, indexing="xy"), axis=-1).reshape(-1, 2)
    end = iterate(network, starts, steps)[-1]
    labels = np.full(len(starts), -2)
    labels[np.linalg.norm(end, axis=-1) > 1e6 * (1 + box)] = -1
    for index, point in enumerate(fixed_points):
        labels[np.linalg.norm(end - point.x, axis=-1) <= 1e-6 * (1 + np.linalg.norm(point.x))] = index
    return labels.reshape(resolution, resolution)


# ---------------------------------------------------------------------------
# Global stability


def jsr_bounds(matrices: np.ndarray, *, products: int = 1 << 16) -> tuple[float, float, int]:
    """Bounds on the joint spectral radius of a finite set of matrices (m, d, d), from every product of length
    k = 1 … K (K the largest with m^K ≤ ``products``): lower max ρ(P)^{1/k}; upper the least over k of
    max ‖P‖^{1/k}, in the 2-norm and in the norm ‖T·‖ of the ellipsoid T = (Σ_{products} PᵀP)^{1/2} (each an
    induced norm, so each a valid bound).  Returns (lower, upper, K)."""
    matrices = np.asarray(matrices, float)
    m, d = matrices.shape[0], matrices.shape[-1]
    scale = float(np.linalg.norm(matrices, 2, axis=(-2, -1)).max())
    if scale == 0 or not math.isfinite(scale):
        return (0.0, 0.0, 1) if scale == 0 else (math.inf, math.inf, 1)
    matrices = matrices / scale  # the joint spectral radius is homogeneous: products of norm ≤ 1 neither overflow nor lose the bound
    depth = max(1, int(math.log(products) / math.log(max(m, 2))))
    lower, level, levels = 0.0, matrices, []
    for k in range(1, depth + 1):
        if k > 1:
            level = np.einsum("aij,bjk->abik", matrices, level).reshape(-1, d, d)
        levels.append(level)
        lower = max(lower, float(spectral_radius(level).max()) ** (1 / k))
    gram = np.eye(d) + sum(np.einsum("pji,pjk->ik", level, level) / level.shape[0] for level in levels)
    values, vectors = np.linalg.eigh(gram)
    t, t_inverse = (vectors * np.sqrt(values)) @ vectors.T, (vectors / np.sqrt(values)) @ vectors.T
    upper = math.inf
    for k, level in enumerate(levels, start=1):
        for transformed in (level, t @ level @ t_inverse):
            upper = min(upper, float(np.linalg.norm(transformed, 2, axis=(-2, -1)).max()) ** (1 / k))
    return lower * scale, upper * scale, depth


def diverging_orbit(network: Network, box: float = 10.0, *, starts: int = 512, steps: int = 600, seed: int = 0) -> dict | None:
    """A start whose orbit grows past 1e8(1 + box + ‖f(0)‖) within ``steps`` and keeps growing over its last tenth (a
    witness that f is not globally stable; ‖f(0)‖ puts the threshold beyond any fixed point the biases place far
    out), from 512 directions at radii box/100 … box; None if none does.  The witness records the start, the
    step it passed the threshold and its growth per step."""
    d = _require_square(network)
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((starts, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    radii = box * np.logspace(-2, 0, 4)
    x0 = (directions[:, None, :] * radii[None, :, None]).reshape(-1, d)
    orbit = iterate(network, x0, steps)
    norms = np.linalg.norm(orbit, axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        origin = float(np.linalg.norm(iterate(network, np.zeros((1, d)), 1)[-1]))
    threshold = 1e8 * (1 + box + origin)
    escaped = np.flatnonzero((norms[-1] > threshold) & ((norms[-1] > norms[-1 - steps // 10]) | (norms[-1] >= 1e150)))
    if escaped.size == 0:
        return None
    first = escaped[np.argmin([np.argmax(norms[:, i] > threshold) for i in escaped])]
    passed = int(np.argmax(norms[:, first] > threshold))
    return {"start": x0[first].tolist(), "steps_to_escape": passed, "growth_per_step": float((norms[passed, first] / max(norms[0, first], 1e-300)) ** (1 / max(passed, 1)))}


def global_stability(network: Network, *, box: float = 10.0, limit: int = ENUMERATION_LIMIT, regions: list[Region] | None = None) -> dict:
    """The verdict on global stability of x_{k+1} = f(x_k), with its evidence:

    * ``contraction_bound`` < 1 — globally stable (a contraction: one fixed point attracting every orbit);
    * for a piecewise-linear σ, ``jsr_upper`` < 1 on the regions' matrices — globally stable (incrementally:
      f(x) − f(y) = M(x − y) with M in their convex hull, whose joint spectral radius is theirs);
    * a ``witness`` orbit that diverges — not globally stable;
    * otherwise ``globally_stable`` is None (undecided), with the reason.  ``jsr_lower`` ≥ 1 alone decides
      nothing: the state chooses the switching, so the worst products need not occur.
    """
    _require_square(network)
    result = {"contraction_bound": contraction_bound(network), "jsr_lower": None, "jsr_upper": None, "jsr_product_length": None, "regions": None, "witness": None}
    if result["contraction_bound"] < 1:
        return {**result, "globally_stable": True, "reason": f"f is a contraction: ∏‖W‖₂·∏Lip(σ) = {result['contraction_bound']:.6g} < 1"}
    if linear_pieces(network.phi) is not None and regions is None and enumeration_cost(network) > limit:
        result["regions"] = f"up to {region_bound(network):.3g} (not enumerated: more than {limit:.3g} linear programmes)"
    elif linear_pieces(network.phi) is not None:
        regions = activation_regions(network, limit=limit) if regions is None else regions
        lower, upper, length = jsr_bounds(np.stack([r.matrix for r in regions]))
        result.update(jsr_lower=lower, jsr_upper=upper, jsr_product_length=length, regions=len(regions))
        if upper < 1:
            return {**result, "globally_stable": True, "reason": f"the {len(regions)} region matrices have joint spectral radius ≤ {upper:.6g} < 1"}
    witness = diverging_orbit(network, box)
    if witness is not None:
        return {**result, "witness": witness, "globally_stable": False, "reason": f"the orbit from {np.round(witness['start'], 6).tolist()} diverges (×{witness['growth_per_step']:.4g} a step)"}
    why = "the contraction bound is ≥ 1" + (", the joint spectral radius bound is ≥ 1" if result["jsr_upper"] is not None else ", the regions are too many to enumerate" if result["regions"] else " and σ is not piecewise linear (no finite set of region matrices)")
    return {**result, "globally_stable": None, "reason": why + ", and no orbit from the starts diverged"}


# ---------------------------------------------------------------------------
# 40 digits: the independent route of the claims


def mp_pointwise_affine(network: Network, x, *, rule: str = "quotient", dps: int = 40, value_only: bool = False):
    """(f(x), A*(x), b*(x)) of one sample (an array, or an mpmath vector) at ``dps`` digits with mpmath (one network of
    the substrate, no batch; ``value_only``: f(x) alone, A* and b* None):
    Λ(z) = (σ(z) − σ(0))/z evaluated at dps + (digits lost to the subtraction) digits, or σ′(z) for
    ``rule="derivative"``; composed as :func:`pointwise_affine` composes it."""
    import mpmath

    phi = generate(network.phi, [X], "mpmath")
    slope_of = generate(derivative(network.phi, X, 1), [X], "mpmath") if rule == "derivative" else None
    with mpmath.workdps(dps):
        value0 = phi(mpmath.mpf(0))

        def slope(z):
            if slope_of is not None:
                return slope_of(z)
            if z == 0:
                return mpmath.mpf(float(slope_quotient(network.phi).at_zero))
            with mpmath.workdps(dps + max(0, int(-mpmath.log10(abs(z)))) + 10):
                return (phi(z) - value0) / z

        post = x if isinstance(x, mpmath.matrix) else mpmath.matrix([mpmath.mpf(float(v)) for v in np.asarray(x, float)])
        d = len(post)
        matrix, offset = mpmath.eye(d), mpmath.zeros(d, 1)
        for layer, kind in enumerate(network.kinds):
            weight_scale, bias_scale = network.scales(layer)
            w = mpmath.matrix(np.asarray(network.weights[layer], float).tolist()) * mpmath.mpf(weight_scale)
            b = mpmath.matrix(np.asarray(network.biases[layer], float).tolist()) * mpmath.mpf(bias_scale)
            z = w * post + b
            if value_only:
                values = z if kind == "linear" else mpmath.matrix([phi(zi) for zi in z])
                post = values if kind != "residual" else post + mpmath.mpf(network.residual_step) * values
                continue
            carried, shifted = w * matrix, w * offset + b
            if kind == "linear":
                post, matrix, offset = z, carried, shifted
                continue
            lam = mpmath.diag([slope(zi) for zi in z])
            values = mpmath.matrix([phi(zi) for zi in z])
            layer_matrix, layer_offset = lam * carried, lam * shifted + value0 * mpmath.ones(len(z), 1)
            if kind == "residual":
                step = mpmath.mpf(network.residual_step)
                post, matrix, offset = post + step * values, matrix + step * layer_matrix, offset + step * layer_offset
            else:
                post, matrix, offset = values, layer_matrix, layer_offset
        return (post, None, None) if value_only else (post, matrix, offset)


def mp_orbit(network: Network, start, steps: int, *, dps: int = 40) -> list:
    """x_0 … x_steps at ``dps`` digits (mpmath column vectors); ``start`` is an array or an mpmath vector."""
    import mpmath

    with mpmath.workdps(dps):
        states = [start if isinstance(start, mpmath.matrix) else mpmath.matrix([mpmath.mpf(float(v)) for v in start])]
        for _ in range(steps):
            states.append(mp_pointwise_affine(network, states[-1], dps=dps, value_only=True)[0])
        return states


# ---------------------------------------------------------------------------
# Figures


def _unit_circle(ax, limit: float | None = None, label: str | None = "unit circle") -> None:
    """The unit circle (the stability boundary of a map's eigenvalues) on equal axes, drawn over the eigenvalues."""
    from dyncheck.numerics.figures import THEORY

    angles = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(angles), np.sin(angles), color="0.25", lw=0.9, zorder=THEORY, label=label)
    ax.set_aspect("equal")
    if limit is not None:
        ax.set(xlim=(-limit, limit), ylim=(-limit, limit))


def plot_spectrum(network: Network, samples: np.ndarray, path: str, title: str) -> None:
    """Eigenvalues of A*(x) and of the Jacobian J(x) over the samples x, in the complex plane with the unit circle."""
    from dyncheck.numerics.figures import DATA, figure

    with figure(path, figsize=(5.2, 5.0)) as fig:
        ax = fig.subplots()
        # A*(x) in larger dots under J(x): where they coincide (a piecewise-linear σ, A*(x) = J(x) a.e.) both show
        for matrices, colour, size, label in ((A_star(network, samples), "tab:blue", 16, "eigenvalues of $A^*(x)$"), (jacobian(network, samples), "tab:orange", 4, "eigenvalues of $J(x)$")):
            values = np.linalg.eigvals(matrices).ravel()
            ax.scatter(values.real, values.imag, s=size, alpha=0.5, color=colour, label=label, linewidths=0, zorder=DATA)
        _unit_circle(ax)
        ax.set(xlabel=r"Re $\lambda$", ylabel=r"Im $\lambda$")
        ax.legend(loc="best", markerscale=1.5)
        ax.set_title(title)


def plot_parameterisation_spectra(activations: tuple[str, ...], families: tuple[str, ...], path: str, *, dim: int = 8, width: int = 8, depth: int = 2, low: float = 0.5, high: float = 1.0, samples: int = 400, seed: int = 0) -> None:
    """A grid of the eigenvalues of A*(x) over ``samples`` inputs x ~ N(0, 4I), one panel per activation (rows) and
    weight parameterisation (columns), each network square (dim = width), with the unit circle (as Drgoňa et al.)."""
    from dyncheck.numerics.figures import DATA, figure

    x = np.random.default_rng(seed).normal(0, 2, (samples, dim))
    spectra = {(name, family): np.linalg.eigvals(A_star(random_dynamics(activation(name).expr(), dim, width, depth, family, seed=seed, low=low, high=high, readout=False), x)).ravel() for name in activations for family in families}
    limit = max(1.3, 1.05 * max(float(np.abs(v).max()) for v in spectra.values()))
    with figure(path, figsize=(2.2 * len(families) + 0.4, 2.2 * len(activations) + 0.6)) as fig:
        axes = np.atleast_2d(fig.subplots(len(activations), len(families), squeeze=False, sharex=True, sharey=True))
        for row, name in enumerate(activations):
            for column, family in enumerate(families):
                values = spectra[name, family]
                ax = axes[row, column]
                ax.scatter(values.real, values.imag, s=2, alpha=0.3, linewidths=0, zorder=DATA)
                _unit_circle(ax, limit, label=None)
                if row == 0:
                    ax.set_title(family)
                if column == 0:
                    ax.set_ylabel(f"{name}\n" + r"Im $\lambda$")
                if row == len(activations) - 1:
                    ax.set_xlabel(r"Re $\lambda$")
        layers = f"{depth} layer{'s' if depth > 1 else ''}"
        fig.suptitle(f"eigenvalues of $A^*(x)$ at {samples} inputs: {layers} of width {width}, bounds [{low:g}, {high:g}]; the unit circle in grey")


def plot_phase_portrait(network: Network, fixed_points: list[FixedPoint], box: float, path: str, title: str, *, resolution: int = 200, regions: list[Region] | None = None) -> None:
    """For a map of the plane: left, the state space coloured by activation region (piecewise-linear σ) or by
    ρ(A*(x)) (smooth σ), the displacement field f(x) − x, a few orbits and the fixed points marked by type;
    right, the basins of attraction of the stable fixed points (grey: diverging, white: neither)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from dyncheck.numerics.figures import DATA, THEORY, colorbar, figure, robust_norm

    axis = np.linspace(-box, box, resolution)
    grid = np.stack(np.meshgrid(axis, axis, indexing="xy"), axis=-1).reshape(-1, 2)
    coarse = np.linspace(-box, box, 21)
    points = np.stack(np.meshgrid(coarse, coarse, indexing="xy"), axis=-1).reshape(-1, 2)
    step = network.forward(points)[0][-1] - points
    orbits = iterate(network, np.random.default_rng(0).uniform(-box, box, (6, 2)), 30)
    stable = [p for p in fixed_points if p.stable]
    labels = basins(network, stable, box, resolution)
    extent = (-box, box, -box, box)
    with figure(path, figsize=(11, 5)) as fig:
        left, right = fig.subplots(1, 2)
        if regions is not None:
            region_of = np.full(len(grid), -1)
            for index, region in enumerate(regions):
                inside = np.all(grid @ region.constraints.T - region.bounds <= 1e-12, axis=1)
                region_of[inside] = index
            left.imshow(region_of.reshape(resolution, resolution), origin="lower", extent=extent, cmap="tab20", alpha=0.45, interpolation="nearest")
            left.set_title(f"{len(regions)} activation regions (colours), fixed points and orbits")
        else:
            radius = spectral_radius(A_star(network, grid)).reshape(resolution, resolution)
            norm, clipped = robust_norm(radius)
            image = left.imshow(radius, origin="lower", extent=extent, cmap="viridis", norm=norm)
            colorbar(fig, image, left, r"$\rho(A^*(x))$", clipped)
            left.set_title(r"$\rho(A^*(x))$ (colours), fixed points and orbits")
        left.quiver(points[:, 0], points[:, 1], step[:, 0], step[:, 1], angles="xy", color="0.3", width=0.002)
        for k in range(orbits.shape[1]):
            inside = np.all(np.abs(orbits[:, k]) <= 2 * box, axis=1)
            left.plot(orbits[inside, k, 0], orbits[inside, k, 1], "-o", ms=2, lw=0.7, color="tab:red", alpha=0.7, zorder=DATA)
        markers = {"node": "o", "focus": "s", "saddle": "X", "non-hyperbolic": "D", "kink": "P", "non-isolated": "*"}
        fills = {True: "k", False: "w", None: "0.6"}
        for point in fixed_points:
            left.scatter(*point.x, marker=markers[point.type], s=70, facecolor=fills[point.stable], edgecolor="k", zorder=THEORY + 1)
        handles = [Line2D([], [], marker=m, ls="", color="k", markerfacecolor="0.85", label=t) for t, m in markers.items() if any(p.type == t for p in fixed_points)]
        handles += [Line2D([], [], marker="o", ls="", color="k", markerfacecolor=fills[v], label=label) for v, label in ((True, "stable (black)"), (False, "unstable (white)"), (None, "undecided (grey)")) if any(p.stable is v for p in fixed_points)]
        handles += [Line2D([], [], color="tab:red", marker="o", ms=2, label="orbits (30 steps)"), Line2D([], [], color="0.3", marker=r"$\rightarrow$", ls="", ms=8, label="$f(x) - x$")]
        left.legend(handles=handles, loc="upper right")
        colours = ListedColormap(["1.0", "0.55", *[f"C{i % 10}" for i in range(len(stable))]])  # labels −2 (neither), −1 (diverges), 0, 1, …
        right.imshow(labels + 2, origin="lower", extent=extent, cmap=colours, vmin=0, vmax=len(stable) + 1, interpolation="nearest")
        basin_handles = []
        for index, point in enumerate(stable):
            where = f"$x^*_{index}$"
            if np.all(np.abs(point.x) <= box):
                right.scatter(*point.x, marker="o", s=60, color="k", zorder=THEORY + 1)
                right.annotate(where, point.x, xytext=(4, 4), textcoords="offset points")
            else:  # its basin reaches into the box, the point itself lies outside
                where += f" = ({point.x[0]:.3g}, {point.x[1]:.3g}), outside the box"
            basin_handles.append(Patch(color=f"C{index % 10}", label=f"basin of {where}"))
        basin_handles += [patch for label, patch in ((-1, Patch(facecolor="0.55", label="diverges")), (-2, Patch(facecolor="1.0", edgecolor="0.6", label="neither: bounded, at no stable fixed point after 400 steps"))) if np.any(labels == label)]
        right.legend(handles=basin_handles, loc="upper right")
        right.set_title(f"basins of the {len(stable)} stable fixed point(s)" if stable else "no stable fixed point: where orbits go in 400 steps")
        for ax in (left, right):
            ax.set(xlabel="$x_1$", ylabel="$x_2$", xlim=(-box, box), ylim=(-box, box))
        fig.suptitle(title)
