"""Distances and similarities between vectors."""

from __future__ import annotations

from typing import Any

import autograd as A
from autograd import Tensor


def _broadcast_shape(a: tuple, b: tuple, op: str) -> tuple:
    ndim = max(len(a), len(b))
    a = (1,) * (ndim - len(a)) + tuple(a)
    b = (1,) * (ndim - len(b)) + tuple(b)
    shape = []
    for i, (m, n) in enumerate(zip(a, b)):
        if m != n and 1 not in (m, n):
            raise RuntimeError(
                f"{op}: shapes {a} and {b} cannot be broadcast together (dimension {i}: {m} vs {n})"
            )
        shape.append(n if m == 1 else m)
    return tuple(shape)


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None
) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``. Shape: any -> same."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (PyTorch adds eps to the difference).

    Shape: x1, x2 (N, D) or (D,), broadcastable -> (N,) or () (keepdim keeps the last dim).
    """
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along ``dim``.

    As PyTorch, each norm is clamped at ``eps`` in value only (the gradient passes as if
    unclamped). Shape: x1, x2 broadcastable (*, D, *) -> the broadcast shape without ``dim``.
    """
    # The norms are taken after broadcasting (PyTorch): x1 (1, 2, 3) against x2 (2, 1, 3)
    # along dim -2 compares 2-vectors of the broadcast (2, 2, 3), not x1's own columns.
    shape = _broadcast_shape(x1.shape, x2.shape, "cosine_similarity")
    x1 = x1.expand(shape)
    x2 = x2.expand(shape)
    n1 = x1.norm(2, dim, keepdim=True)
    n2 = x2.norm(2, dim, keepdim=True)
    with A.no_grad():
        lift1 = n1.clamp(min=eps) - n1
        lift2 = n2.clamp(min=eps) - n2
    return ((x1 / (n1 + lift1)) * (x2 / (n2 + lift2))).sum(dim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """p-norm distances between every pair of rows i < j, in row-major order.

    Shape: (N, M) -> (N (N - 1) / 2,). The gradient of a zero distance is 0, as PyTorch.
    """
    if input.ndim != 2:
        raise RuntimeError(f"pdist: only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError(f"pdist: only supports non-negative p values, got {p}")
    n = input.shape[0]
    rows, cols = input.xp.triu_indices(n, 1)
    i = A.Tensor._make(rows.astype("int64"), input._backend)
    j = A.Tensor._make(cols.astype("int64"), input._backend)
    diff = input.index_select(0, i) - input.index_select(0, j)
    return diff.norm(p, -1)
