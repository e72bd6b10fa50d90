"""softmax and log_softmax along one dimension: the Tensor methods, ``autograd.softmax`` and
``nn.functional.softmax`` are all these two ops."""

from __future__ import annotations

import warnings
from typing import Any

from ..function import Function
from ..tensor import Tensor
from .elementwise import _describe


def _floating_input(input: Tensor, dtype: Any, op: str) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if input.data.dtype.kind not in "fc":
        raise TypeError(
            f"{op}: expected a floating point tensor, got {_describe(input)}; pass dtype= or "
            "convert with .float()"
        )
    return input


def _softmax_dim(dim: Any, ndim: int, name: str) -> int:
    if dim is not None:
        if not -max(ndim, 1) <= dim < max(ndim, 1):
            raise IndexError(
                f"{name}: dimension out of range (expected to be in range of "
                f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {dim})"
            )
        return dim % ndim if ndim else 0
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp
        ctx.dim = dim
        if x.size == 0:  # nothing to normalise (max over an empty axis would raise)
            ctx.save_for_backward(x)
            return x.copy()
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(e)
        return e

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return out * (grad_out - (grad_out * out).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp
        ctx.dim = dim
        if x.size == 0:  # nothing to normalise (max over an empty axis would raise)
            ctx.save_for_backward(x)
            return x.copy()
        shifted = x - x.max(axis=dim, keepdims=True)
        shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(shifted)
        return shifted

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out - out.exp() * grad_out.sum(ctx.dim, keepdim=True), None


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (the max is subtracted first). Shape: any -> same."""
    input = _floating_input(input, dtype, "softmax")
    return Softmax.apply(input, _softmax_dim(dim, input.ndim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable for large inputs. Shape: any -> same."""
    input = _floating_input(input, dtype, "log_softmax")
    return LogSoftmax.apply(input, _softmax_dim(dim, input.ndim, "log_softmax"))
