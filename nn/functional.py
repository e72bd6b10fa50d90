"""``nn.functional`` (``import nn.functional as F``): layers and losses as functions.

Everything is built on autograd. Where one fused op is clearer or faster than a chain of Tensor
ops (linear, the activations, softmax, the normalisations, the losses' kernels), it is an
``autograd.Function`` defined here: forward on backend arrays through ``ctx.xp``, backward in
Tensor ops, so second derivatives come for free. Nothing here imports numpy or cupy.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from typing import Any

import autograd as A
from autograd import Function, Tensor
from autograd.ops.linalg import Matmul
from autograd.ops.reduce import Sum
from autograd.ops.shape import Permute

_REDUCTIONS = ("mean", "sum", "none")


# -------------------------------------------------------------------------------- helpers
def _check_tensor(value: Any, op: str, name: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


def _reduction(size_average: Any, reduce: Any, reduction: str, op: str) -> str:
    """The reduction string, translating PyTorch's deprecated size_average/reduce flags."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        if not reduce:
            return "none"
        return "mean" if size_average else "sum"
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: {reduction!r} is not a valid value for reduction; use 'mean', 'sum' or 'none'"
        )
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input: Tensor, target: Tensor, op: str) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"{op}: using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


# --------------------------------------------------------------------------------- linear
class _Linear(Function):
    """``x @ weight.T + bias`` as one node; the weight gradient folds all leading dims."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        out = x @ weight.T
        if bias is not None:
            out += bias
        need_x, need_weight, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if need_weight else None, weight if need_x else None)
        ctx.weight_rows = weight.shape[0]
        return out

    @staticmethod
    def backward(ctx, grad_out):
        # Shapes were checked by forward, so the ops are applied directly (no argument checks).
        x, weight = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_x = Matmul.apply(grad_out, weight) if need_x else None
        grad_weight = grad_bias = None
        if need_weight:
            if x.ndim == 1:
                grad_weight = grad_out.unsqueeze(1) @ x.unsqueeze(0)
            elif x.ndim == 2:
                grad_weight = Matmul.apply(Permute.apply(grad_out, (1, 0)), x)
            else:
                rows = ctx.weight_rows
                grad_weight = grad_out.reshape(-1, rows).mT @ x.reshape(-1, x.shape[-1])
        if need_bias:
            lead = tuple(range(grad_out.ndim - 1))
            grad_bias = Sum.apply(grad_out, lead, False) if lead else grad_out
        return grad_x, grad_weight, grad_bias


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x W^T + b``.

    Shape: input (*, in_features), weight (out_features, in_features), bias (out_features,)
    -> (*, out_features).
    """
    _check_tensor(input, "linear", "input")
    if weight.ndim != 2:
        raise ValueError(
            f"linear: weight must be 2-D (out_features, in_features), got {weight.shape}"
        )
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(
            f"linear: input of shape {input.shape} has {input.shape[-1] if input.ndim else 0} "
            f"features, but weight of shape {weight.shape} expects in_features={weight.shape[1]}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise RuntimeError(
            f"linear: bias of shape {bias.shape} does not match weight of shape {weight.shape}; "
            f"expected ({weight.shape[0]},)"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise RuntimeError(
                f"linear: input is {input.dtype} but {name} is {t.dtype}; convert one of them "
                "(e.g. model.to(input.dtype) or input.float())"
            )
    return _Linear.apply(input, weight, bias)


# ---------------------------------------------------------------------------- activations
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


# W. J. Cody's rational Chebyshev approximations of erf/erfc (SPECFUN CALERF), |error| < 1e-16.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)  # fmt: skip
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)  # fmt: skip
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)  # fmt: skip
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)  # fmt: skip
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip
_INV_SQRT_PI = 0.56418958354775628695
_INV_SQRT_2PI = 0.39894228040143267794
_SQRT1_2 = 0.70710678118654752440


def _erf_small(z: Any) -> Any:
    """erf(z) for |z| <= 0.46875: z P(z^2) / Q(z^2)."""
    zsq = z * z
    num = _ERF_A[4] * zsq
    den = zsq
    for i in range(3):
        num = (num + _ERF_A[i]) * zsq
        den = (den + _ERF_B[i]) * zsq
    return z * (num + _ERF_A[3]) / (den + _ERF_B[3])


def _erfc_rational_middle(y: Any) -> Any:
    """erfc(y) / exp(-y^2) for 0.46875 < y <= 4: P(y) / Q(y)."""
    num = _ERF_C[8] * y
    den = y
    for i in range(7):
        num = (num + _ERF_C[i]) * y
        den = (den + _ERF_D[i]) * y
    return (num + _ERF_C[7]) / (den + _ERF_D[7])


def _erfc_rational_tail(y: Any) -> Any:
    """erfc(y) / exp(-y^2) for y > 4: (1/sqrt(pi) - P(1/y^2) / (y^2 Q(1/y^2))) / y."""
    inv = 1.0 / (y * y)
    num = _ERF_P[5] * inv
    den = inv
    for i in range(4):
        num = (num + _ERF_P[i]) * inv
        den = (den + _ERF_Q[i]) * inv
    return (_INV_SQRT_PI - inv * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / y


def _times_exp_minus_square(xp: Any, y: Any, rational: Any) -> Any:
    """rational * exp(-y^2), with exp(-y^2) split at y rounded to 1/16 (no cancellation)."""
    r = xp.trunc(y * 16.0) / 16.0
    return xp.exp(-r * r) * xp.exp(-(y - r) * (y + r)) * rational


def _erf_pieces(xp: Any, z: Any, masked: bool | None = None) -> tuple:
    """W. J. Cody's erf/erfc (SPECFUN CALERF, |error| ~ 1e-16): ``(value, is_small)``, where
    ``value`` is erf(z) where |z| <= 0.46875 and erfc(|z|) elsewhere.

    On the CPU each range is evaluated only on its own elements (boolean gathers are cheap
    there); on a GPU a boolean gather waits for the device, so every range is evaluated on
    clipped copies of the whole array and the results are selected. erfc(|z|) is below the
    smallest double beyond 27.5, so |z| is clipped there (erf(z) is exactly +-1 already at 6).
    """
    if masked is None:
        masked = xp.__name__ == "numpy"
    y = xp.abs(z)
    is_small = y <= 0.46875
    if masked:
        # Integer gathers: several times faster than boolean masks in NumPy. NaN goes "large".
        flat_z = z.reshape(-1)
        flat_small = is_small.reshape(-1)
        small_at = xp.flatnonzero(flat_small)
        large_at = xp.flatnonzero(~flat_small)
        value = xp.empty_like(flat_z)
        value[small_at] = _erf_small(flat_z[small_at])
        y_large = xp.minimum(y.reshape(-1)[large_at], 27.5)
        is_middle = y_large <= 4.0
        middle_at = xp.flatnonzero(is_middle)
        tail_at = xp.flatnonzero(~is_middle)
        rational = xp.empty_like(y_large)
        rational[middle_at] = _erfc_rational_middle(y_large[middle_at])
        rational[tail_at] = _erfc_rational_tail(y_large[tail_at])
        value[large_at] = _times_exp_minus_square(xp, y_large, rational)
        return value.reshape(z.shape), is_small
    small = _erf_small(xp.clip(z, -0.46875, 0.46875))
    y_large = xp.clip(y, 0.46875, 27.5)
    middle = _erfc_rational_middle(xp.minimum(y_large, 4.0))
    tail = _erfc_rational_tail(xp.maximum(y_large, 4.0))
    erfc_abs = _times_exp_minus_square(xp, y_large, xp.where(y_large <= 4.0, middle, tail))
    return xp.where(is_small, small, erfc_abs), is_small


def _erf(xp: Any, z: Any, masked: bool | None = None) -> Any:
    """erf of a backend array (NumPy has none), to ~1e-16 in float64."""
    value, is_small = _erf_pieces(xp, z, masked)
    large = (0.5 - value) + 0.5
    return xp.where(is_small, value, xp.where(z < 0, -large, large))


def _normal_cdf(xp: Any, x: Any, masked: bool | None = None) -> Any:
    """Phi(x) = erfc(-x / sqrt 2) / 2, accurate in the lower tail too (no 1 + erf cancellation)."""
    z = x * -_SQRT1_2
    value, is_small = _erf_pieces(xp, z, masked)
    erfc = xp.where(is_small, 1.0 - value, xp.where(z < 0, 2.0 - value, value))
    return 0.5 * erfc


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


class _Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(e)
        ctx.dim = dim
        return e

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return out * (grad_out - (grad_out * out).sum(ctx.dim, keepdim=True)), None


class _LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp
        shifted = x - x.max(axis=dim, keepdims=True)
        shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(shifted)
        ctx.dim = dim
        return shifted

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out - out.exp() * grad_out.sum(ctx.dim, keepdim=True), None


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (the max is subtracted first). Shape: any -> same."""
    if dtype is not None:
        input = input.to(dtype)
    return _Softmax.apply(input, _softmax_dim(dim, input.ndim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable for large inputs. Shape: any -> same."""
    if dtype is not None:
        input = input.to(dtype)
    return _LogSoftmax.apply(input, _softmax_dim(dim, input.ndim, "log_softmax"))


# -------------------------------------------------------------------------------- dropout
class _Dropout(Function):
    @staticmethod
    def forward(ctx, x, p):
        xp = ctx.xp
        work = x.dtype if x.dtype in (A.float32, A.float64) else A.float64
        keep = ctx.backend.rng.random(x.shape, dtype=work) >= p
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
        mask = keep.astype(x.dtype) * xp.asarray(scale, dtype=x.dtype)
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


# -------------------------------------------------------------------------- normalisation
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
    count = input.numel() // channels
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


# ------------------------------------------------------------------------------ embedding
def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; gradients of repeated indices add up,
    and the ``padding_idx`` row receives none.

    Shape: input (*) int64, weight (num_embeddings, embedding_dim) -> (*, embedding_dim).
    Where we differ: ``max_norm``, ``scale_grad_by_freq`` and ``sparse`` are not supported.
    """
    _check_tensor(input, "embedding", "input")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(
            "embedding: max_norm, scale_grad_by_freq and sparse are not supported"
        )
    if input.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: expected an integer (int64) index tensor, got {input.dtype}; "
            "use input.long()"
        )
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D, got shape {weight.shape}")
    num = weight.shape[0]
    if input.numel() and (input.min().item() < 0 or input.max().item() >= num):
        raise IndexError(
            f"embedding: index out of range: indices must be in [0, {num}) for a weight of "
            f"shape {weight.shape}, got min {input.min().item()} and max {input.max().item()}"
        )
    out = weight.index_select(0, input.reshape(-1)).reshape(*input.shape, weight.shape[1])
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += num
        pad = (input == padding_idx).unsqueeze(-1)
        # Same values; the gradient flows only through rows that are not padding.
        out = A.where(pad, out.detach(), out)
    return out


# ------------------------------------------------------------------------------ distances
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
    n1 = x1.norm(2, dim, keepdim=True)
    n2 = x2.norm(2, dim, keepdim=True)
    with A.no_grad():
        lift1 = n1.clamp(min=eps) - n1
        lift2 = n2.clamp(min=eps) - n2
    return ((x1 / (n1 + lift1)) * (x2 / (n2 + lift2))).sum(dim)


# ---------------------------------------------------------------------------------- losses
def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """(input - target)^2, reduced. Shape: input (*), target same -> () or (*) for 'none'."""
    reduction = _reduction(size_average, reduce, reduction, "mse_loss")
    _check_tensor(input, "mse_loss", "input")
    _check_tensor(target, "mse_loss", "target")
    _warn_size(input, target, "mse_loss")
    diff = input - target
    return _weighted(diff * diff, weight, input, reduction, "mse_loss")


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """|input - target|, reduced. Shape: input (*), target same -> () or (*) for 'none'."""
    reduction = _reduction(size_average, reduce, reduction, "l1_loss")
    _check_tensor(input, "l1_loss", "input")
    _check_tensor(target, "l1_loss", "target")
    _warn_size(input, target, "l1_loss")
    return _weighted((input - target).abs(), weight, input, reduction, "l1_loss")


def _weighted(loss: Tensor, weight: Any, input: Tensor, reduction: str, op: str) -> Tensor:
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError(
            f"{op}: weight {weight.shape} and input {input.shape} must have the same size"
        )
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


class _BinaryCrossEntropy(Function):
    """-(t log x + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch."""

    @staticmethod
    def forward(ctx, x, t):
        xp = ctx.xp
        # log of a non-positive number would warn: those entries are set to the clamp directly.
        log_x = xp.where(x > 0, xp.log(xp.where(x > 0, x, 1.0)), -100.0)
        log_1mx = xp.where(x < 1, xp.log1p(-xp.where(x < 1, x, 0.0)), -100.0)
        log_x = xp.maximum(log_x, -100.0)
        log_1mx = xp.maximum(log_1mx, -100.0)
        ctx.save_for_backward(x, t, log_1mx - log_x)
        return (t - 1.0) * log_1mx - t * log_x

    @staticmethod
    def backward(ctx, grad_out):
        x, t, log_ratio = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad
        # PyTorch's gradient: (x - t) / max(x (1 - x), 1e-12), finite even at x = 0 or 1.
        grad_x = grad_out * (x - t) / (x * (1.0 - x)).clamp(min=1e-12) if need_x else None
        grad_t = grad_out * log_ratio if need_t else None
        return grad_x, grad_t


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross entropy of probabilities ``input`` (in [0, 1]) against ``target``.

    Shape: input (*), target same, weight broadcastable -> () or (*) for 'none'.
    """
    reduction = _reduction(size_average, reduce, reduction, "binary_cross_entropy")
    _check_tensor(input, "binary_cross_entropy", "input")
    _check_tensor(target, "binary_cross_entropy", "target")
    if target.shape != input.shape:
        raise ValueError(
            f"binary_cross_entropy: using a target size ({target.shape}) that is different to "
            f"the input size ({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if (~((input >= 0) & (input <= 1))).any().item():
        raise RuntimeError(
            "binary_cross_entropy: all elements of input should be between 0 and 1 (apply "
            "sigmoid first, or use binary_cross_entropy_with_logits on the raw scores)"
        )
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class _BCEWithLogits(Function):
    """(1 - t) x + lw softplus(-x), lw = 1 + (pos_weight - 1) t; softplus without overflow."""

    @staticmethod
    def forward(ctx, x, t, pos_weight):
        xp = ctx.xp
        softplus_neg = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0.0)
        ctx.save_for_backward(x, t, pos_weight)
        if pos_weight is None:
            return (1.0 - t) * x + softplus_neg
        return (1.0 - t) * x + ((pos_weight - 1.0) * t + 1.0) * softplus_neg

    @staticmethod
    def backward(ctx, grad_out):
        x, t, pos_weight = ctx.saved_tensors
        need_x, need_t, need_pw = ctx.needs_input_grad
        grad_x = grad_t = grad_pw = None
        if need_x:
            if pos_weight is None:
                # (1 - t) - sigmoid(-x) is sigmoid(x) - t: three ops instead of five.
                grad_x = grad_out * (x.sigmoid() - t)
            else:
                sig_neg = (-x).sigmoid()
                grad_x = grad_out * ((1.0 - t) - ((pos_weight - 1.0) * t + 1.0) * sig_neg)
        if need_t or need_pw:
            softplus_neg = ((-x.abs()).exp() + 1.0).log() + (-x).relu()
            if need_t:
                if pos_weight is None:
                    grad_t = grad_out * -x
                else:
                    grad_t = grad_out * ((pos_weight - 1.0) * softplus_neg - x)
            if need_pw:
                grad_pw = grad_out * t * softplus_neg
        return grad_x, grad_t, grad_pw


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """sigmoid + binary cross entropy in one stable formula (no overflow for large logits).

    ``pos_weight`` (one per class, broadcast over the last dim) weighs the positive term.
    Shape: input (*), target same -> () or (*) for 'none'.
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(size_average, reduce, reduction, op)
    _check_tensor(input, op, "input")
    _check_tensor(target, op, "target")
    if target.shape != input.shape:
        raise ValueError(
            f"{op}: target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    loss = _BCEWithLogits.apply(input, target, pos_weight)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class _NllLoss(Function):
    """-input[n, target[n]] * weight[target[n]], reduced; ignored targets contribute nothing."""

    @staticmethod
    def forward(ctx, logp, target, weight, *, class_dim, ignore_index, reduction):
        xp = ctx.xp
        valid = target != ignore_index
        safe_target = xp.where(valid, target, 0)
        index = xp.expand_dims(safe_target, class_dim)
        picked = xp.take_along_axis(logp, index, axis=class_dim).squeeze(class_dim)
        w = valid.astype(logp.dtype)
        if weight is not None:
            w *= weight[safe_target]
        losses = -picked * w
        if reduction == "none":
            coef, out = -w, losses
        elif reduction == "sum":
            coef, out = -w, losses.sum()
        else:
            total = w.sum()
            # All targets ignored: 0 / 0 = nan, as PyTorch, without NumPy's warning.
            quiet = xp.errstate(invalid="ignore") if hasattr(xp, "errstate") else nullcontext()
            with quiet:
                coef, out = -w / total, losses.sum() / total
        ctx.save_for_backward(coef, index)
        ctx.class_dim = class_dim
        ctx.num_classes = logp.shape[class_dim]
        return out

    @staticmethod
    def backward(ctx, grad_out):
        coef, index = ctx.saved_tensors
        dim = ctx.class_dim
        shape = [1] * index.ndim
        shape[dim] = ctx.num_classes
        classes = A.arange(ctx.num_classes, device=index.device).reshape(shape)
        chosen = index == classes
        # A Where, not a scatter: differentiable in grad_out, so cross_entropy has second order.
        return A.where(chosen, (coef * grad_out).unsqueeze(dim), 0.0), None, None


def _check_class_target(input: Tensor, target: Tensor, op: str) -> int:
    """Validate class-index targets; returns the class dim of ``input``."""
    if target.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: expected class indices of an integer dtype (int64), got target of dtype "
            f"{target.dtype}; use target.long()"
        )
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dimension (C,) or (N, C, ...)")
    if input.ndim == 1:
        if target.ndim != 0:
            raise ValueError(
                f"{op}: for an unbatched input of shape {input.shape}, target must be 0-d, got "
                f"{target.shape}"
            )
        return 0
    if target.ndim == 0 or target.shape[0] != input.shape[0]:
        batch = target.shape[0] if target.ndim else "none (0-d target)"
        raise ValueError(
            f"{op}: Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({batch}); input {input.shape}, target {target.shape}"
        )
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise RuntimeError(
            f"{op}: expected target size {list(expected)} for input of shape {input.shape}, got "
            f"{list(target.shape)}"
        )
    return 1


def _check_class_range(target: Tensor, num_classes: int, ignore_index: int, op: str) -> None:
    if target.numel() == 0:
        return
    bad = (target != ignore_index) & ((target < 0) | (target >= num_classes))
    if bad.any().item():
        value = target[bad][0].item()
        raise IndexError(
            f"{op}: Target {value} is out of bounds: class indices must be in [0, {num_classes}) "
            f"(or equal ignore_index={ignore_index})"
        )


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of class indices given log-probabilities ``input``.

    'mean' divides by the summed weights of the non-ignored targets, as PyTorch.
    Shape: input (N, C) or (N, C, d1, ...) or (C,); target (N,) or (N, d1, ...) or () int64
    -> () or target's shape for 'none'.
    """
    reduction = _reduction(size_average, reduce, reduction, "nll_loss")
    _check_tensor(input, "nll_loss", "input")
    _check_tensor(target, "nll_loss", "target")
    class_dim = _check_class_target(input, target, "nll_loss")
    num_classes = input.shape[class_dim]
    if weight is not None and weight.shape != (num_classes,):
        raise RuntimeError(
            f"nll_loss: weight of shape {weight.shape} should have one entry per class "
            f"({num_classes},)"
        )
    _check_class_range(target, num_classes, ignore_index, "nll_loss")
    return _NllLoss.apply(
        input,
        target,
        None if weight is None else weight.detach().to(input.dtype),
        class_dim=class_dim,
        ignore_index=ignore_index,
        reduction=reduction,
    )


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """log_softmax over the class dim (1, or 0 for unbatched input) followed by the negative
    log likelihood of the targets: class indices (int64) or class probabilities (float, same
    shape as input). ``weight`` rescales classes, ``ignore_index`` skips targets,
    ``label_smoothing`` mixes the target with the uniform distribution, all as PyTorch.
    int64 targets never promote a float32 input.

    Shape: input (N, C) or (N, C, d1, ...) or (C,); target (N,) / (N, d1, ...) / () of int64,
    or input's shape of floats -> () or (N, d1, ...) for 'none'.
    """
    op = "cross_entropy"
    reduction = _reduction(size_average, reduce, reduction, op)
    _check_tensor(input, op, "input")
    _check_tensor(target, op, "target")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
        )
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dimension (C,) or (N, C, ...)")
    class_dim = 0 if input.ndim == 1 else 1
    num_classes = input.shape[class_dim]
    if weight is not None:
        if weight.shape != (num_classes,):
            raise RuntimeError(
                f"{op}: weight of shape {weight.shape} should have one entry per class "
                f"({num_classes},)"
            )
        weight = weight.detach().to(input.dtype)
    weight_shape = [1] * input.ndim
    weight_shape[class_dim] = num_classes
    logp = log_softmax(input, class_dim)

    if target.dtype.kind == "f":
        if target.shape != input.shape:
            raise RuntimeError(
                f"{op}: class-probability targets must have the input's shape {input.shape}, got "
                f"{target.shape}"
            )
        if target.dtype != input.dtype:
            target = target.to(input.dtype)
        if label_smoothing > 0:
            target = target * (1.0 - label_smoothing) + label_smoothing / num_classes
        if weight is not None:
            logp = logp * weight.reshape(weight_shape)
        loss = -(logp * target).sum(class_dim)
        if reduction == "mean":
            return loss.sum() / max(input.numel() // max(num_classes, 1), 1)
        return _reduce(loss, reduction)

    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0:
        return nll
    ignored = target == ignore_index
    if weight is not None:
        smooth = -(logp * weight.reshape(weight_shape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    smooth = A.where(ignored, 0.0, smooth)
    if reduction == "mean":
        kept = (~ignored).to(input.dtype)
        if weight is not None:
            safe = A.where(ignored, 0, target)
            kept = kept * weight.index_select(0, safe.reshape(-1)).reshape(safe.shape)
        smooth = smooth.sum() / kept.sum()
    else:
        smooth = _reduce(smooth, reduction)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / num_classes)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with d the ``pairwise_distance``; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance.

    Shape: anchor, positive, negative (N, D) or (D,) -> () or (N,) for 'none'.
    """
    op = "triplet_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_tensor(t, op, name)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            f"{op}: the anchor, positive, and negative tensors are expected to have the same "
            f"number of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, "
            f"and negative {negative.ndim}D inputs"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = A.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = (d_pos - d_neg + margin).clamp(min=0.0)
    return _reduce(loss, reduction)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one. Shape: (*, S_i, ..., S_j, *) -> (*, prod, *)."""
    return input.flatten(start_dim, end_dim)
