"""Sharpness of a network's training loss: Lanczos on Hessian–vector products against the dense Hessian and
plain power iteration.

A tanh network (``--width`` 48, ``--depth`` 2, 3 inputs, 1 output) far from fitting ``--samples`` 32 targets
(scaled ×30, so the Hessian is indefinite), ½-sum squared error, float64 on the CPU.  The dense route builds
the whole Hessian (``torch.func.hessian``) and takes ``eigvalsh``; Lanczos (:func:`numerics.gradient_descent.sharpness`)
and power iteration (``--power`` products) use exact Hessian–vector products.  Prints each route's time
(median of ``--repeats``), its ratio to the dense route's, and its error against the dense λ_max.

Then the edge-of-stability reproduction (``dyncheck train eos``'s default run: 800 GD steps, the sharpness
every 40) against the same run with the sharpness from the dense Hessian (the baseline, written here).

    python3 benchmarks/bench_sharpness.py [--width 48] [--depth 2] [--samples 32] [--power 300]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from dyncheck.numerics.gradient_descent import LossHessian, edge_of_stability, edge_of_stability_problem, power_iteration, sharpness
from dyncheck.numerics.networks import Network
from dyncheck.theory.activations import activation


def _median_time(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=48)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--power", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(1)
    network = Network.random(activation("tanh").expr(), 3, args.width, args.depth, 1.5, 0.1, seed=1, outputs=1)
    x, y = rng.standard_normal((args.samples, 3)), 30 * rng.standard_normal(args.samples)
    hessian = LossHessian(network, x, y, "half-sum")

    dense_time, spectrum = _median_time(lambda: np.linalg.eigvalsh(hessian.dense()), args.repeats)
    lanczos_time, found = _median_time(lambda: sharpness(hessian), args.repeats)
    power_time, powered = _median_time(lambda: power_iteration(hessian, args.power), args.repeats)
    top, bottom = spectrum.max(), spectrum.min()
    print(f"tanh network, width {args.width}, depth {args.depth}: {hessian.size} parameters, {args.samples} samples, float64, CPU")
    print(f"  dense Hessian + eigvalsh : {dense_time * 1e3:9.1f} ms   λ_max = {top:.12g} (λ_min = {bottom:.6g})")
    print(f"  Lanczos on HVPs          : {lanczos_time * 1e3:9.1f} ms   ratio dense/Lanczos {dense_time / lanczos_time:6.1f}   "
          f"error {abs(found.value - top) / abs(top):.1e} (residual bound {found.residual:.1e}, {found.products} products)")
    print(f"  power iteration ({args.power:4d})   : {power_time * 1e3:9.1f} ms   ratio dense/power   {dense_time / power_time:6.1f}   "
          f"error {abs(powered.value - top) / abs(top):.1e} (it found {powered.value:.6g}: the eigenvalue of largest modulus)")

    eos_time, (run,) = _median_time(lambda: edge_of_stability([0.2]), args.repeats)
    dense_eos_time, dense_late = _median_time(_dense_edge_of_stability, 1)
    late = run.late_sharpness(400)
    print("edge of stability, default run (tanh 2 × 16, 128 random labels, η = 0.2, 800 steps, sharpness every 40):")
    print(f"  Lanczos on HVPs          : {eos_time:9.2f} s    late sharpness {late.mean():.4f} (2/η = 10)")
    print(f"  dense Hessian each time  : {dense_eos_time:9.2f} s    late sharpness {dense_late:.4f}   ratio dense/Lanczos {dense_eos_time / eos_time:.1f}")


def _dense_edge_of_stability() -> float:
    """The baseline: the same GD run with λ_max from the dense Hessian at each measurement."""
    network, x, y = edge_of_stability_problem()
    late = []
    for step in range(801):
        residual = network(x) - y
        if step % 40 == 0:
            top = np.linalg.eigvalsh(LossHessian(network, x, y, "half-mean").dense()).max()
            if step >= 400:
                late.append(top)
        network.descend(network.gradient(x, residual / x.shape[0]), 0.2)
    return float(np.mean(late))


if __name__ == "__main__":
    main()
