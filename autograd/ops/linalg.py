"""Matrix products."""

from __future__ import annotations

from ..function import Function
from ..tensor import Tensor


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
