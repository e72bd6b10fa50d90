"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad (1-3 d).

``padding`` is an int (the same on every side) or PyTorch's tuple (left, right[, top, bottom
[, front, back]]), last dim first.
"""

from __future__ import annotations

from typing import Any

from autograd import Tensor

from . import functional as F
from .module import Module


class _PadNd(Module):
    _dims = 2
    _mode = "constant"

    def __init__(self, padding: Any) -> None:
        super().__init__()
        n = 2 * self._dims
        if isinstance(padding, int):
            padding = (padding,) * n
        padding = tuple(padding)
        if len(padding) != n:
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or a tuple of {n} ints, got "
                f"{padding}"
            )
        self.padding = padding

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (self._dims + 1, self._dims + 2):
            raise ValueError(
                f"{type(self).__name__}: expected {self._dims + 1}D or {self._dims + 2}D input, "
                f"got input of shape {input.shape}"
            )
        return F.pad(input, self.padding, self._mode, getattr(self, "value", None))

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad with ``value``. Shape: (N, C, W) -> (N, C, W + left + right)."""

    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad with ``value``. Shape: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right)."""

    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad with ``value``. Shape: (N, C, D, H, W) -> padded D, H, W."""

    _dims = 3


class ZeroPad1d(ConstantPad1d):
    """Pad with zeros. Shape: (N, C, W) -> (N, C, W + left + right)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad with zeros. Shape: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad with zeros. Shape: (N, C, D, H, W) -> padded D, H, W."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Mirror the edge (without repeating it). Shape: (N, C, W) -> (N, C, W + left + right)."""

    _dims = 1
    _mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Mirror the edges (without repeating them); each width must be < that dim's size.

    Shape: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right).
    """

    _dims = 2
    _mode = "reflect"


class ReflectionPad3d(_PadNd):
    """Shape: (N, C, D, H, W) -> padded D, H, W."""

    _dims = 3
    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Repeat the edge value. Shape: (N, C, W) -> (N, C, W + left + right)."""

    _dims = 1
    _mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Repeat the edge values. Shape: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right)."""

    _dims = 2
    _mode = "replicate"


class ReplicationPad3d(_PadNd):
    """Shape: (N, C, D, H, W) -> padded D, H, W."""

    _dims = 3
    _mode = "replicate"


class CircularPad1d(_PadNd):
    """Wrap around. Shape: (N, C, W) -> (N, C, W + left + right)."""

    _dims = 1
    _mode = "circular"


class CircularPad2d(_PadNd):
    """Wrap around. Shape: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right)."""

    _dims = 2
    _mode = "circular"


class CircularPad3d(_PadNd):
    """Shape: (N, C, D, H, W) -> padded D, H, W."""

    _dims = 3
    _mode = "circular"
