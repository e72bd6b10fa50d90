"""The backward engine: graphs, accumulation, retained and freed graphs, higher order, hooks,
grad mode, in-place updates and versions, user-defined Functions, dtypes, memory and scale."""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref

import numpy as np
import pytest

import autograd as A


def _host(t: A.Tensor) -> np.ndarray:
    return t.detach().numpy()


def _rss_bytes() -> int:
    # /proc/self/statm: size resident shared ... in pages (Linux only; no psutil needed).
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------------- basic graphs


def test_course_computation_graph(device):
    # The course's J = 3(a + bc): u = bc, v = a + u, J = 3v.
    a = A.tensor(5.0, device=device, requires_grad=True)
    b = A.tensor(3.0, device=device, requires_grad=True)
    c = A.tensor(2.0, device=device, requires_grad=True)
    u = b * c
    v = a + u
    J = 3 * v
    assert J.item() == 33.0
    J.backward()
    assert (a.grad.item(), b.grad.item(), c.grad.item()) == (3.0, 6.0, 9.0)
    assert a.grad.dtype == A.float32
    # Intermediates keep no gradient unless asked (retain_grad), as in PyTorch.
    assert u.grad is None and v.grad is None


def test_gradients_accumulate_across_backward_calls(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [2.0, 4.0])
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [5.0, 7.0])
    x.grad = None
    x.sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [1.0, 1.0])


def test_a_variable_used_twice_gets_both_contributions(device):
    x = A.tensor(3.0, device=device, requires_grad=True)
    y = x * 2.0
    (y * y + y).backward()  # d/dx (4x^2 + 2x) = 8x + 2
    assert x.grad.item() == 26.0


def test_backward_with_gradient_for_non_scalar(device):
    x = A.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * x
    y.backward(gradient=A.tensor([1.0, 0.1, 0.01], device=device))
    np.testing.assert_allclose(_host(x.grad), [2.0, 0.4, 0.06], rtol=1e-6)


def test_backward_without_gradient_on_non_scalar_is_a_clear_error(device):
    x = A.ones(2, 3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2, 3\).*gradient="):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"\(3,\) does not match.*\(2, 3\)"):
        (x * 2).backward(gradient=A.ones(3, device=device))


def test_backward_on_a_leaf(device):
    x = A.tensor(2.0, device=device, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0
    v = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    v.backward(gradient=A.tensor([3.0, 4.0], device=device))
    np.testing.assert_array_equal(_host(v.grad), [3.0, 4.0])


def test_backward_on_tensor_without_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        A.tensor(1.0).backward()


def test_only_inputs_requiring_grad_get_gradients(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = A.tensor([3.0, 4.0], device=device)
    (x * c).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [3.0, 4.0])
    assert c.grad is None and not c.requires_grad


def test_needs_input_grad_reaches_the_op(device):
    seen = []

    class Probe(A.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, grad_out):
            need_a, need_b = ctx.needs_input_grad
            assert not need_b  # backward must not compute what nobody wants
            return grad_out * 2.0, None

    x = A.tensor([1.0], device=device, requires_grad=True)
    Probe.apply(x, A.tensor([5.0], device=device)).sum().backward()
    Probe.apply(A.tensor([1.0], device=device), A.tensor([5.0], device=device))
    assert seen[0] == (True, False)
    assert not any(seen[1])
    assert x.grad.item() == 2.0


# -------------------------------------------------------------- retained and freed graphs


def test_second_backward_through_freed_graph_raises(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.exp().sum()  # Exp saved its output for backward
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(_host(x.grad), [4.0, 8.0])


def test_graph_is_freed_after_backward(device):
    # No reference cycles: nodes die as soon as the tensors that own them do (no gc needed).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = A.randn(4, device=device, requires_grad=True)
        h = x * 3.0
        y = h.sin()  # saves h (an intermediate) for backward
        loss = y.sum()
        node = weakref.ref(y.grad_fn)
        saved_array = weakref.ref(h.data)
        del h
        loss.backward()
        # The saved intermediate is released by backward even while the graph's tensors live.
        assert saved_array() is None
        with pytest.raises(RuntimeError, match="retain_graph"):
            y.grad_fn.saved_tensors
        del y, loss
        assert node() is None
    finally:
        if was_enabled:
            gc.enable()


def test_retain_graph_keeps_saved_arrays(device):
    x = A.randn(4, device=device, requires_grad=True)
    h = x * 3.0
    y = h.sin()
    saved_array = weakref.ref(h.data)
    del h
    y.sum().backward(retain_graph=True)
    assert saved_array() is not None
    (saved,) = y.grad_fn.saved_tensors
    np.testing.assert_array_equal(_host(saved), _host(x) * 3.0)


# ------------------------------------------------------------------ higher-order gradients


def test_second_derivative_of_cube(device):
    x = A.tensor([1.0, -2.0, 0.5], dtype=A.float64, device=device, requires_grad=True)
    (dy,) = A.grad((x**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(_host(dy), 3 * _host(x) ** 2)
    assert dy.requires_grad and dy.grad_fn is not None
    (d2y,) = A.grad(dy.sum(), x)
    np.testing.assert_allclose(_host(d2y), 6 * _host(x))


def test_create_graph_through_backward(device):
    x = A.tensor(2.0, dtype=A.float64, device=device, requires_grad=True)
    (x**3).backward(create_graph=True)
    assert x.grad.item() == 12.0 and x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0  # 6x


def test_without_create_graph_the_gradient_has_no_graph(device):
    x = A.tensor(2.0, device=device, requires_grad=True)
    (dy,) = A.grad(x**3, x)
    assert not dy.requires_grad and dy.grad_fn is None


def test_hessian_vector_product_of_a_quadratic_form(device):
    # f(x) = 1/2 x^T M x has Hessian (M + M^T) / 2; Hv from two backward passes.
    rng = np.random.default_rng(1)
    m_np = rng.standard_normal((4, 4))
    v_np = rng.standard_normal(4)
    M = A.tensor(m_np, dtype=A.float64, device=device)
    v = A.tensor(v_np, dtype=A.float64, device=device)
    x = A.tensor(rng.standard_normal(4), dtype=A.float64, device=device, requires_grad=True)
    f = 0.5 * (x @ M @ x)
    (g,) = A.grad(f, x, create_graph=True)
    np.testing.assert_allclose(_host(g), (m_np + m_np.T) / 2 @ _host(x), rtol=1e-12)
    (hv,) = A.grad((g * v).sum(), x)
    np.testing.assert_allclose(_host(hv), (m_np + m_np.T) / 2 @ v_np, rtol=1e-12)


def _critic(x, W, u):
    return ((x @ W).tanh() @ u).sum()


def _gradient_penalty(x_np, W, u):
    """WGAN-GP: sum over samples of (||d critic / d x_i|| - 1)^2."""
    x = A.tensor(x_np, dtype=W.dtype, device=W.device, requires_grad=True)
    (gx,) = A.grad(_critic(x, W, u), x, create_graph=True)
    return ((gx.norm(dim=1) - 1.0) ** 2).sum()


def test_gradient_penalty_backpropagates_into_the_critic(device):
    rng = np.random.default_rng(2)
    x_np = rng.standard_normal((3, 4))
    W = A.tensor(rng.standard_normal((4, 5)), dtype=A.float64, device=device, requires_grad=True)
    u = A.tensor(rng.standard_normal(5), dtype=A.float64, device=device, requires_grad=True)
    penalty = _gradient_penalty(x_np, W, u)
    penalty.backward()
    # Central differences on every weight, by hand (independent of A.gradcheck).
    eps = 1e-6
    numeric = np.zeros(W.shape)
    w_np = _host(W).copy()
    for idx in np.ndindex(*W.shape):
        for sign in (1, -1):
            shifted = w_np.copy()
            shifted[idx] += sign * eps
            Ws = A.tensor(shifted, dtype=A.float64, device=device, requires_grad=True)
            numeric[idx] += sign * _gradient_penalty(x_np, Ws, u).item() / (2 * eps)
    np.testing.assert_allclose(_host(W.grad), numeric, rtol=1e-6, atol=1e-8)
    assert A.gradcheck(lambda W, u: _gradient_penalty(x_np, W, u), (W, u))


def test_grad_returns_gradients_and_leaves_dot_grad_alone(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    w = A.tensor([3.0, 4.0], device=device, requires_grad=True)
    gx, gw = A.grad((x * w).sum(), (x, w))
    np.testing.assert_array_equal(_host(gx), [3.0, 4.0])
    np.testing.assert_array_equal(_host(gw), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_grad_of_a_non_leaf_input(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2.0
    (gh,) = A.grad((h * h).sum(), h)
    np.testing.assert_array_equal(_host(gh), [4.0, 8.0])


def test_grad_allow_unused(device):
    x = A.tensor([1.0], device=device, requires_grad=True)
    unused = A.tensor([2.0], device=device, requires_grad=True)
    y = (x * 3.0).sum()
    with pytest.raises(RuntimeError, match=r"input 1.*not used.*allow_unused=True"):
        A.grad(y, (x, unused), retain_graph=True)
    gx, gu = A.grad(y, (x, unused), allow_unused=True)
    assert gx.item() == 3.0 and gu is None


def test_grad_input_must_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        A.grad(A.tensor(1.0, requires_grad=True) * 2, A.tensor(1.0))


# -------------------------------------------------------------------------------- scale


def test_deep_chain_of_100k_ops_has_no_recursion_limit():
    x = A.tensor(1.0, requires_grad=True)
    y = x
    start = time.perf_counter()
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    elapsed = time.perf_counter() - start
    assert y.item() == 100_001.0
    assert x.grad.item() == 1.0
    assert elapsed < 30.0, f"100,000-op chain took {elapsed:.1f} s"


def test_wide_graph_with_5000_side_branches():
    # A main chain with a side branch at every step, all summed: every node has two consumers.
    x = A.tensor(1.0, dtype=A.float64, requires_grad=True)
    h = x
    total = A.tensor(0.0, dtype=A.float64)
    for i in range(5000):
        h = h + 0.0
        total = total + h * float(i % 7)
    total.backward()
    expected = float(sum(i % 7 for i in range(5000)))
    assert x.grad.item() == expected


def test_rss_stays_flat_over_training_like_iterations():
    # A leak of one 128x128 float32 array per iteration would add 64 MB over 1,000 iterations.
    rng = np.random.default_rng(3)
    W = A.tensor(rng.standard_normal((128, 128)) * 0.05, requires_grad=True)
    x = A.tensor(rng.standard_normal((128, 128)))

    def step():
        loss = ((x @ W).tanh() ** 2).mean()
        loss.backward()
        with A.no_grad():
            W.sub_(W.grad * 0.01)
        W.grad = None
        return loss

    for _ in range(100):  # warm up allocator pools
        step()
    before = _rss_bytes()
    for _ in range(1000):
        step()
    grown = _rss_bytes() - before
    assert grown < 24 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 1,000 iterations"


# ------------------------------------------------------------------------------ grad mode


def test_no_grad_as_context_and_decorator(device):
    x = A.ones(2, device=device, requires_grad=True)
    with A.no_grad():
        y = x * 2
        assert not A.is_grad_enabled()
    assert A.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @A.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert A.is_grad_enabled()


def test_enable_grad_inside_no_grad(device):
    x = A.ones(2, device=device, requires_grad=True)
    with A.no_grad():
        with A.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad

        @A.enable_grad()
        def double(t):
            return t * 2

        assert double(x).requires_grad
        assert not A.is_grad_enabled()


def test_set_grad_enabled_as_function_context_and_decorator():
    x = A.ones(2, requires_grad=True)
    try:
        A.set_grad_enabled(False)
        assert not A.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        A.set_grad_enabled(True)
    with A.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert A.is_grad_enabled()
    with A.no_grad(), A.set_grad_enabled(True):
        assert (x * 2).requires_grad

    @A.set_grad_enabled(False)
    def double(t):
        return t * 2

    assert A.is_grad_enabled()  # decorating must not switch the mode
    assert not double(x).requires_grad
    assert A.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ValueError), A.no_grad():
        raise ValueError("boom")
    assert A.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def worker():
        seen["worker_start"] = A.is_grad_enabled()
        with A.no_grad():
            inside.set()
            release.wait(5)
            seen["worker_inside"] = A.is_grad_enabled()

    with A.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        inside.wait(5)
        # The worker's no_grad must not leak into this thread, nor ours into it.
        with A.enable_grad():
            seen["main_while_worker_no_grad"] = A.is_grad_enabled()
        release.set()
        thread.join(5)
    assert seen == {
        "worker_start": True,
        "worker_inside": False,
        "main_while_worker_no_grad": True,
    }


# ---------------------------------------------------------------------- hooks, retain_grad


def test_hook_on_leaf_modifies_its_gradient(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(_host(g).copy()))
    handle = x.register_hook(lambda g: g * 10.0)
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(calls[0], [3.0, 3.0])
    np.testing.assert_array_equal(_host(x.grad), [30.0, 30.0])
    handle.remove()
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [3.0, 3.0])


def test_hook_on_non_leaf_changes_what_flows_back(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(_host(g).copy()))
    h.register_hook(lambda g: g * 0.0 + 1.0)  # replace d loss / d h by ones
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], [4.0, 8.0])
    np.testing.assert_array_equal(_host(x.grad), [2.0, 2.0])


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        A.ones(2).register_hook(lambda g: g)


def test_retain_grad_keeps_a_non_leaf_gradient(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2.0
    h.retain_grad()
    other = x * 3.0
    (h * h + other).sum().backward()
    assert h.retains_grad and not other.retains_grad
    np.testing.assert_array_equal(_host(h.grad), [4.0, 8.0])
    assert other.grad is None
    assert not h.grad.requires_grad


# ------------------------------------------------------------------------------ in place


def test_in_place_on_grad_leaf_is_refused_outside_no_grad(device):
    w = A.ones(3, device=device, requires_grad=True)
    for update in (
        lambda: w.add_(1.0),
        lambda: w.mul_(2.0),
        lambda: w.zero_(),
        lambda: w.copy_(A.zeros(3, device=device)),
        lambda: w.normal_(),
    ):
        with pytest.raises(RuntimeError, match=r"leaf tensor .*requires grad.*no_grad"):
            update()
    np.testing.assert_array_equal(_host(w), [1.0, 1.0, 1.0])


def test_in_place_on_grad_leaf_is_allowed_under_no_grad(device):
    w = A.ones(3, device=device, requires_grad=True)
    g = A.tensor([1.0, 2.0, 3.0], device=device)
    with A.no_grad():
        w.add_(g, alpha=-0.5)
        assert w._version == 1
        w.mul_(2.0)
        w.div_(4.0)
        w.sub_(1.0)
        w.addcmul_(g, g, value=0.5)
        w.addcdiv_(g, g + 1.0, value=2.0)
        w.clamp_(-1.0, 2.0)
        w.lerp_(A.zeros(3, device=device), 0.5)
    expected = np.ones(3)
    gn = np.array([1.0, 2.0, 3.0])
    expected = (((expected - 0.5 * gn) * 2 / 4) - 1 + 0.5 * gn * gn + 2 * gn / (gn + 1)).clip(-1, 2)
    expected = expected + (0 - expected) * 0.5
    np.testing.assert_allclose(_host(w), expected, rtol=1e-6)
    assert w.is_leaf and w.requires_grad and w.dtype == A.float32 and w._version == 8
    with A.no_grad():
        w.fill_(3.0)
        np.testing.assert_array_equal(_host(w), [3.0, 3.0, 3.0])
        w.zero_()
        np.testing.assert_array_equal(_host(w), [0.0, 0.0, 0.0])
        w.copy_(g)
        np.testing.assert_array_equal(_host(w), [1.0, 2.0, 3.0])
        w.uniform_(2.0, 3.0)
        assert ((_host(w) >= 2.0) & (_host(w) < 3.0)).all()
        w.normal_(5.0, 0.01)
        assert np.abs(_host(w) - 5.0).max() < 0.1


def test_modifying_a_saved_input_in_place_makes_backward_raise(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.sin()  # saves x
    with A.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*version 1"):
        y.sum().backward()


def test_in_place_on_a_saved_non_grad_tensor_makes_backward_raise(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = A.tensor([3.0, 4.0], device=device)
    y = x * c  # saves c for x's gradient
    c.mul_(2.0)
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_in_place_on_a_non_leaf_gives_correct_gradients(device):
    x = A.tensor([1.0, 2.0], dtype=A.float64, device=device, requires_grad=True)
    h = x * 2.0
    h.add_(1.0)  # h = 2x + 1
    h.mul_(x)  # h = (2x + 1) x
    h.mul_(h)  # h = ((2x + 1) x)^2
    assert not h.is_leaf and h._version == 3
    h.sum().backward()
    xs = _host(x)
    np.testing.assert_allclose(_host(x.grad), 2 * (2 * xs + 1) * xs * (4 * xs + 1))

    z = A.tensor([0.5, -1.0], dtype=A.float64, device=device, requires_grad=True)
    e = z.exp()  # Exp saved its output; the in-place update must not corrupt it
    e.mul_(3.0)
    e.sum().backward()
    np.testing.assert_allclose(_host(z.grad), 3 * np.exp(_host(z)))


def test_in_place_with_a_grad_operand_joins_the_graph():
    x = A.tensor([1.0, 2.0], requires_grad=True)
    buf = A.zeros(2)
    buf.add_(x * x)
    assert buf.requires_grad
    buf.sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [2.0, 4.0])


# ------------------------------------------------------------------- user-defined Functions


class Cube(A.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 3.0 * x * x


class ScaledSortWithIndex(A.Function):
    """Two outputs (one integer, marked non-differentiable) and a non-Tensor argument."""

    @staticmethod
    def forward(ctx, x, scale):
        order = ctx.xp.argsort(x)
        # A saved array that is neither input nor output comes back as a constant Tensor.
        ctx.save_for_backward(ctx.xp.argsort(order))
        ctx.scale = scale
        ctx.mark_non_differentiable(order)
        return x[order] * scale, order

    @staticmethod
    def backward(ctx, grad_values, grad_order):
        (inverse,) = ctx.saved_tensors
        assert not inverse.requires_grad and grad_order is not None
        return grad_values.index_select(0, inverse) * ctx.scale, None


def test_user_function_forward_backward_and_second_order(device):
    x = A.tensor([1.0, -2.0, 0.5], dtype=A.float64, device=device, requires_grad=True)
    y = Cube.apply(x)
    assert type(y.grad_fn) is Cube and repr(y.grad_fn) == "<Cube>"
    np.testing.assert_allclose(_host(y), _host(x) ** 3)
    assert A.gradcheck(Cube.apply, (x,))
    assert A.gradgradcheck(Cube.apply, (x,))


def test_user_function_with_multiple_outputs_and_non_tensor_args(device):
    x = A.tensor([3.0, 1.0, 2.0], dtype=A.float64, device=device, requires_grad=True)
    values, order = ScaledSortWithIndex.apply(x, 2.0)
    np.testing.assert_array_equal(_host(values), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(_host(order), [1, 2, 0])
    assert values.requires_grad and not order.requires_grad and order.dtype == A.int64
    (values * A.tensor([1.0, 10.0, 100.0], dtype=A.float64, device=device)).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [200.0, 2.0, 20.0])
    assert A.gradcheck(lambda t: ScaledSortWithIndex.apply(t, 2.0)[0], (x,))


def test_mark_non_differentiable_float_output(device):
    class WithMask(A.Function):
        @staticmethod
        def forward(ctx, x):
            mask = (x > 0).astype(x.dtype)
            ctx.mark_non_differentiable(mask)
            return x * 2, mask

        @staticmethod
        def backward(ctx, grad_out, grad_mask):
            return grad_out * 2.0

    x = A.tensor([1.0, -1.0], device=device, requires_grad=True)
    out, mask = WithMask.apply(x)
    assert out.requires_grad and not mask.requires_grad and mask.dtype == A.float32
    (out + mask).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [2.0, 2.0])


def test_user_backward_with_wrong_dtype_is_a_clear_error(device):
    class Promotes(A.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out.double() * 2

    x = A.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Promotes.*float64 gradient.*float32 input"):
        Promotes.apply(x).sum().backward()


def test_user_backward_with_wrong_shape_is_a_clear_error(device):
    class WrongShape(A.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad_out):
            return A.ones(4, device=grad_out.device)

    x = A.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WrongShape.*\(4,\).*\(3,\)"):
        WrongShape.apply(x).backward()


def test_user_backward_with_wrong_number_of_gradients_is_a_clear_error():
    class TooMany(A.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out, grad_out

    with pytest.raises(RuntimeError, match=r"TooMany.*returned 2 gradients for 1 input"):
        TooMany.apply(A.ones(2, requires_grad=True)).sum().backward()


def test_function_without_backward_is_a_clear_error():
    class NoBackward(A.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

    with pytest.raises(NotImplementedError, match="NoBackward"):
        NoBackward.apply(A.ones(2, requires_grad=True)).sum().backward()


# -------------------------------------------------------------------- float32 end to end


def test_float32_is_preserved_end_to_end(device):
    rng = np.random.default_rng(4)
    W = A.tensor(rng.standard_normal((4, 3)), A.float32, device=device, requires_grad=True)
    b = A.zeros(3, device=device, requires_grad=True)
    x = A.tensor(rng.standard_normal((5, 4)).astype(np.float32), device=device)
    labels = A.tensor([0, 2, 1, 1, 0], device=device)
    assert W.dtype == x.dtype == A.float32 and labels.dtype == A.int64

    logits = x @ W + b
    logits = logits * 0.5 + 1  # python scalars
    logits = logits * np.float64(2.0)  # a NumPy float64 scalar must not promote
    logits = logits - A.tensor(np.float64(0.25), device=device)  # nor a 0-d float64 tensor
    log_probs = logits - logits.logsumexp(dim=1, keepdim=True)
    one_hot = A.one_hot(labels, 3)  # int64
    picked = log_probs * one_hot  # int64 into float32 stays float32
    loss = -picked.sum() / labels.shape[0] + 1e-4 * (W**2).sum()
    for t in (logits, log_probs, picked, loss):
        assert t.dtype == A.float32, t
    loss.backward()
    assert W.grad.dtype == A.float32 and b.grad.dtype == A.float32
    # The gradient is right, too: softmax - one_hot, averaged, through x.
    z = _host(logits).astype(np.float64)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d_logits = (p - np.eye(3)[[0, 2, 1, 1, 0]]) / 5 * 0.5 * 2.0
    np.testing.assert_allclose(_host(b.grad), d_logits.sum(0), rtol=1e-4, atol=1e-6)
    expected_w = _host(x).T.astype(np.float64) @ d_logits + 2e-4 * _host(W)
    np.testing.assert_allclose(_host(W.grad), expected_w, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------- known engine gaps (autograd/function.py)


def test_in_place_updates_of_broadcast_leaf_gradients(device):
    # sum()/mean() backward leave a broadcast view (stride 0) in .grad; in-place ops must work.
    x = A.ones(2, 3, device=device, requires_grad=True)
    x.mean().backward()
    with A.no_grad():
        x.grad.mul_(3.0)
        x.grad[0, 0] = 5.0
    np.testing.assert_allclose(_host(x.grad), [[5.0, 0.5, 0.5], [0.5, 0.5, 0.5]])
    y = A.ones(3, device=device, requires_grad=True)
    y.sum().backward()
    y.grad.zero_()
    np.testing.assert_array_equal(_host(y.grad), [0.0, 0.0, 0.0])


def test_leaf_gradients_own_their_memory(device):
    x = A.ones(2, 3, device=device, requires_grad=True)
    x.mean().backward()
    assert 0 not in x.grad.data.strides


def test_modifying_a_saved_output_in_place_makes_backward_raise(device):
    z = A.tensor([1.0], device=device, requires_grad=True)
    e = z.exp()  # Exp saves its output
    with A.no_grad():
        e.mul_(2.0)
    with pytest.raises(RuntimeError, match="in-place"):
        e.sum().backward()


def test_leaf_grad_does_not_alias_the_callers_gradient(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    v = A.tensor([5.0, 6.0], device=device)
    (x + 0.0).backward(gradient=v)
    x.grad.zero_()
    np.testing.assert_array_equal(_host(v), [5.0, 6.0])


# ------------------------------------------------------------------ review regressions
def test_detach_shares_the_version_counter(device):
    # The p.detach().mul_() pattern must not silently corrupt a pending backward.
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x * x).sum()
    x.detach().mul_(10.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_tensor_from_an_array_owns_its_data():
    source = np.ones(3, dtype=np.float32)
    t = A.tensor(source)
    t.add_(1.0)
    np.testing.assert_array_equal(source, [1.0, 1.0, 1.0])  # torch.tensor copies too
    shared = A.from_numpy(source)
    shared.add_(1.0)
    np.testing.assert_array_equal(source, [2.0, 2.0, 2.0])  # from_numpy is the one that shares


def test_leaf_hooks_run_for_autograd_grad(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (g,) = A.grad((x * x).sum(), x)
    np.testing.assert_allclose(_host(g), [20.0, 40.0])
    assert x.grad is None  # grad() leaves .grad alone


def test_retained_grad_is_a_copy(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    w = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = w * 2
    h.retain_grad()
    (x + h).backward(A.tensor([1.0, 1.0], device=device))
    x.grad.mul_(0)
    np.testing.assert_array_equal(_host(h.grad), [1.0, 1.0])


def test_a_seed_gradient_that_requires_grad_is_not_aliased(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    v = A.tensor([1.0, 1.0], device=device, requires_grad=True)
    x.backward(v)
    x.grad.mul_(0)
    np.testing.assert_array_equal(_host(v), [1.0, 1.0])


def test_a_seed_gradient_takes_its_outputs_dtype(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    x.backward(A.tensor([1.0, 1.0], dtype=A.float64, device=device))
    assert x.grad.dtype == A.float32
    y = A.tensor([0.0, 1.0], device=device, requires_grad=True)
    y.exp().backward(A.tensor([1.0, 1.0], dtype=A.float64, device=device))
    assert y.grad.dtype == A.float32
    np.testing.assert_allclose(_host(y.grad), np.exp([0.0, 1.0]), rtol=1e-6)


def test_grad_mode_decorators_cover_generators():
    @A.no_grad()
    def steps():
        yield A.is_grad_enabled()
        yield A.is_grad_enabled()
        return "done"

    assert list(steps()) == [False, False]
    assert A.is_grad_enabled()

    @A.set_grad_enabled(False)
    def one():
        yield A.is_grad_enabled()

    assert list(one()) == [False] and A.is_grad_enabled()


def test_an_op_keeps_only_what_its_backward_needs(device):
    # h * 2.0 needs nothing of h for h's gradient; W @ x needs x (for W) but not W (x has no grad).
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x + 1.0
    alive = weakref.ref(h)
    y = h * 2.0
    del h
    gc.collect()
    assert alive() is None
    w = A.ones(3, 2, device=device, requires_grad=True)
    data = A.ones(2, device=device)
    z = w @ data
    (saved_w, saved_data) = z.grad_fn.saved_tensors
    assert saved_w is None and saved_data is data
    (y.sum() + z.sum()).backward()
    np.testing.assert_allclose(_host(x.grad), [2.0, 2.0])
    np.testing.assert_allclose(_host(w.grad), np.ones((3, 2)))


# ------------------------------------------------------------------------- fast paths
@pytest.mark.parametrize("shape", [(), (1,), (3, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
def test_backend_stack_is_numpy_stack(shape, dtype):
    """The CPU backend stacks a leaf's gradient contributions with numpy.array (the fast path
    of the engine's sum of many contributions): the same array as numpy.stack."""
    import backends

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(dtype) for _ in range(5)]
    fast = backends.get_backend("cpu").stack(arrays)
    reference = np.stack(arrays)
    assert fast.dtype == reference.dtype and fast.shape == reference.shape
    np.testing.assert_array_equal(fast, reference)


@pytest.mark.parametrize("n", [1, 2, 3, 50])
def test_many_contributions_to_one_leaf_sum_exactly(n):
    """A leaf used n times gets the sum of its n contributions (one, two, or stacked)."""
    x = A.tensor([0.5, -1.0, 2.0], dtype=A.float64, requires_grad=True)
    y = x * 1.0
    for k in range(1, n):
        y = y + x * float(k + 1)
    y.sum().backward()
    expected = np.full(3, float(sum(range(1, n + 1))))
    np.testing.assert_array_equal(_host(x.grad), expected)


def test_single_and_multi_output_nodes_accumulate_in_one_backward():
    """Gradient buffers: a single-output node keeps the gradient itself, a multi-output node a
    list; both accumulate several consumers and match the hand-derived gradient."""
    x = A.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=A.float64, requires_grad=True)
    h = x.tanh()  # single output, three consumers
    a, b = h.split(1, dim=0)  # multi-output (or views) with two consumers each
    loss = (h * 2.0).sum() + h.sum() + (a * 3.0).sum() + (a + b).sum() + b.sum()
    loss.backward()
    t = np.tanh(_host(x))
    weight = np.array([[3.0 + 3.0 + 1.0], [3.0 + 1.0 + 1.0]])
    np.testing.assert_allclose(_host(x.grad), weight * (1 - t * t), rtol=1e-12)
