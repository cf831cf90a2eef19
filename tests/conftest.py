"""Hypothesis profiles: ``default`` (fast, local), ``ci`` (more examples, derandomized) and ``thorough`` (run on purpose).

Select with HYPOTHESIS_PROFILE=ci; mpmath's precision is reset around each test.  The disk cache
of derivations (theory.cache) is off, so that every test derives afresh and leaves nothing behind.
"""

import os

import mpmath
import pytest
from hypothesis import HealthCheck, settings

os.environ["DYNCHECK_CACHE_DIR"] = "off"

settings.register_profile("default", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
# heavier property runs, on purpose: HYPOTHESIS_PROFILE=thorough python3 -m pytest tests/proofs_check/test_identity.py
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _reset_mpmath_precision():
    dps = mpmath.mp.dps
    yield
    mpmath.mp.dps = dps
