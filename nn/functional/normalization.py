"""Batch and layer normalisation: one fused ``_Normalize`` Function."""

from __future__ import annotations

from typing import Any

import autograd as A
from autograd import Function, Tensor

from ._utils import _check_tensor


class _Normalize(Function):
    """(x - mean) / sqrt(var + eps) * weight + bias over ``dims`` (biased variance).

    Shared by batch_norm (dims: all but the channel) and layer_norm (the trailing dims).
    With ``stats=True`` it also returns the per-channel mean and unbiased-ready biased variance
    (non-differentiable) for the running averages.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, dims, eps, param_shape, stats):
        xp = ctx.xp
        mean = x.mean(axis=dims, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=dims, keepdims=True)
        invstd = 1.0 / xp.sqrt(var + eps)
        xhat = centered * invstd
        out = xhat
        if weight is not None:
            out = out * weight.reshape(param_shape)
        if bias is not None:
            out = out + bias.reshape(param_shape)
        ctx.save_for_backward(x, weight, xhat, invstd)
        ctx.bias_shape = None if bias is None else bias.shape
        ctx.dims = dims
        ctx.eps = eps
        ctx.param_shape = param_shape
        if not stats:
            return out
        mean = mean.reshape(-1)
        var = var.reshape(-1)
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    def backward(ctx, grad_out, *unused):
        x, weight, xhat, invstd = ctx.saved_tensors
        dims = ctx.dims
        need_x, need_weight, need_bias = ctx.needs_input_grad
        if A.is_grad_enabled():
            # create_graph: rebuild the statistics from x so that second derivatives see them.
            centered = x - x.mean(dims, keepdim=True)
            invstd = ((centered * centered).mean(dims, keepdim=True) + ctx.eps).rsqrt()
            xhat = centered * invstd
        # Parameters broadcast along the size-1 dims of param_shape: their gradients sum there.
        param_dims = tuple(d for d in range(x.ndim) if ctx.param_shape[d] == 1)
        grad_x = grad_weight = grad_bias = None
        if need_x:
            g = grad_out if weight is None else grad_out * weight.reshape(ctx.param_shape)
            g_mean = g.mean(dims, keepdim=True)
            proj = (g * xhat).mean(dims, keepdim=True)
            grad_x = (g - g_mean - xhat * proj) * invstd
        if need_weight:
            grad_weight = (grad_out * xhat).sum(param_dims).reshape(weight.shape)
        if need_bias:
            grad_bias = grad_out.sum(param_dims).reshape(ctx.bias_shape)
        return grad_x, grad_weight, grad_bias


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) over the batch and spatial dims, then scale and shift.

    In training, the batch statistics normalise (biased variance) and the running averages are
    updated in place: ``running = (1 - momentum) * running + momentum * batch``, with the
    UNBIASED batch variance for ``running_var``, as PyTorch. Otherwise the running statistics
    are used.

    Shape: input (N, C, *) -> (N, C, *); running stats, weight, bias (C,).
    """
    _check_tensor(input, "batch_norm", "input")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, *), got {input.shape}")
    channels = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and t.shape != (channels,):
            raise RuntimeError(
                f"batch_norm: {name} should contain {channels} elements (dim 1 of the input's "
                f"shape {input.shape}), not shape {t.shape}"
            )
    param_shape = (1, channels) + (1,) * (input.ndim - 2)
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "batch_norm: running_mean and running_var must be given when training=False"
            )
        # Evaluation is a per-channel affine map: two small vectors, then one multiply-add.
        scale = (running_var + eps).rsqrt()
        if weight is not None:
            scale = scale * weight
        shift = -running_mean * scale
        if bias is not None:
            shift = shift + bias
        return input * scale.reshape(param_shape) + shift.reshape(param_shape)
    count = input.numel() // channels if channels else 0
    if input.numel() == 0:
        # An empty batch (PyTorch): an empty output, and the running statistics unchanged.
        out = input.clone()
        if weight is not None:
            out = out * weight.reshape(param_shape)
        if bias is not None:
            out = out + bias.reshape(param_shape)
        return out
    if count <= 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {input.shape}"
        )
    dims = (0,) + tuple(range(2, input.ndim))
    out, mean, var = _Normalize.apply(
        input, weight, bias, dims=dims, eps=eps, param_shape=param_shape, stats=True
    )
    if running_mean is not None:
        with A.no_grad():
            running_mean.mul_(1.0 - momentum).add_(mean * momentum)
    if running_var is not None:
        with A.no_grad():
            running_var.mul_(1.0 - momentum).add_(var * (momentum * count / (count - 1)))
    return out


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims of each sample (biased variance),
    then scale and shift elementwise.

    Shape: input (*, *normalized_shape) -> same; weight, bias normalized_shape.
    """
    _check_tensor(input, "layer_norm", "input")
    normalized_shape = (
        (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    )
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[-k:]) != normalized_shape:
        raise RuntimeError(
            f"layer_norm: given normalized_shape={list(normalized_shape)}, expected input with "
            f"shape [*, {', '.join(map(str, normalized_shape))}], but got input of size "
            f"{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(
                f"layer_norm: {name} of shape {t.shape} does not match normalized_shape "
                f"{normalized_shape}"
            )
    dims = tuple(range(input.ndim - k, input.ndim))
    param_shape = (1,) * (input.ndim - k) + normalized_shape
    return _Normalize.apply(
        input, weight, bias, dims=dims, eps=eps, param_shape=param_shape, stats=False
    )


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """x / (k + alpha / size * sum of x^2 over ``size`` neighbouring channels)^beta (AlexNet).

    The window is centred (size // 2 channels before, (size - 1) // 2 after), zero-padded.
    Shape: (N, C, *) -> same.
    """
    if input.ndim < 3:
        raise ValueError(
            f"local_response_norm: Expected 3D or higher dimensionality input (got "
            f"{input.ndim} dimensions)"
        )
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = input * input
    before, after = size // 2, (size - 1) // 2
    zeros_shape = list(input.shape)
    parts = []
    if before:
        zeros_shape[1] = before
        parts.append(A.zeros(*zeros_shape, dtype=input.dtype, device=input.device))
    parts.append(sq)
    if after:
        zeros_shape[1] = after
        parts.append(A.zeros(*zeros_shape, dtype=input.dtype, device=input.device))
    padded = A.cat(parts, 1) if len(parts) > 1 else sq
    window = padded[:, 0:c]
    for offset in range(1, size):
        window = window + padded[:, offset : offset + c]
    div = (window * (alpha / size) + k) ** beta
    return input / div


def rms_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the trailing ``normalized_shape`` dims, times ``weight``.

    ``eps`` defaults to the dtype's machine epsilon, as PyTorch.
    Shape: input (*, *normalized_shape) -> same; weight normalized_shape.
    """
    _check_tensor(input, "rms_norm", "input")
    shape = (
        (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    )
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[-k:]) != shape:
        raise RuntimeError(
            f"rms_norm: given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size {list(input.shape)}"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            f"rms_norm: weight of shape {tuple(weight.shape)} does not match normalized_shape "
            f"{shape}"
        )
    if eps is None:
        eps = float(input.xp.finfo(input.data.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight
