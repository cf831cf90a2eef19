"""Pointwise affine maps: the decomposition's throughput and the exact enumeration of activation regions.

1. A*(x) and b*(x) of a tanh MLP for a batch of inputs (:func:`dyncheck.numerics.affine.pointwise_affine`,
   numpy, float64) against the baseline of one matrix per input by torch autograd (``torch.func.vmap`` of
   ``jacrev``: the Jacobian J(x), a different matrix of the same size and cost class), and against
   neuromancer's ``analysis.pwa_maps.pwa_batched`` on the same weights where it is given (``--neuromancer DIR``,
   the unpacked wheel: ``pip download neuromancer==1.5.6 --no-deps -d /tmp/nm && unzip -q
   /tmp/nm/*.whl -d /tmp/nm/x``; its package ``__init__`` imports lightning, cvxpy, casadi …, so the
   modules are loaded under bare packages, installing nothing).  Ratios are against autograd in the same run.
2. The activation regions of a ReLU map of the plane, one hidden layer of width 4 … 32 and two of width
   4 … 8: the count, the bound counted before the work, and the time; a million-point sample of the plane
   finds no pattern the enumeration missed.

    python3 benchmarks/bench_affine.py [--repeats 5] [--neuromancer /tmp/nm/x]
"""

from __future__ import annotations

import argparse
import sys
import types

import numpy as np

from dyncheck.numerics import affine
from dyncheck.numerics.networks import Network
from dyncheck.theory.activations import activation
from timing import best_of  # benchmarks/timing.py, beside this script


def load_neuromancer(root: str):
    """neuromancer's MLP and pwa_batched from an unpacked wheel, its heavy package ``__init__`` bypassed."""
    for name, sub in (("neuromancer", "neuromancer"), ("neuromancer.modules", "neuromancer/modules"), ("neuromancer.analysis", "neuromancer/analysis")):
        module = types.ModuleType(name)
        module.__path__ = [f"{root}/{sub}"]
        sys.modules[name] = module
    from neuromancer.analysis.pwa_maps import pwa_batched
    from neuromancer.modules import blocks

    return blocks, pwa_batched


def decomposition(repeats: int, neuromancer: str | None) -> None:
    import torch
    from torch.func import jacrev, vmap

    d, width, depth, samples = 16, 64, 4, 4096
    network = Network.random(activation("tanh").expr(), d, width, depth, 1.5, 0.1, 0, "standard", outputs=d)
    x = np.random.default_rng(1).normal(0, 1, (samples, d))
    f, params = __import__("dyncheck.numerics.networks", fromlist=["torch_function"]).torch_function(network)
    tx = torch.from_numpy(x)
    ours = best_of(lambda: affine.pointwise_affine(network, x), repeats)
    autograd = best_of(lambda: vmap(jacrev(lambda xi: f(params, xi)))(tx), repeats)
    matrix, offset = affine.pointwise_affine(network, x)
    error = float(np.abs(np.einsum("sij,sj->si", matrix, x) + offset - network.forward(x)[0][-1]).max())
    print(f"A*(x), b*(x) of a tanh MLP {d}→{width}×{depth}→{d}, {samples} inputs, float64, {torch.get_num_threads()} threads")
    print(f"  {'route':44s} {'time':>9s}   {'vs autograd':>11s}   note")
    print(f"  {'torch autograd J(x) (vmap of jacrev)':44s} {autograd * 1e3:7.1f} ms   {1.0:10.2f}×   the baseline (the Jacobian, not A*)")
    print(f"  {'dyncheck pointwise_affine (numpy)':44s} {ours * 1e3:7.1f} ms   {autograd / ours:10.2f}×   A*x + b* = f(x) to {error:.1e}")
    if neuromancer:
        blocks, pwa_batched = load_neuromancer(neuromancer)
        model = blocks.MLP(d, d, nonlin=torch.nn.Tanh, hsizes=[width] * depth, bias=True).double()
        with torch.no_grad():
            for layer, w, b in zip(model.linear, network.weights, network.biases):
                layer.linear.weight.copy_(torch.from_numpy(np.asarray(w)))
                layer.linear.bias.copy_(torch.from_numpy(np.asarray(b)))
        theirs = best_of(lambda: pwa_batched(model, tx), repeats)
        their_matrix, their_offset = pwa_batched(model, tx)[:2]
        gap = float(np.abs(their_matrix.detach().numpy().swapaxes(-1, -2) - matrix).max())
        gap_b = float(np.abs(their_offset.detach().numpy().reshape(samples, d) - offset).max())
        print(f"  {'neuromancer 1.5.6 pwa_batched (torch)':44s} {theirs * 1e3:7.1f} ms   {autograd / theirs:10.2f}×   A* differs by {gap:.1e}, b* by {gap_b:.1e}")
        failures = []
        for name in ("pf", "softSVD", "spectral", "gershgorin"):
            try:
                pwa_batched(blocks.MLP(3, 3, nonlin=torch.nn.ReLU, hsizes=[3, 3], bias=True, linear_map=__import__("neuromancer.slim", fromlist=["maps"]).maps[name]), torch.randn(4, 3))
            except Exception as exc:  # noqa: BLE001 — a peer's failure is the measurement
                failures.append(f"{name}: {type(exc).__name__}")
        print(f"  neuromancer pwa_batched with biases and a constrained map: {'; '.join(failures) or 'all ran'}")


def regions(repeats: int) -> None:
    print("\nactivation regions of ReLU maps of the plane (exact: one linear programme a branch)")
    print(f"  {'layers':12s} {'bound':>7s} {'regions':>8s} {'time':>9s}   sampled patterns (10⁶ points in [−50, 50]²) missed")
    rng = np.random.default_rng(0)
    sample = rng.uniform(-50, 50, (1_000_000, 2))
    for depth, width in ((1, 4), (1, 8), (1, 16), (1, 32), (2, 4), (2, 6), (2, 8)):
        network = affine.random_dynamics(activation("relu").expr(), 2, width, depth, "gaussian", seed=0, high=1.5, bias_scale=1.0)
        found = affine.activation_regions(network)
        seconds = best_of(lambda: affine.activation_regions(network), max(1, repeats // 2))
        patterns = {r.pattern for r in found}
        _, pres = network.forward(sample)
        sampled = np.concatenate([(z > 0).astype(np.int8) for z in pres[:-1]], axis=1)
        missed = {tuple(p) for p in np.unique(sampled, axis=0)} - patterns
        print(f"  {f'{depth} × {width}':12s} {affine.region_bound(network):7d} {len(found):8d} {seconds * 1e3:7.0f} ms   {len(missed)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--neuromancer", metavar="DIR", help="an unpacked neuromancer wheel, for the side-by-side comparison")
    args = parser.parse_args()
    decomposition(args.repeats, args.neuromancer)
    regions(args.repeats)


if __name__ == "__main__":
    main()
