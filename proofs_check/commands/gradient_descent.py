"""Gradient descent as a dynamical system: ``stability`` (the step-size threshold of an optimizer)."""

from __future__ import annotations

import argparse
import json

from dyncheck.proofs_check.commands.common import EXIT_OK, Commands, add_json, at_least, finite
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
