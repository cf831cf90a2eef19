"""dyncheck.numerics.control: costates, gradients, LQ controls and the trainers, numerically."""

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
from dyncheck.proofs_check.tolerances import tolerance


TOL = tolerance("derivative_relative")


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


@pytest.mark.parametrize("step", [0.25, None])
def test_the_trainers_augmented_hamiltonian_is_the_derived_one(step):
    # theory.control.augmented_hamiltonian (SymPy, differentiated by SymPy) against the torch objective
    # E-MSA maximises (the substrate's forward and backward passes), residual and dense layers
    torch = pytest.importorskip("torch")
    import sympy as sp

    from dyncheck.numerics.control import _augmented_hamiltonian
    from dyncheck.theory.control import augmented_hamiltonian, dense_tanh, residual_tanh

    n, rho = 3, 2.5
    layer, parameters = residual_tanh(n, 0, sp.nsimplify(step)) if step else dense_tanh(n, 0)
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


def test_mean_field_lq_least_squares_and_successive_approximations_agree_and_refuse_bad_samples():
    import numpy as np
    import pytest

    from dyncheck.numerics.control import mean_field_lq_direct, mean_field_lq_pmp
    from dyncheck.theory.errors import UsageError

    rng = np.random.default_rng(4)
    x0 = rng.normal(1.0, 0.5, 300)
    y = 2 * x0 + 0.3 * rng.standard_normal(300)
    for drift in (-0.5, 0.0, 0.7):
        direct = mean_field_lq_direct(drift, 0.1, 1.0, x0, y, intervals=40)
        assert np.abs(direct - mean_field_lq_pmp(drift, 0.1, 1.0, x0, y, intervals=40)).max() < 1e-11
    # only the mean residual matters: shifting every y by its own noise's mean changes nothing else
    centred = mean_field_lq_direct(-0.5, 0.1, 1.0, x0, y - (y - 2 * x0) + (y - 2 * x0).mean(), intervals=40)
    assert np.abs(centred - mean_field_lq_direct(-0.5, 0.1, 1.0, x0, y, intervals=40)).max() < 1e-12
    for bad in (dict(x0=x0, y=y[:-1]), dict(x0=x0, y=y, weights=np.full(300, 0.5))):
        with pytest.raises(UsageError):
            mean_field_lq_direct(-0.5, 0.1, 1.0, intervals=10, **bad)
    with pytest.raises(UsageError):
        mean_field_lq_pmp(-0.5, 0.1, 0.0, x0, y)
