"""Hypothesis strategies for property tests of mean-field and kernel results.

Use them in your own test suite::

    from hypothesis import given
    from dyncheck.proofs_check.strategies import variances, correlations

    @given(variances(), correlations())
    def test_my_kernel(q, rho): ...
"""

from __future__ import annotations

from hypothesis import strategies as st

from dyncheck.theory.activations import ACTIVATIONS, Activation

__all__ = ["activations", "variances", "correlations", "weight_bias_variances", "bivariate_covariances"]


def activations(names=None) -> st.SearchStrategy[Activation]:
    """Registered activations (all, or those in ``names``), with default parameters."""
    pool = sorted(names or ACTIVATIONS)
    return st.sampled_from([ACTIVATIONS[n] for n in pool])


def variances(low: float = 1e-6, high: float = 1e4) -> st.SearchStrategy[float]:
    """Pre-activation variances q, spread over decades (log-uniform)."""
    import math

    return st.floats(math.log(low), math.log(high)).map(math.exp)


def correlations(bound: float = 1.0, include_endpoints: bool = True) -> st.SearchStrategy[float]:
    """Correlations ρ in [−bound, bound] (the open interval when ``include_endpoints`` is False)."""
    return st.floats(-bound, bound, exclude_min=not include_endpoints, exclude_max=not include_endpoints)


def weight_bias_variances(max_sw2: float = 4.0, max_sb2: float = 1.0) -> st.SearchStrategy[tuple[float, float]]:
    """(σ_w², σ_b²) pairs with σ_w² > 0 and σ_b² ≥ 0."""
    return st.tuples(st.floats(1e-3, max_sw2), st.floats(0.0, max_sb2))


def bivariate_covariances(max_variance: float = 100.0) -> st.SearchStrategy[tuple[float, float, float]]:
    """(q₁₁, q₂₂, q₁₂) of a valid 2×2 covariance (|q₁₂| ≤ √(q₁₁q₂₂))."""

    def build(args):
        q11, q22, c = args
        return q11, q22, c * (q11 * q22) ** 0.5

    return st.tuples(variances(1e-4, max_variance), variances(1e-4, max_variance), correlations()).map(build)
