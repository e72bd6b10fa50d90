"""Elementwise ops: arithmetic (with broadcasting and PyTorch's type promotion), math, activations.

Binary ops never reduce broadcast gradients themselves: the engine sums every gradient back to
its input's shape in one place (``function._reduce_to_shape``).
"""

from __future__ import annotations

import math
from typing import Any

from backends import dtypes as _dtypes

from ..function import Function, _retain
from ..grad_mode import _state, no_grad
from ..tensor import Tensor
from ..views import live_views, rebase_views

# ------------------------------------------------------------------ type promotion, scalars
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    """A non-Tensor operand (NumPy array, list, scalar) as a Tensor on ``like``'s device."""
    if isinstance(value, Tensor):
        return value
    return Tensor(value, device=like._backend)


def _promote_tensors(a: Tensor, b: Tensor) -> tuple:
    """PyTorch's rule: the higher category wins; within one, a 0-d tensor defers to a shaped one."""
    da, db = a.data.dtype, b.data.dtype
    ca, cb = _CATEGORY[da.kind], _CATEGORY[db.kind]
    if ca != cb:
        target = da if ca > cb else db
    elif a.data.ndim == 0 and b.data.ndim != 0:
        target = db
    elif b.data.ndim == 0 and a.data.ndim != 0:
        target = da
    else:
        target = _dtypes.result_type(da, db)
    if da != target:
        a = a.to(target)
    if db != target:
        b = b.to(target)
    return a, b


# Ops where PyTorch wraps a Python int that the integer dtype can't hold (uint8 + 300 is 45).
_WRAPPING_OPS = frozenset(
    ("add", "sub", "mul", "remainder", "bitwise_and", "bitwise_or", "bitwise_xor")
)
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _int_scalar(value: int, dtype: Any, op: str, wrap: bool | None = None) -> int:
    """A Python int as an integer ``dtype`` holds it: wrapped around for arithmetic, as PyTorch.

    NumPy 2 raises OverflowError for an out-of-range Python int; PyTorch wraps it (two's
    complement) in arithmetic and refuses it elsewhere (clamp, fill_, where, pow).
    """
    bits = 8 * dtype.itemsize
    lo = 0 if dtype.kind == "u" else -(1 << (bits - 1))
    if lo <= value < lo + (1 << bits):
        return value
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise OverflowError(f"{op}: the Python integer {value} is too big to convert to int64")
    if not (op in _WRAPPING_OPS if wrap is None else wrap):
        raise RuntimeError(f"{op}: value {value} cannot be converted to {dtype} without overflow")
    return (value - lo) % (1 << bits) + lo


def _binary(a: Tensor, b: Any, op: str = "op") -> tuple:
    """Operands ready for a binary op: same dtype, or ``b`` a Python scalar that won't promote."""
    if isinstance(b, Tensor) and a.data.dtype is b.data.dtype:
        return a, b  # the common case, first
    tb = type(b)
    if tb is float or tb is int:
        kind = a.data.dtype.kind
        if kind in "fc":
            return a, b
        if tb is float:
            return a.to(_dtypes.float32), b
        if kind not in "iu":
            a = a.to(_dtypes.int64)
        return a, _int_scalar(b, a.data.dtype, op)
    if tb is bool:
        # A bool scalar keeps a bool tensor bool (True + t is a logical or, as PyTorch).
        return (a, b) if a.data.dtype.kind == "b" else _binary(a, int(b), op)
    if not isinstance(b, Tensor):
        b = _as_tensor(b, a)
    if a.data.dtype != b.data.dtype:
        return _promote_tensors(a, b)
    return a, b


def _describe(x: Any) -> str:
    return f"{tuple(x.shape)} {x.dtype}" if isinstance(x, Tensor) else type(x).__name__


def _op_error(op: str, exc: ValueError, *operands: Any) -> RuntimeError:
    """NumPy's ValueError (usually a failed broadcast), reworded to name the op and operands."""
    described = [_describe(x) for x in operands]
    device = next(x.device for x in operands if isinstance(x, Tensor))
    if "broadcast" not in str(exc):
        return RuntimeError(f"{op}: {exc} ({' and '.join(described)} on {device})")
    return RuntimeError(
        f"{op}: shapes cannot be broadcast together: {' and '.join(described)} on {device}; "
        "sizes must be equal or 1 at each dimension, counting from the last"
    )


def _binary_op(
    cls: type,
    op: str,
    a: Tensor,
    b: Any,
    extra: Any = None,
    reflected: bool = False,
    promote: Any = None,
) -> Tensor:
    """Promote ``a`` and ``b``, apply ``cls`` (to ``(b, a)`` when ``reflected``: ``b - a`` for
    ``__rsub__``; ``extra`` is a third argument), and reword NumPy's broadcast error so that it
    names the op and the operands."""
    if promote is None and isinstance(b, Tensor) and a.data.dtype is b.data.dtype:
        x, y = a, b  # the hot case: no promotion call
    else:
        x, y = (promote or _binary)(a, b, op)
    if reflected:
        x, y = y, x
        a, b = b, a
    try:
        return cls.apply(x, y) if extra is None else cls.apply(x, y, extra)
    except ValueError as exc:
        raise _op_error(op, exc, a, b) from None


def _floating(ctx: Function, a: Any) -> Any:
    """An integer or bool array as the default float (float32), as PyTorch's exp/log/... do.

    Integer tensors never require grad, so casting inside ``forward`` loses no gradient.
    """
    return a if a.dtype.kind in "fc" else a.astype(ctx._backend.default_float)


# ----------------------------------------------------------------------------- arithmetic
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, grad_out


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, (-grad_out if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # Each operand is needed only for the other's gradient (h * 2.0 keeps nothing of h).
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        # Operands were promoted and broadcast-checked by forward: Mul.apply directly.
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (Mul.apply(grad_out, b) if need_a else None), (
            Mul.apply(grad_out, a) if need_b else None
        )


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a or need_b else None)
        return a / b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_out / b if need_a else None
        grad_b = -grad_out * a / (b * b) if need_b else None
        return grad_a, grad_b


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            if isinstance(b, Tensor):
                # b a^(b-1) would be 0 * inf = nan at a == b == 0, where PyTorch's gradient is 0.
                grad_a = grad_out * b * where(b == 0, 1.0, a) ** (b - 1)
            elif b == 0:
                grad_a = grad_out * 0.0
            elif b == 2:
                grad_a = grad_out * a * 2.0
            else:
                grad_a = grad_out * b * a ** (b - 1)
        if need_b:
            # d(a^b)/db = a^b log a. At a == 0 PyTorch takes it as 0 for b >= 0 and as
            # a^b log a = inf * -inf = -inf for b < 0; a negative scalar base gives NaN.
            zero_to_negative = None
            if isinstance(a, Tensor):
                zero_base = a == 0
                log_a = Log.apply(where(zero_base, 1.0, a))
                zero_to_negative = logical_and(zero_base, b < 0)
            elif a > 0:
                log_a = math.log(a)
            elif a == 0:
                log_a = 0.0
                zero_to_negative = b < 0
            else:
                log_a = math.nan
            if zero_to_negative is None:
                grad_b = grad_out * out * log_a
            else:
                # Always the where(): asking the device whether any element needs it would be a
                # host round trip in every backward.
                grad_b = grad_out * where(zero_to_negative, -math.inf, out * log_a)
        return grad_a, grad_b


def add(a: Tensor, b: Any) -> Tensor:
    return _binary_op(Add, "add", a, b)


def _check_no_bool_sub(a: Tensor, b: Any) -> None:
    """PyTorch refuses ``-`` when either operand is a bool (tensor or Python bool)."""
    if (
        a.data.dtype.kind == "b"
        or type(b) is bool
        or (isinstance(b, Tensor) and b.data.dtype.kind == "b")
    ):
        raise RuntimeError(
            f"sub: subtraction (the - operator) with a bool operand is not supported "
            f"({_describe(a)} and {_describe(b)}); to invert a mask use ~ or logical_not(), "
            "or convert with .long() first"
        )


def sub(a: Tensor, b: Any) -> Tensor:
    _check_no_bool_sub(a, b)
    return _binary_op(Sub, "sub", a, b)


def rsub(a: Tensor, b: Any) -> Tensor:
    """``b - a`` for a non-Tensor ``b``."""
    _check_no_bool_sub(a, b)
    return _binary_op(Sub, "sub", a, b, reflected=True)


def mul(a: Tensor, b: Any) -> Tensor:
    return _binary_op(Mul, "mul", a, b)


def _true_division_operands(a: Tensor, b: Any, op: str = "div") -> tuple:
    """Promote as any binary op first (int / float16 is float16, as PyTorch), and only then
    move a non-floating result to the default float: true division never stays integer."""
    if type(b) in (int, bool) and a.data.dtype.kind in "biu":
        # int tensor / int scalar: divide in float, never wrapping the scalar to the int dtype.
        return a.to(_dtypes.float32), b
    x, y = _binary(a, b, op)
    if x.data.dtype.kind not in "fc":
        x = x.to(_dtypes.float32)
        if isinstance(y, Tensor):
            y = y.to(_dtypes.float32)
    return x, y


def div(a: Tensor, b: Any) -> Tensor:
    return _binary_op(Div, "div", a, b, promote=_true_division_operands)


def rdiv(a: Tensor, b: Any) -> Tensor:
    """``b / a`` for a non-Tensor ``b``."""
    return _binary_op(Div, "div", a, b, reflected=True, promote=_true_division_operands)


def pow(a: Tensor, exponent: Any) -> Tensor:
    if type(exponent) is float and a.data.dtype.kind not in "fc":
        a = a.to(_dtypes.float32)
    return _binary_op(Pow, "pow", a, exponent)


def rpow(a: Tensor, base: Any) -> Tensor:
    """``base ** a`` for a non-Tensor ``base`` (``2 ** int_tensor`` stays integer, as PyTorch)."""
    return _binary_op(Pow, "pow", a, base, reflected=True)


class Remainder(Function):
    """``a - floor(a / b) * b`` (the sign of ``b``, as Python's and PyTorch's ``%``).

    Its gradient is 1 for ``a`` and ``-floor(a / b)`` for ``b`` (the floor is piecewise constant).
    """

    @staticmethod
    def forward(ctx, a, b):
        _refuse_integer_division_by_zero(ctx.xp, a, b, "remainder")
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(ctx.xp.floor_divide(a, b))
        return ctx.xp.remainder(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        need_a, need_b = ctx.needs_input_grad
        grad_b = None
        if need_b:
            (quotient,) = ctx.saved_tensors
            grad_b = -grad_out * quotient
        return (grad_out if need_a else None), grad_b


def remainder(a: Tensor, b: Any) -> Tensor:
    """``a % b``, elementwise, with the sign of ``b`` (Python's and PyTorch's convention).

    Shape: ``a`` and ``b`` broadcast together.
    """
    return _binary_op(Remainder, "remainder", a, b)


def rremainder(a: Tensor, b: Any) -> Tensor:
    """``b % a`` for a non-Tensor ``b`` (``Tensor.__rmod__``).

    Where we differ: PyTorch has no gradient for a scalar ``b % tensor``; ours is
    ``-floor(b / a)``.
    """
    return _binary_op(Remainder, "remainder", a, b, reflected=True)


class Maximum(Function):
    """Ties send half of the gradient to each side, as PyTorch does."""

    @staticmethod
    def forward(ctx, a, b, take_max=True):
        xp = ctx.xp
        out = xp.maximum(a, b) if take_max else xp.minimum(a, b)
        wins = (a > b) if take_max else (a < b)
        weight_a = wins.astype(out.dtype) + (a == b).astype(out.dtype) * 0.5
        ctx.save_for_backward(weight_a)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (weight_a,) = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[:2]
        grad_a = grad_out * weight_a if need_a else None
        grad_b = grad_out * (1.0 - weight_a) if need_b else None
        return grad_a, grad_b, None


def maximum(a: Tensor, b: Any) -> Tensor:
    return _binary_op(Maximum, "maximum", a, b, extra=True)


def minimum(a: Tensor, b: Any) -> Tensor:
    return _binary_op(Maximum, "minimum", a, b, extra=False)


# ---------------------------------------------------------------------------------- unary
class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad_out):
        return -grad_out


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(ctx.xp.sign(a))
        return ctx.xp.abs(a)

    @staticmethod
    def backward(ctx, grad_out):
        (sign_a,) = ctx.saved_tensors
        return grad_out * sign_a


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind not in "fc":  # the call only when there is a cast to do
            a = _floating(ctx, a)
        out = ctx.xp.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind not in "fc":  # the call only when there is a cast to do
            a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.log(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out / a


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind not in "fc":  # the call only when there is a cast to do
            a = _floating(ctx, a)
        out = ctx.xp.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out / (out * 2.0)


class Sin(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind not in "fc":  # the call only when there is a cast to do
            a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.sin(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out * Cos.apply(a)


class Cos(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind not in "fc":  # the call only when there is a cast to do
            a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return ctx.xp.cos(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return -grad_out * Sin.apply(a)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind not in "fc":
            a = _floating(ctx, a)
        out = ctx.xp.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return TanhBackward.apply(grad_out, out)


class TanhBackward(Function):
    """grad * (1 - y^2) as one op (as PyTorch's tanh_backward); differentiable in grad and y."""

    @staticmethod
    def forward(ctx, grad, y):
        ctx.save_for_backward(grad, y)
        return grad * (1 - y * y)

    @staticmethod
    def backward(ctx, grad_out):
        grad, y = ctx.saved_tensors
        need_grad, need_y = ctx.needs_input_grad
        grad_grad = TanhBackward.apply(grad_out, y) if need_grad else None
        grad_y = grad_out * grad * y * -2.0 if need_y else None
        return grad_grad, grad_y


def sigmoid_array(xp: Any, a: Any) -> Any:
    """``sigmoid`` of a floating array, stable for large ``|a|``: with ``e = exp(-|a|)`` (exp of
    a non-positive number only: no overflow), ``1 / (1 + e)`` where ``a >= 0`` and
    ``e / (1 + e)`` where ``a < 0``. Seven calls into three new arrays: the numerator is ``e``
    itself with 1 written where ``a >= 0``, divided in place (the values of the two-branch
    ``where`` formula, bit for bit, without computing both branches)."""
    if a.dtype.kind == "c":  # complex: the two-branch formula (ordering compares real parts)
        e = xp.exp(-xp.abs(a))
        return xp.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)
    if a.ndim == 0:  # NumPy answers a 0-d array with a scalar, which takes no out=
        return sigmoid_array(xp, a.reshape(1)).reshape(())
    e = xp.abs(a)
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    denominator = xp.add(e, 1.0)
    xp.copyto(e, 1.0, where=a >= 0)
    return xp.divide(e, denominator, out=e)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind not in "fc":  # the call only when there is a cast to do
            a = _floating(ctx, a)
        out = sigmoid_array(ctx.xp, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return SigmoidBackward.apply(grad_out, out)


class SigmoidBackward(Function):
    """grad * y * (1 - y) as one op (as PyTorch's sigmoid_backward); differentiable in both."""

    @staticmethod
    def forward(ctx, grad, y):
        ctx.save_for_backward(grad, y)
        return grad * y * (1 - y)

    @staticmethod
    def backward(ctx, grad_out):
        grad, y = ctx.saved_tensors
        need_grad, need_y = ctx.needs_input_grad
        grad_grad = SigmoidBackward.apply(grad_out, y) if need_grad else None
        grad_y = grad_out * grad * (1.0 - y * 2.0) if need_y else None
        return grad_grad, grad_y


# From this many pixels per channel, ReLU's forward on a non-contiguous (N, C, *spatial)
# broadcasts a plane of zeros into a contiguous output. Measured on NumPy, one thread, float32,
# CPU ms: alone, 10 alternating rounds, conv2's (128, 16, 10, 10) transposed view 0.12 against
# 0.14 for ``maximum(a, 0)`` (whose output is laid out as the view); in a LeNet-5 step, 30
# alternating rounds of 3 steps, per call medians, ReLU 0.17 against 0.15, the max-pool after
# it 0.55 against 0.59 (no copy), ReLU's backward 0.13 against 0.19 (contiguous y). On the
# contiguous conv1 output (128, 6, 28, 28) the plane of zeros measured 0.19 against 0.34 alone
# but 0.39 against 0.37 in the step, so contiguous inputs keep the other paths; smaller planes
# are unmeasured.
RELU_PLANE = 100


class Relu(Function):
    """One pass forward; backward keeps the output (alive anyway as the next layer's input), not
    a mask of its own, and reads ``y > 0`` from it (PyTorch's ``threshold_backward``)."""

    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        if a.ndim >= 3 and not a.flags.c_contiguous and math.prod(a.shape[2:]) >= RELU_PLANE:
            # A conv output that is a transposed view (the folded conv's): against a plane of
            # zeros, broadcast, into a C-contiguous output, so that the next ops (max-pool, this
            # backward) need no copy and take their contiguous paths.
            zeros = xp.zeros(a.shape[2:], a.dtype)
            y = xp.maximum(a, zeros, out=xp.empty(a.shape, a.dtype))
        elif a.ndim and a.shape[-1] >= 128:
            # Against a row of zeros, broadcast: NumPy's maximum with a scalar runs an
            # unvectorised loop (about twice as slow on a (128, 512) float32 batch).
            y = xp.maximum(a, xp.zeros(a.shape[-1], a.dtype))
        else:
            y = xp.maximum(a, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return ReluBackward.apply(grad_out, y)


# Signed integers of a float's size: a float's bits AND all-ones or zeros is the float or +0.0.
_SAME_SIZE_INTS = {2: "int16", 4: "int32", 8: "int64"}


def masked_grad(xp: Any, grad: Any, drop: Any) -> Any:
    """``where(drop, 0, grad)``, the masked backward of PyTorch's ReLU and clamp: grad's own
    value where ``drop`` is False (inf and NaN included), +0.0 where it is True. A product
    ``grad * mask`` is not that: 0 x inf is NaN and a negative grad gives -0.0.

    For float grads of ``drop``'s shape it works on the bits, in three passes: ``drop`` as
    integers of grad's width, minus 1 (all bits set where kept, none where dropped), AND grad's
    bits. NumPy's ``where`` with a scalar takes about 10x longer (2.7 ms against 0.24 on LeNet's
    (128, 6, 28, 28) float32, one thread), and ``grad * (y > 0)`` 0.19 ms.
    """
    ints = _SAME_SIZE_INTS.get(grad.dtype.itemsize) if grad.dtype.kind == "f" else None
    if ints is None or grad.shape != drop.shape or not grad.ndim:  # (0-d: where)
        return xp.where(drop, xp.zeros((), grad.dtype), grad)
    keep = drop.astype(ints)
    keep -= 1
    xp.bitwise_and(keep, grad.view(ints), out=keep)
    return keep.view(grad.dtype)


class ReluBackward(Function):
    """PyTorch's ReLU backward, ``where(y <= 0, 0, grad)``: a NaN in y passes the gradient, an
    infinite grad where y <= 0 gives 0. Linear in ``grad``, and zero almost everywhere in ``y``."""

    @staticmethod
    def forward(ctx, grad, y):
        ctx.save_for_backward(y)
        return masked_grad(ctx.xp, grad, y <= 0)

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return ReluBackward.apply(grad_out, y), None


class Clamp(Function):
    """The gradient passes where ``min <= a <= max`` (inclusive, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        xp = ctx.xp
        inside = xp.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        ctx.save_for_backward(~inside)
        # maximum/minimum rather than clip: one-sided bounds work the same on NumPy and CuPy.
        out = a if lo is None else xp.maximum(a, lo)
        out = out if hi is None else xp.minimum(out, hi)
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (outside,) = ctx.saved_tensors
        return MaskedGrad.apply(grad_out, outside), None, None


class MaskedGrad(Function):
    """``where(drop, 0, grad)`` (``masked_grad``) as an op: clamp's backward, linear in grad."""

    @staticmethod
    def forward(ctx, grad, drop):
        ctx.save_for_backward(drop)
        return masked_grad(ctx.xp, grad, drop)

    @staticmethod
    def backward(ctx, grad_out):
        (drop,) = ctx.saved_tensors
        return MaskedGrad.apply(grad_out, drop), None


def clamp(a: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """``a`` limited to ``[min, max]``; the bounds are numbers or Tensors (which get gradients).

    Shape: ``a``, ``min`` and ``max`` broadcast together. Where ``min > max`` the result is
    ``max``, as PyTorch.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # Selections, not maximum/minimum: at a tie the gradient goes to ``a`` whole (PyTorch),
        # not half to each side; below ``min`` it goes to ``min``, above ``max`` to ``max``.
        out = a if min is None else where(a < min, min, a)
        return out if max is None else where(out > max, max, out)
    kind = a.data.dtype.kind
    if kind not in "fc" and (isinstance(min, float) or isinstance(max, float)):
        a = a.to(_dtypes.float32)
    elif kind in "iu":
        # An out-of-range int bound is refused (PyTorch), not NumPy's bare OverflowError.
        if type(min) is int:
            min = _int_scalar(min, a.data.dtype, "clamp")
        if type(max) is int:
            max = _int_scalar(max, a.data.dtype, "clamp")
    return Clamp.apply(a, min, max)


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        out = ctx.xp.where(condition, a, b)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (condition,) = ctx.saved_tensors
        _, need_a, need_b = ctx.needs_input_grad
        grad_a = Where.apply(condition, grad_out, 0.0) if need_a else None
        grad_b = Where.apply(condition, 0.0, grad_out) if need_b else None
        return None, grad_a, grad_b


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` else ``b``; ``a`` and ``b`` broadcast, either may be a scalar."""
    like = next((t for t in (a, b, condition) if isinstance(t, Tensor)), None)
    if like is None:
        raise TypeError("where: expected at least one Tensor argument")
    condition = _as_tensor(condition, like)
    if condition.data.dtype != _dtypes.bool_:
        condition = condition.to(_dtypes.bool_)
    if isinstance(a, Tensor):
        a, b = _binary(a, b, "where")
    elif isinstance(b, Tensor):
        b, a = _binary(b, a, "where")
    else:
        # Two Python scalars: the default dtype (float32), as PyTorch, not NumPy's float64.
        a, b = _binary(_as_tensor(a, like), b, "where")
    try:
        return Where.apply(condition, a, b)
    except ValueError as exc:
        raise _op_error("where", exc, condition, a, b) from None


# --------------------------------------------------------------- without gradient
class NoGradOp(Function):
    """``xp.<name>(*operands)`` for ops without a gradient (comparisons, logic, sign, any/all).

    A Function all the same: every array a step computes is made through ``apply``, which is
    what ``A.compile`` records (a bool or integer result never gets a graph node).
    """

    @staticmethod
    def forward(ctx, *operands, name, **kwargs):
        return getattr(ctx.xp, name)(*operands, **kwargs)


def _no_grad_result(a: Tensor, array: Any) -> Tensor:
    """Wrap an array computed outside ``apply`` (no gradient). ``A.compile`` will not replay a
    step that feeds such an array into an op: prefer ``_no_grad_call``."""
    return Tensor._make(array, a._backend)


def _no_grad_call(a: Tensor, name: str, *others: Any, **kwargs: Any) -> Tensor:
    """``xp.<name>(a, *others)`` as a ``NoGradOp``; a float result never requires grad."""
    result = NoGradOp.apply(a, *others, name=name, **kwargs)
    if result.requires_grad:
        result = result.detach()
    return result


def _other_array(a: Tensor, b: Any, op: str) -> Any:
    if isinstance(b, Tensor):
        if b._backend is not a._backend:
            raise RuntimeError(
                f"{op}: expected both tensors on the same device, found {a.device} and {b.device}"
            )
        return b.data
    if isinstance(b, (int, float, bool)):
        return b
    return _as_tensor(b, a).data


def _operand(a: Tensor, b: Any, op: str) -> Any:
    """``b`` checked as ``_other_array`` does, but a Tensor stays a Tensor (``apply`` then sees
    where its array came from, which ``A.compile`` needs)."""
    array = _other_array(a, b, op)
    return b if isinstance(b, Tensor) else array


def compare(a: Tensor, b: Any, name: str) -> Tensor:
    """``==``, ``<`` and friends: boolean results, no gradient."""
    if b is None or isinstance(b, (str, bytes)):
        # Python's fallback: ``t == None`` is False (so ``t in [None, ...]`` works), ``<`` raises.
        return NotImplemented
    return _no_grad_call(a, name, _operand(a, b, name))


def logical_not(a: Tensor) -> Tensor:
    return _no_grad_call(a, "logical_not")


def logical_and(a: Tensor, b: Any) -> Tensor:
    return _no_grad_call(a, "logical_and", _operand(a, b, "and"))


def logical_or(a: Tensor, b: Any) -> Tensor:
    return _no_grad_call(a, "logical_or", _operand(a, b, "or"))


def logical_xor(a: Tensor, b: Any) -> Tensor:
    return _no_grad_call(a, "logical_xor", _operand(a, b, "xor"))


def _bitwise(a: Tensor, b: Any, op: str) -> Tensor:
    """``&``, ``|``, ``^``: bitwise on integers, logical on bools (PyTorch); no gradient."""
    x, y = _binary(a, b, op)
    if x.data.dtype.kind not in "biu":
        raise TypeError(
            f"{op}: only integer and bool tensors are supported, got {_describe(a)} and "
            f"{_describe(b)}"
        )
    try:
        return _no_grad_call(x, op, _operand(x, y, op))
    except ValueError as exc:
        raise _op_error(op, exc, a, b) from None


def bitwise_and(a: Tensor, b: Any) -> Tensor:
    """``a & b``: bitwise AND of integers, logical AND of bools. Shape: broadcast."""
    return _bitwise(a, b, "bitwise_and")


def bitwise_or(a: Tensor, b: Any) -> Tensor:
    """``a | b``: bitwise OR of integers, logical OR of bools. Shape: broadcast."""
    return _bitwise(a, b, "bitwise_or")


def bitwise_xor(a: Tensor, b: Any) -> Tensor:
    """``a ^ b``: bitwise XOR of integers, logical XOR of bools. Shape: broadcast."""
    return _bitwise(a, b, "bitwise_xor")


def bitwise_not(a: Tensor) -> Tensor:
    """``~a``: bitwise NOT of integers (``~5 == -6``), logical NOT of bools. Shape: ``a``'s."""
    if a.data.dtype.kind not in "biu":
        raise TypeError(
            f"bitwise_not: ~ is only implemented on integer and bool tensors, got {_describe(a)}"
        )
    return _no_grad_call(a, "invert")


def isnan(a: Tensor) -> Tensor:
    return _no_grad_call(a, "isnan")


def isfinite(a: Tensor) -> Tensor:
    return _no_grad_call(a, "isfinite")


def sign(a: Tensor) -> Tensor:
    """The sign (-1, 0, 1); its gradient is zero everywhere, so it is not recorded."""
    return _no_grad_call(a, "sign")


def floor_divide(a: Tensor, b: Any) -> Tensor:
    """``a // b``, rounded down, with PyTorch's dtypes (``int_tensor // 2.5`` is float32).

    Where we differ: PyTorch records it and fails in backward; ours has no gradient.
    """
    xp = a._backend.xp
    if isinstance(b, Tensor) and b._backend is not a._backend:
        _other_array(a, b, "floor_divide")  # raises, naming both devices
    a, b = _binary(a, b, "floor_divide")
    divisor = b.data if isinstance(b, Tensor) else b
    _refuse_integer_division_by_zero(xp, a.data, divisor, "floor_divide")
    return _no_grad_result(a, xp.floor_divide(a.data, divisor))


def _describe_operand(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return repr(value) if shape is None else f"{value.dtype} of shape {tuple(shape)}"


class IntegerDivisionByZero(RuntimeError, ZeroDivisionError):
    """PyTorch raises a RuntimeError saying "ZeroDivisionError"; this is both, so either
    ``except`` catches it."""


def _refuse_integer_division_by_zero(xp: Any, a: Any, b: Any, op: str) -> None:
    """Integer ``//`` and ``%`` by zero: NumPy quietly gives 0, PyTorch raises; so do we."""
    kind = "i" if isinstance(a, int) else getattr(getattr(a, "dtype", None), "kind", "f")
    if kind not in "iub":
        return
    if isinstance(b, (bool, int)):
        zero = b == 0
    elif isinstance(b, float) or b.dtype.kind not in "iub":
        return
    else:
        zero = bool((b == 0).any())
    if zero:
        raise IntegerDivisionByZero(
            f"{op}: ZeroDivisionError: integer division by zero (a divisor is 0; dividend "
            f"{_describe_operand(a)}); divide floats to get inf/nan instead"
        )


# ------------------------------------------------------------------------------ in place
_INPLACE_RECORDED = {
    "add": add,
    "subtract": sub,
    "multiply": mul,
    "divide": div,
}


# The in-place methods, by the NumPy ufunc name that ``inplace`` receives.
_INPLACE_NAMES = {
    "add": "add_",
    "subtract": "sub_",
    "multiply": "mul_",
    "divide": "div_",
    "clamp": "clamp_",
    "copy": "copy_",
    "index_put": "setitem",
}


def _scalar_kind(value: Any, t: Tensor) -> tuple:
    """(category, dtype name) that ``value`` brings to an op with ``t`` (Python scalars weak)."""
    if isinstance(value, Tensor):
        return _CATEGORY[value.data.dtype.kind], str(value.dtype)
    if type(value) is bool:
        return 0, "bool"
    if isinstance(value, int):
        return 1, "int64"
    if isinstance(value, float):
        return 2, "float32"
    dtype = _as_tensor(value, t).dtype
    return _CATEGORY[dtype.kind], str(dtype)


def _check_inplace_result(t: Tensor, op: str, other: Any) -> None:
    """PyTorch refuses an in-place op whose result type can't be cast back to ``t``'s dtype
    (an integer tensor can't hold ``div_``'s or ``add_(1.5)``'s float result); copy_ casts."""
    kind = t.data.dtype.kind
    if op in ("copy", "index_put") or kind in "fc":
        return
    category = _CATEGORY[kind]
    result = (category, str(t.dtype))
    if op == "divide":
        result = (2, "float32")
    for value in other if op == "clamp" else (other,):
        if value is not None:
            result = max(result, _scalar_kind(value, t), key=lambda r: r[0])
    if result[0] > category:
        raise RuntimeError(
            f"{_INPLACE_NAMES[op]}: result type {result[1]} can't be cast to the desired output "
            f"type {t.dtype} of the tensor being modified (shape {t.shape}); use the "
            f"out-of-place op, or convert the tensor first (e.g. .float())"
        )
    if op == "subtract":
        _check_no_bool_sub(t, other)


def inplace(t: Tensor, op: str, other: Any, name: str | None = None) -> Tensor:
    """Modify ``t`` in place and bump its version (so a pending backward that saved it raises).

    Outside ``no_grad``, a leaf that requires grad (or a view of one) is refused, as PyTorch. A
    tensor in the graph gets the op recorded: without live views it is rebased onto the
    out-of-place result (its old array, which a node may have saved, is left intact); a view, or
    a tensor with live views, is written through to the shared memory, its root gets a
    ``CopySlices`` node and every live view of the family the graph of its new value. ``name``:
    the method to name in errors (``abs_`` is a ``copy`` of ``abs()``).
    """
    _check_inplace_result(t, op, other)
    name = name or _INPLACE_NAMES[op]
    operand = other[1] if op == "index_put" else other  # index_put: (index, value)
    other_requires = isinstance(operand, Tensor) and operand.requires_grad
    if not _state.enabled or not (t.requires_grad or other_requires):
        if _state.enabled and t._view is not None:
            _refuse_no_grad_view(t, name)
        _array_inplace(t, op, other)
        t._vc[0] += 1
        return t
    if t.requires_grad and t.grad_fn is None:
        raise RuntimeError(
            f"{name}: a leaf tensor of shape {t.shape} that requires grad is used in an in-place "
            "operation; wrap the update in `with autograd.no_grad():` (as optimizers and nn.init "
            "do)"
        )
    _record_inplace(
        t, name, lambda alias: _recorded_inplace(alias, op, alias if other is t else other)
    )
    t._vc[0] += 1
    return t


def inplace_with(t: Tensor, name: str, compute: Any, others_require: bool = False) -> Tensor:
    """``t`` becomes ``compute(t)`` in place, under exactly the rules of ``inplace`` (version
    bump, leaf and no-grad-view refusals, rebase or view+inplace ``CopySlices``), for any
    out-of-place op ``compute`` (the indexing in-place ops: ``scatter_``, ``index_add_``, ...).
    """
    if not _state.enabled or not (t.requires_grad or others_require):
        if _state.enabled and t._view is not None:
            _refuse_no_grad_view(t, name)
        refuse_overlapping(t, name)
        with no_grad():
            result = compute(t)
        _write(t, result, name)
        t._vc[0] += 1
        return t
    if t.requires_grad and t.grad_fn is None:
        raise RuntimeError(
            f"{name}: a leaf tensor of shape {t.shape} that requires grad is used in an in-place "
            "operation; wrap the update in `with autograd.no_grad():` (as optimizers and nn.init "
            "do)"
        )
    _record_inplace(t, name, compute)
    t._vc[0] += 1
    return t


def _record_inplace(t: Tensor, name: str, record: Any) -> None:
    """The recorded in-place change of ``t`` to ``record(alias of t)``: PyTorch's view+inplace
    for a view, a write-through for a tensor with live views, else a rebase."""
    view = t._view
    if view is not None and view[2]:
        _inplace_on_view(t, record, name)
    elif len(t._vc) > 1 and live_views(t._vc):
        _inplace_write_through(t, record, name)
        rebase_views(t._vc, t)
    else:
        _inplace_rebase(t, record)


def _inplace_rebase(t: Tensor, record: Any) -> None:
    """A tensor nothing else aliases: rebind it to the out-of-place result."""
    # The op sees an alias of t's current state: whatever it saves for backward must keep
    # pointing at the old value and node, not at t after t is rebased onto the result.
    old_node, old_idx = t.grad_fn, t._out_idx
    alias = Tensor._make(t.data, t._backend, t.requires_grad, old_node, old_idx)
    alias._vc[0] = t._vc[0]
    result = record(alias)
    t.data = result.data
    _take_graph(t, result, old_node, old_idx)


def _write(t: Tensor, result: Tensor, name: str) -> None:
    try:
        t.data[...] = result.data
    except ValueError as exc:  # a read-only view (expand's broadcast): nothing was changed
        raise RuntimeError(
            f"{name}: cannot write into this view of shape {t.shape} ({exc}); clone() it first"
        ) from None


def _inplace_write_through(t: Tensor, record: Any, name: str) -> Tensor:
    """Record the op on a snapshot of ``t`` and write the result into ``t``'s own memory, which
    its views share. Returns the result (its graph is ``t``'s new graph)."""
    refuse_overlapping(t, name)
    old_node, old_idx = t.grad_fn, t._out_idx
    # A snapshot: the op may save its input, and t's memory is about to change.
    alias = Tensor._make(t.data.copy(), t._backend, t.requires_grad, old_node, old_idx)
    result = record(alias)
    _write(t, result, name)
    _take_graph(t, result, old_node, old_idx)
    return result


def _take_graph(t: Tensor, result: Tensor, old_node: Any, old_idx: int) -> None:
    t.grad_fn = result.grad_fn
    t._out_idx = result._out_idx
    t.requires_grad = result.requires_grad
    if old_node is not None and old_node._retained and old_idx in old_node._retained:
        # retain_grad follows the tensor to its new value (PyTorch); hooks registered before
        # stay on the old node and see the old value's gradient (PyTorch does the same).
        del old_node._retained[old_idx]
        if t.grad_fn is not None:
            _retain(t)


def _inplace_on_view(t: Tensor, record: Any, name: str) -> None:
    """PyTorch's view+inplace: write through, give the root a ``CopySlices`` node that takes the
    view's region from the result, and regenerate every live view's graph from the new root."""
    from .index import CopySlices

    root, chain, _ = t._view
    if root.requires_grad and root.grad_fn is None:
        raise RuntimeError(
            f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
            f"operation (a view of shape {t.shape} of a leaf of shape {root.shape}); do it under "
            "`with autograd.no_grad():`, or on a clone()"
        )
    result = _inplace_write_through(t, record, name)
    old_root = Tensor._make(root.data, root._backend, root.requires_grad, root.grad_fn,
                            root._out_idx)  # fmt: skip
    new_root = CopySlices.apply(old_root, result, chain)
    _take_graph(root, new_root, old_root.grad_fn, old_root._out_idx)
    rebase_views(t._vc, root)


def _refuse_no_grad_view(t: Tensor, name: str) -> None:
    """A view made under no_grad (no graph) of a tensor that requires grad can't be changed in
    place with grad mode on: the base's graph could not follow (PyTorch refuses too)."""
    root, chain, differentiable = t._view
    if not differentiable and chain is not None and root.requires_grad:
        raise RuntimeError(
            f"{name}: a view of shape {t.shape} was created in no_grad mode (or is a view of "
            "such a view) and is being modified in place with grad mode enabled; its base "
            "requires grad, so the change could not be tracked. Do the change under no_grad "
            "too, or take the view with grad mode enabled."
        )


def _recorded_inplace(t: Tensor, op: str, other: Any) -> Tensor:
    from .shape import expand

    if op == "clamp":
        result = clamp(t, *other)
    elif op == "copy":
        source = _as_tensor(other, t)
        if source._backend is not t._backend:
            source = source.to(t.device)
        # A selection rather than a copy: the result stays in t's graph (with a zero gradient
        # to t's old value, as PyTorch) even when the source is a constant.
        result = where(True, expand(source.to(t.dtype), t.shape), t)
    elif op == "index_put":
        from .scatter import IndexPut

        index, value = other
        value = _as_tensor(value, t)
        if value._backend is not t._backend:
            raise RuntimeError(
                f"setitem: value on {value.device} cannot be assigned into a tensor on {t.device}"
            )
        try:
            result = IndexPut.apply(t, value.to(t.dtype), index)
        except ValueError as exc:
            raise RuntimeError(f"setitem: {exc} (tensor of shape {t.shape})") from None
    else:
        result = _INPLACE_RECORDED[op](t, other)
    if result.shape != t.shape:
        raise RuntimeError(
            f"{_INPLACE_NAMES[op]}: the result's shape {result.shape} does not match the "
            f"tensor's shape {t.shape}"
        )
    return result.to(t.dtype)


def refuse_overlapping(t: Tensor, op: str) -> None:
    """In-place writes into a broadcast view (a stride of 0 over a size > 1: an ``expand()``
    result) are refused, as PyTorch does: several elements share one memory location."""
    data = t.data
    for stride, size in zip(data.strides, data.shape):
        if stride == 0 and size > 1:
            raise RuntimeError(
                f"{op}: unsupported operation: more than one element of the written-to tensor "
                f"(shape {t.shape}) refers to a single memory location; clone() it first"
            )


def _array_inplace(t: Tensor, op: str, other: Any) -> None:
    xp = t._backend.xp
    name = _INPLACE_NAMES[op]
    refuse_overlapping(t, name)
    if isinstance(other, Tensor) and other._backend is not t._backend:
        if op != "copy":
            raise RuntimeError(
                f"{name}: expected both tensors on the same device, found {t.device} and "
                f"{other.device}"
            )
        other = t._backend.from_host(other._backend.to_host(other.data))
    elif isinstance(other, Tensor):
        other = other.data
    elif type(other) is int and t.data.dtype.kind in "iu":
        wrap = op in ("add", "subtract", "multiply")
        other = _int_scalar(other, t.data.dtype, name, wrap)
    elif op == "clamp" and t.data.dtype.kind in "iu":
        other = tuple(_int_scalar(b, t.data.dtype, name) if type(b) is int else b for b in other)
    try:
        if op == "copy":
            t.data[...] = other
        elif op == "clamp":
            lo, hi = (b if b is None else _other_array(t, b, "clamp") for b in other)
            if lo is not None:
                xp.maximum(t.data, lo, out=t.data, casting="unsafe")
            if hi is not None:
                xp.minimum(t.data, hi, out=t.data, casting="unsafe")
        else:
            getattr(xp, op)(t.data, other, out=t.data, casting="unsafe")
    except ValueError as exc:
        other_shape = getattr(other, "shape", ())
        raise RuntimeError(
            f"{name}: cannot update a tensor of shape {t.shape} in place with shape "
            f"{other_shape}: {exc}"
        ) from None
