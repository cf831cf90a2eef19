"""Gradient descent as a dynamical system: ``stability`` (the step-size threshold of an optimizer),
``train eos`` (the edge of stability) and ``train implicit-bias`` (where GD ends when many minima fit)."""

from __future__ import annotations

import argparse
import json

from dyncheck.proofs_check.commands.common import (
    EXIT_OK,
    add_executor,
    add_json,
    add_plot,
    add_seed,
    at_least,
    Commands,
    count,
    finite,
    require_memory,
    scheduler_of,
    wrote,
)
from dyncheck.theory.errors import UsageError

__all__ = ["register"]


def _momentum(text: str) -> float:
    """β ∈ [0, 1): a momentum or Adam's β₁."""
    value = finite(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text} must lie in [0, 1)")
    return value


def register(commands: Commands) -> None:
    from dyncheck.theory.gradient_descent import OPTIMIZERS

    stability = commands.add(
        commands.top, "stability", help="the largest stable step of GD, heavy-ball, Nesterov or Adam at a minimum, derived and proved",
        examples=(
            "  dyncheck stability --optimizer heavy-ball\n"
            "  dyncheck stability --optimizer nesterov --beta 0.9 --sharpness 120 --json\n"
            "  dyncheck stability --optimizer adam --beta 0.9"
        ),
        run=_stability,
    )
    stability.add_argument(
        "--optimizer", choices=list(OPTIMIZERS), required=True,
        help="gd; heavy-ball and nesterov as torch.optim.SGD runs them; adam with its preconditioner frozen",
    )
    stability.add_argument("--beta", type=_momentum, help="momentum (Adam: β₁) in [0, 1); the threshold's value at it (not for gd)")
    stability.add_argument("--sharpness", type=at_least(0, strict=True, high=1e300), metavar="LAMBDA", help="the largest Hessian eigenvalue λ_max > 0 (Adam: of the preconditioned Hessian); gives the largest stable η")
    add_json(stability)

    eos = commands.add(
        commands.train, "eos", help="full-batch GD at the edge of stability: the sharpness rises to 2/η and hovers there (Cohen et al. 2021)",
        examples=(
            "  dyncheck train eos --plot eos.png\n"
            "  dyncheck train eos --eta 0.1 0.2 0.4 --steps 1600 --jobs 2 --plot sweep.png --json"
        ),
        run=_train_eos,
    )
    eos.add_argument("--eta", type=at_least(0, strict=True, high=1e3), nargs="+", default=[0.2], help="step sizes η > 0, one run each (default 0.2)")
    eos.add_argument("--steps", type=count(1, 1_000_000), default=800, help="GD steps (default 800)")
    eos.add_argument("--every", type=count(1, 1_000_000), default=40, help="steps between sharpness measurements (default 40)")
    eos.add_argument("--width", type=count(1, 4096), default=16, help="neurons per hidden layer (default 16)")
    eos.add_argument("--depth", type=count(1, 64), default=2, help="hidden tanh layers (default 2)")
    eos.add_argument("--samples", type=count(2, 100_000), default=128, help="random-label training points (default 128)")
    add_seed(eos)
    add_executor(eos, store=False, jobs_default="1: the runs one after another, in this process")
    add_plot(eos, "the sharpness against step beside 2/η, and the loss")
    add_json(eos)

    bias = commands.add(
        commands.train, "implicit-bias", help="where GD ends among many minima: least squares (X⁺y + (I − X⁺X)w₀) and separable logistic regression (the max-margin direction)",
        examples=(
            "  dyncheck train implicit-bias --problem least-squares --samples 20 --features 50 --plot ls.png\n"
            "  dyncheck train implicit-bias --problem logistic --samples 40 --features 3 --plot margin.png --json"
        ),
        run=_train_implicit_bias,
    )
    bias.add_argument("--problem", choices=["least-squares", "logistic"], required=True, help="underdetermined least squares, or separable logistic regression (no bias)")
    bias.add_argument("--samples", type=count(2, 100_000), default=20, help="data points (default 20)")
    bias.add_argument("--features", type=count(1, 10_000), default=50, help="dimension (default 50; least squares needs more features than samples)")
    bias.add_argument("--steps", type=count(1, 10_000_000), default=20_000, help="GD steps (default 20000)")
    bias.add_argument("--eta", type=at_least(0, strict=True, high=1e6), help="step size (default: 1/λ_max of the loss Hessian at 0; logistic: 4/Σ‖z_i‖²)")
    add_seed(bias)
    add_plot(bias, "the distance to each candidate limit against the step")
    add_json(bias)


def _stability(args) -> int:
    import sympy as sp

    from dyncheck.theory.gradient_descent import OPTIMIZERS, derive_threshold, readable
    from dyncheck.theory.symbols import MOMENTUM

    uses_momentum = OPTIMIZERS[args.optimizer].buffers > 0
    if args.beta is not None and not uses_momentum:
        raise UsageError(f"{args.optimizer} has no momentum: drop --beta")
    if args.sharpness is not None and uses_momentum and args.beta is None:
        raise UsageError("the largest stable η needs the momentum: give --beta")
    threshold = derive_threshold(args.optimizer)
    if threshold.bound is None:
        raise RuntimeError(f"no threshold derived for {args.optimizer}: {threshold.reason}")  # a bug: every registered optimizer has one
    beta = args.beta if uses_momentum else None
    value = threshold.bound if not uses_momentum else None if beta is None else threshold.bound.subs(MOMENTUM, sp.Rational(str(beta)))
    eta_max = None if value is None or args.sharpness is None else float(value) / args.sharpness
    result = {
        "optimizer": args.optimizer,
        "convention": OPTIMIZERS[args.optimizer].convention,
        "beta": beta,
        "threshold": str(readable(threshold.bound)),
        "latex": rf"\eta\lambda_{{\max}} < {sp.latex(readable(threshold.bound))}",
        "threshold_at_beta": None if value is None else float(value),
        "sharpness": args.sharpness,
        "eta_max": eta_max,
        "proved": threshold.proved,
        "proof": threshold.reason,
        "characteristic_polynomial": str(threshold.polynomial),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(f"{args.optimizer}: {result['convention']}")
    shown = str(readable(threshold.bound)).replace("beta", "β").replace("*", "")
    print(f"stable at a minimum  ⇔  η λ_max < {shown}   ({'proved' if threshold.proved else 'not proved'}: {threshold.reason})")
    print(f"LaTeX: {result['latex']}")
    if beta is not None:
        print(f"at β = {beta:g}: η λ_max < {float(value):.10g}")
    if eta_max is not None:
        print(f"with λ_max = {args.sharpness:g}: η < {eta_max:.10g}")
    return EXIT_OK


def _train_eos(args) -> int:
    import numpy as np

    from dyncheck.numerics.gradient_descent import edge_of_stability, plot_edge_of_stability

    scheduler = scheduler_of(args)
    # a run's activations and the Hessian's double-backward graph (≈ 12 arrays of samples × width a layer),
    # and the weights with their gradient graph
    require_memory(8.0 * 12 * args.samples * args.width * (args.depth + 1) + 8.0 * 8 * args.width**2 * args.depth, f"GD on {args.samples} samples, width {args.width}")
    runs = edge_of_stability(
        args.eta, steps=args.steps, every=args.every, width=args.width, depth=args.depth, samples=args.samples, seed=args.seed,
        jobs=args.jobs, scheduler=scheduler, progress=not args.json,
    )
    half = args.steps // 2
    summary = [
        {
            "eta": run.eta, "two_over_eta": 2 / run.eta, "late_sharpness_mean": float(np.mean(run.late_sharpness(half))),
            "late_sharpness_min": float(np.min(run.late_sharpness(half))), "late_sharpness_max": float(np.max(run.late_sharpness(half))),
            "initial_sharpness": float(run.sharpness[0]), "sharpness_steps": run.sharpness_steps.tolist(), "sharpness": run.sharpness.tolist(),
            "loss": run.loss[:: max(1, args.steps // 200)].tolist(), "final_loss": float(run.loss[-1]),
        }
        for run in runs
    ]
    if args.plot:
        title = f"full-batch GD, tanh network {args.depth} × {args.width}, {args.samples} random labels, ½-mean squared error"
        plot_edge_of_stability(runs, args.plot, title)
    if args.json:
        print(json.dumps({"steps": args.steps, "runs": summary}, indent=2))
        return EXIT_OK
    print(f"{'η':>8} {'2/η':>8} {'sharpness: start':>17} {'late mean':>10} {'late range':>17} {'final loss':>11}")
    for row in summary:
        print(
            f"{row['eta']:8.4g} {row['two_over_eta']:8.4g} {row['initial_sharpness']:17.4g} {row['late_sharpness_mean']:10.4g} "
            f"{row['late_sharpness_min']:8.4g}–{row['late_sharpness_max']:<8.4g} {row['final_loss']:11.3e}"
        )
    wrote(args.plot)
    return EXIT_OK


def _train_implicit_bias(args) -> int:
    import numpy as np

    from dyncheck.numerics import gradient_descent as gdn

    checkpoints = np.unique(np.geomspace(1, args.steps, 25).astype(int))
    if args.problem == "least-squares":
        if args.samples >= args.features:
            raise UsageError("underdetermined least squares needs fewer samples than features (--samples < --features)")
        require_memory(8.0 * 4 * args.samples * args.features, f"{args.samples} × {args.features} least squares")
        rng = np.random.default_rng(args.seed)
        x, y, start = rng.standard_normal((args.samples, args.features)), rng.standard_normal(args.samples), rng.standard_normal(args.features)
        eta = args.eta or 1 / float(np.linalg.eigvalsh(x.T @ x / args.samples).max())
        pinv = np.linalg.pinv(x)
        limits = {"X⁺y + (I − X⁺X)w₀ (GD's limit)": pinv @ y + start - pinv @ (x @ start), "X⁺y (minimum norm)": pinv @ y}
        w, done, distances = start[None, :], 0, {k: [] for k in limits}
        for mark in checkpoints:
            w, done = gdn.least_squares_descent(x, y, w, eta, int(mark) - done), int(mark)
            if not np.all(np.isfinite(w)):
                raise UsageError(f"GD diverged (η = {eta:g} is past 2/λ_max)")
            for label, limit in limits.items():
                distances[label].append(float(np.linalg.norm(w[0] - limit) / np.linalg.norm(limit)))
        what = f"least squares, {args.samples} samples × {args.features} features, η = {eta:g}, from a random w₀"
    else:
        require_memory(8.0 * 8 * args.samples * args.features, f"{args.samples} × {args.features} logistic regression")
        points = gdn.separable_points(args.samples, args.features, 0.1, args.seed)
        eta = args.eta or 4 / float((points**2).sum())  # the loss's smoothness is ≤ Σ‖z_i‖²/4
        svm = gdn.svm_direction(points)
        least = np.linalg.lstsq(points, np.ones(args.samples), rcond=None)[0]
        iterates = gdn.logistic_descent(points, eta, checkpoints)
        if not np.all(np.isfinite(iterates)):
            raise UsageError(f"GD diverged (η = {eta:g})")
        directions = iterates / np.linalg.norm(iterates, axis=1, keepdims=True)
        distances = {
            "angle to the max-margin ŵ": np.arccos(np.clip(directions @ svm, -1, 1)).tolist(),
            "angle to the least-squares direction": np.arccos(np.clip(directions @ (least / np.linalg.norm(least)), -1, 1)).tolist(),
        }
        log_times = np.linspace(2.0, 160.0, 80)
        flow = np.arccos(np.clip(gdn.logistic_flow_directions(points, log_times) @ svm, -1, 1))
        what = f"separable logistic regression, {args.samples} points in {args.features} dimensions, η = {eta:g}"
    result = {"problem": args.problem, "eta": eta, "steps": checkpoints.tolist(), "distances": distances}
    if args.problem == "logistic":
        result["flow"] = {"log_t": log_times.tolist(), "angle_to_svm": flow.tolist(), "angle_times_log_t": (flow * log_times).tolist()}
    if args.plot:
        if args.problem == "least-squares":
            ylabel, reference = r"relative distance $\|w_t - w\| / \|w\|$ to the limit $w$", None
        else:  # the direction converges to ŵ as 1/log t (Soudry et al. 2018): drawn through the last angle
            late = checkpoints[checkpoints >= 10]
            last = distances["angle to the max-margin ŵ"][-1]
            ylabel = r"angle between $w_t$ and the direction (radians)"
            reference = (late, last * np.log(checkpoints[-1]) / np.log(late), r"$\propto 1/\log t$: the asymptotic law (Soudry et al. 2018)")
        gdn.plot_implicit_bias(checkpoints, {k: np.array(v) for k, v in distances.items()}, args.plot, what, ylabel, reference)
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(what)
    print(f"{'step':>10} " + " ".join(f"{label:>38}" for label in distances))
    for i, step in enumerate(checkpoints):
        print(f"{step:10d} " + " ".join(f"{values[i]:38.3e}" for values in distances.values()))
    if args.problem == "logistic":
        print(f"gradient flow in log-time: angle to ŵ · log t = {flow[-1] * log_times[-1]:.4f} at t = e^{log_times[-1]:g} "
              f"({flow[len(flow) // 2] * log_times[len(flow) // 2]:.4f} at e^{log_times[len(flow) // 2]:g}): the 1/log t law")
    wrote(args.plot)
    return EXIT_OK
