"""RMSprop (PyTorch's ``torch.optim.RMSprop``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import autograd as A
from autograd import Tensor

from .optimizer import Optimizer, _check_non_negative, _params_with_grad


def rmsprop_update(
    param: Tensor,
    grad: Tensor,
    square_avg: Tensor,
    grad_avg: Tensor | None,
    momentum_buffer: Tensor | None,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
) -> None:
    """One RMSprop step on one parameter; updates ``param`` and the state tensors in place.

    ``s = alpha * s + (1 - alpha) * g**2``; centered: ``m = alpha * m + (1 - alpha) * g`` and
    ``avg = sqrt(s - m**2)``, else ``avg = sqrt(s)``; then ``param -= lr * g / (avg + eps)``
    (through a momentum buffer ``b = momentum * b + g / (avg + eps)`` when ``momentum > 0``).
    ``grad_avg`` is needed when ``centered``, ``momentum_buffer`` when ``momentum > 0``.
    Call it under ``no_grad``.

    Shape: param, grad and every state tensor (*)
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    if centered:
        grad_avg.lerp_(grad, 1 - alpha)
        avg = (square_avg - grad_avg * grad_avg).sqrt()
    else:
        avg = square_avg.sqrt()
    avg.add_(eps)
    if momentum > 0:
        momentum_buffer.mul_(momentum).addcdiv_(grad, avg)
        param.add_(momentum_buffer, alpha=-lr)
    else:
        param.addcdiv_(grad, avg, value=-lr)


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

    Args:
        params: tensors to optimize, or param-group dicts (see ``Optimizer``).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the squared-gradient average (default 0.99; the course's
            ``beta2``).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance instead.
        maximize: ascend instead of descend.

    ``eps`` is added after the square root, as in PyTorch and the course's
    ``W -= lr * dW / (sqrt(SdW) + epsilon)``. State per parameter: ``step``, ``square_avg``, and
    ``momentum_buffer`` (momentum > 0) and ``grad_avg`` (centered).

    Shape: each parameter keeps its shape; its state has the same shape, device and dtype.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_non_negative(
            lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha
        )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._evaluate(closure)
        with A.no_grad():
            for group in self.param_groups:
                for param in _params_with_grad(group):
                    state = self.state[param]
                    if not state:
                        state["step"] = A.tensor(0.0)
                        state["square_avg"] = A.zeros_like(param)
                        if group["momentum"] > 0:
                            state["momentum_buffer"] = A.zeros_like(param)
                        if group["centered"]:
                            state["grad_avg"] = A.zeros_like(param)
                    state["step"].add_(1)
                    rmsprop_update(
                        param,
                        param.grad,
                        state["square_avg"],
                        state.get("grad_avg"),
                        state.get("momentum_buffer"),
                        lr=group["lr"],
                        alpha=group["alpha"],
                        eps=group["eps"],
                        weight_decay=group["weight_decay"],
                        momentum=group["momentum"],
                        centered=group["centered"],
                        maximize=group["maximize"],
                    )
        return loss
