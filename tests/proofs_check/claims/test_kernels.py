"""The kernel claims stand and their negative controls fall."""

import pytest

from dyncheck.proofs_check.claim import PROFILES
from dyncheck.proofs_check.claims import REGISTRY
from dyncheck.proofs_check.verdicts import PROVED, REFUTED, VERIFIED


@pytest.mark.parametrize("claim_id", [c for c in REGISTRY if c.startswith("kernels.")])
def test_kernel_claims_stand_and_controls_fall(claim_id):
    pytest.importorskip("torch")
    result = REGISTRY[claim_id].run(PROFILES["quick"])
    assert result.verdict in (PROVED, VERIFIED), result.reason
    assert result.control_verdict == REFUTED, result.control_reason
    assert all(e.outcome == "disagree" for e in result.control_evidence)
