"""Neural ODEs and delay equations: ``node bound``, ``node train``, ``node flow`` and ``dde``."""

from __future__ import annotations

import argparse
import json
import math
import sys

import sympy as sp

from dyncheck.proofs_check.commands.common import (
    EXIT_OK,
    Commands,
    add_json,
    add_plot,
    add_seed,
    at_least,
    count,
    device,
    finite,
    json_number,
    require_memory,
)
from dyncheck.theory.errors import UsageError

__all__ = ["register"]

#: The largest |A|, |B| of a domain, and the largest horizon, delay and gain.
_LIMIT = 1e6
#: The most RK4 steps ``node flow`` takes (on 401 starts).
_FLOW_STEPS = 200_000


def _domain(parser, default: tuple[float, float] | None) -> None:
    parser.add_argument(
        "--domain", type=finite, nargs=2, metavar=("A", "B"), default=list(default) if default else None, required=default is None,
        help="the interval [A, B], A < B" + (f" (default {default[0]:g} {default[1]:g})" if default else ""),
    )


def _checked_domain(args) -> tuple[float, float]:
    low, high = args.domain
    if not high > low:
        raise UsageError(f"--domain A B needs A < B, not [{low:g}, {high:g}]")
    if max(abs(low), abs(high)) > _LIMIT:
        raise UsageError(f"--domain must lie within [−{_LIMIT:g}, {_LIMIT:g}]")
    return low, high


def _expression(text: str, name: str, what: str) -> sp.Expr:
    """``text`` parsed (AST whitelist) as an expression in the one variable ``name``."""
    from dyncheck.proofs_check.parser import parse_expression
    from dyncheck.theory.symbols import HISTORY_TIME, STATE, X

    variable = {"x": X, "y": STATE, "t": HISTORY_TIME}[name]
    expr = parse_expression(text, {name: variable})
    others = expr.free_symbols - {variable}
    if others:
        raise UsageError(f"the {what} may use only {name}, not {', '.join(sorted(map(str, others)))}")
    return expr


def register(commands: Commands) -> None:
    bound = commands.add(
        commands.node, "bound", help="the L² error below which no non-augmented neural ODE gets: the distance to monotone maps",
        examples=(
            '  dyncheck node bound --target "x**2" --domain -1 1\n'
            '  dyncheck node bound --target "sin(3*x)" --domain -1 1 --plot bound.png --json\n'
            '  dyncheck node bound --target "Abs(x) - x**3" --domain -1 2\n'
            "    (exact when the target is a continuous piecewise polynomial: Abs, max, min split it)"
        ),
        run=_bound,
    )
    bound.add_argument("--target", required=True, metavar="EXPR", help='the target g as an expression in x, e.g. "x**2" (one that starts with a minus: --target=-x)')
    _domain(bound, None)
    add_plot(bound, "the target, its best monotone fit and the bound")
    add_json(bound)

    train = commands.add(
        commands.node, "train", help="train a neural ODE with P extra dimensions on a target, beside the monotone bound",
        examples=(
            '  dyncheck node train --target "x**2" --domain -1 1 --augment 0 --plot fits.png\n'
            '  dyncheck node train --target "x**2" --domain -1 1 --augment 1 --iterations 3000 --json\n'
            '  dyncheck node train --target "sin(3*x)" --domain -1 1 --augment 2 --device cuda\n'
            "    (needs torch: pip install 'dyncheck[torch]'; --augment 0 cannot go below the bound, --augment ≥ 1 can)"
        ),
        run=_train,
    )
    train.add_argument("--target", required=True, metavar="EXPR", help='the target g as an expression in x')
    _domain(train, (-1.0, 1.0))
    train.add_argument("--augment", type=count(0, 64), required=True, metavar="P", help="extra dimensions of the phase space (0: a non-augmented neural ODE)")
    train.add_argument("--width", type=count(1, 4096), default=32, help="hidden units of the field A₂ tanh(A₁h + b₁) + b₂ (default 32)")
    train.add_argument("--iterations", type=count(1, 1_000_000), default=1500, help="Adam iterations (default 1500)")
    train.add_argument("--steps", type=count(1, 10_000), default=10, help="RK4 steps over [0, T] (default 10)")
    train.add_argument("--horizon", type=at_least(0, strict=True, high=1e3), default=1.0, metavar="T", help="the time T (default 1)")
    train.add_argument("--points", type=count(2, 1_000_000), default=256, help="training points, the midpoints of equal cells (default 256)")
    train.add_argument("--learning-rate", type=at_least(0, strict=True, high=10), default=1e-2, help="Adam's learning rate, cosine-annealed (default 0.01)")
    add_seed(train)
    train.add_argument("--device", type=device, default="cpu", help="cpu (default), cuda or cuda:N")
    add_plot(train, "the target, the bound's monotone fit and the trained neural ODE")
    add_json(train)

    flow = commands.add(
        commands.node, "flow", help="the flow of a 1-D field: trajectories and the increasing time-T map (Liouville)",
        examples=(
            '  dyncheck node flow --field "-y + 2*tanh(3*y)" --horizon 2 --plot flow.png\n'
            '  dyncheck node flow --field "y*(1 - y)" --domain 0.1 0.9 --json'
        ),
        run=_flow,
    )
    flow.add_argument("--field", required=True, metavar="EXPR", help='f(y), an expression in y')
    flow.add_argument("--horizon", type=at_least(0, strict=True, high=1e3), default=1.0, metavar="T", help="the time T (default 1)")
    _domain(flow, (-2.0, 2.0))
    add_plot(flow, "trajectories and the time-T map")
    add_json(flow)

    dde = commands.add(
        commands.top, "dde", help="x′(t) = −a x(t − τ): the solution, its sign and stability against aτ = 1/e and π/2",
        examples=(
            "  dyncheck dde --gain 0.3 --tau 1 --time 30\n"
            "  dyncheck dde --a 0.5 --tau 1 --history \"1 + t\" --plot dde.png --json\n"
            "  dyncheck dde --gain 0.161 --tau 10 --T-end 100 --backend torch --device cuda\n"
            "    (aτ ≤ 1/e: no sign change; aτ < π/2: decays; --history is a function of t on [−τ, 0], default 1)"
        ),
        run=_dde,
    )
    dde.add_argument("--gain", dest="a", type=at_least(0, strict=True, high=_LIMIT), metavar="A", help="the gain a > 0, the field's Lipschitz constant K (also spelled --a)")
    dde.add_argument("--a", dest="a", type=at_least(0, strict=True, high=_LIMIT), help=argparse.SUPPRESS)
    dde.add_argument("--tau", type=finite, required=True, help="the delay τ > 0")
    dde.add_argument("--history", default="1", metavar="EXPR", help="x(t) on [−τ, 0], an expression in t (default 1)")
    dde.add_argument("--time", dest="t_end", type=at_least(0, strict=True, high=_LIMIT), metavar="T", help="integrate to T (default 20τ; also spelled --T-end)")
    dde.add_argument("--T-end", dest="t_end", type=at_least(0, strict=True, high=_LIMIT), help=argparse.SUPPRESS)
    dde.add_argument("--steps-per-delay", type=count(1, 100_000), default=64, help="RK4 steps in one delay (default 64)")
    dde.add_argument("--backend", choices=["numpy", "torch"], default="numpy", help="array library (default numpy)")
    dde.add_argument("--device", type=device, default="cpu", help="cpu (default), cuda or cuda:N (torch)")
    add_plot(dde, "the solution beside solutions at aτ around 1/e")
    add_json(dde)


def _emit(args, result: dict, path_of_plot: str | None = None) -> None:
    """The result as JSON, or one aligned line a scalar entry (lists and tables are printed by the caller)."""
    if path_of_plot:
        result["plot"] = path_of_plot
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        if isinstance(value, float):
            print(f"{key:>22}: {value:.12g}")
        elif not isinstance(value, (list, dict)):
            print(f"{key:>22}: {value}")


def _bound(args) -> int:
    from dyncheck.numerics.node import isotonic_bound, plot_isotonic

    low, high = _checked_domain(args)
    target = _expression(args.target, "x", "target")
    result_bound = isotonic_bound(target, low, high)
    blocks = []
    if result_bound.exact_blocks is not None:
        blocks = [{"from": str(a), "to": str(b), "level": str(c), "from_value": float(a), "to_value": float(b), "level_value": float(c)} for a, b, c in result_bound.exact_blocks]
    result = {
        "target": str(target),
        "domain": [low, high],
        "bound": result_bound.bound,
        "exact": None if result_bound.exact is None else str(result_bound.exact),
        "monotone_fit": result_bound.direction,
        "pooled_blocks": blocks,
        "grid_bounds": {str(k): v for k, v in result_bound.grid_bounds.items()},
        "grid_change_at_finest": json_number(result_bound.grid_error),
        "why_not_exact": result_bound.why_not_exact,
        "meaning": "no x ↦ u·φ_T(wx + b) + c of a 1-D field (a non-augmented neural ODE with affine input and read-out) has a smaller L² error on the domain",
    }
    if args.plot:
        plot_isotonic(result_bound, args.plot)
    _emit(args, result, args.plot)
    if args.json:
        return EXIT_OK
    for block in blocks:
        print(f"{'pooled':>22}: m = {block['level']} on [{block['from']}, {block['to']}]")
    return EXIT_OK


def _train(args) -> int:
    from tqdm import tqdm

    from dyncheck.numerics.node import isotonic_bound, plot_isotonic, train_neural_ode

    low, high = _checked_domain(args)
    target = _expression(args.target, "x", "target")
    try:
        import torch
    except ImportError:
        raise UsageError("node train needs torch: pip install 'dyncheck[torch]'") from None
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {args.device}: CUDA is not available here")
    work = float(args.iterations) * args.steps * 4 * args.points * args.width * (1 + args.augment)
    if work > 1e14:
        raise UsageError(f"--iterations × --steps × --points × --width × (1 + P) = {work:.3g} multiply-adds; the limit is 1e14")
    # autograd keeps every RK4 stage's hidden layer and state: 4 × steps × points × (width + 1 + P) float64, a few times over
    require_memory(8.0 * 4 * args.steps * args.points * (args.width + 1 + args.augment) * 4, f"training on {args.points} points with {args.steps} RK4 steps and width {args.width}")
    bound = isotonic_bound(target, low, high)
    bar = tqdm(total=args.iterations, desc="node train", unit="it", file=sys.stderr, disable=args.json or None)

    def progress(done, total):
        bar.update(done - bar.n)

    fit = train_neural_ode(
        target, low, high, augment=args.augment, width=args.width, horizon=args.horizon, steps=args.steps, iterations=args.iterations,
        points=args.points, learning_rate=args.learning_rate, seed=args.seed, device=args.device, progress=progress,
    )
    bar.close()
    result = {
        "target": str(target),
        "domain": [low, high],
        "augment": args.augment,
        "error": fit.error,
        "bound": bound.bound,
        "exact_bound": None if bound.exact is None else str(bound.exact),
        "below_bound": bool(fit.error < bound.bound),
        "monotone": fit.monotone,
        "grid_bound": fit.grid_bound,
        "final_loss": float(fit.losses[-1]),
        "seconds": round(fit.seconds, 2),
        "device": args.device,
        "gradients": "autograd through the RK4 steps (the discrete adjoint)",
    }
    if args.augment == 0 and not fit.monotone:
        result["note"] = "the trained RK4 map is not monotone: its step h·Lip(f) is too large for the discrete map to be a flow; use more --steps"
    if args.plot:
        plot_isotonic(bound, args.plot, [fit])
    _emit(args, result, args.plot)
    return EXIT_OK


def _flow(args) -> int:
    import numpy as np

    from dyncheck.numerics.node import ExpressionField, flow_with_divergence, plot_flow

    low, high = _checked_domain(args)
    expr = _expression(args.field, "y", "field")
    field = ExpressionField(expr)
    x = np.linspace(low, high, 401)
    field_slopes = field.slope(x)
    if not (np.isfinite(field(x)).all() and np.isfinite(field_slopes).all()):
        raise UsageError(f"the field {expr} or its derivative is not finite (or not real) somewhere in [{low:g}, {high:g}]: Liouville's formula needs f′")
    # RK4 is stable for h·|f′| ≲ 2.8; keep h·max|f′| ≤ 0.1 on the domain, and check it again where the flow went
    stiffness = args.horizon * float(np.abs(field_slopes).max())
    steps = max(400, math.ceil(stiffness / 0.1))
    if steps > _FLOW_STEPS:
        raise UsageError(f"T·max|f′| = {stiffness:.3g} needs more than {_FLOW_STEPS} RK4 steps: take a shorter --horizon or a smaller --domain")
    with np.errstate(all="ignore"):
        ends, divergence = flow_with_divergence(field, x, args.horizon, steps=steps)
        reached = np.abs(field.slope(ends)) if np.isfinite(ends).all() else np.array([np.inf])
    if not (np.isfinite(ends).all() and np.isfinite(divergence).all()) or args.horizon * float(reached.max()) / steps > 0.5:
        raise UsageError(
            f"the flow of {expr} leaves double precision, or meets a singularity of f, before T = {args.horizon:g} from some x in "
            f"[{low:g}, {high:g}] (a blow-up, a pole, or steps too coarse where it went)"
        )
    with np.errstate(all="ignore"):
        slopes = np.exp(divergence)
    result = {
        "field": str(expr),
        "domain": [low, high],
        "horizon": args.horizon,
        "min_log_flow_derivative": float(divergence.min()),
        "max_log_flow_derivative": float(divergence.max()),
        "min_flow_derivative": json_number(slopes.min()),
        "max_flow_derivative": json_number(slopes.max()),
        "increasing": True,  # Λ is finite at every x: ∂φ_T/∂x = e^Λ > 0
        "increasing_on_grid": bool((np.diff(ends) > 0).all()),
        "phi_T_at_ends": [float(ends[0]), float(ends[-1])],
        "rk4_steps": steps,
        "formula": "∂φ_T/∂x = exp Λ, Λ = ∫₀ᵀ f′(φ_t(x)) dt (Liouville), by RK4 on (y, Λ)",
    }
    if not result["increasing_on_grid"]:
        result["note"] = "the computed φ_T(x) does not increase on every grid step: its differences underflow or round in double precision (e^Λ stays > 0)"
    if args.plot:
        plot_flow(field, low, high, args.horizon, args.plot, f"ẏ = {expr}")
    _emit(args, result, args.plot)
    return EXIT_OK


def _dde(args) -> int:
    import mpmath
    import numpy as np

    from dyncheck.numerics.node import compiled_user_expression, linear_delay_solution, plot_delay_solutions, reversing_gain, sign_change_time
    from dyncheck.theory.node import characteristic_roots, sign_threshold, stability_threshold
    from dyncheck.theory.symbols import HISTORY_TIME

    if args.a is None:
        raise UsageError("give the gain: --gain A (or --a A), a > 0")
    if not (1e-9 <= args.tau <= _LIMIT):
        raise UsageError(f"the delay τ must be positive, in [1e-9, {_LIMIT:g}], not {args.tau:g}")
    t_end = args.t_end if args.t_end is not None else 20 * args.tau
    steps = t_end / args.tau * args.steps_per_delay
    if steps > 1e7:
        raise UsageError(f"--time / τ × --steps-per-delay = {steps:.3g} steps; the limit is 1e7")
    history = _expression(args.history, "t", "history")
    compiled = compiled_user_expression(history, HISTORY_TIME, "history")  # refuses undefined values and E(…)
    if not np.isfinite(compiled(np.linspace(-args.tau, 0, 257))).all():
        raise UsageError(f"the history {args.history} is not finite on [−τ, 0]")
    if args.backend == "torch":
        try:
            import torch
        except ImportError:
            raise UsageError("--backend torch needs torch: pip install 'dyncheck[torch]'") from None
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError(f"--device {args.device}: CUDA is not available here")
    elif args.device != "cpu":
        raise UsageError("--device needs --backend torch")
    a_tau = args.a * args.tau
    if a_tau > 1e3:
        raise UsageError(f"aτ = {a_tau:g}: the solution grows like e^{{aτ}} a delay; aτ ≤ 1000 is accepted")
    solution = linear_delay_solution(args.a, args.tau, t_end, history=lambda t: float(compiled(t)), steps_per_delay=args.steps_per_delay, backend=args.backend, device=args.device)
    states = solution.states.cpu().numpy() if hasattr(solution.states, "cpu") else np.asarray(solution.states)
    values = states[:, 0]
    if not np.isfinite(values).all():
        raise UsageError(f"the solution overflows before T = {t_end:g}; take a shorter --time")
    # a sign change is counted against the history's sign: the solution and the history on [−τ, 0) together
    before = np.linspace(-args.tau, 0, 257)[:-1]
    past = compiled(before)
    change = sign_change_time(np.concatenate([before, solution.times]), np.concatenate([past, values]))
    rightmost = characteristic_roots(a_tau, (0,))[0] / args.tau
    result = {
        "a": args.a,
        "tau": args.tau,
        "a_tau": a_tau,
        "history": args.history,
        "T_end": float(solution.times[-1]),
        "x_T_end": float(values[-1]),
        "sign_change": change is not None,
        "first_sign_change": change,
        "sign_threshold": float(sign_threshold()),
        "stability_threshold": float(stability_threshold()),
        "oscillates": bool(a_tau > math.exp(-1)),
        "asymptotically_stable": bool(a_tau < math.pi / 2),
        "rightmost_root": {"re": float(mpmath.re(rightmost)), "im": float(mpmath.im(rightmost))},
        "backend": f"{args.backend}/{args.device}",
    }
    if history == 1:
        result["time_T_map"] = f"x0 ↦ {values[-1]:.6g}·x0" + (" (reverses orientation: no ODE flow does)" if values[-1] < 0 else "")
        gain = reversing_gain(args.tau, float(solution.times[-1]))
        result["reversing_gain"] = gain
        result["reversing_gain_meaning"] = "the least a (aτ ≤ 20) whose time-T map is x0 ↦ −x0" if gain is not None else "no a with aτ ≤ 20 maps x0 ↦ −x0 at this T"
    if change is not None and change < 0:
        result["note"] = "the history itself changes sign on [−τ, 0]"
    elif change is not None and a_tau <= math.exp(-1):
        result["note"] = "a sign change at aτ ≤ 1/e comes from the history (the theorem is for a positive constant history)"
    if args.plot:
        gains = [c * math.exp(-1) / args.tau for c in (0.5, 1.0, 1.5)]
        plot_delay_solutions(args.tau, t_end, gains, args.plot, asked=(solution.times, values, f"asked: aτ = {a_tau:.3g}, history {args.history}"))
    _emit(args, result, args.plot)
    if not args.json:
        print(f"{'rightmost root':>22}: λ = {result['rightmost_root']['re']:.6g} {result['rightmost_root']['im']:+.6g}i (λτ = W₀(−aτ))")
    return EXIT_OK
