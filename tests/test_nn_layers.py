"""nn layers and nn.functional: values and gradients against PyTorch fixtures, gradchecks, modes,
errors. The reference values come from tests/fixtures/make_nn_fixtures.py (torch is not needed).
"""

import math
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn
import nn.functional as F

REF = np.load(Path(__file__).parent / "fixtures" / "nn_reference.npz")


def tensor(key_or_array, device, requires_grad=False, dtype=A.float64):
    value = REF[key_or_array] if isinstance(key_or_array, str) else key_or_array
    if value.dtype.kind in "iu":
        return A.tensor(value, device=device)
    return A.tensor(value, dtype=dtype, device=device, requires_grad=requires_grad)


def assert_close(actual, expected, rtol=1e-10, atol=1e-12):
    if isinstance(expected, str):
        expected = REF[expected]
    np.testing.assert_allclose(actual.detach().numpy(), expected, rtol=rtol, atol=atol)


def small(*shape, device="cpu", low=0.2):
    """float64 values that stay away from the kinks at 0 (for gradchecks of relu and friends)."""
    x = A.randn(*shape, dtype=A.float64, device=device)
    x = A.where(x.abs() < low, x.sign() * low + x, x)
    return x.detach().requires_grad_()


# ---------------------------------------------------------------------------------- linear
def test_linear_matches_torch(device):
    x = tensor("linear/x", device, True)
    w = tensor("linear/w", device, True)
    b = tensor("linear/b", device, True)
    out = F.linear(x, w, b)
    assert_close(out, "linear/out")
    out.backward(tensor("linear/g", device))
    assert_close(x.grad, "linear/gx")
    assert_close(w.grad, "linear/gw")
    assert_close(b.grad, "linear/gb")
    # broadcasting over extra leading dims
    assert_close(F.linear(tensor("linear/x3", device), w, b), "linear/out3")


def test_linear_module_shapes_and_forward(device):
    layer = nn.Linear(5, 3, device=device)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer.weight.device == A.zeros(1, device=device).device
    x = A.randn(2, 4, 5, device=device)
    out = layer(x)
    assert out.shape == (2, 4, 3) and out.dtype == A.float32
    expected = x.numpy() @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    no_bias = nn.Linear(5, 3, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (4,)])
def test_linear_gradcheck(device, shape):
    x = A.randn(*shape, dtype=A.float64, device=device, requires_grad=True)
    w = A.randn(2, 4, dtype=A.float64, device=device, requires_grad=True)
    b = A.randn(2, dtype=A.float64, device=device, requires_grad=True)
    assert A.gradcheck(F.linear, (x, w, b))
    assert A.gradgradcheck(F.linear, (x, w, b))
    assert A.gradcheck(lambda x, w: F.linear(x, w), (x, w))


def test_linear_errors_name_the_shapes():
    layer = nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match=r"\(2, 5\).*5 features.*\(3, 4\).*in_features=4"):
        layer(A.randn(2, 5))
    with pytest.raises(RuntimeError, match="float64.*float32"):
        layer(A.randn(2, 4, dtype=A.float64))
    with pytest.raises(TypeError, match="linear: input must be a Tensor"):
        layer([[1.0, 2.0, 3.0, 4.0]])


# ----------------------------------------------------------------------------- activations
ACTIVATIONS = {
    "relu": (F.relu, nn.ReLU()),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), nn.LeakyReLU(0.2)),
    "elu": (lambda x: F.elu(x, 1.3), nn.ELU(1.3)),
    "gelu": (F.gelu, nn.GELU()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), nn.GELU("tanh")),
    "sigmoid": (F.sigmoid, nn.Sigmoid()),
    "tanh": (F.tanh, nn.Tanh()),
    "softmax1": (lambda x: F.softmax(x, 1), nn.Softmax(dim=1)),
    "softmax0": (lambda x: F.softmax(x, 0), nn.Softmax(dim=0)),
    "log_softmax1": (lambda x: F.log_softmax(x, 1), nn.LogSoftmax(dim=1)),
    "log_softmax0": (lambda x: F.log_softmax(x, 0), nn.LogSoftmax(dim=0)),
}
SMOOTH = ["elu", "gelu", "gelu_tanh", "sigmoid", "tanh", "softmax1", "log_softmax0"]


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_torch(device, name):
    fn, module = ACTIVATIONS[name]
    x = tensor("act/x", device, True)
    out = fn(x)
    assert_close(out, f"act/{name}/out", rtol=1e-12)
    out.backward(tensor("act/g", device))
    assert_close(x.grad, f"act/{name}/grad", rtol=1e-10)
    assert_close(module(tensor("act/x", device)), f"act/{name}/out", rtol=1e-12)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradcheck(device, name):
    fn, _ = ACTIVATIONS[name]
    assert A.gradcheck(fn, (small(3, 4, device=device),))
    if name in SMOOTH:
        assert A.gradgradcheck(fn, (small(3, 4, device=device),))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_keeps_float32(device, name):
    fn, _ = ACTIVATIONS[name]
    x = A.randn(3, 4, device=device, requires_grad=True)
    out = fn(x)
    assert out.dtype == A.float32
    out.sum().backward()
    assert x.grad.dtype == A.float32


def test_gelu_exact_erf_on_a_grid(device):
    grid = tensor("gelu_grid/x", device)
    assert_close(F.gelu(grid), "gelu_grid/out64", rtol=1e-13, atol=1e-15)
    out32 = F.gelu(grid.float())
    assert out32.dtype == A.float32
    # float32 stays accurate in the lower tail (PyTorch's 1 + erf loses it there: its atol)
    exact = F.gelu(grid.float().double()).numpy()
    assert_close(out32, exact, rtol=1e-5, atol=1e-38)
    assert_close(out32, "gelu_grid/out32", rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("masked", [True, False])
def test_erf_both_evaluation_paths(masked):
    # masked: each of Cody's ranges on its own elements (CPU); unmasked: clipped whole-array
    # evaluation with a select (what a GPU runs); both are checked here, on the CPU.
    points = [-30.0, -6.0, -4.0, -1.5, -0.46875, -1e-3, 0.0, 1e-300, 0.3, 0.46875, 0.5, 2.0]
    points += [3.999, 4.0, 4.5, 8.0, 27.0, float("inf"), float("-inf")]
    x = np.array(points)
    expected = np.array([math.erf(v) for v in points])
    np.testing.assert_allclose(F._erf(np, x, masked), expected, rtol=1e-15, atol=1e-16)
    cdf = F._normal_cdf(np, x, masked)
    expected_cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in points])
    # (far in the tail, rounding x / sqrt 2 alone moves Phi by ~1e-13 relative)
    np.testing.assert_allclose(cdf, expected_cdf, rtol=1e-12, atol=1e-300)
    assert np.isnan(F._erf(np, np.array([np.nan, 1.0]), masked)[0])
    assert F._erf(np, x.astype(np.float32), masked).dtype == np.float32


def test_gelu_second_derivative_is_analytic(device):
    # d2/dx2 gelu(x) = phi(x) (2 - x^2)
    x = A.tensor([-2.0, -0.3, 0.0, 0.7, 3.0], dtype=A.float64, device=device, requires_grad=True)
    (g,) = A.grad(F.gelu(x).sum(), x, create_graph=True)
    (h,) = A.grad(g.sum(), x)
    xs = x.detach().numpy()
    phi = np.exp(-0.5 * xs**2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(h.numpy(), phi * (2 - xs**2), rtol=1e-12)


def test_softmax_is_stable_and_sums_to_one(device):
    x = A.tensor([[1000.0, 1001.0, 999.0], [-1e4, 0.0, 1e4]], device=device)
    p = F.softmax(x, dim=-1)
    logp = F.log_softmax(x, dim=-1)
    assert np.isfinite(p.numpy()).all() and np.isfinite(logp.numpy()).all()
    np.testing.assert_allclose(p.numpy().sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(logp.numpy()[1], [-2e4, -1e4, 0.0], rtol=1e-6)


def test_softmax_dim_errors_and_implicit_dim():
    with pytest.raises(IndexError, match=r"softmax: dimension out of range.*got 2"):
        F.softmax(A.randn(2, 3), dim=2)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        p = F.softmax(A.randn(2, 3))
    np.testing.assert_allclose(p.numpy().sum(1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(A.randn(2), approximate="fast")
    with pytest.raises(ValueError, match="GELU: approximate"):
        nn.GELU("fast")


# --------------------------------------------------------------------------------- dropout
def test_dropout_training_scales_and_masks(device):
    x = A.ones(200, 100, device=device, requires_grad=True)
    drop = nn.Dropout(p=0.3)
    out = drop(x)
    values = out.detach().numpy()
    kept = values != 0
    np.testing.assert_allclose(values[kept], 1 / 0.7, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.3) < 0.02  # 20,000 draws: 4 standard deviations is 0.013
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), values, rtol=1e-6)  # the same mask, same scale
    assert out.dtype == A.float32 and x.grad.dtype == A.float32


def test_dropout_eval_and_edge_probabilities(device):
    x = A.randn(4, 5, device=device)
    drop = nn.Dropout(0.5)
    drop.eval()
    assert drop(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="but got -0.1"):
        F.dropout(x, -0.1)


def test_dropout_is_seeded_by_manual_seed(device):
    x = A.ones(50, device=device)
    A.manual_seed(7)
    first = F.dropout(x, 0.5).numpy()
    A.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), first)


def test_dropout_gradcheck(device):
    x = A.randn(3, 4, dtype=A.float64, device=device, requires_grad=True)

    def fn(x):
        A.manual_seed(3)  # the same mask for every evaluation
        return F.dropout(x, 0.4)

    assert A.gradcheck(fn, (x,))


# ------------------------------------------------------------------------------ batchnorm
BATCHNORMS = {
    "bn1d": lambda: nn.BatchNorm1d(3),
    "bn1d_3d_cumulative": lambda: nn.BatchNorm1d(3, momentum=None),
    "bn2d": lambda: nn.BatchNorm2d(3, momentum=0.3, eps=1e-3),
    "bn1d_no_stats": lambda: nn.BatchNorm1d(3, affine=False, track_running_stats=False),
}


@pytest.mark.parametrize("key", list(BATCHNORMS))
def test_batchnorm_matches_torch_over_steps(device, key):
    bn = BATCHNORMS[key]().to(device).double()
    if bn.affine:
        with A.no_grad():
            bn.weight.copy_(tensor(f"{key}/weight", device))
            bn.bias.copy_(tensor(f"{key}/bias", device))
    step = 0
    while f"{key}/x{step}" in REF:
        x = tensor(f"{key}/x{step}", device, requires_grad=True)
        out = bn(x)
        assert_close(out, f"{key}/out{step}", rtol=1e-9, atol=1e-11)
        if step == 0:
            out.backward(tensor(f"{key}/g", device))
            assert_close(x.grad, f"{key}/gx", rtol=1e-8, atol=1e-10)
            if bn.affine:
                assert_close(bn.weight.grad, f"{key}/gw", rtol=1e-9)
                assert_close(bn.bias.grad, f"{key}/gb", rtol=1e-9)
        if bn.track_running_stats:
            # running_var uses the UNBIASED batch variance
            assert_close(bn.running_mean, f"{key}/running_mean{step}", rtol=1e-10)
            assert_close(bn.running_var, f"{key}/running_var{step}", rtol=1e-10)
            assert bn.num_batches_tracked.item() == int(REF[f"{key}/num_batches_tracked{step}"])
            assert bn.num_batches_tracked.dtype == A.int64
        step += 1
    bn.eval()
    assert_close(bn(tensor(f"{key}/x_eval", device)), f"{key}/out_eval", rtol=1e-9, atol=1e-11)


def test_batchnorm_eval_uses_running_stats_and_does_not_update(device):
    bn = nn.BatchNorm1d(2, device=device)
    with A.no_grad():
        bn.running_mean.copy_(A.tensor([1.0, -2.0]))
        bn.running_var.copy_(A.tensor([4.0, 0.25]))
    bn.eval()
    x = A.tensor([[3.0, -1.0], [1.0, -2.0]], device=device)
    expected = (x.numpy() - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5)
    np.testing.assert_allclose(bn(x).detach().numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), [1.0, -2.0])
    assert bn.num_batches_tracked.item() == 0


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 2)])
def test_batchnorm_gradcheck_training(device, shape):
    x = A.randn(*shape, dtype=A.float64, device=device, requires_grad=True)
    channels = shape[1]
    w = A.randn(channels, dtype=A.float64, device=device, requires_grad=True)
    b = A.randn(channels, dtype=A.float64, device=device, requires_grad=True)

    def fn(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True)

    assert A.gradcheck(fn, (x, w, b))
    assert A.gradgradcheck(fn, (x, w, b))


def test_batchnorm_gradcheck_eval(device):
    x = A.randn(4, 3, dtype=A.float64, device=device, requires_grad=True)
    w = A.randn(3, dtype=A.float64, device=device, requires_grad=True)
    b = A.randn(3, dtype=A.float64, device=device, requires_grad=True)
    rm = A.randn(3, dtype=A.float64, device=device)
    rv = A.rand(3, dtype=A.float64, device=device) + 0.5
    assert A.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b), (x, w, b))


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input \(got 4D"):
        nn.BatchNorm1d(3)(A.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="BatchNorm2d: expected 4D input"):
        nn.BatchNorm2d(3)(A.randn(2, 3))
    with pytest.raises(RuntimeError, match=r"expected 3 channels in dim 1, got input of shape"):
        nn.BatchNorm1d(3)(A.randn(2, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(A.randn(1, 3))
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements"):
        F.batch_norm(A.randn(2, 3), A.zeros(4), A.ones(4))


def test_batchnorm_float32_end_to_end(device):
    bn = nn.BatchNorm2d(3, device=device)
    x = A.randn(2, 3, 4, 4, device=device, requires_grad=True)
    out = bn(x)
    out.sum().backward()
    for t in (out, x.grad, bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var):
        assert t.dtype == A.float32
    # normalised per channel: mean 0, biased variance 1
    values = out.detach().numpy()
    np.testing.assert_allclose(values.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(values.var(axis=(0, 2, 3)), 1.0, rtol=1e-3)


# ------------------------------------------------------------------------------ layernorm
@pytest.mark.parametrize("key,normalized", [("ln2", (3, 4)), ("ln1", (4,))])
def test_layer_norm_matches_torch(device, key, normalized):
    x = tensor(f"{key}/x", device, True)
    w = tensor(f"{key}/w", device, True)
    b = tensor(f"{key}/b", device, True)
    out = F.layer_norm(x, normalized, w, b)
    assert_close(out, f"{key}/out", rtol=1e-10)
    out.backward(tensor(f"{key}/g", device))
    assert_close(x.grad, f"{key}/gx", rtol=1e-8, atol=1e-11)
    assert_close(w.grad, f"{key}/gw", rtol=1e-10)
    assert_close(b.grad, f"{key}/gb", rtol=1e-10)
    layer = nn.LayerNorm(normalized, device=device).double()
    with A.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(b)
    assert_close(layer(x), f"{key}/out", rtol=1e-10)


def test_layer_norm_gradcheck_and_gradgradcheck(device):
    x = A.randn(2, 3, 4, dtype=A.float64, device=device, requires_grad=True)
    w = A.randn(4, dtype=A.float64, device=device, requires_grad=True)
    b = A.randn(4, dtype=A.float64, device=device, requires_grad=True)

    def fn(x, w, b):
        return F.layer_norm(x, (4,), w, b)

    assert A.gradcheck(fn, (x, w, b))
    assert A.gradgradcheck(fn, (x, w, b))
    assert A.gradgradcheck(lambda x: F.layer_norm(x, (3, 4)), (x,))


def test_layer_norm_module_variants_and_errors():
    assert nn.LayerNorm(4, elementwise_affine=False).weight is None
    ln = nn.LayerNorm(4, bias=False)
    assert ln.bias is None and [n for n, _ in ln.named_parameters()] == ["weight"]
    x = A.randn(3, 4)
    np.testing.assert_allclose(ln(x).detach().numpy().mean(-1), 0.0, atol=1e-6)
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[4\].*\[\*, 4\].*\[2, 3\]"):
        nn.LayerNorm(4)(A.randn(2, 3))


# ------------------------------------------------------------------------------ embedding
def test_embedding_matches_torch_with_padding_and_repeats(device):
    w = tensor("embedding/w", device, True)
    idx = tensor("embedding/idx", device)
    out = F.embedding(idx, w, padding_idx=2)
    assert_close(out, "embedding/out")
    out.backward(tensor("embedding/g", device))
    assert_close(w.grad, "embedding/gw")  # row 4 twice: accumulated; row 2: padding, zero
    np.testing.assert_array_equal(w.grad.numpy()[2], 0.0)


def test_embedding_module_init_and_gradcheck(device):
    emb = nn.Embedding(6, 3, padding_idx=-1, device=device)
    assert emb.padding_idx == 5
    np.testing.assert_array_equal(emb.weight.detach().numpy()[5], 0.0)
    big = nn.Embedding(1000, 50)
    assert abs(big.weight.detach().numpy().std() - 1.0) < 0.02  # N(0, 1) init
    idx = A.tensor([[0, 5, 1], [1, 1, 2]], device=device)
    assert emb(idx).shape == (2, 3, 3)
    w = A.randn(6, 3, dtype=A.float64, device=device, requires_grad=True)
    # (the padding row affects the output but, by design, gets no gradient: not gradchecked)
    assert A.gradcheck(lambda w: F.embedding(idx, w), (w,))
    assert A.gradcheck(lambda w: F.embedding(idx, w, padding_idx=3), (w,))
    frozen = nn.Embedding.from_pretrained(A.randn(4, 2))
    assert not frozen.weight.requires_grad and frozen.weight.shape == (4, 2)


def test_embedding_errors(device):
    emb = nn.Embedding(5, 2).to(device)
    with pytest.raises(TypeError, match="integer.*float32"):
        emb(A.tensor([1.0, 2.0], device=device))
    with pytest.raises(IndexError, match=r"indices must be in \[0, 5\).*max 7"):
        emb(A.tensor([1, 7], device=device))
    with pytest.raises(IndexError, match=r"indices must be in \[0, 5\).*min -1"):
        emb(A.tensor([-1, 2], device=device))
    with pytest.raises(ValueError, match="padding_idx 9 must be within num_embeddings"):
        nn.Embedding(5, 2, padding_idx=9)


# ------------------------------------------------------------------------------ distances
def test_distances_match_torch(device):
    x, y, z = (tensor(f"dist/{k}", device) for k in "xyz")
    assert_close(F.normalize(x), "dist/normalize")
    assert_close(F.normalize(x, p=1, dim=0), "dist/normalize_p1_dim0")
    assert_close(F.pairwise_distance(x, y), "dist/pairwise")
    assert_close(F.pairwise_distance(x, y, p=1, keepdim=True), "dist/pairwise_p1_keepdim")
    assert_close(F.cosine_similarity(x, y), "dist/cosine")
    assert_close(F.cosine_similarity(z, y, dim=1), "dist/cosine_broadcast")  # (1, 4) vs (3, 4)
    xg, yg = tensor("dist/x", device, True), tensor("dist/y", device, True)
    F.cosine_similarity(xg, yg).sum().backward()
    assert_close(xg.grad, "dist/cosine_gx")  # row 1 of x is zero: its norm is clamped
    assert_close(yg.grad, "dist/cosine_gy")


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: F.normalize(a),
        lambda a, b: F.normalize(a, p=3, dim=0),
        lambda a, b: F.pairwise_distance(a, b),
        lambda a, b: F.pairwise_distance(a, b, p=1),
        lambda a, b: F.cosine_similarity(a, b),
        lambda a, b: F.cosine_similarity(a[:1], b, dim=1),
    ],
)
def test_distances_gradcheck(device, fn):
    a = small(3, 4, device=device)
    b = small(3, 4, device=device)
    assert A.gradcheck(fn, (a, b)) if fn(a, b).requires_grad else True
    assert A.gradcheck(lambda a: fn(a, b), (a,))


# -------------------------------------------------------------------------- small layers
def test_flatten_and_identity(device):
    x = A.randn(2, 3, 4, 5, device=device, requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert F.flatten(x, 1, 2).shape == (2, 12, 5)
    assert nn.Identity(54, unused="x")(x) is x
    nn.Flatten()(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 1.0)
    small_x = A.randn(2, 3, 2, dtype=A.float64, device=device, requires_grad=True)
    assert A.gradcheck(nn.Flatten(), (small_x,))
    assert A.gradcheck(nn.Identity(), (small_x,))
