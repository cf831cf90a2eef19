"""``dyncheck affine``: a network as a pointwise affine map f(x) = A*(x)x + b*(x), and x_{k+1} = f(x_k) as a
dynamical system — its fixed points, activation regions and global stability (Drgoňa et al. 2020, 2022)."""

from __future__ import annotations

import json
import os

import numpy as np

from dyncheck.proofs_check.commands.common import EXIT_OK, Commands, add_json, at_least, count, figure_file, finite, json_number, output_folder, wrote
from dyncheck.theory.errors import UsageError

__all__ = ["register"]

#: The largest network the command builds: its parameters.
LARGEST_PARAMETERS = 10**7
#: The options of --random and their defaults.
RANDOM_DEFAULTS = {"dim": 2, "width": 8, "depth": 2, "activation": "relu", "init": "gaussian", "low": 0.5, "high": 1.0, "bias_scale": 0.1}
#: The widest networks --compare draws (eighteen of them, 400 eigendecompositions each).
COMPARE_WIDTH = 64
#: The most floating-point operations the orbits of --stability and of the basins may take (~a minute on 2 cores).
LARGEST_WORK = 2e11


def register(commands: Commands) -> None:
    parser = commands.add(
        commands.top, "affine",
        help="a network as a pointwise affine map A*(x)x + b*(x): spectra, fixed points, regions and global stability",
        examples=(
            "  dyncheck affine network.json --at 0.5 -1\n"
            "  dyncheck affine network.json --fixed-points --stability --plot figures --json\n"
            "  dyncheck affine --random --dim 2 --width 8 --depth 2 --activation relu --init perron-frobenius --seed 3\n"
            "  dyncheck affine --random --activation tanh --init svd --low 0.8 --high 1.1 --compare spectra.png\n"
            "  dyncheck affine --counterexample --stability\n"
            '    (network.json: {"layers": [{"weight": [[…], …], "bias": […] or null, "activation": "relu" or null}, …]})'
        ),
        run=_run,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("network", nargs="?", metavar="NETWORK.json", help="the network as JSON data (weights as they act; layers without an activation are linear)")
    source.add_argument("--random", action="store_true", help="a random map of ℝ^dim: --depth dense layers of --width, then a linear read-out")
    source.add_argument("--counterexample", action="store_true", help="the ReLU map of the plane whose A*(x) has ρ < 1 at every x, yet whose orbits diverge")
    from dyncheck.numerics.affine import WEIGHT_FAMILIES

    # the options of --random default to None, so that one given with a file or --counterexample is refused, not ignored
    parser.add_argument("--dim", type=count(1, 64), help=f"the state dimension of --random (default {RANDOM_DEFAULTS['dim']})")
    parser.add_argument("--width", type=count(1, 512), help=f"hidden width of --random (default {RANDOM_DEFAULTS['width']})")
    parser.add_argument("--depth", type=count(1, 32), help=f"hidden layers of --random (default {RANDOM_DEFAULTS['depth']})")
    parser.add_argument("--activation", help="the activation of --random, a registered name (default relu; see dyncheck list activations)")
    parser.add_argument("--init", choices=tuple(WEIGHT_FAMILIES), help="the weight parameterisation of --random (default gaussian)")
    parser.add_argument("--low", type=at_least(0, high=1e3), help=f"the lower spectral bound of svd, perron-frobenius, gershgorin (default {RANDOM_DEFAULTS['low']})")
    parser.add_argument("--high", type=at_least(0, strict=True, high=1e3), help=f"the upper bound (gaussian: the weights' scale; orthogonal: every singular value) (default {RANDOM_DEFAULTS['high']})")
    parser.add_argument("--bias-scale", type=at_least(0, high=1e3), help=f"the biases' standard deviation of --random (default {RANDOM_DEFAULTS['bias_scale']})")
    parser.add_argument("--seed", type=count(0, 2**63 - 1), help="the seed of --random and of the plots' samples (default 0)")
    parser.add_argument("--at", type=finite, nargs="+", metavar="X", help="a state x: print A*(x), b*(x), the Jacobian J(x) and their eigenvalues")
    parser.add_argument("--fixed-points", action="store_true", help="the fixed points, their eigenvalues, type and stability (exact regions for the ReLU family, Newton otherwise)")
    parser.add_argument("--regions", action="store_true", help="enumerate the activation regions of a piecewise-linear network (up to ~a minute of linear programmes, counted before the work)")
    parser.add_argument("--stability", action="store_true", help="global stability: the contraction bound, joint-spectral-radius bounds, a diverging orbit")
    parser.add_argument("--box", type=at_least(0, strict=True, high=1e6), default=5.0, help="the box [−box, box]^d of Newton's starts, the plots and the basins (default 5)")
    parser.add_argument("--plot", metavar="DIR", type=output_folder, help="write spectrum.png (and, for maps of the plane, phase_portrait.png) into DIR")
    parser.add_argument("--compare", metavar="FILE", type=figure_file, help=f"with --random: write a grid of A*'s spectra, relu, tanh, sigmoid × every parameterisation (at --width ≤ {COMPARE_WIDTH}, --depth, --low, --high; png, pdf or svg)")
    add_json(parser)


def _network(args):
    from dyncheck.numerics.affine import network_from_json, random_dynamics, switching_counterexample
    from dyncheck.proofs_check.commands.common import activation_expr
    from dyncheck.theory.activations import ACTIVATIONS, ALIASES

    given = [f"--{key.replace('_', '-')}" for key in RANDOM_DEFAULTS if getattr(args, key) is not None]
    if not args.random and (given or args.compare):
        raise UsageError(f"{', '.join(given + (['--compare'] if args.compare else []))} appl{'ies' if len(given) + bool(args.compare) == 1 else 'y'} to --random networks only")
    for key, value in RANDOM_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.counterexample:
        return switching_counterexample(), "the switching counterexample"
    if args.random:
        if args.activation not in ACTIVATIONS and args.activation not in ALIASES:
            raise UsageError(f"unknown activation {args.activation!r}; known: {', '.join(sorted([*ACTIVATIONS, *ALIASES]))}")
        if args.init in ("svd", "perron-frobenius", "gershgorin") and args.low > args.high:
            raise UsageError(f"--low {args.low:g} is above --high {args.high:g}")
        if args.init == "gershgorin" and args.width != args.dim:
            raise UsageError("Gershgorin weights are square: give --width equal to --dim")
        if args.compare and args.width > COMPARE_WIDTH:
            raise UsageError(f"--compare draws eighteen networks of --width {args.width}: at most {COMPARE_WIDTH}")
        parameters = args.dim * args.width + (args.depth - 1) * args.width**2 + args.width * args.dim
        if parameters > LARGEST_PARAMETERS:
            raise UsageError(f"{parameters} weights: more than the {LARGEST_PARAMETERS} this command builds")
        phi = activation_expr(args.activation)
        network = random_dynamics(phi, args.dim, args.width, args.depth, args.init, seed=args.seed, low=args.low, high=args.high, bias_scale=args.bias_scale)
        return network, f"{args.activation}, {args.dim}→{args.width}×{args.depth}→{args.dim}, {args.init} weights, seed {args.seed}"
    return network_from_json(args.network), os.path.basename(args.network)


def _check_work(args, network, d: int, piecewise_linear: bool) -> None:
    """Refuse, before the work, what would not fit in memory or would run for hours: Newton's Jacobians at every
    start, the orbits of the stability search and of the basins (each a forward pass per step and start)."""
    from dyncheck.proofs_check.commands.common import require_memory

    entries = sum(int(np.prod(np.shape(w)[-2:])) for w in network.weights)
    newton = args.fixed_points and not (piecewise_linear and _regions_fit(network))
    starts = 9**d if d <= 3 else 729
    if newton or args.plot:
        require_memory(3 * 8.0 * max(starts if newton else 0, 400 if args.plot else 0) * entries, "the Jacobians at every start (Newton's fixed points, the spectrum plot)")
    work = 2.0 * entries * ((2048 * 600 if args.stability else 0) + (200 * 200 * 400 if args.plot and d == 2 else 0) + (60 * starts if newton else 0))
    if work > LARGEST_WORK:
        raise UsageError(f"the orbits and Newton steps asked for take ~{work:.1e} floating-point operations (limit {LARGEST_WORK:.0e}): use a smaller network, or fewer of --fixed-points, --stability, --plot")


def _regions_fit(network) -> bool:
    from dyncheck.numerics.affine import ENUMERATION_LIMIT, enumeration_cost

    return enumeration_cost(network) <= ENUMERATION_LIMIT


def _finite_json(value):
    """The result with every float JSON can hold: NaN → null, ±∞ → "inf"/"-inf" (:func:`json_number`)."""
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return json_number(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _complex_list(values) -> list:
    return [[json_number(v.real), json_number(v.imag)] for v in np.asarray(values).ravel()]


def _run(args) -> int:
    from dyncheck.numerics import affine
    from dyncheck.theory.activations import registered_name
    from dyncheck.theory.affine import linear_pieces

    if args.seed is None:
        args.seed = 0
    network, name = _network(args)
    d_in, d_out = network.weights[0].shape[-1], network.weights[-1].shape[-2]
    square = d_in == d_out
    dynamics = args.fixed_points or args.stability or args.regions or (args.plot and d_in == 2)
    if (dynamics or args.plot) and not square:
        raise UsageError(f"the network maps ℝ^{d_in} to ℝ^{d_out}: fixed points, regions, stability and the plots need as many outputs as inputs")
    with np.errstate(over="ignore"):
        norms = float(np.prod([np.linalg.norm(np.asarray(w), 2) for w in network.weights]))
    if not norms <= 1e100:
        raise UsageError(f"the weights' 2-norms multiply to {norms:.3g}: f overflows double precision on ordinary inputs")
    if args.at is not None and len(args.at) != d_in:
        raise UsageError(f"--at gives {len(args.at)} coordinates; the network takes {d_in}")
    piecewise_linear = linear_pieces(network.phi) is not None
    if args.regions:
        if not piecewise_linear:
            raise UsageError(f"the activation {registered_name(network.phi)} is not piecewise linear: its regions are not polyhedra (use --fixed-points, found by Newton)")
        cost = affine.enumeration_cost(network)
        if cost > affine.ENUMERATION_LIMIT:
            raise UsageError(f"up to {cost:.3g} linear programmes to enumerate the regions (limit {affine.ENUMERATION_LIMIT:.3g}): use a narrower or shallower network")
    default = not (args.at or args.fixed_points or args.regions or args.stability or args.compare)
    if default:
        args.fixed_points = args.stability = square
    _check_work(args, network, d_in, piecewise_linear)
    result: dict = {"network": name, "activation": registered_name(network.phi), "input_dimension": d_in, "output_dimension": d_out, "layers": len(network.weights)}

    x = np.asarray(args.at if args.at is not None else np.zeros(d_in), float)
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.all(np.isfinite(network.forward(x[None])[0][-1])):
            raise UsageError(f"f overflows double precision at x = {x.tolist()}")
    matrix, offset = affine.pointwise_affine(network, x[None])
    jac = affine.jacobian(network, x[None])[0]
    result["decomposition"] = {
        "x": x.tolist(),
        "A_star": matrix[0].tolist(),
        "b_star": offset[0].tolist(),
        "jacobian": jac.tolist(),
        "reconstruction_error": float(np.abs(matrix[0] @ x + offset[0] - network.forward(x[None])[0][-1][0]).max() / (1 + np.abs(network.forward(x[None])[0][-1][0]).max())),
    }
    if square:
        result["decomposition"]["eigenvalues_A_star"] = _complex_list(np.linalg.eigvals(matrix[0]))
        result["decomposition"]["eigenvalues_jacobian"] = _complex_list(np.linalg.eigvals(jac))
    regions = None
    if args.regions or ((args.fixed_points or args.stability or args.plot) and piecewise_linear and _regions_fit(network)):
        regions = affine.activation_regions(network)
        result["regions"] = {"count": len(regions), "list": [{"pattern": list(r.pattern), "centre": r.centre.tolist(), "matrix": r.matrix.tolist(), "offset": r.offset.tolist(), "spectral_radius": float(affine.spectral_radius(r.matrix))} for r in regions]} if args.regions else {"count": len(regions)}
    fixed_points = []
    if args.fixed_points:
        if regions is not None:
            fixed_points = affine.region_fixed_points(network, regions)
            result["fixed_point_method"] = f"exact: each of the {len(regions)} regions' affine fixed point, kept when it lies in its region"
        else:
            fixed_points = affine.newton_fixed_points(network, box=args.box)
            result["fixed_point_method"] = f"Newton from a grid of starts on [−{args.box:g}, {args.box:g}]^{d_in}, classified by the Jacobian"
        result["fixed_points"] = [p.to_json() for p in fixed_points]
    result["contraction_bound"] = affine.contraction_bound(network)
    if args.stability:
        verdict = affine.global_stability(network, box=args.box, regions=regions)
        result.update({k: verdict[k] for k in ("jsr_lower", "jsr_upper", "jsr_product_length", "globally_stable", "witness", "reason")})
    figures = []
    if args.plot:
        samples = np.random.default_rng(args.seed).uniform(-args.box, args.box, (400, d_in))
        path = os.path.join(args.plot, "spectrum.png")
        affine.plot_spectrum(network, samples, path, f"{name}\neigenvalues at 400 inputs $x$ uniform in $[-{args.box:g}, {args.box:g}]^{{{d_in}}}$")
        figures.append(path)
        if d_in == 2:
            if not args.fixed_points:
                fixed_points = affine.region_fixed_points(network, regions) if regions is not None else affine.newton_fixed_points(network, box=args.box)
            path = os.path.join(args.plot, "phase_portrait.png")
            affine.plot_phase_portrait(network, fixed_points, args.box, path, name, regions=regions)
            figures.append(path)
    if args.compare:
        affine.plot_parameterisation_spectra(("relu", "tanh", "sigmoid"), tuple(affine.WEIGHT_FAMILIES), args.compare, dim=args.width, width=args.width, depth=args.depth, low=args.low, high=args.high, seed=args.seed)
        figures.append(args.compare)
    result["figures"] = figures
    if args.json:
        print(json.dumps(_finite_json(result), indent=2))
        return EXIT_OK
    _print(result)
    return EXIT_OK


def _format_complex(pair) -> str:
    real, imag = pair
    return f"{real:.6g}" if imag in (0, None) or abs(imag) < 1e-15 else f"{real:.6g}{'+' if imag >= 0 else '−'}{abs(imag):.6g}i"


def _print(result: dict) -> None:
    print(f"{result['network']}: ℝ^{result['input_dimension']} → ℝ^{result['output_dimension']}, {result['layers']} layers, φ = {result['activation']}")
    decomposition = result["decomposition"]
    print(f"\nat x = {decomposition['x']}: f(x) = A*(x)x + b*(x) to {decomposition['reconstruction_error']:.2g} relative")
    print(f"  A*(x) = {np.array2string(np.asarray(decomposition['A_star']), precision=6, prefix='  A*(x) = ')}")
    print(f"  b*(x) = {np.array2string(np.asarray(decomposition['b_star']), precision=6)}")
    print(f"  J(x)  = {np.array2string(np.asarray(decomposition['jacobian']), precision=6, prefix='  J(x)  = ')}   (the Jacobian: not A*)")
    if "eigenvalues_A_star" in decomposition:
        print("  eigenvalues of A*(x): " + ", ".join(map(_format_complex, decomposition["eigenvalues_A_star"])))
        print("  eigenvalues of J(x):  " + ", ".join(map(_format_complex, decomposition["eigenvalues_jacobian"])))
    if "regions" in result:
        print(f"\n{result['regions']['count']} activation regions")
        for region in result["regions"].get("list", []):
            print(f"  pattern {''.join(map(str, region['pattern']))}: ρ(A_r) = {region['spectral_radius']:.6g}, a point inside {np.round(region['centre'], 6).tolist()}")
    if "fixed_points" in result:
        print(f"\n{len(result['fixed_points'])} fixed point(s) ({result['fixed_point_method']}):")
        for point in result["fixed_points"]:
            stability = {True: "stable", False: "unstable", None: "stability undecided"}[point["stable"]]
            what = {"kink": "on a kink (where regions meet); the adjacent regions' eigenvalues", "non-isolated": "a set of fixed points, not isolated (a point of it); eigenvalues"}.get(point["type"], "eigenvalues")
            print(f"  x* = {np.round(point['x'], 8).tolist()}: {point['type']}, {stability}; {what} " + ", ".join(map(_format_complex, point["eigenvalues"])))
    print(f"\ncontraction bound ∏‖W‖₂·∏Lip(σ) = {result['contraction_bound']:.6g}" + (" < 1: a contraction" if result["contraction_bound"] < 1 else " (∞: σ′ is unbounded)" if result["contraction_bound"] == float("inf") else ""))
    if "globally_stable" in result:
        if isinstance(result["jsr_upper"], float):
            print(f"joint spectral radius of the region matrices: {result['jsr_lower']:.6g} ≤ ρ̂ ≤ {result['jsr_upper']:.6g} (products up to length {result['jsr_product_length']})")
        verdict = {True: "globally stable", False: "not globally stable", None: "undecided"}[result["globally_stable"]]
        print(f"global stability: {verdict} — {result['reason']}")
    wrote(*result["figures"])
