"""``dyncheck gauss``: a Gaussian expectation in closed form, with its provenance and conditions."""

from __future__ import annotations

import json

import sympy as sp

from dyncheck.proofs_check.commands.common import EXIT_OK, Commands, add_json
from dyncheck.theory.errors import UsageError

__all__ = ["register"]


def register(commands: Commands) -> None:
    gauss = commands.add(
        commands.top, "gauss", help="closed form of a Gaussian expectation, with provenance",
        examples="  dyncheck gauss \"erf(sqrt(q)*z)**2\"\n  dyncheck gauss \"relu(u)*relu(v)\" --bivariate\n  dyncheck gauss \"exp(a*z**2)\" --positive a --json",
        run=_gauss,
    )
    gauss.add_argument("expr", help="integrand in z ~ N(0, 1) (or in u, v with --bivariate); q is positive")
    gauss.add_argument("--bivariate", action="store_true", help="E over the standard normal pair (u, v) with correlation rho")
    gauss.add_argument("--positive", action="append", default=[], metavar="NAME", help="declare a parameter positive (repeatable)")
    gauss.add_argument("--latex", action="store_true", help="print the closed form as LaTeX")
    add_json(gauss)


def _gauss(args) -> int:
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
        if not expr.has(Z) and expr.free_symbols & {U, V}:
            raise UsageError("the integrand has u or v but not z: add --bivariate for E over the pair (u, v) with correlation rho")
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
    if value is not None:
        print(f"{derivation.expectation} = {sp.latex(value) if args.latex else value}")
    elif derivation.exhausted:
        print(f"{derivation.expectation}: undecided (a budget ran out before a closed form was found; quadrature evaluates it)")
    else:
        print(f"{derivation.expectation}: no closed form (quadrature evaluates it)")
    print(f"  rule: {derivation.rule or 'none'}")
    for condition in derivation.conditions:
        print(f"  holds where {condition.relation} ({condition.meaning})")
    for step in derivation.steps:
        print(f"  - {step}")
    return EXIT_OK
