"""The ``dyncheck`` command line: ``verify``, ``check`` and ``gauss``.

Exit status: 0 success (proved/verified), 1 refuted, 2 bad input.  Bad input
gets a one-line error and no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

import sympy as sp

from proofs_check.parser import ParseError

__all__ = ["main"]

EXIT_OK, EXIT_REFUTED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"dyncheck: error: {message}\n")


def _cmd_verify(args) -> int:
    from tqdm import tqdm

    from proofs_check.claim import PROFILES
    from proofs_check.claims import select
    from proofs_check.report import passed, run_summary, table, write_report

    claims = select(args.only)
    if not claims:
        print(f"dyncheck: error: no claim matches {args.only!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    profile = PROFILES[args.profile]
    results = []
    bar = tqdm(claims, desc=f"verify ({profile.name})", unit="claim", file=sys.stderr, disable=args.json or None)
    try:
        for claim in bar:
            bar.set_postfix_str(claim.id)
            results.append(claim.run(profile))
    except KeyboardInterrupt:
        print(f"\ninterrupted: reporting the {len(results)} claim(s) already judged", file=sys.stderr)
    if args.report:
        paths = write_report(results, profile, args.report)
        if not args.json:
            print("report: " + ", ".join(str(p) for p in paths), file=sys.stderr)
    if args.json:
        print(json.dumps(run_summary(results, profile), indent=2, default=str))
    else:
        print(table(results))
    return EXIT_OK if passed(results) and len(results) == len(claims) else EXIT_REFUTED


def _cmd_check(args) -> int:
    from proofs_check.identity import check_identity
    from proofs_check.verdicts import REFUTED

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
    return EXIT_REFUTED if result.verdict == REFUTED else EXIT_OK


def _cmd_gauss(args) -> int:
    from proofs_check.parser import parse_expression
    from theory.gaussian import RHO, U, V, Z, expect

    names = {"z": Z, "u": U, "v": V, "rho": RHO, "q": sp.Symbol("q", positive=True)}
    for name in args.positive:
        names[name] = sp.Symbol(name, positive=True)
    expr = parse_expression(args.expr, names)
    if args.bivariate:
        if expr.free_symbols & {Z}:
            raise ParseError("a bivariate expectation is over u and v (correlation rho), not z")
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
                    "provenance": list(derivation.steps),
                },
                indent=2,
            )
        )
        return EXIT_OK
    print(f"{derivation.expectation} = {sp.latex(value) if args.latex and value is not None else value if value is not None else 'none (no closed form)'}")
    print(f"  rule: {derivation.rule or 'none'}")
    for step in derivation.steps:
        print(f"  - {step}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dyncheck", description="Derive and verify the dynamical-systems theory of deep learning.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    verify = sub.add_parser("verify", help="judge the catalogue of claims from the literature")
    verify.add_argument("--only", metavar="PATTERN", help="claim ids matching a glob or prefix (e.g. gaussian)")
    verify.add_argument("--profile", choices=["quick", "full"], default="quick")
    verify.add_argument("--report", metavar="DIR", help="write report.md, report.json and plots to DIR")
    verify.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    verify.set_defaults(run=_cmd_verify)

    check = sub.add_parser("check", help="decide whether LHS = RHS on a declared domain")
    check.add_argument("lhs")
    check.add_argument("rhs")
    check.add_argument("--assume", action="append", default=[], metavar="COND", help="e.g. 'q > 0', '-1 < rho < 1'")
    check.add_argument("--points", type=int, default=12, help="random points besides the domain's edges")
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--json", action="store_true")
    check.set_defaults(run=_cmd_check)

    gauss = sub.add_parser("gauss", help="closed form of a Gaussian expectation, with provenance")
    gauss.add_argument("expr", help="integrand in z (or in u, v with --bivariate); q is positive")
    gauss.add_argument("--bivariate", action="store_true", help="E over (u, v) with correlation rho")
    gauss.add_argument("--positive", action="append", default=[], metavar="NAME", help="declare a parameter positive")
    gauss.add_argument("--json", action="store_true")
    gauss.add_argument("--latex", action="store_true")
    gauss.set_defaults(run=_cmd_gauss)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ParseError as error:
        message = error.args[0] if error.args else type(error).__name__
        print(f"dyncheck: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RecursionError:
        print("dyncheck: error: expression too deeply nested", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
