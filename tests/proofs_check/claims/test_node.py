"""The neural ODE / DDE claims stand on ≥ 2 routes, and no route accepts their negative controls."""

from __future__ import annotations

import pytest

from dyncheck.proofs_check.claim import PROFILES
from dyncheck.proofs_check.claims import REGISTRY
from dyncheck.proofs_check.verdicts import DISAGREE, PROVED, REFUTED, UNDECIDED, VERIFIED

IDS = sorted(c for c in REGISTRY if c.startswith("node."))
#: Claims proved by a symbolic route (the others are verified by numeric ones).
PROVED_IDS = {"node.flow_derivative", "node.monotone_obstruction", "node.augmented_embedding", "node.dde_sign_threshold", "node.dde_stability_threshold"}


def test_the_topic_has_its_claims():
    assert len(IDS) == 10 and PROVED_IDS <= set(IDS)


@pytest.mark.parametrize("claim_id", IDS)
def test_node_claims_stand_and_no_route_accepts_the_control(claim_id):
    result = REGISTRY[claim_id].run(PROFILES["quick"])
    assert result.verdict == (PROVED if claim_id in PROVED_IDS else VERIFIED), result.reason
    assert result.control_verdict == REFUTED, result.control_reason
    assert len({e.route for e in result.evidence if e.outcome in ("exact", "agree")}) >= 2
    assert not result.control_accepted_by
    outcomes = {e.route: e.outcome for e in result.control_evidence}
    if claim_id.endswith("no_critical_points"):
        # a widening layer leaves no certificate (undecided); the search finds the critical point
        assert outcomes == {"certified-bound": UNDECIDED, "newton-search": DISAGREE}
    else:
        assert set(outcomes.values()) == {DISAGREE}, outcomes
