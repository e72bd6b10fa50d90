"""Reductions over ``dim`` (an int, a tuple, or None for all) with ``keepdim``, PyTorch's names."""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any

from backends import dtypes as _dtypes
from backends.base import reduced_count as _count

from ..function import Function
from ..grad_mode import _state
from ..tensor import Tensor, _normalize_dim
from .convert import Clone
from .shape import expand

MaxResult = namedtuple("MaxResult", ["values", "indices"])
MinResult = namedtuple("MinResult", ["values", "indices"])


def _dims(dim: Any, ndim: int, op: str) -> tuple | None:
    """``dim`` as a sorted tuple of non-negative axes, or None for every axis."""
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    normalized = [_normalize_dim(d, ndim, op) for d in dims]
    if len(set(normalized)) != len(normalized):
        repeated = next(d for d in normalized if normalized.count(d) > 1)
        raise RuntimeError(
            f"{op}: dim {repeated} appears multiple times in the list of dims {tuple(dims)}"
        )
    dims = tuple(sorted(normalized))
    if ndim == 0:
        # A 0-d tensor accepts dim 0 or -1 (as PyTorch) and has no axis to name: reduce "all".
        return None
    return dims if dims else None


def _keep_shape(shape: tuple, dims: tuple | None) -> tuple:
    """``shape`` with the reduced axes set to 1 (the keepdim shape)."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


class Unreduce(Function):
    """A reduction's gradient, times ``scale``, broadcast back over the reduced axes (one op)."""

    @staticmethod
    def forward(ctx, grad, keep_shape, shape, scale):
        ctx.grad_shape = grad.shape
        ctx.keep_shape = keep_shape
        ctx.scale = scale
        grad = grad.reshape(keep_shape)
        if scale != 1:
            grad = grad * scale
        return ctx.xp.broadcast_to(grad, shape)

    @staticmethod
    def backward(ctx, grad_out):
        from .shape import Reshape, sum_to

        grad = Reshape.apply(sum_to(grad_out, ctx.keep_shape), ctx.grad_shape)
        return (grad * ctx.scale if ctx.scale != 1 else grad), None, None, None


def _unreduce(grad_out: Tensor, shape: tuple, dims: tuple | None, scale: float = 1) -> Tensor:
    """Broadcast a reduction's gradient back over the reduced axes."""
    return Unreduce.apply(grad_out, _keep_shape(shape, dims), shape, scale)


class Sum(Function):
    """The backend's ``reduce_sum`` (on the CPU a leading-axes sum is one BLAS call)."""

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.input_shape = a.shape
        ctx.dims = dims
        return ctx._backend.reduce_sum(a, dims, keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        return _unreduce(grad_out, ctx.input_shape, ctx.dims), None, None


class Mean(Function):
    """The backend's ``reduce_mean``: its sum divided in place by the count."""

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.input_shape = a.shape
        ctx.dims = dims
        return ctx._backend.reduce_mean(a, dims, keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        count = _count(ctx.input_shape, ctx.dims)
        return (
            _unreduce(grad_out, ctx.input_shape, ctx.dims, 1.0 / builtins.max(count, 1)),
            None,
            None,
        )


def sum(a: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    if dtype is not None:
        a = a.to(dtype)
    elif a.data.dtype.kind in "bui":
        a = a.to(_dtypes.int64)
    return Sum.apply(a, _dims(dim, a.data.ndim, "sum"), keepdim)


def mean(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    if a.data.dtype.kind not in "fc":
        raise TypeError(
            f"mean: could not infer output dtype; input dtype must be floating point, got "
            f"{a.dtype} (use .float() first)"
        )
    return Mean.apply(a, _dims(dim, a.data.ndim, "mean"), keepdim)


def var(
    a: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """Unbiased (divides by N - 1) by default, as PyTorch; ``correction=0`` divides by N.
    ``var(False)`` is ``var(unbiased=False)`` (PyTorch's overload with the flag first).

    Shape: ``a`` (*) -> ``a`` with the ``dim`` axes removed (kept as 1 with ``keepdim``).
    """
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError("var: unbiased given twice (as the first argument and by name)")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ValueError("var: give either unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    dims = _dims(dim, a.data.ndim, "var")
    centered = a - mean(a, dims, keepdim=True)
    n = _count(a.data.shape, dims)
    return sum(centered * centered, dims, keepdim) / builtins.max(n - correction, 0)


class StdFromVar(Function):
    """sqrt of a variance whose gradient is 0 (not NaN) where the variance is 0, as PyTorch.

    A constant input has variance 0 and ``d sqrt(v)/dv = 1 / (2 sqrt(v))`` is infinite there;
    the variance's own gradient is 0 at that point, so 0 times inf would poison the input's
    gradient with NaN. PyTorch's ``std_backward`` masks the zero entries; so do we.
    """

    @staticmethod
    def forward(ctx, v):
        ctx.save_for_backward(v)
        return ctx.xp.sqrt(v)

    @staticmethod
    def backward(ctx, grad_out):
        from .elementwise import where

        (v,) = ctx.saved_tensors
        # Recomputed from the input so that a second derivative sees d(1/std)/dv too.
        out = StdFromVar.apply(v)
        zero = out == 0
        return where(zero, 0.0, grad_out / (where(zero, 1.0, out) * 2.0))


def std(
    a: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """The square root of ``var``; its gradient is 0 (not NaN) for a constant input, as PyTorch.

    Shape: ``a`` (*) -> ``a`` with the ``dim`` axes removed (kept as 1 with ``keepdim``).
    """
    return StdFromVar.apply(var(a, dim, unbiased, keepdim, correction=correction))


class Amax(Function):
    """Max (or min) over ``dims``; ties share the gradient evenly, as PyTorch's amax."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, take_max):
        xp = ctx.xp
        if a.size == 0:
            raise RuntimeError(f"amax: cannot reduce an empty tensor of shape {a.shape}")
        out = (
            xp.amax(a, axis=dims, keepdims=True)
            if take_max
            else xp.amin(a, axis=dims, keepdims=True)
        )
        hits = (a == out).astype(a.dtype)
        ctx.save_for_backward(hits / hits.sum(axis=dims, keepdims=True))
        ctx.input_shape = a.shape
        ctx.dims = dims
        return out if keepdim else out.reshape(_reduced_shape(a.shape, dims))

    @staticmethod
    def backward(ctx, grad_out):
        (share,) = ctx.saved_tensors
        return _unreduce(grad_out, ctx.input_shape, ctx.dims) * share, None, None, None


def amax(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Amax.apply(a, _dims(dim, a.data.ndim, "amax"), keepdim, True)


def amin(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Amax.apply(a, _dims(dim, a.data.ndim, "amin"), keepdim, False)


class MaxDim(Function):
    """``max(dim)``: values and indices; the gradient goes to the index that was chosen."""

    @staticmethod
    def forward(ctx, a, dim, keepdim, take_max):
        xp = ctx.xp
        if a.shape[dim] == 0:
            raise IndexError(f"max: cannot reduce over dimension {dim} of size 0 ({a.shape})")
        index = xp.argmax(a, axis=dim) if take_max else xp.argmin(a, axis=dim)
        index_k = xp.expand_dims(index, dim)
        values = xp.take_along_axis(a, index_k, axis=dim)
        positions = xp.arange(a.shape[dim]).reshape([-1 if i == dim else 1 for i in range(a.ndim)])
        ctx.save_for_backward((positions == index_k).astype(a.dtype))
        ctx.keep_shape = values.shape
        if not keepdim:
            values = values.reshape(index.shape)
        else:
            index = index_k
        ctx.mark_non_differentiable(index)
        return values, index

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        (chosen,) = ctx.saved_tensors
        return grad_values.reshape(ctx.keep_shape) * chosen, None, None, None


def _max_or_min(a: Tensor, dim: Any, keepdim: bool, take_max: bool) -> Any:
    if isinstance(dim, Tensor):
        from .elementwise import maximum, minimum

        return maximum(a, dim) if take_max else minimum(a, dim)
    if dim is None:
        return Amax.apply(a, None, False, take_max)
    dim = _normalize_dim(dim, a.data.ndim, "max" if take_max else "min")
    if a.data.ndim == 0:
        # PyTorch: a 0-d tensor is its own max over dim 0, at index 0.
        index = Tensor._make(a._backend.xp.zeros((), dtype=_dtypes.int64), a._backend)
        return (MaxResult if take_max else MinResult)(Clone.apply(a), index)
    values, indices = MaxDim.apply(a, dim, keepdim, take_max)
    return (MaxResult if take_max else MinResult)(values, indices)


def max(a: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``max()`` the largest value; ``max(dim)`` (values, indices); ``max(other)`` elementwise."""
    return _max_or_min(a, dim, keepdim, True)


def min(a: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _max_or_min(a, dim, keepdim, False)


def _arg(a: Tensor, dim: Any, keepdim: bool, name: str) -> Tensor:
    xp = a._backend.xp
    fn = getattr(xp, name)
    if a.data.size == 0 and (
        dim is None or a.data.shape[_normalize_dim(dim, a.data.ndim, name)] == 0
    ):
        raise RuntimeError(f"{name}: cannot reduce an empty tensor of shape {a.shape} (dim={dim})")
    if dim is None:
        out = fn(a.data.reshape(-1))
        if keepdim:
            out = xp.asarray(out).reshape((1,) * a.data.ndim)
    else:
        dim = _normalize_dim(dim, a.data.ndim, name)
        out = fn(a.data, axis=dim if a.data.ndim else None)
        if keepdim and a.data.ndim:
            out = xp.expand_dims(out, dim)
    return Tensor._make(xp.asarray(out, dtype=_dtypes.int64), a._backend)


def argmax(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _arg(a, dim, keepdim, "argmax")


def argmin(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _arg(a, dim, keepdim, "argmin")


def logsumexp(a: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(a))) computed stably: the max is subtracted first (and added back)."""
    from .elementwise import where

    dims = _dims(dim, a.data.ndim, "logsumexp")
    if _count(a.data.shape, dims) == 0:
        # An empty sum is 0 and its log -inf, as PyTorch (amax has no empty answer).
        out = sum(a, dims, keepdim=True) + float("-inf")
        return out if keepdim else out.reshape(_reduced_shape(a.shape, dims))
    shift = amax(a.detach(), dims, keepdim=True)
    shift = where(shift.isfinite(), shift, 0.0)
    out = sum((a - shift).exp(), dims, keepdim=True).log() + shift
    return out if keepdim else out.reshape(_reduced_shape(a.shape, dims))


class Norm2(Function):
    """The Euclidean norm; its gradient is 0 (not NaN) at the zero vector, as PyTorch."""

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        out = ctx.xp.sqrt((a * a).sum(axis=dims, keepdims=True))
        ctx.save_for_backward(a)
        ctx.input_shape = a.shape
        ctx.dims = dims
        return out if keepdim else out.reshape(_reduced_shape(a.shape, dims))

    @staticmethod
    def backward(ctx, grad_out):
        from .elementwise import where

        (a,) = ctx.saved_tensors
        # Recomputed from the input so that the second derivative sees d(1/norm)/da too.
        out = Norm2.apply(a, ctx.dims, True)
        safe = where(out == 0, 1.0, out)
        return _unreduce(grad_out, ctx.input_shape, ctx.dims) * a / safe, None, None


class NormP(Function):
    """The p-norm for p other than 0, 1, 2 and inf: ``sum(|a|^p) ^ (1/p)`` (p < 0 too).

    Its gradient ``sign(a) |a|^(p-1) / norm^(p-1)`` is 0 (not NaN) at the zero vector and at
    zero elements, as PyTorch. Where we differ: the second derivative at a zero element is 0
    for every p, where PyTorch gives NaN for p < 2.
    """

    @staticmethod
    def forward(ctx, a, dims, keepdim, p):
        xp = ctx.xp
        magnitude = xp.abs(a)
        if p < 0:
            # |0|^p is inf for p < 0 (so the norm is 0), without NumPy's divide warning.
            zero = magnitude == 0
            powered = xp.where(zero, xp.inf, xp.where(zero, 1.0, magnitude) ** p)
        else:
            powered = magnitude**p
        out = powered.sum(axis=dims, keepdims=True) ** (1.0 / p)
        ctx.save_for_backward(a)
        ctx.input_shape = a.shape
        ctx.dims = dims
        ctx.p = p
        return out if keepdim else out.reshape(_reduced_shape(a.shape, dims))

    @staticmethod
    def backward(ctx, grad_out):
        from .elementwise import Abs, sign, where

        (a,) = ctx.saved_tensors
        p = ctx.p
        # Recomputed from the input so that the second derivative sees d(norm)/da too.
        out = NormP.apply(a, ctx.dims, True, p)
        zero = a == 0
        # |a|^(p-1) is inf at a == 0 for p < 1; sign(a) = 0 there makes the gradient 0.
        power = sign(a) * where(zero, 1.0, Abs.apply(a)) ** (p - 1)
        scale = where(out == 0, 1.0, out) ** (p - 1)
        grad = _unreduce(grad_out, ctx.input_shape, ctx.dims) * power / scale
        if p < 0:
            # A zero element makes the norm 0 in a whole neighbourhood: its gradient is 0.
            grad = where(expand(out, ctx.input_shape) == 0, 0.0, grad)
        return grad, None, None, None


def _reduced_shape(shape: tuple, dims: tuple | None) -> tuple:
    if dims is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in dims)


class NormZero(Function):
    """The "0-norm": how many elements are not zero (a float); its gradient is zero."""

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.input_shape = a.shape
        return (a != 0).sum(axis=dims, keepdims=keepdim).astype(a.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        xp = grad_out._backend.xp
        zeros = xp.zeros(ctx.input_shape, dtype=grad_out.dtype)
        return Tensor._make(zeros, grad_out._backend), None, None


class NuclearNorm(Function):
    """The sum of the singular values of the matrices in the last two dims. Its gradient is
    U V^T (from the SVD), which holds where the matrix has full rank, as PyTorch."""

    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        u, singular, vh = xp.linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(u @ vh)
        return singular.sum(axis=-1)

    @staticmethod
    def backward(ctx, grad_out):
        if _state.enabled:
            raise NotImplementedError(
                "norm(p='nuc'): second derivatives (create_graph=True) are not supported"
            )
        (direction,) = ctx.saved_tensors
        return grad_out.reshape(grad_out.shape + (1, 1)) * direction


def _nuclear_norm(a: Tensor, dim: Any, keepdim: bool) -> Tensor:
    from .shape import permute

    ndim = a.data.ndim
    if dim is None:
        if ndim != 2:
            raise RuntimeError(
                f"norm: 'nuc' needs a 2-D input or a dim of two ints, got shape {a.shape}"
            )
        dim = (0, 1)
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"norm: 'nuc' needs dim to be a pair of ints, got {dim!r}")
    rows, cols = (_normalize_dim(d, ndim, "norm") for d in dim)
    if rows == cols:
        raise RuntimeError(f"norm: 'nuc' needs two different dims, got {dim!r}")
    rest = [d for d in range(ndim) if d not in (rows, cols)]
    out = NuclearNorm.apply(permute(a, *rest, rows, cols))
    if keepdim:
        out = out.reshape(tuple(1 if d in (rows, cols) else s for d, s in enumerate(a.shape)))
    return out


def norm(a: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default): p = 2 / 'fro', 1, inf, -inf, 0
    (the count of non-zeros), any other number (negative too), or 'nuc' (the nuclear norm of
    the matrices in the two ``dim`` axes).

    Shape: ``a`` without the ``dim`` axes (kept as 1 with ``keepdim``).
    """
    if a.data.dtype.kind not in "fc":
        raise TypeError(
            f"norm: expected a floating point tensor, got {a.dtype} (use .float() first)"
        )
    if p == "nuc":
        return _nuclear_norm(a, dim, keepdim)
    dims = _dims(dim, a.data.ndim, "norm")
    if p in ("fro", 2, 2.0):
        return Norm2.apply(a, dims, keepdim)
    if p == 1:
        return sum(a.abs(), dims, keepdim)
    if p == float("inf"):
        return amax(a.abs(), dims, keepdim)
    if p == float("-inf"):
        return amin(a.abs(), dims, keepdim)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and p == 0:
        return NormZero.apply(a, dims, keepdim)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p):
        return NormP.apply(a, dims, keepdim, p)
    raise ValueError(f"norm: unsupported p={p!r}; use 'fro', 'nuc', a number, or +-inf")


class Prod(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        xp = ctx.xp
        out = xp.prod(a, axis=dims, keepdims=True)
        ctx.input_shape = a.shape
        ctx.dims = dims
        # The product of the others (exclusive cumulative products, right even with zeros where
        # out / a is 0/0), computed only when a gradient is wanted, and without asking the
        # device whether there are zeros: that question would be a host round trip per call.
        others = _product_of_others(xp, a, dims) if ctx.needs_input_grad[0] else None
        ctx.save_for_backward(a, others)
        return out if keepdim else out.reshape(_reduced_shape(a.shape, dims))

    @staticmethod
    def backward(ctx, grad_out):
        a, others = ctx.saved_tensors
        grad = _unreduce(grad_out, ctx.input_shape, ctx.dims)
        if not _state.enabled:
            return grad * others, None, None
        # A graph of the gradient is wanted (create_graph): the product of the others must be
        # differentiable ops. Without zeros out / a is; with zeros, a masked product (O(n^2)).
        # Double backward is rare enough to pay one explicit read of "any zero?" here.
        has_zero = bool(a._backend.to_host((a.data == 0).any()))
        if not has_zero:
            full = Prod.apply(a, ctx.dims, True)
            return grad * expand(full, ctx.input_shape) / a, None, None
        return grad * _product_of_others_graph(a, ctx.dims), None, None


def _product_of_others(xp: Any, a: Any, dims: tuple | None) -> Any:
    """For each element, the product of the other elements of its reduction group."""
    moved = a.reshape(-1) if dims is None else xp.moveaxis(a, dims, tuple(range(-len(dims), 0)))
    groups = moved.reshape(-1) if dims is None else moved.reshape(moved.shape[: -len(dims)] + (-1,))
    ones = xp.ones_like(groups[..., :1])
    before = xp.cumprod(xp.concatenate([ones, groups[..., :-1]], axis=-1), axis=-1)
    after = xp.flip(
        xp.cumprod(xp.flip(xp.concatenate([groups[..., 1:], ones], axis=-1), -1), -1), -1
    )
    others = (before * after).reshape(moved.shape)
    if dims is None:
        return others.reshape(a.shape)
    return xp.moveaxis(others, tuple(range(-len(dims), 0)), dims)


def _product_of_others_graph(a: Tensor, dims: tuple | None) -> Tensor:
    """``_product_of_others`` with Tensor ops (differentiable): a masked product per group.

    Each group of n reduced elements is broadcast to an (n, n) matrix whose diagonal is 1, so
    row i multiplies every element but the i-th. O(n^2) memory, only for double backward.
    """
    from .elementwise import where
    from .shape import Permute, Reshape

    ndim = a.data.ndim
    reduced = tuple(range(ndim)) if dims is None else dims
    kept = tuple(d for d in range(ndim) if d not in reduced)
    order = kept + reduced
    moved = Permute.apply(a, order) if order != tuple(range(ndim)) else a
    kept_shape = tuple(a.data.shape[d] for d in kept)
    n = _count(a.data.shape, reduced)
    groups = Reshape.apply(moved, kept_shape + (1, n))
    xp = a._backend.xp
    diagonal = Tensor._make(xp.eye(n, dtype=bool), a._backend)
    masked = where(diagonal, 1.0, expand(groups, kept_shape + (n, n)))
    others = Prod.apply(masked, (len(kept_shape) + 1,), False)
    others = Reshape.apply(others, moved.data.shape)
    if order == tuple(range(ndim)):
        return others
    inverse = [0] * ndim
    for i, d in enumerate(order):
        inverse[d] = i
    return Permute.apply(others, tuple(inverse))


def prod(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Prod.apply(a, _dims(dim, a.data.ndim, "prod"), keepdim)


def all(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    dims = _dims(dim, a.data.ndim, "all")
    from .elementwise import _no_grad_call

    return _no_grad_call(a, "all", axis=dims, keepdims=keepdim)


def any(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    dims = _dims(dim, a.data.ndim, "any")
    from .elementwise import _no_grad_call

    return _no_grad_call(a, "any", axis=dims, keepdims=keepdim)
