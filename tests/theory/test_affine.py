"""The slope quotient Λ(z) = (σ(z) − σ(0))/z, its near-zero pieces, and the symbolic decomposition."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from dyncheck.theory.activations import ACTIVATIONS, activation
from dyncheck.theory.affine import SLOPE_RULES, composition_residual, linear_pieces, residual_at_points, slope_quotient, unit_residual
from dyncheck.theory.errors import UsageError
from dyncheck.theory.symbols import X

CONTINUOUS = [name for name in ACTIVATIONS if name not in ("step", "sign")]


@pytest.mark.parametrize("name", CONTINUOUS)
def test_the_taylor_pieces_match_the_quotient_at_their_radius_and_lambda_zero_is_the_slope(name):
    phi = activation(name).expr()
    pieces = slope_quotient(phi)
    r = sp.Rational(pieces.radius)
    for polynomial, side in ((pieces.left, -1), (pieces.right, 1)):
        with mpmath.workdps(40):
            exact = (phi.rewrite(sp.Heaviside).subs(X, side * r) - phi.subs(X, 0)) / (side * r)
            assert abs(float(polynomial.subs(X, side * r) - exact.evalf(40))) <= 1e-17 * (1 + abs(float(exact)))
    f = sp.lambdify(X, phi, "mpmath")  # the one-sided slopes by difference quotients at 60 digits, h = 1e-30
    with mpmath.workdps(60):
        h = mpmath.mpf(10) ** -30
        left, right = (f(-h) - f(0)) / -h, (f(h) - f(0)) / h
        assert abs(pieces.at_zero - (left + right) / 2) <= 1e-25
    assert pieces.cancellation < 20  # the quotient is used only where the subtraction keeps its digits


@pytest.mark.parametrize("name", ["step", "sign"])
def test_an_activation_that_jumps_at_zero_has_no_slope_quotient(name):
    with pytest.raises(UsageError, match="jumps at 0"):
        slope_quotient(activation(name).expr())


def test_the_composition_residual_is_a_combination_of_the_unit_residuals_alone():
    residual = composition_residual((3, 2, 4, 2))
    errors = {s: 0 for s in residual.free_symbols if s.name.startswith("e")}
    assert all(e.xreplace(errors).expand() == 0 for e in residual)
    assert any(e != 0 for e in residual)  # and it does depend on them


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "gelu", "elu", "hard_tanh", "softplus"])
def test_the_quotient_rule_is_exact_and_the_derivative_rule_is_exact_only_for_positively_homogeneous_pieces(name):
    phi = activation(name).expr()
    assert unit_residual(phi, "quotient") == 0
    derivative_residual = unit_residual(phi, "derivative")
    if name == "relu":
        assert derivative_residual == 0
    else:
        assert residual_at_points(derivative_residual) > 1e-3
    assert set(SLOPE_RULES) == {"quotient", "derivative"}


def test_linear_pieces_of_the_relu_family_and_none_for_smooth_activations():
    pieces = linear_pieces(activation("hard_tanh").expr())
    assert [(p.lower, p.upper, p.slope, p.intercept) for p in pieces] == [(-sp.oo, -1, 0, -1), (-1, 1, 1, 0), (1, sp.oo, 0, 1)]
    assert linear_pieces(activation("leaky_relu").expr())[0].slope == sp.Rational(1, 100)
    assert linear_pieces(activation("tanh").expr()) is None and linear_pieces(activation("elu").expr()) is None
