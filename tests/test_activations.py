import re
from pathlib import Path

import sympy as sp

from theory.activations import ACTIVATIONS, ALIASES, X, activation, kinks

README = Path(__file__).resolve().parents[1] / "README.md"


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
