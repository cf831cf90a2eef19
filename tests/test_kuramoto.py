"""Kuramoto theory: the Ott–Antonsen solution, the self-consistency equation, critical couplings."""

import mpmath
import numpy as np
import pytest
import sympy as sp

from proofs_check.tolerances import tolerance
from theory.kuramoto import (
    GAMMA,
    OMEGA,
    R0,
    SIGMA,
    K,
    R,
    T,
    critical_coupling,
    gaussian,
    lorentzian,
    ott_antonsen_rate,
    ott_antonsen_solution,
    self_consistency,
)


def test_the_ott_antonsen_solution_solves_the_reduced_ode():
    solution = ott_antonsen_solution()
    assert sp.simplify(sp.diff(solution, T) - ott_antonsen_rate().subs(R, solution)) == 0
    assert sp.simplify(solution.subs(T, 0) - R0) == 0
    assert sp.limit(solution.subs({K: 3, GAMMA: 1}), T, sp.oo) == sp.sqrt(sp.Rational(1, 3))


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


def _self_consistency_mp(coupling, width, r):
    """theory.kuramoto.self_consistency for the Lorentzian, its integral by mpmath's quadrature."""
    expression = self_consistency(lorentzian()).subs({K: coupling, GAMMA: width})
    integral = expression.atoms(sp.Integral).pop()
    ((theta, lower, upper),) = integral.limits
    f = sp.lambdify((theta, R), integral.function, "mpmath")
    lo, hi = (mpmath.mpf(str(sp.N(bound, 40))) for bound in (lower, upper))
    return coupling * r * mpmath.quad(lambda th: f(th, r), [lo, 0, hi])


@pytest.mark.parametrize("density", [lorentzian(), gaussian()])
def test_densities_are_normalised(density):
    assert sp.simplify(sp.integrate(density, (OMEGA, -sp.oo, sp.oo))) == 1


def test_simulated_lorentzian_population_reaches_the_ott_antonsen_steady_state():
    from numerics.kuramoto import lorentzian_quantiles, simulate_all_to_all

    n, width, coupling = 2000, 0.5, 2.0
    times, r = simulate_all_to_all(lorentzian_quantiles(n, width), coupling, 60.0, 0.05, seed=1)
    r_inf = float(sp.sqrt(1 - 2 * GAMMA / K).subs({GAMMA: width, K: coupling}))
    bound = tolerance("finite_population_r") / np.sqrt(n)
    assert abs(r[times >= 40].mean() - r_inf) <= bound
    # negative control: r = √(1 − γ/K) is far outside the finite-size band
    assert abs(r[times >= 40].mean() - np.sqrt(1 - width / coupling)) > 5 * bound


def test_gaussian_population_is_incoherent_below_and_coherent_above_k_c():
    from numerics.kuramoto import gaussian_quantiles, simulate_all_to_all

    n = 2000
    k_c = float(critical_coupling(gaussian()).subs(SIGMA, 1))
    omega = gaussian_quantiles(n, 1.0)
    below = simulate_all_to_all(omega, 0.75 * k_c, 60.0, 0.05, seed=2)[1][-400:].mean()
    above = simulate_all_to_all(omega, 1.5 * k_c, 60.0, 0.05, seed=2)[1][-400:].mean()
    assert below <= 5 * tolerance("finite_population_r") / np.sqrt(n) < 0.3 <= above


def test_bad_populations_are_refused():
    from numerics.kuramoto import lorentzian_quantiles, simulate_all_to_all

    with pytest.raises(ValueError, match="at least 2"):
        lorentzian_quantiles(1, 0.5)
    with pytest.raises(ValueError, match="non-negative"):
        simulate_all_to_all(np.zeros(4), -1.0, 1.0, 0.1)
