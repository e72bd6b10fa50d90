"""``linear``: the fused y = x W^T + b."""

from __future__ import annotations

from autograd import Function, Tensor
from autograd.ops.linalg import Matmul
from autograd.ops.reduce import Sum
from autograd.ops.shape import Permute

from ._utils import _check_tensor


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
