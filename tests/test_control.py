"""The maximum principle against backpropagation, and Riccati against PMP."""

import numpy as np
import pytest

from dyncheck.numerics.control import (
    ResidualNetwork,
    complex_step_gradient,
    direct_lq_controls,
    pmp_costates,
    pmp_lq_controls,
    riccati_gains,
)
from dyncheck.proofs_check.claim import PROFILES
from dyncheck.proofs_check.claims import REGISTRY
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.proofs_check.verdicts import PROVED, REFUTED
from dyncheck.theory.control import (
    Convention,
    bellman_riccati_residual,
    concrete_costate_residuals,
    costate_residuals,
    euler_adjoint_residuals,
    gradient_residuals,
    lq_residuals,
)

TOL = tolerance("derivative_relative")


def _all_zero(residuals):
    return all(r == 0 for r in np.ravel(np.array(residuals, dtype=object)))


def test_generic_costates_are_minus_the_adjoint_and_a_flipped_sign_is_not():
    assert _all_zero(costate_residuals(3, 2))
    assert not _all_zero(costate_residuals(2, 2, Convention(terminal_sign=+1)))


def test_gradient_is_minus_the_hamiltonian_slope_and_needs_the_one_over_s():
    assert _all_zero(gradient_residuals(2, 2, 2))
    assert not _all_zero(gradient_residuals(2, 2, 2, Convention(sample_power=0)))


@pytest.mark.parametrize("kind", ["dense", "residual"])
def test_tanh_layers_with_symbolic_weights(kind):
    assert _all_zero(concrete_costate_residuals(kind, 2, 2))


def test_euler_adjoint_at_x_t_is_the_costate_and_at_x_t_plus_one_is_not():
    assert _all_zero(euler_adjoint_residuals(3, 2, 0))
    assert not _all_zero(euler_adjoint_residuals(2, 2, 1))


def test_the_riccati_recursion_is_the_bellman_equation_solved():
    assert bellman_riccati_residual() == 0


def test_scalar_lq_riccati_is_pmp():
    controls, costates = lq_residuals(3)
    assert _all_zero(controls) and _all_zero(costates)


@pytest.mark.parametrize("step", [0.25, None])
def test_pmp_gradients_match_the_complex_step(step):
    network = ResidualNetwork.random(5, 4, step=step, regularisation=0.1, seed=2)
    rng = np.random.default_rng(0)
    x0, y = rng.standard_normal((9, 4)), rng.standard_normal((9, 4))
    _, _, (grad_w, grad_b) = pmp_costates(network, x0, y)
    for which, grad, index in [("weights", grad_w, (0, 1, 2)), ("weights", grad_w, (4, 3, 0)), ("biases", grad_b, (2, 1))]:
        exact = complex_step_gradient(network, x0, y, which, index)
        assert abs(grad[index] - exact) <= TOL * abs(exact)


def test_pmp_costates_match_torch_autograd_and_run_on_torch():
    torch = pytest.importorskip("torch")
    from dyncheck.numerics.control import autograd_gradients

    network = ResidualNetwork.random(8, 5, seed=4)
    rng = np.random.default_rng(1)
    x0, y = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    as_torch = ResidualNetwork(torch.from_numpy(network.weights), torch.from_numpy(network.biases), network.step)
    _, costates, (grad_w, _) = pmp_costates(as_torch, torch.from_numpy(x0), torch.from_numpy(y), torch)
    adjoints, auto_w, _ = autograd_gradients(as_torch, torch.from_numpy(x0), torch.from_numpy(y))
    for p, a in zip(costates, adjoints):
        assert torch.allclose(p, a, rtol=TOL, atol=TOL * float(a.abs().max()))
    assert torch.allclose(grad_w, auto_w, rtol=TOL, atol=TOL * float(auto_w.abs().max()))
    _, numpy_costates, _ = pmp_costates(network, x0, y)
    assert np.allclose(costates[0].numpy(), numpy_costates[0], rtol=TOL, atol=0)


def test_lq_riccati_pmp_and_direct_agree_on_matrices():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 2))
    q, r, q_final, x0 = np.eye(3), 0.5 * np.eye(2), 2 * np.eye(3), rng.standard_normal(3)
    gains, _ = riccati_gains(a, b, q, r, q_final, 6)
    x, controls = x0, []
    for k in gains:
        controls.append(-k @ x)
        x = a @ x + b @ controls[-1]
    for other in (pmp_lq_controls(a, b, q, r, q_final, 6, x0), direct_lq_controls(a, b, q, r, q_final, 6, x0)):
        assert np.allclose(controls, other, rtol=TOL, atol=TOL * np.abs(other).max())


@pytest.mark.parametrize(
    "claim_id",
    [
        "control.costate_is_backprop",
        "control.gradient_is_hamiltonian_slope",
        "control.euler_adjoint_is_costate",
        "control.euler_costate_first_order",
        "control.riccati_equals_pmp",
    ],
)
def test_control_claims_stand_and_controls_fall(claim_id):
    result = REGISTRY[claim_id].run(PROFILES["quick"])
    assert result.verdict == PROVED, result.reason
    assert result.control_verdict == REFUTED, result.control_reason
    # every route has teeth on its own: each one that decides refutes the control
    decided = [e for e in result.control_evidence if e.outcome != "undecided"]
    assert len(decided) >= 2 and all(e.outcome == "disagree" for e in decided)


def test_emsa_descends_where_plain_msa_jumps():
    pytest.importorskip("torch")
    from dyncheck.numerics.control import msa_train, sin_problem

    network, x0, y = sin_problem(layers=6, width=3, points=40)
    losses = msa_train(network, x0, y, rho=20.0, iterations=4)
    assert np.all(np.diff(losses) <= tolerance("monotone_loss_relative") * losses[:-1])
    assert losses[-1] < 0.5 * losses[0]


def test_gradient_baselines_reduce_the_loss_and_reject_unknown_methods():
    from dyncheck.numerics.control import gradient_train, sin_problem

    for method, rate in (("gd", 0.5), ("adam", 0.01)):
        network, x0, y = sin_problem(layers=4, width=3, points=30)
        losses = gradient_train(network, x0, y, method=method, learning_rate=rate, iterations=50)
        assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="unknown method"):
        gradient_train(network, x0, y, method="sgd", learning_rate=0.1, iterations=1)


def test_cli_train_msa_writes_json_and_a_plot(tmp_path, capsys):
    pytest.importorskip("torch")
    import json

    from dyncheck.proofs_check.cli import main

    out = tmp_path / "msa.png"
    argv = ["train", "msa", "--depth", "4", "--width", "3", "--iterations", "3", "--baseline-iterations", "20"]
    assert main([*argv, "--json", "--plot", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["runs"]) == {"E-MSA ρ=20", "MSA ρ=0", "GD", "Adam"}
    assert len(result["runs"]["E-MSA ρ=20"]["loss"]) == 4
    assert out.stat().st_size > 10_000
    assert main(["train", "msa", "--depth", "0"]) == 2


def test_the_trainers_augmented_hamiltonian_is_the_derived_one():
    # theory.control.augmented_hamiltonian (SymPy) against the torch objective E-MSA maximises
    torch = pytest.importorskip("torch")
    import sympy as sp

    from dyncheck.numerics.control import _augmented_hamiltonian
    from dyncheck.theory.control import augmented_hamiltonian, residual_tanh

    n, rho, step = 3, 2.5, 0.25
    layer, parameters = residual_tanh(n, 0, sp.Rational(1, 4))
    xs, xn, ps, pn = (sp.symbols(f"{name}0:{n}") for name in ("x", "xn", "p", "pn"))
    expression = augmented_hamiltonian(layer, xs, xn, ps, pn, None, rho)
    rng = np.random.default_rng(9)
    theta = rng.standard_normal(n * n + n)
    values = [rng.standard_normal(n) for _ in range(4)]
    at = dict(zip(parameters, theta)) | {s: v for group, vals in zip((xs, xn, ps, pn), values) for s, v in zip(group, vals)}
    symbolic = float(expression.subs(at))
    rows = [torch.from_numpy(v[None, :]) for v in values]
    numeric, _ = _augmented_hamiltonian(theta, *rows[:2], rows[2], rows[3], step, 0.0, rho)
    assert -numeric == pytest.approx(symbolic, rel=TOL)
    # negative control: without the costate penalty the two differ
    plain = augmented_hamiltonian(layer, xs, xn, ps, pn, None, 0)
    assert float(plain.subs(at)) != pytest.approx(symbolic, rel=1e-3)


def test_digits_problem_and_accuracy():
    pytest.importorskip("sklearn")
    from dyncheck.numerics.control import accuracy, digits_problem, gradient_train

    network, x0, y = digits_problem(layers=5)
    assert x0.shape == (1797, 64) and np.all(y.sum(1) == 1)
    before = accuracy(network, x0, y)
    gradient_train(network, x0, y, method="adam", learning_rate=0.01, iterations=150)
    assert accuracy(network, x0, y) > max(before, 0.8)


def test_cli_train_msa_on_digits(capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("torch")
    from dyncheck.proofs_check.cli import main

    argv = ["train", "msa", "--problem", "digits", "--depth", "2", "--iterations", "2", "--baseline-iterations", "5"]
    assert main(argv) == 0
    assert "accuracy" in capsys.readouterr().out
