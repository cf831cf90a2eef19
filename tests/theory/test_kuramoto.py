"""dyncheck.theory.kuramoto: the Ott–Antonsen solution, the self-consistency equation, critical couplings."""

import mpmath
import pytest
import sympy as sp

from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.theory.kuramoto import critical_coupling, gaussian, lorentzian, ott_antonsen_rate, ott_antonsen_solution, self_consistency
from dyncheck.theory.symbols import GAMMA, OMEGA, R0, SIGMA, K, R, TIME


def _self_consistency_mp(coupling, width, r):
    """dyncheck.theory.kuramoto.self_consistency for the Lorentzian, its integral by mpmath's quadrature."""
    expression = self_consistency(lorentzian()).subs({K: coupling, GAMMA: width})
    integral = expression.atoms(sp.Integral).pop()
    ((theta, lower, upper),) = integral.limits
    f = sp.lambdify((theta, R), integral.function, "mpmath")
    lo, hi = (mpmath.mpf(str(sp.N(bound, 40))) for bound in (lower, upper))
    return coupling * r * mpmath.quad(lambda th: f(th, r), [lo, 0, hi])


def test_the_ott_antonsen_solution_solves_the_reduced_ode():
    solution = ott_antonsen_solution()
    assert sp.simplify(sp.diff(solution, TIME) - ott_antonsen_rate().subs(R, solution)) == 0
    assert sp.simplify(solution.subs(TIME, 0) - R0) == 0
    assert sp.limit(solution.subs({K: 3, GAMMA: 1}), TIME, sp.oo) == sp.sqrt(sp.Rational(1, 3))


def test_critical_couplings_from_the_self_consistency_slope():
    assert critical_coupling(lorentzian()) == 2 * GAMMA
    assert sp.simplify(critical_coupling(gaussian()) - SIGMA * sp.sqrt(8 / sp.pi)) == 0


def test_the_lorentzian_steady_state_satisfies_the_self_consistency_equation():
    # an independent route: the self-consistency integral at 30 digits, at r∞ = √(1 − 2γ/K)
    with mpmath.workdps(30):
        for coupling, width in [(3, 1), (2.5, 0.5), (10, 2)]:
            r_inf = mpmath.sqrt(1 - mpmath.mpf(2 * width) / coupling)
            rhs = _self_consistency_mp(coupling, width, r_inf)
            assert abs(rhs - r_inf) <= tolerance("high_precision_relative") * r_inf
            # negative control: a plausible slip, r = √(1 − γ/K), does not satisfy it
            wrong = mpmath.sqrt(1 - mpmath.mpf(width) / coupling)
            assert abs(_self_consistency_mp(coupling, width, wrong) - wrong) > 1e-3 * wrong


@pytest.mark.parametrize("density", [lorentzian(), gaussian()])
def test_densities_are_normalised(density):
    assert sp.simplify(sp.integrate(density, (OMEGA, -sp.oo, sp.oo))) == 1


def test_the_order_parameter_rewrite_holds():
    from dyncheck.theory.kuramoto import order_parameter_residual

    assert order_parameter_residual(4) == 0


def test_the_ott_antonsen_manifold_is_invariant_and_reduces_to_the_published_rate():
    from dyncheck.theory.kuramoto import (
        ott_antonsen_amplitude_equations,
        ott_antonsen_order_parameter_equation,
    )

    _, _, residuals = ott_antonsen_amplitude_equations(6)
    assert residuals and all(r == 0 for r in residuals)
    r_dot, psi_dot = ott_antonsen_order_parameter_equation()
    assert sp.simplify(r_dot - ott_antonsen_rate()) == 0 and psi_dot == 0
    # a density without a pole in the upper half plane cannot be closed by residues
    with pytest.raises(ValueError, match="upper half plane"):
        ott_antonsen_order_parameter_equation(gaussian())


def test_the_closed_form_lorentzian_self_consistency_matches_quadrature():
    from dyncheck.theory.kuramoto import lorentzian_self_consistency

    closed = sp.lambdify((K, GAMMA, R), lorentzian_self_consistency(), "mpmath")
    with mpmath.workdps(30):
        for coupling, width, r in [(3, 1, 0.3), (2.5, 0.5, 0.9), (10, 2, 0.05)]:
            numeric = _self_consistency_mp(coupling, width, mpmath.mpf(r))
            assert abs(closed(coupling, width, mpmath.mpf(r)) - numeric) <= tolerance("high_precision_relative") * numeric


def test_uniform_frequencies_jump_to_pi_over_4_at_k_c():
    from dyncheck.theory.kuramoto import uniform, uniform_locked_branch
    from dyncheck.theory.symbols import DELTA

    coupling, order, theta0 = uniform_locked_branch()
    assert sp.simplify(coupling.subs(theta0, sp.pi / 2) - critical_coupling(uniform())) == 0
    assert sp.simplify(order.subs(theta0, sp.pi / 2)) == sp.pi / 4
    # K(θ₀) falls as θ₀ grows to π/2: no branch below K_c, the onset is a jump
    slope = sp.simplify(sp.diff(coupling, theta0))
    assert all(slope.subs({theta0: t, DELTA: 1}) < 0 for t in (0.3, 1.0, 1.5))


def test_degenerate_graphons_have_their_spectrum_in_closed_form():
    import sympy as sp

    from dyncheck.theory.errors import UsageError
    from dyncheck.theory.kuramoto import GRAPHON_VARIABLES, checked_graphon, separable_graphon_spectrum

    x, y = GRAPHON_VARIABLES
    assert separable_graphon_spectrum(x * y) == [sp.Rational(1, 3)]  # ∫₀¹ y·y dy, eigenfunction x
    assert sorted(separable_graphon_spectrum((1 + sp.cos(2 * sp.pi * (x - y))) / 2)) == [sp.Rational(1, 4), sp.Rational(1, 4), sp.Rational(1, 2)]
    rank_two = separable_graphon_spectrum((x + y) / 2)
    assert {sp.nsimplify(v) for v in rank_two} == {sp.Rational(1, 4) + sp.sqrt(3) / 6, sp.Rational(1, 4) - sp.sqrt(3) / 6}
    assert separable_graphon_spectrum(sp.exp(-((x - y) ** 2))) is None  # not a finite sum of products
    with pytest.raises(UsageError, match="symmetric"):
        checked_graphon(x * y**2)
    with pytest.raises(UsageError, match="undefined"):
        checked_graphon(x / sp.Integer(0))
