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
