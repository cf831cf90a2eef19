"""dyncheck.theory.meanfield: closed forms of the maps, the critical line, the q-map's slope."""

from __future__ import annotations

import sympy as sp

from dyncheck.proofs_check.claims import REGISTRY

from dyncheck.theory.activations import activation
from dyncheck.theory.symbols import Q, SIGMA_B2, SIGMA_W2
from dyncheck.theory.meanfield import mean_field


def _theory(name):
    return mean_field(activation(name).expr(), name)


def test_relu_closed_forms():
    t = _theory("relu")
    assert sp.simplify(t.chi_1 - SIGMA_W2 / 2) == 0
    assert sp.simplify(t.fixed_point() - SIGMA_B2 / (1 - SIGMA_W2 / 2)) == 0
    line = t.critical_line()
    assert line.is_point and line.sigma_w2 == 2


def test_erf_critical_line_closed_form():
    line = _theory("erf").critical_line()
    assert line.closed
    sigma_w2, sigma_b2 = REGISTRY["meanfield.erf_critical_line"].literature  # Pennington et al. 2017's line, from the registry
    assert sp.simplify(line.sigma_w2 - sigma_w2) == 0 and sp.simplify(line.sigma_b2 - sigma_b2) == 0


def test_q_map_slope_is_derivative_of_q_map():
    # Gaussian integration by parts: χ₁ + σ_w² E[φ″φ] = ∂(q-map)/∂q (negative control: χ₁ alone)
    t = _theory("erf")
    assert sp.simplify(t.q_map_slope - sp.diff(t.q_map, Q)) == 0
    assert sp.simplify(t.chi_1 - sp.diff(t.q_map, Q)) != 0
