"""dyncheck.theory.control: the discrete maximum principle, adjoints and LQ control, symbolically."""

import numpy as np
import pytest

from dyncheck.theory.control import (
    Convention,
    bellman_riccati_residual,
    concrete_costate_residuals,
    costate_residuals,
    euler_adjoint_residuals,
    gradient_residuals,
    lq_residuals,
)


def _all_zero(residuals):
    return all(r == 0 for r in np.ravel(np.array(residuals, dtype=object)))


def test_generic_costates_are_minus_the_adjoint_and_a_flipped_sign_is_not():
    assert _all_zero(costate_residuals(3, 2))
    assert not _all_zero(costate_residuals(2, 2, Convention(terminal_sign=+1)))


def test_gradient_is_minus_the_hamiltonian_slope_and_needs_the_one_over_s():
    assert _all_zero(gradient_residuals(2, 2, 2))
    assert not _all_zero(gradient_residuals(2, 2, 2, Convention(sample_power=0)))


@pytest.mark.parametrize("kind", ["dense", "residual"])
def test_tanh_layers_with_symbolic_weights(kind):
    assert _all_zero(concrete_costate_residuals(kind, 2, 2))


def test_euler_adjoint_at_x_t_is_the_costate_and_at_x_t_plus_one_is_not():
    assert _all_zero(euler_adjoint_residuals(3, 2, 0))
    assert not _all_zero(euler_adjoint_residuals(2, 2, 1))


def test_the_riccati_recursion_is_the_bellman_equation_solved():
    assert bellman_riccati_residual() == 0


def test_scalar_lq_riccati_is_pmp():
    controls, costates = lq_residuals(3)
    assert _all_zero(controls) and _all_zero(costates)


def test_the_mean_field_lq_control_solves_its_own_optimality_conditions():
    import sympy as sp

    from dyncheck.theory.control import CONTROL_COST, DRIFT, MEAN_RESIDUAL, mean_field_lq_control
    from dyncheck.theory.symbols import HORIZON, TIME

    theta = mean_field_lq_control()
    s = sp.Symbol("s", real=True)
    shift = sp.integrate(sp.exp(DRIFT * (HORIZON - s)) * theta.subs(TIME, s), (s, 0, HORIZON), conds="none")
    # θ = E_μ[p]/λ with p_t = −(m + c)e^{a(T − t)}: the maximum principle's condition, checked on the result
    assert sp.simplify(theta + (MEAN_RESIDUAL + shift) * sp.exp(DRIFT * (HORIZON - TIME)) / CONTROL_COST) == 0
    # a → 0: G → T, θ* → −m/(λ + T)
    assert sp.simplify(sp.limit(theta, DRIFT, 0) + MEAN_RESIDUAL / (CONTROL_COST + HORIZON)) == 0
