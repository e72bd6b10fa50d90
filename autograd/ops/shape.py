"""Shape ops: views and rearrangements, joins and splits, padding, and the broadcast reduction."""

from __future__ import annotations

from typing import Any

from ..function import Function
from ..tensor import Tensor, _normalize_dim
from ..views import ViewFunction, register_view


def _shape_arg(shape: tuple, op: str) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the shape ``(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(f"{op}: sizes must be ints, got {shape!r}")
    return tuple(shape)


# ------------------------------------------------------------------------------ reshape
class Reshape(ViewFunction):
    """A view when the strides allow one (always for contiguous data), else a copy, as PyTorch's
    ``reshape``. Where we differ: ``view`` is ``reshape`` (it copies instead of raising)."""

    @staticmethod
    def _is_view(a, out, shape):
        return out.size > 0 and out.base is not None and (out.base is a or out.base is a.base)

    @staticmethod
    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad_out):
        return Reshape.apply(grad_out, ctx.input_shape), None


def reshape(a: Tensor, *shape: Any) -> Tensor:
    shape = _shape_arg(shape, "reshape")
    size = a.data.size
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if (
        shape.count(-1) > 1
        or any(s < -1 for s in shape)
        or (known != size if -1 not in shape else (known == 0 or size % known))
    ):
        raise RuntimeError(
            f"reshape: shape {shape} is invalid for input of size {size} ({a.shape})"
        )
    if shape == a.data.shape:
        return a
    return Reshape.apply(a, shape)


def squeeze(a: Tensor, dim: Any = None) -> Tensor:
    shape = a.data.shape
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        normalized = [_normalize_dim(d, len(shape), "squeeze") for d in dims]
        if len(set(normalized)) != len(normalized):
            raise RuntimeError(
                f"squeeze: a dim appears multiple times in the list of dims {tuple(dims)}"
            )
        dims = set(normalized)
    return reshape(a, tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1)))


def unsqueeze(a: Tensor, dim: int) -> Tensor:
    shape = list(a.data.shape)
    dim = _normalize_dim(dim, len(shape) + 1, "unsqueeze")
    shape.insert(dim, 1)
    return Reshape.apply(a, tuple(shape))


def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = a.data.shape
    if not shape:
        return reshape(a, (1,))
    start = _normalize_dim(start_dim, len(shape), "flatten")
    end = _normalize_dim(end_dim, len(shape), "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    middle = 1
    for s in shape[start : end + 1]:
        middle *= s
    return reshape(a, shape[:start] + (middle,) + shape[end + 1 :])


# ---------------------------------------------------------------------------- permute
class Permute(ViewFunction):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, grad_out):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return Permute.apply(grad_out, tuple(inverse)), None


def permute(a: Tensor, *dims: Any) -> Tensor:
    dims = _shape_arg(dims, "permute")
    ndim = a.data.ndim
    if len(dims) != ndim:
        raise ValueError(f"permute: {len(dims)} dims {dims} given for a tensor of shape {a.shape}")
    dims = tuple(_normalize_dim(d, ndim, "permute") for d in dims)
    if len(set(dims)) != ndim:
        raise ValueError(f"permute: dims {dims} repeat a dimension")
    return Permute.apply(a, dims)


def transpose(a: Tensor, dim0: int, dim1: int) -> Tensor:
    ndim = a.data.ndim
    dims = list(range(ndim))
    d0 = _normalize_dim(dim0, ndim, "transpose")
    d1 = _normalize_dim(dim1, ndim, "transpose")
    if ndim == 0:
        return Permute.apply(a, ())
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(a, tuple(dims))


# --------------------------------------------------------------------- expand, sum_to
class Expand(ViewFunction):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        return ctx.xp.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad_out):
        return sum_to(grad_out, ctx.input_shape), None


class SumTo(Function):
    """Sum a broadcast gradient back to ``shape``: the engine's one broadcast reduction."""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        lead = a.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and a.shape[lead + i] != 1
        )
        out = a.sum(axis=axes, keepdims=True) if axes else a
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad_out):
        return Expand.apply(grad_out, ctx.input_shape), None


def sum_to(a: Tensor, shape: tuple) -> Tensor:
    return a if a.data.shape == shape else SumTo.apply(a, tuple(shape))


def expand(a: Tensor, *sizes: Any) -> Tensor:
    sizes = _shape_arg(sizes, "expand")
    shape = a.data.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {shape} to {sizes} (fewer dimensions)")
    target = []
    for i, s in enumerate(sizes):
        old = shape[i - lead] if i >= lead else None
        if s == -1:
            if old is None:
                raise ValueError(f"expand: -1 is not allowed for the new leading dimension {i}")
            s = old
        elif old is not None and old != 1 and old != s:
            raise ValueError(
                f"expand: the expanded size {s} must match the existing size {old} at "
                f"dimension {i} (shape {shape} to {sizes})"
            )
        target.append(s)
    target = tuple(target)
    return a if target == shape else Expand.apply(a, target)


class Repeat(Function):
    @staticmethod
    def forward(ctx, a, sizes):
        ctx.input_shape = a.shape
        ctx.sizes = sizes
        return ctx.xp.tile(a, sizes)

    @staticmethod
    def backward(ctx, grad_out):
        sizes = ctx.sizes
        shape = (1,) * (len(sizes) - len(ctx.input_shape)) + tuple(ctx.input_shape)
        interleaved = []
        for r, s in zip(sizes, shape):
            interleaved += [r, s]
        summed = grad_out.reshape(interleaved).sum(dim=tuple(range(0, 2 * len(sizes), 2)))
        return summed.reshape(ctx.input_shape), None


def repeat(a: Tensor, *sizes: Any) -> Tensor:
    sizes = _shape_arg(sizes, "repeat")
    if len(sizes) < a.data.ndim:
        raise ValueError(
            f"repeat: {len(sizes)} repeat sizes {sizes} given for a tensor of shape {a.shape}; "
            "give at least one per dimension"
        )
    if any(s < 0 for s in sizes):
        raise ValueError(
            f"repeat: repeat sizes must be non-negative, got {sizes} for a tensor of shape "
            f"{a.shape}"
        )
    return Repeat.apply(a, sizes)


# ------------------------------------------------------------------- cat, stack, split
class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.sizes = [a.shape[dim] for a in arrays]
        ctx.dim = dim
        return ctx.xp.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad_out):
        return Split.apply(grad_out, ctx.sizes, ctx.dim)


class Split(Function):
    """Pieces along ``dim``: views of ``a``, as PyTorch's (each registered as the slice that
    replays it, so in-place changes through a piece are tracked like any view's)."""

    @classmethod
    def apply(cls, a: Tensor, sizes: Any, dim: int) -> tuple:
        from .index import Getitem

        pieces = Function.apply.__func__(cls, a, sizes, dim)
        start = 0
        for piece, size in zip(pieces, sizes):
            register_view(
                a, piece, (Getitem, ((slice(None),) * dim + (slice(start, start + size),),))
            )
            start += size
        return pieces

    @staticmethod
    def forward(ctx, a, sizes, dim):
        ctx.dim = dim
        bounds = []
        total = 0
        for s in sizes[:-1]:
            total += s
            bounds.append(total)
        return tuple(ctx.xp.split(a, bounds, axis=dim))

    @staticmethod
    def backward(ctx, *grad_outs):
        return Cat.apply(*grad_outs, dim=ctx.dim), None, None


def cat(tensors: Any, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension. Shape: all equal except along ``dim``."""
    from .elementwise import _CATEGORY

    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cat: expected Tensors, got {type(t).__name__} at position {i}")
    if any(t.data.shape != (0,) for t in tensors):
        # PyTorch's legacy rule: a 1-D empty tensor is skipped among tensors of other shapes.
        tensors = [t for t in tensors if t.data.shape != (0,)]
    for i, t in enumerate(tensors):
        if t.data.ndim == 0:
            raise RuntimeError(
                f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated; "
                "use stack, or unsqueeze it first"
            )
    first = tensors[0]
    dim = _normalize_dim(dim, first.data.ndim, "cat")
    for i, t in enumerate(tensors[1:], 1):
        if t.data.ndim != first.data.ndim or any(
            s != f for d, (s, f) in enumerate(zip(t.shape, first.shape)) if d != dim
        ):
            raise ValueError(
                f"cat: tensors must have the same shape except in dimension {dim}; tensor 0 has "
                f"shape {first.shape}, tensor {i} has {t.shape}"
            )
    dtypes = {t.data.dtype for t in tensors}
    if len(dtypes) > 1:
        target = max(dtypes, key=lambda d: (_CATEGORY[d.kind], d.itemsize))
        tensors = [t.to(target) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return Cat.apply(*tensors, dim=dim)


def stack(tensors: Any, dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"stack: expected Tensors, got {type(t).__name__} at position {i}")
        if t.shape != tensors[0].shape:
            raise ValueError(
                f"stack: expects each tensor to be equal size, but got {tensors[0].shape} at "
                f"entry 0 and {t.shape} at entry {i}"
            )
    dim = _normalize_dim(dim, tensors[0].data.ndim + 1, "stack")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def _at_least_1d(a: Tensor, op: str) -> None:
    if a.data.ndim == 0:
        raise RuntimeError(f"{op}: expects at least a 1-dimensional tensor, got a 0-d tensor")


def split(a: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    _at_least_1d(a, "split")
    dim = _normalize_dim(dim, a.data.ndim, "split")
    n = a.data.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [step] * (n // step) + ([n % step] if n % step else [])
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(
                f"split: sections {sizes} sum to {sum(sizes)}, but dimension {dim} of {a.shape} "
                f"has size {n}"
            )
    if len(sizes) <= 1:
        return (a,)
    return Split.apply(a, sizes, dim)


def chunk(a: Tensor, chunks: int, dim: int = 0) -> tuple:
    _at_least_1d(a, "chunk")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = a.data.shape[_normalize_dim(dim, a.data.ndim, "chunk")]
    step = max(-(-n // chunks), 1)
    return split(a, step, dim)


# -------------------------------------------------------------------------------- pad
class Pad(Function):
    @staticmethod
    def forward(ctx, a, widths, value):
        ctx.slices = tuple(slice(lo, lo + s) for (lo, _), s in zip(widths, a.shape))
        return ctx.xp.pad(a, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out[ctx.slices], None, None


_PAD_MODES = ("reflect", "replicate", "circular")


def pad(a: Tensor, pad: Any, mode: str = "constant", value: float = 0.0) -> Tensor:
    """``F.pad``: ``pad`` lists (left, right) widths starting from the last dimension."""
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > a.data.ndim:
        raise ValueError(
            f"pad: padding {pad} must have an even length of at most 2 * {a.data.ndim} entries"
        )
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {pad} is not supported")
    ndim = a.data.ndim
    widths = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        widths[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return Pad.apply(a, tuple(widths), value)
    if mode not in _PAD_MODES:
        raise ValueError(
            f"pad: unknown mode {mode!r}; use constant, reflect, replicate or circular"
        )
    # Non-constant modes gather existing elements along each padded dim: an AxisGather, whose
    # gradient adds back by slices (a few runs per dim), not by a scatter-add.
    xp = a._backend.xp
    out = a
    for d, (lo, hi) in enumerate(widths):
        if lo or hi:
            n = a.data.shape[d]
            if mode == "reflect" and (lo >= n or hi >= n):
                raise ValueError(f"pad: reflect padding {lo, hi} must be < the size {n} of dim {d}")
            index = _pad_index(xp, n, lo, hi, mode)
            plan = GatherPlan(_pad_sources(n, lo, hi, mode))
            out = AxisGather.apply(out, d, index, plan, n)
    return out


def _pad_sources(n: int, lo: int, hi: int, mode: str) -> list:
    """``_pad_index`` in Python ints, for the runs of the gradient (no device read)."""
    out = []
    for j in range(-lo, n + hi):
        if mode == "replicate":
            out.append(min(max(j, 0), n - 1))
        elif mode == "circular":
            out.append(j % n)
        else:
            period = 2 * (n - 1)
            k = abs(j) % period
            out.append(period - k if k >= n else k)
    return out


class GatherPlan:
    """How to add a gather's gradient back without a scatter-add, from its source positions
    (host ints): ``runs`` (out_start, out_stop, source_start, step) of step 1, -1 or 0 (a
    repeated source), each one slice-add or one sum; or, for many runs of non-decreasing sources
    (nearest resampling by a non-integer factor), ``uses`` passes: pass k adds, to every source,
    the gradient of its k-th use (where it has one), found on the device with ``searchsorted``
    (no host copy), as whole-array ops.
    """

    # More runs than this and the per-use passes (at most a few per source) are cheaper.
    MAX_RUNS = 8

    def __init__(self, sources: list) -> None:
        self.sources = list(sources)
        self.runs = self._runs(self.sources)
        self.uses = 0
        ordered = all(a <= b for a, b in zip(self.sources, self.sources[1:]))
        if ordered and len(self.runs) > self.MAX_RUNS:
            counts: dict = {}
            for source in self.sources:
                counts[source] = counts.get(source, 0) + 1
            self.uses = max(counts.values())

    @staticmethod
    def _runs(sources: list) -> tuple:
        runs = []
        i, m = 0, len(sources)
        while i < m:
            step = sources[i + 1] - sources[i] if i + 1 < m else 1
            if step not in (-1, 0, 1):
                step = 1
            j = i + 1
            while j < m and sources[j] - sources[j - 1] == step:
                j += 1
            runs.append((i, j, sources[i], step))
            i = j
        return tuple(runs)


def _along_axis(axis: int, sl: slice) -> tuple:
    return (slice(None),) * axis + (sl,)


class AxisGather(Function):
    """``take(a, index, axis)`` where ``index`` holds ``plan.sources`` (a ``GatherPlan``) on the
    device: padding and nearest resampling. Its gradient is ``AxisScatter``."""

    @staticmethod
    def forward(ctx, a, axis, index, plan, n):
        ctx.args = (axis, index, plan, n)
        return ctx.xp.take(a, index, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        return AxisScatter.apply(grad_out, *ctx.args), None, None, None, None


class AxisScatter(Function):
    """AxisGather's adjoint without a scatter-add: each run of the gradient added back to its
    sources by one slice-add (reversed for step -1, summed for a repeated source), or one pass
    per use of a source (see ``GatherPlan``)."""

    @staticmethod
    def forward(ctx, grad, axis, index, plan, n):
        ctx.args = (axis, index, plan, n)
        xp = ctx.xp
        shape = grad.shape[:axis] + (n,) + grad.shape[axis + 1 :]
        out = xp.zeros(shape, dtype=grad.dtype)
        if plan.uses:
            # index is non-decreasing: source s is used at positions [first[s], stop[s]).
            every = xp.arange(n, dtype=index.dtype)
            first = xp.searchsorted(index, every, side="left")
            count = xp.searchsorted(index, every, side="right") - first
            spread = (1,) * axis + (n,) + (1,) * (grad.ndim - axis - 1)
            last = grad.shape[axis] - 1
            for k in range(plan.uses):
                part = xp.take(grad, xp.minimum(first + k, last), axis=axis)
                out += xp.where((count > k).reshape(spread), part, grad.dtype.type(0))
            return out
        for start, stop, source, step in plan.runs:
            length = stop - start
            if step == 0:
                part = grad[_along_axis(axis, slice(start, stop))]
                out[_along_axis(axis, slice(source, source + 1))] += part.sum(
                    axis=axis, keepdims=True
                )
            elif step == 1:
                part = grad[_along_axis(axis, slice(start, stop))]
                out[_along_axis(axis, slice(source, source + length))] += part
            else:
                part = grad[_along_axis(axis, slice(stop - 1, start - 1 if start else None, -1))]
                out[_along_axis(axis, slice(source - length + 1, source + 1))] += part
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return AxisGather.apply(grad_out, *ctx.args), None, None, None, None


def _pad_index(xp: Any, n: int, lo: int, hi: int, mode: str) -> Any:
    """Source position of each padded position: reflect mirrors, replicate clamps, circular wraps.

    Plain arithmetic rather than ``xp.pad(arange, mode=...)``, whose modes CuPy may lack.
    """
    j = xp.arange(-lo, n + hi)
    if mode == "replicate":
        return xp.minimum(xp.maximum(j, 0), n - 1)
    if mode == "circular":
        return j % n
    period = 2 * (n - 1)
    j = xp.abs(j) % period
    return xp.where(j >= n, period - j, j)
