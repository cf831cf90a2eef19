"""Helpers for researchers' own pytest suites."""

from __future__ import annotations

from collections.abc import Sequence

from dyncheck.proofs_check.identity import IdentityResult, check_identity
from dyncheck.proofs_check.verdicts import PROVED, VERIFIED

__all__ = ["assert_identity"]


def assert_identity(lhs: str, rhs: str, assume: Sequence[str] = (), **kwargs) -> IdentityResult:
    """Assert that ``lhs = rhs`` on the domain ``assume`` is proved or verified.

    Raises ``AssertionError`` with the verdict, the reason and any
    counterexample otherwise; returns the :class:`IdentityResult`.
    """
    result = check_identity(lhs, rhs, assume, **kwargs)
    if result.verdict not in (PROVED, VERIFIED):
        detail = f"\n  counterexample: {result.counterexample}" if result.counterexample else ""
        raise AssertionError(f"{lhs} = {rhs}: {result.verdict}: {result.reason}{detail}")
    return result
