"""Stability thresholds of optimizers: derived and proved by SymPy, checked against the spectral radius of the
linearised map in double precision (an independent route: eigenvalues, not the Jury conditions)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dyncheck.proofs_check.claims import REGISTRY
from dyncheck.theory import gradient_descent as gdt
from dyncheck.theory.symbols import CURVATURE, DISPLACEMENT, MOMENTUM, SHARPENING_RATE, SHARPNESS_EXCESS, STABILISATION_STRENGTH, STEP_SIZE

CLAIMED = {
    "gd": "gradient_descent.gd_threshold",
    "heavy-ball": "gradient_descent.heavy_ball_threshold",
    "nesterov": "gradient_descent.nesterov_threshold",
    "adam": "gradient_descent.adam_threshold",
}


@pytest.mark.parametrize("name", list(gdt.OPTIMIZERS))
def test_every_threshold_is_derived_proved_and_the_literature_s(name):
    derived = gdt.derive_threshold(name)
    assert derived.proved, derived.reason
    assert sp.simplify(derived.bound - REGISTRY[CLAIMED[name]].literature) == 0
    assert sp.simplify(gdt.readable(derived.bound) - derived.bound) == 0


def test_the_heavy_ball_map_is_torch_s_convention():
    # v' = βv + λθ, θ' = θ − ηv' on (θ, v)
    eta, lam, beta = STEP_SIZE, CURVATURE, MOMENTUM
    expected = sp.Matrix([[1 - eta * lam, -eta * beta], [lam, beta]])
    assert sp.simplify(gdt.linearised_map("heavy-ball") - expected) == sp.zeros(2, 2)


def test_a_map_of_degree_three_is_left_unproved(monkeypatch):
    def two_buffers(theta, state, gradient, eta, beta):
        v, w = state
        v = beta * v + gradient
        w = beta * w + v
        return theta - eta * w, (v, w)

    monkeypatch.setitem(gdt.OPTIMIZERS, "double", gdt.Optimizer("double", two_buffers, 2, "test"))
    derived = gdt.derive_threshold("double")
    assert not derived.proved and "degree 3" in derived.reason and derived.bound is None


def test_a_wrong_domain_claim_is_not_proved(monkeypatch):
    # momentum beyond 1 (β ← 2β on [0, 1)) breaks |p(0)| < 1: the proof must fail, not pass
    def overshoot(theta, state, gradient, eta, beta):
        return gdt.heavy_ball(theta, state, gradient, eta, 2 * beta)

    monkeypatch.setitem(gdt.OPTIMIZERS, "overshoot", dataclasses.replace(gdt.OPTIMIZERS["heavy-ball"], name="overshoot", step=overshoot))
    assert not gdt.derive_threshold("overshoot").proved


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(list(gdt.OPTIMIZERS)), beta=st.floats(0, 0.95), side=st.sampled_from([-1, 1]), gap=st.floats(1e-3, 0.5))
def test_the_spectral_radius_crosses_one_at_the_threshold(name, beta, side, gap):
    bound = float(gdt.derive_threshold(name).bound.subs(MOMENTUM, beta))
    matrix = sp.lambdify((STEP_SIZE, CURVATURE, MOMENTUM), gdt.linearised_map(name))
    x = bound * (1 + side * gap)
    radius = max(abs(np.linalg.eigvals(np.array(matrix(x, 1.0, beta), float))))
    assert (radius < 1) == (side < 0), (x, bound, radius)


def test_the_least_squares_limit_interpolates_inside_the_start_s_row_space_coset():
    x, y = sp.Matrix([[1, 0, 2, 1], [0, 1, -1, 3]]), sp.Matrix([2, -1])
    fit, off_rows = gdt.least_squares_limit_residuals(x, y, gdt.least_squares_limit)
    assert fit.is_zero_matrix and off_rows.is_zero_matrix
    fit, off_rows = gdt.least_squares_limit_residuals(x, y, lambda x, y, w0: x.pinv() * y)  # forgets w₀
    assert fit.is_zero_matrix and not off_rows.is_zero_matrix
    fit, _ = gdt.least_squares_limit_residuals(x, y, lambda x, y, w0: w0)  # never moves
    assert not fit.is_zero_matrix


def test_a_balanced_linear_mode_learns_along_saxe_s_logistic_equation():
    from dyncheck.theory.symbols import INITIAL_STRENGTH, SINGULAR_VALUE, TIME, TIME_CONSTANT

    assert gdt.balanced_mode_residual(2) == (0, 0)
    assert gdt.balanced_mode_residual(1)[1] != 0
    u = gdt.mode_strength(2)
    ode = TIME_CONSTANT * sp.diff(u, TIME) - 2 * u * (SINGULAR_VALUE - u)
    assert sp.simplify(ode) == 0 and sp.simplify(u.subs(TIME, 0) - INITIAL_STRENGTH) == 0
    assert sp.limit(u, TIME, sp.oo) == SINGULAR_VALUE


def test_the_hard_margin_svm_is_the_kkt_point():
    points = sp.Matrix([[1, 0], [sp.Rational(1, 2), 1], [2, 1], [1, 2]])
    w, multipliers = gdt.hard_margin_svm(points)
    assert list(w) == [1, sp.Rational(1, 2)] and multipliers == {0: sp.Rational(3, 4), 1: sp.Rational(1, 2)}
    assert min(points * w) == 1
    with pytest.raises(ValueError, match="not separable"):
        gdt.hard_margin_svm(sp.Matrix([[1, 0], [-1, 0]]))


def test_the_cubic_taylor_step_is_the_self_stabilisation_map_only_with_the_coefficient_one_half():
    assert gdt.cubic_step_residuals() == (0, 0)
    coefficient = sp.Symbol("c")
    displacement_gap, excess_gap = gdt.cubic_step_residuals(coefficient)
    assert displacement_gap == 0 and sp.solve(excess_gap, coefficient) == [sp.Rational(1, 2)]


def test_the_cycle_average_of_the_map_balances_sharpening_against_the_cubic_term():
    alpha, beta = SHARPENING_RATE, STABILISATION_STRENGTH
    assert sp.simplify(gdt.cycle_mean_square() - 2 * alpha / beta) == 0
    assert sp.simplify(gdt.cycle_mean_square(1) - alpha / beta) == 0


@settings(max_examples=40, deadline=None)
@given(x=st.floats(-1, 1), y=st.floats(-1, 1), eta=st.floats(0.01, 1), alpha=st.floats(1e-3, 1), beta=st.floats(1e-3, 10), steps=st.integers(1, 6))
def test_the_map_s_excess_telescopes(x, y, eta, alpha, beta, steps):
    """y_T − y_0 = η(Tα − ½β Σ x_t²) along every orbit: the identity the cycle average rests on, in exact rationals
    (whose digits double each step, hence the short orbits)."""
    symbols = (DISPLACEMENT, SHARPNESS_EXCESS, STEP_SIZE, SHARPENING_RATE, STABILISATION_STRENGTH)
    rule = gdt.self_stabilisation_map()
    values = [sp.Rational(v) for v in (x, y, eta, alpha, beta)]
    xs, ys = [values[0]], [values[1]]
    for _ in range(steps):
        nx, ny = rule.xreplace(dict(zip(symbols, [xs[-1], ys[-1], *values[2:]])))
        xs.append(nx)
        ys.append(ny)
    eta_, alpha_, beta_ = values[2:]
    assert ys[-1] - ys[0] == eta_ * (steps * alpha_ - beta_ * sum(v**2 for v in xs[:-1]) / 2)
