r"""Gaussian expectations, derived symbolically.

``expect(f, z)`` is :math:`\mathbb E_{z\sim N(0,1)}[f(z)]`;
``expect(f, (u, v), rho)`` is :math:`\mathbb E[f(u, v)]` for a standard
bivariate normal pair with correlation ``rho``.  The answer is a
:class:`Derivation`: a closed form with its provenance (the rule and the
steps), or, when no rule applies, the unevaluated :class:`GaussianExpectation`
that :mod:`numerics.gaussian` evaluates by quadrature.

Strategies, tried in order, each under a time limit (:mod:`theory.timelimit`):

1. **parity** — an integrand odd under ``z → −z`` (or ``(u, v) → (−u, −v)``)
   has expectation 0.
2. **gaussian-moments** — polynomial × exp(quadratic) × steps × Dirac deltas,
   sin/cos through complex exponentials.  Completing the square reduces every
   term to truncated moments :math:`\int_t^\infty w^k\varphi(w)\,dw`, which obey
   :math:`T_k = t^{k-1}\varphi(t) + (k-1)T_{k-2}` with
   :math:`T_0 = \tfrac12\operatorname{erfc}(t/\sqrt2)`, :math:`T_1=\varphi(t)`
   (Isserlis/Wick on the whole line).  Bivariate terms are integrated one
   variable at a time through the conditional law
   :math:`v\mid u \sim N(\rho u, 1-\rho^2)`; a Dirac delta conditions on its
   root.
3. **price** — Price's theorem (Price 1958; Papoulis, *Probability, Random
   Variables and Stochastic Processes*, §7-4):
   :math:`\partial_\rho^n\,\mathbb E[F(u)G(v)] = \mathbb E[F^{(n)}(u)G^{(n)}(v)]`.
   Differentiate until rule 2 applies, then integrate back from ρ = 0 (the
   kernels of smooth activations are sums of tᵐ(A − Bt²)^{k/2}, integrated by
   recurrence, :func:`_radical_moment`; others by ``sympy.integrate``), where
   :math:`\partial_\rho^k\mathbb E[F(u)G(v)]|_{\rho=0} = \mathbb E[F^{(k)}]\,\mathbb E[G^{(k)}]`.
   A one-variable expectation of a product :math:`F(z)G(z)` is the bivariate
   one at ρ = 1.  This derives the arcsine kernel of erf (Williams 1997) and
   the arc-cosine kernels of the ReLU family (Cho & Saul 2009), and GELU's
   kernels (Tsuchida et al. 2021) at order 2.
4. **sympy-integrate** — ``sympy.integrate`` against the Gaussian density.

Tanh, sigmoid, softplus, SiLU and the like have no closed form: the result says
so (``rule is None``) and carries the unevaluated expectation.

Assumptions: parameters that scale a step's argument must have a known sign
(declare them ``positive=True``).  Derived values at |ρ| = 1 are the one-sided
limits of the formulas for |ρ| < 1.

Conditions: a closed form is returned with every condition its derivation
needed (:class:`Condition`) that the parameters' own assumptions do not already
settle: exponential factors must decay (``1 − 2·α > 0`` for ``exp(α z²)``; a
positive-definite precision matrix for a pair), the correlation of a pair must
lie in [−1, 1], and ``sympy.integrate``'s convergence conditions are kept.  A
caller that knows more about the parameters (a declared domain) decides whether
they hold (:mod:`proofs_check.identity`); where one fails the expectation
diverges or is undefined, and the closed form says nothing.

Budgets: each strategy runs under a CPU-time budget.  A strategy that spends it
marks the derivation ``exhausted``: its "no closed form" is not definitive, it
says so in the steps, and it is not cached.
"""

from __future__ import annotations

import contextvars
import functools
import math
from dataclasses import dataclass

import sympy as sp

from dyncheck.theory.cache import cached
from dyncheck.theory.serialize import SerializationError, from_tree, to_tree
from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

__all__ = [
    "Condition",
    "GaussianExpectation",
    "Derivation",
    "NoClosedForm",
    "NotElementary",
    "expect",
    "normal_pdf",
]

#: Seconds allowed per strategy, and for the final simplification.
DEFAULT_TIME_LIMIT = 20.0
SIMPLIFY_TIME_LIMIT = 10.0
#: Forms with more operations than this are left as derived: sympy.simplify does not finish on them in
#: SIMPLIFY_TIME_LIMIT (GELU's layer maps: 400–1400 operations), and the generated code needs no simplification.
SIMPLIFY_MAX_OPERATIONS = 300
PRICE_MAX_ORDER = 3


def normal_pdf(t: sp.Expr) -> sp.Expr:
    """Standard normal density φ(t)."""
    return sp.exp(-(t**2) / 2) / sp.sqrt(2 * sp.pi)


class GaussianExpectation(sp.Expr):
    r"""Unevaluated :math:`\mathbb E[f]` over standard normal variables.

    ``GaussianExpectation(f, (z,))`` or ``GaussianExpectation(f, (u, v), rho)``.
    The variables are bound: they are not among the free symbols.
    """

    def __new__(cls, integrand, variables, rho=sp.S.Zero):
        variables = sp.Tuple(*variables)
        if len(variables) not in (1, 2):
            raise ValueError("a Gaussian expectation is over one variable or a pair")
        if len(set(variables)) != len(variables) or not all(isinstance(v, sp.Symbol) for v in variables):
            raise ValueError("the variables of an expectation must be distinct symbols")
        if len(variables) == 1:
            rho = sp.S.Zero
        return super().__new__(cls, integrand, variables, rho)

    @property
    def integrand(self) -> sp.Expr:
        return self.args[0]

    @property
    def variables(self) -> tuple[sp.Symbol, ...]:
        return tuple(self.args[1])

    @property
    def rho(self) -> sp.Expr:
        return self.args[2]

    @property
    def bivariate(self) -> bool:
        return len(self.variables) == 2

    @property
    def free_symbols(self):
        inner = self.integrand.free_symbols - set(self.variables)
        return inner | self.rho.free_symbols

    def _latex(self, printer):
        body = printer._print(self.integrand)
        if self.bivariate:
            u, v = (printer._print(x) for x in self.variables)
            return (
                rf"\mathbb{{E}}_{{({u},{v})\sim\mathcal N_\rho,\ \rho={printer._print(self.rho)}}}"
                rf"\left[{body}\right]"
            )
        return rf"\mathbb{{E}}_{{{printer._print(self.variables[0])}\sim\mathcal N(0,1)}}\left[{body}\right]"

    def _sympystr(self, printer):
        vs = ", ".join(printer._print(x) for x in self.variables)
        if self.bivariate:
            return f"E({printer._print(self.integrand)}, ({vs}), {printer._print(self.rho)})"
        return f"E({printer._print(self.integrand)}, {vs})"


#: What a failed condition means: the integral diverges there, or the expectation is not defined
#: (a correlation outside [−1, 1]).
CONVERGENCE, DOMAIN = "convergence", "domain"


@dataclass(frozen=True)
class Condition:
    """A condition in the parameters under which a derived closed form holds.

    ``relation`` is a SymPy relational (or a Boolean of them); ``meaning`` is
    :data:`CONVERGENCE` (where it fails the integral diverges) or :data:`DOMAIN`
    (where it fails the expectation is undefined).
    """

    relation: sp.Basic
    meaning: str

    def __post_init__(self):
        if self.meaning not in (CONVERGENCE, DOMAIN):
            raise ValueError(f"unknown meaning of a condition: {self.meaning!r}")
        if not isinstance(self.relation, sp.logic.boolalg.Boolean):
            raise ValueError(f"a condition is a relation, not {self.relation!r}")

    def __str__(self):
        return f"{self.relation} ({self.meaning})"


@dataclass(frozen=True)
class Derivation:
    """The result of :func:`expect`.

    ``value`` is the closed form, or the unevaluated expectation when
    ``rule`` is ``None``.  ``steps`` is the provenance, one sentence a step,
    including the strategies that failed and why.  ``conditions`` are what the
    closed form needs of the parameters beyond their assumptions (empty: it
    holds for every value they allow).  ``exhausted`` is true when a strategy
    spent its CPU-time budget: then "no closed form" is not definitive.
    """

    expectation: GaussianExpectation
    value: sp.Expr
    rule: str | None
    steps: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()
    exhausted: bool = False

    @property
    def closed(self) -> bool:
        return self.rule is not None


class NoClosedForm(Exception):
    """A strategy does not apply to this integrand (the message says why)."""


class NotElementary(NoClosedForm):
    """A rule reduced the expectation to an integral that is known not to be elementary (Owen's T, a bivariate normal
    CDF): no later rule is tried, and the expectation is left for quadrature with that reason."""


#: Conditions gathered while one strategy runs, and the substitutions (dummies → what they stand
#: for) and correlation paths (Price's t from 0 to its end) needed to state them in the parameters.
_COLLECTED: contextvars.ContextVar[dict | None] = contextvars.ContextVar("conditions", default=None)


def _require(expr: sp.Expr, meaning: str, *, strict: bool = True, why: str = "") -> None:
    """Record that ``expr > 0`` (``≥ 0`` unless ``strict``) is needed; fail now if it is known false."""
    holds = expr.is_positive if strict else expr.is_nonnegative
    if holds:
        return
    if holds is False and not expr.free_symbols:
        raise NoClosedForm(why or f"{expr} {'>' if strict else '≥'} 0 fails")
    if holds is False and meaning == CONVERGENCE:
        raise NoClosedForm(why or f"{expr} {'>' if strict else '≥'} 0 fails for every value of the parameters")
    collected = _COLLECTED.get()
    if collected is not None:
        collected["conditions"].append(Condition(sp.Gt(expr, 0) if strict else sp.Ge(expr, 0), meaning))


def _register(kind: str, *entry) -> None:
    collected = _COLLECTED.get()
    if collected is not None:
        collected[kind].append(entry)


def _along_path(relation: sp.Basic, t: sp.Symbol, end: sp.Expr) -> sp.Basic:
    """A condition that must hold for every t between 0 and ``end``, stated at the worst t.

    Price's kernels are integrated over t ∈ [0, ρ]; their convergence conditions are
    A + B t² > 0 (the worst t is ρ when B ≤ 0, 0 when B ≥ 0) or linear in t (both ends).
    """
    if not relation.has(t):
        return relation
    if not isinstance(relation, sp.core.relational.Relational):
        raise NoClosedForm(f"the condition {relation} along the correlation path cannot be reduced")
    expr = sp.expand(relation.lhs - relation.rhs)
    try:
        poly = sp.Poly(expr, t)
    except sp.PolynomialError:
        raise NoClosedForm(f"the condition {relation} along the correlation path cannot be reduced") from None
    at = relation.func
    if poly.degree() == 1:
        return sp.And(at(expr.subs(t, 0), 0), at(expr.subs(t, end), 0))
    coeffs = dict(zip(poly.monoms(), poly.coeffs()))
    if poly.degree() == 2 and (1,) not in coeffs:
        b = coeffs[(2,)]
        if b.is_nonpositive:
            return at(expr.subs(t, end), 0)
        if b.is_nonnegative:
            return at(expr.subs(t, 0), 0)
    raise NoClosedForm(f"the condition {relation} along the correlation path cannot be reduced")


def _state_conditions(collected: dict) -> tuple[Condition, ...]:
    """The gathered conditions in the parameters: paths reduced, dummies replaced, known truths dropped."""
    out = []
    for condition in collected["conditions"]:
        relation = condition.relation
        for t, end in reversed(collected["paths"]):
            relation = _along_path(relation, t, end)
        for dummy, value in reversed(collected["substitutions"]):
            relation = relation.subs(dummy, value)
        relation = sp.simplify(relation) if sp.count_ops(relation) < 60 else relation
        if relation is sp.true:
            continue
        if relation is sp.false:
            raise NoClosedForm(f"the condition {condition.relation} fails for every value of the parameters")
        if any(isinstance(s, sp.Dummy) for s in relation.free_symbols):
            raise NoClosedForm(f"the condition {relation} could not be stated in the parameters")
        if all(relation != c.relation for c in out):
            out.append(Condition(relation, condition.meaning))
    return tuple(out)


# ---------------------------------------------------------------------------
# Preparation


def _prepare(expr: sp.Expr) -> sp.Expr:
    """Steps for kinks, complex exponentials for trigonometric factors, expanded."""
    expr = expr.rewrite(sp.Heaviside)
    for trig in (sp.sin, sp.cos, sp.sinh, sp.cosh):
        expr = expr.rewrite(trig, sp.exp)
    return sp.expand(expr)


def _linear(arg: sp.Expr, var: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """(a, b) with arg = a·var + b, or NoClosedForm."""
    try:
        poly = sp.Poly(arg, var)
    except sp.PolynomialError:
        raise NoClosedForm(f"{arg} is not linear in {var}") from None
    if poly.degree() != 1:
        raise NoClosedForm(f"{arg} is not linear in {var}")
    a, b = poly.all_coeffs()
    return a, b


def _sign(a: sp.Expr) -> int:
    if a.is_positive:
        return 1
    if a.is_negative:
        return -1
    raise NoClosedForm(f"the sign of {a} is unknown (declare the parameters positive)")


# ---------------------------------------------------------------------------
# Rule 2, one variable: truncated Gaussian moments


def _tail_moment(k: int, t: sp.Expr) -> sp.Expr:
    r""":math:`T_k(t) = \int_t^\infty w^k \varphi(w)\,dw`."""
    if t is sp.S.Infinity:
        return sp.S.Zero
    if t is sp.S.NegativeInfinity:
        return sp.factorial2(k - 1) if k % 2 == 0 else sp.S.Zero
    if k == 0:
        return sp.erfc(t / sp.sqrt(2)) / 2
    if k == 1:
        return normal_pdf(t)
    return t ** (k - 1) * normal_pdf(t) + (k - 1) * _tail_moment(k - 2, t)


def _interval_moment(k: int, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    return _tail_moment(k, lo) - _tail_moment(k, hi)


def _moments_term(term: sp.Expr, z: sp.Symbol) -> sp.Expr:
    """E_z[term] for term = c · z^n · exp(α z² + β z + γ) · Π H(·) · [δ(·)]."""
    coeff, degree, exponent = sp.S.One, 0, sp.S.Zero
    lower, upper, delta = [], [], None
    for factor in sp.Mul.make_args(term):
        base, power = factor.as_base_exp()
        if not factor.has(z):
            coeff *= factor
        elif base == z and power.is_Integer and power >= 0:
            degree += int(power)
        elif isinstance(factor, sp.exp) or base is sp.E:
            exponent += factor.args[0] if isinstance(factor, sp.exp) else power
        elif isinstance(base, sp.exp) and not power.has(z):
            exponent += power * base.args[0]
        elif isinstance(base, sp.Heaviside) and power.is_Integer and power > 0:
            # H^k = H almost everywhere.
            a, b = _linear(base.args[0], z)
            (lower if _sign(a) > 0 else upper).append(-b / a)
        elif isinstance(factor, sp.DiracDelta):
            if delta is not None:
                raise NoClosedForm("a product of two Dirac deltas in one variable")
            delta = factor
        else:
            raise NoClosedForm(f"{factor} is not polynomial × exp(quadratic) × steps in {z}")

    if delta is not None:
        rest = sp.Mul(*[f for f in sp.Mul.make_args(term) if f is not delta])
        return _against_delta(delta, z, lambda at: rest.subs(z, at) * normal_pdf(at))

    try:
        poly = sp.Poly(exponent, z)
    except sp.PolynomialError:
        raise NoClosedForm(f"exponent {exponent} is not polynomial in {z}") from None
    if poly.degree() > 2:
        raise NoClosedForm(f"exponent {exponent} is of degree > 2 in {z}")
    alpha, beta, gamma = ([sp.S.Zero] * 3 + poly.all_coeffs())[-3:]
    precision = 1 - 2 * alpha
    _require(precision, CONVERGENCE, why=f"exp({exponent}) grows too fast: the expectation diverges")

    lo = sp.Max(*lower) if lower else sp.S.NegativeInfinity
    hi = sp.Min(*upper) if upper else sp.S.Infinity
    mean = beta / precision
    root = sp.sqrt(precision)
    t_lo = lo if lo.is_infinite else root * (lo - mean)
    t_hi = hi if hi.is_infinite else root * (hi - mean)
    total = sp.Add(
        *[
            sp.binomial(degree, k) * mean ** (degree - k) * root ** (-k) * _interval_moment(k, t_lo, t_hi)
            for k in range(degree + 1)
        ]
    )
    value = coeff * sp.exp(gamma + beta**2 / (2 * precision)) / root * total
    if lower and upper:
        # An empty interval contributes nothing.
        value *= sp.Heaviside(hi - lo)
    return value


def _delta_order(delta: sp.DiracDelta) -> int:
    return int(delta.args[1]) if len(delta.args) > 1 else 0


def _against_delta(delta: sp.DiracDelta, var: sp.Symbol, density) -> sp.Expr:
    r"""∫ δ^{(k)}(a·var + b) · density(var) d var = (−1)^k / (|a| a^k) · density^{(k)}(−b/a).

    ``density`` maps a point to the rest of the integrand (density included)
    there; it is differentiated symbolically for derivatives of the delta.
    """
    a, b = _linear(delta.args[0], var)
    k = _delta_order(delta)
    root = -b / a
    if k == 0:
        value = density(root)
    else:
        point = sp.Dummy("x", real=True)
        value = sp.diff(density(point), point, k).subs(point, root) * (-1) ** k
        if value.has(sp.DiracDelta):
            raise NoClosedForm(f"{delta} meets a step at its own root")
    return value / (sp.Abs(a) * a**k)


def _moments_1d(expr: sp.Expr, z: sp.Symbol) -> sp.Expr:
    return sp.Add(*[_moments_term(t, z) for t in sp.Add.make_args(_prepare(expr))])


# ---------------------------------------------------------------------------
# Rule 2, two variables: condition on one variable, then the other


class _Conditional:
    """Symbols for the conditional law v | u ~ N(ρu, s²), s = √(1 − ρ²) kept positive."""

    def __init__(self, rho: sp.Expr):
        self.rho = rho
        self.s = sp.Dummy("s", positive=True)
        self.w = sp.Dummy("w", real=True)
        _register("substitutions", self.s, sp.sqrt(1 - rho**2))

    def finish(self, expr: sp.Expr) -> sp.Expr:
        # The precisions that arise are positive (convergence), so radicals combine.
        expr = sp.powsimp(expr, force=True)
        return expr.subs(self.s, sp.sqrt(1 - self.rho**2))


def _steps_in(term: sp.Expr, var: sp.Symbol) -> bool:
    return any(a.has(var) for a in term.atoms(sp.Heaviside))


def _delta_in(term: sp.Expr, var: sp.Symbol):
    for factor in sp.Mul.make_args(term):
        if isinstance(factor, sp.DiracDelta) and factor.has(var):
            return factor
    return None


def _joint_gaussian_term(term: sp.Expr, u, v, rho) -> sp.Expr:
    r"""E[c · u^i v^j · exp(½ xᵀMx + bᵀx + γ)] for x = (u, v) ~ N(0, Σ), Σ = [[1, ρ], [ρ, 1]].

    With Λ = Σ⁻¹ − M (positive definite for convergence):
    E = exp(γ + ½ bᵀΛ⁻¹b) / √det(I − ΣM) · E_{N(Λ⁻¹b, Λ⁻¹)}[u^i v^j],
    the polynomial moment taken from the moment generating function.
    """
    coeff, powers, exponent = sp.S.One, {u: 0, v: 0}, sp.S.Zero
    for factor in sp.Mul.make_args(term):
        base, power = factor.as_base_exp()
        if not factor.has(u, v):
            coeff *= factor
        elif base in powers and power.is_Integer and power >= 0:
            powers[base] += int(power)
        elif isinstance(factor, sp.exp) or base is sp.E:
            exponent += factor.args[0] if isinstance(factor, sp.exp) else power
        elif isinstance(base, sp.exp) and not power.has(u, v):
            exponent += power * base.args[0]
        else:
            raise NoClosedForm(f"{factor} is not polynomial × exp(quadratic) in ({u}, {v})")
    try:
        poly = sp.Poly(exponent, u, v)
    except sp.PolynomialError:
        raise NoClosedForm(f"exponent {exponent} is not polynomial in ({u}, {v})") from None
    if poly.total_degree() > 2:
        raise NoClosedForm(f"exponent {exponent} is of degree > 2")
    c = poly.coeff_monomial
    m = sp.Matrix([[2 * c(u**2), c(u * v)], [c(u * v), 2 * c(v**2)]])
    lin = sp.Matrix([c(u), c(v)])
    sigma = sp.Matrix([[1, rho], [rho, 1]])
    det = sp.factor(sp.expand((sp.eye(2) - sigma * m).det()))
    # Λ = Σ⁻¹ − M is positive definite iff det(I − ΣM) > 0 and its (1, 1) entry (times 1 − ρ²) is.
    why = f"exp({exponent}) grows too fast: the expectation diverges"
    _require(det, CONVERGENCE, why=why)
    _require(sp.expand(1 - (1 - rho**2) * m[0, 0]), CONVERGENCE, why=why)
    # Λ⁻¹ = (Σ⁻¹ − M)⁻¹ = (I − ΣM)⁻¹ Σ, free of 1/(1 − ρ²).
    cov = sp.simplify((sp.eye(2) - sigma * m).inv() * sigma)
    mean = cov * lin
    s1, s2 = sp.Dummy("s1"), sp.Dummy("s2")
    svec = sp.Matrix([s1, s2])
    mgf = sp.exp((mean.T * svec)[0] + (svec.T * cov * svec)[0] / 2)
    moment = sp.diff(mgf, s1, powers[u], s2, powers[v]).subs({s1: 0, s2: 0})
    shift = c(1) + (lin.T * cov * lin)[0] / 2
    return coeff * sp.exp(shift) / sp.sqrt(det) * moment


def _bivariate_term(term: sp.Expr, u, v, cond: _Conditional) -> sp.Expr:
    rho, s, w = cond.rho, cond.s, cond.w
    if not term.has(sp.Heaviside, sp.DiracDelta):
        return _joint_gaussian_term(term, u, v, rho)
    for first, second in ((u, v), (v, u)):
        delta = _delta_in(term, first)
        if delta is None:
            continue
        if delta.args[0].has(second):
            raise NoClosedForm(f"Dirac delta of both variables: {delta}")
        rest = term / delta

        def marginal(at, rest=rest, first=first, second=second):
            # ∫ rest(at, v) p(at, v) dv = φ(at) · E_w[rest(at, ρ·at + s·w)]
            conditional = rest.subs(first, at).subs(second, rho * at + s * w)
            return _moments_1d(conditional, w) * normal_pdf(at)

        return _against_delta(delta, first, marginal)
    for outer, inner in ((u, v), (v, u)):
        if not _steps_in(term, inner):
            conditional = _moments_1d(term.subs(inner, rho * outer + s * w), w)
            return _moments_1d(sp.powsimp(conditional, force=True), outer)
    raise NoClosedForm("steps in both variables: Price's theorem applies")


def _moments_2d(expr: sp.Expr, u, v, rho) -> sp.Expr:
    cond = _Conditional(rho)
    total = sp.Add(*[_bivariate_term(t, u, v, cond) for t in sp.Add.make_args(_prepare(expr))])
    return cond.finish(total)


# ---------------------------------------------------------------------------
# Rule 3: Price's theorem


def _split_product(term: sp.Expr, u, v) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """term = c · F(u) · G(v), or NoClosedForm if a factor mixes u and v."""
    c, f, g = sp.S.One, sp.S.One, sp.S.One
    for factor in sp.Mul.make_args(term):
        has_u, has_v = factor.has(u), factor.has(v)
        if has_u and has_v:
            raise NoClosedForm(f"{factor} couples u and v: Price's theorem needs F(u)·G(v)")
        if has_u:
            f *= factor
        elif has_v:
            g *= factor
        else:
            c *= factor
    return c, f, g


def _radical_moment(m: int, p: int, x: sp.Expr, root: sp.Expr) -> sp.Expr:
    r""":math:`J_{m,p}(x) = \int_0^x \tau^m (1-\tau^2)^{-p/2}\,d\tau` for integers m ≥ 0 and p, by recurrence;
    ``root`` is √(1 − x²), passed in the form the caller wants it in.

    p = 1: :math:`J_{0,1} = \arcsin x`, :math:`J_{1,1} = 1-\sqrt{1-x^2}`,
    :math:`m J_{m,1} = -x^{m-1}\sqrt{1-x^2} + (m-1) J_{m-2,1}`;
    p ≥ 3: :math:`J_{m,p} = J_{m-2,p} - J_{m-2,p-2}`,
    :math:`(p-2) J_{1,p} = (1-x^2)^{1-p/2} - 1`,
    :math:`(p-2) J_{0,p} = x(1-x^2)^{1-p/2} + (p-3) J_{0,p-2}`;
    odd p ≤ −1: :math:`J_{m,p} = J_{m,p+2} - J_{m+2,p+2}`; even p ≤ 0: the binomial
    expansion.  Even p > 0 (a rational integrand) is not handled here.
    """
    if p % 2 == 0:
        if p > 0:
            raise NoClosedForm(f"(1 − τ²)^{-p // 2} is rational, not a radical")
        n = -p // 2
        return sp.Add(*[sp.binomial(n, j) * (-1) ** j * x ** (m + 2 * j + 1) / (m + 2 * j + 1) for j in range(n + 1)])
    if p <= -1:
        return _radical_moment(m, p + 2, x, root) - _radical_moment(m + 2, p + 2, x, root)
    if p == 1:
        if m == 0:
            return sp.asin(x)
        if m == 1:
            return 1 - root
        return (-(x ** (m - 1)) * root + (m - 1) * _radical_moment(m - 2, 1, x, root)) / m
    if m >= 2:
        return _radical_moment(m - 2, p, x, root) - _radical_moment(m - 2, p - 2, x, root)
    power = root ** (2 - p)
    if m == 1:
        return (power - 1) / (p - 2)
    return (x * power + (p - 3) * _radical_moment(0, p - 2, x, root)) / (p - 2)


def _integrate_from_zero(expr: sp.Expr, t: sp.Symbol, upper: sp.Expr) -> sp.Expr:
    r""":math:`\int_0^{\text{upper}} \text{expr}\,dt` for the kernels Price's theorem produces.

    A Price kernel of smooth activations is a sum of c · tᵐ · D^{k/2} with
    D = A − B t², A, B > 0 free of t (the determinant of a joint Gaussian
    term); t = √(A/B) τ turns each term into :func:`_radical_moment`, whose
    parameters are numbers.  Other kernels go to ``sympy.integrate``.
    """
    try:
        return _integrate_radical(expr, t, upper)
    except NoClosedForm:
        return sp.integrate(expr, (t, 0, upper), conds="none")


def _integrate_radical(expr: sp.Expr, t: sp.Symbol, upper: sp.Expr) -> sp.Expr:
    radicals = [p for p in expr.atoms(sp.Pow) if p.base.has(t) and (2 * p.exp).is_Integer and (2 * p.exp).is_odd]
    bases = {sp.expand(p.base) for p in radicals}
    if len(bases) != 1:
        raise NoClosedForm("not one radical of a quadratic in t")
    (base,) = bases
    try:
        poly = sp.Poly(base, t)
    except sp.PolynomialError:
        raise NoClosedForm(f"{base} is not polynomial in {t}") from None
    a, linear, b = ([sp.S.Zero] * 3 + poly.all_coeffs())[-3:][::-1]
    if poly.degree() != 2 or linear != 0 or not (a.is_positive and (-b).is_positive):
        raise NoClosedForm(f"{base} is not A − B t² with A, B > 0")
    # With B = −b: x = upper·√B/√A and √(1 − x²) = √(A − B·upper²)/√A keep one radical per quantity.
    root_a, root_b, root = sp.sqrt(a), sp.sqrt(-b), sp.Dummy("root", positive=True)
    x, x_root = upper * root_b / root_a, sp.sqrt(sp.expand(a + b * upper**2)) / root_a
    replacements = {p: root ** int(2 * p.exp) for p in radicals}
    for polynomial in expr.atoms(sp.Add):
        # a polynomial that is ±(A − B t²)ⁿ, e.g. the expanded (A − B t²)² of a kernel's denominator
        if polynomial.has(t) and polynomial not in replacements:
            try:
                degree = sp.Poly(polynomial, t).degree()
            except sp.PolynomialError:
                continue
            if degree > 0 and degree % 2 == 0:
                power = sp.expand(base ** (degree // 2))
                expanded = sp.expand(polynomial)
                if expanded == power:
                    replacements[polynomial] = root**degree
                elif sp.expand(-expanded) == power:
                    replacements[polynomial] = -(root**degree)
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(expr.xreplace(replacements))):
        coeff, m, k = sp.S.One, 0, 0
        for factor in sp.Mul.make_args(term):
            factor_base, power = factor.as_base_exp()
            if not factor.has(t, root):
                coeff *= factor
            elif factor_base == t and power.is_Integer and power >= 0:
                m += int(power)
            elif factor_base == root and power.is_Integer:
                k += int(power)
            else:
                raise NoClosedForm(f"{factor} is not tᵐ or (A − B t²)^(k/2)")
        total += coeff * (root_a / root_b) ** (m + 1) * root_a**k * _radical_moment(m, -k, x, x_root)
    return total


def _factor(e: sp.Expr) -> str:
    """A factor of a product as text: a sum in brackets."""
    return f"({e})" if e.is_Add else str(e)


def _price_product(f: sp.Expr, g: sp.Expr, u, v, rho, steps: list[str], depth: int) -> sp.Expr:
    r"""E[f(u) g(v)] at correlation rho by Price's theorem."""
    t = sp.Dummy("t", real=True)
    _register("paths", t, rho)
    for n in range(1, PRICE_MAX_ORDER + 1):
        fn, gn = sp.diff(f, u, n), sp.diff(g, v, n)
        try:
            kernel = _moments_2d(fn * gn, u, v, t)
        except NoClosedForm:
            continue
        kernel = sp.simplify(kernel)
        z = sp.Dummy("z", real=True)
        boundary = sp.S.Zero
        for k in range(n):
            ef = _expect_1d(sp.diff(f, u, k).subs(u, z), z, depth + 1)
            eg = _expect_1d(sp.diff(g, v, k).subs(v, z), z, depth + 1)
            boundary += ef * eg * rho**k / sp.factorial(k)
        integral = _integrate_from_zero((rho - t) ** (n - 1) / sp.factorial(n - 1) * kernel, t, rho)
        if integral.has(sp.Integral):
            raise NoClosedForm(f"could not integrate the order-{n} Price kernel {kernel} back in rho")
        derivative = "d/drho" if n == 1 else f"d^{n}/drho^{n}"
        steps.append(
            f"Price's theorem, order {n}: {derivative} E[{_factor(f)}·{_factor(g)}] = E[{_factor(fn)}·{_factor(gn)}] = {kernel.subs(t, rho)}; "
            f"integrated back from rho = 0 with boundary terms {sp.simplify(boundary)}"
        )
        return boundary + integral
    raise NoClosedForm(f"no order ≤ {PRICE_MAX_ORDER} of Price's theorem reduces {f}·{g} to Gaussian moments")


def _price_2d(expr: sp.Expr, u, v, rho, steps, depth=0) -> sp.Expr:
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(expr)):
        c, f, g = _split_product(term, u, v)
        total += c * _price_product(f, g, u, v, rho, steps, depth)
    return total


def _is_moment_factor(factor: sp.Expr, z) -> bool:
    try:
        _moments_term(factor, z)
    except NoClosedForm:
        return False
    return True


def _price_1d(expr: sp.Expr, z, steps, depth=0) -> sp.Expr:
    """E[F(z)G(z)] as the bivariate E[F(u)G(v)] at rho = 1."""
    u, v, rho = sp.Dummy("u", real=True), sp.Dummy("v", real=True), sp.Dummy("rho", real=True)
    _register("substitutions", rho, sp.S.One)
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, dependent = term.as_independent(z, as_Add=False)
        factors = []
        for factor in sp.Mul.make_args(dependent):
            # exp(·) is a factor of its own (as_powers_dict would split it into E**(·)); b**n is n factors b
            base, power = (factor, sp.S.One) if isinstance(factor, sp.exp) else factor.as_base_exp()
            factors += [base] * _multiplicity(power)
        hard = [f for f in factors if not _is_moment_factor(f, z)]
        if not hard:
            total += _moments_1d(term, z)
            continue
        first = hard[0]
        rest = coeff * sp.Mul(*factors) / first
        if not rest.has(z):
            raise NoClosedForm(f"{first} is the only factor in z: Price's theorem has nothing to correlate it with")
        kernel = _price_product(first.subs(z, u), rest.subs(z, v), u, v, rho, steps, depth)
        at_one = kernel.subs(rho, 1)
        if at_one.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            at_one = sp.limit(kernel, rho, 1, "-")
        steps.append(f"E[{first}·{rest}] is the bivariate expectation at rho = 1")
        total += at_one
    return total


def _multiplicity(power: sp.Expr) -> int:
    if power.is_Integer and 0 < power <= 64:
        return int(power)
    raise NoClosedForm(f"power {power} is not a small positive integer")


# ---------------------------------------------------------------------------
# Rule 1: parity; rule 4: sympy.integrate


def _is_odd(expr: sp.Expr, variables) -> bool:
    flipped = expr.subs({x: -x for x in variables}, simultaneous=True)
    return sp.expand(flipped + expr) == 0


#: Functions of the integration variables that ``sympy.integrate`` is tried on (its Meijer-G and
#: Risch routes handle these against a Gaussian; on tanh, sigmoids, softplus and the like it runs
#: until its budget is spent, so they are out of its scope, definitively).
_INTEGRABLE = (sp.exp, sp.sin, sp.cos, sp.sinh, sp.cosh, sp.erf, sp.erfc, sp.Heaviside, sp.DiracDelta, sp.Abs, sp.sign)


def _sympy_integrate(integrand, limits, variables) -> sp.Expr:
    for call in integrand.atoms(sp.Function):
        if call.has(*variables) and not isinstance(call, _INTEGRABLE):
            raise NoClosedForm(f"{type(call).__name__} is outside sympy.integrate's scope here")
    for power in integrand.atoms(sp.Pow):
        if power.base.has(*variables) and not (power.exp.is_Integer and power.exp >= 0):
            raise NoClosedForm(f"{power} is outside sympy.integrate's scope here")
    result = sp.integrate(integrand, *limits, conds="separate")
    if isinstance(result, tuple):
        result, condition = result
        if condition is not sp.true:
            collected = _COLLECTED.get()
            if collected is not None:
                collected["conditions"].append(Condition(condition, CONVERGENCE))
    if result.has(sp.Integral):
        raise NoClosedForm("sympy.integrate returned an unevaluated integral")
    return result


def _integrate_1d(expr, z) -> sp.Expr:
    return _sympy_integrate(expr * normal_pdf(z), [(z, -sp.oo, sp.oo)], (z,))


def _integrate_2d(expr, u, v, rho) -> sp.Expr:
    density = sp.exp(-(u**2 - 2 * rho * u * v + v**2) / (2 * (1 - rho**2))) / (2 * sp.pi * sp.sqrt(1 - rho**2))
    return _sympy_integrate(expr * density, [(v, -sp.oo, sp.oo), (u, -sp.oo, sp.oo)], (u, v))


# ---------------------------------------------------------------------------
# Driver


def _expect_1d(expr: sp.Expr, z, depth: int = 0) -> sp.Expr:
    """Closed-form E_z[expr] by rules 1–3 (used inside Price boundary terms)."""
    if depth > 3:
        raise NoClosedForm("recursion too deep")
    if _is_odd(expr, (z,)):
        return sp.S.Zero
    try:
        return _moments_1d(expr, z)
    except NoClosedForm:
        pass
    try:
        return _price_1d(expr, z, [], depth)
    except NoClosedForm:
        return _shift(expr, (z,), None, [], depth)


def _strategies(expr, variables, rho):
    if len(variables) == 1:
        (z,) = variables
        return [
            ("parity", lambda steps: _parity(expr, variables)),
            ("gaussian-moments", lambda steps: _moments_1d(expr, z)),
            ("price", lambda steps: _price_1d(expr, z, steps)),
            ("shift", lambda steps: _shift(expr, variables, rho, steps)),
            ("sympy-integrate", lambda steps: _integrate_1d(expr, z)),
        ]
    u, v = variables
    return [
        ("parity", lambda steps: _parity(expr, variables)),
        ("bivariate-cdf", lambda steps: _bivariate_cdf(expr, u, v, rho)),
        ("gaussian-moments", lambda steps: _moments_2d(expr, u, v, rho)),
        ("price", lambda steps: _price_2d(expr, u, v, rho, steps)),
        ("shift", lambda steps: _shift(expr, variables, rho, steps)),
        ("sympy-integrate", lambda steps: _integrate_2d(expr, u, v, rho)),
    ]


#: Functions whose affine-argument products are bivariate normal CDFs: their derivatives are Gaussians.
_CDF_LIKE = (sp.erf, sp.erfc, sp.Heaviside)


def _bivariate_cdf(expr: sp.Expr, u, v, rho) -> sp.Expr:
    """Refuse, as not elementary, a sum of terms c·F(a u + b)·G(c v + d) with F, G among erf, erfc and the step and
    some shift b or d nonzero: each is an affine image of the bivariate normal CDF Φ₂(h, k; ρ), whose closed form
    needs Owen's T function (Owen 1956) — for b = d = 0 Price's theorem gives arcsines instead."""
    if not rho.free_symbols:
        raise NoClosedForm("the correlation is a number")
    shifted = False
    for term in sp.Add.make_args(sp.expand(expr)):
        calls = [f for f in sp.Mul.make_args(term) if f.has(u, v)]
        if len(calls) != 2 or not all(isinstance(f, _CDF_LIKE) for f in calls):
            raise NoClosedForm("not a product of two CDF-like factors")
        if sorted((bool(f.has(u)), bool(f.has(v))) for f in calls) != [(False, True), (True, False)]:
            raise NoClosedForm("the factors do not split into one of u and one of v")
        for f in calls:
            argument = sp.expand(f.args[0])
            try:
                if sp.Poly(argument, u, v).total_degree() != 1:
                    raise NoClosedForm("an argument is not affine")
            except sp.PolynomialError:
                raise NoClosedForm("an argument is not affine") from None
            shifted = shifted or argument.subs({u: 0, v: 0}) != 0
    if not shifted:
        raise NoClosedForm("no argument is shifted (Price's theorem applies)")
    raise NotElementary("E[F(a u + b)·G(c v + d)] with F, G among erf, erfc and H and a shift b or d ≠ 0 is a bivariate normal CDF Φ₂(h, k; ρ) — Owen's T function, not elementary")


def _expect_any(expr: sp.Expr, variables, rho, depth: int) -> sp.Expr:
    """Closed-form E[expr] by parity, Gaussian moments and Price's theorem (inside the shift rule)."""
    if _is_odd(expr, variables):
        return sp.S.Zero
    if len(variables) == 1:
        return _expect_1d(expr, variables[0], depth)
    u, v = variables
    try:
        return _moments_2d(expr, u, v, rho)
    except NoClosedForm:
        return _price_2d(expr, u, v, rho, [], depth)


def _shifted(expr: sp.Expr, variables, t: sp.Symbol) -> tuple[sp.Expr, dict]:
    """expr with the constant term c of every function's affine argument a·x + c replaced by t·c, and the map of
    the shifted arguments; NoClosedForm when no argument has a constant term."""
    shifts = {}
    for call in expr.atoms(sp.Function):
        if not call.has(*variables) or len(call.args) != 1:
            continue
        argument = sp.expand(call.args[0])
        constant = argument.subs({x: 0 for x in variables})
        if constant != 0 and all(sp.Poly(argument, *variables).total_degree() == 1 for _ in [0]):
            shifts[call] = call.func(argument - constant + t * constant)
    if not shifts:
        raise NoClosedForm("no argument of the form a·x + c with c ≠ 0")
    return expr.xreplace(shifts), shifts


def _antiderivative(rate: sp.Expr, t: sp.Symbol) -> sp.Expr:
    """An antiderivative of ``rate`` in t without a case split on the signs of its real parameters: SymPy's, found
    with each of them taken positive and kept only if its t-derivative is ``rate`` identically (so it holds for every
    sign); else SymPy's own, whatever cases it splits."""
    positive = {p: sp.Dummy(p.name, positive=True) for p in rate.free_symbols - {t} if not p.is_positive}
    candidate = sp.integrate(rate.xreplace(positive), t).xreplace({v: k for k, v in positive.items()})
    if not candidate.has(sp.Integral, sp.Piecewise) and sp.simplify(sp.diff(candidate, t) - rate) == 0:
        return candidate
    return sp.integrate(rate, t)


def _shift(expr: sp.Expr, variables, rho, steps: list[str], depth: int = 0) -> sp.Expr:
    r"""E[F(1)] for F(t) = expr with each affine argument a·x + c shifted to a·x + t·c: F(1) = F(0) + ∫₀¹F′(t)dt,
    F(0) and F′(t) by parity, Gaussian moments and Price's theorem (differentiating an erf or a step in t leaves a
    Gaussian or a delta, which the moments integrate), and the t-integral from an antiderivative
    (:func:`_antiderivative`: no case split on the shifts' signs).  For
    E[erf(az + b)] it gives erf(b/√(1 + 2a²)); a product of two shifted erfs or steps of correlated variables
    leaves a t-integral of a Gaussian times an erf — a bivariate normal CDF (Owen's T), not elementary — and the
    rule says so."""
    t = sp.Dummy("t", real=True)
    try:
        family, _ = _shifted(expr, variables, t)
    except sp.PolynomialError:
        raise NoClosedForm("an argument is not a polynomial in the variables") from None
    start = _expect_any(family.subs(t, 0), variables, rho, depth + 1)
    rate = _expect_any(sp.diff(family, t), variables, rho, depth + 1)
    antiderivative = _antiderivative(sp.simplify(rate), t)
    integral = antiderivative.subs(t, 1) - antiderivative.subs(t, 0)
    if integral.has(sp.Integral):
        raise NotElementary(
            f"the shifted arguments leave ∫₀¹ {sp.simplify(rate)} dt, not elementary "
            "(a bivariate normal CDF, i.e. Owen's T function)"
        )
    steps.append(f"shift: F(t) = E[{family}], F(0) = {start}, F′(t) = {sp.simplify(rate)}, integrated over t ∈ [0, 1]")
    return start + integral


def _parity(expr, variables) -> sp.Expr:
    if not _is_odd(expr, variables):
        raise NoClosedForm("the integrand is not odd")
    return sp.S.Zero


def _factor_radicands(expr: sp.Expr) -> sp.Expr:
    """sqrt(4q² + 4q + 1) → 2q + 1: factor the base of a fractional power where
    that removes or splits the radical."""

    def factored(e):
        new = sp.factor(e.base) ** e.exp
        return new if not (new.is_Pow and new.exp == e.exp) else e

    return expr.replace(
        lambda e: e.is_Pow and e.exp.is_Rational and not e.exp.is_Integer and e.base.is_Add,
        factored,
    )


def _simplify(expr: sp.Expr, steps: list[str]) -> sp.Expr:
    operations = sp.count_ops(expr)
    if operations > SIMPLIFY_MAX_OPERATIONS:
        steps.append(f"left unsimplified ({operations} operations, more than {SIMPLIFY_MAX_OPERATIONS})")
        return expr
    try:
        with time_limit(SIMPLIFY_TIME_LIMIT):
            return _factor_radicands(sp.simplify(expr))
    except SymbolicTimeout:
        steps.append(f"simplification stopped after {SIMPLIFY_TIME_LIMIT:g} s; the form is unsimplified")
        return expr
    except Exception as error:  # SymPy's simplifiers raise on some Piecewise forms
        steps.append(f"simplification failed ({type(error).__name__}); the form is unsimplified")
        return expr


def expect(integrand, variables, rho=None, *, time_limit_s: float = DEFAULT_TIME_LIMIT) -> Derivation:
    r"""Derive :math:`\mathbb E[\text{integrand}]` over standard normal ``variables``.

    ``variables`` is one symbol (z ~ N(0, 1)) or a pair ``(u, v)`` with
    correlation ``rho`` (required for a pair).  Returns a :class:`Derivation`, kept on disk
    (:mod:`theory.cache`) so that a later run returns it at once.
    """
    variables = tuple(variables) if isinstance(variables, tuple | list | sp.Tuple) else (variables,)
    if len(variables) == 2 and rho is None:
        raise ValueError("a bivariate expectation needs the correlation rho")
    if len(variables) == 1 and rho is not None:
        raise ValueError("a correlation is meaningful only for a pair of variables")
    rho = sp.S.Zero if rho is None else rho
    key = tuple(sp.srepr(part) for part in (integrand, variables, rho)) + (repr(time_limit_s),)
    target = GaussianExpectation(integrand, variables, rho)
    return cached(
        "expect",
        key,
        lambda: _derive(integrand, variables, rho, time_limit_s),
        encode=_encode,
        decode=_decode,
        definitive=lambda derivation: not derivation.exhausted,
        trusted=lambda derivation: derivation.expectation == target and _agrees_with_quadrature(derivation),
    )


def _encode(derivation: Derivation) -> dict:
    return {
        "expectation": to_tree(derivation.expectation),
        "value": to_tree(derivation.value),
        "rule": derivation.rule,
        "steps": list(derivation.steps),
        "conditions": [[to_tree(c.relation), c.meaning] for c in derivation.conditions],
        "exhausted": derivation.exhausted,
    }


def _decode(data) -> Derivation:
    if not isinstance(data, dict) or set(data) != {"expectation", "value", "rule", "steps", "conditions", "exhausted"}:
        raise SerializationError("not a stored derivation")
    if not (data["rule"] is None or isinstance(data["rule"], str)) or not all(isinstance(x, str) for x in data["steps"]):
        raise SerializationError("not a stored derivation")
    expectation = from_tree(data["expectation"])
    if not isinstance(expectation, GaussianExpectation):
        raise SerializationError("not a stored derivation")
    conditions = tuple(Condition(from_tree(relation), meaning) for relation, meaning in data["conditions"])
    return Derivation(expectation, from_tree(data["value"]), data["rule"], tuple(data["steps"]), conditions, bool(data["exhausted"]))


#: Parameter values at which a stored closed form is compared with quadrature, by the sign the
#: parameter is known to have; all lie in (−1, 1), so they serve as correlations too.
_SPOT_VALUES = {1: (sp.Rational(7, 10), sp.Rational(9, 20)), -1: (sp.Rational(-7, 10), sp.Rational(-9, 20)), 0: (sp.Rational(3, 5), sp.Rational(-7, 20))}
#: Agreement required of a stored closed form with the double-precision rule (which reaches ~1e-13 on
#: these integrands split at their kinks); a poisoned formula off by 1e-6 is caught 100 times over.
SPOT_RELATIVE = 1e-8


def _agrees_with_quadrature(derivation: Derivation) -> bool:
    """A stored closed form against double-precision quadrature (:func:`_spot_check`) at two parameter
    points where its conditions hold.

    This is what stops a well-formed cache entry carrying a wrong formula.  An entry with
    no closed form has nothing to compare (trusting it can only cost a proof, never make one).
    """
    if not derivation.closed:
        return True
    if derivation.expectation.integrand.has(sp.DiracDelta):
        return False  # no quadrature for distributions: derive afresh
    try:
        return _spot_check(derivation)
    except (ValueError, TypeError, ArithmeticError):
        return False


def _heaviside(x, at_zero=0.5):
    return 1.0 if x > 0 else 0.0 if x < 0 else at_zero


#: Functions the spot check's double-precision integrands need beyond Python's math module.
_SPOT_FUNCTIONS = {"Heaviside": _heaviside, "sign": lambda x: float((x > 0) - (x < 0))}
#: The spot check's rule: Gauss–Legendre with SPOT_NODES nodes on each smooth piece of [−SPOT_RANGE,
#: SPOT_RANGE] (the Gaussian mass beyond 12 is 4e-33); ~1e-13 on the registered kernels.
SPOT_NODES, SPOT_RANGE = 48, 12.0


@functools.cache
def _legendre() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Gauss–Legendre nodes and weights on [−1, 1] by Newton's method on P_n (Golub & Welsch's
    values to rounding; the usual Chebyshev-like starting points)."""
    n = SPOT_NODES
    nodes, weights = [], []
    for i in range(1, n + 1):
        x = math.cos(math.pi * (i - 0.25) / (n + 0.5))
        for _ in range(100):
            p_prev, p = 1.0, x
            for k in range(2, n + 1):
                p_prev, p = p, ((2 * k - 1) * x * p - (k - 1) * p_prev) / k
            slope = n * (x * p - p_prev) / (x * x - 1)
            step = p / slope
            x -= step
            if abs(step) < 1e-16:
                break
        nodes.append(x)
        weights.append(2 / ((1 - x * x) * slope * slope))
    return tuple(nodes), tuple(weights)


def _gauss_legendre(f, breaks) -> float:
    """∫ f over [−SPOT_RANGE, SPOT_RANGE], split at ``breaks``."""
    nodes, weights = _legendre()
    edges = [-SPOT_RANGE, *sorted(b for b in set(breaks) if -SPOT_RANGE < b < SPOT_RANGE), SPOT_RANGE]
    total = 0.0
    for a, b in zip(edges, edges[1:]):
        half, mid = (b - a) / 2, (a + b) / 2
        total += half * math.fsum(w * f(mid + half * x) for x, w in zip(nodes, weights))
    return total


def _density(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _spot_check(derivation: Derivation) -> bool:
    """The closed form against double-precision Gauss–Legendre quadrature split at the kinks, at two
    parameter points where its conditions hold (milliseconds a point)."""
    from dyncheck.theory.activations import kinks

    e = derivation.expectation
    parameters = sorted(e.free_symbols, key=lambda x: x.name)
    checked = 0
    for index in range(2):
        point = {}
        for x in parameters:
            sign = 1 if x.is_nonnegative else -1 if x.is_nonpositive else 0
            point[x] = _SPOT_VALUES[sign][index]
        if not all(bool(c.relation.subs(point)) for c in derivation.conditions):
            continue
        closed = complex(sp.N(derivation.value.subs(point), 20))
        integrand = e.integrand.subs(point)
        modules = [_SPOT_FUNCTIONS, "math"]
        if e.bivariate:
            u, v = e.variables
            r = float(e.rho.subs(point))
            s = math.sqrt(1 - r * r)
            f = sp.lambdify((u, v), integrand, modules)
            breaks_u = [0.0, *(float(k.subs(point)) for k in kinks(integrand, u))]
            breaks_v = [float(k.subs(point)) for k in kinks(integrand, v)]

            def inner(z1):
                edges = [0.0, *((b - r * z1) / s for b in breaks_v)]
                return _gauss_legendre(lambda z2: f(z1, r * z1 + s * z2) * _density(z2), edges)

            quadrature = _gauss_legendre(lambda z1: inner(z1) * _density(z1), breaks_u)
        else:
            (z,) = e.variables
            f = sp.lambdify(z, integrand, modules)
            breaks = [0.0, *(float(k.subs(point)) for k in kinks(integrand, z))]
            quadrature = _gauss_legendre(lambda x: f(x) * _density(x), breaks)
        if abs(closed - quadrature) > SPOT_RELATIVE * max(abs(quadrature), 1e-3):
            return False
        checked += 1
    return checked > 0


def _domain_conditions(variables, rho) -> list[Condition]:
    """A pair's correlation must lie in [−1, 1] for the expectation to exist."""
    if len(variables) != 2:
        return []
    collected = {"conditions": [], "substitutions": [], "paths": []}
    token = _COLLECTED.set(collected)
    try:
        _require(sp.expand(1 - rho**2), DOMAIN, strict=False, why=f"the correlation {rho} lies outside [−1, 1]")
    finally:
        _COLLECTED.reset(token)
    return collected["conditions"]


def _almost_everywhere(expr: sp.Expr) -> sp.Expr:
    """The same function up to a null set: Max/Min with a kink as steps (max(x, 0) = x·H(x)), and powers of a step
    reduced, H(x)ⁿ = H(x) (n ≥ 1) — so relu(u)²·relu(v)² and u²H(u)·v²H(v) are one integrand."""
    expr = expr.replace(lambda e: isinstance(e, (sp.Max, sp.Min)), lambda e: e.rewrite(sp.Heaviside))
    return expr.replace(
        lambda e: e.is_Pow and isinstance(e.base, sp.Heaviside) and e.exp.is_Integer and e.exp > 0,
        lambda e: e.base,
    )


def _derive(integrand: sp.Expr, variables: tuple[sp.Symbol, ...], rho: sp.Expr, time_limit_s: float) -> Derivation:
    """:func:`expect`'s strategies in turn, each under ``time_limit_s`` of CPU time."""
    target = GaussianExpectation(integrand, variables, rho)
    try:
        domain = _domain_conditions(variables, rho)
    except NoClosedForm as why:
        return Derivation(target, target, None, (f"undefined: {why}",))
    if not integrand.has(*variables):
        return Derivation(target, integrand, "constant", ("the integrand does not depend on the variables",), tuple(domain))

    steps: list[str] = []
    normalised = _almost_everywhere(integrand)
    if normalised != integrand:
        steps.append(f"almost everywhere: max(x, 0) = x·H(x) and H(x)ⁿ = H(x), so the integrand is {normalised}")
    exhausted = False
    for rule, attempt in _strategies(normalised, variables, rho):
        collected = {"conditions": list(domain), "substitutions": [], "paths": []}
        token = _COLLECTED.set(collected)
        try:
            with time_limit(time_limit_s) as enforced:
                value = attempt(steps)
                conditions = _state_conditions(collected)
            if not enforced:
                steps.append(f"{rule}: ran without a time limit (not in the main thread)")
        except NotElementary as why:
            steps.append(f"{rule}: no elementary closed form ({why})")
            break
        except NoClosedForm as why:
            steps.append(f"{rule}: does not apply ({why})")
            continue
        except SymbolicTimeout:
            exhausted = True
            steps.append(f"{rule}: budget exhausted after {time_limit_s:g} s of CPU time (undecided, not 'no closed form')")
            continue
        except Exception as error:  # noqa: BLE001 - SymPy's integrator raises internal errors
            steps.append(f"{rule}: failed inside SymPy ({type(error).__name__})")
            continue
        finally:
            _COLLECTED.reset(token)
        if value.has(sp.nan, sp.zoo) or value.has(sp.Integral):
            steps.append(f"{rule}: produced an indeterminate form, discarded")
            continue
        steps.append(f"{rule}: closed form derived")
        for condition in conditions:
            steps.append(f"{rule}: holds where {condition.relation} ({condition.meaning})")
        return Derivation(target, _simplify(value, steps), rule, tuple(steps), conditions)
    if exhausted:
        steps.append("no closed form found within the budget: the expectation is left for quadrature")
    else:
        steps.append("no closed form: the expectation is left for quadrature")
    return Derivation(target, target, None, tuple(steps), (), exhausted)
