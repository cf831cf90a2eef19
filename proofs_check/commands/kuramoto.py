"""Kuramoto populations: ``kuramoto`` (the continuum theory) and ``simulate kuramoto`` (finite populations)."""

from __future__ import annotations

import json
import math
import sys

import sympy as sp

from dyncheck.proofs_check.commands.common import (
    EXIT_OK,
    add_backend,
    add_executor,
    add_json,
    add_plot,
    add_replicates,
    add_seed,
    at_least,
    check_backend,
    Commands,
    count,
    deprecated,
    json_number,
    readable,
    require_memory,
    scheduler_of,
    units_here,
    wrote,
)
from dyncheck.theory.errors import UsageError

__all__ = ["register"]

#: The option that gives each density's width.
_WIDTH_OPTIONS = {"lorentzian": "gamma", "gaussian": "sigma", "uniform": "delta"}


def _population(parser, *, expressions: bool = False) -> None:
    """The options of a population: its frequency density and its graph (shared by both commands); with
    ``expressions`` the density may instead be an expression in omega (the theory alone: no quantiles to draw)."""
    densities = parser.add_mutually_exclusive_group()  # one of them is required, checked in _theory (the old --g counts)
    deprecated(parser, "--g", densities.add_argument("--density", choices=list(_WIDTH_OPTIONS), help="natural-frequency density g"))
    if expressions:
        densities.add_argument("--density-expression", metavar="EXPR", help='g as an expression in omega, e.g. "1/(pi*cosh(omega))": symmetric, normalised and unimodal (checked)')
    parser.add_argument("--gamma", type=at_least(0, strict=True, high=1e6), help="Lorentzian half-width γ")
    parser.add_argument("--sigma", type=at_least(0, strict=True, high=1e6), help="Gaussian standard deviation σ")
    parser.add_argument("--delta", type=at_least(0, strict=True, high=1e6), help="uniform half-width Δ")
    parser.add_argument("--graph", choices=["complete", "erdos-renyi", "ring"], default="complete", help="the graph (default complete)")
    deprecated(parser, "--p", parser.add_argument("--edge-probability", type=at_least(0, strict=True, high=1), metavar="P", help="Erdős–Rényi edge probability in (0, 1]"))
    parser.add_argument("--range", type=at_least(0, strict=True, high=0.5), help="ring: each node joined to the fraction ρ < 1/2 of nodes on either side")
    parser.add_argument("--normalisation", choices=["population", "degree"], default="population", help="K/N (default) or K/deg i")
    parser.add_argument("--graphon", metavar="EXPR", help='a graphon W(x, y) on [0, 1]² in place of --graph, e.g. "x*y": symmetric, values in [0, 1]; μ_max of its integral operator, exactly for a degenerate kernel and by Nyström, K_c = 2/(π g(0) μ_max), and r∞ from the graphon\'s self-consistency')
    parser.add_argument("--sparse-exponent", type=at_least(0, high=1), metavar="ALPHA", help="with --graphon: sparse W-random graphs, edge probability n^-ALPHA W(x, y), coupling rescaled by n^ALPHA (ALPHA < 1: the same Vlasov limit; 1: bounded mean degree, no such limit)")


def register(commands: Commands) -> None:
    theory = commands.add(
        commands.top, "kuramoto", help="Kuramoto theory: K_c and r∞ for a frequency density on a graph",
        examples=(
            "  dyncheck kuramoto --density gaussian --sigma 1 --coupling 2 --graph erdos-renyi --edge-probability 0.3\n"
            "  dyncheck kuramoto --density lorentzian --gamma 0.5 --coupling 1.5 --json\n"
            "  dyncheck kuramoto --density uniform --delta 1 --coupling 1.5 --locking 10 100 1000\n"
            '  dyncheck kuramoto --density-expression "1/(pi*cosh(omega))" --coupling 2\n'
            '  dyncheck kuramoto --density gaussian --sigma 1 --coupling 10 --graphon "x*y"\n'
            "    (--locking N: the finite-N full-locking threshold K_L of N oscillators at the quantiles of g)"
        ),
        run=_kuramoto,
    )
    _population(theory, expressions=True)
    deprecated(theory, "--K", theory.add_argument("--coupling", type=at_least(0, high=1e6), required=True, metavar="K", help="coupling K ≥ 0"))
    theory.add_argument("--locking", type=count(2, 10_000_000), nargs="+", metavar="N", help="the full-locking threshold K_L = min_u u/S(u) of N oscillators at the quantiles of g, complete graph (Ermentrout 1985; Verwoerd & Mason 2008), for each N")
    add_json(theory)

    sim = commands.add(
        commands.simulate, "kuramoto", help="Kuramoto populations: r(t), ⟨r⟩ and r∞(K) sweeps against theory",
        examples=(
            "  dyncheck simulate kuramoto --oscillators 2000 --density gaussian --sigma 1 --sweep 0.5 4 15 --replicates 4 --time 60 --plot bif.png\n"
            "  dyncheck simulate kuramoto --oscillators 1000000 --density gaussian --sigma 1 --coupling 2.5 --time 50 --backend torch --device cuda\n"
            "  dyncheck simulate kuramoto --oscillators 20000 --density lorentzian --gamma 0.5 --sweep 0 3 30 --replicates 8 --jobs 2 --store kura/\n"
            '  dyncheck simulate kuramoto --oscillators 2000 --density gaussian --sigma 1 --graphon "x*y" --sweep 2 14 13 --replicates 4 --plot graphon.png\n'
            '  dyncheck simulate kuramoto --oscillators 8000 --density gaussian --sigma 1 --graphon 1 --sparse-exponent 0.5 --coupling 2.5'

        ),
        run=_simulate_kuramoto,
    )
    _population(sim)
    deprecated(sim, "--N", sim.add_argument("--oscillators", type=count(2, 1 << 22), required=True, metavar="N", help="oscillators per population"))
    deprecated(sim, "--K", sim.add_argument("--coupling", type=at_least(0, high=1e6), metavar="K", help="coupling K ≥ 0"))
    sim.add_argument("--sweep", type=at_least(0, high=1e6), nargs=3, metavar=("LO", "HI", "COUNT"), help="r∞(K) at COUNT couplings in [LO, HI]")
    deprecated(sim, "--T", sim.add_argument("--time", type=at_least(0, strict=True, high=1e7), default=50.0, metavar="T", help="final time; ⟨r⟩ averages over [T/2, T] (default 50)"))
    sim.add_argument("--step", type=at_least(0, strict=True, high=1e3), default=0.05, help="time step (default 0.05)")
    sim.add_argument("--method", choices=["rk4", "heun", "dop853"], default="rk4", help="fixed-step RK4 (default) or Heun, or adaptive DOP853 (--step: output spacing)")
    add_replicates(sim, low=1, default=1, what="populations per coupling")
    sim.add_argument("--random-frequencies", action="store_true", help="i.i.d. draws instead of quantiles of g")
    add_backend(sim)
    add_seed(sim)
    add_executor(sim, jobs_default="1: every population as one batch, in this process")
    add_plot(sim, "r(t) against r∞, or with --sweep the r∞(K) curve")
    add_json(sim)


def _theory(args):
    """The continuum theory of the population the options describe."""
    from dyncheck.numerics.kuramoto import continuum_theory

    if args.density is None and getattr(args, "density_expression", None) is None:
        raise UsageError("a frequency density is required: --density NAME" + (" or --density-expression EXPR" if hasattr(args, "density_expression") else ""))
    if getattr(args, "density_expression", None) is not None:
        from dyncheck.proofs_check.parser import parse_expression
        from dyncheck.theory.symbols import OMEGA

        given = [f"--{o}" for o in _WIDTH_OPTIONS.values() if getattr(args, o) is not None]
        if given:
            raise UsageError(f"{', '.join(given)} sets the width of a named density, not of --density-expression")
        if args.locking:
            raise UsageError("--locking needs the quantiles of a named density")
        density = parse_expression(args.density_expression, {"omega": OMEGA})
        return continuum_theory(density, math.nan, args.graph, edge_probability=args.edge_probability, ring_range=args.range, normalisation=args.normalisation)
    option = _WIDTH_OPTIONS[args.density]
    scale = getattr(args, option)
    if scale is None:
        raise UsageError(f"--density {args.density} needs --{option} (its width)")
    if args.graph == "erdos-renyi" and args.edge_probability is None:
        raise UsageError("--graph erdos-renyi needs --edge-probability in (0, 1]")
    if args.graph == "ring" and args.range is None:
        raise UsageError("--graph ring needs --range ρ in (0, 1/2)")
    return continuum_theory(args.density, scale, args.graph, edge_probability=args.edge_probability, ring_range=args.range, normalisation=args.normalisation)


def _kuramoto(args) -> int:
    if args.sparse_exponent is not None and args.graphon is None:
        raise UsageError("--sparse-exponent describes sparse W-random graphs of a --graphon")
    if args.graphon is not None:
        return _kuramoto_graphon(args)
    theory = _theory(args)
    r_inf = float(theory.r_inf(args.coupling)[0])
    result = {
        "g": theory.density_name,
        "width": json_number(theory.scale),
        "density": str(theory.density),
        "graph": theory.graph,
        "normalisation": args.normalisation,
        "top_eigenvalue": theory.top_eigenvalue,
        "K": args.coupling,
        "K_c": theory.critical_coupling,
        "r_inf": r_inf,
        "phase": "incoherent (r∞ = 0)" if r_inf == 0 else ("fully locked" if theory.density_name == "uniform" else "partially locked"),
    }
    if args.locking:
        if args.graph != "complete" or args.normalisation != "population":
            raise UsageError("--locking is the threshold of the complete graph with K/N coupling")
        from dyncheck.numerics.kuramoto import frequencies, locking_threshold

        require_memory(8.0 * 4 * max(args.locking), f"{max(args.locking)} oscillators' frequencies")
        thresholds = {n: locking_threshold(frequencies(args.density, n, theory.scale)) for n in args.locking}
        result["locking"] = [{"N": n, "K_L": k, "locked_at_K": bool(args.coupling >= k)} for n, k in thresholds.items()]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            if key == "locking" or value is None:  # a density given as an expression has no width
                continue
            if key == "density":
                value = readable(theory.density)
            print(f"{key:>14}: {value:.12g}" if isinstance(value, float) else f"{key:>14}: {value}")
        for row in result.get("locking", []):
            print(f"  N = {row['N']:>9}: full locking from K_L = {row['K_L']:.12g}" + ("  (K is past it: a locked state exists)" if row["locked_at_K"] else ""))
    return EXIT_OK


def _graphon_theory(args):
    """(the continuum theory on the graphon of ``--graphon``, what was found about its spectrum), checked first."""
    from dyncheck.numerics.codegen import generate
    from dyncheck.numerics.kuramoto import ContinuumTheory, graphon_top_eigenvalue
    from dyncheck.proofs_check.parser import parse_expression
    from dyncheck.theory.kuramoto import GRAPHON_VARIABLES, checked_graphon, separable_graphon_spectrum

    if args.graph != "complete" or args.normalisation != "population" or getattr(args, "locking", None):
        raise UsageError("--graphon takes the place of --graph (population normalisation K/N, no --locking)")
    if args.density == "uniform":
        raise UsageError("r∞ on a graphon is computed for smooth densities: --density gaussian, lorentzian or --density-expression")
    x, y = GRAPHON_VARIABLES
    graphon = checked_graphon(parse_expression(args.graphon, {"x": x, "y": y}))
    complete = _theory(args)  # the density, on the complete graph: K_c / μ_max below
    function = generate(graphon, [x, y], "numpy")
    top, _ = graphon_top_eigenvalue(function, (64,))  # cheap first: values in [0, 1], and not zero everywhere
    if not top > 0:
        raise UsageError(f"the graphon {graphon} has no positive eigenvalue: the incoherent state never loses stability")
    top, nystrom = graphon_top_eigenvalue(function)
    spectrum = separable_graphon_spectrum(graphon)
    exact = max(spectrum, key=lambda v: float(sp.re(v))) if spectrum else None
    mu = float(exact) if exact is not None else top
    if not mu > 0:
        raise UsageError(f"the graphon {graphon} has no positive eigenvalue: the incoherent state never loses stability")
    theory = ContinuumTheory(complete.density_name, complete.density, complete.scale, complete.critical_coupling / mu, mu, f"graphon W(x, y) = {graphon}", function)
    found = {
        "graphon": str(graphon),
        "mu_max": mu,
        "mu_max_exact": None if exact is None else str(exact),
        "spectrum_exact": None if spectrum is None else [str(v) for v in spectrum],
        "mu_max_nystrom": {str(n): v for n, v in nystrom.items()},
    }
    return theory, found


def _sparse_regime(exponent: float | None) -> str | None:
    if exponent is None:
        return None
    if exponent == 0:
        return "p_n = 1: dense W-random graphs"
    if exponent < 1:
        return f"p_n = n^-{exponent:g}: mean degree ∝ n^{1 - exponent:g} → ∞; rescaled by n^{exponent:g} the graphs have the dense graphon's Vlasov limit"
    return "p_n = 1/n: bounded mean degree, no Vlasov limit (the local fields keep O(1) fluctuations); r∞ theory is the dense limit's, which these graphs do not approach"


def _kuramoto_graphon(args) -> int:
    """K_c and r∞ on a graphon: μ_max of its operator, exactly when the kernel is degenerate and by Nyström always."""
    theory, found = _graphon_theory(args)
    r_inf = float(theory.r_inf(args.coupling)[0])
    result = {
        "g": theory.density_name,
        "width": json_number(theory.scale),
        **found,
        "K": args.coupling,
        "K_c": theory.critical_coupling,
        "incoherent_state": "stable (K < K_c)" if args.coupling < theory.critical_coupling else "unstable (K > K_c)",
        "r_inf": r_inf,
        "sparse_limit": _sparse_regime(args.sparse_exponent),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    for key, value in result.items():
        if not isinstance(value, (dict, list)) and value is not None:
            print(f"{key:>18}: {value:.12g}" if isinstance(value, float) else f"{key:>18}: {value}")
    print(f"{'Nyström μ_max':>18}: " + ", ".join(f"{v:.10g} (n = {n})" for n, v in found["mu_max_nystrom"].items()))
    return EXIT_OK


def _kuramoto_graph(args, n: int, theory):
    """The adjacency of ``--graph`` (None: all to all), or a W-random graph of the graphon, rescaled by 1/p_n when sparse."""
    from dyncheck.numerics.kuramoto import erdos_renyi, ring_lattice, sparse_exponent_scale, w_random_graph

    if theory.graphon is not None:
        scale = sparse_exponent_scale(n, args.sparse_exponent or 0.0)
        return w_random_graph(theory.graphon, n, edge_scale=scale, seed=args.seed) / scale
    if args.graph == "erdos-renyi":
        return erdos_renyi(n, args.edge_probability, seed=args.seed)
    if args.graph == "ring":
        return ring_lattice(n, max(1, round(args.range * n)))
    return None


def _simulate_kuramoto(args) -> int:
    import numpy as np
    from tqdm import tqdm

    from dyncheck.numerics.kuramoto import plot_bifurcation, plot_order_parameter, simulate_populations

    if args.oscillators < 2:
        raise UsageError("a population needs at least 2 oscillators (--oscillators ≥ 2)")
    if args.replicates < 1 or not (args.time > 0 and args.step > 0):
        raise UsageError("--replicates, --time and --step must be positive")
    check_backend(args)
    samples = args.time / args.step
    if samples > 1e7:
        raise UsageError(f"--time / --step = {samples:.3g} steps; the limit is 1e7")
    systems = args.replicates * (int(args.sweep[2]) if args.sweep else 1)
    scheduler = scheduler_of(args)
    together = units_here(args, scheduler, systems)
    # phases and the integrator's stages per oscillator of the systems run here at once, r(t) per system
    # and step, the graph's adjacency
    needed = 8.0 * (8 * args.oscillators * together + systems * (samples + 1)) + (8.0 * args.oscillators**2 if args.graph != "complete" or args.graphon else 0)
    require_memory(needed, f"{max(together, 1)} populations of {args.oscillators} oscillators at once over {samples:.3g} steps")
    if args.sparse_exponent is not None and args.graphon is None:
        raise UsageError("--sparse-exponent samples sparse W-random graphs of a --graphon")
    if args.step > args.time / 2:
        raise UsageError(f"--step {args.step:g} must be at most half of --time {args.time:g}: ⟨r⟩ averages over [T/2, T]")
    if args.sweep and args.coupling is not None:
        raise UsageError("give --coupling or --sweep LO HI COUNT, not both")
    if args.sweep:
        lo, hi, count = args.sweep
        if not (0 <= lo < hi) or int(count) < 2:
            raise UsageError("--sweep LO HI COUNT needs 0 ≤ LO < HI and COUNT ≥ 2")
        couplings = np.linspace(lo, hi, int(count))
    elif args.coupling is None:
        raise UsageError("give --coupling, or --sweep LO HI COUNT")
    else:
        couplings = np.array([args.coupling])
    if np.any(couplings < 0):
        raise UsageError("the coupling K must be non-negative")
    if args.method == "dop853" and args.backend != "numpy":
        raise UsageError("the adaptive integrator (dop853) runs on numpy")
    theory = _graphon_theory(args)[0] if args.graphon is not None else _theory(args)
    graph = _kuramoto_graph(args, args.oscillators, theory)
    where = theory.graph if args.graphon is None else f"W-random graph of {args.graphon}" + (f", p_n = n^-{args.sparse_exponent:g}" if args.sparse_exponent else "")
    label = f"{args.oscillators} oscillators × {systems} system{'s' if systems != 1 else ''}, {where}, {args.backend}/{args.device}"
    in_batch = together == systems
    bar = tqdm(total=round(args.time / args.step), desc="simulate kuramoto", unit="step", file=sys.stderr, disable=args.json or not in_batch or None)

    def progress(done, total):
        bar.update(done - bar.n)

    trajectory = simulate_populations(
        args.density, args.oscillators, theory.scale, couplings, args.replicates, args.time, args.step, graph=graph,
        normalisation=args.normalisation, method=args.method, quantiles=not args.random_frequencies, seed=args.seed,
        backend=args.backend, device=args.device, jobs=args.jobs, scheduler=scheduler, store=args.store,
        progress=progress if in_batch else not args.json,
    )
    bar.close()
    averages, _ = trajectory.stationary(args.time / 2)
    averages = averages.reshape(couplings.size, args.replicates)
    mean = averages.mean(axis=1)
    error = averages.std(axis=1, ddof=1) / np.sqrt(args.replicates) if args.replicates > 1 else np.full(couplings.size, np.nan)
    predicted = theory.r_inf(couplings)
    if args.plot:
        if args.sweep:
            fine = np.linspace(couplings[0], couplings[-1], 400 if theory.graphon is None else 80)  # a graphon's r∞ costs a Newton solve a point
            title = f"Kuramoto, {args.density} g (width {theory.scale:g}), {theory.graph}: ⟨r⟩ over t ∈ [T/2, T]\n{label}"
            plot_bifurcation(couplings, {f"simulation, N = {args.oscillators}": (mean, error)}, fine, theory.r_inf(fine), title, args.plot, critical=theory.critical_coupling)
        else:
            plot_order_parameter(trajectory, float(predicted[0]), f"Kuramoto, {args.density} g, K = {couplings[0]:g}\n{label}", args.plot)
    result = {
        "N": args.oscillators, "g": args.density, "width": theory.scale, "graph": theory.graph, "normalisation": args.normalisation,
        "K_c": theory.critical_coupling, "K": couplings.tolist(), "r_mean": mean.tolist(), "r_error": [json_number(e) for e in error],
        "r_inf_theory": predicted.tolist(), "T": args.time, "step": args.step, "method": args.method,
        "backend": trajectory.backend, "device": trajectory.device, "seeds": args.replicates,
    }
    if args.graphon is not None:
        result.update({"graphon": args.graphon, "sparse_exponent": args.sparse_exponent or 0.0, "edges": int(graph.nnz // 2), "sparse_limit": _sparse_regime(args.sparse_exponent)})
    if not args.sweep:
        result["times"] = trajectory.times[:: max(1, trajectory.times.size // 200)].tolist()
        result["r_t"] = trajectory.r[:, :: max(1, trajectory.times.size // 200)].mean(axis=0).tolist()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"K_c = {theory.critical_coupling:.6g}; ⟨r⟩ over t ∈ [{args.time / 2:g}, {args.time:g}], {label}")
        if args.graphon is not None and args.sparse_exponent:
            print(_sparse_regime(args.sparse_exponent))
        print(f"{'K':>10} {'⟨r⟩':>10} {'± s.e.':>9} {'r∞ theory':>10}")
        for k, m, e, p in zip(couplings, mean, error, predicted):
            se = f"{e:9.1e}" if math.isfinite(e) else f"{'—':>9}"
            print(f"{k:10.4g} {m:10.5f} {se} {p:10.5f}")
        wrote(args.plot)
    return EXIT_OK
