"""The lean forms of sigmoid, binary_cross_entropy_with_logits, sum, mean and the CPU's small SGD
updates: the same values as the formulas they replace (bit for bit where the order of the
arithmetic is kept; at least as accurate where BLAS sums), gradients proven by gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd as A
import backends
import backends.fused as fused
import nn.functional as F
from autograd.ops.elementwise import sigmoid_array

CPU = backends.get_backend("cpu")
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 88.7, -88.7, -103.0, -104.0, 1e-30, -1e-30, 40.0]


def _two_branch_sigmoid(a):
    """The formula the lean sigmoid replaces: both branches, then ``where``."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)


def _bits_equal(x, y):
    x, y = np.asarray(x), np.asarray(y)
    assert x.dtype == y.dtype and x.shape == y.shape, (x.dtype, x.shape, y.dtype, y.shape)
    assert x.tobytes() == y.tobytes()


def _logits(dtype, n=2000):
    rng = np.random.default_rng(0)
    scales = np.repeat([1.0, 10.0, 100.0], n // 3 + 1)[:n]
    return np.concatenate([rng.standard_normal(n) * scales, SPECIAL]).astype(dtype)


# ------------------------------------------------------------------------------ sigmoid
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_equals_the_two_branch_formula_bit_for_bit(dtype):
    a = _logits(dtype)
    for x in (a, a[:-2].reshape(-1, 2)[:, ::-1], a[3:4].reshape(()), a[:6].reshape(2, 3).T):
        _bits_equal(sigmoid_array(np, x), _two_branch_sigmoid(x))
        _bits_equal(A.tensor(x).sigmoid().numpy(), _two_branch_sigmoid(x))


def test_sigmoid_has_no_overflow_and_keeps_tiny_values():
    x = A.tensor([-100.0, -95.0, -30.0, 30.0, 1000.0, -1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = x.sigmoid().numpy()
    assert 0 < y[0] < y[1] < y[2] < 1e-12  # float32 denormals, not flushed to 0 by an overflow
    np.testing.assert_array_equal(y[3:], [1.0, 1.0, 0.0])


def test_sigmoid_gradients(device):
    x = A.tensor(np.linspace(-6, 6, 12).reshape(3, 4), device=device, requires_grad=True)
    assert A.gradcheck(lambda t: t.sigmoid(), (x,))
    assert A.gradgradcheck(lambda t: t.sigmoid(), (x,))


# ------------------------------------------------------------------ BCE with logits
def _previous_bce_with_logits(x, t):
    softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0.0)
    return (1.0 - t) * x + softplus_neg


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_forward_equals_the_previous_formula_bit_for_bit(dtype):
    x = _logits(dtype)
    x = x[~np.isnan(x)]
    t = np.random.default_rng(1).uniform(0, 1, x.shape).astype(dtype)
    t[:10] = [0, 1, 0, 1, 0.5, 0, 1, 0, 1, 0.25]
    for xs, ts in (
        (x, t),
        (x[5:6].reshape(()), t[5:6].reshape(())),
        (x[:12].reshape(3, 4), t[:12].reshape(3, 4)),
    ):
        with np.errstate(invalid="ignore"):  # inf - inf at infinite logits: nan, as before
            got = F.binary_cross_entropy_with_logits(A.tensor(xs), A.tensor(ts), reduction="none")
            _bits_equal(got.numpy(), _previous_bce_with_logits(xs, ts))


@pytest.mark.parametrize("dtype", [A.float32, A.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(300, 1), (4, 3), (7,), ()])
def test_bce_with_logits_one_op_backward_equals_the_differentiable_rule(dtype, reduction, shape):
    rng = np.random.default_rng(2)
    x = A.tensor(rng.standard_normal(shape) * 5, dtype=dtype, requires_grad=True)
    t = A.tensor(rng.uniform(0, 1, shape), dtype=dtype)
    weights = A.tensor(rng.uniform(0.5, 2, shape), dtype=dtype)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction=reduction)
    if reduction == "none":
        loss = (loss * weights).sum()  # a gradient that is not a broadcast constant
    (fast,) = A.autograd.grad(loss, [x], retain_graph=True)
    (slow,) = A.autograd.grad(loss, [x], create_graph=True)
    _bits_equal(fast.numpy(), slow.detach().numpy())


def test_bce_with_logits_one_op_backward_is_one_node_in_a_compiled_step():
    x, y = A.randn(16, 3), (A.rand(16, 1) > 0.5).float()
    w = A.randn(3, 1, requires_grad=True)

    def step(x, y):
        w.grad = None
        loss = F.binary_cross_entropy_with_logits(x @ w, y)
        loss.backward()
        return loss

    compiled = A.compile(step)
    for _ in range(4):
        compiled(x, y)
    text = compiled.schedule(x, y).describe()
    assert "_BCEWithLogitsGrad" in text and "Sigmoid" not in text


@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits_gradients(device, pos_weight):
    rng = np.random.default_rng(3)
    x = A.tensor(rng.standard_normal((4, 3)) * 3, device=device, requires_grad=True)
    t = A.tensor(rng.uniform(0, 1, (4, 3)), device=device, requires_grad=True)
    pw = A.tensor([0.5, 2.0, 1.5], dtype=A.float64, device=device, requires_grad=True)

    def fn(x, t, *pw):
        return F.binary_cross_entropy_with_logits(x, t, pos_weight=pw[0] if pw else None)

    inputs = (x, t, pw) if pos_weight else (x, t)
    assert A.gradcheck(fn, inputs)
    assert A.gradgradcheck(fn, inputs)
    only_x = (x, t.detach(), pw.detach()) if pos_weight else (x, t.detach())
    assert A.gradcheck(fn, only_x)
    assert A.gradgradcheck(fn, only_x)


# ------------------------------------------------------------------------ sum and mean
def _exact_sum(a, axis, keepdims):
    """The correctly rounded sums (``math.fsum``) over the leading ``axis``, as float64."""
    rows = int(np.prod(a.shape[: len(axis)]))
    columns = a.reshape(rows, -1).T.astype(np.float64)
    sums = np.array([math.fsum(column) for column in columns])
    shape = (1,) * len(axis) if keepdims else ()
    return sums.reshape(shape + a.shape[len(axis) :])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape,axis",
    [((300, 20), (0,)), ((300, 7), (0,)), ((128, 512), (0,)), ((6, 5, 4), (0, 1)),
     ((6, 5, 4), (0,)), ((1000, 2), (0,))],
)  # fmt: skip
@pytest.mark.parametrize("keepdims", [False, True])
def test_leading_axes_sums_go_through_blas_and_are_at_least_as_accurate(
    dtype, shape, axis, keepdims
):
    rng = np.random.default_rng(4)
    a = (rng.standard_normal(shape) + 0.3).astype(dtype)
    got = CPU.reduce_sum(a, axis, keepdims)
    numpy_sum = a.sum(axis=axis, keepdims=keepdims)
    assert got.dtype == numpy_sum.dtype and got.shape == numpy_sum.shape
    exact = _exact_sum(a, axis, keepdims)
    scale = _exact_sum(np.abs(a), axis, keepdims)
    ours, theirs = np.abs(got - exact) / scale, np.abs(numpy_sum - exact) / scale
    eps = np.finfo(dtype).eps
    assert ours.max() <= 4 * eps * np.sqrt(a.size / exact.size)  # well inside n * eps
    assert ours.mean() <= theirs.mean() * 1.25 + eps / 8
    # Integer values: every order of addition is exact, so the sums agree bit for bit.
    whole = rng.integers(-50, 50, shape).astype(dtype)
    _bits_equal(CPU.reduce_sum(whole, axis, keepdims), whole.sum(axis=axis, keepdims=keepdims))
    # Every call gives the same bits (no dependence on the array's address).
    shifted = np.empty(a.size + 1, dtype)[1:].reshape(shape)
    shifted[...] = a
    _bits_equal(CPU.reduce_sum(shifted, axis, keepdims), got)


def test_leading_axes_sums_propagate_inf_and_nan_as_numpy():
    a = np.ones((8, 4), np.float32)
    a[2, 0], a[3, 1], a[4, 1], a[5, 2] = np.inf, np.inf, -np.inf, np.nan
    with np.errstate(invalid="ignore"):
        _bits_equal(CPU.reduce_sum(a, (0,), False), a.sum(axis=0))


@pytest.mark.parametrize(
    "array,axis,keepdims",
    [
        (np.arange(24.0, dtype=np.float32).reshape(4, 6)[:, ::2], (0,), False),  # strided
        (np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6), (1,), False),  # trailing
        (np.linspace(-1, 1, 24, dtype=np.float16).reshape(6, 4), (0,), False),  # float16
        (np.arange(24, dtype=np.int64).reshape(6, 4), (0,), True),  # integers
        (np.linspace(-1, 1, 24).reshape(2, 3, 4), None, False),  # everything
        (np.linspace(-1, 1, 24).reshape(2, 3, 4), (0, 1, 2), True),
        (np.linspace(-1, 1, 6).reshape(3, 2), (0,), False),  # 3 rows: NumPy's loop
        (np.float32(2.5).reshape(()), None, False),
        (np.float32(2.5).reshape(()), None, True),
    ],
)
def test_other_sums_and_means_are_numpys_bit_for_bit(array, axis, keepdims):
    _bits_equal(CPU.reduce_sum(array, axis, keepdims), array.sum(axis=axis, keepdims=keepdims))
    if array.dtype.kind == "f":
        _bits_equal(
            CPU.reduce_mean(array, axis, keepdims), array.mean(axis=axis, keepdims=keepdims)
        )


def test_full_reductions_are_fresh_0d_arrays():
    a = np.linspace(0, 1, 300, dtype=np.float32).reshape(300, 1)
    for out in (CPU.reduce_sum(a, None, False), CPU.reduce_mean(a, None, False)):
        assert type(out) is np.ndarray and out.shape == () and out.dtype == np.float32
    _bits_equal(CPU.reduce_mean(a, None, False), a.mean())
    _bits_equal(CPU.reduce_mean(a, (0, 1), False), a.mean(axis=(0, 1)))


def test_leading_axes_mean_is_the_sum_divided_by_the_count():
    a = np.random.default_rng(5).standard_normal((300, 20)).astype(np.float32)
    total = CPU.reduce_sum(a, (0,), True)
    _bits_equal(CPU.reduce_mean(a, (0,), True), total / np.float32(300))


@pytest.mark.parametrize("dims,keepdim", [(0, False), ((0, 1), True), (None, False), (2, False)])
def test_sum_and_mean_gradients(device, dims, keepdim):
    x = A.tensor(np.random.default_rng(6).standard_normal((5, 4, 3)), device=device)
    x.requires_grad_()
    for fn in (lambda t: t.sum(dims, keepdim=keepdim), lambda t: t.mean(dims, keepdim=keepdim)):
        assert A.gradcheck(fn, (x,))
        assert A.gradgradcheck(fn, (x,))


# ------------------------------------------------------------------------- SGD updates
@pytest.mark.parametrize("size", [40, fused.NUMBA_SGD_MIN_SIZE + 3])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_small_and_large_sgd_updates_equal_the_reference_bit_for_bit(size, momentum):
    rng = np.random.default_rng(7)
    param, grad, buf = (rng.standard_normal(size).astype(np.float32) for _ in range(3))
    mine, ref = param.copy(), param.copy()
    my_buf, ref_buf = buf.copy(), buf.copy()
    with_buf = momentum != 0
    for _ in range(3):
        CPU.sgd_update_(mine, grad, my_buf if with_buf else None, 0.05, momentum, 0.0,
                        np.empty_like(param))  # fmt: skip
        fused.sgd_update_reference(np, ref, grad, ref_buf if with_buf else None, 0.05, momentum,
                                   0.0, np.empty_like(param))  # fmt: skip
    _bits_equal(mine, ref)
    _bits_equal(my_buf, ref_buf)
