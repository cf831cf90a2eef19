"""Decide whether LHS = RHS on a declared domain.

1. Parse both sides and the assumptions (:mod:`proofs_check.parser`).  A name
   bound by ``E(...)`` is integrated over: an assumption on it is bad input.
2. Replace every ``E(...)`` by its derivation (:func:`theory.gaussian.expect`):
   a closed form where one exists, with the conditions it needs
   (:class:`theory.gaussian.Condition`).  :func:`implied` decides whether the
   declared domain implies them.
3. **Symbolic**: ``simplify(LHS − RHS)`` under a CPU-time budget.  ``0`` gives
   ``proved`` only when every closed form's conditions are implied by the domain;
   otherwise the closed form is conditional and the numeric route decides.  A
   nonzero constant difference gives ``refuted`` (with a point where both sides
   are defined).  A nonzero difference's breakpoints steer the numeric search.
4. **Numeric**: both sides at the points of a covering of the domain
   (:func:`domain_points`): toward every finite bound at relative scales down to
   the working precision, out to astronomically large magnitudes on unbounded
   sides (exact numbers, never overflowing floats), on both sides of every
   breakpoint of ``Heaviside``, ``Abs``, ``Max``, ``Min``, ``sign`` and
   ``Piecewise``, and at seeded random points; a multivariate domain sweeps each
   variable over its own covering.  At each point the difference is computed at
   increasing working precision (:data:`ESCALATION`) and judged by
   :func:`judge_point`: a difference that shrinks as digits grow is rounding, one
   that persists is real, and a point where escalation cannot settle the matter
   is ill-conditioned — reported, never used as a counterexample.  Where a closed
   form's convergence condition fails, its expectation diverges: a finite other
   side there is a counterexample.

Verdicts: ``proved`` (step 3, conditions implied), ``refuted`` (a
counterexample), ``verified`` (every region of the covering has an agreeing
point and none disagrees), ``inconclusive`` (some region could not be checked,
or no point could be evaluated; the reason says which).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from dyncheck.numerics.gaussian import expectation_mp
from dyncheck.proofs_check.parser import Assumption, ParseError, parse_assumption, parse_expression
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.proofs_check.verdicts import INCONCLUSIVE, PROVED, REFUTED, VERIFIED
from dyncheck.theory.gaussian import CONVERGENCE, Condition, GaussianExpectation, expect
from dyncheck.theory.timelimit import BudgetExceeded, SymbolicTimeout, run_bounded, time_limit

__all__ = ["IdentityResult", "PointJudgement", "check_identity", "domain_points", "implied", "judge_point", "point_text"]

#: CPU seconds for ``simplify(LHS − RHS)`` and for deciding one condition.
SIMPLIFY_SECONDS = 10.0
CONDITION_SECONDS = 5.0
#: CPU seconds and memory for judging one point (every level of escalation), in a child process
#: that the kernel stops when either is spent (:func:`theory.timelimit.run_bounded`).
POINT_SECONDS = 20.0
POINT_MEMORY = 2 << 30
#: Random interior points, besides the covering.
RANDOM_POINTS = 12
#: Relative distances from a finite bound or breakpoint: down to the working precision.
RELATIVE_STEPS = tuple(sp.Rational(1, 10**k) for k in (1, 3, 6, 10, 16, 24, 32, 36))
#: Magnitudes on unbounded sides: out to astronomically large numbers, kept exact.
MAGNITUDES = tuple(sp.Integer(10) ** k for k in (0, 1, 2, 3, 5, 8, 16, 30, 100, 300))
#: Working digits of the successive evaluations of a point.
ESCALATION = (40, 60, 90)
#: Points of a covering evaluated when a side holds a bivariate expectation (nested quadrature):
#: the covering keeps one point a region.
BIVARIATE_REGION_POINTS = 1


def _floor(digits: int, quadrature: bool = False) -> float:
    """Differences relative to the size of the terms below this are rounding at ``digits`` digits
    (or, when a side holds a quadrature, the quadrature's error)."""
    fraction = tolerance("quadrature_floor_fraction" if quadrature else "high_precision_floor_fraction")
    return 10.0 ** (-round(digits * fraction))


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
    ill_conditioned: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    conditions: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        """The result as strict JSON data (a divergence's infinite difference is the string "inf")."""
        return _finite_json({
            "verdict": self.verdict,
            "lhs": self.lhs,
            "rhs": self.rhs,
            "reason": self.reason,
            "derived_lhs": self.derived_lhs,
            "derived_rhs": self.derived_rhs,
            "assumptions": self.assumptions,
            "conditions": self.conditions,
            "points_checked": len(self.points),
            "max_relative_difference": max((p["relative_difference"] for p in self.points), default=None),
            "counterexample": self.counterexample,
            "ill_conditioned": self.ill_conditioned,
            "skipped": self.skipped,
            "provenance": self.provenance,
        })


def _finite_json(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_json(v) for v in value]
    return value


# ---------------------------------------------------------------------------
# The domain and its covering


def _toward(anchor: sp.Expr, direction: int) -> list[sp.Expr]:
    """Points approaching ``anchor`` from one side at relative (and, near 0, absolute) steps."""
    scale = abs(anchor) if anchor != 0 else sp.S.One
    points = [anchor + direction * scale * step for step in RELATIVE_STEPS]
    if anchor != 0 and scale > 1:
        points += [anchor + direction * step for step in RELATIVE_STEPS[:3]]
    return points


def _outward(anchor: sp.Expr | None, direction: int) -> list[sp.Expr]:
    """Points out to astronomically large magnitudes on an unbounded side, from ``anchor`` if any."""
    if anchor is None:
        return [direction * m for m in MAGNITUDES]
    scale = max(abs(anchor), sp.S.One)
    return [anchor + direction * m for m in MAGNITUDES[:6]] + [anchor + direction * scale * m for m in MAGNITUDES[1:]]


def _breakpoints(exprs: Sequence[sp.Expr], symbol: sp.Symbol) -> list[sp.Expr]:
    """Real zeros in ``symbol`` of the arguments of steps, absolute values, max/min, sign and
    Piecewise conditions (finite solution sets only)."""
    arguments = set()
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sp.Heaviside | sp.Abs | sp.sign | sp.DiracDelta):
                arguments.add(node.args[0])
            elif isinstance(node, sp.Max | sp.Min):
                arguments.update(a - b for a in node.args for b in node.args if a != b)
            elif isinstance(node, sp.Piecewise):
                for _, condition in node.args:
                    if isinstance(condition, sp.core.relational.Relational):
                        arguments.add(condition.lhs - condition.rhs)
    return [r for argument in arguments if not isinstance(argument, GaussianExpectation) for r in _real_roots(argument, symbol)]


def _real_roots(expr: sp.Expr, symbol: sp.Symbol) -> list[sp.Expr]:
    """The real zeros of ``expr`` in ``symbol`` when SymPy finds a finite set of them within its budget."""
    if symbol not in expr.free_symbols:
        return []
    try:
        with time_limit(CONDITION_SECONDS):
            roots = sp.solveset(expr, symbol, sp.S.Reals)
    except (SymbolicTimeout, NotImplementedError, ValueError, TypeError):
        return []
    return [r for r in roots if r.is_number and r.is_real] if isinstance(roots, sp.FiniteSet) else []


def _extrema(differences: Sequence[sp.Expr], symbol: sp.Symbol) -> list[sp.Expr]:
    """Where a nonzero symbolic difference can be largest: the centres of the nonlinear functions
    in it (a bump exp(−(q − 20)²) is centred at 20) and the real zeros of its derivative."""
    from dyncheck.theory.activations import smooth_scale_points

    points = []
    for difference in differences:
        if symbol not in difference.free_symbols:
            continue
        points += [centre for centre, _ in smooth_scale_points(difference, symbol) if centre.is_number and centre.is_real]
        points += _real_roots(sp.diff(difference, symbol), symbol)
    return points


@dataclass(frozen=True)
class _Candidate:
    value: sp.Expr
    region: str


def _covering(a: Assumption, breakpoints: Sequence[sp.Expr], rng: np.random.Generator, randoms: int) -> list[_Candidate]:
    """The covering of one variable's domain, each point tagged with the region it stands for."""
    lo, hi, name = a.lower, a.upper, a.name
    out: list[_Candidate] = []
    if lo is not None:
        if not a.lower_open:
            out.append(_Candidate(lo, f"{name} = {lo}"))
        out += [_Candidate(v, f"{name} → {lo}⁺") for v in _toward(lo, +1)]
    if hi is not None:
        if not a.upper_open:
            out.append(_Candidate(hi, f"{name} = {hi}"))
        out += [_Candidate(v, f"{name} → {hi}⁻") for v in _toward(hi, -1)]
    if hi is None:
        out += [_Candidate(v, f"{name} → +∞") for v in _outward(lo, +1)]
    if lo is None:
        out += [_Candidate(v, f"{name} → −∞") for v in _outward(hi, -1)]
    if lo is None and hi is None:
        out += [_Candidate(sp.S.Zero, f"{name} = 0")] + [_Candidate(s * step, f"{name} → 0") for step in RELATIVE_STEPS for s in (1, -1)]
    if lo is not None and hi is not None:
        width = hi - lo
        out += [_Candidate(lo + width * f, f"{name} inside") for f in (sp.Rational(1, 4), sp.Rational(1, 2), sp.Rational(3, 4))]
    for point in breakpoints:
        out.append(_Candidate(point, f"{name} = {point} (breakpoint)"))
        out += [_Candidate(v, f"{name} → {point}⁻") for v in _toward(point, -1)]
        out += [_Candidate(v, f"{name} → {point}⁺") for v in _toward(point, +1)]
    for _ in range(randoms):
        out.append(_Candidate(_random_value(a, rng), f"{name} random"))
    kept, seen = [], set()
    for c in out:
        if a.contains(c.value) and c.value not in seen:
            seen.add(c.value)
            kept.append(c)
    return kept


def _random_value(a: Assumption, rng: np.random.Generator) -> sp.Expr:
    lo, hi = a.lower, a.upper
    if lo is not None and hi is not None:
        return lo + (hi - lo) * sp.Rational(int(rng.integers(1, 10**6)), 10**6)
    magnitude = sp.Integer(10) ** int(rng.integers(-3, 4)) * sp.Rational(int(rng.integers(1, 10**4)), 10**3)
    if lo is not None:
        return lo + magnitude
    if hi is not None:
        return hi - magnitude
    return magnitude * (1 if rng.random() < 0.5 else -1)


def domain_points(
    assumptions: dict[str, Assumption],
    breakpoints: dict[str, list[sp.Expr]] | None = None,
    *,
    randoms: int = RANDOM_POINTS,
    seed: int = 0,
    per_region: int | None = None,
) -> list[tuple[dict[str, sp.Expr], tuple[str, ...]]]:
    """The covering of a product domain: ``(point, regions)`` pairs with exact values.

    Each variable sweeps its own covering while the others sit at a typical interior
    value; then all variables run through their coverings together (each point of a
    univariate covering has a multivariate counterpart), and random points follow.
    ``per_region`` keeps at most that many points of each region (for costly sides).
    """
    rng = np.random.default_rng(seed)
    names = sorted(assumptions)
    coverings = {n: _covering(assumptions[n], (breakpoints or {}).get(n, []), rng, randoms) for n in names}
    if per_region is not None:
        for n in names:
            kept, count = [], {}
            for c in coverings[n]:
                if count.get(c.region, 0) < per_region:
                    count[c.region] = count.get(c.region, 0) + 1
                    kept.append(c)
            coverings[n] = kept
    if not names:
        return [({}, ())]
    typical = {n: next((c for c in coverings[n] if c.region.endswith("random") or c.region.endswith("inside")), coverings[n][0]) for n in names}
    points: list[tuple[dict[str, sp.Expr], tuple[str, ...]]] = []
    for n in names:
        for c in coverings[n]:
            point = {m: typical[m].value for m in names}
            point[n] = c.value
            points.append((point, (c.region,)))
    if len(names) > 1:
        longest = max(len(coverings[n]) for n in names)
        for i in range(longest):
            chosen = {n: coverings[n][i % len(coverings[n])] for n in names}
            points.append(({n: c.value for n, c in chosen.items()}, tuple(c.region for c in chosen.values())))
    unique, seen = [], set()
    for point, regions in points:
        key = tuple(point[n] for n in names)
        if key not in seen:
            seen.add(key)
            unique.append((point, regions))
    return unique


# ---------------------------------------------------------------------------
# Conditions


def _worst_case(expr: sp.Expr, symbol: sp.Symbol, interval: sp.Interval) -> list[sp.Expr] | None:
    """The values of ``symbol`` in ``interval`` where ``expr`` (A + B·x or A + B·x²) is smallest, or None."""
    try:
        poly = sp.Poly(expr, symbol)
    except sp.PolynomialError:
        return None
    lo, hi = interval.inf, interval.sup
    if poly.degree() == 1:
        return None if lo.is_infinite or hi.is_infinite else [lo, hi]
    if poly.degree() == 2 and poly.coeff_monomial(symbol) == 0:
        b = poly.coeff_monomial(symbol**2)
        if b.is_nonpositive and not (lo.is_infinite or hi.is_infinite):
            return [lo, hi]
        if b.is_nonnegative:
            return [sp.S.Zero] if interval.contains(0) is sp.true else [lo if abs(lo) < abs(hi) else hi]
    return None


def implied(relation: sp.Basic, domain: dict[sp.Symbol, Assumption]) -> bool:
    """Whether every point of ``domain`` satisfies ``relation`` (False when that cannot be shown).

    Sound, not complete: known signs (SymPy's assumptions), then worst cases of expressions
    linear or quadratic in a bounded variable, then ``solveset`` for one variable.
    """
    if relation is sp.true:
        return True
    if isinstance(relation, sp.And):
        return all(implied(r, domain) for r in relation.args)
    if isinstance(relation, sp.Or):
        return any(implied(r, domain) for r in relation.args)
    if not isinstance(relation, sp.core.relational.Relational) or isinstance(relation, sp.Eq | sp.Ne):
        return False
    strict = isinstance(relation, sp.StrictGreaterThan | sp.StrictLessThan)
    expr = relation.lhs - relation.rhs if isinstance(relation, sp.StrictGreaterThan | sp.GreaterThan) else relation.rhs - relation.lhs
    try:
        with time_limit(CONDITION_SECONDS):
            return _implied_positive(sp.expand(expr), strict, domain)
    except SymbolicTimeout:
        return False


def _implied_positive(expr: sp.Expr, strict: bool, domain: dict[sp.Symbol, Assumption]) -> bool:
    if (expr.is_positive if strict else expr.is_nonnegative) is True:
        return True
    for symbol in sorted(expr.free_symbols & set(domain), key=lambda s: s.name):
        interval = domain[symbol].interval()
        worst = _worst_case(expr, symbol, interval)
        if worst is not None and all(_implied_positive(sp.expand(expr.subs(symbol, w)), strict, domain) for w in worst):
            return True
    symbols = expr.free_symbols
    if len(symbols) == 1:
        (symbol,) = symbols
        interval = domain[symbol].interval() if symbol in domain else sp.S.Reals
        try:
            solution = sp.solveset(expr > 0 if strict else expr >= 0, symbol, sp.S.Reals)
        except (NotImplementedError, ValueError, TypeError):
            return False
        return interval.is_subset(solution) is True
    return False


# ---------------------------------------------------------------------------
# Judging one point


@dataclass
class PointJudgement:
    """What escalation concluded at one point: ``agree``, ``differ``, ``undefined`` or ``ill-conditioned``."""

    outcome: str
    lhs: str = ""
    rhs: str = ""
    relative_difference: float = math.nan
    differences: tuple[float, ...] = ()
    why: str = ""


class _Undefined(Exception):
    """A side has no value at this point (the message says why)."""


class _Unresolved(Exception):
    """A side's value could not be obtained to the working precision here (the message says why)."""


#: SymPy functions evaluated by mpmath in :func:`_evaluate`; others go through SymPy's evalf.
_MPMATH_FUNCTIONS = {
    sp.exp: mpmath.exp, sp.log: mpmath.log, sp.sin: mpmath.sin, sp.cos: mpmath.cos, sp.tan: mpmath.tan,
    sp.sinh: mpmath.sinh, sp.cosh: mpmath.cosh, sp.tanh: mpmath.tanh, sp.asin: mpmath.asin, sp.acos: mpmath.acos,
    sp.atan: mpmath.atan, sp.asinh: mpmath.asinh, sp.acosh: mpmath.acosh, sp.atanh: mpmath.atanh,
    sp.erf: mpmath.erf, sp.erfc: mpmath.erfc,
}


def _real(x) -> mpmath.mpf:
    if isinstance(x, mpmath.mpc):
        if x.imag != 0:
            raise _Undefined("a comparison meets a complex value")
        return x.real
    return x


def _sign_of(x, terms_scale, digits: int) -> int:
    """The sign of a real value; _Unresolved when it is within rounding of 0 (a breakpoint's argument)."""
    x = _real(x)
    if x == 0:
        return 0
    if abs(x) <= terms_scale * mpmath.mpf(10) ** (-(digits - 5)):
        raise _Unresolved("a breakpoint's argument is within rounding of 0 here")
    return 1 if x > 0 else -1


def _evaluate(expr: sp.Basic, digits: int, env: dict, top: bool = True):
    """``expr`` in mpmath at ``digits`` digits, refusing hidden cancellation.

    ``env`` maps the symbols and unevaluated expectations of ``expr`` to their values (SymPy
    numbers, exact where possible, or mpmath numbers); nothing is substituted into the SymPy
    tree, whose arithmetic on floats would silently combine terms.

    Values are computed at a fixed precision, so the cost is bounded.  An addition inside the
    expression whose terms cancel to within rounding (``1 − erf(1000)`` inside a product) is
    :class:`_Unresolved`: its value would be noise.  The top-level addition of a side is left
    to the caller, which measures the difference against the size of its terms.
    """
    if expr in env:
        value = env[expr]
        return value if isinstance(value, mpmath.mpf | mpmath.mpc) else _evaluate(value, digits, {}, False)
    if isinstance(expr, sp.Symbol | GaussianExpectation):
        raise ValueError(f"no value for {expr}")
    if isinstance(expr, sp.Integer):
        return mpmath.mpf(int(expr))
    if isinstance(expr, sp.Rational):
        return mpmath.mpf(expr.p) / expr.q
    if isinstance(expr, sp.Float):
        return mpmath.mpf(expr._mpf_)
    if expr is sp.pi:
        return +mpmath.pi
    if expr is sp.E:
        return mpmath.e + 0
    if expr is sp.I:
        return mpmath.mpc(0, 1)
    if expr in (sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise _Undefined(f"{expr} is not a finite value")
    if isinstance(expr, sp.Add):
        terms = [_evaluate(a, digits, env, False) for a in expr.args]
        total = mpmath.fsum(terms)
        largest = max(abs(t) for t in terms)
        if not top and largest and abs(total) <= largest * mpmath.mpf(10) ** (-(digits // 2)):
            raise _Unresolved(f"{expr} cancels beyond {digits // 2} digits here")
        return total
    if isinstance(expr, sp.Mul):
        return mpmath.fprod(_evaluate(a, digits, env, False) for a in expr.args)
    if isinstance(expr, sp.Pow):
        base, exponent = _evaluate(expr.base, digits, env, False), _evaluate(expr.exp, digits, env, False)
        if base == 0 and _real(exponent) < 0:
            raise _Undefined(f"{expr} divides by zero here")
        return mpmath.power(base, exponent)
    if type(expr) in _MPMATH_FUNCTIONS:
        (argument,) = expr.args
        return _MPMATH_FUNCTIONS[type(expr)](_evaluate(argument, digits, env, False))
    if isinstance(expr, sp.Abs):
        return abs(_evaluate(expr.args[0], digits, env, False))
    if isinstance(expr, sp.Heaviside | sp.sign):
        value = _evaluate(expr.args[0], digits, env, False)
        s = _sign_of(value, abs(value), digits)
        if isinstance(expr, sp.sign):
            return mpmath.mpf(s)
        return mpmath.mpf(1) if s > 0 else mpmath.mpf(0) if s < 0 else mpmath.mpf(expr.args[1]) if len(expr.args) > 1 else mpmath.mpf(0.5)
    if isinstance(expr, sp.Max | sp.Min):
        values = [_real(_evaluate(a, digits, env, False)) for a in expr.args]
        return max(values) if isinstance(expr, sp.Max) else min(values)
    if isinstance(expr, sp.Piecewise):
        for value, condition in expr.args:
            if condition is sp.true or _condition(condition, digits, env):
                return _evaluate(value, digits, env, False)
        raise _Undefined(f"{expr} is not defined here")
    if isinstance(expr, sp.DiracDelta):
        raise _Undefined("a Dirac delta has no value at a point")
    # Anything else: SymPy's own evaluation at this precision.
    value = expr.xreplace({k: v for k, v in env.items() if isinstance(v, sp.Basic)}).evalf(digits)
    if not value.is_number or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise _Undefined(f"{expr} has no finite value here")
    real, imag = value.as_real_imag()
    return mpmath.mpc(mpmath.mpf(sp.Float(real, digits)._mpf_), mpmath.mpf(sp.Float(imag, digits)._mpf_)) if imag else mpmath.mpf(sp.Float(real, digits)._mpf_)


def _condition(condition: sp.Basic, digits: int, env: dict) -> bool:
    if condition in (sp.true, sp.false):
        return condition is sp.true
    if isinstance(condition, sp.And | sp.Or):
        results = [_condition(c, digits, env) for c in condition.args]
        return all(results) if isinstance(condition, sp.And) else any(results)
    if isinstance(condition, sp.core.relational.Relational) and not isinstance(condition, sp.Eq | sp.Ne):
        difference = _evaluate(condition.lhs, digits, env, False) - _evaluate(condition.rhs, digits, env, False)
        s = _sign_of(difference, abs(difference), digits)
        return {sp.StrictGreaterThan: s > 0, sp.GreaterThan: s >= 0, sp.StrictLessThan: s < 0, sp.LessThan: s <= 0}[type(condition)]
    raise _Unresolved(f"the condition {condition} cannot be decided numerically")


def _environment(exprs: Sequence[sp.Expr], point: dict[sp.Symbol, sp.Expr], digits: int) -> dict:
    """The values of the point's symbols and of the expectations in ``exprs`` at ``digits`` digits."""
    env: dict = dict(point)
    for node in set().union(*(e.atoms(GaussianExpectation) for e in exprs)):
        inner = {k: v for k, v in point.items() if k in node.free_symbols}
        try:
            value, error = expectation_mp(node, inner, dps=digits + 10, require_decay=True, error=True)
        except ValueError as why:
            raise _Unresolved(f"{node}: {why}") from None
        if error > _floor(digits, True) * max(abs(value), mpmath.mpf(10) ** (-digits)):
            raise _Unresolved(f"quadrature of {node} reached only ~{mpmath.nstr(error, 3)} here")
        env[node] = value.real if value.imag == 0 else value
    return env


def _level(lhs: sp.Expr, rhs: sp.Expr, point, digits: int) -> tuple[str, object]:
    """One evaluation at ``digits`` digits.

    Returns ("value", (relative difference, lhs text, rhs text)), ("undefined", (whys,))
    or ("ill", why).  The relative difference is |LHS − RHS| over the size of the sides'
    top-level terms (Σ|term|), the scale that rounding is relative to.
    """
    try:
        with mpmath.workdps(digits):
            env = _environment((lhs, rhs), point, digits)
            terms = [[_evaluate(t, digits, env, False) for t in sp.Add.make_args(side)] for side in (lhs, rhs)]
            a, b = (mpmath.fsum(t) for t in terms)
            for value in (a, b):
                if not mpmath.isfinite(value):
                    return "undefined", ([f"a side is not finite here ({mpmath.nstr(value, 5)})"],)
            scale = mpmath.fsum(abs(t) for t in terms[0] + terms[1])
            difference = abs(mpmath.fsum(terms[0] + [-t for t in terms[1]]))
            relative = 0.0 if difference == 0 else float(difference / scale)
            return "value", (relative, mpmath.nstr(a, 25), mpmath.nstr(b, 25))
    except _Undefined as why:
        return "undefined", ([str(why)],)
    except _Unresolved as why:
        return "ill", str(why)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError) as error:
        return "ill", f"could not be evaluated ({type(error).__name__}: {error})"


def judge_point(lhs: sp.Expr, rhs: sp.Expr, point: dict[sp.Symbol, sp.Expr], divergent: tuple[str | None, str | None] = (None, None)) -> PointJudgement:
    """:func:`_judge` in a child process bounded by :data:`POINT_SECONDS` of CPU time and
    :data:`POINT_MEMORY`: a point whose evaluation exceeds them is ill-conditioned."""
    try:
        return run_bounded(_judge, lhs, rhs, point, divergent, cpu_seconds=POINT_SECONDS, memory_bytes=POINT_MEMORY)
    except BudgetExceeded as why:
        return PointJudgement("ill-conditioned", why=f"the evaluation {why}")


def _judge(lhs: sp.Expr, rhs: sp.Expr, point: dict[sp.Symbol, sp.Expr], divergent: tuple[str | None, str | None]) -> PointJudgement:
    """Escalate the working precision at one point until the difference is settled.

    At each level of :data:`ESCALATION` the difference |LHS − RHS| is taken relative to
    the scale of the terms.  Below the level's rounding floor (:func:`_floor`) the sides
    agree; a difference above the floor that the next level reproduces (to
    ``escalation_persistence``) is real; anything else is escalated, and a point that the
    last level cannot settle is ill-conditioned.  Agreement counts only from the second level
    on: a difference just under the first floor (1e-30 of the terms at 40 digits), or one that
    rounds away to exactly 0 there, is resolved by the second.

    ``divergent`` says why a side diverges at this point (an expectation whose convergence
    condition fails there): against a finite other side that is a counterexample.
    """
    if any(divergent):
        if all(divergent):
            return PointJudgement("undefined", why="both sides diverge here")
        other = rhs if divergent[0] else lhs
        kind, data = _level(other, sp.S.Zero, point, ESCALATION[0])
        if kind != "value":
            return PointJudgement("undefined", why=f"{divergent[0] or divergent[1]}; the other side has no finite value either")
        finite = data[1]
        lhs_text, rhs_text = ("diverges", finite) if divergent[0] else (finite, "diverges")
        return PointJudgement("differ", lhs_text, rhs_text, math.inf, (math.inf,), divergent[0] or divergent[1])
    persistence = tolerance("escalation_persistence")
    quadrature = bool((lhs - rhs).atoms(GaussianExpectation))
    previous, previous_digits = None, None
    differences = []
    last_why = ""
    for digits in ESCALATION:
        kind, data = _level(lhs, rhs, point, digits)
        if kind == "undefined":
            return PointJudgement("undefined", why="; ".join(data[0]))
        if kind == "ill":
            last_why = data
            previous = None
            continue
        relative, a, b = data
        differences.append(relative)
        if relative <= _floor(digits, quadrature) and digits != ESCALATION[0]:
            return PointJudgement("agree", a, b, relative, tuple(differences))
        if previous is not None and abs(relative - previous) <= persistence * relative:
            return PointJudgement("differ", a, b, relative, tuple(differences), f"the difference persists from {previous_digits} to {digits} digits")
        previous, previous_digits = relative, digits
        last_why = f"the difference {relative:.3g} did not settle as the working precision grew"
    return PointJudgement("ill-conditioned", why=last_why, differences=tuple(differences))


# ---------------------------------------------------------------------------
# The checker


def _parse(lhs, rhs, assume: Sequence[str]):
    merged: dict[str, Assumption] = {}
    for text in assume:
        a = parse_assumption(text)
        merged[a.name] = merged[a.name].merge(a) if a.name in merged else a
        if merged[a.name].empty:
            raise ParseError(f"the assumptions on {a.name} describe an empty set")
    symbols = {name: a.symbol() for name, a in merged.items()}
    left = parse_expression(lhs, symbols) if isinstance(lhs, str) else lhs
    right = parse_expression(rhs, symbols) if isinstance(rhs, str) else rhs
    bound = {v.name for e in (left.atoms(GaussianExpectation) | right.atoms(GaussianExpectation)) for v in e.variables}
    for name in sorted(bound & set(merged)):
        raise ParseError(f"{name} is integrated over by E(...): it takes no assumption (give a parameter another name)")
    free = (left.free_symbols | right.free_symbols) - set(symbols.values())
    for s in free:
        if s.name in merged:
            raise ParseError(f"{s.name} appears with two different meanings")
        merged[s.name] = Assumption(s.name)
        symbols[s.name] = s
    return left, right, merged, symbols


def _derive(expr: sp.Expr, provenance: list[str], conditions: dict) -> sp.Expr:
    replacements = {}
    for node in expr.atoms(GaussianExpectation):
        derivation = expect(node.integrand, node.variables, node.rho if node.bivariate else None)
        if derivation.closed:
            replacements[node] = derivation.value
            provenance.append(f"{node} = {derivation.value} [{derivation.rule}]")
            if derivation.conditions:
                conditions[node] = derivation.conditions
        else:
            why = "the budget ran out before a closed form was found" if derivation.exhausted else "no closed form"
            provenance.append(f"{node}: {why}; evaluated by quadrature")
    return expr.xreplace(replacements)


def _holds(relation: sp.Basic, point: dict) -> bool | None:
    """Whether ``relation`` holds at ``point`` (exact where SymPy can, else at 30 digits); None if undecidable."""
    value = relation.xreplace(point)
    if value in (sp.true, sp.false):
        return value is sp.true
    try:
        return bool(value.evalf(30))
    except TypeError:
        return None


def _diverging(side: sp.Expr, conditions: dict[GaussianExpectation, tuple[Condition, ...]], point: dict) -> str | None:
    """Why ``side`` diverges at ``point`` (one of its expectations' convergence conditions fails), or None."""
    for node in side.atoms(GaussianExpectation):
        for c in conditions.get(node, ()):
            if c.meaning == CONVERGENCE and _holds(c.relation, point) is False:
                return f"{node} diverges here ({c.relation} fails)"
    return None


def _outside_domain(conditions: dict, point: dict) -> str | None:
    for node, required in conditions.items():
        for condition in required:
            if condition.meaning != CONVERGENCE and _holds(condition.relation, point) is False:
                return f"{node} is undefined here ({condition.relation} fails)"
    return None


def point_text(point: dict[str, str]) -> str:
    """A point of the covering for reading: ``q = 1/10, rho = 0.5``; a number of more than 16 characters in 6 digits
    (a longer form that is not a plain number, ``sqrt(2)/…``, as it is)."""

    def short(value: str) -> str:
        if len(value) <= 16:
            return value
        try:
            return format(float(sp.Rational(value)), ".6g")
        except (TypeError, ValueError):
            return value

    return ", ".join(f"{name} = {short(value)}" for name, value in point.items())


def check_identity(
    lhs: str | sp.Expr,
    rhs: str | sp.Expr,
    assume: Sequence[str] = (),
    *,
    points: int = RANDOM_POINTS,
    seed: int = 0,
    worst: bool = False,
) -> IdentityResult:
    """Decide LHS = RHS under ``assume`` (strings such as ``"q > 0"``); see the module docstring.

    A refutation stops at the first point where the sides differ, unless ``worst``: then every point of the
    covering is judged and the counterexample is the one with the largest relative difference."""
    left, right, merged, symbols = _parse(lhs, rhs, assume)
    provenance: list[str] = []
    conditions: dict[GaussianExpectation, tuple[Condition, ...]] = {}
    derived_left, derived_right = _derive(left, provenance, conditions), _derive(right, provenance, conditions)
    by_name = {s.name: s for s in symbols.values()}
    domain = {by_name[n]: a for n, a in merged.items()}
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
    unsettled = []
    for node, required in conditions.items():
        for condition in required:
            holds = implied(condition.relation, domain)
            result.conditions.append({"expectation": str(node), "condition": str(condition.relation), "meaning": condition.meaning, "implied": holds})
            if not holds:
                unsettled.append(condition)
                provenance.append(f"{node}: its closed form needs {condition.relation} ({condition.meaning}), which the assumptions do not imply")

    steering: list[sp.Expr] = []
    constant_difference = None
    open_expectations = (derived_left - derived_right).atoms(GaussianExpectation)
    if not open_expectations:
        try:
            with time_limit(SIMPLIFY_SECONDS):
                difference = sp.simplify(derived_left - derived_right)
            if difference == 0 and not unsettled:
                result.verdict, result.reason = PROVED, "LHS − RHS simplifies to 0 symbolically"
                if conditions:
                    result.reason += ", and the assumptions imply every condition of the closed forms"
                return result
            if difference == 0:
                provenance.append("LHS − RHS simplifies to 0 where the closed forms hold; the numeric route decides the rest")
            elif difference.is_number and difference.is_finite and difference.is_zero is False:
                constant_difference = difference
                provenance.append(f"simplify(LHS − RHS) = {difference}: a nonzero constant")
            else:
                provenance.append(f"simplify(LHS − RHS) = {difference}: undecided symbolically")
                steering.append(difference)
        except SymbolicTimeout:
            provenance.append(f"simplification used its {SIMPLIFY_SECONDS:g} s of CPU time")

    breakpoints = {
        n: _breakpoints([derived_left, derived_right, *steering], s) + _extrema(steering, s) for n, s in by_name.items() if n in merged
    }
    bivariate = any(e.bivariate for e in open_expectations)
    candidates = domain_points(merged, breakpoints, randoms=points, seed=seed, per_region=BIVARIATE_REGION_POINTS if bivariate else None)
    if bivariate:
        provenance.append(f"bivariate quadrature is costly: {BIVARIATE_REGION_POINTS} point per region of the covering")
    regions_seen: set[str] = set()
    regions_agreeing: set[str] = set()
    differing = []  # (judgement, record, point shown) where the sides differ
    exactly_differing = []  # (the difference's judgement, the sides', record, point shown) where only LHS − RHS, exactly, does
    for values, regions in candidates:
        point = {by_name[n]: v for n, v in values.items()}
        shown = {n: str(v) for n, v in values.items()}
        regions_seen.update(regions)
        outside = _outside_domain(conditions, point)
        if outside:
            result.skipped.append({"point": shown, "why": outside})
            continue
        divergent = (_diverging(left, conditions, point), _diverging(right, conditions, point))
        judgement = judge_point(derived_left, derived_right, point, divergent)
        if judgement.outcome == "undefined":
            result.skipped.append({"point": shown, "why": judgement.why})
            continue
        if judgement.outcome == "ill-conditioned":
            result.ill_conditioned.append({"point": shown, "why": judgement.why, "relative_differences": list(judgement.differences)})
            continue
        record = {"point": shown, "lhs": judgement.lhs, "rhs": judgement.rhs, "relative_difference": judgement.relative_difference}
        result.points.append(record)
        if judgement.outcome == "differ":
            differing.append((judgement, record, shown))
            if not worst:
                break
            continue
        if steering and not steering[0].atoms(GaussianExpectation):
            # The sides agree relative to their size; the simplified difference itself (exactly LHS − RHS)
            # is judged relative to its own terms, so that 1 on top of 10⁶⁰ is not lost in the sides' rounding.
            own = judge_point(steering[0], sp.S.Zero, point)
            if own.outcome == "differ":
                exactly_differing.append((own, judgement, record, shown))
                if not worst:
                    break
                continue
        regions_agreeing.update(regions)
        if constant_difference is not None:
            result.verdict = REFUTED
            result.counterexample = {**record, "why": f"LHS − RHS = {constant_difference} exactly"}
            result.reason = f"LHS − RHS simplifies to the nonzero constant {constant_difference}; both sides are defined at {shown}"
            return result
    if differing:
        judgement, record, shown = max(differing, key=lambda d: d[0].relative_difference)
        result.verdict = REFUTED
        result.counterexample = {**record, "why": judgement.why, "relative_differences": list(judgement.differences)}
        where = point_text(shown)
        among = f" (the largest of {len(differing)} differing point(s) among {len(result.points)} checked)" if worst else ""
        if math.isinf(judgement.relative_difference):
            result.reason = f"at {where}: {judgement.why}, while the other side is finite{among}"
        else:
            result.reason = f"LHS and RHS differ by a relative {judgement.relative_difference:.3g} at {where}{among}; {judgement.why}"
        return result
    if exactly_differing:
        own, judgement, record, shown = max(exactly_differing, key=lambda d: d[1].relative_difference)  # the largest part of the sides
        result.verdict = REFUTED
        result.counterexample = {**record, "difference": own.lhs, "why": own.why, "relative_differences": list(own.differences)}
        among = f" (the largest of {len(exactly_differing)} such point(s))" if worst else ""
        result.reason = f"LHS − RHS = {steering[0]} is {own.lhs} at {point_text(shown)} ({own.why}), although the sides agree to {judgement.relative_difference:.1e} of their size{among}"
        return result
    notes = []
    if result.ill_conditioned:
        notes.append(f"{len(result.ill_conditioned)} ill-conditioned point(s) reported, not used")
    if result.skipped:
        notes.append(f"{len(result.skipped)} point(s) where a side is undefined skipped")
    suffix = f" ({'; '.join(notes)})" if notes else ""
    if not result.points:
        result.reason = "no point of the domain could be evaluated where both sides are defined" + suffix
        return result
    uncovered = sorted(regions_seen - regions_agreeing)
    if uncovered:
        result.reason = f"no agreeing point in: {', '.join(uncovered[:6])}{' …' if len(uncovered) > 6 else ''}" + suffix
        return result
    worst = max(p["relative_difference"] for p in result.points)
    result.verdict = VERIFIED
    result.reason = (
        f"LHS = RHS at {len(result.points)} points covering every region of the domain (bounds, far sides, breakpoints); "
        f"largest difference {worst:.1e} of the terms' size, each settled by escalating from {ESCALATION[0]} digits"
        + suffix
    )
    if unsettled:
        result.reason += "; the closed forms' conditions are not implied by the assumptions, so this is not a proof"
    return result
