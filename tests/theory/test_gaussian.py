"""The engine derives the literature's closed forms (taken from the claim registry, not retyped); pinned
against mpmath (closed form vs quadrature)."""

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from dyncheck.numerics.codegen import generate
from dyncheck.numerics.gaussian import compile_expectation, evaluate_mp, expectation_mp
from dyncheck.proofs_check.claims import REGISTRY
from dyncheck.proofs_check.strategies import correlations, variances
from dyncheck.theory.activations import activation
from dyncheck.theory.gaussian import _radical_moment, expect
from dyncheck.theory.symbols import Q, RHO, U, V, Z
from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

q = Q
a, b = sp.symbols("a b", positive=True)


def _same(x, y):
    return sp.simplify((x - y).rewrite(sp.asin)) == 0


def test_erf_variance_is_derived_by_price():
    d = expect(activation("erf")(sp.sqrt(q) * Z) ** 2, Z)
    assert d.rule == "price"
    assert _same(d.value, REGISTRY["gaussian.erf_variance"].literature)


def test_arcsine_kernel():
    d = expect(sp.erf(a * U) * sp.erf(b * V), (U, V), RHO)
    assert _same(d.value, REGISTRY["gaussian.erf_arcsine_kernel"].literature)


@pytest.mark.parametrize(
    "name, claim",
    [("relu", "relu_arccos_kernel"), ("abs", "abs_kernel"), ("sign", "sign_kernel"), ("step", "relu_derivative_kernel")],  # H = relu′
)
def test_arc_cosine_family(name, claim):
    phi = activation(name)
    d = expect(phi(U) * phi(V), (U, V), RHO)
    assert d.closed
    assert _same(d.value, REGISTRY[f"gaussian.{claim}"].literature)


def test_no_closed_form_for_tanh_says_so():
    d = expect(sp.tanh(sp.sqrt(q) * Z) ** 2, Z, time_limit_s=3)
    assert d.rule is None and not d.closed
    assert "no closed form" in d.steps[-1]


def test_parity_and_moments():
    assert expect(sp.tanh(q * Z), Z).value == 0
    assert expect(Z**8, Z).value == 105
    assert sp.simplify(expect(U**2 * V**2, (U, V), RHO).value - (1 + 2 * RHO**2)) == 0


@given(variances(1e-3, 1e3))
def test_hard_tanh_variance_matches_quadrature(qv):
    # Closed form first, quadrature second, and a test that they agree (sympy stats/crv pattern).
    d = expect(activation("hard_tanh")(sp.sqrt(q) * Z) ** 2, Z)
    with mpmath.workdps(30):
        closed = evaluate_mp(d.value, {q: qv}, 30).real
        numeric = expectation_mp(activation("hard_tanh")(sp.sqrt(q) * Z) ** 2, {q: qv}, Z, dps=30)
        assert abs(closed - numeric) <= mpmath.mpf("1e-25") * max(1, abs(numeric))


@given(correlations(0.99), st.floats(0.1, 3), st.floats(0.1, 3))
def test_gaussian_kernel_against_joint_moments(rho, av, bv):
    d = expect(sp.exp(-(a**2) * U**2 / 2) * sp.exp(-(b**2) * V**2 / 2), (U, V), RHO)
    value = float(d.value.subs({a: av, b: bv, RHO: rho}))
    assert value == pytest.approx(1 / ((1 + av**2) * (1 + bv**2) - av**2 * bv**2 * rho**2) ** 0.5, rel=1e-13)


@given(st.integers(0, 8), st.integers(-4, 7).filter(lambda p: p <= 0 or p % 2), st.integers(-999, 999))
def test_radical_moments_against_quadrature(m, p, thousandths):
    """J_{m,p}(x) = ∫_0^x τ^m (1 − τ²)^{−p/2} dτ by recurrence, against 30-digit quadrature."""
    t = sp.Symbol("t", real=True)
    closed = _radical_moment(m, p, t, sp.sqrt(1 - t**2))
    with mpmath.workdps(30):
        x = mpmath.mpf(thousandths) / 1000
        value = evaluate_mp(closed, {t: sp.Rational(thousandths, 1000)}, 30).real
        reference = mpmath.quad(lambda s: s**m * (1 - s**2) ** (-mpmath.mpf(p) / 2), [0, x])
        assert abs(value - reference) <= mpmath.mpf("1e-20") * max(1, abs(reference))


def test_gelu_layer_maps_are_derived_and_match_quadrature():
    """GELU = xΦ(x): Price's theorem of order 2, integrated back through the radical moments (no sympy.integrate);
    pinned against the generated double-precision quadrature of the same expectation."""
    x = sp.Symbol("x", real=True)
    gelu = activation("gelu").expr()
    points = [np.array(v) for v in ([1.3, 0.05, 5.0, 2.0], [0.4, 3.0, 5.0, 0.1], [-0.7, 0.2, 0.999, -0.999])]
    for f in (gelu, sp.diff(gelu, x)):
        pair = f.subs(x, a * U) * f.subs(x, b * V)
        d = expect(pair, (U, V), RHO)
        assert d.rule == "price"
        closed = generate(d.value, [a, b, RHO])(*points)
        numeric = compile_expectation(pair, (a, b, RHO), (U, V), RHO)(*points)
        np.testing.assert_allclose(closed, numeric, rtol=1e-12)


def test_time_limit_counts_cpu_time_not_the_wall():
    import time

    with time_limit(0.2):
        time.sleep(0.5)  # waiting is not work: a busy machine must not exhaust a budget
    start = time.process_time()
    with pytest.raises(SymbolicTimeout):
        with time_limit(0.2):
            while time.process_time() < start + 5:
                pass
    assert time.process_time() - start < 1


def test_a_swallowed_timeout_fires_again():
    # SymPy has broad ``except`` clauses: a limit must hold even when its first signal is caught.
    import time

    start = time.monotonic()

    def spin():
        while time.monotonic() < start + 5:
            pass

    with pytest.raises(SymbolicTimeout):
        with time_limit(0.1):
            try:
                spin()
            except SymbolicTimeout:
                pass
            spin()
    assert time.monotonic() - start < 1


@pytest.mark.parametrize("scale, shift", [(2, 1), (1, sp.Rational(-1, 2)), (sp.Rational(1, 3), 3)])
def test_shifted_erf_has_its_classical_closed_form_and_matches_quadrature(scale, shift):
    d = expect(sp.erf(scale * Z + shift), Z)
    assert d.rule == "shift"
    assert sp.simplify(d.value - sp.erf(shift / sp.sqrt(1 + 2 * scale**2))) == 0  # E[erf(az + b)] = erf(b/√(1 + 2a²))
    with mpmath.workdps(30):
        direct = mpmath.quad(lambda x: mpmath.erf(float(scale) * x + float(shift)) * mpmath.npdf(x), [-mpmath.inf, mpmath.inf])
    assert abs(float(direct) - float(d.value)) < 1e-14
    # Stein's lemma through the shift: E[v erf(u + b)] = ρ E[erf′(u + b)]
    stein = expect(V * sp.erf(U + shift), (U, V), RHO)
    assert sp.simplify(stein.value - RHO * 2 / sp.sqrt(3 * sp.pi) * sp.exp(-sp.S(shift) ** 2 / 3)) == 0


def test_spellings_of_relu_powers_give_one_closed_form_and_shifted_cdfs_are_said_to_be_not_elementary():
    reference = expect(U**2 * sp.Heaviside(U) * V**2 * sp.Heaviside(V), (U, V), RHO)
    for spelling in (activation("relu")(U) ** 2 * activation("relu")(V) ** 2, sp.Max(U, 0) ** 2 * sp.Max(V, 0) ** 2):
        d = expect(spelling, (U, V), RHO)
        assert d.closed and sp.simplify(d.value - reference.value) == 0  # Cho & Saul's order-2 arc-cosine kernel
        assert any("almost everywhere" in step for step in d.steps)
    for integrand in (sp.erf(U + 1) * sp.erf(V - sp.Rational(1, 2)), sp.Heaviside(U + 1) * sp.Heaviside(V)):
        d = expect(integrand, (U, V), RHO)
        assert not d.closed and not d.exhausted
        assert any("Owen's T" in step for step in d.steps) and "no closed form" in d.steps[-1]
    assert expect(sp.erf(2 * U) * sp.Heaviside(V), (U, V), RHO).closed  # unshifted: Price's arcsine
