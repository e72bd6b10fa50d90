"""Rearranging ops built from the shape and index primitives: flip, roll, narrow, select, movedim,
the stack and split families, broadcasting helpers, meshgrid and combinations.

Besides ``Flip`` and ``Roll``, nothing here needs a new backward rule: each op is a composition of
``Reshape``, ``Permute``, ``Expand``, ``Split``/``Cat`` and ``Getitem`` (whose backward scatter-adds
through the backend), so every op is differentiable to any order. As in PyTorch, ``narrow``,
``select``, ``movedim``, ``unbind`` and the splits share memory with their input; ``flip``,
``roll`` and ``rot90`` copy.
"""

from __future__ import annotations

from typing import Any

import backends
from backends import dtypes as _dtypes

from ..function import Function
from ..tensor import Tensor, _normalize_dim
from .convert import Clone
from .index import Getitem, _index_array, host_min_max
from .shape import Split, _shape_arg, cat, expand, permute, reshape, split, stack


def _dims_arg(dims: Any, ndim: int, op: str) -> tuple:
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    dims = tuple(_normalize_dim(d, ndim, op) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op}: dims {dims} repeat a dimension")
    return dims


def _index_along(a: Tensor, dim: int, index: Any) -> Tensor:
    """``a`` indexed along ``dim`` by a basic or advanced index (a differentiable Getitem)."""
    return Getitem.apply(a, (slice(None),) * dim + (index,))


# ------------------------------------------------------------------------ flip, roll, rot90
class Flip(Function):
    """A reversed copy (PyTorch's flip copies; a reversed view would let in-place writes to the
    result change the input).
    """

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return ctx.xp.flip(a, dims).copy() if dims else a.copy()

    @staticmethod
    def backward(ctx, grad_out):
        return Flip.apply(grad_out, ctx.dims), None


def flip(a: Tensor, dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims``. Shape: unchanged."""
    if a.data.ndim == 0:
        _dims_arg(dims, 0, "flip")
        return Clone.apply(a)
    return Flip.apply(a, _dims_arg(dims, a.data.ndim, "flip"))


def fliplr(a: Tensor) -> Tensor:
    """Reverse dim 1 (left/right). Shape: unchanged; at least 2-d."""
    if a.data.ndim < 2:
        raise RuntimeError(f"fliplr: input must be >= 2-d, got shape {a.shape}")
    return flip(a, 1)


def flipud(a: Tensor) -> Tensor:
    """Reverse dim 0 (up/down). Shape: unchanged; at least 1-d."""
    if a.data.ndim < 1:
        raise RuntimeError(f"flipud: input must be >= 1-d, got shape {a.shape}")
    return flip(a, 0)


def roll(a: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements along ``dims`` by ``shifts``, wrapping around (flattened when no dims).

    Shape: unchanged.
    """
    shift_list = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    if dims is None:
        if len(shift_list) != 1:
            raise RuntimeError(
                f"roll: with no dims, shifts must be a single int, got {shifts!r} for shape "
                f"{a.shape}"
            )
        return reshape(roll(reshape(a, -1), shift_list[0], 0), a.shape)
    dim_list = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shift_list) != len(dim_list):
        raise RuntimeError(
            f"roll: shifts {shifts!r} and dims {dims!r} must have the same length "
            f"(input shape {a.shape})"
        )
    dim_list = tuple(_normalize_dim(d, a.data.ndim, "roll") for d in dim_list)
    if a.data.ndim == 0:
        return Clone.apply(a)
    return Roll.apply(a, tuple(int(s) for s in shift_list), dim_list)


class Roll(Function):
    """``xp.roll`` (a copy); its backward rolls the other way."""

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts = shifts
        ctx.dims = dims
        return ctx.xp.roll(a, shifts, dims)

    @staticmethod
    def backward(ctx, grad_out):
        return Roll.apply(grad_out, tuple(-s for s in ctx.shifts), ctx.dims), None, None


def rot90(a: Tensor, k: int = 1, dims: Any = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the
    second). Shape: the two dims swap sizes when ``k`` is odd.
    """
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected exactly 2 rotation dims, got {dims}")
    if a.data.ndim < 2:
        raise RuntimeError(f"rot90: expected a tensor of at least 2 dims, got shape {a.shape}")
    d0, d1 = _dims_arg(dims, a.data.ndim, "rot90")
    k %= 4
    if k == 1:
        return flip(a, d1).transpose(d0, d1)
    if k == 2:
        return flip(a, (d0, d1))
    if k == 3:
        return flip(a, d0).transpose(d0, d1)
    return Clone.apply(a)


# ------------------------------------------------------------------ narrow, select, movedim
def narrow(a: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """``length`` elements along ``dim`` from ``start`` (a negative start counts from the end).

    Shape: ``a``'s with ``length`` along dim. Shares memory with ``a``, as PyTorch's view.
    """
    if a.data.ndim == 0:
        raise RuntimeError("narrow: cannot be applied to a 0-dim tensor")
    dim = _normalize_dim(dim, a.data.ndim, "narrow")
    n = a.data.shape[dim]
    start = int(start)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} out of range for dimension {dim} of size {n}")
    if start < 0:
        start += n  # only a negative start wraps: start == n is one past the end
    if length < 0 or start + length > n:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds dimension {dim} of size {n} "
            f"(shape {a.shape})"
        )
    return _index_along(a, dim, slice(start, start + length))


def select(a: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, which is removed. Shape: ``a``'s without ``dim``."""
    if a.data.ndim == 0:
        raise IndexError("select: cannot be applied to a 0-dim tensor")
    dim = _normalize_dim(dim, a.data.ndim, "select")
    n = a.data.shape[dim]
    index = int(index)
    if not -n <= index < n:
        raise IndexError(
            f"select: index {index} out of range for dimension {dim} of size {n} (shape {a.shape})"
        )
    return _index_along(a, dim, index)


def movedim(a: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination``; the others keep their order.

    Shape: ``a``'s sizes, permuted.
    """
    ndim = a.data.ndim
    src = _dims_arg(source, ndim, "movedim")
    dst = _dims_arg(destination, ndim, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: source {source!r} and destination {destination!r} must have the same "
            "number of dims"
        )
    order = [None] * ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(ndim) if d not in src)
    order = [next(rest) if o is None else o for o in order]
    if ndim == 0:
        return Getitem.apply(a, ())
    return permute(a, order)


def unbind(a: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, each without it. Shape: n tensors of ``a``'s shape minus dim."""
    if a.data.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    dim = _normalize_dim(dim, a.data.ndim, "unbind")
    n = a.data.shape[dim]
    shape = a.data.shape[:dim] + a.data.shape[dim + 1 :]
    if n == 0:
        return ()
    if n == 1:
        return (reshape(a, shape),)
    return tuple(reshape(p, shape) for p in Split.apply(a, [1] * n, dim))


def unflatten(a: Tensor, dim: int, sizes: Any) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one entry may be -1).

    Shape: (*, n, *) -> (*, *sizes, *) with prod(sizes) == n.
    """
    dim = _normalize_dim(dim, a.data.ndim, "unflatten")
    sizes = _shape_arg((sizes,), "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = a.data.shape[dim]
    known = 1
    for s in sizes:
        if s != -1:
            known *= s
    if sizes.count(-1) > 1 or (-1 not in sizes and known != n) or (-1 in sizes and n % known):
        raise RuntimeError(
            f"unflatten: provided sizes {sizes} don't multiply up to the size of dim {dim} ({n}) "
            f"in the input tensor of shape {a.shape}"
        )
    if -1 in sizes:
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    return reshape(a, a.data.shape[:dim] + sizes + a.data.shape[dim + 1 :])


def ravel(a: Tensor) -> Tensor:
    """The elements in a 1-d tensor. Shape: (numel,)."""
    return reshape(a, -1)


def tile(a: Tensor, *dims: Any) -> Tensor:
    """``repeat`` with ``dims`` padded with leading 1s to ``a``'s number of dims.

    Shape: each size times its repeat count.
    """
    from .shape import repeat

    dims = _shape_arg(dims, "tile")
    dims = (1,) * (a.data.ndim - len(dims)) + dims
    return repeat(a, dims)


def repeat_interleave(
    a: Tensor, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Repeat each element ``repeats`` times (per element when ``repeats`` is a tensor).

    ``repeat_interleave(repeats_tensor)`` alone gives ``arange(n)`` repeated as
    ``repeats_tensor`` says (PyTorch's second form).
    Shape: dim grows to sum(repeats) (flattened first when dim is None).
    """
    xp = a._backend.xp
    if repeats is None:
        counts = _index_array(a, a, "repeat_interleave")
        if counts.ndim != 1:
            raise RuntimeError(f"repeat_interleave: repeats must be 1-d, got shape {a.shape}")
        if counts.size and host_min_max(counts)[0] < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        out = _repeated_positions(xp, counts)
        return Tensor._make(out.astype(a.data.dtype), a._backend)
    if dim is None:
        a = reshape(a, -1)
        dim = 0
    dim = _normalize_dim(dim, a.data.ndim, "repeat_interleave")
    n = a.data.shape[dim] if a.data.ndim else 1
    if isinstance(repeats, int) and not isinstance(repeats, bool):
        if repeats < 0:
            raise RuntimeError(f"repeat_interleave: repeats can not be negative, got {repeats}")
        counts = repeats
    else:
        counts = _index_array(a, repeats, "repeat_interleave")
        if counts.ndim > 1 or (counts.ndim == 1 and counts.shape[0] not in (1, n)):
            raise RuntimeError(
                f"repeat_interleave: repeats must have the same size ({counts.shape}) as input "
                f"{a.shape} along dim {dim} ({n}), or be a single value"
            )
        if counts.size and host_min_max(counts)[0] < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        counts = counts.reshape(-1)
    index = (
        xp.repeat(xp.arange(n), counts)
        if isinstance(counts, int)
        else _repeated_positions(xp, xp.broadcast_to(counts, (n,)))
    )
    if output_size is not None and index.shape[0] != output_size:
        raise RuntimeError(
            f"repeat_interleave: output_size {output_size} does not match the repeated size "
            f"{index.shape[0]}"
        )
    if a.data.ndim == 0:
        a = reshape(a, 1)
    return _index_along(a, dim, index)


def _repeated_positions(xp: Any, counts: Any) -> Any:
    """``i`` repeated ``counts[i]`` times, for each i. (CuPy's repeat takes no array counts.)"""
    ends = xp.cumsum(counts)
    # The output's length is data: one explicit read of it.
    total = int(backends.backend_of_array(ends).to_host(ends[-1]).item()) if counts.size else 0
    return xp.searchsorted(ends, xp.arange(total), side="right")


# --------------------------------------------------------------------- atleast, stacking
def _atleast(tensors: tuple, ndim: int) -> Any:
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        shape = t.data.shape
        if len(shape) < ndim:
            if ndim == 3 and len(shape) == 2:
                shape = shape + (1,)
            else:
                # 0-d -> (1,), (1, 1), (1, 1, 1); 1-d (n,) -> (1, n), (1, n, 1) (NumPy's rule).
                padded = {0: (1,) * ndim, 1: (1,) + shape + (1,) * (ndim - 2)}
                shape = padded[len(shape)]
            t = reshape(t, shape)
        out.append(t)
    return out[0] if single else tuple(out)


def atleast_1d(*tensors: Any) -> Any:
    """Each input viewed with at least 1 dim (a tuple when given several).

    Shape: 0-d -> (1,); others unchanged.
    """
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Any) -> Any:
    """Each input viewed with at least 2 dims. Shape: 0-d -> (1, 1), (n,) -> (1, n)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Any) -> Any:
    """Each input viewed with at least 3 dims.

    Shape: 0-d -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1).
    """
    return _atleast(tensors, 3)


def _tensor_list(tensors: Any, op: str) -> list:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, got {type(t).__name__} at position {i}")
    return tensors


def hstack(tensors: Any) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-d inputs). Shape: sizes add along that dim."""
    tensors = [atleast_1d(t) for t in _tensor_list(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0].data.ndim == 1 else 1)


def vstack(tensors: Any) -> Tensor:
    """Concatenate along dim 0 after making each input at least 2-d.

    Shape: (n_i, *) -> (sum n_i, *).
    """
    return cat([atleast_2d(t) for t in _tensor_list(tensors, "vstack")], 0)


def dstack(tensors: Any) -> Tensor:
    """Concatenate along dim 2 after making each input at least 3-d.

    Shape: (m, n, k_i) -> (m, n, sum k_i).
    """
    return cat([atleast_3d(t) for t in _tensor_list(tensors, "dstack")], 2)


def column_stack(tensors: Any) -> Tensor:
    """0-d and 1-d inputs become columns (n, 1); then concatenate along dim 1.

    Shape: (n, sum of columns).
    """
    tensors = _tensor_list(tensors, "column_stack")
    columns = [reshape(t, (t.data.size, 1)) if t.data.ndim <= 1 else t for t in tensors]
    return cat(columns, 1)


# ----------------------------------------------------------------------------- splitting
def split_with_sizes(a: Tensor, split_sizes: Any, dim: int = 0) -> tuple:
    """``split`` with explicit sizes that must add up to dim's size.

    Shape: piece i has ``split_sizes[i]`` along dim.
    """
    return split(a, list(split_sizes), dim)


def tensor_split(a: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    """Split into ``n`` nearly equal parts (an int) or at the given indices (a sequence).

    Unlike ``split``, parts may be empty and the sizes need not add up exactly to a multiple.
    Shape: the first ``size % n`` parts get one more element along dim.
    """
    if a.data.ndim == 0:
        raise RuntimeError("tensor_split: expected at least a 1-dimensional tensor")
    dim = _normalize_dim(dim, a.data.ndim, "tensor_split")
    n = a.data.shape[dim]
    if isinstance(indices_or_sections, Tensor):
        if indices_or_sections.data.dtype.kind not in "iu" or indices_or_sections.ndim > 1:
            raise RuntimeError(
                "tensor_split: tensor_indices_or_sections must be a 0-d or 1-d int64 tensor, got "
                f"{indices_or_sections.dtype} of shape {indices_or_sections.shape}"
            )
        value = indices_or_sections.tolist()
        indices_or_sections = value
    if isinstance(indices_or_sections, int) and not isinstance(indices_or_sections, bool):
        sections = indices_or_sections
        if sections <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be > 0, got {sections}")
        base, extra = divmod(n, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
    else:
        # Piece k is a[index[k-1]:index[k]] with Python's slice clamping; decreasing indices make
        # empty or overlapping pieces (PyTorch's rule), which only per-piece slices can express.
        bounds = [0]
        for i in indices_or_sections:
            i = int(i)
            bounds.append(max(0, min(i + n if i < 0 else i, n)))
        bounds.append(n)
        if any(lo > hi for lo, hi in zip(bounds[:-1], bounds[1:])):
            return tuple(
                _index_along(a, dim, slice(lo, max(lo, hi)))
                for lo, hi in zip(bounds[:-1], bounds[1:])
            )
        sizes = [hi - lo for lo, hi in zip(bounds[:-1], bounds[1:])]
    if len(sizes) == 1:
        return (Getitem.apply(a, ()),)
    return Split.apply(a, sizes, dim)


def _directional_split(a: Tensor, sections: Any, dim: int, op: str, min_ndim: int) -> tuple:
    if a.data.ndim < min_ndim:
        raise RuntimeError(
            f"{op}: requires a tensor with at least {min_ndim} dimension(s), but got a tensor "
            f"with {a.data.ndim} dimensions"
        )
    if isinstance(sections, int) and not isinstance(sections, bool):
        n = a.data.shape[dim]
        if sections <= 0 or n % sections:
            raise RuntimeError(
                f"{op}: attempted to split along dimension {dim}, but the size of the dimension "
                f"{n} is not divisible by the split_size {sections}!"
            )
    return tensor_split(a, sections, dim)


def hsplit(a: Tensor, sections: Any) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for 1-d); an int must divide the size evenly.

    Shape: as ``tensor_split``.
    """
    return _directional_split(a, sections, 0 if a.data.ndim == 1 else 1, "hsplit", 1)


def vsplit(a: Tensor, sections: Any) -> tuple:
    """``tensor_split`` along dim 0 of an at least 2-d tensor. Shape: as ``tensor_split``."""
    return _directional_split(a, sections, 0, "vsplit", 2)


def dsplit(a: Tensor, sections: Any) -> tuple:
    """``tensor_split`` along dim 2 of an at least 3-d tensor. Shape: as ``tensor_split``."""
    return _directional_split(a, sections, 2, "dsplit", 3)


# ---------------------------------------------------------------------------- broadcasting
def broadcast_shapes(*shapes: Any) -> tuple:
    """The shape that ``shapes`` broadcast to (PyTorch returns a ``torch.Size``; ours a tuple).

    Shape: the broadcast of the inputs' shapes.
    """
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for shape in shapes:
        for i, size in enumerate(shape, ndim - len(shape)):
            if size < 0:
                raise RuntimeError(f"broadcast_shapes: trying to create a tensor of size {size}")
            if out[i] == 1:
                out[i] = size
            elif size not in (1, out[i]):
                raise RuntimeError(
                    f"broadcast_shapes: shape mismatch: objects cannot be broadcast to a single "
                    f"shape: {[tuple(s) for s in shapes]} (size {size} vs {out[i]} at dimension "
                    f"{i})"
                )
    return tuple(out)


def broadcast_to(a: Tensor, size: Any) -> Tensor:
    """``a`` expanded to ``size`` (-1 keeps a size). Shape: ``size``."""
    return expand(a, tuple(size))


def broadcast_tensors(*tensors: Any) -> tuple:
    """The inputs expanded to their common broadcast shape. Shape: that shape, for each."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    try:
        shape = broadcast_shapes(*(t.shape for t in tensors))
    except RuntimeError as exc:
        raise RuntimeError(str(exc).replace("broadcast_shapes", "broadcast_tensors")) from None
    return tuple(expand(t, shape) for t in tensors)


# --------------------------------------------------------------- meshgrid, products, combos
def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-d tensors. ``indexing='xy'`` swaps the first two output dims.

    Shape: n inputs of sizes (s1, ..., sn) -> n grids of shape (s1, ..., sn) ('ij').
    Where we differ: PyTorch warns when ``indexing`` is not given; we default to ``'ij'``
    quietly.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    tensors = _tensor_list(tensors, "meshgrid")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.data.ndim > 1:
            raise RuntimeError(f"meshgrid: expects 0-d or 1-d tensors, got shape {t.shape}")
        if t.dtype != tensors[0].dtype or t.device != tensors[0].device:
            raise RuntimeError(
                "meshgrid: expects all tensors to have the same dtype and device, got "
                f"{[(str(u.dtype), u.device) for u in tensors]}"
            )
    sizes = [t.data.size for t in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(tensors):
        axis = {0: 1, 1: 0}.get(i, i) if swap else i
        view = [1] * len(tensors)
        view[axis] = t.data.size
        out.append(expand(reshape(t, view), sizes))
    return tuple(out)


def cartesian_prod(*tensors: Any) -> Tensor:
    """Every combination of one element from each 1-d input. Shape: (prod of sizes, n_inputs)."""
    tensors = _tensor_list(tensors, "cartesian_prod")
    for t in tensors:
        if t.data.ndim != 1:
            raise RuntimeError(f"cartesian_prod: expects 1-d tensors, got shape {t.shape}")
    if len(tensors) == 1:
        return tensors[0]  # PyTorch returns the input itself
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)


def combinations(a: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of a 1-d tensor's elements, in itertools' order.

    Shape: (n_combinations, r). Built from an r-dimensional grid of positions kept where they
    increase (or don't decrease): O(n^r) memory, as PyTorch's own implementation.
    """
    if a.data.ndim != 1:
        raise RuntimeError(f"combinations: expects a 1-d tensor, got shape {a.shape}")
    if r < 0:
        raise RuntimeError(f"combinations: r must be non-negative, got {r}")
    xp = a._backend.xp
    n = a.data.shape[0]
    if r == 0:
        return Getitem.apply(a, (slice(0, 0),))
    grids = xp.meshgrid(*([xp.arange(n)] * r), indexing="ij")
    keep = xp.ones(grids[0].shape, dtype=_dtypes.bool_)
    for lower, upper in zip(grids[:-1], grids[1:]):
        keep &= (lower <= upper) if with_replacement else (lower < upper)
    index = xp.stack([g[keep] for g in grids], axis=1) if r > 1 else xp.arange(n)[:, None]
    return Getitem.apply(a, (index,))
