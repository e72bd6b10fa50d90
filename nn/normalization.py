"""Normalisation layers for conv nets: BatchNorm3d, InstanceNorm1d/2d/3d, GroupNorm.

(BatchNorm1d/2d and LayerNorm are in ``layers.py``.) PyTorch's parameters, buffers, defaults
and ``state_dict`` keys.
"""

from __future__ import annotations

from typing import Any

from autograd import Tensor

from . import functional as F
from .layers import _add_affine, _BatchNorm, _NormBase, _reset_affine
from .module import Module


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, C, D, H, W), per channel C. Shape: same."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 5:
            raise ValueError(
                f"BatchNorm3d: expected 5D input (got {input.ndim}D input of shape {input.shape})"
            )


class _InstanceNorm(_NormBase):
    """Per-sample, per-channel normalisation over the spatial dims (PyTorch's defaults:
    ``affine=False``, ``track_running_stats=False``)."""

    _dims = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        d = self._dims
        if input.ndim not in (d + 1, d + 2):
            raise ValueError(
                f"{name}: expected {d + 1}D or {d + 2}D input (got {input.ndim}D input of shape "
                f"{input.shape})"
            )
        unbatched = input.ndim == d + 1
        x = input.unsqueeze(0) if unbatched else input
        if x.shape[1] != self.num_features and self.affine:
            raise ValueError(
                f"{name}: expected input's size at dim={1 - unbatched} to match num_features "
                f"({self.num_features}), but got: {x.shape[1]}."
            )
        use_input_stats = self.training or not self.track_running_stats
        y = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            self.momentum if self.momentum is not None else 0.1,
            self.eps,
        )
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L). Shape: same."""

    _dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) (style transfer, GANs). Shape: same."""

    _dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W). Shape: same."""

    _dims = 3


class GroupNorm(Module):
    """Normalise each group of num_channels / num_groups channels per sample, then scale and
    shift per channel. Shape: (N, C, *) -> same."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(
                f"GroupNorm: num_channels must be divisible by num_groups (num_channels="
                f"{num_channels}, num_groups={num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _add_affine(self, (num_channels,), affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
