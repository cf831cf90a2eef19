"""A 512 × 512 tanh phase diagram: vectorized tables vs the per-point approach of the original notebooks.

Ours: the symbolic derivation of tanh's mean-field theory, then
:func:`numerics.meanfield.mean_field_state` on the whole (σ_w², σ_b²) grid —
q*, χ₁, ξ_q, c*, χ_c, ξ_c at every point — each timed in a fresh process: once
with an empty cache (cold: every derivation and Chebyshev table of the
expectations is made), then three times with the cache it filled (warm: they are
read back and checked), reporting the fastest.

Baseline, on a subsample of the same grid in the same run: per point,
``scipy.integrate.quad`` for the one-variable expectations and ``dblquad`` for
the kernels, q* and c* by fixed-point iteration (Poole et al. 2016; Schoenholz
et al. 2017).

Accuracy of both against a high-precision reference at a few points of the
subsample: one Newton step at ``--dps`` digits (mpmath quadrature) from our q*
and c*; as Newton converges quadratically, the reference's own error is of the
order of the square of ours.

    python3 benchmarks/bench_meanfield.py [--grid 512] [--baseline 8] [--reference 4]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import mpmath
import numpy as np
from scipy import integrate

from dyncheck.numerics.gaussian import expectation_mp
from dyncheck.numerics.meanfield import PHASES, functions_for, mean_field_state
from dyncheck.theory.activations import activation
from dyncheck.theory.symbols import Q, RHO
from dyncheck.theory.meanfield import mean_field

PDF = 1 / math.sqrt(2 * math.pi)
CHAOTIC = PHASES.index("chaotic")
#: Stopping rule of the baseline's fixed-point iterations.
FIXED_POINT_TOL, FIXED_POINT_MAX = 1e-12, 2000


def _quad(f) -> float:
    return integrate.quad(lambda z: f(z) * math.exp(-z * z / 2) * PDF, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0]


def _dblquad(f, c) -> float:
    s = math.sqrt(1 - c * c)
    return integrate.dblquad(
        lambda z2, z1: f(z1, c * z1 + s * z2) * math.exp(-(z1 * z1 + z2 * z2) / 2) * PDF * PDF,
        -np.inf,
        np.inf,
        -np.inf,
        np.inf,
    )[0]


def _fixed_point(update, x):
    for _ in range(FIXED_POINT_MAX):
        new = update(x)
        if abs(new - x) <= FIXED_POINT_TOL * max(abs(new), 1e-300):
            return new
        x = new
    return x


def baseline(sw2: float, sb2: float) -> dict:
    """q*, χ₁, ξ_q, c*, χ_c, ξ_c of tanh at one point, the notebooks' way."""
    tanh, sech2 = math.tanh, lambda x: 1 - math.tanh(x) ** 2

    def second(q):
        return _quad(lambda z: tanh(math.sqrt(q) * z) ** 2)

    q = _fixed_point(lambda q: sw2 * second(q) + sb2, 1.0)
    r = math.sqrt(q)
    chi_1 = sw2 * _quad(lambda z: sech2(r * z) ** 2)
    curvature = _quad(lambda z: -2 * tanh(r * z) ** 2 * sech2(r * z))  # φ″φ, φ″ = −2 tanh sech²
    xi_q = -1 / math.log(chi_1 + sw2 * curvature)
    if chi_1 <= 1:
        c, chi_c = 1.0, chi_1
    else:
        c = _fixed_point(lambda c: (sw2 * _dblquad(lambda u, v: tanh(r * u) * tanh(r * v), c) + sb2) / q, 0.5)
        chi_c = sw2 * _dblquad(lambda u, v: sech2(r * u) * sech2(r * v), c)
    return {"q_star": q, "chi_1": chi_1, "xi_q": xi_q, "c_star": c, "chi_c": chi_c, "xi_c": -1 / math.log(chi_c)}


def reference(theory, sw2: float, sb2: float, q0: float, c0: float, dps: int) -> dict:
    """One Newton step at ``dps`` digits from (q0, c0) for q* and c*, and every quantity there."""
    mp = mpmath.mpf
    with mpmath.workdps(dps):
        sw2_, sb2_ = mp(sw2), mp(sb2)

        def one(derivation, q, c=None):
            values = {Q: q} if c is None else {Q: q, RHO: c}
            return expectation_mp(derivation.expectation, values, dps=dps)

        q = mp(q0)
        second, slope, curvature = (one(d, q) for d in (theory.second_moment, theory.slope_moment, theory.curvature_moment))
        # F(q) = σ_w² V(q) + σ_b² − q, F′(q) = σ_w² (E[φ′²] + E[φ″φ]) − 1
        q = q - (sw2_ * second + sb2_ - q) / (sw2_ * (slope + curvature) - 1)
        slope, curvature = one(theory.slope_moment, q), one(theory.curvature_moment, q)
        chi_1 = sw2_ * slope
        xi_q = -1 / mpmath.log(chi_1 + sw2_ * curvature)
        out = {"q_star": q, "chi_1": chi_1, "xi_q": xi_q, "c_star": mp(1), "chi_c": chi_1}
        if c0 < 1:
            c = mp(c0)
            kernel = one(theory.kernel, q, c)
            chi_c = sw2_ * one(theory.slope_kernel, q, c)
            # G(c) = (σ_w² K(q, c) + σ_b²)/q − c, G′(c) = χ_c(c) − 1
            c = c - ((sw2_ * kernel + sb2_) / q - c) / (chi_c - 1)
            out["c_star"], out["chi_c"] = c, sw2_ * one(theory.slope_kernel, q, c)
        out["xi_c"] = -1 / mpmath.log(out["chi_c"])
        return {k: float(v) for k, v in out.items()}


KEYS = ("q_star", "chi_1", "xi_q", "c_star", "chi_c", "xi_c")


def relative_errors(values: dict, ref: dict) -> dict:
    return {k: abs(values[k] - ref[k]) / abs(ref[k]) for k in KEYS}


def _axes(grid: int):
    return np.meshgrid(np.linspace(0.5, 4.0, grid), np.linspace(0.0, 0.3, grid), indexing="ij")


def timed_run(grid: int) -> dict:
    """The derivation and the grid, timed in this process (``--once``: the parent reads the JSON)."""
    start = time.perf_counter()
    theory = mean_field(activation("tanh").expr(), "tanh")
    functions_for(theory).compile_kernels()
    derivation = time.perf_counter() - start
    start = time.perf_counter()
    mean_field_state(theory, *_axes(grid))
    return {"derivation": derivation, "grid": time.perf_counter() - start}


def in_fresh_process(grid: int, cache: str) -> dict:
    env = {**os.environ, "DYNCHECK_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, __file__, "--once", "--grid", str(grid)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--grid", type=int, default=512)
    parser.add_argument("--baseline", type=int, default=8, help="subsample points for the per-point baseline")
    parser.add_argument("--reference", type=int, default=4, help="of those, points with a high-precision reference")
    parser.add_argument("--dps", type=int, default=20)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(timed_run(args.grid)))
        return

    with tempfile.TemporaryDirectory() as cache:
        cold = in_fresh_process(args.grid, cache)
        warm = min((in_fresh_process(args.grid, cache) for _ in range(3)), key=lambda run: run["derivation"] + run["grid"])
        os.environ["DYNCHECK_CACHE_DIR"] = cache
        theory = mean_field(activation("tanh").expr(), "tanh")
        sw2, sb2 = _axes(args.grid)
        state = mean_field_state(theory, sw2, sb2)
    ours = warm["grid"]
    points = sw2.size
    print(f"tanh phase diagram, {args.grid}×{args.grid} grid, σ_w² ∈ [0.5, 4], σ_b² ∈ [0, 0.3], each in a fresh process")
    for label, run in (("cold cache (derivations and tables made)", cold), ("warm cache (read back and checked)", warm)):
        total = run["derivation"] + run["grid"]
        print(f"  {label}: {total:.2f} s = derivation {run['derivation']:.2f} s + grid {run['grid']:.2f} s")
    print(f"  ours, warm: {ours / points * 1e6:.1f} us/point; {np.sum(state.phase == CHAOTIC)} chaotic points")

    # the subsample: half ordered, half chaotic, away from the critical line (where ξ is ill-conditioned)
    rng = np.random.default_rng(0)
    away = np.abs(state.chi_1 - 1) > 0.05
    chaotic = np.flatnonzero(away & (state.phase == CHAOTIC))
    ordered = np.flatnonzero(away & (state.phase == PHASES.index("ordered")) & (state.q_star > 1e-3))
    half = args.baseline // 2
    sample = np.concatenate(
        [rng.choice(ordered, args.baseline - half, replace=False), rng.choice(chaotic, half, replace=False)]
    )
    flat = {k: getattr(state, k).ravel() for k in KEYS}
    start = time.perf_counter()
    base = [baseline(sw2.flat[i], sb2.flat[i]) for i in sample]
    base_per_point = (time.perf_counter() - start) / len(sample)
    print(f"  baseline (quad/dblquad + fixed-point iteration): {base_per_point:.2f} s/point on {len(sample)} points")
    print(
        f"  speed-up per point: {base_per_point / (ours / points):.0f}x; "
        f"the grid would take the baseline {base_per_point * points / 3600:.0f} h"
    )

    n_ref = min(args.reference, len(sample))
    picks = np.concatenate([np.arange(n_ref - n_ref // 2), len(sample) - 1 - np.arange(n_ref // 2)])
    worst_ours = dict.fromkeys(KEYS, 0.0)
    worst_base = dict.fromkeys(KEYS, 0.0)
    start = time.perf_counter()
    for j in picks:
        i = sample[j]
        ref = reference(theory, sw2.flat[i], sb2.flat[i], flat["q_star"][i], flat["c_star"][i], args.dps)
        mine = relative_errors({k: flat[k][i] for k in KEYS}, ref)
        theirs = relative_errors(base[j], ref)
        for k in KEYS:
            worst_ours[k] = max(worst_ours[k], mine[k])
            worst_base[k] = max(worst_base[k], theirs[k])
    print(f"  accuracy against mpmath ({args.dps} digits, {n_ref} points, {time.perf_counter() - start:.0f} s), max relative error:")
    print(f"    {'':10}" + "".join(f"{k:>10}" for k in KEYS))
    for label, worst in (("ours", worst_ours), ("baseline", worst_base)):
        print(f"    {label:10}" + "".join(f"{worst[k]:10.1e}" for k in KEYS))


if __name__ == "__main__":
    main()
