"""Shape helpers."""

from __future__ import annotations

from autograd import Tensor


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one. Shape: (*, S_i, ..., S_j, *) -> (*, prod, *)."""
    return input.flatten(start_dim, end_dim)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet). Shape: (N, C, *) -> same."""
    if input.ndim < 3:
        raise RuntimeError(
            f"channel_shuffle: expected input of at least 3 dims (N, C, *), got "
            f"{tuple(input.shape)}"
        )
    c = input.shape[1]
    if groups <= 0 or c % groups:
        raise RuntimeError(
            f"channel_shuffle: number of channels ({c}) must be divisible by groups ({groups})"
        )
    n, rest = input.shape[0], tuple(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)
