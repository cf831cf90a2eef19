"""SGD's three stability notions in exact arithmetic: the Lyapunov exponent of one-dimensional and commuting
curvatures, Wu, Ma & E's second-moment factor by enumeration and by inclusion probabilities, and their bounds."""

from __future__ import annotations

import itertools
import math

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dyncheck.theory import sgd
from dyncheck.theory.symbols import BATCH_SIZE, NON_UNIFORMITY, SAMPLE_COUNT, SHARPNESS, STEP_SIZE

R = sp.Rational
curvature_lists = st.lists(st.fractions(0, 5, max_denominator=20), min_size=2, max_size=5)


def test_the_exponent_of_a_two_sample_family_is_the_mean_log_factor():
    assert sp.simplify(sgd.lyapunov_exponent([R(21, 20), R(7, 2)], 1, 1) - sp.log(R(1, 8)) / 2) == 0
    assert sgd.lyapunov_exponent([1, 3], 1, 1) == -sp.oo  # sample 1 lands on the minimum
    assert sgd.commuting_lyapunov_exponent([[1, 0], [3, R(1, 2)]], 1, 1) == -sp.log(2) / 2


@settings(max_examples=60, deadline=None)
@given(curvatures=curvature_lists, eta=st.fractions(R(1, 10), 2, max_denominator=10), data=st.data())
def test_the_exact_sign_agrees_with_the_exponent_s_value(curvatures, eta, data):
    batch = data.draw(st.integers(1, len(curvatures)))
    exponent = sgd.lyapunov_exponent(curvatures, eta, batch)
    sign = sgd.lyapunov_sign(curvatures, eta, batch)
    if exponent == -sp.oo:
        assert sign == -1
    elif abs(float(exponent)) > 1e-12:
        assert sign == (1 if float(exponent) > 0 else -1)


@settings(max_examples=60, deadline=None)
@given(curvatures=curvature_lists, eta=st.fractions(R(1, 10), 2, max_denominator=10), data=st.data())
def test_mean_square_stability_implies_almost_sure_stability(curvatures, eta, data):
    """Jensen: E log|1 − ηh| ≤ ½ log E(1 − ηh)²."""
    batch = data.draw(st.integers(1, len(curvatures)))
    exponent = sgd.lyapunov_exponent(curvatures, eta, batch)
    second = sgd.second_moment_factor(curvatures, eta, batch)
    if exponent != -sp.oo:
        assert float(exponent) <= float(sp.log(second)) / 2 + 1e-12


@pytest.mark.parametrize("samples, batch", [(3, 2), (4, 2), (5, 3), (6, 4)])
def test_the_second_moment_has_the_without_replacement_variance_and_not_the_other(samples, batch):
    assert sgd.mean_square_identity_gap(samples, batch) == 0
    assert sgd.mean_square_identity_gap(samples, batch, 1 / BATCH_SIZE) != 0  # negative control (B ≥ 2)


def test_inclusion_probabilities_agree_with_enumeration_beyond_the_claim_s_sizes():
    """E h_ξ² for n = 8, B = 3 (56 batches), numeric curvatures: the general formula against the enumeration."""
    h = [R(k, 3) for k in (1, 4, 2, 9, 7, 3, 5, 8)]
    n, batch = len(h), 3
    enumerated = sum(sum(c) ** 2 for c in itertools.combinations(h, batch)) / (math.comb(n, batch) * batch**2)
    a = sum(h) / n
    s2 = sum(v**2 for v in h) / n - a**2
    formula = sgd.second_moment_by_inclusion().subs({SAMPLE_COUNT: n, BATCH_SIZE: batch, NON_UNIFORMITY: sp.sqrt(s2), SHARPNESS: a})
    assert sp.simplify(formula - enumerated) == 0


def test_the_necessary_bounds_follow_from_the_factor():
    largest_a, largest_s = sgd.mean_square_necessary_bounds()
    assert sp.simplify(largest_a - 2 / STEP_SIZE) == 0
    at = {STEP_SIZE: R(1, 2), SAMPLE_COUNT: 10, BATCH_SIZE: 4}
    assert sp.simplify(largest_s.subs(at) - sp.sqrt(R(4 * 9, 6)) * 2) == 0
    assert sgd.mean_square_factor().subs(at).subs({SHARPNESS: 4, NON_UNIFORMITY: 0}) == 1  # a = 2/η sits on the boundary


def test_a_batch_larger_than_the_samples_is_refused():
    with pytest.raises(ValueError, match="batch of 3 from 2"):
        sgd.batch_means([1, 2], 3)


def test_sgd_s_moment_recursion_averages_the_noise_out():
    m1, m2 = sp.symbols("m1 m2", real=True)
    first, second = sgd.sgd_moment_recursion()
    a, s_m, s_a = symbols_of_model()
    assert sp.expand(first - (1 - STEP_SIZE * a) * m1) == 0
    assert sp.expand(second - (((1 - STEP_SIZE * a) ** 2 + STEP_SIZE**2 * a**2 * s_m) * m2 + STEP_SIZE**2 * s_a)) == 0


def symbols_of_model():
    from dyncheck.theory.symbols import ADDITIVE_NOISE, CURVATURE, MULTIPLICATIVE_NOISE

    return CURVATURE, MULTIPLICATIVE_NOISE, ADDITIVE_NOISE


def test_the_sme_moments_solve_their_equations():
    from dyncheck.theory.symbols import START, TIME

    a, s_m, s_a = symbols_of_model()
    mean, square = sgd.sme_moments(sp.Rational(1, 4))
    drift = a + STEP_SIZE * a**2 / 2
    assert sp.simplify(sp.diff(mean, TIME) + drift * mean) == 0 and mean.subs(TIME, 0) == START
    assert sp.simplify(sp.diff(square, TIME) - (-2 * drift * square + STEP_SIZE * (a**2 * s_m * square + s_a))) == 0
    assert sp.simplify(square.subs(TIME, 0) - START**2) == 0


@pytest.mark.parametrize("correction, order", [(0, 1), (sp.Rational(1, 4), 2), (sp.Rational(1, 2), 1)])
def test_only_the_quarter_correction_gains_an_order(correction, order):
    assert {sgd.weak_error_order(correction, moment)[0] for moment in (1, 2)} == {order}


def test_the_optimal_schedule_is_full_rate_then_a_harmonic_decay_and_solves_the_hjb_equation():
    from dyncheck.theory.symbols import ADDITIVE_NOISE, CURVATURE, HORIZON, START, SWITCHING_TIME, TIME

    schedule = sgd.optimal_schedule()
    a, scale = CURVATURE, STEP_SIZE * ADDITIVE_NOISE
    assert sp.simplify(schedule.feedback - a * sp.Symbol("m", positive=True) / scale) == 0
    assert sp.simplify(schedule.annealing - 1 / (1 + a * (TIME - SWITCHING_TIME))) == 0
    assert sp.simplify(schedule.switching_time - sp.log((2 * a * START**2 - scale) / scale) / (2 * a)) == 0
    assert sp.simplify(schedule.terminal - scale / (a * (1 + a * (HORIZON - SWITCHING_TIME)))) == 0
    assert sp.simplify(schedule.early_switching_time - (1 - scale / (a * START**2)) / a) == 0
    assert sgd.schedule_hjb_residuals() == [0] * 7
