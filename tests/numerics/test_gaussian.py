"""The generated double-precision rule against mpmath (≥ 30 digits), for every activation."""

import numpy as np
import pytest
import sympy as sp

from dyncheck.numerics.gaussian import compile_expectation, expectation_mc, expectation_mp
from dyncheck.theory.activations import ACTIVATIONS, activation
from dyncheck.theory.symbols import Q, RHO, U, V, Z

q = Q
QS = np.array([1e-6, 1e-3, 0.1, 1.0, 10.0, 50.0, 1e3, 1e4])


# Periodic activations oscillate √q/(2π) times per unit of z: the sinh map resolves
# saturating features, not hundreds of periods, so they are held to q ≤ 1 (at q = 10 the error is 2e-9).
OSCILLATORY = {"sin", "cos"}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_one_variable_to_1e12_over_ten_decades(name):
    integrand = activation(name)(sp.sqrt(q) * Z) ** 2
    qs = QS[QS <= 1] if name in OSCILLATORY else QS
    values = compile_expectation(integrand, [q], Z)(qs)
    reference = np.array([float(expectation_mp(integrand, {q: v}, Z, dps=30)) for v in qs])
    assert np.all(np.abs(values - reference) <= 1e-12 * np.abs(reference) + 1e-300)


def test_gauss_hermite_deg25_would_fail_where_we_pass():
    # Negative control: the product rule neural-tangents falls back on is ~5% off for tanh at q = 10.
    x, w = np.polynomial.hermite_e.hermegauss(25)
    gh = np.sum(w * np.tanh(np.sqrt(10.0) * x) ** 2) / np.sqrt(2 * np.pi)
    ours = compile_expectation(sp.tanh(sp.sqrt(q) * Z) ** 2, [q], Z)(10.0)
    reference = float(expectation_mp(sp.tanh(sp.sqrt(q) * Z) ** 2, {q: 10}, Z, dps=30))
    assert abs(gh / reference - 1) > 1e-3
    assert abs(ours / reference - 1) < 1e-13


@pytest.mark.parametrize("name", ["tanh", "relu", "erf", "hard_tanh"])
def test_bivariate_including_rho_near_one(name):
    phi = activation(name)
    integrand = phi(sp.sqrt(q) * U) * phi(sp.sqrt(q) * V)
    pts = [(0.5, 0.3), (2.0, -0.9), (10.0, 0.99), (1.0, 0.999999), (1.0, 1.0)]
    qs, rs = np.array(pts).T
    values = compile_expectation(integrand, [q, RHO], (U, V), RHO)(qs, rs)
    # Reference: at rho = ±1 the pair is degenerate; otherwise the arcsine/arc-cosine closed forms of the
    # claim registry (checked against 40-digit quadrature by `dyncheck verify --profile full`) or mpmath in 1-D.
    from dyncheck.proofs_check.claims import REGISTRY

    a, b = sp.symbols("a b", positive=True)
    literature = {
        "erf": REGISTRY["gaussian.erf_arcsine_kernel"].literature.subs({a: sp.sqrt(q), b: sp.sqrt(q)}),
        "relu": q * REGISTRY["gaussian.relu_arccos_kernel"].literature,
    }
    for (qv, rv), value in zip(pts, values):
        if abs(rv) == 1:
            ref = float(expectation_mp(phi(sp.sqrt(q) * Z) * phi(rv * sp.sqrt(q) * Z), {q: qv}, Z, dps=30))
        elif name in literature:
            ref = float(literature[name].subs({q: qv, RHO: rv}))
        else:
            ref = None
        if ref is not None:
            assert value == pytest.approx(ref, rel=1e-12, abs=1e-14), (qv, rv)
        assert np.isfinite(value)


@pytest.mark.slow
def test_bivariate_tanh_against_nested_mpmath():
    integrand = sp.tanh(sp.sqrt(q) * U) * sp.tanh(sp.sqrt(q) * V)
    value = compile_expectation(integrand, [q, RHO], (U, V), RHO)(2.0, 0.7)
    reference = float(expectation_mp(integrand, {q: 2.0, RHO: 0.7}, (U, V), RHO, dps=20))
    assert value == pytest.approx(reference, rel=1e-12)


def test_monte_carlo_standard_error_covers_truth():
    est = expectation_mc(activation("relu")(sp.sqrt(q) * Z) ** 2, {q: 2.0}, 200_000, seed=1, variables=Z)
    assert abs(est.mean - 1.0) < 4.5 * est.standard_error


def test_dirac_delta_has_no_quadrature():
    with pytest.raises(ValueError, match="Dirac"):
        compile_expectation(sp.DiracDelta(Z), [], Z)


def test_a_closed_form_is_used_only_if_it_compiles_and_agrees_with_quadrature():
    import dataclasses

    from dyncheck.numerics.gaussian import closed_form_rejection, compile_derivation
    from dyncheck.theory.kernels import layer_maps
    from dyncheck.theory.symbols import Q1, Q2, RHO

    derivation = layer_maps(activation("relu").expr()).nngp
    parameters = (Q1, Q2, RHO)
    assert closed_form_rejection(derivation, parameters) is None
    wrong = dataclasses.replace(derivation, value=derivation.value * sp.Rational(101, 100))  # a lost factor of 1 %
    assert "disagree with quadrature" in closed_form_rejection(wrong, parameters)
    uncompilable = dataclasses.replace(derivation, value=derivation.value + sp.polar_lift(RHO) - RHO)  # as sympy.integrate can leave
    assert "NameError: name 'polar_lift'" in closed_form_rejection(uncompilable, parameters)
    # the rejected forms fall back to quadrature, which gives the right values
    points = (np.array([0.6, 2.0]), np.array([1.7, 0.5]), np.array([0.35, -0.9]))
    assert np.allclose(compile_derivation(wrong, parameters)(*points), compile_derivation(derivation, parameters)(*points), rtol=1e-12)
