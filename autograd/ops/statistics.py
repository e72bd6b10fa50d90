"""Order statistics and NaN-aware reductions: median, nanmedian, kthvalue, mode, quantile,
nanquantile, aminmax, nansum, nanmean, std_mean, var_mean, count_nonzero, renorm, dist.

The order statistics sort with the array library's ``argsort`` (NaN sorts last, as in
PyTorch) and pick their values with a differentiable gather, so the gradient goes to the
element (or, for quantiles, the two elements) each value came from.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

from backends import dtypes as _dtypes

from ..tensor import Tensor, _normalize_dim
from .elementwise import _describe, isnan, where
from .reduce import _dims, amax, amin, mean, norm, std, sum, var
from .scan import take_along_dim

MedianResult = namedtuple("median", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
ModeResult = namedtuple("mode", ["values", "indices"])
AminmaxResult = namedtuple("aminmax", ["min", "max"])

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _pick(input: Tensor, dim: int, sorted_position: Any, order: Any, keepdim: bool, result: Any):
    """(values, indices) at ``sorted_position`` (kept-dim shaped) of each slice's sort ``order``."""
    xp = input._backend.xp
    index = xp.take_along_axis(order, sorted_position, axis=dim)
    values = take_along_dim(input, dim, index)
    if not keepdim:
        values = values.squeeze(dim)
        index = index.squeeze(axis=dim)
    return result(values, Tensor._make(index.astype(_dtypes.int64), input._backend))


def _order_statistic(input: Tensor, dim: Any, keepdim: bool, op: str, position: Any) -> tuple:
    """``position(n, nan_count)`` -> the sorted position to pick (an array of kept-dim shape)."""
    xp = input._backend.xp
    if input.data.ndim == 0:
        index = Tensor._make(xp.zeros((), dtype=_dtypes.int64), input._backend)
        return input.clone(), index
    dim = _normalize_dim(dim, input.data.ndim, op)
    n = input.data.shape[dim]
    if n == 0:
        raise IndexError(f"{op}: cannot compute on dimension {dim} of size 0 ({input.shape})")
    order = xp.argsort(input.data, axis=dim, kind="stable")
    if input.data.dtype.kind in "fc":
        nan_count = xp.isnan(input.data).sum(axis=dim, keepdims=True)
    else:
        nan_count = xp.zeros([1 if i == dim else s for i, s in enumerate(input.shape)], dtype=int)
    return dim, order, position(n, nan_count)


def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median: of all elements (a 0-d tensor), or along ``dim`` as (values, indices).
    A slice with a NaN has median NaN (``nanmedian`` ignores NaN)."""
    return _median(input, dim, keepdim, "median", ignore_nan=False)


def nanmedian(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median of the non-NaN elements (NaN when all are NaN)."""
    return _median(input, dim, keepdim, "nanmedian", ignore_nan=True)


def _median(input: Tensor, dim: Any, keepdim: bool, op: str, ignore_nan: bool) -> Any:
    whole = dim is None
    if whole:
        if input.data.size == 0:
            raise RuntimeError(f"{op}: cannot compute the median of an empty tensor")
        flat = input.reshape(-1)
    else:
        flat = input

    def position(n: int, nan_count: Any) -> Any:
        if ignore_nan:
            return ((n - nan_count - 1) // 2).clip(0, None)
        # With a NaN in the slice, pick the first NaN (sorted last): the median is NaN.
        return input._backend.xp.where(nan_count > 0, n - nan_count, (n - 1) // 2)

    picked = _order_statistic(flat, 0 if whole else dim, keepdim and not whole, op, position)
    if len(picked) == 2:
        return picked[0] if whole else MedianResult(*picked)
    d, order, at = picked
    out = _pick(flat, d, at, order, keepdim and not whole, MedianResult)
    if whole:
        values = out.values
        return values.reshape((1,) * input.data.ndim) if keepdim else values.reshape(())
    return out


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> tuple:
    """(values, indices): the k-th smallest element (k counts from 1) along ``dim``."""
    if not isinstance(k, int) or isinstance(k, bool):
        raise TypeError(f"kthvalue: k must be an int, got {type(k).__name__}")
    size = input.data.shape[_normalize_dim(dim, input.data.ndim, "kthvalue")] if input.ndim else 1
    if not 1 <= k <= size:
        raise IndexError(f"kthvalue: k ({k}) is out of range for dimension {dim} of size {size}")

    def position(n: int, nan_count: Any) -> Any:
        return nan_count * 0 + (k - 1)

    picked = _order_statistic(input, dim, keepdim, "kthvalue", position)
    if len(picked) == 2:
        return KthvalueResult(*picked)
    d, order, at = picked
    return _pick(input, d, at, order, keepdim, KthvalueResult)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> tuple:
    """(values, indices): the most frequent value along ``dim`` (the smallest one at a tie in
    counts) and the index of its last occurrence, as PyTorch."""
    backend = input._backend
    xp = backend.xp
    if input.data.ndim == 0:
        return ModeResult(input.clone(), Tensor._make(xp.zeros((), dtype=_dtypes.int64), backend))
    dim = _normalize_dim(dim, input.data.ndim, "mode")
    n = input.data.shape[dim]
    if n == 0:
        raise IndexError(f"mode: cannot compute on dimension {dim} of size 0 ({input.shape})")
    data = xp.moveaxis(input.data, dim, -1)
    ordered = xp.sort(data, axis=-1)
    position = xp.arange(n)
    starts = xp.concatenate(
        [xp.ones(ordered.shape[:-1] + (1,), dtype=bool), ordered[..., 1:] != ordered[..., :-1]],
        axis=-1,
    )
    ends = xp.concatenate(
        [ordered[..., 1:] != ordered[..., :-1], xp.ones(ordered.shape[:-1] + (1,), dtype=bool)],
        axis=-1,
    )
    run_start = backend.accumulate("maximum", xp.where(starts, position, 0), -1)
    run_end = xp.flip(
        backend.accumulate("minimum", xp.flip(xp.where(ends, position, n), -1), -1), -1
    )
    length = run_end - run_start
    # The first longest run in sorted order holds the smallest of the most frequent values.
    best = xp.argmax(length == length.max(axis=-1, keepdims=True), axis=-1)[..., None]
    value = xp.take_along_axis(ordered, best, axis=-1)
    index = xp.where(data == value, position, -1).max(axis=-1, keepdims=True)
    index = xp.moveaxis(index, -1, dim)
    values = take_along_dim(input, dim, index)
    if not keepdim:
        values = values.squeeze(dim)
        index = index.squeeze(axis=dim)
    return ModeResult(values, Tensor._make(index.astype(_dtypes.int64), backend))


def _quantile(
    input: Tensor, q: Any, dim: Any, keepdim: bool, interpolation: str, op: str, ignore_nan: bool
) -> Tensor:
    from .shape import stack

    if input.data.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a float or double tensor, got {_describe(input)}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, got "
            f"{interpolation!r}"
        )
    scalar_q = not isinstance(q, Tensor) or q.data.ndim == 0
    if isinstance(q, Tensor):
        if q.data.ndim > 1:
            raise ValueError(f"{op}: q must be a scalar or 1-D tensor, got shape {q.shape}")
        qs = [float(v) for v in q._backend.to_host(q.data).reshape(-1)]
    elif isinstance(q, (list, tuple)):
        scalar_q = False
        qs = [float(v) for v in q]
    else:
        qs = [float(q)]
    if any(not 0.0 <= v <= 1.0 for v in qs):
        raise ValueError(f"{op}: q values must be in the range [0, 1], got {qs}")
    original_ndim = input.data.ndim
    if dim is None:
        input = input.reshape(-1)
        dim = 0
    else:
        dim = _normalize_dim(dim, max(original_ndim, 1), op)
        if original_ndim == 0:
            input = input.reshape(1)
    n = input.data.shape[dim]
    if n == 0:
        raise IndexError(f"{op}: cannot compute on dimension {dim} of size 0 ({input.shape})")
    xp = input._backend.xp
    order = xp.argsort(input.data, axis=dim, kind="stable")
    ordered = take_along_dim(input, dim, order)
    nan_count = xp.isnan(input.data).sum(axis=dim, keepdims=True)
    valid = n - nan_count
    results = []
    for value in qs:
        if ignore_nan:
            rank = value * (xp.maximum(valid, 1) - 1).astype(input.data.dtype)
        else:
            # A slice with a NaN gives NaN: its last sorted element.
            rank = xp.where(nan_count > 0, float(n - 1), value * (n - 1)).astype(input.data.dtype)
        below = xp.floor(rank).astype(_dtypes.int64)
        above = xp.ceil(rank).astype(_dtypes.int64)
        if interpolation == "lower":
            out = take_along_dim(ordered, dim, below)
        elif interpolation == "higher":
            out = take_along_dim(ordered, dim, above)
        elif interpolation == "nearest":
            out = take_along_dim(ordered, dim, xp.round(rank).astype(_dtypes.int64))
        else:
            low = take_along_dim(ordered, dim, below)
            high = take_along_dim(ordered, dim, above)
            weight = 0.5 if interpolation == "midpoint" else rank - below
            if interpolation == "midpoint":
                weight = xp.where(below == above, 0.0, 0.5).astype(input.data.dtype)
            weight_t = Tensor._make(xp.asarray(weight, dtype=input.data.dtype), input._backend)
            out = low + (high - low) * weight_t
            # All NaN (nanquantile): NaN, not the lerp of NaNs' gradient paths.
        if ignore_nan:
            out = where(Tensor._make(valid == 0, input._backend), math.nan, out)
        if keepdim:
            if original_ndim == 0:
                out = out.reshape(())
            elif input.data.ndim != original_ndim:
                out = out.reshape((1,) * original_ndim)
        else:
            out = out.squeeze(dim)
        results.append(out)
    return results[0] if scalar_q else stack(results)


def quantile(
    input: Tensor,
    q: Any,
    dim: Any = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """The q-th quantiles along ``dim`` (of all elements when None); a slice with a NaN gives
    NaN. ``interpolation``: linear, lower, higher, midpoint, nearest (as PyTorch).

    Shape: ``input`` without ``dim`` (kept as 1 with ``keepdim``), with a leading dimension
    of len(q) when ``q`` is a 1-D tensor or a list.
    """
    return _quantile(input, q, dim, keepdim, interpolation, "quantile", ignore_nan=False)


def nanquantile(
    input: Tensor,
    q: Any,
    dim: Any = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """``quantile`` of the non-NaN elements (NaN where a slice is all NaN)."""
    return _quantile(input, q, dim, keepdim, interpolation, "nanquantile", ignore_nan=True)


def aminmax(input: Tensor, *, dim: Any = None, keepdim: bool = False) -> tuple:
    """(min, max) over ``dim`` (all elements when None); ties share the gradient, as amin/amax."""
    if input.data.size == 0:
        raise RuntimeError(f"aminmax: cannot reduce an empty tensor of shape {input.shape}")
    return AminmaxResult(amin(input, dim, keepdim), amax(input, dim, keepdim))


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The sum treating NaN as zero (no gradient to the NaNs). Shape: as ``sum``."""
    if input.data.dtype.kind in "fc":
        input = where(isnan(input), 0.0, input)
    return sum(input, dim, keepdim, dtype)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The mean of the non-NaN elements (floating point inputs only). Shape: as ``mean``.

    Where we differ: over a slice that is all NaN the gradient is 0 (PyTorch's is NaN).
    """
    if dtype is not None:
        input = input.to(dtype)
    if input.data.dtype.kind not in "fc":
        raise TypeError(
            f"nanmean: expected a floating point tensor, got {_describe(input)} (use .float())"
        )
    not_nan = Tensor._make(~input._backend.xp.isnan(input.data), input._backend)
    count = sum(not_nan, dim, keepdim).to(input.dtype)
    return nansum(input, dim, keepdim) / count


def _statistic_and_mean(
    which: Any, input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any
) -> tuple:
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return (
        which(input, dim, unbiased, keepdim, correction=correction),
        mean(input, dim, keepdim),
    )


def std_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple:
    """(std, mean) over ``dim``, arguments as ``std``."""
    return _statistic_and_mean(std, input, dim, unbiased, keepdim, correction)


def var_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple:
    """(var, mean) over ``dim``, arguments as ``var``."""
    return _statistic_and_mean(var, input, dim, unbiased, keepdim, correction)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """How many elements are not zero, over ``dim`` (all when None); int64, no gradient."""
    dims = _dims(dim, input.data.ndim, "count_nonzero")
    counts = (input.data != 0).sum(axis=dims).astype(_dtypes.int64)
    return Tensor._make(input._backend.xp.asarray(counts), input._backend)


def renorm(input: Tensor, p: Any, dim: int, maxnorm: Any) -> Tensor:
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to norm maxnorm
    (scale maxnorm / (norm + 1e-7), as PyTorch). Shape: same as ``input``."""
    if not isinstance(p, (int, float)) or isinstance(p, bool) or p <= 0:
        raise ValueError(f"renorm: p must be a positive number, got {p!r}")
    if maxnorm < 0:
        raise ValueError(f"renorm: maxnorm must be non-negative, got {maxnorm!r}")
    if input.data.ndim == 0:
        raise IndexError("renorm: input needs at least one dimension")
    dim = _normalize_dim(dim, input.data.ndim, "renorm")
    others = tuple(d for d in range(input.data.ndim) if d != dim)
    norms = norm(input, p, others, keepdim=True) if others else input.abs()
    scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * scale


def dist(input: Tensor, other: Any, p: Any = 2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast). Shape: a 0-d tensor."""
    if input.data.dtype.kind not in "fc":
        raise TypeError(f"dist: expected a floating point tensor, got {_describe(input)}")
    return norm(input - other, p)
