"""Networks as pointwise affine maps: the decomposition, parameterisations, regions, fixed points, stability."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dyncheck.numerics import affine
from dyncheck.numerics.networks import Network
from dyncheck.theory.activations import activation
from dyncheck.theory.errors import UsageError
from dyncheck.theory.symbols import X

SMOOTH = ["tanh", "sigmoid", "softplus", "gelu", "silu", "erf", "cos", "gaussian", "elu", "selu"]


def _reference_slope(phi, z: float) -> mpmath.mpf:
    """Λ(z) at enough digits that the subtraction σ(z) − σ(0) keeps 30 of them."""
    branch = phi.rewrite(sp.Heaviside)
    branch = branch.xreplace({h: sp.S.One if float(h.args[0].subs(X, z)) > 0 else sp.S.Zero for h in branch.atoms(sp.Heaviside) if float(h.args[0].subs(X, z)) != 0})
    f = sp.lambdify(X, branch, "mpmath")
    with mpmath.workdps(40 + 2 * max(0, int(-np.log10(abs(z))))):
        return (f(mpmath.mpf(z)) - phi.subs(X, 0).evalf(mpmath.mp.dps)) / mpmath.mpf(z)


@pytest.mark.parametrize("name", SMOOTH + ["relu", "leaky_relu", "hard_tanh"])
def test_the_slope_quotient_is_exact_to_rounding_from_1e_300_to_1e3(name):
    phi = activation(name).expr()
    z = np.concatenate([s * np.logspace(-300, 2, 80) for s in (-1, 1)])
    values = affine.slope_function(phi)(z)
    scale = float(np.abs(values).max())
    for zi, value in zip(z, values):
        exact = _reference_slope(phi, float(zi))
        assert abs(value - float(exact)) <= 8e-16 * max(abs(float(exact)), 1e-3 * scale), (zi, value, exact)


def test_the_plain_quotient_cancels_near_zero_where_the_taylor_pieces_do_not():
    # the negative control of the slope's precision: (σ(z) − σ(0))/z for the sigmoid at z = 1e-9
    z = 1e-9
    naive = (1 / (1 + np.exp(-z)) - 0.5) / z
    exact = float(_reference_slope(activation("sigmoid").expr(), z))
    assert abs(naive - exact) / exact > 1e-9
    assert abs(affine.slope_function(activation("sigmoid").expr())(np.array([z]))[0] - exact) / exact < 1e-15


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["relu", "tanh", "sigmoid", "elu", "hard_tanh", "gelu"]), st.integers(1, 4), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_the_decomposition_reconstructs_any_network_of_the_substrate(name, depth, width, seed):
    network = Network.random(activation(name).expr(), 3, width, depth, 1.7, 0.3, seed, "standard", outputs=2)
    x = np.random.default_rng(seed).normal(0, 3, (32, 3))
    matrix, offset = affine.pointwise_affine(network, x)
    value = network.forward(x)[0][-1]
    scale = np.abs(matrix).max() * np.abs(x).max() + np.abs(offset).max() + np.abs(value).max()
    assert np.abs(np.einsum("sij,sj->si", matrix, x) + offset - value).max() <= 1e-13 * scale


def test_residual_layers_and_the_ntk_parameterisation_decompose_too():
    network = Network.random(activation("tanh").expr(), 4, 4, 3, 1.5, 0.2, 3, "ntk", residual_step=0.5, outputs=4)
    x = np.random.default_rng(0).normal(size=(16, 4))
    matrix, offset = affine.pointwise_affine(network, x)
    assert np.allclose(np.einsum("sij,sj->si", matrix, x) + offset, network.forward(x)[0][-1], rtol=0, atol=1e-13)


def test_a_star_is_the_jacobian_inside_relu_regions_and_not_for_tanh():
    x = np.random.default_rng(1).normal(size=(64, 2))
    relu = affine.random_dynamics(activation("relu").expr(), 2, 6, 2, seed=0)
    tanh = affine.random_dynamics(activation("tanh").expr(), 2, 6, 2, seed=0, high=1.5)
    assert np.allclose(affine.A_star(relu, x), affine.jacobian(relu, x), atol=1e-14)
    assert np.abs(affine.A_star(tanh, x) - affine.jacobian(tanh, x)).max() > 0.05
    assert np.allclose(affine.b_star(relu, x), affine.pointwise_affine(relu, x)[1])


def test_the_40_digit_decomposition_agrees_with_double_precision():
    network = affine.random_dynamics(activation("sigmoid").expr(), 2, 3, 2, seed=4, high=1.5, bias_scale=0.5)
    x = np.array([0.3, -1.2])
    value, matrix, offset = affine.mp_pointwise_affine(network, x)
    double_matrix, double_offset = affine.pointwise_affine(network, x[None])
    assert np.allclose(np.array(matrix.tolist(), float), double_matrix[0], rtol=1e-14, atol=1e-15)
    assert np.allclose(np.array(offset.tolist(), float).ravel(), double_offset[0], rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("family", ["orthogonal", "spectral", "svd", "perron-frobenius", "gershgorin"])
def test_each_parameterisation_keeps_its_promise_and_its_broken_variant_does_not(family):
    rng = np.random.default_rng(0)
    for n in (2, 4, 9):
        w = affine.constrained_weight(family, rng, n, n, 0.5, 0.9)
        assert affine.promise_violation(family, np.linalg.eigvals(w), np.linalg.svd(w, compute_uv=False), 0.5, 0.9, w) <= 1e-12
    if family in affine.BROKEN_FAMILIES:
        broken = affine.BROKEN_FAMILIES[family].name
        worst = max(affine.promise_violation(family, np.linalg.eigvals(w), np.linalg.svd(w, compute_uv=False), 0.5, 0.9, w) for w in (affine.constrained_weight(broken, rng, 8, 8, 0.5, 0.9) for _ in range(20)))
        assert worst > 0.05


def test_householder_factors_are_orthogonal_to_rounding_and_spectral_scaling_uses_the_true_2_norm():
    q = affine._householder_orthogonal(np.random.default_rng(0), 12)
    assert np.abs(q.T @ q - np.eye(12)).max() < 1e-14
    w = affine.constrained_weight("spectral", np.random.default_rng(1), 5, 7, 0, 0.8)
    assert np.linalg.norm(w, 2) == pytest.approx(0.8, rel=1e-14) and np.linalg.norm(w) > 0.85  # not the Frobenius norm


def test_regions_of_a_one_layer_relu_map_are_the_arrangement_s_cells_and_fixed_points_lie_in_them():
    network = affine.random_dynamics(activation("relu").expr(), 2, 5, 1, "gaussian", seed=2, high=2.5, bias_scale=1.0)
    regions = affine.activation_regions(network)
    assert len(regions) <= affine.region_bound(network) == 16
    points = np.random.default_rng(0).uniform(-20, 20, (2000, 2))
    for x in points[:200]:  # every point lies in exactly one region (off the hyperplanes), whose map is f there
        inside = [r for r in regions if r.contains(x, 0.0)]
        assert len(inside) == 1
        assert np.allclose(inside[0].matrix @ x + inside[0].offset, network.forward(x[None])[0][-1][0], atol=1e-12)
    real = affine.region_fixed_points(network, regions)
    virtual = affine.region_fixed_points(network, regions, check_region=False)
    assert [p.type for p in real] == ["node", "node", "saddle"] and len(virtual) > len(real)
    for p in real:
        assert np.allclose(network.forward(p.x[None])[0][-1][0], p.x, atol=1e-12)
    newton = affine.newton_fixed_points(network, box=6.0, starts_per_axis=15)
    assert sorted(np.round([p.x for p in newton], 8).tolist()) == sorted(np.round([p.x for p in real], 8).tolist())


def test_too_many_regions_are_refused_before_the_work():
    network = affine.random_dynamics(activation("relu").expr(), 8, 64, 3, seed=0)
    with pytest.raises(UsageError, match="too many"):
        affine.activation_regions(network)
    with pytest.raises(UsageError, match="not piecewise linear"):
        affine.activation_regions(affine.random_dynamics(activation("tanh").expr(), 2, 3, 1, seed=0))


def test_classify_names_the_types():
    assert affine.classify(np.array([0.5, 0.2])) == ("node", True)
    assert affine.classify(np.array([0.5 + 0.5j, 0.5 - 0.5j])) == ("focus", True)
    assert affine.classify(np.array([2.0, 0.3])) == ("saddle", False)
    assert affine.classify(np.array([1.5, 1.2])) == ("node", False)
    assert affine.classify(np.array([1.0, 0.3]))[0] == "non-hyperbolic"


def test_the_switching_counterexample_is_pointwise_stable_yet_diverges():
    network = affine.switching_counterexample()
    regions = affine.activation_regions(network)
    radii = affine.spectral_radius(np.stack([r.matrix for r in regions]))
    circle = np.stack([np.cos(t := np.linspace(0, 2 * np.pi, 7200, endpoint=False)), np.sin(t)], axis=1)
    assert radii.max() < 0.92 and affine.spectral_radius(affine.A_star(network, circle)).max() < 1
    verdict = affine.global_stability(network)
    assert verdict["globally_stable"] is False and verdict["witness"]["growth_per_step"] > 1.03
    assert verdict["jsr_lower"] > 1  # arbitrary switching among its regions diverges too
    with mpmath.workdps(40):  # and at 40 digits the witness orbit grows as well
        orbit = affine.mp_orbit(network, verdict["witness"]["start"], 300)
        assert mpmath.norm(orbit[-1]) > 1e6 * mpmath.norm(orbit[0])


def test_jsr_bounds_are_exact_for_one_normal_matrix_and_bracket_a_pair():
    rotation = 0.7 * np.array([[np.cos(1.0), -np.sin(1.0)], [np.sin(1.0), np.cos(1.0)]])
    lower, upper, _ = affine.jsr_bounds(rotation[None])
    assert lower == pytest.approx(0.7, rel=1e-12) and upper == pytest.approx(0.7, rel=1e-12)
    pair = np.array([[[1.0, 1.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]])  # JSR = golden ratio (Jungers 2009, §1)
    lower, upper, _ = affine.jsr_bounds(pair)
    assert lower <= (1 + 5**0.5) / 2 + 1e-12 <= upper + 2e-12 and upper - lower < 0.2


def test_a_contraction_is_called_globally_stable_and_an_undecided_map_says_so():
    network = affine.random_dynamics(activation("tanh").expr(), 2, 4, 1, "spectral", seed=0, high=0.9, bias_scale=0.5)
    verdict = affine.global_stability(network)
    assert verdict["contraction_bound"] < 1 and verdict["globally_stable"] is True
    bistable = Network([np.array([[2.0, 0.0], [0.0, 2.0]]), np.eye(2)], [np.zeros(2), np.zeros(2)], activation("tanh").expr(), 1.0, 1.0, "standard", ("dense", "linear"))
    verdict = affine.global_stability(bistable)
    assert verdict["globally_stable"] is None and verdict["witness"] is None


def test_lipschitz_and_slope_bounds():
    assert affine.lipschitz_constant(activation("relu").expr()) == 1.0
    assert affine.lipschitz_constant(activation("sigmoid").expr()) == pytest.approx(0.25, abs=1e-12)
    assert affine.lipschitz_constant(activation("gelu").expr()) == pytest.approx(1.1289, abs=1e-4)
    assert affine.slope_bound(activation("gelu").expr()) == pytest.approx(1.0, abs=1e-9)  # Λ = Φ(z) ≤ 1 < Lip
    assert affine.slope_bound(activation("tanh").expr()) == pytest.approx(1.0, abs=1e-12)
    assert affine.slope_bound(activation("hard_tanh").expr()) == 1.0
    steep_tails = X + (X - 1) * sp.Heaviside(X - 1) + (X + 1) * sp.Heaviside(-X - 1)  # slope 1 on [−1, 1], 2 beyond
    assert affine.slope_bound(steep_tails) == 2.0  # Λ → 2 at ±∞, above its value 1 at the kinks


def test_networks_from_json_layers_and_their_errors(tmp_path):
    layers = [{"weight": [[1.0, 0.5], [0.0, -1.0]], "bias": [0.1, 0.0], "activation": "relu"}, {"weight": [[1.0, 1.0], [0.5, 0.0]], "bias": None, "activation": None}]
    path = tmp_path / "n.json"
    path.write_text(json.dumps({"layers": layers}))
    network = affine.network_from_json(str(path))
    assert network.kinds == ("dense", "linear") and network.phi == activation("relu").expr()
    x = np.array([[0.3, -0.2]])
    assert np.allclose(network.forward(x)[0][-1], np.maximum(x @ np.array(layers[0]["weight"]).T + [0.1, 0.0], 0) @ np.array(layers[1]["weight"]).T)
    bad = [
        ([{"weight": [[1.0, 2.0]]}, {"weight": [[1.0, 2.0]]}], "do not chain"),
        ([{"weight": [[float("nan")]]}], "not finite"),
        ([{"weight": [[1.0]], "activation": "swishy"}], "unknown activation"),
        ([{"weight": [[1.0]], "activation": "relu"}, {"weight": [[1.0]], "activation": "tanh"}], "different activations"),
        ([{"weight": [[1.0]], "bias": [1.0, 2.0]}], "entries for 1 outputs"),
        ([{"weight": "abc"}], "numbers only"),
        ([{"weight": [["0.5"]]}], "numbers only"),
        ([{"weight": [[True]]}], "numbers only"),
        ([{"weight": [[10**400]]}], "finite in double precision"),
        ([], "non-empty list"),
    ]
    for value, message in bad:
        with pytest.raises(UsageError, match=message):
            affine.network_from_layers(value)
    for text, message in (("[" * 100_000, "not JSON"), ('{"layers": [], "layers": []}', "repeats the key"), ('{"layers": [{"weight": [[1]]}], "activation": "relu"}', "unknown keys")):
        (tmp_path / "bad.json").write_text(text)
        with pytest.raises(UsageError, match=message):
            affine.network_from_json(str(tmp_path / "bad.json"))
    pickled = tmp_path / "n.pkl"
    pickled.write_bytes(b"\x80\x04\x95 pickle")
    with pytest.raises(UsageError, match="pickle"):
        affine.network_from_json(str(pickled))


def test_a_torch_sequential_is_read_as_the_same_map():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
    network = affine.from_torch(model)
    x = np.random.default_rng(0).normal(size=(8, 3))
    assert np.allclose(network.forward(x)[0][-1], model(torch.from_numpy(x)).detach().numpy(), atol=1e-14)
    leaky = affine.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LeakyReLU(0.2)))
    assert leaky.phi == activation("leaky_relu").expr(sp.Rational(1, 5))
    with pytest.raises(UsageError, match="unsupported module"):
        affine.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()))
    with pytest.raises(UsageError, match="Sequential"):
        affine.from_torch(torch.nn.Linear(2, 2))


def _layers(*specs):
    return affine.network_from_layers([{"weight": w, "bias": b, "activation": a} for w, b, a in specs])


def test_regions_of_deep_relu_networks_and_boundary_fixed_points():
    deep = affine.random_dynamics(activation("relu").expr(), 2, 4, 2, "gaussian", seed=1, high=1.5, bias_scale=0.5)
    regions = affine.activation_regions(deep)
    points = np.random.default_rng(0).uniform(-10, 10, (300, 2))
    for x in points:
        inside = [r for r in regions if r.contains(x, 0.0)]
        assert len(inside) == 1 and np.allclose(inside[0].matrix @ x + inside[0].offset, deep.forward(x[None])[0][-1][0], atol=1e-12)
    # relu(2x): the fixed point 0 sits on the kink; orbits from x > 0 double, so it is not called stable
    (point,) = affine.region_fixed_points(_layers(([[2.0]], None, "relu")))
    assert point.type == "kink" and point.stable is None
    origin = [p for p in affine.region_fixed_points(affine.switching_counterexample()) if np.allclose(p.x, 0)]
    assert origin and origin[0].stable is None  # every adjacent matrix is stable, and yet orbits leave


def test_non_isolated_fixed_points_are_reported_as_sets():
    (identity,) = affine.region_fixed_points(_layers(([[1.0, 0.0], [0.0, 1.0]], None, None)))
    assert identity.type == "non-isolated" and identity.stable is None
    relu_identity = affine.region_fixed_points(_layers(([[1.0]], None, "relu")))
    assert {p.type for p in relu_identity} >= {"non-isolated"} and all(p.stable is not True for p in relu_identity)


def test_newton_accepts_only_converged_points_and_a_modulus_one_is_undecided():
    half_tanh = _layers(([[0.5]], None, "tanh"), ([[2.0]], None, None))  # 2 tanh(x/2): one fixed point, f′(0) = 1, a zero of order 3
    # of f(x) − x, located only to ~u^(1/3) ≈ 6e-6 in double precision
    points = affine.newton_fixed_points(half_tanh, box=3.0, starts_per_axis=31)
    assert len(points) == 1 and abs(points[0].x[0]) < 1e-5 and points[0].type == "non-hyperbolic" and points[0].stable is None


def test_far_fixed_points_are_not_divergence_and_unbounded_slopes_are_not_contractions():
    far = _layers(([[1.0]], None, "tanh"), ([[1.0]], [1e10], None))
    assert affine.diverging_orbit(far) is None
    assert affine.lipschitz_constant(activation("monomial").expr()) == float("inf")
    square = affine.random_dynamics(activation("monomial").expr(), 1, 1, 1, seed=0, high=1e-4)
    assert affine.global_stability(square)["globally_stable"] is not True


def test_jsr_bounds_survive_huge_matrices():
    lower, upper, _ = affine.jsr_bounds(np.array([[[1e200, 0.0], [0.0, 1.0]]]))
    assert lower == pytest.approx(1e200) and upper == pytest.approx(1e200)


def test_from_torch_checks_what_a_file_is_checked_for():
    torch = pytest.importorskip("torch")
    with pytest.raises(UsageError, match="do not chain"):
        affine.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(2, 2)))
    with pytest.raises(UsageError, match="non-empty"):
        affine.from_torch(torch.nn.Sequential())
    layer = torch.nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight[0, 0] = float("nan")
    with pytest.raises(UsageError, match="not finite"):
        affine.from_torch(torch.nn.Sequential(layer))
