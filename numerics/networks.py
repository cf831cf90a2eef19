r"""One finite-network substrate: fully-connected networks of dense, residual and linear layers.

A network is a list of layers l = 0 … L − 1 acting on a_0 = x:

.. math::  z_l = s_w(l)\, W_l a_l + s_b(l)\, b_l, \qquad
           a_{l+1} = \begin{cases} \varphi(z_l) & \text{dense} \\
                                   a_l + \delta\, \varphi(z_l) & \text{residual (step } \delta) \\
                                   z_l & \text{linear (a read-out)} \end{cases}

with the activation φ of :mod:`dyncheck.theory.activations` compiled by
:func:`dyncheck.numerics.codegen.generate`.  The scales come from the **parameterisation**
(:data:`PARAMETERISATIONS`, data, not code):

* ``standard`` — W_ij ~ N(0, σ_w²/n_in), b_i ~ N(0, σ_b²) stored as they act (s_w = s_b = 1): the
  networks of mean-field signal propagation (Poole et al. 2016) and of the control view;
* ``ntk`` — W, b ~ N(0, 1), s_w = σ_w/√n_in, s_b = σ_b (Jacot et al. 2018);
* ``mean-field`` — as ``ntk``, and the read-out scaled by a further 1/√n_in (Mei, Montanari &
  Nguyen 2018; Chizat, Oyallon & Bach 2019).

Weights have shape (…, n_out, n_in) and activations (…, samples, n): leading axes are a batch
of independent networks (one stacked array, one matrix product for all); the weights may be drawn
layer by layer on demand (:class:`DrawnWeights`) when a batch is too large to hold.  Gaussian or
Haar-orthogonal weight ensembles; draws by ``numpy.random.default_rng`` of an integer or a
:class:`numpy.random.SeedSequence` (spawn one per network).

Derivatives, written once: the backward pass (:meth:`Network.backward`, the vector–Jacobian
product; for a training objective its cotangents are the Pontryagin costates with the opposite
sign, Li et al. 2018), the forward tangent (:meth:`Network.jvp`), parameter gradients, the
empirical NTK by backpropagation, and the layer Jacobians D_l s_w W_l of the pointwise-affine
view.  The torch functions (:func:`torch_function`, :func:`autograd_ntk`, :func:`autograd_gradient`,
:func:`autograd_nngp`, :func:`autograd_hvp`) are independent routes through torch.func, and
give Hessian–vector products.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.backend import haar_orthogonal
from dyncheck.numerics.codegen import generate
from dyncheck.theory.activations import derivative
from dyncheck.theory.errors import UsageError
from dyncheck.theory.symbols import X

__all__ = [
    "DrawnWeights",
    "ENSEMBLES",
    "LAYER_KINDS",
    "PARAMETERISATIONS",
    "Network",
    "Parameterisation",
    "autograd_gradient",
    "autograd_hvp",
    "autograd_nngp",
    "autograd_ntk",
    "compiled_activation",
    "torch_flat_function",
    "torch_function",
    "torch_ntk",
]

LAYER_KINDS = ("dense", "residual", "linear")
ENSEMBLES = ("gaussian", "orthogonal")


@dataclass(frozen=True)
class Parameterisation:
    """How a layer's stored weights act: ``stored_scale`` — W and b hold their variances (s_w = s_b = 1);
    otherwise they are N(0, 1) and s_w = σ_w/√n_in, s_b = σ_b; ``readout_exponent`` e — the last layer
    has a further factor n_in^(−e)."""

    name: str
    stored_scale: bool
    readout_exponent: float
    source: str


PARAMETERISATIONS = {
    p.name: p
    for p in (
        Parameterisation("standard", True, 0.0, "Poole et al. 2016; Schoenholz et al. 2017"),
        Parameterisation("ntk", False, 0.0, "Jacot, Gabriel & Hongler 2018"),
        Parameterisation("mean-field", False, 0.5, "Mei, Montanari & Nguyen 2018; Chizat & Bach 2018"),
    )
}


@functools.lru_cache(maxsize=32)
def compiled_activation(expr: sp.Expr, backend: str = "numpy"):
    """φ (or φ′) compiled once per expression and backend: the claims build hundreds of networks of one activation."""
    return generate(expr, [X], backend)


@functools.lru_cache(maxsize=64)
def _compiled_derivative(expr: sp.Expr, order: int | tuple[int, ...], backend: str):
    """The derivative of φ of ``order`` (a tuple: those derivatives together), compiled: differentiated once per
    activation, not at each pass (SymPy's differentiation costs more than a small network's pass)."""
    if isinstance(order, tuple):
        return compiled_activation(sp.Tuple(*(derivative(expr, X, k) if k else expr for k in order)), backend)
    return compiled_activation(derivative(expr, X, order) if order else expr, backend)


def _orthogonal(rng: np.random.Generator, rows: int, columns: int) -> np.ndarray:
    """A Haar-distributed matrix with orthonormal rows or columns (:func:`~dyncheck.numerics.backend.haar_orthogonal`)."""
    q = haar_orthogonal(rng.standard_normal((max(rows, columns), min(rows, columns))))
    return q if rows >= columns else q.T


class DrawnWeights(collections.abc.Sequence):
    """Weights drawn when a layer asks for them: ``draw(layer)`` must give the same array each time
    (a stream of its own a layer, as :func:`dyncheck.numerics.meanfield.random_networks` draws them).

    For networks too large to hold: a batch of 16 networks of width 4096 and depth 100 has 172 GB
    of weights.  With ``keep`` every drawn layer is kept (a backward pass reuses the forward's);
    otherwise only the last one, and a backward pass draws each layer once more — memory of one
    layer, time of two draws.
    """

    def __init__(self, draw, layers: int, keep: bool):
        self._draw, self._layers, self._keep = draw, layers, keep
        self._kept: dict = {}

    def __len__(self) -> int:
        return self._layers

    def __getitem__(self, layer: int):
        if not -self._layers <= layer < self._layers:
            raise IndexError(layer)
        layer %= self._layers
        if layer not in self._kept:
            if not self._keep:
                self._kept.clear()
            self._kept[layer] = self._draw(layer)
        return self._kept[layer]


@dataclass
class Network:
    """A fully-connected network (see the module docstring): weights, biases, φ, σ_w², σ_b², the
    parameterisation's name, the layers' kinds and the residual step δ."""

    weights: list
    biases: list
    phi: sp.Expr
    sw2: float
    sb2: float
    parameterisation: str = "ntk"
    kinds: tuple = None
    residual_step: float = 1.0

    def __post_init__(self):
        if self.parameterisation not in PARAMETERISATIONS:
            raise UsageError(f"parameterisation must be one of {tuple(PARAMETERISATIONS)}, not {self.parameterisation!r}")
        if self.kinds is None:
            self.kinds = ("dense",) * (len(self.weights) - 1) + ("linear",)
        self.kinds = tuple(self.kinds)
        if len(self.kinds) != len(self.weights) or set(self.kinds) - set(LAYER_KINDS):
            raise UsageError(f"one kind a layer, each of {LAYER_KINDS}")
        for layer, kind in enumerate(self.kinds):
            if kind == "residual" and self.weights[layer].shape[-1] != self.weights[layer].shape[-2]:
                raise UsageError("a residual layer maps a width to itself (a square weight matrix)")

    @functools.cached_property
    def _backend(self) -> str:
        """numpy or torch: the library of the weights (read once: :class:`DrawnWeights` draws on access)."""
        return "numpy" if isinstance(self.weights[0], np.ndarray) else "torch"

    @classmethod
    def random(
        cls,
        phi: sp.Expr,
        d: int,
        width: int,
        depth: int,
        sw2: float,
        sb2: float,
        seed=0,
        parameterisation: str = "ntk",
        *,
        ensemble: str = "gaussian",
        outputs: int | None = 1,
        residual_step: float | None = None,
        batch: tuple[int, ...] = (),
    ) -> Network:
        """``depth`` hidden layers of ``width`` (residual ones, with step δ = ``residual_step``, after a dense
        first layer) and a linear read-out to ``outputs`` (None: no read-out), for a ``batch`` of networks.

        Weights and biases are drawn layer by layer from ``default_rng(seed)``; ``ensemble`` is gaussian or
        orthogonal (σ_w × a Haar-orthogonal matrix in the standard parameterisation, √n_in × one otherwise).
        """
        if parameterisation not in PARAMETERISATIONS:
            raise UsageError(f"parameterisation must be one of {tuple(PARAMETERISATIONS)}, not {parameterisation!r}")
        if ensemble not in ENSEMBLES:
            raise UsageError(f"unknown weight ensemble {ensemble!r}; choose {' or '.join(ENSEMBLES)}")
        rng = np.random.default_rng(seed)
        sizes = [d] + [width] * depth + ([outputs] if outputs else [])
        stored = PARAMETERISATIONS[parameterisation].stored_scale
        weights, biases = [], []
        for n, m in itertools.pairwise(sizes):
            if ensemble == "gaussian":
                w = rng.standard_normal((*batch, m, n))
            else:
                w = np.stack([_orthogonal(rng, m, n) for _ in range(math.prod(batch))]).reshape(*batch, m, n) * math.sqrt(n)
            weights.append(w * math.sqrt(sw2 / n) if stored else w)
        for m in sizes[1:]:
            b = rng.standard_normal((*batch, m))
            biases.append(b * math.sqrt(sb2) if stored else b)
        hidden = ("residual",) * depth if residual_step is not None else ("dense",) * depth
        if residual_step is not None and d != width:
            hidden = ("dense",) + hidden[1:]
        kinds = hidden + (("linear",) if outputs else ())
        return cls(weights, biases, phi, sw2, sb2, parameterisation, kinds, 1.0 if residual_step is None else residual_step)

    def with_parameters(self, weights, biases) -> Network:
        """The same architecture (φ, variances, parameterisation, kinds, step) with these weights and biases."""
        return dataclasses.replace(self, weights=weights, biases=biases)

    def copy(self) -> Network:
        return self.with_parameters([w.copy() for w in self.weights], [b.copy() for b in self.biases])

    def to_torch(self, device: str = "cpu") -> Network:
        """The same network with torch tensors (float64) on ``device``."""
        import torch

        def move(a):
            return torch.as_tensor(np.asarray(a), dtype=torch.float64, device=device)

        return self.with_parameters([move(w) for w in self.weights], [move(b) for b in self.biases])

    def flat_parameters(self) -> np.ndarray:
        """Every weight and then every bias, raveled into one vector (numpy)."""
        return np.concatenate([np.ravel(a) for a in (*self.weights, *self.biases)])

    def with_flat_parameters(self, flat) -> Network:
        """:meth:`with_parameters` from a vector laid out as :meth:`flat_parameters` gives (views of ``flat``)."""
        shapes = [np.shape(a) for a in (*self.weights, *self.biases)]
        parts = [part.reshape(shape) for part, shape in zip(np.split(np.asarray(flat), np.cumsum([math.prod(s) for s in shapes])[:-1]), shapes)]
        return self.with_parameters(parts[: len(self.weights)], parts[len(self.weights) :])

    # -- the maps ------------------------------------------------------------
    def scales(self, layer: int) -> tuple[float, float]:
        """s_w(l), s_b(l): the factors in front of W_l and b_l."""
        p = PARAMETERISATIONS[self.parameterisation]
        fan_in = self.weights[layer].shape[-1]
        readout = layer == len(self.weights) - 1 and self.kinds[-1] == "linear"
        alpha = 1 / math.sqrt(fan_in) ** (2 * p.readout_exponent) if readout else 1.0  # 1/√n exactly for e = ½
        if p.stored_scale:
            return alpha, alpha
        return alpha * math.sqrt(self.sw2 / fan_in), alpha * math.sqrt(self.sb2)

    def _phi(self, order: int = 0):
        return _compiled_derivative(self.phi, order, self._backend)

    def _phi_and_slope(self):
        """φ and φ′ in one generated function (their common sub-expressions, tanh(x) for tanh, computed once)."""
        return _compiled_derivative(self.phi, (0, 1), self._backend)

    def _apply(self, f, z):
        return self._like(f(z), z)

    def _like(self, y, z):
        """``y`` in the shape of ``z`` (a generated function of a constant returns a number)."""
        if self._backend == "numpy":
            return y if np.shape(y) == np.shape(z) else np.broadcast_to(np.asarray(y, float), z.shape)
        import torch

        return y if isinstance(y, torch.Tensor) and y.shape == z.shape else torch.full_like(z, float(y))

    def forward(self, x, *, slopes: bool = False) -> tuple[list, list] | tuple[list, list, list]:
        """(a_0 … a_L, z_0 … z_{L−1}): the layers' inputs and output, and the pre-activations; with ``slopes``
        also φ′(z_l) (None for a linear layer), computed alongside φ for a backward pass."""
        phi = self._phi_and_slope() if slopes else self._phi()
        posts, pres, derivatives = [x], [], []
        for layer, b in enumerate(self.biases):
            weight_scale, bias_scale = self.scales(layer)
            h = posts[-1] if weight_scale == 1.0 else weight_scale * posts[-1]
            # the weights by index, held by no name: drawn weights (DrawnWeights) keep one layer in memory
            z = h @ self.weights[layer].swapaxes(-1, -2) + (b[..., None, :] if bias_scale == 1.0 else bias_scale * b[..., None, :])
            pres.append(z)
            kind = self.kinds[layer]
            if kind == "linear":
                posts.append(z)
                derivatives.append(None)
                continue
            if slopes:
                value, slope = (self._like(y, z) for y in phi(z))
                derivatives.append(slope)
            else:
                value = self._apply(phi, z)
            posts.append(value if kind == "dense" else posts[-1] + self.residual_step * value)
        return (posts, pres, derivatives) if slopes else (posts, pres)

    def __call__(self, x):
        """The outputs at the samples ``x`` (…, samples, d): the last axis dropped for one output."""
        out = self.forward(x)[0][-1]
        return out[..., 0] if out.shape[-1] == 1 else out

    def nngp(self, x):
        """s_w² a_{L−1}a_{L−1}ᵀ + s_b²: the output covariance over the read-out's weights (N(0, 1) parameterisations)."""
        last = self.forward(x)[0][-2]
        weight_scale, bias_scale = self.scales(len(self.weights) - 1)
        return weight_scale**2 * last @ last.swapaxes(-1, -2) + bias_scale**2

    # -- derivatives ---------------------------------------------------------
    def _backward(self, x, cotangent, forward=None):
        """Yield (layer, a_layer, ∂/∂z_layer, ∂/∂a_layer) from the output down; ``cotangent`` = ∂/∂a_L.

        ``forward``: :meth:`forward` at ``x`` with ``slopes=True``, when the caller has it already."""
        posts, _, derivatives = self.forward(x, slopes=True) if forward is None else forward
        g = cotangent
        for layer in range(len(self.weights) - 1, -1, -1):
            kind = self.kinds[layer]
            if kind == "linear":
                delta = g
            elif kind == "dense":
                delta = derivatives[layer] * g
            else:
                delta = self.residual_step * derivatives[layer] * g
            weight_scale = self.scales(layer)[0]
            carried = (delta if weight_scale == 1.0 else weight_scale * delta) @ self.weights[layer]
            g = carried + g if kind == "residual" else carried
            yield layer, posts[layer], delta, g

    def pullback(self, x, cotangent) -> tuple[list, list, list, list]:
        """One forward and one backward pass: (a_0 … a_L, ∂/∂a_0 … ∂/∂a_L, ∂/∂W_l, ∂/∂b_l) of ⟨cotangent, a_L⟩,
        the parameter derivatives summed over the samples.

        ``cotangent`` may be a function of a_L (∇Φ, evaluated on this very forward pass).  For an objective
        J = Φ(a_L) and cotangent = ∇Φ these are ∂J/∂a_l: the Pontryagin costates p_l = −∂J/∂a_l up to
        the sign and the sample weighting (:mod:`dyncheck.theory.control`)."""
        forward = self.forward(x, slopes=True)
        if callable(cotangent):
            cotangent = cotangent(forward[0][-1])
        layers = len(self.weights)
        cotangents, grad_w, grad_b = [None] * (layers + 1), [None] * layers, [None] * layers
        cotangents[-1] = cotangent
        for layer, h, delta, below in self._backward(x, cotangent, forward):
            weight_scale, bias_scale = self.scales(layer)
            cotangents[layer] = below
            grad_w[layer] = delta.swapaxes(-1, -2) @ h if weight_scale == 1.0 else weight_scale * delta.swapaxes(-1, -2) @ h
            grad_b[layer] = delta.sum(axis=-2) if bias_scale == 1.0 else bias_scale * delta.sum(axis=-2)
        return forward[0], cotangents, grad_w, grad_b

    def backward(self, x, cotangent, *, forward=None) -> list:
        """∂/∂a_l of ⟨cotangent, a_L⟩ for l = 0 … L (the vector–Jacobian products, layer by layer; no parameter
        derivatives).  ``forward``: :meth:`forward` at ``x`` with ``slopes=True``, when the caller has it already."""
        cotangents = [None] * len(self.weights) + [cotangent]
        for layer, _, _, below in self._backward(x, cotangent, forward):
            cotangents[layer] = below
        return cotangents

    def jvp(self, x, tangent):
        """∂a_L/∂x · tangent at the samples ``x`` (forward-mode, alongside the forward pass)."""
        slope = self._phi(1)
        posts, pres = self.forward(x)
        t = tangent
        for layer, w in enumerate(self.weights):
            dz = self.scales(layer)[0] * t @ w.swapaxes(-1, -2)
            kind = self.kinds[layer]
            t = dz if kind == "linear" else self._apply(slope, pres[layer]) * dz if kind == "dense" else t + self.residual_step * self._apply(slope, pres[layer]) * dz
        return t

    def layer_jacobians(self, x) -> list:
        """∂a_{l+1}/∂a_l at each sample (…, samples, n_out, n_in): D_l s_w W_l (+ I for a residual layer), the
        pointwise-affine view of the network; their product is the input–output Jacobian."""
        slope = self._phi(1)
        _, pres = self.forward(x)
        out = []
        for layer, w in enumerate(self.weights):
            scaled = self.scales(layer)[0] * w[..., None, :, :]
            kind = self.kinds[layer]
            if kind == "linear":
                out.append(scaled + 0 * pres[layer][..., None])
                continue
            d = self._apply(slope, pres[layer])[..., None]
            jacobian = (self.residual_step if kind == "residual" else 1.0) * d * scaled
            if kind == "residual":
                jacobian = jacobian + (np.eye(w.shape[-1]) if self._backend == "numpy" else w.new_tensor(np.eye(w.shape[-1])))
            out.append(jacobian)
        return out

    def ntk(self, x):
        """Θ(x, x′) = Σ_θ ∂f(x)/∂θ ∂f(x′)/∂θ by backpropagation, for the samples at once (one output)."""
        ntk = 0.0
        ones = np.ones(x.shape[:-1] + (1,)) if self._backend == "numpy" else x.new_ones(x.shape[:-1] + (1,))
        for layer, h, delta, _ in self._backward(x, ones):
            weight_scale, bias_scale = self.scales(layer)
            ntk = ntk + (weight_scale**2 * h @ h.swapaxes(-1, -2) + bias_scale**2) * (delta @ delta.swapaxes(-1, -2))
        return ntk

    def parameter_vjp(self, x, cotangent) -> tuple[list, list]:
        """∂/∂(W_l, b_l) of ⟨cotangent, a_L⟩ summed over the samples, for every layer."""
        return tuple(self.pullback(x, cotangent)[2:])

    def gradient(self, x, coefficients) -> tuple[list, list]:
        """∂/∂(W, b) of Σ_i c_i f(x_i) (one output): for a squared loss ½‖f − y‖², c is the residual f − y."""
        return self.parameter_vjp(x, np.asarray(coefficients, float)[..., None] if self._backend == "numpy" else coefficients[..., None])

    def descend(self, gradient, lr: float) -> None:
        """θ ← θ − lr·gradient, in place."""
        for w, g in zip(self.weights, gradient[0]):
            w -= lr * g
        for b, g in zip(self.biases, gradient[1]):
            b -= lr * g


# ---------------------------------------------------------------------------
# torch.func: the independent routes, and Hessian–vector products


def torch_function(network: Network):
    """(f(params, x), params): the network as a function of a dict of torch tensors (sharing memory with a numpy network's arrays)."""
    import torch

    phi = compiled_activation(network.phi, "torch")
    scales = [network.scales(layer) for layer in range(len(network.weights))]
    as_tensor = (lambda a: torch.from_numpy(a)) if network._backend == "numpy" else (lambda a: a)
    params = {f"w{i}": as_tensor(w) for i, w in enumerate(network.weights)}
    params.update({f"b{i}": as_tensor(b) for i, b in enumerate(network.biases)})
    kinds, step = network.kinds, network.residual_step

    def f(p, inputs):
        h = inputs
        for i, (weight_scale, bias_scale) in enumerate(scales):
            z = weight_scale * h @ p[f"w{i}"].T + bias_scale * p[f"b{i}"]
            h = z if kinds[i] == "linear" else phi(z) if kinds[i] == "dense" else h + step * phi(z)
        return h[..., 0] if h.shape[-1] == 1 else h

    return f, params


def torch_flat_function(network: Network):
    """(f(θ, x), θ): :func:`torch_function` over one flat float64 vector θ, laid out as :meth:`Network.flat_parameters`
    (every weight, then every bias) — the form autograd's Hessians and optimisers of all parameters want."""
    import torch

    f, params = torch_function(network)
    names = list(params)  # w0 … w_{L−1}, then b0 … b_{L−1}: the layout of flat_parameters
    shapes = [params[k].shape for k in names]
    sizes = [params[k].numel() for k in names]

    def flat_f(theta, inputs):
        return f({k: part.reshape(shape) for k, part, shape in zip(names, torch.split(theta, sizes), shapes)}, inputs)

    return flat_f, torch.cat([params[k].detach().reshape(-1) for k in names]).to(torch.float64)


def torch_ntk(f, params, x):
    """Θ = J Jᵀ with J the per-example parameter Jacobian from torch.func (jacrev over the parameters, vmap over inputs)."""
    import torch
    from torch.func import jacrev, vmap

    jacobians = vmap(jacrev(f), in_dims=(None, 0))(params, x)
    flat = torch.cat([j.reshape(x.shape[0], -1) for j in jacobians.values()], dim=1)
    return flat @ flat.T


def autograd_ntk(network: Network, x) -> np.ndarray:
    """The empirical NTK by torch.func: an implementation independent of :meth:`Network.ntk`."""
    import torch

    f, params = torch_function(network)
    return torch_ntk(f, params, torch.from_numpy(np.asarray(x, float))).numpy()


def autograd_nngp(network: Network, x) -> np.ndarray:
    """The empirical NNGP s_w² a_{L−1}·a_{L−1}ᵀ + s_b² as the read-out's share of J Jᵀ (torch.func): the gradient of
    f with respect to (W_{L−1}, b_{L−1}) is (s_w a_{L−1}, s_b).  Independent of :meth:`Network.nngp`."""
    import torch

    f, params = torch_function(network)
    last = len(network.weights) - 1
    output_layer = {k: params[k] for k in (f"w{last}", f"b{last}")}
    inputs = torch.from_numpy(np.asarray(x, float))
    return torch_ntk(lambda p, inputs: f(params | p, inputs), output_layer, inputs).numpy()


def autograd_gradient(network: Network, x, coefficients) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """∂/∂(W, b) of Σ_i c_i f(x_i) by torch autograd: an implementation independent of :meth:`Network.gradient`."""
    import torch

    f, params = torch_function(network)
    leaves = {k: v.detach().requires_grad_() for k, v in params.items()}
    total = (f(leaves, torch.from_numpy(np.asarray(x, float))) * torch.from_numpy(np.asarray(coefficients, float))).sum()
    grads = dict(zip(leaves, torch.autograd.grad(total, list(leaves.values()))))
    layers = range(len(network.weights))
    return [grads[f"w{i}"].numpy() for i in layers], [grads[f"b{i}"].numpy() for i in layers]


def autograd_hvp(network: Network, x, y, direction: tuple[list, list]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """H v for the loss ½‖f(x) − y‖² and v = ``direction`` (lists like the weights and biases): forward-over-reverse
    (torch.func.jvp of torch.func.grad), exact to rounding; the curvature of sharpness and the edge of stability."""
    import torch
    from torch.func import grad, jvp

    f, params = torch_function(network)
    inputs, targets = (torch.from_numpy(np.asarray(a, float)) for a in (x, y))

    def loss(p):
        return 0.5 * ((f(p, inputs) - targets) ** 2).sum()

    layers = range(len(network.weights))
    tangent = {f"w{i}": torch.from_numpy(np.asarray(direction[0][i], float)) for i in layers}
    tangent.update({f"b{i}": torch.from_numpy(np.asarray(direction[1][i], float)) for i in layers})
    _, product = jvp(grad(loss), ({k: v.detach() for k, v in params.items()},), (tangent,))
    return [product[f"w{i}"].numpy() for i in layers], [product[f"b{i}"].numpy() for i in layers]
