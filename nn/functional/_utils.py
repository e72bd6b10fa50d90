"""Helpers shared by the functional families: argument checks and loss reductions."""

from __future__ import annotations

import warnings
from typing import Any

from autograd import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_tensor(value: Any, op: str, name: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


def _reduction(size_average: Any, reduce: Any, reduction: str, op: str) -> str:
    """The reduction string, translating PyTorch's deprecated size_average/reduce flags."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        if not reduce:
            return "none"
        return "mean" if size_average else "sum"
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: {reduction!r} is not a valid value for reduction; use 'mean', 'sum' or 'none'"
        )
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input: Tensor, target: Tensor, op: str) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"{op}: using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )
