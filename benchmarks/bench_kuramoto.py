"""Kuramoto populations: numerics.kuramoto against the ``kuramoto`` package from PyPI, and at scale.

1. Side by side, N = 500, 1000, 2000 (``--sizes``): the same model — the complete
   graph with the package's normalisation K/(N − 1) — the same Gaussian
   frequencies, initial phases, coupling and T.  The package builds N × N
   matrices on every right-hand side and integrates with odeint (LSODA,
   output every dt = 0.01); ours is RK4 in O(N) a step through the order
   parameter with the same dt.  Reported: the seconds of each, the ratio, and
   the largest gap between their r(t) on the output grid.
2. Scale: all to all with N = 10⁶ for 1000 RK4 steps, and an Erdős–Rényi graph
   with N = 10⁵ and mean degree 50 (O(E) a step, sparse products), per step.

    pip install kuramoto==0.4.0
    python3 benchmarks/bench_kuramoto.py [--sizes 500 1000 2000] [--T 10] [--backend numpy|torch] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dyncheck.numerics.kuramoto import erdos_renyi, frequencies, simulate


def _order(phases: np.ndarray) -> np.ndarray:
    return np.abs(np.exp(1j * phases).mean(axis=0))


def side_by_side(sizes, t_end: float, coupling: float, dt: float) -> None:
    from kuramoto import Kuramoto

    print(f"complete graph, K/(N − 1), K = {coupling:g}, Gaussian ω (σ = 1), T = {t_end:g}, dt = {dt:g}")
    print(f"{'N':>6} {'kuramoto (PyPI) s':>18} {'dyncheck s':>11} {'ratio':>8} {'max |Δr(t)|':>12}")
    for n in sizes:
        rng = np.random.default_rng(n)
        omega = rng.standard_normal(n)
        theta0 = rng.uniform(0, 2 * np.pi, n)
        adjacency = np.ones((n, n)) - np.eye(n)

        start = time.perf_counter()
        theirs = Kuramoto(coupling=coupling, dt=dt, T=t_end, natfreqs=omega).run(adj_mat=adjacency, angles_vec=theta0)
        their_seconds = time.perf_counter() - start
        grid = np.linspace(0, t_end, int(t_end / dt))  # the package's output times

        start = time.perf_counter()
        ours = simulate(omega, coupling, t_end, dt, theta0=theta0, normalisation="degree")  # K/(N − 1), as the package
        our_seconds = time.perf_counter() - start
        gap = np.max(np.abs(np.interp(grid, ours.times, ours.r[0]) - _order(theirs)))
        print(f"{n:6d} {their_seconds:18.2f} {our_seconds:11.3f} {their_seconds / our_seconds:8.0f} {gap:12.1e}")


def at_scale(backend: str, device: str, steps_all: int, steps_graph: int) -> None:
    n = 1_000_000
    omega = frequencies("gaussian", n, 1.0)
    start = time.perf_counter()
    trajectory = simulate(omega, 2.5, steps_all * 0.05, 0.05, seed=1, backend=backend, device=device)
    seconds = time.perf_counter() - start
    print(f"all to all, N = {n:.0e}, {steps_all} RK4 steps ({backend}/{device}): {seconds:.1f} s, "
          f"{1e3 * seconds / steps_all:.1f} ms a step, {1e9 * seconds / steps_all / n / 4:.1f} ns per oscillator and stage; "
          f"r(T) = {trajectory.r[0, -1]:.4f}")

    n, degree = 100_000, 50
    start = time.perf_counter()
    graph = erdos_renyi(n, degree / (n - 1), seed=2)
    built = time.perf_counter() - start
    omega = frequencies("gaussian", n, 1.0)
    coupling = 2.5 * n / degree  # K p = 2.5: the all-to-all K of the run above
    start = time.perf_counter()
    trajectory = simulate(omega, coupling, steps_graph * 0.05, 0.05, graph=graph, seed=3, backend=backend, device=device)
    seconds = time.perf_counter() - start
    print(f"Erdős–Rényi, N = {n:.0e}, mean degree {graph.nnz / n:.1f} ({graph.nnz // 2} edges, sampled in {built:.2f} s), "
          f"{steps_graph} RK4 steps ({backend}/{device}): {seconds:.1f} s, {1e3 * seconds / steps_graph:.0f} ms a step; "
          f"r(T) = {trajectory.r[0, -1]:.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 1000, 2000])
    parser.add_argument("--T", type=float, default=10.0)
    parser.add_argument("--K", type=float, default=2.5)
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps-all", type=int, default=1000, help="RK4 steps of the N = 10⁶ all-to-all run")
    parser.add_argument("--steps-graph", type=int, default=200, help="RK4 steps of the N = 10⁵ Erdős–Rényi run")
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    if args.sizes:
        side_by_side(args.sizes, args.T, args.K, args.dt)
    if not args.skip_scale:
        at_scale(args.backend, args.device, args.steps_all, args.steps_graph)


if __name__ == "__main__":
    main()
