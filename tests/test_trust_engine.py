"""Issue 7, the engine's part: views share their base's version counter, view+inplace rebases the
graph, leaf accumulation is atomic across threads, and what PyTorch refuses is refused here too.

The view/in-place cases live in ``fixtures/trust_engine_cases.py``, written once against a
PyTorch-like namespace; ``fixtures/trust_engine.json`` holds PyTorch 2.13's outcome of each.
"""

from __future__ import annotations

import json
import pathlib
import sys
import threading
import types

import numpy as np
import pytest

import autograd as A
import optim
from nn import Parameter

sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))
from trust_engine_cases import CASES  # noqa: E402

_REFERENCE = json.loads(
    (pathlib.Path(__file__).parent / "fixtures" / "trust_engine.json").read_text()
)["cases"]

T = types.SimpleNamespace(
    tensor=A.tensor,
    zeros=A.zeros,
    ones=A.ones,
    no_grad=A.no_grad,
    grad=A.grad,
    Parameter=Parameter,
    SGD=optim.SGD,
)


def _host(t):
    return np.asarray(t.detach().cpu().numpy())


# ------------------------------------------------------------------- views and in place
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_views_and_in_place_match_pytorch(case):
    expected = _REFERENCE[case.__name__]
    if "error" in expected:
        with pytest.raises(RuntimeError) as info:
            case(T)
        if "modified by an inplace operation" in expected["message"]:
            # PyTorch's words, naming our ops and the versions.
            assert "modified by an inplace operation" in str(info.value)
            assert "is at version" in str(info.value) and "instead" in str(info.value)
        return
    values = case(T)
    assert len(values) == len(expected["values"])
    for got, want in zip(values, expected["values"]):
        np.testing.assert_allclose(_host(got), np.asarray(want), rtol=1e-6, atol=1e-6)


def test_the_modified_message_names_the_op_and_the_versions():
    x = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    v = y[0:2]
    z = (v * v).sum()
    with A.no_grad():
        y.add_(100)
        y.add_(1)
    with pytest.raises(RuntimeError) as info:
        z.backward()
    message = str(info.value)
    assert message.startswith("Mul.backward: one of the variables needed for gradient")
    assert "which is output 0 of Getitem, is at version 2; expected version 0 instead" in message


def test_view_ops_share_the_version_counter(device):
    x = A.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    views = [
        x[0],
        x[:, 1],
        x.reshape(4),
        x.view(-1),
        x.T,
        x.mT,
        x.transpose(0, 1),
        x.permute(1, 0),
        x.expand(3, 2, 2),
        x.unsqueeze(0),
        x.unsqueeze(0).squeeze(0),
        x.flatten(),
        x.narrow(1, 0, 1),
        x.select(1, 0),
        x.movedim(0, 1),
        x.unbind(1)[1],
        x.split(1)[1],
        x.chunk(2, dim=1)[0],
        x.detach(),
        x[0][1:],
    ]
    for v in views:
        before = x._version
        v._version += 1
        assert x._version == before + 1
    # Copies do not share it: advanced indexing, and a reshape that must copy.
    for c in (x[[0, 1]], x[A.tensor([1], device=device)], x.T.reshape(4)):
        before = x._version
        c._version += 1
        assert x._version == before


def test_a_full_integer_index_is_a_writable_view(device):
    x = A.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    x[1, 0].mul_(10)
    np.testing.assert_array_equal(_host(x), [[1, 2], [30, 4]])
    assert x._version == 1


def test_in_place_on_a_view_gives_gradcheck_exact_gradients(device):
    # y = x * 1; y[1:3] *= w; loss = sum(y * c): analytic gradients, float64.
    x = A.tensor([1.0, 2.0, 3.0, 4.0], dtype=A.float64, device=device, requires_grad=True)
    w = A.tensor([5.0, 7.0], dtype=A.float64, device=device, requires_grad=True)
    c = A.tensor([1.0, 2.0, 3.0, 4.0], dtype=A.float64, device=device)
    y = x * 1
    y[1:3].mul_(w)
    (y * c).sum().backward()
    np.testing.assert_allclose(_host(x.grad), [1, 10, 21, 4])
    np.testing.assert_allclose(_host(w.grad), [4, 9])


def test_view_in_place_is_differentiable_twice(device):
    def f(x):
        y = x * x
        y[0:1].mul_(x[1:2])
        return y.sum()

    x = A.tensor([1.5, -0.5, 2.0], dtype=A.float64, device=device, requires_grad=True)
    assert A.gradcheck(f, (x,))
    assert A.gradgradcheck(f, (x,))


def test_setitem_into_a_leaf_that_requires_grad_is_refused():
    x = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for index in (0, slice(0, 2), A.tensor([0, 2]), x > 1):
        with pytest.raises(RuntimeError, match="setitem: a leaf Variable that requires grad"):
            x[index] = 0.0
    np.testing.assert_array_equal(_host(x), [1.0, 2.0, 3.0])


# ---------------------------------------------------------------------------- threads
def test_leaf_accumulation_is_atomic_across_threads():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: lost updates show up
    try:
        w = A.zeros(3, requires_grad=True)
        xs = [A.ones(3) * (i + 1) for i in range(4)]  # 1 + 2 + 3 + 4 = 10 per round

        def work(x):
            for _ in range(1000):
                (w * x).sum().backward()

        threads = [threading.Thread(target=work, args=(x,)) for x in xs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    np.testing.assert_array_equal(_host(w.grad), [10000.0, 10000.0, 10000.0])


def test_grad_mode_stays_per_thread():
    seen = {}

    def worker():
        seen["worker"] = A.is_grad_enabled()

    with A.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        seen["main"] = A.is_grad_enabled()
    assert seen == {"worker": True, "main": False}


# ------------------------------------------------------------------------------ hooks
def test_a_hook_that_changes_the_size_is_blamed(device):
    def shrink(g):
        return g[:2]

    x = A.ones(3, device=device, requires_grad=True)
    x.register_hook(shrink)
    with pytest.raises(RuntimeError, match="hook 'shrink' has changed the size of value"):
        (x * 2).sum().backward()

    x = A.ones(3, device=device, requires_grad=True)
    y = x * 2
    y.register_hook(shrink)
    with pytest.raises(RuntimeError, match="hook 'shrink' has changed the size of value"):
        (y * 2).sum().backward()


def test_a_hook_that_changes_the_dtype_is_blamed(device):
    x = A.ones(3, device=device, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g.double())
    with pytest.raises(RuntimeError, match=r"hook '<lambda>' has changed the type of value"):
        (y * 2).sum().backward()

    x = A.ones(3, device=device, requires_grad=True)
    x.register_hook(lambda g: g.double())
    with pytest.raises(RuntimeError, match=r"hook '<lambda>' has changed the type of value"):
        (x * 2).sum().backward()


def test_post_accumulate_grad_hook(device):
    # torch: the hook sees .grad after accumulation: [2, 2, 2], then [5, 5, 5]; pre-hooks first.
    x = A.ones(3, device=device, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append("pre"))
    handle = x.register_post_accumulate_grad_hook(lambda t: seen.append(_host(t.grad).tolist()))
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert seen == ["pre", [2.0, 2.0, 2.0], "pre", [5.0, 5.0, 5.0]]
    A.grad((x * 2).sum(), x)  # autograd.grad accumulates nothing, so no post hook
    assert len(seen) == 5
    handle.remove()
    (x * 2).sum().backward()
    assert len(seen) == 6


def test_post_accumulate_grad_hook_can_step_in_backward():
    w = Parameter(A.tensor([1.0, 2.0]))

    def step(p):
        with A.no_grad():
            p.add_(p.grad, alpha=-0.5)
        p.grad = None

    w.register_post_accumulate_grad_hook(step)
    (w * w).sum().backward()
    np.testing.assert_allclose(_host(w), [0.0, 0.0])
    assert w.grad is None


def test_post_accumulate_grad_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        A.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    y = A.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        y.register_post_accumulate_grad_hook(lambda t: None)
    x = A.ones(2, requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda t: 5)
    with pytest.raises(TypeError, match="must return None"):
        x.sum().backward()


# ------------------------------------------------------------------- .grad assignment
def test_grad_assignment_is_checked(device):
    x = A.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        x.grad = A.ones(2, device=device)
    with pytest.raises(RuntimeError, match="assigned grad has data of a different type"):
        x.grad = A.ones(3, dtype=A.float64, device=device)
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None"):
        x.grad = 3
    x.grad = A.full((3,), 2.0, device=device)
    (x * 1).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [3.0, 3.0, 3.0])
    x.grad = None
    assert x.grad is None


# ---------------------------------------------------------------- refused like PyTorch
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "var", "std", "logsumexp", "norm"])
def test_a_repeated_dim_in_a_reduction_is_refused(name, device):
    x = A.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times"):
        getattr(x, name)(dim=(1, -1))
    with pytest.raises(RuntimeError, match="appears multiple times"):
        x.sum(dim=(0, 0))


def test_a_repeated_dim_in_squeeze_is_refused():
    with pytest.raises(RuntimeError, match="squeeze: a dim appears multiple times"):
        A.ones(1, 3).squeeze((0, 0))


@pytest.mark.parametrize(
    "compute",
    [
        lambda T: T.tensor([1, 2]) // 0,
        lambda T: T.tensor([1, 2]) // T.tensor([1, 0]),
        lambda T: T.tensor([1, 2]) % 0,
        lambda T: T.tensor([1, 2]) % T.tensor([0, 1]),
        lambda T: 5 % T.tensor([1, 0]),
    ],
)
def test_integer_division_by_zero_raises(compute):
    # torch 2.13: RuntimeError "ZeroDivisionError"; ours is also a ZeroDivisionError.
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        compute(A)
    with pytest.raises(ZeroDivisionError):
        compute(A)


def test_float_division_by_zero_still_gives_inf_and_nan():
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(_host(A.tensor([1.0, -1.0]) / 0), [np.inf, -np.inf])
        assert np.isnan(_host(A.tensor([1.0]) % 0)).all()
    np.testing.assert_array_equal(_host(A.tensor([7, -7]) // 2), [3, -4])


def test_arange_refuses_a_zero_or_backward_step():
    with pytest.raises(RuntimeError, match="arange: step must be nonzero"):
        A.arange(0, 5, 0)
    with pytest.raises(RuntimeError, match="arange: upper bound and lower bound inconsistent"):
        A.arange(0, 5, -1)
    with pytest.raises(RuntimeError, match="arange: unsupported range"):
        A.arange(0, float("inf"))
    np.testing.assert_array_equal(_host(A.arange(5, 0, -2)), [5, 3, 1])
    assert A.arange(0, 0).shape == (0,)


def test_big_endian_arrays_are_converted_by_tensor_and_refused_by_from_numpy():
    big = np.arange(3, dtype=">f4")
    t = A.tensor(big, requires_grad=True)
    assert t.dtype == A.float32 and t.data.dtype.isnative
    (t * t).sum().backward()
    np.testing.assert_array_equal(_host(t.grad), [0.0, 2.0, 4.0])
    with pytest.raises(ValueError, match="from_numpy: the array's byte order"):
        A.from_numpy(big)


# ------------------------------------------------------ found while hunting for the class
def test_augmented_assignment_is_in_place(device):
    # torch: v = x[0:2]; v += 1 changes x; `w -= lr * w.grad` under no_grad keeps w a leaf.
    x = A.zeros(3, device=device)
    v = x[0:2]
    v += 1
    v *= 3
    v -= 1
    v /= 2
    np.testing.assert_array_equal(_host(x), [1.0, 1.0, 0.0])
    assert x._version == 4
    w = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    (w * w).sum().backward()
    with A.no_grad():
        w -= 0.5 * w.grad
    assert w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(_host(w), [0.0, 0.0])
    with pytest.raises(RuntimeError, match="leaf tensor .* requires grad"):
        w += 1


def test_setitem_into_a_constant_buffer_joins_the_graph(device):
    # torch: buf = zeros(3); buf[0] = x[1] * 2; buf[2] = x[0] -> CopySlices, x.grad [1, 2, 0]
    x = A.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    buf = A.zeros(3, device=device)
    buf[0] = x[1] * 2
    buf[2] = x[0]
    assert not buf.is_leaf and buf.grad_fn.name == "CopySlices"
    buf.sum().backward()
    np.testing.assert_array_equal(_host(buf.detach()), [4.0, 0.0, 1.0])
    np.testing.assert_array_equal(_host(x.grad), [1.0, 2.0, 0.0])


def test_recorded_write_into_a_read_only_view_is_refused_and_changes_nothing():
    x = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    with pytest.raises(RuntimeError, match="add_: cannot write into this view"):
        y.expand(1, 3).add_(x)
    np.testing.assert_array_equal(_host(y), [1.0, 2.0, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [1.0, 1.0, 1.0])


def test_a_kept_detach_does_not_keep_its_source_alive():
    import gc
    import weakref

    x = A.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    ref = weakref.ref(loss)
    kept = loss.detach()
    del loss
    gc.collect()
    assert ref() is None and kept.item() == 5.0


def test_floor_divide_by_a_float_keeps_float32():
    # torch: int64 // 2.5 -> float32 [2., 2.]; float64 // 2 stays float64; int32 // 2 stays int32
    out = A.tensor([5, 7]) // 2.5
    assert out.dtype == A.float32
    np.testing.assert_array_equal(_host(out), [2.0, 2.0])
    assert (A.tensor([1.0], dtype=A.float64) // 2).dtype == A.float64
    assert (A.tensor([5], dtype=A.int32) // 2).dtype == A.int32


def test_module_to_dtype_between_forward_and_backward_raises():
    import nn

    layer = nn.Linear(2, 2)
    x = A.ones(1, 2, requires_grad=True)
    out = layer(x).sum()
    layer.double()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_narrow(device):
    x = A.arange(12, device=device).reshape(3, 4)
    np.testing.assert_array_equal(_host(x.narrow(1, 1, 2)), [[1, 2], [5, 6], [9, 10]])
    np.testing.assert_array_equal(_host(A.narrow(x, 0, -1, 1)), [[8, 9, 10, 11]])
    with pytest.raises(RuntimeError, match=r"narrow: start \(3\) \+ length \(2\) exceeds"):
        x.narrow(0, 3, 2)  # PyTorch's RuntimeError too
    w = A.ones(3, 4, dtype=A.float64, device=device, requires_grad=True)
    assert A.gradcheck(lambda t: t.narrow(1, 1, 2) * t.narrow(1, 2, 2), (w,))


def test_indexing_in_place_ops_on_a_view_follow_view_plus_inplace(device):
    # torch: y = [0, 4, 6] (the write reaches the base) and x.grad = [0, 4, 6].
    x = A.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * 2
    v = y[0:2]
    v.index_fill_(0, A.tensor([0], device=device), 0.0)
    np.testing.assert_array_equal(_host(y.detach()), [0.0, 4.0, 6.0])
    (y * A.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [0.0, 4.0, 6.0])
    w = A.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable that requires grad"):
        w[0:2].scatter_add_(0, A.tensor([0], device=device), A.ones(1, device=device))
