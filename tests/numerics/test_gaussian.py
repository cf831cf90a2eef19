"""The generated double-precision rule against mpmath (≥ 30 digits), for every activation."""

import numpy as np
import pytest
import sympy as sp

from dyncheck.numerics.gaussian import compile_expectation, expectation_mc, expectation_mp
from dyncheck.proofs_check.tolerances import tolerance
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


# -- the polar rule: many correlations at one parameter point -------------------------------------
A, B = sp.symbols("a b", real=True)
RHOS = np.cos(np.linspace(0.0, np.pi, 33))  # a column of correlations, −1 and 1 included


def _column(integrand, values):
    """The expectation on one column of correlations (a polar group) and, point by point, by the iterated rule."""
    compiled = compile_expectation(integrand, [A, B, RHO], (U, V), RHO)
    a, b = (np.full(RHOS.shape, x) for x in values)
    one_by_one = np.array([compiled(a[:1], b[:1], RHOS[i : i + 1])[0] for i in range(RHOS.size)])
    return compiled, compiled(a, b, RHOS), one_by_one


@pytest.mark.parametrize("a, b", [(0.3, -0.7), (1.0, 1.5), (2.0, 0.5)])
def test_polar_rule_against_the_closed_form_of_exponentials(a, b):
    # E[e^{au} e^{bv}] = exp((a² + b² + 2abρ)/2) (the bivariate normal's moment generating function)
    compiled, column, one_by_one = _column(sp.exp(A * U) * sp.exp(B * V), (a, b))
    assert compiled._polar is not None
    exact = np.exp((a * a + b * b + 2 * a * b * RHOS) / 2)
    assert np.max(np.abs(column / exact - 1)) <= tolerance("double_quadrature_relative")
    assert np.max(np.abs(one_by_one / exact - 1)) <= tolerance("double_quadrature_relative")
    # negative control: the same column read against ρ in reverse order (θ ↦ π − θ) is far off
    assert np.max(np.abs(column[::-1] / exact - 1)) > 1e-2


def test_polar_rule_with_features_away_from_the_origin():
    # shifted centres: the radius rule is anchored where the circle meets them; against the iterated rule
    integrand = sp.tanh(3 * U + A) * sp.erf(2 * V - B)
    compiled, column, one_by_one = _column(integrand, (1.0, 0.5))
    assert compiled._polar is not None
    assert np.max(np.abs(column - one_by_one)) <= tolerance("double_quadrature_absolute")
    # E[erf(au + c) erf(bv + d)] has no elementary form; E[sin(au) sin(bv)] = e^{−(a² + b²)/2} sinh(abρ) does
    _, column, _ = _column(sp.sin(A * U) * sp.sin(B * V), (1.3, 0.8))
    exact = np.exp(-(1.3**2 + 0.8**2) / 2) * np.sinh(1.3 * 0.8 * RHOS)
    assert np.max(np.abs(column - exact)) <= tolerance("double_quadrature_absolute")


def test_polar_rule_hands_features_too_sharp_for_it_to_the_iterated_rule():
    # erf(100u)erf(100v) (q = 10⁴): the α-grid would need more than POLAR_LAST_GRID points
    compiled, column, _ = _column(sp.erf(A * U) * sp.erf(B * V), (100.0, 100.0))
    assert compiled._polar_group([100.0, 100.0, 0.5], np.arccos(RHOS)) is None
    exact = 2 / np.pi * np.arcsin(2e4 * RHOS / (1 + 2e4))
    assert np.max(np.abs(column - exact)) <= tolerance("double_quadrature_relative")


def test_kinked_or_inseparable_integrands_never_take_the_polar_rule():
    relu = activation("relu")
    assert compile_expectation(relu(U) * relu(V), [RHO], (U, V), RHO)._polar is None
    assert compile_expectation(sp.tanh(U * V), [RHO], (U, V), RHO)._polar is None


def test_a_mixed_batch_takes_each_point_to_its_rule_and_agrees_with_the_iterated_one(monkeypatch):
    integrand = sp.tanh(sp.sqrt(q) * U) * sp.tanh(sp.sqrt(q) * V)
    compiled = compile_expectation(integrand, [q, RHO], (U, V), RHO)
    rng = np.random.default_rng(3)
    qs = np.concatenate([np.full(40, 0.7), rng.uniform(0.1, 5, 7), np.full(9, 2.0)])  # groups of 40 and 9, 7 alone
    rhos = rng.uniform(-1, 1, qs.size)
    groups, polar_group = [], compiled._polar_group
    monkeypatch.setattr(compiled, "_polar_group", lambda values, thetas: groups.append(values[0]) or polar_group(values, thetas))
    batch = compiled(qs, rhos)
    assert sorted(groups) == [0.7, 2.0]
    monkeypatch.undo()
    alone = np.array([compiled(qs[i : i + 1], rhos[i : i + 1])[0] for i in range(qs.size)])
    assert np.max(np.abs(batch - alone)) <= tolerance("double_quadrature_absolute")


def test_polar_rule_resolves_a_narrow_feature_before_trusting_its_coefficients():
    # (a u e^{−a u²/2})(a v e^{−a v²/2}) at a = 100: on a circle of radius r the factor is a spike of width
    # ~1/(√a r) in α, which a coarse grid steps over (it then reads smooth, and converged, and 6e-8 off).
    # E[uv e^{−a(u² + v²)/2}] = ρ / ((1 + a)² − a²ρ²)^{3/2} (Σ(I + aΣ)⁻¹ and det(I + aΣ)^{−1/2}).
    a = 100.0
    integrand = A * U * sp.exp(-A * U**2 / 2) * A * V * sp.exp(-A * V**2 / 2)
    compiled = compile_expectation(integrand, [A, RHO], (U, V), RHO)
    assert compiled._polar is not None
    column = compiled(np.full(RHOS.shape, a), RHOS)
    exact = a * a * RHOS / ((1 + a) ** 2 - a * a * RHOS**2) ** 1.5
    assert np.max(np.abs(column - exact)) <= tolerance("double_quadrature_relative") * np.max(np.abs(exact))


def test_a_feature_of_a_quartic_argument_sets_the_scale_of_both_rules():
    # exp(−a u⁴) changes over a^{−1/4}: with the Gaussian's scale instead both rules erred by 8e-5 at a = 10² (2e-3 at 10⁴)
    a, tol = 1e2, tolerance("super_gaussian_quadrature_relative")
    moment = {k: float(expectation_mp(Z**k * sp.exp(-A * Z**4), {A: a}, Z, dps=20)) for k in (0, 2)}
    assert compile_expectation(sp.exp(-A * Z**4), [A], Z)(a) == pytest.approx(moment[0], rel=tol)
    # E[e^{−a u⁴} v²] = ρ² E[u² e^{−a u⁴}] + (1 − ρ²) E[e^{−a u⁴}] (v = ρu + √(1 − ρ²) w): by the polar rule
    compiled = compile_expectation(sp.exp(-A * U**4) * V**2, [A, RHO], (U, V), RHO)
    assert compiled._polar is not None
    column = compiled(np.full(RHOS.shape, a), RHOS)
    assert np.allclose(column, RHOS**2 * moment[2] + (1 - RHOS**2) * moment[0], rtol=tol, atol=0)
