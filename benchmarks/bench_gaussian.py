"""Gaussian expectations for tanh: generated vectorized quadrature vs per-point scipy quad.

E[tanh(√q z)²] over N₁ values of q — by the generated quadrature directly, and by a
Chebyshev table of it (numerics.chebyshev, construction time included) — and the kernel
E[tanh(√q u) tanh(√q v)] over N₂ (q, ρ) points by a table of the generated quadrature
(the quadrature itself timed on a subsample), timed against
per-point ``scipy.integrate.quad`` / ``dblquad`` (the original papers' approach) on a
subsample in the same run; accuracy of each against mpmath (30 digits).

    python3 benchmarks/bench_gaussian.py [--n1 1000000] [--n2 1000000] [--direct 20000] [--baseline 40]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import sympy as sp
from scipy import integrate

from dyncheck.numerics.chebyshev import tabulate
from dyncheck.numerics.gaussian import compile_expectation, expectation_mp
from dyncheck.theory.symbols import RHO, U, V, Z

q = sp.Symbol("q", positive=True)
ONE_D = sp.tanh(sp.sqrt(q) * Z) ** 2
TWO_D = sp.tanh(sp.sqrt(q) * U) * sp.tanh(sp.sqrt(q) * V)
PDF = 1 / math.sqrt(2 * math.pi)


def quad_1d(qv):
    f = lambda z: math.tanh(math.sqrt(qv) * z) ** 2 * math.exp(-z * z / 2) * PDF
    return integrate.quad(f, -np.inf, np.inf)[0]


def quad_2d(qv, rho):
    s = math.sqrt(1 - rho * rho)
    f = lambda z2, z1: (
        math.tanh(math.sqrt(qv) * z1)
        * math.tanh(math.sqrt(qv) * (rho * z1 + s * z2))
        * math.exp(-(z1 * z1 + z2 * z2) / 2)
        * PDF
        * PDF
    )
    return integrate.dblquad(f, -np.inf, np.inf, -np.inf, np.inf)[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n1", type=int, default=1_000_000)
    parser.add_argument("--n2", type=int, default=1_000_000)
    parser.add_argument(
        "--direct", type=int, default=20_000, help="2-D points for the direct quadrature"
    )
    parser.add_argument(
        "--baseline", type=int, default=40, help="points for per-point quad"
    )
    parser.add_argument(
        "--reference", type=int, default=8, help="points for the mpmath reference"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    qs = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), args.n1))
    rule = compile_expectation(ONE_D, [q], Z)
    rule(qs[:10])
    t = time.perf_counter()
    ours = np.concatenate(
        [rule(c) for c in np.array_split(qs, max(1, args.n1 // 50_000))]
    )
    ours_time = time.perf_counter() - t
    sub = qs[: args.baseline]
    t = time.perf_counter()
    base = np.array([quad_1d(x) for x in sub])
    base_per_point = (time.perf_counter() - t) / len(sub)
    ref_idx = np.arange(args.reference)
    ref = np.array(
        [float(expectation_mp(ONE_D, {q: qs[i]}, Z, dps=30)) for i in ref_idx]
    )
    t = time.perf_counter()
    table = tabulate(rule, [(1e-3, 1e3)])
    tabled = table(qs)
    table_time = time.perf_counter() - t
    err_ours = np.max(np.abs(ours[ref_idx] / ref - 1))
    err_table = np.max(np.abs(tabled[ref_idx] / ref - 1))
    err_base = np.max(np.abs(base[ref_idx] / ref - 1))
    table_vs_direct = np.max(np.abs(tabled / ours - 1))
    print(f"1-D E[tanh(sqrt(q) z)^2], q log-uniform in [1e-3, 1e3], {args.n1} points")
    print(
        f"  quadrature: {ours_time:8.2f} s total, {ours_time / args.n1 * 1e6:8.3f} us/point, max rel err {err_ours:.1e}"
    )
    print(
        f"  table     : {table_time:8.2f} s total incl. construction ({table.cells} cells, "
        f"{table.function_evaluations} values), {table_time / args.n1 * 1e6:8.3f} us/point, "
        f"max rel err {err_table:.1e}; vs quadrature at all {args.n1} points {table_vs_direct:.1e}"
    )
    print(
        f"  quad      : {base_per_point * 1e6:8.1f} us/point (on {len(sub)} points), max rel err {err_base:.1e}"
    )
    print(
        f"  speed-up per point: quadrature {base_per_point / (ours_time / args.n1):.0f}x, table {base_per_point / (table_time / args.n1):.0f}x"
    )

    q2 = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), args.n2))
    r2 = rng.uniform(-0.99, 0.99, args.n2)
    rule2 = compile_expectation(TWO_D, [q, RHO], (U, V), RHO)
    nd = min(args.n2, args.direct)
    t = time.perf_counter()
    ours2 = rule2(q2[:nd], r2[:nd])
    ours2_per_point = (time.perf_counter() - t) / nd
    t = time.perf_counter()
    # error held to the kernel's diagonal E[tanh(√q z)²] ≥ |K(q, ρ)| (Cauchy–Schwarz)
    table2 = tabulate(rule2, [(1e-2, 1e2), (-0.99, 0.99)], [None, "angle"], degree=32, magnitude=lambda qv, rv: rule(qv))
    tabled2 = table2(q2, r2)
    table2_time = time.perf_counter() - t
    nb = max(2, args.baseline // 4)
    t = time.perf_counter()
    base2 = np.array([quad_2d(q2[i], r2[i]) for i in range(nb)])
    base2_per_point = (time.perf_counter() - t) / nb
    nref = max(1, args.reference // 4)
    ref2 = np.array(
        [
            float(expectation_mp(TWO_D, {q: q2[i], RHO: r2[i]}, (U, V), RHO, dps=20))
            for i in range(nref)
        ]
    )
    diagonal = rule(q2[:nref])

    def errors(values):
        difference = np.abs(values[:nref] - ref2)
        return np.max(difference / np.abs(ref2)), np.max(difference / diagonal)

    table_vs_direct = np.max(np.abs(tabled2[:nd] - ours2) / rule(q2[:nd]))
    print(
        f"2-D E[tanh(sqrt(q) u) tanh(sqrt(q) v)], q in [1e-2, 1e2], rho in [-0.99, 0.99], {args.n2} points; "
        f"errors vs mpmath ({nref} pts), relative to |K| and to the diagonal K(q, 1)"
    )
    print(
        f"  quadrature: {ours2_per_point * 1e3:8.3f} ms/point (on {nd} points), max rel err %.1e, %.1e" % errors(ours2)
    )
    print(
        f"  table     : {table2_time:8.2f} s total incl. construction ({table2.cells} cells, "
        f"{table2.function_evaluations} values, by columns of correlations), {table2_time / args.n2 * 1e6:8.3f} us/point, "
        f"max rel err %.1e, %.1e; vs quadrature at {nd} points %.1e (diagonal scale)"
        % (*errors(tabled2), table_vs_direct)
    )
    print(
        f"  dblquad   : {base2_per_point * 1e3:8.1f} ms/point (on {nb} points), max rel err %.1e, %.1e"
        % errors(base2)
    )
    print(
        f"  speed-up per point: quadrature {base2_per_point / ours2_per_point:.0f}x, "
        f"table {base2_per_point / (table2_time / args.n2):.0f}x"
    )

if __name__ == "__main__":
    main()
