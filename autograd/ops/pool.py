"""Pooling and resampling, N-d: max/avg/adaptive pooling, unpooling, interpolation.

Windowed pooling reuses the convolution geometry (``ConvGeometry``) and the backend's
im2col/col2im. Max-pool keeps the argmax of each window from forward (never recomputed): its
gradient scatters ``grad_out`` back to those positions (``PoolScatter``), whose own gradient
gathers from them again (``PoolGather``), so max-pool differentiates to any order.

Average pooling, adaptive average pooling and linear/cubic interpolation are linear maps:
the first a sum over ``Unfold``'s windows, the others a small (out, in) matrix applied along each
spatial dim with ``matmul``; their gradients are those ops' gradients.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from ..function import Function
from ..tensor import Tensor
from .conv import ConvGeometry, Unfold
from .index import Getitem, IndexAdd
from .shape import AxisGather, GatherPlan


# ------------------------------------------------------------------------------ max-pool
def _one_hot_columns(xp: Any, grad: Any, index: Any, kernel: tuple, out_size: tuple) -> Any:
    """Columns (N, C, *kernel, *out) holding ``grad`` at each window's argmax, zeros elsewhere."""
    n, c = grad.shape[:2]
    k = math.prod(kernel)
    offsets = xp.arange(k).reshape(1, 1, k, 1)
    pixels = math.prod(out_size)
    hit = offsets == index.reshape(n, c, 1, pixels)
    col = hit * grad.reshape(n, c, 1, pixels)
    return col.astype(grad.dtype, copy=False).reshape((n, c) + tuple(kernel) + tuple(out_size))


def _padded_image(xp: Any, x: Any, geom: ConvGeometry, fill: float) -> Any:
    """x inside a ``fill``-valued image that holds the padding and every window's reach."""
    size = tuple(
        max(p + n, (o - 1) * s + d * (k - 1) + 1)
        for n, k, s, p, d, o in zip(
            geom.in_size, geom.kernel, geom.stride, geom.padding, geom.dilation, geom.out_size
        )
    )
    if size == tuple(x.shape[2:]) and not any(geom.padding):
        return x
    image = xp.full(x.shape[:2] + size, fill, dtype=x.dtype)
    image[(...,) + tuple(slice(p, p + n) for p, n in zip(geom.padding, geom.in_size))] = x
    return image


def _windows(geom: ConvGeometry) -> Any:
    """For each kernel offset, the strided slice of the padded image it reads at every output."""
    for offset in itertools.product(*(range(k) for k in geom.kernel)):
        yield (slice(None), slice(None)) + tuple(
            slice(k * d, k * d + (o - 1) * s + 1, s)
            for k, s, d, o in zip(offset, geom.stride, geom.dilation, geom.out_size)
        )


def _tiles(geom: ConvGeometry) -> bool:
    """Windows that tile the input without overlap or padding (stride = kernel, the usual
    ``MaxPool2d(2)``): every input position belongs to at most one window."""
    return (
        not any(geom.padding)
        and all(d == 1 for d in geom.dilation)
        and tuple(geom.stride) == tuple(geom.kernel)
        and all(o * k <= n for o, k, n in zip(geom.out_size, geom.kernel, geom.in_size))
    )


def _scatter_tiles(xp: Any, grad: Any, index: Any, geom: ConvGeometry) -> Any:
    """PoolScatter for tiling windows, with no columns and no adds: per kernel offset, one
    strided slice of the input gets ``grad`` times (argmax == offset), as the column path's
    one-hot product; positions no window covers (floor mode) stay zero."""
    covered = all(o * k == n for o, k, n in zip(geom.out_size, geom.kernel, geom.in_size))
    shape = grad.shape[:2] + tuple(geom.in_size)
    image = xp.empty(shape, dtype=grad.dtype) if covered else xp.zeros(shape, dtype=grad.dtype)
    index = index.reshape(grad.shape)
    for k, window in enumerate(_windows(geom)):
        xp.multiply(grad, index == k, out=image[window])
    return image


def _index_dtype(kernel: tuple) -> str:
    k = math.prod(kernel)
    return "int8" if k <= 127 else "int16" if k <= 32767 else "int32"


def _shifted_max(xp: Any, x: Any, geom: ConvGeometry) -> Any:
    """MaxPool's forward for tiling windows (``_tiles``) on backends with ``flat_shifts``:
    (best, index), or None when a window holds a NaN (the loop below handles those).

    Every comparison runs on whole contiguous arrays, as ``FlatShifts`` does for col2im: over
    the flat input, kernel offset ``j`` along a spatial dim is the same array shifted by ``j``
    steps of that dim, so a running maximum over ``values[:L]`` and ``values[j step : j step +
    L]`` gives every position the maximum of the window that starts there, with SIMD on
    contiguous operands (NumPy's strided loops are 3-5x slower). One dim after the other, last
    first: the maxima of rows, then of rows of rows. Only the windows' origins are kept at the
    end (one strided copy of the output). The work is ``prod(kernel)`` / 2 more elements than
    the strided loop's, and still about twice as fast on LeNet's 2x2 pools.

    The same choice as the loop: a later offset wins only when strictly greater, so the first
    maximum in row-major window order wins (PyTorch); a window's values and index come out
    equal to the loop's (the maximum of each row, then of those, is the same number). Without
    NaN checks, a NaN would win where PyTorch's rule (the last NaN wins) picks another index:
    the caller sees None and runs the loop. One difference in values, none in indices: when
    -0.0 and +0.0 tie in a window, ``maximum`` keeps the later zero, PyTorch the first, so the
    output's zero may have the other sign (its gradient goes to PyTorch's index all the same).
    """
    total = x.size
    values = xp.ascontiguousarray(x).reshape(-1)
    codes = None  # the winning kernel offset (row-major) of the window starting at each position
    code_dtype = _index_dtype(geom.kernel)
    spatial = tuple(geom.in_size)
    inner = 1  # kernel offsets per step along the current dim
    length = total  # positions whose window fits in the flat array so far
    for i in reversed(range(len(spatial))):
        k, step = geom.kernel[i], math.prod(spatial[i + 1 :])
        if k > 1:
            length -= (k - 1) * step
            best = xp.empty(total, dtype=x.dtype)
            code = xp.empty(total, dtype=code_dtype)
            current = values[:length]
            current_code = None if codes is None else codes[:length]
            for j in range(1, k):
                shifted = slice(j * step, j * step + length)
                hit = xp.greater(values[shifted], current)
                current = xp.maximum(current, values[shifted], out=best[:length])
                if current_code is None:  # every window's offset along this dim was 0 so far
                    current_code = xp.multiply(hit, j * inner, out=code[:length], dtype=code_dtype)
                    continue
                # code = where(hit, candidate, code), as code + hit * (candidate - code).
                if codes is None:
                    change = xp.subtract(j * inner, current_code, dtype=code_dtype)
                else:
                    change = xp.subtract(codes[shifted], current_code)
                    change += j * inner
                change *= hit
                current_code = xp.add(current_code, change, out=code[:length])
            values, codes = best, code
        inner *= k
    if codes is None:  # a 1x1 kernel: every position is its own window
        codes = xp.zeros(total, dtype=code_dtype)
    planes = (x.shape[0] * x.shape[1],) + spatial
    origins = (slice(None),) + tuple(slice(0, o * k, k) for o, k in zip(geom.out_size, geom.kernel))
    best = xp.ascontiguousarray(values.reshape(planes)[origins])
    if xp.isnan(best).any():
        return None
    index = xp.ascontiguousarray(codes.reshape(planes)[origins])
    out_shape = tuple(x.shape[:2]) + tuple(geom.out_size)
    return best.reshape(out_shape), index.reshape(out_shape)


def _looped_max(xp: Any, x: Any, geom: ConvGeometry) -> tuple:
    """MaxPool's forward in general: a loop over kernel offsets of strided slices, a running
    maximum and the offset that set it (the first maximum wins, as PyTorch; NaN wins over any
    number and a later NaN over an earlier one, as PyTorch), with no column buffer."""
    image = _padded_image(xp, x, geom, -math.inf)
    best = index = hit = None
    for k, window in enumerate(_windows(geom)):
        values = image[window]
        if best is None:
            best = values.copy()
            index = xp.zeros(best.shape, dtype=_index_dtype(geom.kernel))
            hit = xp.empty(best.shape, dtype=bool)
            continue
        xp.greater(values, best, out=hit)
        hit |= xp.isnan(values)
        xp.maximum(best, values, out=best)
        index += hit * (index.dtype.type(k) - index)
    return best, index


class MaxPool(Function):
    """The maximum of each window; returns (values, argmax within the window) and keeps the
    compact argmax for backward. Padding reads as -inf, so it never wins; NaN propagates.

    ``_looped_max`` in general; ``_shifted_max`` for tiling windows on backends with
    ``flat_shifts`` (NumPy), tested equal.
    """

    @staticmethod
    def forward(ctx, x, geom):
        xp = ctx.xp
        result = None
        if _tiles(geom) and getattr(ctx.backend, "flat_shifts", False):
            result = _shifted_max(xp, x, geom)
        best, index = result if result is not None else _looped_max(xp, x, geom)
        n, c = x.shape[:2]
        index = index.reshape(n, c, math.prod(geom.out_size))
        ctx.geom = geom
        ctx.save_for_backward(index)
        ctx.mark_non_differentiable(index)
        return best, index

    @staticmethod
    def backward(ctx, grad_out, _grad_index=None):
        (index,) = ctx.saved_tensors
        return PoolScatter.apply(grad_out, index, ctx.geom), None


class PoolScatter(Function):
    """grad_out (N, C, *out) sent to each window's chosen input position (overlaps add)."""

    @staticmethod
    def forward(ctx, grad, index, geom):
        ctx.geom = geom
        ctx.save_for_backward(index)
        if _tiles(geom):
            return _scatter_tiles(ctx.xp, grad, index, geom)
        col = _one_hot_columns(ctx.xp, grad, index, geom.kernel, geom.out_size)
        return ctx.backend.col2im(col, geom.in_size, geom.stride, geom.padding, geom.dilation)

    @staticmethod
    def backward(ctx, grad_out):
        (index,) = ctx.saved_tensors
        return PoolGather.apply(grad_out, index, ctx.geom), None, None


class PoolGather(Function):
    """x (N, C, *in) read at each window's chosen position: PoolScatter's adjoint."""

    @staticmethod
    def forward(ctx, x, index, geom):
        ctx.geom = geom
        ctx.save_for_backward(index)
        n, c = x.shape[:2]
        col = ctx.backend.im2col(
            x, geom.kernel, geom.stride, geom.padding, geom.dilation, geom.out_size
        ).reshape(n, c, math.prod(geom.kernel), math.prod(geom.out_size))
        out = ctx.xp.take_along_axis(col, index[:, :, None, :], axis=2)
        return out.reshape((n, c) + tuple(geom.out_size))

    @staticmethod
    def backward(ctx, grad_out):
        (index,) = ctx.saved_tensors
        return PoolScatter.apply(grad_out, index, ctx.geom), None, None


def max_pool(x: Tensor, geom: ConvGeometry, return_indices: bool = False) -> Any:
    """Windowed max; with ``return_indices`` also the flat position of each max in its input
    plane (PyTorch's indices, for ``max_unpool``)."""
    out, window_index = MaxPool.apply(x, geom)
    if not return_indices:
        return out
    return out, _plane_indices(x, window_index, geom)


def _plane_indices(x: Tensor, window_index: Tensor, geom: ConvGeometry) -> Tensor:
    """Kernel offsets of the argmax -> flat index into the input's spatial plane."""
    xp = x._backend.xp
    n, c = x.shape[:2]
    d = len(geom.kernel)
    k = window_index.data.reshape((n, c) + tuple(geom.out_size)).astype("int64")
    flat = xp.zeros(k.shape, dtype=k.dtype)
    remaining = k
    offsets = []
    for size in reversed(geom.kernel):
        offsets.append(remaining % size)
        remaining = remaining // size
    offsets.reverse()
    for i in range(d):
        shape = [1] * (2 + d)
        shape[2 + i] = geom.out_size[i]
        start = (xp.arange(geom.out_size[i]) * geom.stride[i] - geom.padding[i]).reshape(shape)
        position = start + offsets[i] * geom.dilation[i]
        flat = flat * geom.in_size[i] + position
    return Tensor._make(flat.astype("int64"), x._backend)


def max_unpool(x: Tensor, indices: Tensor, out_size: tuple) -> Tensor:
    """Each value of ``x`` placed at its flat index in a zero plane of ``out_size``."""
    xp = x._backend.xp
    n, c = x.shape[:2]
    index = indices.data.reshape(n, c, -1)
    rows = xp.arange(n).reshape(n, 1, 1)
    channels = xp.arange(c).reshape(1, c, 1)
    flat = IndexAdd.apply(x.reshape(n, c, -1), (n, c, math.prod(out_size)), (rows, channels, index))
    return flat.reshape((n, c) + tuple(out_size))


# ------------------------------------------------------------------------------ avg-pool
def _window_counts(xp: Any, geom: ConvGeometry, count_include_pad: bool) -> Any:
    """How many elements each window averages: clipped to the padded input (or to the input)."""
    counts = None
    d = len(geom.kernel)
    for i in range(d):
        start = xp.arange(geom.out_size[i]) * geom.stride[i] - geom.padding[i]
        n = geom.in_size[i]
        if count_include_pad:
            size = xp.minimum(start + geom.kernel[i], n + geom.padding[i]) - start
        else:
            size = xp.minimum(start + geom.kernel[i], n) - xp.maximum(start, 0)
        shape = [1] * d
        shape[i] = geom.out_size[i]
        size = size.reshape(shape)
        counts = size if counts is None else counts * size
    return counts


def avg_pool(
    x: Tensor, geom: ConvGeometry, count_include_pad: bool, divisor_override: int | None
) -> Tensor:
    """The mean of each window: a sum over ``Unfold``'s columns, then one scale per window."""
    d = len(geom.kernel)
    col = Unfold.apply(x, geom)
    total = col.sum(dim=tuple(range(2, 2 + d)))
    if divisor_override:
        return total * (1.0 / divisor_override)
    xp = x._backend.xp
    scale = 1.0 / _window_counts(xp, geom, count_include_pad).astype(x.dtype)
    return total * Tensor._make(scale, x._backend)


# --------------------------------------------------------- separable linear resampling
def _along(x: Tensor, matrices: list) -> Tensor:
    """Apply an (out_i, in_i) matrix along each spatial dim i of x (N, C, *spatial)."""
    for i, m in enumerate(matrices):
        if m is None:
            continue
        axis = 2 + i
        if axis == x.ndim - 1:
            x = x @ m.mT
        else:
            x = (x.transpose(axis, -1) @ m.mT).transpose(axis, -1)
    return x


def _matrix(x: Tensor, rows: Any, cols: Any, weights: Any, shape: tuple) -> Tensor:
    """A constant (out, in) matrix with ``weights`` added at (rows, cols) (repeats add)."""
    backend = x._backend
    m = backend.xp.zeros(shape, dtype=x.dtype)
    backend.scatter_add(
        m, (rows.reshape(-1), cols.reshape(-1)), weights.reshape(-1).astype(x.dtype)
    )
    return Tensor._make(m, backend)


def _adaptive_bounds(xp: Any, n: int, out: int) -> tuple:
    """PyTorch's adaptive bins: [floor(i n / out), ceil((i + 1) n / out))."""
    i = xp.arange(out)
    return (i * n) // out, ((i + 1) * n + out - 1) // out


def adaptive_avg_pool(x: Tensor, out_size: tuple) -> Tensor:
    """The mean over PyTorch's adaptive bins, as one averaging matrix per spatial dim."""
    xp = x._backend.xp
    matrices = []
    for n, out in zip(x.shape[2:], out_size):
        if n == out:
            matrices.append(None)
            continue
        start, end = _adaptive_bounds(xp, n, out)
        pos = xp.arange(n).reshape(1, n)
        inside = (pos >= start.reshape(out, 1)) & (pos < end.reshape(out, 1))
        m = inside / (end - start).reshape(out, 1)
        matrices.append(Tensor._make(m.astype(x.dtype), x._backend))
    return _along(x, matrices)


def adaptive_max_pool(x: Tensor, out_size: tuple, return_indices: bool = False) -> Any:
    """The max over PyTorch's adaptive bins (bins may differ in size and overlap).

    Each bin is read through an index grid padded by repeating its last element (which cannot
    change a max); the winner is picked on the data and then read with ``Getitem``, whose
    gradient scatters back to exactly that element, as PyTorch.
    """
    xp = x._backend.xp
    n, c = x.shape[:2]
    d = len(out_size)
    in_size = x.shape[2:]
    flat = None
    for i, (size, out) in enumerate(zip(in_size, out_size)):
        start, end = _adaptive_bounds(xp, size, out)
        # The widest bin, from the same formula in Python ints: no read from the device.
        width = max(-(-(j + 1) * size // out) - j * size // out for j in range(out))
        pos = xp.minimum(start.reshape(out, 1) + xp.arange(width), (end - 1).reshape(out, 1))
        # Dims laid out as (out_0, ..., out_{d-1}, win_0, ..., win_{d-1}).
        shape = [1] * (2 * d)
        shape[i] = out
        shape[d + i] = width
        pos = pos.reshape(shape)
        flat = pos if flat is None else flat * size + pos
    planes = x.data.reshape(n, c, -1)
    windows = planes[:, :, flat.reshape(-1)].reshape((n, c) + flat.shape[:d] + (-1,))
    best = windows.argmax(axis=-1)
    candidates = flat.reshape(flat.shape[:d] + (-1,))
    choice = xp.take_along_axis(
        xp.broadcast_to(candidates, (n, c) + candidates.shape), best[..., None], axis=-1
    )[..., 0]
    rows = xp.arange(n).reshape((n, 1) + (1,) * d)
    channels = xp.arange(c).reshape((1, c) + (1,) * d)
    out = Getitem.apply(x.reshape(n, c, -1), (rows, channels, choice))
    if return_indices:
        return out, Tensor._make(choice.astype("int64"), x._backend)
    return out


def _source(xp: Any, out: int, n: int, align_corners: bool, scale: float | None, cubic: bool):
    """PyTorch's area_pixel_compute_source_index for output positions 0..out-1."""
    dst = xp.arange(out, dtype="float64")
    if align_corners:
        return dst * ((n - 1) / (out - 1) if out > 1 else 0.0)
    ratio = 1.0 / scale if scale else n / out
    src = ratio * (dst + 0.5) - 0.5
    return src if cubic else xp.maximum(src, 0.0)


def _cubic_weights(t: Any) -> tuple:
    """Keys' cubic convolution with A = -0.75 (PyTorch's bicubic), for offsets -1, 0, 1, 2."""
    a = -0.75

    def near(s: Any) -> Any:  # |s| <= 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s: Any) -> Any:  # 1 < |s| < 2
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def interpolate_matrix(
    x: Tensor, n: int, out: int, mode: str, align_corners: bool, scale: float | None
) -> Tensor:
    """The (out, n) matrix of 'linear' or 'cubic' resampling along one dim, PyTorch's weights."""
    xp = x._backend.xp
    rows = xp.arange(out)
    if mode == "linear":
        src = _source(xp, out, n, align_corners, scale, cubic=False)
        low = xp.minimum(xp.floor(src).astype("int64"), n - 1)
        high = xp.minimum(low + 1, n - 1)
        frac = src - low
        all_rows = xp.concatenate([rows, rows])
        cols = xp.concatenate([low, high])
        weights = xp.concatenate([1.0 - frac, frac])
        return _matrix(x, all_rows, cols, weights, (out, n))
    src = _source(xp, out, n, align_corners, scale, cubic=True)
    base = xp.floor(src)
    t = src - base
    base = base.astype("int64")
    cols = xp.concatenate([xp.clip(base + k, 0, n - 1) for k in (-1, 0, 1, 2)])
    weights = xp.concatenate(_cubic_weights(t))
    return _matrix(x, xp.concatenate([rows] * 4), cols, weights, (out, n))


def interpolate_linear(
    x: Tensor, out_size: tuple, mode: str, align_corners: bool, scales: tuple
) -> Tensor:
    """(bi/tri)linear or bicubic resampling: one matrix per spatial dim."""
    matrices = [
        interpolate_matrix(x, n, out, mode, align_corners, scale)
        for n, out, scale in zip(x.shape[2:], out_size, scales)
    ]
    return _along(x, matrices)


def interpolate_nearest(x: Tensor, out_size: tuple, scales: tuple, exact: bool) -> Tensor:
    """Nearest-neighbour resampling: src = floor(dst * in / out) ('nearest', PyTorch's legacy
    rule) or floor((dst + 0.5) * in / out) ('nearest-exact'), clamped to the input."""
    xp = x._backend.xp
    in_size = x.shape[2:]
    # An integer upscale of 'nearest' repeats each pixel: a broadcast and a reshape.
    if not exact and all(
        o % n == 0 and (s is None or s == o // n) for n, o, s in zip(in_size, out_size, scales)
    ):
        factors = [o // n for n, o in zip(in_size, out_size)]
        shape = list(x.shape[:2])
        expanded = list(x.shape[:2])
        for n, f in zip(in_size, factors):
            shape += [n, 1]
            expanded += [n, f]
        return x.reshape(shape).expand(expanded).reshape(tuple(x.shape[:2]) + tuple(out_size))
    # One gather per spatial dim (AxisGather), whose gradient is a few slice-adds and sums per
    # dim (runs of repeated or consecutive sources), not a scatter-add.
    for i, (n, out, scale) in enumerate(zip(in_size, out_size, scales)):
        ratio = 1.0 / scale if scale else n / out
        # The same float64 arithmetic in Python, for the runs (no device read).
        sources = [
            min(math.floor((j + 0.5) * ratio if exact else j * ratio), n - 1) for j in range(out)
        ]
        if sources == list(range(n)):
            continue
        dst = xp.arange(out, dtype="float64")
        src = xp.floor((dst + 0.5) * ratio if exact else dst * ratio).astype("int64")
        index = xp.minimum(src, n - 1)
        x = AxisGather.apply(x, 2 + i, index, GatherPlan(sources), n)
    return x
