"""Stochastic gradient descent with (Nesterov) momentum (PyTorch's ``torch.optim.SGD``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import autograd as A
from autograd import Tensor

from .optimizer import Optimizer, _check_non_negative, _params_with_grad


def sgd_update(
    param: Tensor,
    grad: Tensor,
    momentum_buffer: Tensor | None,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> Tensor | None:
    """One SGD step on one parameter, in place; returns the momentum buffer (None without momentum).

    ``g = grad (+ weight_decay * param)``; with momentum ``b = momentum * b + (1 - dampening) * g``
    (``b = g`` on the first step) and ``g = b``, or ``g = g + momentum * b`` for Nesterov;
    then ``param -= lr * g``. Call it under ``no_grad``.

    Shape: param, grad, momentum_buffer (*) -> momentum_buffer (*)
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = grad.clone()
        else:
            momentum_buffer.mul_(momentum).add_(grad, alpha=1 - dampening)
        grad = grad.add(momentum_buffer, alpha=momentum) if nesterov else momentum_buffer
    param.add_(grad, alpha=-lr)
    return momentum_buffer


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    Args:
        params: tensors to optimize, or param-group dicts (see ``Optimizer``).
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        nesterov: Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend instead of descend.

    The momentum form is PyTorch's ``b = momentum * b + (1 - dampening) * g; param -= lr * b``.
    The course's ``v = beta * v + (1 - beta) * g`` is ``momentum=beta, dampening=beta``, except
    on the first step, where PyTorch starts from ``b = g`` rather than from ``v = 0``.
    State per parameter: ``momentum_buffer`` (only with momentum).

    Shape: each parameter keeps its shape; its state has the same shape, device and dtype.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_non_negative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._evaluate(closure)
        with A.no_grad():
            for group in self.param_groups:
                # No state at all without momentum (PyTorch's state_dict is empty then too).
                has_state = group["momentum"] != 0
                plain = not (group["weight_decay"] or group["nesterov"] or group["maximize"])
                for param in _params_with_grad(group):
                    state = self.state[param] if has_state else {}
                    buffer = state.get("momentum_buffer")
                    if plain and self._fused_step(param, buffer, state, group):
                        continue
                    buffer = sgd_update(
                        param,
                        param.grad,
                        buffer,
                        lr=group["lr"],
                        momentum=group["momentum"],
                        dampening=group["dampening"],
                        weight_decay=group["weight_decay"],
                        nesterov=group["nesterov"],
                        maximize=group["maximize"],
                    )
                    if has_state:
                        state["momentum_buffer"] = buffer
        return loss

    def _fused_step(self, param: Tensor, buffer: Tensor | None, state: dict, group: dict) -> bool:
        """``sgd_update`` on the arrays, in place, with no temporary: the backend's fused kernel
        (one Numba pass on the CPU when installed). False when the layouts don't allow it."""
        grad = param.grad
        if not _same_layout(param, grad) or (
            buffer is not None and not _same_layout(param, buffer)
        ):
            return False
        if grad.requires_grad:
            return False
        momentum = group["momentum"]
        data = param.data
        scratch = _scratch(self, param)
        if momentum != 0 and buffer is None:
            # PyTorch's first step: the buffer starts as the gradient itself.
            buffer = state["momentum_buffer"] = grad.clone()
            param._backend.sgd_update_(data, buffer.data, None, group["lr"], 0, 0, scratch)
        else:
            buf = buffer.data if buffer is not None else None
            lr, dampening = group["lr"], group["dampening"]
            param._backend.sgd_update_(data, grad.data, buf, lr, momentum, dampening, scratch)
            if buffer is not None:
                buffer._version += 1
        param._version += 1
        return True


def _same_layout(param: Tensor, other: Tensor) -> bool:
    return (
        isinstance(other, Tensor)
        and other._backend is param._backend
        and other.data.shape == param.data.shape
        and other.data.dtype == param.data.dtype
    )


def _scratch(opt: Optimizer, param: Tensor, which: int = 0) -> Any:
    """A temporary shaped like ``param``: a view of one flat array per device and dtype, kept by
    the optimizer (not in its state_dict) and grown to the largest parameter."""
    store = opt.__dict__.setdefault("_scratch", {})
    data = param.data
    key = (param._backend.device, data.dtype, which)
    flat = store.get(key)
    if flat is None or flat.size < data.size:
        flat = store[key] = param._backend.xp.empty(data.size, data.dtype)
    return flat[: data.size].reshape(data.shape)
