"""Activations and softmax: elementwise nonlinearities as fused Functions where they pay."""

from __future__ import annotations

from typing import Any

import autograd as A
from autograd import Function, Tensor
from autograd.ops.softmax import log_softmax as log_softmax
from autograd.ops.softmax import softmax as softmax
from autograd.ops.special import INV_SQRT_2PI as _INV_SQRT_2PI
from autograd.ops.special import erf_array as _erf  # noqa: F401  (F._erf, for tests)
from autograd.ops.special import normal_cdf_array as _normal_cdf


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x). Shape: any -> same. Where we differ: ``inplace`` is accepted and ignored."""
    return input.relu()


class _LeakyRelu(Function):
    @staticmethod
    def forward(ctx, x, negative_slope):
        slope = ctx.xp.where(x > 0, 1.0, negative_slope).astype(x.dtype)
        ctx.save_for_backward(slope)
        return x * slope

    @staticmethod
    def backward(ctx, grad_out):
        (slope,) = ctx.saved_tensors
        return grad_out * slope, None


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, else negative_slope * x. Shape: any -> same (``inplace`` is ignored)."""
    return _LeakyRelu.apply(input, float(negative_slope))


class _Elu(Function):
    @staticmethod
    def forward(ctx, x, alpha):
        xp = ctx.xp
        positive = x > 0
        ctx.save_for_backward(x, positive)
        ctx.alpha = alpha
        return xp.where(positive, x, alpha * xp.expm1(xp.minimum(x, 0)))

    @staticmethod
    def backward(ctx, grad_out):
        x, positive = ctx.saved_tensors
        # Written from x (not the output) so that the second derivative alpha*exp(x) is right.
        slope = A.where(positive, 1.0, x.clamp(max=0.0).exp() * ctx.alpha)
        return grad_out * slope, None


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha * (exp(x) - 1). Shape: any -> same (``inplace`` is ignored)."""
    return _Elu.apply(input, float(alpha))


def _gelu_slope(xp: Any, x: Any, cdf: Any) -> Any:
    """d gelu / dx = Phi(x) + x phi(x)."""
    return cdf + x * (xp.exp(-0.5 * x * x) * _INV_SQRT_2PI)


class _Gelu(Function):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        cdf = _normal_cdf(xp, x)
        # The slope costs one exp more now and saves recomputing erf in backward.
        ctx.save_for_backward(x, _gelu_slope(xp, x, cdf))
        return x * cdf

    @staticmethod
    def backward(ctx, grad_out):
        x, slope = ctx.saved_tensors
        if A.is_grad_enabled():
            # create_graph: the slope as an op of x, so that second derivatives see it.
            slope = _GeluSlope.apply(x)
        return grad_out * slope


class _GeluSlope(Function):
    """d gelu / dx = Phi(x) + x phi(x); its own derivative is phi(x) (2 - x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _gelu_slope(ctx.xp, x, _normal_cdf(ctx.xp, x))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        x2 = x * x
        pdf = (x2 * -0.5).exp() * _INV_SQRT_2PI
        return grad_out * pdf * (2.0 - x2)


_GELU_K = 0.79788456080286535588  # sqrt(2 / pi)
_GELU_C = 0.044715


class _GeluTanh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        inner = _GELU_K * (x + _GELU_C * x * x * x)
        return 0.5 * x * (1.0 + ctx.xp.tanh(inner))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        x2 = x * x
        t = ((x + x * x2 * _GELU_C) * _GELU_K).tanh()
        slope = (t + 1.0) * 0.5 + x * (1.0 - t * t) * (x2 * (3.0 * _GELU_C) + 1.0) * (0.5 * _GELU_K)
        return grad_out * slope


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with the exact Gaussian CDF (``approximate='none'``, erf computed here to
    ~1e-16), or the tanh approximation (``'tanh'``). Shape: any -> same.
    """
    if approximate == "none":
        return _Gelu.apply(input)
    if approximate == "tanh":
        return _GeluTanh.apply(input)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow. Shape: any -> same."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """Shape: any -> same."""
    return input.tanh()
