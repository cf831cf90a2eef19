import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from dyncheck.proofs_check.parser import ParseError, parse_assumption, parse_expression
from dyncheck.theory.gaussian import GaussianExpectation


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "x.real",
        "(lambda: 1)()",
        "x**99999",
        "[1, 2]",
        "open('f')",
        "x if x else 1",
        "'abc'",
        "f(x)",
        "tanh",
        "a" * 40,
        "+".join(["x"] * 500),
        "E(x, (u, u), rho)",
        "1 +",
        "tanh(x, y=1)",
    ],
)
def test_rejects_with_one_line(text):
    with pytest.raises(ParseError) as info:
        parse_expression(text)
    assert "\n" not in str(info.value)


def test_builds_sympy_objects_directly():
    e = parse_expression("E(relu(sqrt(q)*z)**2, z) + leaky_relu(x, 0.2)")
    assert e.atoms(GaussianExpectation)
    assert parse_expression("2**3 + pi") == 8 + sp.pi


@given(st.text(max_size=60))
def test_never_raises_anything_but_parse_error(text):
    try:
        parse_expression(text)
    except ParseError:
        pass


def test_assumptions():
    a = parse_assumption("-1 < rho < 1")
    assert (a.lower, a.upper) == (-1, 1)
    assert parse_assumption("q > 0").symbol().is_positive
    for bad in ("q == 0", "1 < 2", "q > x", "2 < q < 1"):
        with pytest.raises(ParseError):
            parse_assumption(bad)
