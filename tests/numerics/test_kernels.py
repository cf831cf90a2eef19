"""dyncheck.numerics.kernels: the NNGP/NTK recursion on N inputs (numpy, torch, blocks, tables) and finite networks' kernels."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dyncheck.numerics.kernels import kernel_matrices
from dyncheck.numerics.networks import PARAMETERISATIONS, Network, autograd_nngp, autograd_ntk
from dyncheck.theory.activations import activation
from dyncheck.theory.symbols import Q1, Q2, RHO
from dyncheck.theory.kernels import diagonal_map, layer_maps, ntk_diagonal


def test_gelu_layer_maps_are_derived_and_their_diagonal_is_the_q_map():
    # GELU's one-variable q-map has no closed form from the engine: its expectation goes to mpmath quadrature
    from dyncheck.numerics.gaussian import expectation_mp
    from dyncheck.theory.symbols import SIGMA_B2, SIGMA_W2, Q

    maps = layer_maps(activation("gelu").expr())
    assert maps.closed
    on_diagonal, q_map = diagonal_map(maps)
    assert on_diagonal.free_symbols == {SIGMA_W2, SIGMA_B2, Q}
    for q in ("0.01", "1", "37.5"):
        values = {SIGMA_W2: 1, SIGMA_B2: 0, Q: sp.Rational(q)}
        derived = float(sp.N(on_diagonal.subs(values), 35))
        quadrature = float(expectation_mp(q_map.subs(values), {}, dps=35))  # σ_w² = 1, σ_b² = 0: q_map is E[φ²]
        assert abs(derived - quadrature) <= 1e-15 * abs(derived)
        assert abs(derived - 2 * quadrature) > 0.1 * abs(derived)  # negative control: T(q, q, 1) is not 2E[φ²]


@settings(deadline=None, max_examples=4)  # tanh's maps are tabulated anew at each layer's q: ~0.4 s a layer
@given(sw2=st.floats(0.5, 4.0), sb2=st.floats(0.01, 0.5), depth=st.integers(1, 6))
def test_tanh_ntk_at_the_variance_fixed_point_follows_chi_1(sw2, sb2, depth):
    """The recursion with tanh's numeric layer maps against the mean-field q*, χ₁ (quadrature in another code path)."""
    from dyncheck.numerics.meanfield import mean_field_state
    from dyncheck.proofs_check.tolerances import tolerance
    from dyncheck.theory.meanfield import mean_field

    state = mean_field_state(mean_field(activation("tanh").expr()), np.array([sw2]), np.array([sb2]))
    q_star, chi_1 = float(state.q_star[0]), float(state.chi_1[0])
    assume(abs(chi_1 - 1) > 0.02)
    x = np.sqrt(3 * (q_star - sb2) / sw2) * np.eye(3)[:2]
    _, ntk = kernel_matrices(layer_maps(activation("tanh").expr(), time_limit_s=3.0), x, depth, sw2, sb2)
    predicted = ntk_diagonal(q_star, chi_1, depth)
    assert abs(ntk[0, 0] / predicted - 1) <= tolerance("kernel_recursion_relative")
    assert abs(ntk[0, 0] / (q_star * chi_1**depth) - 1) > 1e-3  # negative control


def test_numeric_layer_maps_reach_double_precision_at_large_variance():
    # tanh has no closed form: quadrature, pair by pair or by a table in ρ on a sphere, against 20 digits
    from dyncheck.numerics.gaussian import expectation_mp
    from dyncheck.numerics.kernels import _LayerMap

    maps = layer_maps(activation("tanh").expr(), time_limit_s=2)
    assert not maps.closed
    q, rho = np.full(3, 20.0), np.array([[1.0, -0.7, 0.2], [-0.7, 1.0, 0.999], [0.2, 0.999, 1.0]])
    for derivation in (maps.nngp, maps.ntk):
        on_sphere = _LayerMap(derivation).at_layer(q)(q[:, None], q[None, :], rho)
        unequal = q * (1 + np.array([0.0, 1e-13, 2e-13]))
        pairwise = _LayerMap(derivation).at_layer(unequal)(unequal[:, None], unequal[None, :], rho)
        exact = float(expectation_mp(derivation.expectation, {Q1: 20, Q2: 20, RHO: -0.7}, dps=20))
        assert abs(on_sphere[0, 1] - exact) <= 1e-13 * abs(exact)
        assert np.abs(np.triu(on_sphere) - pairwise).max() <= 1e-11 * np.abs(on_sphere).max()


def test_torch_tanh_kernels_on_one_sphere_are_the_numpy_ones_and_other_norms_are_refused():
    torch = pytest.importorskip("torch")
    from dyncheck.numerics.training import sphere_data

    maps = layer_maps(activation("tanh").expr(), time_limit_s=2)
    x = 3 * sphere_data(40, 5, seed=2)  # K^1 = 1.5·9 + 0.1: large variance, where tanh saturates
    a = kernel_matrices(maps, x, 4, 1.5, 0.1)
    b = kernel_matrices(maps, torch.from_numpy(x), 4, 1.5, 0.1, backend="torch")
    for u, v in zip(a, b):
        assert isinstance(v, torch.Tensor)
        assert np.abs(u - v.numpy()).max() <= 1e-14 * np.abs(u).max()
    with pytest.raises(ValueError, match="numpy backend"):
        kernel_matrices(maps, torch.from_numpy(x * np.linspace(1, 2, 40)[:, None]), 2, 1.5, 0.1, backend="torch")


@pytest.mark.parametrize("name", ["relu", "erf"])
def test_kernels_at_equal_and_opposite_inputs_have_no_nan(name):
    x = np.array([[1.0, 2.0, -1.0], [1.0, 2.0, -1.0], [-1.0, -2.0, 1.0]])
    nngp, ntk = kernel_matrices(layer_maps(activation(name).expr()), x, 10, 2.0, 0.0)
    assert np.all(np.isfinite(nngp)) and np.all(np.isfinite(ntk))
    assert nngp[0, 1] == pytest.approx(nngp[0, 0], rel=1e-14)


@pytest.mark.parametrize("name", ["erf", "tanh"])
def test_blocked_threaded_recursion_is_the_whole_matrix_recursion(name, monkeypatch):
    """Blocks of ≤ 20 entries (1–3 rows) on threads, upper triangle mirrored, against one block: unequal norms, so tanh runs
    pair by pair; and against the recursion written out on whole matrices (erf)."""
    from dyncheck.numerics import kernels as numerics_kernels

    x = np.random.default_rng(6).standard_normal((10, 4)) * np.linspace(0.5, 2, 10)[:, None]
    maps = layer_maps(activation(name).expr(), time_limit_s=3.0)
    whole = kernel_matrices(maps, x, 3, 1.5, 0.1)
    monkeypatch.setattr(numerics_kernels, "BLOCK_ENTRIES", 20)
    blocked = kernel_matrices(maps, x, 3, 1.5, 0.1)
    for u, v in zip(whole, blocked):
        assert np.array_equal(u, u.T) and np.array_equal(v, v.T)
        assert np.abs(u - v).max() <= 1e-14 * np.abs(u).max()
    if maps.closed:
        from dyncheck.numerics.codegen import generate

        t, t_dot = (generate(e, [Q1, Q2, RHO]) for e in maps.values())
        k = 1.5 * x @ x.T / 4 + 0.1
        theta = k
        for _ in range(3):
            q = np.sqrt(np.diag(k))
            rho = np.clip(k / np.outer(q, q), -1, 1)
            np.fill_diagonal(rho, 1.0)
            k_next = 1.5 * t(q[:, None] ** 2, q[None, :] ** 2, rho) + 0.1
            theta = k_next + 1.5 * t_dot(q[:, None] ** 2, q[None, :] ** 2, rho) * theta
            k = k_next
        assert np.abs(blocked[0] - k).max() <= 1e-13 * np.abs(k).max()
        assert np.abs(blocked[1] - theta).max() <= 1e-13 * np.abs(theta).max()


def test_torch_kernels_agree_with_numpy():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((300, 4))
    maps = layer_maps(activation("erf").expr())
    a = kernel_matrices(maps, x, 4, 1.5, 0.1)
    b = kernel_matrices(maps, torch.from_numpy(x), 4, 1.5, 0.1, backend="torch")
    for u, v in zip(a, b):
        assert np.abs(u - v.numpy()).max() <= 1e-14 * np.abs(u).max()


@pytest.mark.parametrize("name", ["relu", "erf", "tanh"])
def test_backprop_ntk_is_the_autograd_ntk(name):
    pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((3, 4))
    network = Network.random(activation(name).expr(), 4, 32, 3, 1.5, 0.1, seed=3)
    a, b = network.ntk(x), autograd_ntk(network, x)
    assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()


@pytest.mark.parametrize("parameterisation", PARAMETERISATIONS)
def test_forward_nngp_is_the_output_layers_share_of_the_autograd_ntk(parameterisation):
    pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((3, 4))
    network = Network.random(activation("tanh").expr(), 4, 32, 2, 1.5, 0.1, seed=5, parameterisation=parameterisation)
    a, b = network.nngp(x), autograd_nngp(network, x)
    assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()
    assert np.abs(a - network.ntk(x)).max() > 0.1 * np.abs(a).max()  # the hidden layers' share is not in it


def test_torch_generated_steps_are_differentiable():
    torch = pytest.importorskip("torch")
    from dyncheck.numerics.codegen import generate
    from dyncheck.theory.symbols import X

    relu = generate(activation("relu").expr(), [X], "torch")
    t = torch.tensor([-1.5, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    relu(t).sum().backward()
    assert t.grad.tolist() == [0.0, 1.0, 1.0]


def test_ntk_depth_profiles_follow_chi_1_in_both_phases(tmp_path):
    from dyncheck.numerics.kernels import ntk_depth_profiles

    ordered, chaotic = ntk_depth_profiles(layer_maps(activation("erf").expr()), [(1.0, 0.05), (3.0, 0.05)], 40)
    assert (ordered.phase, chaotic.phase) == ("ordered", "chaotic")
    for profile in (ordered, chaotic):
        assert profile.diagonal.size == 41
        assert np.abs(profile.diagonal / profile.predicted - 1).max() <= 1e-12
    assert abs(ordered.diagonal[-1] - ordered.q_star / (1 - ordered.chi_1)) <= 1e-2 * ordered.diagonal[-1]  # its limit
    assert ordered.normalised[-1] > 0.98 and chaotic.normalised[-1] < 1e-4  # → 1 ordered, → 0 chaotic
    assert ordered.normalised[-1] > ordered.normalised[0] and chaotic.normalised[-1] < chaotic.normalised[0]


@pytest.mark.gpu
def test_cuda_kernels_agree_with_numpy():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    from dyncheck.numerics.training import sphere_data

    x = 2 * sphere_data(500, 10, seed=5)
    for name in ("erf", "relu", "tanh"):  # closed forms as generated torch code; tanh by its ρ-table on the GPU
        maps = layer_maps(activation(name).expr(), time_limit_s=3.0)
        cpu = kernel_matrices(maps, x, 10, 1.5, 0.05)
        gpu = kernel_matrices(maps, torch.from_numpy(x).cuda(), 10, 1.5, 0.05, backend="torch")
        for u, v in zip(cpu, gpu):
            assert v.device.type == "cuda"
            assert np.abs(u - v.cpu().numpy()).max() <= 1e-12 * np.abs(u).max()


def test_generated_layer_maps_take_columns_and_rows_and_return_the_matrix():
    """Generated numpy code evaluates factors of q₁ alone once a row; the result still has the broadcast shape,
    also where the map ignores some arguments (relu's Ṫ depends on ρ alone) or has steps (Piecewise)."""
    from dyncheck.numerics.codegen import generate

    q1, q2 = np.array([[0.5], [2.0], [7.0]]), np.array([[1.0, 3.0, 0.2, 9.0]])
    rho = np.linspace(-0.99, 0.99, 12).reshape(3, 4)  # inside (−1, 1): the step's Ṫ is infinite at ρ = ±1
    full = np.broadcast_arrays(q1, q2, rho)
    for name in ("erf", "relu", "step"):
        for value in layer_maps(activation(name).expr()).values():
            f = generate(value, [Q1, Q2, RHO])
            matrix = f(q1, q2, rho)
            assert matrix.shape == (3, 4)
            np.testing.assert_allclose(matrix, f(*(a.copy() for a in full)), rtol=1e-15, atol=0)
            entry = float(sp.N(value.subs({Q1: 2.0, Q2: 0.2, RHO: rho[1, 2]}), 30))
            assert matrix[1, 2] == pytest.approx(entry, rel=1e-14)
    column = generate(sp.sqrt(Q1), [Q1, Q2, RHO])(q1, q2, rho)  # a column alone, expanded to the matrix
    assert column.shape == (3, 4) and column.flags.writeable and np.all(column == np.sqrt(q1))


def test_overflow_is_reported_in_words_with_its_layer():
    import pytest

    from dyncheck.numerics.kernels import KernelOverflow
    from dyncheck.theory.symbols import X

    x = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0]])
    with pytest.raises(KernelOverflow, match="overflow double precision at layer 3"):  # E[e^u e^v] = e^{q(1+ρ)}: q = 669 overflows
        kernel_matrices(layer_maps(sp.exp(X)), x, 3, 1.5, 0.05)
    with pytest.raises(KernelOverflow, match="at layer 10"):  # the order-2 arc-cosine kernel squares q each layer
        kernel_matrices(layer_maps(sp.Max(X, 0) ** 2), x, 10, 2.0, 0.05)
    nngp, _ = kernel_matrices(layer_maps(sp.Max(X, 0) ** 2), x, 4, 2.0, 0.05)  # shallower, finite
    assert np.all(np.isfinite(nngp))
