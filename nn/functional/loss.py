"""Losses, with PyTorch's reduction modes."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import autograd as A
from autograd import Function, Tensor

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
