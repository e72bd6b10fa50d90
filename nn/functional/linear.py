"""``linear``: the fused y = x W^T + b."""

from __future__ import annotations

from autograd import Function, Tensor, is_grad_enabled
from autograd.ops.linalg import Matmul
from autograd.ops.reduce import Sum
from autograd.ops.shape import Permute

from ._utils import _check_tensor


class _Linear(Function):
    """``x @ weight.T + bias`` as one node; the weight gradient folds all leading dims."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        if x.ndim > 2 and x.flags.c_contiguous:
            # One GEMM over all leading dims (NumPy's batched matmul would loop over them).
            out = (x.reshape(-1, x.shape[-1]) @ weight.T).reshape(*x.shape[:-1], weight.shape[0])
        else:
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
        if not is_grad_enabled():  # the usual backward, without a graph of the gradients
            grads = iter(_LinearGrads.apply(grad_out, x, weight, need_x, need_weight, need_bias))
            return tuple(next(grads) if need else None for need in (need_x, need_weight, need_bias))
        grad_x = None
        if need_x:
            if grad_out.ndim > 2:
                flat = Matmul.apply(grad_out.reshape(-1, ctx.weight_rows), weight)
                grad_x = flat.reshape(*grad_out.shape[:-1], weight.shape[1])
            else:
                grad_x = Matmul.apply(grad_out, weight)
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


class _LinearGrads(Function):
    """``_Linear``'s gradients when no graph of them is wanted, as one op with one output per
    needed gradient: ``grad_x = g W``, ``grad_weight = g^T x`` (the GEMM reads the transposed
    view of ``g``: no copy), ``grad_bias`` = ``g`` summed over the leading dims. The input's
    gradient is never computed when it is not needed (a first layer's batch of data)."""

    @staticmethod
    def forward(ctx, grad_out, x, weight, need_x, need_weight, need_bias):
        rows = grad_out.reshape(-1, grad_out.shape[-1]) if grad_out.ndim != 2 else grad_out
        grads = []
        if need_x:
            grad_x = rows @ weight
            grads.append(grad_x.reshape(x.shape) if grad_out.ndim != 2 else grad_x)
        if need_weight:
            grads.append(rows.T @ (x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x))
        if need_bias:
            grads.append(ctx._backend.reduce_sum(rows, (0,), False))  # BLAS on the CPU
        return tuple(grads)


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


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k``.

    Shape: input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out,) -> (*, out).
    """
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        _check_tensor(t, "bilinear", name)
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear: weight must be 3-D, got shape {tuple(weight.shape)}")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(
            f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} do not fit "
            f"weight (out, in1, in2) = {tuple(weight.shape)}"
        )
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(
            f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} must have "
            "the same leading dims"
        )
    # x1 W: one GEMM into (*, out, in2), then the dot with x2 along in2.
    flat = weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    left = Matmul.apply(input1.reshape(-1, in1), flat).reshape(-1, out_f, in2)
    out = (left * input2.reshape(-1, 1, in2)).sum(-1).reshape(*input1.shape[:-1], out_f)
    return out if bias is None else out + bias
