"""Infinite-width kernels: ``kernel`` (NNGP and NTK matrices), ``ntk-depth`` (the NTK layer by layer) and
``train linearized`` (wide networks trained beside their linearization)."""

from __future__ import annotations

import json
import sys

from dyncheck.proofs_check.commands.common import (
    EXIT_OK,
    Commands,
    add_activation,
    add_backend,
    add_json,
    add_plot,
    add_executor,
    add_replicates,
    add_seed,
    add_variances,
    check_backend,
    count,
    deprecated,
    finite,
    output_file,
    readable,
    require_memory,
    activation_expr,
    wrote,
)
from dyncheck.theory.errors import UsageError

__all__ = ["register"]

_KINDS = ("nngp", "ntk")


def register(commands: Commands) -> None:
    kernel = commands.add(
        commands.top, "kernel", help="NNGP and NTK matrices of a deep fully-connected network at given inputs",
        examples=(
            "  dyncheck kernel --phi relu --depth 10 --sw2 2 --sb2 0.05 --inputs inputs.npy --output kernels.npz\n"
            "  dyncheck kernel --phi erf --depth 3 --sw2 1.5 --inputs inputs.npy --output ntk.npz --kind ntk --backend torch --device cuda"
        ),
        run=_kernel,
    )
    add_activation(kernel)
    add_variances(kernel)
    kernel.add_argument("--depth", type=count(0, 10_000), required=True, help="number of nonlinearities (hidden layers)")
    deprecated(kernel, "--x", kernel.add_argument("--inputs", required=True, metavar="NPY", help="inputs: a .npy file holding an N × d array"))
    deprecated(kernel, "--out", kernel.add_argument("--output", required=True, metavar="FILE", type=output_file, help="output .npz with arrays nngp and/or ntk"))
    kernel.add_argument("--kind", nargs="+", default=list(_KINDS), metavar="KIND", help="nngp, ntk or both (default both)")
    kernel.add_argument("--derivative", choices=("distributional", "almost-everywhere"), default="distributional", help="φ′ in the NTK: with the Dirac deltas of φ's jumps (default; sign's Θ(x, x) = +∞), or without them (neural-tangents' convention: φ′ = 0 a.e.)")
    add_backend(kernel)
    add_json(kernel)

    depth = commands.add(
        commands.top, "ntk-depth", help="the NTK layer by layer at the variance fixed point: ordered and chaotic phases",
        examples="  dyncheck ntk-depth --phi erf --sw2 1.0 1.3758390073466809 1.75 3.0 --sb2 0.05 --depth 50 --plot ntk_depth.png",
        run=_ntk_depth,
    )
    add_activation(depth)
    add_variances(depth, many=True)
    depth.add_argument("--depth", type=count(1, 100_000), default=50, help="number of nonlinearities L (default 50)")
    depth.add_argument("--cosine", type=finite, default=0.5, help="cosine of the angle between the two inputs, in (−1, 1) (default 0.5)")
    add_plot(depth, "Θ^l(x, x)/q* against the prediction, and Θ^l(x, x′)/Θ^l(x, x)")
    add_json(depth)

    linearized = commands.add(
        commands.train, "linearized", help="wide networks by GD/SGD beside their linearization, over widths",
        examples=(
            "  dyncheck train linearized --phi erf --widths 256 1024 4096 16384 --replicates 8 --steps 100 --plot gap.png\n"
            "  dyncheck train linearized --phi erf --widths 1024 4096 16384 65536 --replicates 32 --scheduler tcp://10.0.0.5:8786 --store sweep/"
        ),
        run=_train_linearized,
    )
    add_activation(linearized)
    add_variances(linearized, sw2_required=False, sw2_default=2.0)
    linearized.add_argument("--depth", type=count(1, 100), default=1, help="number of nonlinearities (hidden layers; default 1)")
    linearized.add_argument("--widths", type=count(1, 1 << 20), nargs="+", default=[256, 1024, 4096], metavar="WIDTH", help="widths to train (default 256 1024 4096)")
    add_replicates(linearized, low=2, default=8, what="networks per width", old=None)
    linearized.add_argument("--steps", type=count(1, 1_000_000), default=100, help="GD/SGD steps (default 100)")
    linearized.add_argument("--points", type=count(1, 10_000), default=8, help="training inputs on the sphere of radius √3; targets sin 2x₁ (default 8)")
    linearized.add_argument("--batch-size", type=count(1, 10_000), help="SGD minibatch (full-batch GD by default)")
    linearized.add_argument("--parameterisation", choices=["ntk", "mean-field", "both"], default="both", help="default both")
    add_seed(linearized)
    add_executor(linearized)
    add_plot(linearized, "the NTK and the linearization gap against width")
    add_json(linearized)


def _kinds(given: list[str]) -> list[str]:
    """The kinds of ``--kind``, space-separated (a comma-separated list is the deprecated spelling)."""
    if any("," in k for k in given):
        print("dyncheck: warning: a comma-separated --kind is deprecated (to be removed in 0.3); write --kind nngp ntk", file=sys.stderr)
    kinds = [k.strip() for part in given for k in part.split(",") if k.strip()]
    if not kinds or set(kinds) - set(_KINDS):
        raise UsageError(f"--kind takes nngp, ntk or both, not {' '.join(given)}")
    return list(dict.fromkeys(kinds))


def _kernel(args) -> int:
    import numpy as np

    from dyncheck.numerics.kernels import kernel_matrices, slope_infinite_on_diagonal
    from dyncheck.theory.kernels import layer_maps

    check_backend(args)
    phi = activation_expr(args.phi)
    kinds = _kinds(args.kind)
    try:
        x = np.load(args.inputs, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(f"cannot read inputs from {args.inputs}: {error}") from None
    if not isinstance(x, np.ndarray):
        raise UsageError(f"{args.inputs} is an .npz archive; give a .npy file holding one N × d array")
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1 or not np.issubdtype(x.dtype, np.number):
        raise UsageError(f"the inputs must be an N × d array of numbers; {args.inputs} holds shape {x.shape} of {x.dtype}")
    if np.iscomplexobj(x) or not np.all(np.isfinite(x)):
        raise UsageError(f"the inputs in {args.inputs} must be finite real numbers")
    require_memory(6 * 8.0 * x.shape[0] ** 2, f"the {x.shape[0]} × {x.shape[0]} kernel matrices")
    maps = layer_maps(phi, derivative_convention=args.derivative)
    x = np.asarray(x, float)
    if args.backend == "torch":
        from dyncheck.numerics.backend import ArrayBackend

        torch = ArrayBackend("torch", args.device, 0).torch
        x = torch.as_tensor(x, dtype=torch.float64, device=args.device)
    nngp, ntk = kernel_matrices(maps, x, args.depth, args.sw2, args.sb2, backend=args.backend)
    arrays = {"nngp": nngp, "ntk": ntk}
    arrays = {k: np.asarray(v.cpu().numpy() if hasattr(v, "cpu") else v) for k, v in arrays.items() if k in kinds}
    np.savez(args.output, **arrays)
    how = {key: _how_evaluated(derivation) for key, derivation in (("nngp", maps.nngp), ("ntk", maps.ntk))}
    summary = {
        "phi": args.phi, "depth": args.depth, "sigma_w2": args.sw2, "sigma_b2": args.sb2, "inputs": list(x.shape),
        "out": args.output, "kinds": kinds, "layer_maps": {"nngp": str(maps.nngp.value), "ntk": str(maps.ntk.value)},
        "rule": {"nngp": maps.nngp.rule, "ntk": maps.ntk.rule}, "evaluated_by": how, "derivative": args.derivative,
        "ntk_diagonal_infinite": "ntk" in kinds and bool(slope_infinite_on_diagonal(maps)),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for name, key in (("T", "nngp"), ("Ṫ", "ntk")):
            print(f"{name}(q1, q2, ρ) = {_formula_text(getattr(maps, key).value, key)}\n  ({how[key]})")
        if summary["ntk_diagonal_infinite"]:
            print("Θ(x, x) = +∞ on the diagonal, exactly: φ′ holds a Dirac delta and E[δ(u)δ(v)] diverges as ρ → 1 "
                  "(--derivative almost-everywhere drops the deltas, as neural-tangents does)")
        print(f"wrote {', '.join(kinds)} ({x.shape[0]} × {x.shape[0]}) to {args.output}")
    return EXIT_OK


#: Characters of a layer map printed in text output; a longer closed form (GELU's: 5 300) is named, and --json prints it.
FORMULA_TEXT_LIMIT = 300


def _formula_text(value, key: str) -> str:
    text = readable(value)
    if len(text) <= FORMULA_TEXT_LIMIT:
        return text
    return f"a closed form of {len(text)} characters, too long to read here (--json prints it, as layer_maps.{key})"


def _how_evaluated(derivation) -> str:
    """How a layer map is evaluated, in words: its closed form, or quadrature and why."""
    from dyncheck.numerics.gaussian import closed_form_rejection
    from dyncheck.theory.symbols import Q1, Q2, RHO

    import sympy as sp

    why = closed_form_rejection(derivation, (Q1, Q2, RHO))
    if why is None and derivation.expectation.integrand.has(sp.DiracDelta):
        return f"closed form ({derivation.rule}), compiled (a Dirac delta leaves no quadrature to check it against)"
    if why is None:
        return f"closed form ({derivation.rule}), compiled and checked against quadrature"
    if derivation.closed:
        return f"by quadrature: the closed form is not used, {why}"
    return "by quadrature: no closed form was derived"


def _ntk_depth(args) -> int:
    from dyncheck.numerics.kernels import ntk_depth_profiles, plot_ntk_depth
    from dyncheck.theory.kernels import layer_maps

    phi = activation_expr(args.phi)
    if args.depth < 1 or not -1 < args.cosine < 1:
        raise UsageError("--depth must be ≥ 1 and --cosine in (−1, 1)")
    profiles = ntk_depth_profiles(layer_maps(phi), [(w, args.sb2) for w in args.sw2], args.depth, args.cosine)
    rows = [
        {
            "sigma_w2": p.sigma_w2, "sigma_b2": p.sigma_b2, "q_star": p.q_star, "every_q_fixed": p.every_q_fixed, "chi_1": p.chi_1, "phase": p.phase,
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
    for p in profiles:
        if p.every_q_fixed:
            print(f"at σ_w² = {p.sigma_w2:g}, σ_b² = {p.sigma_b2:g} every q is a fixed point (the q-map is the identity): the inputs sit at q = {p.q_star:g}")
    wrote(args.plot)
    return EXIT_OK


def _train_linearized(args) -> int:
    import numpy as np

    from dyncheck.numerics.kernels import kernel_matrices
    from dyncheck.numerics.training import plot_width_sweep, sphere_data, width_sweep
    from dyncheck.proofs_check.verdicts import width_exponent
    from dyncheck.theory.kernels import layer_maps

    require_memory(8.0 * max(args.widths) ** 2 * (args.depth - 1) * 4 + 8.0 * max(args.widths) * args.points * 16, f"networks of width {max(args.widths)} and depth {args.depth}")
    phi = activation_expr(args.phi)
    if min(args.widths) < 1 or args.replicates < 2 or args.steps < 1 or args.depth < 1 or args.points < 1:
        raise UsageError("widths, steps, depth and points must be positive, and replicates at least 2")
    if args.batch_size is not None and not 1 <= args.batch_size <= args.points:
        raise UsageError("--batch-size must lie in 1 … --points")
    x, x_test = sphere_data(args.points, 3, seed=0), sphere_data(8, 3, seed=99)
    y = np.sin(2 * x[:, 0])
    z = np.concatenate([x, x_test])
    _, analytic = kernel_matrices(layer_maps(phi), z, args.depth, args.sw2, args.sb2)
    parameterisations = ("ntk", "mean-field") if args.parameterisation == "both" else (args.parameterisation,)
    sweep = width_sweep(
        phi, x, y, x_test, analytic, sorted(args.widths), args.replicates, args.steps, depth=args.depth, sw2=args.sw2, sb2=args.sb2,
        parameterisations=parameterisations, batch_size=args.batch_size, seed=args.seed, jobs=args.jobs, scheduler=args.scheduler,
        store=args.store, progress=not args.json,
    )
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
    wrote(args.plot)
    return EXIT_OK
