"""``dyncheck check``: is LHS = RHS on the declared domain (proved, verified, refuted or inconclusive)?"""

from __future__ import annotations

import json

from dyncheck.proofs_check.commands.common import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_REFUTED, Commands, add_json, add_seed, count

__all__ = ["register"]


def register(commands: Commands) -> None:
    check = commands.add(
        commands.top, "check", help="decide whether LHS = RHS on a declared domain",
        examples=(
            "  dyncheck check \"E(erf(sqrt(q)*z)**2, z)\" \"2/pi*asin(2*q/(1+2*q))\" --assume \"q > 0\"\n"
            "  dyncheck check \"E(exp(q*z**2), z)\" \"1/sqrt(1 - 2*q)\" --assume \"q > 0\" --assume \"q < 1/2\"\n"
            "  dyncheck check --assume=-1<rho<1 -- -rho \"-rho\"     (an expression starting with - goes after --)\n"
            "exit status: 0 proved or verified, 1 refuted, 2 bad input, 3 inconclusive"
        ),
        run=_check,
    )
    check.add_argument("lhs", help="left side: an expression; E(f, z) is a Gaussian expectation over z ~ N(0, 1)")
    check.add_argument("rhs", help="right side")
    check.add_argument("--assume", action="append", default=[], metavar="COND", help="the domain, one condition each, e.g. 'q > 0', '-1 < rho < 1'")
    check.add_argument("--points", type=count(0, 1000), default=12, help="random points besides the covering of the domain (default 12)")
    add_seed(check)
    add_json(check)


def _check(args) -> int:
    from dyncheck.proofs_check.identity import check_identity, point_text
    from dyncheck.proofs_check.verdicts import INCONCLUSIVE, REFUTED

    result = check_identity(args.lhs, args.rhs, args.assume, points=args.points, seed=args.seed, worst=True)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    else:
        print(f"{result.verdict}: {result.reason}")
        if result.derived_lhs != result.lhs or result.derived_rhs != result.rhs:
            print(f"  LHS = {result.derived_lhs}")
            print(f"  RHS = {result.derived_rhs}")
        if result.counterexample:
            c = result.counterexample
            print(f"  counterexample at {point_text(c['point'])}:\n    LHS = {c['lhs']}\n    RHS = {c['rhs']}")
    if result.verdict == REFUTED:
        return EXIT_REFUTED
    return EXIT_INCONCLUSIVE if result.verdict == INCONCLUSIVE else EXIT_OK
