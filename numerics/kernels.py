r"""NNGP and NTK matrices from the layer maps of :mod:`theory.kernels`, and the same kernels of finite networks.

* :func:`kernel_matrices` runs the recursion of :mod:`theory.kernels` on N
  inputs at once, with the derived closed-form layer maps compiled by
  :func:`numerics.codegen.generate` (numpy or torch, float64).  Correlations
  are clipped to [−1, 1] so that rounding at c = ±1 gives no NaN.
* The finite networks whose kernels converge to these, their empirical NTK
  Θ = Σ_l (s_w² a_l a_lᵀ + s_b²) ∘ (δ_l δ_lᵀ) by backpropagation and its
  torch.func route, live in the one network substrate,
  :mod:`dyncheck.numerics.networks`.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.chebyshev import TableError, tabulate
from dyncheck.numerics.codegen import generate
from dyncheck.numerics.threads import budget
from dyncheck.numerics.gaussian import compile_derivation
from dyncheck.theory.symbols import Q1, Q2, RHO, SIGMA_B2, SIGMA_W2
from dyncheck.theory.errors import UsageError
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.theory.kernels import FORMULAS as KERNEL_FORMULAS
from dyncheck.theory.kernels import INNER_PRODUCT, LAYER_MAP, NNGP_NEXT, NTK, SLOPE_MAP, LayerMaps

__all__ = [
    "MARGINAL_INPUT_VARIANCE",
    "KernelOverflow",
    "DepthProfile",
    "kernel_layers",
    "slope_infinite_on_diagonal",
    "kernel_matrices",
    "inputs_at_fixed_point",
    "ntk_depth_profiles",
    "nngp_step",
    "ntk_step",
    "plot_ntk_depth",
]


#: K^{l+1} = σ_w² T(Σ^l) + σ_b², called as ``nngp_step(T, σ_w², σ_b²)``, and Θ^{l+1} = K^{l+1} + σ_w² Ṫ(Σ^l) Θ^l,
#: called as ``ntk_step(K^{l+1}, Ṫ, Θ^l, σ_w²)``: :data:`dyncheck.theory.kernels.FORMULAS` compiled to
#: operators that act on numpy arrays and torch tensors alike.
nngp_step = generate(KERNEL_FORMULAS["nngp_step"], (LAYER_MAP, SIGMA_W2, SIGMA_B2), "operators")
ntk_step = generate(KERNEL_FORMULAS["ntk_step"], (NNGP_NEXT, SLOPE_MAP, NTK, SIGMA_W2), "operators")
_input_nngp = generate(KERNEL_FORMULAS["input_nngp"], (INNER_PRODUCT, SIGMA_W2, SIGMA_B2), "operators")


#: Largest relative spread of the diagonal K^l(x, x) over the inputs for which one q serves them all
#: (the table's ``equal_diagonal_relative``).
EQUAL_DIAGONAL_RTOL = tolerance("equal_diagonal_relative")

#: Entries of the upper triangle updated at once: consecutive rows from their diagonal rightwards, as
#: many as keep a block within this size (at least one row); blocks run on threads (numpy releases the
#: GIL).  Measured on 2 cores, erf, 2000 inputs, depth 10 (best of three): 16384 entries a block 0.31 s
#: on two threads (the layer maps' many light operations then contend for the GIL), 131072 (1 MB an
#: array) 0.19 s, 262144 0.19 s; one thread 0.26–0.31 s throughout.
BLOCK_ENTRIES = 131072


def _row_blocks(n: int) -> list[tuple[int, int]]:
    """Consecutive rows (first, stop) of an n × n upper triangle, each ≤ :data:`BLOCK_ENTRIES` entries or one row."""
    blocks, first = [], 0
    while first < n:
        stop = first + 1
        while stop < n and (stop + 1 - first) * (n - first) <= BLOCK_ENTRIES:
            stop += 1
        blocks.append((first, stop))
        first = stop
    return blocks


class _LayerMap:
    """One layer map (q₁, q₂, ρ) ↦ E[…] on the pairs of N inputs: generated code for a closed form (numpy
    or torch); otherwise quadrature — by a Chebyshev table in ρ at each layer's q when every input has
    the same K^l(x, x) (inputs of one norm; numpy or torch), pair by pair when they differ (numpy)."""

    def __init__(self, derivation, backend: str = "numpy"):
        self.closed = derivation.closed
        if self.closed and backend != "numpy":
            self.function = generate(sp.sympify(derivation.value), [Q1, Q2, RHO], backend)
        else:
            self.function = compile_derivation(derivation, (Q1, Q2, RHO))

    def at_layer(self, q):
        """The map on a block (q₁ a column, q₂ a row, ρ) for a layer whose inputs have variances ``q``.

        Pair by pair, only the entries on or above the block's diagonal (column ≥ row) are evaluated."""
        if self.closed:
            return self.function
        if isinstance(q, np.ndarray):
            if np.ptp(q) <= EQUAL_DIAGONAL_RTOL * q.max():
                table = self._table(float(q.mean()))
                return lambda q1, q2, rho: table(rho.ravel()).reshape(rho.shape)
            return self._pair_by_pair
        if float(q.max() - q.min()) <= EQUAL_DIAGONAL_RTOL * float(q.max()):
            table = self._table(float(q.mean()))
            return lambda q1, q2, rho: table.torch(rho.reshape(-1)).reshape(rho.shape)
        raise UsageError(
            "without closed-form layer maps the torch backend needs inputs of one norm (one K^l(x, x) a layer); "
            "inputs of different norms run pair by pair with the numpy backend"
        )

    def _pair_by_pair(self, q1, q2, rho):
        rows, columns = np.triu_indices(rho.shape[0], m=rho.shape[1])
        values = np.zeros_like(rho)
        values[rows, columns] = self.function(q1[rows, 0], q2[0, columns], rho[rows, columns])
        return values

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one per layer map, a handful of q a run
    def _table(self, q: float):
        diagonal = float(self.function(np.array(q), np.array(q), np.array(1.0)))
        return tabulate(
            lambda rho: self.function(np.full_like(rho, q), np.full_like(rho, q), rho),
            [(-1.0, 1.0)],
            ["angle"],
            magnitude=lambda rho: np.full_like(rho, abs(diagonal)),
        )


@functools.lru_cache(maxsize=32)
def _compiled(maps: LayerMaps, backend: str) -> tuple[_LayerMap, _LayerMap]:
    """(T, Ṫ) compiled once per activation and backend."""
    return _LayerMap(maps.nngp, backend), _LayerMap(maps.ntk, backend)


def _correlations(kernel, q1, q2):
    """ρ = K/√(q₁q₂) clipped to [−1, 1], and exactly 1 on the diagonal, where an input meets itself
    (one rounding below 1 costs ~1e-8 in arccos-type maps: relu's Ṫ)."""
    if isinstance(kernel, np.ndarray):
        rho = kernel * (1 / np.sqrt(q1))  # the column and the row scaled apart: two passes over the block
        rho *= 1 / np.sqrt(q2)
        np.clip(rho, -1.0, 1.0, out=rho)
        np.fill_diagonal(rho, 1.0)
    else:
        rho = (kernel * q1.rsqrt() * q2.rsqrt()).clamp_(-1.0, 1.0)
        rho.fill_diagonal_(1.0)
    return rho


def kernel_matrices(
    maps: LayerMaps, x, depth: int, sw2: float, sb2: float, *, step=ntk_step, nngp_step=nngp_step, backend: str = "numpy"
):
    """(NNGP, NTK) of the network of ``depth`` nonlinearities at the N inputs ``x`` (N × d): K^{L+1}, Θ^{L+1}.

    ``nngp_step`` and ``step`` are the NNGP and NTK recursions (the published ones by default; both act
    entry by entry).  Closed-form layer maps run as generated code (numpy or torch); the others by
    quadrature, to ~1e-13 relative on the scale of the diagonal: a Chebyshev table in ρ for inputs of
    one norm (numpy or torch, on the tensor's device), pair by pair otherwise (numpy).  With numpy the upper
    triangle is updated in blocks of rows of at most :data:`BLOCK_ENTRIES` entries on threads and mirrored,
    so the matrices are exactly symmetric.
    """
    for nngp, ntk in _layers(maps, x, depth, sw2, sb2, step, nngp_step, backend, every_layer_symmetric=False):
        pass  # one layer held at a time
    return nngp, ntk


def kernel_layers(
    maps: LayerMaps, x, depth: int, sw2: float, sb2: float, *, step=ntk_step, nngp_step=nngp_step, backend: str = "numpy"
):
    """(K^l, Θ^l) for l = 1 … ``depth`` + 1, layer by layer: :func:`kernel_matrices` with every layer kept."""
    return _layers(maps, x, depth, sw2, sb2, step, nngp_step, backend, every_layer_symmetric=True)


def _layers(maps: LayerMaps, x, depth: int, sw2: float, sb2: float, step, nngp_step, backend: str, *, every_layer_symmetric: bool):
    """The layers of :func:`kernel_layers`; without ``every_layer_symmetric`` the numpy recursion fills only the
    upper triangle of the layers before the last (all it reads), sparing two matrices' worth of transposed copies
    a layer."""
    if depth < 0 or sw2 <= 0 or sb2 < 0:
        raise UsageError("depth ≥ 0, σ_w² > 0 and σ_b² ≥ 0 are needed")
    nngp_map, slope_map = _compiled(maps, backend)
    nngp = _input_nngp((x @ x.T) / x.shape[1], sw2, sb2)
    infinite_diagonal = slope_infinite_on_diagonal(maps)
    if backend == "numpy":
        layers = _numpy_recursion(nngp_map, slope_map, nngp, depth, (sw2, sb2, step, nngp_step, infinite_diagonal), every_layer_symmetric)
    else:
        layers = ((nngp, ntk, None) for nngp, ntk in _torch_recursion(nngp_map, slope_map, nngp, depth, sw2, sb2, step, nngp_step))
    return _finite_layers(layers, infinite_diagonal)


@functools.lru_cache(maxsize=64)
def slope_infinite_on_diagonal(maps: LayerMaps) -> bool:
    """Whether Ṫ(q, q, ρ) → +∞ as ρ → 1 (φ′ holds a Dirac delta: sign, step), so that Θ(x, x) = +∞ exactly, not by
    overflow: decided by SymPy on the closed form (no closed form: False, and an infinite diagonal is overflow)."""
    if not maps.ntk.closed:
        return False
    from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

    try:
        with time_limit(10):
            return sp.limit(maps.ntk.value.subs({Q1: 1, Q2: 1}), RHO, 1, "-") == sp.oo
    except (SymbolicTimeout, NotImplementedError, ValueError, TypeError):
        return False


class KernelOverflow(UsageError):
    """The kernels grow past double precision before the last layer (exp(x) at q ≳ 700, relu(x)² at a few layers)."""


def _finite(matrix, *, except_diagonal: bool = False) -> bool:
    """Whether every entry (every one off the diagonal) of a numpy array or torch tensor is finite, on its own device."""
    finite = matrix.isfinite() if hasattr(matrix, "isfinite") else np.isfinite(matrix)
    if except_diagonal:  # the diagonal is +∞ by right (φ′ holds a Dirac delta); the rest must be finite
        if hasattr(finite, "fill_diagonal_"):
            finite.fill_diagonal_(True)
        else:
            np.fill_diagonal(finite, True)
    return bool(finite.all())


def _finite_layers(layers, infinite_ntk_diagonal: bool):
    """The layers K^1, K^2, … as they come, stopping with :class:`KernelOverflow` — in words, naming the layer — at the
    first kernel that is not finite, or whose layer map could not be tabulated because its values overflow.  With
    ``infinite_ntk_diagonal`` (:func:`slope_infinite_on_diagonal`) the NTK's diagonal may be +∞: that is its value.

    ``layers`` yields ``(K, Θ, finite)``: ``finite`` as the recursion found it, or None to be checked here."""
    level, largest = 1, 0.0
    iterator = iter(layers)
    while True:
        try:
            nngp, ntk, finite = next(iterator)
        except StopIteration:
            return
        except TableError as error:
            if "not finite" not in str(error):
                raise
            nngp = finite = None
        if finite is None and nngp is not None:
            finite = _finite(nngp) and _finite(ntk, except_diagonal=infinite_ntk_diagonal)
        if not finite:
            raise KernelOverflow(f"the kernels overflow double precision at layer {level}: K^{level - 1}(x, x) reached {largest:.3g} and K^{level} exceeds ~1.8e308 (reduce the depth, σ_w² or the inputs' norms)")
        largest = float(abs(nngp.diagonal()).max())
        level += 1
        yield nngp, ntk


def _torch_recursion(nngp_map, slope_map, nngp, depth, sw2, sb2, step, nngp_step):
    ntk = nngp
    yield nngp, ntk
    for _ in range(depth):
        q = nngp.diagonal()
        q1, q2 = q[:, None], q[None, :]
        rho = _correlations(nngp, q1, q2)
        nngp_next = nngp_step(nngp_map.at_layer(q)(q1, q2, rho), sw2, sb2)
        ntk = step(nngp_next, slope_map.at_layer(q)(q1, q2, rho), ntk, sw2)
        nngp = nngp_next
        yield nngp, ntk


def _numpy_recursion(nngp_map, slope_map, nngp, depth, recursion, every_layer_symmetric: bool):
    """(K^l, Θ^l, whether finite) layer by layer, the upper triangle in blocks on threads; each layer mirrored below
    the diagonal when ``every_layer_symmetric``, else the last only, and then a layer's matrices are overwritten
    two layers later (four matrices in all, not two a layer: fresh memory costs page faults).  ``recursion`` = (σ_w², σ_b², the NTK step,
    the NNGP step, whether Θ's diagonal may be +∞)."""
    n = nngp.shape[0]
    blocks = _row_blocks(n)
    tiles = range(0, n, MIRROR_TILE)
    ntk = nngp.copy()
    yield nngp, ntk, None
    spare = None  # without every layer kept, the layer before last's matrices take the next layer
    with ThreadPoolExecutor(min(len(blocks), budget())) as pool:
        for layer in range(depth):
            q = nngp.diagonal().copy()
            out = spare or (np.empty_like(nngp), np.empty_like(ntk))
            maps = nngp_map.at_layer(q), slope_map.at_layer(q)
            finite = all(list(pool.map(functools.partial(_update_block, nngp, ntk, q, maps, out, recursion), blocks)))  # every block done
            if every_layer_symmetric or layer == depth - 1:
                list(pool.map(functools.partial(_mirror_tile_row, out), tiles))
            spare = None if every_layer_symmetric else (nngp, ntk)
            nngp, ntk = out
            yield nngp, ntk, finite


def _update_block(nngp, ntk, q, maps, out, recursion, block: tuple[int, int]) -> bool:
    """K^{l+1} and Θ^{l+1} on the rows ``block`` = (first, stop), from their diagonal entry rightwards (the
    recursion reads the upper triangle only); whether they are finite (Θ's diagonal aside where it may be +∞)."""
    sw2, sb2, step, nngp_step, infinite_diagonal = recursion
    first, stop = block
    rows, columns = slice(first, stop), slice(first, None)
    q1, q2 = q[rows, None], q[None, columns]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # ±∞ past double precision (or δ² at ρ = 1): _finite_layers judges
        rho = _correlations(nngp[rows, columns], q1, q2)
        nngp_block = nngp_step(maps[0](q1, q2, rho), sw2, sb2)
        ntk_block = step(nngp_block, maps[1](q1, q2, rho), ntk[rows, columns], sw2)
    out[0][rows, columns] = nngp_block
    out[1][rows, columns] = ntk_block
    return _finite(nngp_block) and _finite(ntk_block, except_diagonal=infinite_diagonal)


#: Side of the square tiles in which the upper triangle is copied below the diagonal (a tile of 128 kB is
#: transposed in cache; measured 3 ms for a 2000 × 2000 matrix, against 16 ms row block by row block).
MIRROR_TILE = 128


def _mirror_tile_row(matrices, first: int) -> None:
    """The tiles of rows first … first + :data:`MIRROR_TILE` on and above the diagonal, copied below it
    (each call writes its own columns: calls run on threads)."""
    rows = slice(first, first + MIRROR_TILE)
    for matrix in matrices:
        square = matrix[rows, rows]
        square[...] = np.triu(square) + np.triu(square, 1).T
        for start in range(first + MIRROR_TILE, matrix.shape[0], MIRROR_TILE):
            columns = slice(start, start + MIRROR_TILE)
            matrix[columns, rows] = matrix[rows, columns].T


def inputs_at_fixed_point(q_star: float, sw2: float, sb2: float, dimension: int = 3, cosine: float = 0.5) -> np.ndarray:
    """Two inputs with K^1(x, x) = σ_w²|x|²/d + σ_b² = q* and an angle of arccos(``cosine``) between them."""
    if not q_star > sb2:
        raise UsageError(f"an input at q* = {q_star:g} needs q* > σ_b² = {sb2:g}")
    radius = np.sqrt(dimension * (q_star - sb2) / sw2)
    second = np.zeros(dimension)
    second[:2] = cosine, np.sqrt(1 - cosine**2)
    return radius * np.stack([np.eye(dimension)[0], second])


#: The inputs' variance where every q is a fixed point (ReLU at (2, 0)): any would do.
MARGINAL_INPUT_VARIANCE = 1.0


@dataclass(frozen=True)
class DepthProfile:
    """The NTK layer by layer (l = 1 … L + 1) for two inputs at the variance fixed point q*, beside the
    mean-field prediction Θ^l(x, x) = q*(1 − χ₁^l)/(1 − χ₁) (:func:`theory.kernels.ntk_diagonal`)."""

    sigma_w2: float
    sigma_b2: float
    q_star: float
    chi_1: float
    phase: str
    diagonal: np.ndarray
    normalised: np.ndarray
    predicted: np.ndarray
    #: Every q is a fixed point (an affine q-map of slope 1 and no bias: ReLU at (2, 0)); q_star is then
    #: :data:`MARGINAL_INPUT_VARIANCE`, the inputs' variance.
    every_q_fixed: bool = False


def ntk_depth_profiles(maps: LayerMaps, points, depth: int, cosine: float = 0.5) -> list[DepthProfile]:
    """One :class:`DepthProfile` per (σ_w², σ_b²) in ``points``; q* and χ₁ from :mod:`numerics.meanfield`."""
    from dyncheck.numerics.meanfield import mean_field_state
    from dyncheck.theory.kernels import ntk_diagonal
    from dyncheck.theory.meanfield import mean_field

    sw2, sb2 = (np.array(values, float) for values in zip(*points))
    state = mean_field_state(mean_field(maps.phi), sw2, sb2)
    layers = np.arange(depth + 1)
    profiles = []
    for i in range(sw2.size):
        q_star, chi_1 = float(state.q_star[i]), float(state.chi_1[i])
        every_q_fixed = bool(not np.isfinite(q_star) and state.phase_names()[i] == "critical" and np.isfinite(chi_1))
        if every_q_fixed:  # the marginal point (mean_field_state gives its slopes, not a q*): inputs at any q stay there
            q_star = MARGINAL_INPUT_VARIANCE
        if not np.isfinite(q_star):
            raise UsageError(f"no variance fixed point at σ_w² = {sw2[i]:g}, σ_b² = {sb2[i]:g}")
        x = inputs_at_fixed_point(q_star, sw2[i], sb2[i], cosine=cosine)
        ntks = np.array([ntk for _, ntk in kernel_layers(maps, x, depth, sw2[i], sb2[i])])
        with np.errstate(divide="ignore", invalid="ignore"):
            predicted = np.where(chi_1 == 1, q_star * (layers + 1), ntk_diagonal(q_star, chi_1, layers))
        phase = str(state.phase_names()[i])
        profiles.append(DepthProfile(sw2[i], sb2[i], q_star, chi_1, phase, ntks[:, 0, 0], ntks[:, 0, 1] / ntks[:, 0, 0], predicted, every_q_fixed))
    return profiles


def plot_ntk_depth(profiles: list[DepthProfile], title: str, path) -> None:
    """Two panels against depth: Θ^l(x, x)/q* (points) under the mean-field prediction (1 − χ₁^l)/(1 − χ₁) (dashed,
    drawn on top), and Θ^l(x, x′)/Θ^l(x, x); each panel with its legend."""
    from dyncheck.numerics.figures import DATA, THEORY, figure

    with figure(path, figsize=(10, 4.2)) as fig:
        left, right = fig.subplots(1, 2)
        for profile in profiles:
            layers = np.arange(1, profile.diagonal.size + 1)
            label = rf"$\sigma_w^2$ = {profile.sigma_w2:.4g}, $\sigma_b^2$ = {profile.sigma_b2:g}: $\chi_1$ = {profile.chi_1:.3f} ({profile.phase})"
            (points,) = left.plot(layers, profile.diagonal / profile.q_star, "o", ms=3.5, alpha=0.8, zorder=DATA, label=label)
            left.plot(layers, profile.predicted / profile.q_star, "--", color="k", lw=1.1, zorder=THEORY)
            right.plot(layers, profile.normalised, "o-", ms=3, color=points.get_color(), zorder=DATA, label=label)
        left.plot([], [], "--", color="k", lw=1.1, label=r"mean field: $(1 - \chi_1^{\,l})/(1 - \chi_1)$")
        left.set(yscale="log", xlabel="layer $l$", ylabel=r"$\Theta^l(x, x)\,/\,q^*$", title="NTK diagonal against the mean-field law")
        right.set(xlabel="layer $l$", ylabel=r"$\Theta^l(x, x')\,/\,\Theta^l(x, x)$", ylim=(-0.05, 1.05),
                  title="normalised NTK: → 1 ordered, → 0 chaotic")
        left.legend(loc="upper left")
        right.legend(loc="best")
        fig.suptitle(title)


