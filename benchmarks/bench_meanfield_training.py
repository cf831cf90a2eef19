"""Mean-field training: particle SGD throughput, and the distributional-dynamics solver's error against its cost.

1. One-sample SGD of two-layer erf networks (teacher erf(2x), x ~ N(0, 1)), 64 networks of N = 64 … 4096 neurons
   for 2000 steps: neurons × steps a second, numpy and torch (CPU; CUDA where present), against a per-neuron
   Python loop (the update written neuron by neuron) measured in the same run on the smallest size.  The exact
   risk (O(N²) a network) is not part of the timing.
2. The PDE ∂_tρ = 2ξ∇·(ρ∇Ψ) from ρ_0 = N(0, 1/4) to t = 2 on the characteristics of a Gauss–Hermite rule of
   8 … 64 nodes: R(ρ_2)'s error against a 128-node, half-step reference, and the seconds it took — beside the
   same flow from M i.i.d. particles of ρ_0 (the Monte Carlo baseline, error ∝ M^{-1/2}, averaged over 8 draws)
   at the same M: the error ratio at equal particle count.

    python3 benchmarks/bench_meanfield_training.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import sympy as sp

from dyncheck.numerics.meanfield_training import distributional_dynamics, mean_field_velocity, particle_sgd, two_layer_risk
from dyncheck.numerics.solvers import fixed_step
from dyncheck.theory.meanfield_training import two_layer_model
from dyncheck.theory.symbols import Z
from timing import best_of  # benchmarks/timing.py, beside this script

MODEL = two_layer_model(sp.erf(Z), ((1, (2,)),))
STEPS, NETWORKS, SPREAD = 2000, 64, 0.5


def loop_sgd(particles: int, networks: int, steps: int) -> None:
    """The baseline: the same update, neuron by neuron in Python."""
    rng = np.random.default_rng(0)
    w = rng.normal(0, SPREAD, (networks, particles))
    for _ in range(steps):
        x = rng.standard_normal(networks)
        for b in range(networks):
            residual = math.erf(2 * x[b]) - sum(math.erf(v * x[b]) for v in w[b]) / particles
            for i in range(particles):
                w[b, i] += 2 * 1e-3 * residual * 2 / math.sqrt(math.pi) * math.exp(-((w[b, i] * x[b]) ** 2)) * x[b]


def throughput(repeats: int) -> None:
    try:
        import torch
    except ImportError:
        torch = None
    devices = [("numpy", "cpu")] + ([("torch", "cpu")] if torch else []) + ([("torch", "cuda")] if torch and torch.cuda.is_available() else [])
    baseline_steps = 20
    seconds = best_of(lambda: loop_sgd(64, NETWORKS, baseline_steps), repeats)
    baseline = 64 * NETWORKS * baseline_steps / seconds
    print(f"particle SGD, {NETWORKS} networks, {STEPS} steps: neurons × steps per second (per-neuron Python loop: {baseline:.3g})")
    print(f"{'N':>6} " + " ".join(f"{f'{b}/{d}':>14} {'× loop':>8}" for b, d in devices))
    for n in (64, 256, 1024, 4096):
        cells = []
        for backend, device in devices:
            seconds = best_of(lambda: particle_sgd(MODEL, n, replicates=NETWORKS, spread=SPREAD, time=STEPS * 1e-4, step=1e-4, samples=2, backend=backend, device=device, score=False), repeats)
            rate = n * NETWORKS * STEPS / seconds
            cells.append(f"{rate:14.3g} {rate / baseline:8.0f}")
        print(f"{n:6d} " + " ".join(cells))


def monte_carlo_risk(m: int, draws: int) -> np.ndarray:
    """R(ρ_2) from the flow of M i.i.d. particles of ρ_0 with equal weights, for ``draws`` draws."""
    risks = []
    for seed in range(draws):
        start = np.random.default_rng(seed).normal(0, SPREAD, (m, 1))
        final = fixed_step(lambda w: (mean_field_velocity(MODEL, w), None), start, 0.02, 100)
        risks.append(float(two_layer_risk(MODEL, final)))
    return np.array(risks)


def pde_error(repeats: int) -> None:
    reference = float(distributional_dynamics(MODEL, spread=SPREAD, nodes=128, time=2.0, step=0.01, samples=2).risk[-1, 0])
    print(f"\nR(ρ_2) = {reference:.12f} (128 Gauss–Hermite nodes, step 0.01)")
    print(f"{'M':>5} {'Gauss–Hermite error':>20} {'seconds':>9} {'i.i.d. particles error':>22} {'ratio':>9}")
    for m in (8, 16, 32, 64):
        seconds = best_of(lambda: distributional_dynamics(MODEL, spread=SPREAD, nodes=m, time=2.0, step=0.02, samples=2), repeats)
        error = abs(float(distributional_dynamics(MODEL, spread=SPREAD, nodes=m, time=2.0, step=0.02, samples=2).risk[-1, 0]) - reference)
        sampled = float(np.mean(np.abs(monte_carlo_risk(m, 8) - reference)))
        print(f"{m:5d} {error:20.2e} {seconds:9.3f} {sampled:22.2e} {sampled / max(error, 1e-16):9.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    throughput(args.repeats)
    pde_error(args.repeats)


if __name__ == "__main__":
    main()
