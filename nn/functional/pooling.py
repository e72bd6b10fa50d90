"""Pooling: max/avg (1-3 d), adaptive avg/max, lp, max_unpool, with PyTorch's signatures.

The arithmetic is in ``autograd/ops/pool.py``; this module parses and checks the arguments.
"""

from __future__ import annotations

from typing import Any

from autograd import Tensor
from autograd.ops import pool as P
from autograd.ops.conv import ConvGeometry

from ._utils import _check_tensor
from .conv import _batched, _ntuple


def pool_output_size(
    in_size: tuple,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    dilation: tuple,
    ceil_mode: bool,
) -> tuple:
    """PyTorch's pooling size: floor (or ceil) of (n + 2p - d (k - 1) - 1) / s, plus 1; with
    ceil_mode the last window must start inside the input or its left padding."""
    sizes = []
    for n, k, s, p, d in zip(in_size, kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        out = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= n + p:
            out -= 1
        sizes.append(out)
    return tuple(sizes)


def _pool_geometry(
    op: str,
    x: Tensor,
    d: int,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
) -> ConvGeometry:
    kernel = _ntuple(kernel_size, d, op, "kernel_size")
    stride = kernel if stride is None or stride == () or stride == [] else stride
    stride = _ntuple(stride, d, op, "stride")
    padding = _ntuple(padding, d, op, "padding")
    dilation = _ntuple(dilation, d, op, "dilation")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, but got {kernel}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: stride must be greater than zero, but got {stride}")
    if any(v <= 0 for v in dilation):
        raise RuntimeError(f"{op}: dilation must be greater than zero, but got {dilation}")
    for p, k, dl in zip(padding, kernel, dilation):
        if p < 0 or p > ((k - 1) * dl + 1) // 2:
            raise RuntimeError(
                f"{op}: pad should be at most half of effective kernel size, but got "
                f"pad={padding}, kernel_size={kernel} and dilation={dilation}"
            )
    in_size = tuple(x.shape[2:])
    out_size = pool_output_size(in_size, kernel, stride, padding, dilation, ceil_mode)
    if any(o <= 0 for o in out_size):
        raise RuntimeError(
            f"{op}: Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated output "
            f"size: ({'x'.join(map(str, (x.shape[1],) + out_size))}). Output size is too small "
            f"(kernel_size={kernel}, stride={stride}, padding={padding}, dilation={dilation})"
        )
    return ConvGeometry(in_size, out_size, kernel, stride, padding, dilation)


def _max_pool(
    op: str,
    d: int,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    x, unbatched = _batched(input, d, op)
    if not x.dtype.kind == "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {x.dtype}")
    geom = _pool_geometry(op, x, d, kernel_size, stride, padding, dilation, ceil_mode)
    result = P.max_pool(x, geom, return_indices)
    if not unbatched:
        return result
    if return_indices:
        return result[0].squeeze(0), result[1].squeeze(0)
    return result.squeeze(0)


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The max of each window. Shape: (N, C, L) -> (N, C, L_out),
    L_out = floor((L + 2 padding - dilation (k - 1) - 1) / stride) + 1 (ceil with ceil_mode)."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The max of each window (stride defaults to kernel_size); ``return_indices`` also gives
    each max's flat position in its input plane, for ``max_unpool2d``.

    Shape: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out).
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The max of each 3-D window. Shape: (N, C, D, H, W) -> (N, C, D_out, H_out, W_out)."""
    return _max_pool(
        "max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(
    op: str,
    d: int,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Any,
) -> Tensor:
    x, unbatched = _batched(input, d, op)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    kernel = _ntuple(kernel_size, d, op, "kernel_size")
    pads = _ntuple(padding, d, op, "padding")
    for p, k in zip(pads, kernel):
        if p < 0 or p > k // 2:
            raise RuntimeError(
                f"{op}: pad should be at most half of kernel size, but got pad={pads} and "
                f"kernel_size={kernel}"
            )
    geom = _pool_geometry(op, x, d, kernel, stride, pads, 1, ceil_mode)
    y = P.avg_pool(x, geom, count_include_pad, divisor_override)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """The mean of each window. Shape: (N, C, L) -> (N, C, L_out)."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Any = None,
) -> Tensor:
    """The mean of each window; zero padding counts unless ``count_include_pad=False``;
    ``divisor_override`` replaces the count. Shape: (N, C, H, W) -> (N, C, H_out, W_out)."""
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Any = None,
) -> Tensor:
    """The mean of each 3-D window. Shape: (N, C, D, H, W) -> (N, C, D_out, H_out, W_out)."""
    return _avg_pool(
        "avg_pool3d",
        3,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _adaptive_size(op: str, x: Tensor, d: int, output_size: Any) -> tuple:
    if isinstance(output_size, int):
        output_size = (output_size,) * d
    sizes = tuple(output_size)
    if len(sizes) == 1:
        sizes = sizes * d
    if len(sizes) != d:
        raise ValueError(f"{op}: output_size must be an int or {d} values, got {output_size!r}")
    sizes = tuple(n if s is None else s for s, n in zip(sizes, x.shape[2:]))
    if any(s <= 0 for s in sizes):
        raise RuntimeError(f"{op}: output_size must be positive, got {sizes}")
    if any(n == 0 for n in x.shape[2:]):
        raise RuntimeError(f"{op}: input {x.shape} has an empty spatial dimension")
    return sizes


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Mean over L_out bins that tile the input. Shape: (N, C, L) -> (N, C, L_out)."""
    x, unbatched = _batched(input, 1, "adaptive_avg_pool1d")
    y = P.adaptive_avg_pool(x, _adaptive_size("adaptive_avg_pool1d", x, 1, output_size))
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Mean over bins [floor(i H / H_out), ceil((i + 1) H / H_out)) per dim (``None`` keeps a
    size). Shape: (N, C, H, W) -> (N, C, H_out, W_out)."""
    x, unbatched = _batched(input, 2, "adaptive_avg_pool2d")
    y = P.adaptive_avg_pool(x, _adaptive_size("adaptive_avg_pool2d", x, 2, output_size))
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Shape: (N, C, D, H, W) -> (N, C, D_out, H_out, W_out)."""
    x, unbatched = _batched(input, 3, "adaptive_avg_pool3d")
    y = P.adaptive_avg_pool(x, _adaptive_size("adaptive_avg_pool3d", x, 3, output_size))
    return y.squeeze(0) if unbatched else y


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max over the adaptive bins. Shape: (N, C, H, W) -> (N, C, H_out, W_out)."""
    x, unbatched = _batched(input, 2, "adaptive_max_pool2d")
    result = P.adaptive_max_pool(
        x, _adaptive_size("adaptive_max_pool2d", x, 2, output_size), return_indices
    )
    if not unbatched:
        return result
    if return_indices:
        return result[0].squeeze(0), result[1].squeeze(0)
    return result.squeeze(0)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max over the adaptive bins. Shape: (N, C, L) -> (N, C, L_out)."""
    x, unbatched = _batched(input, 1, "adaptive_max_pool1d")
    result = P.adaptive_max_pool(
        x, _adaptive_size("adaptive_max_pool1d", x, 1, output_size), return_indices
    )
    if not unbatched:
        return result
    if return_indices:
        return result[0].squeeze(0), result[1].squeeze(0)
    return result.squeeze(0)


def lp_pool2d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """(sum of x^p over each window)^(1/p), computed as PyTorch does (through avg_pool2d).

    Shape: (N, C, H, W) -> (N, C, H_out, W_out).
    """
    kh, kw = _ntuple(kernel_size, 2, "lp_pool2d", "kernel_size")
    out = avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kh * kw).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor, norm_type: float, kernel_size: int, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """(sum of x^p over each window)^(1/p). Shape: (N, C, L) -> (N, C, L_out)."""
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kernel_size).pow(1.0 / norm_type)


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of max_pool2d: each value put back at its index, zeros elsewhere.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = (H - 1) stride - 2 padding + kH
    unless ``output_size`` says otherwise.
    """
    op = "max_unpool2d"
    x, unbatched = _batched(input, 2, op)
    _check_tensor(indices, op, "indices")
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: indices must be an int64 tensor, got {indices.dtype}")
    idx = indices.unsqueeze(0) if unbatched else indices
    if idx.shape != x.shape:
        raise RuntimeError(
            f"{op}: Expected shape of indices to be same as that of the input tensor "
            f"({x.shape}) but got indices tensor with shape: {idx.shape}"
        )
    kernel = _ntuple(kernel_size, 2, op, "kernel_size")
    stride = _ntuple(kernel if stride is None else stride, 2, op, "stride")
    padding = _ntuple(padding, 2, op, "padding")
    default = tuple(
        (n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[2:], stride, padding, kernel)
    )
    if output_size is None:
        size = default
    else:
        size = tuple(output_size)[-2:]
        for s, dflt, st in zip(size, default, stride):
            if not dflt - st < s < dflt + st:
                raise ValueError(
                    f"{op}: invalid output_size {tuple(output_size)} (expected each size "
                    f"between {tuple(d - s for d, s in zip(default, stride))} and "
                    f"{tuple(d + s for d, s in zip(default, stride))}, exclusive)"
                )
    plane = size[0] * size[1]
    if idx.numel() and (int(idx.data.min()) < 0 or int(idx.data.max()) >= plane):
        raise RuntimeError(
            f"{op}: Found an invalid max index {int(idx.data.max())} (output volumes are of "
            f"size {size[0]}x{size[1]})"
        )
    y = P.max_unpool(x, idx, size)
    return y.squeeze(0) if unbatched else y
