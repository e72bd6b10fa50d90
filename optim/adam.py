"""Adam and AdamW (PyTorch's ``torch.optim.Adam`` and ``torch.optim.AdamW``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import autograd as A
from autograd import Tensor

from .optimizer import Optimizer, _check_non_negative, _params_with_grad
from .sgd import _same_layout, _scratch


def adam_update(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    max_exp_avg_sq: Tensor | None,
    step: int,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled_weight_decay: bool = False,
) -> None:
    """One Adam step on one parameter (``step`` counts from 1); updates everything in place.

    ``m = beta1 * m + (1 - beta1) * g``, ``v = beta2 * v + (1 - beta2) * g**2``,
    ``param -= lr / (1 - beta1**step) * m / (sqrt(v) / sqrt(1 - beta2**step) + eps)``
    (with ``v`` replaced by its running maximum when ``amsgrad``). Weight decay is added to the
    gradient (Adam) or, when ``decoupled_weight_decay``, applied to the parameter as
    ``param *= 1 - lr * weight_decay`` (AdamW). Call it under ``no_grad``.

    Shape: param, grad and every state tensor (*)
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    step_size = lr / bias_correction1
    if amsgrad:
        max_exp_avg_sq.copy_(A.maximum(max_exp_avg_sq, exp_avg_sq))
        second_moment = max_exp_avg_sq
    else:
        second_moment = exp_avg_sq
    denom = (second_moment.sqrt() / bias_correction2_sqrt).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-step_size)


class Adam(Optimizer):
    """Adam: momentum on the gradient and RMSprop's scaling, both bias-corrected.

    Args:
        params: tensors to optimize, or param-group dicts (see ``Optimizer``).
        lr: learning rate (default 1e-3).
        betas: decay rates of the gradient's first and second moment averages
            (default (0.9, 0.999)).
        eps: added to the denominator, after the square root (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        amsgrad: use the running maximum of the second moment (AMSGrad).
        maximize: ascend instead of descend.
        decoupled_weight_decay: decay the parameters directly, as AdamW does.

    State per parameter: ``step`` (a float32 scalar on the host, as PyTorch), ``exp_avg``,
    ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``.

    Shape: each parameter keeps its shape; its state has the same shape, device and dtype.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_non_negative(lr=lr, eps=eps)
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        _check_non_negative(weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._evaluate(closure)
        with A.no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for param in _params_with_grad(group):
                    state = self.state[param]
                    if not state:
                        state["step"] = A.tensor(0.0)
                        state["exp_avg"] = A.zeros_like(param)
                        state["exp_avg_sq"] = A.zeros_like(param)
                        if group["amsgrad"]:
                            state["max_exp_avg_sq"] = A.zeros_like(param)
                    if self._fused_step(param, state, group):
                        continue
                    state["step"].add_(1)
                    adam_update(
                        param,
                        param.grad,
                        state["exp_avg"],
                        state["exp_avg_sq"],
                        state.get("max_exp_avg_sq"),
                        state["step"].item(),
                        lr=group["lr"],
                        beta1=beta1,
                        beta2=beta2,
                        eps=group["eps"],
                        weight_decay=group["weight_decay"],
                        amsgrad=group["amsgrad"],
                        maximize=group["maximize"],
                        decoupled_weight_decay=group["decoupled_weight_decay"],
                    )
        return loss

    def _fused_step(self, param: Tensor, state: dict, group: dict) -> bool:
        """``adam_update`` on the arrays in one backend call with preallocated temporaries (the
        plain case: no weight decay, amsgrad or maximize); False leaves the general path."""
        if group["weight_decay"] or group["amsgrad"] or group["maximize"]:
            return False
        grad, exp_avg, exp_avg_sq = param.grad, state["exp_avg"], state["exp_avg_sq"]
        if grad.requires_grad or param.data.dtype.kind != "f":
            return False
        if not all(_same_layout(param, t) for t in (grad, exp_avg, exp_avg_sq)):
            return False
        step = state["step"]
        if step._backend is not param._backend:  # a host counter for a GPU parameter
            return False
        beta1, beta2 = group["betas"]
        param._backend.adam_update_(
            param.data, grad.data, exp_avg.data, exp_avg_sq.data, step.data, group["lr"],
            beta1, beta2, group["eps"], _scratch(self, param, 0), _scratch(self, param, 1),
        )  # fmt: skip
        for t in (param, exp_avg, exp_avg_sq, step):
            t._version += 1
        return True


class AdamW(Adam):
    """Adam with decoupled weight decay: ``param *= 1 - lr * weight_decay`` before each update.

    Same arguments as ``Adam``, but ``weight_decay`` defaults to 1e-2 and is never added to the
    gradient, so it does not pass through the moment averages (Loshchilov & Hutter).

    Shape: each parameter keeps its shape; its state has the same shape, device and dtype.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        # An AdamW always decays decoupled, whatever the checkpoint says (as PyTorch).
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
