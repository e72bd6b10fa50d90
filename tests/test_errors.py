"""Error messages: the exception class PyTorch uses, naming the op, shapes, dtypes, devices."""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest

import autograd as A
import backends

needs_cuda = pytest.mark.skipif(not backends.cuda_available(), reason="needs CuPy and a GPU")


# ------------------------------------------------------------------------------- shapes


def test_matmul_names_both_shapes(device):
    a = A.ones(3, 4, device=device)
    b = A.ones(5, 6, device=device)
    with pytest.raises(RuntimeError, match=r"matmul.*\(3, 4\).*\(5, 6\).*4 and 5"):
        a @ b
    with pytest.raises(RuntimeError, match=r"matmul.*\(2,\).*\(\)"):
        A.ones(2, device=device) @ A.tensor(3.0, device=device)
    with pytest.raises(RuntimeError, match=r"matmul.*\(2, 3, 4\).*\(4, 4, 2\)"):
        A.ones(2, 3, 4, device=device) @ A.ones(4, 4, 2, device=device)


def test_broadcast_failures_name_the_op_shapes_and_dtypes(device):
    x = A.ones(3, 4, device=device)
    with pytest.raises(RuntimeError, match=r"add: .*\(3, 4\) float32 and \(5, 6\) float32"):
        x + A.ones(5, 6, device=device)
    with pytest.raises(RuntimeError, match=r"mul: .*\(3, 4\) float32 and \(5,\) float64"):
        x * A.ones(5, dtype=A.float64, device=device)
    with pytest.raises(RuntimeError, match=r"sub: .*\(2,\).*\(3, 4\)"):
        A.ones(2, device=device) - x
    with pytest.raises(RuntimeError, match=r"div: .*\(3, 4\).*\(2,\)"):
        x / A.ones(2, device=device)
    with pytest.raises(RuntimeError, match=r"pow: .*\(3, 4\).*\(2,\)"):
        x ** A.ones(2, device=device)
    with pytest.raises(RuntimeError, match=r"maximum: .*\(3, 4\).*\(2,\)"):
        A.maximum(x, A.ones(2, device=device))
    with pytest.raises(RuntimeError, match=r"where: .*\(3, 4\) bool.*\(5, 6\)"):
        A.where(x > 0, x, A.ones(5, 6, device=device))


def test_other_numpy_value_errors_name_the_op(device):
    with pytest.raises(RuntimeError, match=r"pow: Integers to negative integer powers.*int64"):
        A.tensor([2, 3], device=device) ** -1


def test_reshape_and_view_invalid(device):
    x = A.ones(3, 4, device=device)
    with pytest.raises(RuntimeError, match=r"reshape: shape \(5, 2\) is invalid.*12.*\(3, 4\)"):
        x.reshape(5, 2)
    with pytest.raises(RuntimeError, match=r"\(-1, -1\) is invalid"):
        x.view(-1, -1)
    with pytest.raises(RuntimeError, match=r"\(5, -1\) is invalid"):
        x.reshape(5, -1)
    with pytest.raises(TypeError, match="sizes must be ints"):
        x.reshape(2.0, 6)


def test_cat_and_stack_mismatched(device):
    x = A.ones(3, 4, device=device)
    with pytest.raises(ValueError, match=r"cat: .*dimension 0.*\(3, 4\).*\(5, 6\)"):
        A.cat([x, A.ones(5, 6, device=device)])
    with pytest.raises(ValueError, match=r"cat: .*\(3, 4\).*tensor 1 has \(3,\)"):
        A.cat([x, A.ones(3, device=device)])
    with pytest.raises(ValueError, match="cat: expected a non-empty list"):
        A.cat([])
    with pytest.raises(TypeError, match="cat: expected Tensors, got list at position 1"):
        A.cat([x, [1.0]])
    with pytest.raises(ValueError, match=r"stack: .*\(3, 4\) at entry 0 and \(4, 3\) at entry 1"):
        A.stack([x, A.ones(4, 3, device=device)])


def test_other_shape_op_errors(device):
    x = A.ones(3, 4, device=device)
    with pytest.raises(ValueError, match=r"expand: .*size 5 .*size 3.*\(3, 4\) to \(2, 5, 4\)"):
        x.expand(2, 5, 4)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(3, 4\) to \(4,\)"):
        x.expand(4)
    with pytest.raises(ValueError, match=r"permute: dims \(0, 0\) repeat"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match=r"permute: 1 dims"):
        x.permute(0)
    with pytest.raises(ValueError, match=r"repeat: .*\(3, 4\)"):
        x.repeat(2)
    with pytest.raises(ValueError, match=r"split: sections \[1, 1\] sum to 2.*\(3, 4\) has size 3"):
        x.split([1, 1])
    with pytest.raises(ValueError, match="split_size must be positive"):
        x.split(0)
    with pytest.raises(ValueError, match="chunks must be positive"):
        x.chunk(0)
    with pytest.raises(ValueError, match="flatten: start_dim 1 comes after end_dim 0"):
        x.flatten(1, 0)
    with pytest.raises(ValueError, match=r"t: expects a tensor with <= 2 dimensions, got 3"):
        A.ones(1, 2, 3, device=device).t()


def test_pad_errors(device):
    x = A.ones(3, 4, device=device)
    with pytest.raises(ValueError, match=r"pad: padding \(1,\) must have an even length"):
        A.pad(x, (1,))
    with pytest.raises(ValueError, match=r"pad: reflect padding \(4, 4\) must be < the size 4"):
        A.pad(x, (4, 4), mode="reflect")
    with pytest.raises(ValueError, match="pad: unknown mode 'mirror'"):
        A.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match="pad: negative padding"):
        A.pad(x, (-1, 1))


# ---------------------------------------------------------------------------- dims, index


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.sum(dim=2),
        lambda x: x.mean(dim=-3),
        lambda x: x.var(dim=5),
        lambda x: x.max(dim=2),
        lambda x: x.amax(dim=(0, 2)),
        lambda x: x.argmax(dim=2),
        lambda x: x.logsumexp(dim=2),
        lambda x: x.norm(dim=2),
        lambda x: x.prod(dim=2),
        lambda x: x.transpose(0, 5),
        lambda x: x.unsqueeze(4),
        lambda x: x.squeeze(3),
        lambda x: x.flatten(0, 2),
        lambda x: x.size(2),
        lambda x: A.cat([x, x], dim=2),
        lambda x: A.stack([x, x], dim=4),
        lambda x: x.split(1, dim=2),
        lambda x: x.gather(2, A.zeros(3, 4, dtype=A.int64, device=x.device)),
        lambda x: x.index_select(2, A.tensor([0], device=x.device)),
    ],
)
def test_dim_out_of_range_is_index_error(op, device):
    x = A.ones(3, 4, device=device)
    with pytest.raises(IndexError, match=r"dimension out of range.*\[-2, 1\]|\[-3, 2\]"):
        op(x)


def test_dim_must_be_an_int():
    with pytest.raises(TypeError, match="dim must be an int"):
        A.ones(2, 2).sum(dim=1.0)


def test_indexing_errors(device):
    x = A.ones(3, 4, device=device)
    with pytest.raises(IndexError, match="long, int or bool, got float32"):
        x[A.tensor([0.0], device=device)]
    with pytest.raises(IndexError, match="long, int or bool, got float64"):
        x[np.array([0.5])]
    with pytest.raises(IndexError, match=r"getitem: .*out of bounds.*\(3, 4\)"):
        x[5]
    with pytest.raises(IndexError, match=r"too many indices.*\(3, 4\)"):
        x[0, 0, 0]
    with pytest.raises(TypeError, match="gather: index must be an integer tensor.*float32"):
        x.gather(1, A.tensor([[0.5]], device=device))
    with pytest.raises(IndexError, match="gather: index out of range for dimension 1 of size 4"):
        x.gather(1, A.tensor([[4]], device=device))
    with pytest.raises(ValueError, match=r"gather: index \(2,\) and input \(3, 4\)"):
        x.gather(1, A.tensor([0, 1], device=device))
    with pytest.raises(TypeError, match="index_select: index must be an integer"):
        x.index_select(0, A.tensor([1.0], device=device))
    with pytest.raises(IndexError, match="index_select: index out of range.*size 3"):
        x.index_select(0, A.tensor([7], device=device))
    with pytest.raises(ValueError, match="index_select: index must be 1-D"):
        x.index_select(0, A.tensor([[0]], device=device))
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool tensor, got int64"):
        x.masked_fill(A.tensor([1, 0, 0, 0], device=device), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: value must be a 0-dim.*\(2,\)"):
        x.masked_fill(x > 0, A.ones(2, device=device))


def test_setitem_errors(device):
    x = A.zeros(3, 4, device=device)
    with pytest.raises(RuntimeError, match=r"setitem: .*\(3, 4\)"):
        x[0] = A.ones(5, device=device)
    with pytest.raises(IndexError, match=r"setitem: .*\(3, 4\)"):
        x[7] = 1.0
    w = A.zeros(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: .*requires grad.*no_grad"):
        w[0] = 1.0


def test_one_hot_errors(device):
    with pytest.raises(ValueError, match=r"one_hot: class values must be in \[0, 3\)"):
        A.one_hot(A.tensor([0, 5], device=device), 3)
    with pytest.raises(TypeError, match="one_hot: expected an integer.*float32"):
        A.one_hot(A.tensor([0.0], device=device))


# ------------------------------------------------------------------------ dtypes, values


def test_requires_grad_on_integer_tensor():
    with pytest.raises(RuntimeError, match="only floating point.*int64"):
        A.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="requires_grad_: only floating point.*int64"):
        A.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="only floating point.*bool"):
        A.zeros(2, dtype=A.bool_, requires_grad=True)


def test_reductions_that_need_floats(device):
    ints = A.tensor([1, 2, 3], device=device)
    with pytest.raises(TypeError, match=r"mean: .*int64.*\.float\(\)"):
        ints.mean()
    with pytest.raises(TypeError, match=r"norm: .*int64.*\.float\(\)"):
        ints.norm()
    # p = -1 is a norm now (issue 13); a string other than 'fro' / 'nuc' is not.
    with pytest.raises(ValueError, match="norm: unsupported p='bad'"):
        A.ones(2, device=device).norm(p="bad")
    with pytest.raises(RuntimeError, match=r"amax: cannot reduce an empty tensor of shape \(0,\)"):
        A.zeros(0, device=device).amax()
    with pytest.raises(
        RuntimeError, match=r"argmax: cannot reduce an empty tensor of shape \(0,\)"
    ):
        A.zeros(0, device=device).argmax()
    with pytest.raises(RuntimeError, match=r"argmin: cannot reduce an empty tensor.*\(2, 0\)"):
        A.zeros(2, 0, device=device).argmin(dim=1)


def test_bad_data_dtype_and_shape_arguments():
    with pytest.raises(TypeError, match="cannot make a tensor from list data of dtype <U1"):
        A.tensor(["a"])
    with pytest.raises(TypeError, match="not a dtype: 'float77'"):
        A.tensor([1.0]).to("float77")
    with pytest.raises(ValueError, match=r"non-negative ints, got \(-1,\)"):
        A.zeros(-1)
    with pytest.raises(ValueError, match="clamp: at least one of 'min' or 'max'"):
        A.ones(2).clamp()
    with pytest.raises(TypeError, match="randint: missing the size"):
        A.randint(5)


def test_in_place_shape_mismatch(device):
    x = A.ones(3, 4, device=device)
    with pytest.raises(
        RuntimeError, match=r"add_: cannot update a tensor of shape \(3, 4\).*\(5,\)"
    ):
        x.add_(A.ones(5, device=device))


def test_backward_gradient_mismatch(device):
    x = A.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient of shape \(3,\).*shape \(\)"):
        x.sum().backward(gradient=A.ones(3, device=device))
    with pytest.raises(ValueError, match="got 2 gradients for 1 outputs"):
        A.backward([x.sum()], [A.tensor(1.0), A.tensor(1.0)])


# ------------------------------------------------------------------------------- devices


def test_bad_device_string_is_value_error():
    for bad in ("tpu", "cuda:x", "cuda:-1", "gpu0", ""):
        with pytest.raises(ValueError, match=r"unknown device .*expected 'cpu', 'cuda'"):
            A.zeros(2, device=bad)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        A.ones(2).to(device="tpu")


@pytest.mark.skipif(backends.cuda_available(), reason="this machine has a usable GPU")
def test_cuda_without_gpu_says_what_to_do():
    with pytest.raises(RuntimeError) as info:
        A.zeros(2, device="cuda")
    message = str(info.value)
    assert "cuda:0" in message
    if importlib.util.find_spec("cupy") is None:
        assert "CuPy" in message and "pip install" in message and "chalkgrad[cuda]" in message
    else:
        assert "no CUDA device was found" in message
    with pytest.raises(RuntimeError, match="cuda"):
        A.ones(2).to("cuda")
    assert not A.cuda_is_available()


@pytest.mark.skipif(backends.cuda_available(), reason="this machine has a usable GPU")
def test_cupy_installed_but_no_gpu_says_so(monkeypatch):
    # CuPy imports fine without a GPU (it fails at the first allocation): simulate that.
    fake = types.ModuleType("cupy")
    fake.is_available = lambda: False
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(RuntimeError, match=r"'cuda:1'.*CuPy is installed but no CUDA device"):
        backends.get_backend("cuda:1")
    assert not backends.cuda_available()


@needs_cuda
def test_mixing_devices_names_both():
    cpu = A.ones(2, requires_grad=True)
    gpu = A.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match=r"cpu.*cuda:0|cuda:0.*cpu"):
        cpu + gpu
    with pytest.raises(RuntimeError, match=r"cpu.*cuda:0|cuda:0.*cpu"):
        gpu @ cpu
    with pytest.raises(RuntimeError, match=r"cpu.*cuda:0|cuda:0.*cpu"):
        cpu[A.tensor([0], device="cuda")]
    with pytest.raises(RuntimeError, match=r"cpu.*cuda:0|cuda:0.*cpu"):
        cpu.sum().backward(gradient=A.tensor(1.0, device="cuda"))


def test_zero_dimensional_tensors_in_cat_split_and_chunk(device):
    # torch: cat([tensor(1.), tensor(2.)]) -> "zero-dimensional tensor (at position 0) cannot be
    # concatenated"; tensor(1.).split(1) / .chunk(1) -> "expects at least a 1-dimensional tensor"
    s = A.tensor(1.0, device=device)
    with pytest.raises(RuntimeError, match=r"cat: zero-dimensional tensor \(at position 0\)"):
        A.cat([s, s])
    with pytest.raises(RuntimeError, match=r"cat: zero-dimensional tensor \(at position 1\)"):
        A.cat([A.ones(1, device=device), s])
    with pytest.raises(RuntimeError, match=r"split: expects at least a 1-dimensional tensor"):
        s.split(1)
    with pytest.raises(RuntimeError, match=r"chunk: expects at least a 1-dimensional tensor"):
        s.chunk(1)
    assert A.stack([s, s]).shape == (2,)  # stack is how 0-d tensors are joined


def test_repeat_with_negative_sizes(device):
    with pytest.raises(ValueError, match=r"repeat: .*non-negative.*\(2, -1\).*\(3,\)"):
        A.ones(3, device=device).repeat(2, -1)
    assert A.ones(3, device=device).repeat(0).shape == (0,)
