"""SGD as a random dynamical system: ``sgd stability`` (GD's, the mean-square and the almost-sure criterion for
given per-sample curvatures or Hessians, side by side) and ``sgd sme`` (the weak orders of the stochastic
modified equations, observed) and ``sgd schedule`` (the optimal learning-rate schedule of a quadratic's SME)."""

from __future__ import annotations

import argparse
import json
import math
import zipfile

from dyncheck.proofs_check.commands.common import EXIT_OK, Commands, add_json, add_plot, add_seed, at_least, count, finite, json_number, wrote
from dyncheck.theory.errors import UsageError

__all__ = ["register"]

#: The largest normal-space dimension whose second-moment operator (dim² × dim²) is formed and diagonalised
#: (0.7 s at 24, 13 s at 32 on 2 cores; the plot does it at 60 step sizes).
LARGEST_DIMENSION = 24
#: How close to a stability boundary (a factor 1, an exponent 0) a double-precision value may lie and still be
#: called stable or unstable: nearer, rounding (η·h near or below 1e-16) could have put it on either side.
BOUNDARY_BAND = 1e-12
#: The largest per-sample Hessians the command reads (each is eigendecomposed: n·d³ work).
LARGEST_INPUT_DIMENSION, LARGEST_INPUT_ENTRIES = 1024, 2 * 10**7
#: The most terms (batches × directions) whose closed-form exponent is written, and the CPU seconds it may take.
CLOSED_FORM_TERMS, CLOSED_FORM_SECONDS = 200, 10.0


def _curvature(text: str) -> tuple[float, ...]:
    """One sample's curvature h ≥ 0, or the diagonal "h1,h2,…" of its Hessian."""
    values = tuple(finite(part) for part in text.split(","))
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text}: a curvature at a minimum is ≥ 0")
    return values


def register(commands: Commands) -> None:
    stability = commands.add(
        commands.sgd, "stability",
        help="is a minimum stable for SGD? GD's factor, the mean-square factor and the Lyapunov exponent, side by side",
        examples=(
            "  dyncheck sgd stability --eta 1 --curvatures 1.05 3.5\n"
            "  dyncheck sgd stability --eta 1 --curvatures 1,0.2 3,0.5 --batch 1 --json\n"
            "  dyncheck sgd stability --eta 0.15 --hessians hessians.npz --batch 2 --plot sgd.png\n"
            "    (hessians.npz: one array, n × d × d, the per-sample Hessians at the minimum)"
        ),
        run=_stability,
    )
    stability.add_argument("--eta", type=at_least(0, strict=True, high=1e12), required=True, help="the step size η > 0")
    source = stability.add_mutually_exclusive_group(required=True)
    source.add_argument("--curvatures", type=_curvature, nargs="+", metavar="H", help="each sample's curvature h_i ≥ 0, or its Hessian's diagonal as h1,h2,…")
    source.add_argument("--hessians", metavar="FILE.npz", help="an .npz holding one array n × d × d of per-sample Hessians (symmetric, positive semi-definite)")
    stability.add_argument("--batch", type=count(1, 1_000_000), default=1, help="the batch size B, drawn without replacement each step (default 1)")
    stability.add_argument("--steps", type=count(10, 10_000_000), default=4000, help="steps of Benettin's estimate, when the exponent has no closed form (default 4000)")
    stability.add_argument("--replicates", type=count(2, 10_000), default=32, help="independent runs of that estimate, for its interval (default 32)")
    add_seed(stability)
    add_plot(stability, "the Lyapunov exponent against η with the three stability boundaries, and sample paths of log‖x_k − x*‖")
    add_json(stability)

    sme = commands.add(
        commands.sgd, "sme",
        help="how closely the stochastic modified equations follow SGD: weak errors and observed orders (Li, Tai & E)",
        examples=(
            "  dyncheck sgd sme\n"
            "  dyncheck sgd sme --etas 0.1 0.05 0.025 0.0125 --multiplicative 0.5 --additive 0 --plot sme.png --json\n"
            "    (the test model: per-sample gradient a(1 + γ)x + ζ, Var γ = σ_m², Var ζ = σ_a²)"
        ),
        run=_sme,
    )
    sme.add_argument("--curvature", type=at_least(1e-6, high=1e3), default=1.0, help="a ∈ [1e-6, 1000], the curvature of f = ½ax² (default 1)")
    sme.add_argument("--multiplicative", type=at_least(0, high=1e3), default=1.0, help="σ_m² ≥ 0, the variance of the multiplicative noise γ (default 1)")
    sme.add_argument("--additive", type=at_least(0, high=1e6), default=0.5, help="σ_a² ≥ 0, the variance of the additive noise ζ (default 0.5)")
    sme.add_argument("--start", type=at_least(-1e6, high=1e6), default=1.0, help="x₀ (default 1)")
    sme.add_argument("--horizon", type=at_least(0, strict=True, high=1e3), default=1.0, help="T > 0: the errors are compared at t = kη = T (default 1)")
    sme.add_argument("--etas", type=at_least(1e-6, high=1.0), nargs="+", default=[0.1, 0.05, 0.025, 0.0125], help="step sizes in [1e-6, 1], each dividing T (default 0.1 0.05 0.025 0.0125; below 1e-6 the 30-digit errors lose their digits)")
    add_plot(sme, "the weak errors against η on log axes, beside slopes 1 and 2")
    add_json(sme)

    schedule = commands.add(
        commands.sgd, "schedule",
        help="the learning-rate schedule minimising E x_T² on the SME of a quadratic, derived, against the usual decays and SGD runs",
        examples=(
            "  dyncheck sgd schedule\n"
            "  dyncheck sgd schedule --curvature 2 --noise 0.5 --eta 0.05 --horizon 20 --plot schedule.png --json"
        ),
        run=_schedule,
    )
    schedule.add_argument("--curvature", type=at_least(1e-6, high=1e3), default=1.0, help="a ∈ [1e-6, 1000] of f = ½ax² (default 1)")
    schedule.add_argument("--noise", type=at_least(0, strict=True, high=1e6), default=1.0, help="Σ > 0, the variance of the gradient noise (default 1)")
    schedule.add_argument("--eta", type=at_least(1e-6, high=1.0), default=0.1, help="the base step size η ≤ 1, scaled by the schedule ν(t) ∈ [0, 1] (default 0.1)")
    schedule.add_argument("--start", type=at_least(-1e6, high=1e6), default=1.0, help="x₀ (default 1)")
    schedule.add_argument("--horizon", type=at_least(0, strict=True, high=1e4), default=10.0, help="T, a whole number of steps of η (default 10)")
    schedule.add_argument("--pieces", type=count(1, 2000), default=40, help="pieces of the brute-force piecewise-constant schedule (default 40)")
    schedule.add_argument("--runs", type=count(100, 10_000_000), default=100_000, help="SGD runs a schedule (default 100000)")
    add_seed(schedule)
    add_plot(schedule, "each schedule ν(t) and its second moment m(t)")
    add_json(schedule)


def _load_hessians(path: str):
    """The one array of an .npz archive, read without unpickling anything."""
    import numpy as np

    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UsageError(f"no file {path}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        raise UsageError(f"{path} is not an .npz archive of numeric arrays (pickled objects are never loaded)") from None
    if isinstance(loaded, np.ndarray):
        raise UsageError(f"{path} is a bare .npy array; save it with numpy.savez as an .npz archive")
    with loaded as archive:
        names = list(archive.keys())
        if len(names) != 1:
            raise UsageError(f"{path} holds {len(names)} arrays ({', '.join(names[:5])}); give one, n × d × d")
        try:
            array = archive[names[0]]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            raise UsageError(f"{path}: its array {names[0]!r} is not numeric (pickled objects are never loaded)") from None
        if not isinstance(array, np.ndarray):
            raise UsageError(f"{path}: its member {names[0]!r} is not a .npy array")
        return array


def _family(args):
    import numpy as np

    from dyncheck.numerics.sgd import CurvatureFamily

    if args.curvatures is not None:
        lengths = {len(h) for h in args.curvatures}
        if len(lengths) != 1:
            raise UsageError("every sample needs the same number of diagonal entries")
        stack = np.array([np.diag(h) for h in args.curvatures])
    else:
        stack = _load_hessians(args.hessians)
        if stack.dtype.kind not in "iuf":
            raise UsageError(f"{args.hessians}: the Hessians must be real numbers, not {stack.dtype}")
    if stack.ndim == 3 and (stack.shape[1] > LARGEST_INPUT_DIMENSION or stack.size > LARGEST_INPUT_ENTRIES):
        raise UsageError(
            f"the Hessians are {' × '.join(map(str, stack.shape))}: this command takes d ≤ {LARGEST_INPUT_DIMENSION} and n·d² ≤ "
            f"{LARGEST_INPUT_ENTRIES:.0e} entries (each is eigendecomposed); numerics.sgd.CurvatureFamily has no such limit"
        )
    family = CurvatureFamily(stack)
    family.check_batch(args.batch)
    if math.comb(family.samples, args.batch) > 20_000:
        raise UsageError(f"C({family.samples}, {args.batch}) batches are too many to enumerate for the mean-square factor (at most 20000)")
    if family.dimension > LARGEST_DIMENSION:
        raise UsageError(f"the normal space has dimension {family.dimension}; this command forms the mean-square operator (dim² × dim²) up to dimension {LARGEST_DIMENSION} (numerics.sgd has no such limit)")
    return family


def _exact_exponent(args) -> str | None:
    """The closed form of the exponent for --curvatures given as numbers (SymPy, the input read exactly); None for
    more than CLOSED_FORM_TERMS terms or past CLOSED_FORM_SECONDS (the number is printed either way)."""
    import sympy as sp

    from dyncheck.theory.sgd import commuting_lyapunov_exponent

    from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

    if args.curvatures is None or math.comb(len(args.curvatures), args.batch) * len(args.curvatures[0]) > CLOSED_FORM_TERMS:
        return None
    rows = [[sp.Rational(repr(v)) for v in h] for h in args.curvatures]
    try:
        with time_limit(CLOSED_FORM_SECONDS):
            return str(commuting_lyapunov_exponent(rows, sp.Rational(repr(args.eta)), args.batch))
    except (SymbolicTimeout, ValueError, TypeError):  # out of time, or a maximum SymPy cannot order: the number stands
        return None


def _stability(args) -> int:
    import numpy as np

    from dyncheck.numerics import sgd

    family = _family(args)
    eta, batch = args.eta, args.batch
    gd, mean_square, sufficient = sgd.gd_factor(family, eta), sgd.mean_square_factor(family, eta, batch), sgd.wu_ma_e_factor(family, eta, batch)
    exact = sgd.exact_lyapunov_exponent(family, eta, batch)
    if exact is None:
        found = sgd.lyapunov_exponent(family, eta, batch, steps=args.steps, replicates=args.replicates, seed=args.seed)
        exponent, interval, almost_sure = found.value, list(found.interval), None if found.sign == 0 else found.sign < 0
    else:
        exponent, interval, almost_sure = exact, None, bool(exact < 0)
    mean, spread = family.mean, family.spread
    result = {
        "eta": eta,
        "batch": batch,
        "samples": family.samples,
        "normal_dimension": family.dimension,
        "sharpness": float(np.linalg.eigvalsh(mean).max()),
        "non_uniformity": float(np.sqrt(max(np.linalg.eigvalsh(spread).max(), 0.0))),
        "gd_factor": gd,
        "mean_square_factor": mean_square,
        "wu_ma_e_factor": sufficient,
        "lyapunov_exponent": json_number(exponent),
        "lyapunov_closed_form": _exact_exponent(args) if exact is not None else None,
        "lyapunov_interval": interval,
        "gd_stable": None if abs(gd - 1) <= BOUNDARY_BAND else gd < 1,
        "mean_square_stable": None if abs(mean_square - 1) <= BOUNDARY_BAND else mean_square <= 1,
        "almost_surely_stable": None if abs(exponent) <= BOUNDARY_BAND else almost_sure,
    }
    if args.plot:
        edge = 2 / max(result["sharpness"], 1e-300)
        top = max(1.5 * edge, 1.2 * eta)
        curve = sgd.stability_boundaries(family, batch, np.linspace(top / 60, top, 60), steps=min(args.steps, 600), replicates=min(args.replicates, 16), seed=args.seed)
        paths = sgd.sample_paths(family, eta, batch, 200, seed=args.seed)
        sgd.plot_stability(curve, paths, eta, args.plot, f"{family.samples} samples, normal space of dimension {family.dimension}, batch {batch}")
        result["boundaries"] = curve.boundaries
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    verdict = {True: "stable", False: "unstable", None: "undecided (the interval straddles 0, or the value is within rounding of the boundary)"}
    print(f"{family.samples} samples, normal space of dimension {family.dimension}, η = {eta:g}, batch {batch} (without replacement)")
    print(f"sharpness a = λ_max(H̄) = {result['sharpness']:.6g}, non-uniformity s = {result['non_uniformity']:.6g}")
    print(f"GD           ρ(I − ηH̄)        = {gd:.6g}   → {verdict[result['gd_stable']]}")
    print(f"mean-square  ρ(E A_ξ ⊗ A_ξ)    = {mean_square:.6g}   → {verdict[result['mean_square_stable']]}   (Wu, Ma & E's sufficient λ_max(E A_ξ²) = {sufficient:.6g})")
    if exact is not None:
        closed = result["lyapunov_closed_form"]
        print(f"almost sure  λ = {exponent:.6g}" + (f" = {closed}" if closed else "") + f"   → {verdict[result['almost_surely_stable']]}")
    else:
        print(f"almost sure  λ = {exponent:.6g}, 95 % interval [{interval[0]:.6g}, {interval[1]:.6g}] ({args.replicates} × {args.steps} steps)   → {verdict[result['almost_surely_stable']]}")
    if args.plot:
        shown = ", ".join(f"{k.replace('_', '-')} {'—' if v is None else f'{v:.4g}'}" for k, v in result["boundaries"].items())
        print(f"first unstable η on the plot's grid: {shown}")
    wrote(args.plot)
    return EXIT_OK


def _sme(args) -> int:
    from dyncheck.numerics import sgd

    etas = sorted(set(args.etas), reverse=True)
    if len(etas) < 2:
        raise UsageError("give at least two different step sizes: the order is read off their ratio")
    if etas[0] * args.curvature >= 1:
        raise UsageError(f"ηa = {etas[0] * args.curvature:g}: the SMEs describe SGD as ηa → 0, and SGD itself diverges from ηa = 2; take η < 1/a")
    model = {"curvature": args.curvature, "multiplicative": args.multiplicative, "additive": args.additive, "start": args.start, "horizon": args.horizon}
    for eta in etas:
        sgd.whole_steps(eta, args.horizon)
    errors = {f"SME-{order} E[{g}]": [float(e) for e in sgd.sme_weak_errors(etas, correction, moment, **model)] for order, correction in ((1, 0), (2, 0.25)) for moment, g in ((1, "x"), (2, "x²"))}
    orders = {name: sgd.observed_orders(etas, values) if all(v > 0 for v in values) else None for name, values in errors.items()}
    result = {"model": model, "etas": etas, "errors": errors, "observed_orders": orders, "claimed_orders": {"SME-1": 1, "SME-2": 2}}
    if args.plot:
        sgd.plot_weak_errors(etas, errors, args.plot, f"SGD vs its SMEs at $T$ = {args.horizon:g}: $a$ = {args.curvature:g}, " + r"$\sigma_m^2$" + f" = {args.multiplicative:g}, " + r"$\sigma_a^2$" + f" = {args.additive:g}, $x_0$ = {args.start:g}")
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(f"weak errors |E g(x_k) − E g(X_T)| at kη = T = {args.horizon:g}, exact moments at 30 digits (test model a = {args.curvature:g}, σ_m² = {args.multiplicative:g}, σ_a² = {args.additive:g}, x₀ = {args.start:g})")
    print(f"{'η':>10} " + " ".join(f"{name:>14}" for name in errors))
    for i, eta in enumerate(etas):
        print(f"{eta:10.4g} " + " ".join(f"{values[i]:14.4e}" for values in errors.values()))
    print(f"{'order':>10} " + " ".join(f"{'—' if o is None else f'{o[-1]:.3f}':>14}" for o in orders.values()) + "   (last halving; SME-1 claims 1, SME-2 claims 2)")
    wrote(args.plot)
    return EXIT_OK


def _schedule(args) -> int:
    import numpy as np
    import sympy as sp

    from dyncheck.numerics import sgd
    from dyncheck.theory.sgd import COMMON_SCHEDULES, optimal_schedule
    from dyncheck.theory.symbols import ADDITIVE_NOISE, CURVATURE, HORIZON, START, STEP_SIZE, SWITCHING_TIME

    steps = sgd.whole_steps(args.eta, args.horizon)
    if args.eta * args.curvature >= 1:
        raise UsageError(f"ηa = {args.eta * args.curvature:g}: the SME describes SGD as ηa → 0, and SGD at the full rate diverges from ηa = 2; take η < 1/a")
    if steps * args.runs > 2e8:
        raise UsageError(f"{steps} steps × {args.runs} runs a schedule is too long; fewer --runs or a shorter --horizon")
    noise_scale = args.eta * args.noise
    if args.start == 0:
        raise UsageError("from x₀ = 0 SGD stays at the minimum: every schedule ends at m(T) = 0")
    square = args.start**2
    reach = noise_scale / (args.curvature * square) if square > 0 else math.inf  # ηΣ/(a x₀²): above 1, t_s < 0
    latest = abs(1 - reach) / args.curvature if reach >= 1 else abs(math.log(2 / reach - 1)) / (2 * args.curvature)
    if not (math.isfinite(reach) and reach > 0 and math.isfinite(latest) and latest < 1e12):
        raise UsageError(f"x₀ = {args.start:g}, a = {args.curvature:g}: ηΣ/(a x₀²) = {reach:.3g} puts the switching time out of double precision's range")
    derived = optimal_schedule()
    values = {CURVATURE: sp.Rational(repr(args.curvature)), STEP_SIZE: sp.Rational(repr(args.eta)), ADDITIVE_NOISE: sp.Rational(repr(args.noise)), START: sp.Rational(repr(args.start))}
    anneal_now = args.start**2 <= noise_scale / args.curvature
    optimal = (derived.early_switching_time if anneal_now else derived.switching_time, derived.annealing)
    candidates = {"optimal": optimal, **COMMON_SCHEDULES}
    problem = {"curvature": args.curvature, "noise_scale": noise_scale, "start": args.start, "horizon": args.horizon}
    functions, rows = {}, {}
    for name, candidate in candidates.items():
        function, switching = sgd.schedule_from(candidate, values)
        functions[name] = function
        runs = sgd.test_model_sgd(args.eta, schedule=function, curvature=args.curvature, multiplicative=0.0, additive=args.noise, start=args.start, horizon=args.horizon, runs=args.runs, seed=args.seed)
        rows[name] = {"sme_terminal": sgd.schedule_moment(function, breaks=[switching], **problem), "sgd_terminal": float(runs.mean()), "sgd_standard_error": float(runs.std(ddof=1) / np.sqrt(runs.size))}
    pieces, best = sgd.best_piecewise_schedule(pieces=args.pieces, **problem)
    functions["best piecewise"] = sgd.piecewise_schedule(pieces, args.horizon)
    runs = sgd.test_model_sgd(args.eta, schedule=functions["best piecewise"], curvature=args.curvature, multiplicative=0.0, additive=args.noise, start=args.start, horizon=args.horizon, runs=args.runs, seed=args.seed)
    rows["best piecewise"] = {"sme_terminal": best, "sgd_terminal": float(runs.mean()), "sgd_standard_error": float(runs.std(ddof=1) / np.sqrt(runs.size))}
    switching = float((derived.early_switching_time if anneal_now else derived.switching_time).subs(values))
    result = {
        "switching_time": switching,
        "switching_time_formula": str(derived.early_switching_time if anneal_now else derived.switching_time),
        "annealing": str(derived.annealing),
        "terminal_formula": str(derived.terminal),
        "terminal": float(derived.terminal.subs(values).subs({SWITCHING_TIME: switching, HORIZON: args.horizon})) if args.horizon >= switching else None,
        "schedules": rows,
        "best_piecewise": pieces.tolist(),
    }
    if args.plot:
        times = np.linspace(0, args.horizon, 400)
        kinks = {name: [sgd.schedule_from(c, values)[1]] for name, c in candidates.items()}
        kinks["best piecewise"] = list(np.arange(1, args.pieces) * args.horizon / args.pieces)
        static = {k: v for k, v in problem.items() if k != "horizon"}
        moments = {name: sgd.schedule_moments(function, times, breaks=kinks[name], **static) for name, function in functions.items()}
        sgd.plot_schedules(functions, moments, times, args.plot, "SME of " + r"$\frac{1}{2}ax^2$" + f": $a$ = {args.curvature:g}, " + r"$\eta\Sigma$" + f" = {noise_scale:g}, $x_0$ = {args.start:g}")
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(f"optimal schedule (Pontryagin, proved by the HJB equation): ν = 1 until t_s = {switching:.6g}, then ν(t) = 1/(1 + a(t − t_s))" if switching > 0 else f"optimal schedule (Pontryagin, proved by the HJB equation): ν(t) = 1/(1 + a(t − t_s)), t_s = {switching:.6g}")
    if anneal_now:
        print(f"  x₀² is below ηΣ/a = {noise_scale / args.curvature:.6g} already: t_s = (1 − ηΣ/(a x₀²))/a ≤ 0, the rate decays from ν(0) = a x₀²/(ηΣ)")
    else:
        print(f"  t_s = log((2a x₀² − ηΣ)/(ηΣ))/(2a), where E x² reaches ηΣ/a = {noise_scale / args.curvature:.6g}")
    if result["terminal"] is not None:
        print(f"  m(T) = ηΣ/(a(1 + a(T − t_s))) = {result['terminal']:.6g}")
    print(f"{'schedule':>16} {'SME m(T)':>12} {'SGD E x_T²':>14} {'± s.e.':>10}")
    for name, row in rows.items():
        print(f"{name:>16} {row['sme_terminal']:12.6g} {row['sgd_terminal']:14.6g} {row['sgd_standard_error']:10.2g}")
    wrote(args.plot)
    return EXIT_OK
