r"""NNGP and NTK matrices from the layer maps of :mod:`theory.kernels`, and the same kernels of finite networks.

* :func:`kernel_matrices` runs the recursion of :mod:`theory.kernels` on N
  inputs at once, with the derived closed-form layer maps compiled by
  :func:`numerics.codegen.generate` (numpy or torch, float64).  Correlations
  are clipped to [−1, 1] so that rounding at c = ±1 gives no NaN.
* :class:`Network` is a finite fully-connected network in the NTK
  parameterisation; :meth:`Network.ntk` is its empirical NTK by the backprop
  formula Θ = Σ_l (σ_w² H_{l−1}H_{l−1}ᵀ/n_{l−1} + σ_b²) ∘ (D_l D_lᵀ), with
  H the post-activations and D_l = ∂f/∂z^l, and :meth:`Network.nngp` the
  output covariance given the last hidden layer; :func:`autograd_ntk` is the
  same Θ = J Jᵀ from torch's per-example Jacobians, an independent route.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from numerics.codegen import generate
from theory.activations import X, derivative
from theory.gaussian import RHO
from theory.kernels import Q1, Q2, LayerMaps

__all__ = ["Network", "autograd_ntk", "kernel_matrices", "ntk_step"]


def ntk_step(nngp_next, slope_map, ntk, sw2):
    """Θ^{l+1} = K^{l+1} + σ_w² Ṫ(Σ^l) Θ^l (Jacot et al. 2018, NTK parameterisation)."""
    return nngp_next + sw2 * slope_map * ntk


def kernel_matrices(maps: LayerMaps, x, depth: int, sw2: float, sb2: float, *, step=ntk_step, backend: str = "numpy"):
    """(NNGP, NTK) of the network of ``depth`` nonlinearities at the N inputs ``x`` (N × d): K^{L+1}, Θ^{L+1}.

    ``step`` is the NTK recursion (the published one by default).  Needs the
    layer maps in closed form; an activation without one is refused.
    """
    if not maps.closed:
        raise ValueError(f"no closed-form layer maps for {maps.phi}: kernels of such activations need numeric layer maps, not available yet")
    if depth < 0 or sw2 <= 0 or sb2 < 0:
        raise ValueError("depth ≥ 0, σ_w² > 0 and σ_b² ≥ 0 are needed")
    nngp_map, slope_map = (generate(sp.sympify(e), [Q1, Q2, RHO], backend) for e in maps.values())
    if backend == "numpy":
        xp = np
    else:
        import torch as xp
    nngp = sw2 * (x @ x.T) / x.shape[1] + sb2
    ntk = nngp
    for _ in range(depth):
        q = xp.diagonal(nngp)
        q1, q2 = q[:, None], q[None, :]
        rho = xp.clip(nngp / xp.sqrt(q1 * q2), -1.0, 1.0)
        nngp_next = sw2 * nngp_map(q1, q2, rho) + sb2
        ntk = step(nngp_next, slope_map(q1, q2, rho), ntk, sw2)
        nngp = nngp_next
    return nngp, ntk


@dataclass
class Network:
    """f(x) = σ_w/√n W^{L+1} φ(z^L) + σ_b b^{L+1}, z^{l+1} = σ_w/√n_l W^{l+1} φ(z^l) + σ_b b^{l+1}, z^1 from x."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    phi: sp.Expr
    sw2: float
    sb2: float

    @classmethod
    def random(cls, phi: sp.Expr, d: int, width: int, depth: int, sw2: float, sb2: float, seed: int = 0) -> Network:
        """A network with N(0, 1) weights and biases: ``depth`` hidden layers of ``width``, one output."""
        rng = np.random.default_rng(seed)
        sizes = [d] + [width] * depth + [1]
        weights = [rng.standard_normal((m, n)) for n, m in itertools.pairwise(sizes)]
        biases = [rng.standard_normal(m) for m in sizes[1:]]
        return cls(weights, biases, phi, sw2, sb2)

    def _forward(self, x):
        phi, sigma_w, sigma_b = generate(self.phi, [X]), math.sqrt(self.sw2), math.sqrt(self.sb2)
        posts, pre = [x], []
        for w, b in zip(self.weights, self.biases):
            z = sigma_w / math.sqrt(posts[-1].shape[1]) * posts[-1] @ w.T + sigma_b * b
            pre.append(z)
            posts.append(phi(z))
        return posts, pre

    def __call__(self, x) -> np.ndarray:
        return self._forward(x)[1][-1][:, 0]

    def nngp(self, x) -> np.ndarray:
        """σ_w² φ(z^L)φ(z^L)ᵀ/n + σ_b²: the output covariance over the last layer's weights."""
        last = self._forward(x)[0][-2]
        return self.sw2 * last @ last.T / last.shape[1] + self.sb2

    def ntk(self, x) -> np.ndarray:
        """Θ(x, x') = Σ_θ ∂f(x)/∂θ ∂f(x')/∂θ by backpropagation, for the N inputs at once."""
        slope = generate(derivative(self.phi), [X])
        posts, pre = self._forward(x)
        sigma_w = math.sqrt(self.sw2)
        delta = np.ones((x.shape[0], 1))  # ∂f/∂z^{L+1}
        ntk = np.zeros((x.shape[0], x.shape[0]))
        for layer in range(len(self.weights) - 1, -1, -1):
            h = posts[layer]
            ntk += (self.sw2 * h @ h.T / h.shape[1] + self.sb2) * (delta @ delta.T)
            if layer:
                delta = slope(pre[layer - 1]) * (sigma_w / math.sqrt(h.shape[1]) * delta @ self.weights[layer])
        return ntk


def autograd_ntk(network: Network, x) -> np.ndarray:
    """Θ = J Jᵀ with J the per-example parameter Jacobian from torch.func (jacrev over the parameters, vmap over inputs)."""
    import torch
    from torch.func import functional_call, jacrev, vmap

    phi = generate(network.phi, [X], "torch")
    sigma_w, sigma_b = math.sqrt(network.sw2), math.sqrt(network.sb2)
    params = {f"w{i}": torch.from_numpy(w) for i, w in enumerate(network.weights)}
    params.update({f"b{i}": torch.from_numpy(b) for i, b in enumerate(network.biases)})
    layers = len(network.weights)

    class _Module(torch.nn.Module):
        def forward(self, inputs, **p):
            h = inputs
            for i in range(layers):
                z = sigma_w / math.sqrt(h.shape[-1]) * h @ p[f"w{i}"].T + sigma_b * p[f"b{i}"]
                h = phi(z) if i < layers - 1 else z
            return h[..., 0]

    module = _Module()

    def single(p, xi):
        return functional_call(module, (), (xi,), p)

    jacobians = vmap(jacrev(single), in_dims=(None, 0))(params, torch.from_numpy(np.asarray(x, float)))
    flat = torch.cat([j.reshape(x.shape[0], -1) for j in jacobians.values()], dim=1)
    return (flat @ flat.T).numpy()
