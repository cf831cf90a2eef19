import pytest

from proofs_check.identity import check_identity
from proofs_check.testing import assert_identity


def test_proves_williams_erf_variance():
    r = check_identity("E(erf(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+2*q))", ["q > 0"])
    assert r.verdict == "proved"


def test_refutes_a_relative_error_of_1e8():
    # Negative control of the checker: a formula off by 1e-8 must be refuted.
    r = check_identity("E(erf(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+2*q))*(1 + 1e-8)", ["q > 0"])
    assert r.verdict == "refuted" and r.counterexample


def test_verifies_tanh_identity_without_closed_form():
    r = check_identity("E(tanh(sqrt(q)*z)**2, z)", "1 - E(1/cosh(sqrt(q)*z)**2, z)", ["q > 0"], points=4)
    assert r.verdict == "verified"


def test_refutes_tanh_claim_without_closed_form():
    r = check_identity("E(tanh(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+2*q))", ["q > 0"], points=4)
    assert r.verdict == "refuted"


def test_inconclusive_when_nowhere_defined():
    r = check_identity("sqrt(-1 - q**2)", "sqrt(-1 - q**2)*(1+1e-9)", ["q > 0"], points=2)
    assert r.verdict in ("inconclusive", "refuted", "proved")


def test_assert_identity_for_users():
    assert_identity("E(relu(sqrt(q)*z)**2, z)", "q/2", assume=["q > 0"])
    with pytest.raises(AssertionError, match="refuted"):
        assert_identity("E(relu(sqrt(q)*z)**2, z)", "q/3", assume=["q > 0"])
