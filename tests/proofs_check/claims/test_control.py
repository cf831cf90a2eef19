"""The control claims stand and their negative controls fall."""

import pytest

from dyncheck.proofs_check.claim import PROFILES
from dyncheck.proofs_check.claims import REGISTRY
from dyncheck.proofs_check.verdicts import PROVED, REFUTED, VERIFIED


@pytest.mark.parametrize(
    "claim_id",
    [
        "control.costate_is_backprop",
        "control.gradient_is_hamiltonian_slope",
        "control.euler_adjoint_is_costate",
        "control.euler_costate_first_order",
        "control.riccati_equals_pmp",
        "control.mean_field_lq_optimum",
        "control.mean_field_empirical_rate",
    ],
)
def test_control_claims_stand_and_controls_fall(claim_id):
    result = REGISTRY[claim_id].run(PROFILES["quick"])
    assert result.verdict == (VERIFIED if claim_id == "control.mean_field_empirical_rate" else PROVED), result.reason
    assert result.control_verdict == REFUTED, result.control_reason
    # every route has teeth on its own: each one that decides refutes the control
    decided = [e for e in result.control_evidence if e.outcome != "undecided"]
    assert len(decided) >= 2 and all(e.outcome == "disagree" for e in decided)
