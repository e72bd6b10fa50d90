"""Losses, with PyTorch's reduction modes."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import autograd as A
from autograd import Function, Tensor
from autograd.ops.elementwise import sigmoid_array

from ._utils import _check_tensor, _reduce, _reduction, _warn_size
from .activation import log_softmax
from .distance import pairwise_distance


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
    if A.replay.any_true(~((input >= 0) & (input <= 1))):
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


def _softplus_neg(xp: Any, x: Any) -> Any:
    """``softplus(-x) = log1p(exp(-|x|)) + max(-x, 0)`` (PyTorch's stable form), written as
    ``log1p(exp(-|x|)) - min(x, 0)`` into one new array: the same value bit for bit
    (``max(-x, 0)`` is ``-min(x, 0)`` exactly, and ``a - b`` is ``a + (-b)``)."""
    if x.ndim == 0:  # NumPy answers a 0-d array with a scalar, which takes no out=
        return _softplus_neg(xp, x.reshape(1)).reshape(())
    out = xp.abs(x)
    xp.negative(out, out=out)
    xp.exp(out, out=out)
    xp.log1p(out, out=out)
    return xp.subtract(out, xp.minimum(x, 0.0), out=out)


class _BCEWithLogits(Function):
    """(1 - t) x + lw softplus(-x), lw = 1 + (pos_weight - 1) t; softplus without overflow.

    Without ``pos_weight`` the forward writes into two new arrays (softplus and the loss). The
    usual backward, ``grad_out * (sigmoid(x) - t)``, is one op (``_BCEWithLogitsGrad``) unless
    a graph of the gradient is wanted (``create_graph``)."""

    @staticmethod
    def forward(ctx, x, t, pos_weight):
        xp = ctx.xp
        softplus_neg = _softplus_neg(xp, x)
        ctx.save_for_backward(x, t, pos_weight)
        if pos_weight is None:
            loss = xp.subtract(1.0, t)  # x and t have one shape and dtype (the caller checked)
            loss *= x
            loss += softplus_neg
            return loss
        return (1.0 - t) * x + ((pos_weight - 1.0) * t + 1.0) * softplus_neg

    @staticmethod
    def backward(ctx, grad_out):
        x, t, pos_weight = ctx.saved_tensors
        need_x, need_t, need_pw = ctx.needs_input_grad
        if need_x and not need_t and pos_weight is None and not A.is_grad_enabled():
            return _BCEWithLogitsGrad.apply(grad_out, x, t), None, None
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


class _BCEWithLogitsGrad(Function):
    """``grad_out * (sigmoid(x) - t)``, the input's gradient of ``_BCEWithLogits`` without
    ``pos_weight``, as one op writing into the sigmoid's new array (used without a graph only;
    the same values bit for bit as the differentiable rule)."""

    @staticmethod
    def forward(ctx, grad_out, x, t):
        xp = ctx.xp
        grad = sigmoid_array(xp, x)
        grad -= t
        if grad_out.shape == grad.shape and grad_out.dtype == grad.dtype:
            return xp.multiply(grad_out, grad, out=grad)
        return grad_out * grad


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
            # Ignored targets get gradient 0 even when the loss is 0 / 0, as PyTorch: one SGD
            # step on an all-padding batch must not turn every weight into NaN.
            coef = xp.where(valid, coef, 0.0)
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


class _CrossEntropy(Function):
    """``nll_loss(log_softmax(x, 1), target, weight)`` on (N, C) logits and class indices, as one
    node (PyTorch fuses it too). Forward keeps each row's max and log-sum-exp (two N-vectors,
    not the (N, C) log-probabilities); backward is ``(softmax(x) - onehot) * scale`` in one op,
    ``_CrossEntropyGrad``, unless a graph of the gradient is wanted (``create_graph``), where it
    is built from differentiable ops so that higher derivatives stay right."""

    @staticmethod
    def forward(ctx, x, target, weight, *, ignore_index, reduction):
        xp = ctx.xp
        valid = target != ignore_index
        index = xp.where(valid, target, 0)
        top = x.max(axis=1, keepdims=True)
        shifted = x - top
        log_total = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        # The same roundings as log_softmax then nll_loss: (x_t - max) - log(sum exp).
        picked = shifted[xp.arange(x.shape[0]), index] - log_total[:, 0]
        w = valid.astype(x.dtype)
        if weight is not None:
            w *= weight[index]
        losses = -picked * w
        if reduction == "none":
            scale, out = w, losses
        elif reduction == "sum":
            scale, out = w, losses.sum()
        else:
            total = w.sum()
            quiet = xp.errstate(invalid="ignore") if hasattr(xp, "errstate") else nullcontext()
            with quiet:  # all targets ignored: 0 / 0 = nan, as PyTorch, without the warning
                scale, out = w / total, losses.sum() / total
            # ... but ignored targets get gradient 0, not nan (as nll_loss).
            scale = xp.where(valid, scale, 0.0).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, top, log_total, index, scale)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, top, log_total, index, scale = ctx.saved_tensors
        if not A.is_grad_enabled():  # the usual backward: no graph of the gradient
            return _CrossEntropyGrad.apply(grad_out, x, top, log_total, index, scale), None, None
        classes = A.arange(x.shape[1], device=x.device).reshape(1, -1)
        onehot = (index.unsqueeze(1) == classes).to(x.dtype)
        coef = (scale * grad_out).unsqueeze(1)
        return (A.softmax(x, 1) - onehot) * coef, None, None


class _CrossEntropyGrad(Function):
    """``(softmax(x) - onehot(index)) * (scale * grad_out)[:, None]``, from the saved row max
    and log-sum-exp: one exp pass and one scale pass over (N, C). Used without a graph only."""

    @staticmethod
    def forward(ctx, grad_out, x, top, log_total, index, scale):
        xp = ctx.xp
        grad = xp.subtract(x, top)
        grad -= log_total
        xp.exp(grad, out=grad)
        coef = (scale * grad_out)[:, None]
        grad *= coef
        grad[xp.arange(x.shape[0]), index] -= coef[:, 0]
        return grad


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


class _ClassOutOfRange(Function):
    """The targets outside ``[0, num_classes)`` that are not ``ignore_index``: one op (a bool
    mask) where the check would otherwise take five."""

    @staticmethod
    def forward(ctx, target, num_classes, ignore_index):
        outside = (target < 0) | (target >= num_classes)
        if 0 <= ignore_index < num_classes:
            return outside
        return outside & (target != ignore_index)


def _check_class_range(target: Tensor, num_classes: int, ignore_index: int, op: str) -> None:
    if target.numel() == 0:
        return
    bad = _ClassOutOfRange.apply(target, num_classes, ignore_index)
    if A.replay.any_true(bad):  # in a compiled step: checked without a host read per replay
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
    if (
        target.dtype.kind in "iu"
        and input.ndim == 2
        and label_smoothing == 0
        and input.dtype.kind == "f"
    ):
        # The common case, (N, C) logits and class indices: one node, one-pass backward.
        _check_class_target(input, target, "nll_loss")
        _check_class_range(target, num_classes, ignore_index, "nll_loss")
        return _CrossEntropy.apply(
            input, target, weight, ignore_index=ignore_index, reduction=reduction
        )
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
        # 'mean' averages over the N * d1 * ... positions (NaN for an empty batch, as PyTorch).
        return _reduce(-(logp * target).sum(class_dim), reduction)

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


# -------------------------------------------------- the rest of PyTorch's losses (issue 13)
def _pair(op: str, input: Any, target: Any) -> None:
    _check_tensor(input, op, "input")
    _check_tensor(target, op, "target")


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target).

    Shape: input (*), target same -> () or (*) for 'none'.
    """
    op = "smooth_l1_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _pair(op, input, target)
    _warn_size(input, target, op)
    if beta < 0:
        raise RuntimeError(f"{op}: does not support negative values for beta, got {beta}")
    diff = input - target
    if beta == 0:
        return _reduce(diff.abs(), reduction)
    absd = diff.abs()
    loss = A.where(absd < beta, diff * diff * (0.5 / beta), absd - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta). Shape: (*), (*) -> () or (*)."""
    op = "huber_loss"
    reduction = _reduction(None, None, reduction, op)
    _pair(op, input, target)
    _warn_size(input, target, op)
    if delta <= 0:
        raise RuntimeError(f"{op}: does not support non-positive values for delta, got {delta}")
    diff = input - target
    absd = diff.abs()
    loss = A.where(absd < delta, diff * diff * 0.5, (absd - 0.5 * delta) * delta)
    return _weighted(loss, weight, input, reduction, op)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Pointwise KL divergence ``target * (log target - input)`` (``input`` holds log-probabilities;
    0 where target is 0). ``reduction='batchmean'`` divides the sum by the batch size, the
    mathematically correct KL; 'mean' averages over every element, as PyTorch (which warns).

    Shape: input (*), target same -> () or (*) for 'none'. Where we differ: the gradient with
    respect to ``target`` where it is 0 is 0 (PyTorch gives NaN).
    """
    op = "kl_div"
    if reduction == "batchmean":
        batchmean = True
        reduction = _reduction(size_average, reduce, "sum", op)
    else:
        batchmean = False
        reduction = _reduction(size_average, reduce, reduction, op)
    _pair(op, input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # target * log(target), defined as 0 at target == 0 (xlogy), and its gradient too.
        positive = target > 0
        safe = A.where(positive, target, 1.0)
        loss = A.where(positive, target * (safe.log() - input), -target * input)
    if batchmean:
        out = loss.sum()
        return out / input.shape[0] if input.ndim else out
    return _reduce(loss, reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y (x1 - x2) + margin), y in {1, -1}. Shape: (N,) or (), all three -> () or (N,)."""
    op = "margin_ranking_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        _check_tensor(t, op, name)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(
            f"{op}: All input tensors should have same dimension but got sizes: input1: "
            f"{tuple(input1.shape)}, input2: {tuple(input2.shape)}, target: {tuple(target.shape)}"
        )
    loss = (-target * (input1 - input2) + margin).clamp(min=0.0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1. Shape: (*), (*) -> () or (*)."""
    op = "hinge_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _pair(op, input, target)
    margin_part = A.where(target != 1, (margin - input).clamp(min=0.0), 0.0)
    self_part = A.where(target != -1, input, 0.0)
    return _reduce(margin_part + self_part, reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1.

    Shape: input1, input2 (N, D) or (D,), target (N,) or () -> () or (N,).
    """
    op = "cosine_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        _check_tensor(t, op, name)
    if input1.ndim != input2.ndim or input1.ndim not in (1, 2):
        raise RuntimeError(
            f"{op}: expected 1D or 2D inputs of the same rank, got {tuple(input1.shape)} and "
            f"{tuple(input2.shape)}"
        )
    if target.ndim != input1.ndim - 1:
        raise RuntimeError(
            f"{op}: {input1.ndim}D target tensor expects {input1.ndim - 1}D target, got "
            f"{tuple(target.shape)}"
        )
    eps = 1e-12  # as PyTorch's EPSILON
    dot = (input1 * input2).sum(-1)
    mag1 = (input1 * input1).sum(-1) + eps
    mag2 = (input2 * input2).sum(-1) + eps
    cos = dot / (mag1 * mag2).sqrt()
    pos = A.where(target == 1, 1.0 - cos, 0.0)
    neg = A.where(target == -1, (cos - margin).clamp(min=0.0), 0.0)
    return _reduce(pos + neg, reduction)


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-y x)), y in {1, -1}. Shape: (*), (*) -> () or (*)."""
    op = "soft_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _pair(op, input, target)
    from .activation import softplus

    return _reduce(softplus(-target * input, 1.0, float("inf")), reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """-(y log sigmoid(x) + (1 - y) log sigmoid(-x)), averaged over classes.

    Shape: input (N, C), target (N, C) in {0, 1} -> () or (N,) for 'none'.
    """
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _pair(op, input, target)
    from .activation import logsigmoid

    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.mean(-1) if input.ndim else loss
    return _reduce(loss, reduction)


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """sum over target classes j and other classes i of max(0, 1 - (x_j - x_i)) / C.

    ``target`` holds class indices, padded with -1 after the last one (as PyTorch).
    Shape: input (N, C) or (C,), target int64 same -> () or (N,) for 'none'.
    """
    op = "multilabel_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _pair(op, input, target)
    if input.ndim not in (1, 2) or tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(
            f"{op}: expected input (N, C) or (C,) and target of the same shape, got "
            f"{tuple(input.shape)} and {tuple(target.shape)}"
        )
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected an int64 target, got {target.dtype}")
    xp = input.xp
    c = input.shape[-1]
    y = target.data
    # Indices before the first -1 count; a class is a target if one of them names it.
    valid = xp.cumprod(y != -1, axis=-1).astype(bool)
    bad = Tensor._make((valid & ((y < 0) | (y >= c))).any(), input._backend)
    if bad.item():  # one explicit read
        raise RuntimeError(
            f"{op}: target holds a class index outside [0, {c}) before its first -1 "
            f"(input {tuple(input.shape)})"
        )
    classes = xp.arange(c)
    # As PyTorch, a class named twice counts twice (a sum over the listed indices j).
    count = ((y[..., :, None] == classes) & valid[..., :, None]).sum(-2)
    is_target = count > 0
    pair = Tensor._make(
        (count[..., :, None] * ~is_target[..., None, :]).astype(input.data.dtype),
        input._backend,
    )
    margins = (1.0 - (input.unsqueeze(-1) - input.unsqueeze(-2))).clamp(min=0.0)
    loss = (margins * pair).sum((-2, -1)) / c
    return _reduce(loss, reduction)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """sum over i != y of max(0, margin - x_y + x_i)^p / C (times weight[y]).

    Shape: input (N, C) or (C,), target (N,) or () -> () or (N,) for 'none'.
    """
    op = "multi_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _pair(op, input, target)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got {p}")
    if input.ndim not in (1, 2) or target.ndim != input.ndim - 1:
        raise RuntimeError(
            f"{op}: expected input (N, C) with target (N,), or (C,) with (), got "
            f"{tuple(input.shape)} and {tuple(target.shape)}"
        )
    c = input.shape[-1]
    picked = input.gather(-1, target.unsqueeze(-1))
    margins = (margin - picked + input).clamp(min=0.0)
    if p == 2:
        margins = margins * margins
    others = Tensor._make(
        (target.data[..., None] != input.xp.arange(c)).astype(input.data.dtype), input._backend
    )
    if weight is not None:
        margins = margins * weight.gather(0, target.reshape(-1)).reshape(picked.shape)
    loss = (margins * others).sum(-1) / c
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: Any = None,
    eps: float = 1e-8,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Poisson target: exp(x) - y x (``log_input``), else
    x - y log(x + eps); ``full`` adds Stirling's y log y - y + 0.5 log(2 pi y) where y > 1.

    Shape: (*), (*) -> () or (*).
    """
    op = "poisson_nll_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _pair(op, input, target)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        safe = A.where(big, target, 2.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * 3.141592653589793 * safe).log()
        loss = loss + A.where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """0.5 (log max(var, eps) + (input - target)^2 / max(var, eps)) (+ 0.5 log 2 pi if ``full``).

    As PyTorch, ``var`` is clamped at ``eps`` in value only (its gradient passes as if
    unclamped), and may have one dim less than input or a last dim of 1 (one variance for all).
    Shape: input (N, *), target same, var (N, *) or (N, *, 1) or (N, *-1) -> () or (N, *).
    """
    op = "gaussian_nll_loss"
    reduction = _reduction(None, None, reduction, op)
    _pair(op, input, target)
    if not isinstance(var, Tensor):
        var = A.full(tuple(input.shape), float(var), dtype=input.dtype, device=input.device)
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1:
            pass
        else:
            raise ValueError(
                f"{op}: var of shape {tuple(var.shape)} does not fit input {tuple(input.shape)}"
            )
    if (var < 0).any().item():  # one explicit read
        raise ValueError(f"{op}: var has negative entry/entries")
    with A.no_grad():
        lift = var.clamp(min=eps) - var
    var = var + lift
    diff = input - target
    loss = 0.5 * (var.log() + diff * diff / var)
    if full:
        loss = loss + 0.5 * 1.8378770664093453  # log(2 pi)
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Any = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) for any distance function (default:
    ``pairwise_distance``). Shape: (N, D) each -> () or (N,) for 'none'.
    """
    op = "triplet_margin_with_distance_loss"
    reduction = _reduction(None, None, reduction, op)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_tensor(t, op, name)
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = A.minimum(d_neg, dist(positive, negative))
    return _reduce((d_pos - d_neg + margin).clamp(min=0.0), reduction)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification loss (Graves et al. 2006), PyTorch's API.

    The forward (alpha) recursion runs in log space over time, batched over the sequences and
    the extended label sequence (blanks between labels), in differentiable ops, so the gradient
    is exact and second order works. ``reduction='mean'`` divides each loss by its target length
    and averages over the batch, as PyTorch; ``zero_infinity`` zeroes impossible alignments.
    Where we differ: the gradient is the true d loss / d log_probs (minus the posterior);
    PyTorch returns ``exp(log_probs)`` minus the posterior, which assumes a log_softmax before.
    Through ``log_softmax`` (as one always uses it), the logits' gradients are the same.

    Shape: log_probs (T, N, C) (log-softmax over C), targets (N, S) padded or (sum of
    target_lengths,) concatenated, input_lengths and target_lengths (N,) -> () or (N,).
    """
    op = "ctc_loss"
    reduction = _reduction(None, None, reduction, op)
    _check_tensor(log_probs, op, "log_probs")
    if log_probs.ndim == 2:  # one unbatched sequence: (T, C), targets (S,), scalar lengths
        loss = ctc_loss(
            log_probs.unsqueeze(1),
            targets.reshape(1, -1),
            _lengths(input_lengths),
            _lengths(target_lengths),
            blank,
            "sum" if reduction != "none" else "none",
            zero_infinity,
        )
        if reduction == "mean":
            return loss / max(_lengths(target_lengths)[0], 1)
        return loss.squeeze(0) if reduction == "none" else loss
    if log_probs.ndim != 3:
        raise RuntimeError(f"{op}: log_probs must be (T, N, C), got {tuple(log_probs.shape)}")
    t_max, n, c = log_probs.shape
    in_len = _lengths(input_lengths)
    tg_len = _lengths(target_lengths)
    if len(in_len) != n or len(tg_len) != n:
        raise RuntimeError(
            f"{op}: input_lengths and target_lengths must have {n} entries (the batch), got "
            f"{len(in_len)} and {len(tg_len)}"
        )
    if any(length > t_max for length in in_len):
        raise RuntimeError(
            f"{op}: Expected input_lengths to have value at most {t_max}, but got {max(in_len)}"
        )
    xp = log_probs.xp
    host_targets = targets.tolist()
    if targets.ndim == 1:
        rows, start = [], 0
        for length in tg_len:
            rows.append(host_targets[start : start + length])
            start += length
    else:
        rows = [row[:length] for row, length in zip(host_targets, tg_len)]
    s_max = 2 * max(tg_len, default=0) + 1
    # The extended sequences: blank, l1, blank, l2, ..., blank (padded with blanks).
    ext = [[blank] * s_max for _ in range(n)]
    skip = [[False] * s_max for _ in range(n)]
    for b, row in enumerate(rows):
        if any(not 0 <= label < c or label == blank for label in row):
            raise RuntimeError(f"{op}: target labels must be in [0, {c}) and not the blank")
        for i, label in enumerate(row):
            ext[b][2 * i + 1] = label
            # s -> s + 2 may skip the blank between two different labels
            if i and row[i - 1] != label:
                skip[b][2 * i + 1] = True
    backend = log_probs._backend
    ext_index = Tensor._make(xp.asarray(ext, dtype="int64"), backend)
    can_skip = Tensor._make(xp.asarray(skip), backend)
    neg = float(xp.finfo(log_probs.data.dtype).min) / 4  # log 0, kept finite (no NaN gradients)
    positions = xp.arange(s_max)
    first_two = Tensor._make(positions < 2, backend)
    neg_row = A.full((n, 1), neg, dtype=log_probs.dtype, device=log_probs.device)
    neg_row2 = A.full((n, 2), neg, dtype=log_probs.dtype, device=log_probs.device)
    emit = log_probs.gather(2, ext_index.unsqueeze(0).expand(t_max, n, s_max))  # (T, N, S)
    alpha = A.where(first_two, emit[0], neg)
    lengths_t = xp.asarray(in_len)
    for t in range(1, t_max):
        stay = alpha
        step = A.cat([neg_row, alpha[:, :-1]], 1)
        jump = A.where(can_skip, A.cat([neg_row2, alpha[:, :-2]], 1), neg)
        new = A.logsumexp(A.stack([stay, step, jump]), 0) + emit[t]
        active = Tensor._make((lengths_t > t)[:, None], backend)
        alpha = A.where(active, new, alpha)
    last = Tensor._make(xp.asarray([2 * length for length in tg_len], dtype="int64"), backend)
    end_blank = alpha.gather(1, last.unsqueeze(1)).squeeze(1)
    end_label = alpha.gather(1, (last - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
    has_label = Tensor._make(xp.asarray([length > 0 for length in tg_len]), backend)
    total = A.where(has_label, A.logsumexp(A.stack([end_blank, end_label]), 0), end_blank)
    loss = -total
    impossible = loss > -neg / 2
    if zero_infinity:
        loss = A.where(impossible, 0.0, loss)
    else:
        loss = A.where(impossible, float("inf"), loss)
    if reduction == "mean":
        divisor = Tensor._make(
            xp.asarray([max(length, 1) for length in tg_len], dtype=log_probs.data.dtype), backend
        )
        return (loss / divisor).mean()
    return _reduce(loss, reduction)


def _lengths(value: Any) -> list:
    """Sequence lengths as a host list (they shape the recursion, so they live on the host)."""
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (int, float)):
        return [int(value)]
    return [int(v) for v in value]
