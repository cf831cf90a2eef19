"""Mean-field signal propagation: ``meanfield``, ``boundary``, ``phase-diagram`` and ``simulate meanfield``."""

from __future__ import annotations

import json
import sys

from dyncheck.proofs_check.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    add_activation,
    add_backend,
    add_executor,
    add_json,
    add_plot,
    add_replicates,
    add_seed,
    add_variances,
    at_least,
    check_backend,
    Commands,
    count,
    json_number,
    require_memory,
    scheduler_of,
    theory_for,
    units_here,
    wrote,
)
from dyncheck.theory.errors import UsageError

__all__ = ["register"]


def register(commands: Commands) -> None:
    mf = commands.add(
        commands.top, "meanfield", help="fixed points, χ₁, χ_c, depth scales and the phase at (σ_w², σ_b²)",
        examples="  dyncheck meanfield --phi tanh --sw2 1.5 --sb2 0.05\n  dyncheck meanfield --phi 'x*erf(x)' --sw2 2 --json",
        run=_meanfield,
    )
    add_activation(mf)
    add_variances(mf)
    add_json(mf)

    boundary = commands.add(
        commands.top, "boundary", help="the order–chaos critical line χ₁ = 1, in closed form where it has one",
        examples="  dyncheck boundary --phi erf\n  dyncheck boundary --phi tanh --sb2 0.05\n  dyncheck boundary --phi erf --latex",
        run=_boundary,
    )
    add_activation(boundary)
    boundary.add_argument("--sb2", type=at_least(0, high=1e6), metavar="SIGMA_B2", help="give the critical σ_w² at this σ_b² (otherwise the whole line)")
    boundary.add_argument("--latex", action="store_true", help="print the line as LaTeX")
    add_json(boundary)

    diagram = commands.add(
        commands.top, "phase-diagram", help="χ₁ and ξ_c over a (σ_w², σ_b²) grid, with the critical line",
        examples="  dyncheck phase-diagram --phi erf --grid 256 --plot erf.png\n  dyncheck phase-diagram --phi tanh --sw2-range 0.5 3 --sb2-range 0 0.2 --plot tanh.pdf",
        run=_phase_diagram,
    )
    add_activation(diagram)
    diagram.add_argument("--grid", type=count(2, 4096), default=256, help="points per axis (2 … 4096; default 256)")
    diagram.add_argument("--sw2-range", type=at_least(0, strict=True, high=1e6), nargs=2, default=(0.5, 4.0), metavar=("LO", "HI"), help="σ_w² axis (default 0.5 4)")
    diagram.add_argument("--sb2-range", type=at_least(0, high=1e6), nargs=2, default=(0.0, 0.3), metavar=("LO", "HI"), help="σ_b² axis (default 0 0.3)")
    add_plot(diagram, "the diagram; required", old="--out")
    add_executor(diagram, store=False, jobs_default="1: the whole grid at once, in this process")
    diagram.get_default("required_options").append(("plot", "--plot"))

    sim = commands.add(
        commands.simulate, "meanfield", help="random fully-connected networks: q_l, c_l, gradients and the Jacobian against the maps",
        examples=(
            "  dyncheck simulate meanfield --phi tanh --sw2 1.5 --sb2 0.05 --width 1024 --depth 50 --plot traj.png\n"
            "  dyncheck simulate meanfield --phi tanh --sw2 1.76 --width 512 --depth 16 --spectrum-plot spectra.png\n"
            "  dyncheck simulate meanfield --phi erf --sw2 2 --backend torch --device cuda --replicates 64\n"
            "  dyncheck simulate meanfield --phi tanh --sw2 1.5 --width 8192 --replicates 256 --scheduler tcp://10.0.0.5:8786 --store nets/"
        ),
        run=_simulate,
    )
    add_activation(sim)
    add_variances(sim)
    sim.add_argument("--width", type=count(2, 1 << 16), default=1024, help="neurons per layer (default 1024)")
    sim.add_argument("--depth", type=count(1, 10_000), default=50, help="number of nonlinearities (hidden layers; default 50)")
    add_replicates(sim, low=2, default=16, what="networks")
    sim.add_argument("--q0", type=at_least(0, strict=True, high=1e6), default=1.0, help="input variance (default 1)")
    sim.add_argument("--c0", type=at_least(-1, high=1), default=0.5, help="input correlation in [−1, 1] (default 0.5)")
    sim.add_argument("--weights", choices=["gaussian", "orthogonal"], default="gaussian", help="weight ensemble (default gaussian)")
    add_backend(sim)
    add_seed(sim)
    add_executor(sim, jobs_default="1: the networks as one batch, in this process")
    add_plot(sim, "q_l, c_l and the gradient variance against the maps")
    add_plot(sim, "the Jacobian's squared singular values at q*, Gaussian and orthogonal weights, against theory (O(N³L))", old="--spectrum", option="--spectrum-plot")
    add_json(sim)


def _meanfield(args) -> int:
    from dyncheck.numerics.meanfield import PHASES, fixed_points, mean_field_state

    theory = theory_for(args.phi)
    state = mean_field_state(theory, args.sw2, args.sb2)
    phase = PHASES[int(state.phase)]
    points = fixed_points(theory, args.sw2, args.sb2)
    if phase == "no fixed point":
        print(
            f"dyncheck: error: no fixed point q* at σ_w² = {args.sw2:g}, σ_b² = {args.sb2:g}: "
            f"the variance of {args.phi} grows without bound (beyond q = 1e4), or a Gaussian moment of it diverges first",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if phase == "undefined":
        raise UsageError(
            f"χ₁ of {args.phi} is not finite at σ_w² = {args.sw2:g}, σ_b² = {args.sb2:g} (q* = {float(state.q_star):.6g}): "
            "a Gaussian moment of the activation diverges there"
        )
    result = {
        "phi": args.phi,
        "sigma_w2": args.sw2,
        "sigma_b2": args.sb2,
        "q_star": json_number(state.q_star),
        "chi_1": json_number(state.chi_1),
        "chi_c": json_number(state.chi_c),
        "c_star": json_number(state.c_star),
        "xi_q": json_number(state.xi_q),
        "xi_c": json_number(state.xi_c),
        "phase": phase,
        "fixed_points": [{"q": p.q, "slope": p.slope, "stable": p.stable} for p in points],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            if key == "fixed_points":
                continue
            if key == "q_star" and value is None:  # the marginal point: no one q*
                value = "every q (the q-map is the identity: q* is the input's variance)"
            print(f"{key:>9}: {value:.12g}" if isinstance(value, float) else f"{key:>9}: {value}")
        if len(points) > 1:
            print("  fixed points of the variance map in [0, 1e4] (q* is the smallest stable one above σ_b²):")
            for p in points:
                print(f"    q = {p.q:.12g}, slope {p.slope:.6g}: {'stable' if p.stable else 'unstable'}")
    return EXIT_OK


def _boundary(args) -> int:
    from dyncheck.numerics.meanfield import critical_sigma_w2

    theory = theory_for(args.phi)
    line = theory.critical_line()
    if args.sb2 is not None:
        sw2, q = critical_sigma_w2(theory, args.sb2)
        result = {"phi": args.phi, "sigma_b2": args.sb2, "sigma_w2": json_number(sw2), "q_star": json_number(q)}
        print(json.dumps(result, indent=2) if args.json else f"critical σ_w² = {sw2:.15g} at σ_b² = {args.sb2:g} (q* = {q:.15g})")
        return EXIT_OK
    result = {
        "phi": args.phi,
        "closed_form": line.closed,
        "sigma_w2": str(line.sigma_w2) if line.closed else None,
        "sigma_b2": str(line.sigma_b2) if line.closed else None,
        "latex": line.latex() if line.closed else None,
        "point": line.is_point,
    }
    if not line.closed:
        from dyncheck.numerics.meanfield import critical_curve

        sw2, sb2, q = critical_curve(theory)
        result["curve"] = {"q": q.tolist(), "sigma_w2": sw2.tolist(), "sigma_b2": sb2.tolist()}
    if args.json:
        print(json.dumps(result, indent=2))
    elif line.closed:
        print(line.latex() if args.latex else f"sigma_w2(q) = {line.sigma_w2}\nsigma_b2(q) = {line.sigma_b2}   (q > 0, sigma_b2 >= 0)")
        if line.is_point:
            print(f"  the line is one point: (sigma_w2, sigma_b2) = ({line.sigma_w2}, 0) for every q")
    else:
        print(f"no closed form for {args.phi}; the numeric critical line (q, sigma_w2, sigma_b2):")
        for qv, w, b in zip(result["curve"]["q"], result["curve"]["sigma_w2"], result["curve"]["sigma_b2"]):
            print(f"  {qv:12.6g}  {w:.15g}  {b:.15g}")
    return EXIT_OK


def _phase_diagram(args) -> int:
    import time

    import numpy as np

    from dyncheck.numerics.meanfield import critical_curve, functions_for, phase_diagram, plot_phase_diagram

    start = time.perf_counter()
    theory = theory_for(args.phi)
    functions_for(theory).compile_kernels()
    derived = time.perf_counter() - start
    sw2 = np.linspace(*args.sw2_range, args.grid)
    sb2 = np.linspace(*args.sb2_range, args.grid)
    start = time.perf_counter()
    scheduler = scheduler_of(args)
    state = phase_diagram(theory, sw2, sb2, jobs=args.jobs, scheduler=scheduler, progress=args.jobs not in (None, 1) or bool(scheduler))
    seconds = time.perf_counter() - start
    line = None
    try:
        w, b, _ = critical_curve(theory, sb2_max=args.sb2_range[1])
        keep = (w >= args.sw2_range[0]) & (w <= args.sw2_range[1])
        line = (w[keep], b[keep])
    except ValueError:
        pass
    plot_phase_diagram(state, theory, args.plot, line)
    print(f"expectations derived in {derived:.2f} s; {args.grid}×{args.grid} grid in {seconds:.2f} s; wrote {args.plot}")
    return EXIT_OK


def _plot_spectra(theory, args):
    from dyncheck.numerics.meanfield import (
        jacobian_singular_values,
        jacobian_spectrum_moments,
        mean_field_state,
        plot_jacobian_spectra,
    )

    ensembles = ("gaussian", "orthogonal")
    # the prediction first: it says why when there is no fixed point and the moments depend on q
    predicted = {e: jacobian_spectrum_moments(theory, args.sw2, args.sb2, args.depth, e) for e in ensembles}
    q_star = float(mean_field_state(theory, args.sw2, args.sb2).q_star)
    # no positive q* (ReLU at (2, 0): every q is fixed) with moments free of q: the networks start at the input's q₀
    q = q_star if q_star > 0 else args.q0
    spectra = {
        e: jacobian_singular_values(theory, args.sw2, args.sb2, q, width=args.width, depth=args.depth, weights=e, seed=args.seed)
        for e in ensembles
    }
    title = rf"{args.phi}: Jacobian of one network of depth {args.depth}, $N$ = {args.width}, $\sigma_w^2$ = {args.sw2:g}, $\sigma_b^2$ = {args.sb2:g}"
    plot_jacobian_spectra(spectra, predicted, title, args.spectrum_plot)


def _simulate(args) -> int:
    from dyncheck.numerics.meanfield import plot_trajectories, simulate_network

    check_backend(args)
    scheduler = scheduler_of(args)
    together = units_here(args, scheduler, args.replicates)
    # one layer's weights of the networks in memory here at once, and the spectrum's dense Jacobian products
    require_memory(8.0 * args.width**2 * (together + 4), f"{max(together, 1)} networks of width {args.width} at once")
    theory = theory_for(args.phi)
    sim = simulate_network(
        theory, args.sw2, args.sb2, width=args.width, depth=args.depth, q0=args.q0, c0=args.c0,
        seeds=args.replicates, weights=args.weights, backend=args.backend, device=args.device, seed=args.seed,
        jobs=args.jobs, scheduler=scheduler, store=args.store, progress=not args.json and together != args.replicates,
    )
    q_mean, q_error = sim.mean_and_error(sim.q)
    c_mean, c_error = sim.mean_and_error(sim.c)
    if args.plot:
        plot_trajectories(theory, args.sw2, args.sb2, sim, args.q0, args.c0, args.plot)
    if args.spectrum_plot:
        _plot_spectra(theory, args)
    result = {
        "q": q_mean.tolist(), "q_error": q_error.tolist(), "c": c_mean.tolist(), "c_error": c_error.tolist(),
        "jacobian_msv": float(sim.jacobian_msv.mean()), "width": sim.width, "depth": sim.depth,
        "backend": sim.backend, "device": sim.device,
    }
    written = [path for path in (args.plot, args.spectrum_plot) if path]
    if args.json:
        print(json.dumps({**result, "plots": written}, indent=2))
    else:
        print(f"layer  q_l (± s.e.)            c_l (± s.e.)   [{args.replicates} networks, N = {args.width}, {args.backend}/{args.device}]")
        for layer in range(0, sim.depth + 1, max(1, sim.depth // 10)):
            print(f"{layer:5d}  {q_mean[layer]:.6f} ± {q_error[layer]:.1e}  {c_mean[layer]:.6f} ± {c_error[layer]:.1e}")
        wrote(*written)
    return EXIT_OK
