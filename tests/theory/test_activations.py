import re
from pathlib import Path

import pytest
import sympy as sp

from dyncheck.theory.activations import ACTIVATIONS, ALIASES, activation, derivative, kinks
from dyncheck.theory.symbols import X

README = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()) / "README.md"


def test_registry_matches_readme():
    """Every registered activation is documented in the README's table, and nothing else is."""
    text = README.read_text()
    section = text.split("<!-- activations -->")[1].split("<!-- /activations -->")[0]
    documented = set(re.findall(r"^\| `([a-z_]+)`", section, flags=re.M))
    assert documented == set(ACTIVATIONS)


def test_family_members_are_parameters_of_one_shape():
    assert sp.simplify(activation("leaky_relu").expr(0) - activation("relu").expr()) == 0
    assert sp.simplify(activation("leaky_relu").expr(-1) - activation("abs").expr()) == 0


def test_kinks_are_derived():
    assert kinks(activation("relu").expr()) == (0,)
    assert kinks(activation("hard_tanh").expr()) == (-1, 1)
    assert kinks(activation("tanh").expr()) == ()
    assert kinks(sp.Max(X, 2 * X - 1)) == (1,)


def test_aliases_resolve():
    for alias, name in ALIASES.items():
        assert activation(alias) is ACTIVATIONS[name]


def test_pointwise_values():
    values = {"relu": (-1.5, 0.0), "abs": (-1.5, 1.5), "hard_tanh": (-3, -1), "sign": (-2, -1), "step": (-2, 0), "elu": (-1, sp.exp(-1) - 1)}
    for name, (x, expected) in values.items():
        assert sp.simplify(activation(name).expr().subs(X, x) - expected) == 0, name


@pytest.mark.parametrize(
    "name, first, second",
    [
        ("relu", sp.Heaviside(X), sp.DiracDelta(X)),
        ("abs", 2 * sp.Heaviside(X) - 1, 2 * sp.DiracDelta(X)),
        ("hard_tanh", sp.Heaviside(X + 1) - sp.Heaviside(X - 1), sp.DiracDelta(X + 1) - sp.DiracDelta(X - 1)),
        ("linear", sp.S.One, sp.S.Zero),
    ],
)
def test_distributional_derivatives_drop_vanishing_delta_terms(name, first, second):
    phi = activation(name).expr()
    assert sp.simplify(derivative(phi) - first) == 0
    assert sp.simplify(derivative(phi, order=2) - second) == 0


def test_a_smooth_factor_on_a_delta_derivative_is_moved_by_parts():
    # relu‴ = 3δ′ + x·δ″ by the product rule, and x·δ″(x) = −2δ′(x), so relu‴ = δ′
    reduced = derivative(X * sp.Heaviside(X), order=3)
    assert sp.simplify(reduced - sp.DiracDelta(X, 1)) == 0
    assert sp.simplify(sp.diff(X * sp.Heaviside(X), X, 3) - sp.DiracDelta(X, 1)) != 0  # negative control
