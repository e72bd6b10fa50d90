"""PyTorch habits: ``A.device``, dtypes, ``inference_mode``, ``autograd.utils.data`` and
``A.autograd.functional`` (jacobian, hessian, vjp, jvp, vhp, hvp) against finite differences
and values worked out by hand."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import autograd as A
from autograd.autograd import functional as AF


# ------------------------------------------------------------------------------- devices
def test_device_objects_compare_with_what_tensors_report():
    t = A.tensor([1.0, 2.0])
    assert t.device == A.device("cpu")
    assert t.device == "cpu"
    assert A.device("cpu") == "cpu"
    assert repr(t.device) == "device(type='cpu')"
    assert str(t.device) == "cpu"
    assert t.device.type == "cpu" and t.device.index is None
    assert A.tensor([1.0], device=A.device("cpu")).device == "cpu"
    assert A.zeros(2, device=A.device("cpu")).to(A.device("cpu")).device == "cpu"
    assert {t.device: 1}["cpu"] == 1  # hashes as its string
    assert pickle.loads(pickle.dumps(t.device)) == A.device("cpu")


def test_device_names_and_indices_as_pytorch():
    assert A.device("cuda", 1) == "cuda:1"
    assert repr(A.device("cuda:1")) == "device(type='cuda', index=1)"
    assert A.device("cuda:1").index == 1 and A.device("cuda:1").type == "cuda"
    assert repr(A.device("cuda")) == "device(type='cuda')"
    assert A.device("cuda") != A.device("cuda:0")  # as PyTorch: no index is not index 0
    assert A.device(A.device("cpu")) == "cpu"
    with pytest.raises(RuntimeError, match="expected one of cpu, cuda"):
        A.device("tpu")
    with pytest.raises(RuntimeError, match="already has an index"):
        A.device("cuda:0", 1)
    with pytest.raises(RuntimeError, match="non-negative"):
        A.device("cuda", -1)


def test_dtypes_compare_with_what_tensors_report():
    assert A.tensor([1.0]).dtype == A.float32
    assert A.tensor([1.0]).dtype == A.float
    assert A.tensor([1]).dtype == A.int64 == A.long
    assert A.tensor([1.0], dtype=A.float64).dtype == A.double
    assert A.tensor([True]).dtype == A.bool
    assert A.tensor([1.0]).dtype == "float32"


# ------------------------------------------------------------------------ inference_mode
def test_inference_mode_records_nothing_and_restores():
    x = A.ones(2, requires_grad=True)
    with A.inference_mode():
        assert A.is_inference_mode_enabled() and not A.is_grad_enabled()
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert A.is_grad_enabled() and not A.is_inference_mode_enabled()
    with A.inference_mode(False):
        assert A.is_grad_enabled() and not A.is_inference_mode_enabled()
        assert (x * 2).requires_grad


def test_inference_mode_as_a_decorator_with_and_without_parentheses():
    x = A.ones(2, requires_grad=True)

    @A.inference_mode()
    def called(t):
        return t * 2

    @A.inference_mode
    def bare(t):
        return t * 2

    assert not called(x).requires_grad
    assert not bare(x).requires_grad
    assert bare.__name__ == "bare"
    assert A.is_grad_enabled()


def test_inference_mode_restores_after_an_error():
    with pytest.raises(ValueError), A.inference_mode():
        raise ValueError("boom")
    assert A.is_grad_enabled() and not A.is_inference_mode_enabled()


# ----------------------------------------------------------------------- utils.data path
def test_utils_data_is_the_data_package():
    import autograd.data
    import autograd.utils.data as utils_data
    from autograd.utils.data import DataLoader, TensorDataset

    assert utils_data is autograd.data and A.utils.data is autograd.data
    loader = DataLoader(TensorDataset(A.arange(6.0)), batch_size=4)
    assert [b[0].shape for b in loader] == [(4,), (2,)]


# ------------------------------------------------------------ autograd.functional helpers
def _f64(values):
    return A.tensor(np.asarray(values, dtype=np.float64))


def _numeric_jacobian(fn, x, eps=1e-6):
    """Central differences: rows are output elements, columns input elements."""
    x = np.asarray(x, dtype=np.float64)
    out = np.asarray(fn(x), dtype=np.float64)
    jac = np.zeros((out.size, x.size))
    for k in range(x.size):
        step = np.zeros(x.size)
        step[k] = eps
        up = np.asarray(fn(x + step.reshape(x.shape)))
        down = np.asarray(fn(x - step.reshape(x.shape)))
        jac[:, k] = ((up - down) / (2 * eps)).reshape(-1)
    return jac.reshape(out.shape + x.shape)


def _f(t):
    return (t.sin() * t[..., :1] + t**2).sum(-1)


def _f_numpy(x):
    return (np.sin(x) * x[..., :1] + x**2).sum(-1)


X = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]])


def test_jacobian_matches_finite_differences():
    jac = AF.jacobian(_f, _f64(X))
    assert jac.shape == (2, 2, 3)
    np.testing.assert_allclose(jac.numpy(), _numeric_jacobian(_f_numpy, X), rtol=1e-6, atol=1e-8)
    assert not jac.requires_grad


def test_jacobian_of_a_linear_map_is_its_matrix():
    w = _f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    jac = AF.jacobian(lambda x: w @ x, _f64([1.0, -1.0, 2.0]))
    np.testing.assert_allclose(jac.numpy(), w.numpy())
    assert AF.jacobian(lambda x: w @ x, _f64([1.0, -1.0, 2.0]), vectorize=True).shape == (2, 3)


def test_jacobian_tuple_structure():
    a, b = _f64([1.0, 2.0]), _f64([3.0, 4.0, 5.0])
    jac = AF.jacobian(lambda a, b: (a * b.sum(), b.exp()), (a, b))
    (ja_a, ja_b), (jb_a, jb_b) = jac
    assert ja_a.shape == (2, 2) and ja_b.shape == (2, 3)
    assert jb_a.shape == (3, 2) and jb_b.shape == (3, 3)
    np.testing.assert_allclose(ja_a.numpy(), np.eye(2) * 12.0)
    np.testing.assert_allclose(ja_b.numpy(), np.array([[1.0] * 3, [2.0] * 3]))
    np.testing.assert_array_equal(jb_a.numpy(), 0.0)  # b.exp() does not use a
    np.testing.assert_allclose(jb_b.numpy(), np.diag(np.exp([3.0, 4.0, 5.0])))


def test_jacobian_strict_refuses_an_unused_input():
    a, b = _f64([1.0, 2.0]), _f64([3.0])
    with pytest.raises(RuntimeError, match="output 0 of the user-provided function is independ"):
        AF.jacobian(lambda a, b: a * 2, (a, b), strict=True)
    with pytest.raises(RuntimeError, match="strict=True and vectorize=True"):
        AF.jacobian(lambda a: a, a, strict=True, vectorize=True)
    with pytest.raises(NotImplementedError, match="forward-mode"):
        AF.jacobian(lambda a: a, a, strategy="forward-mode")
    with pytest.raises(TypeError, match="must be a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda a: [1.0], a)
    with pytest.raises(TypeError, match="inputs"):
        AF.jacobian(lambda a: a, [1.0, 2.0])


def test_jacobian_create_graph_is_differentiable():
    x = _f64([0.5, -0.3]).requires_grad_()
    jac = AF.jacobian(lambda t: t**3, x, create_graph=True)
    assert jac.requires_grad
    jac.sum().backward()  # d/dx sum(diag(3 x^2)) = 6 x
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy())
    y = _f64([0.5, -0.3]).requires_grad_()
    AF.jacobian(lambda t: t**3, y)
    assert y.grad is None  # without create_graph the caller's tensor is left alone


def test_hessian_of_a_quadratic_is_its_matrix():
    q = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, -1.0], [0.0, -1.0, 4.0]])
    qt = _f64(q)
    hess = AF.hessian(lambda x: 0.5 * (x @ qt @ x), _f64([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(hess.numpy(), q)


def test_hessian_matches_finite_differences_and_tuples():
    x0 = np.array([0.2, -0.7, 1.3])
    hess = AF.hessian(lambda x: (x.tanh() * x.exp()).sum(), _f64(x0))

    def grad_numpy(x):
        t = np.tanh(x)
        return (1 - t**2) * np.exp(x) + t * np.exp(x)

    np.testing.assert_allclose(hess.numpy(), _numeric_jacobian(grad_numpy, x0), rtol=1e-5)
    a, b = _f64([1.0, 2.0]), _f64([3.0])
    blocks = AF.hessian(lambda a, b: (a**2).sum() * b.sum(), (a, b))
    np.testing.assert_allclose(blocks[0][0].numpy(), np.eye(2) * 6.0)
    np.testing.assert_allclose(blocks[0][1].numpy(), [[2.0], [4.0]])
    np.testing.assert_allclose(blocks[1][0].numpy(), [[2.0, 4.0]])
    np.testing.assert_allclose(blocks[1][1].numpy(), [[0.0]])
    with pytest.raises(RuntimeError, match="single element"):
        AF.hessian(lambda x: x * 2, _f64([1.0, 2.0]))


def test_vjp_and_jvp_match_the_jacobian():
    x0 = _f64(X)
    jac = _numeric_jacobian(_f_numpy, X).reshape(2, 6)
    u = np.array([0.5, -2.0])
    out, vjp = AF.vjp(_f, x0, _f64(u))
    np.testing.assert_allclose(out.numpy(), _f_numpy(X))
    np.testing.assert_allclose(vjp.numpy().reshape(-1), u @ jac, rtol=1e-6)
    v = np.linspace(-1, 1, 6).reshape(2, 3)
    out, jvp = AF.jvp(_f, x0, _f64(v))
    np.testing.assert_allclose(out.numpy(), _f_numpy(X))
    np.testing.assert_allclose(jvp.numpy(), jac @ v.reshape(-1), rtol=1e-6)
    assert not jvp.requires_grad and not vjp.requires_grad


def test_vjp_jvp_tuples_defaults_and_errors():
    a, b = _f64([1.0, 2.0]), _f64([3.0, 4.0])
    out, (ga, gb) = AF.vjp(lambda a, b: (a * b).sum(), (a, b))  # v may be omitted: 1 element
    assert out.item() == 11.0
    np.testing.assert_allclose(ga.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gb.numpy(), [1.0, 2.0])
    out, jvp = AF.jvp(lambda t: t.exp(), _f64([0.0]))  # v may be omitted: 1-element input
    np.testing.assert_allclose(jvp.numpy(), [1.0])
    outs, jvps = AF.jvp(lambda a, b: (a * b, a + 1.0), (a, b), (_f64([1.0, 0.0]), _f64([0, 1.0])))
    np.testing.assert_allclose(jvps[0].numpy(), [3.0, 2.0])
    np.testing.assert_allclose(jvps[1].numpy(), [1.0, 0.0])
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(lambda t: t * 2, a)
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.jvp(lambda t: t * 2, a)
    with pytest.raises(RuntimeError, match=r"shape \(3,\)"):
        AF.vjp(lambda t: t * 2, a, _f64([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.vjp(lambda a, b: a.sum(), (a, b), strict=True)
    _, (ga, gb) = AF.vjp(lambda a, b: a.sum(), (a, b))
    np.testing.assert_array_equal(gb.numpy(), 0.0)


def test_jvp_create_graph_gives_second_derivatives():
    x = _f64([0.4, 1.5]).requires_grad_()
    _, jvp = AF.jvp(lambda t: t**3, x, A.ones_like(x), create_graph=True)
    assert jvp.requires_grad
    jvp.sum().backward()  # d/dx sum(3 x^2) = 6 x
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy())


def test_hvp_and_vhp():
    q = _f64([[2.0, 1.0], [1.0, 3.0]])
    v = _f64([1.0, -1.0])
    out, hvp = AF.hvp(lambda x: 0.5 * (x @ q @ x) + x.sum(), _f64([1.0, 2.0]), v)
    np.testing.assert_allclose(hvp.numpy(), q.numpy() @ v.numpy())
    _, vhp = AF.vhp(lambda x: 0.5 * (x @ q @ x), _f64([1.0, 2.0]), v)
    np.testing.assert_allclose(vhp.numpy(), v.numpy() @ q.numpy())
    assert out.shape == ()


def test_autograd_namespace_has_pytorchs_names():
    x = _f64([1.0, 2.0]).requires_grad_()
    (g,) = A.autograd.grad((x**2).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert A.autograd.Function is A.Function
    assert A.autograd.functional.jacobian is AF.jacobian
