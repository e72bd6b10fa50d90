"""Spatial transformers: ``affine_grid`` and ``grid_sample`` (4-D, PyTorch's conventions).

Sampling is a gather of the input at the four (bilinear) or one (nearest) neighbouring pixels of
each grid point, weighted by differentiable functions of the grid, so gradients reach both the
input (through the gather's scatter-add) and the grid.
"""

from __future__ import annotations

import autograd as A
from autograd import Tensor

from ._utils import _check_tensor


def affine_grid(theta: Tensor, size: list, align_corners: bool = False) -> Tensor:
    """The sampling grid of a batch of 2-D affine maps, in [-1, 1] coordinates.

    Shape: theta (N, 2, 3), size (N, C, H, W) -> (N, H, W, 2) with (x, y) in the last dim.
    """
    _check_tensor(theta, "affine_grid", "theta")
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise NotImplementedError(
            f"affine_grid: only 4-D sizes (N, C, H, W) are supported, got {list(size)}"
        )
    n, _, h, w = size
    if theta.ndim != 3 or tuple(theta.shape) != (n, 2, 3):
        raise ValueError(
            f"affine_grid: Expected a batch of 2D affine matrices of shape Nx2x3 for size "
            f"{list(size)}. Got {list(theta.shape)}."
        )
    xs = _base(w, align_corners, theta)
    ys = _base(h, align_corners, theta)
    ones = A.ones(h, w, dtype=theta.dtype, device=theta.device)
    base = A.stack([xs.unsqueeze(0) * ones, ys.unsqueeze(1) * ones, ones], -1)  # (H, W, 3)
    grid = base.reshape(1, h * w, 3) @ theta.mT  # (N, H*W, 2)
    return grid.reshape(n, h, w, 2)


def _base(steps: int, align_corners: bool, like: Tensor) -> Tensor:
    if steps <= 1:
        return A.zeros(max(steps, 0), dtype=like.dtype, device=like.device)
    grid = A.linspace(-1.0, 1.0, steps, dtype=like.dtype, device=like.device)
    return grid if align_corners else grid * ((steps - 1) / steps)


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _host_op(t: Tensor, name: str) -> Tensor:
    """``xp.<name>`` of ``t``'s values as a constant (pixel indices carry no gradient)."""
    return Tensor._make(getattr(t.xp, name)(t.data), t._backend)


def _reflect(coord: Tensor, low: float, high: float) -> Tensor:
    """Reflect coordinates into [low, high] (twice the span is the period)."""
    if high <= low:
        return coord * 0.0 + low
    span = high - low
    x = (coord - low).abs()
    flips = _host_op(x / span, "floor")
    extra = x - flips * span
    return A.where(flips % 2 == 0, extra + low, span - extra + low)


def _clip(coord: Tensor, size: int) -> Tensor:
    """Clamp pixel coordinates to [0, size - 1]. As PyTorch's grid sampler, a point exactly on
    the border counts as outside: its coordinate gets no gradient there (clamp would pass it)."""
    high = size - 1
    inside = (coord > 0) & (coord < high)
    return A.where(inside, coord, coord.clamp(0, high).detach())


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample ``input`` at the points of ``grid`` (x, y in [-1, 1]).

    ``mode``: 'bilinear' or 'nearest'; ``padding_mode``: 'zeros', 'border' or 'reflection';
    ``align_corners`` as PyTorch (False by default). Shape: input (N, C, H_in, W_in),
    grid (N, H, W, 2) -> (N, C, H, W). Where we differ: 'bicubic' and 5-D inputs are missing.
    """
    op = "grid_sample"
    _check_tensor(input, op, "input")
    _check_tensor(grid, op, "grid")
    if mode not in ("bilinear", "nearest"):
        raise ValueError(
            f"{op}: expected mode to be 'bilinear' or 'nearest', but got: '{mode}'"
            + (" (bicubic is not implemented)" if mode == "bicubic" else "")
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            f"{op}: expected padding_mode to be 'zeros', 'border', or 'reflection', but got: "
            f"'{padding_mode}'"
        )
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2:
        raise RuntimeError(
            f"{op}: expected 4-D input (N, C, H, W) and grid (N, H, W, 2), got input "
            f"{tuple(input.shape)} and grid {tuple(grid.shape)}"
        )
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(
            f"{op}: expected grid and input to have same batch size, but got input with sizes "
            f"{list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if grid.dtype != input.dtype:
        raise RuntimeError(
            f"{op}: expected input and grid to have the same dtype, but input has {input.dtype} "
            f"and grid has {grid.dtype}"
        )
    align = bool(align_corners)
    n, c, h_in, w_in = input.shape
    _, h, w, _ = grid.shape
    x = _unnormalize(grid[..., 0], w_in, align)
    y = _unnormalize(grid[..., 1], h_in, align)
    if padding_mode == "border":
        x = _clip(x, w_in)
        y = _clip(y, h_in)
    elif padding_mode == "reflection":
        if align:
            x = _clip(_reflect(x, 0, w_in - 1), w_in)
            y = _clip(_reflect(y, 0, h_in - 1), h_in)
        else:
            x = _clip(_reflect(x, -0.5, w_in - 0.5), w_in)
            y = _clip(_reflect(y, -0.5, h_in - 0.5), h_in)
    flat = input.reshape(n, c, h_in * w_in)

    def tap(ix: Tensor, iy: Tensor) -> Tensor:
        """input at integer pixels (ix, iy) (float tensors), 0 outside: (N, C, H, W)."""
        inside = (ix >= 0) & (ix <= w_in - 1) & (iy >= 0) & (iy <= h_in - 1)
        index = (iy.clamp(0, h_in - 1) * w_in + ix.clamp(0, w_in - 1)).long()
        index = index.reshape(n, 1, h * w).expand(n, c, h * w)
        values = flat.gather(2, index).reshape(n, c, h, w)
        return A.where(inside.unsqueeze(1), values, 0.0)

    if mode == "nearest":
        # Round half to even, as PyTorch's nearbyint; the grid gets no gradient.
        return tap(_host_op(x, "rint"), _host_op(y, "rint"))
    x0 = _host_op(x, "floor")
    y0 = _host_op(y, "floor")
    x1 = x0 + 1
    y1 = y0 + 1
    wx1 = (x - x0).unsqueeze(1)
    wy1 = (y - y0).unsqueeze(1)
    wx0 = 1 - wx1
    wy0 = 1 - wy1
    return (
        tap(x0, y0) * wx0 * wy0
        + tap(x1, y0) * wx1 * wy0
        + tap(x0, y1) * wx0 * wy1
        + tap(x1, y1) * wx1 * wy1
    )
