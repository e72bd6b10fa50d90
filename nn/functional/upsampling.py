"""Resampling and rearranging pixels: interpolate, pixel_shuffle / pixel_unshuffle, pad.

The arithmetic is in ``autograd/ops/pool.py`` (nearest is a gather, the linear modes one matrix
per spatial dim) and ``autograd/ops/shape.py`` (pad).
"""

from __future__ import annotations

import math
from typing import Any

from autograd import Tensor
from autograd.ops import pool as P
from autograd.ops.shape import pad as _pad

from ._utils import _check_tensor

# mode -> the input ranks it accepts (PyTorch's table)
_MODES = {
    "nearest": (3, 4, 5),
    "nearest-exact": (3, 4, 5),
    "linear": (3,),
    "bilinear": (4,),
    "bicubic": (4,),
    "trilinear": (5,),
    "area": (3, 4, 5),
}


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of (N, C, *spatial) to ``size`` or by ``scale_factor``.

    Modes: 'nearest', 'nearest-exact' (3-5 D), 'linear' (3-D), 'bilinear', 'bicubic' (4-D),
    'trilinear' (5-D), 'area' (adaptive average). ``align_corners`` (linear modes only) maps
    the corner pixels' centres onto each other. Where we differ: ``antialias`` is not supported.

    Shape: (N, C, *in) -> (N, C, *out), out = size, or floor(in * scale_factor).
    """
    op = "interpolate"
    _check_tensor(input, op, "input")
    if mode not in _MODES:
        raise NotImplementedError(
            f"{op}: unknown mode {mode!r}; expected one of {', '.join(_MODES)}"
        )
    if input.ndim not in _MODES[mode]:
        ranks = " or ".join(f"{r}D" for r in _MODES[mode])
        raise NotImplementedError(
            f"{op}: got {input.ndim}D input of shape {input.shape}, but mode {mode!r} needs "
            f"{ranks} input (N, C, *spatial)"
        )
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    linear = mode in ("linear", "bilinear", "bicubic", "trilinear")
    if align_corners is not None and not linear:
        raise ValueError(
            f"{op}: align_corners option can only be set with the interpolating modes: "
            f"linear | bilinear | bicubic | trilinear (got mode {mode!r})"
        )
    align_corners = bool(align_corners)
    d = input.ndim - 2
    in_size = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    if size is not None:
        out_size = (size,) * d if isinstance(size, int) else tuple(size)
        if len(out_size) != d:
            raise ValueError(
                f"{op}: Input and output must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {list(in_size)} and output size of "
                f"{list(out_size)}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                "format and output size in (o1, o2, ...,oK) format."
            )
        scales = (None,) * d
    else:
        factors = (
            (scale_factor,) * d
            if not isinstance(scale_factor, (tuple, list))
            else tuple(scale_factor)
        )
        if len(factors) != d:
            raise ValueError(
                f"{op}: Input and scale_factor must have the same number of spatial "
                f"dimensions, but got input with spatial dimensions of {list(in_size)} and "
                f"scale_factor of shape {list(factors)}."
            )
        out_size = tuple(math.floor(n * float(f)) for n, f in zip(in_size, factors))
        scales = (None,) * d if recompute_scale_factor else tuple(float(f) for f in factors)
    if any(o <= 0 for o in out_size) or any(n <= 0 for n in in_size):
        raise RuntimeError(
            f"{op}: input and output sizes should be greater than 0, but got input "
            f"{list(in_size)} and output {list(out_size)}"
        )
    if mode in ("nearest", "nearest-exact"):
        return P.interpolate_nearest(input, out_size, scales, exact=mode == "nearest-exact")
    if mode == "area":
        return P.adaptive_avg_pool(input, out_size)
    kind = "cubic" if mode == "bicubic" else "linear"
    return P.interpolate_linear(input, out_size, kind, align_corners, scales)


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """``interpolate`` under its old name (PyTorch keeps it, deprecated)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Bilinear with ``align_corners=True``, as PyTorch's UpsamplingBilinear2d."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Depth to space: (*, C r^2, H, W) -> (*, C, H r, W r), the sub-pixel convolution's
    rearrangement."""
    op = "pixel_shuffle"
    _check_tensor(input, op, "input")
    r = upscale_factor
    if input.ndim < 3:
        raise RuntimeError(
            f"{op}: expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    if r <= 0 or c % (r * r):
        raise RuntimeError(
            f"{op}: expects its input's 'channel' dimension to be divisible by the square of "
            f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    lead = tuple(lead)
    k = len(lead)
    x = input.reshape(lead + (c // (r * r), r, r, h, w))
    order = tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2)
    return x.permute(order).reshape(lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Space to depth: (*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle."""
    op = "pixel_unshuffle"
    _check_tensor(input, op, "input")
    r = downscale_factor
    if input.ndim < 3:
        raise RuntimeError(
            f"{op}: expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    if r <= 0 or h % r or w % r:
        raise RuntimeError(
            f"{op}: expects height {h} and width {w} to be divisible by downscale_factor {r}"
        )
    lead = tuple(lead)
    k = len(lead)
    x = input.reshape(lead + (c, h // r, r, w // r, r))
    order = tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3)
    return x.permute(order).reshape(lead + (c * r * r, h // r, w // r))


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) / 2 dims; ``pad`` is (left, right, top, bottom, ...) starting
    from the last dim. Modes: 'constant' (with ``value``), 'reflect', 'replicate', 'circular'.

    Shape: (*, S_i) -> (*, S_i + pad_left_i + pad_right_i).
    """
    _check_tensor(input, "pad", "input")
    return _pad(input, pad, mode, 0.0 if value is None else value)
