"""NNGP/NTK matrices: numerics.kernels against neural-tangents, side by side.

neural-tangents needs an older JAX, so it runs in its own virtual environment,
never as a dependency of dyncheck:

    python3 -m venv /tmp/ntvenv
    /tmp/ntvenv/bin/pip install "numpy<2" "scipy<1.14" jax==0.4.30 jaxlib==0.4.30 neural-tangents==0.6.5 tf2jax==0.3.6
    python3 benchmarks/bench_kernels.py --nt-python /tmp/ntvenv/bin/python [--inputs 2000] [--depth 10]

The network is ``stax.serial(*[Dense(512, W_std=√σ_w², b_std=√σ_b²), φ] * depth, Dense(1, …))``
(σ_w² = 1.5, σ_b² = 0.05), in float64 (``jax_enable_x64``), on inputs of one
norm in d = 10.  For relu and erf both sides use closed forms: reported are
the seconds of each (neural-tangents jitted, the first call with compilation
and the best of three warm ones; dyncheck likewise, its layer maps already derived) and the
largest difference relative to the diagonal.  For tanh, neural-tangents'
``ElementwiseNumerical(deg=25)`` against dyncheck's generated quadrature
(accurate to ~1e-13); its deg² × N² nodes limit it to fewer inputs
(``--tanh-inputs``, 500 by default).

Where the two disagree the table says by how much; which side is right is
settled against 50-digit mpmath on the entry: relu's NTK diagonal, for one,
where neural-tangents' arccos at a cosine one rounding below 1 loses ~4e-8.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

from dyncheck.numerics.kernels import kernel_matrices
from dyncheck.numerics.training import sphere_data
from dyncheck.theory.activations import activation
from dyncheck.theory.kernels import layer_maps

SW2, SB2 = 1.5, 0.05

_NEURAL_TANGENTS = r"""
import json, sys, time
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np
from neural_tangents import stax

data = np.load(sys.argv[1])
x, depth, name = data["x"], int(data["depth"]), str(data["name"])
layer = {"relu": stax.Relu, "erf": stax.Erf, "tanh": lambda: stax.ElementwiseNumerical(jnp.tanh, deg=25, df=lambda z: 1 - jnp.tanh(z) ** 2)}[name]
w, b = float(np.sqrt(data["sw2"])), float(np.sqrt(data["sb2"]))
_, _, kernel_fn = stax.serial(*[stax.Dense(512, W_std=w, b_std=b), layer()] * depth, stax.Dense(1, W_std=w, b_std=b))
kernel_fn = jax.jit(kernel_fn, static_argnames="get")
times = []
for _ in range(4):
    start = time.perf_counter()
    nngp, ntk = kernel_fn(x, None, get=("nngp", "ntk"))
    nngp.block_until_ready(); ntk.block_until_ready()
    times.append(time.perf_counter() - start)
np.savez(sys.argv[2], nngp=np.asarray(nngp), ntk=np.asarray(ntk))
print(json.dumps({"first": times[0], "warm": min(times[1:])}))
"""


def _neural_tangents(python: str, x: np.ndarray, depth: int, name: str) -> tuple[dict, np.ndarray, np.ndarray]:
    with tempfile.TemporaryDirectory() as folder:
        inputs, outputs = os.path.join(folder, "in.npz"), os.path.join(folder, "out.npz")
        np.savez(inputs, x=x, depth=depth, name=name, sw2=SW2, sb2=SB2)
        env = dict(os.environ, JAX_PLATFORMS="cpu")
        run = subprocess.run([python, "-c", _NEURAL_TANGENTS, inputs, outputs], capture_output=True, text=True, env=env, check=True)
        result = np.load(outputs)
        return json.loads(run.stdout.strip().splitlines()[-1]), result["nngp"], result["ntk"]


def _relative_to_diagonal(ours: np.ndarray, theirs: np.ndarray) -> float:
    scale = np.sqrt(np.outer(np.diag(ours), np.diag(ours)))
    return float(np.max(np.abs(ours - theirs) / scale))


def compare(python: str, name: str, count: int, depth: int) -> None:
    x = sphere_data(count, 10, seed=3)
    maps = layer_maps(activation(name).expr(), time_limit_s=3.0)
    timings, theirs_nngp, theirs_ntk = _neural_tangents(python, x, depth, name)
    kernel_matrices(maps, x[:4], depth, SW2, SB2)  # compile the layer maps once, as a user's second call would
    ours = []
    for _ in range(4):  # first, and the best of three warm, as for neural-tangents
        start = time.perf_counter()
        nngp, ntk = kernel_matrices(maps, x, depth, SW2, SB2)
        ours.append(time.perf_counter() - start)
    ours = [ours[0], min(ours[1:])]
    print(
        f"{name:>5} {count:6d} {timings['first']:13.2f} {timings['warm']:12.2f} {ours[0]:13.2f} {ours[1]:10.2f} "
        f"{timings['warm'] / ours[1]:8.1f} {_relative_to_diagonal(nngp, theirs_nngp):12.1e} {_relative_to_diagonal(ntk, theirs_ntk):12.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nt-python", required=True, help="python of a virtual environment with neural-tangents")
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--tanh-inputs", type=int, default=500)
    parser.add_argument("--depth", type=int, default=10)
    args = parser.parse_args()
    print(f"depth {args.depth}, σ_w² = {SW2}, σ_b² = {SB2}, float64, d = 10, inputs of one norm")
    print(f"{'φ':>5} {'inputs':>6} {'NT first s':>13} {'NT warm s':>12} {'ours first s':>13} {'ours warm s':>10} {'NT/ours warm':>8} {'Δ NNGP':>12} {'Δ NTK':>12}")
    for name, count in (("relu", args.inputs), ("erf", args.inputs), ("tanh", args.tanh_inputs)):
        compare(args.nt_python, name, count, args.depth)


if __name__ == "__main__":
    main()
