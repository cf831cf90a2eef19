"""Training as optimal control: ``train msa`` (the extended method of successive approximations)."""

from __future__ import annotations

import json
import sys

from dyncheck.proofs_check.commands.common import EXIT_OK, Commands, add_json, add_plot, at_least, count, deprecated, wrote
from dyncheck.theory.errors import UsageError

__all__ = ["register"]


def register(commands: Commands) -> None:
    msa = commands.add(
        commands.train, "msa", help="extended MSA (Li et al. 2018) against plain MSA, GD and Adam",
        examples="  dyncheck train msa --depth 20 --plot msa.png\n  dyncheck train msa --problem digits --depth 5 --iterations 10 --baseline-iterations 300 --plot digits.png",
        run=_train_msa,
    )
    msa.add_argument("--problem", choices=["sin", "digits"], default="sin", help="sin regression (default) or handwritten digits (needs scikit-learn)")
    deprecated(msa, "--layers", msa.add_argument("--depth", type=count(1, 1000), default=20, help="residual tanh layers (nonlinearities; default 20)"))
    msa.add_argument("--width", type=count(1, 4096), default=5, help="state width of the sin problem (digits: 64; default 5)")
    msa.add_argument("--rho", type=at_least(0, high=1e6), default=20.0, help="E-MSA penalty ρ ≥ 0 (default 20)")
    msa.add_argument("--iterations", type=count(1, 100_000), default=20, help="MSA iterations (default 20)")
    msa.add_argument("--inner", type=count(1, 10_000), default=10, help="L-BFGS steps per layer and iteration (default 10)")
    msa.add_argument("--baseline-iterations", type=count(1, 1_000_000), default=1000, help="GD and Adam steps (default 1000)")
    msa.add_argument("--gd-lr", type=at_least(0, strict=True, high=1e3), default=0.5, help="GD learning rate > 0 (default 0.5)")
    msa.add_argument("--adam-lr", type=at_least(0, strict=True, high=1e3), default=0.01, help="Adam learning rate > 0 (default 0.01)")
    add_plot(msa, "the loss per iteration and per second")
    add_json(msa)


def _train_msa(args) -> int:
    import time

    from dyncheck.numerics.control import (
        accuracy,
        digits_problem,
        gradient_train,
        msa_train,
        plot_training,
        sin_problem,
    )

    if args.depth < 1 or args.width < 1 or args.iterations < 1 or args.rho < 0:
        raise UsageError("depth, width and iterations must be positive and ρ non-negative")
    digits = args.problem == "digits"
    runs = {}

    def problem():
        return digits_problem(args.depth) if digits else sin_problem(args.depth, args.width)

    def run(label, train, **options):
        network, x0, y = problem()
        seconds = [0.0]
        start = time.perf_counter()
        total = options["iterations"]

        def progress(k, loss):
            seconds.append(time.perf_counter() - start)
            if k == total or k % max(1, total // 10) == 0:
                print(f"  {label:12s} iteration {k:5d}/{total}  loss {loss:.6g}", file=sys.stderr)

        losses = train(network, x0, y, progress=progress, **options)
        runs[label] = {"loss": losses.tolist(), "seconds": seconds}
        if digits:
            runs[label]["accuracy"] = accuracy(network, x0, y)

    network, _, _ = problem()
    what = "digits (1797 images), width 64" if digits else f"sin on [−π, π], 100 points, width {network.weights.shape[1]}"
    title = f"{what}: {args.depth} residual tanh layers, zero init"
    print(title, file=sys.stderr)
    run(f"E-MSA ρ={args.rho:g}", msa_train, rho=args.rho, iterations=args.iterations, inner_iterations=args.inner)
    run("MSA ρ=0", msa_train, rho=0.0, iterations=args.iterations, inner_iterations=args.inner)
    run("GD", gradient_train, method="gd", learning_rate=args.gd_lr, iterations=args.baseline_iterations)
    run("Adam", gradient_train, method="adam", learning_rate=args.adam_lr, iterations=args.baseline_iterations)
    if args.plot:
        plot_training(runs, title, args.plot)
    if args.json:
        width = network.weights.shape[1]
        print(json.dumps({"problem": args.problem, "layers": args.depth, "width": width, "rho": args.rho, "runs": runs}, indent=2))
    else:
        print(f"{'method':14s} {'iterations':>10s} {'final loss':>12s} {'seconds':>9s}" + ("  accuracy" if digits else ""))
        for label, r in runs.items():
            line = f"{label:14s} {len(r['loss']) - 1:10d} {r['loss'][-1]:12.6g} {r['seconds'][-1]:9.2f}"
            print(line + (f"  {r['accuracy']:8.3f}" if digits else ""))
        wrote(args.plot)
    return EXIT_OK
