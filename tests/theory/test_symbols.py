"""Symbols declared once, formulas written once: theory instantiates them, numerics compiles the same ones."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dyncheck.numerics.codegen import generate
from dyncheck.numerics.meanfield import functions_for
from dyncheck.theory import symbols
from dyncheck.theory.activations import activation
from dyncheck.theory.kernels import layer_maps
from dyncheck.theory.kuramoto import DENSITIES, QUANTILES
from dyncheck.theory.meanfield import EXPECTATIONS, FORMULAS, mean_field
from dyncheck.theory.symbols import LEVEL, OMEGA, Q, RHO, SIGMA_B2, SIGMA_W2, C


def test_each_printed_name_is_one_symbol():
    names = [getattr(symbols, n).name for n in symbols.__all__]
    assert len(names) == len(set(names))


def test_the_q_map_of_two_topics_is_one_expression():
    """The erf q-map of mean-field theory minus the NNGP map on the diagonal is 0 (one σ_b², one q)."""
    phi = activation("erf").expr()
    maps = layer_maps(phi)
    nngp_on_diagonal = SIGMA_W2 * maps.nngp.value.subs({symbols.Q1: Q, symbols.Q2: Q}).subs(RHO, 1) + SIGMA_B2
    assert sp.simplify(mean_field(phi).q_map - nngp_on_diagonal) == 0


@pytest.mark.parametrize("name", ["erf", "relu"])
def test_theory_instantiates_the_formulas_numerics_compiles(name):
    """MeanField's maps are FORMULAS with each expectation replaced by its derivation; numerics' compiled
    formula agrees with the instantiated closed form to rounding."""
    theory = mean_field(activation(name).expr(), name)
    functions = functions_for(theory)
    q, c, sw2, sb2 = np.array([0.3, 1.7]), np.array([0.2, 0.9]), np.array([1.1, 2.5]), np.array([0.05, 0.4])
    cases = {
        "q_map": (theory.q_map, (q, sw2, sb2), (Q, SIGMA_W2, SIGMA_B2)),
        "c_map": (theory.c_map, (q, c, sw2, sb2), (Q, C, SIGMA_W2, SIGMA_B2)),
        "chi_c": (theory.chi_c, (q, c, sw2), (Q, C, SIGMA_W2)),
        "xi_q": (theory.xi_q, (q, sw2 / 4), (Q, SIGMA_W2)),
    }
    for formula, (instantiated, values, args) in cases.items():
        assert not instantiated.atoms(sp.core.function.AppliedUndef)
        direct = generate(instantiated, args)(*values)
        compiled = functions.formula(formula)(*values)
        assert np.allclose(compiled, direct, rtol=1e-13, atol=0), formula


def test_a_formula_with_an_unbound_expectation_is_refused():
    with pytest.raises(ValueError, match="no implementation of second_moment"):
        generate(FORMULAS["q_map"], (Q, SIGMA_W2, SIGMA_B2))
    bound = generate(FORMULAS["q_map"], (Q, SIGMA_W2, SIGMA_B2), implementations={"second_moment": lambda q: q / 2})
    assert bound(2.0, 3.0, 0.5) == 3.5
    assert set(EXPECTATIONS) >= {f.func.__name__ for e in FORMULAS.values() for f in e.atoms(sp.core.function.AppliedUndef)}


def test_the_operators_backend_compiles_arithmetic_alone():
    a, b = sp.symbols("a b")
    assert generate(a * b**2 + 1, (a, b), "operators")(np.array([2.0]), 3.0)[0] == 19.0
    with pytest.raises(ValueError, match="arithmetic alone"):
        generate(sp.sin(a), (a,), "operators")
    with pytest.raises(ValueError, match="arithmetic alone"):
        generate(sp.sqrt(a), (a,), "operators")
    assert generate(sp.Tuple(a + b, a * b), (a, b), "operators")(2.0, 3.0) == (5.0, 6.0)
    with pytest.raises(ValueError, match="arithmetic alone"):
        generate(sp.Tuple(a, sp.exp(b)), (a, b), "operators")


def test_a_generated_tuple_broadcasts_each_part():
    a, b = sp.symbols("a b")
    first, second = generate(sp.Tuple(a * b, sp.exp(b)), (a, b))(np.arange(3.0), 1.0)
    assert np.allclose(first, [0, 1, 2]) and np.allclose(second, [np.e] * 3)


@pytest.mark.parametrize("name", sorted(QUANTILES))
def test_each_quantile_function_inverts_its_density(name):
    """dG⁻¹/dp · g(G⁻¹(p)) = 1 and G⁻¹(½) = 0: the quantile function belongs to its density (negative control:
    another density's quantile function fails)."""
    g = DENSITIES[name]()
    for p in (sp.Rational(1, 7), sp.Rational(1, 2), sp.Rational(5, 6)):
        for other, quantile in QUANTILES.items():
            at = {LEVEL: p, **{s: sp.Rational(3, 2) for s in (symbols.GAMMA, symbols.SIGMA, symbols.DELTA)}}
            value = float(generate((sp.diff(quantile, LEVEL) * g.subs(OMEGA, quantile)).subs(at), ())())
            if other == name:
                assert abs(value - 1) < 1e-12  # double precision, a few operations
            elif p != sp.Rational(1, 2):
                assert abs(value - 1) > 1e-3
        assert QUANTILES[name].subs(LEVEL, sp.Rational(1, 2)) == 0
