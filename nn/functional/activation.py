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


# --------------------------------------------- the rest of PyTorch's activations (issue 13)
class _Hardtanh(Function):
    """clamp(x, min_val, max_val) with PyTorch's gradient: 1 strictly inside, 0 at the edges."""

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        inside = (x > min_val) & (x < max_val)
        ctx.save_for_backward(inside)
        return ctx.xp.clip(x, min_val, max_val).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (inside,) = ctx.saved_tensors
        return A.where(inside, grad_out, 0.0), None, None


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """clamp(x, min_val, max_val); gradient 0 at the edges, as PyTorch. Shape: any -> same."""
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
        )
    return _Hardtanh.apply(input, float(min_val), float(max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6). Shape: any -> same."""
    return hardtanh(input, 0.0, 6.0)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants. Shape: any -> same."""
    return _Elu.apply(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)). Shape: any -> same."""
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError, alpha cannot be 0 for CELU")
    return _Elu.apply(input / alpha, 1.0) * alpha


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) for the two halves a, b of ``dim``. Shape: (*, 2n, *) -> (*, n, *)."""
    if input.ndim == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(
            f"glu: Halving dimension must be even, but dimension {dim} is size {size}"
        )
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6. Shape: any -> same."""
    return _Hardtanh.apply(input + 3.0, 0.0, 6.0) / 6.0


class _Hardswish(Function):
    """x * relu6(x + 3) / 6, with PyTorch's gradient (x/3 + 1/2 on (-3, 3), 0 below, 1 above)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = ctx.xp
        return (x * xp.clip(x + 3.0, 0.0, 6.0) / 6.0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        # The open interval, as PyTorch 2.13: the slope is 0 at exactly -3 and 1 at exactly 3.
        slope = A.where(x <= -3.0, 0.0, A.where(x < 3.0, x / 3.0 + 0.5, 1.0))
        return grad_out * slope


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6. Shape: any -> same."""
    return _Hardswish.apply(input)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0. Shape: any -> same."""
    return A.where(input.abs() > lambd, input, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between. Shape: any -> same."""
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found {lambd}")
    return A.where(input > lambd, input - lambd, A.where(input < -lambd, input + lambd, 0.0))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|). Shape: any -> same."""
    return input / (input.abs() + 1.0)


class _Softplus(Function):
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` (in beta x), as PyTorch."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = ctx.xp
        bx = x * beta
        ctx.save_for_backward(x)
        ctx.beta = beta
        ctx.threshold = threshold
        soft = xp.logaddexp(xp.zeros((), dtype=x.dtype), bx) / beta
        return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return grad_out * A.where(bx > ctx.threshold, 1.0, bx.sigmoid()), None, None


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, reverting to x where beta x > threshold. Shape: any -> same."""
    return _Softplus.apply(input, float(beta), float(threshold))


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x). Shape: any -> same."""
    return input - input.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``. Shape: any -> same."""
    return A.where(input > threshold, input, float(value))


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|. Shape: any -> same."""
    return -_Softplus.apply(-input, 1.0, 20.0)


def softmin(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """softmax(-x) along ``dim``. Shape: any -> same."""
    return softmax(-input, dim, dtype)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (swish). Shape: any -> same."""
    return input * input.sigmoid()


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)). Shape: any -> same."""
    return input * _Softplus.apply(input, 1.0, 20.0).tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x, one slope per channel (dim 1) or one for all.

    Shape: input (N, C, *) or (C,) or (), weight (C,) or (1,) -> like input.
    """
    n = weight.numel()
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: weight must be 0-D or 1-D, got shape {tuple(weight.shape)}")
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim else 1)
        if n != channels:
            raise RuntimeError(
                f"prelu: mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {n} and channel size = {channels} (input shape {tuple(input.shape)})"
            )
        if input.ndim >= 2:
            weight = weight.reshape(n, *([1] * (input.ndim - 2)))
    return A.where(input > 0, input, input * weight)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: slopes drawn from U(lower, upper) for negative x when training,
    their mean (lower + upper) / 2 otherwise. Shape: any -> same.
    """
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    backend = input._backend
    slopes = backend.rng.random(tuple(input.shape), dtype=input.dtype) * (upper - lower) + lower
    slope = A.Tensor._make(input.xp.asarray(slopes, dtype=input.dtype), backend)
    return A.where(input >= 0, input, input * slope)
