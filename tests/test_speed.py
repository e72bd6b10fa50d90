"""The zero-allocation training step: in-place gradient accumulation and fused optimizer updates
give the same numbers, bit for bit, as the readable reference path."""

from __future__ import annotations

import gc
import math
import tracemalloc

import numpy as np
import pytest

import autograd as A
import backends.fused as fused
import nn
import optim
from optim.sgd import sgd_update


@pytest.fixture(params=["numba", "numpy"])
def kernel(request, monkeypatch):
    """Run a test with the Numba kernel (when installed) and with the NumPy reference."""
    if request.param == "numba":
        pytest.importorskip("numba")
        monkeypatch.setattr(fused, "_numba_sgd", None)
        monkeypatch.setattr(fused, "NUMBA_SGD_MIN_SIZE", 0)  # the kernel for small ones too
    else:
        monkeypatch.setattr(fused, "_numba_sgd", False)
    return request.param


@pytest.mark.parametrize("dtype", [A.float32, A.float64])
@pytest.mark.parametrize(
    "options",
    [{"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.3}, {"momentum": 0.0}, {}],
)
def test_fused_sgd_equals_the_reference_update_bit_for_bit(kernel, dtype, options):
    rng = np.random.default_rng(0)
    start = rng.standard_normal((5, 7))
    grads = [rng.standard_normal((5, 7)) for _ in range(3)]
    fast = A.tensor(start, dtype=dtype, requires_grad=True)
    slow = A.tensor(start, dtype=dtype, requires_grad=True)
    opt = optim.SGD([fast], lr=0.05, **options)
    buffer = None
    for g in grads:
        fast.grad = A.tensor(g, dtype=dtype)
        opt.step()
        with A.no_grad():
            buffer = sgd_update(
                slow, A.tensor(g, dtype=dtype), buffer, lr=0.05,
                momentum=options.get("momentum", 0), dampening=options.get("dampening", 0),
                weight_decay=0, nesterov=False, maximize=False,
            )  # fmt: skip
        np.testing.assert_array_equal(fast.detach().numpy(), slow.detach().numpy())
    if options.get("momentum"):
        np.testing.assert_array_equal(
            opt.state[fast]["momentum_buffer"].numpy(), buffer.detach().numpy()
        )


def test_fused_sgd_falls_back_for_a_non_contiguous_gradient(kernel):
    p = A.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    q = A.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    g = np.arange(12, dtype=np.float32).reshape(3, 4).T  # a transposed view
    p.grad = A.tensor(g)
    p.grad.data = g
    q.grad = A.tensor(np.ascontiguousarray(g))
    optim.SGD([p], lr=0.1, momentum=0.5).step()
    optim.SGD([q], lr=0.1, momentum=0.5).step()
    np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_the_fused_step_bumps_versions_so_saved_tensors_notice():
    w = A.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    before = w._version
    w.grad = A.tensor([1.0, 1.0])
    optim.SGD([w], lr=0.1).step()
    assert w._version == before + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def _train(model, opt, x, y, steps, set_to_none):
    for _ in range(steps):
        opt.zero_grad(set_to_none=set_to_none)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def test_gradients_accumulate_into_the_existing_buffers():
    A.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = A.randn(8, 6)
    y = A.tensor(np.arange(8) % 3)
    _train(model, opt, x, y, 1, set_to_none=False)
    buffers = [p.grad.data for p in model.parameters()]
    _train(model, opt, x, y, 3, set_to_none=False)
    assert all(p.grad.data is b for p, b in zip(model.parameters(), buffers))
    # ... and give the same training as fresh gradients every step.
    A.manual_seed(0)
    twin = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    _train(twin, optim.SGD(twin.parameters(), lr=0.1, momentum=0.9), x, y, 4, set_to_none=True)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_accumulation_sums_two_backwards_into_the_same_buffer():
    w = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    buffer = w.grad.data
    (3 * w).sum().backward()
    assert w.grad.data is buffer
    np.testing.assert_array_equal(w.grad.detach().numpy(), [5.0, 7.0, 9.0])


def test_a_grad_that_is_a_view_is_not_written_through():
    base = A.zeros(2, 3)
    w = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w.grad = base[0]
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.detach().numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(base.detach().numpy(), np.zeros((2, 3)))


@pytest.mark.parametrize("dtype", [A.float32, A.float64])
@pytest.mark.parametrize("options", [{}, {"betas": (0.8, 0.99), "eps": 1e-6, "lr": 0.1}])
def test_fused_adam_equals_the_reference_update_bit_for_bit(dtype, options):
    rng = np.random.default_rng(1)
    start = rng.standard_normal((4, 6))
    fast = A.tensor(start, dtype=dtype, requires_grad=True)
    slow = A.tensor(start, dtype=dtype, requires_grad=True)
    opt = optim.Adam([fast], **options)
    slow_opt = optim.Adam([slow], weight_decay=0.0, **options)
    slow_opt._fused_step = lambda *args: False  # the readable path: adam_update on Tensors
    for _ in range(4):
        g = rng.standard_normal((4, 6))
        fast.grad = A.tensor(g, dtype=dtype)
        slow.grad = A.tensor(g, dtype=dtype)
        opt.step()
        slow_opt.step()
        np.testing.assert_array_equal(fast.detach().numpy(), slow.detach().numpy())
    for key in ("exp_avg", "exp_avg_sq", "step"):
        np.testing.assert_array_equal(
            opt.state[fast][key].numpy(), slow_opt.state[slow][key].numpy()
        )


def _mlp_and_batch():
    """A small MLP whose every weight matrix takes 8 KiB or more (float32)."""
    A.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(48, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32)
    )
    return model, A.randn(16, 48), A.tensor(np.arange(16) % 32)


def _traced(fn):
    """(net bytes still allocated after ``fn()``, peak bytes above the start while it ran).

    ``gc.collect()`` empties CPython's free lists (of tuples, dicts ...), which would otherwise
    count as allocated."""
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        gc.collect()
        current = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return current - start, peak - start


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: optim.SGD(ps, lr=0.1),
        lambda ps: optim.Adam(ps, lr=1e-3),
    ],
    ids=["sgd_momentum", "sgd", "adam"],
)
def test_a_steady_state_optimizer_step_allocates_no_arrays(kernel, make_opt):
    model, x, y = _mlp_and_batch()
    opt = make_opt(model.parameters())
    _train(model, opt, x, y, 2, set_to_none=False)  # state and scratch exist from now on
    net, peak = _traced(opt.step)
    # Python objects only (views, tuples): below half of the smallest weight matrix (8 KiB).
    assert net < 2048 and peak < 4096, (net, peak)


def test_the_first_step_allocates_state_and_later_steps_allocate_nothing_that_stays(kernel):
    model, x, y = _mlp_and_batch()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    params = sum(p.data.nbytes for p in model.parameters())
    first, _ = _traced(lambda: _train(model, opt, x, y, 1, set_to_none=False))
    assert first >= 2 * params  # the .grad buffers and the momentum buffers
    _train(model, opt, x, y, 1, set_to_none=False)  # the update with momentum, compiled (Numba)
    for _ in range(3):
        net, peak = _traced(lambda: _train(model, opt, x, y, 1, set_to_none=False))
        assert net < 2048, net  # the gradients went into the existing buffers
        assert peak < first  # activations and transient gradients only


def _grads(out, inputs, create_graph):
    grads = A.autograd.grad(out.sum(), inputs, create_graph=create_graph, retain_graph=True)
    return [g.detach().numpy() for g in grads]


@pytest.mark.parametrize("x_shape", [(5,), (4, 5), (2, 3, 5)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_grad", [True, False])  # False: a first layer's batch of data
def test_linear_one_op_backward_equals_the_differentiable_rules(x_shape, bias, x_grad):
    rng = np.random.default_rng(0)
    x = A.tensor(rng.standard_normal(x_shape), requires_grad=x_grad)
    w = A.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    b = A.tensor(rng.standard_normal(3), requires_grad=True) if bias else None
    inputs = [t for t in (x, w, b) if t is not None and t.requires_grad]
    out = nn.functional.linear(x, w, b) ** 2
    for fast, slow in zip(_grads(out, inputs, False), _grads(out, inputs, True)):
        np.testing.assert_allclose(fast, slow, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [{}, {"ignore_index": 2}, {"weight": [0.5, 2.0, 1.0, 3.0]}])
def test_fused_cross_entropy_equals_log_softmax_then_nll(reduction, options):
    rng = np.random.default_rng(1)
    x = A.tensor(rng.standard_normal((6, 4)) * 3, requires_grad=True)
    target = A.tensor([0, 2, 3, 1, 2, 0])
    kwargs = dict(options, reduction=reduction)
    if "weight" in kwargs:
        kwargs["weight"] = A.tensor(kwargs["weight"], dtype=A.float64)
    F = nn.functional
    fused = F.cross_entropy(x, target, **kwargs)
    assert fused.grad_fn.name == "CrossEntropy"
    composite = F.nll_loss(F.log_softmax(x, 1), target, **kwargs)
    np.testing.assert_allclose(fused.detach().numpy(), composite.detach().numpy(), rtol=1e-14)
    for create_graph in (False, True):  # the one-op backward and the differentiable one
        (fast,) = A.autograd.grad(fused.sum(), [x], create_graph=create_graph, retain_graph=True)
        (slow,) = A.autograd.grad(composite.sum(), [x], retain_graph=True)
        np.testing.assert_allclose(fast.detach().numpy(), slow.numpy(), rtol=1e-13, atol=1e-15)


def test_fused_cross_entropy_all_ignored_gives_nan_loss_and_zero_gradient():
    x = A.randn(3, 4, requires_grad=True)
    loss = nn.functional.cross_entropy(x, A.tensor([1, 1, 1]), ignore_index=1)
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4), np.float32))


@pytest.mark.parametrize("shape", [(3, 256), (2, 2, 130), (300,), (4, 7)])
def test_relu_against_a_row_of_zeros_equals_maximum_with_zero(shape):
    """Rows of 128+ take the broadcast-zeros path (faster on NumPy); the values are maximum's."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal(shape).astype(np.float32)
    flat = a.reshape(-1)
    flat[:4] = [np.nan, -np.inf, np.inf, 0.0]
    x = A.tensor(a, requires_grad=True)
    y = x.relu()
    np.testing.assert_array_equal(y.detach().numpy(), np.maximum(a, 0))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (~(np.maximum(a, 0) <= 0)).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("contiguous", [True, False])
def test_relu_backward_is_pytorchs_where_bit_for_bit(dtype, contiguous):
    """``masked_grad`` gives ``where(y <= 0, 0, grad)``'s bits, as PyTorch's ReLU backward: a
    NaN in y passes the gradient, an infinite or NaN grad where y <= 0 gives +0.0, and a
    negative grad there +0.0 too (a product would give NaN and -0.0)."""
    from autograd.ops.elementwise import masked_grad

    rng = np.random.default_rng(5)
    y = np.maximum(rng.standard_normal((4, 6, 5)), 0).astype(dtype)
    grad = rng.standard_normal((4, 6, 5)).astype(dtype)
    y.reshape(-1)[:7] = [np.nan, 0.0, -0.0, 0.0, np.nan, 2.0, 0.0]
    grad.reshape(-1)[:7] = [1.0, np.inf, -3.0, np.nan, np.nan, -0.0, -np.inf]
    if not contiguous:
        y, grad = y.transpose(2, 0, 1), grad.transpose(2, 0, 1)
    got, ref = masked_grad(np, grad, y <= 0), np.where(y <= 0, dtype(0), grad)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))


def test_relu_and_clamp_backward_match_pytorch_in_the_non_finite_corners():
    # Values checked against PyTorch 2.13: relu(x).backward(g) and x.clamp(min=0).backward(g).
    x = A.tensor([np.nan, -1.0, 0.0, 2.0, -3.0], requires_grad=True)
    g = A.tensor([5.0, np.inf, np.nan, 7.0, -2.0])
    x.relu().backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 0.0, 0.0, 7.0, 0.0])
    assert not np.signbit(x.grad.numpy()).any()
    x.grad = None
    x.clamp(min=0).backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, np.nan, 7.0, 0.0])
    assert not np.signbit(x.grad.numpy()).any()


def test_relu_gradients_to_second_order():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((3, 130))
    a[np.abs(a) < 0.05] = 0.5  # away from the kink
    x = A.tensor(a, dtype=A.float64, requires_grad=True)
    assert A.gradcheck(lambda x: x.relu() * x, (x,))
    assert A.gradgradcheck(lambda x: x.relu() * x, (x,))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transposed", [False, True])
def test_relu_of_a_conv_output_is_contiguous_and_equals_maximum_with_zero(dtype, transposed):
    """A transposed view (the folded conv's output) with planes of RELU_PLANE+ pixels gets a
    plane of zeros broadcast into a C-contiguous output; either way the values and zero signs
    are maximum's, and NaN stays NaN."""
    from autograd.ops.elementwise import RELU_PLANE

    rng = np.random.default_rng(7)
    side = math.isqrt(RELU_PLANE) + 1
    a = rng.standard_normal((5, 3, 2, side * side)).astype(dtype)
    a.reshape(-1)[:5] = [np.nan, -np.inf, np.inf, 0.0, -0.0]
    if not transposed:
        a = a.reshape(5, 3, 2, side, side)
    x = A.tensor(a, requires_grad=True)
    v = x.transpose(0, 1) if transposed else x
    assert v.data.flags.c_contiguous != transposed
    y = v.relu()
    ref = np.maximum(v.data, 0)
    assert y.detach().numpy().flags.c_contiguous
    np.testing.assert_array_equal(y.detach().numpy(), ref)
    np.testing.assert_array_equal(np.signbit(y.detach().numpy()), np.signbit(ref))
    y.sum().backward()
    expected = (~(np.maximum(a, 0) <= 0)).astype(dtype)  # NaN passes, as PyTorch
    np.testing.assert_array_equal(x.grad.numpy(), expected)
