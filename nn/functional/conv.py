"""Convolutions: conv1d/2d/3d, conv_transpose1d/2d/3d, unfold/fold, with PyTorch's signatures.

The arithmetic is in ``autograd/ops/conv.py`` (one N-d implementation); this module turns
PyTorch's arguments into a ``ConvGeometry`` and checks them, with PyTorch's messages.
"""

from __future__ import annotations

import math
from typing import Any

from autograd import Tensor
from autograd.ops.conv import Conv, ConvGeometry, ConvTranspose, Fold, Unfold, conv_output_size

from ._utils import _check_tensor


def _ntuple(value: Any, n: int, op: str, name: str) -> tuple:
    """``3`` -> ``(3, 3)``; a tuple/list must have ``n`` ints."""
    if isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if isinstance(value, int):
        return (value,) * n
    try:
        values = tuple(value)
    except TypeError:
        raise TypeError(
            f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}"
        ) from None
    if len(values) == 1:
        values = values * n
    if len(values) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{op}: expected {name} to be a single int or {n} ints, got {value!r}")
    return values


def _batched(input: Tensor, d: int, op: str) -> tuple:
    """(input with a batch dim, whether one was added): (C, *spatial) is one unbatched sample."""
    _check_tensor(input, op, "input")
    if input.ndim == d + 1:
        return input.unsqueeze(0), True
    if input.ndim != d + 2:
        raise RuntimeError(
            f"{op}: Expected {d + 1}D (unbatched) or {d + 2}D (batched) input to {op}, but got "
            f"input of size: {list(input.shape)}"
        )
    return input, False


def _check_params(
    op: str, input: Tensor, weight: Tensor, bias: Tensor | None, d: int, bias_size: int
) -> None:
    _check_tensor(weight, op, "weight")
    if weight.ndim != d + 2:
        raise RuntimeError(
            f"{op}: expected weight to be {d + 2}-dimensional (out, in / groups, *kernel), got "
            f"weight of size {list(weight.shape)}"
        )
    if bias is not None:
        _check_tensor(bias, op, "bias")
        if bias.shape != (bias_size,):
            raise RuntimeError(
                f"{op}: Given weight of size {list(weight.shape)}, expected bias to be "
                f"1-dimensional with {bias_size} elements, but got bias of size "
                f"{list(bias.shape)} instead"
            )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        if t.dtype != input.dtype:
            raise RuntimeError(
                f"{op}: Input type ({input.dtype}) and {name} type ({t.dtype}) should be the "
                f"same; cast one with .to(dtype)"
            )
        if t.device != input.device:
            raise RuntimeError(
                f"{op}: Input ({input.device}) and {name} ({t.device}) should be on the same "
                "device; move one with .to(device)"
            )


def _check_steps(op: str, stride: tuple, dilation: tuple, groups: int) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got stride={stride}")
    if any(v <= 0 for v in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, got dilation={dilation}")
    if not isinstance(groups, int) or groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")


def _padding_pairs(
    padding: Any, d: int, kernel: tuple, stride: tuple, dilation: tuple, op: str
) -> tuple:
    """PyTorch's padding (int, tuple, 'valid', 'same') as (lo, hi) pairs per spatial dim."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    f"{op}: padding='same' is not supported for strided convolutions "
                    f"(stride={stride})"
                )
            # The total d (k - 1) split with the extra one at the end, as PyTorch.
            totals = [dl * (k - 1) for k, dl in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(
            f"{op}: Invalid padding string {padding!r}, should be one of ('valid', 'same')"
        )
    pads = _ntuple(padding, d, op, "padding")
    if any(p < 0 for p in pads):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={pads}")
    return tuple((p, p) for p in pads)


def _convnd(
    op: str,
    d: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Tensor:
    x, unbatched = _batched(input, d, op)
    _check_params(op, x, weight, bias, d, weight.shape[0] if weight.ndim else 0)
    stride = _ntuple(stride, d, op, "stride")
    dilation = _ntuple(dilation, d, op, "dilation")
    _check_steps(op, stride, dilation, groups)
    kernel = tuple(weight.shape[2:])
    pairs = _padding_pairs(padding, d, kernel, stride, dilation, op)
    out_channels, in_per_group = weight.shape[:2]
    if out_channels % groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of size {list(weight.shape)} instead"
        )
    if x.shape[1] != in_per_group * groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {in_per_group * groups} channels, but got "
            f"{x.shape[1]} channels instead"
        )
    in_size = tuple(x.shape[2:])
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(in_size, pairs))
    reach = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    if any(p < r for p, r in zip(padded, reach)):
        raise RuntimeError(
            f"{op}: Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, reach))}). Kernel size can't be greater than "
            f"actual input size (input {list(x.shape)}, weight {list(weight.shape)}, "
            f"padding {padding}, dilation {dilation})"
        )
    out_size = conv_output_size(in_size, kernel, stride, pairs, dilation)
    geom = ConvGeometry(
        in_size, out_size, kernel, stride, tuple(lo for lo, _ in pairs), dilation, groups
    )
    y = Conv.apply(x, weight, bias, geom)
    return y.squeeze(0) if unbatched else y


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation, as PyTorch).

    Shape: input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, k), bias (C_out,)
    -> (N, C_out, L_out), L_out = floor((L + 2 padding - dilation (k - 1) - 1) / stride) + 1.
    """
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch). ``padding`` is an int, a pair, 'valid'
    or 'same' (stride 1 only); ``groups`` splits channels (groups = C_in is depthwise).

    Shape: input (N, C_in, H, W) or (C_in, H, W), weight (C_out, C_in / groups, kH, kW),
    bias (C_out,) -> (N, C_out, H_out, W_out), each floor((n + 2p - d (k - 1) - 1) / s) + 1.
    """
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D convolution. Shape: input (N, C_in, D, H, W) or unbatched, weight
    (C_out, C_in / groups, kD, kH, kW), bias (C_out,) -> (N, C_out, D_out, H_out, W_out).
    """
    return _convnd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose_output_size(
    in_size: tuple,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    output_padding: tuple,
    dilation: tuple,
) -> tuple:
    """(n - 1) s - 2 p + d (k - 1) + output_padding + 1 per spatial dim (PyTorch's formula)."""
    return tuple(
        (n - 1) * s - 2 * p + dl * (k - 1) + op + 1
        for n, k, s, p, op, dl in zip(in_size, kernel, stride, padding, output_padding, dilation)
    )


def _conv_transpose_nd(
    op: str,
    d: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
) -> Tensor:
    x, unbatched = _batched(input, d, op)
    _check_tensor(weight, op, "weight")
    out_channels = weight.shape[1] * groups if weight.ndim > 1 else 0
    _check_params(op, x, weight, bias, d, out_channels)
    stride = _ntuple(stride, d, op, "stride")
    dilation = _ntuple(dilation, d, op, "dilation")
    _check_steps(op, stride, dilation, groups)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    padding = _ntuple(padding, d, op, "padding")
    output_padding = _ntuple(output_padding, d, op, "output_padding")
    if any(p < 0 for p in padding) or any(p < 0 for p in output_padding):
        raise RuntimeError(
            f"{op}: negative padding is not supported, got padding={padding}, "
            f"output_padding={output_padding}"
        )
    for op_, s, dl in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= dl:
            raise RuntimeError(
                f"{op}: output padding must be smaller than either stride or dilation, but got "
                f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
            )
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of size {list(weight.shape)} instead"
        )
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"{op}: Given transposed=1, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {weight.shape[0]} channels, but got {x.shape[1]} "
            "channels instead"
        )
    kernel = tuple(weight.shape[2:])
    small = tuple(x.shape[2:])
    large = conv_transpose_output_size(small, kernel, stride, padding, output_padding, dilation)
    if any(n <= 0 for n in large):
        raise RuntimeError(
            f"{op}: Given input size per channel: {list(small)}, the calculated output size "
            f"{list(large)} is too small (kernel {list(kernel)}, stride {stride}, padding "
            f"{padding}, dilation {dilation})"
        )
    geom = ConvGeometry(large, small, kernel, stride, padding, dilation, groups)
    y = ConvTranspose.apply(x, weight, bias, geom)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """1-D transposed convolution (the gradient of conv1d with respect to its input).

    Shape: input (N, C_in, L), weight (C_in, C_out / groups, k), bias (C_out,) -> (N, C_out,
    L_out), L_out = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
    """
    return _conv_transpose_nd(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """2-D transposed convolution ("deconvolution"; the gradient of conv2d in its input).

    Shape: input (N, C_in, H, W), weight (C_in, C_out / groups, kH, kW), bias (C_out,)
    -> (N, C_out, H_out, W_out), each (n - 1) s - 2 p + d (k - 1) + output_padding + 1.
    """
    return _conv_transpose_nd(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """3-D transposed convolution. Shape: input (N, C_in, D, H, W), weight
    (C_in, C_out / groups, kD, kH, kW), bias (C_out,) -> (N, C_out, D_out, H_out, W_out).
    """
    return _conv_transpose_nd(
        "conv_transpose3d",
        3,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """im2col: every sliding block of a 4-D input as a column.

    Shape: (N, C, H, W) -> (N, C * kH * kW, L), L the number of block positions.
    """
    _check_tensor(input, "unfold", "input")
    if input.ndim != 4:
        raise NotImplementedError(
            f"unfold: Input Error: Only 4D input Tensors are supported (got {input.ndim}D "
            f"input of shape {input.shape})"
        )
    kernel = _ntuple(kernel_size, 2, "unfold", "kernel_size")
    dilation = _ntuple(dilation, 2, "unfold", "dilation")
    padding = _ntuple(padding, 2, "unfold", "padding")
    stride = _ntuple(stride, 2, "unfold", "stride")
    _check_steps("unfold", stride, dilation, 1)
    in_size = tuple(input.shape[2:])
    out_size = conv_output_size(in_size, kernel, stride, tuple((p, p) for p in padding), dilation)
    if any(o <= 0 for o in out_size):
        raise RuntimeError(
            f"unfold: Given input with spatial size {list(in_size)}, kernel_size={kernel}, "
            f"dilation={dilation}, padding={padding}, calculated shape of the array of sliding "
            f"blocks as {list(out_size)}, but its components must be at least one."
        )
    geom = ConvGeometry(in_size, out_size, kernel, stride, padding, dilation)
    col = Unfold.apply(input, geom)
    n, c = input.shape[:2]
    return col.reshape(n, c * math.prod(kernel), math.prod(out_size))


def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """col2im, the adjoint of ``unfold``: columns summed back into an image (overlaps add).

    Shape: (N, C * kH * kW, L) -> (N, C, *output_size).
    """
    _check_tensor(input, "fold", "input")
    if input.ndim != 3:
        raise NotImplementedError(
            f"fold: Input Error: Only 3D input Tensors are supported (got {input.ndim}D input "
            f"of shape {input.shape})"
        )
    in_size = _ntuple(output_size, 2, "fold", "output_size")
    kernel = _ntuple(kernel_size, 2, "fold", "kernel_size")
    dilation = _ntuple(dilation, 2, "fold", "dilation")
    padding = _ntuple(padding, 2, "fold", "padding")
    stride = _ntuple(stride, 2, "fold", "stride")
    _check_steps("fold", stride, dilation, 1)
    out_size = conv_output_size(in_size, kernel, stride, tuple((p, p) for p in padding), dilation)
    n, ck, length = input.shape
    k = math.prod(kernel)
    if ck % k:
        raise RuntimeError(
            f"fold: Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={ck} and kernel_size={kernel}"
        )
    if any(o <= 0 for o in out_size) or length != math.prod(out_size):
        raise RuntimeError(
            f"fold: Given output_size={in_size}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={padding}, stride={stride}, expected size of input's dimension 2 to match "
            f"the calculated number of sliding blocks {' * '.join(map(str, out_size))} = "
            f"{math.prod(out_size)}, but got input.size(2)={length}."
        )
    geom = ConvGeometry(in_size, out_size, kernel, stride, padding, dilation)
    col = input.reshape((n, ck // k) + kernel + out_size)
    return Fold.apply(col, geom)
