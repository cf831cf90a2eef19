"""dyncheck.theory.kernels: derived layer maps, their diagonal, the NTK's depth recurrence."""

import pytest
import sympy as sp

from dyncheck.proofs_check.claims import REGISTRY

from dyncheck.theory.activations import activation
from dyncheck.theory.symbols import CHI_1, DEPTH, Q1, Q2, Q_STAR
from dyncheck.theory.kernels import diagonal_gain, diagonal_map, layer_maps, ntk_diagonal, ntk_diagonal_by_recurrence


@pytest.mark.parametrize("name", ["relu", "erf", "abs", "leaky_relu", "sin", "cos", "gaussian", "step", "monomial"])
def test_layer_maps_are_derived_and_their_diagonal_is_the_q_map(name):
    maps = layer_maps(activation(name).expr())
    assert maps.closed
    on_diagonal, q_map = diagonal_map(maps)
    assert sp.simplify(on_diagonal - q_map) == 0


@pytest.mark.parametrize("name", ["relu", "erf", "abs", "sin"])
def test_ntk_gain_on_the_diagonal_is_chi_1(name):
    gain, chi_1 = diagonal_gain(layer_maps(activation(name).expr()))
    assert sp.simplify(gain - chi_1) == 0


def test_ntk_diagonal_solves_its_recurrence_and_is_linear_at_the_edge_of_chaos():
    assert sp.simplify(ntk_diagonal_by_recurrence() - ntk_diagonal(Q_STAR, CHI_1, DEPTH)) == 0
    assert sp.simplify(ntk_diagonal_by_recurrence(sp.Integer(1)) - Q_STAR * (DEPTH + 1)) == 0
    assert sp.simplify(sp.limit(ntk_diagonal(Q_STAR, CHI_1, DEPTH), CHI_1, 1) - Q_STAR * (DEPTH + 1)) == 0
    # negative control: the gradient rule Θ ∝ χ₁^L is not a solution
    assert sp.simplify(ntk_diagonal_by_recurrence() - Q_STAR * CHI_1**DEPTH) != 0


def test_relu_layer_map_is_the_arc_cosine_kernel_for_unequal_variances():
    # Cho & Saul (2009), from the claim registry: √(q₁q₂) × the unit-variance arc-cosine kernels of orders 1 and 0
    nngp, slope = layer_maps(activation("relu").expr()).values()
    arc_cosine = sp.sqrt(Q1 * Q2) * REGISTRY["gaussian.relu_arccos_kernel"].literature
    order_zero = REGISTRY["gaussian.relu_derivative_kernel"].literature
    assert sp.simplify((nngp - arc_cosine).rewrite(sp.acos)) == 0
    assert sp.simplify((slope - order_zero).rewrite(sp.acos)) == 0
    # negative control: the arc-cosine kernel of order 0 is Ṫ, not T
    assert sp.simplify((nngp - order_zero).rewrite(sp.acos)) != 0
