"""Mean-field training of two-layer networks: ``simulate two-layer`` (particle SGD beside the distributional dynamics)."""

from __future__ import annotations

import argparse
import json
import math
import sys

from dyncheck.proofs_check.commands.common import (
    EXIT_OK,
    Commands,
    add_backend,
    add_executor,
    add_json,
    add_plot,
    add_replicates,
    add_seed,
    at_least,
    check_backend,
    count,
    deprecated,
    json_number,
    require_memory,
    scheduler_of,
    wrote,
)
from dyncheck.theory.errors import UsageError

__all__ = ["register"]

#: The largest |c|, |w*| of a teacher neuron, the most SGD steps, and the output intervals (risk and densities).
_LIMIT, _STEPS, _OUTPUTS = 1e3, 10_000_000, 50


def _teacher_neuron(text: str) -> tuple[float, tuple[float, ...]]:
    """"c,w1[,w2 …]": the output weight c and the input weights w* of one teacher neuron (finite, bounded)."""
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a teacher neuron is c,w1[,w2 …] — numbers separated by commas") from None
    if len(numbers) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: a teacher neuron is c,w1[,w2 …] — an output weight c and at least one input weight")
    if not all(math.isfinite(v) and abs(v) <= _LIMIT for v in numbers):
        raise argparse.ArgumentTypeError(f"{text!r}: a teacher neuron's weights are finite numbers of size ≤ {_LIMIT:g}")
    return numbers[0], tuple(numbers[1:])


def register(commands: Commands) -> None:
    sim = commands.add(
        commands.simulate, "two-layer", help="two-layer networks trained by SGD beside their mean-field PDE ∂_tρ = 2ξ∇·(ρ∇Ψ)",
        examples=(
            "  dyncheck simulate two-layer --particles 256 --replicates 8 --plot two_layer.png\n"
            "  dyncheck simulate two-layer --particles 64 --teacher 0.5,2 -0.5,0.5 --time 4 --json\n"
            "  dyncheck simulate two-layer --particles 16 64 256 --replicates 32 --jobs 2 --plot fluctuations.png\n"
            '  dyncheck simulate two-layer --particles 128 --teacher 1,2,0 --activation "erf(2*z)" --scaling ntk\n'
            "    (x ~ N(0, I_d), features σ(⟨w, x⟩), teacher y = Σ c σ(⟨w*, x⟩): V, U and R_# come from the Gaussian engine)"
        ),
        run=_two_layer,
    )
    deprecated(sim, "--N", sim.add_argument("--particles", type=count(1, 1 << 16), nargs="+", default=[256], metavar="N", help="neurons (particles) per network (default 256); several sizes add the fluctuations of R_N against N"))
    sim.add_argument("--teacher", type=_teacher_neuron, nargs="+", default=[(1.0, (2.0,))], metavar="C,W", help="teacher neurons c,w1[,w2 …]: y = Σ c σ(⟨w*, x⟩), d = the number of w's (default 1,2: y = erf(2x))")
    sim.add_argument("--activation", default="erf(z)", metavar="EXPR", help="σ as an expression in z whose Gaussian pair expectation has a closed form (default erf(z))")
    sim.add_argument("--spread", type=at_least(0, strict=True, high=1e3), default=0.5, help="initial weights w_i ~ N(0, spread² I) (default 0.5)")
    sim.add_argument("--time", type=at_least(0, strict=True, high=1e4), default=2.0, metavar="T", help="training time t = k ε (default 2)")
    sim.add_argument("--steps", type=count(1, _STEPS), metavar="K", help="SGD steps, ε = T/K (default: ε ≈ 0.1/N, the N^-1/2 regime of Mei, Montanari & Nguyen, K a multiple of 50)")
    sim.add_argument("--scaling", choices=["mean-field", "ntk"], default="mean-field", help="output scale 1/N (default) or 1/√N (lazy)")
    sim.add_argument("--nodes", type=count(2, 256), metavar="M", help="Gauss–Hermite nodes an axis of the PDE solver (default 48 in d = 1, 20 in d = 2, 6 above)")
    add_replicates(sim, low=1, default=8, what="networks (per size)")
    add_backend(sim)
    add_executor(sim, jobs_default="1: every size's networks as one batch, in this process")
    add_seed(sim)
    add_plot(sim, "risk curves and the first weight's density, SGD against the PDE")
    add_json(sim)


def _two_layer(args) -> int:
    import numpy as np
    import sympy as sp
    from tqdm import tqdm

    from dyncheck.numerics.meanfield_training import distributional_dynamics, particle_sgd_ensemble, plot_two_layer
    from dyncheck.proofs_check.parser import parse_expression
    from dyncheck.theory.meanfield_training import two_layer_model
    from dyncheck.theory.symbols import Z

    check_backend(args)
    sizes = sorted(set(args.particles))
    largest = sizes[-1]
    dimension = len(args.teacher[0][1])
    if any(len(w) != dimension for _, w in args.teacher):
        raise UsageError("every --teacher neuron needs the same number of weights (the input dimension d)")
    nodes = args.nodes or {1: 48, 2: 20}.get(dimension, 6)
    if 2**dimension > 20_000:
        raise UsageError(f"d = {dimension} inputs: the PDE solver's tensor rule has nodes^d particles, at most 20000, so d ≤ 14")
    if nodes ** dimension > 20_000:
        raise UsageError(f"--nodes {nodes} in d = {dimension} makes {nodes ** dimension} PDE particles; at most 20000")
    steps = {n: args.steps or _OUTPUTS * math.ceil(args.time * n / 0.1 / _OUTPUTS) for n in sizes}
    if max(steps.values()) > _STEPS:
        raise UsageError(f"{max(steps.values())} SGD steps (ε = 0.1/N over T = {args.time:g}); give --steps ≤ {_STEPS:g} or a shorter --time")
    require_memory(
        8.0 * args.replicates * largest * (dimension + 4) * (_OUTPUTS + 1) + 8.0 * (nodes ** dimension) ** 2 * 6,
        f"{args.replicates} networks of {largest} neurons and {nodes ** dimension} PDE particles",
    )
    activation = parse_expression(args.activation, {"z": Z})
    if activation.free_symbols - {Z}:
        raise UsageError(f"the activation may use only z, not {', '.join(sorted(map(str, activation.free_symbols - {Z})))}")
    if not activation.has(Z):
        raise UsageError(f"the activation σ = {activation} is constant: the features must depend on z")
    teacher = tuple((sp.nsimplify(c, rational=True), tuple(sp.nsimplify(v, rational=True) for v in w)) for c, w in args.teacher)
    model = two_layer_model(activation, teacher)  # the closed forms, before any simulation
    scheduler = scheduler_of(args)
    pde_step = args.time / (2 * _OUTPUTS)
    pde = distributional_dynamics(model, spread=args.spread, nodes=nodes, time=args.time, step=pde_step, samples=_OUTPUTS + 1)
    finer = distributional_dynamics(model, spread=args.spread, nodes=max(nodes + 1, round(4 * nodes / 3)), time=args.time, step=pde_step / 2, samples=_OUTPUTS + 1)
    here = (args.jobs or 1) == 1 and scheduler is None and args.store is None
    bar = tqdm(total=sum(steps.values()), desc="simulate two-layer", unit="step", file=sys.stderr, disable=args.json or not here or None)
    done = {"before": 0, "size": 0}

    def progress(count, total):
        if count == 0 and total != done["size"]:
            done["before"], done["size"] = bar.n, total
        bar.update(done["before"] + count - bar.n)

    runs = particle_sgd_ensemble(
        model, sizes, args.replicates, seed=args.seed, jobs=args.jobs, scheduler=scheduler, store=args.store,
        progress=progress if here else not args.json, step_of=lambda n: args.time / steps[n],
        spread=args.spread, time=args.time, scaling=args.scaling, samples=_OUTPUTS + 1, backend=args.backend, device=args.device,
    )
    bar.close()
    sgd = runs[largest]
    epsilon = args.time / steps[largest]
    pde_risk = np.interp(sgd.times, pde.times, pde.risk[:, 0])  # the same times when K is a multiple of 50
    solver_error = float(np.abs(pde.risk[:, 0] - finer.risk[:, 0]).max())
    mean = sgd.risk.mean(axis=1)
    error = sgd.risk.std(axis=1, ddof=1) / math.sqrt(args.replicates) if args.replicates > 1 else None
    spread_at_end = {n: float(runs[n].risk[-1].std(ddof=1)) for n in sizes} if args.replicates > 1 else {}
    result = {
        "N": largest, "d": dimension, "activation": str(activation), "teacher": [[float(c), [float(v) for v in w]] for c, w in teacher],
        "U": str(model.U), "V": str(model.V), "R_sharp": float(model.baseline), "scaling": args.scaling, "epsilon": epsilon, "steps": steps[largest],
        "replicates": args.replicates, "times": sgd.times.tolist(), "risk_mean": mean.tolist(),
        "risk_standard_error": None if error is None else [json_number(e) for e in error], "pde_risk": pde_risk.tolist(), "pde_nodes": nodes ** dimension,
        "pde_solver_error": solver_error, "backend": args.backend, "device": args.device,
    }
    if len(sizes) > 1:
        result["fluctuations"] = [
            {"N": n, "epsilon": args.time / steps[n], "risk_mean": float(runs[n].risk[-1].mean()), "risk_sd": json_number(spread_at_end.get(n, math.nan))}
            for n in sizes
        ]
        if spread_at_end:
            result["fluctuation_exponent"] = float(np.polyfit(np.log(sizes), np.log([spread_at_end[n] for n in sizes]), 1)[0])
    if args.plot:
        title = f"two-layer network, σ = {activation}, N = {largest} × {args.replicates}, {args.scaling} scaling, ε = {epsilon:.2g}"
        plot_two_layer(sgd, finer, args.plot, title, spread_at_end if len(sizes) > 1 else None)
        result["plot"] = args.plot
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(f"U(w, w') = {model.U}")
    print(f"V(w) = {model.V},  R_# = {float(model.baseline):.6g}")
    print(f"{args.replicates} network{'s' if args.replicates > 1 else ''} of N = {largest}, {args.scaling} scaling, one-sample SGD, ε = {epsilon:.3g} ({steps[largest]} steps); PDE on {nodes ** dimension} Gauss–Hermite particles (its error ≤ {solver_error:.1e})")
    print(f"{'t':>8} {'R_N (SGD)':>12} {'± s.e.':>9} {'R(ρ_t) PDE':>12}")
    for index in range(0, sgd.times.size, max(1, sgd.times.size // 10)):
        se = f"{error[index]:9.1e}" if error is not None else f"{'—':>9}"
        print(f"{sgd.times[index]:8.3g} {mean[index]:12.6f} {se} {pde_risk[index]:12.6f}")
    if len(sizes) > 1:
        print(f"at t = {args.time:g}, R(ρ_t) = {pde_risk[-1]:.6f}:")
        print(f"{'N':>8} {'ε':>10} {'mean R_N':>12} {'sd R_N':>10}")
        for row in result["fluctuations"]:
            sd = f"{row['risk_sd']:10.2e}" if row["risk_sd"] is not None else f"{'—':>10}"
            print(f"{row['N']:8d} {row['epsilon']:10.3g} {row['risk_mean']:12.6f} {sd}")
        if "fluctuation_exponent" in result:
            print(f"sd R_N ∝ N^{result['fluctuation_exponent']:.2f} (Mei, Montanari & Nguyen: N^-1/2)")
    wrote(args.plot)
    return EXIT_OK
