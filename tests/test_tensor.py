"""Tensor attributes and methods, the factories, seeding, dtype defaults and type promotion."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as A
import backends


def _host(t: A.Tensor) -> np.ndarray:
    return t.detach().numpy()


# ------------------------------------------------------------------- attributes, methods


def test_attributes(device):
    x = A.tensor([[1.5, 2.0, 0.0], [3.0, 4.0, -1.0]], device=device, requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-2) == 2
    assert x.numel() == 6 and len(x) == 2
    assert x.dtype == A.float32 and x.is_floating_point()
    assert x.device == backends.get_backend(device).device
    assert x.backend is backends.get_backend(device)
    assert x.xp is backends.get_backend(device).xp
    assert isinstance(x.data, x.xp.ndarray)
    assert x.is_leaf and x.grad is None and x.grad_fn is None and x.requires_grad
    y = x * 2
    assert not y.is_leaf and y.requires_grad and type(y.grad_fn).__name__ == "Mul"
    named = A.tensor([1.0], device=device)
    named.name = "weights"
    assert named.name == "weights"


def test_item_tolist_numpy(device):
    assert A.tensor(3.5, device=device).item() == 3.5
    assert isinstance(A.tensor(3, device=device).item(), int)
    assert isinstance(A.tensor([True], device=device).item(), bool)
    x = A.tensor([[1.5, 2.0], [3.0, 4.0]], device=device)
    assert x.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    host = x.numpy()
    assert isinstance(host, np.ndarray) and host.dtype == np.float32
    np.testing.assert_array_equal(host, [[1.5, 2.0], [3.0, 4.0]])
    assert float(A.tensor([2.5], device=device)) == 2.5
    assert int(A.tensor(7, device=device)) == 7
    assert [10, 20, 30][A.tensor(1, device=device)] == 20  # __index__
    assert bool(A.tensor([1.0], device=device)) and not bool(A.tensor(0.0, device=device))
    with pytest.raises(RuntimeError, match=r"4 elements \(shape \(2, 2\)\).*Python scalar"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)


def test_numpy_refuses_grad_tensor_and_shares_memory_on_cpu():
    x = A.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    with A.no_grad(), pytest.raises(RuntimeError):  # PyTorch refuses inside no_grad too
        x.numpy()
    assert x.detach().numpy()[1] == 2.0
    plain = A.tensor([1.0, 2.0])
    plain.numpy()[0] = 5.0  # like PyTorch, numpy() on the CPU is a view
    assert plain.tolist() == [5.0, 2.0]
    assert np.asarray(plain).dtype == np.float32


def test_iteration_and_len(device):
    x = A.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device=device)
    rows = list(x)
    assert len(rows) == 3 and rows[2].tolist() == [5.0, 6.0]
    with pytest.raises(TypeError, match="0-d"):
        len(A.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(A.tensor(1.0))


def test_to_dtype_and_device(device):
    x = A.tensor([1.7, -2.2], device=device, requires_grad=True)
    assert x.to(A.float32) is x
    assert x.to(device) is x
    assert x.float() is x
    d = x.double()
    assert d.dtype == A.float64 and d.requires_grad and d.grad_fn is not None
    assert x.to("float64").dtype == A.float64
    assert x.long().dtype == A.int64 and x.long().tolist() == [1, -2]
    assert not x.long().requires_grad  # integers never carry gradients
    assert x.to(device, A.float64).dtype == A.float64
    assert x.to(dtype=A.float64, device=device).dtype == A.float64
    assert x.to(A.zeros(1, dtype=A.float64, device=device)).dtype == A.float64
    assert x.to(device, copy=True) is not x
    # The cast is differentiable and its gradient comes back in the source dtype.
    (d * d).sum().backward()
    assert x.grad.dtype == A.float32
    np.testing.assert_allclose(_host(x.grad), 2 * _host(x), rtol=1e-6)
    assert x.cpu().device == "cpu"


def test_detach_shares_memory_and_cuts_the_graph(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert d.data is y.data
    assert (d * 3).grad_fn is None


def test_requires_grad_(device):
    x = A.tensor([1.0], device=device)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    y = A.tensor([1.0], device=device, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    z = y.detach().requires_grad_()
    assert z.is_leaf and z.requires_grad


def test_clone_copies_and_gradient_flows(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = x.clone()
    assert c.data is not x.data and not c.is_leaf
    np.testing.assert_array_equal(_host(c), [1.0, 2.0])
    (c * A.tensor([3.0, 4.0], device=device)).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [3.0, 4.0])
    plain = A.tensor([1.0, 2.0], device=device)
    copy = A.clone(plain)
    copy[0] = 9.0
    assert plain.tolist() == [1.0, 2.0]


def test_repr():
    assert repr(A.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(A.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(A.tensor([True])) == "tensor([ True])"
    assert repr(A.tensor([1.0], dtype=A.float64)) == "tensor([1.], dtype=float64)"
    assert repr(A.tensor(2.0, requires_grad=True)) == "tensor(2., requires_grad=True)"
    assert repr(A.tensor(2.0, requires_grad=True) * 3) == "tensor(6., grad_fn=<Mul>)"
    two_rows = repr(A.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert two_rows == "tensor([[1., 2.],\n        [3., 4.]])"


def test_tensor_from_tensor_copies(device):
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = A.tensor(x)
    assert y.data is not x.data and not y.requires_grad and y.is_leaf
    assert A.tensor(x, dtype=A.float64).dtype == A.float64
    assert A.is_tensor(y) and not A.is_tensor([1.0])


# ------------------------------------------------------------------------------ factories


def test_shape_factories(device):
    for make in (A.zeros, A.ones, A.empty):
        t = make(2, 3, device=device)
        assert t.shape == (2, 3) and t.dtype == A.float32 and not t.requires_grad
        assert make((2, 3), device=device).shape == (2, 3)
        assert make([4], dtype=A.float64, device=device).dtype == A.float64
        assert make(2, device=device, requires_grad=True).requires_grad
    assert A.zeros(2, 2, device=device).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert A.ones(3, dtype=A.int64, device=device).tolist() == [1, 1, 1]
    assert A.zeros(0, device=device).shape == (0,)
    assert A.zeros(device=device).shape == ()


def test_full_arange_linspace_eye(device):
    assert A.full((2,), 3, device=device).dtype == A.int64
    f = A.full((2, 2), 1.5, device=device)
    assert f.dtype == A.float32 and f.tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert A.full((1,), True, device=device).dtype == A.bool_
    assert A.arange(4, device=device).tolist() == [0, 1, 2, 3]
    assert A.arange(4, device=device).dtype == A.int64
    assert A.arange(1, 7, 2, device=device).tolist() == [1, 3, 5]
    r = A.arange(0, 1, 0.25, device=device)
    assert r.dtype == A.float32 and r.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert A.arange(3, dtype=A.float64, device=device).dtype == A.float64
    ls = A.linspace(0, 1, 5, device=device)
    assert ls.dtype == A.float32 and ls.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    np.testing.assert_array_equal(_host(A.eye(2, 3, device=device)), np.eye(2, 3))
    assert A.eye(3, device=device).shape == (3, 3)


def test_like_factories(device):
    x = A.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=A.float64, device=device, requires_grad=True)
    for like in (A.zeros_like, A.ones_like, A.empty_like, A.rand_like, A.randn_like):
        t = like(x)
        assert t.shape == x.shape and t.dtype == A.float64 and t.device == x.device
        assert not t.requires_grad and t.is_leaf
        assert like(x, dtype=A.float32).dtype == A.float32
    assert A.zeros_like(x).tolist() == [[0, 0], [0, 0]]
    assert A.ones_like(x, requires_grad=True).requires_grad
    assert A.full_like(x, 7).tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert A.full_like(x, 7).dtype == A.float64
    ints = A.randint_like(x, 3, 5)
    assert ints.dtype == A.float64 and ((_host(ints) >= 3) & (_host(ints) < 5)).all()


def test_random_factories(device):
    u = A.rand(1000, device=device)
    assert u.dtype == A.float32 and 0.0 <= u.amin().item() and u.amax().item() < 1.0
    assert abs(u.mean().item() - 0.5) < 0.05
    n = A.randn(2000, device=device)
    assert n.dtype == A.float32 and abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    assert A.randn(3, dtype=A.float64, device=device).dtype == A.float64
    i = A.randint(2, 5, (100,), device=device)
    assert i.dtype == A.int64 and set(i.tolist()) == {2, 3, 4}
    assert set(A.randint(3, (50,), device=device).tolist()) <= {0, 1, 2}
    p = A.randperm(10, device=device)
    assert p.dtype == A.int64 and sorted(p.tolist()) == list(range(10))
    assert A.randn(3, requires_grad=True, device=device).requires_grad


def test_manual_seed_reproducibility(device):
    def draw():
        t = A.empty(4, device=device)
        t.normal_()
        return [
            A.randn(3, device=device).tolist(),
            A.rand(3, device=device).tolist(),
            A.randint(0, 100, (3,), device=device).tolist(),
            A.randperm(5, device=device).tolist(),
            t.tolist(),
        ]

    A.manual_seed(123)
    first = draw()
    A.manual_seed(123)
    assert draw() == first
    A.manual_seed(124)
    assert draw() != first


def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.arange(3, dtype=np.float64)
    t = A.from_numpy(a)
    assert t.dtype == A.float64 and t.device == "cpu"
    a[0] = 9.0
    assert t.tolist() == [9.0, 1.0, 2.0]
    t[1] = 5.0
    assert a[1] == 5.0
    assert A.from_numpy(np.zeros(2, np.int32)).dtype == A.int32
    with pytest.raises(TypeError, match="numpy.ndarray"):
        A.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="numpy.ndarray, got float64"):
        A.from_numpy(np.float64(1.0))


# ------------------------------------------------------------------ dtypes and promotion


def test_dtype_defaults():
    assert A.tensor(1.0).dtype == A.float32
    assert A.tensor([1.0, 2]).dtype == A.float32
    assert A.tensor(1).dtype == A.int64
    assert A.tensor([1, 2]).dtype == A.int64
    assert A.tensor(True).dtype == A.bool_
    assert A.tensor(np.array([1.0])).dtype == A.float64  # NumPy arrays keep their dtype
    assert A.tensor(np.array([1], np.int32)).dtype == A.int32
    assert A.tensor(np.float64(1.0)).dtype == A.float64
    assert A.tensor([1.0], dtype=A.float64).dtype == A.float64
    assert A.tensor([1.0], dtype="float64").dtype == A.float64
    assert A.tensor([1], dtype=float).dtype == A.float32
    assert A.float is A.float32 and A.double is A.float64 and A.long is A.int64


def test_type_promotion_follows_pytorch(device):
    f32 = A.ones(2, device=device)
    f64 = A.ones(2, dtype=A.float64, device=device)
    i64 = A.tensor([1, 2], device=device)
    i32 = A.tensor(np.array([1, 2], np.int32), device=device)
    b = A.tensor([True, False], device=device)
    assert (f32 + i64).dtype == A.float32  # higher category wins, whatever the size
    assert (i64 * f32).dtype == A.float32
    assert (i64 + 2.5).dtype == A.float32  # a Python float makes ints the default float
    assert (i64 + 2).dtype == A.int64
    assert (f32 + A.tensor(2.0, dtype=A.float64, device=device)).dtype == A.float32  # 0-d defers
    assert (f32 + f64).dtype == A.float64  # two shaped tensors: the wider one
    assert (i32 + i64).dtype == A.int64
    assert (b + i32).dtype == A.int32
    assert (b + 1.5).dtype == A.float32
    assert (f32 * np.float64(3.0)).dtype == A.float32
    assert (f32 + np.array([1.0, 2.0])).dtype == A.float64  # a shaped float64 array promotes
    assert (i64 + A.tensor(2.5, dtype=A.float64, device=device)).dtype == A.float64
    np.testing.assert_array_equal(_host(i64 + 2.5), [3.5, 4.5])


def test_promotion_keeps_gradients_in_each_inputs_dtype(device):
    a = A.ones(2, device=device, requires_grad=True)
    b = A.ones(2, dtype=A.float64, device=device, requires_grad=True)
    out = a * b
    assert out.dtype == A.float64
    out.sum().backward()
    assert a.grad.dtype == A.float32 and b.grad.dtype == A.float64


def test_randperm_without_a_generator_permutation(monkeypatch):
    # CuPy's Generator has random() but no permutation(): randperm must not need it.
    class RandomOnly:
        def __init__(self, rng):
            self._rng = rng

        def random(self, *args, **kwargs):
            return self._rng.random(*args, **kwargs)

    monkeypatch.setattr(backends.cpu, "rng", RandomOnly(np.random.default_rng(0)))
    p = A.randperm(50)
    assert p.dtype == A.int64 and sorted(p.tolist()) == list(range(50))
    assert p.tolist() != list(range(50))
