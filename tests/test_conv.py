"""Convolutions: conv/conv_transpose 1-3d, unfold/fold, their layers, memory and CuPy readiness.

Values are compared with PyTorch's (tests/fixtures/make_conv_fixtures.py); gradients are
checked numerically to second order in float64 on tiny shapes.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn
import nn.functional as F
from autograd.ops import conv as conv_ops

FIXTURES = Path(__file__).parent / "fixtures"
REF = np.load(FIXTURES / "conv_reference.npz")
META = json.loads((FIXTURES / "conv_reference.json").read_text())
NAMESPACE = {name: getattr(nn, name) for name in dir(nn) if name[0].isupper()}


def t64(*shape, seed=0, requires_grad=True, device="cpu"):
    data = np.random.default_rng(seed).standard_normal(shape)
    return A.tensor(data, dtype=A.float64, requires_grad=requires_grad, device=device)


def check_both_orders(fn, inputs):
    assert A.gradcheck(fn, inputs)
    assert A.gradgradcheck(fn, inputs)


# --------------------------------------------------------------- values against PyTorch
def run_case(name, device="cpu"):
    case = META["cases"][name]
    module = eval(case["module"], NAMESPACE).double().to(device)
    state = {
        key: A.tensor(REF[f"{name}/state/{key}"], device=device) for key in case["state_dict_keys"]
    }
    module.load_state_dict(state)
    module.train()
    x = A.tensor(REF[f"{name}/x"], requires_grad=True, device=device)
    out = module(x, **case["kwargs"])
    out.backward(A.tensor(REF[f"{name}/g"], device=device))
    return case, module, x, out


CONV_CASES = [
    n for n in META["cases"] if n.startswith(("conv", "small_cnn", "group", "instance", "batch"))
]


@pytest.mark.parametrize("name", CONV_CASES)
def test_layer_matches_pytorch(name, device):
    case, module, x, out = run_case(name, device)
    assert repr(module) == case["repr"]
    assert list(module.state_dict().keys()) == case["state_dict_keys"]
    np.testing.assert_allclose(out.detach().cpu().numpy(), REF[f"{name}/out"], atol=1e-10)
    np.testing.assert_allclose(x.grad.cpu().numpy(), REF[f"{name}/grad_x"], atol=1e-10)
    for key, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.cpu().numpy(), REF[f"{name}/grad/{key}"], atol=1e-10)
    for key, value in module.state_dict().items():  # running statistics after the step
        np.testing.assert_allclose(value.cpu().numpy(), REF[f"{name}/after/{key}"], atol=1e-10)


def test_pytorch_cnn_state_dict_loads_into_the_same_architecture():
    # The small CNN's weights were made by torch.nn's own init; loading them gives its output.
    case = META["cases"]["small_cnn"]
    model = eval(case["module"], NAMESPACE).double()
    model.load_state_dict(
        {k: A.tensor(REF[f"small_cnn/state/{k}"]) for k in case["state_dict_keys"]}
    )
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["0.weight"] == (4, 1, 3, 3) and shapes["8.weight"] == (8, 4, 4, 4)


@pytest.mark.parametrize(
    "layer, fan_in",
    [
        (lambda: nn.Conv2d(6, 16, 5), 6 * 25),
        (lambda: nn.Conv1d(4, 8, 3, groups=2), 2 * 3),
        (lambda: nn.Conv3d(2, 4, 2), 2 * 8),
        (lambda: nn.ConvTranspose2d(8, 6, 4, groups=2), 3 * 16),
    ],
)
def test_default_init_is_pytorchs(layer, fan_in):
    # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias's bound is too.
    m = layer()
    bound = 1 / np.sqrt(fan_in)
    for p in (m.weight, m.bias):
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound
        assert values.std() > bound / 4  # spread over the interval, not a constant
    assert m.weight.dtype == A.float32


# ----------------------------------------------------------------------- gradients
CONV_OPTIONS = [
    ("conv1d", (1, 2, 5), (3, 2, 2), dict(stride=2, padding=1)),
    ("conv1d", (1, 4, 6), (2, 2, 3), dict(padding="same", dilation=2, groups=2)),
    ("conv2d", (1, 2, 4, 4), (2, 2, 2, 2), dict(stride=(2, 1), padding=(1, 0))),
    ("conv2d", (1, 2, 4, 3), (2, 1, 3, 2), dict(padding="valid", dilation=(1, 2), groups=2)),
    ("conv2d", (1, 2, 4, 4), (2, 1, 3, 3), dict(padding=1, groups=2)),  # depthwise
    ("conv2d", (2, 3, 2, 2), (2, 3, 1, 1), {}),  # 1x1: the plain-matmul path
    ("conv3d", (1, 1, 3, 3, 2), (2, 1, 2, 2, 1), dict(stride=(1, 2, 1), padding=(1, 0, 0))),
]


@pytest.mark.parametrize("op, x_shape, w_shape, kwargs", CONV_OPTIONS)
def test_conv_gradients_to_second_order(op, x_shape, w_shape, kwargs):
    fn = getattr(F, op)
    x, w, b = t64(*x_shape, seed=1), t64(*w_shape, seed=2), t64(w_shape[0], seed=3)
    check_both_orders(lambda x, w, b: fn(x, w, b, **kwargs), (x, w, b))


TRANSPOSE_OPTIONS = [
    ("conv_transpose1d", (1, 2, 3), (2, 2, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (1, 2, 2, 2), (2, 1, 2, 3), dict(stride=2, groups=2)),
    ("conv_transpose2d", (1, 2, 2, 3), (2, 1, 2, 2), dict(padding=(1, 0), dilation=2)),
    ("conv_transpose3d", (1, 2, 2, 1, 2), (2, 1, 2, 1, 2), dict(stride=(2, 1, 1))),
]


@pytest.mark.parametrize("op, x_shape, w_shape, kwargs", TRANSPOSE_OPTIONS)
def test_conv_transpose_gradients_to_second_order(op, x_shape, w_shape, kwargs):
    fn = getattr(F, op)
    groups = kwargs.get("groups", 1)
    x, w = t64(*x_shape, seed=4), t64(*w_shape, seed=5)
    b = t64(w_shape[1] * groups, seed=6)
    check_both_orders(lambda x, w, b: fn(x, w, b, **kwargs), (x, w, b))


def test_unfold_fold_gradients_and_adjointness():
    x = t64(1, 2, 4, 5, seed=7)
    check_both_orders(lambda x: F.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=2), (x,))
    cols = t64(1, 4, 9, seed=8)
    check_both_orders(lambda c: F.fold(c, (4, 5), 2, padding=1, stride=2), (cols,))
    # <unfold(x), c> == <x, fold(c)>: fold is unfold's adjoint.
    c = t64(1, 2 * 6, 3 * 2, seed=9, requires_grad=False)
    u = F.unfold(x.detach(), (2, 3), dilation=(2, 1), padding=1, stride=2)
    lhs = (u * c).sum().item()
    rhs = (x.detach() * F.fold(c, (4, 5), (2, 3), dilation=(2, 1), padding=1, stride=2)).sum()
    assert lhs == pytest.approx(rhs.item())


def test_unfold_matches_pytorch_layout():
    # F.unfold's rows are (channel, kernel row, kernel col), its columns the block positions.
    x = A.arange(2 * 3 * 4).reshape(1, 2, 3, 4).double()
    cols = F.unfold(x, 2)
    assert cols.shape == (1, 8, 6)
    assert cols[0, :, 0].tolist() == [0, 1, 4, 5, 12, 13, 16, 17]
    assert cols[0, 0].tolist() == [0, 1, 2, 4, 5, 6]


def test_unbatched_input():
    x = t64(2, 5, 5, requires_grad=False)
    w = t64(3, 2, 3, 3, requires_grad=False)
    assert F.conv2d(x, w).shape == (3, 3, 3)
    np.testing.assert_allclose(F.conv2d(x, w).numpy(), F.conv2d(x.unsqueeze(0), w)[0].numpy())


# ----------------------------------------------------------- memory: one im2col buffer
def test_conv_keeps_at_most_one_im2col_buffer_and_frees_it():
    x = t64(2, 3, 6, 6, seed=1)
    conv = nn.Conv2d(3, 4, 3, padding=1).double()
    y = conv(x)
    node = y.grad_fn
    saved = [s for s in node._saved if s is not None]
    big = [v for kind, v, _ in saved if kind == 2 and v.size > x.numel()]
    # Constants bigger than the input: only x's columns (2 x 27 x 36), nothing else.
    assert len(big) == 1 and big[0].size == 2 * 3 * 9 * 36
    y.sum().backward()
    assert node.released


def test_conv_saves_no_columns_when_the_weight_is_frozen():
    x = t64(2, 3, 6, 6, seed=1)
    w = t64(4, 3, 3, 3, seed=2, requires_grad=False)
    node = F.conv2d(x, w).grad_fn
    constants = [v for kind, v, _ in node._saved if kind == 2]
    assert constants == []


# ----------------------------------------------------------------- create_graph: WGAN-GP
def test_wgan_gp_penalty_through_a_conv_critic_trains():
    A.manual_seed(0)
    critic = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(4, 4, 3, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(16, 1),
    ).double()
    from optim import Adam

    opt = Adam(critic.parameters(), lr=1e-2)
    x = A.randn(8, 1, 8, 8, dtype=A.float64)
    penalties = []
    for _ in range(30):
        x_hat = x.detach().requires_grad_()
        scores = critic(x_hat)
        (grad,) = A.grad(scores.sum(), [x_hat], create_graph=True)
        penalty = ((grad.reshape(8, -1).norm(dim=1) - 1) ** 2).mean()
        opt.zero_grad()
        penalty.backward()
        opt.step()
        penalties.append(penalty.item())
    assert critic[0].weight.grad is not None
    assert penalties[-1] < 0.1 * penalties[0]


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: F.conv2d(A.randn(1, 4, 5, 5), A.randn(6, 3, 3, 3)),
            r"conv2d: Given groups=1, weight of size \[6, 3, 3, 3\], expected input\[1, 4, 5, 5\] "
            r"to have 3 channels, but got 4",
        ),
        (
            lambda: F.conv2d(A.randn(1, 3, 2, 2), A.randn(6, 3, 3, 3)),
            r"conv2d: Calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\)",
        ),
        (
            lambda: F.conv2d(A.randn(1, 4, 5, 5), A.randn(3, 2, 3, 3), groups=2),
            r"conv2d: Given groups=2, expected weight to be divisible by 2 at dimension 0",
        ),
        (
            lambda: F.conv2d(A.randn(1, 3, 5, 5), A.randn(2, 3, 3, 3), stride=2, padding="same"),
            r"conv2d: padding='same' is not supported for strided convolutions",
        ),
        (
            lambda: F.conv2d(A.randn(1, 3, 5, 5), A.randn(2, 3, 3, 3), padding="full"),
            r"conv2d: Invalid padding string 'full'",
        ),
        (
            lambda: F.conv2d(A.randn(3, 5), A.randn(2, 3, 3, 3)),
            r"conv2d: Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input "
            r"of size: \[3, 5\]",
        ),
        (
            lambda: F.conv1d(A.randn(1, 3, 5), A.randn(2, 3, 3), A.randn(3)),
            r"conv1d: Given weight of size \[2, 3, 3\], expected bias to be 1-dimensional with 2 "
            r"elements",
        ),
        (
            lambda: F.conv2d(A.randn(1, 3, 5, 5), A.randn(2, 3, 3, 3).double()),
            r"conv2d: Input type \(float32\) and weight type \(float64\)",
        ),
        (
            lambda: F.conv2d(A.randn(1, 3, 5, 5), A.randn(2, 3, 3, 3), stride=0),
            r"conv2d: non-positive stride",
        ),
        (
            lambda: F.conv2d(A.randn(1, 3, 5, 5), A.randn(2, 3, 3, 3), padding=-1),
            r"conv2d: negative padding",
        ),
        (
            lambda: F.conv_transpose2d(A.randn(1, 3, 2, 2), A.randn(4, 2, 3, 3)),
            r"conv_transpose2d: Given transposed=1, weight of size \[4, 2, 3, 3\], expected "
            r"input\[1, 3, 2, 2\] to have 4 channels",
        ),
        (
            lambda: F.conv_transpose2d(
                A.randn(1, 4, 2, 2), A.randn(4, 2, 3, 3), stride=2, output_padding=2
            ),
            r"conv_transpose2d: output padding must be smaller than either stride or dilation",
        ),
        (
            lambda: F.conv_transpose2d(A.randn(1, 4, 1, 1), A.randn(4, 2, 1, 1), padding=1),
            r"conv_transpose2d: .* the calculated output size \[-1, -1\] is too small",
        ),
        (lambda: nn.Conv2d(4, 6, 3, groups=3), r"Conv2d: in_channels must be divisible by groups"),
        (
            lambda: nn.Conv2d(4, 6, 3, groups=4),
            r"Conv2d: in_channels must be divisible by groups|out_channels must be divisible by "
            r"groups",
        ),
        (
            lambda: nn.Conv2d(4, 6, 3, padding_mode="mirror"),
            r"Conv2d: padding_mode must be one of \('zeros', 'reflect', 'replicate', "
            r"'circular'\), but got padding_mode='mirror'",
        ),
        (
            lambda: nn.Conv2d(4, 6, 3, stride=2, padding="same"),
            r"Conv2d: padding='same' is not supported for strided convolutions",
        ),
        (
            lambda: nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"),
            r'ConvTranspose2d: Only "zeros" padding mode is supported',
        ),
        (
            lambda: nn.ConvTranspose2d(2, 2, 3, stride=2)(A.randn(1, 2, 3, 3), output_size=(9, 9)),
            r"ConvTranspose2d: requested an output size of \[9, 9\], but valid sizes range from "
            r"\[7, 7\] to \[8, 8\]",
        ),
        (
            lambda: F.unfold(A.randn(1, 1, 2, 2), 3),
            r"unfold: Given input with spatial size \[2, 2\], kernel_size=\(3, 3\)",
        ),
        (
            lambda: F.fold(A.randn(1, 4, 5), (3, 3), 2),
            r"fold: .* expected size of input's dimension 2 to match the calculated number of "
            r"sliding blocks 2 \* 2 = 4",
        ),
    ],
)
def test_error_messages_name_the_op_shapes_and_argument(call, message):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError)) as info:
        call()
    assert re.search(message, str(info.value)), str(info.value)


# ------------------------------------------------------------------------ the backends
def test_strided_conv_and_layers_work_in_float32():
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    y = conv(A.randn(2, 3, 8, 8))
    assert y.dtype == A.float32 and y.shape == (2, 4, 4, 4)
    y.sum().backward()
    assert conv.weight.grad.dtype == A.float32


def _xp_names(path):
    return set(re.findall(r"\bxp\.([a-z_]+)", Path(path).read_text()))


def test_every_xp_name_the_conv_ops_use_exists_in_cupy():
    cupy = pytest.importorskip("cupy")
    root = Path(__file__).parent.parent
    names = set()
    for path in ("autograd/ops/conv.py", "autograd/ops/pool.py", "backends/cupy_backend.py"):
        names |= _xp_names(root / path)
    assert names, "the scan found no xp.<name> uses"
    missing = sorted(n for n in names if not hasattr(cupy, n))
    assert not missing, f"not in CuPy: {missing}"
    # Array methods the ops call on arrays (col.argmax, x.reshape, ...) exist on cupy.ndarray.
    for method in ("argmax", "reshape", "swapaxes", "transpose", "sum", "astype", "max", "min"):
        assert hasattr(cupy.ndarray, method)


def test_cupy_kernels_construct_without_a_gpu():
    cupy = pytest.importorskip("cupy")
    from backends import cupy_backend

    im2col = cupy_backend._im2col_kernel(cupy)
    col2im = cupy_backend._col2im_kernel(cupy)
    assert isinstance(im2col, cupy.ElementwiseKernel)
    assert isinstance(col2im, cupy.ElementwiseKernel)
    assert cupy_backend._as_3d((3, 4), 1) == (1, 3, 4)


def test_numpy_im2col_col2im_are_adjoint_with_ceil_mode_reach():
    # Windows that run past the padded input (ceil_mode pooling) read the fill value.
    from backends import cpu

    x = np.arange(2 * 5, dtype=np.float64).reshape(1, 2, 5)
    col = cpu.im2col(x, (3,), (2,), (1,), (1,), (3,), fill=-1.0)
    assert col[0, 0, :, 2].tolist() == [3.0, 4.0, -1.0]
    c = np.random.default_rng(0).standard_normal(col.shape)
    zero_fill = cpu.im2col(x, (3,), (2,), (1,), (1,), (3,))
    back = cpu.col2im(c, (5,), (2,), (1,), (1,))
    assert np.sum(zero_fill * c) == pytest.approx(np.sum(x * back))


@pytest.mark.parametrize("batch_inner", [False, True])
@pytest.mark.parametrize("fill", [0.0, -np.inf])
def test_numpy_im2col_rows_first_equals_the_offset_loop(batch_inner, fill, monkeypatch):
    # Short output rows: the last dim's kernel offsets are expanded first (two copies with long
    # inner loops); the columns are the same numbers as the loop over every kernel offset.
    from backends import cpu
    from backends import numpy_backend as nb

    rng = np.random.default_rng(3)
    geometries = [  # in_size, kernel, stride, padding, dilation
        ((14, 14), (5, 5), (1, 1), (0, 0), (1, 1)),  # LeNet's conv2
        ((28, 28), (5, 5), (1, 1), (2, 2), (1, 1)),  # LeNet's conv1 (rows of 28: the loop)
        ((7, 9), (3, 2), (1, 2), (1, 1), (2, 1)),
        ((5, 6, 7), (2, 3, 3), (1, 1, 2), (1, 0, 1), (1, 2, 1)),
        ((6, 8), (2, 1), (1, 1), (0, 0), (1, 1)),  # no offsets along the last dim: the loop
        ((9, 8), (3, 3), (2, 1), (1, 1), (1, 1)),  # stride 2 along a leading dim: the loop
    ]
    used = 0
    for in_size, kernel, stride, padding, dilation in geometries:
        out_size = conv_ops.conv_output_size(
            in_size, kernel, stride, tuple((p, p) for p in padding), dilation
        )
        x = rng.standard_normal((2, 3) + in_size)
        args = (x, kernel, stride, padding, dilation, out_size, fill, batch_inner)
        used += nb._expand_rows_first(kernel, stride, out_size)
        got = cpu.im2col(*args)
        with monkeypatch.context() as m:
            m.setattr(nb, "ROWS_FIRST_MAX_ROW", 0)
            assert not nb._expand_rows_first(kernel, stride, out_size)
            expected = cpu.im2col(*args)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    assert used == 3


def test_geometry_of_conv_output_size():
    assert conv_ops.conv_output_size((28,), (5,), (1,), ((2, 2),), (1,)) == (28,)
    assert conv_ops.conv_output_size((7,), (3,), (2,), ((1, 1),), (1,)) == (4,)


@pytest.mark.parametrize("small_image, folded_image", [(0, 0), (10**9, 0), (0, 10**9)])
@pytest.mark.parametrize("name", ["conv2d_groups", "conv_transpose2d_dcgan", "conv3d"])
def test_every_gemm_layout_matches_pytorch(name, small_image, folded_image, monkeypatch):
    # Per-sample batched GEMMs (large images), one GEMM over batch x pixels by transposing the
    # columns (small ones), and the folded columns (NumPy's small images): all chosen by shape.
    monkeypatch.setattr(conv_ops, "SMALL_IMAGE", small_image)
    monkeypatch.setattr(conv_ops, "FOLDED_IMAGE", folded_image)
    _, module, x, out = run_case(name)
    np.testing.assert_allclose(out.detach().numpy(), REF[f"{name}/out"], atol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), REF[f"{name}/grad_x"], atol=1e-10)
    for key, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"{name}/grad/{key}"], atol=1e-10)


@pytest.mark.parametrize("folded_image", [0, 10**9])
def test_large_image_layout_second_order(folded_image, monkeypatch):
    monkeypatch.setattr(conv_ops, "SMALL_IMAGE", 0)
    monkeypatch.setattr(conv_ops, "FOLDED_IMAGE", folded_image)
    x, w = t64(1, 2, 4, 4, seed=1), t64(2, 1, 3, 3, seed=2)
    check_both_orders(lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=2), (x, w))
    check_both_orders(lambda x, w: F.conv_transpose2d(x, w, stride=2, groups=2), (x, w))


# (in_size, kernel, padding as (lo, hi), dilation, groups, channels in / out), stride 1.
FLAT_SHIFT_GEOMETRIES = [
    ((7,), (3,), ((1, 1),), (1,), 1, (2, 3)),
    ((6, 5), (3, 2), ((1, 0), (0, 1)), (1, 2), 1, (2, 2)),
    ((14, 14), (5, 5), ((0, 0), (0, 0)), (1, 1), 1, (6, 4)),  # LeNet's conv2, smaller
    ((8, 8), (3, 3), ((1, 1), (1, 1)), (1, 1), 2, (4, 4)),  # ResNet's, grouped
    ((4, 3, 5), (2, 2, 3), ((1, 0), (0, 0), (2, 1)), (1, 1, 1), 1, (2, 3)),
    ((9, 9), (3, 3), ((0, 2), (1, 0)), (2, 1), 1, (3, 2)),  # asymmetric padding
    ((8,), (3,), ((0, -1),), (1,), 1, (2, 2)),  # an input past the windows' reach (output_padding)
]


@pytest.mark.parametrize("geometry", FLAT_SHIFT_GEOMETRIES)
@pytest.mark.parametrize("small_image, folded_image", [(0, 0), (10**9, 0), (0, 10**9)])
def test_flat_shift_col2im_equals_the_column_path(geometry, small_image, folded_image, monkeypatch):
    # conv's input gradient (a transposed conv) through FlatShifts' contiguous slice-adds
    # equals the exact-size columns and backend.col2im, for every GEMM layout.
    monkeypatch.setattr(conv_ops, "SMALL_IMAGE", small_image)
    monkeypatch.setattr(conv_ops, "FOLDED_IMAGE", folded_image)
    in_size, kernel, padding, dilation, groups, (c_in, c_out) = geometry
    d = len(in_size)
    out_size = conv_ops.conv_output_size(in_size, kernel, (1,) * d, padding, dilation)
    geom = conv_ops.ConvGeometry(
        in_size, out_size, kernel, (1,) * d, tuple(p[0] for p in padding), dilation, groups
    )
    rng = np.random.default_rng(0)
    g = rng.standard_normal((3, c_out) + out_size)
    w = rng.standard_normal((c_out, c_in // groups) + kernel)
    from backends import cpu

    flat = conv_ops._conv_transpose(cpu, g, w, geom, flat=True)
    columns = conv_ops._conv_transpose(cpu, g, w, geom, flat=False)
    assert flat.shape == columns.shape == (3, c_in) + in_size
    np.testing.assert_allclose(flat, columns, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("folded_image", [0, 10**9])
@pytest.mark.parametrize("max_waste", [0.0, math.inf])
def test_conv_gradients_with_and_without_flat_shifts(max_waste, folded_image, monkeypatch):
    # The strategies are chosen by shape; every choice gives the same, proven gradients.
    monkeypatch.setattr(conv_ops, "FLAT_SHIFTS_MAX_WASTE", max_waste)
    monkeypatch.setattr(conv_ops, "FOLDED_IMAGE", folded_image)
    geom_probe = conv_ops.ConvGeometry((4, 4), (4, 4), (3, 3), (1, 1), (1, 1), (1, 1), 1)
    from backends import cpu

    assert conv_ops.use_flat_shifts(cpu, geom_probe) == (max_waste > 1)
    x, w, b = t64(2, 2, 4, 4, seed=1), t64(3, 2, 3, 3, seed=2), t64(3, seed=3)
    check_both_orders(lambda x, w, b: F.conv2d(x, w, b, padding=1, dilation=(1, 2)), (x, w, b))
    x, w = t64(1, 2, 3, 3, seed=4), t64(2, 3, 2, 2, seed=5)
    check_both_orders(lambda x, w: F.conv_transpose2d(x, w, padding=1), (x, w))
    for name in ("conv2d_groups", "conv3d"):
        _, module, x, out = run_case(name)
        np.testing.assert_allclose(x.grad.numpy(), REF[f"{name}/grad_x"], atol=1e-10)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_numpy_batch_inner_columns_are_the_standard_ones_moved(dims):
    # im2col / col2im with batch_inner=True: the same numbers, laid out (C, *kernel, N, *out).
    from backends import cpu

    rng = np.random.default_rng(dims)
    in_size, kernel, stride, padding, dilation = [(5, 4, 3)[:dims], (3, 2, 2)[:dims],
        (2, 1, 1)[:dims], (1, 0, 1)[:dims], (1, 2, 1)[:dims]]  # fmt: skip
    out_size = conv_ops.conv_output_size(
        in_size, kernel, stride, tuple((p, p) for p in padding), dilation
    )
    x = rng.standard_normal((2, 3) + in_size)
    col = cpu.im2col(x, kernel, stride, padding, dilation, out_size)
    inner = cpu.im2col(x, kernel, stride, padding, dilation, out_size, batch_inner=True)
    np.testing.assert_array_equal(inner, np.moveaxis(col, 0, 1 + dims))
    c = rng.standard_normal(col.shape)
    back = cpu.col2im(c, in_size, stride, padding, dilation)
    back_inner = cpu.col2im(
        np.moveaxis(c, 0, 1 + dims).copy(), in_size, stride, padding, dilation, batch_inner=True
    )
    np.testing.assert_allclose(back_inner, back, rtol=1e-14, atol=1e-14)


# --------------------------------------------------- kernel offsets: GEMMs without im2col
# (in_size, kernel, padding as (lo, hi), dilation, groups, channels large / small), stride 1.
KERNEL_OFFSET_GEOMETRIES = FLAT_SHIFT_GEOMETRIES + [
    ((5, 7), (3, 3), ((1, 1), (1, 1)), (1, 1), 3, (6, 9)),  # ResNet's, non-square, 3 groups
    ((6, 6), (2, 3), ((2, 2), (0, 3)), (2, 1), 1, (3, 2)),  # padding past the kernel's reach
    ((3, 4, 4), (3, 1, 2), ((1, 1), (0, 0), (1, 0)), (1, 1, 2), 2, (4, 2)),
]


def _geometry(in_size, kernel, padding, dilation, groups):
    d = len(in_size)
    out_size = conv_ops.conv_output_size(in_size, kernel, (1,) * d, padding, dilation)
    return conv_ops.ConvGeometry(
        in_size, out_size, kernel, (1,) * d, tuple(p[0] for p in padding), dilation, groups
    )


@pytest.mark.parametrize("geometry", KERNEL_OFFSET_GEOMETRIES)
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("chunk_bytes", [4 << 20, 700])
def test_kernel_offsets_equal_the_column_path(geometry, batch, chunk_bytes, monkeypatch):
    # conv, transposed conv and weight gradient by a loop of GEMMs over kernel offsets equal
    # im2col / col2im's, in float64; a tiny chunk budget splits the columns into many chunks.
    from backends import cpu

    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_CHUNK_BYTES", chunk_bytes)
    in_size, kernel, padding, dilation, groups, (c_in, c_out) = geometry
    geom = _geometry(in_size, kernel, padding, dilation, groups)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, c_in) + in_size)
    g = rng.standard_normal((batch, c_out) + geom.out_size)
    w = rng.standard_normal((c_out, c_in // groups) + kernel)
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MIN_CHANNELS", 10**9)
    assert not conv_ops.use_kernel_offsets(cpu, geom, c_in // groups)
    y_ref, col_ref = conv_ops._conv(cpu, x, w, geom)
    x_ref = conv_ops._conv_transpose(cpu, g, w, geom)
    w_ref = conv_ops._weight_grad(cpu, x, g, geom, w.shape, col_ref)

    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MIN_CHANNELS", 0)
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MAX_WASTED_CHANNELS", math.inf)
    assert conv_ops.use_kernel_offsets(cpu, geom, c_in // groups)
    y, col = conv_ops._conv(cpu, x, w, geom)
    assert col.size < col_ref.size or math.prod(kernel) == 1  # the padded image, no columns
    assert y.shape == y_ref.shape and y.flags.c_contiguous
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv_ops._conv(cpu, x, w, geom, conv_ops._columns(cpu, x, geom))[0],
                               y_ref, rtol=1e-12, atol=1e-12)  # fmt: skip
    x_new = conv_ops._conv_transpose(cpu, g, w, geom)
    assert x_new.shape == x_ref.shape and x_new.flags.c_contiguous
    np.testing.assert_allclose(x_new, x_ref, rtol=1e-12, atol=1e-12)
    for saved in (col, None):
        w_new = conv_ops._weight_grad(cpu, x, g, geom, w.shape, saved)
        np.testing.assert_allclose(w_new, w_ref, rtol=1e-12, atol=1e-12)


def test_kernel_offsets_rule_picks_many_channels_and_little_waste():
    from backends import cpu

    resnet = _geometry((32, 32), (3, 3), ((1, 1), (1, 1)), (1, 1), 1)
    assert conv_ops.use_kernel_offsets(cpu, resnet, 32)
    assert not conv_ops.use_kernel_offsets(cpu, resnet, 8)  # few channels: the adds dominate
    small = _geometry((8, 8), (3, 3), ((1, 1), (1, 1)), (1, 1), 1)  # 8x8 outputs in 10x10 blocks
    assert not conv_ops.use_kernel_offsets(cpu, small, 128)  # many channels: the waste dominates
    lenet2 = _geometry((14, 14), (5, 5), ((0, 0), (0, 0)), (1, 1), 1)
    assert conv_ops.use_kernel_offsets(cpu, lenet2, 16) and not conv_ops.use_kernel_offsets(
        cpu, lenet2, 6
    )  # its input gradient (16 contracted channels) but not its forward (6)
    dcgan = _geometry((6, 6), (4, 4), ((0, 0), (0, 0)), (1, 1), 1)  # 3x3 outputs in 6x6 blocks
    assert not conv_ops.use_kernel_offsets(cpu, dcgan, 256)
    strided = resnet._replace(stride=(2, 2), out_size=(16, 16))
    assert not conv_ops.use_kernel_offsets(cpu, strided, 32)
    from backends.cupy_backend import CuPyBackend

    assert cpu.kernel_offsets and not CuPyBackend.kernel_offsets  # CuPy keeps its own kernels


@pytest.fixture
def kernel_offsets_everywhere(monkeypatch):
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MIN_CHANNELS", 0)
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MAX_WASTED_CHANNELS", math.inf)
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_CHUNK_BYTES", 700)


def test_kernel_offsets_gradients_to_second_order(kernel_offsets_everywhere):
    x, w, b = t64(2, 2, 4, 5, seed=1), t64(4, 1, 3, 2, seed=2), t64(4, seed=3)
    check_both_orders(
        lambda x, w, b: F.conv2d(x, w, b, padding=(1, 2), dilation=(1, 2), groups=2), (x, w, b)
    )
    x, w = t64(1, 2, 3, 3, seed=4), t64(2, 3, 2, 2, seed=5)
    check_both_orders(lambda x, w: F.conv_transpose2d(x, w, padding=1), (x, w))
    x, w = t64(2, 2, 5, seed=6), t64(3, 2, 3, seed=7)
    check_both_orders(lambda x, w: F.conv1d(x, w, padding=1), (x, w))
    x, w = t64(1, 2, 3, 2, 3, seed=8), t64(2, 2, 2, 1, 2, seed=9)
    check_both_orders(lambda x, w: F.conv3d(x, w, padding=(1, 0, 1)), (x, w))


@pytest.mark.parametrize("name", CONV_CASES)
def test_kernel_offsets_match_pytorch(name, kernel_offsets_everywhere):
    _, module, x, out = run_case(name)
    np.testing.assert_allclose(out.detach().numpy(), REF[f"{name}/out"], atol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), REF[f"{name}/grad_x"], atol=1e-10)
    for key, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"{name}/grad/{key}"], atol=1e-10)


def test_kernel_offsets_chunks_that_would_overlap_run_one_gemm_per_offset(monkeypatch):
    # A big kernel with many output channels leaves few columns per chunk of the stacked GEMM,
    # which then recomputes the kernel's reach past every chunk: one GEMM per offset instead.
    from backends import cpu

    calls = []
    original = conv_ops.KernelOffsets._gemm_per_offset

    def spy(self, *args):
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(conv_ops.KernelOffsets, "_gemm_per_offset", spy)
    geom = _geometry((12, 12), (7, 7), ((3, 3), (3, 3)), (1, 1), 1)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 16, 12, 12)), rng.standard_normal((512, 16, 7, 7))
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MIN_CHANNELS", 10**9)
    y_ref = conv_ops._conv(cpu, x, w, geom)[0]
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MIN_CHANNELS", 0)
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MAX_WASTED_CHANNELS", math.inf)
    layout = conv_ops.KernelOffsets(geom)
    chunk = conv_ops.KERNEL_OFFSETS_CHUNK_BYTES // (49 * 512 * 8)
    assert 4 * (max(layout.shifts) - min(layout.shifts)) > chunk
    np.testing.assert_allclose(conv_ops._conv(cpu, x, w, geom)[0], y_ref, rtol=1e-12, atol=1e-12)
    assert calls


def test_kernel_offsets_leave_half_precision_on_the_columns():
    from backends import cpu

    resnet = _geometry((32, 32), (3, 3), ((1, 1), (1, 1)), (1, 1), 1)
    assert conv_ops.use_kernel_offsets(cpu, resnet, 32, np.float32)
    assert conv_ops.use_kernel_offsets(cpu, resnet, 32, np.float64)
    assert not conv_ops.use_kernel_offsets(cpu, resnet, 32, np.float16)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("strategy", ["kernel offsets", "flat shifts"])
def test_shifted_layouts_give_the_column_paths_values_for_non_finite_operands(
    bad, strategy, monkeypatch
):
    # The shifted layouts multiply the zeros between pixels by the other operand: with an inf
    # or NaN there, 0 x inf would be NaN where the column path (and PyTorch) has no product.
    from backends import cpu

    geom = _geometry((6, 7), (3, 3), ((1, 1), (1, 1)), (1, 1), 1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4) + geom.in_size)
    g = rng.standard_normal((2, 5) + geom.out_size)
    w = rng.standard_normal((5, 4, 3, 3))
    x[1, 2, 0, 6] = bad  # an edge pixel, read by the padded rows' wasted columns
    w[3, 1, 2, 0] = bad
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MIN_CHANNELS", 10**9)
    monkeypatch.setattr(type(cpu), "flat_shifts", False)
    w_ref = conv_ops._weight_grad(cpu, x, g, geom, w.shape, None)
    x_ref = conv_ops._conv_transpose(cpu, g, w, geom)
    if strategy == "kernel offsets":
        monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MIN_CHANNELS", 0)
        monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MAX_WASTED_CHANNELS", math.inf)
        assert conv_ops.use_kernel_offsets(cpu, geom, 4)
    else:
        monkeypatch.setattr(type(cpu), "flat_shifts", True)
        assert conv_ops.use_flat_shifts(cpu, geom)
    col = conv_ops._columns(cpu, x, geom)
    np.testing.assert_array_equal(conv_ops._weight_grad(cpu, x, g, geom, w.shape, col), w_ref)
    np.testing.assert_array_equal(conv_ops._conv_transpose(cpu, g, w, geom), x_ref)
    assert np.isfinite(w_ref).sum() > 0 and np.isfinite(x_ref).sum() > 0


@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv3d", "conv_transpose2d"])
@pytest.mark.parametrize("channels", [3, 32])  # columns, and kernel offsets on NumPy
def test_an_empty_batch_gives_empty_outputs_and_zero_weight_gradients(op, channels):
    # As PyTorch: (0, out, *spatial) outputs, a (0, in, *spatial) input gradient, and zero
    # weight and bias gradients, to the second order.
    d = 3 if op == "conv3d" else 1 if op == "conv1d" else 2
    x = A.zeros((0, channels) + (6,) * d, requires_grad=True)
    layout = (channels, 4) if op.startswith("conv_transpose") else (4, channels)
    w = A.ones(layout + (3,) * d, requires_grad=True)
    b = A.ones(4, requires_grad=True)
    y = getattr(F, op)(x, w, b, padding=1)
    assert y.shape == (0, 4) + (6,) * d
    gx, gw, gb = A.grad(y.sum(), (x, w, b), create_graph=True)
    assert gx.shape == x.shape and gw.shape == w.shape
    assert not gw.detach().numpy().any() and not gb.detach().numpy().any()
    gw.sum().backward()
    assert w.grad is None or not w.grad.numpy().any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [(3, 7), (7, 3), (4, 4)])
def test_times_transposed_is_a_times_b_transposed_in_either_gemm_order(dtype, rows):
    # The weight gradient's long-inner GEMM runs with the operand of more rows on the left;
    # either order is the same product (bit for bit on this NumPy's OpenBLAS; allclose here).
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, rows[0], 300)).astype(dtype)
    b = rng.standard_normal((2, rows[1], 300)).astype(dtype)
    got = conv_ops._times_transposed(a, b)
    ref = np.einsum("gik,gjk->gij", a.astype(np.float64), b.astype(np.float64))
    assert got.shape == ref.shape and got.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(got, a @ b.swapaxes(-1, -2), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("small_image, folded_image", [(0, 0), (10**9, 0), (0, 10**9)])
def test_weight_grad_of_every_layout_equals_the_reference_sum(
    dtype, small_image, folded_image, monkeypatch
):
    # LeNet's conv2 shapes, smaller: the weight gradient of each GEMM layout against an einsum
    # over the standard columns in float64.
    from backends import cpu

    monkeypatch.setattr(conv_ops, "SMALL_IMAGE", small_image)
    monkeypatch.setattr(conv_ops, "FOLDED_IMAGE", folded_image)
    monkeypatch.setattr(conv_ops, "KERNEL_OFFSETS_MIN_CHANNELS", 10**9)
    geom = _geometry((9, 9), (3, 3), ((1, 1), (1, 1)), (1, 1), 1)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4) + geom.in_size).astype(dtype)
    g = rng.standard_normal((3, 5) + geom.out_size).astype(dtype)
    col = cpu.im2col(x.astype(np.float64), (3, 3), (1, 1), (1, 1), (1, 1), geom.out_size)
    ref = np.einsum("nopq,nckhpq->ockh", g.astype(np.float64), col)
    got = conv_ops._weight_grad(cpu, x, g, geom, ref.shape, None)
    assert got.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
