"""Matrix products and linear algebra (``torch.linalg``), with gradients.

Products are built on ``Matmul``; the decompositions are Functions with PyTorch's backward
formulas, written in differentiable ops so that second derivatives work too. Everything runs on
CuPy through ``cupy.linalg`` (the same names as ``numpy.linalg``).
"""

from __future__ import annotations

import builtins
import math
import string
from collections import namedtuple
from typing import Any

from backends import dtypes as _dtypes

from ..function import Function
from ..tensor import Tensor, _normalize_dim
from .index import host_bool


class Matmul(Function):
    """``a @ b`` with NumPy's rules: batched, broadcast over leading dims, 1-D vectors allowed.

    Batch-broadcast gradients are summed back by the engine, like any broadcast.
    """

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        ctx.ndims = (a.ndim, b.ndim)
        return a @ b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors  # each kept only if the other operand needs its gradient
        need_a, need_b = ctx.needs_input_grad
        a_ndim, b_ndim = ctx.ndims
        grad_a = grad_b = None
        if a_ndim == 1 and b_ndim == 1:
            grad_a = grad_out * b if need_a else None
            grad_b = grad_out * a if need_b else None
        elif a_ndim == 1:
            g = grad_out.unsqueeze(-2)
            grad_a = (g @ b.mT).squeeze(-2) if need_a else None
            grad_b = a.unsqueeze(-1) @ g if need_b else None
        elif b_ndim == 1:
            g = grad_out.unsqueeze(-1)
            grad_a = g @ b.unsqueeze(-2) if need_a else None
            grad_b = (a.mT @ g).squeeze(-1) if need_b else None
        else:
            grad_a = grad_out @ b.mT if need_a else None
            grad_b = a.mT @ grad_out if need_b else None
        return grad_a, grad_b


def matmul(a: Tensor, b: Tensor) -> Tensor:
    from .elementwise import _as_tensor, _binary

    b = _as_tensor(b, a)
    sa, sb = a.data.shape, b.data.shape
    if not sa or not sb:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got {sa} and {sb}")
    inner_a = sa[-1]
    inner_b = sb[-2] if len(sb) > 1 else sb[0]
    if inner_a != inner_b:
        raise RuntimeError(
            f"matmul: cannot multiply {sa} by {sb}: inner dimensions {inner_a} and {inner_b} differ"
        )
    if a.data.dtype != b.data.dtype:
        a, b = _binary(a, b)
    try:
        return Matmul.apply(a, b)
    except ValueError as exc:
        raise RuntimeError(f"matmul: cannot multiply {sa} by {sb}: {exc}") from None


# ------------------------------------------------------------------------------- helpers
def _check_tensor(op: str, name: str, value: Any) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


def _check_float(op: str, *tensors: Tensor) -> None:
    for t in tensors:
        if t.data.dtype.kind not in "fc":
            raise TypeError(
                f"{op}: expected a floating point tensor, got {t.dtype} of shape "
                f"{tuple(t.shape)} (use .float() or .double() first)"
            )


def _check_square(op: str, a: Tensor, name: str = "A") -> None:
    _check_float(op, a)
    shape = a.data.shape
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise RuntimeError(
            f"{op}: {name} must be batches of square matrices, but it has shape {tuple(shape)}"
        )


def _check_matrix(op: str, a: Tensor, name: str = "A") -> None:
    _check_float(op, a)
    if a.data.ndim < 2:
        raise RuntimeError(
            f"{op}: {name} must have at least 2 dimensions, but it has shape {tuple(a.shape)}"
        )


def _same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    if a.data.dtype != b.data.dtype:
        raise RuntimeError(
            f"{op}: expected both arguments to have the same dtype, but got {a.dtype} and {b.dtype}"
        )


def _mask(like: Tensor, lower: bool, diagonal: bool = True) -> Tensor:
    """A constant 0/1 mask of the lower (or upper) triangle of ``like``'s last two dims."""
    xp = like.xp
    n, m = like.data.shape[-2:]
    ones = xp.ones((n, m), dtype=like.data.dtype)
    k = 0 if diagonal else (-1 if lower else 1)
    mask = xp.tril(ones, k) if lower else xp.triu(ones, k)
    return Tensor._make(mask, like._backend)


def _eye(like: Tensor, n: int) -> Tensor:
    return Tensor._make(like.xp.eye(n, dtype=like.data.dtype), like._backend)


def _diag_embed(v: Tensor) -> Tensor:
    """``(*, n) -> (*, n, n)`` with ``v`` on the diagonal (differentiable)."""
    return v.unsqueeze(-1) * _eye(v, v.shape[-1])


def _diagonal(a: Tensor) -> Tensor:
    """The diagonal of the last two dims of a square ``a`` (differentiable)."""
    return (a * _eye(a, a.shape[-1])).sum(-1)


def _broadcast_batch(op: str, a: Tensor, b: Tensor, b_core: int = 2) -> tuple:
    """Expand the batch dims of ``a`` (matrices) and ``b`` (``b_core`` core dims) to one shape."""
    batch_a = tuple(a.shape[:-2])
    batch_b = tuple(b.shape[: b.ndim - b_core])
    try:
        batch = _broadcast_shapes(batch_a, batch_b)
    except ValueError:
        raise RuntimeError(
            f"{op}: the batch dimensions of A {tuple(a.shape)} and B {tuple(b.shape)} do not "
            "broadcast"
        ) from None
    if batch_a != batch:
        a = a.expand(*batch, *a.shape[-2:])
    if batch_b != batch:
        b = b.expand(*batch, *b.shape[b.ndim - b_core :])
    return a, b


def _broadcast_shapes(*shapes: tuple) -> tuple:
    ndim = builtins.max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        sizes = {s[len(s) - ndim + i] for s in shapes if len(s) - ndim + i >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _linalg_error(op: str, a: Any, exc: Exception) -> RuntimeError:
    return RuntimeError(f"{op}: {exc} (input of shape {tuple(a.shape)})")


# ------------------------------------------------------------------------ matrix products
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two matrices, no broadcasting. Shape: (n, m) @ (m, p) -> (n, p)."""
    _check_tensor("mm", "input", input)
    _check_tensor("mm", "mat2", mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(
            f"mm: both arguments must be matrices, got shapes {tuple(input.shape)} and "
            f"{tuple(mat2.shape)} (use matmul or bmm for batches)"
        )
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mm: mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} "
            f"and {mat2.shape[0]}x{mat2.shape[1]})"
        )
    _same_dtype("mm", input, mat2)
    return Matmul.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product, no broadcasting. Shape: (b, n, m) @ (b, m, p) -> (b, n, p)."""
    _check_tensor("bmm", "input", input)
    _check_tensor("bmm", "mat2", mat2)
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(
            f"bmm: both arguments must be 3-D tensors, got shapes {tuple(input.shape)} and "
            f"{tuple(mat2.shape)}"
        )
    b, n, m = input.shape
    if mat2.shape[0] != b or mat2.shape[1] != m:
        raise RuntimeError(
            f"bmm: expected mat2 of shape ({b}, {m}, *) for input of shape {tuple(input.shape)}, "
            f"got {tuple(mat2.shape)}"
        )
    _same_dtype("bmm", input, mat2)
    return Matmul.apply(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product. Shape: (n, m) @ (m,) -> (n,)."""
    _check_tensor("mv", "input", input)
    _check_tensor("mv", "vec", vec)
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        raise RuntimeError(
            f"mv: expected a matrix (n, m) and a vector (m,), got shapes {tuple(input.shape)} "
            f"and {tuple(vec.shape)}"
        )
    _same_dtype("mv", input, vec)
    return Matmul.apply(input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Dot product of two 1-D tensors of the same size and dtype. Shape: (n,), (n,) -> ()."""
    _check_tensor("dot", "input", input)
    _check_tensor("dot", "tensor", tensor)
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(
            f"dot: 1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors"
        )
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(
            f"dot: inconsistent tensor size, expected tensors of the same number of elements, "
            f"but got {input.shape[0]} and {tensor.shape[0]} elements"
        )
    if input.data.dtype != tensor.data.dtype:
        raise RuntimeError(
            f"dot: expected both vectors to have same dtype, but found {input.dtype} and "
            f"{tensor.dtype}"
        )
    return Matmul.apply(input, tensor)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot`` with the first argument conjugated; chalkgrad's tensors are real, so ``dot``."""
    return dot(input, other)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dims. Shape: (*a, n), (*b, n) -> (*a, *b); a 0-d argument multiplies."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            f"inner: the last dimensions of {tuple(input.shape)} and {tuple(other.shape)} differ"
        )
    return tensordot(input, other, dims=([-1], [-1]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors. Shape: (n,), (m,) -> (n, m)."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(
            f"outer: expected two 1-D tensors, got shapes {tuple(input.shape)} and "
            f"{tuple(vec2.shape)}"
        )
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def _scaled_sum(op: str, input: Tensor, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """``beta * input + alpha * product``; with beta = 0, ``input`` is ignored (NaN included).

    Where we differ: with beta = 0, ``input`` gets no gradient at all (PyTorch sends zeros).
    """
    try:
        shape = _broadcast_shapes(tuple(input.shape), tuple(product.shape))
    except ValueError:
        shape = None
    if shape != tuple(product.shape):
        raise RuntimeError(
            f"{op}: input of shape {tuple(input.shape)} does not broadcast to the product's "
            f"shape {tuple(product.shape)}"
        )
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return (input if beta == 1 else input * beta) + product


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``. Shape: (n, m) @ (m, p) -> (n, p)."""
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``. Shape: (n, m) @ (m,), input broadcast to (n,)."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``. Shape: (n,), (m,) -> (n, m)."""
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


def baddbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``. Shape: input broadcast to (b, n, p)."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``. Shape: input broadcast to (n, p)."""
    return _scaled_sum("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract ``dims`` (an int: last dims of a with first of b; or two lists of dims)."""
    if isinstance(dims, int):
        if dims < 0 or dims > builtins.min(a.ndim, b.ndim):
            raise RuntimeError(
                f"tensordot: dims={dims} is out of range for shapes {tuple(a.shape)} and "
                f"{tuple(b.shape)}"
            )
        dims_a = list(range(a.ndim - dims, a.ndim))
        dims_b = list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError(
            f"tensordot: both dimension lists must have the same length, got {dims_a} and {dims_b}"
        )
    dims_a = [_normalize_dim(d, a.ndim, "tensordot") for d in dims_a]
    dims_b = [_normalize_dim(d, b.ndim, "tensordot") for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(
                f"tensordot: contracted dimensions need to match, but first has size "
                f"{a.shape[da]} in dim {da} and second has size {b.shape[db]} in dim {db}"
            )
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    k = math.prod(a.shape[d] for d in dims_a)
    left = a.permute(*free_a, *dims_a).reshape(-1, k)
    right = b.permute(*dims_b, *free_b).reshape(k, -1)
    out_shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return Matmul.apply(left, right).reshape(*out_shape)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product: ``out[i*m + k] = a[i] * b[k]`` along every dim (shorter one padded)."""
    ndim = builtins.max(input.ndim, other.ndim)
    a = input.reshape(*((1,) * (ndim - input.ndim)), *input.shape)
    b = other.reshape(*((1,) * (ndim - other.ndim)), *other.shape)
    # Interleave: a's dims at even positions, b's at odd ones, then merge each pair.
    a = a.reshape(*[s for d in a.shape for s in (d, 1)])
    b = b.reshape(*[s for d in b.shape for s in (1, d)])
    prod = a * b
    return prod.reshape(*[x * y for x, y in zip(a.shape[::2], b.shape[1::2])])


def _cross(op: str, input: Tensor, other: Tensor, dim: int) -> Tensor:
    if input.ndim != other.ndim:
        raise RuntimeError(
            f"{op}: inputs must have the same number of dimensions, got {tuple(input.shape)} "
            f"and {tuple(other.shape)}"
        )
    dim = _normalize_dim(dim, input.ndim, op)
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(
            f"{op}: dimension {dim} does not have size 3 (shapes {tuple(input.shape)} and "
            f"{tuple(other.shape)})"
        )
    from .index import index_select

    def take(t: Tensor, order: list) -> Tensor:
        index = Tensor._make(t.xp.asarray(order, dtype="int64"), t._backend)
        return index_select(t, dim, index)

    return take(input, [1, 2, 0]) * take(other, [2, 0, 1]) - take(input, [2, 0, 1]) * take(
        other, [1, 2, 0]
    )


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (default: the first dim of size 3, as PyTorch)."""
    if dim is None:
        sizes = [i for i, s in enumerate(input.shape) if s == 3]
        if not sizes:
            raise RuntimeError(f"cross: no dimension of size 3 in input {tuple(input.shape)}")
        dim = sizes[0]
    return _cross("cross", input, other, dim)


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix. Shape: (n, m) -> ()."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got shape {tuple(input.shape)}")
    n = builtins.min(input.shape)
    return (input[:n, :n] * _eye(input, n)).sum()


def chain_matmul(*matrices: Tensor) -> Tensor:
    """Deprecated in PyTorch for ``linalg.multi_dot``, which it calls."""
    return multi_dot(list(matrices))


def multi_dot(tensors: Any) -> Tensor:
    """Product of matrices in the cheapest order; the first and last may be vectors."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot: expected at least 2 tensors, but got {len(tensors)}")
    first_vec = tensors[0].ndim == 1
    last_vec = tensors[-1].ndim == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(1)
    for i, m in enumerate(mats):
        if m.ndim != 2:
            raise RuntimeError(
                f"multi_dot: tensor {i} must be 2D (or 1D at the ends), got shape "
                f"{tuple(tensors[i].shape)}"
            )
        if i and mats[i - 1].shape[1] != m.shape[0]:
            raise RuntimeError(
                f"multi_dot: tensors {i - 1} and {i} with shapes {tuple(mats[i - 1].shape)} and "
                f"{tuple(m.shape)} cannot be multiplied"
            )
    out = _chain(
        mats, _chain_order([m.shape[0] for m in mats] + [mats[-1].shape[1]]), 0, len(mats) - 1
    )
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


def _chain_order(p: list) -> list:
    """The classic matrix-chain dynamic programme: split[i][j] is where to split i..j."""
    n = len(p) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = float("inf")
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if c < cost[i][j]:
                    cost[i][j] = c
                    split[i][j] = k
    return split


def _chain(mats: list, split: list, i: int, j: int) -> Tensor:
    if i == j:
        return mats[i]
    k = split[i][j]
    return Matmul.apply(_chain(mats, split, i, k), _chain(mats, split, k + 1, j))


# ----------------------------------------------------------------------------- einsum
class Einsum(Function):
    """``xp.einsum`` over explicit subscripts (no ellipsis: ``einsum`` expands it).

    The gradient of each operand is again an einsum: the output's gradient contracted with the
    other operands. Letters that only that operand has come back through a ones vector, and a
    letter repeated inside it (a diagonal, as in ``'ii'``) through an identity matrix, so the
    rule is one einsum and itself differentiable.
    """

    @staticmethod
    def forward(ctx, *operands, inputs, output, sizes):
        ctx.inputs = inputs
        ctx.output = output
        ctx.sizes = sizes
        ctx.save_for_backward(*operands)
        equation = ",".join(inputs) + "->" + output
        # NumPy's einsum reaches BLAS only with a contraction path; for tiny operands the path
        # search costs more than it saves.
        big = len(operands) > 2 or builtins.max(o.size for o in operands) > 1024
        return ctx.xp.einsum(equation, *operands, optimize=big)

    @staticmethod
    def backward(ctx, grad_out):
        operands = ctx.saved_tensors
        grads = []
        for k, subs in enumerate(ctx.inputs):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            grads.append(_einsum_grad(ctx, operands, k, subs, grad_out))
        return tuple(grads)


def _einsum_grad(ctx: Any, operands: tuple, k: int, subs: str, grad_out: Tensor) -> Tensor:
    others = [(t, s) for i, (t, s) in enumerate(zip(operands, ctx.inputs)) if i != k]
    available = set(ctx.output).union(*(set(s) for _, s in others))
    factors = [(grad_out, ctx.output)] + others
    used = set("".join(ctx.inputs) + ctx.output)
    fresh = (c for c in string.ascii_letters if c not in used)
    target = []
    seen = set()
    for c in subs:
        if c in seen:  # a repeated letter: a diagonal, restored through an identity
            new = next(fresh)
            factors.append((_eye(grad_out, ctx.sizes[c]), c + new))
            target.append(new)
            continue
        seen.add(c)
        target.append(c)
        if c not in available:  # summed out by this operand alone: broadcast back
            ones = Tensor._make(
                grad_out.xp.ones(ctx.sizes[c], dtype=grad_out.data.dtype), grad_out._backend
            )
            factors.append((ones, c))
    tensors = [t for t, _ in factors]
    return Einsum.apply(
        *tensors,
        inputs=tuple(s for _, s in factors),
        output="".join(target),
        sizes=ctx.sizes,
    )


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, PyTorch's (and NumPy's) notation, with ``...`` and implicit output.

    ``einsum('ij,jk->ik', a, b)`` is ``a @ b``; ``einsum('ii', a)`` the trace; ``einsum('bij,bjk',
    x, y)`` a batched product. Operands may also be given as one list.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum: must provide at least one operand")
    for i, t in enumerate(operands):
        _check_tensor("einsum", f"operand {i}", t)
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(
            f"einsum: the equation {equation!r} names {len(terms)} operands, but "
            f"{len(operands)} were given"
        )
    for term in terms + ([rhs] if arrow else []):
        bad = set(term.replace("...", "")) - set(string.ascii_letters)
        if bad or term.count("...") > 1:
            raise RuntimeError(
                f"einsum: invalid subscript {term!r} in {equation!r}: use letters and at most one "
                "'...'"
            )
    used = set(eq)
    pool = [c for c in string.ascii_letters if c not in used]
    n_ell = 0
    for term, t in zip(terms, operands):
        if "..." in term:
            n_ell = builtins.max(n_ell, t.ndim - (len(term) - 3))
    ell = "".join(pool[:n_ell])
    inputs = []
    for i, (term, t) in enumerate(zip(terms, operands)):
        if "..." in term:
            n = t.ndim - (len(term) - 3)
            if n < 0:
                raise RuntimeError(
                    f"einsum: operand {i} has {t.ndim} dimensions, fewer than the subscripts "
                    f"{term!r} name"
                )
            term = term.replace("...", ell[n_ell - n :])
        elif len(term) != t.ndim:
            raise RuntimeError(
                f"einsum: the number of subscripts in {term!r} ({len(term)}) does not match the "
                f"number of dimensions ({t.ndim}) of operand {i} of shape {tuple(t.shape)}"
            )
        inputs.append(term)
    if arrow:
        output = rhs.replace("...", ell)
        if "..." not in rhs and n_ell:
            output = rhs  # ellipsis dims not named in the output are summed
    else:
        letters = "".join(inputs)
        once = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell)
        output = ell + "".join(once)
    if len(set(output)) != len(output):
        raise RuntimeError(f"einsum: output subscript {rhs!r} names a letter more than once")
    missing = set(output) - set("".join(inputs))
    if missing:
        raise RuntimeError(
            f"einsum: output subscript(s) {''.join(sorted(missing))!r} do not appear in the inputs"
        )
    # Sizes of every letter. As PyTorch, a size 1 broadcasts against the other operands' size
    # of the same letter (named letters and ellipsis dims alike); a letter repeated within one
    # operand (a diagonal) needs equal sizes there.
    sizes: dict = {}
    for i, (term, t) in enumerate(zip(inputs, operands)):
        own: dict = {}
        for c, s in zip(term, t.shape):
            if own.setdefault(c, s) != s:
                raise RuntimeError(
                    f"einsum: subscript {c!r} is repeated for operand {i} of shape "
                    f"{tuple(t.shape)}, but the sizes don't match, {own[c]} != {s}"
                )
            if c in sizes and sizes[c] != s and 1 not in (s, sizes[c]):
                raise RuntimeError(
                    f"einsum: subscript {c!r} has size {s} for operand {i} of shape "
                    f"{tuple(t.shape)}, which does not broadcast with size {sizes[c]} elsewhere"
                )
            if sizes.get(c, 1) == 1:
                sizes[c] = s
    expanded = []
    for term, t in zip(inputs, operands):
        want = tuple(sizes[c] for c in term)
        expanded.append(t if tuple(t.shape) == want else t.expand(*want))
    dtypes = {t.data.dtype for t in expanded}
    if len(dtypes) > 1:
        raise RuntimeError(
            f"einsum: expected operands of one dtype, got {[str(t.dtype) for t in operands]}"
        )
    return Einsum.apply(*expanded, inputs=tuple(inputs), output=output, sizes=sizes)


# --------------------------------------------------------------------- distances, statistics
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: Any = None) -> Tensor:
    """p-norm distance between each row of x1 and each row of x2.

    Shape: (*, P, M), (*, R, M) -> (*, P, R). The gradient at a zero distance is 0, as PyTorch.
    ``compute_mode`` is accepted for PyTorch's signature; distances are always computed directly.
    """
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(
            f"cdist: only supports at least 2D tensors, got: {x1.ndim}D and {x2.ndim}D"
        )
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"cdist: X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: "
            f"{x2.shape[-1]}"
        )
    if p < 0:
        raise RuntimeError(f"cdist: only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return vector_norm(diff, p, dim=-1)


def cov(
    input: Tensor,
    *,
    correction: int = 1,
    fweights: Tensor | None = None,
    aweights: Tensor | None = None,
) -> Tensor:
    """Covariance of the variables in the rows of ``input`` (observations in columns).

    Shape: (V, N) or (N,) -> (V, V) or (). Weights and correction as PyTorch (numpy.cov).
    """
    if input.ndim > 2:
        raise RuntimeError(f"cov: expected input to have two or fewer dimensions, got {input.ndim}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if x.data.dtype.kind not in "fc":
        x = x.to(_dtypes.float32)  # integer observations give a float covariance, as PyTorch
    n = x.shape[1]
    w = None
    if fweights is not None:
        if fweights.ndim > 1 or fweights.shape[0] != n:
            raise RuntimeError(
                f"cov: expected fweights of shape ({n},), got {tuple(fweights.shape)}"
            )
        w = fweights.to(x.dtype)
    if aweights is not None:
        if aweights.ndim > 1 or aweights.shape[0] != n:
            raise RuntimeError(
                f"cov: expected aweights of shape ({n},), got {tuple(aweights.shape)}"
            )
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        w_sum = float(n)
        avg = x.mean(1, keepdim=True)
        norm = w_sum - correction
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / w_sum
        if correction == 0:
            norm = w_sum
        elif aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights.to(x.dtype)).sum() / w_sum
    centred = x - avg
    weighted = centred if w is None else centred * w
    out = Matmul.apply(weighted, centred.mT) / (
        norm.clamp(min=0) if isinstance(norm, Tensor) else builtins.max(norm, 0)
    )
    return out.squeeze() if input.ndim < 2 else out


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input``, clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = _diagonal(c)
    std = d.sqrt()
    c = c / std.unsqueeze(1) / std.unsqueeze(0)
    return c.clamp(-1.0, 1.0)


# ------------------------------------------------------------------------ decompositions
class Inv(Function):
    """``inv(A)``; gradient ``-A^-T g A^-T``, from the saved output."""

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.linalg.inv(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (inv_a,) = ctx.saved_tensors
        inv_t = inv_a.mT
        return -Matmul.apply(Matmul.apply(inv_t, grad_out), inv_t)


class Det(Function):
    """``det(A)``; gradient ``g adj(A)^T``: ``g det(A) A^-T`` where A is invertible, and, as
    PyTorch, through an SVD where some matrix of the batch is singular (det exactly 0 or no
    inverse): ``adj(A)^T = det(U) det(Vh) U diag(prod_{j != i} s_j) Vh``, which needs no
    division by a zero singular value."""

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.linalg.det(a)
        ctx.save_for_backward(a, out)
        # One explicit read, and only when a gradient will need it.
        ctx.singular = ctx.needs_input_grad[0] and host_bool((out == 0).any())
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, det = ctx.saved_tensors
        if not ctx.singular:
            try:
                return (grad_out * det).unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mT
            except Exception as exc:  # numpy's LinAlgError; CuPy's own
                if type(exc).__name__ != "LinAlgError":
                    raise
        return grad_out.unsqueeze(-1).unsqueeze(-1) * _adjugate_t(a)


def _adjugate_t(a: Tensor) -> Tensor:
    """The transposed adjugate (cofactor matrix) of square ``a``, singular or not, via an SVD."""
    from .elementwise import where
    from .reduce import prod

    u, s, vh = Svd.apply(a, False)
    xp, n = a.xp, a.shape[-1]
    # det(U) det(Vh) is +-1 and piecewise constant: no gradient flows through it.
    sign = xp.linalg.det(u.data) * xp.linalg.det(vh.data)
    sign = Tensor._make(xp.asarray(sign, dtype=a.data.dtype), a._backend)
    # prod_{j != i} s_j: s repeated in rows, the diagonal replaced by 1, multiplied along rows.
    eye = Tensor._make(xp.eye(n, dtype=bool), a._backend)
    others = prod(where(eye, 1.0, s.unsqueeze(-2).expand(*s.shape[:-1], n, n)), dim=-1)
    return sign.unsqueeze(-1).unsqueeze(-1) * Matmul.apply(u * others.unsqueeze(-2), vh)


class Slogdet(Function):
    """``(sign, log|det A|)``; only ``logabsdet`` has a gradient: ``g A^-T``."""

    @staticmethod
    def forward(ctx, a):
        sign, logabsdet = ctx.xp.linalg.slogdet(a)
        ctx.save_for_backward(a)
        ctx.mark_non_differentiable(sign)
        return sign, logabsdet

    @staticmethod
    def backward(ctx, grad_sign, grad_logabsdet):
        (a,) = ctx.saved_tensors
        return grad_logabsdet.unsqueeze(-1).unsqueeze(-1) * _apply_inv("slogdet", a).mT


def _apply_inv(op: str, a: Tensor) -> Tensor:
    try:
        return Inv.apply(a)
    except Exception as exc:  # numpy's LinAlgError; CuPy's own
        raise RuntimeError(
            f"{op}: the gradient needs the inverse of A, which is singular (shape "
            f"{tuple(a.shape)}): {exc}"
        ) from None


class Solve(Function):
    """``X = A^-1 B`` for batches of matrices B (vectors are made columns by ``solve``)."""

    @staticmethod
    def forward(ctx, a, b):
        out = ctx.xp.linalg.solve(a, b)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, x = ctx.saved_tensors
        grad_b = Solve.apply(a.mT, grad_out)
        grad_a = -Matmul.apply(grad_b, x.mT) if ctx.needs_input_grad[0] else None
        return grad_a, grad_b


class SolveTriangular(Function):
    """``X = A^-1 B`` reading only A's lower (or upper) triangle; unit diagonal if asked."""

    @staticmethod
    def forward(ctx, a, b, upper, unitriangular):
        xp = ctx.xp
        tri = xp.triu(a) if upper else xp.tril(a)
        if unitriangular:
            n = a.shape[-1]
            tri = tri * (1 - xp.eye(n, dtype=a.dtype)) + xp.eye(n, dtype=a.dtype)
        out = xp.linalg.solve(tri, b)
        ctx.save_for_backward(a, out)
        ctx.upper = upper
        ctx.unitriangular = unitriangular
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, x = ctx.saved_tensors
        upper, unit = ctx.upper, ctx.unitriangular
        # A^T is triangular on the other side: solve with it, reading the transposed triangle.
        grad_b = SolveTriangular.apply(a.mT, grad_out, not upper, unit)
        grad_a = None
        if ctx.needs_input_grad[0]:
            grad_a = -Matmul.apply(grad_b, x.mT) * _mask(a, lower=not upper, diagonal=not unit)
        return grad_a, grad_b, None, None


class Cholesky(Function):
    """Lower Cholesky factor L of a symmetric positive-definite A (PyTorch's backward)."""

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.linalg.cholesky(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (low,) = ctx.saved_tensors
        lower = _mask(low, lower=True)
        strict = _mask(low, lower=True, diagonal=False)
        phi = Matmul.apply(low.mT, grad_out) * lower
        phi = 0.5 * (phi + (phi * strict).mT)
        # gA = L^-T phi L^-1, two triangular solves.
        left = SolveTriangular.apply(low.mT, phi, True, False)
        return SolveTriangular.apply(low.mT, left.mT, True, False).mT


class Qr(Function):
    """QR with PyTorch's backward: for m >= n in 'reduced' (and 'r') mode, and for m <= n in
    every mode. Where we differ: PyTorch refuses a gradient in mode 'r'; here Q is computed anyway
    (and not returned), so R's gradient is the one of 'reduced' mode."""

    @staticmethod
    def forward(ctx, a, mode):
        q, r = ctx.xp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        ctx.save_for_backward(q, r)
        ctx.mode = mode
        ctx.shape = a.shape
        return q, r

    @staticmethod
    def backward(ctx, grad_q, grad_r):
        q, r = ctx.saved_tensors
        m, n = ctx.shape[-2:]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(
                f"linalg.qr: the derivative is not implemented for mode={ctx.mode!r} with an input "
                f"of shape {tuple(ctx.shape)} (as PyTorch: only when m <= n in 'complete' mode)"
            )
        if m >= n:
            return _qr_grad_tall(q, r, grad_q, grad_r), None
        # Wide (PyTorch's formula): A = [X | Y], R = [U | V] with X = Q U (square) and Y = Q V.
        u, v = r[..., :m], r[..., m:]
        grad_u, grad_v = grad_r[..., :m], grad_r[..., m:]
        grad_q = grad_q + Matmul.apply(Matmul.apply(q, v), grad_v.mT)  # Y gV^T, Y = Q V
        grad_x = _qr_grad_tall(q, u, grad_q, grad_u)
        from .shape import cat

        return cat([grad_x, Matmul.apply(q, grad_v)], dim=-1), None


def _qr_grad_tall(q: Tensor, r: Tensor, grad_q: Tensor, grad_r: Tensor) -> Tensor:
    """The gradient of reduced QR of a matrix with m >= n (R square and invertible)."""
    m_ = Matmul.apply(grad_r, r.mT) - Matmul.apply(q.mT, grad_q)
    upper = _mask(m_, lower=False)
    m_ = m_ * upper
    m_ = m_ + m_.mT - _diag_embed(_diagonal(m_))  # symmetric from its upper triangle
    b = Matmul.apply(q, m_) + grad_q
    # gA = b R^-T: solve R X^T = b^T.
    return SolveTriangular.apply(r, b.mT, True, False).mT


class Eigh(Function):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (PyTorch's backward).

    Gradients are those of PyTorch: well defined for distinct eigenvalues, and, as there, the
    gradient treats A as symmetric (it is not masked to the triangle ``UPLO`` reads).
    """

    @staticmethod
    def forward(ctx, a, uplo):
        vals, vecs = ctx.xp.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(vals, vecs)
        return vals, vecs

    @staticmethod
    def backward(ctx, grad_vals, grad_vecs):
        vals, vecs = ctx.saved_tensors
        vt_g = Matmul.apply(vecs.mT, grad_vecs)
        skew = 0.5 * (vt_g - vt_g.mT)
        gaps = vals.unsqueeze(-2) - vals.unsqueeze(-1) + _eye(vals, vals.shape[-1])
        inner = _safe_div(skew, gaps) + _diag_embed(grad_vals)
        return Matmul.apply(Matmul.apply(vecs, inner), vecs.mT), None


def _safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den``, but 0 where ``num`` is exactly 0 (a gradient nobody sent)."""
    from .elementwise import where

    zero = num == 0
    return num / where(zero, 1.0, den)


class Svd(Function):
    """Singular value decomposition with PyTorch's backward (distinct singular values).

    With ``full_matrices=True`` the gradient ignores U's and Vh's extra columns and rows, as
    PyTorch.
    """

    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = ctx.xp.linalg.svd(a, full_matrices=full_matrices)
        ctx.save_for_backward(u, s, vh)
        ctx.shape = a.shape
        return u, s, vh

    @staticmethod
    def backward(ctx, grad_u, grad_s, grad_vh):
        u, s, vh = ctx.saved_tensors
        m, n = ctx.shape[-2:]
        k = builtins.min(m, n)
        if u.shape[-1] != k:
            u, grad_u = u[..., :k], grad_u[..., :k]
        if vh.shape[-2] != k:
            vh, grad_vh = vh[..., :k, :], grad_vh[..., :k, :]
        return _svd_grad(u, s, vh, grad_u, grad_s, grad_vh, m, n), None


def _svd_grad(u, s, vh, grad_u, grad_s, grad_vh, m, n):  # noqa: ANN001, ANN202
    v, grad_v = vh.mT, grad_vh.mT
    uh_gu = Matmul.apply(u.mT, grad_u)
    vh_gv = Matmul.apply(vh, grad_v)
    uh_gu = uh_gu - uh_gu.mT
    vh_gv = vh_gv - vh_gv.mT
    s2 = s * s
    gaps = s2.unsqueeze(-2) - s2.unsqueeze(-1) + _eye(s, s.shape[-1])
    inner = _safe_div(uh_gu * s.unsqueeze(-2) + s.unsqueeze(-1) * vh_gv, gaps)
    inner = inner + _diag_embed(grad_s)
    if m > n:
        # gA = [U inner + (I - U U^T) gU S^-1] V^T
        g = Matmul.apply(u, inner)
        gu_sinv = grad_u / s.unsqueeze(-2)
        g = g + gu_sinv - Matmul.apply(u, Matmul.apply(u.mT, gu_sinv))
        return Matmul.apply(g, vh)
    if n > m:
        # gA = U [inner V^T + S^-1 gV^T (I - V V^T)]
        g = Matmul.apply(inner, vh)
        gv_sinv = grad_v / s.unsqueeze(-2)
        g = g + gv_sinv.mT - Matmul.apply(Matmul.apply(gv_sinv.mT, v), vh)
        return Matmul.apply(u, g)
    return Matmul.apply(Matmul.apply(u, inner), vh)


class Svdvals(Function):
    """Singular values alone; gradient ``U diag(g) V^T``, well defined even for repeated ones."""

    @staticmethod
    def forward(ctx, a):
        u, s, vh = ctx.xp.linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(u, vh)
        return s

    @staticmethod
    def backward(ctx, grad_out):
        u, vh = ctx.saved_tensors
        return Matmul.apply(u * grad_out.unsqueeze(-2), vh)


class Pinv(Function):
    """Moore-Penrose pseudo-inverse from an SVD with PyTorch's tolerances and backward."""

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        xp = ctx.xp
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        smax = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), s.dtype)
        tol = xp.maximum(xp.asarray(atol, dtype=s.dtype), rtol * smax)
        keep = s > tol
        s_inv = xp.where(keep, 1.0 / xp.where(keep, s, 1.0), 0.0).astype(s.dtype)
        out = (vh.swapaxes(-1, -2) * s_inv[..., None, :]) @ u.swapaxes(-1, -2)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, p = ctx.saved_tensors
        m, n = a.shape[-2:]
        ph = p.mT
        gh = grad_out.mT
        mm_ = Matmul.apply
        if m <= n:
            k = mm_(gh, p)
            k_ph = mm_(k, ph)
            return (
                (-mm_(p, k).mT + k_ph - mm_(mm_(a, p), k_ph) + mm_(mm_(ph, p), gh - mm_(k, a))),
                None,
                None,
                None,
            )
        k = mm_(p, gh)
        ph_k = mm_(ph, k)
        return (
            (-mm_(k, p).mT + ph_k - mm_(mm_(ph_k, p), a) + mm_(mm_(gh - mm_(a, k), p), ph)),
            None,
            None,
            None,
        )


# ------------------------------------------------------------- torch.linalg's functions
SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
SvdResult = namedtuple("SvdResult", ["U", "S", "Vh"])
QrResult = namedtuple("QrResult", ["Q", "R"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])


def _run(op: str, fn: Any, a: Tensor, *args: Any, **kwargs: Any) -> Any:
    """Apply a decomposition, turning the array library's LinAlgError into our message."""
    try:
        return fn.apply(a, *args, **kwargs)
    except Exception as exc:
        if type(exc).__name__ == "LinAlgError":
            raise _linalg_error(op, a, exc) from None
        raise


def inv(A: Tensor) -> Tensor:
    """Inverse of square matrices. Shape: (*, n, n) -> (*, n, n). Singular A raises."""
    _check_square("linalg.inv", A)
    return _run("linalg.inv", Inv, A)


def det(A: Tensor) -> Tensor:
    """Determinant. Shape: (*, n, n) -> (*)."""
    _check_square("linalg.det", A)
    return _run("linalg.det", Det, A)


def slogdet(A: Tensor) -> SlogdetResult:
    """``(sign, logabsdet)`` of the determinant. Shape: (*, n, n) -> (*), (*)."""
    _check_square("linalg.slogdet", A)
    return SlogdetResult(*_run("linalg.slogdet", Slogdet, A))


def logdet(A: Tensor) -> Tensor:
    """``log(det A)``: NaN for a negative determinant, -inf for zero, as PyTorch."""
    sign, logabsdet = slogdet(A)
    from .elementwise import where

    nan = Tensor._make(A.xp.asarray(float("nan"), dtype=A.data.dtype), A._backend)
    return where(sign < 0, nan, logabsdet)


def _as_columns(op: str, A: Tensor, B: Tensor) -> tuple:
    """PyTorch's rule: B is a (batch of) vector(s) when it has one dim less than A and its
    shape is A's without the last dim, or when it is 1-D."""
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if vector:
        B = B.unsqueeze(-1)
    if B.shape[-2] != A.shape[-1]:
        raise RuntimeError(
            f"{op}: incompatible shapes of A {tuple(A.shape)} and B {tuple(B.shape)}: A has "
            f"{A.shape[-1]} columns, B has {B.shape[-2]} rows"
        )
    return B, vector


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """The solution X of ``A X = B`` (``X A = B`` if not ``left``).

    Shape: A (*, n, n), B (*, n, k) or (*, n) -> like B; batch dims broadcast.
    """
    _check_square("linalg.solve", A)
    _check_float("linalg.solve", B)
    _same_dtype("linalg.solve", A, B)
    if not left:
        return solve(A.mT, B.mT).mT
    B, vector = _as_columns("linalg.solve", A, B)
    A, B = _broadcast_batch("linalg.solve", A, B)
    out = _run("linalg.solve", Solve, A, B)
    return out.squeeze(-1) if vector else out


def solve_triangular(
    A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """The solution X of ``A X = B`` for triangular A (only its ``upper``/lower triangle read).

    Shape: A (*, n, n), B (*, n, k) -> (*, n, k).
    """
    _check_square("linalg.solve_triangular", A)
    _check_float("linalg.solve_triangular", B)
    _same_dtype("linalg.solve_triangular", A, B)
    if B.ndim < 2:
        raise RuntimeError(
            f"linalg.solve_triangular: B must have at least 2 dimensions, got {tuple(B.shape)}"
        )
    if not left:
        return solve_triangular(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    if B.shape[-2] != A.shape[-1]:
        raise RuntimeError(
            f"linalg.solve_triangular: incompatible shapes of A {tuple(A.shape)} and B "
            f"{tuple(B.shape)}"
        )
    A, B = _broadcast_batch("linalg.solve_triangular", A, B)
    return _run("linalg.solve_triangular", SolveTriangular, A, B, upper, unitriangular)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """Cholesky factor of a symmetric positive-definite A: L with ``A = L L^T`` (or U^T U)."""
    _check_square("linalg.cholesky", A)
    low = _run("linalg.cholesky", Cholesky, A)
    return low.mT if upper else low


def qr(A: Tensor, mode: str = "reduced") -> QrResult:
    """``A = Q R``. ``mode``: 'reduced' (default), 'complete', or 'r' (Q empty, as PyTorch)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"linalg.qr: qr received unrecognized mode {mode!r} but expected one of 'reduced' "
            "(default), 'r', or 'complete'"
        )
    _check_matrix("linalg.qr", A)
    q, r = _run("linalg.qr", Qr, A, mode)
    if mode == "r":
        q = Tensor._make(A.xp.empty((0,), dtype=A.data.dtype), A._backend)
    return QrResult(q, r)


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric A (reads triangle UPLO)."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    _check_square("linalg.eigh", A)
    return EighResult(*_run("linalg.eigh", Eigh, A, UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """Eigenvalues of symmetric A, ascending."""
    return eigh(A, UPLO).eigenvalues


def svd(A: Tensor, full_matrices: bool = True) -> SvdResult:
    """``A = U diag(S) Vh``, singular values descending. Shape: (*, m, n) -> U, S (*, k), Vh."""
    _check_matrix("linalg.svd", A)
    return SvdResult(*_run("linalg.svd", Svd, A, full_matrices))


def svdvals(A: Tensor) -> Tensor:
    """Singular values, descending. Shape: (*, m, n) -> (*, min(m, n))."""
    _check_matrix("linalg.svdvals", A)
    return _run("linalg.svdvals", Svdvals, A)


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """Moore-Penrose pseudo-inverse. Singular values at most ``max(atol, rtol * s_max)`` are
    treated as zero; ``rtol`` defaults to ``eps * max(m, n)`` when ``atol`` is not given, as
    PyTorch. ``hermitian`` is accepted and computed through the same SVD.

    Shape: (*, m, n) -> (*, n, m).
    """
    _check_matrix("linalg.pinv", A)
    eps = float(A.xp.finfo(A.data.dtype).eps)
    if rtol is None:
        rtol = eps * builtins.max(A.shape[-2:]) if not atol else 0.0
    atol = 0.0 if atol is None else float(atol)
    return _run("linalg.pinv", Pinv, A, atol, float(rtol), hermitian)


def lstsq(A: Tensor, B: Tensor, rcond: Any = None, *, driver: Any = None) -> LstsqResult:
    """Least-squares solution of ``A X = B``, through the pseudo-inverse (differentiable).

    Returns ``(solution, residuals, rank, singular_values)``. Where we differ: ``rank`` and
    ``singular_values`` are always computed (PyTorch fills them only for some drivers); residuals
    are the squared norms of ``A X - B``'s columns when m > n and A has full rank, else empty.
    """
    _check_matrix("linalg.lstsq", A)
    _check_float("linalg.lstsq", B)
    _same_dtype("linalg.lstsq", A, B)
    vector = B.ndim == A.ndim - 1
    if vector:
        B = B.unsqueeze(-1)
    if B.ndim < 2 or B.shape[-2] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.lstsq: input.size(-2) should match other.size(-2), got A {tuple(A.shape)} "
            f"and B {tuple(B.shape)}"
        )
    m, n = A.shape[-2:]
    eps = float(A.xp.finfo(A.data.dtype).eps)
    rtol = eps * builtins.max(m, n) if rcond is None else float(rcond)
    solution = Matmul.apply(_run("linalg.lstsq", Pinv, A, 0.0, rtol, False), B)
    s = svdvals(A.detach())
    rank = (s > s[..., :1] * rtol).sum(-1) if s.shape[-1] else s.sum(-1).long()
    xp = A.xp
    if m > n and (rank == n).all().item():  # one explicit read: the residuals' shape
        residuals = ((Matmul.apply(A, solution) - B) ** 2).sum(-2)
    else:
        residuals = Tensor._make(xp.empty((0,), dtype=A.data.dtype), A._backend)
    if vector:
        solution = solution.squeeze(-1)
        if residuals.numel():
            residuals = residuals.squeeze(-1)
    return LstsqResult(solution, residuals, rank, s)


def matrix_rank(
    A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False
) -> Tensor:
    """Number of singular values above ``max(atol, rtol * s_max)`` (int64, no gradient)."""
    _check_matrix("linalg.matrix_rank", A)
    xp = A.xp
    s = xp.linalg.svd(A.data, compute_uv=False)
    eps = float(xp.finfo(A.data.dtype).eps)
    if rtol is None:
        rtol = eps * builtins.max(A.shape[-2:]) if not atol else 0.0
    smax = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), s.dtype)
    tol = xp.maximum(xp.asarray(0.0 if atol is None else atol, s.dtype), rtol * smax)
    return Tensor._make((s > tol).sum(-1).astype("int64"), A._backend)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` multiplied by itself ``n`` times (``n`` < 0: of its inverse; 0: the identity)."""
    _check_square("linalg.matrix_power", A)
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    if n == 0:
        eye = _eye(A, A.shape[-1])
        return _zero_gradient(A, eye.expand(*A.shape) * 1 if A.ndim > 2 else eye)
    if n < 0:
        A = inv(A)
        n = -n
    result = None
    power = A
    while n:
        if n & 1:
            result = power if result is None else Matmul.apply(result, power)
        n >>= 1
        if n:
            power = Matmul.apply(power, power)
    return result


class _ZeroGradient(Function):
    """``value`` (an array computed from ``a``) with a zero gradient to ``a``: PyTorch's result of
    a piecewise-constant function of ``a`` (a count, an identity) still requires grad, so a loss
    built on it alone can call backward()."""

    @staticmethod
    def forward(ctx, a, value):
        ctx.shape = a.shape
        return value

    @staticmethod
    def backward(ctx, grad_out):
        zeros = grad_out.xp.zeros(ctx.shape, dtype=grad_out.data.dtype)
        return Tensor._make(zeros, grad_out._backend), None


def _zero_gradient(a: Tensor, value: Tensor) -> Tensor:
    return _ZeroGradient.apply(a, value.data) if a.requires_grad else value


def vector_norm(
    x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Vector ``ord``-norm over ``dim`` (every element by default): any real ord, inf, -inf, 0."""
    from .reduce import norm

    if dtype is not None:
        x = x.to(dtype)
    _check_float("linalg.vector_norm", x)
    if ord == 0:
        from .elementwise import sign

        count = sign(x.abs()).sum(dim, keepdim) if dim is not None else sign(x.abs()).sum()
        return _zero_gradient(x, count)
    return norm(x, ord, dim, keepdim)


def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: tuple = (-2, -1), keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Matrix norm over the two dims ``dim``: 'fro', 'nuc', inf, -inf, 1, -1, 2, -2."""
    if dtype is not None:
        A = A.to(dtype)
    _check_matrix("linalg.matrix_norm", A)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple, got {dim}")
    d0, d1 = (_normalize_dim(d, A.ndim, "linalg.matrix_norm") for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different, got {dim}")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        moved = A.permute(*[i for i in range(A.ndim) if i not in (d0, d1)], d0, d1)
        s = svdvals(moved)
        out = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    if ord in (1, -1, math.inf, -math.inf):
        sum_dim, max_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(sum_dim, keepdim=True)
        out = sums.amax(max_dim, keepdim=True) if ord > 0 else sums.amin(max_dim, keepdim=True)
        if keepdim:
            return out
        return out.squeeze(builtins.max(d0, d1)).squeeze(builtins.min(d0, d1))
    raise RuntimeError(
        f"linalg.matrix_norm: order {ord!r} is not supported; use 'fro', 'nuc', inf, -inf, 1, "
        "-1, 2 or -2"
    )


def linalg_norm(
    A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """``torch.linalg.norm``: a vector norm over one dim, a matrix norm over two.

    With ``dim`` and ``ord`` both None, the 2-norm of every element.
    """
    if dtype is not None:
        A = A.to(dtype)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim)
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim)
        if A.ndim == 1:
            return vector_norm(A, ord, None, keepdim)
        raise RuntimeError(
            f"linalg.norm: with ord={ord!r} and dim=None, input must be 1-D or 2-D, got shape "
            f"{tuple(A.shape)}"
        )
    if len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, tuple(dim), keepdim)
    if len(dim) == 1:
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.norm: order {ord!r} is a matrix norm; give two dims")
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim)
    raise RuntimeError(f"linalg.norm: dim must be an int or a 1- or 2-tuple, got {dim}")


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.cross``: 3-vector cross product along ``dim`` (default -1), broadcasting."""
    shape = _broadcast_shapes(tuple(input.shape), tuple(other.shape))
    if tuple(input.shape) != shape:
        input = input.expand(*shape)
    if tuple(other.shape) != shape:
        other = other.expand(*shape)
    return _cross("linalg.cross", input, other, dim)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot product of vectors along ``dim``, broadcasting. Shape: (*, n), (*, n) -> (*)."""
    if x.shape[dim] != y.shape[dim]:
        raise RuntimeError(
            f"linalg.vecdot: dimension {dim} of x {tuple(x.shape)} and y {tuple(y.shape)} differ"
        )
    return (x * y).sum(dim)
