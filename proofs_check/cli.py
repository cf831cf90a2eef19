"""The ``dyncheck`` command line: ``verify``, ``check``, ``gauss``, ``meanfield``, ``boundary``,
``phase-diagram``, ``kuramoto``, ``kernel``, ``ntk-depth``, ``simulate`` and ``train``.

Exit status: 0 success (proved/verified; the work was done), 1 refuted (or a
verify run that did not pass), 2 bad input, 3 inconclusive, 130 interrupted.
Bad input (:class:`theory.errors.UsageError`) gets one line and no traceback,
and is found before the work starts; any other error is a bug and shows its
traceback.  An expression that starts with ``-`` is passed after ``--`` or as
``--assume=-1<rho<1``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys

import sympy as sp

from dyncheck.numerics.threads import budget, limit_threads
from dyncheck.theory.errors import UsageError

__all__ = [
    "main",
    "EXIT_OK",
    "EXIT_REFUTED",
    "EXIT_BAD_INPUT",
    "EXIT_INCONCLUSIVE",
    "EXIT_INTERRUPTED",
    "build_parser",
    "require_memory",
]

EXIT_OK, EXIT_REFUTED, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"dyncheck: error: {' '.join(message.split())}\n")


def _finite(text: str) -> float:
    """An option's number: finite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def _at_least(low: float, *, strict: bool = False, high: float | None = None):
    def parse(text: str) -> float:
        value = _finite(text)
        if (value <= low if strict else value < low) or (high is not None and value > high):
            bound = f"{'>' if strict else '≥'} {low:g}" + (f" and ≤ {high:g}" if high is not None else "")
            raise argparse.ArgumentTypeError(f"{text} must be {bound}")
        return value

    return parse


def _count(low: int, high: int):
    """An option's whole number in [low, high]: the upper bound keeps memory and time finite."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} must lie in {low} … {high}")
        return value

    return parse


def _writable(folder: str) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed: root passes every access check)."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _output(text: str) -> str:
    """An output file: its folder must exist and take a new file, and it must not be a folder."""
    path = os.path.abspath(text)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"the folder of {text} does not exist")
    if not _writable(folder):
        raise argparse.ArgumentTypeError(f"the folder of {text} is not writable")
    return text


def _output_folder(text: str) -> str:
    """An output folder: created now if missing (so that the work does not end on an error), and writable."""
    try:
        os.makedirs(text, exist_ok=True)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"{text} cannot be created: {error.strerror}") from None
    if not os.path.isdir(text) or not _writable(text):
        raise argparse.ArgumentTypeError(f"{text} is not a writable folder")
    return text


def _device(text: str) -> str:
    """cpu, cuda or cuda:N."""
    if text == "cpu" or text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not a device: use cpu, cuda or cuda:N")


def _memory_bytes() -> int:
    """Physical memory of this machine."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 34


def require_memory(needed: float, what: str) -> None:
    """Refuse, before the work, a size whose arrays would not fit in memory (half of it, for the rest)."""
    available = _memory_bytes()
    if needed > available / 2:
        raise UsageError(f"{what} needs {needed / 2**30:.1f} GiB; this machine has {available / 2**30:.0f} GiB")


def _cmd_verify(args) -> int:
    from tqdm import tqdm

    from dyncheck.proofs_check.claim import PROFILES
    from dyncheck.proofs_check.claims import select
    from dyncheck.proofs_check.report import passed, run_summary, table, write_report
    from dyncheck.proofs_check.runner import judge

    claims = select(args.only)
    if not claims:
        raise UsageError(f"no claim matches {args.only!r}")
    profile = PROFILES[args.profile]
    results = []
    bar = tqdm(total=len(claims), desc=f"verify ({profile.name})", unit="claim", file=sys.stderr, disable=args.json or None)
    stream = judge(claims, profile, args.jobs or budget())
    interrupted = False
    try:
        for result in stream:
            results.append(result)
            bar.update(1)
            bar.set_postfix_str(result.claim_id)
    except KeyboardInterrupt:
        interrupted = True
    # A second Ctrl-C (or SIGTERM) must not cut the partial report short: held off until it is written.
    held = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)} if _in_main_thread() else {}
    try:
        stream.close()  # ends the workers
        bar.close()
        complete = not interrupted and len(results) == len(claims)
        order = {claim.id: i for i, claim in enumerate(claims)}
        results.sort(key=lambda r: order[r.claim_id])
        if args.report:
            paths = write_report(results, profile, args.report, complete)
            if not args.json:
                print("report: " + ", ".join(str(p) for p in paths), file=sys.stderr)
        if args.json:
            print(json.dumps(run_summary(results, profile, complete), indent=2, default=str))
        else:
            print(table(results))
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)
    if interrupted:
        print(f"dyncheck: interrupted after {len(results)} of {len(claims)} claim(s); the report says it is incomplete", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if passed(results) and complete else EXIT_REFUTED


def _cmd_check(args) -> int:
    from dyncheck.proofs_check.identity import check_identity
    from dyncheck.proofs_check.verdicts import REFUTED

    from dyncheck.proofs_check.verdicts import INCONCLUSIVE

    result = check_identity(args.lhs, args.rhs, args.assume, points=args.points, seed=args.seed)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    else:
        print(f"{result.verdict}: {result.reason}")
        if result.derived_lhs != result.lhs or result.derived_rhs != result.rhs:
            print(f"  LHS = {result.derived_lhs}")
            print(f"  RHS = {result.derived_rhs}")
        if result.counterexample:
            c = result.counterexample
            print(f"  counterexample at {c['point']}:\n    LHS = {c['lhs']}\n    RHS = {c['rhs']}")
    if result.verdict == REFUTED:
        return EXIT_REFUTED
    return EXIT_INCONCLUSIVE if result.verdict == INCONCLUSIVE else EXIT_OK


def _cmd_gauss(args) -> int:
    from dyncheck.proofs_check.parser import parse_expression
    from dyncheck.theory.gaussian import expect
    from dyncheck.theory.symbols import RHO, Q, U, V, Z

    names = {"z": Z, "u": U, "v": V, "rho": RHO, "q": Q}
    bound = ("u", "v") if args.bivariate else ("z",)
    for name in args.positive:
        if name in bound:
            raise UsageError(f"{name} is integrated over: it takes no assumption (give a parameter another name)")
        names[name] = sp.Symbol(name, positive=True)
    expr = parse_expression(args.expr, names)
    if args.bivariate:
        if expr.free_symbols & {Z}:
            raise UsageError("a bivariate expectation is over u and v (correlation rho), not z")
        derivation = expect(expr, (U, V), RHO)
    else:
        derivation = expect(expr, Z)
    value = derivation.value if derivation.closed else None
    if args.json:
        print(
            json.dumps(
                {
                    "expectation": str(derivation.expectation),
                    "closed_form": None if value is None else str(value),
                    "latex": None if value is None else sp.latex(value),
                    "rule": derivation.rule,
                    "conditions": [{"condition": str(c.relation), "meaning": c.meaning} for c in derivation.conditions],
                    "exhausted": derivation.exhausted,
                    "provenance": list(derivation.steps),
                },
                indent=2,
            )
        )
        return EXIT_OK
    print(f"{derivation.expectation} = {sp.latex(value) if args.latex and value is not None else value if value is not None else 'none (no closed form)'}")
    print(f"  rule: {derivation.rule or 'none'}")
    for condition in derivation.conditions:
        print(f"  holds where {condition.relation} ({condition.meaning})")
    for step in derivation.steps:
        print(f"  - {step}")
    return EXIT_OK


def _activation_expr(spec: str) -> sp.Expr:
    """A registered activation's expression, or ``spec`` parsed (AST whitelist) as an expression in x alone."""
    from dyncheck.proofs_check.parser import parse_expression
    from dyncheck.theory.activations import ACTIVATIONS, ALIASES, activation
    from dyncheck.theory.symbols import X

    if spec in ACTIVATIONS or spec in ALIASES:
        return activation(spec).expr()
    phi = parse_expression(spec)
    if phi.free_symbols - {X}:
        raise UsageError(f"the activation may depend on x only, not on {', '.join(sorted(map(str, phi.free_symbols - {X})))}")
    if not phi.has(X):
        raise UsageError("the activation is constant: it propagates no signal")
    _check_activation(phi)
    return phi


#: Points where a user's activation must take finite real values (the Gaussian's bulk and far tails).
_ACTIVATION_PROBES = (-1e3, -30.0, -3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0, 30.0, 1e3)


def _check_activation(phi: sp.Expr) -> None:
    """Refuse an activation with poles or complex values where the Gaussian puts mass, with the reason."""
    from dyncheck.theory.activations import kinks
    from dyncheck.theory.symbols import X

    try:
        kinks(phi, X)
    except ValueError as error:
        raise UsageError(f"the activation {phi} has kinks that the quadrature cannot place ({error}): kinks must sit where a linear function of x vanishes") from None
    for x in _ACTIVATION_PROBES:
        value = phi.subs(X, sp.Float(x)).evalf(15)
        if not (value.is_number and value.is_extended_real and value.is_finite):
            raise UsageError(f"the activation {phi} is not a finite real number at x = {x:g}; mean-field theory needs φ real and finite on the whole line")


def _theory_for(spec: str):
    """A MeanField for a registered activation name or an expression in x."""
    from dyncheck.theory.meanfield import mean_field

    return mean_field(_activation_expr(spec), spec)  # MeanField rejects symbols other than x


def _number(value: float):
    """JSON-friendly: NaN → None, ±inf → "inf"/"-inf"."""
    import math

    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _cmd_meanfield(args) -> int:
    from dyncheck.numerics.meanfield import PHASES, fixed_points, mean_field_state

    theory = _theory_for(args.phi)
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
        "q_star": _number(state.q_star),
        "chi_1": _number(state.chi_1),
        "chi_c": _number(state.chi_c),
        "c_star": _number(state.c_star),
        "xi_q": _number(state.xi_q),
        "xi_c": _number(state.xi_c),
        "phase": phase,
        "fixed_points": [{"q": p.q, "slope": p.slope, "stable": p.stable} for p in points],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            if key == "fixed_points":
                continue
            print(f"{key:>9}: {value:.12g}" if isinstance(value, float) else f"{key:>9}: {value}")
        if result["q_star"] is None:
            print("  every q is a fixed point here (the q-map is the identity): q* is the input's variance")
        if len(points) > 1:
            print("  fixed points of the variance map in [0, 1e4] (q* is the smallest stable one above σ_b²):")
            for p in points:
                print(f"    q = {p.q:.12g}, slope {p.slope:.6g}: {'stable' if p.stable else 'unstable'}")
    return EXIT_OK


def _cmd_boundary(args) -> int:
    from dyncheck.numerics.meanfield import critical_sigma_w2

    theory = _theory_for(args.phi)
    line = theory.critical_line()
    if args.sb2 is not None:
        sw2, q = critical_sigma_w2(theory, args.sb2)
        result = {"phi": args.phi, "sigma_b2": args.sb2, "sigma_w2": _number(sw2), "q_star": _number(q)}
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


def _cmd_phase_diagram(args) -> int:
    import time

    import numpy as np

    from dyncheck.numerics.meanfield import (
        critical_curve,
        functions_for,
        mean_field_state,
        plot_phase_diagram,
    )

    start = time.perf_counter()
    theory = _theory_for(args.phi)
    functions_for(theory).compile_kernels()
    derived = time.perf_counter() - start
    sw2 = np.linspace(*args.sw2_range, args.grid)
    sb2 = np.linspace(*args.sb2_range, args.grid)
    start = time.perf_counter()
    state = mean_field_state(theory, *np.meshgrid(sw2, sb2, indexing="ij"))
    seconds = time.perf_counter() - start
    line = None
    try:
        w, b, _ = critical_curve(theory, sb2_max=args.sb2_range[1])
        keep = (w >= args.sw2_range[0]) & (w <= args.sw2_range[1])
        line = (w[keep], b[keep])
    except ValueError:
        pass
    plot_phase_diagram(state, theory, args.out, line)
    print(
        f"expectations derived in {derived:.2f} s; {args.grid}×{args.grid} grid in {seconds:.2f} s; written {args.out}",
        file=sys.stderr,
    )
    return EXIT_OK


def _plot_spectra(theory, args):
    from dyncheck.numerics.meanfield import (
        jacobian_singular_values,
        jacobian_spectrum_moments,
        mean_field_state,
        plot_jacobian_spectra,
    )

    q_star = float(mean_field_state(theory, args.sw2, args.sb2).q_star)
    if not q_star > 0:
        raise UsageError("the Jacobian spectrum is taken at a positive fixed point q*, and there is none here")
    ensembles = ("gaussian", "orthogonal")
    spectra = {
        e: jacobian_singular_values(theory, args.sw2, args.sb2, q_star, width=args.width, depth=args.depth, weights=e, seed=args.seed)
        for e in ensembles
    }
    predicted = {e: jacobian_spectrum_moments(theory, args.sw2, args.sb2, args.depth, e) for e in ensembles}
    title = f"{args.phi}: Jacobian of one network of depth {args.depth}, N = {args.width}, σ_w² = {args.sw2:g}, σ_b² = {args.sb2:g}"
    plot_jacobian_spectra(spectra, predicted, title, args.spectrum)


def _check_backend(args) -> None:
    """The backend and device, before any work: torch installed, CUDA present where asked for."""
    from dyncheck.numerics.backend import ArrayBackend

    ArrayBackend(args.backend, args.device, 0)


def _cmd_simulate(args) -> int:
    from dyncheck.numerics.meanfield import plot_trajectories, simulate_network

    _check_backend(args)
    # weights of every layer of a batch of networks, and the spectrum's dense Jacobian products
    require_memory(8.0 * args.width**2 * (args.seeds + 4), f"{args.seeds} networks of width {args.width}")
    theory = _theory_for(args.phi)
    sim = simulate_network(
        theory, args.sw2, args.sb2, width=args.width, depth=args.depth, q0=args.q0, c0=args.c0,
        seeds=args.seeds, weights=args.weights, backend=args.backend, device=args.device, seed=args.seed,
    )
    q_mean, q_error = sim.mean_and_error(sim.q)
    c_mean, c_error = sim.mean_and_error(sim.c)
    if args.plot:
        plot_trajectories(theory, args.sw2, args.sb2, sim, args.q0, args.c0, args.plot)
    if args.spectrum:
        _plot_spectra(theory, args)
    result = {
        "q": q_mean.tolist(), "q_error": q_error.tolist(), "c": c_mean.tolist(), "c_error": c_error.tolist(),
        "jacobian_msv": float(sim.jacobian_msv.mean()), "width": sim.width, "depth": sim.depth,
        "backend": sim.backend, "device": sim.device,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"layer  q_l (± s.e.)            c_l (± s.e.)   [{args.seeds} networks, N = {args.width}, {args.backend}/{args.device}]")
        for layer in range(0, sim.depth + 1, max(1, sim.depth // 10)):
            print(f"{layer:5d}  {q_mean[layer]:.6f} ± {q_error[layer]:.1e}  {c_mean[layer]:.6f} ± {c_error[layer]:.1e}")
    return EXIT_OK


_DENSITY_SCALES = {"lorentzian": "gamma", "gaussian": "sigma", "uniform": "delta"}


def _kuramoto_theory(args) -> dict:
    """K_c and the r∞ map of ``args``' frequency density on its graph, and the graph's top eigenvalue μ_max."""
    import numpy as np

    from dyncheck.numerics.kuramoto import (
        density_expression,
        steady_state_order,
        uniform_steady_state,
    )
    from dyncheck.theory.kuramoto import circulant_eigenvalue, critical_coupling

    scale = getattr(args, _DENSITY_SCALES[args.g])
    if scale is None:
        raise UsageError(f"--g {args.g} needs --{_DENSITY_SCALES[args.g]} (its width)")
    density = density_expression(args.g, scale)
    if args.graph == "erdos-renyi":
        if args.p is None or not 0 < args.p <= 1:
            raise UsageError("--graph erdos-renyi needs --p in (0, 1]")
        eigenvalue, what = sp.Float(args.p), f"W ≡ p = {args.p:g}"
    elif args.graph == "ring":
        if args.range is None or not 0 < args.range < 0.5:
            raise UsageError("--graph ring needs --range ρ in (0, 1/2)")
        s = sp.Symbol("s", real=True)
        eigenvalue, what = circulant_eigenvalue(sp.Integer(1), s, 0, sp.Float(args.range)), f"ring graphon of range ρ = {args.range:g}: μ_max = 2ρ"
    else:
        eigenvalue, what = sp.Integer(1), "complete graph"
    if args.normalisation == "degree":
        eigenvalue, what = sp.Integer(1), what + "; degree normalisation: (D⁻¹W)1 = 1"
    k_c = float(critical_coupling(density) / eigenvalue)
    mu = float(eigenvalue)

    def r_inf(couplings):
        effective = mu * np.atleast_1d(np.asarray(couplings, float))
        if args.g == "uniform":
            return uniform_steady_state(effective, scale)
        return steady_state_order(density, effective)

    return {"density": density, "scale": scale, "K_c": k_c, "top_eigenvalue": mu, "graph": what, "r_inf": r_inf}


def _cmd_kuramoto(args) -> int:
    if args.K < 0:
        raise UsageError("the coupling K must be non-negative")
    theory = _kuramoto_theory(args)
    r_inf = float(theory["r_inf"](args.K)[0])
    result = {
        "g": args.g,
        "width": theory["scale"],
        "density": str(theory["density"]),
        "graph": theory["graph"],
        "normalisation": args.normalisation,
        "top_eigenvalue": theory["top_eigenvalue"],
        "K": args.K,
        "K_c": theory["K_c"],
        "r_inf": r_inf,
        "phase": "incoherent (r∞ = 0)" if r_inf == 0 else ("fully locked" if args.g == "uniform" else "partially locked"),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>14}: {value:.12g}" if isinstance(value, float) else f"{key:>14}: {value}")
    return EXIT_OK


def _kuramoto_graph(args, n: int):
    from dyncheck.numerics.kuramoto import erdos_renyi, ring_lattice

    if args.graph == "erdos-renyi":
        return erdos_renyi(n, args.p, seed=args.seed)
    if args.graph == "ring":
        return ring_lattice(n, max(1, round(args.range * n)))
    return None


def _cmd_simulate_kuramoto(args) -> int:
    import numpy as np
    from tqdm import tqdm

    from dyncheck.numerics.kuramoto import (
        frequencies,
        plot_bifurcation,
        plot_order_parameter,
        simulate,
        simulate_adaptive,
    )

    if args.N < 2:
        raise UsageError("a population needs at least 2 oscillators (--N ≥ 2)")
    if args.seeds < 1 or not (args.T > 0 and args.step > 0):
        raise UsageError("--seeds, --T and --step must be positive")
    _check_backend(args)
    samples = args.T / args.step
    if samples > 1e7:
        raise UsageError(f"--T / --step = {samples:.3g} steps; the limit is 1e7")
    systems = args.seeds * (int(args.sweep[2]) if args.sweep else 1)
    # phases and the integrator's stages per oscillator, r(t) per system and step, the graph's adjacency
    needed = 8.0 * (8 * args.N * systems + systems * (samples + 1)) + (8.0 * args.N**2 if args.graph != "complete" else 0)
    require_memory(needed, f"{systems} populations of {args.N} oscillators over {samples:.3g} steps")
    theory = _kuramoto_theory(args)
    if args.sweep:
        lo, hi, count = args.sweep
        if not (0 <= lo < hi) or int(count) < 2:
            raise UsageError("--sweep LO HI COUNT needs 0 ≤ LO < HI and COUNT ≥ 2")
        couplings = np.linspace(lo, hi, int(count))
    elif args.K is None:
        raise UsageError("give --K, or --sweep LO HI COUNT")
    else:
        couplings = np.array([args.K])
    if np.any(couplings < 0):
        raise UsageError("the coupling K must be non-negative")
    graph = _kuramoto_graph(args, args.N)
    omega = frequencies(args.g, args.N, theory["scale"], systems=args.seeds, quantiles=not args.random_frequencies, seed=args.seed)
    omega = np.tile(omega, (1, couplings.size))  # columns: coupling-major, seeds within
    per_system = np.repeat(couplings, args.seeds)
    label = f"{args.N} oscillators × {per_system.size} systems, {args.graph}, {args.backend}/{args.device}"
    bar = tqdm(total=round(args.T / args.step), desc="simulate kuramoto", unit="step", file=sys.stderr, disable=args.json or None)

    def progress(done, total):
        bar.update(done - bar.n)

    if args.method == "dop853":
        if args.backend != "numpy":
            raise UsageError("the adaptive integrator (dop853) runs on numpy")
        trajectory = simulate_adaptive(
            omega, per_system, args.T, graph=graph, normalisation=args.normalisation, seed=args.seed, samples=round(args.T / args.step) + 1,
        )
    else:
        trajectory = simulate(
            omega, per_system, args.T, args.step, graph=graph, normalisation=args.normalisation, method=args.method,
            seed=args.seed, backend=args.backend, device=args.device, progress=progress,
        )
    bar.close()
    averages, _ = trajectory.stationary(args.T / 2)
    averages = averages.reshape(couplings.size, args.seeds)
    mean = averages.mean(axis=1)
    error = averages.std(axis=1, ddof=1) / np.sqrt(args.seeds) if args.seeds > 1 else np.full(couplings.size, np.nan)
    predicted = theory["r_inf"](couplings)
    if args.plot:
        if args.sweep:
            fine = np.linspace(couplings[0], couplings[-1], 400)
            title = f"Kuramoto, {args.g} g (width {theory['scale']:g}), {theory['graph']}: ⟨r⟩ over t ∈ [T/2, T]\n{label}"
            plot_bifurcation(couplings, {f"simulation, N = {args.N}": (mean, error)}, fine, theory["r_inf"](fine), title, args.plot, critical=theory["K_c"])
        else:
            plot_order_parameter(trajectory, float(predicted[0]), f"Kuramoto, {args.g} g, K = {couplings[0]:g}\n{label}", args.plot)
    result = {
        "N": args.N, "g": args.g, "width": theory["scale"], "graph": theory["graph"], "normalisation": args.normalisation,
        "K_c": theory["K_c"], "K": couplings.tolist(), "r_mean": mean.tolist(), "r_error": [_number(e) for e in error],
        "r_inf_theory": predicted.tolist(), "T": args.T, "step": args.step, "method": args.method,
        "backend": trajectory.backend, "device": trajectory.device, "seeds": args.seeds,
    }
    if not args.sweep:
        result["times"] = trajectory.times[:: max(1, trajectory.times.size // 200)].tolist()
        result["r_t"] = trajectory.r[:, :: max(1, trajectory.times.size // 200)].mean(axis=0).tolist()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"K_c = {theory['K_c']:.6g} ({theory['graph']}); ⟨r⟩ over t ∈ [{args.T / 2:g}, {args.T:g}], {label}")
        print(f"{'K':>10} {'⟨r⟩':>10} {'± s.e.':>9} {'r∞ theory':>10}")
        for k, m, e, p in zip(couplings, mean, error, predicted):
            print(f"{k:10.4g} {m:10.5f} {e:9.1e} {p:10.5f}")
    return EXIT_OK


def _cmd_kernel(args) -> int:
    import numpy as np

    from dyncheck.numerics.kernels import kernel_matrices
    from dyncheck.theory.kernels import layer_maps

    _check_backend(args)
    phi = _activation_expr(args.phi)
    kinds = [k.strip() for k in args.kind.split(",")]
    if not kinds or set(kinds) - {"nngp", "ntk"}:
        raise UsageError("--kind is a comma-separated subset of nngp,ntk")
    try:
        x = np.load(args.x, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(f"cannot read inputs from {args.x}: {error}") from None
    if not isinstance(x, np.ndarray):
        raise UsageError(f"{args.x} is an .npz archive; give a .npy file holding one N × d array")
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1 or not np.issubdtype(x.dtype, np.number):
        raise UsageError(f"the inputs must be an N × d array of numbers; {args.x} holds shape {x.shape} of {x.dtype}")
    if np.iscomplexobj(x) or not np.all(np.isfinite(x)):
        raise UsageError(f"the inputs in {args.x} must be finite real numbers")
    require_memory(6 * 8.0 * x.shape[0] ** 2, f"the {x.shape[0]} × {x.shape[0]} kernel matrices")
    maps = layer_maps(phi)
    x = np.asarray(x, float)
    if args.backend == "torch":
        from dyncheck.numerics.backend import ArrayBackend

        torch = ArrayBackend("torch", args.device, 0).torch
        x = torch.as_tensor(x, dtype=torch.float64, device=args.device)
    nngp, ntk = kernel_matrices(maps, x, args.depth, args.sw2, args.sb2, backend=args.backend)
    arrays = {"nngp": nngp, "ntk": ntk}
    arrays = {k: np.asarray(v.cpu().numpy() if hasattr(v, "cpu") else v) for k, v in arrays.items() if k in kinds}
    np.savez(args.out, **arrays)
    summary = {
        "phi": args.phi, "depth": args.depth, "sigma_w2": args.sw2, "sigma_b2": args.sb2, "inputs": list(x.shape),
        "out": args.out, "kinds": kinds, "layer_maps": {"nngp": str(maps.nngp.value), "ntk": str(maps.ntk.value)},
        "rule": {"nngp": maps.nngp.rule, "ntk": maps.ntk.rule},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"T(q1, q2, rho) = {maps.nngp.value}\nṪ(q1, q2, rho) = {maps.ntk.value}")
        print(f"wrote {', '.join(kinds)} ({x.shape[0]} × {x.shape[0]}) to {args.out}")
    return EXIT_OK


def _cmd_ntk_depth(args) -> int:
    from dyncheck.numerics.kernels import ntk_depth_profiles, plot_ntk_depth
    from dyncheck.theory.kernels import layer_maps

    phi = _activation_expr(args.phi)
    if args.depth < 1 or not -1 < args.cosine < 1:
        raise UsageError("--depth must be ≥ 1 and --cosine in (−1, 1)")
    profiles = ntk_depth_profiles(layer_maps(phi), [(w, args.sb2) for w in args.sw2], args.depth, args.cosine)
    rows = [
        {
            "sigma_w2": p.sigma_w2, "sigma_b2": p.sigma_b2, "q_star": p.q_star, "chi_1": p.chi_1, "phase": p.phase,
            "ntk_diagonal": p.diagonal.tolist(), "predicted_diagonal": p.predicted.tolist(), "normalised_off_diagonal": p.normalised.tolist(),
        }
        for p in profiles
    ]
    if args.plot:
        plot_ntk_depth(profiles, f"{args.phi}: NTK of inputs at q* with cos angle {args.cosine:g}, depth {args.depth}", args.plot)
    if args.json:
        print(json.dumps({"phi": args.phi, "depth": args.depth, "cosine": args.cosine, "points": rows, "plot": args.plot}, indent=2))
        return EXIT_OK
    print(f"{'σ_w²':>6} {'σ_b²':>6} {'q*':>9} {'χ₁':>7} {'phase':>8} {'Θ(x,x) at L':>13} {'q*(1−χ₁^{L+1})/(1−χ₁)':>22} {'Θ(x,x′)/Θ(x,x)':>16}")
    for p in profiles:
        print(f"{p.sigma_w2:6.3g} {p.sigma_b2:6.3g} {p.q_star:9.4g} {p.chi_1:7.4f} {p.phase:>8} {p.diagonal[-1]:13.6g} {p.predicted[-1]:22.6g} {p.normalised[-1]:16.4g}")
    if args.plot:
        print(f"wrote {args.plot}")
    return EXIT_OK


def _cmd_train_linearized(args) -> int:
    import numpy as np
    from tqdm import tqdm

    from dyncheck.numerics.kernels import Network, kernel_matrices
    from dyncheck.numerics.training import plot_width_sweep, sphere_data, width_sweep
    from dyncheck.proofs_check.verdicts import width_exponent
    from dyncheck.theory.kernels import layer_maps

    require_memory(8.0 * max(args.widths) ** 2 * (args.depth - 1) * 4 + 8.0 * max(args.widths) * args.points * 16, f"networks of width {max(args.widths)} and depth {args.depth}")
    phi = _activation_expr(args.phi)
    if min(args.widths) < 1 or args.replicates < 2 or args.steps < 1 or args.depth < 1 or args.points < 1:
        raise UsageError("widths, steps, depth and points must be positive, and replicates at least 2")
    if args.batch_size is not None and not 1 <= args.batch_size <= args.points:
        raise UsageError("--batch-size must lie in 1 … --points")
    x, x_test = sphere_data(args.points, 3, seed=0), sphere_data(8, 3, seed=99)
    y = np.sin(2 * x[:, 0])
    z = np.concatenate([x, x_test])
    _, analytic = kernel_matrices(layer_maps(phi), z, args.depth, args.sw2, args.sb2)
    parameterisations = ("ntk", "mean-field") if args.parameterisation == "both" else (args.parameterisation,)

    def make(width, seed, parameterisation):
        return Network.random(phi, 3, width, args.depth, args.sw2, args.sb2, seed, parameterisation)

    total = len(parameterisations) * len(args.widths) * args.replicates
    with tqdm(total=total, desc="train linearized", unit="network", file=sys.stderr, disable=args.json or None) as bar:
        sweep = width_sweep(make, x, y, x_test, analytic, sorted(args.widths), args.replicates, args.steps,
                            parameterisations=parameterisations, batch_size=args.batch_size, progress=bar.update)
    exponents = {p: width_exponent(sweep.gaps[p])[0] for p in parameterisations}
    if sweep.kernel_errors:
        exponents["kernel"] = width_exponent(sweep.kernel_errors)[0]
    summary = {
        "phi": args.phi, "depth": args.depth, "sigma_w2": args.sw2, "sigma_b2": args.sb2, "steps": args.steps,
        "batch_size": args.batch_size, "replicates": args.replicates, "exponents": exponents,
        "gap": {p: {w: float(v.mean()) for w, v in sweep.gaps[p].items()} for p in parameterisations},
        "final_loss": {p: {w: float(v.mean()) for w, v in sweep.losses[p].items()} for p in parameterisations},
        "kernel_error": {w: float(v.mean()) for w, v in sweep.kernel_errors.items()},
    }
    if args.plot:
        plot_width_sweep(sweep, exponents, f"{args.phi}, depth {args.depth}, σ_w² = {args.sw2}, σ_b² = {args.sb2}, "
                         f"{'SGD' if args.batch_size else 'GD'}, {args.steps} steps, {args.replicates} seeds", args.plot)
        summary["plot"] = args.plot
    if args.json:
        print(json.dumps(summary, indent=2))
        return EXIT_OK
    print(f"{'width':>8} " + " ".join(f"{'gap (' + p + ')':>18}" for p in parameterisations) + f" {'‖Θ₀−Θ∞‖/‖Θ∞‖':>15}")
    for w in sorted(args.widths):
        row = " ".join(f"{sweep.gaps[p][w].mean():18.3e}" for p in parameterisations)
        kernel = f"{sweep.kernel_errors[w].mean():15.3e}" if w in sweep.kernel_errors else ""
        print(f"{w:>8} {row} {kernel}")
    print("fitted exponents: " + ", ".join(f"{k} {v:.2f}" for k, v in exponents.items()))
    if args.plot:
        print(f"wrote {args.plot}")
    return EXIT_OK


def _cmd_train(args) -> int:
    import time

    from dyncheck.numerics.control import (
        accuracy,
        digits_problem,
        gradient_train,
        msa_train,
        plot_training,
        sin_problem,
    )

    if args.layers < 1 or args.width < 1 or args.iterations < 1 or args.rho < 0:
        raise UsageError("layers, width and iterations must be positive and ρ non-negative")
    digits = args.problem == "digits"
    runs = {}

    def problem():
        return digits_problem(args.layers) if digits else sin_problem(args.layers, args.width)

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
    title = f"{what}: {args.layers} residual tanh layers, zero init"
    print(title, file=sys.stderr)
    run(f"E-MSA ρ={args.rho:g}", msa_train, rho=args.rho, iterations=args.iterations, inner_iterations=args.inner)
    run("MSA ρ=0", msa_train, rho=0.0, iterations=args.iterations, inner_iterations=args.inner)
    run("GD", gradient_train, method="gd", learning_rate=args.gd_lr, iterations=args.baseline_iterations)
    run("Adam", gradient_train, method="adam", learning_rate=args.adam_lr, iterations=args.baseline_iterations)
    if args.plot:
        plot_training(runs, title, args.plot)
    if args.json:
        width = network.weights.shape[1]
        print(json.dumps({"problem": args.problem, "layers": args.layers, "width": width, "rho": args.rho, "runs": runs}, indent=2))
    else:
        print(f"{'method':14s} {'iterations':>10s} {'final loss':>12s} {'seconds':>9s}" + ("  accuracy" if digits else ""))
        for label, r in runs.items():
            line = f"{label:14s} {len(r['loss']) - 1:10d} {r['loss'][-1]:12.6g} {r['seconds'][-1]:9.2f}"
            print(line + (f"  {r['accuracy']:8.3f}" if digits else ""))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dyncheck", description="Derive and verify the dynamical-systems theory of deep learning.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    verify = sub.add_parser("verify", help="judge the catalogue of claims from the literature")
    verify.add_argument("--only", metavar="PATTERN", help="claim ids matching a glob or prefix (e.g. gaussian)")
    verify.add_argument("--profile", choices=["quick", "full"], default="quick")
    verify.add_argument("--report", metavar="DIR", type=_output_folder, help="write report.md, report.json and plots to DIR")
    verify.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    verify.add_argument("--jobs", type=_count(1, 256), help="worker processes, each judging whole topics (default: the thread budget, $DYNCHECK_THREADS or the cores)")
    verify.set_defaults(run=_cmd_verify)

    check = sub.add_parser("check", help="decide whether LHS = RHS on a declared domain")
    check.add_argument("lhs")
    check.add_argument("rhs")
    check.add_argument("--assume", action="append", default=[], metavar="COND", help="e.g. 'q > 0', '-1 < rho < 1'")
    check.add_argument("--points", type=_count(0, 1000), default=12, help="random points besides the covering of the domain")
    check.add_argument("--seed", type=_count(0, 2**32 - 1), default=0)
    check.add_argument("--json", action="store_true")
    check.set_defaults(run=_cmd_check)

    gauss = sub.add_parser("gauss", help="closed form of a Gaussian expectation, with provenance")
    gauss.add_argument("expr", help="integrand in z (or in u, v with --bivariate); q is positive")
    gauss.add_argument("--bivariate", action="store_true", help="E over (u, v) with correlation rho")
    gauss.add_argument("--positive", action="append", default=[], metavar="NAME", help="declare a parameter positive")
    gauss.add_argument("--json", action="store_true")
    gauss.add_argument("--latex", action="store_true")
    gauss.set_defaults(run=_cmd_gauss)

    def activation_argument(p):
        p.add_argument("--phi", required=True, help="activation: a registered name (tanh, relu, erf, …) or an expression in x")

    def variances(p, required=True):
        p.add_argument("--sw2", type=_at_least(0, strict=True, high=1e6), required=required, help="weight variance σ_w² > 0")
        p.add_argument("--sb2", type=_at_least(0, high=1e6), required=required, help="bias variance σ_b² ≥ 0")

    mf = sub.add_parser("meanfield", help="fixed points, χ₁, χ_c, depth scales and the phase at (σ_w², σ_b²)")
    activation_argument(mf)
    variances(mf)
    mf.add_argument("--json", action="store_true")
    mf.set_defaults(run=_cmd_meanfield)

    boundary = sub.add_parser("boundary", help="the order–chaos critical line χ₁ = 1")
    activation_argument(boundary)
    boundary.add_argument("--sb2", type=_at_least(0, high=1e6), help="give the critical σ_w² at this σ_b²")
    boundary.add_argument("--latex", action="store_true")
    boundary.add_argument("--json", action="store_true")
    boundary.set_defaults(run=_cmd_boundary)

    diagram = sub.add_parser("phase-diagram", help="χ₁ and ξ_c over a (σ_w², σ_b²) grid, with the critical line")
    activation_argument(diagram)
    diagram.add_argument("--grid", type=_count(2, 4096), default=256, help="points per axis (2 … 4096)")
    diagram.add_argument("--sw2-range", type=_at_least(0, strict=True, high=1e6), nargs=2, default=(0.5, 4.0), metavar=("LO", "HI"))
    diagram.add_argument("--sb2-range", type=_at_least(0, high=1e6), nargs=2, default=(0.0, 0.3), metavar=("LO", "HI"))
    diagram.add_argument("--out", required=True, type=_output, help="image file (png, pdf, svg)")
    diagram.set_defaults(run=_cmd_phase_diagram)

    simulate = sub.add_parser("simulate", help="simulate finite random systems")
    what = simulate.add_subparsers(dest="system", required=True, parser_class=_Parser)
    sim = what.add_parser("meanfield", help="random fully-connected networks: q_l, c_l, gradients, Jacobian")
    activation_argument(sim)
    variances(sim)
    sim.add_argument("--width", type=_count(2, 1 << 16), default=1024)
    sim.add_argument("--depth", type=_count(1, 10_000), default=50)
    sim.add_argument("--seeds", type=_count(2, 10_000), default=16, help="independent networks (standard errors)")
    sim.add_argument("--q0", type=_at_least(0, strict=True, high=1e6), default=1.0, help="input variance")
    sim.add_argument("--c0", type=_at_least(-1, high=1), default=0.5, help="input correlation in [−1, 1]")
    sim.add_argument("--weights", choices=["gaussian", "orthogonal"], default="gaussian")
    sim.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
    sim.add_argument("--device", type=_device, default="cpu", help="cpu, cuda or cuda:N (torch)")
    sim.add_argument("--seed", type=_count(0, 2**32 - 1), default=0)
    sim.add_argument("--plot", metavar="PNG", type=_output, help="write q_l, c_l and gradient variance against theory")
    sim.add_argument(
        "--spectrum", metavar="PNG", type=_output,
        help="write the Jacobian's squared singular values at q*, Gaussian and orthogonal weights, against theory (O(N³L))",
    )
    sim.add_argument("--json", action="store_true")
    sim.set_defaults(run=_cmd_simulate)

    def kuramoto_population(p):
        p.add_argument("--g", choices=["lorentzian", "gaussian", "uniform"], required=True, help="natural-frequency density")
        p.add_argument("--gamma", type=_at_least(0, strict=True, high=1e6), help="Lorentzian half-width γ")
        p.add_argument("--sigma", type=_at_least(0, strict=True, high=1e6), help="Gaussian standard deviation σ")
        p.add_argument("--delta", type=_at_least(0, strict=True, high=1e6), help="uniform half-width Δ")
        p.add_argument("--graph", choices=["complete", "erdos-renyi", "ring"], default="complete")
        p.add_argument("--p", type=_at_least(0, strict=True, high=1), help="Erdős–Rényi edge probability in (0, 1]")
        p.add_argument("--range", type=_at_least(0, strict=True, high=0.5), help="ring: each node joined to the fraction ρ < 1/2 of nodes on either side")
        p.add_argument("--normalisation", choices=["population", "degree"], default="population", help="K/N (default) or K/deg i")
        p.add_argument("--json", action="store_true")

    kuramoto = sub.add_parser("kuramoto", help="Kuramoto theory: K_c and r∞ for a frequency density on a graph")
    kuramoto_population(kuramoto)
    kuramoto.add_argument("--K", type=_at_least(0, high=1e6), required=True, help="coupling K ≥ 0")
    kuramoto.set_defaults(run=_cmd_kuramoto)

    sim_k = what.add_parser("kuramoto", help="Kuramoto populations: r(t), ⟨r⟩ and r∞(K) sweeps against theory")
    kuramoto_population(sim_k)
    sim_k.add_argument("--N", type=_count(2, 1 << 22), required=True, help="oscillators")
    sim_k.add_argument("--K", type=_at_least(0, high=1e6), help="coupling K ≥ 0")
    sim_k.add_argument("--sweep", type=_at_least(0, high=1e6), nargs=3, metavar=("LO", "HI", "COUNT"), help="r∞(K) at COUNT couplings in [LO, HI]")
    sim_k.add_argument("--T", type=_at_least(0, strict=True, high=1e7), default=50.0, help="final time (⟨r⟩ averages over [T/2, T])")
    sim_k.add_argument("--step", type=_at_least(0, strict=True, high=1e3), default=0.05)
    sim_k.add_argument("--method", choices=["rk4", "heun", "dop853"], default="rk4", help="fixed-step RK4 or Heun, or adaptive DOP853 (--step: output spacing)")
    sim_k.add_argument("--seeds", type=_count(1, 10_000), default=1, help="independent populations per coupling (standard errors)")
    sim_k.add_argument("--random-frequencies", action="store_true", help="i.i.d. draws instead of quantiles of g")
    sim_k.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
    sim_k.add_argument("--device", type=_device, default="cpu", help="cpu, cuda or cuda:N (torch)")
    sim_k.add_argument("--seed", type=_count(0, 2**32 - 1), default=0)
    sim_k.add_argument("--plot", metavar="PNG", type=_output, help="r(t) against r∞, or with --sweep the r∞(K) curve")
    sim_k.set_defaults(run=_cmd_simulate_kuramoto)

    kernel = sub.add_parser("kernel", help="NNGP and NTK matrices of a deep fully-connected network at given inputs")
    activation_argument(kernel)
    variances(kernel)
    kernel.add_argument("--depth", type=_count(0, 10_000), required=True, help="number of nonlinearities")
    kernel.add_argument("--x", required=True, help="inputs: a .npy file holding an N × d array")
    kernel.add_argument("--out", required=True, type=_output, help="output .npz with arrays nngp and/or ntk")
    kernel.add_argument("--kind", default="nngp,ntk", help="nngp, ntk or both")
    kernel.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
    kernel.add_argument("--device", type=_device, default="cpu", help="cpu, cuda or cuda:N (torch)")
    kernel.add_argument("--json", action="store_true")
    kernel.set_defaults(run=_cmd_kernel)

    depth = sub.add_parser("ntk-depth", help="the NTK layer by layer at the variance fixed point: ordered and chaotic phases")
    activation_argument(depth)
    depth.add_argument("--sw2", type=_at_least(0, strict=True, high=1e6), nargs="+", required=True, help="weight variances σ_w², one profile each")
    depth.add_argument("--sb2", type=_at_least(0, high=1e6), default=0.05, help="bias variance σ_b²")
    depth.add_argument("--depth", type=_count(1, 100_000), default=50, help="number of nonlinearities L")
    depth.add_argument("--cosine", type=_finite, default=0.5, help="cosine of the angle between the two inputs, in (−1, 1)")
    depth.add_argument("--plot", metavar="PNG", type=_output, help="Θ^l(x, x)/q* against the prediction, and Θ^l(x, x′)/Θ^l(x, x)")
    depth.add_argument("--json", action="store_true")
    depth.set_defaults(run=_cmd_ntk_depth)

    train = sub.add_parser("train", help="train networks as optimal control problems")
    methods = train.add_subparsers(dest="method", required=True, parser_class=_Parser)
    msa = methods.add_parser("msa", help="extended MSA (Li et al. 2018) against plain MSA, GD and Adam")
    msa.add_argument("--problem", choices=["sin", "digits"], default="sin", help="digits needs scikit-learn")
    msa.add_argument("--layers", type=_count(1, 1000), default=20)
    msa.add_argument("--width", type=_count(1, 4096), default=5, help="state width of the sin problem (digits: 64)")
    msa.add_argument("--rho", type=_at_least(0, high=1e6), default=20.0, help="E-MSA penalty ρ ≥ 0")
    msa.add_argument("--iterations", type=_count(1, 100_000), default=20, help="MSA iterations")
    msa.add_argument("--inner", type=_count(1, 10_000), default=10, help="L-BFGS steps per layer and iteration")
    msa.add_argument("--baseline-iterations", type=_count(1, 1_000_000), default=1000, help="GD and Adam steps")
    msa.add_argument("--gd-lr", type=_at_least(0, strict=True, high=1e3), default=0.5, help="GD learning rate > 0")
    msa.add_argument("--adam-lr", type=_at_least(0, strict=True, high=1e3), default=0.01, help="Adam learning rate > 0")
    msa.add_argument("--plot", metavar="PNG", type=_output, help="loss per iteration and per second")
    msa.add_argument("--json", action="store_true")
    msa.set_defaults(run=_cmd_train)

    linearized = methods.add_parser("linearized", help="wide networks by GD/SGD beside their linearization, over widths")
    activation_argument(linearized)
    linearized.add_argument("--sw2", type=_at_least(0, strict=True, high=1e6), default=2.0, help="weight variance σ_w²")
    linearized.add_argument("--sb2", type=_at_least(0, high=1e6), default=0.1, help="bias variance σ_b²")
    linearized.add_argument("--depth", type=_count(1, 100), default=1, help="hidden layers")
    linearized.add_argument("--widths", type=_count(1, 1 << 20), nargs="+", default=[256, 1024, 4096])
    linearized.add_argument("--replicates", type=_count(2, 10_000), default=8)
    linearized.add_argument("--steps", type=_count(1, 1_000_000), default=100)
    linearized.add_argument("--points", type=_count(1, 10_000), default=8, help="training inputs on the sphere of radius √3; targets sin 2x₁")
    linearized.add_argument("--batch-size", type=_count(1, 10_000), help="SGD minibatch (full-batch GD by default)")
    linearized.add_argument("--parameterisation", choices=["ntk", "mean-field", "both"], default="both")
    linearized.add_argument("--plot", metavar="PNG", type=_output, help="NTK and linearization gap against width")
    linearized.add_argument("--json", action="store_true")
    linearized.set_defaults(run=_cmd_train_linearized)
    return parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as an interrupt: workers are ended and a partial report says so."""


def _terminate(signum, frame):
    raise _Terminated()


def main(argv=None) -> int:
    """Run one command; the error policy of the module docstring."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad option (one line already written)
        return done.code if isinstance(done.code, int) else EXIT_BAD_INPUT
    import numpy as np

    previous = signal.signal(signal.SIGTERM, _terminate) if _in_main_thread() else None
    try:
        # Non-finite intermediate values are checked and reported by the commands themselves: numpy's
        # own warnings about them would only add lines to the one-line messages.
        with np.errstate(all="ignore"), limit_threads():
            return args.run(args)
    except UsageError as error:
        print(f"dyncheck: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("dyncheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
