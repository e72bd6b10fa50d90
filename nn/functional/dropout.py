"""Dropout."""

from __future__ import annotations

import autograd as A
from autograd import Function, Tensor


class _Dropout(Function):
    draws_random = True  # A.compile: never captured into a CUDA graph (fresh masks each replay)

    @staticmethod
    def forward(ctx, x, p):
        work = x.dtype if x.dtype in (A.float32, A.float64) else A.float64
        keep = ctx.backend.rng.random(x.shape, dtype=work) >= p
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
        mask = keep.astype(x.dtype)
        mask *= scale  # in place keeps x's dtype, with no 0-d array sent from the host
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad_out):
        (mask,) = ctx.saved_tensors
        return grad_out * mask, None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (inverted
    dropout), so evaluation needs no rescaling; the identity when not ``training``. The mask
    comes from the tensor's device generator (``autograd.manual_seed``). Shape: any -> same.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return _Dropout.apply(input, float(p))


def _feature_dropout(input: Tensor, p: float, training: bool, spatial: int, op: str) -> Tensor:
    """Zero whole channels: one keep/drop draw per (sample, channel), scaled by 1 / (1 - p)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{op}: Expected {spatial + 1}D or {spatial + 2}D input, but received a "
            f"{input.ndim}D input of shape {input.shape}"
        )
    if not training or p == 0.0:
        return input
    backend = input.backend
    shape = input.shape[: input.ndim - spatial] + (1,) * spatial
    work = input.dtype if input.dtype in (A.float32, A.float64) else A.float64
    keep = backend.rng.random(shape, dtype=work) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = keep.astype(input.dtype) * backend.xp.asarray(scale, dtype=input.dtype)
    return input * Tensor._make(mask, backend)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Channel dropout for (N, C, L) or (C, L): each channel is zeroed with probability p.
    Shape: same."""
    return _feature_dropout(input, p, training, 1, "dropout1d")


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Channel dropout for (N, C, H, W) or (C, H, W). Shape: same."""
    return _feature_dropout(input, p, training, 2, "dropout2d")


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Channel dropout for (N, C, D, H, W) or (C, D, H, W). Shape: same."""
    return _feature_dropout(input, p, training, 3, "dropout3d")


_SELU_ALPHA_SCALED = 1.7580993408473766  # SELU's scale * alpha: the value dropped units take


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean and variance: dropped units take SELU's
    negative saturation value, then an affine map restores mean 0 and variance 1.

    Shape: any -> same.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    alpha = _SELU_ALPHA_SCALED
    a = 1.0 / ((alpha * alpha * p + 1.0) * (1.0 - p)) ** 0.5
    backend = input._backend
    work = input.dtype if input.dtype in (A.float32, A.float64) else A.float64
    keep = backend.rng.random(tuple(input.shape), dtype=work) >= p
    keep = keep.astype(input.dtype)
    noise = Tensor._make(keep * input.xp.asarray(a, dtype=input.dtype), backend)
    shift = Tensor._make(((keep - 1.0) * (alpha * a) + alpha * a * p).astype(input.dtype), backend)
    return input * noise + shift
