"""``nn.utils``: gradient clipping and flattening parameters into one vector (PyTorch's names);
``nn.utils.rnn`` packs variable-length batches for the recurrent layers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import autograd as A
from autograd import Tensor

from . import rnn  # noqa: F401  (nn.utils.rnn, as torch.nn.utils.rnn)


def _as_list(parameters: Any) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: Any = None,
) -> Tensor:
    """Scale all gradients together, in place, so that their joint ``norm_type`` norm is at most
    ``max_norm``; returns the norm they had before (a 0-d Tensor).

    The scale is max_norm / (total_norm + 1e-6), clamped to 1, exactly as PyTorch.
    """
    params = [p for p in _as_list(parameters) if p.grad is not None]
    if not params:
        return A.tensor(0.0)
    norm_type = float(norm_type)
    device = params[0].grad.device
    with A.no_grad():
        if norm_type == float("inf"):
            norms = [p.grad.abs().amax().to(device) for p in params]
            total = A.stack(norms).amax()
        else:
            norms = [p.grad.norm(norm_type).to(device) for p in params]
            total = A.stack(norms).norm(norm_type)
        if error_if_nonfinite and not bool(total.isfinite().item()):
            raise RuntimeError(
                f"clip_grad_norm_: the total norm of order {norm_type} for gradients from "
                "`parameters` is non-finite, so it cannot be clipped. To disable this error and "
                "scale the gradients by the non-finite norm anyway, set "
                "`error_if_nonfinite=False`"
            )
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for p in params:
            p.grad.mul_(coef.to(p.grad.device).to(p.grad.dtype))
    return total


def clip_grad_value_(parameters: Any, clip_value: float, foreach: Any = None) -> None:
    """Clamp every gradient elementwise into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    with A.no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D Tensor (differentiable)."""
    params = _as_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: expected at least one parameter")
    device = params[0].device
    for p in params:
        if p.device != device:
            raise TypeError(
                f"parameters_to_vector: found parameters on {device} and {p.device}; move them "
                "to one device first"
            )
    return A.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place.

    Where we differ: PyTorch makes each parameter's ``.data`` a view of ``vec``; we copy, so
    the parameters keep their own memory, dtype and device.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(
            f"vector_to_parameters: expected vec to be a Tensor, got {type(vec).__name__}"
        )
    params = _as_list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(
            f"vector_to_parameters: vec of shape {vec.shape} does not match the parameters' "
            f"total size {total}"
        )
    offset = 0
    with A.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[offset : offset + n].reshape(p.shape))
            offset += n
