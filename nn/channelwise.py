"""Layers that act on whole channels of (N, C, *spatial) maps: Dropout1d/2d/3d, Softmax2d."""

from __future__ import annotations

from autograd import Tensor

from . import functional as F
from .module import Module


class _DropoutNd(Module):
    _fn = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Zero whole channels with probability p in training (scaling the rest by 1 / (1 - p)).
    Shape: (N, C, L) or (C, L) -> same (``inplace`` is ignored)."""

    _fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole feature maps with probability p in training. Shape: (N, C, H, W) or
    (C, H, W) -> same."""

    _fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole 3-D feature maps with probability p. Shape: (N, C, D, H, W) -> same."""

    _fn = staticmethod(F.dropout3d)


class Softmax2d(Module):
    """Softmax over the channels at every location. Shape: (N, C, H, W) or (C, H, W) -> same."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(
                f"Softmax2d: expected input of 3 or 4 dimensions, got {input.ndim}D input of "
                f"shape {input.shape}"
            )
        return F.softmax(input, -3)
