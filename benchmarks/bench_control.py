"""Costates and parameter gradients: the discrete maximum principle against torch autograd.

A residual tanh network (``--layers`` 50, ``--width`` 256, ``--batch`` 512) in float64:
the PMP recursion of :func:`numerics.control.pmp_costates` (states, costates and
gradients) against reverse-mode autograd of the same objective, costates
retained (``autograd_gradients``); time of each (median of ``--repeats``), the
ratio, and the largest relative difference.

    python3 benchmarks/bench_control.py [--device cpu|cuda] [--layers 50] [--width 256] [--batch 512]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from dyncheck.numerics.control import ResidualNetwork, autograd_gradients, pmp_costates


def _median_time(function, repeats: int, synchronize) -> float:
    times = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        function()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--layers", type=int, default=50)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    cpu = ResidualNetwork.random(args.layers, args.width, regularisation=1e-3, seed=0)
    rng = np.random.default_rng(1)
    device = torch.device(args.device)

    def tensor(a):
        return torch.from_numpy(a).to(device)

    network = ResidualNetwork(tensor(cpu.weights), tensor(cpu.biases), cpu.step, cpu.regularisation)
    x0, y = tensor(rng.standard_normal((args.batch, args.width))), tensor(rng.standard_normal((args.batch, args.width)))
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def pmp():
        with torch.no_grad():
            return pmp_costates(network, x0, y, torch)

    def autograd():
        return autograd_gradients(network, x0, y)

    pmp(), autograd()  # warm-up
    pmp_time = _median_time(pmp, args.repeats, synchronize)
    autograd_time = _median_time(autograd, args.repeats, synchronize)
    _, costates, (grad_w, grad_b) = pmp()
    adjoints, auto_w, auto_b = autograd()

    def relative(a, b):
        return float((a - b).abs().max() / b.abs().max())

    costate_difference = max(relative(p, a) for p, a in zip(costates, adjoints))
    gradient_difference = max(relative(grad_w, auto_w), relative(grad_b, auto_b))
    print(f"residual tanh network, {args.layers} layers, width {args.width}, batch {args.batch}, float64, {device}")
    print(f"  PMP recursion : {pmp_time * 1e3:8.1f} ms (states, costates, gradients)")
    print(f"  torch autograd: {autograd_time * 1e3:8.1f} ms (costates retained)")
    print(f"  ratio autograd/PMP: {autograd_time / pmp_time:.2f}")
    print(f"  max relative difference: costates {costate_difference:.1e}, gradients {gradient_difference:.1e}")


if __name__ == "__main__":
    main()
