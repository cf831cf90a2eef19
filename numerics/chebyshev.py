r"""Piecewise Chebyshev tables of functions of one or two parameters.

Mean-field maps, kernels and phase diagrams evaluate the same expectation —
:math:`g(q) = \mathbb E[\phi(\sqrt q z)^2]`, or :math:`K(q, \rho)` — at up to
millions of parameter values.  :func:`tabulate` builds, once, a piecewise
Chebyshev interpolant of such a function from a vectorized evaluator (usually a
:class:`numerics.gaussian.CompiledExpectation`), and evaluates it by Clenshaw
sums in O(degree) (one parameter) or O(degree²) (two) operations a point.

Construction (the standard adaptive scheme of Chebfun, Trefethen 2013,
*Approximation Theory and Approximation Practice*, ch. 3 and 8): each cell is
sampled at ``degree`` Chebyshev points of the first kind in a working
coordinate (``log x`` for a positive parameter spanning decades, ``x``
otherwise); its coefficients come from the discrete cosine transform; the cell
is accepted when its last three coefficients are below ``rtol`` times the
cell's scale, else it is halved.  For an analytic function the neglected tail
bounds the interpolation error.  The scale is taken slice by slice (each line of
nodes along the direction being tested): its smallest |value| where the
function keeps one sign, so the error is relative even where the function is
tiny (E[tanh(√q z)²] ≈ q at q = 1e-6), and its largest |value| where it
changes sign (relative accuracy is not defined at a zero: the tanh kernel at
ρ = 0).  Next to a zero on a cell's edge (the ReLU kernel at ρ = −1) the
smallest value shrinks with the cell, so once a cell is narrower than
:data:`ZERO_ZONE` of the domain its scale is at least the rounding noise of
the values, :data:`NOISE_FLOOR` × its largest |value| / ``rtol``.  A caller that
knows a natural magnitude passes it instead (``magnitude``): a kernel K(q, ρ) is
held to ``rtol`` × K(q, 1), its diagonal, which bounds it by Cauchy–Schwarz —
the accuracy its uses need, without refining towards its zeros in ρ.

Two parameters: cells are columns in the first parameter, each split in the
second parameter independently; a column whose first-parameter tail is too
large is halved and rebuilt.

After construction the table is checked against the evaluator at points
between the Chebyshev nodes (midpoints of each cell), and the largest relative
difference is kept in :attr:`ChebyshevTable.verified_error`.

A caller that can name its function (``key``: the activation and the
expectation) keeps its tables on disk in the derivation cache
(:mod:`dyncheck.theory.cache`): cells, coefficients and scales as JSON numbers,
keyed by the name, the table's domain, coordinates, accuracy and degree, and
the source of every ``numerics`` module.  A stored table is used only if the
check above, run again against the evaluator, is within
:data:`TRUSTED_ERROR` × ``rtol``; a table that is not is never stored.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dyncheck.numerics.threads import on_every_core
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.theory.cache import cached

__all__ = [
    "MAX_CELLS",
    "TABLE_DEGREE",
    "TABLE_RTOL",
    "TRUSTED_ERROR",
    "ChebyshevTable",
    "TableError",
    "tabulate",
]

#: Chebyshev points per cell and parameter.
TABLE_DEGREE = 24
#: Accuracy target: the neglected coefficients of a cell, relative to its scale, and the rounding
#: noise of the tabulated values (the table's ``chebyshev_cell_tail`` and ``chebyshev_noise_floor``).
TABLE_RTOL = tolerance("chebyshev_cell_tail")
NOISE_FLOOR = tolerance("chebyshev_noise_floor")
#: Width (a fraction of the domain in the working coordinate) below which a cell next
#: to a zero is held to NOISE_FLOOR rather than refined further.
ZERO_ZONE = 1e-3
#: Upper bound on the number of cells before construction gives up.
MAX_CELLS = 4096
#: Narrowest cell, as a fraction of the domain in the working coordinate.
MIN_WIDTH = 1e-9
#: Points a chunk in two-parameter evaluation: its two bases (degree × chunk, 1 MB each at degree 32) stay in L2.
EVALUATION_CHUNK = 4096
#: Points a chunk of one-parameter evaluation: its few working arrays stay in the L2 cache.
CLENSHAW_CHUNK = 16384
#: A table read from the cache is used when its check against the evaluator (cell midpoints and
#: quarter points, as at construction) is within this many times its ``rtol`` (the table's
#: ``chebyshev_cache_check``, with its reason).
TRUSTED_ERROR = tolerance("chebyshev_cache_check")


class TableError(RuntimeError):
    """The function could not be tabulated to the requested accuracy."""


COORDINATES = ("linear", "log", "angle")


@dataclass(frozen=True)
class _Axis:
    """A parameter's domain and its working coordinate s.

    ``linear``: s = x.  ``log``: s = ln x (a positive parameter over decades).
    ``angle``: s = arccos x for a correlation in [−1, 1], in which arc-cosine
    kernels are analytic and the √(1 − ρ) behaviour of saturating ones at ρ → ±1
    is smooth.
    """

    lo: float
    hi: float
    coordinate: str

    def __post_init__(self):
        if not (np.isfinite(self.lo) and np.isfinite(self.hi) and self.lo < self.hi):
            raise ValueError(
                f"a table's domain must be a finite interval lo < hi, got [{self.lo}, {self.hi}]"
            )
        if self.coordinate not in COORDINATES:
            raise ValueError(
                f"unknown coordinate {self.coordinate!r}; choose from {', '.join(COORDINATES)}"
            )
        if self.coordinate == "log" and self.lo <= 0:
            raise ValueError("a logarithmic coordinate needs a positive domain")
        if self.coordinate == "angle" and (self.lo < -1 or self.hi > 1):
            raise ValueError("an angle coordinate needs a domain inside [−1, 1]")

    @staticmethod
    def default_coordinate(lo: float, hi: float) -> str:
        return "log" if lo > 0 and hi / lo >= 100 else "linear"

    def forward(self, x):
        x = np.asarray(x, float)
        if self.coordinate == "log":
            return np.log(x)
        if self.coordinate == "angle":
            return -np.arccos(x)  # increasing in x
        return x

    def inverse(self, s):
        if self.coordinate == "log":
            return np.exp(s)
        if self.coordinate == "angle":
            return np.cos(-s)
        return s

    @property
    def span(self) -> tuple[float, float]:
        return float(self.forward(self.lo)), float(self.forward(self.hi))

    def check(self, x: np.ndarray, name: str):
        outside = ~(x >= self.lo) | ~(x <= self.hi)
        if np.any(outside):
            raise ValueError(
                f"{name} = {x[outside].ravel()[0]} lies outside the table's domain [{self.lo}, {self.hi}]"
            )


def _chebyshev_nodes(n: int) -> np.ndarray:
    return np.cos(np.pi * (np.arange(n) + 0.5) / n)


def _transform_matrix(n: int) -> np.ndarray:
    """M with c = M f: coefficients of the interpolant through the first-kind nodes."""
    k = np.arange(n)
    m = 2.0 / n * np.cos(np.pi * np.outer(k, k + 0.5) / n)
    m[0] /= 2
    return m


def _basis(t: np.ndarray, n: int) -> np.ndarray:
    """T_0 … T_{n−1} at the points t (one-dimensional), shape (n, t.size): each row contiguous."""
    out = np.empty((n, t.size))
    out[0] = 1.0
    if n > 1:
        out[1] = t
    twice = 2 * t
    for k in range(2, n):
        np.multiply(twice, out[k - 1], out=out[k])
        out[k] -= out[k - 2]
    return out


def _clenshaw(t: np.ndarray, coefficient: Callable, n: int) -> np.ndarray:
    """Σ_{k<n} c_k T_k(t) by Clenshaw's recurrence b_k = 2t b_{k+1} − b_{k+2} + c_k, where ``coefficient(k)``
    gives c_k at every point (an array of t's shape)."""
    twice = 2 * t
    b1 = np.zeros_like(t)
    b2 = np.zeros_like(t)
    for k in range(n - 1, 0, -1):
        b = twice * b1
        b -= b2
        b += coefficient(k)
        b1, b2 = b, b1
    return t * b1 - b2 + coefficient(0)


def _local(s, a, b):
    return (2 * s - (a + b)) / (b - a)


def _global(t, a, b):
    return (a + b) / 2 + (b - a) / 2 * t


class ChebyshevTable:
    """A piecewise Chebyshev interpolant over a box of one or two parameters.

    Call it with one array per parameter (broadcast together).  Values outside
    the domain raise ``ValueError``.
    """

    def __init__(
        self,
        function: Callable,
        domain: Sequence[tuple[float, float]],
        coordinates: Sequence[str],
        rtol: float,
        degree: int,
        magnitude: Callable | None = None,
        data: dict | None = None,
    ):
        if len(domain) not in (1, 2) or len(coordinates) != len(domain):
            raise ValueError(
                "a table has one or two parameters, each with a coordinate"
            )
        self.function = function
        self.magnitude = magnitude
        self.axes = tuple(
            _Axis(float(lo), float(hi), c) for (lo, hi), c in zip(domain, coordinates)
        )
        self.rtol = float(rtol)
        self.degree = int(degree)
        self._nodes = _chebyshev_nodes(self.degree)
        self._transform = _transform_matrix(self.degree)
        self.function_evaluations = 0
        if data is not None:
            self._restore(data)
        elif len(self.axes) == 1:
            self._build_1d()
        else:
            self._build_2d()
        self.verified_error = self._verify()

    # -- construction ----------------------------------------------------
    def _evaluate(self, *params):
        self.function_evaluations += params[0].size
        values = np.asarray(self.function(*params), float)
        if not np.all(np.isfinite(values)):
            raise TableError("the function is not finite on the whole domain")
        return values

    def _magnitudes(self, values, *params):
        """|f| at the nodes, or the caller's ``magnitude`` (an upper bound of |f| there)."""
        if self.magnitude is None:
            return np.abs(values)
        out = np.broadcast_to(np.asarray(self.magnitude(*params), float), values.shape)
        if not np.all(out > 0):
            raise TableError("the magnitude must be positive on the whole domain")
        return out

    def _scale(self, values, magnitude, axis, narrow):
        """Scale of each slice of ``values`` along ``axis``: the error target is rtol × scale
        (see the module docstring)."""
        if self.magnitude is not None:
            return magnitude.min(axis=axis)
        largest = magnitude.max(axis=axis)
        sign_change = (values.min(axis=axis) < 0) & (values.max(axis=axis) > 0)
        scale = np.where(sign_change, largest, magnitude.min(axis=axis))
        return np.where(
            narrow, np.maximum(scale, NOISE_FLOOR / self.rtol * largest), scale
        )

    def _converged(self, values, magnitude, axis, narrow):
        """Whether the Chebyshev tail of every slice of ``values`` along ``axis`` meets its target."""
        coefficients = np.moveaxis(
            np.tensordot(self._transform, values, axes=([1], [axis])), 0, axis
        )
        tail = np.abs(np.take(coefficients, [-3, -2, -1], axis=axis)).max(axis=axis)
        ok = tail <= self.rtol * self._scale(values, magnitude, axis, narrow)
        return ok.reshape(ok.shape[0], -1).all(axis=1)

    def _too_many(self, cells: int, width: float, axis: _Axis, where: float):
        lo, hi = axis.span
        if cells > MAX_CELLS or width < MIN_WIDTH * (hi - lo):
            x = float(axis.inverse(where))
            raise TableError(
                f"could not reach relative accuracy {self.rtol:g} near {x:g} within {MAX_CELLS} cells "
                f"no narrower than {MIN_WIDTH:g} of the domain (a jump or a singularity there?)"
            )

    def _build_1d(self):
        (axis,) = self.axes
        pending = [axis.span]
        cells = []
        while pending:
            a, b = np.array(pending).T
            s = _global(self._nodes, a[:, None], b[:, None])
            x = axis.inverse(s)
            values = self._evaluate(x)
            magnitude = self._magnitudes(values, x)
            coefficients = values @ self._transform.T
            narrow = b - a < ZERO_ZONE * (axis.span[1] - axis.span[0])
            scale = self._scale(values, magnitude, 1, narrow)
            ok = self._converged(values, magnitude, 1, narrow)
            pending = []
            for i in range(len(a)):
                if ok[i]:
                    cells.append((a[i], b[i], coefficients[i], scale[i]))
                    continue
                self._too_many(
                    len(cells) + len(pending), b[i] - a[i], axis, (a[i] + b[i]) / 2
                )
                mid = (a[i] + b[i]) / 2
                pending += [(a[i], mid), (mid, b[i])]
        cells.sort(key=lambda cell: cell[0])
        self._lower = np.array([c[0] for c in cells])
        self._upper = np.array([c[1] for c in cells])
        self._coefficients = np.array([c[2] for c in cells])
        self._scales = np.array([c[3] for c in cells])

    def _build_2d(self):
        axis0, axis1 = self.axes
        columns = {axis0.span: [axis1.span]}  # column -> row cells still to build
        done: dict[tuple, list] = {}
        while any(columns.values()):
            work = [(col, row) for col, rows in columns.items() for row in rows]
            cols, rows = np.array([w[0] for w in work]), np.array([w[1] for w in work])
            s0 = _global(self._nodes, cols[:, :1], cols[:, 1:])[:, :, None]
            s1 = _global(self._nodes, rows[:, :1], rows[:, 1:])[:, None, :]
            s0, s1 = np.broadcast_arrays(s0, s1)
            x0, x1 = axis0.inverse(s0), axis1.inverse(s1)
            values = self._evaluate(x0, x1)
            magnitude = self._magnitudes(values, x0, x1)
            coefficients = np.einsum(
                "ik,ckl,jl->cij", self._transform, values, self._transform
            )
            narrow0 = cols[:, 1] - cols[:, 0] < ZERO_ZONE * (
                axis0.span[1] - axis0.span[0]
            )
            narrow1 = rows[:, 1] - rows[:, 0] < ZERO_ZONE * (
                axis1.span[1] - axis1.span[0]
            )
            ok0 = self._converged(values, magnitude, 1, narrow0[:, None])
            ok1 = self._converged(values, magnitude, 2, narrow1[:, None])
            scale = self._scale(
                values.reshape(len(work), -1),
                magnitude.reshape(len(work), -1),
                1,
                narrow0 | narrow1,
            )
            new_columns: dict[tuple, list] = {}
            halved = set()
            cells = sum(map(len, done.values())) + len(work)
            for i, (col, row) in enumerate(work):
                if col in halved:
                    continue
                if not ok0[i]:
                    # the whole column is halved; its row structure seeds both halves
                    rows_seen = sorted(
                        {r for r, _, _ in done.pop(col, [])} | set(columns[col])
                    )
                    self._too_many(cells, col[1] - col[0], axis0, (col[0] + col[1]) / 2)
                    mid = (col[0] + col[1]) / 2
                    new_columns[(col[0], mid)] = list(rows_seen)
                    new_columns[(mid, col[1])] = list(rows_seen)
                    halved.add(col)
                elif ok1[i]:
                    done.setdefault(col, []).append((row, coefficients[i], scale[i]))
                else:
                    self._too_many(cells, row[1] - row[0], axis1, (row[0] + row[1]) / 2)
                    mid = (row[0] + row[1]) / 2
                    new_columns.setdefault(col, []).extend(
                        [(row[0], mid), (mid, row[1])]
                    )
            for col in halved:
                new_columns.setdefault(col, None)
                del new_columns[col]
            columns = new_columns
        ordered = sorted(
            ((col, row, c, sc) for col, cells in done.items() for row, c, sc in cells),
            key=lambda x: (x[0], x[1]),
        )
        self._column_lower = np.array(sorted({col[0] for col, *_ in ordered}))
        self._column_upper = np.array(sorted({col[1] for col, *_ in ordered}))
        column_of = {lo: k for k, lo in enumerate(self._column_lower)}
        lo1, hi1 = axis1.span
        # one sorted key per cell: column index + position of the row's lower edge in [0, 1/2)
        self._cell_column = np.array([column_of[col[0]] for col, *_ in ordered])
        self._keys = self._cell_column + np.array(
            [(row[0] - lo1) / (hi1 - lo1) / 2 for _, row, *_ in ordered]
        )
        self._row_lower = np.array([row[0] for _, row, *_ in ordered])
        self._row_upper = np.array([row[1] for _, row, *_ in ordered])
        self._coefficients = np.array([c for _, _, c, _ in ordered])
        self._scales = np.array([sc for *_, sc in ordered])

    # -- storage -----------------------------------------------------------
    #: The arrays that define a table once built, by the number of parameters.
    _STORED = {1: ("_lower", "_upper", "_coefficients", "_scales"),
               2: ("_column_lower", "_column_upper", "_cell_column", "_keys", "_row_lower", "_row_upper", "_coefficients", "_scales")}

    def to_data(self) -> dict:
        """The table's cells, coefficients and scales as JSON-compatible lists (no code)."""
        return {name: getattr(self, name).tolist() for name in self._STORED[len(self.axes)]}

    def _restore(self, data: dict):
        """The arrays of :meth:`to_data`, checked for shape and finiteness (``ValueError`` otherwise)."""
        names = self._STORED[len(self.axes)]
        if not isinstance(data, dict) or set(data) != set(names):
            raise ValueError("not a stored table")
        arrays = {name: np.asarray(data[name], dtype=float) for name in names}
        cells = arrays["_coefficients"].shape[0]
        coefficient_shape = (cells,) + (self.degree,) * len(self.axes)
        if arrays["_coefficients"].shape != coefficient_shape or cells == 0:
            raise ValueError("a stored table's coefficients have the wrong shape")
        for name, a in arrays.items():
            if not np.all(np.isfinite(a)) or (name != "_coefficients" and a.ndim != 1):
                raise ValueError("a stored table is damaged")
        if len(self.axes) == 2:
            arrays["_cell_column"] = arrays["_cell_column"].astype(int)
            columns = arrays["_column_lower"].size
            if arrays["_cell_column"].size != cells or np.any((arrays["_cell_column"] < 0) | (arrays["_cell_column"] >= columns)):
                raise ValueError("a stored table is damaged")
        for name, a in arrays.items():
            setattr(self, name, a)

    # -- evaluation --------------------------------------------------------
    @property
    def cells(self) -> int:
        return len(self._coefficients)

    def _locate_1d(self, s):
        index = np.searchsorted(self._lower, s, side="right") - 1
        return np.clip(index, 0, len(self._lower) - 1)

    def _call_1d(self, x):
        out = np.empty(x.shape)
        # cache-sized chunks (a few arrays of 128 kB stay in L2 through the recurrence), on every core
        coefficients = np.ascontiguousarray(self._coefficients.T)

        def evaluate(i):
            part = slice(i, i + CLENSHAW_CHUNK)
            out[part] = self._clenshaw_1d(x[part], coefficients)

        on_every_core(evaluate, range(0, x.size, CLENSHAW_CHUNK))
        return out

    def _clenshaw_1d(self, x, coefficients):
        s = self.axes[0].forward(x)
        index = self._locate_1d(s)
        t = _local(s, self._lower[index], self._upper[index])
        # one coefficient of each point's cell at a time, gathered from a row of the transposed
        # coefficients (not a strided column)
        return _clenshaw(t, lambda k: coefficients[k].take(index), self.degree)

    def torch(self, x):
        """A one-parameter table at a 1-d float64 torch tensor, on the tensor's device (the same Clenshaw sums)."""
        import torch

        if len(self.axes) != 1:
            raise ValueError("only one-parameter tables evaluate torch tensors")
        axis = self.axes[0]
        if bool(torch.any(~(x >= axis.lo) | ~(x <= axis.hi))):
            raise ValueError(f"a value lies outside the table's domain [{axis.lo}, {axis.hi}]")
        s = {"log": torch.log, "angle": lambda v: -torch.arccos(v)}.get(axis.coordinate, lambda v: v)(x)
        lower, upper, coefficients = (torch.as_tensor(a, device=x.device) for a in (self._lower, self._upper, self._coefficients))
        index = (torch.searchsorted(lower, s.contiguous(), right=True) - 1).clamp(0, lower.numel() - 1)
        t = _local(s, lower[index], upper[index])
        b1, b2 = torch.zeros_like(t), torch.zeros_like(t)
        for k in range(self.degree - 1, 0, -1):
            b1, b2 = 2 * t * b1 - b2 + coefficients[index, k], b1
        return t * b1 - b2 + coefficients[index, 0]

    def _call_2d(self, x0, x1):
        axis0, axis1 = self.axes
        s0, s1 = axis0.forward(x0), axis1.forward(x1)
        column = np.clip(
            np.searchsorted(self._column_lower, s0, side="right") - 1,
            0,
            len(self._column_lower) - 1,
        )
        lo1, hi1 = axis1.span
        keys = column + np.clip((s1 - lo1) / (hi1 - lo1), 0, 1 - 1e-16) / 2
        index = np.clip(
            np.searchsorted(self._keys, keys, side="right") - 1, 0, len(self._keys) - 1
        )
        t0 = _local(s0, self._column_lower[column], self._column_upper[column])
        t1 = _local(s1, self._row_lower[index], self._row_upper[index])
        # cell by cell, in chunks on every core: T(t0)ᵀ C T(t1) as one matrix product for the chunk's points
        out = np.empty(s0.shape)
        order = np.argsort(index, kind="stable")
        cells, starts = np.unique(index[order], return_index=True)
        ends = np.append(starts[1:], order.size)
        chunks = [(cell, order[i : min(i + EVALUATION_CHUNK, end)]) for cell, start, end in zip(cells, starts, ends) for i in range(start, end, EVALUATION_CHUNK)]

        def evaluate(chunk):
            cell, part = chunk
            # Σ_ij T_i(t0) C_ij T_j(t1): the coefficients in t1 of each point, Cᵀ T(t0), summed by Clenshaw
            along_t1 = self._coefficients[cell].T @ _basis(t0[part], self.degree)
            out[part] = _clenshaw(t1[part], along_t1.__getitem__, self.degree)

        on_every_core(evaluate, chunks)
        return out

    def __call__(self, *params) -> np.ndarray:
        if len(params) != len(self.axes):
            raise TypeError(
                f"expected {len(self.axes)} parameter array(s), got {len(params)}"
            )
        arrays = np.broadcast_arrays(*[np.asarray(p, float) for p in params])
        for k, (axis, x) in enumerate(zip(self.axes, arrays)):
            axis.check(x, f"parameter {k}")
        shape = arrays[0].shape
        flat = [x.reshape(-1) for x in arrays]
        out = self._call_1d(*flat) if len(flat) == 1 else self._call_2d(*flat)
        return out.reshape(shape)

    # -- verification ------------------------------------------------------
    def _verify(self) -> float:
        """Largest difference from the function, relative to the cell's scale, at points off
        the Chebyshev nodes: each cell's midpoint and the point a quarter along its diagonal."""
        fractions = np.array([0.5, 0.25])[:, None]
        if len(self.axes) == 1:
            points = [
                self.axes[0]
                .inverse(self._lower + (self._upper - self._lower) * fractions)
                .ravel()
            ]
        else:
            lo0, hi0 = (
                self._column_lower[self._cell_column],
                self._column_upper[self._cell_column],
            )
            s0 = lo0 + (hi0 - lo0) * fractions
            s1 = self._row_lower + (self._row_upper - self._row_lower) * fractions
            points = [
                self.axes[0].inverse(s0).ravel(),
                self.axes[1].inverse(s1).ravel(),
            ]
        exact = self._evaluate(*points)
        difference = np.abs(self(*points) - exact)
        scale = np.tile(self._scales, 2)
        relative = np.divide(difference, scale, out=difference.copy(), where=scale > 0)
        return float(relative.max())


def tabulate(
    function: Callable,
    domain: Sequence[tuple[float, float]],
    coordinates: Sequence[str | None] | None = None,
    rtol: float = TABLE_RTOL,
    degree: int = TABLE_DEGREE,
    magnitude: Callable | None = None,
    key: tuple[str, ...] | None = None,
) -> ChebyshevTable:
    """A :class:`ChebyshevTable` of ``function`` (vectorized, one array per parameter) over ``domain``.

    ``coordinates`` names each parameter's working coordinate (``"linear"``,
    ``"log"``, ``"angle"``; ``None`` picks log for a positive domain over two
    decades or more, else linear).  Pass ``"angle"`` for a correlation.

    ``magnitude`` (vectorized like ``function``, positive) sets the scale of the
    error instead of |f| itself: the table is then accurate to ``rtol`` ×
    magnitude.  For a kernel K(q, ρ) pass its diagonal K(q, 1), which bounds
    |K(q, ρ)| by Cauchy–Schwarz: relative accuracy on the diagonal's scale,
    without refining towards the zeros of K in ρ.

    ``key`` (strings that determine ``function`` and ``magnitude``, e.g. the ``srepr`` of the
    activation and the expectation's name) keeps the table in the disk cache (module docstring).
    """
    if degree < 4:
        raise ValueError("a table needs at least 4 Chebyshev points per cell")
    coordinates = coordinates or [None] * len(domain)
    coordinates = [
        c or _Axis.default_coordinate(*d) for c, d in zip(coordinates, domain)
    ]
    domain = [(float(lo), float(hi)) for lo, hi in domain]

    def build(data=None):
        return ChebyshevTable(function, domain, coordinates, rtol, degree, magnitude, data)

    if key is None:
        return build()
    full_key = (_numerics_fingerprint(), *key, repr(domain), repr(coordinates), repr(float(rtol)), str(int(degree)))
    within = TRUSTED_ERROR * float(rtol)
    return cached(
        "chebyshev",
        full_key,
        build,
        encode=ChebyshevTable.to_data,
        decode=build,
        definitive=lambda table: table.verified_error <= within,
        trusted=lambda table: table.verified_error <= within,
    )


@functools.cache
def _numerics_fingerprint() -> str:
    """numpy's version and the source of every ``numerics`` module: what a table's values depend on
    besides the derivation (whose ``theory`` modules the cache fingerprints itself)."""
    digest = hashlib.sha256(np.__version__.encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()
