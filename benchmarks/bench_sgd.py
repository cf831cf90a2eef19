"""SGD beside an interpolation minimum: the Lyapunov exponent by Benettin's QR method against its exact value, and
the exact second-moment route against Monte Carlo.

1. A commuting family (two samples, diagonal 2 × 2 Hessians (1.05, 0.5) and (3.5, 1.9), η = 1, B = 1) has the
   exact exponent ½ log(0.05 · 2.5).  :func:`numerics.sgd.lyapunov_exponent` (replicates run together, one batched
   QR a step) at growing step counts: its error, its 95 % half-width and its time — and the same estimate with a
   loop over replicates and a QR each (the baseline, written here), its time ratio.
2. Overparameterised least squares (``--samples`` 6 Gaussian rows in ``--dimension`` 12, B = 2, η = 0.05):
   E‖x_5 − x*‖² from a unit deviation, exactly (five applications of the second-moment operator E_ξ[A_ξ ⊗ A_ξ],
   every batch enumerated, as in :func:`numerics.sgd.mean_square_factor`), against Monte Carlo of N SGD runs:
   time and error.

    python3 benchmarks/bench_sgd.py [--replicates 32] [--samples 6] [--dimension 12]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dyncheck.numerics.sgd import CurvatureFamily, exact_lyapunov_exponent, lyapunov_exponent, mean_square_factor


def _looped(family: CurvatureFamily, eta: float, steps: int, replicates: int, burn_in: int, seed: int) -> float:
    """The baseline: each replicate its own loop, a QR a step."""
    rng = np.random.default_rng(seed)
    maps = np.eye(family.dimension) - eta * family.hessians
    totals = []
    for _ in range(replicates):
        frame, total = np.linalg.qr(rng.standard_normal((family.dimension, family.dimension)))[0], 0.0
        for step in range(burn_in + steps):
            frame, upper = np.linalg.qr(maps[rng.integers(family.samples)] @ frame)
            if step >= burn_in:
                total += np.log(abs(upper[0, 0]))
        totals.append(total / steps)
    return float(np.mean(totals))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=32)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--dimension", type=int, default=12)
    args = parser.parse_args()

    family = CurvatureFamily(np.array([np.diag([1.05, 0.5]), np.diag([3.5, 1.9])]))
    exact = exact_lyapunov_exponent(family, 1.0, 1)
    print(f"Lyapunov exponent of a commuting family: exact {exact:.10f} (= ½ log(0.05 · 2.5)); {args.replicates} replicates")
    lyapunov_exponent(family, 1.0, 1, steps=10, replicates=2)  # warm-up: imports
    print(f"{'steps':>7} {'Benettin':>12} {'error':>10} {'95% half':>10} {'time':>9} {'looped':>9} {'speed-up':>9}")
    for steps in (250, 1000, 4000, 16000):
        start = time.perf_counter()
        found = lyapunov_exponent(family, 1.0, 1, steps=steps, replicates=args.replicates, seed=1)
        ours = time.perf_counter() - start
        start = time.perf_counter()
        _looped(family, 1.0, steps, args.replicates, 200, seed=1)
        baseline = time.perf_counter() - start
        print(f"{steps:7d} {found.value:12.6f} {abs(found.value - exact):10.2e} {found.half_width:10.2e} {ours:8.3f}s {baseline:8.3f}s {baseline / ours:8.1f}×")

    rng = np.random.default_rng(0)
    features = rng.standard_normal((args.samples, args.dimension))
    squares = CurvatureFamily(np.einsum("ni,nj->nij", features, features))
    eta, batch, steps = 0.05, 2, 5
    origin = np.eye(squares.dimension)[0]
    start = time.perf_counter()
    maps = np.eye(squares.dimension) - eta * squares.batch_hessians(batch)
    operator = np.einsum("kab,kcd->acbd", maps, maps).reshape(squares.dimension**2, -1) / maps.shape[0]
    moment = np.outer(origin, origin).reshape(-1)
    for _ in range(steps):
        moment = operator @ moment
    exact = float(np.trace(moment.reshape(squares.dimension, -1)))
    exact_time = time.perf_counter() - start
    print(f"\nE‖x_{steps} − x*‖² of least squares {args.samples} × {args.dimension} (normal space {squares.dimension}), η = {eta}, B = {batch}, from a unit deviation:")
    print(f"exact (the second-moment operator, every batch enumerated; factor {mean_square_factor(squares, eta, batch):.6f} a step): {exact:.10f} in {exact_time * 1e3:.2f} ms")
    print(f"{'N':>9} {'Monte Carlo':>13} {'error':>10} {'std error':>10} {'time':>9} {'vs exact':>9}")
    for size in (10_000, 100_000, 1_000_000):
        start = time.perf_counter()
        draws = np.random.default_rng(size)
        x = np.tile(origin, (size, 1))
        for _ in range(steps):
            x = np.einsum("rab,rb->ra", maps[draws.integers(maps.shape[0], size=size)], x)
        squared = (x**2).sum(axis=1)
        estimate, error = squared.mean(), squared.std() / np.sqrt(size)
        spent = time.perf_counter() - start
        print(f"{size:9d} {estimate:13.8f} {abs(estimate - exact):10.2e} {error:10.2e} {spent:8.3f}s {spent / exact_time:8.0f}×")

if __name__ == "__main__":
    main()
