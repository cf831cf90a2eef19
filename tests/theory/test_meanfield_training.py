"""theory.meanfield_training: autocorrelations of circle features, the derived particle flow, the cosine risk."""

from __future__ import annotations

import pytest
import sympy as sp

from dyncheck.theory.errors import UsageError
from dyncheck.theory.meanfield_training import circle_model, cosine_risk, particle_velocity
from dyncheck.theory.symbols import DELTA_ANGLE, LEARNING_RATE_SCALE, TEACHER_ANGLE, TEACHER_SCALE, U



@pytest.mark.parametrize(
    "phi, autocorrelation",
    [
        (sp.sqrt(2) * sp.cos(U), sp.cos(DELTA_ANGLE)),
        (sp.sqrt(2) * sp.cos(U) + sp.cos(2 * U), sp.cos(DELTA_ANGLE) + sp.cos(2 * DELTA_ANGLE) / 2),
        (sp.sin(U) + sp.cos(U) ** 3, sp.Rational(25, 32) * sp.cos(DELTA_ANGLE) + sp.cos(3 * DELTA_ANGLE) / 32),  # Parseval, by hand
    ],
)
def test_autocorrelations_and_the_repulsive_coupling(phi, autocorrelation):
    model = circle_model(phi)
    assert sp.simplify(model.autocorrelation - autocorrelation) == 0
    assert sp.simplify(model.coupling_function + sp.diff(autocorrelation, DELTA_ANGLE)) == 0
    assert model.repulsive and model.slope_at_zero > 0
    rebuilt = sum(c * sp.sin(k * DELTA_ANGLE) for k, c in model.harmonics)
    assert sp.simplify(rebuilt - model.coupling_function) == 0


def test_the_cosine_flow_is_the_pinned_repulsive_kuramoto_model():
    model = circle_model(sp.sqrt(2) * sp.cos(U))
    velocity, (t1, t2) = particle_velocity(model, 1)
    expected = -2 * LEARNING_RATE_SCALE * TEACHER_SCALE * sp.sin(t1 - TEACHER_ANGLE) - LEARNING_RATE_SCALE * sp.sin(t2 - t1)  # K/N = −2ξ/2
    assert sp.expand(sp.expand_trig(velocity - expected)) == 0


def test_the_cosine_risk_is_a_distance_in_the_order_parameter():
    risk, distance = cosine_risk()
    assert sp.simplify(risk - distance) == 0


def test_features_that_are_not_periodic_or_use_other_symbols_are_refused():
    with pytest.raises(UsageError, match="periodic"):
        circle_model(sp.cos(U / 2))
    with pytest.raises(UsageError, match="only u"):
        circle_model(sp.cos(U) * sp.Symbol("q"))


def test_two_layer_model_derives_the_erf_kernel_and_refuses_what_it_cannot_use():
    import mpmath

    from dyncheck.theory.meanfield_training import two_layer_model
    from dyncheck.theory.symbols import Z

    model = two_layer_model(sp.erf(Z), ((1, (2, 0)), (sp.Rational(-1, 2), (0, 1))))
    w, wp = model.first, model.second
    inner = w[0] * wp[0] + w[1] * wp[1]
    expected = 2 / sp.pi * sp.asin(2 * inner / sp.sqrt((1 + 2 * (w[0] ** 2 + w[1] ** 2)) * (1 + 2 * (wp[0] ** 2 + wp[1] ** 2))))
    point = {w[0]: sp.Rational(3, 10), w[1]: sp.Rational(-7, 10), wp[0]: sp.Rational(11, 10), wp[1]: sp.Rational(2, 5)}
    assert abs(sp.N((model.U - expected).subs(point), 30)) < 1e-25
    # U against a 2-D Gauss–Hermite-free route: mpmath's double integral over x ∈ R² of erf(⟨w,x⟩) erf(⟨w′,x⟩) φ(x)
    a, b = (0.3, -0.7), (1.1, 0.4)
    with mpmath.workdps(20):
        density = lambda x, y: mpmath.exp(-(x**2 + y**2) / 2) / (2 * mpmath.pi)
        direct = mpmath.quad(lambda x, y: mpmath.erf(a[0] * x + a[1] * y) * mpmath.erf(b[0] * x + b[1] * y) * density(x, y), [-mpmath.inf, mpmath.inf], [-mpmath.inf, mpmath.inf])
    assert abs(float(direct) - float(model.U.subs(point))) < 1e-10
    # V = −Σ c_k U(w, w*_k), R_# = Σ c_k c_l U(w*_k, w*_l)
    assert sp.simplify(model.V + model.pair(w, (2, 0)) - model.pair(w, (0, 1)) / 2) == 0
    assert sp.simplify(model.baseline - (model.pair((2, 0), (2, 0)) - model.pair((2, 0), (0, 1)) + model.pair((0, 1), (0, 1)) / 4)) == 0
    for activation, teacher, message in (
        (sp.tanh(Z), ((1, (2,)),), "no closed form"),
        (sp.Max(Z, 0), ((1, (2,)),), "no finite gradient"),  # d = 1: asin(w/|w|)
        (sp.Max(Z, 0), ((1, (2, 1)),), "no finite gradient"),  # the diagonal's √(1 − ρ²)
        (sp.erf(Z), ((1, (2,)), (1, (1, 1))), "same number"),
        (sp.erf(Z) + U, ((1, (2,)),), "z only"),
    ):
        with pytest.raises(UsageError, match=message):
            two_layer_model(activation, teacher)


def test_the_balance_a2_minus_w2_is_conserved_exactly_for_homogeneous_activations():
    from dyncheck.theory.meanfield_training import balance_rate
    from dyncheck.theory.symbols import Z

    assert balance_rate() == 0 and balance_rate(sp.Max(Z, 0) - sp.Max(-Z, 0) / 10, 2) == 0  # ReLU, leaky ReLU
    assert balance_rate(sp.tanh(Z), 2) != 0 and balance_rate(sp.Max(Z, 0) ** 2, 2) != 0  # not 1-homogeneous
