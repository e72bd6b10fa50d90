"""More elementwise math, PyTorch's names: trigonometric and hyperbolic functions, logs and
exponentials, rounding, two-argument functions (atan2, hypot, logaddexp, xlogy, fmod, ...),
tests (isinf, isclose, ...) and the fused forms (lerp, addcmul, addcdiv).

Integer and bool inputs to a floating point function become the default float (float32), as
PyTorch. Rounding ops (floor, ceil, round, trunc, sign, ...) are recorded with a zero gradient,
as PyTorch, so ``x.floor().sum().backward()`` gives zeros, not an error.
"""

from __future__ import annotations

import math
from typing import Any

from backends import dtypes as _dtypes

from ..function import Function
from ..tensor import Tensor
from .elementwise import (
    Cos,
    Exp,
    Log,
    Sqrt,
    _as_tensor,
    _binary,
    _binary_op,
    _describe,
    _floating,
    _no_grad_result,
    _true_division_operands,
    clamp,
    div,
    logical_and,
    where,
)
from .index import host_bool

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _float_operands(a: Tensor, b: Any, op: str) -> tuple:
    """Operands of a two-argument float function: promoted, then ints to the default float."""
    return _true_division_operands(a, b, op)


def _first_tensor(a: Any, b: Any, op: str) -> tuple:
    """PyTorch's functions accept a number as either argument; make the first one a Tensor."""
    if isinstance(a, Tensor):
        return a, b
    if isinstance(b, Tensor):
        return _as_tensor(a, b), b
    raise TypeError(f"{op}: expected at least one Tensor argument, got {_describe(a)} and "
                    f"{_describe(b)}")  # fmt: skip


def _require_floating(a: Tensor, op: str) -> None:
    if a.data.dtype.kind not in "fc":
        raise TypeError(f"{op}: expected a floating point tensor, got {_describe(a)}")


# ------------------------------------------------------------ trigonometric and hyperbolic
class Tan(Function):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.tan(_floating(ctx, a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out * (out * out + 1.0)


class Asin(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.arcsin(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out / Sqrt.apply(1.0 - a * a)


class Acos(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.arccos(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return -grad_out / Sqrt.apply(1.0 - a * a)


class Atan(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.arctan(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out / (a * a + 1.0)


class Sinh(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.sinh(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out * Cosh.apply(a)


class Cosh(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.cosh(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out * Sinh.apply(a)


class Asinh(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.arcsinh(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out / Sqrt.apply(a * a + 1.0)


class Acosh(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.arccosh(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        # sqrt(a - 1) sqrt(a + 1) rather than sqrt(a^2 - 1): no cancellation near a = 1.
        return grad_out / (Sqrt.apply(a - 1.0) * Sqrt.apply(a + 1.0))


class Atanh(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.arctanh(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out / (1.0 - a * a)


class Sinc(Function):
    """sin(pi x) / (pi x), 1 at x = 0 (the normalized sinc, as PyTorch and NumPy)."""

    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.sinc(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        zero = a == 0
        safe = where(zero, 1.0, a)
        slope = (Cos.apply(safe * math.pi) - Sinc.apply(safe)) / safe
        return grad_out * where(zero, 0.0, slope)


# ------------------------------------------------------------------ logs and exponentials
class Log1p(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.log1p(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out / (a + 1.0)


class Log2(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.log2(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out / (a * _LN2)


class Log10(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.log10(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out / (a * _LN10)


class Expm1(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.expm1(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out * Exp.apply(a)


class Exp2(Function):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.exp2(_floating(ctx, a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out * out * _LN2


class Logit(Function):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] first when ``eps`` is given; the
    gradient is then 0 outside that interval (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, eps):
        xp = ctx.xp
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        ctx.eps = eps
        p = a if eps is None else xp.clip(a, eps, 1.0 - eps)
        return xp.log(p / (1.0 - p))

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        slope = grad_out / (a * (1.0 - a))
        if ctx.eps is None:
            return slope, None
        inside = logical_and(a >= ctx.eps, a <= 1.0 - ctx.eps)
        return where(inside, slope, 0.0), None


# ------------------------------------------------------------- rounding: a zero gradient
class Rounding(Function):
    """floor, ceil, trunc, round (``decimals``) and sign: piecewise constant, so the gradient
    is zero everywhere (PyTorch's convention at the jumps too). Recorded, so that backward
    through them gives zeros rather than an error."""

    @staticmethod
    def forward(ctx, a, name, decimals=0):
        xp = ctx.xp
        if name == "round" and decimals:
            return xp.round(a, decimals)
        if name in ("floor", "ceil", "trunc", "round") and a.dtype.kind in "iub":
            return a.copy()
        return getattr(xp, name)(a)

    @staticmethod
    def backward(ctx, grad_out):
        return _zeros_like(grad_out), None, None


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._make(t._backend.xp.zeros_like(t.data), t._backend)


class Frac(Function):
    """x - trunc(x): its gradient is 1 (the jumps are ignored, as PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        return a - ctx.xp.trunc(a)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out


def _rounding(a: Tensor, name: str, decimals: int = 0) -> Tensor:
    if a.data.dtype.kind == "b" and name != "sign":
        raise TypeError(f"{name}: not implemented for bool tensors ({_describe(a)})")
    if name == "round" and decimals and a.data.dtype.kind not in "fc":
        raise TypeError(f"round: decimals= needs a floating point tensor, got {_describe(a)}")
    if name == "sign" and a.data.dtype.kind == "b":
        return _no_grad_result(a, a.data.copy())
    return Rounding.apply(a, name, int(decimals))


def floor(input: Tensor) -> Tensor:
    """The largest integer <= x (integer tensors are returned as a copy). Shape: same."""
    return _rounding(input, "floor")


def ceil(input: Tensor) -> Tensor:
    """The smallest integer >= x. Shape: same."""
    return _rounding(input, "ceil")


def trunc(input: Tensor) -> Tensor:
    """x rounded towards zero. Shape: same."""
    return _rounding(input, "trunc")


def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001
    """x rounded half to even (``decimals`` places, as PyTorch). Shape: same."""
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {type(decimals).__name__}")
    return _rounding(input, "round", decimals)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 (bool tensors stay bool); the gradient is zero, as PyTorch. Shape: same."""
    return _rounding(input, "sign")


def sgn(input: Tensor) -> Tensor:
    """The sign; for real tensors the same as ``sign``. Shape: same."""
    return _rounding(input, "sign")


def frac(input: Tensor) -> Tensor:
    """x - trunc(x) (floating point tensors only, as PyTorch). Shape: same."""
    _require_floating(input, "frac")
    return Frac.apply(input)


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (-0.0 included). Shape: same, bool, no gradient."""
    return _no_grad_result(input, input._backend.xp.signbit(input.data))


# -------------------------------------------------------------------- two-argument functions
class Atan2(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        scale = grad_out / (a * a + b * b)
        need_a, need_b = ctx.needs_input_grad
        return (scale * b if need_a else None), (-scale * a if need_b else None)


class Hypot(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = ctx.xp.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, b, out = ctx.saved_tensors
        scale = grad_out / out
        need_a, need_b = ctx.needs_input_grad
        return (scale * a if need_a else None), (scale * b if need_b else None)


class LogAddExp(Function):
    """log(e^a + e^b) (base 2 with ``base2``), without overflow; the gradient is softmax-like."""

    @staticmethod
    def forward(ctx, a, b, base2):
        xp = ctx.xp
        out = xp.logaddexp2(a, b) if base2 else xp.logaddexp(a, b)
        ctx.save_for_backward(a, b, out)
        ctx.base2 = base2
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[:2]
        scale = _LN2 if ctx.base2 else 1.0
        grad_a = grad_out * Exp.apply((a - out) * scale) if need_a else None
        grad_b = grad_out * Exp.apply((b - out) * scale) if need_b else None
        return grad_a, grad_b, None


class Xlogy(Function):
    """a log(b), 0 where a == 0 (unless b is NaN), as PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        ctx.save_for_backward(a, b)
        safe = xp.where(a == 0, 1.0, b).astype(b.dtype, copy=False)
        out = xp.where((a == 0) & ~xp.isnan(b), 0.0, a * xp.log(safe))
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            # log(b), taken as 0 where b == 0 (PyTorch's rule, whatever a is there).
            grad_a = grad_out * where(b == 0, 0.0, Log.apply(where(b == 0, 1.0, b)))
        if need_b:
            grad_b = grad_out * a / b
        return grad_a, grad_b


class Copysign(Function):
    """|a| with the sign of b; the gradient to ``a`` is +-1 (0 at a == 0), none to ``b``."""

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        out = xp.copysign(a, b)
        ctx.save_for_backward(xp.where(a == 0, 0.0, out / xp.where(a == 0, 1.0, a)).astype(a.dtype))
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (flip,) = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad_out * flip if need_a else None), (_zeros_like(grad_out) if need_b else None)


class Fmod(Function):
    """a - trunc(a / b) b (the sign of ``a``, C's fmod); gradients 1 and -trunc(a / b)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(xp.trunc(a / b))
        return xp.fmod(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        need_a, need_b = ctx.needs_input_grad
        grad_b = None
        if need_b:
            (quotient,) = ctx.saved_tensors
            grad_b = -grad_out * quotient
        return (grad_out if need_a else None), grad_b


class Fmax(Function):
    """max / min ignoring NaN; the whole gradient goes to ``a`` where a >= b or b is NaN (ties
    are not split, unlike ``maximum``: PyTorch's rule)."""

    @staticmethod
    def forward(ctx, a, b, take_max):
        xp = ctx.xp
        wins = (a >= b) if take_max else (a <= b)
        ctx.save_for_backward((wins | xp.isnan(b)).astype(a.dtype))
        return xp.fmax(a, b) if take_max else xp.fmin(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        (to_a,) = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[:2]
        return (
            (grad_out * to_a if need_a else None),
            (grad_out * (1.0 - to_a) if need_b else None),
            None,
        )


class RoundedDivision(Function):
    """a / b rounded towards zero ('trunc') or down ('floor'); the gradient is zero (PyTorch)."""

    @staticmethod
    def forward(ctx, a, b, mode):
        xp = ctx.xp
        if a.dtype.kind in "iu":
            quotient = xp.floor_divide(a, b)
            if mode == "trunc":
                inexact = (quotient * b != a) & ((a < 0) != (b < 0))
                quotient = quotient + inexact.astype(quotient.dtype)
            return quotient
        if mode == "floor":
            return xp.floor_divide(a, b)
        return xp.trunc(a / b)

    @staticmethod
    def backward(ctx, grad_out):
        need_a, need_b = ctx.needs_input_grad[:2]
        zeros = _zeros_like(grad_out)
        return (zeros if need_a else None), (zeros if need_b else None), None


def _two_argument(cls: type, op: str, a: Any, b: Any, *extra: Any) -> Tensor:
    a, b = _first_tensor(a, b, op)
    x, y = _float_operands(a, b, op)
    if not isinstance(y, Tensor):
        y = _as_tensor(y, x).to(x.dtype)
    return _binary_op(cls, op, x, y, extra=extra[0] if extra else None, promote=_same)


def _same(a: Tensor, b: Any, op: str) -> tuple:
    return a, b


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point (other, input), in (-pi, pi]. Shape: broadcast."""
    return _two_argument(Atan2, "atan2", input, other)


def arctan2(input: Any, other: Any) -> Tensor:
    return atan2(input, other)


def hypot(input: Any, other: Any) -> Tensor:
    """sqrt(input^2 + other^2) without overflow. Shape: broadcast."""
    return _two_argument(Hypot, "hypot", input, other)


def logaddexp(input: Any, other: Any) -> Tensor:
    """log(exp(input) + exp(other)), stable. Shape: broadcast."""
    return _two_argument(LogAddExp, "logaddexp", input, other, False)


def logaddexp2(input: Any, other: Any) -> Tensor:
    """log2(2^input + 2^other), stable. Shape: broadcast."""
    return _two_argument(LogAddExp, "logaddexp2", input, other, True)


def xlogy(input: Any, other: Any) -> Tensor:
    """input * log(other), 0 where input == 0 (unless other is NaN). Shape: broadcast."""
    return _two_argument(Xlogy, "xlogy", input, other)


def copysign(input: Any, other: Any) -> Tensor:
    """|input| with the sign of ``other`` (ints become the default float). Shape: broadcast."""
    return _two_argument(Copysign, "copysign", input, other)


def ldexp(input: Any, other: Any) -> Tensor:
    """input * 2^other. Shape: broadcast.

    Where we differ: with an integer ``other`` PyTorch's gradient to ``input`` is 0 where
    other < 0 (it computes 2^other in integers); ours is 2^other.
    """
    input, other = _first_tensor(input, other, "ldexp")
    power = Exp2.apply(other) if isinstance(other, Tensor) else 2.0**other
    x, y = _float_operands(input, power, "ldexp")
    return x * y


def fmod(input: Tensor, other: Any) -> Tensor:
    """The C remainder a - trunc(a / b) b, with the sign of ``input``. Shape: broadcast."""
    if input.data.dtype.kind in "iu" and (
        other == 0 if not isinstance(other, Tensor) else bool((other.data == 0).any())
    ):
        raise RuntimeError(f"fmod: integer division by zero ({_describe(input)})")
    return _binary_op(Fmod, "fmod", input, other)


def fmax(input: Tensor, other: Any) -> Tensor:
    """The elementwise max, where a NaN loses to a number (``maximum`` propagates NaN).
    Shape: broadcast."""
    return _binary_op(Fmax, "fmax", input, other, extra=True)


def fmin(input: Tensor, other: Any) -> Tensor:
    """The elementwise min, where a NaN loses to a number. Shape: broadcast."""
    return _binary_op(Fmax, "fmin", input, other, extra=False)


def divide(input: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """input / other; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient (and keeps an
    integer dtype, with a zero gradient as PyTorch); None is true division. Shape: broadcast."""
    if rounding_mode is None:
        return div(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(
            f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}"
        )
    x, y = _binary(input, other, "div")
    if x.data.dtype.kind in "iub":
        if x.data.dtype.kind == "b":
            x = x.to(_dtypes.int64)
            y = y.to(_dtypes.int64) if isinstance(y, Tensor) else y
        zero = host_bool((y.data == 0).any()) if isinstance(y, Tensor) else y == 0
        if zero:
            raise RuntimeError(f"div: integer division by zero (rounding_mode={rounding_mode!r})")
    return _binary_op(RoundedDivision, "div", x, y, extra=rounding_mode, promote=_same)


def true_divide(input: Tensor, other: Any) -> Tensor:
    """``div`` without rounding (true division, ints become floats). Shape: broadcast."""
    return div(input, other)


def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent computed in float64 (the result is float64, as PyTorch)."""
    input, exponent = _first_tensor(input, exponent, "float_power")
    base = input.to(_dtypes.float64)
    if isinstance(exponent, Tensor):
        exponent = exponent.to(_dtypes.float64)
    elif isinstance(exponent, (int, bool)):
        exponent = float(exponent)
    return base**exponent


def heaviside(input: Tensor, values: Any) -> Tensor:
    """0 where x < 0, ``values`` where x == 0, 1 where x > 0. Shape: broadcast.

    Where we differ: PyTorch records it and fails in backward; ours has no gradient.
    """
    x, y = _binary(input, values, "heaviside")
    xp = x._backend.xp
    other = y.data if isinstance(y, Tensor) else y
    return _no_grad_result(x, xp.heaviside(x.data, other).astype(x.data.dtype, copy=False))


def _bit_shift(input: Tensor, other: Any, op: str) -> Tensor:
    x, y = _binary(input, other, op)
    if x.data.dtype.kind not in "iu":
        raise TypeError(f"{op}: only integer tensors can be shifted, got {_describe(input)}")
    name = "left_shift" if op == "bitwise_left_shift" else "right_shift"
    other_data = y.data if isinstance(y, Tensor) else y
    return _no_grad_result(x, getattr(x._backend.xp, name)(x.data, other_data))


def bitwise_left_shift(input: Tensor, other: Any) -> Tensor:
    """input << other (integers). Shape: broadcast."""
    return _bit_shift(input, other, "bitwise_left_shift")


def bitwise_right_shift(input: Tensor, other: Any) -> Tensor:
    """input >> other (integers, arithmetic shift). Shape: broadcast."""
    return _bit_shift(input, other, "bitwise_right_shift")


# ------------------------------------------------------------------------ composed forms
def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:
    """input + weight * (end - input). Shape: broadcast."""
    _require_floating(input, "lerp")
    return input + (end - input) * weight


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 * tensor2. Shape: broadcast."""
    product = tensor1 * tensor2
    return input + (product if value == 1 else product * value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 / tensor2 (integer division is refused, as PyTorch)."""
    if tensor1.data.dtype.kind in "iub" and tensor2.data.dtype.kind in "iub":
        raise RuntimeError(
            f"addcdiv: integer division is not supported ({_describe(tensor1)} / "
            f"{_describe(tensor2)}); convert to a floating point dtype first"
        )
    quotient = tensor1 / tensor2
    return input + (quotient if value == 1 else quotient * value)


def square(input: Tensor) -> Tensor:
    """input * input (bool becomes int64, as PyTorch). Shape: same."""
    if input.data.dtype.kind == "b":
        input = input.to(_dtypes.int64)
    return input * input


def positive(input: Tensor) -> Tensor:
    """``input`` itself (``+x``); refused for bool, as PyTorch."""
    if input.data.dtype.kind == "b":
        raise TypeError("positive: the + operator on a bool tensor is not supported")
    return input


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians (ints become the default float). Shape: same."""
    x = input if input.data.dtype.kind in "fc" else input.to(_dtypes.float32)
    return x * (math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees (ints become the default float). Shape: same."""
    x = input if input.data.dtype.kind in "fc" else input.to(_dtypes.float32)
    return x * (180.0 / math.pi)


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


class NanToNum(Function):
    """NaN, +inf and -inf replaced by numbers; the gradient passes where x was finite."""

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        xp = ctx.xp
        ctx.save_for_backward(xp.isfinite(a).astype(a.dtype))
        return xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad_out):
        (finite,) = ctx.saved_tensors
        return grad_out * finite, None, None, None


def nan_to_num(
    input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest finite value), -inf ->
    ``neginf`` (default: its lowest). Integer tensors are returned unchanged. Shape: same."""
    if input.data.dtype.kind not in "fc":
        return _no_grad_result(input, input.data.copy())
    return NanToNum.apply(input, nan, posinf, neginf)


# -------------------------------------------------------------------- tests (no gradient)
def isinf(input: Tensor) -> Tensor:
    return _no_grad_result(input, input._backend.xp.isinf(input.data))


def isposinf(input: Tensor) -> Tensor:
    xp = input._backend.xp
    return _no_grad_result(input, xp.isinf(input.data) & (input.data > 0))


def isneginf(input: Tensor) -> Tensor:
    xp = input._backend.xp
    return _no_grad_result(input, xp.isinf(input.data) & (input.data < 0))


def isclose(
    input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """|input - other| <= atol + rtol |other|, elementwise (bool). Shape: broadcast."""
    x, y = _binary(input, other, "isclose")
    other_data = y.data if isinstance(y, Tensor) else y
    try:
        close = x._backend.xp.isclose(x.data, other_data, rtol=rtol, atol=atol, equal_nan=equal_nan)
    except ValueError as exc:
        from .elementwise import _op_error

        raise _op_error("isclose", exc, input, other) from None
    return _no_grad_result(x, close)


def allclose(
    input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """True when ``isclose`` holds everywhere (a Python bool, as PyTorch)."""
    return host_bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and the same values (a Python bool)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"equal: expected a Tensor, got {type(other).__name__}")
    if input.shape != other.shape:
        return False
    x, y = _binary(input, other, "equal")
    return host_bool((x.data == y.data).all())


# --------------------------------------------------------------------- unary entry points
def tan(input: Tensor) -> Tensor:
    return Tan.apply(input)


def asin(input: Tensor) -> Tensor:
    return Asin.apply(input)


def acos(input: Tensor) -> Tensor:
    return Acos.apply(input)


def atan(input: Tensor) -> Tensor:
    return Atan.apply(input)


def sinh(input: Tensor) -> Tensor:
    return Sinh.apply(input)


def cosh(input: Tensor) -> Tensor:
    return Cosh.apply(input)


def asinh(input: Tensor) -> Tensor:
    return Asinh.apply(input)


def acosh(input: Tensor) -> Tensor:
    return Acosh.apply(input)


def atanh(input: Tensor) -> Tensor:
    return Atanh.apply(input)


def sinc(input: Tensor) -> Tensor:
    return Sinc.apply(input)


def log1p(input: Tensor) -> Tensor:
    """log(1 + x), accurate for small x. Shape: same."""
    return Log1p.apply(input)


def log2(input: Tensor) -> Tensor:
    return Log2.apply(input)


def log10(input: Tensor) -> Tensor:
    return Log10.apply(input)


def expm1(input: Tensor) -> Tensor:
    """exp(x) - 1, accurate for small x. Shape: same."""
    return Expm1.apply(input)


def exp2(input: Tensor) -> Tensor:
    return Exp2.apply(input)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)); with ``eps``, p is clamped to [eps, 1 - eps] first. Shape: same."""
    return Logit.apply(input, None if eps is None else float(eps))


def rsqrt(input: Tensor) -> Tensor:
    return Sqrt.apply(input).reciprocal()
