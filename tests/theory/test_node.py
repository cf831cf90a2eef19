"""theory.node: the variational equation, closed-form flows, exact isotonic projections, the delay equation's thresholds
and its exact method of steps."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from dyncheck.theory.errors import UsageError
from dyncheck.theory.node import (
    characteristic_roots,
    closed_form_flow,
    delayed_exponential,
    digits_for,
    evaluate_piece,
    history_coefficients,
    isotonic_projection,
    liouville_residuals,
    method_of_steps,
    polynomial_pieces,
    sign_on_piece,
    sign_threshold,
    stability_threshold,
)
from dyncheck.theory.node import _optimal_block
from dyncheck.theory.symbols import DIVERGENCE_INTEGRAL, HISTORY_TIME, STATE, TIME, X


def test_liouville_holds_for_the_exponential_and_fails_for_its_linearisation():
    assert liouville_residuals(sp.exp(DIVERGENCE_INTEGRAL)) == (0, 0)
    assert liouville_residuals(1 + DIVERGENCE_INTEGRAL)[0] != 0
    assert liouville_residuals(2 * sp.exp(DIVERGENCE_INTEGRAL))[1] != 0


@pytest.mark.parametrize("field", [sp.Rational(-3, 2) * STATE + 1, STATE * (1 - STATE)])
def test_closed_form_flows_have_the_exponential_of_their_divergence_as_derivative(field):
    flow = closed_form_flow(field)
    assert sp.simplify(flow.flow.subs(TIME, 0) - X) == 0
    assert sp.simplify(flow.derivative - sp.exp(flow.divergence_integral)) == 0


def test_a_field_with_branches_of_flow_is_refused():
    with pytest.raises(UsageError):
        closed_form_flow(-STATE**3)


# -------------------------------------------------------------------------------- isotonic


def _guess(pieces, blocks):
    return isotonic_projection(pieces, blocks, 1e-3)


def test_the_isotonic_projection_of_x_squared_pools_minus_one_to_one_half():
    projection = _guess(polynomial_pieces(X**2, -1, 1), [(-1.0, 0.5002)])
    assert projection.blocks == ((-1, sp.Rational(1, 2), sp.Rational(1, 4)),)
    assert projection.distance_squared == sp.Rational(9, 80)


def test_abs_is_split_at_zero_and_its_block_ends_at_root_two_minus_one():
    pieces = polynomial_pieces(sp.Abs(X), -1, 2)
    assert pieces.breaks == (-1, 0, 2) and pieces.continuous
    projection = _guess(pieces, [(-1.0, 0.4141)])
    assert sp.simplify(projection.blocks[0][1] - (sp.sqrt(2) - 1)) == 0
    assert sp.simplify(projection.distance_squared - (2 - 4 * sp.sqrt(2) / 3)) == 0


def test_an_interior_block_is_solved_by_resultants():
    # x³ − x on [−1.5, 1.5]: one interior block [−1, 1] at level 0
    projection = _guess(polynomial_pieces(X**3 - X, -1.5, 1.5), [(-0.9999, 0.9999)])
    assert projection.blocks == ((-1, 1, 0),) and projection.distance_squared == sp.Rational(16, 105)


def test_wrong_guesses_and_discontinuous_targets_get_no_exact_projection():
    assert _guess(polynomial_pieces(X**2, -1, 1), [(-1.0, 0.7)]) is None  # no block end near 0.7
    assert polynomial_pieces(sp.sin(X), -1, 1) is None
    assert not polynomial_pieces(sp.Heaviside(X), -1, 1).continuous
    assert isotonic_projection(polynomial_pieces(sp.Heaviside(X), -1, 1), [], 1e-3) is None


def test_the_optimality_check_refutes_a_block_with_the_wrong_level():
    pieces = polynomial_pieces(X**2, -1, 1)
    assert _optimal_block(pieces, (sp.Integer(-1), sp.Rational(1, 2), sp.Rational(1, 4)))
    assert not _optimal_block(pieces, (sp.Integer(-1), sp.Rational(1, 2), sp.Rational(1, 2)))


# ---------------------------------------------------------------------------- delay equation


def test_the_thresholds_are_derived_and_distinct():
    assert sign_threshold() == sp.exp(-1)
    assert stability_threshold() == sp.pi / 2


@given(st.floats(0.01, 3.0))
def test_lambert_roots_solve_the_characteristic_equation(a_tau):
    for w in characteristic_roots(a_tau):
        with mpmath.workdps(30):
            assert abs(w + a_tau * mpmath.exp(-w)) < 1e-25  # λτ = −aτ e^{−λτ}
    real = any(mpmath.im(w) == 0 for w in characteristic_roots(a_tau, (0, -1)))
    assert real == (a_tau <= math.exp(-1))


def test_the_exact_method_of_steps_matches_the_closed_form():
    pieces = method_of_steps(Fraction(1, 2), Fraction(1), [Fraction(1)], 6)
    for k in range(6):
        exact = evaluate_piece(pieces[k], Fraction(1, 2))
        assert abs(float(exact) - float(delayed_exponential(0.5, 1.0, k + 0.5))) < 1e-15
    assert pieces[0] == [1, Fraction(-1, 2)]  # x = 1 − t/2 on [0, τ]


def test_a_polynomial_history_is_shifted_to_the_local_variable():
    assert history_coefficients(HISTORY_TIME**2 + 1, sp.Integer(2)) == [5, -4, 1]  # (v − 2)² + 1
    with pytest.raises(UsageError):
        history_coefficients(sp.exp(HISTORY_TIME), sp.Integer(1))


def test_the_global_series_cancels_in_double_precision_and_the_local_steps_do_not():
    a, t = 1.2, 59.5
    reference = delayed_exponential(a, 1.0, t, digits_for(a, t + 1) + 10)
    series_in_double = sum((-a) ** k * (t - (k - 1)) ** k / math.factorial(k) for k in range(int(t) + 2))
    local_in_double = evaluate_piece(method_of_steps(a, 1.0, [1.0], 60)[59], 0.5)
    assert abs(series_in_double - float(reference)) > 1e3 * abs(float(reference))
    assert abs(local_in_double - float(reference)) < 1e-12 * abs(float(reference))


def test_bernstein_certificates_of_sign():
    assert sign_on_piece([Fraction(1), Fraction(-1), Fraction(1, 4)], Fraction(1)) == 1  # (1 − u/2)² + … > 0 on [0, 1]
    assert sign_on_piece([Fraction(1, 10), Fraction(-1)], Fraction(1)) == -1
    assert sign_on_piece([Fraction(1), Fraction(-2), Fraction(1)], Fraction(1)) in (None, -1, 1)  # (1 − u)²: a double root at the end
    below = method_of_steps(Fraction(36, 100), Fraction(1), [Fraction(1)], 25)
    above = method_of_steps(Fraction(38, 100), Fraction(1), [Fraction(1)], 25)
    assert all(sign_on_piece(p, Fraction(1)) == 1 for p in below)
    assert any(sign_on_piece(p, Fraction(1)) == -1 for p in above)
