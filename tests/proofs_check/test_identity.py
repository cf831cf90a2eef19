"""The identity checker: every verdict means what it says on the declared domain.

Each case of the soundness audit is pinned here: false identities that were once
proved or verified, a true one that was once refuted, and inputs that must be refused.
"""

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dyncheck.proofs_check.identity import check_identity, domain_points, implied, judge_point
from dyncheck.proofs_check.parser import Assumption, ParseError, parse_assumption
from dyncheck.proofs_check.testing import assert_identity


def test_proves_williams_erf_variance():
    r = check_identity("E(erf(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+2*q))", ["q > 0"])
    assert r.verdict == "proved"


def test_refutes_a_relative_error_of_1e8():
    # Negative control of the checker: a formula off by 1e-8 must be refuted.
    r = check_identity("E(erf(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+2*q))*(1 + 1e-8)", ["q > 0"])
    assert r.verdict == "refuted" and r.counterexample


def test_verifies_tanh_identity_without_closed_form():
    r = check_identity("E(tanh(sqrt(q)*z)**2, z)", "1 - E(1/cosh(sqrt(q)*z)**2, z)", ["1/10 < q < 10"], points=1)
    assert r.verdict == "verified", r.reason


def test_refutes_tanh_claim_without_closed_form():
    r = check_identity("E(tanh(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+2*q))", ["1/10 < q < 10"], points=1)
    assert r.verdict == "refuted"


def test_inconclusive_when_nowhere_defined():
    r = check_identity("log(-1 - q**2) + 1/(q - q)", "0", ["q > 0"], points=1)
    assert r.verdict == "inconclusive"


def test_assert_identity_for_users():
    assert_identity("E(relu(sqrt(q)*z)**2, z)", "q/2", assume=["q > 0"])
    with pytest.raises(AssertionError, match="refuted"):
        assert_identity("E(relu(sqrt(q)*z)**2, z)", "q/3", assume=["q > 0"])


# --- false identities once proved or verified -------------------------------------------

@pytest.mark.parametrize(
    "lhs, rhs, assume, why",
    [
        ("E(exp(q*z**2), z)", "1/sqrt(1 - 2*q)", ["q > 0"], "diverges"),  # divergent for q ≥ 1/2
        ("exp(q)", "exp(q) + 1", ["q > 100"], "nonzero constant"),
        ("sqrt(q**2)", "q", ["q > -0.00005"], "persists"),  # the hole just above an open bound
        ("q + Heaviside(q - 2000)", "q", ["q > 0"], "persists"),  # nothing was sampled beyond lo + 1000
        ("exp(-q)", "0", ["q > exp(1000)"], "persists"),  # a bound beyond a float
        ("q*(1 + 10**-30)", "q", ["q > 0"], "persists"),  # a relative 1e-30 that 40 digits resolve
        ("Heaviside(q)*q", "q", [], "persists"),  # an unconstrained variable's negative side
        ("Abs(q - 3) + Abs(r)", "q - 3 + r", ["q > 1", "r > -2"], "persists"),  # two variables
        ("max(q, 7/3)", "q", ["q > 2"], "persists"),  # one side of a breakpoint only
        ("q**3", "q**3 + 10**-40*q**3", ["q > 1"], "persists"),
        ("q**2 + 1", "q**2 + 1 + Heaviside(q - 10**30)", ["q > 0"], "although the sides agree"),  # 1 on top of 10⁶⁰ (found by hypothesis)
    ],
)
def test_false_identities_are_refuted(lhs, rhs, assume, why):
    r = check_identity(lhs, rhs, assume, points=2)
    assert r.verdict == "refuted", r.reason
    assert why in r.reason or why in str(r.counterexample)


def test_the_counterexample_lies_inside_the_domain():
    r = check_identity("sqrt(q**2)", "q", ["q > -0.00005"], points=2)
    point = sp.Rational(r.counterexample["point"]["q"])
    assert -sp.Rational(5, 100000) < point < 0


def test_a_true_identity_with_cancellation_is_not_refuted():
    # 1 − erf(1000) cancels to 0 at any practical precision; erfc(1000) ≈ 1.9e-434298.
    r = check_identity("erfc(q)", "1 - erf(q)", ["q > 0"], points=2)
    assert r.verdict == "verified", r.reason
    inside = check_identity("(1 - erf(q))*exp(q**2)", "erfc(q)*exp(q**2)", ["q > 0"], points=2)
    assert inside.verdict == "verified" and inside.ill_conditioned  # reported, never a counterexample


def test_conditional_closed_forms_are_proved_only_where_their_conditions_hold():
    r = check_identity("E(exp(q*z**2), z)", "1/sqrt(1 - 2*q)", ["0 < q < 1/2"])
    assert r.verdict == "proved" and r.conditions and all(c["implied"] for c in r.conditions)
    bivariate = check_identity("E(erf(a*u)*erf(b*v), (u, v), rho)", "2/pi*asin(2*a*b*rho/sqrt((1 + 2*a**2)*(1 + 2*b**2)))", ["a > 0", "b > 0", "-1 <= rho <= 1"])
    assert bivariate.verdict == "proved", bivariate.reason


@pytest.mark.parametrize(
    "lhs, rhs, assume",
    [
        ("E(relu(z), z)", "0", ["z > 0"]),  # an assumption on the variable integrated over
        ("q", "q", ["1 < q < 1"]),  # an empty domain
        ("q", "q", ["q > 2", "q < 1"]),
        ("e", "1", []),  # ambiguous: Euler's number or a parameter
        ("(((((3**64)**64)**64)**64)**64)**64", "1", []),
        ("monomial(3, 10**30)", "1", []),
        ("E(E(z, z), z)", "0", []),
    ],
)
def test_bad_input_is_refused_before_any_work(lhs, rhs, assume):
    with pytest.raises(ParseError) as info:
        check_identity(lhs, rhs, assume)
    assert "\n" not in str(info.value)


def test_evaluation_that_would_not_end_is_stopped_by_its_cpu_budget(monkeypatch):
    monkeypatch.setattr("dyncheck.proofs_check.identity.POINT_SECONDS", 1.0)
    monkeypatch.setattr("dyncheck.proofs_check.identity.SIMPLIFY_SECONDS", 1.0)
    r = check_identity("sin(exp(10**30))", "0")
    assert r.verdict == "inconclusive" and r.ill_conditioned


# --- the covering and the point judge -------------------------------------------------------

def test_the_covering_approaches_bounds_down_to_the_working_precision_and_goes_far_out():
    points = domain_points({"q": parse_assumption("q > 2")}, randoms=0)
    values = [p["q"] for p, _ in points]
    assert min(values) - 2 <= sp.Rational(2, 10**36)
    assert max(values) >= sp.Integer(10) ** 300
    two = domain_points({"a": Assumption("a"), "b": parse_assumption("0 < b < 1")}, randoms=0)
    assert len(two) >= len(domain_points({"a": Assumption("a")}, randoms=0))


def test_escalation_tells_rounding_from_a_real_difference():
    q = sp.Symbol("q", positive=True)
    real = judge_point(q * (1 + sp.Rational(1, 10**30)), q, {q: sp.Rational(1, 3)})
    rounding = judge_point(sp.sin(q) ** 2 + sp.cos(q) ** 2, sp.S.One, {q: sp.Rational(1, 3)})
    assert real.outcome == "differ" and len(real.differences) >= 2
    assert rounding.outcome == "agree"


def test_implication_of_conditions():
    q, rho = sp.Symbol("q", positive=True), sp.Symbol("rho", real=True)
    domain = {q: parse_assumption("0 < q < 1/2"), rho: parse_assumption("-1 <= rho <= 1")}
    assert implied(sp.Gt(1 - 2 * q, 0), domain)
    assert implied(sp.Ge(1 - rho**2, 0), domain)
    assert not implied(sp.Gt(1 - 3 * q, 0), domain)  # fails at q = 0.4
    assert not implied(sp.Gt(1 - 2 * q, 0), {q: parse_assumption("q > 0")})


# --- properties -----------------------------------------------------------------------------

_BASES = ["q**2 + 1", "exp(-q) + q", "q/(1 + q**2)", "sqrt(q) + 2", "log(1 + q) + 1"]
_PERTURBATIONS = [
    "Heaviside(q - {c})",  # a step far inside the domain
    "10**-{k}*q",  # a tiny relative factor
    "max(0, q - {c})",  # a ramp beyond a point
    "exp(-(q - {c})**2)",  # a bump
    "Heaviside(q - 10**{k})",  # a far-out step
]


@settings(deadline=None)  # examples from the profile: 15 by default, 40 in CI, 300 with HYPOTHESIS_PROFILE=thorough
@given(st.sampled_from(_BASES), st.sampled_from(_PERTURBATIONS), st.integers(1, 25), st.integers(3, 30))
def test_a_perturbation_nonzero_in_the_domain_is_never_accepted(base, perturbation, c, k):
    delta = perturbation.format(c=c, k=k)
    r = check_identity(base, f"{base} + {delta}", ["q > 0"], points=0)
    assert r.verdict not in ("proved", "verified"), (base, delta, r.reason)


_REWRITINGS = [
    ("(q + 1)**2", "q**2 + 2*q + 1"),
    ("exp(2*q)", "exp(q)**2"),
    ("sin(2*q)", "2*sin(q)*cos(q)"),
    ("1/(1 + q) + q/(1 + q)", "1"),
    ("erfc(q) + erf(q)", "1"),
    ("sqrt(q**2)", "Abs(q)"),
    ("max(q, 1) + min(q, 1)", "q + 1"),
]


@settings(deadline=None)
@given(st.sampled_from(_REWRITINGS), st.sampled_from([[], ["q > 0"], ["-3 < q < 5"]]))
def test_true_identities_are_never_refuted(pair, assume):
    r = check_identity(*pair, assume, points=1)
    assert r.verdict in ("proved", "verified"), r.reason


def test_the_check_command_reports_the_worst_point_and_verify_the_first():
    """erf's variance map against a wrong denominator: the sides differ everywhere, least at small q; the command
    (worst=True) names the point of largest difference, q = 1e100 where the sides tend to 1 and (2/π)asin(2/3)."""
    from dyncheck.proofs_check.identity import check_identity

    lhs, rhs = "E(erf(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+3*q))"
    first = check_identity(lhs, rhs, ["q > 0"])
    worst = check_identity(lhs, rhs, ["q > 0"], worst=True)
    assert first.verdict == worst.verdict == "refuted" and len(first.points) == 1
    assert worst.counterexample["relative_difference"] == max(p["relative_difference"] for p in worst.points)
    assert worst.counterexample["relative_difference"] > 5 * first.counterexample["relative_difference"]
    assert "q = 1e+100" in worst.reason and "largest of" in worst.reason


def test_worst_also_weighs_points_where_only_the_exact_difference_differs():
    """1 on top of q² + 1 beyond q = 10³⁰: the sides agree to their size, LHS − RHS = −H(q − 10³⁰) does not.
    The first such point refutes; with ``worst`` every one is judged and the largest part of the sides is shown."""
    lhs, rhs = "q**2 + 1", "q**2 + 1 + Heaviside(q - 10**30)"
    first = check_identity(lhs, rhs, ["q > 0"])
    worst = check_identity(lhs, rhs, ["q > 0"], worst=True)
    assert first.verdict == worst.verdict == "refuted"
    assert "largest of" in worst.reason and "largest of" not in first.reason
    assert worst.counterexample["relative_difference"] >= first.counterexample["relative_difference"]
