"""Pooling, resampling and padding: values against PyTorch, gradients to second order, errors."""

import re

import numpy as np
import pytest
from test_conv import CONV_CASES, META, REF, run_case, t64

import autograd as A
import nn
import nn.functional as F

POOL_CASES = [n for n in META["cases"] if n not in CONV_CASES]


@pytest.mark.parametrize("name", POOL_CASES)
def test_layer_matches_pytorch(name, device):
    case, module, x, out = run_case(name, device)
    assert repr(module) == case["repr"]
    np.testing.assert_allclose(out.detach().cpu().numpy(), REF[f"{name}/out"], atol=1e-10)
    np.testing.assert_allclose(x.grad.cpu().numpy(), REF[f"{name}/grad_x"], atol=1e-10)


def check_both_orders(fn, x):
    assert A.gradcheck(fn, (x,))
    assert A.gradgradcheck(fn, (x,))


# Distinct values (a permutation) keep max-pool's choice away from ties, where it is not smooth.
def distinct(*shape, seed=0):
    n = int(np.prod(shape))
    values = np.random.default_rng(seed).permutation(n) / n
    return A.tensor(values.reshape(shape), dtype=A.float64, requires_grad=True)


@pytest.mark.parametrize(
    "fn, shape",
    [
        (lambda x: F.max_pool1d(x, 3, 2, 1), (1, 2, 6)),
        (lambda x: F.max_pool2d(x, 2), (1, 2, 4, 4)),
        (
            lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 0), dilation=(1, 2), ceil_mode=True),
            (1, 1, 5, 5),
        ),
        (lambda x: F.max_pool3d(x, 2, stride=1), (1, 1, 3, 2, 3)),
        (lambda x: F.adaptive_max_pool2d(x, (2, 3)), (1, 2, 5, 4)),
        (lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2), (1, 2, 4, 4)),
    ],
)
def test_max_pools_gradients_to_second_order(fn, shape):
    check_both_orders(fn, distinct(*shape))


@pytest.mark.parametrize(
    "fn, shape",
    [
        (lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 6)),
        (lambda x: F.avg_pool2d(x, 3, 2, 1), (1, 1, 5, 4)),
        (lambda x: F.avg_pool2d(x, 2, divisor_override=3), (1, 2, 4, 4)),
        (lambda x: F.avg_pool3d(x, 2, 1, 1, count_include_pad=False), (1, 1, 2, 3, 2)),
        (lambda x: F.adaptive_avg_pool1d(x, 3), (1, 2, 5)),
        (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (1, 2, 5, 4)),
        (lambda x: F.lp_pool2d(x * x + 0.5, 3, 2), (1, 2, 4, 4)),
        (lambda x: F.interpolate(x, scale_factor=2), (1, 2, 2, 3)),
        (lambda x: F.interpolate(x, size=(3, 5), mode="nearest-exact"), (1, 1, 2, 3)),
        (lambda x: F.interpolate(x, size=5, mode="linear", align_corners=True), (1, 2, 3)),
        (lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"), (1, 1, 3, 2)),
        (lambda x: F.interpolate(x, size=(4, 3), mode="bicubic"), (1, 1, 3, 3)),
        (lambda x: F.interpolate(x, size=(2, 3, 3), mode="trilinear"), (1, 1, 2, 2, 2)),
        (lambda x: F.interpolate(x, size=(2, 2), mode="area"), (1, 1, 3, 4)),
        (lambda x: F.pixel_shuffle(x, 2), (1, 4, 2, 2)),
        (lambda x: F.pixel_unshuffle(x, 2), (1, 1, 4, 2)),
        (lambda x: F.pad(x, (1, 2, 2, 0), mode="reflect"), (1, 1, 3, 3)),
        (lambda x: F.pad(x, (1, 2), mode="replicate"), (1, 1, 3)),
        (lambda x: F.pad(x, (1, 1, 1, 2), mode="circular"), (1, 1, 3, 3)),
        (lambda x: F.pad(x, (1, 1, 1, 1), value=0.5), (1, 1, 2, 2)),
    ],
)
def test_linear_resampling_gradients_to_second_order(fn, shape):
    check_both_orders(fn, t64(*shape, seed=3))


def test_max_pool_indices_and_unpool_match_pytorch_semantics():
    x = A.tensor([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 7.0], [0.0, 1.0, 2.0, 9.0]]]])
    out, idx = F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
    assert out.tolist() == [[[[5.0, 8.0], [1.0, 9.0]]]]
    assert idx.tolist() == [[[[1, 6], [9, 11]]]]
    assert idx.dtype == A.int64
    back = F.max_unpool2d(out, idx, 2, output_size=(3, 4))
    assert back.tolist() == [[[[0, 5, 0, 0], [0, 0, 8, 0], [0, 1, 0, 9]]]]


def test_max_pool_saves_the_argmax_not_the_input():
    x = t64(2, 3, 8, 8)
    node = F.max_pool2d(x, 2).grad_fn
    saved = [v for kind, v, _ in node._saved if kind in (0, 1, 2)]
    assert len(saved) == 1 and saved[0].dtype.kind == "i" and saved[0].size == 2 * 3 * 16


def test_pooling_layers_reprs_are_pytorchs():
    assert repr(nn.MaxPool2d(2)) == (
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )
    assert repr(nn.AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    assert repr(nn.AdaptiveAvgPool2d((1, 1))) == "AdaptiveAvgPool2d(output_size=(1, 1))"
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ConstantPad2d(1, 0.5)) == "ConstantPad2d(padding=(1, 1, 1, 1), value=0.5)"
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"


def test_channel_dropout_drops_whole_channels():
    x = A.ones(4, 8, 5, 5)
    y = nn.Dropout2d(0.5)(x)
    per_channel = y.numpy().reshape(4, 8, -1)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # one draw per channel
    assert nn.Dropout2d(0.5).eval()(x) is x
    y1 = nn.Dropout1d(0.5)(A.ones(3, 6, 4)).numpy()
    assert (y1.min(-1) == y1.max(-1)).all()


def test_softmax2d_sums_to_one_over_channels():
    y = nn.Softmax2d()(A.randn(2, 3, 4, 4))
    np.testing.assert_allclose(y.sum(1).numpy(), np.ones((2, 4, 4)), rtol=1e-6)


def test_unbatched_pooling():
    x = t64(2, 4, 4, requires_grad=False)
    np.testing.assert_allclose(
        F.max_pool2d(x, 2).numpy(), F.max_pool2d(x.unsqueeze(0), 2)[0].numpy()
    )
    assert F.avg_pool1d(t64(2, 6, requires_grad=False), 2).shape == (2, 3)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: F.max_pool2d(A.randn(1, 1, 4, 4), 2, padding=2),
            r"max_pool2d: pad should be at most half of effective kernel size",
        ),
        (
            lambda: F.max_pool2d(A.randn(1, 1, 1, 1), 3, padding=1, dilation=2),
            r"max_pool2d: Given input size: \(1x1x1\). Calculated output size: \(1x0x0\). Output "
            r"size is too small",
        ),
        (
            lambda: F.max_pool2d(A.randn(4, 4), 2),
            r"max_pool2d: Expected 3D \(unbatched\) or 4D \(batched\) input",
        ),
        (
            lambda: F.avg_pool2d(A.randn(1, 1, 4, 4), 2, padding=2),
            r"avg_pool2d: pad should be at most half of kernel size",
        ),
        (
            lambda: F.avg_pool2d(A.randn(1, 1, 4, 4), 2, divisor_override=0),
            r"avg_pool2d: divisor must be not zero",
        ),
        (
            lambda: F.adaptive_avg_pool2d(A.randn(1, 1, 4, 4), (0, 2)),
            r"adaptive_avg_pool2d: output_size must be positive",
        ),
        (
            lambda: F.interpolate(A.randn(1, 1, 4), scale_factor=2, mode="bilinear"),
            r"interpolate: got 3D input .* mode 'bilinear' needs 4D input",
        ),
        (
            lambda: F.interpolate(A.randn(1, 1, 4, 4), scale_factor=2, size=3),
            r"interpolate: only one of size or scale_factor should be defined",
        ),
        (
            lambda: F.interpolate(A.randn(1, 1, 4, 4), scale_factor=2, align_corners=True),
            r"interpolate: align_corners option can only be set with the interpolating modes",
        ),
        (
            lambda: F.interpolate(A.randn(1, 1, 4, 4), scale_factor=2, mode="cubic"),
            r"interpolate: unknown mode 'cubic'",
        ),
        (
            lambda: F.pixel_shuffle(A.randn(1, 3, 2, 2), 2),
            r"pixel_shuffle: .* input.size\(-3\)=3 is not divisible by 4",
        ),
        (
            lambda: F.pad(A.randn(1, 1, 2, 2), (2, 2), mode="reflect"),
            r"pad: reflect padding \(2, 2\) must be < the size 2",
        ),
        (lambda: F.pad(A.randn(1, 1, 2, 2), (1, 1), mode="mirror"), r"pad: unknown mode 'mirror'"),
        (
            lambda: F.max_unpool2d(A.randn(1, 1, 2, 2), A.zeros(1, 1, 2, 3).long(), 2),
            r"max_unpool2d: Expected shape of indices to be same as that of the input",
        ),
        (
            lambda: F.group_norm(A.randn(2, 6, 3), 4),
            r"group_norm: Expected number of channels in input to be divisible by num_groups",
        ),
        (lambda: nn.GroupNorm(4, 6), r"GroupNorm: num_channels must be divisible by num_groups"),
        (
            lambda: nn.InstanceNorm2d(3, affine=True)(A.randn(2, 4, 3, 3)),
            r"InstanceNorm2d: expected input's size at dim=1 to match num_features \(3\), but "
            r"got: 4",
        ),
        (
            lambda: nn.BatchNorm3d(2)(A.randn(2, 2, 3, 3)),
            r"BatchNorm3d: expected 5D input \(got 4D input",
        ),
        (
            lambda: nn.ReflectionPad2d((1, 1)),
            r"ReflectionPad2d: padding must be an int or a tuple of 4 ints",
        ),
        (lambda: F.dropout2d(A.randn(2), 0.5), r"dropout2d: Expected 3D or 4D input"),
    ],
)
def test_error_messages_name_the_op_shapes_and_argument(call, message):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError)) as info:
        call()
    assert re.search(message, str(info.value)), str(info.value)


def test_max_pool_propagates_nan_and_points_its_index_at_it():
    x = A.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]], requires_grad=True)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    assert np.isnan(out.item()) and idx.item() == 1
    out.sum().backward()
    assert x.grad.tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]


@pytest.mark.parametrize(
    "in_size, kernel",
    [((9,), (3,)), ((8, 9), (2, 2)), ((7, 5), (3, 2)), ((4, 5, 4), (2, 2, 2)), ((6, 6), (1, 3))],
)
def test_tiled_max_pool_scatter_equals_the_column_path(in_size, kernel):
    # stride = kernel, no padding: the gradient is written in place of col2im's slice-adds.
    # Ties (whole zero windows, as after a ReLU), NaN inputs and an infinite gradient
    # (0 * inf = NaN in both paths) included.
    from autograd.ops import pool as P
    from autograd.ops.conv import ConvGeometry, conv_output_size

    d = len(in_size)
    out_size = conv_output_size(in_size, kernel, kernel, ((0, 0),) * d, (1,) * d)
    geom = ConvGeometry(in_size, out_size, kernel, kernel, (0,) * d, (1,) * d)
    assert P._tiles(geom)
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal((2, 3) + in_size), 0.0)
    x.reshape(-1)[::7] = np.nan
    _, index = P.MaxPool.apply(A.tensor(x), geom)
    grad = rng.standard_normal((2, 3) + out_size)
    grad.reshape(-1)[1] = np.inf
    index = index.data
    backend = A.tensor(x)._backend
    with np.errstate(invalid="ignore"):  # 0 * inf, in both paths
        col = P._one_hot_columns(np, grad, index, kernel, out_size)
        expected = backend.col2im(col, in_size, kernel, (0,) * d, (1,) * d)
        got = P._scatter_tiles(np, grad, index, geom)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


TILED_POOLS = [
    ((9,), (3,)),
    ((8, 9), (2, 2)),
    ((7, 5), (3, 2)),
    ((4, 5, 4), (2, 2, 2)),
    ((6, 6), (1, 3)),
    ((6, 6), (1, 1)),
    ((10, 11), (2, 3)),
    ((12,), (12,)),
    ((5, 7, 6), (1, 3, 2)),
]


def tiled_geometry(in_size, kernel):
    from autograd.ops.conv import ConvGeometry, conv_output_size

    d = len(in_size)
    out_size = conv_output_size(in_size, kernel, kernel, ((0, 0),) * d, (1,) * d)
    return ConvGeometry(in_size, out_size, kernel, kernel, (0,) * d, (1,) * d)


@pytest.mark.parametrize("in_size, kernel", TILED_POOLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shifted_max_pool_equals_the_loop(in_size, kernel, dtype):
    # NumPy's tiled max-pool (contiguous shifted slices, row maxima first) against the strided
    # loop: the same values and the same first-maximum index, on ties (small integers, the
    # zeros after a ReLU), on plain values and on non-contiguous inputs; None when a window
    # holds a NaN (the loop then runs: PyTorch's last-NaN-wins index).
    from autograd.ops import pool as P

    geom = tiled_geometry(in_size, kernel)
    assert P._tiles(geom)
    rng = np.random.default_rng(2)
    shape = (2, 3) + in_size
    inputs = [
        rng.integers(-2, 3, shape).astype(dtype),
        np.maximum(rng.standard_normal(shape), 0.0).astype(dtype),
        np.asfortranarray(rng.standard_normal(shape).astype(dtype)),
        rng.standard_normal((2, 3) + tuple(2 * n for n in in_size)).astype(dtype)[
            (...,) + (slice(None, None, 2),) * len(in_size)
        ],
    ]
    for x in inputs:
        best, index = P._shifted_max(np, x, geom)
        expected_best, expected_index = P._looped_max(np, x, geom)
        assert best.dtype == expected_best.dtype and index.dtype == expected_index.dtype
        np.testing.assert_array_equal(best, expected_best)
        np.testing.assert_array_equal(index, expected_index)
    x = inputs[1].copy()
    x.reshape(-1)[::5] = np.nan
    assert P._shifted_max(np, x, geom) is None


def test_max_pool_on_numpy_takes_the_shifted_path_for_tiles(monkeypatch):
    from autograd.ops import pool as P

    calls = []
    shifted = P._shifted_max
    monkeypatch.setattr(P, "_shifted_max", lambda *a: calls.append(1) or shifted(*a))
    x = A.tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    F.max_pool2d(x, 3, 1).sum().backward()  # overlapping windows: the loop
    assert calls == [1]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "n, lo, hi", [(5, 2, 3), (4, 0, 3), (6, 5, 1), (3, 2, 2), (2, 1, 1), (3, 7, 4)]
)
def test_pad_gradient_slice_adds_equal_the_scatter_add(mode, n, lo, hi):
    # AxisScatter's runs (slice-adds, reversed slices, sums) against np.add.at on the same
    # sources, along every axis of a 3-D gradient.
    from autograd.ops import shape as S

    if mode == "reflect" and (lo >= n or hi >= n):
        pytest.skip("reflect padding must be smaller than the size")
    if mode == "circular" and (lo > n or hi > n):
        sources = S._pad_sources(n, lo, hi, mode)  # wraps more than once: still runs
        assert len(S.GatherPlan(sources).runs) > 2
    sources = S._pad_sources(n, lo, hi, mode)
    np.testing.assert_array_equal(S._pad_index(np, n, lo, hi, mode), sources)
    plan = S.GatherPlan(sources)
    rng = np.random.default_rng(n + lo + hi)
    for axis in range(3):
        shape = [2, 3, 4]
        shape[axis] = n + lo + hi
        grad = rng.standard_normal(shape)
        expected_shape = list(shape)
        expected_shape[axis] = n
        expected = np.zeros(expected_shape)
        np.add.at(expected, (slice(None),) * axis + (np.array(sources),), grad)
        for max_runs in (0, 10**9):  # the per-use passes (ordered sources) and the runs
            plan.MAX_RUNS = max_runs
            plan.__init__(sources)
            got = S.AxisScatter.apply(A.tensor(grad), axis, np.array(sources), plan, n)
            np.testing.assert_allclose(got.numpy(), expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("max_runs", [0, 8, 10**9])
@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize(
    "in_size, out_size",
    [((3, 4), (5, 7)), ((7, 5), (3, 2)), ((4,), (9,)), ((2, 3, 5), (3, 4, 5)), ((20,), (33,))],
)
def test_nearest_gathers_and_their_gradient_equal_one_fancy_index(
    in_size, out_size, exact, max_runs, monkeypatch
):
    # One AxisGather per dim (gradient: slice-adds and sums, or per-use passes) against the
    # single advanced index (gradient: a scatter-add) that nearest resampling used to be.
    from autograd.ops import shape as S

    monkeypatch.setattr(S.GatherPlan, "MAX_RUNS", max_runs)
    from autograd.ops.index import Getitem

    x = t64(2, 3, *in_size, seed=7)
    mode = "nearest-exact" if exact else "nearest"
    y = F.interpolate(x, size=out_size, mode=mode)
    index = []
    for i, (n, out) in enumerate(zip(in_size, out_size)):
        dst = np.arange(out, dtype=np.float64)
        src = np.floor((dst + 0.5) * (n / out) if exact else dst * (n / out)).astype(np.int64)
        shape = [1] * len(in_size)
        shape[i] = out
        index.append(np.minimum(src, n - 1).reshape(shape))
    reference = Getitem.apply(x, (slice(None), slice(None)) + tuple(index))
    np.testing.assert_array_equal(y.detach().numpy(), reference.detach().numpy())
    g = t64(*y.shape, seed=8, requires_grad=False)
    (got,) = A.grad(y, x, g)
    (expected,) = A.grad(reference, x, g)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-13, atol=1e-13)


def test_pad_and_nearest_gradients_make_no_transfer(strict):
    # The gather plans are host ints; their device index arrays are built on the device.
    x = A.randn(2, 3, 11, 5, device="strict", requires_grad=True)
    with strict.counting() as moved:
        F.interpolate(x, size=(25, 7), mode="nearest").sum().backward()  # > 8 runs: per use
        F.pad(x, (2, 1, 3, 2), mode="reflect").sum().backward()
        F.pad(x, (2, 1, 3, 2), mode="replicate").sum().backward()
    assert (moved.to_host, moved.from_host) == (0, 0)


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 1)])
def test_max_pool_of_an_empty_batch(kernel, stride):
    # PyTorch allows a batch of 0; the index kept for backward has 0 rows too.
    x = A.tensor(np.zeros((0, 3, 6, 6), np.float32), requires_grad=True)
    out = F.max_pool2d(x, kernel, stride)
    assert out.shape == (0, 3) + ((6 - kernel) // stride + 1,) * 2
    out.sum().backward()
    assert x.grad.shape == x.shape
