"""The zero-allocation training step: in-place gradient accumulation and fused optimizer updates
give the same numbers, bit for bit, as the readable reference path."""

from __future__ import annotations

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
