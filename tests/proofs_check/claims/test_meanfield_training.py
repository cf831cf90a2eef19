"""The mean-field training claims stand on ≥ 2 routes, and every route refutes their negative controls."""

from __future__ import annotations

import pytest

from dyncheck.proofs_check.claim import PROFILES
from dyncheck.proofs_check.claims import REGISTRY
from dyncheck.proofs_check.verdicts import DISAGREE, PROVED, REFUTED, VERIFIED

IDS = sorted(c for c in REGISTRY if c.startswith("meanfield_training."))
#: The circle-feature claims are derived symbolically (proved); the Gaussian-input ones rest on sampling (verified).
SAMPLED = {"meanfield_training.distributional_dynamics", "meanfield_training.global_convergence_relu", "meanfield_training.mean_field_scaling", "meanfield_training.risk_fluctuations"}


@pytest.mark.parametrize("claim_id", IDS)
def test_meanfield_training_claims_stand_and_every_route_refutes_the_control(claim_id):
    result = REGISTRY[claim_id].run(PROFILES["quick"])
    assert result.verdict == (VERIFIED if claim_id in SAMPLED else PROVED), result.reason
    assert result.control_verdict == REFUTED, result.control_reason
    assert len({e.route for e in result.evidence if e.outcome in ("exact", "agree")}) >= (2 if claim_id in SAMPLED else 3)
    assert all(e.outcome == DISAGREE for e in result.control_evidence), [(e.route, e.outcome, e.summary) for e in result.control_evidence]
