"""Decide whether LHS = RHS on a declared domain.

1. Parse both sides and the assumptions (:mod:`proofs_check.parser`).
2. Replace every ``E(...)`` by its derivation (:func:`theory.gaussian.expect`):
   a closed form where one exists.
3. **Symbolic**: if no expectation is left, ``simplify(LHS − RHS) == 0``
   (under a time limit) gives ``proved``.
4. **High precision**: otherwise, or if simplification is undecided, both
   sides are evaluated at 40 digits (expectations by mpmath quadrature) at
   random points of the domain and at its edges.  A relative difference
   beyond :data:`high_precision_relative` anywhere gives ``refuted`` with the
   counterexample; agreement everywhere gives ``verified``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from numerics.gaussian import evaluate_mp
from proofs_check.parser import Assumption, parse_assumption, parse_expression
from proofs_check.tolerances import relative_difference, tolerance
from proofs_check.verdicts import INCONCLUSIVE, PROVED, REFUTED, VERIFIED
from theory.gaussian import GaussianExpectation, expect
from theory.timelimit import SymbolicTimeout, time_limit

__all__ = ["IdentityResult", "check_identity", "domain_points"]

SIMPLIFY_SECONDS = 10.0
RANDOM_POINTS = 12
BIVARIATE_POINTS = 3  # nested 40-digit quadrature costs seconds a point


@dataclass
class IdentityResult:
    """Verdict of :func:`check_identity`, with its evidence."""

    verdict: str
    lhs: str
    rhs: str
    reason: str
    derived_lhs: str
    derived_rhs: str
    assumptions: list[str]
    points: list[dict] = field(default_factory=list)
    counterexample: dict | None = None
    provenance: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict,
            "lhs": self.lhs,
            "rhs": self.rhs,
            "reason": self.reason,
            "derived_lhs": self.derived_lhs,
            "derived_rhs": self.derived_rhs,
            "assumptions": self.assumptions,
            "points_checked": len(self.points),
            "max_relative_difference": max((p["relative_difference"] for p in self.points), default=None),
            "counterexample": self.counterexample,
            "provenance": self.provenance,
        }


def _edge_values(a: Assumption) -> list[float]:
    lo, hi = a.lower, a.upper
    if lo is not None and hi is not None:
        width = hi - lo
        return [lo + 1e-6 * width if a.lower_open else lo, hi - 1e-6 * width if a.upper_open else hi, (lo + hi) / 2]
    if lo is not None:
        return [lo + 1e-4 if a.lower_open else lo, lo + 1e3]
    if hi is not None:
        return [hi - 1e-4 if a.upper_open else hi, hi - 1e3]
    return [0.0, -10.0, 10.0]


def _random_value(a: Assumption, rng: np.random.Generator) -> float:
    lo, hi = a.lower, a.upper
    if lo is not None and hi is not None:
        return float(rng.uniform(lo, hi))
    if lo is not None:
        return float(lo + 10 ** rng.uniform(-3, 3))
    if hi is not None:
        return float(hi - 10 ** rng.uniform(-3, 3))
    return float(rng.uniform(-5, 5))


def domain_points(assumptions: dict[str, Assumption], count: int, seed: int) -> list[dict[str, float]]:
    """Edge points (each name at each of its edges, the others mid-domain) then random points."""
    rng = np.random.default_rng(seed)
    names = sorted(assumptions)
    base = {n: _random_value(assumptions[n], rng) for n in names}
    points = []
    for n in names:
        for edge in _edge_values(assumptions[n]):
            points.append({**base, n: edge})
    points.append({n: _edge_values(assumptions[n])[0] for n in names})  # the all-edges corner
    while len(points) < count + len(names) * 3 + 1:
        points.append({n: _random_value(assumptions[n], rng) for n in names})
    return points


def _derive(expr: sp.Expr, provenance: list[str]) -> sp.Expr:
    replacements = {}
    for node in expr.atoms(GaussianExpectation):
        derivation = expect(node.integrand, node.variables, node.rho if node.bivariate else None)
        if derivation.closed:
            replacements[node] = derivation.value
            provenance.append(f"{node} = {derivation.value} [{derivation.rule}]")
        else:
            provenance.append(f"{node}: no closed form; evaluated by quadrature")
    return expr.xreplace(replacements)


def _text(x: mpmath.mpc) -> str:
    return mpmath.nstr(x.real if x.imag == 0 else x, 35)


def check_identity(
    lhs: str | sp.Expr,
    rhs: str | sp.Expr,
    assume: Sequence[str] = (),
    *,
    points: int = RANDOM_POINTS,
    seed: int = 0,
) -> IdentityResult:
    """Decide LHS = RHS under ``assume`` (strings such as ``"q > 0"``)."""
    merged: dict[str, Assumption] = {}
    for text in assume:
        a = parse_assumption(text)
        merged[a.name] = merged[a.name].merge(a) if a.name in merged else a
    symbols = {name: a.symbol() for name, a in merged.items()}
    left = parse_expression(lhs, symbols) if isinstance(lhs, str) else lhs
    right = parse_expression(rhs, symbols) if isinstance(rhs, str) else rhs
    free = (left.free_symbols | right.free_symbols) - {s for s in symbols.values()}
    for s in free:
        merged[s.name] = Assumption(s.name)
        symbols[s.name] = s
    provenance: list[str] = []
    derived_left, derived_right = _derive(left, provenance), _derive(right, provenance)
    result = IdentityResult(
        verdict=INCONCLUSIVE,
        lhs=str(left),
        rhs=str(right),
        reason="",
        derived_lhs=str(derived_left),
        derived_rhs=str(derived_right),
        assumptions=[repr(a) for a in merged.values()],
        provenance=provenance,
    )

    open_expectations = (derived_left - derived_right).atoms(GaussianExpectation)
    if not open_expectations:
        try:
            with time_limit(SIMPLIFY_SECONDS):
                difference = sp.simplify(derived_left - derived_right)
            if difference == 0:
                result.verdict, result.reason = PROVED, "LHS − RHS simplifies to 0 symbolically"
                return result
            provenance.append(f"simplify(LHS − RHS) = {difference}: undecided symbolically")
        except SymbolicTimeout:
            provenance.append(f"simplification stopped after {SIMPLIFY_SECONDS:g} s")

    bivariate = any(e.bivariate for e in open_expectations)
    count = BIVARIATE_POINTS if bivariate else points
    dps = int(tolerance("high_precision_digits"))
    limit = tolerance("high_precision_relative")
    by_symbol = {s.name: s for s in symbols.values()}
    candidates = domain_points(merged, count, seed)
    if bivariate:
        candidates = candidates[:count]
    for point in candidates:
        values = {by_symbol[n]: v for n, v in point.items() if n in by_symbol}
        try:
            a = evaluate_mp(derived_left, values, dps)
            b = evaluate_mp(derived_right, values, dps)
        except (ValueError, ZeroDivisionError, TypeError) as error:
            provenance.append(f"skipped {point}: {error}")
            continue
        if any(mpmath.isnan(x.real) or mpmath.isnan(x.imag) or mpmath.isinf(x) for x in (a, b)):
            provenance.append(f"skipped {point}: a side is undefined there")
            continue
        diff = relative_difference(a, b)
        record = {"point": point, "lhs": _text(a), "rhs": _text(b), "relative_difference": diff}
        result.points.append(record)
        if diff > limit:
            result.verdict = REFUTED
            result.counterexample = record
            result.reason = f"LHS and RHS differ by a relative {diff:.3g} at {point} (tolerance {limit:g})"
            return result
    if not result.points:
        result.reason = "no sampled point lies where both sides are defined; declare the domain with --assume"
        return result
    worst = max(p["relative_difference"] for p in result.points)
    result.verdict = VERIFIED
    result.reason = (
        f"LHS = RHS to a relative {worst:.1e} (≤ {limit:g}) at {len(result.points)} points "
        f"({dps} working digits), including the edges of the domain"
    )
    if bivariate:
        result.reason += "; bivariate quadrature is costly, so fewer points were sampled"
    return result
