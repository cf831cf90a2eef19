"""Chebyshev tables against their evaluators, and the failures they must not hide."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dyncheck.numerics.chebyshev import TableError, tabulate
from dyncheck.numerics.gaussian import compile_expectation
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.theory.symbols import Z

q = sp.Symbol("q", positive=True)
TOL = tolerance("chebyshev_table_relative")


@pytest.fixture(scope="module")
def tanh_second_moment():
    direct = compile_expectation(sp.tanh(sp.sqrt(q) * Z) ** 2, [q], Z)
    return direct, tabulate(direct, [(1e-6, 1e4)])


def test_one_parameter_table_is_relative_over_ten_decades(tanh_second_moment):
    direct, table = tanh_second_moment
    x = np.exp(np.random.default_rng(3).uniform(np.log(1e-6), np.log(1e4), 4000))
    x = np.concatenate([x, [1e-6, 1e4]])
    assert np.max(np.abs(table(x) / direct(x) - 1)) <= TOL
    assert table.axes[0].coordinate == "log"
    assert table.verified_error <= TOL


def _erf_kernel():
    """The arcsine kernel E[erf(√q u) erf(√q v)] (Williams 1997), from the claim registry (a = b = √q), compiled."""
    import sympy as sp

    from dyncheck.numerics.codegen import generate
    from dyncheck.proofs_check.claims import REGISTRY
    from dyncheck.theory.symbols import Q, RHO

    a, b = sp.symbols("a b", positive=True)
    return generate(REGISTRY["gaussian.erf_arcsine_kernel"].literature.subs({a: sp.sqrt(Q), b: sp.sqrt(Q)}), (Q, RHO))


erf_kernel = _erf_kernel()


@pytest.fixture(scope="module")
def erf_table():
    return tabulate(erf_kernel, [(1e-2, 1e2), (-1, 1)], [None, "angle"])


@settings(max_examples=50, deadline=None)
@given(
    st.floats(np.log(1e-2), np.log(1e2)),
    st.floats(-1, 1),
)
def test_two_parameter_table_matches_the_kernel(erf_table, log_q, rho):
    qv = np.clip(np.exp(log_q), 1e-2, 1e2)  # exp(log(100)) rounds to just above 100
    value, exact = erf_table(qv, rho), erf_kernel(qv, rho)
    # relative away from the kernel's zero at ρ = 0, absolute (to the kernel's scale) next to it
    assert abs(value - exact) <= TOL * max(abs(exact), abs(erf_kernel(qv, 1.0)) * 1e-2)


def test_two_parameter_table_vectorized_at_the_edges(erf_table):
    qs = np.array([1e-2, 1e2, 1.0, 1.0, 7.0])
    rs = np.array([-1.0, 1.0, 0.0, 1e-9, -0.3])
    exact = erf_kernel(qs, rs)
    assert np.allclose(erf_table(qs, rs), exact, rtol=TOL, atol=1e-16)


def test_a_jump_is_refused_not_smoothed():
    # Negative control: a discontinuity has no convergent Chebyshev series on any cell around it.
    with pytest.raises(TableError, match="could not reach"):
        tabulate(lambda x: np.sign(x - 0.3), [(-1.0, 1.0)])


def test_values_outside_the_domain_are_refused(tanh_second_moment):
    _, table = tanh_second_moment
    with pytest.raises(ValueError, match="outside the table's domain"):
        table(np.array([1.0, 2e4]))
    with pytest.raises(ValueError, match="outside the table's domain"):
        table(np.nan)


def test_a_non_finite_function_is_refused():
    with pytest.raises(TableError, match="not finite"):
        tabulate(lambda x: np.where(x > 0.5, np.nan, x), [(-1.0, 1.0)])


@pytest.mark.parametrize(
    "coordinate, domain",
    [("log", (-1.0, 1.0)), ("angle", (0.0, 2.0)), ("cubic", (0.0, 1.0))],
)
def test_bad_coordinates_are_refused(coordinate, domain):
    with pytest.raises(ValueError):
        tabulate(np.cos, [domain], [coordinate])


def test_a_kernel_held_to_its_diagonal_is_tabulated_up_to_its_zero():
    # The arcsine kernel vanishes at ρ = 0, an edge of this domain: relative to itself the
    # table cannot close in on the zero, relative to its diagonal K(q, 1) (a Cauchy–Schwarz
    # bound) it need not.
    domain, coordinates = [(1e-2, 1e2), (0.0, 1.0)], [None, "angle"]
    with pytest.raises(TableError, match="could not reach"):
        tabulate(erf_kernel, domain, coordinates, degree=32)
    held = tabulate(erf_kernel, domain, coordinates, degree=32, magnitude=lambda qv, rho: erf_kernel(qv, 1.0))
    assert held.cells <= 8
    rng = np.random.default_rng(5)
    qs, rs = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), 5000)), rng.uniform(0, 1, 5000)
    assert np.max(np.abs(held(qs, rs) - erf_kernel(qs, rs)) / erf_kernel(qs, 1.0)) <= TOL
    assert held.verified_error <= TOL


def test_a_magnitude_must_be_positive():
    with pytest.raises(TableError, match="magnitude must be positive"):
        tabulate(np.sin, [(0.0, 1.0)], magnitude=lambda x: x - 0.5)


def _stored_tables(directory):
    return sorted((directory / "chebyshev").glob("*.json"))


def test_a_named_table_is_kept_on_disk_read_back_identical_and_checked(tmp_path, monkeypatch):
    from dyncheck.theory.cache import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.setattr("dyncheck.theory.cache._remember", lambda namespace, digest, result: result)  # read the disk each time
    calls = []

    def kernel(qv, rho):
        calls.append(qv.size)
        return erf_kernel(qv, rho)

    key = ("test", "erf kernel")
    built = tabulate(kernel, [(1e-2, 1e2), (-1, 1)], [None, "angle"], key=key)
    (entry,) = _stored_tables(tmp_path)
    x = (np.geomspace(1e-2, 1e2, 7)[:, None] * np.ones(5)).ravel(), np.tile(np.linspace(-1, 1, 5), 7)
    calls.clear()
    read = tabulate(kernel, [(1e-2, 1e2), (-1, 1)], [None, "angle"], key=key)
    assert sum(calls) == 2 * read.cells  # only the check at each cell's two off-node points
    assert np.array_equal(read(*x), built(*x)) and read.verified_error == built.verified_error
    # another domain, accuracy or degree is another table
    tabulate(kernel, [(1e-2, 1e1), (-1, 1)], [None, "angle"], key=key)
    assert len(_stored_tables(tmp_path)) == 2
    # damaged: rebuilt
    entry.write_text("{}")
    calls.clear()
    tabulate(kernel, [(1e-2, 1e2), (-1, 1)], [None, "angle"], key=key)
    assert sum(calls) > 10 * built.cells


def test_a_planted_table_with_a_valid_checksum_is_caught_by_its_check(tmp_path, monkeypatch):
    import json

    from dyncheck.theory.cache import CACHE_ENV, _checksum

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.setattr("dyncheck.theory.cache._remember", lambda namespace, digest, result: result)
    direct = compile_expectation(sp.tanh(sp.sqrt(q) * Z) ** 2, [q], Z)
    good = tabulate(direct, [(1e-3, 1e3)], key=("test", "tanh"))
    (entry,) = _stored_tables(tmp_path)
    stored = json.loads(entry.read_text())
    stored["payload"]["_coefficients"][2][0] *= 1 + 1e-9  # a one-part-in-1e9 error in one cell
    stored["checksum"] = _checksum(stored["payload"])
    entry.write_text(json.dumps(stored))
    again = tabulate(direct, [(1e-3, 1e3)], key=("test", "tanh"))
    x = np.geomspace(1e-3, 1e3, 301)
    assert np.array_equal(again(x), good(x))  # built afresh, not read
    assert json.loads(entry.read_text())["payload"] == json.loads(json.dumps(good.to_data()))


def test_a_table_is_not_stored_unless_its_check_passes(tmp_path, monkeypatch):
    from dyncheck.theory.cache import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.setattr("dyncheck.numerics.chebyshev.TRUSTED_ERROR", 1e-6)  # no table can meet 1e-6 × rtol
    tabulate(np.exp, [(0.0, 1.0)], key=("test", "exp"))
    assert _stored_tables(tmp_path) == []
